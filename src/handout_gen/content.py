"""Reading content: front matter → typed models, Markdown body → sanitised HTML sections.

Everything here is pure and fast (no WeasyPrint), so ``list``, ``check`` and no-op builds
stay instant. Problems are collected, not raised one by one, and each names file:line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nh3
import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ValidationError

from .errors import Problem, relpath
from .models import LANGUAGES, EditionMeta, ProcedureMeta, TranslationMeta

M = TypeVar("M", bound=BaseModel)

SECTION_IDS = ("what", "who", "before", "day-of", "after")
HEADING_RE = re.compile(r"^##\s+(?P<title>.+?)\s*\{#(?P<id>[a-z0-9-]+)\}\s*$")
FENCE_RE = re.compile(r"^(```|~~~)")

# Tags a handout may use. Everything else (script, iframe, object, embed, form, style…)
# is removed together with its content where that content could run or load something.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt",
    "em", "figcaption", "figure", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"lang"},
}
SCHEME_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Drop image sources that would load anything but a project file.

    Remote (https:) images would make the PDF depend on the network, and ``file:``,
    absolute or ``..`` sources could read files outside content/; the URL fetcher refuses
    them too, but removing them here keeps the output inert and free of warnings.
    """
    if tag == "img" and attribute == "src" and (
        SCHEME_RE.match(value) or value.startswith(("/", "\\")) or ".." in value.split("/")
    ):
        return None
    return value


_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_md.enable("table")


def render_markdown(text: str) -> str:
    """Markdown → HTML with raw HTML sanitised (no scripts, frames, remote or file: loads)."""
    return nh3.clean(
        _md.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto", "tel"},
        attribute_filter=_filter_attribute,
        link_rel=None,
    )


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return ``(yaml_text, body, body_first_line)``; raise ValueError without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        msg = "missing front matter: the file must start with a line '---'"
        raise ValueError(msg)
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    msg = "front matter is not closed: add a line '---' after it"
    raise ValueError(msg)


def yaml_key_lines(text: str, first_line: int = 1) -> dict[tuple[str | int, ...], int]:
    """Map each key path in a YAML document to its 1-based line, for precise messages."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = node.start_mark.line + first_line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                walk(value, child)
                lines[child] = key.start_mark.line + first_line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def parse_yaml(
    text: str, source: str, first_line: int = 1
) -> tuple[Any, dict[tuple[str | int, ...], int], list[Problem]]:
    """Parse YAML safely; a syntax error becomes a Problem with its line."""
    try:
        data = yaml.safe_load(text)
        key_lines = yaml_key_lines(text, first_line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark is not None else first_line
        reason = getattr(exc, "problem", None) or str(exc)
        return None, {}, [Problem(source, f"invalid YAML: {reason}", line)]
    if not isinstance(data, dict):
        return None, {}, [Problem(source, "expected a mapping of keys to values", first_line)]
    return data, key_lines, []


def validate(
    model: type[M],
    data: dict[str, Any],
    source: str,
    key_lines: dict[tuple[str | int, ...], int],
    default_line: int = 1,
) -> tuple[M | None, list[Problem]]:
    """Validate ``data`` against ``model``; every error becomes a located Problem."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # The nearest enclosing key that exists gives the line (a missing key has none).
            line = next(
                (key_lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in key_lines),
                default_line,
            )
            where = ".".join(str(part) for part in loc) or None
            message = error["msg"]
            if error["type"] == "missing":
                message = "is required but missing"
            elif error["type"] == "extra_forbidden":
                message = "is not a known field (check the spelling)"
            problems.append(Problem(source, message.removeprefix("Value error, "), line, where))
        return None, problems


def load_model(
    path: Path, model: type[M], root: Path
) -> tuple[M | None, dict[tuple[str | int, ...], int], list[Problem]]:
    """Read a YAML file and validate it against ``model``: the one way config files load."""
    source = relpath(path, root)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None, {}, [Problem(source, "not UTF-8 text")]
    data, key_lines, problems = parse_yaml(text, source)
    if data is None:
        return None, key_lines, problems
    value, problems = validate(model, data, source, key_lines)
    return value, key_lines, problems


@dataclass(frozen=True)
class Section:
    """One ``## Heading {#id}`` section of a content body."""

    id: str
    heading: str
    markdown: str
    html: str
    line: int


