"""The logo for screens: one PNG, shown by the newsletter header and the web pages.

Print uses the practice's logo as it is (usually an SVG, sharp at any size). Email clients do
not all show SVG (reference/email.md §2) and a web page should not serve content SVG from the
practice's domain, so screens get a PNG:

- made from the SVG with what the project already has: WeasyPrint lays it out on a page of
  exactly its size, pdfium (which `check` reads PDFs with) rasterises that page with a transparent
  background. Twice the size it is shown, so it stays sharp on high-density screens;
- or, when the practice keeps a hand-made ``<name>.png`` next to ``<name>.svg``, that file;
- or the logo itself when it already is a PNG, JPG or GIF.

:func:`web_logo` says where the PNG lives and how big it is shown, without rendering (the
newsletter needs only that); :func:`logo_png` makes its bytes (the site publishes them).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from handout_gen.content.project import Project
from handout_gen.core.errors import RenderError
from handout_gen.render.pdf import PdfRenderer

SHOWN_HEIGHT = 48  # CSS px in the email header and the web page header
DENSITY = 2  # pixels per CSS px in the rendered PNG
RASTER = (".png", ".jpg", ".jpeg", ".gif")
NUMBER_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(px)?\s*$")
SVG_TAG_RE = re.compile(r"<svg\b([^>]*)>", re.S)
ATTRIBUTE_RE = re.compile(r"""([A-Za-z_:][-\w:.]*)\s*=\s*["']([^"']*)["']""")


@dataclass(frozen=True)
class WebLogo:
    """Where the screen logo lives (relative to content/ and to the site root) and its shown size."""

    src: str
    width: int  # CSS px, as shown
    height: int
    source: Path  # the file the PNG is, or is made from
    rendered: bool  # True when made from the SVG by handout-gen


def _svg_size(path: Path) -> tuple[float, float]:
    """Width and height of an SVG from its ``viewBox`` (or width/height); square when unknown.

    Read from the opening ``<svg …>`` tag with a regular expression: no XML parser (and none
    of its entity tricks) for a file that comes from content.
    """
    try:
        head = path.read_bytes()[:8192].decode("utf-8", "replace")
    except OSError:
        return 1.0, 1.0
    tag = SVG_TAG_RE.search(head)
    attributes = dict(ATTRIBUTE_RE.findall(tag[1])) if tag else {}
    box = attributes.get("viewBox", "").replace(",", " ").split()
    try:
        if len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0:
            return float(box[2]), float(box[3])
    except ValueError:
        pass
    sizes = [NUMBER_RE.match(attributes.get(k, "")) for k in ("width", "height")]
    if sizes[0] and sizes[1] and float(sizes[0][1]) > 0 and float(sizes[1][1]) > 0:
        return float(sizes[0][1]), float(sizes[1][1])
    return 1.0, 1.0


def _raster_size(path: Path) -> tuple[float, float]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return float(image.width), float(image.height)
    except (OSError, UnidentifiedImageError) as exc:
        msg = f"{path.name}: not a readable image ({exc})"
        raise RenderError(msg) from exc


def web_logo(project: Project) -> WebLogo:
    """The screen logo of ``project`` (no rendering; the newsletter calls this every render)."""
    logo = project.logo_path
    rel = PurePosixPath(project.practice.logo)
    if logo.suffix.lower() in RASTER:
        source, src, rendered = logo, rel, False
        width, height = _raster_size(logo)
    else:
        source, src = logo.with_suffix(".png"), rel.with_suffix(".png")
        rendered = not source.is_file()
        width, height = _svg_size(logo) if rendered else _raster_size(source)
        source = logo if rendered else source
    shown = max(1, round(width * SHOWN_HEIGHT / height))
    return WebLogo(src.as_posix(), shown, SHOWN_HEIGHT, source, rendered)


def logo_png(project: Project, renderer: PdfRenderer | None = None) -> bytes:
    """The bytes of the screen logo: the practice's own raster file, or the SVG rendered.

    Rendering is deterministic (no dates in PNG files), so the same logo gives the same bytes.
    """
    logo = web_logo(project)
    if not logo.rendered:
        return logo.source.read_bytes()
    import pypdfium2

    width, height = logo.width * DENSITY, logo.height * DENSITY
    html = (
        "<!DOCTYPE html><html><head><style>"
        f"@page {{ size: {width}px {height}px; margin: 0 }} html, body {{ margin: 0 }}"
        f"img {{ display: block; width: {width}px; height: {height}px }}"
        f'</style></head><body><img src="{logo.source.resolve().as_uri()}" alt=""></body></html>'
    )
    renderer = renderer or PdfRenderer(project.root)
    pdf = renderer.write(renderer.document(html, project.content_dir, tagged=False), tagged=False)
    page = pypdfium2.PdfDocument(pdf)[0]
    # A PDF page is measured in points (3/4 of a CSS px): scale 4/3 gives one pixel per CSS px.
    image = page.render(scale=4 / 3, fill_color=(255, 255, 255, 0)).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
