"""Cover letters composed from blocks: the personal pages of packets, laid out fast.

WeasyPrint spends about half a millisecond on every line it lays out, so laying out each
patient's whole letter (30-40 ms) would be most of the cost of a packet. Yet most of a letter
is the same for many patients: the heading, the date and time of a day's appointments, the
location, the physician. So the letter template marks blocks (``<!--block-->``), each
*distinct* block is laid out once, on a page of its own in one WeasyPrint document per
chunk of patients, and pikepdf composes every letter by stacking its blocks, as Form
XObjects, on a page that holds only the header and footer. Per patient, only the blocks
with patient data in them (the greeting, the blood-thinner box) are laid out, many to a
page, and each is then drawn on a PDF page of its own (see :meth:`LetterPress._lay_out`).

Stacking follows the page: a block that does not fit below the previous one starts a new
page; a block taller than a page was already broken by WeasyPrint, and each of its pieces
gets a page. Blocks stay in memory (never on disk) while their chunk document is one of
the last few; then those that more than one letter used are kept for the rest of the run and
the others, like a greeting, are dropped with the document.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from .errors import RenderError
from .packets import Kit, cover_context, patient_context, prepare_part
from .pdf import weasyprint_warnings
from .roster import PatientRow
from .templates import render

BLOCK_MARK = "<!--block-->"  # autoescaped patient data can never contain it
RECENT = 3  # chunk documents kept open, so a block is reused by the next chunks too
KEEP_LIMIT = 4000  # blocks kept per process before the store starts afresh (memory stays flat)
PX = 0.75  # PDF points per CSS pixel


@dataclass(frozen=True)
class Piece:
    """One page's worth of a laid-out block: a Form XObject cut to the block's band."""

    form: Any  # pikepdf.Object, a Form XObject
    top: float  # CSS px from the top of its layout page
    height: float  # CSS px
    links: tuple[tuple[tuple[float, float, float, float], str], ...]  # (rect in pt, URI)


@dataclass(frozen=True)
class Page:
    """The page letters are drawn on (header, footer) and where its body area is."""

    form: Any
    width: float  # pt
    height: float  # pt
    top: float  # CSS px from the page top
    bottom: float


def split_blocks(html: str) -> list[str]:
    """A rendered letter → its blocks (empty ones dropped)."""
    return [block.strip() for block in html.split(BLOCK_MARK) if block.strip()]


class LetterPress:
    """Per-process letter composer: lays out unseen blocks, keeps shared ones, stacks pages."""

    def __init__(
        self, kit: Kit, env: Any, renderer: Any, pages: Callable[[str, bool], tuple[Any, dict[str, Any]]]
    ) -> None:
        self.kit = kit
        self.env = env
        self.renderer = renderer  # PdfRenderer
        self.pages = pages  # (lang, large) → the page part: (pikepdf.Pdf, anchors)
        self._qr: dict[str, str] = {}
        self._contexts: dict[tuple[str, bool], dict[str, Any]] = {}
        self.laid_out = 0  # blocks laid out so far (tests and benchmarks show the reuse)
        self._start_store()

    def _start_store(self) -> None:
        import pikepdf

        self._store = pikepdf.new()  # promoted blocks and the pages live here
        self._pages: dict[tuple[str, bool], Page] = {}
        self._blocks: dict[str, list[Piece]] = {}  # key → pieces, in the store or a recent chunk
        self._recent: deque[tuple[Any, list[str]]] = deque()  # (chunk Pdf, its block keys)
        self._uses: Counter[str] = Counter()  # letters that used each block of a recent chunk
        self._promoted = 0

    def letters(self, rows: list[tuple[PatientRow, str]]) -> tuple[Any, list[int], list[str]]:
        """Compose the letters of ``rows``: (patient, language of the packet's words).

        Returns a pikepdf.Pdf with every letter, the index of each letter's first page in it,
        and WeasyPrint's warnings (the caller must not print them: they may quote a name).
        """
        import pikepdf

        template = self.kit.recipe.template
        letters = []
        for row, lang in rows:
            variant = (lang, row.large_print)
            p = patient_context(self.kit, row, self._qr)
            html = render(self.env, template, **self._context(*variant), mode="letter", p=p)
            letters.append((variant, [(_key(variant, b), variant, b) for b in split_blocks(html)]))
        warnings: list[str] = []
        new = {key: (variant, html) for _, blocks in letters for key, variant, html in blocks}
        self._lay_out({key: item for key, item in new.items() if key not in self._blocks}, warnings)
        out = pikepdf.new()
        starts = []
        for variant, blocks in letters:
            starts.append(len(out.pages))
            _compose(out, self._page(variant), [self._blocks[key] for key, _, _ in blocks])
            self._uses.update({key for key, _, _ in blocks})
        while len(self._recent) > RECENT:
            self._retire()
        return out, starts, warnings

    def _context(self, lang: str, large: bool) -> dict[str, Any]:
        if (lang, large) not in self._contexts:
            self._contexts[(lang, large)] = cover_context(self.kit, lang, large)
        return self._contexts[(lang, large)]

    def _page(self, variant: tuple[str, bool]) -> Page:
        """The header-and-footer page of one language and print size (a cached static part)."""
        if variant not in self._pages:
            pdf, anchors = self.pages(*variant)
            source = pdf.pages[0]
            width, height = float(source.mediabox[2]), float(source.mediabox[3])
            form = self._store.copy_foreign(source.as_form_xobject())
            self._pages[variant] = Page(form, width, height, anchors["body-top"], anchors["body-bottom"])
        return self._pages[variant]

    def _lay_out(self, blocks: dict[str, tuple[tuple[str, bool], str]], warnings: list[str]) -> None:
        """Lay out ``blocks`` (key → (variant, HTML)) together, then draw each on a page of its own.

        Blocks are laid out one after another, as many to a page as fit, which spares the
        cost WeasyPrint has for every page (about 3 ms even for one line). Each block is
        then drawn alone: a copy of its layout page that keeps only that block's boxes, so
        its PDF page holds its text and nothing else, never another patient's.
        """
        import pikepdf

        if not blocks:
            return
        ids = {f"hg-block-{i}": key for i, key in enumerate(blocks)}
        items = [
            (name, *blocks[key][0], Markup(blocks[key][1]))  # noqa: S704 - rendered with autoescape
            for name, key in ids.items()
        ]
        context = self._context(*next(iter(blocks.values()))[0])
        html = render(self.env, self.kit.recipe.template, **context, mode="blocks", blocks=items)
        with weasyprint_warnings() as found:
            document = self.renderer.document(html, self.kit.project.content_dir, tagged=False)
            bands = [
                (ids[name], top, bottom, _only(page, name))
                for page in document.pages
                for name, (_, top, _, bottom) in page.anchors.items()
                if name in ids
            ]
            alone = document.copy([page for *_, page in bands])
            pdf = pikepdf.open(io.BytesIO(self.renderer.write(alone, tagged=False)))
        prepare_part(pdf)
        self.laid_out += len(blocks)
        warnings += found
        pieces: dict[str, list[Piece]] = {key: [] for key in blocks}
        for (key, top, bottom, _), page in zip(bands, pdf.pages, strict=True):
            width, height = float(page.mediabox[2]), float(page.mediabox[3])
            # Cut the page to the block's band (pt, from the bottom), where it was laid out.
            low, high = height - bottom * PX, height - top * PX
            form = page.as_form_xobject()
            form.BBox = pikepdf.Array([0, low, width, high])
            links = tuple((rect, uri) for rect, uri in _uri_links(page) if rect[1] < high and rect[3] > low)
            pieces[key].append(Piece(form, top, bottom - top, links))
        self._blocks.update(pieces)
        self._recent.append((pdf, list(pieces)))

    def _retire(self) -> None:
        """Drop the oldest chunk document, keeping (copying) the blocks more than one letter used."""
        _, keys = self._recent.popleft()
        for key in keys:
            if self._uses.pop(key, 0) > 1:
                pieces = self._blocks[key]
                self._blocks[key] = [
                    Piece(self._store.copy_foreign(p.form), p.top, p.height, p.links) for p in pieces
                ]
                self._promoted += 1
            else:
                del self._blocks[key]  # a patient's own block (or a rare one): gone with its chunk
        if self._promoted > KEEP_LIMIT:
            self._start_store()


def _key(variant: tuple[str, bool], block: str) -> str:
    lang, large = variant
    return hashlib.sha256(f"{lang}\0{large}\0{block}".encode()).hexdigest()


def _only(page: Any, name: str) -> Any:
    """A copy of a laid-out WeasyPrint page that keeps only the block with id ``name``.

    Uses WeasyPrint's box tree (page → html → body → blocks, see packet_cover.html.j2):
    the copy keeps the page, root and body boxes and drops every other block.
    """
    from weasyprint.document import Page as LaidOutPage

    root = page._page_box  # noqa: SLF001 - the laid-out boxes; WeasyPrint is pinned
    html = next(box for box in root.children if box.element_tag == "html")
    body = next(box for box in html.children if box.element_tag == "body")
    block = [box for box in body.children if box.style["anchor"] == name]
    if len(block) != 1:
        msg = f"letter block {name} is not a child of <body> (see packet_cover.html.j2)"
        raise RenderError(msg)
    return LaidOutPage(root.copy_with_children([html.copy_with_children([body.copy_with_children(block)])]))


def _uri_links(page: Any) -> list[tuple[tuple[float, float, float, float], str]]:
    """The web links of a laid-out page (links to other pages are never carried over)."""
    found = []
    for annot in page.obj.get("/Annots", []):
        action = annot.get("/A")
        if action is not None and action.get("/S") == "/URI":
            x1, y1, x2, y2 = (float(v) for v in annot.Rect)  # any two opposite corners
            found.append(((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), str(action.URI)))
    return found


def _compose(out: Any, page: Page, blocks: list[list[Piece]]) -> None:
    """Stack ``blocks`` on copies of ``page`` in ``out``, starting a new page when one is full.

    A block WeasyPrint broke over pages (more than one piece) was laid out from the top of
    a page, so each of its pieces starts a page here too.
    """
    sheet: _Sheet | None = None
    cursor = page.top
    for pieces in blocks:
        for piece in pieces:
            full = len(pieces) > 1 or cursor + piece.height > page.bottom
            if sheet is None or (full and cursor > page.top):
                if sheet is not None:
                    sheet.finish()
                sheet, cursor = _Sheet(out, page), page.top
            sheet.place(piece, (piece.top - cursor) * PX)
            cursor += piece.height
    if sheet is not None:
        sheet.finish()


class _Sheet:
    """One composed page: the furniture form, then each placed block form, then links."""

    def __init__(self, out: Any, page: Page) -> None:
        self.out = out
        self.page = page
        self.ops = [b"q /Pg Do Q\n"]
        self.xobjects: dict[str, Any] = {"/Pg": out.copy_foreign(page.form)}
        self.annots: list[Any] = []

    def place(self, piece: Piece, shift: float) -> None:
        import pikepdf

        name = f"/B{len(self.xobjects)}"
        self.xobjects[name] = self.out.copy_foreign(piece.form)
        self.ops.append(f"q 1 0 0 1 0 {shift:.3f} cm {name} Do Q\n".encode())
        for (x1, y1, x2, y2), uri in piece.links:
            self.annots.append(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.Link,
                    Rect=pikepdf.Array([x1, y1 + shift, x2, y2 + shift]),
                    BS=pikepdf.Dictionary(W=0),
                    A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri)),
                )
            )

    def finish(self) -> None:
        import pikepdf

        page = self.out.add_blank_page(page_size=(self.page.width, self.page.height))
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(self.xobjects))
        page.obj.Contents = self.out.make_stream(b"".join(self.ops))
        if self.annots:
            page.obj.Annots = pikepdf.Array([self.out.make_indirect(a) for a in self.annots])
