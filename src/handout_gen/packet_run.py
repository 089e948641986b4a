"""Making many packets fast and safely: workers, chunks, the run folder, index and audit log.

Speed (GUIDE §3): static parts (handouts, closing pages) are rendered once and cached on
disk by content hash; cover letters are composed from blocks that are each laid out once
(:mod:`handout_gen.letters`); pikepdf assembles; chunks run on every core (each process has
its own PdfRenderer); the roster is streamed so only a few chunks are ever in memory.

Safety (patient-education.md §5): packets are ``packet_<random>.pdf`` (0600, folder 0700),
written atomically; ``index.csv`` maps packet ids to roster row numbers only; ``audit.jsonl``
has one line per packet (time, user, packet id, content versions, sha256) and no patient
data. A run holds a lock on its folder; a later run removes temp files a killed run left.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import io
import json
import logging
import multiprocessing
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .errors import HandoutGenError, RenderError, RosterError
from .io import ensure_dir, safe_join, write_file
from .letters import LetterPress
from .packets import (
    BACK,
    FRONT,
    Kit,
    Part,
    Static,
    assemble,
    back_part,
    handout_part,
    load_kit,
    outline_titles,
    page_part,
    prep_flags,
    prep_part,
    prepare_part,
    render_static,
)
from .project import Project
from .roster import Catalog, PatientRow, check_roster, iter_roster
from .templates import make_env

log = logging.getLogger("handout_gen")

CACHE = ".handout-gen/packet-parts"
MAX_CHUNK = 100
MARKER = ".handout-gen-run"  # only folders holding this are ever cleaned by a later run


class Worker:
    """Per-process rendering state: Jinja env, WeasyPrint renderer, opened static parts."""

    def __init__(self, kit: Kit, today: date, cache_dir: Path | None = None) -> None:
        self.kit = kit
        self.today = today
        self.cache_dir = cache_dir
        self.env = make_env(kit.project.templates_dir)
        self._pdf: Any = None
        self._press: LetterPress | None = None
        self._parts: dict[str, tuple[Any, dict[str, Any]]] = {}

    @property
    def pdf(self) -> Any:
        if self._pdf is None:
            from .pdf import PdfRenderer

            self._pdf = PdfRenderer(self.kit.project.root)
        return self._pdf

    @property
    def press(self) -> LetterPress:
        if self._press is None:
            self._press = LetterPress(
                self.kit, self.env, self.pdf, lambda lang, large: self.part(page_part(self.kit, lang, large))
            )
        return self._press

    def ensure(self, part: Static) -> None:
        """Render a static part into the disk cache unless it is there already."""
        if self.cache_dir is None or not (self.cache_dir / f"{part.key}.pdf").is_file():
            self.part(part)

    def part(self, part: Static) -> tuple[Any, dict[str, Any]]:
        """A static part as an open pikepdf.Pdf: from memory, the disk cache, or rendered."""
        import pikepdf

        if part.key in self._parts:
            return self._parts[part.key]
        data: bytes | None = None
        if self.cache_dir is not None:
            pdf_path, json_path = self.cache_dir / f"{part.key}.pdf", self.cache_dir / f"{part.key}.json"
            if pdf_path.is_file() and json_path.is_file():
                data, anchors = pdf_path.read_bytes(), json.loads(json_path.read_text())
        if data is None:
            data, anchors = render_static(self.kit, part, self.pdf, self.env)
            if self.cache_dir is not None:
                root = self.kit.project.output_dir
                write_file(self.cache_dir / f"{part.key}.json", json.dumps(anchors), root=root)
                write_file(self.cache_dir / f"{part.key}.pdf", data, root=root)
        pdf = pikepdf.open(io.BytesIO(data))
        prepare_part(pdf)
        self._parts[part.key] = (pdf, anchors)
        return self._parts[part.key]

    def packet_bytes(
        self, rows: list[PatientRow], encrypt: bool = False, *, reveal_errors: bool = False
    ) -> list[tuple[PatientRow, bytes, dict[str, Any]]]:
        """Packets of ``rows``: their cover letters composed together, then assembly.

        A template or layout error in the cover batch may quote patient data (Jinja names
        the missing key, WeasyPrint the text it choked on), so only its type is reported;
        ``reveal_errors`` keeps the full error for the preview's fictional patient.
        """
        project = self.kit.project
        langs = [(row, _packet_lang(self.kit, row.language)) for row in rows]
        try:
            batch, starts, warnings = self.press.letters(langs)
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
        done: list[tuple[PatientRow, bytes, dict[str, Any]]] = []
        for index, (row, lang) in enumerate(langs):
            large = row.large_print
            words = self.kit.words(lang)
            titles = outline_titles(words)
            first = starts[index]
            stop = starts[index + 1] if index + 1 < len(rows) else len(batch.pages)
            parts = [Part(batch, first, stop, [(titles["cover"], first)])]
            versions: dict[str, Any] = {
                "packet": self.kit.text.version,
                "tool": __version__,
                "handouts": {},
            }
            sections = self.kit.sections(row.procedures)
            prep = prep_part(self.kit, row.procedures, lang, large, prep_flags(row))
            if prep is not None:
                pdf, anchors = self.part(prep)
                marks = [(titles[s], anchors[s]) for s in FRONT if s in anchors]
                parts.append(Part(pdf, 0, len(pdf.pages), marks))
            if "handouts" in sections:
                for slug in self.kit.handout_slugs(row.procedures):
                    static = handout_part(self.kit, slug, row.language, large)
                    pdf, _ = self.part(static)
                    meta = project.procedures[slug].edition(static.spec[1]).meta
                    versions["handouts"][slug] = meta.version
                    parts.append(Part(pdf, 0, len(pdf.pages), [(meta.title, 0)]))
            back = back_part(self.kit, row.procedures, lang, large, row.location, self.today)
            if back is not None:
                pdf, anchors = self.part(back)
                marks = [(titles[s], anchors[s]) for s in BACK if s in anchors]
                parts.append(Part(pdf, 0, len(pdf.pages), marks))
            data = assemble(
                parts,
                title=words.packet_title,
                lang=lang,
                author=project.practice.name,
                password=row.password if encrypt else "",
            )
            versions["pages"] = sum(p.stop - p.start for p in parts)
            done.append((row, data, versions))
        return done


def _packet_lang(kit: Kit, lang: str) -> str:
    """The language of the packet's own words: the patient's, or English when missing."""
    return lang if any(key == lang for key in kit.text.text) else "en"


@dataclass
class RunOptions:
    """How a run writes: where, how many processes, encryption, and the date rules use."""

    out_root: Path
    workers: int = 0  # 0 = every core
    encrypt: bool = False
    skip_invalid: bool = False
    today: date = field(default_factory=date.today)
    chunk_size: int = 0  # 0 = automatic


@dataclass
class RunReport:
    run_dir: Path
    written: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)


# --- worker processes (fork: they inherit the loaded project) -------------------------------

_PARENT: dict[str, Any] = {}
_WORKER: dict[str, Any] = {}


def _init_worker() -> None:
    _WORKER["worker"] = Worker(_PARENT["kit"], _PARENT["today"], _PARENT["cache_dir"])
    _WORKER.update(run_dir=_PARENT["run_dir"], out_root=_PARENT["out_root"], encrypt=_PARENT["encrypt"])


def _ensure_task(part: Static) -> str:
    _WORKER["worker"].ensure(part)
    return part.key


def _chunk_task(rows: list[PatientRow]) -> list[dict[str, Any]]:
    state = _WORKER
    return write_packets(state["worker"], rows, state["run_dir"], state["out_root"], state["encrypt"])


def write_packets(
    worker: Worker, rows: list[PatientRow], run_dir: Path, out_root: Path, encrypt: bool
) -> list[dict[str, Any]]:
    """Render and write the packets of one chunk; return their audit records (no PHI)."""
    records = []
    for row, data, versions in worker.packet_bytes(rows, encrypt):
        packet_id = secrets.token_hex(8)
        write_file(run_dir / f"packet_{packet_id}.pdf", data, root=out_root, private=True)
        records.append(
            {
                "packet": packet_id,
                "row": row.row,
                "sha256": hashlib.sha256(data).hexdigest(),
                "encrypted": bool(encrypt and row.password),
                "versions": versions,
            }
        )
    return records


# --- the run -------------------------------------------------------------------------------


def _append(path: Path, text: str) -> None:
    """Append complete lines in ONE write (0600): a killed run leaves whole lines only.

    io.write_file replaces files; an append-only audit log needs O_APPEND instead.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Cleaned:
    """What clean_interrupted removed (counts only: file names say nothing, contents are PHI)."""

    temp_files: int = 0
    orphan_packets: int = 0


