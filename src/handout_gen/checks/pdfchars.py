"""The characters of a rendered PDF as pdfium reads them: text, drawn size, box and font.

pdfium (Chromium's PDF engine, in C) reads a handout about seven times faster than the
pure-Python pdfminer that ``check`` used before, and finds the same characters, sizes and
boxes (tests/test_check_pdf.py compares the two on real handouts).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Char:
    """One drawn character; distances in points, ``top`` and ``bottom`` from the page's top edge."""

    text: str
    size: float  # the font size as drawn: scaled by the text and page matrices
    x0: float
    x1: float
    top: float  # the em box's top: ``bottom`` less ``size``, as pdfminer measures it
    bottom: float  # the font's descent below the baseline
    font: str  # the embedded name, "ABCDEF+Atkinson-Hyperlegible-Bold"
    ink_top: float  # where the glyph's own outline starts and ends: what a printer must reach
    ink_bottom: float


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # from 1
    width: float
    height: float
    chars: tuple[Char, ...]  # drawn characters only: no space pdfium made up between words


def edge_distances(page: Page, char: Char) -> tuple[tuple[float, str], ...]:
    """How far a character's ink lies from each edge of the paper (pt), with the edge's name."""
    return ((char.ink_top, "top"), (page.height - char.ink_bottom, "bottom"), (char.x0, "left"),
            (page.width - char.x1, "right"))


def pdf_pages(data: bytes) -> Iterator[Page]:
    """Every page of the PDF ``data``, in order."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(data)
    matrix, box = raw.FS_MATRIX(), raw.FS_RECTF()
    name, flags = ctypes.create_string_buffer(256), ctypes.c_int()
    ink = [ctypes.c_double() for _ in range(4)]  # left, right, bottom, top
    try:
        for number, page in enumerate(document, 1):
            height = page.get_height()
            text_page = page.get_textpage()
            chars = []
            for index in range(text_page.count_chars()):
                if raw.FPDFText_IsGenerated(text_page, index):
                    continue
                code = raw.FPDFText_GetUnicode(text_page, index)
                # pdfium marks a hyphen it takes for a line-end hyphenation with 0x02
                text = "-" if raw.FPDFText_IsHyphen(text_page, index) or code == 2 else chr(code)
                raw.FPDFText_GetMatrix(text_page, index, matrix)
                size = raw.FPDFText_GetFontSize(text_page, index) * (matrix.c**2 + matrix.d**2) ** 0.5
                raw.FPDFText_GetLooseCharBox(text_page, index, box)
                font = _font_name(raw, text_page, index, name, flags)
                raw.FPDFText_GetCharBox(text_page, index, *map(ctypes.byref, ink))
                bottom = height - box.bottom
                chars.append(Char(text, size, box.left, box.right, bottom - size, bottom, font,
                                  height - ink[3].value, height - ink[2].value))
            yield Page(number, page.get_width(), height, tuple(chars))
            text_page.close()
            page.close()
    finally:
        document.close()


def _font_name(raw: Any, text_page: Any, index: int, name: Any, flags: Any) -> str:
    """The embedded name of the font character ``index`` is drawn in ("" when pdfium knows
    none: never the name left in ``name`` by the character before)."""
    needed = raw.FPDFText_GetFontInfo(text_page, index, name, len(name), ctypes.byref(flags))
    if needed > len(name):  # longer than the buffer: pdfium wrote nothing; ask again with room
        name = ctypes.create_string_buffer(needed)
        needed = raw.FPDFText_GetFontInfo(text_page, index, name, len(name), ctypes.byref(flags))
    return str(name.value.decode("utf-8", "replace")) if needed else ""
