"""Helpers to look inside rendered PDFs the way a checker would (text, fonts, tools)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined, whitespace folded (for phrase assertions).

    poppler's ``pdftotext`` (C, an independent reader of what WeasyPrint and pikepdf wrote) is
    about ten times faster than a pure-Python extractor on a 20-page packet.
    """
    command = ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"]  # -raw: content order, no dehyphenation
    result = subprocess.run(command, input=data, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


def tool(*args: str | Path) -> str:
    """Run a poppler/qpdf command and return its stdout (fails the test on error)."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True)
    return result.stdout


def pdfinfo(path: Path) -> dict[str, str]:
    info = {}
    for line in tool("pdfinfo", path).splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def pdf_links(data: bytes) -> list[str]:
    """Every /URI link annotation of a PDF, in page order (what a reader's tap opens)."""
    import io

    import pikepdf

    links = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for annot in page.obj.get("/Annots", []):
                action = annot.get("/A")
                if action is not None and action.get("/S") == "/URI":
                    links.append(str(action.URI))
    return links


def page_layout(data: bytes, *, large_print: bool) -> list[dict[str, object]]:
    """Per page, as pdfplumber reads it: the body text's vertical extent as a share of the body
    height ("fill"), the smallest character size anywhere on the page, and the footer's text.

    The body lies between the margins of base.css.j2 (the constants ``check`` uses); text
    above and below them is the header and footer.
    """
    import io

    import pdfplumber

    from handout_gen.checks.pdf import BOTTOM_MARGIN_PT, LARGE_BOTTOM_MARGIN_PT, TOP_MARGIN_PT

    bottom_margin = LARGE_BOTTOM_MARGIN_PT if large_print else BOTTOM_MARGIN_PT
    pages = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            chars = [c for c in page.chars if c["text"].strip()]
            body_bottom = page.height - bottom_margin
            body = [c for c in chars if c["top"] >= TOP_MARGIN_PT - 1 and c["bottom"] <= body_bottom + 1]
            extent = max((c["bottom"] for c in body), default=0) - min((c["top"] for c in body), default=0)
            footer = page.crop((0, body_bottom, page.width, page.height)).extract_text()
            pages.append({
                "fill": extent / (body_bottom - TOP_MARGIN_PT),
                "smallest": min(float(c["size"]) for c in chars),
                "footer": " ".join(footer.split()),
            })
    return pages
