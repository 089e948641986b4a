"""Procedure handouts: build the template context, render to PDF, build them all.

``build_handouts`` skips a handout whose inputs (content, practice, templates, recipe,
tool version) hash to the same key as the PDF already in ``output/``, so a no-op rebuild
reads files and hashes them but never starts WeasyPrint.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import jinja2

from handout_gen.content.procedures import Edition, Procedure
from handout_gen.content.project import Project
from handout_gen.core.errors import Problem, ValidationFailed, relpath
from handout_gen.core.files import BuildReport, Manifest, write_file
from handout_gen.core.fonts import chain, missing_message
from handout_gen.core.interrupts import HeldInterrupt
from handout_gen.core.languages import ORIGINAL
from handout_gen.core.workers import WorkerPool, state, worker_count
from handout_gen.render.bidi import ltr_text
from handout_gen.render.catalogs import translations
from handout_gen.render.context import base_context, qr_data_uri
from handout_gen.render.engine import Engine
from handout_gen.render.jinja import medium_date, nowrap, render, safe_html
from handout_gen.render.pdf import import_weasyprint

log = logging.getLogger("handout_gen")


@dataclass(frozen=True)
class Variant:
    """One printable form of a handout: its language and print size."""

    lang: str = ORIGINAL
    large_print: bool = False

    def filename(self, slug: str) -> str:
        """``slug.pdf``, ``slug.es.pdf``, ``slug.large.pdf``, ``slug.es.large.pdf``."""
        parts = [slug]
        if self.lang != ORIGINAL:
            parts.append(self.lang)
        if self.large_print:
            parts.append("large")
        return ".".join(parts) + ".pdf"


def edition_for(procedure: Procedure, lang: str) -> Edition:
    """The edition in ``lang``; warn (once per call) when falling back to English."""
    if lang not in procedure.editions:
        log.warning(
            "%s has no '%s' edition (content/procedures/%s.%s.md); using English",
            procedure.slug, lang, procedure.slug, lang,
        )
    return procedure.edition(lang)


def handout_context(
    project: Project, procedure: Procedure, variant: Variant, packet: PacketPlace | None = None
) -> dict[str, Any]:
    """The full context of one handout template (``packet``: as a part of a packet)."""
    edition = edition_for(procedure, variant.lang)
    meta = edition.meta
    context = base_context(project, edition.lang, variant.large_print, reader=variant.lang)
    translate = translations(edition.lang, project.catalog_dir).gettext
    locale = project.languages.locale(edition.lang)
    phone = ltr_text(project.practice.phone, context["dir"])
    covered = packet.covered if packet else ()
    # A draft has not been reviewed: its footer says it is a draft of that date.
    reviewed_on = nowrap(medium_date(meta.last_reviewed, locale))
    if meta.status == "draft":
        reviewed = translate("%(version)s, draft of %(date)s")
    else:
        reviewed = translate("%(version)s, last reviewed %(date)s")
    context.update(
        procedure=procedure.meta,
        meta=meta,
        sections=[
            {"id": s.id, "heading": s.heading, "html": safe_html(s.html_in_packet(covered))}
            for s in edition.sections
        ],
        page_url=procedure.url(edition.lang),  # the edition's own page (Spanish for a Spanish handout)
        qr_uri=qr_data_uri(procedure.url(edition.lang), project.practice.colors.text),
        footer_left=translate("Call us: %(phone)s") % {"phone": phone},
        footer_center=reviewed % {"version": meta.version, "date": reviewed_on},
        stamp_slot=packet is not None,
        call_section=packet is None or not packet.has_call_section,
        aftercare_list=packet is None or not packet.has_aftercare_section,
        key_points=meta.key_points_in_packet(covered),
        aftercare=meta.aftercare_in_packet(covered),
        call_us_if=meta.call_us_if_in_packet(covered),
        reader_note=packet.reader_note if packet else "",
        reader_lang=packet.reader_lang if packet else "",
    )
    return context


@dataclass(frozen=True)
class PacketPlace:
    """How a handout sits in a packet: the packet numbers its pages (the handout leaves the
    slot blank), a packet with its own "call us" or "aftercare" section holds the one
    emergency list or aftercare checklist (the handout leaves its copy out), and a general
    line the packet says for its patient ("call us about your blood thinner") gives way."""

    has_call_section: bool
    has_aftercare_section: bool = False
    # Topics the packet says for its patient (the letter's days, the clinician's plan): the
    # handout leaves out its general lines marked "{packet:<topic>}" (sorted: part of a key).
    covered: tuple[str, ...] = ()
    # A handout in another language than its packet's (no translation): the packet's note
    # to its reader, in the reader's language, above the title ("" for none).
    reader_note: str = ""
    reader_lang: str = ""


def handout_html(
    project: Project,
    procedure: Procedure,
    variant: Variant,
    env: jinja2.Environment | None = None,
    packet: PacketPlace | None = None,
) -> str:
    """The HTML WeasyPrint lays out (also what ``preview`` shows). Inside a ``packet`` the
    language-help notice is left out: the packet prints it once, on its contacts page."""
    env = env or Engine(project.root, project.templates_dir).env
    context = handout_context(project, procedure, variant, packet)
    if packet is not None:
        context["language_help"] = []
    return render(env, project.recipe.template, **context)


class Renderer:
    """Renders handouts for one run: one :class:`Engine` (Jinja now, WeasyPrint when first needed)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.engine = Engine(project.root, project.templates_dir)

    @property
    def env(self) -> jinja2.Environment:
        return self.engine.env

    def handout(self, procedure: Procedure, variant: Variant) -> bytes:
        """The PDF; WeasyPrint's warnings (a missing image, a refused URL) are logged."""
        data, warnings = self.handout_with_warnings(procedure, variant)
        for message in warnings:
            log.warning("%s: %s", variant.filename(procedure.slug), message)
        return data

    def handout_with_warnings(self, procedure: Procedure, variant: Variant) -> tuple[bytes, list[str]]:
        """The PDF and WeasyPrint's warnings, for callers that refuse a PDF with any.

        A character of the page no font of its chain can draw stops it first (it would
        print as an empty box): :class:`ValidationFailed` names file, line and code point.
        """
        html = handout_html(self.project, procedure, variant, self.env)
        problems = unprintable(self.project, procedure.edition(variant.lang), html)
        if problems:
            raise ValidationFailed(problems, variant.filename(procedure.slug))
        data, warnings = self.engine.pdf.render(html, self.project.content_dir)
        return bytes(data), warnings


