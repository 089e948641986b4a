"""Helpers to look inside rendered PDFs the way a checker would (text, fonts, tools)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from handout_gen.checks.pdfchars import Char


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined, whitespace folded (for phrase assertions).

    poppler's ``pdftotext`` (C, an independent reader of what WeasyPrint and pikepdf wrote) is
    about ten times faster than a pure-Python extractor on a 20-page packet.
    """
    return " ".join(" ".join(pdf_lines(data)).split())


def pdf_lines(data: bytes) -> list[str]:
    """The lines of a PDF's text as poppler breaks them, stripped (for where a line starts)."""
    command = ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"]  # -raw: content order, no dehyphenation
    result = subprocess.run(command, input=data, capture_output=True, check=True)
    return [line.strip() for line in result.stdout.decode("utf-8").splitlines()]


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text as poppler reads it, whitespace folded (pdftotext ends a page with \\f)."""
    result = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                            check=True)
    return [" ".join(page.split()) for page in result.stdout.decode("utf-8").split("\f")[:-1]]


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


def struct_lines(data: bytes) -> list[str]:
    """A tagged PDF's structure tree as poppler's ``pdfinfo -struct-text`` prints it (an
    independent reader of the tree): an element's type line ("H2 (block)"), then its text
    lines, quoted, each indented under its parent."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        command = ["pdfinfo", "-enc", "UTF-8", "-struct-text", handle.name]
        # section titles (/T) come out in the PDF's own encoding: only the text lines are read
        out = subprocess.run(command, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    return out.splitlines()


def struct_headings(data: bytes, tag: str = "H2") -> list[str]:
    """The text of each ``tag`` element of a tagged PDF's structure tree (:func:`struct_lines`),
    its lines and its children's joined by spaces."""
    lines = struct_lines(data)
    found = []
    for n, line in enumerate(lines):
        if line.strip().split(" ")[0] != tag:
            continue
        indent, texts = len(line) - len(line.lstrip()), []
        for below in lines[n + 1 :]:
            if len(below) - len(below.lstrip()) <= indent:
                break
            if below.strip().startswith('"'):
                texts.append(below.strip()[1:-1])
        found.append(" ".join(texts))
    return found


def struct_texts(data: bytes) -> list[str]:
    """The text of a tagged PDF's structure tree, element by element in tree order
    (:func:`struct_lines`)."""
    import json

    texts = []
    for line in struct_lines(data):
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


def _font_glyph_count(font: object) -> int:
    """Glyphs in the font program a PDF font embeds (its subset), read with fontTools."""
    import io

    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont

    descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font  # type: ignore[attr-defined]
    descriptor = descendant.FontDescriptor
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            data = descriptor[key].read_bytes()
            subtype = str(descriptor[key].get("/Subtype", ""))
            if key == "/FontFile3" and subtype in ("/CIDFontType0C", "/Type1C"):
                cff = CFFFontSet()
                cff.decompile(io.BytesIO(data), None)
                return len(cff[cff.fontNames[0]].charset)
            return int(TTFont(io.BytesIO(data)).getGlyphOrder().__len__())
    raise AssertionError("font without an embedded program")


def shown_glyphs(data: bytes) -> list[tuple[str, int, int]]:
    """Every glyph id a PDF shows, as (font name, glyph id, glyphs in that font's subset).

    Reads each page's content stream and, recursively, every Form XObject it draws (packet
    letters are stacked forms). WeasyPrint writes Identity-H CID fonts, so each shown string
    is a run of 2-byte glyph ids; a glyph the font lacked comes out as id 0 or as an id past
    the subset's glyph count.
    """
    import io

    import pikepdf

    found: list[tuple[str, int, int]] = []
    counts: dict[int, int] = {}

    def walk(stream: object, resources: object, seen: set[tuple[int, int]]) -> None:
        fonts = resources.get("/Font", {}) if resources is not None else {}  # type: ignore[attr-defined]
        xobjects = resources.get("/XObject", {}) if resources is not None else {}  # type: ignore[attr-defined]
        font = None
        for operands, operator in pikepdf.parse_content_stream(stream):
            op = str(operator)
            if op == "Tf":
                font = fonts[operands[0]]
            elif op in ("Tj", "'", '"', "TJ"):
                strings = operands[0] if op == "TJ" else operands[-1:]
                assert font is not None
                key = font.objgen
                if key not in counts:
                    counts[key] = _font_glyph_count(font)
                for item in strings:
                    if isinstance(item, pikepdf.String):
                        raw = bytes(item)
                        for i in range(0, len(raw), 2):
                            gid = int.from_bytes(raw[i : i + 2])
                            found.append((str(font.get("/BaseFont")), gid, counts[key]))
            elif op == "Do":
                xobject = xobjects[operands[0]]
                if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                    walk(xobject, xobject.get("/Resources", resources), {*seen, xobject.objgen})

    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            walk(page.obj, page.obj.get("/Resources"), set())
    return found


def missing_glyphs(data: bytes) -> list[tuple[str, int, int]]:
    """The shown glyphs that draw nothing: id 0 (.notdef) or past the embedded subset."""
    return [(font, gid, count) for font, gid, count in shown_glyphs(data) if gid == 0 or gid >= count]


def page_layout(data: bytes, *, large_print: bool) -> list[dict[str, object]]:
    """Per page, as pdfium reads its characters: the body text's vertical extent as a share
    of the body height ("fill"), the smallest character size anywhere on the page and every
    size on it ("sizes", rounded), how near any ink comes to an edge of the paper ("clear"),
    the footer's text and the page's text (:func:`lines_of`).

    The body lies between the margins of base.css.j2 (the constants ``check`` uses); text
    above and below them is the header and footer.
    """
    from handout_gen.checks.pdf import BOTTOM_MARGIN_PT, TOP_MARGIN_PT, in_body
    from handout_gen.checks.pdfchars import edge_distances, pdf_pages

    top_margin, bottom_margin = TOP_MARGIN_PT[large_print], BOTTOM_MARGIN_PT[large_print]
    layout = []
    for page in pdf_pages(data):
        chars = [c for c in page.chars if c.text.strip()]
        body_bottom = page.height - bottom_margin
        body = [c for c in chars if in_body(c, page, large_print)]
        extent = max((c.bottom for c in body), default=0) - min((c.top for c in body), default=0)
        layout.append({
            "fill": extent / (body_bottom - top_margin),
            "smallest": min(c.size for c in chars),
            "sizes": {round(c.size) for c in chars},
            "footer": " ".join(lines_of([c for c in page.chars if c.top >= body_bottom])),
            "clear": min(distance for c in chars for distance, _ in edge_distances(page, c)),
            "text": "\n".join(lines_of(page.chars)),
        })
    return layout


def page_lines(data: bytes) -> list[list[str]]:
    """Each page's lines of text (:func:`lines_of`)."""
    from handout_gen.checks.pdfchars import pdf_pages

    return [lines_of(page.chars) for page in pdf_pages(data)]


def lines_of(chars: Sequence[Char], tolerance: float = 3) -> list[str]:
    """The lines that ``chars`` (pdfium's) make, top to bottom, each read left to right, as
    pdfplumber's ``extract_text`` makes them: a word is a run of characters with no space and
    no gap wider than ``tolerance`` points; words whose tops lie within ``tolerance`` of the
    previous one's are one line. (Right-to-left text comes out in visual order, as there.)"""
    rows: list[list[Char]] = []
    for char in sorted(chars, key=lambda c: c.top):
        if rows and char.top - rows[-1][-1].top <= tolerance:
            rows[-1].append(char)
        else:
            rows.append([char])
    words: list[tuple[float, float, str]] = []  # top, x0, text
    for row in rows:
        word: list[Char] = []
        for char in [*sorted(row, key=lambda c: c.x0), None]:
            if word and (char is None or not char.text.strip() or char.x0 > word[-1].x1 + tolerance):
                words.append((word[0].top, word[0].x0, "".join(c.text for c in word)))
                word = []
            if char is not None and char.text.strip():
                word.append(char)
    lines: list[list[tuple[float, float, str]]] = []
    for word in sorted(words):
        if lines and word[0] - lines[-1][-1][0] <= tolerance:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [" ".join(text for _, _, text in sorted(line, key=lambda w: w[1])) for line in lines]


def language_changes(data: bytes) -> list[tuple[str, str]]:
    """(language, text) of each element of a tagged PDF whose ``/Lang`` differs from the one
    it inherits (the catalog's, at the top), in tree order, read by pdfplumber's structure
    tree (pdfminer: another reader than the pikepdf and WeasyPrint that wrote it). Text is
    gathered from the element's marked content and its kids', spaces dropped."""
    import io
    from typing import Any

    import pdfplumber
    from pdfminer.pdftypes import resolve1
    from pdfplumber.structure import PDFStructTree

    changes: list[tuple[str, str]] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        chars: dict[int, list[dict[str, Any]]] = {}

        def text(element: Any) -> str:
            found = []
            if element.mcids and element.page_number:
                page = chars.setdefault(element.page_number, pdf.pages[element.page_number - 1].chars)
                found = [str(c["text"]) for c in page if c.get("mcid") in element.mcids]
            return "".join("".join(found + [text(kid) for kid in element.children]).split())

        def walk(element: Any, inherited: str | None) -> None:
            lang = element.lang if element.lang is not None else inherited  # "": declared unknown
            if inherited is not None and lang != inherited:
                changes.append((lang, text(element)))
            for kid in element.children:
                walk(kid, lang)

        declared = resolve1(pdf.doc.catalog.get("Lang"))  # the document's language: where it starts
        for top in PDFStructTree(pdf):
            walk(top, declared.decode() if isinstance(declared, bytes) else None)
    return changes
