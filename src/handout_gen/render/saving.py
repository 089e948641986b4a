"""Writing a pikepdf document to bytes at the compression level that output asks for.

qpdf's zlib level is one setting for the whole process: a packet saved at level 1 (the
faster level a run of hundreds wants) left every handout, cached part or print file saved
after it in the same process (``check``, the preview, a test run) at level 1 too, so a
document's bytes depended on what the process had made before. Every save goes through
:func:`saved`, which sets its own level first.
"""

from __future__ import annotations

import io
from typing import Any, Literal

Level = Literal[-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

DEFAULT_LEVEL: Level = -1  # zlib's own default (6): handouts and the site's downloads
FAST_LEVEL: Level = 1  # packets and what only packets read: a little larger, faster to write


def saved(pdf: Any, *, level: Level = DEFAULT_LEVEL, **options: Any) -> bytes:
    """``pdf.save(**options)`` into memory, its streams compressed at zlib ``level``."""
    import pikepdf

    pikepdf.settings.set_flate_compression_level(level)
    buffer = io.BytesIO()
    pdf.save(buffer, **options)
    return buffer.getvalue()
