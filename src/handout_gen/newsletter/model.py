"""The newsletter model: ``content/newsletters/<issue>.md`` read and validated into an :class:`Issue`.

Front matter lists the blocks in order (procedure blocks quote the procedure's own file;
section blocks are ``## Heading {#id}`` sections of the body). Every problem is reported at
once, with file, line and field, before anything is rendered.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from handout_gen.content.markdown import (
    missing_image,
    missing_image_problems,
    removed_problems,
    split_sections,
)
from handout_gen.content.project import Project
from handout_gen.content.schema import Line, Slug, Strict, Text
from handout_gen.content.yamlfile import KeyLines, parse_yaml, split_front_matter, validate
from handout_gen.core.errors import InputRefused, Problem, UnknownItemError, ValidationFailed, relpath
from handout_gen.core.files import read_input
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.phi import patient_keys

ISSUE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NO_INTRO = "the body needs an introduction before the first block"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")  # no SVG/WebP/data: in email (email.md §2)


class NewsletterImage(Strict):
    """An image in an email: ``src`` relative to content/; alt, width and height required."""

    src: Text
    alt: str  # "" only for a purely decorative image
    width: Annotated[int, Field(gt=0, le=600)]
    height: Annotated[int, Field(gt=0)]


class ProcedureBlock(Strict):
    """Feature a procedure: title, summary, image and link come from its own file."""

    procedure: Slug
    image: NewsletterImage | None = None  # used only when the procedure file has none


class SectionBlock(Strict):
    """Free Markdown: a ``## Heading {#id}`` section of the issue's body."""

    section: Slug


class NewsletterMeta(Strict):
    """Front matter of ``content/newsletters/<issue>.md``."""

    subject: Annotated[Line, Field(max_length=120)]  # an email header: one line
    preheader: Annotated[Line, Field(max_length=150)]
    date: date
    lang: str = ORIGINAL
    version: Text | None = None  # what a language edition's translation_of_version names
    # "draft" until reviewed: `send` refuses to send a list an edition no reviewer approved
    # (no status counts as a draft: Issue.approved)
    status: Literal["draft", "approved"] | None = None
    hero: NewsletterImage | None = None
    blocks: Annotated[list[ProcedureBlock | SectionBlock], Field(min_length=1)]


@dataclass(frozen=True)
class Issue:
    """A validated newsletter issue with its Markdown already rendered (sanitised)."""

    id: str
    meta: NewsletterMeta
    intro_md: str
    sections: dict[str, tuple[str, str]]  # id -> (heading, markdown)
    path: Path
    digest: str
    status: str | None = None  # a language edition's review status ("draft" until a translator signs)
    permission_reminder: str | None = None  # an edition's own wording of the footer's reminder

    @property
    def lang(self) -> str:
        return self.meta.lang

    @property
    def approved(self) -> bool:
        """A reviewer said so (``status: approved``): no status is a draft, as ``draft`` is."""
        return self.status == "approved"


def newsletters_dir(project: Project) -> Path:
    return project.content_dir / "newsletters"


def list_issues(project: Project) -> list[str]:
    """Issue ids (file names without ``.md``) in content/newsletters/, sorted."""
    folder = newsletters_dir(project)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.md") if ISSUE_RE.match(p.stem))


def parse_body(
    body: str, source: str, first_line: int, content_dir: Path
) -> tuple[str, dict[str, tuple[str, str, int]], list[Problem]]:
    """Split the body into the introduction and its ``## Heading {#id}`` sections; a link or
    image that would be removed, or an image not in ``content_dir``, is a problem."""
    intro, found, problems = split_sections(body, source, first_line, "## Winter hours {#hours}")
    problems += removed_problems("\n".join(intro), source, first_line)  # nothing vanishes silently
    problems += missing_image_problems("\n".join(intro), source, first_line, content_dir)
    sections: dict[str, tuple[str, str, int]] = {}
    for section in found:
        if section.id in sections:
            problems.append(Problem(source, f"duplicate section id '{section.id}'", section.line))
        sections[section.id] = (section.heading, section.markdown, section.line)
        problems += removed_problems("\n".join(section.lines), source, section.line + 1)
        problems += missing_image_problems("\n".join(section.lines), source, section.line + 1, content_dir)
    return "\n".join(intro).strip(), sections, problems


def _check_image(
    project: Project, image: NewsletterImage, source: str, line: int | None, where: str
) -> list[Problem]:
    if not image.src.lower().endswith(IMAGE_SUFFIXES):
        return [
            Problem(
                source,
                f"'{image.src}' must be PNG, JPG or GIF (email clients do not all show SVG or WebP)",
                line,
                where,
            )
        ]
    missing = missing_image(image.src, project.content_dir, source, line, where)
    return [missing] if missing else []


