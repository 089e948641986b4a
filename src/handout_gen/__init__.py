"""handout-gen: one content source → patient handouts, newsletters and packets."""

__version__ = "0.4.0"
