"""Cover letters composed from blocks: the personal pages of packets, laid out fast.

WeasyPrint spends about half a millisecond on every line it lays out, so laying out each
patient's whole letter (30-40 ms) would be most of the cost of a packet. Yet most of a letter
is the same for many patients: the heading, the date and time of a day's appointments, the
location, the physician. So the letter template marks blocks (``<!--block-->``), each
*distinct* block is laid out once, on a page of its own in one WeasyPrint document per
chunk of patients, and pikepdf composes every letter by stacking its blocks, with their
tags, on a page that holds only the header and footer (blocktags.py). Per patient, only the blocks
with patient data in them (the greeting, the blood-thinner box) are laid out, many to a
page, and each is then drawn on a PDF page of its own (see :meth:`LetterPress._lay_out`).

Stacking follows the page: a block that does not fit below the previous one starts a new
page; a block taller than a page was already broken by WeasyPrint, and each of its pieces
gets a page. A block marked ``<!--block keep-with-previous-->`` stays on the page of the
block before it (a heading never ends a page without what it introduces); such a chain moves
whole to a new page, unless that would leave the page before it nearly empty. A chain that
goes on over a page break does so under the heading its template marks as ``continued``.

Blocks live in memory only, never on disk. Blocks that two letters use are laid out in
documents of their own and kept for the run; single-use blocks (a greeting) are laid out
together per chunk and dropped a few chunks later. A WeasyPrint document embeds one font
subset for all its text, so a packet carries the glyphs (not the words) of the other names
in its chunk, as any batch layout does; kept documents never hold patients' own blocks, so
those glyphs do not travel to later chunks.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup

from handout_gen.core.errors import RenderError
from handout_gen.packets.assemble import prepare_part
from handout_gen.packets.blocktags import LetterTags, Marked, marked_pages
from handout_gen.packets.contexts import cover_context, patient_context
from handout_gen.packets.kit import Kit
from handout_gen.packets.letterpages import Piece, Stationery, paginate
from handout_gen.packets.patient import PatientRow
from handout_gen.packets.structure import PX, Tree
from handout_gen.render.jinja import render
from handout_gen.render.pdf import weasyprint_warnings

# "<!--block-->" starts a block; "<!--block keep-with-previous-->" one that stays on the page of
# the block before it when the two fit on one; "<!--block part-of-previous-->" one that never
# leaves it (a "when" line's instruction: two blocks, so the instruction, the same for every
# patient, is laid out once); "<!--block continued-->" is no part of the flow: the heading a
# page repeats when the chain after the block before it goes on over a page break.
# Autoescaped patient data can never contain a mark.
BLOCK_MARK_RE = re.compile(r"<!--block(?: (keep-with-previous|part-of-previous|continued))?-->")
RECENT = 3  # chunk documents kept open, so a block is reused by the next chunks too
KEEP_LIMIT = 4000  # blocks kept per process before the store starts afresh (memory stays flat)
TALL_PAGE = 14400.0  # pt (200 in, the most a PDF page may be): blocks are laid out on such pages
Variant = tuple[str, bool]  # language of the packet's words, large print


def split_blocks(html: str) -> list[tuple[str, str]]:
    """A rendered letter → its blocks (empty ones dropped), each with how it holds to the
    block before it: "" (not at all), :data:`KEEP` or :data:`PART`."""
    parts = BLOCK_MARK_RE.split(html)  # text, mark, text, mark, ...: a mark's group is its glue
    found = [(parts[0], "")] + [(parts[i + 1], parts[i] or "") for i in range(1, len(parts) - 1, 2)]
    return [(block.strip(), glued) for block, glued in found if block.strip()]


class LetterPress:
    """Per-process letter composer: lays out unseen blocks, keeps shared ones, stacks pages."""

    def __init__(
        self,
        kit: Kit,
        env: Any,
        renderer: Any,
        stationery: Callable[[str, bool], tuple[Any, dict[str, Any]]],
        today: date,
    ) -> None:
        self.kit = kit
        self.today = today  # the print date: timed instructions are checked against it
        self.env = env
        self.renderer = renderer  # PdfRenderer
        self.stationery = stationery  # (lang, large) → the cached page part: (pikepdf.Pdf, anchors)
        self._qr: dict[str, str] = {}
        self._contexts: dict[Variant, dict[str, Any]] = {}
        self.laid_out = 0  # blocks laid out so far (tests and benchmarks show the reuse)
        self.documents = 0  # WeasyPrint documents they were laid out in (~15 ms each to set up)
        self._start_store()

    def _start_store(self) -> None:
        import pikepdf

        self._store = pikepdf.new()  # shared blocks and the stationery live here
        self._stationery: dict[Variant, Stationery] = {}
        self._blocks: dict[str, list[Piece]] = {}  # key → pieces, in the store or a recent document
        self._stored: set[str] = set()  # keys of the shared blocks in the store
        self._recent: deque[tuple[list[Any], list[str]]] = deque()  # single-use blocks: (Pdfs, keys)
        self._uses: Counter[str] = Counter()  # letters that used each block of a recent document
        self._wanted: set[str] = set()  # single-use blocks used again: shared when next laid out

    def letters(
        self, rows: list[tuple[PatientRow, str]], tails: list[list[Piece]] | None = None
    ) -> tuple[Any, list[int], list[str], list[Tree]]:
        """Compose the letters of ``rows``: (patient, language of the packet's words), each
        followed by its ``tails`` (tagged pages laid out elsewhere, such as the prep
        checklist, that flow on from the letter's last page, their structure with them).

        Returns a pikepdf.Pdf with every letter, the index of each letter's first page in it,
        WeasyPrint's warnings (the caller must not print them: they may quote a name), and
        each letter's structure tree, its tail's included (it reaches that letter's pages only).
        """
        import pikepdf

        template = self.kit.recipe.template
        letters: list[tuple[Variant, list[str], list[str]]] = []
        new: dict[str, tuple[Variant, str]] = {}
        for row, lang in rows:
            variant = (lang, row.large_print)
            p = patient_context(self.kit, row, lang, self.today, self._qr)
            html = render(self.env, template, **self._context(variant), mode="letter", p=p)
            keys, glue = [], []
            for block, glued in split_blocks(html):
                keys.append(_key(variant, block))
                glue.append(glued)
                if keys[-1] not in self._blocks:
                    new[keys[-1]] = (variant, block)
            letters.append((variant, keys, glue))
        # Blocks two letters use (a date, a place) are laid out apart from the single-use ones
        # (greetings): a document's font subset holds the glyphs of all its text, and only
        # documents without patients' own blocks are kept for the rest of the run. Every
        # language and print size shares the two documents (each costs ~15 ms to set up).
        users = Counter(key for _, keys, _ in letters for key in set(keys))
        warnings: list[str] = []
        shared = {k: block for k, block in new.items() if users[k] > 1 or k in self._wanted}
        single = {k: block for k, block in new.items() if k not in shared}
        if shared:
            pieces, _ = self._lay_out(shared, warnings)
            for key, found in pieces.items():
                self._blocks[key] = [p.copied_to(self._store) for p in found]
            self._stored.update(pieces)
            self._wanted.difference_update(pieces)
        if single:
            pieces, pdfs = self._lay_out(single, warnings)
            self._blocks.update(pieces)
            self._recent.append((pdfs, list(pieces)))
        out = pikepdf.new()
        starts, trees = [], []
        copied: dict[int, Any] = {}  # resources copied into ``out``
        for (variant, keys, glue), tail in zip(letters, tails or [[]] * len(letters), strict=True):
            starts.append(len(out.pages))
            tags = LetterTags(out, variant[0], copied)
            blocks = [self._blocks[key] for key in keys] + ([tail] if tail else [])
            _compose(out, self._stationery_for(variant), blocks, glue + [""] * bool(tail), tags, len(keys))
            trees.append(tags.tree())
        self._uses.update(key for key in users if key not in self._stored)
        while len(self._recent) > RECENT:
            self._retire()
        return out, starts, warnings, trees

    def _context(self, variant: Variant) -> dict[str, Any]:
        if variant not in self._contexts:
            self._contexts[variant] = cover_context(self.kit, *variant)
        return self._contexts[variant]

    def _stationery_for(self, variant: Variant) -> Stationery:
        """The header-and-footer page of one language and print size (a cached static part)."""
        if variant not in self._stationery:
            pdf, anchors = self.stationery(*variant)
            source = pdf.pages[0]
            width, height = float(source.mediabox[2]), float(source.mediabox[3])
            form = self._store.copy_foreign(source.as_form_xobject())
            top, bottom = anchors["body-top"], anchors["body-bottom"]
            self._stationery[variant] = Stationery(form, width, height, top, bottom)
        return self._stationery[variant]

    def _lay_out(
        self, blocks: dict[str, tuple[Variant, str]], warnings: list[str]
    ) -> tuple[dict[str, list[Piece]], list[Any]]:
        """Lay out ``blocks`` (key → language and print size, HTML): the pieces of each block
        and the pikepdf.Pdfs they live in (keep them open while the pieces are in use).

        Blocks are laid out on pages as tall as a PDF page may be, which spares most of the
        cost WeasyPrint has for every page (about 3 ms even for one line); a block taller
        than a letter's body is laid out again on letter pages, where WeasyPrint breaks it
        into pieces a page each.
        """
        pieces, pdf = self._lay_out_document(blocks, warnings, tall=True)
        pdfs = [pdf]
        long = {key: block for key, block in blocks.items() if pieces[key][0].height > self._room(block[0])}
        if long:
            again, pdf = self._lay_out_document(long, warnings, tall=False)
            pieces.update(again)
            pdfs.append(pdf)
        return pieces, pdfs

    def _room(self, variant: Variant) -> float:
        """The height of a letter page's body (CSS px)."""
        page = self._stationery_for(variant)
        return page.bottom - page.top

    def _lay_out_document(
        self, blocks: dict[str, tuple[Variant, str]], warnings: list[str], *, tall: bool
    ) -> tuple[dict[str, list[Piece]], Any]:
        """Lay out ``blocks`` in one document (on ``tall`` pages, or the letter's), then draw
        each on a page of its own. A block carries its language and print size itself
        (``lang`` and the print-size class on its element), so one document holds them all.

        Blocks are laid out one after another, as many to a page as fit. Each block is then
        drawn alone: a copy of its layout page that keeps only that block's boxes, and the
        PDF page keeps only the resources its drawing uses.
        """
        import pikepdf

        ids = {f"hg-block-{i}": key for i, key in enumerate(blocks)}
        items = [
            (name, Markup(blocks[key][1]), *blocks[key][0])  # noqa: S704 - autoescaped
            for name, key in ids.items()
        ]
        variant = next(iter(blocks.values()))[0]
        page = (self._stationery_for(variant).width, TALL_PAGE) if tall else None
        context = self._context(variant)
        html = render(self.env, self.kit.recipe.template, **context, mode="blocks", blocks=items, page=page)
        with weasyprint_warnings() as found:
            document = self.renderer.document(html, self.kit.project.content_dir)
            bands = [band for page in document.pages for band in _split(page, ids)]
            alone = document.copy([page for *_, page in bands])
            pdf = pikepdf.open(io.BytesIO(self.renderer.write(alone)))
        prepare_part(pdf)
        self.laid_out += len(blocks)
        self.documents += 1
        warnings += found
        cut = cut_pieces(
            pdf, f"h{self.documents}", [(top, bottom) for _, top, bottom, _ in bands],
            [blocks[ids[name]][1] for name, *_ in bands],
        )
        pieces: dict[str, list[Piece]] = {key: [] for key in blocks}
        for (name, *_), piece in zip(bands, cut, strict=True):
            pieces[ids[name]].append(piece)
        return pieces, pdf

    def _retire(self) -> None:
        """Drop the oldest document of single-use blocks; note the ones that were used again."""
        _, keys = self._recent.popleft()
        for key in keys:
            if self._uses.pop(key, 0) > 1:
                self._wanted.add(key)  # laid out again, with the shared blocks, when next used
            del self._blocks[key]
        if len(self._stored) > KEEP_LIMIT:
            self._start_store()


def cut_pieces(
    pdf: Any, name: str, bands: Sequence[Sequence[float]], blocks: list[str] | None = None
) -> list[Piece]:
    """The pages of a tagged layout (blocks, or a part laid out elsewhere such as the prep
    checklist), each cut to its band (CSS px from the top) with its content and structure,
    to be stacked on letter pages. ``name`` names the layout's resources apart from the
    others' on a letter page; ``blocks`` is each page's block HTML (its role and link
    descriptions), none for a part."""
    # Each page is cut to its band (pt, from the bottom), where it was laid out.
    cuts = [(float(p.mediabox[3]) - bottom * PX, float(p.mediabox[3]) - top * PX)
            for p, (top, bottom) in zip(pdf.pages, bands, strict=True)]
    marked = marked_pages(pdf, name, blocks or [""] * len(cuts), cuts)
    return [
        Piece(m, top, bottom - top, float(p.mediabox[3]))
        for m, p, (top, bottom) in zip(marked, pdf.pages, bands, strict=True)
    ]


def _key(variant: Variant, block: str) -> str:
    lang, large = variant
    return hashlib.sha256(f"{lang}\0{large}\0{block}".encode()).hexdigest()


def _split(page: Any, ids: dict[str, str]) -> list[tuple[str, float, float, Any]]:
    """The blocks of one laid-out WeasyPrint page: (id, top, bottom, a copy of the page that
    keeps only that block).

    Uses WeasyPrint's box tree (page → html → body → blocks, see packet_cover.html.j2).
    Anything else in <body> means the letter template left text outside its blocks (an
    unbalanced tag): that is an error, never text silently dropped.
    """
    from weasyprint.document import Page as LaidOutPage

    root = page._page_box  # noqa: SLF001 - the laid-out boxes; WeasyPrint is pinned
    html = next(box for box in root.children if box.element_tag == "html")
    body = next(box for box in html.children if box.element_tag == "body")
    if any(box.style["anchor"] not in ids for box in body.children):
        msg = (
            "the cover letter has content outside its blocks: every element of "
            "packet_letter.html.j2 must be whole between two <!--block--> marks"
        )
        raise RenderError(msg)
    bands = []
    for block in body.children:
        _, top, _, bottom = page.anchors[block.style["anchor"]]
        alone = root.copy_with_children([html.copy_with_children([body.copy_with_children([block])])])
        bands.append((block.style["anchor"], top, bottom, LaidOutPage(alone)))
    return bands


def _compose(
    out: Any, page: Stationery, blocks: list[list[Piece]], glue: list[str], tags: LetterTags,
    letter_blocks: int,
) -> None:
    """Stack ``blocks`` on copies of ``page`` in ``out``, starting a new page when one is full.

    A block broken over pages (more than one piece) goes on from the top of a page: each
    piece after its first starts a page, the first when it does not fit. A block glued to the previous one
    (``glue``) moves to the next page with it when the two do not fit together. The blocks
    after the first ``letter_blocks`` are the letter's tail (the prep checklist).
    """
    for placed in paginate(page, blocks, glue, letter_blocks):
        sheet, cursor = _Sheet(out, page, tags), page.top
        for piece, _ in placed:
            # Content is drawn from its layout page's top: move it from there to the cursor.
            sheet.place(piece, (piece.top - cursor) * PX + page.height - piece.page_height)
            cursor += piece.height
        sheet.finish()


class _Sheet:
    """One composed page: the stationery, then each placed block with its tags and links."""

    def __init__(self, out: Any, page: Stationery, tags: LetterTags) -> None:
        self.out = out
        self.page = page
        self.tags = tags
        self.placed: list[tuple[Marked, float]] = []

    def place(self, piece: Piece, shift: float) -> None:
        self.placed.append((piece.marked, shift))

    def finish(self) -> None:
        page = self.out.add_blank_page(page_size=(self.page.width, self.page.height))
        self.tags.page(page.obj, self.out.copy_foreign(self.page.form), self.placed)
