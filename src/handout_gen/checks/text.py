"""Text rules of ``handout-gen check``: readability, PEMAT-P items, numbers, jargon, images, links.

Everything here reads the Markdown source again (markdown-it tokens carry line numbers),
so each finding points at the line a content keeper has to change. Nothing here renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from markdown_it import MarkdownIt

from handout_gen.checks.findings import Finding
from handout_gen.checks.readability import (
    SENTENCE_CHARS_MAX,
    SENTENCE_WORDS_MAX,
    WORD_LETTERS_MAX,
    reading_level,
)
from handout_gen.content.markdown import removed_problems
from handout_gen.content.packet_marks import unmarked
from handout_gen.content.procedures import Edition
from handout_gen.content.yamlfile import split_front_matter, yaml_key_lines
from handout_gen.core.errors import relpath
from handout_gen.core.languages import Languages, Readability

PARAGRAPH_WORDS, SECTION_WORDS = 60, 250

# Front matter lists a reader sees; they are scored and scanned like sections.
FRONT_LISTS = ("key_points", "aftercare", "call_us_if", "go_to_er_if")
ACTION_SECTIONS = ("before", "day-of", "after")
CHECKLIST_SECTIONS = ("before", "day-of")

_md = MarkdownIt("commonmark", {"html": True})
_md.enable("table")


@dataclass(frozen=True)
class Block:
    """A paragraph or list item as plain text, with the section and line it sits on."""

    kind: Literal["para", "item"]
    section: str
    line: int
    text: str


@dataclass(frozen=True)
class Ref:
    """An image or link in a body: target, alt/label, title, line."""

    kind: Literal["image", "link"]
    target: str
    alt: str
    title: str
    line: int


@dataclass
class Document:
    """One edition's source, re-read with line numbers for precise findings."""

    edition: Edition
    source: str
    lang: str
    rule: Readability = "flesch-kincaid"  # the project's readability rule for ``lang``
    blocks: list[Block] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    key_lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1

    def section_line(self, section_id: str) -> int:
        return next((s.line for s in self.edition.sections if s.id == section_id), 1)

    def front_items(self, name: str) -> list[tuple[str, int]]:
        """Items of a front matter list with their lines."""
        items = getattr(self.edition.meta, name)
        return [
            (text, self.key_lines.get((name, i), self.key_lines.get((name,), 1)))
            for i, text in enumerate(items)
        ]


def _inline_text(token: Any) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def read_document(edition: Edition, root: Path, languages: Languages | None = None) -> Document:
    """Parse an edition's file into blocks and references, all with absolute lines."""
    text = edition.text or edition.path.read_text(encoding="utf-8-sig")  # practice values filled in
    front, body, body_line = split_front_matter(text)
    rule = (languages or Languages()).readability(edition.lang)
    doc = Document(edition, relpath(edition.path, root), edition.lang, rule, body=body, body_line=body_line)
    doc.key_lines = yaml_key_lines(front, first_line=2)
    starts = sorted((s.line, s.id) for s in edition.sections)
    item_depth = 0
    for token in _md.parse(body):
        if token.type == "list_item_open":
            item_depth += 1
        elif token.type == "list_item_close":
            item_depth -= 1
        if token.type != "inline" or token.map is None:
            continue
        line = body_line + token.map[0]
        section = next((sid for start, sid in reversed(starts) if start <= line), "")
        if section:  # headings themselves are not blocks: their line is a section start
            heading = any(start == line for start, _ in starts)
            if not heading:
                said = unmarked(_inline_text(token))[0]  # a packet mark is not text
                doc.blocks.append(Block("item" if item_depth else "para", section, line, said))
        for child in token.children or []:
            child_line = line + _line_offset(token, child)
            if child.type == "image":
                doc.refs.append(Ref("image", str(child.attrs.get("src", "")), child.content,
                                    str(child.attrs.get("title", "") or ""), child_line))
            elif child.type == "link_open":
                doc.refs.append(Ref("link", str(child.attrs.get("href", "")), "", "", child_line))
    return doc


def _line_offset(token: Any, child: Any) -> int:
    """Lines between an inline block's start and ``child`` (counts soft/hard breaks before it)."""
    offset = 0
    for other in token.children or []:
        if other is child:
            return offset
        if other.type in ("softbreak", "hardbreak"):
            offset += 1
    return offset


