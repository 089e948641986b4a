"""The one WeasyPrint entry point: confined fetching, embedded fonts, reproducible bytes.

``import weasyprint`` costs most of a second, so it happens here, lazily, and only the
commands that render PDFs pay for it.
"""

from __future__ import annotations

import gc
import io
import logging
import re
import sys
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from handout_gen.core.errors import RenderError
from handout_gen.render.bidi import isolate_numbers, keep_numbers_with_words, keep_phone_numbers_with_words
from handout_gen.render.continued import stamped, with_continued_headings
from handout_gen.render.fetcher import make_weasyprint_fetcher
from handout_gen.render.keypoints import key_points_go_on, summary_after_key_points
from handout_gen.render.margins import add_margin_boxes, install_margin_hold, without_margins
from handout_gen.render.pagefill import ONE_OFF, balanced
from handout_gen.render.subsets import shrink_pdf_bytes

log = logging.getLogger("handout_gen")
SUBSET_MEMO = 128  # font subsets remembered per process (each a few to a few hundred KB)
STYLESHEET_MEMO = 64  # parsed style sheets remembered per renderer
# A template's plain <style> block. A document with another sheet (a <link>, a <style> with a
# media or type) or with rules WeasyPrint keeps per document (@counter-style, @color-profile,
# @layer) is left for WeasyPrint to read: parsed sheets cascade as "user" sheets, after every
# author one, and without the document's counter styles.
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_KEPT_AS_AUTHOR = re.compile(r"<link\b|<style\s|@counter-style|@color-profile|@layer", re.IGNORECASE)