def _block_problems(
    project: Project,
    meta: NewsletterMeta,
    sections: dict[str, tuple[str, str, int]],
    source: str,
    key_lines: KeyLines,
) -> list[Problem]:
    """Blocks that name an unknown procedure or section, sections no block uses, missing images."""
    problems: list[Problem] = []
    used: set[str] = set()
    for index, block in enumerate(meta.blocks):
        line = key_lines.get(("blocks", index))
        if isinstance(block, ProcedureBlock):
            if block.procedure in project.broken:
                message = f"procedure '{block.procedure}' has problems in its file (see 'handout-gen check')"
                where = f"blocks.{index}.procedure"
                problems.append(Problem(source, message, line, where, rule="references.broken-procedure"))
            elif block.procedure not in project.procedures:
                known = ", ".join(sorted(project.procedures))
                message = f"unknown procedure '{block.procedure}' (known: {known})"
                where = f"blocks.{index}.procedure"
                problems.append(Problem(source, message, line, where, rule="references.unknown-slug"))
            if block.image is not None:
                problems += _check_image(project, block.image, source, line, f"blocks.{index}.image")
        elif block.section not in sections:
            message = f"no section '## … {{#{block.section}}}' in the body"
            problems.append(Problem(source, message, line, f"blocks.{index}.section"))
        else:
            used.add(block.section)
    for sid, (_, _, line) in sections.items():
        if sid not in used:
            message = f"section '{sid}' is not listed in blocks (add '- section: {sid}')"
            problems.append(Problem(source, message, line))
    if meta.hero is not None:
        problems += _check_image(project, meta.hero, source, key_lines.get(("hero",)), "hero")
    return problems


def issue_path(project: Project, issue_id: str, lang: str = ORIGINAL) -> Path:
    """``content/newsletters/<issue>.md``, or ``<issue>.<lang>.md`` for a language edition."""
    suffix = "" if lang == ORIGINAL else f".{lang}"
    return newsletters_dir(project) / f"{issue_id}{suffix}.md"


@dataclass(frozen=True)
class IssueFile:
    """One newsletter file as read: its bytes, front matter (with key lines) and body."""

    path: Path
    source: str
    raw: bytes
    data: Any  # the parsed front matter (validated by the caller's model)
    key_lines: KeyLines
    body: str
    body_line: int


def read_issue_file(project: Project, path: Path) -> IssueFile:
    """Read a newsletter file and its front matter; refuse patient data before anything else."""
    source = relpath(path, project.root)
    try:
        raw = read_input(path, folder=newsletters_dir(project), root=project.root)
    except InputRefused as exc:
        raise ValidationFailed([exc.problem], source) from None
    try:
        front, body, body_line = split_front_matter(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed([Problem(source, str(exc), 1)], source) from None
    data, key_lines, problems = parse_yaml(front, source, first_line=2)
    if data is None:
        raise ValidationFailed(problems, source)
    patient = patient_keys(data)
    if patient:
        raise ValidationFailed(
            [
                Problem(
                    source,
                    "patient data has no place in a newsletter; remove this field",
                    key_lines.get(p),
                    ".".join(map(str, p)),
                    rule="newsletter.patient-data",
                )
                for p in patient
            ],
            source,
        )
    return IssueFile(path, source, raw, data, key_lines, body, body_line)


def load_issue(project: Project, issue_id: str) -> Issue:
    """Read and validate one issue; every problem is reported at once (file:line: field)."""
    if not ISSUE_RE.match(issue_id) or not issue_path(project, issue_id).is_file():
        known = ", ".join(list_issues(project)) or "none"
        msg = f"no newsletter '{issue_id}' in content/newsletters/ (known: {known})"
        raise UnknownItemError(msg)
    read = read_issue_file(project, issue_path(project, issue_id))
    source, key_lines = read.source, read.key_lines
    meta, problems = validate(NewsletterMeta, read.data, source, key_lines)
    intro, sections, found = parse_body(read.body, source, read.body_line, project.content_dir)
    problems += found
    if meta is not None:
        problems += _block_problems(project, meta, sections, source, key_lines)
    if not intro:
        problems.append(Problem(source, NO_INTRO, read.body_line))
    if problems or meta is None:
        raise ValidationFailed(problems, source)
    digest = hashlib.sha256(read.raw).hexdigest()
    sections_md = {k: (t, m) for k, (t, m, _) in sections.items()}
    return Issue(issue_id, meta, intro, sections_md, read.path, digest, meta.status)
