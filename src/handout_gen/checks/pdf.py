"""Print rules of ``handout-gen check``: colour contrast, type size in the PDF, font coverage.

The PDF rules look at what WeasyPrint actually produced (the character sizes and font names
pdfium reads), not at the CSS, because a project template can override the CSS.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from handout_gen.checks.findings import Finding
from handout_gen.checks.pdfchars import Char, Page, edge_distances, pdf_pages
from handout_gen.core.errors import Severity, relpath
from handout_gen.core.files import Manifest
from handout_gen.core.fonts import chain, face_cmap, invisible
from handout_gen.core.languages import BUNDLED_FONT, DEFAULT_FONTS
from handout_gen.core.paths import FONT_DIR
from handout_gen.handouts import Renderer, handout_key, planned_handouts

BODY_MIN_PT, LARGE_BODY_MIN_PT = 12.0, 18.0
FURNITURE_MIN_PT = 12.0  # large print: LARGE_BODY_MIN_PT, like everything on its pages
TEXT_CONTRAST, BRAND_CONTRAST = 7.0, 4.5
# Page margins of the built-in base.css.j2 in points, by print size (standard, large): text
# between them is body text; text inside them is the header and footer ("page furniture").
TOP_MARGIN_PT = {False: 1.1 * 72, True: 1.2 * 72}
BOTTOM_MARGIN_PT = {False: 1.0 * 72, True: 1.65 * 72}
# Paper left clear around all text: printers that cannot print to the edge clip less than this
# (patient-education guidance: margins of at least half an inch).
EDGE_CLEAR_PT = 0.5 * 72
FONT_FAMILY = "AtkinsonHyperlegible"
FACES = ("Regular", "Bold", "Italic", "BoldItalic")


# --- contrast ----------------------------------------------------------------------------

def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``#RRGGBB``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# (foreground, background, what, minimum): how base.css.j2 (print) and site.css.j2 (web pages;
# buttons are background on primary, the same pair) use practice.yaml's colours.
COLOUR_PAIRS = (
    ("text", "background", "body text on the page", TEXT_CONTRAST),
    ("text", "tint", "text in the key-points box", TEXT_CONTRAST),
    ("primary", "background", "headings and links", TEXT_CONTRAST),
    ("primary", "tint", "the key-points heading", TEXT_CONTRAST),
    ("accent", "background", "the accent (box borders)", BRAND_CONTRAST),
)


def contrast(colors: Any, source: str, key_lines: dict[tuple[str | int, ...], int]) -> list[Finding]:
    findings = []
    for fg, bg, what, minimum in COLOUR_PAIRS:
        ratio = contrast_ratio(getattr(colors, fg), getattr(colors, bg))
        if ratio + 1e-9 < minimum:
            severity: Severity = "error" if minimum == TEXT_CONTRAST else "warning"
            findings.append(Finding(
                source, key_lines.get(("colors", fg)), "pdf.contrast", severity,
                f"colors.{fg} {getattr(colors, fg)} on colors.{bg} {getattr(colors, bg)} "
                f"({what}) has contrast {ratio:.1f}:1; it needs {minimum:g}:1",
                f"darken colors.{fg} or lighten colors.{bg}"))
    return findings


# --- font coverage -----------------------------------------------------------------------

def font_cmap(face: str) -> frozenset[int]:
    """Code points the embedded Atkinson Hyperlegible ``face`` can draw."""
    assert FONT_DIR is not None
    return face_cmap(FONT_DIR / f"AtkinsonHyperlegible-{face}.ttf", 0)


def _seen_key(char: str, families: tuple[str, ...]) -> str:
    """A glyph finding's key: a character is reported once per font chain, whether the
    content (before rendering) or the PDF found it."""
    return f"{char}\0{families}"


def glyphs(
    texts: Iterable[tuple[str, int]], source: str, seen: set[str], families: tuple[str, ...] = DEFAULT_FONTS
) -> list[Finding]:
    """Characters of the content that no font of the chain ``families`` can draw (before
    rendering): each would print as an empty box. Reported once per character and chain."""
    fonts = chain(families)
    findings = []
    for text, line in texts:
        for char in fonts.missing(text):
            key = _seen_key(char, families)
            if key in seen:
                continue
            seen.add(key)
            findings.append(_glyph_finding(
                char, source, line, f"is in no font of the chain ({', '.join(fonts.installed())})"))
    return findings


def _glyph_finding(char: str, source: str, line: int | None, what: str) -> Finding:
    return Finding(
        source, line, "pdf.glyphs", "error", f"character '{char}' (U+{ord(char):04X}) {what}",
        "use a plain character instead (e.g. '-' for an arrow, a word for a symbol), or add a "
        "font family that has it to content/languages.yaml")


def locate_char(char: str, files: Iterable[Path], root: Path) -> tuple[str, int | None]:
    """The first file:line holding ``char`` (content first, then templates)."""
    for path in files:
        try:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if char in line:
                    return relpath(path, root), number
        except (OSError, UnicodeDecodeError):
            continue
    return "", None


# --- the rendered PDF --------------------------------------------------------------------

def _face(fontname: str) -> str | None:
    """'ABCDEF+Atkinson-Hyperlegible-Bold' → 'Bold'; None for any other font."""
    name = fontname.split("+", 1)[-1].replace("-", "").replace(" ", "")
    if not name.startswith(FONT_FAMILY):
        return None
    suffix = name.removeprefix(FONT_FAMILY) or "Regular"
    return suffix if suffix in FACES else "Regular"


def _in_chain(fontname: str, families: tuple[str, ...]) -> bool:
    """'ABCDEF+Noto-Sans-CJK-SC-Bold' is a face of a family of the chain."""
    name = fontname.split("+", 1)[-1].replace("-", "").replace(" ", "").lower()
    return any(name.startswith(f.replace(" ", "").lower()) for f in families)


def pdf_findings(
    data: bytes, *, large_print: bool, output_name: str, source: str,
    char_files: list[Path], root: Path, seen_chars: set[str], families: tuple[str, ...] = DEFAULT_FONTS,
) -> list[Finding]:
    """Body size, footer size, clearance from the paper's edges and font coverage of one
    rendered handout."""
    smallest: dict[str, tuple[float, str, int]] = {}  # area -> (size, text, page) of its smallest text
    nearest = (EDGE_CLEAR_PT, "", "", 0)  # (distance, edge, text, page): the ink nearest an edge
    findings: list[Finding] = []
    judged: set[tuple[str, str]] = set()
    for page in pdf_pages(data):
        for char in page.chars:
            text, size = char.text, round(char.size, 2)
            if not text.strip():
                continue
            area = "body" if in_body(char, page, large_print) else "furniture"
            if area not in smallest or size < smallest[area][0]:
                smallest[area] = (size, text, page.number)
            for distance, edge in edge_distances(page, char):
                if distance < nearest[0]:
                    nearest = (distance, edge, text, page.number)
            if (text, char.font) in judged:
                continue  # the same character in the same font: the same verdict
            judged.add((text, char.font))
            findings += _glyph_findings(text, char.font, output_name, page.number,
                                        char_files, root, seen_chars, families)
    return findings + _size_findings(smallest, large_print, output_name, source) + _edge_findings(
        nearest, output_name, source)


def in_body(char: Char, page: Page, large_print: bool) -> bool:
    """Whether a character lies between the page margins (body text), not in the header or
    footer; a point's tolerance for the measure's rounding."""
    bottom = page.height - BOTTOM_MARGIN_PT[large_print]
    return char.top >= TOP_MARGIN_PT[large_print] - 1 and char.bottom <= bottom + 1


def _glyph_findings(
    text: str, font: str, output_name: str, page_no: int, char_files: list[Path], root: Path,
    seen_chars: set[str], families: tuple[str, ...],
) -> list[Finding]:
    """A finding for each character of ``text`` that no font of the chain draws, the first
    time it is seen in the check."""
    findings = []
    face = _face(font)
    ours = face is not None or _in_chain(font, families)
    for ch in text:
        if invisible(ch) or _seen_key(ch, families) in seen_chars:
            continue
        if not ours or (face is not None and ord(ch) not in font_cmap(face)
                        and chain(families).family_for(ch) in (None, BUNDLED_FONT)):
            seen_chars.add(_seen_key(ch, families))
            file, line = locate_char(ch, char_files, root)
            drawn = "a font outside the chain" if not ours else f"the {face} face"
            findings.append(_glyph_finding(
                ch, file or output_name, line,
                f"is drawn with {drawn} in {output_name} (page {page_no}); "
                "no font of the chain has a glyph for it"))
    return findings


def _size_findings(
    smallest: dict[str, tuple[float, str, int]], large_print: bool, output_name: str, source: str
) -> list[Finding]:
    body_min = LARGE_BODY_MIN_PT if large_print else BODY_MIN_PT
    furniture_min = LARGE_BODY_MIN_PT if large_print else FURNITURE_MIN_PT
    findings = []
    if "body" in smallest and smallest["body"][0] < body_min:
        size, text, page_no = smallest["body"]
        kind = "large-print " if large_print else ""
        findings.append(Finding(
            source, None, "pdf.body-size", "error",
            f"{output_name} page {page_no}: body text as small as {size:g} pt (e.g. '{text}'); "
            f"{kind}body text must be at least {body_min:g} pt",
            "remove font-size overrides that shrink text in templates/ (body uses --body-size)"))
    if "furniture" in smallest and smallest["furniture"][0] < furniture_min:
        size, text, page_no = smallest["furniture"]
        findings.append(Finding(
            source, None, "pdf.furniture-size", "error",
            f"{output_name} page {page_no}: header/footer text as small as {size:g} pt "
            f"(e.g. '{text}'); it must be at least {furniture_min:g} pt",
            "raise --furniture-size in the template CSS"))
    return findings


def _edge_findings(nearest: tuple[float, str, str, int], output_name: str, source: str) -> list[Finding]:
    distance, edge, text, page_no = nearest
    if not edge or distance >= EDGE_CLEAR_PT - 0.5:  # half a point: the measure's rounding
        return []
    return [Finding(
        source, None, "pdf.edge-clearance", "error",
        f"{output_name} page {page_no}: text {distance / 72:.2f} in from the {edge} edge of the paper "
        f"(e.g. '{text}'); many printers cannot print that close to the edge and clip it",
        f"keep {EDGE_CLEAR_PT / 72:g} in of paper clear: deepen the @page margin in the template CSS "
        "or make the header or footer shorter")]


def rendered_handouts(project: Any) -> Iterable[tuple[Any, Any, bytes]]:
    """(procedure, variant, PDF bytes) for every planned handout.

    A PDF that ``build`` already wrote for exactly these inputs (same manifest key) is read
    back instead of being rendered again; nothing is written.
    """
    manifest = Manifest(project.output_dir, "handouts")
    renderer = Renderer(project)
    for procedure, variant in planned_handouts(project):
        target = project.output_dir / "handouts" / variant.filename(procedure.slug)
        if manifest.unchanged(target.name, handout_key(project, procedure, variant), target):
            yield procedure, variant, target.read_bytes()
        else:
            yield procedure, variant, renderer.handout(procedure, variant)
