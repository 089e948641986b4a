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
