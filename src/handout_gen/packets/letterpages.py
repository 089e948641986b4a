"""Letter pages: how a letter's blocks, laid out and cut to their bands, are stacked on pages.

A block that does not fit below the previous one starts a new page; a block broken over pages
goes on from a page's top. A block marked keep-with-previous stays on the page of the block
before it (a heading never ends a page without what it introduces), part-of-previous never
leaves it; such a chain moves whole to a new page unless that would leave the page before it
nearly empty or the chain is taller than a page (it breaks wherever it starts), and one that
goes on over a page break does so under its repeated ("continued") heading. No letter page
but the packet's last holds only a line or two, the page a letter ends on does not hold only
its dated list's last line, and the sign-off never stands alone. Pure arithmetic on heights:
letters.py draws the pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from handout_gen.packets.blocktags import Marked
from handout_gen.render.pagefill import MIN_FILL, TARGET_FILL

KEEP, PART, CONTINUED = "keep-with-previous", "part-of-previous", "continued"
Placed = list[tuple["Piece", int]]  # a page: each piece with the index of its block


@dataclass(frozen=True)
class Piece:
    """One page's worth of a laid-out block: its tagged content, cut to the block's band."""

    marked: Marked  # content, resources, structure and links (blocktags.py)
    top: float  # CSS px from the top of its layout page
    height: float  # CSS px
    page_height: float  # pt: its layout page's (a letter's content is drawn from the page top)

    def copied_to(self, pdf: Any) -> Piece:
        return replace(self, marked=self.marked.copied_to(pdf))


@dataclass(frozen=True)
class Stationery:
    """The page letters are drawn on (header, footer) and where its body area is."""

    form: Any
    width: float  # pt
    height: float  # pt
    top: float  # CSS px from the page top
    bottom: float


def paginate(
    page: Stationery, blocks: list[list[Piece]], glue: list[str], letter_blocks: int
) -> list[Placed]:
    """The pieces of each page of a letter, in order, with their blocks' indexes (in the flow:
    "continued" headings are no blocks of it); the blocks after the first ``letter_blocks``
    are the letter's tail (the prep checklist)."""
    flow, glue, repeats = _repeated_headings(blocks, glue)
    letter_blocks -= len(blocks) - len(flow)
    pages = _signed(_paginate(page, flow, glue, repeats), glue, page, letter_blocks)
    return _balanced(_chain_end_filled(pages, page, glue, letter_blocks), page, glue, letter_blocks)


def _signed(pages: list[Placed], glue: list[str], page: Stationery, letter_blocks: int) -> list[Placed]:
    """The letter's last block (its sign-off, kept with the block before it) alone on a page,
    because that block fills a page of its own and cannot come along: it closes the page
    before that one instead, when it fits there. The letter then ends a page early, and the
    block that filled its page (the blood-thinner box) follows it, whole under its heading."""
    last, room = letter_blocks - 1, page.bottom - page.top
    for n in range(2, len(pages)):
        alone, filled, before = pages[n], pages[n - 1], pages[n - 2]
        sign_off_alone = len(alone) == 1 and alone[0][1] == last and glue[last] == KEEP
        box_alone = len(filled) == 1 and filled[0][1] == last - 1
        if sign_off_alone and box_alone and sum(p.height for p, _ in before) + alone[0][0].height <= room:
            return [*pages[: n - 2], [*before, alone[0]], filled, *pages[n + 1 :]]
    return pages


def _kept_height(
    blocks: list[list[Piece]], glue: list[str], index: int, room: float = math.inf,
    kinds: tuple[str, ...] = (KEEP, PART),
) -> float:
    """Height of block ``index`` and the blocks held to it after it (``kinds``: the chain,
    or only what is part of it), which must share its page.

    When the whole chain is taller than a page (``room``), as much of it as one page holds:
    a heading still goes with its first lines. 0 for a block WeasyPrint broke over pages.
    """
    if len(blocks[index]) > 1:
        return 0.0
    height = blocks[index][0].height
    for pieces, glued in zip(blocks[index + 1 :], glue[index + 1 :], strict=True):
        if glued not in kinds or len(pieces) > 1 or height + pieces[0].height > room:
            break
        height += pieces[0].height
    return height


def _repeated_headings(
    blocks: list[list[Piece]], glue: list[str]
) -> tuple[list[list[Piece]], list[str], dict[int, Piece]]:
    """The flow without its "continued" blocks, and each of them by the index (in the flow)
    of the block it repeats: the head of the chain that may go on over a page break."""
    flow: list[list[Piece]] = []
    flow_glue: list[str] = []
    repeats: dict[int, Piece] = {}
    for pieces, glued in zip(blocks, glue, strict=True):
        if glued != CONTINUED:
            flow.append(pieces)
            flow_glue.append(glued)
        elif flow and len(pieces) == 1:
            repeats[len(flow) - 1] = pieces[0]
    return flow, flow_glue, repeats


