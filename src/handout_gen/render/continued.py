"""A checklist that goes on over a page break goes on under its heading, repeated.

A patient ticks a packet's checklist page by page: three boxes atop a page, under no heading,
read as a list of their own. CSS cannot repeat a heading where a list breaks, so a list the
template marks ``data-continued="Getting ready: your checklist (continued)"`` is laid out,
and where a page starts inside it, the list is split there in the HTML and its second part
opens with that heading, starting the page. It is a real heading: a screen reader, too,
hears where the list goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from handout_gen.render.pagefill import flow

ATTR = "data-continued"
_MARKED_LIST = re.compile(r"<ul\b[^>]*\bdata-continued=\"([^\"]*)\"[^>]*>")
_ITEM = re.compile(r"<li\b")
ROUNDS = 3  # each split can move the rest of the list; a packet's list spans two or three pages


def with_continued_headings(html: str, lay_out: Callable[[str], Any]) -> Any:
    """``lay_out(html)`` (a WeasyPrint document), with every marked list that goes on over a
    page break going on under its heading."""
    document = lay_out(html)
    if ATTR not in html:
        return document
    for _ in range(ROUNDS):
        at = _continuing(document)
        if at is None:
            break
        html = _split(html, *at)
        document = lay_out(html)
    return document


def _continuing(document: Any) -> tuple[int, int] | None:
    """(which marked list, counted in document order; which of its items) starts the first
    page that starts inside a marked list, past its first item."""
    for page in document.pages[1:]:
        item = _first_item(flow(page))
        if item is None:
            continue
        root = flow(page).element
        marked = [e for e in root.iter() if _tag(e) == "ul" and e.get(ATTR)]
        for number, ul in enumerate(marked):
            items = [c for c in ul if _tag(c) == "li"]
            if item in items and items.index(item) > 0:
                return number, items.index(item)
    return None


def _first_item(box: Any) -> Any:
    """The list item element the first content of a laid-out page belongs to (None: the
    page starts with something else)."""
    from weasyprint.formatting_structure import boxes

    while True:
        children = [c for c in getattr(box, "children", []) if isinstance(c, boxes.BlockLevelBox)
                    and not c.is_absolutely_positioned()]
        if not children:
            return None
        box = children[0]
        if box.element_tag == "li":
            return box.element


def _split(html: str, number: int, item: int) -> str:
    """``html`` with marked list ``number`` split before its item ``item``, the second part
    opening with the list's continued heading (it starts a page: packet.css.j2)."""
    opening = list(_MARKED_LIST.finditer(html))[number]
    items = list(_ITEM.finditer(html, opening.end()))
    at = items[item].start()
    heading = f'</ul>\n<h2 class="continued">{opening[1]}</h2>\n{opening[0]}'
    return html[:at] + heading + html[at:]


def _tag(element: Any) -> str:
    return str(element.tag).rpartition("}")[2]
