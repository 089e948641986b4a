"""No nearly empty last pages: a document (a handout, a packet part) whose last page would hold
a line or two, or only the language-help notice, moves a little more onto it.

CSS keeps headings and labels with what they introduce and short things whole, but it cannot
say "the last page holds at least a fifth of a page": two list items left over from a checklist
would still sit alone on a page in the middle of a packet. So a static part is laid out, its
last page measured, and when it is less than :data:`TARGET_FILL` full (as a letter's last
page is balanced: "On the day", four boxes alone at a fifth of a page, reads as a page
wasted too), laid out again with a page break before the latest block of the page before
it that moves enough (and is a good place to
break: not inside a box or a list item, not right after a heading or a label). The start of a
section wins over a place inside one: the moved items keep their heading. A page before the
last that is as short (a QR code alone: what follows it is kept whole and does not fit under
it) is filled the same way, once. Packet parts are cached and handouts built only when their
inputs change, so this costs a layout or two once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

MIN_FILL = 0.2  # of the page's body height: less than this is a wasted page
TARGET_FILL = 0.3  # what a moved break aims for, so a later small change does not undo it
ROUNDS = 3
_CONTAINERS = {"html", "body", "main", "section", "article"}
_SECTIONS = {"section", "article"}  # a break before one moves its heading with its content
ONE_OFF = "/* one-off */"  # opens a sheet made for one layout (moved breaks): the renderer keeps none
NOTICE_CLASS = "language-help"  # the notice of free language help (language_help.html.j2)


def band(page: Any) -> tuple[float, float]:
    """The top of a laid-out WeasyPrint page's body and the bottom of its content (CSS px).

    A box that goes on over the page break reaches down to the body's bottom however little
    it holds on this page (CSS fragmentation); its content is what counts, so the letter
    press can stack the page's text under the end of a letter."""
    top, height = _body(page)
    return top, max((b for b in _content_bottoms(flow(page), top + height)), default=top)


def _content_bottoms(root: Any, page_bottom: float) -> Iterator[float]:
    from weasyprint.formatting_structure import boxes

    for child in getattr(root, "children", []):
        if isinstance(child, boxes.LineBox):
            yield child.position_y + child.height
        elif isinstance(child, boxes.BlockLevelBox):
            bottom = child.border_box_y() + child.border_height()
            split = bottom >= page_bottom - 0.5 and not (child.border_bottom_width or child.padding_bottom)
            if split and getattr(child, "children", None):
                yield from _content_bottoms(child, page_bottom)  # split here: what it holds
            else:
                yield bottom


def fill(page: Any) -> float:
    """How much of a laid-out WeasyPrint page's body its content covers (0 to 1)."""
    top, bottom = band(page)
    return max(0.0, (bottom - top) / _body(page)[1])


def balanced(html: str, lay_out: Callable[[str], Any]) -> Any:
    """``lay_out(html)`` (a WeasyPrint document), with breaks moved until the last page is
    at least :data:`TARGET_FILL` full, as a letter's is, and holds more than the language-help
    notice (or no break could do it); then, once, the same for a page before it that holds
    less (a box alone between two full pages, the rest kept whole on the next). A moved break
    is kept only if that page gains by it with no page more and the last page still passes:
    what it moves may land on a page of its own when the page starts a section that always
    does."""
    document = lay_out(html)
    rules: list[str] = []
    middle_done = False
    for _ in range(ROUNDS):
        pages = document.pages
        at = _short_page(pages, last_only=middle_done)
        if at is None:
            break
        alone = notice_only(pages[at])
        # the notice alone: the least that can join it will do (the latest good place)
        selector = _break_point(pages[at - 1], TARGET_FILL if alone else fill(pages[at]))
        if selector is None:
            break
        rules.append(f"{selector} {{ break-before: page !important; }}")
        moved = lay_out(html.replace("</head>", f"<style>{ONE_OFF}{' '.join(rules)}</style></head>", 1))
        page, middle = moved.pages[at], at < len(pages) - 1
        better = not notice_only(page) if alone else fill(page) > fill(pages[at])
        if middle:  # and the last page, which passed, still does
            better = better and _short_page(moved.pages, last_only=True) is None
        if len(moved.pages) != len(pages) or not better:
            break
        document, middle_done = moved, middle_done or middle
    return document


def _short_page(pages: Any, *, last_only: bool) -> int | None:
    """The page to fill: the last when it is short or holds only the notice, else (unless
    ``last_only``) the first page after the first that is short; None when none is."""
    if len(pages) < 2:
        return None
    if fill(pages[-1]) < TARGET_FILL or notice_only(pages[-1]):
        return len(pages) - 1
    if last_only:
        return None
    return next((n for n in range(1, len(pages) - 1) if fill(pages[n]) < TARGET_FILL), None)