# --- readability -------------------------------------------------------------------------

def as_sentence(text: str) -> str:
    """A list item as a sentence: give it a terminal period when it has none."""
    text = text.strip()
    if not text:
        return text
    if text[-1] in ":;,":
        return text[:-1] + "."
    return text if text[-1] in ".!?…" else text + "."


def _units(doc: Document) -> Iterator[tuple[str, int, str]]:
    """(label, line, text) of each scored unit: body sections, summary and front lists."""
    for section in doc.edition.sections:
        blocks = [b for b in doc.blocks if b.section == section.id]
        text = " ".join(as_sentence(b.text) if b.kind == "item" else b.text for b in blocks)
        yield f"section '{section.heading}'", section.line, text
    yield "summary", doc.key_lines.get(("summary",), 1), doc.edition.meta.summary
    for name in FRONT_LISTS:
        items = [as_sentence(t) for t, _ in doc.front_items(name)]
        yield name, doc.key_lines.get((name,), 1), " ".join(items)


def _no_formula(doc: Document) -> Finding:
    """Says which rule stood in for a language without a readability formula."""
    return Finding(
        doc.source, 1, "readability.no-formula", "warning",
        f"'{doc.lang}' has no readability formula; checked for short sentences and short words "
        f"instead (at most {SENTENCE_WORDS_MAX:.0f} words or {SENTENCE_CHARS_MAX:.0f} characters "
        f"a sentence, {WORD_LETTERS_MAX:.0f} letters a word on average)",
        "have a qualified medical translator review the reading level")


def readability(doc: Document) -> list[Finding]:
    found = reading_level(doc.source, _units(doc), doc.lang, doc.rule)
    return [_no_formula(doc), *found] if doc.rule == "sentence-length" else found


# --- PEMAT-P items a program can check ---------------------------------------------------

def _words(text: str) -> int:
    return len(re.findall(r"\w+(?:['’-]\w+)*", text))


THIRD_PERSON = {
    "en": re.compile(
        r"\b(?:the|a|each|every|our) patient(?:'s|s)?\b|\bpatients (?:should|must|will|need)\b", re.I
    ),
    "es": re.compile(r"\b(?:el|la|los|las|cada) pacientes?\b", re.I),
}
SECOND_PERSON = {
    "en": re.compile(r"\b(?:you|your|yours|yourself)\b", re.I),
    "es": re.compile(r"\b(?:usted|ustedes|su|sus|le|les)\b", re.I),
}
# Words that start a statement rather than an instruction (a list item starting with one of
# them is not an action). The test is deliberately simple: instructions start with a verb.
_NOT_IMPERATIVE_EN = """
        a an the this that these those it its i we they he she you your my our their
        there here some most many much all any each every one two three four five six
        seven eight nine ten often usually sometimes who what when where why how is are
        was were will can may might could would should
"""
_NOT_IMPERATIVE_ES = """
        el la los las un una unos unas este esta estos estas ese esa eso esto su sus mi
        mis nuestro nuestra nuestros nuestras usted ustedes yo nosotros ellos ellas él
        ella hay es son está están fue era será puede pueden podría algunos algunas
        muchos muchas todo todos toda todas cada uno dos tres cuatro cinco seis siete
        ocho nueve diez que qué quién cuándo dónde cómo por para en con de del al a
        tiene tienen siente ve le
"""
NOT_IMPERATIVE = {"en": frozenset(_NOT_IMPERATIVE_EN.split()), "es": frozenset(_NOT_IMPERATIVE_ES.split())}
CONDITION_RE = {
    "en": re.compile(r"^(?:if|when|before|after|once|while|until)\b[^,]*,\s*", re.I),
    "es": re.compile(r"^(?:si|cuando|antes|después|mientras|hasta)\b[^,]*,\s*", re.I),
}


def is_action(text: str, lang: str) -> bool:
    """Does a list item tell the reader to do something ("Bring…", "If X, call…", "No coma…")?"""
    text = CONDITION_RE[lang].sub("", text.strip())
    first = re.match(r"[¿¡]?(\w+)", text)
    if not first:
        return False
    word = first.group(1).lower()
    return word not in NOT_IMPERATIVE[lang] and not word.isdigit()


