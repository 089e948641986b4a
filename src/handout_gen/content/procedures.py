"""Procedures: each ``content/procedures/<slug>.md`` and its translations, read and validated.

Everything here is pure and fast (no WeasyPrint), so ``list``, ``check`` and no-op builds
stay instant. Problems are collected, not raised one by one, and each names file:line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from handout_gen.content.languages import unknown_language
from handout_gen.content.markdown import render_markdown, split_sections
from handout_gen.content.packet_marks import for_packet, packet_marks, unknown_topic
from handout_gen.content.schema import EditionMeta, ProcedureMeta, TranslationMeta, site_keys
from handout_gen.content.values import substitute
from handout_gen.content.yamlfile import parse_yaml, split_front_matter, validate
from handout_gen.core.errors import InputRefused, Problem, relpath
from handout_gen.core.files import read_input
from handout_gen.core.languages import ORIGINAL, Languages

M = TypeVar("M", bound=BaseModel)

SECTION_IDS = ("what", "who", "before", "day-of", "after")


@dataclass(frozen=True)
class Section:
    """One ``## Heading {#id}`` section of a content body."""

    id: str
    heading: str
    markdown: str
    html: str
    line: int

    def html_in_packet(self, covered: tuple[str, ...]) -> str:
        """The HTML a packet prints: without the list items marked with a ``covered`` topic."""
        return render_markdown(for_packet(self.markdown, covered)) if covered else self.html




def parse_sections(body: str, source: str, first_line: int) -> tuple[list[Section], list[Problem]]:
    """Split a body into its fixed sections and check they are all there, in order."""
    preamble, found, problems = split_sections(body, source, first_line, "## Before your visit {#before}")
    if any(line.strip() for line in preamble):
        problems.append(Problem(source, "text before the first '## … {#id}' section", first_line))
    ids = [item.id for item in found]
    if ids != list(SECTION_IDS):
        problems.append(Problem(
            source,
            f"sections must be {', '.join(SECTION_IDS)} in that order; found {', '.join(ids) or 'none'}",
            found[0].line if found else first_line,
        ))
    for item in found:
        for offset, topic, bullet in packet_marks("\n".join(item.lines)):
            wrong = unknown_topic(topic) or (None if bullet else
                                             f"'{{packet:{topic}}}' must end the line of a '- ' list item")
            if wrong:
                problems.append(Problem(source, wrong, item.line + 1 + offset))
    sections = [
        Section(s.id, s.heading, s.markdown, render_markdown(for_packet("\n".join(s.lines))), s.line)
        for s in found
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
    text: str = ""  # the source with practice values filled in (what ``check`` reads again)

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)

    @cached_property
    def section_topics(self) -> frozenset[str]:
        """The packet topics its sections are marked with (asked for every packet made)."""
        return frozenset(topic for s in self.sections for _, topic, _ in packet_marks(s.markdown))

    def packet_topics(self, *, aftercare: bool = True, calls: bool = True) -> frozenset[str]:
        """The packet topics its text is marked with (a packet covering others prints the
        same handout): of its sections and key points, of its aftercare list unless
        ``aftercare=False`` and of its list of signs to call about unless ``calls=False``."""
        listed = self.meta.key_point_topics | (self.meta.aftercare_topics if aftercare else frozenset())
        return self.section_topics | listed | (self.meta.call_topics if calls else frozenset())


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
        return list(self.editions)  # the original first, then each translation in file order

    def edition(self, lang: str) -> Edition:
        """The edition in ``lang``, or the English original when there is no translation."""
        return self.editions.get(lang, self.editions[ORIGINAL])

    def url(self, lang: str) -> str:
        """The web page of the edition a reader of ``lang`` gets (the original's when untranslated)."""
        return edition_url(self.meta.url, self.edition(lang).lang)

    def behind(self, lang: str) -> tuple[str, str] | None:
        """(the version it translates, the English version now) when the edition in ``lang``
        translates an older English than there is now; None when it is current or absent."""
        edition = self.editions.get(lang)
        translates = getattr(edition.meta, "translation_of_version", None) if edition else None
        now = self.editions[ORIGINAL].meta.version
        return None if translates is None or translates == now else (translates, now)

    def stale(self, lang: str) -> str | None:
        """What to say of the edition in ``lang`` when it translates an older English version
        (check's ``translation.stale``); None when it does not."""
        behind = self.behind(lang)
        if behind is None:
            return None
        translates, now = behind
        return f"{self.meta.slug}'s '{lang}' edition translates {translates}, but the English is now {now}"


