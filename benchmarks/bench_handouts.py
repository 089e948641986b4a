"""Handout build figures: --help start-up, cold build, no-op rebuild, one handout.

Each figure is printed next to a naive baseline measured in the same run, as a ratio.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import copy_project

HG = str(Path(sys.executable).with_name("handout-gen"))


def _best(times: int, func: object) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def _pages_of(data: bytes) -> int:
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def _pages(folder: Path) -> int:
    return sum(_pages_of(path.read_bytes()) for path in folder.glob("*.pdf"))


def run() -> None:
    from handout_gen.content.project import load_project
    from handout_gen.core.workers import worker_count
    from handout_gen.handouts import Renderer, Variant, build_handouts, planned_handouts

    help_s = _best(5, lambda: subprocess.run([HG, "--help"], capture_output=True, check=True))
    eager_s = _best(3, lambda: subprocess.run([sys.executable, "-c", "import weasyprint"], check=True))
    print(f"handout-gen --help: {help_s * 1000:.0f} ms (goal 150 ms); "
          f"importing WeasyPrint eagerly alone would cost {eager_s * 1000:.0f} ms ({eager_s / help_s:.1f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        root = copy_project(Path(tmp))
        project = load_project(root)
        count = len(planned_handouts(project))

        started = time.perf_counter()
        build_handouts(project)
        cold = time.perf_counter() - started
        pages = _pages(project.output_dir / "handouts")

        noop = _best(3, lambda: subprocess.run([HG, "--project", str(root), "build"],
                                               capture_output=True, check=True))
        forced = _best(1, lambda: build_handouts(load_project(root), force=True))
        cores = worker_count(0, count)  # what `handout-gen build` starts: this process's cores
        spread = _best(1, lambda: build_handouts(load_project(root), force=True, workers=0))

        # Naive baseline: one process per handout, as a shell loop over `handout-gen handout`.
        sample = planned_handouts(project)[:4]
        started = time.perf_counter()
        for procedure, variant in sample:
            args = [HG, "--project", str(root), "handout", procedure.slug, "--lang", variant.lang,
                    "-o", str(Path(tmp) / "naive.pdf")]
            subprocess.run(args + (["--large-print"] if variant.large_print else []),
                           capture_output=True, check=True)
        naive_each = (time.perf_counter() - started) / len(sample)

        renderer = Renderer(project)
        procedure = project.procedure("radiofrequency-ablation")
        first = _best(1, lambda: renderer.handout(procedure, Variant()))
        warm = _best(5, lambda: renderer.handout(procedure, Variant()))
        rfa_pages = _pages_of((project.output_dir / "handouts" / "radiofrequency-ablation.pdf").read_bytes())

    # Per page too: the sample content grows (editions, sections), and a figure per handout
    # alone would charge the code with it.
    print(f"cold build of all {count} handouts, {pages} pages (in-process, fonts shared): {cold:.2f} s "
          f"= {cold / count * 1000:.0f} ms each, {cold / pages * 1000:.1f} ms a page")
    print(f"  naive (one process per handout, measured on {len(sample)}): {naive_each * 1000:.0f} ms each "
          f"-> {naive_each * count:.1f} s for {count}; cold build is {naive_each * count / cold:.1f}x faster")
    print(f"  over {cores} worker processes (`handout-gen build`'s default): {spread:.2f} s "
          f"= {spread / count * 1000:.0f} ms each, {forced / spread:.2f}x the one-process forced rebuild")
    print(f"no-op rebuild (`handout-gen build`, nothing changed): {noop:.2f} s (goal <= 0.5 s); "
          f"forced rebuild {forced:.2f} s ({forced / noop:.0f}x the no-op)")
    print(f"single handout (radiofrequency-ablation, {rfa_pages} pages): first render {first * 1000:.0f} ms, "
          f"warm {warm * 1000:.0f} ms (in-process); naive CLI call {naive_each * 1000:.0f} ms")
