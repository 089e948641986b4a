"""Benchmarks for `make bench`: each bench_*.py module prints its figures with a baseline.

``BENCH_PROJECT=/path/to/project make bench`` measures another project's content (its
``content/``, ``handouts/`` and ``templates/``): the sample content changes with the product,
so comparing code across versions fairly means measuring both on the same content.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = Path(os.environ.get("BENCH_PROJECT") or REPO)


def copy_project(dest: Path) -> Path:
    """A scratch copy of the measured project (``dest`` is created)."""
    for name in ("content", "handouts", "templates"):
        if (SOURCE / name).is_dir():
            shutil.copytree(SOURCE / name, dest / name)
    return dest
