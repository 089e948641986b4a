"""Compact font subsets in a rendered PDF: keep only the glyphs it shows, with new glyph ids.

WeasyPrint subsets fonts with HarfBuzz's "retain glyph ids" flag, because its content streams
already show the font's own glyph ids (Identity-H: each 2-byte code is a CID, and CID = GID).
The subset then still holds an (empty) entry for every glyph id up to the highest one used:
for a CJK face of 65,000 glyphs that is ~140 KB in every PDF that prints one Chinese line.

:func:`shrink_fonts` re-subsets such a program with fontTools, keeping only the glyphs shown
(and .notdef) under compact new ids, then rewrites what refers to the old ids: the strings of
the text operators (Tj, TJ, ', ") in every content stream that uses the font (pages, Form
XObjects, annotation appearances), the /W widths, the /ToUnicode map and /CIDSet. Nothing
else in a content stream changes, so marked content and MCIDs of tagged PDFs stay intact.

Anything it cannot account for (a text operator with no font, a form that borrows its
parent's resources, a font named from somewhere it did not read, an odd-length string, a
ToUnicode map with ranges, a font program it cannot parse) leaves that font, or the whole
file, untouched: a larger file is better than a broken one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from handout_gen.render.cff import subset_cid_cff
from handout_gen.render.saving import saved

log = logging.getLogger("handout_gen")

# A font is worth re-subsetting when its highest shown glyph id is this many times the number
# of glyphs it shows, and at least MIN_SPAN: a Latin subset (a few hundred ids) is left alone.
RATIO = 4
MIN_SPAN = 1024
MEMO_SIZE = 64  # re-subset programs remembered per process (a few KB each)
_MEMO: OrderedDict[tuple[bytes, bool, tuple[int, ...]], tuple[bytes, dict[int, int]]] = OrderedDict()
_TEXT_OPS = ("Tj", "TJ", "'", '"')
_TEXT_BYTES = re.compile(rb"Tj|TJ|['\"]")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_PAIR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]*)>")


class _Unsafe(Exception):
    """Something this module does not handle: leave the file as it is."""


@dataclass
class _Program:
    """One embedded font program, the Type0 fonts that show it and the glyph ids they show."""

    stream: Any  # the /FontFile2 or /FontFile3 stream
    cff: bool
    fonts: list[Any] = field(default_factory=list)  # Type0 font dictionaries
    shown: set[int] = field(default_factory=set)


@dataclass
class _Holder:
    """A content stream (a page's or a form's) and its parsed instructions."""

    owner: Any  # page dictionary or Form XObject stream
    instructions: list[Any]
    fonts: dict[str, Any]  # resource name → font dictionary


def shrink_fonts(pdf: Any) -> int:
    """Re-subset the oversized CID font programs of ``pdf`` (a pikepdf.Pdf), in place.

    Returns how many font programs were replaced (0 when there was nothing to do, or when
    something in the file was not safe to rewrite).
    """
    programs = _candidates(pdf)
    if not programs:
        return 0
    try:
        holders = _read_content(pdf, programs)
    except _Unsafe:
        return 0
    maps: dict[tuple[int, int], dict[int, int]] = {}  # font objgen → old gid → new gid
    for program in programs.values():
        try:
            data, mapping = _subset(program)
            unicode_maps = [_read_to_unicode(font) for font in program.fonts]
        except Exception as exc:  # noqa: BLE001 - a program it cannot read stays as it is
            log.debug("font subset left as it is (%s)", type(exc).__name__)
            continue
        _install(pdf, program, data, mapping, unicode_maps)
        maps.update({font.objgen: mapping for font in program.fonts})
    for holder in holders:
        _rewrite(pdf, holder, maps)
    return len({id(m) for m in maps.values()})


def shrink_pdf_bytes(data: bytes) -> bytes:
    """:func:`shrink_fonts` on PDF bytes; the same bytes back when there is nothing to do."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if not shrink_fonts(pdf):
            return data
        return saved(pdf, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def _candidates(pdf: Any) -> dict[tuple[int, int], _Program]:
    """Embedded programs of Identity-H fonts whose shown ids are a small share of their span.

    Judged from /W (WeasyPrint lists a width for exactly the glyphs it shows), which is
    cheap: a part that was already shrunk costs a glance at its font dictionaries.
    """
    import pikepdf

    programs: dict[tuple[int, int], _Program] = {}
    for font in pdf.objects:
        if not isinstance(font, pikepdf.Dictionary) or font.get("/Subtype") != "/Type0":
            continue
        descendants = font.get("/DescendantFonts")
        if font.get("/Encoding") != "/Identity-H" or descendants is None or len(descendants) != 1:
            continue
        cid = descendants[0]
        descriptor = cid.get("/FontDescriptor")
        if descriptor is None:
            continue
        cff = cid.get("/Subtype") == "/CIDFontType0"
        stream = descriptor.get("/FontFile3" if cff else "/FontFile2")
        if stream is None or not stream.is_indirect or (cff and stream.get("/Subtype") != "/OpenType"):
            continue
        if not cff and cid.get("/CIDToGIDMap") != "/Identity":
            continue
        widths = _read_widths(cid.get("/W", pikepdf.Array()))
        if not widths or max(widths) < MIN_SPAN or max(widths) + 1 < RATIO * len(widths):
            continue
        program = programs.setdefault(stream.objgen, _Program(stream, cff))
        program.fonts.append(font)
    return programs


def _read_widths(w: Any) -> dict[int, float]:
    """A /W array as {cid: width}; both of its forms (c [w ...] and c_first c_last w)."""
    import pikepdf

    widths: dict[int, float] = {}
    items, index = list(w), 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            for offset, width in enumerate(items[index + 1]):
                widths[first + offset] = float(width)
            index += 2
        else:
            for cid in range(first, int(items[index + 1]) + 1):
                widths[cid] = float(items[index + 2])
            index += 3
    return widths


def _read_content(pdf: Any, programs: dict[tuple[int, int], _Program]) -> list[_Holder]:
    """Parse every content stream that can show text, collecting the glyph ids each
    candidate font shows; the holders that show one are returned for rewriting."""
    import pikepdf

    targets = {font.objgen: program for program in programs.values() for font in program.fonts}
    holders: list[_Holder] = []
    visited: set[tuple[int, int]] = set()

    def visit(owner: Any, resources: Any, *, form: bool = True) -> None:
        fonts = {str(k): v for k, v in resources.get("/Font", {}).items()} if resources is not None else {}
        xobjects = resources.get("/XObject", {}) if resources is not None else {}
        if not _may_show(owner, [name for name, font in fonts.items() if font.objgen in targets], form):
            return
        instructions = list(pikepdf.parse_content_stream(owner))
        if _collect(instructions, fonts, targets):
            holders.append(_Holder(owner, instructions, fonts))
        for instruction in instructions:
            if str(instruction.operator) != "Do":
                continue
            xobject = xobjects.get(str(instruction.operands[0]))
            if xobject is None or xobject.get("/Subtype") != "/Form" or xobject.objgen in visited:
                continue
            if "/Resources" not in xobject:
                raise _Unsafe  # names would resolve against whichever parent draws it
            visited.add(xobject.objgen)
            visit(xobject, xobject.Resources)

    for page in pdf.pages:
        if "/Resources" not in page.obj:
            raise _Unsafe  # inherited from the page tree: not handled
        visited.add(page.obj.objgen)
        visit(page.obj, page.obj.Resources, form=False)
        for annotation in page.obj.get("/Annots", []):
            for appearance in annotation.get("/AP", {}).values():
                forms = [appearance] if isinstance(appearance, pikepdf.Stream) else appearance.values()
                for form in forms:
                    if isinstance(form, pikepdf.Stream) and form.objgen not in visited:
                        visited.add(form.objgen)
                        visit(form, form.get("/Resources"))
    _check_unread(pdf, targets, visited)
    return holders


def _may_show(owner: Any, names: list[str], form: bool) -> bool:
    """Whether a content stream can show a candidate font's glyphs, judged from its bytes:
    parsing is most of the cost, and most pages of a handout never name the CJK font.

    It can when it names one of them (``names``: their resource names here), draws a form
    (``Do``), or is a form with a text operator (it may use the font of whoever draws it).
    A false "yes" (a name inside a string) only costs a parse.
    """
    import pikepdf

    contents = owner.get("/Contents") if isinstance(owner, pikepdf.Dictionary) else owner
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    data = b"".join(stream.read_bytes() for stream in streams if isinstance(stream, pikepdf.Stream))
    if b"Do" in data or any(name.encode() in data for name in names):
        return True
    return form and _TEXT_BYTES.search(data) is not None


def _text_shows(instructions: list[Any], fonts: dict[str, Any]) -> Iterator[tuple[int, Any, Any]]:
    """(index, instruction, font) of every text-showing instruction, the font tracked through
    Tf, q and Q. A font that is not in ``fonts``, or text shown before any Tf (a form relying
    on the font of whoever draws it), is unsafe to renumber."""
    font: Any = None
    saved: list[Any] = []  # the font at each q, restored by its Q
    for index, instruction in enumerate(instructions):
        op = str(instruction.operator)
        if op == "q":
            saved.append(font)
        elif op == "Q" and saved:
            font = saved.pop()
        elif op == "Tf":
            font = fonts.get(str(instruction.operands[0]))
            if font is None:
                raise _Unsafe
        elif op in _TEXT_OPS:
            if font is None:
                raise _Unsafe
            yield index, instruction, font


def _collect(
    instructions: list[Any], fonts: dict[str, Any], targets: dict[tuple[int, int], _Program]
) -> bool:
    """Add the glyph ids shown with candidate fonts to their programs; True if any was shown."""
    import pikepdf

    shows = False
    for _, instruction, font in _text_shows(instructions, fonts):
        program = targets.get(font.objgen)
        if program is None:
            continue
        shows = True
        operands = instruction.operands
        for item in operands[0] if str(instruction.operator) == "TJ" else operands[-1:]:
            if isinstance(item, pikepdf.String):
                raw = bytes(item)
                if len(raw) % 2:
                    raise _Unsafe
                program.shown.update(int.from_bytes(raw[i : i + 2]) for i in range(0, len(raw), 2))
    return shows


def _check_unread(pdf: Any, targets: dict[tuple[int, int], _Program], visited: set[tuple[int, int]]) -> None:
    """A candidate font named in the resources of something not read (a pattern, a Type3
    glyph, an unreachable form) could show ids that were not collected: then stop."""
    import pikepdf

    for holder in pdf.objects:
        if not isinstance(holder, (pikepdf.Dictionary, pikepdf.Stream)) or holder.objgen in visited:
            continue
        resources = holder.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        for font in resources.get("/Font", {}).values():
            if font.objgen in targets:
                raise _Unsafe


def _subset(program: _Program) -> tuple[bytes, dict[int, int]]:
    """The program cut down to the shown glyphs (plus .notdef) and the old → new id map.

    Remembered per process: the language-help notice puts the same Chinese and Arabic
    glyphs of the same subsets in every handout and packet part.
    """
    keep = sorted(program.shown | {0})
    key = (hashlib.sha256(program.stream.read_raw_bytes()).digest(), program.cff, tuple(keep))
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    _MEMO[key] = result = _cut(program, keep)
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.popitem(last=False)
    return result


def _cut(program: _Program, keep: list[int]) -> tuple[bytes, dict[int, int]]:
    from fontTools.ttLib import TTFont

    # recalcTimestamp=False: saving would stamp the program with the time, and the same input
    # would no longer make the same bytes
    data = io.BytesIO(program.stream.read_bytes())
    font = TTFont(data, lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    if keep[-1] >= font["maxp"].numGlyphs:
        raise _Unsafe  # an id past the program: it draws nothing now, keep it that way
    if program.cff:  # glyph i of the new program is keep[i]
        return subset_cid_cff(font.reader["CFF "], keep), {old: new for new, old in enumerate(keep)}
    return _subset_truetype(font, keep)


def _subset_truetype(font: Any, keep: list[int]) -> tuple[bytes, dict[int, int]]:
    """fontTools' subsetter, new ids (composite glyphs bring their components along)."""
    from fontTools import subset

    old_order = list(font.getGlyphOrder())
    options = subset.Options(retain_gids=False, notdef_outline=True, layout_features=[], name_IDs=["*"])
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "vhea", "vmtx", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=keep)
    subsetter.subset(font)
    new_ids = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue(), {old: new_ids[old_order[old]] for old in keep}


def _read_to_unicode(font: Any) -> dict[int, bytes]:
    """A WeasyPrint /ToUnicode CMap as {cid: UTF-16BE hex}; ranges are not handled."""
    stream = font.get("/ToUnicode")
    if stream is None:
        return {}
    data = stream.read_bytes()
    if b"beginbfrange" in data:
        raise _Unsafe
    return {int(cid, 16): text for block in _BFCHAR.findall(data) for cid, text in _PAIR.findall(block)}


def _install(
    pdf: Any, program: _Program, data: bytes, mapping: dict[int, int], unicode_maps: list[dict[int, bytes]]
) -> None:
    """Put the new program in place and renumber every font that shows it."""
    import pikepdf

    tag = "".join(chr(ord("A") + b % 26) for b in hashlib.sha256(data).digest()[:6])
    extra = {"/Subtype": pikepdf.Name.CIDFontType0C} if program.cff else {"/Length1": len(data)}
    program.stream.write(zlib.compress(data, 6), filter=pikepdf.Name.FlateDecode)
    for key in ("/Subtype", "/Length1"):
        if key in program.stream:
            del program.stream[key]
    for key, value in extra.items():
        program.stream[key] = value
    for font, to_unicode in zip(program.fonts, unicode_maps, strict=True):
        cid = font.DescendantFonts[0]
        descriptor = cid.FontDescriptor
        widths = _read_widths(cid.get("/W", pikepdf.Array()))
        cid.W = _write_widths({mapping[old]: w for old, w in widths.items() if old in mapping})
        if to_unicode:
            kept = {mapping[old]: text for old, text in to_unicode.items() if old in mapping}
            font.ToUnicode = pdf.make_stream(
                zlib.compress(_to_unicode_cmap(kept)), Filter=pikepdf.Name.FlateDecode
            )
        if "/CIDSet" in descriptor:
            descriptor.CIDSet = pdf.make_stream(_cid_set(set(mapping.values())))
        name = str(font.get("/BaseFont", ""))
        if name[7:8] == "+":  # "/ABCDEF+Name": a subset named after its new bytes
            font.BaseFont = cid.BaseFont = descriptor.FontName = pikepdf.Name(f"/{tag}{name[7:]}")


def _write_widths(widths: dict[int, float]) -> Any:
    import pikepdf

    out: list[Any] = []
    run: list[Any] = []
    for cid in sorted(widths):
        if cid - 1 not in widths:
            run = []
            out += [cid, run]
        run.append(int(widths[cid]) if widths[cid].is_integer() else widths[cid])
    return pikepdf.Array([item if isinstance(item, int) else pikepdf.Array(item) for item in out])


def _to_unicode_cmap(entries: dict[int, bytes]) -> bytes:
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <ffff>",
        b"endcodespacerange",
    ]
    items = sorted(entries.items())
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        lines.append(b"%d beginbfchar" % len(batch))
        lines += [b"<%04x> <%s>" % (cid, text) for cid, text in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def _cid_set(cids: set[int]) -> bytes:
    bits = bytearray((max(cids) // 8) + 1)
    for cid in cids:
        bits[cid // 8] |= 0x80 >> (cid % 8)
    return bytes(bits)


def _rewrite(pdf: Any, holder: _Holder, maps: dict[tuple[int, int], dict[int, int]]) -> None:
    """Renumber the glyphs of shrunk fonts in one content stream; all else stays as parsed."""
    import pikepdf

    def renumber(item: Any, mapping: dict[int, int]) -> Any:
        if not isinstance(item, pikepdf.String):
            return item
        raw = bytes(item)
        return pikepdf.String(
            b"".join(mapping[int.from_bytes(raw[i : i + 2])].to_bytes(2) for i in range(0, len(raw), 2))
        )

    out, changed = list(holder.instructions), False
    for index, instruction, font in _text_shows(out, holder.fonts):
        if font.objgen not in maps:
            continue
        mapping, changed, operands = maps[font.objgen], True, instruction.operands
        if str(instruction.operator) == "TJ":
            operands = [pikepdf.Array([renumber(item, mapping) for item in operands[0]])]
        else:
            operands = [*operands[:-1], renumber(operands[-1], mapping)]
        out[index] = pikepdf.ContentStreamInstruction(operands, instruction.operator)
    if not changed:
        return
    data = zlib.compress(pikepdf.unparse_content_stream(out), 6)
    owner = holder.owner
    if isinstance(owner, pikepdf.Stream):
        owner.write(data, filter=pikepdf.Name.FlateDecode)
    else:
        owner.Contents = pdf.make_stream(data, Filter=pikepdf.Name.FlateDecode)
