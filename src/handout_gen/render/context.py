"""What every printable template shares: practice, brand colours, embedded fonts, logo, QR codes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import segno

from handout_gen.content.project import Project
from handout_gen.core.fonts import chain
from handout_gen.core.paths import FONT_DIR


def font_uris() -> dict[str, str]:
    """file: URIs of the embedded Atkinson Hyperlegible faces (read by the fetcher)."""
    assert FONT_DIR is not None
    names = {"regular": "Regular", "bold": "Bold", "italic": "Italic", "bold_italic": "BoldItalic"}
    return {key: (FONT_DIR / f"AtkinsonHyperlegible-{face}.ttf").as_uri() for key, face in names.items()}


# segno encodes in pure Python (about 10 ms a code) and a run asks for the same code again:
# both print sizes of a handout, its web page, every check.
@lru_cache(maxsize=512)
def qr_data_uri(url: str, color: str) -> str:
    """A QR code for ``url`` as an SVG data URI (vector, so it prints sharp at any size)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark=color))


@lru_cache(maxsize=512)
def qr_png_uri(url: str, color: str) -> str:
    """A QR code as a PNG data URI (for blocks that are laid out once and stacked as images)."""
    return str(segno.make(url, error="m").png_data_uri(scale=6, border=2, dark=color))


def language_help(project: Project, lang: str) -> list[dict[str, str]]:
    """The lines of the language-help notice, each with its language and direction (none
    when the practice turned it off). The reader's own language comes first: a Spanish page
    does not open the notice in English; the others keep the practice's order."""
    notice, languages = project.language_help, project.languages
    if not notice.show:
        return []
    lines = sorted(notice.lines, key=lambda line: line.lang != lang)  # stable: the rest keep their order
    return [
        {"lang": line.lang, "dir": languages.direction(line.lang), "text": line.text,
         "font_family": chain(languages.font_chain(line.lang)).css()}
        for line in lines
    ]


def base_context(project: Project, lang: str, large_print: bool, reader: str | None = None) -> dict[str, Any]:
    """What every printable template gets: practice, brand colours, fonts, logo, language
    (its Babel locale, text direction and font chain), and the language-help notice, which
    opens in the ``reader``'s language (the page's, unless it is a fallback in another)."""
    practice, languages = project.practice, project.languages
    return {
        "practice": practice,
        "colors": practice.colors,
        "fonts": font_uris(),
        "font_family": chain(languages.font_chain(lang)).css(),
        "logo_uri": project.logo_path.resolve().as_uri(),
        "lang": lang,
        "locale": languages.locale(lang),
        "dir": languages.direction(lang),
        **languages.punctuation(lang),  # colon, comma, semicolon: "Date: " / "日期："
        "directions": {code: languages.direction(code) for code in languages.codes},
        # each language's font chain, for a document that holds several (the letters' blocks)
        "font_families": {code: chain(languages.font_chain(code)).css() for code in languages.codes},
        "catalog_dir": str(project.catalog_dir),
        "language_help": language_help(project, reader or lang),
        "large_print": large_print,
    }
