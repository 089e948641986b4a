"""Running ``handout-gen`` from tests: in this process, or as a real process when that is the point.

A new Python process spends about a second importing WeasyPrint, pikepdf and the fonts before
it reads a file; the suite ran some fifty of them. :func:`hg` runs the same Click command in
the test's process instead (Click's runner): the same arguments, exit code, stdout and stderr
a person would see. An exception that escapes the command fails the test with its traceback,
as a traceback on a person's terminal would. Tests whose point is the process itself (a
signal, a kill, the console script) use :func:`hg_process`, and so do packet runs whose
output is searched for patient data: the worker processes a run forks write to the real
stderr, which Click's runner does not capture.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from handout_gen.cli import cli

# --today prints this note unless the day is the real today: the tests print on fixed days,
# so what they see must not depend on the day the suite runs (test_today_other_than_today_is_said).
_PRINT_DATE_NOTE = re.compile(r"^Note: printing as of \d{4}-\d\d-\d\d, not today .*\n", re.M)


def _steady(stderr: str) -> str:
    return _PRINT_DATE_NOTE.sub("", stderr)


def hg(project: Path, *args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``handout-gen --project PROJECT ARGS`` in this process."""
    argv = ["--project", str(project), *map(str, args)]
    result = CliRunner().invoke(cli, argv, prog_name="handout-gen")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # what would have been a traceback on the terminal
    done = subprocess.CompletedProcess(["handout-gen", *argv], result.exit_code, result.stdout,
                                       _steady(result.stderr))
    if check:
        assert done.returncode == 0, done.stderr
    return done


def hg_process(project: Path, *args: str | Path, check: bool = False,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``handout-gen --project PROJECT ARGS`` as a new process (``python -m handout_gen``),
    with ``env`` added to this one's environment."""
    command = [sys.executable, "-m", "handout_gen", "--project", str(project), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})
    done.stderr = _steady(done.stderr)
    if check:
        assert done.returncode == 0, done.stderr
    return done
