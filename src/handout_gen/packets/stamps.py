"""Page numbers and the packet reference, stamped on every page of a packet at assembly.

Parts are cached across patients, so they cannot know their page numbers in a packet nor the
packet's id: their footer leaves a blank slot (``page_footer.html.j2``) and assembly stamps
"Page 3 of 11 · Packet 8338e3e0b4ee148e · Dec 1, 2026" there, counted over the whole packet.

Laying out those lines with WeasyPrint for each packet would cost more than the rest of the
packet. Instead each language and print size has a *glyph kit*, a cached static part in which
every piece a stamp can hold is laid out once, one piece to a page, in the footer's font,
size and colour: the words of ``page_of`` and ``packet_ref`` around their placeholders, the
digits, the id's hex letters and the letters of the language's month names. A stamp is those
pieces' text operators drawn side by side (the words keep their own shaping and kerning; only
the values are set letter by letter), inside ``/Artifact BMC … EMC``: page furniture, which a
screen reader skips. In a right-to-left language (Arabic, Hebrew) the line is set from the
right: its words and values in reverse order, each run of digits and Latin letters (a page
number, the packet id) still left to right, as the Unicode bidi algorithm shows these short
lines. Values there are digits, hex letters and numeric dates, so no joined letters are split.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from handout_gen.core.errors import RenderError
from handout_gen.packets.structure import PX
from handout_gen.render.jinja import medium_date

SEPARATOR = " · "  # between the page number and the reference when both fit on one line
HEX = "0123456789abcdef"
Slot = tuple[float, float, float, float]  # left, top, right, bottom in CSS px from the page's top left
_PLACEHOLDER_RE = re.compile(r"%\((\w+)\)s")


def pieces(pattern: str, values: dict[str, str]) -> list[str]:
    """``pattern`` as stamp pieces: its words whole, each value letter by letter."""
    out: list[str] = []
    for index, part in enumerate(_PLACEHOLDER_RE.split(pattern.replace("%%", "%"))):
        if index % 2 == 0:
            out += [part] if part else []
        else:
            out += list(values[part])
    return out


def visual(run: list[str], rtl: bool) -> list[str]:
    """``run``'s pieces in the order they are drawn from left to right."""
    if not rtl:
        return run
    units: list[list[str]] = []
    for piece in run:
        ltr = len(piece) == 1 and piece.isascii() and piece.isalnum()
        if ltr and units and _is_ltr_unit(units[-1]):
            units[-1].append(piece)
        else:
            units.append([piece])
    return [piece for unit in reversed(units) for piece in unit]


def _is_ltr_unit(unit: list[str]) -> bool:
    return all(len(p) == 1 and p.isascii() and p.isalnum() for p in unit)


@lru_cache(maxsize=64)  # asked for every packet variant of a run
def glyph_alphabet(page_of: str, packet_ref: str, lang: str) -> tuple[str, ...]:
    """Every piece a stamp of this language can need: the words, the separator, then single
    letters (digits, hex, those of every month's date in ``lang``)."""
    blank = dict.fromkeys(("page", "pages", "id", "date"), "")
    words = [piece for pattern in (page_of, packet_ref) for piece in pieces(pattern, blank)]
    months = [medium_date(date(2026, month, 28), lang) for month in range(1, 13)]
    letters = set(HEX) | {ch for text in months for ch in text}
    return tuple(dict.fromkeys([*words, SEPARATOR, *sorted(letters)]))


@dataclass(frozen=True)
class Glyph:
    """One laid-out piece: its drawing operators, moved so that its top left is the origin."""

    ops: bytes  # "<shift> cm ...": the piece's own operators, resources renamed /Hg…, drawn inside q … Q
    width: float  # pt
    height: float