def notice_only(page: Any) -> bool:
    """Whether a page holds only the language-help notice: a page of it alone reads as a page
    left over, however much of it the notice's lines take."""
    from weasyprint.formatting_structure import boxes

    leaves: list[bool] = []

    def walk(box: Any, within: bool) -> None:
        for child in getattr(box, "children", []):
            element = getattr(child, "element", None)
            mine = within or (element is not None and NOTICE_CLASS in str(element.get("class", "")).split())
            if isinstance(child, boxes.LineBox) or not getattr(child, "children", None):
                leaves.append(mine)
            else:
                walk(child, mine)

    walk(flow(page), False)
    return bool(leaves) and all(leaves)


def _body(page: Any) -> tuple[float, float]:
    box = page._page_box  # noqa: SLF001 - the laid-out boxes; WeasyPrint is pinned
    return box.content_box_y(), box.height


def flow(page: Any) -> Any:
    """The laid-out page's box of the document's root element (what the page holds of it)."""
    box = page._page_box  # noqa: SLF001
    return next(child for child in box.children if child.element_tag == "html")


def _blocks(root: Any) -> Iterator[tuple[Any, float, Any]]:
    """(box, bottom of its border box, the outermost unbreakable box around it) for every
    block or line of the flow, in document order."""
    from weasyprint.formatting_structure import boxes

    def walk(box: Any, keep: Any) -> Iterator[tuple[Any, float, Any]]:
        for child in getattr(box, "children", []):
            if isinstance(child, boxes.LineBox):
                yield child, child.position_y + child.height, keep
            elif isinstance(child, boxes.BlockLevelBox) and child.element is not None:
                whole = keep or (child if child.style["break_inside"] in ("avoid", "avoid-page") else None)
                yield child, child.border_box_y() + child.border_height(), whole
                yield from walk(child, whole)

    yield from walk(root, None)


def _break_point(page: Any, last_fill: float) -> str | None:
    """A selector for the block to break before on ``page`` (the last page's predecessor)."""
    from weasyprint.formatting_structure import boxes

    top, height = _body(page)
    root = flow(page)
    bottom = max((b for _, b, _ in _blocks(root)), default=top)
    parents = {child: parent for parent in root.element.iter() for child in parent}
    placed: dict[Any, Any] = {}  # element → its box on this page
    best: dict[bool, Any] = {}  # at a section's start or not → the element to break before
    for box, _, keep in _blocks(root):
        if isinstance(box, boxes.LineBox) or keep not in (None, box) or box.element in placed:
            continue  # a line, or inside something that does not break: that was the candidate
        placed[box.element] = box
        element, style = box.element, box.style
        siblings = [c for c in parents.get(element, ()) if isinstance(c.tag, str)]
        if siblings and siblings[0] is element and tag_name(parents[element]) in _SECTIONS:
            # a section's heading: break before the section, its heading and list stay together
            element = parents[element]
            siblings = [c for c in parents.get(element, ()) if isinstance(c.tag, str)]
            style = placed[element].style if element in placed else style
        index = siblings.index(element) if element in siblings else 0
        before = placed.get(siblings[index - 1]) if index > 0 else None
        if before is None or box.element_tag in _CONTAINERS:
            continue  # a first child breaks with its parent; nothing before it on this page
        glued = any(str(v).startswith("avoid") for v in (before.style["break_after"], style["break_before"]))
        start = box.position_y
        if (
            not glued
            and start - top >= MIN_FILL * height
            and (bottom - start) / height + last_fill >= TARGET_FILL
        ):
            best[element is not box.element] = element  # the latest good place wins: the least moved
    # A whole section moved reads better than its last items alone under no heading.
    chosen = best.get(True, best.get(False))
    return None if chosen is None else _selector(parents, root.element, chosen)


def _selector(parents: dict[Any, Any], root: Any, element: Any) -> str:
    """A CSS selector for exactly ``element``: its path of :nth-child() steps from the root."""
    steps = []
    while element is not root:
        parent = parents[element]
        siblings = [c for c in parent if isinstance(c.tag, str)]
        steps.append(f"{tag_name(element)}:nth-child({siblings.index(element) + 1})")
        element = parent
    return " > ".join(["html", *reversed(steps)])


def tag_name(element: Any) -> str:
    """An element's tag without its namespace ("li")."""
    return str(element.tag).rpartition("}")[2]
