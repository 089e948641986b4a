"""Newsletter links: absolute https URLs, UTM parameters on the practice's own links only, text copies.

Every link of a sanitised Markdown fragment is rewritten here, and the fragment's plain-text
twin (for the text part) writes each link out as ``text (url)``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from lxml import html as lxml_html  # type: ignore[import-untyped]

from handout_gen.content.procedures import edition_url
from handout_gen.content.project import Project
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.tokens import PREFIX
from handout_gen.render.jinja import underline


def reader_page_url(project: Project, url: str, lang: str = ORIGINAL) -> str:
    """Where a reader of ``lang`` unsubscribes or sets preferences (``url``: ``email.unsubscribe_url``
    or ``email.preferences_url``): the page in ``lang`` beside it (``<url>/<lang>/``, as for a
    procedure), which the site and the unsubscribe app make, when ``url`` is on the practice's
    website; an address elsewhere (an email service's, or one with a query) as it is."""
    on_site = url.startswith(project.practice.website.rstrip("/") + "/") and "?" not in url
    return edition_url(url, lang) if on_site and lang != ORIGINAL else url


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
        if url.startswith(("mailto:", "tel:", PREFIX)):
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


TOKEN_PARAM = "t"  # noqa: S105 - the name of the links' parameter that carries the reader's token


def with_token(url: str, token: str) -> str:
    """``url`` with the reader's token as its ``t`` parameter (the email's footer links, the
    unsubscribe app's own links that must keep it)."""
    return f"{url}{'&' if '?' in url else '?'}{TOKEN_PARAM}={quote(token, safe='')}"


def plain_url(url: str) -> str:
    """``url`` without its campaign (utm_*) parameters, as the text part writes a link out: a
    reader, or a screen reader reading it aloud, need not get through 60 characters of them.
    Only those pairs go; the rest of the query is left as written (a mailto: subject's %20)."""
    parts = urlsplit(url)
    if "utm_" not in parts.query:
        return url
    kept = [pair for pair in parts.query.split("&") if not pair.startswith("utm_")]
    return urlunsplit(parts._replace(query="&".join(kept)))


COLUMN_PX = 536  # the email's text column: its 600 px container less its padding (newsletter.html.j2)


def _fit(img: Any) -> None:
    """A section's image as the email's own images are: no wider than the column (Outlook
    draws the width attribute), and full width on a phone (``hg-img``): a 600 px picture made
    the whole email scroll sideways on one."""
    img.set("class", " ".join(filter(None, (img.get("class"), "hg-img"))))
    width, height = img.get("width", ""), img.get("height", "")
    if width.isdigit() and height.isdigit() and int(width) > COLUMN_PX:
        img.set("height", str(round(int(height) * COLUMN_PX / int(width))))
        img.set("width", str(COLUMN_PX))


def fragment_links(fragment: str, links: LinkPolicy) -> tuple[str, str]:
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
        _fit(img)
    html = "".join(lxml_html.tostring(child, encoding="unicode") for child in root)
    html = (root.text or "") + html
    return html, to_text(root)


BREAK = "\u2028"  # a <br> in the text part's lines (a newline in the source is a space)


def to_text(root: Any) -> str:
    """Plain text of a fragment with every link written out as ``text (url)`` (an address or
    a phone number once: "frontdesk@example.org", not "... (mailto:...)"), a list nested in
    an item indented under it, a table's rows a line each, and a line break kept."""
    blocks: list[str] = []

    def inline(el: Any) -> str:
        out = el.text or ""
        for child in el:
            if child.tag == "a":
                out += _link_text(inline(child).strip(), plain_url(child.get("href", "")))
            elif child.tag == "br":
                out += BREAK
            elif child.tag == "img":
                out += child.get("alt", "")
            elif child.tag not in ("ul", "ol"):  # a nested list follows its item's line
                out += inline(child)
            out += child.tail or ""
        return out

    def wrap(text: str, first: str = "", rest: str = "") -> str:
        # 72 columns, each line of a <br> on its own; never break a URL or a hyphenated word
        lines = [" ".join(part.split()) for part in text.split(BREAK)]
        return "\n".join(
            textwrap.fill(line, 72, initial_indent=first if n == 0 else rest, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
            for n, line in enumerate(line for line in lines if line)
        )

    def items(el: Any, depth: int = 0) -> list[str]:
        pad, out = "  " * depth, []
        for n, li in enumerate((child for child in el if child.tag == "li"), start=1):
            marker = "-" if el.tag == "ul" else f"{n}."
            out.append(wrap(inline(li), f"{pad}{marker} ", f"{pad}  "))
            out += [line for sub in li if sub.tag in ("ul", "ol") for line in items(sub, depth + 1)]
        return out

    def rows(el: Any) -> list[str]:
        # a row a line, its cells apart ("Orchard Way | Mon–Fri 8 AM–5 PM"), not run together
        cells = ([" ".join(inline(cell).split()) for cell in tr if cell.tag in ("td", "th")]
                 for tr in el.iter("tr"))
        return [wrap(" | ".join(row), "", "  ") for row in cells if any(row)]

    for el in root:
        if el.tag in ("ul", "ol"):
            blocks.append("\n".join(items(el)))
        elif el.tag == "table":
            blocks.append("\n".join(rows(el)))
        elif el.tag in ("h3", "h4"):
            heading = " ".join(inline(el).split())
            blocks.append(f"{heading}\n{underline(heading, '-')}")  # not capitals: they are spelt out aloud
        else:
            blocks.append(wrap(inline(el)))
    return "\n\n".join(b for b in blocks if b)


def _link_text(label: str, href: str) -> str:
    """A link as the text part writes it: ``label (url)``, the url alone when it is the
    label, and an email address or phone number once, without its scheme."""
    scheme, _, target = href.partition(":")
    if scheme in ("mailto", "tel"):
        same = re.sub(r"\D", "", target) == re.sub(r"\D", "", label) if scheme == "tel" else target == label
        return label if label and same else f"{label} ({target})" if label else target
    return f"{label} ({href})" if label and label != href else href

