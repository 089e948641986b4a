"""Making many packets fast and safely: workers, chunks, the run folder, index and audit log.

Speed (GUIDE §3): static parts (handouts, closing pages) are rendered once and cached on
disk by content hash; cover letters are composed from blocks that are each laid out once
(:mod:`handout_gen.packets.letters`); pikepdf assembles; chunks run on every core (each process has
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

from handout_gen import __version__
from handout_gen.content.project import Project
from handout_gen.core.errors import Problem, RosterError
from handout_gen.core.files import append_text, ensure_dir, safe_join, write_file
from handout_gen.packets.kit import Kit, load_kit
from handout_gen.packets.packet import PacketMaker
from handout_gen.packets.parts import Static, back_part, handout_part, page_part, prep_part
from handout_gen.packets.roster import PacketVariant, PatientRow, check_roster, iter_roster

log = logging.getLogger("handout_gen")

CACHE = ".handout-gen/packet-parts"
MAX_CHUNK = 100
MARKER = ".handout-gen-run"  # only folders holding this are ever cleaned by a later run


@dataclass
class RunOptions:
    """How a run writes: where, how many processes, encryption, and the date rules use."""

    out_root: Path
    workers: int = 0  # 0 = every core
    encrypt: bool = False
    skip_invalid: bool = False
    today: date = field(default_factory=date.today)
    chunk_size: int = 0  # 0 = automatic
    allow_late: bool = False  # rules the print date is too late for print "Call us today"


@dataclass
class RunReport:
    run_dir: Path
    written: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- worker processes (fork: they inherit the loaded project) -------------------------------

_PARENT: dict[str, Any] = {}
_WORKER: dict[str, Any] = {}


def _init_worker() -> None:
    _WORKER["worker"] = PacketMaker(_PARENT["kit"], _PARENT["today"], _PARENT["cache_dir"])
    _WORKER.update(run_dir=_PARENT["run_dir"], out_root=_PARENT["out_root"], encrypt=_PARENT["encrypt"])


def _ensure_task(part: Static) -> str:
    _WORKER["worker"].ensure(part)
    return part.key


def _chunk_task(rows: list[PatientRow]) -> list[dict[str, Any]]:
    state = _WORKER
    return write_packets(state["worker"], rows, state["run_dir"], state["out_root"], state["encrypt"])


def write_packets(
    worker: PacketMaker, rows: list[PatientRow], run_dir: Path, out_root: Path, encrypt: bool
) -> list[dict[str, Any]]:
    """Render and write the packets of one chunk; return their audit records (no PHI)."""
    records = []
    for made in worker.make(rows, encrypt):
        row, data = made.row, made.data
        packet_id = secrets.token_hex(8)
        write_file(run_dir / f"packet_{packet_id}.pdf", data, root=out_root, private=True)
        records.append(
            {
                "packet": packet_id,
                "row": row.row,
                "sha256": hashlib.sha256(data).hexdigest(),
                "encrypted": bool(encrypt and row.password),
                "versions": made.versions,
            }
        )
    return records


# --- the run -------------------------------------------------------------------------------


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


def _plan(kit: Kit, variants: Iterable[PacketVariant], today: date) -> list[Static]:
    """Every static part the roster's packets need, so each is rendered once before any packet."""
    parts: dict[str, Static] = {}
    warned: set[tuple[str, str]] = set()
    for variant in variants:
        slugs, lang, large = variant.procedures, variant.language, variant.large_print
        location, flags = variant.location, variant.flags
        eff = kit.packet_lang(lang)
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


def _new_run_dir(out_root: Path) -> tuple[str, Path]:
    """Tidy what killed runs left in ``out_root``, then make this run's private folder."""
    cleaned = clean_interrupted(out_root)
    if cleaned.temp_files:
        log.warning("removed %d unfinished temporary file(s) left by an interrupted run", cleaned.temp_files)
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    run_dir = safe_join(out_root, run_id)
    ensure_dir(out_root)  # normal mode; an existing (maybe shared) folder is never chmod-ed
    run_dir.mkdir(mode=0o700)  # new, so ensure_dir(private=True) chmods only our own folder
    ensure_dir(run_dir, private=True)
    return run_id, run_dir


@dataclass
class _Validated:
    """What the validation pass learned (no patient data) and how to stream the rows again."""

    variants: set[PacketVariant]
    total: int
    bad_rows: set[int]
    problems: list[Problem]
    rows: Callable[[], Iterator[PatientRow]]


def _validate(kit: Kit, roster: Path | list[PatientRow], options: RunOptions) -> _Validated:
    """Pass one over the roster: every row checked before anything is created on disk."""
    if isinstance(roster, list):
        rows_list = roster
        return _Validated({r.variant for r in rows_list}, len(rows_list), set(), [], lambda: iter(rows_list))
    path = roster
    catalog = kit.catalog(options.today, options.encrypt, options.allow_late)
    summary = check_roster(path, catalog)
    if summary.fatal or (summary.problems and not options.skip_invalid):
        raise RosterError(summary.problems, path.name)
    if summary.has_passwords and not options.encrypt:
        log.warning("the roster has passwords but --encrypt was not given; packets are NOT encrypted")

    def rows() -> Iterator[PatientRow]:  # pass two streams the file again: memory stays flat
        for number, row, found in iter_roster(path, catalog):
            if row is not None:
                yield row
            elif number not in summary.bad_rows:
                raise RosterError(found, f"{path.name} (it changed while packets were being made)")

    return _Validated(summary.variants, summary.valid, summary.bad_rows, summary.problems, rows)


def run_packets(
    project: Project,
    roster: Path | list[PatientRow],
    options: RunOptions,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> RunReport:
    """Validate, then write every packet of ``roster`` into a new private run folder."""
    kit = load_kit(project)
    plan = _validate(kit, roster, options)
    # Everything is validated: only now is anything created on disk.
    out_root = options.out_root.resolve()
    run_id, run_dir = _new_run_dir(out_root)
    report = RunReport(run_dir, skipped_rows=sorted(plan.bad_rows), problems=plan.problems)
    # Lock first, then the marker: a concurrent clean never sees an unlocked marked folder.
    lock_fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    finished = False
    try:
        append_text(run_dir / MARKER, f"handout-gen {__version__} packet run {run_id}\n")
        append_text(run_dir / "index.csv", "packet_id,row\n")
        start = {"event": "run-start", "run": run_id, "rows": plan.total, "skipped_rows": len(plan.bad_rows)}
        _audit(run_dir, start)
        if on_total and plan.total:
            on_total(plan.total)
        cache_dir = project.output_dir / CACHE
        statics = _plan(kit, plan.variants, options.today)
        workers = options.workers or os.cpu_count() or 1
        chunk = options.chunk_size or max(1, min(MAX_CHUNK, -(-plan.total // workers)))
        if workers == 1 or plan.total <= chunk:
            worker = PacketMaker(kit, options.today, cache_dir)
            for part in statics:
                worker.ensure(part)
            for rows_chunk in _chunks(plan.rows(), chunk):
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
                plan.rows(),
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
    append_text(run_dir / "audit.jsonl", json.dumps(line, sort_keys=True) + "\n")


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
    append_text(run_dir / "index.csv", "".join(f"{r['packet']},{r['row']}\n" for r in records))
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
    append_text(run_dir / "audit.jsonl", audit)
    report.written += len(records)
    if progress:
        progress(len(records))
