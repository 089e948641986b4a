"""The one write helper (atomic, confined, optionally private) and the one append-only log writer.

Every file the tool writes goes through :func:`write_file`, so a crash never leaves half a
file behind or clobbers a good one, and no path built from data can escape ``output/``.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from handout_gen.core.errors import InputRefused, OutputError, Problem, relpath

# Sizes no real practice reaches (a procedure file is about 4 KB), checked before a file is
# read, so a mistaken or hostile file costs nothing and gets a clear message.
MAX_TEXT_BYTES = 1_000_000  # one Markdown or YAML file
MAX_ROSTER_BYTES = 100_000_000  # about 300,000 appointment rows


def digest_of(*parts: str | bytes) -> str:
    """One sha256 over ``parts``, each ended by a NUL so ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def inside(path: Path, folder: Path) -> bool:
    """Does ``path``, with every symlink followed, lie inside ``folder``?"""
    target, base = path.resolve(), folder.resolve()
    return target == base or base in target.parents


def read_input(path: Path, *, folder: Path, root: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """Read a project input, refusing (without opening it) one that resolves outside
    ``folder`` (a symlink to a file elsewhere) or is larger than ``limit``."""
    if not inside(path, folder):
        where = relpath(folder, root)
        message = f"resolves outside {where}/ (a link to a file elsewhere); it was not read"
        raise InputRefused(Problem(relpath(path, root), message, rule="references.outside"))
    try:
        size = path.stat().st_size
        if size > limit:
            message = f"is {size:,} bytes; files here may be at most {limit:,} bytes"
            raise InputRefused(Problem(relpath(path, root), message, rule="references.too-large"))
        return path.read_bytes()
    except OSError as exc:
        message = f"cannot be read ({exc.strerror or exc})"
        raise InputRefused(Problem(relpath(path, root), message)) from None


def safe_join(base: Path, *parts: str) -> Path:
    """Join ``parts`` under ``base`` and refuse anything that resolves outside it."""
    base = base.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        msg = f"refusing to write outside {base}: {'/'.join(parts)}"
        raise OutputError(msg)
    return target


def ensure_dir(path: Path, *, private: bool = False) -> None:
    """Create ``path`` (and parents); private folders are 0700 even if they already exist."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    if private:
        os.chmod(path, 0o700)


def write_file(
    path: Path, data: bytes | str, *, root: Path, private: bool = False, sync: bool = True
) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    ``root`` is the folder writes are confined to (normally the project's ``output/`` or
    a user-chosen ``-o`` folder). ``private`` makes the file 0600 and its folder 0700, for
    anything holding patient data. The temp file is created 0600 from the start, so patient
    data is never readable by others even for an instant. ``sync=False`` leaves the fsync
    to one :func:`sync_disk` after a batch of files, for callers that only count a file as
    written once it is listed after that (packet runs: see packets/run.py).
    """
    root = root.resolve()
    path = Path(os.path.abspath(path))
    if path.resolve() != root and root not in path.resolve().parents:
        msg = f"refusing to write outside {root}: {path}"
        raise OutputError(msg)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        ensure_dir(path.parent, private=private)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise OutputError(msg) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, quota, permissions: the old file is kept
            msg = f"cannot write {path}: {exc.strerror or exc}; the previous file (if any) is unchanged"
            raise OutputError(msg) from exc
        raise
    return path


def sync_disk(folder: Path) -> None:
    """Make everything written on ``folder``'s file system durable: one ``syncfs`` (Linux;
    elsewhere ``sync``) instead of an fsync per file, which would wait for the disk each time."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if sys.platform.startswith("linux"):
                if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            else:  # pragma: no cover - Linux is where this runs and is tested
                os.sync()
        finally:
            os.close(fd)
    except OSError as exc:
        msg = f"cannot write to {folder}: {exc.strerror or exc}"
        raise OutputError(msg) from exc


class Manifest:
    """Which inputs made each output (a hash per output name), so builds skip unchanged work.

    Kept in ``output/.handout-gen/<kind>.json`` and saved after every recorded output, so
    an interrupted build keeps what it finished. With the key goes a hash of each file as
    written: a file cut short, edited or replaced since is made again (and ``check`` reads no
    damaged PDF back), for reading the outputs once (a few MB: milliseconds).
    """

    def __init__(self, output_dir: Path, kind: str) -> None:
        self.root = output_dir
        self.path = output_dir / ".handout-gen" / f"{kind}.json"
        try:
            self.keys: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.keys = {}

    def unchanged(self, name: str, key: str, *outputs: Path) -> bool:
        """True when ``name`` was last made from ``key`` and its files are still as written."""
        try:
            return self.keys.get(name) == _stamped(key, outputs)
        except OSError:  # a file gone (or unreadable): make it again
            return False

    def record(self, name: str, key: str, *outputs: Path) -> None:
        """``name`` was made from ``key`` into ``outputs`` (just written)."""
        self.keys[name] = _stamped(key, outputs)
        self._save()

    def forget(self, name: str) -> None:
        """Drop ``name`` (its output was removed)."""
        if self.keys.pop(name, None) is not None:
            self._save()

    def _save(self) -> None:
        write_file(self.path, json.dumps(self.keys, indent=1, sort_keys=True), root=self.root)


def _stamped(key: str, outputs: tuple[Path, ...]) -> str:
    """``key`` with the name and a hash of each file it made (what it holds, not when it was
    written: a copy without its timestamps is still the same build)."""
    digests = sorted(f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}" for path in outputs)
    return ";".join([key, *digests])


@dataclass
class BuildReport:
    """What a build wrote and what it found unchanged (for the summary line)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


class AppendLog:
    """An append-only journal of whole lines (0600 unless ``mode`` says): every append is all
    there, fsynced, or not there.

    :func:`write_file` replaces whole files; a journal that grows a line at a time (the
    packet index and audit log, the newsletter send log) needs O_APPEND instead. Each append
    is one write() of whole lines, checked and fsynced; a short write, a full disk or a
    failed fsync truncates the file back to its length before the append and raises
    :class:`OutputError`, so a reader never meets half a record. A line torn by a kill
    (SIGKILL can cut a write short) or a power cut is dropped when the log is next opened,
    so the next append never glues a record onto a fragment.

    One writer per file: the rollback truncates to the length *this* writer saw.
    """

    def __init__(self, path: Path, *, mode: int = 0o600) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, mode)
        except OSError as exc:
            raise OutputError(f"cannot open {path}: {exc.strerror or exc}") from exc
        try:
            self._drop_torn_tail()
        except OSError as exc:
            self.close()
            raise OutputError(f"cannot repair {path}: {exc.strerror or exc}") from exc

    def fileno(self) -> int:
        if self._fd is None:
            msg = f"{self.path} is closed"
            raise OutputError(msg)
        return self._fd

    def _drop_torn_tail(self) -> None:
        """Cut a last line that has no newline (a record that was never finished)."""
        fd = self.fileno()
        end = size = os.fstat(fd).st_size
        while end > 0:
            start = max(0, end - 4096)
            found = os.pread(fd, end - start, start).rfind(b"\n")
            if found >= 0:
                end = start + found + 1
                break
            end = start
        if end != size:
            os.ftruncate(fd, end)
            os.fsync(fd)

    def append(self, text: str) -> None:
        """Append whole lines (``text`` ends with a newline), fsynced; or nothing at all."""
        append_together((self, text))

    def _write(self, data: bytes) -> None:
        fd = self.fileno()
        try:
            written = os.write(fd, data)
            if written != len(data):
                short = f"short write ({written} of {len(data)} bytes; is the disk full?)"
                raise OSError(errno.ENOSPC, short)
            os.fsync(fd)
        except OSError as exc:
            msg = f"cannot append to {self.path}: {exc.strerror or exc}; it was left as it was"
            raise OutputError(msg) from exc

    def _length(self) -> int:
        return os.fstat(self.fileno()).st_size

    def _roll_back(self, length: int) -> None:
        try:
            os.ftruncate(self.fileno(), length)  # frees space, so it works on a full disk too
            os.fsync(self.fileno())
        except OSError:  # pragma: no cover - nothing more to do; the next open drops a torn tail
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def append_together(*entries: tuple[AppendLog, str]) -> None:
    """Append each text to its log: all of them written and fsynced, or none of them.

    For records that must agree across files (a packet chunk goes into the index *and* the
    audit log): if a later append fails, or anything interrupts, the earlier ones are
    truncated back too, and the error propagates.
    """
    done: list[tuple[AppendLog, int]] = []
    try:
        for log, text in entries:
            if not text.endswith("\n"):
                msg = f"{log.path}: an append must be whole lines"
                raise ValueError(msg)
            done.append((log, log._length()))
            log._write(text.encode("utf-8"))
    except BaseException:
        for log, length in reversed(done):
            log._roll_back(length)
        raise


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (whole lines) to ``path``, fsynced, or nothing; see :class:`AppendLog`."""
    with AppendLog(path) as log:
        log.append(text)
