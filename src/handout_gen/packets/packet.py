"""One packet: the per-process renderer that turns validated roster rows into packet PDFs.

:class:`PacketMaker` holds what a process reuses across packets (the engine, the letter
press, every static part it has opened) and makes the packets of a batch of rows: their
cover letters composed together, then each packet assembled from its parts. Batches, files,
the index and the audit log are :mod:`handout_gen.packets.run`'s job.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from handout_gen import __version__
from handout_gen.content.project import Project
from handout_gen.core.errors import HandoutGenError, RenderError, plural
from handout_gen.core.files import write_file
from handout_gen.packets.assemble import Part, assemble, outline_titles, prepare_part
from handout_gen.packets.kit import BACK, FRONT, Kit, load_kit
from handout_gen.packets.letterpages import Piece
from handout_gen.packets.letters import LetterPress, cut_pieces
from handout_gen.packets.parts import (
    HandoutSpec,
    Static,
    back_part,
    glyph_part,
    handout_part,
    page_part,
    prep_part,
    render_static,
)
from handout_gen.packets.patient import PatientRow
from handout_gen.packets.stamps import GlyphKit, PacketStamp, Slot
from handout_gen.packets.structure import Tree, add_part_tree, artifact_orphans, part_tree
from handout_gen.packets.timing import Rules
from handout_gen.render.engine import Engine
from handout_gen.render.saving import saved

log = logging.getLogger("handout_gen")
CACHE_FORMAT = "tagged-4"  # in the cached parts' names: parts cached in another form are not used


@dataclass
class MadePacket:
    """One finished packet: its row, its PDF bytes, its random id (printed on its pages and
    in its file name) and the versions it was made from (no PHI)."""

    row: PatientRow
    data: bytes
    versions: dict[str, Any] = field(default_factory=dict)
    packet_id: str = ""


class PacketMaker:
    """Per-process packet state: engine, letter press, opened static parts."""

    def __init__(self, kit: Kit, today: date, cache_dir: Path | None = None) -> None:
        self.kit = kit
        self.today = today
        self.cache_dir = cache_dir
        self.engine = Engine(kit.project.root, kit.project.templates_dir)
        self._parts: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._trees: dict[str, Tree | None] = {}  # each opened part's structure template
        self._glyphs: dict[tuple[str, bool], GlyphKit] = {}
        self._tails: dict[str, tuple[list[Piece], dict[str, int]]] = {}

    @cached_property
    def press(self) -> LetterPress:
        def stationery(lang: str, large: bool) -> tuple[Any, dict[str, Any]]:
            return self.part(page_part(self.kit, lang, large))

        return LetterPress(self.kit, self.engine.env, self.engine.pdf, stationery, self.today)

    def ensure(self, part: Static) -> None:
        """Render a static part into the disk cache unless it is there already."""
        if self.cache_dir is None or not self._cached(part, ".pdf").is_file():
            self.part(part)

    def _cached(self, part: Static, suffix: str) -> Path:
        """A part's file in the disk cache (named for the part and the cache's format)."""
        assert self.cache_dir is not None
        return self.cache_dir / f"{part.key}-{CACHE_FORMAT}{suffix}"

    def part(self, part: Static) -> tuple[Any, dict[str, Any]]:
        """A static part as an open pikepdf.Pdf: from memory, the disk cache, or rendered."""
        import pikepdf

        if part.key in self._parts:
            return self._parts[part.key]
        pdf = None
        if self.cache_dir is not None:
            pdf_path, json_path = self._cached(part, ".pdf"), self._cached(part, ".json")
            if pdf_path.is_file() and json_path.is_file():
                pdf = pikepdf.open(io.BytesIO(pdf_path.read_bytes()))
                anchors = json.loads(json_path.read_text())
        if pdf is None:
            # Cached as packets use it: furniture an artifact, fonts compact, safe to merge,
            # its structure template built in (one save, whatever was changed).
            data, anchors = render_static(self.kit, part, self.engine)
            pdf = pikepdf.open(io.BytesIO(data))
            artifact_orphans(pdf)
            prepare_part(pdf)
            add_part_tree(pdf)
            if self.cache_dir is not None:
                # zlib's default level: a part is written once and its streams are copied as
                # they are into every packet made from it (level 1 made each packet larger)
                data = saved(pdf, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
                root = self.kit.project.output_dir
                write_file(self._cached(part, ".json"), json.dumps(anchors), root=root)
                write_file(self._cached(part, ".pdf"), data, root=root)
        self._parts[part.key] = (pdf, anchors)
        self._trees[part.key] = part_tree(pdf)
        return self._parts[part.key]

    def make(
        self, rows: list[PatientRow], encrypt: bool = False, *, reveal_errors: bool = False
    ) -> list[MadePacket]:
        """Packets of ``rows`` (see :meth:`packets`)."""
        return list(self.packets(rows, encrypt, reveal_errors=reveal_errors))

    def packets(
        self, rows: list[PatientRow], encrypt: bool = False, *, reveal_errors: bool = False
    ) -> Iterator[MadePacket]:
        """Packets of ``rows``: their cover letters composed together, then each assembled in
        turn (one at a time, so a run that is stopping can stop between two packets).

        A template or layout error in the cover batch may quote patient data (Jinja names
        the missing key, WeasyPrint the text it choked on), so only its type is reported;
        ``reveal_errors`` keeps the full error for the preview's fictional patient.
        """
        langs = [(row, self.kit.packet_lang(row.language)) for row in rows]
        tails = [self._prep(row, lang) for row, lang in langs]
        try:
            batch, starts, warnings, trees = self.press.letters(langs, [pieces for pieces, _ in tails])
        except Exception as exc:
            if reveal_errors:
                raise
            cause = exc.__cause__ if isinstance(exc, HandoutGenError) and exc.__cause__ else exc
            msg = (
                f"the cover-letter template ({self.kit.recipe.template}) failed "
                f"({type(cause).__name__}); run 'handout-gen preview' or a one-row roster "
                "of a fictional patient to see details"
            )
            raise RenderError(msg) from None
        if warnings:  # the text could quote a patient's name: report the count only
            said = plural(len(warnings), "layout warning")
            log.warning("WeasyPrint reported %s in a batch of cover letters", said)
        ends = [*starts[1:], len(batch.pages)]
        made = zip(langs, tails, starts, ends, trees, strict=True)
        for (row, lang), (pieces, marks), first, stop, tree in made:
            titles = outline_titles(self.kit.words(lang))
            # The prep pages are the letter's last pages (the first may be shared with it).
            bookmarks = [(titles[s], stop - len(pieces) + marks[s]) for s in FRONT if s in marks]
            yield self._assemble(row, lang, Part(batch, first, stop, bookmarks, tree=tree), encrypt)

    def _prep(self, row: PatientRow, lang: str) -> tuple[list[Piece], dict[str, int]]:
        """The prep pages of ``row``'s packet, cut to their text for the letter press, and the
        page each of their sections starts on (none when the packet has no prep sections)."""
        static = prep_part(self.kit, row.procedures, lang, row.large_print, row.prep_flags)
        if static is None:
            return [], {}
        if static.key not in self._tails:
            pdf, anchors = self.part(static)
            pieces = cut_pieces(pdf, f"p{len(self._tails)}", anchors["bands"])  # with their tags
            self._tails[static.key] = pieces, {s: anchors[s] for s in FRONT if s in anchors}
        return self._tails[static.key]

    def glyphs(self, lang: str, large: bool) -> GlyphKit:
        """The pieces page stamps of this language and print size are drawn from."""
        if (lang, large) not in self._glyphs:
            pdf, anchors = self.part(glyph_part(self.kit, lang, large))
            self._glyphs[lang, large] = GlyphKit(pdf, anchors["glyphs"])
        return self._glyphs[lang, large]

    def _static(self, static: Static, marks: list[tuple[str, int]], template: str) -> Part:
        """All pages of a static part, with the footer slot its pages are stamped in and its
        structure tree."""
        pdf, anchors = self.part(static)
        return Part(pdf, 0, len(pdf.pages), marks, _slot(anchors, template), tree=self._trees[static.key])

    def _assemble(self, row: PatientRow, lang: str, letter: Part, encrypt: bool) -> MadePacket:
        """One packet: its letter pages, then prep pages, handouts and closing pages, every
        page stamped with the packet's page numbers and reference."""
        kit, project, large = self.kit, self.kit.project, row.large_print
        words = kit.words(lang)
        titles = outline_titles(words)
        letter.bookmarks.insert(0, (titles["cover"], letter.start))
        letter.slot = _slot(self.part(page_part(kit, lang, large))[1], kit.recipe.template)
        parts = [letter]
        versions: dict[str, Any] = {"packet": kit.text.version, "tool": __version__, "handouts": {}}
        for slug in kit.packet_handouts(row.procedures):
            static = handout_part(kit, slug, row.language, large, row.procedures, row.prep_flags)
            assert isinstance(static.spec, HandoutSpec)
            meta = project.procedures[slug].edition(static.spec.lang).meta
            versions["handouts"][slug] = meta.version
            parts.append(self._static(static, [(meta.title, 0)], project.recipe.template))
        back = back_part(kit, row.procedures, lang, large, row.location, self.today, row.prep_flags)
        if back is not None:
            anchors = self.part(back)[1]
            parts.append(
                self._static(
                    back, [(titles[s], anchors[s]) for s in BACK if s in anchors], kit.recipe.back_template
                )
            )
        packet_id = secrets.token_hex(8)
        rtl = self.kit.project.languages.direction(lang) == "rtl"
        stamp = PacketStamp.make(
            self.glyphs(lang, large), words.page_of, words.packet_ref, packet_id, row.date, lang, rtl
        )
        data = assemble(
            parts,
            title=words.packet_title,
            lang=lang,
            author=project.practice.name,
            password=row.password if encrypt else "",
            stamp=stamp,
        )
        versions["pages"] = sum(p.stop - p.start for p in parts)
        return MadePacket(row, data, versions, packet_id)


