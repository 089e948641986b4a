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


def struct_texts(data: bytes) -> list[str]:
    """The text of a tagged PDF's structure tree, element by element in tree order, as
    poppler's ``pdfinfo -struct-text`` reads it (an independent reader of the tree)."""
    import json
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        command = ["pdfinfo", "-enc", "UTF-8", "-struct-text", handle.name]
        # section titles (/T) come out in the PDF's own encoding: only the text lines are read
        out = subprocess.run(command, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    texts = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('"') and line.endswith('"') and len(line) > 1:
            texts.append(json.loads(line) if '\\' in line else line[1:-1])
    return texts


def in_order(text: str, phrases: list[str]) -> list[str]:
    """The phrases missing from ``text`` or out of order ([] when all are there, in order)."""
    at, wrong = 0, []
    for phrase in phrases:
        found = text.find(phrase, at)
        if found < 0:
            wrong.append(phrase)
        else:
            at = found + len(phrase)
    return wrong
