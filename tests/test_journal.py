"""The append-only journals (packet index, audit log, send log): whole lines or nothing.

The disk-full cases run on a real tmpfs of a few KiB (``small_disk``), where the kernel
itself produces the short write and the ENOSPC, not a mock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from handout_gen.core.errors import OutputError
from handout_gen.core.files import AppendLog, append_together, sync_disk, write_file
from handout_gen.core.interrupts import HeldInterrupt


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until about ``leave`` bytes are free."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_appends_are_whole_lines_fsynced(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with AppendLog(path) as log:
        log.append('{"a": 1}\n')
        log.append('{"b": 2}\n{"c": 3}\n')
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n{"c": 3}\n'
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with AppendLog(path) as log, pytest.raises(ValueError, match="must be whole lines"):
        log.append("no newline")
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n{"c": 3}\n'


def test_short_write_on_a_full_disk_rolls_back(small_disk: Callable[[int], Path]) -> None:
    disk = small_disk(16)
    path = disk / "audit.jsonl"
    with AppendLog(path) as log:
        log.append("first\n")
        fill(disk, 4096 * 2)
        big = "x" * 20000 + "\n"  # more than is left: the kernel writes part of it (a short write)
        with pytest.raises(OutputError, match=r"to .*audit\.jsonl: short write .*it was left as it was"):
            log.append(big)
        assert path.read_text() == "first\n"
        (disk / "filler").unlink()
        log.append("second\n")  # space again: appending goes on where it left off
    assert path.read_text() == "first\nsecond\n"


def test_no_space_at_all_is_a_clean_error(small_disk: Callable[[int], Path]) -> None:
    disk = small_disk(16)
    path = disk / "index.csv"
    first = "p" * 4095 + "\n"  # exactly one page: the next byte needs a page the disk no longer has
    with AppendLog(path) as log:
        log.append(first)
        fill(disk, 0)
        with pytest.raises(OutputError, match="No space left on device; it was left as it was"):
            log.append("abc,2\n")
    assert path.read_text() == first


def test_records_that_belong_together_go_in_both_logs_or_neither(
    tmp_path: Path, small_disk: Callable[[int], Path]
) -> None:
    """The index is on a roomy disk, the audit on a full one: the index append is undone."""
    disk = small_disk(16)
    with AppendLog(tmp_path / "index.csv") as index, AppendLog(disk / "audit.jsonl") as audit:
        append_together((index, "packet_id,row\n"), (audit, "start\n"))
        fill(disk, 4096)
        with pytest.raises(OutputError, match="audit.jsonl"):
            append_together((index, "a1,2\na2,3\n"), (audit, "y" * 9000 + "\n"))
    assert (tmp_path / "index.csv").read_text() == "packet_id,row\n"
    assert (disk / "audit.jsonl").read_text() == "start\n"


def test_failed_fsync_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "send-log.jsonl"
    log = AppendLog(path)
    log.append("kept\n")
    calls: list[int] = []

    def failing(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr("handout_gen.core.files.os.fsync", failing)
    with pytest.raises(OutputError, match="Input/output error; it was left as it was"):
        log.append("lost\n")
    log.close()
    assert path.read_text() == "kept\n"


def test_a_batch_of_unsynced_files_is_made_durable_by_one_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packet runs write a chunk's files without an fsync each, then sync the disk once
    before the chunk is listed; a failed sync is a clean error (the chunk is not listed)."""
    fsyncs: list[int] = []
    monkeypatch.setattr("handout_gen.core.files.os.fsync", fsyncs.append)
    for name in ("a.pdf", "b.pdf"):
        write_file(tmp_path / name, b"%PDF", root=tmp_path, private=True, sync=False)
    assert fsyncs == []
    assert (tmp_path / "a.pdf").read_bytes() == b"%PDF"
    assert oct((tmp_path / "b.pdf").stat().st_mode & 0o777) == "0o600"
    sync_disk(tmp_path)  # the real syncfs(2)
    with pytest.raises(OutputError, match="cannot write to .*missing"):
        sync_disk(tmp_path / "missing")


def test_a_torn_last_line_is_dropped_when_the_log_is_opened(tmp_path: Path) -> None:
    """A kill can cut a write short: the fragment is never glued to the next record."""
    path = tmp_path / "audit.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c": 3, "torn')
    with AppendLog(path) as log:
        log.append('{"d": 4}\n')
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n{"d": 4}\n'
    path.write_text("x" * 10000)  # no newline at all: nothing whole
    AppendLog(path).close()
    assert path.read_text() == ""


def test_ctrl_c_is_held_until_the_block_ends() -> None:
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt), HeldInterrupt():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("finished the record")
    assert done == ["finished the record"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with HeldInterrupt() as held:
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            held.check()
        held.check()  # raised once only
