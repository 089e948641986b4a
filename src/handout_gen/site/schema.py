"""What the site tells search engines and feed readers: schema.org JSON-LD, sitemap.xml, the
Atom feed of the newsletter, robots.txt. All from the same content as the pages.

JSON-LD goes into ``<script type="application/ld+json">`` (data, nothing runs); every ``<`` is
written as ``\\u003c`` so no text from content can close the element. The XML files are built
with ElementTree, which escapes every value.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import html as lxml_html  # type: ignore[import-untyped]
from markupsafe import Markup

from handout_gen.content.procedures import Procedure
from handout_gen.core import languages
from handout_gen.site.plan import HUBS, Page, SitePlan

CONTEXT = "https://schema.org"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class IssueSummary:
    """What the archive, the feed and the home page show of an issue."""

    id: str
    subject: str
    preheader: str
    date: date
    lang: str
    page: Page


def script(data: dict[str, Any]) -> Markup:
    """JSON-LD for a ``<script type="application/ld+json">`` element, safe inside HTML."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c"))  # noqa: S704 - JSON with every "<" escaped


def plain(html: str) -> str:
    """The text of a sanitised HTML fragment, whitespace folded."""
    if not html.strip():
        return ""
    return " ".join(lxml_html.fragment_fromstring(html, create_parent="div").text_content().split())


def postal(street: str, city: str, state: str, zip_code: str) -> dict[str, str]:
    return {"@type": "PostalAddress", "streetAddress": street, "addressLocality": city,
            "addressRegion": state, "postalCode": zip_code, "addressCountry": "US"}


def clinic(plan: SitePlan) -> dict[str, Any]:
    """The practice as a MedicalClinic, with its locations (departments) and physicians."""
    practice, urls = plan.project.practice, plan.urls
    address = practice.postal_address
    return {
        "@type": "MedicalClinic",
        "@id": urls.root + "#clinic",
        "name": practice.name,
        "url": urls.root,
        "logo": urls.absolute(plan.logo.src),
        "telephone": practice.phone,
        "address": postal(address.street, address.city, address.state, address.zip),
        "department": [location_node(plan, loc.id) for loc in practice.locations],
        "employee": [
            {k: v for k, v in (("@type", "Person"), ("name", doc.name), ("honorificSuffix", doc.credentials),
                               ("jobTitle", doc.title)) if v}
            for doc in practice.physicians
        ],
    }


def location_node(plan: SitePlan, location_id: str) -> dict[str, Any]:
    location = plan.project.practice.location(location_id)
    assert location is not None
    page = plan.urls.absolute(plan.find("location", location_id).path)
    return {
        "@type": "MedicalClinic",
        "@id": page + "#clinic",
        "name": location.name,
        "url": page,
        "telephone": location.phone,
        "hasMap": location.map_url,
        "address": postal(location.street, location.city, location.state, location.zip),
        "parentOrganization": {"@id": plan.urls.root + "#clinic"},
    }


def graph(*nodes: dict[str, Any]) -> Markup:
    return script({"@context": CONTEXT, "@graph": list(nodes)})


