"""Which pages and files the site has, at which paths: the one list the build, ``check`` and the
preview share. Planning reads content only (no rendering), so ``check`` and a no-op build stay fast.

Each page sits at the path of the URL the other outputs print for it: a procedure edition at its
``url`` (:func:`~handout_gen.content.procedures.edition_url`), a location at its ``map_url``, the
newsletter archive at ``email.archive_url`` with each issue below it, the home page at
``website``. When such a URL is on another host (a map service, an ESP's archive), the page
still exists, at a default path (``locations/<id>/``, ``newsletters/``). The unsubscribe and
preferences URLs get a static page that says how to unsubscribe by reply or phone, one in each
language a newsletter edition is in; where the unsubscribe app runs, the web server sends those
paths to it instead (README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from handout_gen.content.markdown import render_markdown
from handout_gen.content.procedures import Procedure, edition_url
from handout_gen.content.project import Project
from handout_gen.core.errors import HandoutGenError, Problem, relpath
from handout_gen.core.languages import ORIGINAL
from handout_gen.core.paths import FONT_DIR
from handout_gen.handouts import Variant, planned_handouts
from handout_gen.newsletter.editions import load_editions
from handout_gen.newsletter.links import reader_page_url
from handout_gen.newsletter.message import issue_url
from handout_gen.newsletter.model import list_issues, load_issue
from handout_gen.render.logo import WebLogo, web_logo
from handout_gen.site.urls import SiteUrls, file_for

PageKind = Literal[
    "home", "procedures", "procedure", "locations", "location", "archive", "issue", "feed",
    "unsubscribe", "preferences", "sitemap", "robots", "notfound",
]
Target = Literal["page", "file", "external", "missing"]
# The pages the menu links to: one in each language the site has pages in, below the original's
# address (``/es/``, ``/procedures/es/``), so a reader who came in one language stays in it.
HUBS: tuple[PageKind, ...] = ("home", "procedures", "locations", "archive")
IMG_SRC_RE = re.compile(r'<img\b[^>]*?\bsrc="([^"]+)"')
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp")
STYLESHEET = "assets/site.css"
FONT_FACES = ("Regular", "Bold", "Italic", "BoldItalic")


def font_path(face: str) -> str:
    return f"assets/fonts/AtkinsonHyperlegible-{face}.woff2"


@dataclass(frozen=True)
class Page:
    """One HTML page (or feed): where it lives, what it shows."""

    path: str
    kind: PageKind
    lang: str = ORIGINAL
    key: str = ""  # the procedure slug, location id or issue id it shows
    source: str = "content/practice.yaml"  # the file its address comes from


@dataclass(frozen=True)
class Download:
    """A handout PDF the procedure pages link to."""

    path: str
    procedure: Procedure
    variant: Variant


@dataclass
class SitePlan:
    """Every page and file of the site, by path (relative to ``output/site/``)."""

    project: Project
    urls: SiteUrls
    logo: WebLogo
    pages: dict[str, Page] = field(default_factory=dict)
    downloads: dict[str, Download] = field(default_factory=dict)
    images: dict[str, Path] = field(default_factory=dict)  # path -> the content file
    problems: list[Problem] = field(default_factory=list)

    def add(self, page: Page, url: str | None = None) -> None:
        other = self.pages.get(page.path)
        if other is None:
            self.pages[page.path] = page
            return
        where = url or self.urls.absolute(page.path)
        message = f"{where} is also the address of the {other.kind} page made from {other.source}"
        self.problems.append(Problem(page.source, message, rule="site.duplicate-page"))

    def find(self, kind: PageKind, key: str = "", lang: str = ORIGINAL) -> Page:
        return next(p for p in self.pages.values() if (p.kind, p.key, p.lang) == (kind, key, lang))

    def in_language(self, kind: PageKind, key: str = "", lang: str = ORIGINAL) -> Page:
        """The page of ``kind`` (and ``key``) in ``lang``, or the original where it has none."""
        found = {p.lang: p for p in self.pages.values() if (p.kind, p.key) == (kind, key)}
        return found.get(lang) or found[ORIGINAL]

    def of_kind(self, kind: PageKind) -> list[Page]:
        return [p for p in self.pages.values() if p.kind == kind]

    def languages(self, kind: PageKind) -> list[str]:
        """The languages pages of ``kind`` are in, the original first."""
        found = {p.lang for p in self.pages.values() if p.kind == kind}
        return [ORIGINAL, *sorted(found - {ORIGINAL})]

    def assets(self) -> list[str]:
        return [STYLESHEET, *(font_path(face) for face in FONT_FACES), self.logo.src]

    def files(self) -> set[str]:
        """Every file the build writes, relative to ``output/site/``."""
        return {file_for(p) for p in self.pages} | set(self.downloads) | set(self.images) | set(self.assets())

    def target(self, url: str) -> Target:
        """What the site has at ``url``: a page, another file, nothing (missing), or it is not ours."""
        path = self.urls.own_path(url)
        if path is None:
            return "external"
        if path in self.pages:
            return "page"
        return "file" if file_for(path) in self.files() else "missing"


def reader_pages(project: Project, languages: list[str]) -> list[tuple[PageKind, str, str]]:
    """(kind, language, address) of the unsubscribe and preferences pages: one per language a
    newsletter edition is in, where its footer links (:func:`reader_page_url`)."""
    email = project.practice.email
    addresses: tuple[tuple[PageKind, str], ...] = (
        ("unsubscribe", email.unsubscribe_url), ("preferences", email.preferences_url))
    return [(kind, lang, reader_page_url(project, url, lang)) for kind, url in addresses
            for lang in languages]


def _procedure_pages(plan: SitePlan, project: Project) -> None:
    website = project.practice.website.rstrip("/")
    for slug in sorted(project.procedures):
        procedure = project.procedures[slug]
        for lang in procedure.languages:
            url = procedure.url(lang)
            path = plan.urls.own_path(url)
            if path is None:  # printed address elsewhere: the page still exists on the site
                default = plan.urls.own_path(edition_url(f"{website}/procedures/{slug}", lang))
                path = default if default is not None else f"procedures/{slug}/"
            source = relpath(procedure.editions[lang].path, project.root)
            plan.add(Page(path, "procedure", lang, slug, source), url)


def _content_image(project: Project, src: str) -> Path | None:
    content = project.content_dir.resolve()
    path = (content / src).resolve()
    if content in path.parents and path.suffix.lower() in RASTER and path.is_file():
        return path
    return None


def _images(plan: SitePlan, project: Project) -> None:
    """Pictures the pages and the newsletters show (only those: content/ may hold other files)."""
    found: list[tuple[str, str]] = []  # (address base, src relative to content/)
    website, email_base = project.practice.website, project.practice.email.base_url
    for procedure in project.procedures.values():
        if procedure.meta.image is not None:
            found.append((website, procedure.meta.image.src))
        for edition in procedure.editions.values():
            found += [(website, src) for s in edition.sections for src in IMG_SRC_RE.findall(s.html)]
    for issue_id in list_issues(project):
        try:
            issue = load_issue(project, issue_id)
        except HandoutGenError:  # reported by the newsletter build and by check
            continue
        images = [issue.meta.hero, *(getattr(b, "image", None) for b in issue.meta.blocks)]
        found += [(email_base, image.src) for image in images if image is not None]
        markdown = [issue.intro_md, *(text for _, text in issue.sections.values())]
        found += [(email_base, src) for text in markdown for src in IMG_SRC_RE.findall(render_markdown(text))]
    for base, src in found:
        file = _content_image(project, src)
        path = plan.urls.own_path(plan.urls.join(base, src))
        if file is not None and path is not None:
            plan.images.setdefault(path, file)


def _issue_languages(project: Project, issue_id: str) -> list[str]:
    """The languages an issue has a sound edition in (the others are reported by the build)."""
    try:
        return list(load_editions(project, issue_id).translations)
    except HandoutGenError:
        return []


def plan_site(project: Project, base: str | None = None) -> SitePlan:
    """Every page and file of the site; duplicate addresses are problems, not exceptions."""
    practice, email = project.practice, project.practice.email
    urls = SiteUrls.for_practice(practice, base)
    plan = SitePlan(project, urls, web_logo(project))
    plan.add(Page("", "home"), practice.website)
    plan.add(Page("procedures/", "procedures"))
    _procedure_pages(plan, project)
    plan.add(Page("locations/", "locations"))
    for location in practice.locations:
        path = urls.own_path(location.map_url) or f"locations/{location.id}/"
        plan.add(Page(path, "location", key=location.id), location.map_url)
        for lang in project.web_languages:  # the page a packet in that language prints
            url = project.location_url(location, lang)
            translated = urls.own_path(url) if url != location.map_url else None
            if translated is not None:
                plan.add(Page(translated, "location", lang, location.id), url)
    archive = urls.own_path(email.archive_url) or "newsletters/"
    archive = archive if archive.endswith("/") else archive + "/"  # an issue folder goes below it
    plan.add(Page(archive, "archive"), email.archive_url)
    hubs = [p for p in list(plan.pages.values()) if p.kind in HUBS]  # one lost to a clash is reported
    for lang in (lang for lang in project.web_languages if lang != ORIGINAL):
        for hub in hubs:  # beside the original, by the rule every edition's address follows
            url = edition_url(urls.absolute(hub.path), lang)
            own = urls.own_path(url)
            assert own is not None  # the original's address is on this site, so is this one
            plan.add(Page(own, hub.kind, lang, source=hub.source), url)
    for issue_id in list_issues(project):
        path = urls.own_path(issue_url(project, issue_id)) or f"{archive}{issue_id}/"
        source = f"content/newsletters/{issue_id}.md"
        plan.add(Page(path, "issue", key=issue_id, source=source), issue_url(project, issue_id))
        for lang in _issue_languages(project, issue_id):  # each edition's "view in browser" page
            url = issue_url(project, issue_id, lang)
            source = f"content/newsletters/{issue_id}.{lang}.md"
            plan.add(Page(urls.own_path(url) or f"{path}{lang}/", "issue", lang, issue_id, source), url)
    plan.add(Page(f"{archive}feed.xml", "feed"))
    for kind, lang, url in reader_pages(project, plan.languages("issue")):
        app_path = urls.own_path(url)
        if app_path is not None:
            plan.add(Page(app_path if app_path.endswith("/") else app_path + "/", kind, lang), url)
    plan.add(Page("sitemap.xml", "sitemap"))
    plan.add(Page("robots.txt", "robots"))
    plan.add(Page("404.html", "notfound"))  # what a web server sends for an address not here
    for procedure, variant in planned_handouts(project):
        path = f"handouts/{variant.filename(procedure.slug)}"
        plan.downloads[path] = Download(path, procedure, variant)
    _images(plan, project)
    return plan


def font_file(face: str) -> Path:
    assert FONT_DIR is not None
    return FONT_DIR / f"AtkinsonHyperlegible-{face}.ttf"

