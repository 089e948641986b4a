"""Markdown: sanitised HTML (markdown-it-py + nh3) and the one ``## Heading {#id}`` splitter.

Content may hold raw HTML; everything that could run, load or read something is removed
here, once, for every output (handouts, newsletters, web pages).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt

from handout_gen.core.errors import Problem
from handout_gen.core.files import inside

HEADING_RE = re.compile(r"^##\s+(?P<title>.+?)\s*\{#(?P<id>[a-z0-9-]+)\}\s*$")
FENCE_RE = re.compile(r"^(```|~~~)")


# Tags a handout may use. Everything else (script, iframe, object, embed, form, style…)
# is removed together with its content where that content could run or load something.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt",
    "em", "figcaption", "figure", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"lang"},
}
SCHEME_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Drop image sources that would load anything but a project file.

    Remote (https:) images would make the PDF depend on the network, and ``file:``,
    absolute or ``..`` sources could read files outside content/; the URL fetcher refuses
    them too, but removing them here keeps the output inert and free of warnings.
    """
    if tag != "img" or attribute != "src":
        return value
    plain = unquote(value)  # "%2E%2E/" is "../" to the URL fetcher, and "%2F" a "/"
    if SCHEME_RE.match(plain) or plain.startswith(("/", "\\")) or ".." in plain.replace("\\", "/").split("/"):
        return None
    return value


_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_md.enable("table")


# A section is rendered for each print size, its web page and the checks: the same text
# again within a run (and in `preview`, after every save of another file).
_raw_html = lru_cache(maxsize=1024)(_md.render)


@lru_cache(maxsize=1024)
def render_markdown(text: str) -> str:
    """Markdown → HTML with raw HTML sanitised (no scripts, frames, remote or file: loads)."""
    return nh3.clean(
        _raw_html(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto", "tel"},
        attribute_filter=_filter_attribute,
        link_rel=None,
    )


_URL_RE = re.compile(r"<(a|img)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.I)


def removed_urls(text: str) -> list[tuple[str, str]]:
    """``(tag, url)`` of every link and image the sanitiser removes from ``text``.

    Nothing may vanish silently from a patient handout or a newsletter: callers turn each of
    these into an error that names the line.
    """
    before = Counter((tag.lower(), html.unescape(url)) for tag, url in _URL_RE.findall(_raw_html(text)))
    after = Counter((tag.lower(), html.unescape(url)) for tag, url in _URL_RE.findall(render_markdown(text)))
    return sorted((before - after).elements())


def _offset(text: str, url: str) -> int:
    """The line of ``text`` (0: its first) where ``url`` is written."""
    return next((i for i, line in enumerate(text.splitlines()) if url and url in line), 0)


def removed_problems(text: str, source: str, first_line: int) -> list[Problem]:
    """A located problem for each link or image :func:`removed_urls` finds in ``text``."""
    problems = []
    for tag, url in removed_urls(text):
        offset = _offset(text, url)
        if tag == "a":
            message = f"link '{url}' would be removed: links must be https://, mailto: or tel:"
            rule = "references.link-https"
        else:
            message = f"image '{url}' would be removed: images must be files inside content/"
            rule = "references.image-missing"
        problems.append(Problem(source, message, first_line + offset, rule=rule))
    return problems



@dataclass
class RawSection:
    """A ``## Heading {#id}`` section as written: id, heading, first line, its lines."""

    id: str
    heading: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        return "\n".join(self.lines).strip()


def split_sections(
    body: str, source: str, first_line: int, example: str
) -> tuple[list[str], list[RawSection], list[Problem]]:
    """Split a body at ``## Heading {#id}`` lines (not inside code fences).

    Returns the lines before the first section, the sections in order and a problem for
    every ``## `` heading without an id (``example`` shows the reader the right form).
    """
    preamble: list[str] = []
    sections: list[RawSection] = []
    problems: list[Problem] = []
    in_fence = False
    for offset, raw in enumerate(body.splitlines()):
        if FENCE_RE.match(raw.strip()):
            in_fence = not in_fence
        match = None if in_fence else HEADING_RE.match(raw)
        if match:
            sections.append(RawSection(match["id"], match["title"], first_line + offset))
        elif not in_fence and raw.startswith("## "):
            message = f"a section heading needs its id, e.g. '{example}'"
            problems.append(Problem(source, message, first_line + offset))
        elif sections:
            sections[-1].lines.append(raw)
        else:
            preamble.append(raw)
    return preamble, sections, problems


def missing_image_problems(text: str, source: str, first_line: int, content_dir: Path) -> list[Problem]:
    """A located problem for each picture ``text`` names by a path (``![alt](path)`` or
    ``<img src="path">``) that is not a file inside ``content_dir``: it would link nothing.
    Addresses with a scheme are :func:`removed_problems`' to name."""
    found = (html.unescape(url) for tag, url in _URL_RE.findall(_raw_html(text)) if tag.lower() == "img")
    return [problem for src in found if ":" not in src
            if (problem := missing_image(src, content_dir, source, first_line + _offset(text, src)))]


def missing_image(src: str, content_dir: Path, source: str, line: int | None,
                  field: str | None = None) -> Problem | None:
    """The problem of a picture path that is not a file inside ``content_dir`` (None: it is)."""
    if inside(content_dir / src, content_dir) and (content_dir / src).is_file():
        return None
    return Problem(source, f"image '{src}' not found inside content/", line, field,
                   rule="references.image-missing")