def _indexed(run_dir: Path) -> set[str]:
    try:
        lines = (run_dir / "index.csv").read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    return {line.split(",", 1)[0] for line in lines[1:] if line}


def _remove_unfinished(run_dir: Path, cleaned: Cleaned) -> None:
    """Temp files, and packets the index does not list (their chunk was never recorded)."""
    for stray in run_dir.glob(".tmp-*"):
        stray.unlink(missing_ok=True)
        cleaned.temp_files += 1
    listed = _indexed(run_dir)
    for packet in run_dir.glob("packet_*.pdf"):
        if packet.name[len("packet_") : -len(".pdf")] not in listed:
            packet.unlink(missing_ok=True)
            cleaned.orphan_packets += 1


def clean_interrupted(out_root: Path) -> Cleaned:
    """Tidy run folders that killed runs left in ``out_root``; count what was removed.

    Only subfolders holding the run marker are touched (``-o`` may be a shared folder with
    other people's files). A run folder whose ``.lock`` exists but is not held was killed:
    its temp files and the packets its index does not list (the parent indexes a chunk
    only when it is complete) are removed, so no unlisted patient file stays behind.
    """
    cleaned = Cleaned()
    if not out_root.is_dir():
        return cleaned
    for run_dir in sorted(p for p in out_root.iterdir() if p.is_dir() and not p.is_symlink()):
        lock = run_dir / ".lock"
        if not (run_dir / MARKER).is_file() or not lock.is_file():
            continue  # not ours, or a run that finished
        fd = os.open(lock, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another run is writing here right now
            before = cleaned.orphan_packets
            _remove_unfinished(run_dir, cleaned)
            log.warning(
                "run %s did not finish; removed %d packet(s) it had not listed in index.csv. "
                "Its listed packets are complete; rerun for a full set",
                run_dir.name,
                cleaned.orphan_packets - before,
            )
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return cleaned


def _plan(kit: Kit, variants: Iterable[tuple[Any, ...]], today: date) -> list[Static]:
    parts: dict[str, Static] = {}
    warned: set[tuple[str, str]] = set()
    for slugs, lang, large, location, flags in variants:
        eff = _packet_lang(kit, lang)
        page = page_part(kit, eff, large)
        parts[page.key] = page
        if eff != lang and ("packet", lang) not in warned:
            warned.add(("packet", lang))
            log.warning("content/packet.yaml has no '%s' text; those packets use English", lang)
        if "handouts" in kit.sections(slugs):
            for slug in kit.handout_slugs(slugs):
                if lang not in kit.project.procedures[slug].editions and (slug, lang) not in warned:
                    warned.add((slug, lang))
                    log.warning("%s has no '%s' edition; those packets use the English handout", slug, lang)
                part = handout_part(kit, slug, lang, large)
                parts[part.key] = part
        for extra in (
            back_part(kit, slugs, eff, large, location, today),
            prep_part(kit, slugs, eff, large, flags),
        ):
            if extra is not None:
                parts[extra.key] = extra
    return list(parts.values())


def run_packets(
    project: Project,
    roster: Path | list[PatientRow],
    options: RunOptions,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> RunReport:
    """Validate, then write every packet of ``roster`` into a new private run folder."""
    kit = load_kit(project)
    if isinstance(roster, list):
        rows_list = roster
        variants = {(r.procedures, r.language, r.large_print, r.location, prep_flags(r)) for r in rows_list}
        total, bad_rows, problems = len(rows_list), set(), []

        def rows() -> Iterator[PatientRow]:
            yield from rows_list
    else:
        path = roster
        catalog = Catalog.for_project(project, options.today, options.encrypt)
        summary = check_roster(path, catalog)
        if summary.fatal or (summary.problems and not options.skip_invalid):
            raise RosterError(summary.problems, path.name)
        if summary.has_passwords and not options.encrypt:
            log.warning("the roster has passwords but --encrypt was not given; packets are NOT encrypted")
        variants, total, bad_rows, problems = (
            summary.variants,
            summary.valid,
            summary.bad_rows,
            summary.problems,
        )

        def rows() -> Iterator[PatientRow]:
            for number, row, found in iter_roster(path, catalog):
                if row is not None:
                    yield row
                elif number not in bad_rows:
                    raise RosterError(found, f"{path.name} (it changed while packets were being made)")

    # Everything is validated: only now is anything created on disk.
    out_root = options.out_root.resolve()
    cleaned = clean_interrupted(out_root)
    if cleaned.temp_files:
        log.warning("removed %d unfinished temporary file(s) left by an interrupted run", cleaned.temp_files)
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    run_dir = safe_join(out_root, run_id)
    ensure_dir(out_root)  # normal mode; an existing (maybe shared) folder is never chmod-ed
    run_dir.mkdir(mode=0o700)  # new, so ensure_dir(private=True) chmods only our own folder
    ensure_dir(run_dir, private=True)
    report = RunReport(run_dir, skipped_rows=sorted(bad_rows), problems=problems)
    # Lock first, then the marker: a concurrent clean never sees an unlocked marked folder.
    lock_fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    finished = False
    try:
        _append(run_dir / MARKER, f"handout-gen {__version__} packet run {run_id}\n")
        _append(run_dir / "index.csv", "packet_id,row\n")
        _audit(run_dir, {"event": "run-start", "run": run_id, "rows": total, "skipped_rows": len(bad_rows)})
        if on_total and total:
            on_total(total)
        cache_dir = project.output_dir / CACHE
        statics = _plan(kit, variants, options.today)
        workers = options.workers or os.cpu_count() or 1
        chunk = options.chunk_size or max(1, min(MAX_CHUNK, -(-total // workers)))
        if workers == 1 or total <= chunk:
            worker = Worker(kit, options.today, cache_dir)
            for part in statics:
                worker.ensure(part)
            for rows_chunk in _chunks(rows(), chunk):
                _record(
                    run_dir,
                    run_id,
                    write_packets(worker, rows_chunk, run_dir, out_root, options.encrypt),
                    report,
                    progress,
                )
        else:
            _pool_run(
                kit,
                statics,
                rows(),
                chunk,
                workers,
                options,
                cache_dir,
                run_dir,
                out_root,
                run_id,
                report,
                progress,
            )
        _audit(run_dir, {"event": "run-complete", "run": run_id, "packets": report.written})
        finished = True
    finally:
        if not finished:  # an error stopped the run: leave no unlisted packet behind
            _remove_unfinished(run_dir, Cleaned())
        (run_dir / ".lock").unlink(missing_ok=True)
        os.close(lock_fd)
    return report


def _pool_run(
    kit: Kit,
    statics: list[Static],
    rows: Iterator[PatientRow],
    chunk: int,
    workers: int,
    options: RunOptions,
    cache_dir: Path,
    run_dir: Path,
    out_root: Path,
    run_id: str,
    report: RunReport,
    progress: Callable[[int], None] | None,
) -> None:
    _PARENT.update(
        kit=kit,
        today=options.today,
        cache_dir=cache_dir,
        run_dir=run_dir,
        out_root=out_root,
        encrypt=options.encrypt,
    )
    import weasyprint  # noqa: F401 - once, before the fork: workers share it instead of each importing it

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        try:
            list(pool.map(_ensure_task, statics))  # every static part rendered once, in parallel
            pending: set[Future[list[dict[str, Any]]]] = set()
            for rows_chunk in _chunks(rows, chunk):
                if len(pending) >= workers * 2:  # bounded: memory stays flat in roster size
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        _record(run_dir, run_id, future.result(), report, progress)
                pending.add(pool.submit(_chunk_task, rows_chunk))
            for future in pending:
                _record(run_dir, run_id, future.result(), report, progress)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            _PARENT.clear()


def _chunks(rows: Iterator[PatientRow], size: int) -> Iterator[list[PatientRow]]:
    batch: list[PatientRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _audit(run_dir: Path, record: dict[str, Any]) -> None:
    line = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "user": _user(), **record}
    _append(run_dir / "audit.jsonl", json.dumps(line, sort_keys=True) + "\n")


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _record(
    run_dir: Path,
    run_id: str,
    records: list[dict[str, Any]],
    report: RunReport,
    progress: Callable[[int], None] | None,
) -> None:
    """Index and audit lines for a finished chunk, each file in one append."""
    if not records:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    user = _user()
    _append(run_dir / "index.csv", "".join(f"{r['packet']},{r['row']}\n" for r in records))
    audit = "".join(
        json.dumps(
            {
                "time": now,
                "user": user,
                "event": "packet",
                "run": run_id,
                "packet": r["packet"],
                "versions": r["versions"],
                "sha256": r["sha256"],
                "encrypted": r["encrypted"],
            },
            sort_keys=True,
        )
        + "\n"
        for r in records
    )
    _append(run_dir / "audit.jsonl", audit)
    report.written += len(records)
    if progress:
        progress(len(records))