def web_page(plan: SitePlan, page: Page, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    url = plan.urls.absolute(page.path)
    return {"@type": kind, "@id": url, "url": url, "name": name, "inLanguage": page.lang,
            "isPartOf": {"@id": plan.urls.root + "#website"},
            "publisher": {"@id": plan.urls.root + "#clinic"}, **extra}


def website(plan: SitePlan) -> dict[str, Any]:
    practice = plan.project.practice
    return {"@type": "WebSite", "@id": plan.urls.root + "#website", "url": plan.urls.root,
            "name": practice.name, "publisher": {"@id": plan.urls.root + "#clinic"}}


def procedure_page(plan: SitePlan, page: Page, procedure: Procedure) -> Markup:
    """MedicalWebPage about a MedicalProcedure (MedicalTherapy for the overview article)."""
    edition = procedure.edition(page.lang)
    meta = edition.meta
    about: dict[str, Any] = {
        "@type": "MedicalProcedure" if procedure.meta.kind == "procedure" else "MedicalTherapy",
        "@id": plan.urls.absolute(page.path) + "#about",
        "name": meta.title,
        "description": meta.summary,
    }
    if procedure.meta.kind == "procedure":
        about.update(howPerformed=plain(edition.section("what").html),
                     preparation=plain(edition.section("before").html),
                     followup=" ".join([plain(edition.section("after").html), *meta.aftercare]))
    node = web_page(
        plan, page, "MedicalWebPage", meta.title, description=meta.summary, about=about,
        audience={"@type": "MedicalAudience", "audienceType": "Patient"},
        lastReviewed=meta.last_reviewed.isoformat(),
        reviewedBy={"@type": "Person", "jobTitle": meta.reviewer_role,
                    "worksFor": {"@id": plan.urls.root + "#clinic"}},
        version=meta.version,
        creativeWorkStatus="Draft" if meta.status == "draft" else "Published",
    )
    return graph(node, clinic(plan), website(plan))


def issue_article(plan: SitePlan, issue: IssueSummary) -> Markup:
    node = web_page(plan, issue.page, "Article", issue.subject, headline=issue.subject,
                    description=issue.preheader, datePublished=issue.date.isoformat())
    return graph(node, clinic(plan))


def sitemap(plan: SitePlan, lastmod: dict[str, date]) -> bytes:
    """Every indexable page, with its language editions as hreflang alternates."""
    ET.register_namespace("", SITEMAP_NS)
    ET.register_namespace("xhtml", XHTML_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    indexable = ("home", "procedures", "procedure", "locations", "location", "archive", "issue")
    for page in sorted((p for p in plan.pages.values() if p.kind in indexable), key=lambda p: p.path):
        url = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = plan.urls.absolute(page.path)
        if page.path in lastmod:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = lastmod[page.path].isoformat()
        for hreflang, href in alternates(plan, page):
            ET.SubElement(url, f"{{{XHTML_NS}}}link", rel="alternate", hreflang=hreflang, href=href)
    return _xml(root)


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def alternates(plan: SitePlan, page: Page) -> list[tuple[str, str]]:
    """hreflang alternates of a page in several languages (a procedure, location or issue, and
    the pages the menu links to): every language of it (itself included) and x-default."""
    if page.kind not in ("procedure", "location", "issue", *HUBS):
        return []
    pages = sorted((p for p in plan.of_kind(page.kind) if p.key == page.key),
                   key=lambda p: plan.project.languages.codes.index(p.lang))
    if len(pages) < 2:  # noqa: PLR2004 - an alternate needs a second language
        return []
    found = [(p.lang, plan.urls.absolute(p.path)) for p in pages]
    return [*found, ("x-default", found[0][1])]


def atom(plan: SitePlan, issues: list[IssueSummary]) -> bytes:
    """The newsletter as an Atom feed, newest first (dates only: an issue has no time of day)."""
    ET.register_namespace("", ATOM_NS)
    practice, urls = plan.project.practice, plan.urls
    archive, feed = plan.find("archive"), plan.of_kind("feed")[0]
    root = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": languages.ORIGINAL})

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        element.text = text
        return element

    add(root, "id", urls.absolute(archive.path))
    add(root, "title", f"{practice.name}: newsletter")
    newest = max((i.date for i in issues), default=date(2000, 1, 1))
    add(root, "updated", f"{newest.isoformat()}T00:00:00Z")
    add(add(root, "author"), "name", practice.name)
    add(root, "link", rel="self", href=urls.absolute(feed.path))
    add(root, "link", rel="alternate", href=urls.absolute(archive.path))
    for issue in issues:
        entry = add(root, "entry")
        add(entry, "id", urls.absolute(issue.page.path))
        add(entry, "title", issue.subject)
        add(entry, "updated", f"{issue.date.isoformat()}T00:00:00Z")
        add(entry, "link", rel="alternate", href=urls.absolute(issue.page.path))
        add(entry, "summary", issue.preheader)
    return _xml(root)


def robots(plan: SitePlan) -> bytes:
    """Everything may be indexed but the unsubscribe pages; where the sitemap is."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {plan.urls.link(p.path)}" for p in plan.pages.values()
              if p.kind in ("unsubscribe", "preferences")]
    lines += ["Allow: /" if len(lines) == 1 else "", f"Sitemap: {plan.urls.absolute('sitemap.xml')}"]
    return ("\n".join(line for line in lines if line) + "\n").encode()
