"""The text encoding of a roster file, and the names a wrong one damaged.

Spreadsheets save CSV in UTF-8 (with or without a BOM), UTF-16 or a code page: Windows-1252 on
Windows, Mac Roman on an old Mac, GBK on a Chinese Windows. A file is read as UTF-16 or UTF-8
by its BOM, as UTF-8 when all of it decodes so, else as Windows-1252. What a wrong guess makes
of a name ("JosÃ©", "JosŽ Pe–a") is told apart here, so no letter greets a patient by it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path


def encoding_of(path: Path) -> str:
    """UTF-16 and UTF-8 by their BOM; else UTF-8 if the whole file decodes; else Windows-1252."""
    with path.open("rb") as handle:
        start = handle.read(4)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if start.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def mixed_lines(path: Path) -> tuple[int, int] | None:
    """(a line in UTF-8, a line not) of a file that is not UTF-8 as a whole, when it holds
    both: read as Windows-1252, every name on its UTF-8 lines would be garbled ("JosÃ©")."""
    utf8 = other = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                other = other or number
            else:
                utf8 = utf8 or number
            if utf8 and other:
                return utf8, other
    return None


# Punctuation beyond ASCII a name may hold ("O’Callaghan", "D´Angelo" as Spanish keyboards type
# it, "Col·lell", a nickname in curly quotes, Hebrew's geresh "ג׳ורג׳", Armenian's apostrophe,
# the katakana middle dot "マリア・ガルシア"); any other such punctuation or symbol is not a letter
# of a name but what a wrong code page made of one. ASCII reads the same in every code page.
NAME_PUNCTUATION = frozenset("’‘´‐‑·“”׳״՚・")
SPACED_DASH_RE = re.compile(r"\s[–—]\s")  # "Smith – Jones", as a word processor sets a hyphen
# A capital Š, Œ, Ž or Ÿ after a letter in a word that has small letters ("JosŽ", "MŸller"):
# what Windows-1252 makes of a Mac's é and ü. A name in capitals ("DŽEKO", "MEŠIĆ") is a name.
MAC_CAPITAL_RE = re.compile(r"\w+[ŠŒŽŸ]\w*")


def garbled_name(name: str) -> bool:
    """A name garbled by a wrong text encoding: UTF-8 read as Windows-1252 ("JosÃ©", ftfy's
    judgement), or, often, a Mac or Chinese Excel export read so ("JosŽ Pe–a", "ÐãÓ¢"): a
    symbol, a stray punctuation mark or a capital where a small letter was. Not every such
    garbling shows ("Mar’a" for "María" reads as an apostrophe; many GBK names turn into plain
    letters). Only non-ASCII text can be garbled, and ftfy takes 0.17 s to import: it is
    imported for the first such name."""
    if name.isascii():
        return False
    marks = SPACED_DASH_RE.sub(" ", name)  # a dash between letters is a Mac's "ñ" ("Pe–a")
    if any(unicodedata.category(c)[0] in "SPN" and not c.isascii() and not c.isdecimal()
           and c not in NAME_PUNCTUATION for c in marks):  # N: "½", "¹", never in a name
        return True
    if any(not word.isupper() for word in MAC_CAPITAL_RE.findall(name)):
        return True
    from ftfy.badness import is_bad

    return bool(is_bad(name))
