"""Commands around a project: the live preview, a new project."""

from __future__ import annotations

from pathlib import Path

import click

from handout_gen.cli.base import Echo, cli, load, pass_root, workers_option


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in your web browser.")
@pass_root
def preview(project_dir: Path, port: int, open_browser: bool) -> None:
    """Serve a live preview of every handout, newsletter edition and a sample packet.

    Pages reload by themselves when you save a file in content/, templates/ or
    handouts/. Problems in the content show in the page; the server keeps running.
    Only this computer can reach it (127.0.0.1).

    \b
    Example:
      handout-gen preview --open
      handout-gen --project ../our-practice preview --port 8001
    """
    from handout_gen.preview.server import serve

    serve(project_dir, port=port, open_browser=open_browser, echo=click.echo)


def _practice_name(value: str) -> str:
    from handout_gen.scaffold import check_name

    try:
        return check_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="Example Spine & Pain Clinic", show_default=True,
              callback=lambda _ctx, _param, value: _practice_name(value),
              help="The practice's name, written into content/practice.yaml.")
def init(directory: Path, name: str) -> None:
    """Start a new project: practice, one procedure, one newsletter, recipes.

    Refuses to write into a folder that already holds any of the starter files.

    \b
    Example:
      handout-gen init ../our-practice --name "Riverbend Pain Clinic"
      handout-gen --project ../our-practice build
    """
    from handout_gen.scaffold import init_project

    written = init_project(directory, name=name)
    click.echo(f"created {len(written)} files in {directory}")
    click.echo(f"next: edit {directory / 'content' / 'practice.yaml'}, then run "
               f"'handout-gen --project {directory} preview'")


@cli.command()
@click.option("--force", is_flag=True, help="Rewrite every page even when nothing changed.")
@workers_option
@pass_root
def site(project_dir: Path, force: bool, workers: int) -> None:
    """Build the web pages every printed URL points at into output/site/.

    Procedures in each language (with their PDFs), clinics, the newsletter archive and
    feed, the home page, sitemap.xml. Unchanged pages are skipped; upload as it is.

    \b
    Example:
      handout-gen site
      handout-gen --project ../our-practice site --force
    """
    from handout_gen.site.build import build_site

    project = load(project_dir)
    for line in build_site(project, force=force, workers=workers).summary(project.root):
        Echo.say(line)