class GlyphKit:
    """The pieces of one language and print size, taken from the kit part's pages.

    Each piece's operators are kept (with the resources they name renamed ``/HgF0``,
    ``/HgE0``…, so they can join any page's own), not a Form XObject each: a stamp is then a
    few lines of operators and one shared font, which keeps packets small and fast to write.
    """

    def __init__(self, pdf: Any, boxes: dict[str, list[float]]) -> None:
        """``boxes``: piece → [page index, left, top, right, bottom] (CSS px), from the part."""
        import pikepdf

        self.glyphs: dict[str, Glyph] = {}
        renamed: dict[str, str] = {}
        resources: dict[str, dict[str, Any]] = {}
        for piece, (index, left, top, right, bottom) in boxes.items():
            page = pdf.pages[int(index)]
            for category in ("/Font", "/ExtGState", "/ColorSpace"):
                for name, value in page.obj.Resources.get(category, {}).items():
                    if name not in renamed:
                        renamed[name] = f"/Hg{category[1]}{len(renamed)}"
                        resources.setdefault(category, {})[renamed[name]] = value
            ops = [  # (WeasyPrint draws text with no inline images)
                ([_renamed(o, renamed) for o in item.operands], item.operator)
                for item in pikepdf.parse_content_stream(page)
                if isinstance(item, pikepdf.ContentStreamInstruction)
            ]
            height = float(page.mediabox[3])
            shift = f"1 0 0 1 {-left * PX:.3f} {-(height - top * PX):.3f} cm\n".encode()
            body = shift + pikepdf.unparse_content_stream(unnested(ops)) + b"\n"
            self.glyphs[piece] = Glyph(body, (right - left) * PX, (bottom - top) * PX)
        self.resources = pdf.make_indirect(
            pikepdf.Dictionary({k: pikepdf.Dictionary(v) for k, v in resources.items()})
        )

    def glyph(self, piece: str) -> Glyph:
        found = self.glyphs.get(piece)
        if found is None:
            msg = f"the packet's page stamp has no glyph for {piece!r} (its glyph kit is out of date)"
            raise RenderError(msg)
        return found

    def width(self, run: list[str]) -> float:
        return sum(self.glyph(p).width for p in run)

    def ops(self, run: list[str], x: float, y: float) -> list[bytes]:
        """Draw ``run`` with its top left at (x, y), in PDF points, each shift written at a
        fixed width (so the stream's length does not depend on where the pieces fall)."""
        ops = []
        for piece in run:
            glyph = self.glyph(piece)
            ops += [f"q 1 0 0 1 {x:07.2f} {y:07.2f} cm\n".encode(), glyph.ops, b"Q\n"]
            x += glyph.width
        return ops


