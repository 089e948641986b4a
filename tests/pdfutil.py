"""Helpers to look inside rendered PDFs the way a checker would (text, fonts, tools)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined, whitespace folded (for phrase assertions)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


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
