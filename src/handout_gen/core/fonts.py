"""The font chain: which families print a language, and which characters they can draw.

WeasyPrint draws a character no font has as a glyph past the embedded subset (an empty
box in every viewer) and says nothing. So every character that will print (a roster cell,
a content file) is looked up here first, in the character maps (fontTools cmap) of the
very files the chain's families resolve to: the bundled Atkinson Hyperlegible, then the
Noto families the project's Debian packages install (found through fontconfig, as Pango
finds them). A character none of them has is refused with its code point before anything
is written. Maps are read lazily, family by family, and kept for the process: a Latin-only
roster reads only Atkinson's.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from handout_gen.core.errors import agree
from handout_gen.core.languages import BUNDLED_FONT
from handout_gen.core.paths import FONT_DIR

# Characters that never need a glyph of their own: the bidi isolates the templates wrap
# names and numbers in, joiners (Arabic and Indic names use them), other format characters
# HarfBuzz draws as nothing.
_INVISIBLE = {"Cf", "Cc", "Zl", "Zp"}


@dataclass(frozen=True)
class FontFace:
    family: str
    path: Path
    index: int  # face number inside a collection (.ttc)


def _bundled() -> list[FontFace]:
    if FONT_DIR is None:  # pragma: no cover - a hard dependency
        return []
    return [FontFace(BUNDLED_FONT, FONT_DIR / "AtkinsonHyperlegible-Regular.ttf", 0)]


@cache
def installed_faces() -> dict[str, FontFace]:
    """The regular face of every family fontconfig knows (what Pango will use), by family name.

    One ``fc-list`` call (about 20 ms) per process, made only when a character is not in the
    bundled font. Without fontconfig's tools only the bundled font is known, so a character
    it lacks is refused rather than left to chance.
    """
    faces: dict[str, tuple[int, FontFace]] = {}
    command = shutil.which("fc-list")
    if command is not None:
        fmt = "%{family}\t%{weight}\t%{slant}\t%{file}\t%{index}\n"
        result = subprocess.run([command, "--format", fmt], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) != 5 or not parts[4].isdigit():
                continue
            families, weight, slant, file, index = parts
            # Prefer the upright regular face (weight 80); any face is better than none.
            rank = 0 if (weight, slant) == ("80", "0") else 1 if slant == "0" else 2
            for family in families.split(","):
                known = faces.get(family)
                if known is None or rank < known[0]:
                    faces[family] = (rank, FontFace(family, Path(file), int(index)))
    found = {family: face for family, (_, face) in faces.items()}
    found.update({face.family: face for face in _bundled()})
    return found


@cache
def face_cmap(path: Path, index: int) -> frozenset[int]:
    """Code points one font face maps to a glyph (read lazily: only the cmap table)."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        # Placeholder glyph names: the cmap maps code points to names, and the real names of a
        # CJK face (its CFF charset) take longer to read than the map itself; only the code
        # points are kept. Halves the time to load a project whose notice prints Chinese.
        font.setGlyphOrder([f"g{gid}" for gid in range(font["maxp"].numGlyphs)])
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def family_cmap(family: str) -> frozenset[int]:
    """What ``family`` can draw; empty when it is not installed."""
    face = installed_faces().get(family) if family != BUNDLED_FONT else _bundled()[0]
    return face_cmap(face.path, face.index) if face is not None else frozenset()


def invisible(char: str) -> bool:
    """Spaces and format characters: drawn as nothing, never as a box."""
    return char.isspace() or unicodedata.category(char) in _INVISIBLE


@dataclass
class FontChain:
    """The families of one language's pages, first choice first, and what they draw."""

    families: tuple[str, ...]
    _drawn: dict[str, str | None] = field(default_factory=dict)  # char → family, None: no font

    def family_for(self, char: str) -> str | None:
        """The first family of the chain that draws ``char`` (None: no font can)."""
        if char not in self._drawn:
            self._drawn[char] = next((f for f in self.families if ord(char) in family_cmap(f)), None)
        return self._drawn[char]

    def missing(self, text: str) -> list[str]:
        """The distinct characters of ``text`` no family of the chain draws, in order."""
        return [c for c in dict.fromkeys(text) if not invisible(c) and self.family_for(c) is None]

    def css(self) -> str:
        """The chain as a CSS ``font-family`` value."""
        return ", ".join(f'"{family}"' for family in self.families)

    def installed(self) -> list[str]:
        """The families of the chain that are on this machine (the others are skipped)."""
        faces = installed_faces() if any(f != BUNDLED_FONT for f in self.families) else {}
        return [f for f in self.families if f == BUNDLED_FONT or f in faces]


@cache
def chain(families: tuple[str, ...]) -> FontChain:
    """One shared :class:`FontChain` per list of families (per process)."""
    return FontChain(families)


def code_points(chars: Iterable[str]) -> str:
    """``U+4E2D, U+E000``: how a message names characters (never the cell's text itself)."""
    return ", ".join(f"U+{ord(c):04X}" for c in chars)


def missing_message(chars: list[str], families: tuple[str, ...]) -> str:
    """Why these characters cannot be printed, and what would fix it."""
    noun = agree(len(chars), "character", "characters")
    return (
        f"has {noun} {code_points(chars)} that no font in the chain draws "
        f"({', '.join(families)}); it would print as an empty box"
    )
