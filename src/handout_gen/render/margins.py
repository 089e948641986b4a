"""Page headers and footers laid out for the kept layout only, not for every trial.

A handout or packet part is laid out more than once before it is written: the page-fill
rule (:mod:`.pagefill`) and the continued headings (:mod:`.continued`) try moved breaks
and keep one layout of several. The trials read only the body's boxes, but WeasyPrint lays
out the header and footer (running elements in the page margins) on every page of every
trial: about a fifth of each layout. WeasyPrint adds them after the pages are made, from
the layout's own state, and they cannot move a page break; so a trial made
:func:`without_margins` leaves them out, and :func:`add_margin_boxes` adds them to the
layout that is kept: the same boxes, from the same state, in the same order, so the same
bytes. WeasyPrint is pinned; without the expected function every layout has its margins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary


@dataclass(frozen=True)
class _Held:
    """What WeasyPrint's layout passes to ``make_margin_boxes`` for one page."""

    context: Any  # the layout's LayoutContext (running elements, strings, fonts)
    page: Any  # the laid-out PageBox
    state: Any  # the page's counters and quotes after pagination
    number: int  # its page number (``context.current_page``)


_HELD: ContextVar[list[_Held] | None] = ContextVar("handout_gen_held_margins", default=None)
_WAITING: WeakKeyDictionary[Any, list[_Held]] = WeakKeyDictionary()  # document → its held margins
_ORIGINAL: list[Callable[..., Iterator[Any]]] = []  # WeasyPrint's make_margin_boxes, once installed
# WeasyPrint lays out a page's fixed boxes (``position: fixed``, repeated on every page)
# between the margin boxes of the pages before and after it, and a running element inside
# one changes what a later page's header or footer shows: held back, the margins would see
# every page's fixed boxes first. Such a document, or one whose style sheets are not in its
# HTML (a <link>), keeps its margins in every layout.
_UNHELD = re.compile(r"position\s*:\s*fixed|<link\b", re.IGNORECASE)


def install_margin_hold() -> None:
    """Let a layout made :func:`without_margins` hold each page's margin boxes back."""
    from weasyprint import layout

    original = getattr(layout, "make_margin_boxes", None)
    if original is None or _ORIGINAL:
        return
    _ORIGINAL.append(original)

    def make_margin_boxes(context: Any, page: Any, state: Any) -> Iterator[Any]:
        held = _HELD.get()
        if held is None:
            return original(context, page, state)  # type: ignore[no-any-return]
        held.append(_Held(context, page, state, context.current_page))
        return iter(())

    layout.make_margin_boxes = make_margin_boxes


def without_margins(html: str, lay_out: Callable[[], Any]) -> Any:
    """``lay_out()`` (one WeasyPrint document of ``html``), its pages' margin boxes held back
    until :func:`add_margin_boxes` (unless ``html`` may put running elements in fixed boxes)."""
    if not _ORIGINAL or _UNHELD.search(html):
        return lay_out()
    held: list[_Held] = []
    token = _HELD.set(held)
    try:
        document = lay_out()
    finally:
        _HELD.reset(token)
    if held:
        _WAITING[document] = held
    return document


def add_margin_boxes(document: Any) -> None:
    """Give ``document``'s pages the margin boxes its layout held back (if it did), as
    WeasyPrint would have: laid out, their backgrounds placed, their links and anchors on
    the page."""
    held = _WAITING.pop(document, None)
    if held is None:
        return
    from weasyprint.anchors import gather_anchors
    from weasyprint.layout.background import layout_box_backgrounds

    for one, page in zip(held, document.pages, strict=True):
        one.context.current_page = one.number
        boxes = list(_ORIGINAL[0](one.context, one.page, one.state))
        one.page.children = (*one.page.children, *boxes)
        for box in boxes:
            layout_box_backgrounds(one.page, box, one.context.get_image_from_uri)
            gather_anchors(box, page.anchors, page.links, page.bookmarks, page.forms)