def edition_url(url: str, lang: str) -> str:
    """Where a procedure's page in ``lang`` lives: the original's ``url`` for the original,
    ``<url>/<lang>/`` for a translation (``<name>.<lang>.<ext>`` when ``url`` names a file).

    The one rule for it: the handout prints it, the newsletter links it, the site puts the page
    there. Beside the original, so each edition is found from the other without a site map.
    """
    if lang == ORIGINAL:
        return url
    parts = urlsplit(url)
    folder, _, name = parts.path.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    path = f"{folder}/{stem}.{lang}.{suffix}" if dot and stem else parts.path.rstrip("/") + f"/{lang}/"
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


@dataclass
class _Read:
    """One file as read: its bytes, its text with practice values filled in, what it holds."""

    raw: bytes = b""
    text: str = ""
    sections: list[Section] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# Front matter only the English original holds: a translation takes it from there.
_ORIGINAL_ONLY = frozenset(ProcedureMeta.model_fields) - frozenset(TranslationMeta.model_fields)


def _from_the_original(problem: Problem, slug: str) -> Problem:
    """A translation's field that belongs to the original ("slug", "prep") is no misspelling:
    say where it comes from, not "check the spelling"."""
    if problem.field not in _ORIGINAL_ONLY or problem.rule != "schema":
        return problem
    message = f"comes from the English file ({slug}.md), not a translation: remove it here"
    return replace(problem, message=message)


def _read_document(
    path: Path, root: Path, model: type[M], values: dict[str, str] | None
) -> tuple[M | None, _Read]:
    source = relpath(path, root)
    read = _Read()
    try:
        read.raw = read_input(path, folder=path.parent, root=root)
    except InputRefused as exc:
        read.problems = [exc.problem]
        return None, read
    try:
        read.text, read.problems = substitute(read.raw.decode("utf-8-sig"), values, source)
    except UnicodeDecodeError as exc:
        read.problems = [Problem(source, f"not UTF-8 text ({exc.reason})")]
        return None, read
    try:
        front, body, body_line = split_front_matter(read.text)
    except ValueError as exc:
        read.problems = [Problem(source, str(exc), 1)]
        return None, read
    data, key_lines, problems = parse_yaml(front, source, first_line=2)
    if data is None:
        read.problems += problems
        return None, read
    meta, problems = validate(model, data, source, key_lines)
    read.sections, section_problems = parse_sections(body, source, body_line)
    read.problems += problems + section_problems
    return meta, read


@dataclass
class Loaded:
    """Every procedure that loaded cleanly, and the problems of each one that did not.

    A problem in any file of a procedure (its original or a translation) keeps the whole
    procedure out, so its outputs are blocked while every other procedure's are made.
    """

    procedures: dict[str, Procedure] = field(default_factory=dict)
    broken: dict[str, list[Problem]] = field(default_factory=dict)  # slug -> its problems
    problems: list[Problem] = field(default_factory=list)  # about the folder itself


