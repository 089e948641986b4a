"""``handout-gen check``: read-only rules over content, rendered handouts and newsletters."""
