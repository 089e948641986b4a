"""`check` figures: the whole check of a built project, and its PDF pass on its own.

The PDF pass reads every character of every built handout (size, place, font). Its baseline
is the same read with pdfminer (pdfplumber, pure Python), which `check` used before pdfium.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from benchmarks import copy_project
from benchmarks.bench_handouts import HG, _best  # one timing helper for every benchmark


def _pdfminer_chars(data: bytes) -> int:
    import pdfplumber  # the test extra: `make bench` installs it

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return sum(len(page.chars) for page in pdf.pages)


def run() -> None:
    from handout_gen.checks.pdfchars import pdf_pages
    from handout_gen.content.project import load_project
    from handout_gen.handouts import build_handouts

    with tempfile.TemporaryDirectory() as tmp:
        root = copy_project(Path(tmp))
        build_handouts(load_project(root))
        handouts = [path.read_bytes() for path in sorted((root / "output/handouts").glob("*.pdf"))]
        pages = sum(1 for data in handouts for _ in pdf_pages(data))
        # exit status 1 when the content has errors: the time is what counts here
        whole = _best(2, lambda: subprocess.run([HG, "--project", str(root), "check"], capture_output=True))
        pdfium = _best(3, lambda: [list(pdf_pages(data)) for data in handouts])
        pdfminer = _best(1, lambda: [_pdfminer_chars(data) for data in handouts])

    print(f"handout-gen check of the built sample ({len(handouts)} handouts, {pages} pages): {whole:.2f} s")
    print(f"  its PDF read, every character of every page: pdfium {pdfium:.2f} s, "
          f"pdfminer (the naive pure-Python read) {pdfminer:.2f} s -> {pdfminer / pdfium:.1f}x faster")
