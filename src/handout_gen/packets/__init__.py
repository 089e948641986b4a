"""Per-patient packets, in the order data flows:

roster → kit → prep → contexts → parts → assemble → letters → packet → run.

A packet is four kinds of pages: **personal pages** (the cover letter, composed from blocks
that are each laid out once, :mod:`~handout_gen.packets.letters`); **prep pages** and
**closing pages**, which carry no name and are cached by what they print; and the
**handouts**, the same PDFs for everyone, cached by content hash
(:mod:`~handout_gen.packets.parts`). pikepdf stitches them together
(:mod:`~handout_gen.packets.assemble`); :mod:`~handout_gen.packets.run` spreads a roster over
every core and keeps the index and audit log.
"""
