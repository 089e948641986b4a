"""Email newsletters: content/newsletters/<issue>.md → inlined HTML, text part, .eml, ESP copy.

Pipeline (like the handouts): read + validate the issue → build one context → render the
HTML and text templates → inline the CSS with premailer **once** → check the guards → write.
Everything that differs per reader or per sending route (greeting, unsubscribe/preferences
links, view-in-browser link, postal address) is a placeholder token in the inlined output;
:mod:`handout_gen.mail` swaps the tokens by plain string substitution, so personalising a
thousand messages never runs premailer again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import html as lxml_html  # type: ignore[import-untyped]
from markupsafe import Markup
from pydantic import Field

from .content import HEADING_RE, parse_yaml, render_markdown, split_front_matter, validate
from .errors import Problem, RenderError, UnknownItemError, ValidationFailed, relpath
from .io import BuildReport, Manifest
from .models import Slug, Strict, Text
from .newsletter_guards import check_issue, guard_context, patient_keys
from .project import Project
from .templates import make_env, render, safe_html

log = logging.getLogger("handout_gen")

ISSUE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")  # no SVG/WebP/data: in email (email.md §2)

# Placeholders left in the inlined output and replaced per reader / per route (mail.py).
# Letters, digits and underscores only, so premailer, lxml and QP encoding leave them alone.
TOKENS = ("GREETING", "UNSUB_URL", "PREFS_URL", "ARCHIVE_URL", "POSTAL")
TOKEN_RE = re.compile(r"HGTOKEN_(" + "|".join(TOKENS) + r")\b")
VIEW_MARK_RE = re.compile(r"<!--HG:VIEW-->.*?<!--/HG:VIEW-->\s*", re.S)
MARK_RE = re.compile(r"<!--/?HG:VIEW-->")


def token(name: str) -> str:
    """The placeholder for ``name`` (one of :data:`TOKENS`)."""
    assert name in TOKENS
    return f"HGTOKEN_{name}"


# --- content model ------------------------------------------------------------------------
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

    subject: Annotated[str, Field(min_length=1, max_length=120)]
    preheader: Annotated[str, Field(min_length=1, max_length=150)]
    date: date
    lang: Literal["en", "es"] = "en"
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


def newsletters_dir(project: Project) -> Path:
    return project.content_dir / "newsletters"


def list_issues(project: Project) -> list[str]:
    """Issue ids (file names without ``.md``) in content/newsletters/, sorted."""
    folder = newsletters_dir(project)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.md") if ISSUE_RE.match(p.stem))


def _parse_body(
    body: str, source: str, first_line: int
) -> tuple[str, dict[str, tuple[str, str, int]], list[Problem]]:
    """Split the body into the introduction and its ``## Heading {#id}`` sections."""
    intro: list[str] = []
    found: dict[str, tuple[str, list[str], int]] = {}
    current = intro
    problems: list[Problem] = []
    for offset, raw in enumerate(body.splitlines()):
        match = HEADING_RE.match(raw)
        if match:
            if match["id"] in found:
                problems.append(Problem(source, f"duplicate section id '{match['id']}'", first_line + offset))
            current = []
            found[match["id"]] = (match["title"], current, first_line + offset)
        elif raw.startswith("## "):
            problems.append(
                Problem(
                    source,
                    "a block heading needs its id, e.g. '## Winter hours {#hours}'",
                    first_line + offset,
                )
            )
        else:
            current.append(raw)
    sections = {sid: (title, "\n".join(lines).strip(), line) for sid, (title, lines, line) in found.items()}
    return "\n".join(intro).strip(), sections, problems


def _check_image(
    project: Project, image: NewsletterImage, source: str, line: int | None, where: str
) -> list[Problem]:
    path = (project.content_dir / image.src).resolve()
    if not image.src.lower().endswith(IMAGE_SUFFIXES):
        return [
            Problem(
                source,
                f"'{image.src}' must be PNG, JPG or GIF (email clients do not all show SVG or WebP)",
                line,
                where,
            )
        ]
    if project.content_dir.resolve() not in path.parents or not path.is_file():
        return [Problem(source, f"image '{image.src}' not found inside content/", line, where)]
    return []