_TAG_RE = re.compile(r"<(?:style|script)\b.*?</(?:style|script)>|<[^>]*>", re.S)


def unprintable(project: Project, edition: Edition, html: str) -> list[Problem]:
    """Characters of a page's text that no font of its language's chain draws, each named
    by the line of the edition that holds it (or the edition, when a template brought it)."""
    families = project.languages.font_chain(edition.lang)
    missing = chain(families).missing(unescape(_TAG_RE.sub(" ", html)))
    if not missing:
        return []
    lines = edition.text.splitlines()  # as loaded (practice values filled in): the same lines
    source = relpath(edition.path, project.root)
    return [
        Problem(source, f"the page {missing_message([char], families)}",
                next((n for n, line in enumerate(lines, 1) if char in line), None), rule="pdf.glyphs")
        for char in missing
    ]


def render_handout(project: Project, slug: str, variant: Variant) -> bytes:
    """One handout as PDF bytes (``handout-gen handout``)."""
    return Renderer(project).handout(project.procedure(slug), variant)


def planned_handouts(project: Project) -> list[tuple[Procedure, Variant]]:
    """Every (procedure, variant) the recipe asks for, languages only where they exist."""
    plan = []
    for procedure in project.selected_procedures():
        for lang in project.handout_languages:
            if lang not in procedure.editions:
                continue
            for large in project.recipe.large_print:
                plan.append((procedure, Variant(lang, large)))
    return plan


def handout_key(project: Project, procedure: Procedure, variant: Variant) -> str:
    """Hash of every input of one handout variant (the build manifest's key)."""
    edition = procedure.edition(variant.lang)
    parts = (project.shared_digest, edition.digest, variant.lang, str(variant.large_print))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedHandout:
    """A handout a build will write: what it is, where it goes, the key of its inputs."""

    procedure: Procedure
    variant: Variant
    target: Path
    key: str