def pemat(doc: Document) -> list[Finding]:
    findings: list[Finding] = []
    lang = doc.lang
    worded = lang in THIRD_PERSON  # the word lists below exist for English and Spanish only
    for block in doc.blocks:
        words = _words(block.text)
        if words > PARAGRAPH_WORDS:
            findings.append(Finding(
                doc.source, block.line, "pemat.paragraph-length", "warning",
                f"this {'list item' if block.kind == 'item' else 'paragraph'} has {words} words "
                f"(more than {PARAGRAPH_WORDS})", "split it into shorter paragraphs or a list"))
    for section in doc.edition.sections:
        words = sum(_words(b.text) for b in doc.blocks if b.section == section.id)
        if words > SECTION_WORDS:
            findings.append(Finding(
                doc.source, section.line, "pemat.section-length", "warning",
                f"section '{section.heading}' has {words} words (more than {SECTION_WORDS})",
                "cut it down or move details to another handout"))
    texts = [(b.text, b.line) for b in doc.blocks] + [
        item for name in FRONT_LISTS for item in doc.front_items(name)]
    for text, line in texts if worded else []:
        match = THIRD_PERSON[lang].search(text)
        if match:
            reader = "you" if lang == "en" else "usted"
            findings.append(Finding(
                doc.source, line, "pemat.address-reader", "warning",
                f"talks about '{match.group(0)}' instead of to the reader",
                f"address the reader directly as '{reader}'"))
    if worded and not any(SECOND_PERSON[lang].search(t) for t, _ in texts):
        findings.append(Finding(
            doc.source, doc.section_line("what"), "pemat.address-reader", "warning",
            "the text never speaks to the reader directly",
            "write to the reader: 'you' in English, 'usted' in Spanish"))
    for sid in ACTION_SECTIONS if worded else ():
        items = [b.text for b in doc.blocks if b.section == sid and b.kind == "item"]
        if sid == "after":
            items += [t for t, _ in doc.front_items("aftercare")]
        if not any(is_action(t, lang) for t in items):
            findings.append(Finding(
                doc.source, doc.section_line(sid), "pemat.action", "warning",
                f"section '{sid}' has no list item that tells the reader what to do",
                "add a bullet that starts with a verb, e.g. 'Bring your medicine list.'"))
    for sid in CHECKLIST_SECTIONS:
        if not any(b.section == sid and b.kind == "item" for b in doc.blocks):
            findings.append(Finding(
                doc.source, doc.section_line(sid), "pemat.checklist", "warning",
                f"section '{sid}' has no bullet list, so the handout prints no checklist for it",
                "write the steps as a '- ' bullet list (they print as tick boxes)"))
    return findings


# Percentages, fractions and decimals are hard to use (PEMAT-P item 6). A decimal
# temperature ("100.4 °F") is allowed: rounding a fever threshold would change the advice.
PERCENT_RE = re.compile(r"\d+(?:[.,]\d+)?\s*%|\bper ?cent\b|\bpor ciento\b", re.I)
FRACTION_RE = re.compile(r"(?<![\d/.-])\d+/\d+(?![\d/])|[½⅓⅔¼¾⅕⅛]")
DECIMAL_RE = re.compile(r"(?<![\d.])\d+[.,]\d+(?![\d.,]*\s?(?:°|degrees|grados))(?!\d)")
TIME_RE = re.compile(r"\b\d{1,2}:\d{2}\b")


def numbers(doc: Document) -> list[Finding]:
    findings = []
    texts = [(b.text, b.line) for b in doc.blocks] + [
        item for name in FRONT_LISTS for item in doc.front_items(name)]
    texts.append((doc.edition.meta.summary, doc.key_lines.get(("summary",), 1)))
    for text, line in texts:
        text = TIME_RE.sub("", text)
        for pattern, what in ((PERCENT_RE, "a percentage"), (FRACTION_RE, "a fraction"),
                              (DECIMAL_RE, "a decimal number")):
            match = pattern.search(text)
            if match:
                findings.append(Finding(
                    doc.source, line, "pemat.numbers", "warning",
                    f"'{match.group(0)}' is {what}",
                    "use whole numbers and words, e.g. '1 in 10 people' or 'half a cup'"))
    return findings


