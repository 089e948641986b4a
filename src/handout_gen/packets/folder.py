"""A packet run's folder: its lock, marker, index and audit log, and the tidying of killed runs.

The promise (patient-education.md §5): every packet file in a run folder is complete and
listed in its ``index.csv``, with an audit line; nothing else of a patient's stays behind.

- A run holds an exclusive ``flock`` on ``<run>/.lock`` while it writes; the lock file is
  removed when the run ends, however it ends (short of a kill).
- A chunk of packets is listed in the index and the audit log together, or in neither
  (:func:`~handout_gen.core.files.append_together`), and only once its files are written.
- A run that stops (an error, a full disk, Ctrl-C) removes the packets it had not listed
  before it lets go of the lock. A run that was killed cannot: the next run into the same
  output folder finds its ``.lock`` unheld and removes its temp files and unlisted packets,
  and says how many (counts only: file names say nothing, contents are PHI).
- Only folders holding the marker are ever cleaned, so ``-o`` may be a shared folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handout_gen import __version__
from handout_gen.core.errors import OutputError, plural
from handout_gen.core.files import AppendLog, append_text, append_together, ensure_dir, safe_join, write_file
from handout_gen.core.interrupts import HeldInterrupt

log = logging.getLogger("handout_gen")

MARKER = ".handout-gen-run"  # only folders holding this are ever cleaned by a later run
LOCK = ".lock"


@dataclass
class Cleaned:
    """What was removed (counts only)."""

    temp_files: int = 0
    orphan_packets: int = 0


INDEX = "index.csv"  # packet_id,row: the run's list of its complete packets


def index_rows(run_dir: Path) -> list[tuple[int, str]]:
    """(roster row, packet id) of every packet a run's index lists, in row order (ValueError
    for a line no run wrote)."""
    return _listed((run_dir / INDEX).read_text(encoding="utf-8").splitlines())


def _listed(lines: list[str]) -> list[tuple[int, str]]:
    """:func:`index_rows` of an index's lines (its header first)."""
    listed = [line.rstrip("\n").split(",") for line in lines[1:] if line.strip()]
    return sorted((int(row), packet_id) for packet_id, row in listed)


def _indexed(run_dir: Path) -> set[str]:
    """The packet ids an index lists; read line by line, so a damaged line costs no other."""
    try:
        lines = (run_dir / INDEX).read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    return {line.split(",", 1)[0] for line in lines[1:] if line}


def remove_unfinished(run_dir: Path, cleaned: Cleaned) -> None:
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
    """Tidy the run folders that killed runs left in ``out_root``; count what was removed.

    A marked run folder whose ``.lock`` exists but is not held was killed. Its workers died
    with it and never held the lock (:mod:`~handout_gen.core.workers`), so an unheld lock
    means nobody can still be writing there.
    """
    cleaned = Cleaned()
    if not out_root.is_dir():
        return cleaned
    for run_dir in sorted(p for p in out_root.iterdir() if p.is_dir() and not p.is_symlink()):
        lock = run_dir / LOCK
        if not (run_dir / MARKER).is_file() or not lock.is_file():
            continue  # not ours, or a run that finished
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # it finished just now
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another run is writing here right now
            if not _same_file(fd, lock):
                continue  # the run finished (and removed its lock) between our open and flock
            before = cleaned.orphan_packets
            remove_unfinished(run_dir, cleaned)
            log.warning(
                "run %s did not finish; removed %s it had not listed in index.csv. "
                "Its listed packets are complete; rerun for a full set",
                run_dir.name,
                plural(cleaned.orphan_packets - before, "packet"),
            )
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return cleaned


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except OSError:
        return False


