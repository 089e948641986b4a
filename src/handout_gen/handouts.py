"""Procedure handouts: build the template context, render to PDF, build them all.

``build_handouts`` skips a handout whose inputs (content, practice, templates, recipe,
tool version) hash to the same key as the PDF already in ``output/``, so a no-op rebuild
reads files and hashes them but never starts WeasyPrint.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import segno
from babel.dates import format_date

from .content import Edition, Procedure
from .fetcher import FONT_DIR
from .io import BuildReport, Manifest, write_file
from .project import Project
from .templates import BABEL_LOCALES, make_env, plain, render, safe_html, translations

log = logging.getLogger("handout_gen")


@dataclass(frozen=True)
class Variant:
    """One printable form of a handout: its language and print size."""

    lang: str = "en"
    large_print: bool = False

    def filename(self, slug: str) -> str:
        """``slug.pdf``, ``slug.es.pdf``, ``slug.large.pdf``, ``slug.es.large.pdf``."""
        parts = [slug]
        if self.lang != "en":
            parts.append(self.lang)
        if self.large_print:
            parts.append("large")
        return ".".join(parts) + ".pdf"


def font_uris() -> dict[str, str]:
    """file: URIs of the embedded Atkinson Hyperlegible faces (read by the fetcher)."""
    assert FONT_DIR is not None
    names = {"regular": "Regular", "bold": "Bold", "italic": "Italic", "bold_italic": "BoldItalic"}
    return {key: (FONT_DIR / f"AtkinsonHyperlegible-{face}.ttf").as_uri() for key, face in names.items()}


def qr_data_uri(url: str, color: str) -> str:
    """A QR code for ``url`` as an SVG data URI (vector, so it prints sharp at any size)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark=color))


def edition_for(procedure: Procedure, lang: str) -> Edition:
    """The edition in ``lang``; warn (once per call) when falling back to English."""
    if lang not in procedure.editions:
        log.warning(
            "%s has no '%s' edition (content/procedures/%s.%s.md); using English",
            procedure.slug, lang, procedure.slug, lang,
        )
    return procedure.edition(lang)


def base_context(project: Project, lang: str, large_print: bool) -> dict[str, Any]:
    """What every printable template gets: practice, brand colours, fonts, logo, language."""
    practice = project.practice
    return {
        "practice": practice,
        "colors": practice.colors,
        "fonts": font_uris(),
        "logo_uri": project.logo_path.resolve().as_uri(),
        "lang": lang,
        "large_print": large_print,
    }


def handout_context(project: Project, procedure: Procedure, variant: Variant) -> dict[str, Any]:
    """The full context of one handout template."""
    edition = edition_for(procedure, variant.lang)
    meta = edition.meta
    context = base_context(project, edition.lang, variant.large_print)
    translate = _translator(edition.lang)
    context.update(
        procedure=procedure.meta,
        meta=meta,
        sections=[
            {"id": s.id, "heading": s.heading, "html": safe_html(s.html)} for s in edition.sections
        ],
        qr_uri=qr_data_uri(procedure.meta.url, project.practice.colors.text),
        footer_left=translate("Call us: %(phone)s") % {"phone": project.practice.phone},
        footer_center=(
            translate("%(version)s, last reviewed %(date)s")
            % {"version": meta.version, "date": medium_date(meta.last_reviewed, edition.lang)}
        ),
    )
    return context


def _translator(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def medium_date(value: date, lang: str) -> str:
    """"Nov 2, 2026" / "2 nov 2026": short enough for the footer, no reader arithmetic."""
    return plain(format_date(value, "medium", locale=BABEL_LOCALES.get(lang, "en_US")))


def handout_html(
    project: Project, procedure: Procedure, variant: Variant, env: jinja2.Environment | None = None
) -> str:
    """The HTML WeasyPrint lays out (also what ``preview`` shows)."""
    env = env or make_env(project.templates_dir)
    return render(env, project.recipe.template, **handout_context(project, procedure, variant))


@dataclass
class Renderer:
    """Holds the Jinja environment and the WeasyPrint renderer for one run."""

    project: Project
    env: jinja2.Environment = field(init=False)
    _pdf: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.env = make_env(self.project.templates_dir)

    @property
    def pdf(self) -> Any:
        if self._pdf is None:
            from .pdf import PdfRenderer

            self._pdf = PdfRenderer(self.project.root)
        return self._pdf

    def handout(self, procedure: Procedure, variant: Variant) -> bytes:
        html = handout_html(self.project, procedure, variant, self.env)
        data, warnings = self.pdf.render(html, self.project.content_dir)
        for message in warnings:
            log.warning("%s: %s", variant.filename(procedure.slug), message)
        return bytes(data)


def render_handout(project: Project, slug: str, variant: Variant) -> bytes:
    """One handout as PDF bytes (``handout-gen handout``)."""
    return Renderer(project).handout(project.procedure(slug), variant)


def planned_handouts(project: Project) -> list[tuple[Procedure, Variant]]:
    """Every (procedure, variant) the recipe asks for, languages only where they exist."""
    plan = []
    for procedure in project.selected_procedures():
        for lang in project.recipe.languages:
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


def build_handouts(
    project: Project,
    *,
    force: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> BuildReport:
    """Write every planned handout to ``output/handouts/``, skipping unchanged ones."""
    out_dir = project.output_dir / "handouts"
    manifest = Manifest(project.output_dir, "handouts")
    report = BuildReport()
    renderer = Renderer(project)
    for procedure, variant in planned_handouts(project):
        target = out_dir / variant.filename(procedure.slug)
        key = handout_key(project, procedure, variant)
        if not force and manifest.unchanged(target.name, key, target):
            report.skipped.append(target)
            continue
        write_file(target, renderer.handout(procedure, variant), root=project.output_dir)
        manifest.record(target.name, key)
        report.written.append(target)
        if progress:
            progress(target)
    return report
