"""What every printable template shares: practice, brand colours, embedded fonts, logo, QR codes."""

from __future__ import annotations

from typing import Any

import segno

from handout_gen.content.project import Project
from handout_gen.core.paths import FONT_DIR


def font_uris() -> dict[str, str]:
    """file: URIs of the embedded Atkinson Hyperlegible faces (read by the fetcher)."""
    assert FONT_DIR is not None
    names = {"regular": "Regular", "bold": "Bold", "italic": "Italic", "bold_italic": "BoldItalic"}
    return {key: (FONT_DIR / f"AtkinsonHyperlegible-{face}.ttf").as_uri() for key, face in names.items()}


def qr_data_uri(url: str, color: str) -> str:
    """A QR code for ``url`` as an SVG data URI (vector, so it prints sharp at any size)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark=color))


def qr_png_uri(url: str, color: str) -> str:
    """A QR code as a PNG data URI (for blocks that are laid out once and stacked as images)."""
    return str(segno.make(url, error="m").png_data_uri(scale=6, border=2, dark=color))


def base_context(project: Project, lang: str, large_print: bool) -> dict[str, Any]:
    """What every printable template gets: practice, brand colours, fonts, logo, language."""
    practice = project.practice
    return {
        "practice": practice,
        "colors": practice.colors,
        "fonts": font_uris(),
        "logo_uri": project.logo_path.resolve().as_uri(),
        "lang": lang,
        "large_print": large_print,
    }
