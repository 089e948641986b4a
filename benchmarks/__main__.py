"""Run every benchmarks/bench_*.py module's ``run()`` in name order (``make bench``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> None:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in modules:
        if names and not any(n in name for n in names):
            continue
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"benchmarks.{name}").run()
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