@dataclass(frozen=True)
class PacketStamp:
    """What one packet's pages are stamped with: its page numbering and its reference."""

    kit: GlyphKit
    page_of: str  # "Page %(page)s of %(pages)s", in the packet's language
    reference: list[str]  # the reference's pieces ("Packet ", "8", "3", ...), in drawing order
    rtl: bool = False  # the line is set from the right (visual)

    @classmethod
    def make(
        cls, kit: GlyphKit, page_of: str, packet_ref: str, packet_id: str, day: date, lang: str,
        rtl: bool = False,
    ) -> PacketStamp:
        reference = pieces(packet_ref, {"id": packet_id, "date": medium_date(day, lang)})
        return cls(kit, page_of, visual(reference, rtl), rtl)

    def apply(self, out: Any, slots: list[Slot | None]) -> None:
        """Stamp every page of ``out`` in its footer slot (``slots[i]`` for page i).

        The reference (the only thing that differs between two packets of the same pages) is
        one form that every page draws, its shifts written at fixed widths and stored
        without compression (deflate's stored blocks, which the save leaves as they are): a
        packet's size does not depend on its random id.
        """
        import pikepdf

        if None in slots:
            msg = "a packet part has no page-number slot in its footer"
            raise RenderError(msg)
        kit = self.kit
        shared = out.copy_foreign(kit.resources)  # the kit's font, in this packet once
        height, ref_width = kit.glyph(self.reference[0]).height, kit.width(self.reference)
        reference = out.make_stream(
            zlib.compress(b"".join(kit.ops(self.reference, 0, 0)), level=0),
            Filter=pikepdf.Name.FlateDecode,
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=pikepdf.Array([0, -height, ref_width, 0]),
            Resources=shared,
        )
        wanted = {str(k): dict(v.items()) for k, v in shared.items()}
        wanted.setdefault("/XObject", {})["/HgRef"] = reference
        save = out.make_stream(b"q\n")  # the page's own graphics state is closed before the stamp
        total = str(len(out.pages))
        done: set[tuple[int, int]] = set()  # resource dictionaries already given them (parts share one)
        for index, (page, slot) in enumerate(zip(out.pages, slots, strict=True)):
            assert slot is not None
            number = visual(pieces(self.page_of, {"page": str(index + 1), "pages": total}), self.rtl)
            line = self._line(number, (ref_width, height), slot, float(page.mediabox[3]))
            ops = [b"Q\n/Artifact BMC\n", *line]
            page.contents_add(save, prepend=True)
            page.contents_add(out.make_stream(b"".join(ops)))
            _add_resources(page, wanted, done)


    def _line(
        self, number: list[str], reference: tuple[float, float], slot: Slot, page_height: float
    ) -> list[bytes]:
        """The operators of one page's stamp: the page number, then the reference (after it on
        the line when both fit, else under it), from the slot's left or, right to left, its right."""
        kit, (left, top, right, _), (ref_width, height) = self.kit, slot, reference
        width, sep_width, y = kit.width(number), kit.width([SEPARATOR]), page_height - top * PX
        one_line = width + sep_width + ref_width <= (right - left) * PX
        if self.rtl:  # the number rightmost, then the separator and the reference to its left
            x = right * PX - width
            ops = kit.ops(number, x, y)
            if one_line:
                ops += kit.ops([SEPARATOR], x - sep_width, y)
                ref_x = x - sep_width - ref_width
            else:
                ref_x, y = right * PX - ref_width, y - height
        else:
            x = left * PX
            ops = kit.ops(number, x, y)
            if one_line:
                ops += kit.ops([SEPARATOR], x + width, y)
                ref_x = x + width + sep_width
            else:  # large print: the page number on one line, the reference under it
                ref_x, y = x, y - height
        return [*ops, f"q 1 0 0 1 {ref_x:07.2f} {y:07.2f} cm /HgRef Do Q\nEMC\n".encode()]


def unnested(ops: list[tuple[list[Any], Any]]) -> list[tuple[list[Any], Any]]:
    """``ops`` (drawn inside a ``q … Q``) without the saves and restores that change nothing.

    WeasyPrint wraps each box in ``q … Q``: a glyph's few text operators come nested ten deep,
    and every reader of the page (poppler once for each marked-content item of a page) walks
    them again. A ``q … Q`` that its enclosing ``Q`` follows at once is dropped: what it saved
    is restored by that ``Q`` anyway, and nothing is drawn between the two.
    """
    ops = list(ops)
    while True:
        stack, drop = [], None
        for index, (_, operator) in enumerate(ops):
            name = str(operator)
            if name == "q":
                stack.append(index)
            elif name == "Q" and stack:
                start = stack.pop()
                if stack:  # inside another group: its Q must come next
                    enclosing_closes = index + 1 < len(ops) and str(ops[index + 1][1]) == "Q"
                else:  # at the top: the caller's Q comes after the last operator
                    enclosing_closes = index + 1 == len(ops)
                if enclosing_closes:
                    drop = (start, index)
                    break
        if drop is None:
            return ops
        del ops[drop[1]], ops[drop[0]]


def _renamed(operand: Any, names: dict[str, str]) -> Any:
    import pikepdf

    return pikepdf.Name(names[str(operand)]) if str(operand) in names else operand


def _add_resources(page: Any, wanted: dict[str, dict[str, Any]], done: set[tuple[int, int]]) -> None:
    """Add the stamp's resources (named /Hg…: never a page's own names) to a page's."""
    import pikepdf

    resources = page.obj.get("/Resources")
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    if resources.is_indirect:
        if resources.objgen in done:
            return
        done.add(resources.objgen)
    for category, entries in wanted.items():
        found = resources.get(category)
        if found is None:
            found = resources[category] = pikepdf.Dictionary()
        for name, value in entries.items():
            found[name] = value