def load_issue(project: Project, issue_id: str) -> Issue:
    """Read and validate one issue; every problem is reported at once (file:line: field)."""
    if not ISSUE_RE.match(issue_id) or not (newsletters_dir(project) / f"{issue_id}.md").is_file():
        known = ", ".join(list_issues(project)) or "none"
        msg = f"no newsletter '{issue_id}' in content/newsletters/ (known: {known})"
        raise UnknownItemError(msg)
    path = newsletters_dir(project) / f"{issue_id}.md"
    source = relpath(path, project.root)
    raw = path.read_bytes()
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
                )
                for p in patient
            ],
            source,
        )
    meta, problems = validate(NewsletterMeta, data, source, key_lines)
    intro, sections, found = _parse_body(body, source, body_line)
    problems += found
    if meta is not None:
        used: set[str] = set()
        for index, block in enumerate(meta.blocks):
            line = key_lines.get(("blocks", index))
            if isinstance(block, ProcedureBlock):
                if block.procedure not in project.procedures:
                    known = ", ".join(sorted(project.procedures))
                    problems.append(
                        Problem(
                            source,
                            f"unknown procedure '{block.procedure}' (known: {known})",
                            line,
                            f"blocks.{index}.procedure",
                        )
                    )
                if block.image is not None:
                    problems += _check_image(project, block.image, source, line, f"blocks.{index}.image")
            elif block.section not in sections:
                problems.append(
                    Problem(
                        source,
                        f"no section '## … {{#{block.section}}}' in the body",
                        line,
                        f"blocks.{index}.section",
                    )
                )
            else:
                used.add(block.section)
        for sid, (_, _, line) in sections.items():
            if sid not in used:
                problems.append(
                    Problem(source, f"section '{sid}' is not listed in blocks (add '- section: {sid}')", line)
                )
        if meta.hero is not None:
            problems += _check_image(project, meta.hero, source, key_lines.get(("hero",)), "hero")
    if not intro:
        problems.append(Problem(source, "the body needs an introduction before the first block", body_line))
    if problems or meta is None:
        raise ValidationFailed(problems, source)
    digest = hashlib.sha256(raw).hexdigest()
    return Issue(issue_id, meta, intro, {k: (t, m) for k, (t, m, _) in sections.items()}, path, digest)


# --- links --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LinkPolicy:
    """Absolute https URLs everywhere; UTM parameters only on the practice's own site."""

    base_url: str
    own_hosts: frozenset[str]
    campaign: str
    skip_prefixes: tuple[str, ...]  # unsubscribe/preferences: they carry a token, not UTM

    @classmethod
    def for_issue(cls, project: Project, issue_id: str) -> LinkPolicy:
        email = project.practice.email
        hosts = {urlsplit(u).hostname or "" for u in (project.practice.website, email.base_url)}
        return cls(
            email.base_url.rstrip("/") + "/",
            frozenset(hosts - {""}),
            issue_id,
            (email.unsubscribe_url, email.preferences_url),
        )

    def absolute(self, url: str) -> str:
        if url.startswith(("mailto:", "tel:", "HGTOKEN_")):
            return url
        return urljoin(self.base_url, url)

    def campaign_url(self, url: str) -> str:
        """Absolute URL; own-site https links get utm_source/medium/campaign (campaign-level only)."""
        url = self.absolute(url)
        parts = urlsplit(url)
        if (
            parts.scheme != "https"
            or parts.hostname not in self.own_hosts
            or url.startswith(self.skip_prefixes)
        ):
            return url
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")
        ]
        query += [("utm_source", "newsletter"), ("utm_medium", "email"), ("utm_campaign", self.campaign)]
        return urlunsplit(parts._replace(path=parts.path or "/", query=urlencode(query)))


def _fragment_links(fragment: str, links: LinkPolicy) -> tuple[str, str]:
    """Rewrite links/images of a sanitised Markdown fragment; return (html, text)."""
    if not fragment.strip():
        return "", ""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for a in root.iter("a"):
        if a.get("href") is not None:
            a.set("href", links.campaign_url(a.get("href", "")))
        a.set("class", "hg-link")
    for img in root.iter("img"):
        img.set("src", links.absolute(img.get("src", "")))
    html = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    html = (root.text or "") + html
    return html, _to_text(root)


def _to_text(root: Any) -> str:
    """Plain text of a fragment with every link written out as ``text (url)``."""
    blocks: list[str] = []

    def inline(el: Any) -> str:
        out = el.text or ""
        for child in el:
            if child.tag == "a":
                label = inline(child).strip()
                href = child.get("href", "")
                out += f"{label} ({href})" if label and label != href else href
            elif child.tag == "br":
                out += "\n"
            elif child.tag == "img":
                out += child.get("alt", "")
            else:
                out += inline(child)
            out += child.tail or ""
        return out

    def wrap(text: str, indent: str = "") -> str:
        # 72 columns; never break a URL or a hyphenated word
        return textwrap.fill(
            " ".join(text.split()),
            72,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )

    for el in root:
        if el.tag in ("ul", "ol"):
            items = [
                wrap(f"{'-' if el.tag == 'ul' else f'{n}.'} {inline(li)}", "  ")
                for n, li in enumerate(el.iter("li"), start=1)
            ]
            blocks.append("\n".join(items))
        elif el.tag in ("h3", "h4"):
            blocks.append(" ".join(inline(el).split()).upper())
        else:
            blocks.append(wrap(inline(el)))
    return "\n\n".join(b for b in blocks if b)


