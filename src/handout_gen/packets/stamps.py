"""Page numbers and the packet reference, stamped on every page of a packet at assembly.

Parts are cached across patients, so they cannot know their page numbers in a packet nor the
packet's id: their footer leaves a blank slot (``page_footer.html.j2``) and assembly stamps
"Page 3 of 11 · Packet 8338e3e0b4ee148e · Dec 1, 2026" there, counted over the whole packet.

Laying out those lines with WeasyPrint for each packet would cost more than the rest of the
packet. Instead each language and print size has a *glyph kit*, a cached static part in which
every piece a stamp can hold is laid out once, one piece to a page, in the footer's font,
size and colour: the words of ``page_of`` and ``packet_ref`` around their placeholders, the
digits, the id's hex letters and the letters of the language's month names. A stamp is those
pieces drawn side by side as Form XObjects (the words keep their own shaping and kerning; only
the values are set letter by letter), inside ``/Artifact BMC … EMC``: page furniture, which a
screen reader skips. Values are placed left to right (no right-to-left language has packet
words yet).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from handout_gen.core.errors import RenderError
from handout_gen.render.jinja import medium_date

PX = 0.75  # PDF points per CSS pixel
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
    """One laid-out piece: a Form XObject whose origin is the piece's top left (pt)."""

    name: str  # its resource name in every packet ("/HgG007": fixed by its place in the kit)
    form: Any
    width: float
    height: float


class GlyphKit:
    """The pieces of one language and print size, as Form XObjects in the kit part's PDF."""

    def __init__(self, pdf: Any, boxes: dict[str, list[float]]) -> None:
        """``boxes``: piece → [page index, left, top, right, bottom] (CSS px), from the part."""
        import pikepdf

        self.pdf = pdf
        self.glyphs: dict[str, Glyph] = {}
        self._sets: dict[frozenset[str], Any] = {}
        for number, (piece, (index, left, top, right, bottom)) in enumerate(boxes.items()):
            page = pdf.pages[int(index)]
            height = float(page.mediabox[3])
            form = page.as_form_xobject()
            form.BBox = pikepdf.Array([left * PX, height - bottom * PX, right * PX, height - top * PX])
            form.Matrix = pikepdf.Array([1, 0, 0, 1, -left * PX, -(height - top * PX)])
            self.glyphs[piece] = Glyph(f"/HgG{number:03d}", form, (right - left) * PX, (bottom - top) * PX)

    def glyph(self, piece: str) -> Glyph:
        found = self.glyphs.get(piece)
        if found is None:
            msg = f"the packet's page stamp has no glyph for {piece!r} (its glyph kit is out of date)"
            raise RenderError(msg)
        return found

    def width(self, run: list[str]) -> float:
        return sum(self.glyph(p).width for p in run)

    def xobjects(self, pieces: frozenset[str]) -> Any:
        """One resource dictionary (in the kit's PDF) of the forms of ``pieces``: a packet
        copies it with one call."""
        import pikepdf

        if pieces not in self._sets:
            forms = {self.glyph(p).name: self.glyph(p).form for p in sorted(pieces)}
            self._sets[pieces] = self.pdf.make_indirect(pikepdf.Dictionary(forms))
        return self._sets[pieces]

    def ops(self, run: list[str], x: float, y: float) -> list[bytes]:
        """Draw ``run`` with its top left at (x, y), in PDF points, each number at a fixed
        width (so the stream's length does not depend on where the pieces fall)."""
        ops = []
        for piece in run:
            glyph = self.glyph(piece)
            ops.append(f"q 1 0 0 1 {x:07.2f} {y:07.2f} cm {glyph.name} Do Q\n".encode())
            x += glyph.width
        return ops


@dataclass(frozen=True)
class PacketStamp:
    """What one packet's pages are stamped with: its page numbering and its reference."""

    kit: GlyphKit
    page_of: str  # "Page %(page)s of %(pages)s", in the packet's language
    reference: list[str]  # the reference's pieces ("Packet ", "8", "3", ...)

    @classmethod
    def make(
        cls, kit: GlyphKit, page_of: str, packet_ref: str, packet_id: str, day: date, lang: str
    ) -> PacketStamp:
        return cls(kit, page_of, pieces(packet_ref, {"id": packet_id, "date": medium_date(day, lang)}))

    def apply(self, out: Any, slots: list[Slot | None]) -> None:
        """Stamp every page of ``out`` in its footer slot (``slots[i]`` for page i).

        The reference (the only thing that differs between two packets of the same pages) is
        one form that every page draws, written at fixed widths and stored without
        compression (deflate's stored blocks, which the save leaves as they are); the glyphs
        copied in are those of the words, every hex digit and the date. So a packet's size
        does not depend on its random id.
        """
        import pikepdf

        if None in slots:
            msg = "a packet part has no page-number slot in its footer"
            raise RenderError(msg)
        kit = self.kit
        used = frozenset([*pieces(self.page_of, {"page": "", "pages": ""}), SEPARATOR, *HEX, *self.reference])
        glyphs = out.copy_foreign(kit.xobjects(used))
        height, ref_width = kit.glyph(self.reference[0]).height, kit.width(self.reference)
        forms = {**glyphs}
        forms["/HgRef"] = out.make_stream(
            zlib.compress(b"".join(kit.ops(self.reference, 0, 0)), level=0),
            Filter=pikepdf.Name.FlateDecode,
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=pikepdf.Array([0, -height, ref_width, 0]),
            Resources=pikepdf.Dictionary(XObject=glyphs),
        )
        save = out.make_stream(b"q\n")  # the page's own graphics state is closed before the stamp
        total, sep_width = str(len(out.pages)), kit.width([SEPARATOR])
        done: set[tuple[int, int]] = set()  # resource dictionaries given the forms (parts share one)
        for index, (page, slot) in enumerate(zip(out.pages, slots, strict=True)):
            assert slot is not None
            left, top, right, _ = slot
            number = pieces(self.page_of, {"page": str(index + 1), "pages": total})
            x, y = left * PX, float(page.mediabox[3]) - top * PX
            ops = [b"Q\n/Artifact BMC\n", *kit.ops(number, x, y)]
            if kit.width(number) + sep_width + ref_width <= (right - left) * PX:
                ops += kit.ops([SEPARATOR], x + kit.width(number), y)
                x += kit.width(number) + sep_width
            else:  # large print: the page number on one line, the reference under it
                y -= height
            ops.append(f"q 1 0 0 1 {x:07.2f} {y:07.2f} cm /HgRef Do Q\nEMC\n".encode())
            page.contents_add(save, prepend=True)
            page.contents_add(out.make_stream(b"".join(ops)))
            _add_xobjects(page, forms, done)


def _add_xobjects(page: Any, forms: dict[str, Any], done: set[tuple[int, int]]) -> None:
    import pikepdf

    resources = page.obj.get("/Resources")
    if resources is None:
        resources = page.obj.Resources = pikepdf.Dictionary()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        xobjects = resources.XObject = pikepdf.Dictionary()
    if xobjects.is_indirect or resources.is_indirect:
        key = xobjects.objgen if xobjects.is_indirect else resources.objgen
        if key in done:
            return
        done.add(key)
    for name, form in forms.items():
        xobjects[name] = form