def _paginate(
    page: Stationery, blocks: list[list[Piece]], glue: list[str], repeats: dict[int, Piece]
) -> list[list[tuple[Piece, int]]]:
    """The pieces of each page, in order, with the index of the block each belongs to (a
    repeated heading has its chain head's)."""
    pages: list[list[tuple[Piece, int]]] = []
    cursor, room = page.top, page.bottom - page.top
    for index, pieces in enumerate(blocks):
        whole = _kept_height(blocks, glue, index, kinds=(PART,))  # it and what is part of it
        need = max(whole, 0.0 if glue[index] else _kept_height(blocks, glue, index, room))
        breaks = not glue[index] and _kept_height(blocks, glue, index) > room  # over a page break anyway
        if need and cursor + need > page.bottom and (breaks or cursor - page.top < TARGET_FILL * room):
            # Moved whole, the chain would leave this page nearly empty, or it goes on over a page
            # break wherever it starts: it starts here instead, its first block (a heading) with
            # the block after it, and goes on under its repeated heading.
            after = index + 1 < len(blocks) and glue[index + 1] == KEEP
            need = whole + (_kept_height(blocks, glue, index + 1, kinds=(PART,)) if after else 0.0)
        for piece in pieces:
            # A block broken over pages goes on from a page's top; its first piece may share one.
            full = piece is not pieces[0] or cursor + max(piece.height, need) > page.bottom
            if not pages or (full and cursor > page.top):
                carried = _carried(pages, blocks, glue, index)
                head = first = carried[0][1] if carried else index
                while head > 0 and glue[head]:  # back to the head of the chain the page goes on with
                    head -= 1
                heading = repeats.get(head) if head < first else None
                below = sum(p.height for p, _ in carried) + max(piece.height, need)
                if heading and heading.height + below <= room:
                    carried.insert(0, (heading, head))  # the chain goes on under its heading
                pages.append(carried)
                cursor = page.top + sum(p.height for p, _ in pages[-1])
            pages[-1].append((piece, index))
            cursor += piece.height
    return pages


def _carried(
    pages: list[list[tuple[Piece, int]]], blocks: list[list[Piece]], glue: list[str], index: int
) -> list[tuple[Piece, int]]:
    """What comes along to a new page that block ``index`` starts: a chain too tall for a page
    breaks, but its last block (the sign-off, the last "when" line with its instruction) never
    starts a page alone; the block before it, with what is part of it, comes along (unless
    that would leave its page empty, holding only a repeated heading, or ending with the
    chain's own heading)."""
    after = index + 1
    while after < len(blocks) and glue[after] == PART:
        after += 1
    if not pages or not glue[index] or len(blocks[index]) > 1 or (after < len(blocks) and glue[after]):
        return []
    start = index - 1
    while start > 0 and glue[start] == PART:
        start -= 1
    unit = [placed for placed in pages[-1] if placed[1] >= start]
    whole = len(unit) == index - start and all(len(blocks[i]) == 1 for i in range(start, index))
    rest = pages[-1][: len(pages[-1]) - len(unit)]
    head = start
    while head > 0 and glue[head]:
        head -= 1  # a repeated heading has this index, below the page before's last block
    repeated_only = len(rest) == 1 and len(pages) > 1 and rest[0][1] < pages[-2][-1][1]
    if not whole or not rest or repeated_only or rest[-1][1] == head:  # never a heading left alone
        return []
    del pages[-1][-len(unit):]
    return unit


def _chain_end_filled(
    pages: list[Placed], page: Stationery, glue: list[str], letter_blocks: int
) -> list[Placed]:
    """The page the letter ends on, when it goes on with a chain under the chain's repeated
    heading and is nearly empty (the dated list's last line and the sign-off): the chain's last
    lines on the page before move onto it, the fewest that fill it to :data:`TARGET_FILL`,
    whole "when" lines only, never leaving that page nearly empty or ending with the heading."""
    room = page.bottom - page.top
    at = next((n for n, placed in enumerate(pages) if any(i == letter_blocks - 1 for _, i in placed)), 0)
    if at == 0 or sum(p.height for p, _ in pages[at]) >= TARGET_FILL * room:
        return pages
    before, last = pages[at - 1], pages[at]
    head = last[0][1]
    if head >= before[-1][1]:
        return pages  # the page does not go on with a chain
    last_height = sum(p.height for p, _ in last)
    for cut in range(len(before) - 1, 0, -1):
        index = before[cut][1]
        if not glue[index]:
            return pages  # the chain starts here: nothing before it is its
        if glue[index] != KEEP or before[cut - 1][1] in (index, head):
            continue  # an instruction, a broken block, or the first line under the heading
        moved = sum(p.height for p, _ in before[cut:])
        if moved + last_height > room or sum(p.height for p, _ in before[:cut]) < MIN_FILL * room:
            return pages
        if moved + last_height >= TARGET_FILL * room:
            return [*pages[: at - 1], before[:cut], [last[0], *before[cut:], *last[1:]], *pages[at + 1 :]]
    return pages


def _balanced(
    pages: list[list[tuple[Piece, int]]], page: Stationery, glue: list[str], letter_blocks: int
) -> list[list[tuple[Piece, int]]]:
    """Move the last blocks of the page before a nearly empty last page onto it (the fewest
    that fill it to :data:`TARGET_FILL`, never splitting glued blocks or leaving the page
    before nearly empty), so no letter page but the packet's last holds only a line or two.
    Block heights count their margins, so the target is above the fifth a page must hold.

    A last page that starts with the tail (a section with its own heading, "What to bring")
    is left as it is: filling it would part the letter's sign-off and phone number from the
    appointment they close."""
    room = page.bottom - page.top
    if len(pages) < 2 or sum(p.height for p, _ in pages[-1]) >= TARGET_FILL * room:
        return pages
    if pages[-1][0][1] >= letter_blocks or pages[-1][0][1] < pages[-2][-1][1]:
        return pages  # the tail, or a chain going on under its repeated heading
    before, last = pages[-2], pages[-1]
    last_height = sum(p.height for p, _ in last)
    for cut in range(len(before) - 1, 0, -1):
        index = before[cut][1]
        if glue[index] or before[cut - 1][1] == index:
            continue  # inside a glued chain or a broken block: not a place to break
        moved = sum(p.height for p, _ in before[cut:])
        kept = sum(p.height for p, _ in before[:cut])
        if moved + last_height > room or kept < MIN_FILL * room:
            return pages
        if moved + last_height >= TARGET_FILL * room:
            return [*pages[:-2], before[:cut], before[cut:] + last]
    return pages