def jargon(doc: Document, glossary: dict[str, str]) -> list[Finding]:
    """Each glossary term must be defined where the body first uses it.

    "Defined" means: later in the same sentence there is a parenthesis, ", which means" or
    ", que es" (content/glossary.yaml says which terms count as jargon).
    """
    findings = []
    marker = re.compile(r"\(|,\s*which means|,\s*que es", re.I)
    for term, definition in glossary.items():
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?:s|es)?(?!\w)", re.I)
        for block in doc.blocks:
            match = pattern.search(block.text)
            if not match:
                continue
            rest = block.text[match.end():]
            end = re.search(r"[.!?](?:\s|$)", rest)
            sentence_rest = rest[: end.start()] if end else rest
            if not marker.search(sentence_rest):
                findings.append(Finding(
                    doc.source, block.line, "pemat.jargon", "warning",
                    f"'{match.group(0)}' is not explained where it is first used",
                    f"add a short definition right after it, e.g. '{match.group(0)} ({definition})'"))
            break
    return findings


# --- images and links inside bodies ------------------------------------------------------

SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def references(doc: Document, content_dir: Path) -> list[Finding]:
    findings = []
    for ref in doc.refs:
        if ref.kind == "image":
            if SCHEME.match(ref.target) or ref.target.startswith("/"):
                findings.append(Finding(
                    doc.source, ref.line, "references.image-missing", "error",
                    f"image '{ref.target}' is not a project file (it would be dropped)",
                    "copy the picture into content/assets/ and link it as assets/<name>"))
            elif not (content_dir / ref.target.split("#")[0]).is_file():
                findings.append(Finding(
                    doc.source, ref.line, "references.image-missing", "error",
                    f"image '{ref.target}' not found in content/",
                    "check the path (relative to content/) or add the file"))
            if not ref.alt.strip():
                findings.append(Finding(
                    doc.source, ref.line, "references.image-alt", "error",
                    f"image '{ref.target}' has no alt text",
                    "describe the picture: ![what it shows](path \"Caption\")"))
            if not ref.title.strip():
                findings.append(Finding(
                    doc.source, ref.line, "references.image-caption", "error",
                    f"image '{ref.target}' has no caption",
                    "add a caption as the image title: ![alt](path \"Caption\")"))
            continue
        target = ref.target
        if target.startswith("http:"):
            findings.append(Finding(
                doc.source, ref.line, "references.link-https", "error",
                f"link '{target}' is not https (it would be removed from the handout)",
                "use the https:// address"))
        if SCHEME.match(target) or target.startswith("#") or not target:
            continue
        path = target.split("#")[0].split("?")[0]
        if path.endswith(".md") and not (doc.edition.path.parent / path).is_file():
            findings.append(Finding(
                doc.source, ref.line, "references.broken-link", "error",
                f"link to '{path}' points at no file",
                "fix the path (relative to this file) or remove the link"))
    return findings


def removed(doc: Document) -> list[Finding]:
    """Links and images the sanitiser would remove that :func:`references` does not name
    already (raw HTML, other schemes): nothing may vanish silently from a handout."""
    named = {ref.target for ref in doc.refs if ref.target.startswith("http:") or ref.kind == "image"}
    return [
        Finding(doc.source, p.line, p.rule, "error", p.message,
                "use an https:// link or a picture inside content/assets/, or remove it")
        for p in removed_problems(doc.body, doc.source, doc.body_line)
        if not any(target and target in p.message for target in named)
    ]


def all_text(doc: Document) -> list[tuple[str, int]]:
    """Every string of an edition a reader sees, with its line (for glyph coverage)."""
    meta = doc.edition.meta
    texts = [(b.text, b.line) for b in doc.blocks]
    texts += [(s.heading, s.line) for s in doc.edition.sections]
    texts += [(meta.title, doc.key_lines.get(("title",), 1)),
              (meta.summary, doc.key_lines.get(("summary",), 1)),
              (meta.reviewer_role, doc.key_lines.get(("reviewer_role",), 1)),
              (meta.version, doc.key_lines.get(("version",), 1))]
    texts += [item for name in FRONT_LISTS for item in doc.front_items(name)]
    return texts
