"""A list that goes on over a page break goes on under its heading, repeated.

A patient ticks a packet's checklist page by page, and reads the signs to call about as a
list under "When to call us": three items atop a page, under no heading, read as a list of
their own. CSS cannot repeat a heading where a list breaks, so a list the template marks
``data-continued="When to call us (continued)"`` (or with the ``continued`` filter, every
flat bulleted list of a section's Markdown) is laid out, and where a page starts inside it,
the list is split there in the HTML and its second part opens with that heading (a section
heading, h2), starting the page. It is a real heading: a screen reader, too, hears where the
list goes on. A split that would add a page is not made: that list goes on as before, and
the lists after it still get theirs.

A list that ends its ``<aside>`` box (marked ``data-continued-box``) closes its box there
and goes on in a new one, a copy of the first (class ``continued`` added, no ``id``): a box
cut by a page break reaches down to the page's end (CSS fragmentation), shaded and empty
under its last item, as if it had nothing more to say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from handout_gen.render.pagefill import flow, tag_name

ATTR = "data-continued"
BOX = "data-continued-box"
AT = "data-continued-at"  # "list.item", stamped on each item of a marked list before layout
_MARKED_LIST = re.compile(r'<ul\b[^>]*\bdata-continued="([^"]+)"[^>]*>')
_LIST_TAG = re.compile(r"<(/?)(ul|ol|li)\b[^>]*>")
_ID = re.compile(r'\s+id="[^"]*"')
_STAMP = re.compile(rf' {AT}="[^"]*"')
_CLASS = re.compile(r'\bclass="([^"]*)"')
ROUNDS = 3  # layouts a list may take: each split can move its rest; it spans two or three pages


def mark_lists(html: str, heading: str) -> Markup:
    """``html`` (a section's Markdown, already safe) with each bulleted list of its own that
    holds no other list marked to go on under ``heading``. The ``continued`` filter."""
    html = str(html if isinstance(html, Markup) else escape(html))  # text to cut: Markup escapes additions
    spans: list[int] = []  # where to write the attribute: before each marked list's ">"
    depth, start, nested = 0, -1, False
    for tag in _LIST_TAG.finditer(html):
        if tag[2] == "li":
            continue
        if tag[1]:  # a closing tag
            depth -= 1
            if depth == 0 and start >= 0 and not nested:
                spans.append(start)
            continue
        if depth == 0:
            start, nested = (tag.end() - 1 if tag[2] == "ul" and ATTR not in tag[0] else -1), False
        else:
            nested = True
        depth += 1
    attribute = f' {ATTR}="{escape(heading)}"'
    for at in reversed(spans):
        html = html[:at] + attribute + html[at:]
    return Markup(html)  # noqa: S704 - safe HTML in, an escaped attribute added


def with_continued_headings(html: str, lay_out: Callable[[str], Any], document: Any = None) -> Any:
    """``lay_out(html)`` (a WeasyPrint document; ``document`` when the caller has it already),
    with every marked list that goes on over a page break going on under its heading, as
    long as that adds no page (the key points box, a section's lists, the call list)."""
    if ATTR not in html:
        return document or lay_out(html)
    html, lists = _stamped(_STAMP.sub("", html))  # the same stamps as stamped(html)'s
    document = document or lay_out(html)
    refused: set[str] = set()  # lists a heading would have cost a page: they go on as they did
    for _ in range(ROUNDS * len(lists)):
        at = _continuing(document, refused)
        if at is None:
            break
        number = at.partition(".")[0]
        split = _split(html, at, lists[number])
        moved = lay_out(split)
        if len(moved.pages) > len(document.pages):
            refused.add(number)
            continue
        html, document = split, moved
    return document


def stamped(html: str) -> str:
    """``html`` as :func:`with_continued_headings` lays it out (its lists' items stamped):
    a layout of it may be handed to that function as its first."""
    return _stamped(html)[0] if ATTR in html else html


@dataclass(frozen=True)
class _List:
    heading: str  # escaped as the attribute was: safe as text
    opening: str  # the list's own opening tag
    box: str = ""  # the opening tag of the box it goes on in, if it is a box's list


def _stamped(html: str) -> tuple[str, dict[str, _List]]:
    """``html`` with each item of each marked list stamped ``data-continued-at="list.item"``
    (items of a list inside it are not its items), and each list by its number."""
    lists: dict[str, _List] = {}
    out, last = [], 0
    for number, opening in enumerate(_MARKED_LIST.finditer(html)):
        depth, item, end = 1, 0, len(html)  # end: where the list closes
        for tag in _LIST_TAG.finditer(html, opening.end()):
            if tag[2] != "li":
                depth += -1 if tag[1] else 1
                if depth == 0:
                    end = tag.end()
                    break
            elif depth == 1 and not tag[1]:
                out.append(html[last : tag.start() + 3])  # "<li"
                out.append(f' {AT}="{number}.{item}"')
                last, item = tag.start() + 3, item + 1
        box = _box(html, opening, end) if BOX in opening[0] else ""
        lists[str(number)] = _List(opening[1], opening[0], box)
    out.append(html[last:])
    return "".join(out), lists


def _box(html: str, opening: re.Match[str], end: int) -> str:
    """The opening tag of a new box to go on in, copied from the ``<aside>`` whose list opens
    at ``opening`` and closes at ``end`` and ends it ("": the list is not the box's last)."""
    start = html.rfind("<aside", 0, opening.start())
    inside = start >= 0 and "</aside>" not in html[start : opening.start()]
    if not inside or not html[end:].lstrip().startswith("</aside>"):
        return ""
    tag = _ID.sub("", html[start : html.index(">", start) + 1])  # an id names one element only
    if _CLASS.search(tag):
        return _CLASS.sub(lambda found: f'class="{found[1]} continued"', tag, count=1)
    return tag.replace("<aside", '<aside class="continued"', 1)


def _continuing(document: Any, refused: set[str]) -> str | None:
    """The stamp of the item that starts the first page starting inside a marked list, past
    the list's first item, of a list not ``refused`` (None: no page does)."""
    for page in document.pages[1:]:
        stamp = _first_item_stamp(flow(page))
        if stamp and not stamp.endswith(".0") and stamp.partition(".")[0] not in refused:
            return stamp
    return None


def _first_item_stamp(box: Any) -> str | None:
    """The stamp of the list item the first content of a laid-out page belongs to."""
    from weasyprint.formatting_structure import boxes

    while True:
        children = [c for c in getattr(box, "children", []) if isinstance(c, boxes.BlockLevelBox)
                    and not c.is_absolutely_positioned()]
        if not children:
            return None
        box = children[0]
        if box.element is not None and tag_name(box.element) == "li":
            stamp: str | None = box.element.get(AT)
            return stamp


def _split(html: str, at: str, marked: _List) -> str:
    """``html`` with a marked list split before its item stamped ``at``, the second part
    opening with its heading (it starts a page: base.css.j2) and the list's own opening tag,
    in a new box if the list is its box's."""
    item = html.rindex("<li", 0, html.index(f'{AT}="{at}"'))
    goes_on = f'<h2 class="continued">{marked.heading}</h2>\n{marked.opening}'
    if marked.box:
        goes_on = f"</aside>\n{marked.box}\n{goes_on}"
    return f"{html[:item]}</ul>\n{goes_on}{html[item:]}"
