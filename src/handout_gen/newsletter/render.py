"""Newsletter rendering: one context → HTML and text templates → premailer **once** → guards → files.

Everything that differs per reader or per sending route (greeting, unsubscribe/preferences
links, view-in-browser link, postal address) is a placeholder token
(:mod:`handout_gen.newsletter.tokens`) in the inlined output, so personalising a thousand
messages never runs premailer again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from handout_gen.content.markdown import render_markdown
from handout_gen.content.project import Project
from handout_gen.core.errors import (
    HandoutGenError,
    InputRefused,
    Problem,
    RenderError,
    UnknownItemError,
    ValidationFailed,
    relpath,
)
from handout_gen.core.files import BuildReport, Manifest, read_input, write_file
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.editions import edition_files, load_editions
from handout_gen.newsletter.guards import check_issue, guard_context
from handout_gen.newsletter.links import COLUMN_PX, LinkPolicy, fragment_links, plain_url
from handout_gen.newsletter.message import MessageTemplate, esp_values, generic_values
from handout_gen.newsletter.model import Issue, ProcedureBlock, list_issues
from handout_gen.newsletter.tokens import TOKENS, token
from handout_gen.render.jinja import make_env, render, safe_html
from handout_gen.render.logo import web_logo

log = logging.getLogger("handout_gen")

# What only an email reader needs (the "view in browser" link, why they get the email, the
# preferences link, which works only with the reader's token): the browser copy leaves it out.
EMAIL_ONLY_RE = re.compile(r"<!--HG:EMAIL-->.*?<!--/HG:EMAIL-->\s*", re.S)
MARK_RE = re.compile(r"<!--/?HG:EMAIL-->")


def _image(links: LinkPolicy, image: Any) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        "url": links.absolute(image.src),
        "alt": image.alt,
        "width": min(image.width, 600),
        "height": image.height if image.width <= 600 else round(image.height * 600 / image.width),
    }


def newsletter_context(project: Project, issue: Issue) -> dict[str, Any]:
    """The one context both templates get: practice data, article content, tokens. No PHI."""
    links = LinkPolicy.for_issue(project, issue.id)
    lang = issue.meta.lang
    intro_html, intro_text = fragment_links(render_markdown(issue.intro_md), links)
    blocks: list[dict[str, Any]] = []
    for block in issue.meta.blocks:
        if isinstance(block, ProcedureBlock):
            procedure = project.procedure(block.procedure)
            edition = procedure.edition(lang).meta
            image = procedure.meta.image or block.image
            alt = (getattr(edition, "image_alt", None) or image.alt) if image is not None else ""
            img = _image(links, image)
            if img is not None:
                img["alt"] = alt
            blocks.append(
                {
                    "kind": "procedure",
                    "title": edition.title,
                    "summary": edition.summary,
                    "url": (url := links.campaign_url(procedure.url(lang))),
                    "text_url": plain_url(url),  # written out in the text part
                    "image": img,
                }
            )
        else:
            heading, markdown = issue.sections[block.section]
            html, text = fragment_links(render_markdown(markdown), links)
            blocks.append({"kind": "section", "title": heading, "html": safe_html(html), "text": text})
    practice = project.practice
    logo = web_logo(project)
    return {
        "lang": lang,
        "direction": project.languages.direction(lang),
        "permission_reminder": issue.permission_reminder or practice.email.permission_reminder,
        "practice": practice,
        # Decorative next to the practice's name (alt=""), so screen readers do not say it twice.
        "logo": {"url": links.absolute(logo.src), "width": logo.width, "height": logo.height, "alt": ""},
        "colors": practice.colors,
        "issue": {
            "id": issue.id,
            "subject": issue.meta.subject,
            "preheader": issue.meta.preheader,
            "date": issue.meta.date,
        },
        "hero": _image(links, issue.meta.hero),
        "intro_html": safe_html(intro_html),
        "intro_text": intro_text,
        "blocks": blocks,
        "column_px": COLUMN_PX,
        "links": {"website": links.campaign_url(project.home_url(lang))},
        "tokens": {name.lower(): Markup(token(name)) for name in TOKENS},  # noqa: S704 - fixed token names
        "address_line": practice.postal_address.one_line(),
    }


def inline_css(html: str) -> str:
    """premailer, once per issue: keep !important and @media/dark mode, six-digit colours, no fetch."""
    import cssutils
    from premailer import Premailer

    cssutils.ser.prefs.minimizeColorHash = False  # Outlook and some clients mangle #abc
    try:
        return str(
            Premailer(
                html=html,
                strip_important=False,
                allow_network=False,
                disable_validation=True,
                keep_style_tags=False,
                remove_classes=False,
                exclude_pseudoclasses=True,
                disable_basic_attributes=["width", "height"],  # keep our pixel sizes on <img>
                cssutils_logging_level=logging.CRITICAL,
            ).transform()
        )
    except Exception as exc:  # premailer raises many types on broken CSS
        msg = f"premailer could not inline the newsletter CSS: {exc}"
        raise RenderError(msg) from exc


@dataclass(frozen=True)
class RenderedIssue:
    """One issue, inlined once. ``html``/``text`` hold placeholder tokens; use mail.Personaliser
    (or the ready-made ``final_*``/``eml`` fields for the generic, non-personal copies)."""

    issue: Issue
    template_html: str  # inlined, tokens in place
    template_text: str
    html: str  # generic reader: "Hello," and the plain unsubscribe link
    text: str
    browser_html: str
    eml: bytes
    esp_html: str | None = None  # Mailchimp merge tags when rendered with esp="mailchimp"
    esp_text: str | None = None
    warnings: tuple[Problem, ...] = ()


def render_edition(
    project: Project, issue: Issue, *, esp: str | None = None, warnings: tuple[Problem, ...] = ()
) -> RenderedIssue:
    """Render one language edition, inline once, check every guard; raise before anything is written."""
    context = newsletter_context(project, issue)
    guard_context(context)
    env = make_env(project.templates_dir)
    raw_html = render(env, "newsletter.html.j2", **context)
    text = render(env, "newsletter.txt.j2", **context)
    inlined = inline_css(raw_html)
    browser = EMAIL_ONLY_RE.sub("", inlined)
    inlined = MARK_RE.sub("", inlined)
    template = MessageTemplate.build(project, issue, inlined, text)
    generic = generic_values(project, issue)
    html = template.fill_html(generic)
    final_text = template.fill_text(generic)
    warnings = (*warnings, *check_issue(project, html, final_text, issue))
    esp_html = esp_text = None
    if esp is not None:
        esp_html = template.fill_html(esp_values(esp, issue.lang, project.catalog_dir))
        esp_text = template.fill_text(esp_values(esp, issue.lang, project.catalog_dir, text=True))
    browser = MessageTemplate.substitute(browser, generic, html=True)
    return RenderedIssue(
        issue,
        template.html,
        template.text,
        html,
        final_text,
        browser,
        template.eml(generic),
        esp_html,
        esp_text,
        tuple(warnings),
    )


@dataclass(frozen=True)
class RenderedEditions:
    """An issue rendered in every language it has: the English original first."""

    original: RenderedIssue
    translations: dict[str, RenderedIssue]
    problems: tuple[Problem, ...] = ()  # editions left out for their problems (strict=False)

    @property
    def id(self) -> str:
        return self.original.issue.id

    @property
    def all(self) -> list[RenderedIssue]:
        return [self.original, *self.translations.values()]

    @property
    def warnings(self) -> list[Problem]:
        return [w for item in self.all for w in item.warnings]

    def edition(self, lang: str) -> RenderedIssue | None:
        """The edition in ``lang``; None when the issue has none (its readers get English)."""
        return self.original if lang == ORIGINAL else self.translations.get(lang)

    def unreviewed(self, project: Project, langs: Iterable[str]) -> list[str]:
        """What readers of ``langs`` would get that no reviewer has approved (``status: draft``,
        or no status: nobody said it was reviewed): their edition itself, and each procedure
        edition whose title and summary it quotes. Named by file, never by reader."""
        found: dict[str, str] = {}
        for lang in sorted(set(langs)):
            item = self.edition(lang) or self.original
            issue = item.issue
            if not issue.approved:
                found[relpath(issue.path, project.root)] = f"the {project.languages.name(issue.lang)} edition"
            for block in issue.meta.blocks:
                if isinstance(block, ProcedureBlock):
                    edition = project.procedure(block.procedure).edition(issue.lang)
                    if edition.meta.status == "draft":
                        found[relpath(edition.path, project.root)] = f"the summary of {edition.meta.title}"
        return [f"{what} ({path})" for path, what in found.items()]


def render_editions(
    project: Project, issue_id: str, *, esp: str | None = None, strict: bool = True
) -> RenderedEditions:
    """Render the issue and each of its language editions (every guard on each).

    ``strict``: an edition with problems stops everything (``newsletter``, ``send``: nothing is
    written or sent while a reader's edition is broken); otherwise it is left out and its
    problems returned (``build``: a problem blocks only the outputs made from it).
    """
    editions = load_editions(project, issue_id)
    if strict and editions.problems:
        raise ValidationFailed(list(editions.problems), f"newsletter {issue_id}")
    original = render_edition(project, editions.original, esp=esp, warnings=editions.warnings)
    translations = {
        lang: render_edition(project, issue, esp=esp) for lang, issue in editions.translations.items()
    }
    return RenderedEditions(original, translations, editions.problems)


def render_issue(
    project: Project, issue_id: str, *, esp: str | None = None, lang: str = ORIGINAL
) -> RenderedIssue:
    """One edition of an issue (the English one by default), every edition's file read and checked."""
    editions = load_editions(project, issue_id)
    issue = editions.edition(lang)
    if issue is None:
        known = ", ".join(editions.langs)
        msg = f"newsletter '{issue_id}' has no '{lang}' edition (it has: {known})"
        raise UnknownItemError(msg)
    warnings = editions.warnings if lang == ORIGINAL else ()
    return render_edition(project, issue, esp=esp, warnings=warnings)


# --- writing ------------------------------------------------------------------------------
OUTPUT_NAMES = ("email.html", "email.txt", "email.eml", "browser.html")


def output_names(lang: str) -> tuple[str, ...]:
    """File names of one edition: ``email.html`` … for English, ``email.es.html`` … for Spanish
    (the language before the extension, as in ``<slug>.es.md``)."""
    if lang == ORIGINAL:
        return OUTPUT_NAMES
    return tuple(f"{stem}.{lang}.{ext}" for stem, _, ext in (n.partition(".") for n in OUTPUT_NAMES))


def write_issue(project: Project, rendered: RenderedIssue, esp: str | None = None) -> list[Path]:
    """Write one edition into output/newsletters/<issue>/ (names from :func:`output_names`) [+ ESP copy]."""
    out = project.output_dir / "newsletters" / rendered.issue.id
    lang = rendered.issue.lang
    data = (rendered.html, rendered.text, rendered.eml, rendered.browser_html)
    files: dict[str, str | bytes] = dict(zip(output_names(lang), data, strict=True))
    if esp is not None and rendered.esp_html is not None and rendered.esp_text is not None:
        infix = "" if lang == ORIGINAL else f".{lang}"
        files[f"email{infix}.{esp}.html"] = rendered.esp_html
        files[f"email{infix}.{esp}.txt"] = rendered.esp_text
    return [write_file(out / name, data, root=project.output_dir) for name, data in files.items()]


# What write_issue writes: an edition's email, text part, .eml and browser copy, and its
# email service copies ("email.es.mailchimp.html"). Never the send log.
_OUTPUT_FILE_RE = re.compile(r"(email|browser)(\.[a-z0-9-]+)*\.(html|txt|eml)")


def write_editions(project: Project, rendered: RenderedEditions, esp: str | None = None) -> list[Path]:
    """Write every edition of an issue, and remove the issue's output files this did not
    write: an edition since deleted, an email service copy of an earlier text. Marketing
    could otherwise upload a copy that no longer says what the issue says. Files of an
    edition left out for its problems stay until it is fixed."""
    written = [path for item in rendered.all for path in write_issue(project, item, esp)]
    if not rendered.problems:
        names = {path.name for path in written}
        folder = project.output_dir / "newsletters" / rendered.id
        for path in sorted(folder.iterdir()):
            if _OUTPUT_FILE_RE.fullmatch(path.name) and path.name not in names and path.is_file():
                path.unlink()
                log.info("removed %s: this build no longer makes it", relpath(path, project.root))
    return written


def issue_key(project: Project, issue_id: str, lang: str | None = None) -> str:
    """Hash of every input of one issue (``lang``: of that edition only): its file(s), every
    procedure edition it may quote, shared files."""
    digest = hashlib.sha256(project.shared_digest.encode())
    folder = project.content_dir / "newsletters"
    digest.update(read_input(folder / f"{issue_id}.md", folder=folder, root=project.root))
    files = edition_files(project, issue_id)
    langs = [ORIGINAL, *files] if lang is None else [lang]
    for code in langs:
        if code in files:
            digest.update(f"\0{code}\0".encode() + read_input(files[code], folder=folder, root=project.root))
        for slug in sorted(project.procedures):
            digest.update(project.procedures[slug].edition(code).digest.encode())
    return digest.hexdigest()


def _outputs(project: Project, issue_id: str) -> list[Path]:
    out = project.output_dir / "newsletters" / issue_id
    found = edition_files(project, issue_id)
    langs = [ORIGINAL, *(lang for lang in found if lang in project.languages.translated)]
    return [out / name for lang in langs for name in output_names(lang)]


@dataclass
class Changed:
    """What :func:`render_changed` found: issues rendered, unchanged, and blocked by problems."""

    rendered: list[RenderedEditions]
    unchanged: list[Path]
    problems: list[Problem]


def render_changed(project: Project, *, force: bool = False) -> Changed:
    """Render (in memory, every guard run) each issue whose inputs changed since the last build.

    An issue with problems is not rendered and its problems are returned: one broken issue
    never stops the others. Nothing is written.
    """
    manifest = Manifest(project.output_dir, "newsletters")
    out = project.output_dir / "newsletters"
    changed = Changed([], [], [])
    for issue_id in list_issues(project):
        try:
            key = issue_key(project, issue_id)
            if not force and manifest.unchanged(issue_id, key, *_outputs(project, issue_id)):
                changed.unchanged.append(out / issue_id)
            else:
                rendered = render_editions(project, issue_id, strict=False)
                changed.problems += rendered.problems
                changed.rendered.append(rendered)
        except InputRefused as exc:
            changed.problems.append(exc.problem)
        except ValidationFailed as exc:
            changed.problems += exc.problems
        except HandoutGenError as exc:
            source = f"content/newsletters/{issue_id}.md"
            changed.problems.append(Problem(source, str(exc), rule=exc.rule))
    return changed


def write_rendered(project: Project, rendered: list[RenderedEditions]) -> list[Path]:
    """Write issues :func:`render_changed` made and record them in the build manifest."""
    manifest = Manifest(project.output_dir, "newsletters")
    written: list[Path] = []
    for item in rendered:
        files = write_editions(project, item)
        written += files
        manifest.record(item.id, issue_key(project, item.id), *files)
    return written


def build_newsletters(project: Project, *, force: bool = False) -> BuildReport:
    """Render every changed issue first (all guards), then write them.

    An issue whose inputs hash as at the last build is skipped, like an unchanged handout.
    """
    changed = render_changed(project, force=force)
    if changed.problems:
        raise ValidationFailed(changed.problems, "the newsletters")
    for item in changed.rendered:
        for warning in item.warnings:
            log.warning("%s", warning)
    return BuildReport(write_rendered(project, changed.rendered), changed.unchanged)