def plan_handouts(project: Project, *, force: bool = False) -> tuple[list[PlannedHandout], list[Path]]:
    """(handouts to render, files already up to date): hashing only, no rendering."""
    out_dir = project.output_dir / "handouts"
    manifest = Manifest(project.output_dir, "handouts")
    stale, unchanged = [], []
    for procedure, variant in planned_handouts(project):
        target = out_dir / variant.filename(procedure.slug)
        key = handout_key(project, procedure, variant)
        if not force and manifest.unchanged(target.name, key, target):
            unchanged.append(target)
        else:
            stale.append(PlannedHandout(procedure, variant, target, key))
    return stale, unchanged


def write_handouts(
    project: Project,
    planned: list[PlannedHandout],
    renderer: Renderer,
    progress: Callable[[Path], None] | None = None,
    problems: list[Problem] | None = None,
    workers: int = 1,
) -> list[Path]:
    """Render and write each planned handout, recording it in the manifest as it lands.

    With ``problems`` (the gated ``build``), a handout WeasyPrint warns about is not written
    and each warning is added there; without, the warnings are logged. ``workers`` processes
    lay them out (0: every core); this one writes them, in the plan's order.
    """
    manifest = Manifest(project.output_dir, "handouts")
    written = []
    # closing(): the pool and the held Ctrl-C end here, also when a write fails
    with contextlib.closing(_rendered(renderer, planned, workers)) as results:
        for item, (data, warnings) in zip(planned, results, strict=True):
            if warnings and problems is not None:
                source = f"content/procedures/{item.procedure.slug}.md"
                problems += [Problem(source, f"{item.target.name}: {w}", rule="pdf.render") for w in warnings]
                continue
            for message in warnings:
                log.warning("%s: %s", item.target.name, message)
            write_file(item.target, data, root=project.output_dir)
            manifest.record(item.target.name, item.key, item.target)
            written.append(item.target)
            if progress:
                progress(item.target)
    return written


def _render_task(index: int) -> tuple[bytes, list[str]]:
    """In a worker: the plan's ``index``-th handout (the worker's renderer and the plan: its state)."""
    renderer: Renderer
    planned: list[PlannedHandout]
    renderer, planned = state()
    item = planned[index]
    return renderer.handout_with_warnings(item.procedure, item.variant)


def _rendered(
    renderer: Renderer, planned: list[PlannedHandout], workers: int
) -> Generator[tuple[bytes, list[str]], None, None]:
    """Each planned handout's PDF and warnings, in order: here, or over worker processes.

    A handout is a second or two of one core's layout and handouts are independent, so a
    cold build on N cores takes about 1/N of the time. One handout is made here: starting a
    worker would only add to it. A few are in flight at a time, so memory does not grow
    with the plan."""
    count = worker_count(workers, len(planned))
    if count <= 1:
        for item in planned:
            yield renderer.handout_with_warnings(item.procedure, item.variant)
        return
    import_weasyprint()
    project = renderer.project

    def setup() -> tuple[Renderer, list[PlannedHandout]]:  # in each worker: its own fonts folder
        return Renderer(project), planned

    with HeldInterrupt() as held, WorkerPool(count, setup) as pool:
        futures: deque[Future[tuple[bytes, list[str]]]] = deque()
        for index in range(len(planned)):
            futures.append(pool.submit(_render_task, index))
            if len(futures) > count * 2:
                yield pool.wait_all([futures.popleft()], held)[0]
        while futures:
            yield pool.wait_all([futures.popleft()], held)[0]


def build_handouts(
    project: Project,
    *,
    force: bool = False,
    progress: Callable[[Path], None] | None = None,
    workers: int = 1,
) -> BuildReport:
    """Write every planned handout to ``output/handouts/``, skipping unchanged ones."""
    stale, unchanged = plan_handouts(project, force=force)
    renderer = Renderer(project)
    return BuildReport(write_handouts(project, stale, renderer, progress, workers=workers), unchanged)