def load_procedures(
    content_dir: Path, root: Path, languages: Languages | None = None, values: dict[str, str] | None = None
) -> Loaded:
    """Read every ``procedures/<slug>.md`` and ``<slug>.<lang>.md``; collect all problems.

    An edition in a language the project does not declare is left out with a warning that
    names the file: it never keeps the procedure's other editions (or anything else) out.
    ``values`` are the practice values content may name (:mod:`~handout_gen.content.values`).
    """
    languages = languages or Languages()
    folder = content_dir / "procedures"
    loaded = Loaded()
    if not folder.is_dir():
        loaded.problems.append(Problem(relpath(folder, root), "folder is missing"))
        return loaded
    files = sorted(folder.glob("*.md"))
    procedures, sources = loaded.procedures, {}
    for path in (p for p in files if "." not in p.stem):
        meta, read = _read_document(path, root, ProcedureMeta, values)
        found, raw = read.problems, read.raw
        if meta is not None and not found and meta.slug != path.stem:
            message = f"slug '{meta.slug}' must match the file name '{path.stem}'"
            found = [Problem(relpath(path, root), message, 2, "slug")]
        if meta is not None and not found:
            source = relpath(path, root)
            found = _sign_site_problems(meta, meta.prep.sites, read.text, source, "prep.bleeding_risk")
        if meta is None or found:
            loaded.broken.setdefault(path.stem, []).extend(found)
            continue
        sources[meta.slug] = raw
        digest = hashlib.sha256(raw).hexdigest()
        edition = Edition(ORIGINAL, meta, tuple(read.sections), path, digest, read.text)
        procedures[meta.slug] = Procedure(meta, {ORIGINAL: edition})
    for path in (p for p in files if "." in p.stem):
        slug, _, lang = path.stem.rpartition(".")
        if lang not in languages.translated:
            message = f"{unknown_language(lang, languages)}; this edition is left out"
            source, rule = relpath(path, root), "references.unknown-language"
            loaded.problems.append(Problem(source, message, 1, severity="warning", rule=rule))
            continue
        found = _load_translation(path, slug, lang, loaded, sources, root, values)
        if found:
            loaded.broken.setdefault(slug, []).extend(found)
    for slug in loaded.broken:
        procedures.pop(slug, None)
    order = {code: index for index, code in enumerate(languages.codes)}
    for procedure in procedures.values():  # editions in the order the project lists its languages
        ordered = sorted(procedure.editions.items(), key=lambda item: order.get(item[0], len(order)))
        procedure.editions.clear()
        procedure.editions.update(ordered)
    return loaded


def _sign_site_problems(meta: EditionMeta, sites: tuple[str, ...], text: str, source: str,
                        whose: str) -> list[Problem]:
    """numbness_sign_by_site naming a site (or region) the procedure does not have, or, in
    the English, given without numbness_sign (the sign for a row that names no site; a
    translation without it prints no time, and check says so), at its own line."""
    unknown = sorted(set(meta.numbness_sign_by_site) - site_keys(sites))
    if unknown:
        message = (f"names {', '.join(unknown)}: not a site of {whose} ({', '.join(sites) or 'none'}) "
                   "nor the region before a site's '-'")
    elif meta.numbness_sign_by_site and meta.numbness_sign is None and isinstance(meta, ProcedureMeta):
        message = "needs numbness_sign too: the sign for a row that names no site"
    else:
        return []
    return [Problem(source, message, _key_line(text, "numbness_sign_by_site"), "numbness_sign_by_site")]


def _key_line(text: str, key: str) -> int:
    """The line of a file's text where its front matter's top-level ``key`` is written."""
    return next((n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"{key}:")), 1)


def _load_translation(  # noqa: PLR0913 - the loader's state, passed down once
    path: Path,
    slug: str,
    lang: str,
    loaded: Loaded,
    sources: dict[str, bytes],
    root: Path,
    values: dict[str, str] | None,
) -> list[Problem]:
    """Add the ``lang`` edition at ``path`` to its procedure; return its problems instead."""
    source = relpath(path, root)
    tmeta, read = _read_document(path, root, TranslationMeta, values)
    if tmeta is None or read.problems:
        return [_from_the_original(problem, slug) for problem in read.problems]
    if slug not in sources:
        if slug in loaded.broken:  # the original's own problems are reported already
            return []
        message = f"translation of unknown procedure '{slug}' (no {slug}.md)"
        return [Problem(source, message, rule="references.unknown-slug")]
    if tmeta.lang != lang:
        return [Problem(source, f"lang '{tmeta.lang}' does not match the file name", 2, "lang")]
    days = [step.days for step in tmeta.dated_aftercare]
    english = [step.days for step in loaded.procedures[slug].meta.dated_aftercare]
    if days and days != english:  # a reader would stop a day early, or late, that the English does not
        message = f"gives the days {days} where the English gives {english}: the same steps, in its order"
        return [Problem(source, message, _key_line(read.text, "dated_aftercare"), "dated_aftercare")]
    sites = loaded.procedures[slug].meta.prep.sites
    whose = "the English edition's prep.bleeding_risk"
    if found := _sign_site_problems(tmeta, sites, read.text, source, whose):
        return found
    digest = hashlib.sha256(sources[slug] + b"\0" + read.raw).hexdigest()
    edition = Edition(lang, tmeta, tuple(read.sections), path, digest, read.text)
    loaded.procedures[slug].editions[lang] = edition
    return []
