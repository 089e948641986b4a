"""Running ``handout-gen`` from tests: in this process, or as a real process when that is the point.

A new Python process spends about a second importing WeasyPrint, pikepdf and the fonts before
it reads a file; the suite ran some fifty of them. :func:`hg` runs the same Click command in
the test's process instead (Click's runner): the same arguments, exit code, stdout and stderr
a person would see, with what C libraries (fontconfig, Pango) write straight to file
descriptors 1 and 2 added, so a search of the output for patient data misses nothing a
terminal would show. An exception that escapes the command fails the test with its
traceback, as a traceback on a person's terminal would. Tests whose point is the process
itself (a signal, a kill, the console script) use :func:`hg_process`, and so do runs over
worker processes (``--workers 2``): what they write goes to the real stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from handout_gen.cli import cli

# --today prints this note unless the day is the real today: the tests print on fixed days,
# so what they see must not depend on the day the suite runs (test_today_other_than_today_is_said).
_PRINT_DATE_NOTE = re.compile(r"^Note: printing as of \d{4}-\d\d-\d\d, not today .*\n", re.M)


def _steady(stderr: str) -> str:
    return _PRINT_DATE_NOTE.sub("", stderr)


@contextlib.contextmanager
def _descriptors() -> Iterator[list[str]]:
    """What is written to file descriptors 1 and 2 meanwhile, as [stdout, stderr] once done."""
    written: list[str] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            yield written
        finally:
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
        for file in (out, err):
            file.seek(0)
            written.append(file.read().decode("utf-8", "replace"))


def hg(project: Path, *args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``handout-gen --project PROJECT ARGS`` in this process."""
    argv = ["--project", str(project), *map(str, args)]
    with _descriptors() as raw:
        result = CliRunner().invoke(cli, argv, prog_name="handout-gen")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # what would have been a traceback on the terminal
    done = subprocess.CompletedProcess(["handout-gen", *argv], result.exit_code, result.stdout + raw[0],
                                       _steady(result.stderr + raw[1]))
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
