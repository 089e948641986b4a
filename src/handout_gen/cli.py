"""The command line: parse options, call one library function, print a short result.

Library modules are imported inside each command, so ``--help`` never pays for
WeasyPrint, pydantic or Markdown. Every HandoutGenError becomes ``Error: …`` and exit 1
here, in one place; Click's own usage errors exit 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import HandoutGenError


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        label = "Warning" if record.levelno == logging.WARNING else record.levelname.title()
        return f"{label}: {record.getMessage()}"


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("handout_gen")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    # WeasyPrint's own messages are collected per document by pdf.py and re-reported
    # under the file they concern; silence its logger so nothing prints twice.
    logging.getLogger("weasyprint").propagate = False


class HandoutGroup(click.Group):
    """A group that turns library errors into Click errors (message, exit 1, no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HandoutGenError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted; finished files are kept, nothing half-written.", err=True)
            ctx.exit(130)


pass_root = click.make_pass_decorator(Path)


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
@click.pass_context
def cli(ctx: click.Context, project_dir: Path) -> None:
    """Turn one content source into patient handouts, newsletters and packets.

    \b
    Example:
      handout-gen list
      handout-gen handout radiofrequency-ablation --lang es --large-print
      handout-gen --project ../our-practice build
    """
    _setup_logging()
    ctx.obj = project_dir


def load(project_dir: Path) -> Any:
    """Read and validate the project (all problems at once)."""
    from .project import load_project

    return load_project(project_dir)


@cli.command("list")
@pass_root
def list_command(project_dir: Path) -> None:
    """List procedures with their languages, version and review status.

    \b
    Example:
      handout-gen list
    """
    project = load(project_dir)
    for procedure in project.selected_procedures():
        original = procedure.editions["en"].meta
        click.echo(
            f"{procedure.slug:32} {','.join(procedure.languages):6} {original.version:14} "
            f"{original.status:9} reviewed {original.last_reviewed.isoformat()}"
        )


@cli.command()
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF (default: output/handouts/<file>).")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True,
              help="Language; falls back to English with a warning when there is no translation.")
@click.option("--large-print", is_flag=True, help="18 pt body text, single column.")
@pass_root
def handout(project_dir: Path, slug: str, output: Path | None, lang: str, large_print: bool) -> None:
    """Render one procedure handout to PDF.

    \b
    Example:
      handout-gen handout epidural-steroid-injection
      handout-gen handout prp-injection --lang es --large-print -o ~/Desktop/prp.pdf
    """
    from .handouts import Variant, render_handout
    from .io import write_file

    project = load(project_dir)
    variant = Variant(lang, large_print)
    data = render_handout(project, slug, variant)
    target = output or project.output_dir / "handouts" / variant.filename(slug)
    root = project.output_dir if output is None else target.resolve().parent
    write_file(target, data, root=root)
    click.echo(f"wrote {target}")


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@pass_root
def build(project_dir: Path, force: bool) -> None:
    """Build every handout (and newsletter) into output/, skipping unchanged ones.

    \b
    Example:
      handout-gen build
      handout-gen --project ../our-practice build --force
    """
    from .handouts import build_handouts

    project = load(project_dir)
    report = build_handouts(project, force=force, progress=lambda p: click.echo(f"wrote {p.relative_to(project.root)}"))
    # --- build steps of other outputs go here (newsletters, issue 3) ---
    click.echo(f"handouts: {len(report.written)} written, {len(report.skipped)} unchanged")


# --- newsletter commands (issue 3) ---

# --- packet commands (issue 4) ---

# --- check command (issue 5) ---

# --- preview and init commands (issue 6) ---


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="handout-gen")
