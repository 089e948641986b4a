"""Commands for the printed handouts and the content: list, handout, build, check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from handout_gen.cli.base import Echo, cli, load, pass_root, report, workers_option


@cli.command("list")
@pass_root
def list_command(project_dir: Path) -> None:
    """List procedures: version, last review, and each language edition's status.

    A translation of an older English version says which one it translates. A procedure
    whose files have problems is listed with them (on stderr) and the command exits 1; the
    others are listed as usual.

    \b
    Example:
      handout-gen list
      handout-gen list | grep draft
    """
    project = load(project_dir)
    procedures = project.selected_procedures()
    width = max([len("procedure"), *(len(p.slug) for p in procedures)])
    versions = max([len("version"), *(len(p.meta.version) for p in procedures)])
    click.echo(f"{'procedure':{width}}  {'version':{versions}}  reviewed    editions")
    for procedure in procedures:
        editions = []
        for lang, edition in procedure.editions.items():
            behind = procedure.behind(lang)
            editions.append(f"{lang} {edition.meta.status}"
                            + (f" (translates {behind[0]})" if behind else ""))
        click.echo(f"{procedure.slug:{width}}  {procedure.meta.version:{versions}}  "
                   f"{procedure.meta.last_reviewed.isoformat()}  {', '.join(editions)}")
    if project.broken:
        report(project.problems, f"not loaded: {', '.join(sorted(project.broken))}")
        sys.exit(1)


@cli.command()
@click.argument("slug", metavar="PROCEDURE")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF (default: output/handouts/<file>).")
@click.option("--lang", default="en", show_default=True,
              help="Language code (see content/languages.yaml); without that edition the English "
                   "handout is made, under its English name.")
@click.option("--large-print", is_flag=True, help="18 pt body text, single column.")
@pass_root
def handout(project_dir: Path, slug: str, output: Path | None, lang: str, large_print: bool) -> None:
    """Render one procedure handout to PDF and print where it went.

    PROCEDURE is its slug (see 'handout-gen list') or its title in any language, in any
    case. Problems in other procedures' files do not stop this one.

    \b
    Example:
      handout-gen handout epidural-steroid-injection
      handout-gen handout "Radiofrequency Ablation" --lang es
      handout-gen handout prp-injection --lang es --large-print -o ~/Desktop/prp.pdf
    """
    from handout_gen.content.languages import unknown_language
    from handout_gen.core.files import write_file
    from handout_gen.handouts import Variant, edition_for, render_handout

    project = load(project_dir)
    code = project.languages.code_of(lang)  # "ES", "es-MX" and "Spanish" are es, as in a roster
    if code is None:
        raise click.BadParameter(unknown_language(lang, project.languages), param_hint="'--lang'")
    if slug not in project.procedures and slug not in project.broken:  # a title, or another case
        from handout_gen.content.lookup import procedure_key, procedure_keys

        slug = procedure_keys(project.procedures).get(procedure_key(slug), slug)
    procedure = project.procedure(slug)  # an unknown name is told the known slugs
    edition = edition_for(procedure, code)  # warns when it falls back to English
    if stale := procedure.stale(edition.lang):
        click.echo(f"Warning: {stale}: this handout prints the older text; update the translation", err=True)
    variant = Variant(edition.lang, large_print)
    data = render_handout(project, slug, variant)
    target = output or project.output_dir / "handouts" / variant.filename(slug)
    root = project.output_dir if output is None else target.resolve().parent
    write_file(target, data, root=root)
    Echo.say(f"wrote {target}")


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@workers_option
@pass_root
def build(project_dir: Path, force: bool, workers: int) -> None:
    """Build every handout and newsletter into output/, skipping unchanged ones.

    Every output is checked first with the rules of `check` (images, links, characters the
    font cannot draw, brand contrast). An output with a problem is not written and the
    problem is named (file:line); everything else is built; the exit code is then 1.

    \b
    Example:
      handout-gen build
      handout-gen --project ../our-practice build --force
    """
    from handout_gen.build import build as build_project

    project = load(project_dir)
    result = build_project(
        project, force=force, progress=lambda p: Echo.say(f"wrote {p.relative_to(project.root)}"),
        workers=workers,
    )
    for line in result.summary():
        Echo.say(line)
    if result.problems:
        report(result.problems, "the outputs they concern were not built (run 'handout-gen check')")
        sys.exit(1)


@cli.command()
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too, not only on errors.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report as readable text or as JSON for other tools.")
@click.option("--no-pdf", is_flag=True,
              help="Skip rendering the PDFs (faster; print size and font coverage are not measured).")
@pass_root
def check(project_dir: Path, strict: bool, output_format: str, no_pdf: bool) -> None:
    """Check content for reading level, PEMAT items, review dates, translations and print rules.

    Every finding names the file, line, rule and how to fix it. Exit 0 when clean,
    1 when there are errors (or warnings, with --strict). Progress goes to stderr.

    \b
    Example:
      handout-gen check
      handout-gen check --strict --no-pdf
      handout-gen check --format json > check.json
    """
    from handout_gen.checks.runner import run_checks

    def progress(step: str) -> None:  # for a person watching; not in logs or piped output
        if not Echo.quiet and (Echo.verbose or sys.stderr.isatty()):
            click.echo(f"checking {step}", err=True)

    report = run_checks(project_dir, pdf=not no_pdf, progress=progress)
    click.echo(report.to_json(strict) if output_format == "json" else report.to_text(), nl=False)
    if report.failed(strict):
        sys.exit(1)
