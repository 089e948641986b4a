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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from handout_gen import __version__
from handout_gen.content.project import Project
from handout_gen.core.errors import HandoutGenError, RenderError
from handout_gen.core.files import write_file
from handout_gen.packets.assemble import Part, assemble, outline_titles, prepare_part
from handout_gen.packets.kit import BACK, FRONT, Kit, load_kit
from handout_gen.packets.letters import LetterPress
from handout_gen.packets.parts import (
    HandoutSpec,
    Static,
    back_part,
    handout_part,
    page_part,
    prep_part,
    render_static,
)
from handout_gen.packets.roster import PatientRow
from handout_gen.packets.structure import Tree, part_tree
from handout_gen.render.engine import Engine

log = logging.getLogger("handout_gen")
CACHE_FORMAT = "tagged"  # in the cached parts' names: parts cached before they were tagged are not used


@dataclass
class MadePacket:
    """One finished packet: its row, its PDF bytes and the versions it was made from (no PHI)."""

    row: PatientRow
    data: bytes
    versions: dict[str, Any] = field(default_factory=dict)


class PacketMaker:
    """Per-process packet state: engine, letter press, opened static parts."""

    def __init__(self, kit: Kit, today: date, cache_dir: Path | None = None) -> None:
        self.kit = kit
        self.today = today
        self.cache_dir = cache_dir
        self.engine = Engine(kit.project.root, kit.project.templates_dir)
        self._parts: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._trees: dict[str, Tree | None] = {}  # each opened part's structure template

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
        data: bytes | None = None
        if self.cache_dir is not None:
            pdf_path, json_path = self._cached(part, ".pdf"), self._cached(part, ".json")
            if pdf_path.is_file() and json_path.is_file():
                data, anchors = pdf_path.read_bytes(), json.loads(json_path.read_text())
        if data is None:
            data, anchors = render_static(self.kit, part, self.engine)
            if self.cache_dir is not None:
                root = self.kit.project.output_dir
                write_file(self._cached(part, ".json"), json.dumps(anchors), root=root)
                write_file(self._cached(part, ".pdf"), data, root=root)
        pdf = pikepdf.open(io.BytesIO(data))
        prepare_part(pdf)
        self._parts[part.key] = (pdf, anchors)
        self._trees[part.key] = part_tree(pdf)
        return self._parts[part.key]

    def tagged(self, part: Static, bookmarks: list[tuple[str, int]]) -> Part:
        """All the pages of a static part, with its bookmarks and structure tree."""
        pdf, _ = self.part(part)
        return Part(pdf, 0, len(pdf.pages), bookmarks, self._trees[part.key])

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
        try:
            batch, starts, warnings, trees = self.press.letters(langs)
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
            log.warning("WeasyPrint reported %d layout warning(s) in a batch of cover letters", len(warnings))
        ends = [*starts[1:], len(batch.pages)]
        for (row, lang), first, stop, tree in zip(langs, starts, ends, trees, strict=True):
            yield self._assemble(row, lang, Part(batch, first, stop, [], tree), encrypt)

    def _assemble(self, row: PatientRow, lang: str, letter: Part, encrypt: bool) -> MadePacket:
        """One packet: its letter pages, then prep pages, handouts and closing pages."""
        project, large = self.kit.project, row.large_print
        words = self.kit.words(lang)
        titles = outline_titles(words)
        letter.bookmarks.append((titles["cover"], letter.start))
        parts = [letter]
        versions: dict[str, Any] = {"packet": self.kit.text.version, "tool": __version__, "handouts": {}}
        prep = prep_part(self.kit, row.procedures, lang, large, row.prep_flags)
        if prep is not None:
            _, anchors = self.part(prep)
            parts.append(self.tagged(prep, [(titles[s], anchors[s]) for s in FRONT if s in anchors]))
        if "handouts" in self.kit.sections(row.procedures):
            for slug in self.kit.handout_slugs(row.procedures):
                static = handout_part(self.kit, slug, row.language, large)
                assert isinstance(static.spec, HandoutSpec)
                meta = project.procedures[slug].edition(static.spec.lang).meta
                versions["handouts"][slug] = meta.version
                parts.append(self.tagged(static, [(meta.title, 0)]))
        back = back_part(self.kit, row.procedures, lang, large, row.location, self.today)
        if back is not None:
            _, anchors = self.part(back)
            parts.append(self.tagged(back, [(titles[s], anchors[s]) for s in BACK if s in anchors]))
        data = assemble(
            parts,
            title=words.packet_title,
            lang=lang,
            author=project.practice.name,
            password=row.password if encrypt else "",
        )
        versions["pages"] = sum(p.stop - p.start for p in parts)
        return MadePacket(row, data, versions)


def sample_row(project: Project, today: date | None = None) -> PatientRow:
    """A built-in fictional patient (for the live preview and docs); not from any roster."""
    today = today or date.today()
    slug = next(
        s for s in ("epidural-steroid-injection", *sorted(project.procedures)) if s in project.procedures
    )
    return PatientRow(
        row=1,
        first_name="Alex",
        last_name="Sample",
        procedures=(slug,),
        date=today + timedelta(days=7),
        time=time(9, 30),
        location=project.practice.locations[0].id,
        physician=project.practice.physicians[0].id,
        patient_id="SAMPLE-0001",
        sedation=project.procedures[slug].meta.prep.sedation_offered,
        diabetes=True,
    )


def sample_packet(project: Project) -> bytes:
    """A packet for a built-in fictional patient, no roster and no files written (preview)."""
    maker = PacketMaker(load_kit(project), today=date.today())
    return maker.make([sample_row(project)], reveal_errors=True)[0].data