def new_run_dir(out_root: Path) -> tuple[str, Path]:
    """Tidy what killed runs left in ``out_root``, then make this run's private folder."""
    cleaned = clean_interrupted(out_root)
    if cleaned.temp_files:
        left = plural(cleaned.temp_files, "unfinished temporary file")
        log.warning("removed %s left by an interrupted run", left)
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    run_dir = safe_join(out_root, run_id)
    try:
        ensure_dir(out_root)  # normal mode; an existing (maybe shared) folder is never chmod-ed
        run_dir.mkdir(mode=0o700)  # new, so ensure_dir(private=True) chmods only our own folder
        ensure_dir(run_dir, private=True)
    except OSError as exc:
        raise OutputError(f"cannot make a run folder in {out_root}: {exc.strerror or exc}") from None
    return run_id, run_dir


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class RunFolder:
    """An open run folder: the lock held, the index and audit journals open.

    Closing it after a failure records why the run stopped (if the disk lets it), removes the
    packets the index does not list, and only then releases the lock.
    """

    def __init__(self, run_dir: Path, run_id: str) -> None:
        self.run_dir, self.run_id = run_dir, run_id
        self.packets = 0  # listed so far
        self._journals: list[AppendLog] = []
        # Lock first, then the marker: a concurrent clean never sees an unlocked marked folder.
        try:
            self._lock = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise OutputError(f"cannot lock {run_dir}: {exc.strerror or exc}") from None
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            append_text(run_dir / MARKER, f"handout-gen {__version__} packet run {run_id}\n")
            self.index = self._open(INDEX)
            self.audit_log = self._open("audit.jsonl")
            self.index.append("packet_id,row\n")
        except BaseException:
            self._release()
            raise

    def _open(self, name: str) -> AppendLog:
        journal = AppendLog(self.run_dir / name)
        self._journals.append(journal)
        return journal

    def inherited(self) -> list[int]:
        """Descriptors a forked worker must close: the lock and the journals are the run's."""
        return [self._lock, *(j.fileno() for j in self._journals)]

    def _line(self, record: dict[str, Any], now: str, user: str) -> str:
        return json.dumps({"time": now, "user": user, **record}, sort_keys=True) + "\n"

    def audit(self, record: dict[str, Any]) -> None:
        """One audit line (no patient data)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.audit_log.append(self._line({"run": self.run_id, **record}, now, _user()))

    def record(self, records: list[dict[str, Any]]) -> None:
        """List a finished chunk in the index and the audit log: in both, or (on error) in neither."""
        if not records:
            return
        now, user = datetime.now(UTC).isoformat(timespec="seconds"), _user()
        index = "".join(f"{r['packet']},{r['row']}\n" for r in records)
        audit = "".join(
            self._line(
                {"event": "packet", "run": self.run_id, "packet": r["packet"], "versions": r["versions"],
                 "sha256": r["sha256"], "encrypted": r["encrypted"]},
                now,
                user,
            )
            for r in records
        )
        with HeldInterrupt():  # a Ctrl-C here waits: the count below always matches the files
            append_together((self.index, index), (self.audit_log, audit))
            self.packets += len(records)

    def close(self, error: BaseException | None = None) -> None:
        """End the run; after ``error``, leave only the packets the index lists."""
        with HeldInterrupt():
            try:
                if error is not None:
                    self._stopped(error)
                else:
                    self._sort_index()
            finally:
                self._release()

    def _sort_index(self) -> None:
        """A finished run's index in roster order, as the desk reads it (chunks finish in any
        order). Replaced whole, atomically; on a full disk it stays as it is, complete."""
        path = self.run_dir / INDEX
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        try:
            ordered = [f"{packet_id},{row}\n" for row, packet_id in _listed(lines)]
        except ValueError:  # not a line this run wrote: leave the index as it is
            return
        if ordered != lines[1:]:
            with contextlib.suppress(OutputError):
                write_file(path, lines[0] + "".join(ordered), root=self.run_dir, private=True)

    def _stopped(self, error: BaseException) -> None:
        reason = "interrupted" if isinstance(error, KeyboardInterrupt) else type(error).__name__
        with contextlib.suppress(OutputError):  # a full disk: no stop line; the audit still matches
            self.audit({"event": "run-stopped", "reason": reason, "packets": self.packets})
        remove_unfinished(self.run_dir, Cleaned())

    def _release(self) -> None:
        for journal in self._journals:
            journal.close()
        self._journals.clear()
        (self.run_dir / LOCK).unlink(missing_ok=True)
        os.close(self._lock)