# --- context and rendering ------------------------------------------------------------
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
    intro_html, intro_text = _fragment_links(render_markdown(issue.intro_md), links)
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
                    "url": links.campaign_url(procedure.meta.url),
                    "image": img,
                }
            )
        else:
            heading, markdown = issue.sections[block.section]
            html, text = _fragment_links(render_markdown(markdown), links)
            blocks.append({"kind": "section", "title": heading, "html": safe_html(html), "text": text})
    practice = project.practice
    return {
        "lang": lang,
        "practice": practice,
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
        "links": {"website": links.campaign_url(practice.website)},
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
    warnings: tuple[str, ...] = ()


def render_issue(project: Project, issue_id: str, *, esp: str | None = None) -> RenderedIssue:
    """Load, render, inline once, check every guard; raise before anything is written."""
    from .mail import MessageTemplate, esp_values, generic_values

    issue = load_issue(project, issue_id)
    context = newsletter_context(project, issue)
    guard_context(context)
    env = make_env(project.templates_dir)
    raw_html = render(env, "newsletter.html.j2", **context)
    text = render(env, "newsletter.txt.j2", **context)
    inlined = inline_css(raw_html)
    browser = VIEW_MARK_RE.sub("", inlined)  # the browser copy needs no "view in browser" link
    inlined = MARK_RE.sub("", inlined)
    template = MessageTemplate.build(project, issue, inlined, text)
    generic = generic_values(project, issue)
    html = template.fill_html(generic)
    final_text = template.fill_text(generic)
    warnings = check_issue(project, html, final_text, issue)
    esp_html = esp_text = None
    if esp is not None:
        values = esp_values(esp)
        esp_html = template.fill_html(values)
        esp_text = template.fill_text(values)
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


# --- writing ------------------------------------------------------------------------------
OUTPUT_NAMES = ("email.html", "email.txt", "email.eml", "browser.html")


def write_issue(project: Project, rendered: RenderedIssue, esp: str | None = None) -> list[Path]:
    """Write output/newsletters/<issue>/{email.html,email.txt,email.eml,browser.html}[+ ESP copy]."""
    from .io import write_file

    out = project.output_dir / "newsletters" / rendered.issue.id
    files: dict[str, str | bytes] = dict(
        zip(OUTPUT_NAMES, (rendered.html, rendered.text, rendered.eml, rendered.browser_html), strict=True)
    )
    if esp is not None and rendered.esp_html is not None and rendered.esp_text is not None:
        files[f"email.{esp}.html"] = rendered.esp_html
        files[f"email.{esp}.txt"] = rendered.esp_text
    return [write_file(out / name, data, root=project.output_dir) for name, data in files.items()]


def issue_key(project: Project, issue_id: str) -> str:
    """Hash of every input of one issue: its file, every procedure it may quote, shared files."""
    digest = hashlib.sha256(project.shared_digest.encode())
    digest.update((project.content_dir / "newsletters" / f"{issue_id}.md").read_bytes())
    for slug in sorted(project.procedures):
        digest.update(project.procedures[slug].editions["en"].digest.encode())
    return digest.hexdigest()


def build_newsletters(project: Project, *, force: bool = False) -> BuildReport:
    """Render every changed issue first (all guards), then write them: `build` uses this.

    An issue whose inputs hash as at the last build is skipped, like an unchanged handout.
    """
    manifest = Manifest(project.output_dir, "newsletters")
    keys = {issue_id: issue_key(project, issue_id) for issue_id in list_issues(project)}
    stale = [
        issue_id for issue_id, key in keys.items()
        if force or not manifest.unchanged(
            issue_id, key, *(project.output_dir / "newsletters" / issue_id / n for n in OUTPUT_NAMES)
        )
    ]
    rendered = [render_issue(project, issue_id) for issue_id in stale]
    for item in rendered:
        for warning in item.warnings:
            log.warning("%s", warning)
    report = BuildReport(skipped=[project.output_dir / "newsletters" / i for i in keys if i not in stale])
    for item in rendered:
        report.written += write_issue(project, item)
        manifest.record(item.issue.id, keys[item.issue.id])
    return report
