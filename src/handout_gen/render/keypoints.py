"""Key points whole on page 1: a box that would go on over page 1's end comes first instead.

The key points are what a reader who stops after page 1 must know. A long summary (a
translation runs longer, large print holds fewer lines) pushed the box's last items onto page
2, under "Key points (continued)". The summary then follows the box instead, when that keeps
the whole box on page 1 and costs no page; a box too long for any page 1 goes on as before.
"""

from __future__ import annotations

import re
from typing import Any

from handout_gen.render.pagefill import flow

# The summary paragraph right before the key points box (handout.html.j2; a project's own
# template that writes them otherwise is left as it is).
_SUMMARY_THEN_BOX = re.compile(
    r'(<p class="summary">.*?</p>)(\s*)(<aside class="box key-points">.*?</aside>)', re.S)
_CLASS = "key-points"


def summary_after_key_points(html: str) -> str | None:
    """``html`` with its summary moved after the key points box (None: no such pair)."""
    found = _SUMMARY_THEN_BOX.search(html)
    if found is None:
        return None
    return f"{html[: found.start()]}{found[3]}{found[2]}{found[1]}{html[found.end():]}"


def key_points_go_on(document: Any) -> bool:
    """Whether page 2 of a laid-out document holds a line of the key points box (not only
    the end of its border)."""
    return len(document.pages) > 1 and _holds(flow(document.pages[1]), inside=False)


def _holds(box: Any, inside: bool) -> bool:
    from weasyprint.formatting_structure import boxes

    for child in getattr(box, "children", []):
        if inside and isinstance(child, boxes.LineBox):
            return True
        if not isinstance(child, boxes.BlockLevelBox):
            continue
        element = child.element
        here = inside or (element is not None and _CLASS in (element.get("class") or "").split())
        if _holds(child, here):
            return True
    return False
