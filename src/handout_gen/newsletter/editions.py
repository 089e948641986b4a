"""Language editions of a newsletter issue: ``<issue>.<lang>.md`` beside ``<issue>.md``.

An edition translates the words (subject, preheader, introduction, sections, the hero's alt
text, the footer's permission reminder); the date, the blocks, the pictures and the
procedures it features come from the English original, as a procedure edition takes its
slug and prep from its original. Each edition is an :class:`~.model.Issue` of its own, so
rendering, guards and sending treat every language alike. An edition in a language the
project does not declare is left out with a warning naming its file and line: it never
blocks the English issue. A problem inside an edition in a declared language stops the issue
(like a problem in any edition of a procedure), so a reader is never silently sent English.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from handout_gen.content.languages import unknown_language
from handout_gen.content.project import Project
from handout_gen.content.schema import Strict, Text
from handout_gen.content.yamlfile import validate
from handout_gen.core.errors import Problem, ValidationFailed, relpath
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.model import (
    NO_INTRO,
    Issue,
    SectionBlock,
    issue_path,
    load_issue,
    newsletters_dir,
    parse_body,
    read_issue_file,
)


class NewsletterTranslationMeta(Strict):
    """Front matter of ``content/newsletters/<issue>.<lang>.md``: the words only."""

    lang: Text  # must match the file name's <lang>, a language the project declares
    translation_of_version: Text  # the English issue's ``version`` this edition translates
    status: Literal["draft", "approved"]
    reviewer_role: Text | None = None
    subject: Annotated[str, Field(min_length=1, max_length=120)]
    preheader: Annotated[str, Field(min_length=1, max_length=150)]
    hero_alt: str | None = None  # the English alt text when not given
    permission_reminder: Text | None = None  # the footer's "you get this email because…"


@dataclass(frozen=True)
class IssueEditions:
    """An issue in every language it has: the English original and its translations."""

    original: Issue
    translations: dict[str, Issue]
    warnings: tuple[Problem, ...] = ()
    problems: tuple[Problem, ...] = ()  # errors of editions left out (they block only themselves)

    @property
    def all(self) -> list[Issue]:
        """The original first, then each translation in the order the project lists languages."""
        return [self.original, *self.translations.values()]

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(issue.lang for issue in self.all)

    def edition(self, lang: str) -> Issue | None:
        """The edition in ``lang``; None when the issue has none (the reader gets English)."""
        return self.original if lang == ORIGINAL else self.translations.get(lang)


def edition_files(project: Project, issue_id: str) -> dict[str, Path]:
    """``<issue>.<lang>.md`` files beside the issue, by the language code in their names."""
    folder = newsletters_dir(project)
    if not folder.is_dir():
        return {}
    found = {p.name[len(issue_id) + 1 : -len(".md")]: p for p in folder.glob(f"{issue_id}.*.md")}
    return {lang: path for lang, path in sorted(found.items()) if lang and "." not in lang}


def _lang_line(path: Path) -> int:
    """The line of ``lang:`` in a file's front matter (1 when there is none)."""
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return 1
    return next((n for n, line in enumerate(lines[:60], 1) if line.startswith("lang:")), 1)


def load_translation(project: Project, original: Issue, lang: str) -> tuple[Issue, list[Problem]]:
    """Read and validate the ``lang`` edition of ``original``; every problem at once.

    Returns the edition and its warnings (a translation of an older English version)."""
    read = read_issue_file(project, issue_path(project, original.id, lang))
    source, lines = read.source, read.key_lines
    meta, problems = validate(NewsletterTranslationMeta, read.data, source, lines)
    intro, sections, found = parse_body(read.body, source, read.body_line, project.content_dir)
    problems += found
    if meta is not None and meta.lang != lang:
        message = f"lang '{meta.lang}' does not match the file name"
        problems.append(Problem(source, message, lines.get(("lang",)), "lang"))
    wanted = [b.section for b in original.meta.blocks if isinstance(b, SectionBlock)]
    for sid in wanted:
        if sid not in sections:
            message = f"no section '## … {{#{sid}}}' (the English issue has one; translate it)"
            problems.append(Problem(source, message, read.body_line))
    for sid, (_, _, line) in sections.items():
        if sid not in wanted:
            problems.append(Problem(source, f"section '{sid}' is not in the English issue", line))
    if not intro:
        problems.append(Problem(source, NO_INTRO, read.body_line))
    if problems or meta is None:
        raise ValidationFailed(problems, source)
    hero = original.meta.hero
    if hero is not None and meta.hero_alt is not None:
        hero = hero.model_copy(update={"alt": meta.hero_alt})
    translated = original.meta.model_copy(
        update={"subject": meta.subject, "preheader": meta.preheader, "lang": lang, "hero": hero}
    )
    digest = hashlib.sha256(read.raw + b"\0" + bytes.fromhex(original.digest)).hexdigest()
    warnings = []
    if meta.translation_of_version != original.meta.version:
        now = original.meta.version or "unversioned (give the English issue a version:)"
        message = f"translates version {meta.translation_of_version} but the English issue is now {now}"
        warnings.append(
            Problem(
                source,
                message,
                lines.get(("translation_of_version",)),
                severity="warning",
                rule="translation.stale",
            )
        )
    return Issue(
        original.id,
        translated,
        intro,
        {k: (t, m) for k, (t, m, _) in sections.items()},
        read.path,
        digest,
        meta.status,
        meta.permission_reminder,
    ), warnings


def load_editions(project: Project, issue_id: str) -> IssueEditions:
    """The issue and every edition beside it; an undeclared language is a warning, never a stop.

    An edition with problems is left out and its problems returned: it blocks only its own
    outputs (the build), while ``newsletter`` and ``send`` refuse the issue until it is fixed.
    """
    original = load_issue(project, issue_id)
    languages = project.languages
    translations: dict[str, Issue] = {}
    warnings: list[Problem] = []
    problems: list[Problem] = []
    for lang, path in edition_files(project, issue_id).items():
        source = relpath(path, project.root)
        if lang == ORIGINAL or lang not in languages.translated:
            message = f"{unknown_language(lang, languages)}; this edition is left out"
            warnings.append(
                Problem(
                    source, message, _lang_line(path), severity="warning", rule="references.unknown-language"
                )
            )
            continue
        try:
            translations[lang], found = load_translation(project, original, lang)
            warnings += found
        except ValidationFailed as exc:
            problems += exc.problems
    order = {code: index for index, code in enumerate(languages.codes)}
    ordered = dict(sorted(translations.items(), key=lambda item: order.get(item[0], len(order))))
    return IssueEditions(original, ordered, tuple(warnings), tuple(problems))
