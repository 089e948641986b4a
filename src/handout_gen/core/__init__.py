"""The bottom layer: errors, paths, atomic files and append-only logs, the language registry.

Nothing here knows about content, templates or outputs; every other layer may import it.
"""