def parse_sections(body: str, source: str, first_line: int) -> tuple[list[Section], list[Problem]]:
    """Split a body into its fixed sections and check they are all there, in order."""
    problems: list[Problem] = []
    found: list[tuple[str, str, int, list[str]]] = []
    preamble: list[str] = []
    in_fence = False
    for offset, raw in enumerate(body.splitlines()):
        if FENCE_RE.match(raw.strip()):
            in_fence = not in_fence
        match = None if in_fence else HEADING_RE.match(raw)
        if match:
            found.append((match["id"], match["title"], first_line + offset, []))
        elif not in_fence and raw.startswith("## "):
            problems.append(Problem(
                source, "a section heading needs its id, e.g. '## Before your visit {#before}'",
                first_line + offset,
            ))
        elif found:
            found[-1][3].append(raw)
        else:
            preamble.append(raw)
    if any(line.strip() for line in preamble):
        problems.append(Problem(source, "text before the first '## … {#id}' section", first_line))
    ids = [item[0] for item in found]
    if ids != list(SECTION_IDS):
        problems.append(Problem(
            source,
            f"sections must be {', '.join(SECTION_IDS)} in that order; found {', '.join(ids) or 'none'}",
            found[0][2] if found else first_line,
        ))
    sections = [
        Section(sid, title, "\n".join(text).strip(), render_markdown("\n".join(text)), line)
        for sid, title, line, text in found
    ]
    return sections, problems


@dataclass(frozen=True)
class Edition:
    """One language edition of a procedure: the text a reader sees, with its sections."""

    lang: str
    meta: EditionMeta
    sections: tuple[Section, ...]
    path: Path
    digest: str  # hash of every source byte this edition's output depends on

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)


@dataclass(frozen=True)
class Procedure:
    """A procedure (or the overview) with its original and translated editions."""

    meta: ProcedureMeta
    editions: dict[str, Edition] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.meta.slug

    @property
    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGES if lang in self.editions]

    def edition(self, lang: str) -> Edition:
        """The edition in ``lang``, or the English original when there is no translation."""
        return self.editions.get(lang, self.editions["en"])


def _read_document(
    path: Path, root: Path, model: type[M]
) -> tuple[M | None, list[Section], bytes, list[Problem]]:
    source = relpath(path, root)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [], raw, [Problem(source, f"not UTF-8 text ({exc.reason})")]
    try:
        front, body, body_line = split_front_matter(text)
    except ValueError as exc:
        return None, [], raw, [Problem(source, str(exc), 1)]
    data, key_lines, problems = parse_yaml(front, source, first_line=2)
    if data is None:
        return None, [], raw, problems
    meta, problems = validate(model, data, source, key_lines)
    sections, section_problems = parse_sections(body, source, body_line)
    return meta, sections, raw, problems + section_problems


def load_procedures(content_dir: Path, root: Path) -> tuple[dict[str, Procedure], list[Problem]]:
    """Read every ``procedures/<slug>.md`` and ``<slug>.<lang>.md``; collect all problems."""
    folder = content_dir / "procedures"
    problems: list[Problem] = []
    procedures: dict[str, Procedure] = {}
    if not folder.is_dir():
        return {}, [Problem(relpath(folder, root), "folder is missing")]
    files = sorted(folder.glob("*.md"))
    originals = [p for p in files if "." not in p.stem]
    translations = [p for p in files if "." in p.stem]
    sources: dict[str, bytes] = {}
    for path in originals:
        meta, sections, raw, found = _read_document(path, root, ProcedureMeta)
        problems += found
        if meta is None or found:
            continue
        if meta.slug != path.stem:
            message = f"slug '{meta.slug}' must match the file name '{path.stem}'"
            problems.append(Problem(relpath(path, root), message, 2, "slug"))
            continue
        sources[meta.slug] = raw
        digest = hashlib.sha256(raw).hexdigest()
        edition = Edition("en", meta, tuple(sections), path, digest)
        procedures[meta.slug] = Procedure(meta, {"en": edition})
    for path in translations:
        slug, _, lang = path.stem.rpartition(".")
        source = relpath(path, root)
        if lang not in LANGUAGES or lang == "en":
            problems.append(Problem(source, f"unknown language '{lang}' (known: {', '.join(LANGUAGES[1:])})"))
            continue
        tmeta, sections, raw, found = _read_document(path, root, TranslationMeta)
        problems += found
        if tmeta is None or found:
            continue
        if slug not in procedures:
            if not (folder / f"{slug}.md").is_file():  # an invalid original is reported already
                problems.append(Problem(source, f"translation of unknown procedure '{slug}' (no {slug}.md)"))
            continue
        if tmeta.lang != lang:
            problems.append(Problem(source, f"lang '{tmeta.lang}' does not match the file name", 2, "lang"))
            continue
        digest = hashlib.sha256(sources[slug] + b"\0" + raw).hexdigest()
        procedures[slug].editions[lang] = Edition(lang, tmeta, tuple(sections), path, digest)
    return procedures, problems
