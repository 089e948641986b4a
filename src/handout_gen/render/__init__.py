"""Rendering: the one Jinja environment, the one URL fetcher, the one PDF renderer, shared contexts.

Nothing here decides *what* an output says; handouts, newsletters and packets build their
contexts on top of :func:`handout_gen.render.context.base_context` and render through here.
"""