def import_weasyprint() -> None:
    """Import WeasyPrint now (before worker processes are forked: they share the imported
    library instead of each paying for it), without compiler searches for its C libraries.

    WeasyPrint opens GObject, Pango, HarfBuzz and fontconfig by trying each one's Windows,
    macOS and Linux names in turn, and cffi hands every name it cannot open as given to
    ``ctypes.util.find_library``. On Linux that reads the linker's cache (``ldconfig -p``),
    then runs gcc and ld to look further: some thirty compiler runs for names that exist only
    elsewhere, a third of the import (a tenth of a second for every command that renders).
    They run only if the import fails without them: a system whose linker cache does not
    list the libraries, which the compiler then finds.
    """
    if "weasyprint" in sys.modules:
        return
    import ctypes.util

    searches = {name: getattr(ctypes.util, name, None) for name in ("_findLib_gcc", "_findLib_ld")}
    if None in searches.values():  # not Linux's ctypes (or a Python that changed it)
        import weasyprint  # noqa: F401
        return
    try:
        for name in searches:
            setattr(ctypes.util, name, lambda _name: None)
        with redirect_stdout(io.StringIO()):  # WeasyPrint prints its install help
            import weasyprint  # noqa: F401
        return
    except OSError:
        for module in [m for m in sys.modules if m.partition(".")[0] == "weasyprint"]:
            del sys.modules[module]
    finally:
        for name, search in searches.items():
            setattr(ctypes.util, name, search)
    import weasyprint  # noqa: F401,F811 - with ctypes' whole search, as WeasyPrint would


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while one document is laid out, written or shrunk.

    A layout builds a tree of hundreds of thousands of linked boxes, all alive until it ends;
    each full collection meanwhile walks every object in the process again (the fonts, the
    parsed style sheets, the imported libraries) and frees nothing. That was about a seventh of
    a handout's render. The collector is on again between layouts, so a page-fill trial's
    garbage is collected as allocation goes on, not held until the whole handout is done. Left
    alone if it is already off (the caller's choice). The switch is process-wide: the preview's
    other threads run without the collector while a page renders (one at a time there).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def _laying_out() -> Iterator[None]:
    """A layout's errors as a RenderError (WeasyPrint raises many types; the message is what
    helps), with the cycle collector paused (:func:`collector_paused`)."""
    try:
        with collector_paused():
            yield
    except Exception as exc:
        msg = f"could not lay out the document: {exc}"
        raise RenderError(msg) from exc


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings() -> Iterator[list[str]]:
    """Collect WeasyPrint's warnings (missing images, refused URLs, bad CSS) for the caller."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _remember_page_references() -> None:
    """Make pydyf's ``PDF.page_references`` remember its answer while no page is added.

    WeasyPrint's tagging asks for it once per structure element, and pydyf builds the tuple
    of every page reference each time: tagging a document of many small pages (the letter
    blocks, one a page) took time in pages × elements. pydyf only ever appends to the page
    list (``add_page``), so its length tells whether the tuple is still right.
    """
    import pydyf  # type: ignore[import-untyped]

    if getattr(pydyf.PDF, "_hg_remembers", False) or not isinstance(
        getattr(pydyf.PDF, "page_references", None), property
    ):
        return

    def page_references(self: Any) -> tuple[bytes, ...]:
        kids = self.pages["Kids"]
        known = self.__dict__.get("_hg_page_references")
        if known is None or known[0] != len(kids):
            known = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
            self.__dict__["_hg_page_references"] = known
        references: tuple[bytes, ...] = known[1]
        return references

    pydyf.PDF.page_references = property(page_references)
    pydyf.PDF._hg_remembers = True


def _share_font_subsets() -> None:
    """Subset each font for a given set of glyphs once per process, not once per document.

    WeasyPrint subsets every embedded font with HarfBuzz for every document it writes. For a
    CJK font that is tens of milliseconds even for a few glyphs (the face has 65,000), and the
    language-help notice puts the same Chinese line in every handout and packet. The subset
    depends only on the face and the glyphs kept, so it is remembered (WeasyPrint is pinned;
    without the expected method nothing is changed).
    """
    from weasyprint.pdf import fonts

    original = getattr(fonts.Font, "subset", None)
    if original is None or getattr(original, "_shared", False):
        return
    memo: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()

    def subset(font: Any, to_unicode: Any, hinting: Any) -> None:
        if not to_unicode:
            return
        key = (font.hash, font.index, font.glyph_count, frozenset(to_unicode), bool(hinting),
               frozenset(font.missing))
        if key in memo:
            memo.move_to_end(key)
            font.file_content = memo[key]
            return
        original(font, to_unicode, hinting)
        memo[key] = font.file_content
        while len(memo) > SUBSET_MEMO:
            memo.popitem(last=False)

    subset._shared = True  # type: ignore[attr-defined]
    fonts.Font.subset = subset


# Characters the Unicode bidi algorithm mirrors in right-to-left text, with their pairs
# (BidiMirroring.txt: the brackets and signs a handout or letter prints).
_MIRRORS = dict(zip("()[]{}<>«»‹›≤≥", ")(][}{><»«›‹≥≤", strict=True))


def _map_mirrored_glyphs() -> None:
    """Let the glyph of a mirrored bracket say the character it draws, in the PDF's text.

    In right-to-left text HarfBuzz draws "(" with the glyph of ")" (bidi mirroring), and
    WeasyPrint maps each glyph of a font to the text it drew first. A document where one font
    draws brackets in Arabic and in English (a batch of letters of both, an English name in
    an Arabic letter) then says "(" for that glyph everywhere: a screen reader, or a copy,
    reads "12:00 PM )noon(". The glyph keeps the character it is the font's own glyph for.
    WeasyPrint is pinned; without the expected attributes nothing is changed.
    """
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, harfbuzz

    original = fonts.Font.__init__
    if getattr(original, "_maps_mirrors", False) or not hasattr(fonts.Font, "subset"):
        return
    ffi.cdef("hb_bool_t hb_font_get_nominal_glyph (hb_font_t *font, hb_codepoint_t unicode, "
             "hb_codepoint_t *glyph);")

    def nominal(hb_font: Any, char: str) -> int | None:
        glyph = ffi.new("hb_codepoint_t *")
        return int(glyph[0]) if harfbuzz.hb_font_get_nominal_glyph(hb_font, ord(char), glyph) else None

    class ToUnicode(dict[int, str]):
        hb_font: Any = None

        def __setitem__(self, glyph: int, text: str) -> None:
            mirror = _MIRRORS.get(text)
            if mirror is not None and nominal(self.hb_font, text) != glyph == nominal(self.hb_font, mirror):
                text = mirror
            super().__setitem__(glyph, text)

    def init(font: Any, *args: Any, **kwargs: Any) -> None:
        original(font, *args, **kwargs)
        table = ToUnicode(font.to_unicode)
        table.hb_font = font.hb_font
        font.to_unicode = table

    init._maps_mirrors = True  # type: ignore[attr-defined]
    fonts.Font.__init__ = init


def _tag_language_changes() -> None:
    """Give each tagged element the language it is in, where that is not the document's.

    WeasyPrint writes the document's language in the catalog and none on its elements, so a
    screen reader would read the lines of the language-help notice, an English list on a
    Chinese page or the Chinese note on an English handout in the wrong language's voice:
    PDF/UA asks for every change of language to be declared (ISO 14289-1, 7.2). An element
    gets ``/Lang`` when its HTML element says ``lang`` or its computed language (the ``lang``
    it inherits) is not the document's: WeasyPrint hangs a list nested in an item on the outer
    list, so inheriting in the tree alone would lose it. WeasyPrint is pinned; without the
    expected function nothing is changed.
    """
    import pydyf
    from weasyprint.formatting_structure.boxes import PageBox
    from weasyprint.pdf import tags

    original = getattr(tags, "_build_box_tree", None)
    if original is None or getattr(original, "_declares_lang", False):
        return

    def build(box: Any, parent: Any, pdf: Any, *args: Any) -> Iterator[Any]:
        element, style = getattr(box, "element", None), getattr(box, "style", None)
        lang = None
        if isinstance(box, PageBox):  # each page starts the tree: its language is the document's
            pdf.hg_lang = style["lang"] if style is not None else None
        elif element is not None and getattr(box, "element_tag", None) not in ("html", "body"):
            own, computed = element.get("lang"), style["lang"] if style is not None else None
            if own is not None or (computed and computed != getattr(pdf, "hg_lang", None)):
                lang = own if own is not None else computed
        for made in original(box, parent, pdf, *args):
            if lang is not None and "Lang" not in made:
                made["Lang"] = pydyf.String(lang)  # "" (lang="") declares the language unknown
            yield made

    build._declares_lang = True  # type: ignore[attr-defined]
    tags._build_box_tree = build


def typeset(html: str) -> str:
    """The text fixes made to every page before layout: a phone number kept with the word
    before it, a number with the word after it ("5 pounds"), and on a page with right-to-left
    text each number isolated left to right."""
    html = keep_numbers_with_words(keep_phone_numbers_with_words(html))
    return isolate_numbers(html) if 'dir="rtl"' in html else html


class PdfRenderer:
    """Renders HTML to PDF for one project; reuse it to share fonts and image caches."""

    def __init__(self, project_root: Path) -> None:
        import_weasyprint()
        from weasyprint.text.fonts import FontConfiguration

        _remember_page_references()
        _share_font_subsets()
        _tag_language_changes()
        _map_mirrored_glyphs()
        install_margin_hold()
        self.project_root = project_root.resolve()
        self.fetcher = make_weasyprint_fetcher(self.project_root)
        self.fonts = FontConfiguration()
        self.cache: dict[str, Any] = {}
        self._sheets: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def document(self, html: str, base_dir: Path, *, tagged: bool = True) -> Any:
        """Lay out ``html`` (relative URLs resolve against ``base_dir``) into pages.

        ``tagged=False`` skips the PDF/UA structure for pages that are only ever drawn as
        artifacts or pictures (the letter stationery, the stamp glyph kit, the logo), where a
        structure tree would be dead weight; it halves the time to write them.
        """
        from weasyprint import HTML

        html = typeset(html)
        variant = "pdf/ua-1" if tagged else None
        base_url = base_dir.resolve().as_uri() + "/"
        with _laying_out():
            sheets: list[Any] = []
            if not _KEPT_AS_AUTHOR.search(html):
                html = _STYLE_BLOCK.sub(lambda block: self._take_sheet(block[1], base_url, sheets), html)
            return HTML(string=html, base_url=base_url, url_fetcher=self.fetcher).render(
                font_config=self.fonts, cache=self.cache, pdf_variant=variant, stylesheets=sheets
            )

    def _take_sheet(self, css: str, base_url: str, sheets: list[Any]) -> str:
        """Parse a <style> block once per renderer and hand it to WeasyPrint already parsed.

        Every handout and packet part of a language and print size carries the same style
        sheet; parsing it again (tinycss2, the selectors, the @font-face rules) was about a
        tenth of each render. WeasyPrint takes parsed sheets as "user" style sheets: they
        cascade in the order of the blocks they replace, above the browser's own rules and
        below style attributes, as the author's did; :meth:`document` leaves a document whose
        cascade that would change to WeasyPrint (``_KEPT_AS_AUTHOR``). A one-off sheet (the
        page-fill rule's) is parsed but not kept.
        """
        from weasyprint import CSS

        key = (css, base_url)
        sheet = self._sheets.get(key)
        if sheet is None:
            sheet = CSS(string=css, base_url=base_url, url_fetcher=self.fetcher, font_config=self.fonts)
            if css.startswith(ONE_OFF):
                sheets.append(sheet)
                return ""
            self._sheets[key] = sheet
            if len(self._sheets) > STYLESHEET_MEMO:
                self._sheets.popitem(last=False)
        else:
            self._sheets.move_to_end(key)
        sheets.append(sheet)
        return ""

    def paged(self, html: str, base_dir: Path) -> Any:
        """:meth:`document` of a flowing, tagged document (a handout, a packet part), paged for
        a reader: no nearly empty last page (:mod:`handout_gen.render.pagefill`), a list
        that goes on over a page break does so under its heading (:mod:`.continued`), the key
        points whole on page 1 where moving the summary after them does it (:mod:`.keypoints`). Only
        the layout kept gets its header and footer (:mod:`.margins`)."""
        def lay_out(text: str) -> Any:
            return balanced(text, lambda one: without_margins(one, lambda: self.document(one, base_dir)))

        html = stamped(html)
        document = lay_out(html)
        if key_points_go_on(document) and (swapped := summary_after_key_points(html)) is not None:
            moved = lay_out(swapped)  # the key points whole on page 1, the summary after them
            if not key_points_go_on(moved) and len(moved.pages) <= len(document.pages):
                html, document = swapped, moved
        document = with_continued_headings(html, lay_out, document)
        with _laying_out():
            add_margin_boxes(document)
        return document

    def write(self, document: Any, *, tagged: bool = True) -> bytes:
        """Serialise a laid-out document. No creation date: identical input, identical bytes."""
        with collector_paused():
            data: bytes = document.write_pdf(pdf_variant="pdf/ua-1" if tagged else None)
        return data

    def render(self, html: str, base_dir: Path) -> tuple[bytes, list[str]]:
        """HTML → PDF bytes, with WeasyPrint's warnings returned for the caller to report.

        Paged for a reader (:meth:`paged`). Oversized font subsets are made compact
        (:mod:`handout_gen.render.subsets`): the language-help lines every handout prints in
        Chinese and Arabic would otherwise embed about 140 KB of empty CJK glyph slots, most of
        an English handout's size.
        """
        with weasyprint_warnings() as warnings:
            data = self.write(self.paged(html, base_dir))
        with collector_paused():
            return shrink_pdf_bytes(data), list(warnings)
