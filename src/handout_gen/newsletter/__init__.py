"""Email newsletters, in the order data flows: model → links → guards → message → render → send.

``newsletter`` and ``packets`` never import each other: a newsletter goes to a whole list
and never carries patient data (see :mod:`handout_gen.newsletter.phi`).
"""