def _slot(anchors: dict[str, Any], template: str) -> Slot:
    """The footer slot page stamps go in; a template without one cannot make packet pages."""
    if "stamp-slot" not in anchors:
        msg = (
            f"{template} has no page-number slot in its footer: packet pages need one for "
            'their page numbers (include "page_footer.html.j2" with stamp_slot set)'
        )
        raise RenderError(msg)
    left, top, right, bottom = anchors["stamp-slot"]
    return (left, top, right, bottom)


def sample_row(project: Project, rules: Rules, today: date | None = None) -> PatientRow:
    """A built-in fictional patient (for the live preview and docs); not from any roster. The
    visit is far enough ahead for every timed rule: the sample shows dates, not "Call us today"."""
    today = today or date.today()
    slug = next(
        s for s in ("epidural-steroid-injection", *sorted(project.procedures)) if s in project.procedures
    )
    return PatientRow(
        row=1,
        first_name="Alex",
        last_name="Sample",
        procedures=(slug,),
        date=today + timedelta(days=rules.lead_days),
        time=time(9, 30),
        location=project.practice.locations[0].id,
        physician=project.practice.physicians[0].id,
        patient_id="SAMPLE-0001",
        sedation=project.procedures[slug].meta.prep.sedation_offered,
        diabetes=True,
    )


def sample_packet(project: Project) -> bytes:
    """A packet for a built-in fictional patient, no roster and no files written (preview)."""
    kit = load_kit(project)
    maker = PacketMaker(kit, today=date.today())
    return maker.make([sample_row(project, kit.text.rules)], reveal_errors=True)[0].data
