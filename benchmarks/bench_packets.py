"""Packets: 1,000 fictional patients through the fast path vs. the naive path.

Prints packets/s (cold: static parts rendered in the run; warm: cached from a previous run),
peak memory of this process and of the worker processes, and the speed-up over the naive
path (a fresh render of cover letter, handouts and closing pages for every patient),
measured in the same run on a small sample.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks import copy_project

COUNT = 1000
NAIVE_SAMPLE = 5


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers: on a shared machine, a steadier
    measure of the work a packet takes than the wall clock."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run() -> None:
    from tests.fictional import fictional_roster, write_csv

    from handout_gen.content.project import load_project
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.packet import PacketMaker
    from handout_gen.packets.roster import rows_from
    from handout_gen.packets.run import RunOptions, run_packets

    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        project = load_project(copy_project(Path(tmp) / "project"))
        catalog = load_kit(project).catalog(today)
        rows = fictional_roster(COUNT, catalog)
        roster = Path(tmp) / "roster.csv"
        write_csv(roster, rows)
        workers = os.cpu_count() or 1

        figures = {}
        for label in ("cold", "warm"):
            options = RunOptions(out_root=Path(tmp) / "out", workers=workers, today=today)
            start, cpu = time.perf_counter(), _cpu_seconds()
            report = run_packets(project, roster, options)
            elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
            assert report.written == COUNT, report.written
            figures[label] = COUNT / elapsed
            print(
                f"{label:5} {COUNT} packets in {elapsed:6.2f} s on {workers} process(es): "
                f"{figures[label]:7.1f} packets/s ({cpu / COUNT * 1000:.2f} ms of CPU each)"
            )

        kit = load_kit(project)
        sample = rows_from(rows[:NAIVE_SAMPLE], catalog)
        start = time.perf_counter()
        for row in sample:
            PacketMaker(kit, today, cache_dir=None).make([row])  # nothing shared, nothing cached
        naive = NAIVE_SAMPLE / (time.perf_counter() - start)
        print(f"naive {NAIVE_SAMPLE} packets, one process, nothing cached: {naive:7.2f} packets/s")
        print(
            f"speed-up: warm {figures['warm'] / naive:6.1f}x, cold {figures['cold'] / naive:6.1f}x "
            f"the naive path (goal >= 50x; goal >= 150 packets/s)"
        )
        print(
            f"peak memory: main process {_peak_mb(resource.RUSAGE_SELF):.0f} MB, "
            f"largest worker {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )
