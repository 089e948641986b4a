"""The command group and what every command shares: logging, errors, the project folder.

Library modules are imported inside each command, so ``--help`` never pays for
WeasyPrint, pydantic or Markdown. Every HandoutGenError becomes ``Error: …`` and exit 1
here, in one place; Click's own usage errors exit 2.
"""

from __future__ import annotations

import difflib
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from handout_gen import __version__
from handout_gen.core.errors import HandoutGenError, Problem, plural


class InputFile(click.Path):
    """A file that must exist. One that does not is said with the nearest name in its folder
    (a typo: "sample-rooster.csv"), or, when its folder is not there either, with the folder a
    relative path was looked for in (the current one, not ``--project``'s)."""

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                missing = self._missing(value)
            except OSError:  # a folder it may not read: Click's own check says what it can
                missing = None
            if missing:
                self.fail(missing, param, ctx)
        return super().convert(value, param, ctx)

    @staticmethod
    def _missing(value: str) -> str | None:
        """Why the file ``value`` names cannot be read, if it is not there: with the nearest
        name in its folder, and for a relative path the folder it was looked for in."""
        path = Path(value)
        if path.exists():
            return None
        where = "" if path.is_absolute() else f" in the current folder ({Path.cwd()})"
        if not path.parent.is_dir():
            if where:
                return f"'{value}' is not{where}; give its path from there, or the whole path"
            return f"'{value}' does not exist (nor does its folder)"
        names = [p.name for p in path.parent.iterdir() if p.is_file()]
        near = difflib.get_close_matches(path.name, names, n=1)
        hint = f"; did you mean '{path.with_name(near[0])}'?" if near else ""
        return f"'{value}' does not exist{where}{hint}"


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO:
            return record.getMessage()
        label = "Warning" if record.levelno == logging.WARNING else record.levelname.title()
        return f"{label}: {record.getMessage()}"


# Exit code of a run that made what it could but skipped some inputs (rows, outputs):
# distinct from 1 (nothing made, or a failure) so a script can tell the two apart.
EXIT_PARTIAL = 3
# -q and -v work before the command and after it (pass_root): one help text for both.
QUIET_HELP = "Print only warnings and errors."
VERBOSE_HELP = "Print details too (which files were read, encodings)."


class Echo:
    """How much a command says: ``-q`` only warnings and errors, ``-v`` details too."""

    quiet = False
    verbose = False

    @classmethod
    def say(cls, message: str) -> None:
        if not cls.quiet:
            click.echo(message)


def report(problems: list[Problem], what: str) -> None:
    """Print problems that kept some outputs from being made (stderr), one per line."""
    click.echo(f"Error: {plural(len(problems), 'problem')}; {what}:", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)


def _setup_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("handout_gen")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # WeasyPrint's own messages are collected per document by pdf.py and re-reported
    # under the file they concern; silence its logger so nothing prints twice.
    logging.getLogger("weasyprint").propagate = False


# What to do after Ctrl-C, for the commands a person runs again to finish.
AFTER_INTERRUPT = {
    "send": " Run the same command again to send the rest: the send log keeps who got it.",
    "build": " Run it again to build the rest: what is done is skipped.",
    "packets": " Run the roster again for a whole set.",
}


class HandoutGroup(click.Group):
    """A group that turns library errors into Click errors (message, exit 1, no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HandoutGenError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            again = AFTER_INTERRUPT.get(ctx.invoked_subcommand or "", "")
            click.echo(f"Interrupted; finished files are kept, nothing half-written.{again}", err=True)
            ctx.exit(130)


# Commands that lay out many PDFs spread them over processes: packets, build, site. A machine
# shared with other work can set fewer for every command in the environment.
workers_option = click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
                              envvar="HANDOUT_GEN_WORKERS",
                              help="Processes to lay PDFs out with; 0 = every core "
                                   "[env HANDOUT_GEN_WORKERS].")


def pass_root(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the project folder as its first argument.

    ``--project``, ``-q`` and ``-v`` work before the command (``handout-gen -q --project DIR
    build``) and after it (``handout-gen build --project DIR -q``), since people type them both ways.
    """

    def command(ctx: click.Context, /, *args: Any, command_project: Path | None = None,
                command_quiet: bool = False, command_verbose: bool = False, **kwargs: Any) -> Any:
        if command_quiet or command_verbose:
            _set_verbosity(Echo.quiet or command_quiet, Echo.verbose or command_verbose)
        return func(command_project or ctx.obj, *args, **kwargs)

    functools.update_wrapper(command, func)  # keeps the name and the --help text
    options = [
        click.option("--project", "command_project", default=None,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="Project folder (same as the global --project)."),
        click.option("-q", "--quiet", "command_quiet", is_flag=True, help=QUIET_HELP),
        click.option("-v", "--verbose", "command_verbose", is_flag=True, help=VERBOSE_HELP),
    ]
    wrapped = click.pass_context(command)
    for option in options:
        wrapped = option(wrapped)
    return wrapped


def _set_verbosity(quiet: bool, verbose: bool) -> None:
    Echo.quiet, Echo.verbose = quiet, verbose and not quiet
    _setup_logging(logging.INFO if verbose and not quiet else logging.WARNING)


@click.group(cls=HandoutGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handout-gen")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Project folder (the one holding content/practice.yaml).",
)
@click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)
@click.option("-v", "--verbose", is_flag=True, help=VERBOSE_HELP)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path, quiet: bool, verbose: bool) -> None:
    """Turn one content source into patient handouts, newsletters and packets.

    \b
    Example:
      handout-gen list
      handout-gen handout radiofrequency-ablation --lang es --large-print
      handout-gen --project ../our-practice build
      handout-gen -q build
    """
    _set_verbosity(quiet, verbose)
    ctx.obj = project_dir


def load(project_dir: Path) -> Any:
    """Read and validate the project (all problems at once); warn about files left out."""
    from handout_gen.content.project import load_project

    project = load_project(project_dir)
    for problem in project.warnings:
        logging.getLogger("handout_gen").warning("%s", problem)
    return project



def main() -> None:
    """Console-script entry point."""
    cli(prog_name="handout-gen")
