"""The web pages: one context per kind of page, rendered through the one Jinja environment.

Site templates (``site_*.html.j2``, ``site.css.j2``) follow the same search order as every other
template: a project's ``templates/`` first, ``default:`` for the built-in. Text comes from the
content files through the same sanitised HTML the handouts use; only its links change here
(pictures and ``.md`` links point at site addresses, root-relative links get the preview's base).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any
from urllib.parse import quote

import jinja2
from babel import Locale
from lxml import html as lxml_html  # type: ignore[import-untyped]
from markupsafe import Markup

from handout_gen.content.procedures import Procedure
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.editions import load_editions
from handout_gen.newsletter.links import plain_url, with_token
from handout_gen.newsletter.render import render_issue
from handout_gen.render.bidi import isolate_numbers
from handout_gen.render.catalogs import translations
from handout_gen.render.context import language_help
from handout_gen.render.jinja import make_env, opening_hours, render, safe_html
from handout_gen.site import schema
from handout_gen.site.phones import dial_links
from handout_gen.site.plan import STYLESHEET, Page, PageKind, SitePlan
from handout_gen.site.schema import IssueSummary
from handout_gen.site.urls import normalise

TEMPLATES = {
    "home": "site_home.html.j2", "procedure": "site_procedure.html.j2", "locations": "site_locations.html.j2",
    "location": "site_location.html.j2", "archive": "site_archive.html.j2",
    "unsubscribe": "site_unsubscribe.html.j2", "preferences": "site_unsubscribe.html.j2",
    "notfound": "site_notfound.html.j2",
}
OSM_SEARCH = "https://www.openstreetmap.org/search?query="
LINKED_RE = re.compile(r"<(a|img)\b")


class SitePages:
    """Renders the pages of one :class:`SitePlan` (build, preview and the unsubscribe app share it).

    ``sizes`` gives the size in bytes of each handout PDF the procedure pages link to (the
    build knows them; the preview leaves them out).
    """

    def __init__(self, plan: SitePlan, env: jinja2.Environment | None = None,
                 sizes: Mapping[str, int] | None = None) -> None:
        self.plan = plan
        self.project = plan.project
        self.urls = plan.urls
        self.env = env or make_env(self.project.templates_dir)
        self.sizes = sizes or {}

    # --- shared -----------------------------------------------------------------------------
    def stylesheet(self, fonts: str = "fonts/") -> str:
        return render(self.env, "site.css.j2", colors=self.project.practice.colors, fonts=fonts)

    def words(self, lang: str) -> Callable[[str], str]:
        """``gettext`` of ``lang``: the project's catalog first, as the templates' ``_()``."""
        return translations(lang, self.project.catalog_dir).gettext

    def link_to(self, kind: PageKind, key: str = "", lang: str = ORIGINAL) -> str:
        """The link to a page of ``kind`` in ``lang``, or to the original where it has none."""
        return self.urls.link(self.plan.in_language(kind, key, lang).path)

    def site_context(self, page: Page | None, lang: str, inline_css: str = "",
                     token: str = "") -> dict[str, Any]:
        """What the frame of every page needs: links of the header (to the pages in ``lang``
        where the site has them), logo, stylesheet, feed. A reader's ``token`` goes on the links
        to this page in other languages (the unsubscribe app's pages keep it)."""
        gettext = self.words(lang)
        nav: list[tuple[str, PageKind]] = [
            (gettext("Home"), "home"), (gettext("Treatments"), "procedures"),
            (gettext("Our clinics"), "locations"), (gettext("Newsletter"), "archive")]
        logo = self.plan.logo
        return {
            "home": self.link_to("home", lang=lang),
            "css": self.urls.link(STYLESHEET),
            "inline_css": Markup(inline_css),  # noqa: S704 - our own stylesheet, rendered from site.css.j2
            "logo": self.urls.link(logo.src),
            "logo_url": self.urls.absolute(logo.src),
            "logo_width": logo.width,
            "logo_height": logo.height,
            "feed": self.urls.link(self.plan.of_kind("feed")[0].path),
            "nav": [
                {"label": label, "href": self.link_to(kind, lang=lang), "current": _current(page, kind)}
                for label, kind in nav
            ],
            "languages": self.language_links(page, lang, token),
            "language_help": language_help(self.project, lang),
        }

    @cached_property
    def page_editions(self) -> dict[tuple[PageKind, str], dict[str, Page]]:
        """Each page's editions by language, under its kind and key (indexed once, not scanned
        for every page rendered)."""
        found: dict[tuple[PageKind, str], dict[str, Page]] = {}
        for page in self.plan.pages.values():
            found.setdefault((page.kind, page.key), {})[page.lang] = page
        return found

    def language_links(self, page: Page | None, lang: str, token: str = "") -> list[dict[str, str]]:
        """Every other language of the site, in its own name: this page in it, or that
        language's home where this page has no edition (a reader who arrives from a link or
        an email finds their language from any page)."""
        languages, links = self.project.languages, []
        homes = self.page_editions.get(("home", ""), {})
        here = self.page_editions.get((page.kind, page.key), {}) if page is not None else {}
        for code in languages.codes:
            if code != lang and code in homes:
                if code in here:
                    href = self.urls.link(here[code].path)
                    href = with_token(href, token) if token else href
                else:
                    href = self.urls.link(homes[code].path)
                links.append({"lang": code, "dir": languages.direction(code), "label": languages.native(code),
                              "href": href})
        return links

    def page_info(self, page: Page, title: str, description: str, **extra: Any) -> dict[str, Any]:
        canonical = self.urls.absolute(page.path)
        alternates = [{"hreflang": h, "url": u} for h, u in schema.alternates(self.plan, page)]
        others = [self.project.languages.locale(a["hreflang"]) for a in alternates
                  if a["hreflang"] not in ("x-default", page.lang)]
        info = {
            "title": title, "description": description, "canonical": canonical, "alternates": alternates,
            "og_type": "website", "og_locale": self.project.languages.locale(page.lang),
            "og_alternates": others,
            "noindex": False, "draft": False, "jsonld": None,
        }
        info.update(extra)
        return info

    def html(self, template: str, page: Page, info: dict[str, Any], inline_css: str = "",
             token: str = "", **context: Any) -> bytes:
        practice = self.project.practice
        direction = self.project.languages.direction(page.lang)
        text = render(self.env, template, lang=page.lang, dir=direction,
                      locale=self.project.languages.locale(page.lang),
                      **self.project.languages.punctuation(page.lang),
                      practice=practice, colors=practice.colors,
                      page=info, site=self.site_context(page, page.lang, inline_css, token), **context)
        numbers = [practice.phone, practice.after_hours_phone, *(loc.phone for loc in practice.locations)]
        text = dial_links(text, numbers)
        return (isolate_numbers(text) if direction == "rtl" else text).encode("utf-8")

    def language_of(self, lang: str, reader: str) -> dict[str, str]:
        """What a list item in ``lang`` needs on a page in the ``reader``'s language: its
        ``lang`` and ``dir`` attributes, and its language's name as the reader calls it
        (CLDR's, via Babel: "英语" on a Chinese page; the language's own name where CLDR
        has none), shown as "(英语)" beside an item with no edition in the reader's language."""
        languages = self.project.languages
        names = Locale.parse(languages.locale(reader)).languages
        name = names.get(lang) or names.get(lang.split("-")[0]) or languages.native(lang)
        return {"lang": lang, "dir": languages.direction(lang), "language": name}

    def edition_links(self, procedure: Procedure, current: str) -> list[dict[str, str]]:
        return [
            {"lang": lang, "label": self.project.languages.native(lang),
             "href": self.urls.link(self.plan.find("procedure", procedure.slug, lang).path)}
            for lang in procedure.languages if lang != current
        ]

    def fragment(self, html: str) -> Markup:
        """Sanitised content HTML with its pictures and links pointed at site addresses."""
        if not LINKED_RE.search(html):
            return safe_html(html)
        root = lxml_html.fragment_fromstring(html, create_parent="div")
        for img in root.iter("img"):
            path = normalise(img.get("src", ""))
            if path is not None:
                img.set("src", self.urls.link(path))
        for a in root.iter("a"):
            href = a.get("href", "")
            if href.startswith("/") and not href.startswith("//"):
                a.set("href", self.urls.base.rstrip("/") + href)
            elif href.endswith(".md") and "/" not in href:  # a link to another procedure's file
                slug, _, lang = href.removesuffix(".md").partition(".")
                if slug in self.project.procedures:
                    target = self.plan.find("procedure", slug, lang or ORIGINAL)
                    a.set("href", self.urls.link(target.path))
        inner = (root.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in root)
        return safe_html(inner)

    # --- pages ------------------------------------------------------------------------------
    def render(self, page: Page) -> bytes:
        """The bytes of ``page`` (HTML, or XML/text for the feed, sitemap and robots.txt)."""
        makers: dict[str, Callable[[Page], bytes]] = {
            "home": self.home, "procedures": self.procedures, "procedure": self.procedure,
            "locations": self.locations, "location": self.location, "archive": self.archive,
            "issue": self.issue,
            "unsubscribe": self.unsubscribe, "preferences": self.unsubscribe, "notfound": self.notfound,
            "feed": lambda _p: schema.atom(self.plan, self.issues),
            "sitemap": lambda _p: schema.sitemap(self.plan, self.lastmod()),
            "robots": lambda _p: schema.robots(self.plan),
        }
        return makers[page.kind](page)

    @cached_property
    def issues(self) -> list[IssueSummary]:
        """Newsletter issues, newest first."""
        return [i for i in self.editions if i.page.lang == ORIGINAL]

    @cached_property
    def editions(self) -> list[IssueSummary]:
        """Every issue page, each language edition included, newest first."""
        found = []
        for page in self.plan.of_kind("issue"):
            editions = load_editions(self.project, page.key)
            meta = (editions.edition(page.lang) or editions.original).meta
            found.append(IssueSummary(page.key, meta.subject, meta.preheader, meta.date, meta.lang, page))
        return sorted(found, key=lambda i: (i.date, i.id), reverse=True)

    def issue_links(self, lang: str = ORIGINAL) -> list[dict[str, Any]]:
        """Every issue, newest first, each in its ``lang`` edition where it has one."""
        editions = {(i.id, i.page.lang): i for i in self.editions}
        shown = [editions.get((i.id, lang), i) for i in self.issues]
        return [{"href": self.urls.link(i.page.path), "subject": i.subject, "preheader": i.preheader,
                 "date": i.date, **self.language_of(i.lang, lang)} for i in shown]

    def lastmod(self) -> dict[str, Any]:
        found: dict[str, Any] = {i.page.path: i.date for i in self.issues}
        for page in self.plan.of_kind("procedure"):
            found[page.path] = self.project.procedure(page.key).edition(page.lang).meta.last_reviewed
        return found

    def procedure_links(self, lang: str = ORIGINAL) -> list[dict[str, Any]]:
        """Every procedure, the overview first, then by title: its page in ``lang`` where it
        has one (its other editions linked beside it)."""
        links = []
        for procedure in sorted(self.project.procedures.values(),
                                key=lambda p: (p.meta.kind != "overview", p.meta.title)):
            page = self.plan.in_language("procedure", procedure.slug, lang)
            meta = procedure.edition(page.lang).meta
            links.append({"href": self.urls.link(page.path), "title": meta.title, "summary": meta.summary,
                          "editions": self.edition_links(procedure, page.lang),
                          **self.language_of(page.lang, lang)})
        return links

    def procedures(self, page: Page) -> bytes:
        procedures = self.procedure_links(page.lang)
        info = self.page_info(page, self.words(page.lang)("Treatments"),
                              ", ".join(item["title"] for item in procedures))
        return self.html("site_procedures.html.j2", page, info, procedures=procedures)

    def home(self, page: Page) -> bytes:
        practice = self.project.practice
        info = self.page_info(page, practice.name, self.words(page.lang)(
            "Plain-language information about our treatments, our clinics and how to reach us."),
            jsonld=schema.graph(schema.website(self.plan), schema.clinic(self.plan)))
        archive = self.link_to("archive", lang=page.lang)
        return self.html("site_home.html.j2", page, info, procedures=self.procedure_links(page.lang),
                         locations=self.location_links(page.lang), issues=self.issue_links(page.lang),
                         archive=archive)

    def procedure(self, page: Page) -> bytes:
        procedure = self.project.procedure(page.key)
        edition = procedure.edition(page.lang)
        meta, gettext = edition.meta, self.words(page.lang)
        labels = {False: gettext("Handout"), True: gettext("Large-print handout")}
        downloads = [
            {"href": self.urls.link(path), "label": labels[d.variant.large_print],
             "size": _size(self.sizes.get(path))}
            for path, d in sorted(self.plan.downloads.items(), key=lambda item: item[1].variant.large_print)
            if d.procedure.slug == procedure.slug and d.variant.lang == page.lang
        ]
        image = procedure.meta.image
        picture = None if image is None else {
            "src": self.urls.link(normalise(image.src) or ""), "width": image.width, "height": image.height,
            "alt": getattr(meta, "image_alt", None) or image.alt,
            "caption": getattr(meta, "image_caption", None) or image.caption,
        }
        sections = [{"id": s.id, "heading": s.heading, "html": self.fragment(s.html)}
                    for s in edition.sections]
        info = self.page_info(page, meta.title, meta.summary, og_type="article",
                              draft=meta.status == "draft",
                              jsonld=schema.procedure_page(self.plan, page, procedure))
        return self.html("site_procedure.html.j2", page, info, meta=meta, sections=sections,
                         downloads=downloads, image=picture,
                         editions=self.edition_links(procedure, page.lang))

    def location_links(self, lang: str = ORIGINAL) -> list[dict[str, Any]]:
        """Every clinic, linked to its page in ``lang`` where the site has one."""
        return [{"location": loc, "href": self.link_to("location", loc.id, lang)}
                for loc in self.project.practice.locations]

    def locations(self, page: Page) -> bytes:
        names = ", ".join(loc.name for loc in self.project.practice.locations)
        info = self.page_info(page, self.words(page.lang)("Our clinics"), names,
                              jsonld=schema.graph(schema.clinic(self.plan)))
        return self.html("site_locations.html.j2", page, info, locations=self.location_links(page.lang))

    def location(self, page: Page) -> bytes:
        location = self.project.practice.location(page.key)
        assert location is not None
        own = self.urls.own_path(location.map_url) is not None
        map_href = OSM_SEARCH + quote(location.one_line()) if own else location.map_url
        hours = opening_hours(location.hours, page.lang, self.project.catalog_dir)
        info = self.page_info(page, location.name, f"{location.one_line()}. {hours}.",
                              jsonld=schema.graph(schema.location_node(self.plan, location.id)))
        return self.html("site_location.html.j2", page, info, location=location, map_href=map_href,
                         all_locations=self.link_to("locations", lang=page.lang))

    def archive(self, page: Page) -> bytes:
        gettext = self.words(page.lang)
        info = self.page_info(page, gettext("Newsletter"),
                              gettext("Every issue of our email newsletter, newest first."))
        return self.html("site_archive.html.j2", page, info, issues=self.issue_links(page.lang),
                         feed=self.urls.link(self.plan.of_kind("feed")[0].path))

    def unsubscribe(self, page: Page, state: str = "fallback", form: dict[str, str] | None = None,
                    inline_css: str = "", token: str = "", **extra: Any) -> bytes:
        """The static fallback page (the app renders the same template with other states and
        ``extra``: the preferences page's ``choice`` form, the ``chosen`` language's name, the
        way ``back`` to the settings). With the reader's ``token``, the header's other languages
        of this page keep it."""
        gettext = self.words(page.lang)
        if state == "fallback" and page.kind == "preferences":  # the link said "preferences"
            state = "settings-fallback"
        if state in SETTINGS_STATES:
            info = self.page_info(page, gettext("Your email settings"), gettext(
                "Choose the language of our newsletter, or stop getting it."), noindex=True)
        else:
            info = self.page_info(page, gettext("Stop getting our emails"), gettext(
                "Reply “unsubscribe” to one of our emails, or call us, to stop getting our newsletter."),
                noindex=True)
        return self.html(TEMPLATES[page.kind], page, info, inline_css, token, state=state, form=form, **extra)

    def notfound(self, page: Page) -> bytes:
        """404.html: a mistyped or old printed address still reaches the home page and the phone
        number, with a line in each other language leading to its own home page."""
        gettext = self.words(page.lang)
        info = self.page_info(page, gettext("This page is not here"), gettext(
            "The address may be mistyped, or the page has moved. Our treatments and clinics are on "
            "our home page."), noindex=True)
        languages, homes = self.project.languages, self.page_editions.get(("home", ""), {})
        others = [{"lang": code, "dir": languages.direction(code), "home": said("Home"),
                   "text": said("This page is not here"), "href": self.urls.link(homes[code].path)}
                  for code in languages.codes if code != page.lang and code in homes
                  for said in (self.words(code),)]
        return self.html(TEMPLATES[page.kind], page, info, others=others)

    def issue(self, page: Page) -> bytes:
        """An issue's page: the email's browser copy, as the newsletter build makes it, with what a
        web page needs added around it.

        The email is not re-laid out in the site's frame: its layout is inline CSS for mail
        programs, and its dark-mode rules would restyle a surrounding page. The page gets a
        description, canonical address, Open Graph and JSON-LD in ``<head>``, a header with the
        way back, and a ``<main>`` landmark around the email; pictures on the practice's own site
        load from this site (root-relative), so the page works wherever the site is served.
        """
        issue = next(i for i in self.editions if i.page == page)
        here = Page(page.path, page.kind, issue.lang, page.key, page.source)
        info = self.page_info(here, issue.subject, issue.preheader, og_type="article",
                              jsonld=schema.issue_article(self.plan, issue))
        practice = self.project.practice
        context = {"lang": issue.lang, "practice": practice, "colors": practice.colors, "page": info,
                   "site": self.site_context(here, issue.lang),
                   "archive": self.link_to("archive", lang=issue.lang), "issue_date": issue.date}
        browser = render_issue(self.project, page.key, lang=page.lang).browser_html
        tree = lxml_html.document_fromstring(browser)
        head, body = tree.find("head"), tree.find("body")
        for element in lxml_html.fragments_fromstring(
                render(self.env, "site_issue.html.j2", part="head", **context)):
            head.append(element)
        for img in tree.iter("img"):
            path = self.urls.own_path(img.get("src", ""))
            if path is not None:
                img.set("src", self.urls.link(path))
        for link in tree.iter("a"):  # a visit from this page is not one from the email
            href = link.get("href", "")
            if "utm_" in href:
                link.set("href", plain_url(href))
        article = body.find('.//div[@role="article"]')
        main = lxml_html.Element("main", id="main")
        article.addprevious(main)
        main.append(article)
        (header,) = lxml_html.fragments_fromstring(
            render(self.env, "site_issue.html.j2", part="header", **context))
        main.addprevious(header)
        data: bytes = lxml_html.tostring(tree, doctype="<!DOCTYPE html>", encoding="utf-8")
        return data + b"\n"


# The settings pages: the unsubscribe app's, and the static one behind the preferences link.
SETTINGS_STATES = ("preferences", "saved", "not-saved", "settings-fallback")

# The menu item a detail page belongs under: a procedure under "Treatments" and so on.
SECTION_OF: dict[str, PageKind] = {"procedure": "procedures", "location": "locations", "issue": "archive"}


def _current(page: Page | None, kind: PageKind) -> str:
    """``aria-current`` of a menu item: "page" on that page, "true" on a page under it."""
    if page is None:
        return ""
    if page.kind == kind:
        return "page"
    return "true" if SECTION_OF.get(page.kind) == kind else ""


def _size(size: int | None) -> str:
    if size is None:
        return ""
    return f"{max(1, round(size / 1024))} KB"
