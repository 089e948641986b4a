"""Site build figures: cold build, no-op rebuild (the CLI and in-process), forced rebuild, page sizes.

The sample practice with its handouts already built (as after ``make demo``); the no-op rebuild
is printed next to a forced rebuild of the same site, as a ratio.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks import copy_project
from benchmarks.bench_handouts import HG, _best  # one timing helper for every benchmark


def run() -> None:
    from handout_gen.content.project import load_project
    from handout_gen.handouts import build_handouts
    from handout_gen.site.build import build_site

    with tempfile.TemporaryDirectory() as tmp:
        root = copy_project(Path(tmp))
        build_handouts(load_project(root))  # the PDFs exist, as after `make demo`

        started = time.perf_counter()
        report = build_site(load_project(root))
        cold = time.perf_counter() - started
        files = len(report.site.written)

        noop_cli = _best(5, lambda: subprocess.run([HG, "--project", str(root), "site"],
                                                   capture_output=True, check=True))
        noop = _best(5, lambda: build_site(load_project(root)))
        forced = _best(3, lambda: build_site(load_project(root), force=True))

        site = root / "output" / "site"
        pages = sorted(site.rglob("*.html"), key=lambda p: p.stat().st_size)
        largest, largest_size = pages[-1].relative_to(site), pages[-1].stat().st_size
        css = (site / "assets" / "site.css").stat().st_size
        fonts = sum(p.stat().st_size for p in (site / "assets" / "fonts").glob("*.woff2"))
        total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())

    print(f"cold site build ({files} files, handout PDFs already built): {cold:.2f} s")
    print(f"no-op rebuild (`handout-gen site`, nothing changed): {noop_cli:.2f} s (goal < 0.5 s); "
          f"in-process {noop * 1000:.0f} ms")
    print(f"forced rebuild (every page rendered and written again): {forced:.2f} s "
          f"= {forced / noop_cli:.1f}x the no-op CLI, {forced / noop:.1f}x the no-op in-process")
    print(f"{len(pages)} pages; largest page {largest}: {largest_size:,} bytes "
          f"(+ stylesheet {css:,} bytes, fonts {fonts:,} bytes for all four faces, cached); "
          f"whole site {total:,} bytes with its PDFs")
