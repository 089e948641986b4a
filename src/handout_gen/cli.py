"""The command line: parse options, call one library function, print a short result.

Library modules are imported inside each command, so ``--help`` never pays for
WeasyPrint, pydantic or Markdown. Every HandoutGenError becomes ``Error: …`` and exit 1
here, in one place; Click's own usage errors exit 2.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from handout_gen import __version__
from handout_gen.core.errors import HandoutGenError


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


def pass_root(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the project folder as its first argument.

    ``--project`` works before the command (``handout-gen --project DIR build``) and after
    it (``handout-gen build --project DIR``), since people type it both ways.
    """

    def command(ctx: click.Context, /, *args: Any, command_project: Path | None = None, **kwargs: Any) -> Any:
        return func(command_project or ctx.obj, *args, **kwargs)

    functools.update_wrapper(command, func)  # keeps the name and the --help text
    option = click.option(
        "--project", "command_project", default=None, type=click.Path(file_okay=False, path_type=Path),
        help="Project folder (same as the global --project).",
    )
    return option(click.pass_context(command))


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
    from handout_gen.content.project import load_project

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
    from handout_gen.core.files import write_file
    from handout_gen.handouts import Variant, render_handout

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
    from handout_gen.build import build as build_project

    project = load(project_dir)
    result = build_project(
        project, force=force, progress=lambda p: click.echo(f"wrote {p.relative_to(project.root)}")
    )
    handouts, letters = result.handouts, result.newsletters
    click.echo(f"handouts: {len(handouts.written)} written, {len(handouts.skipped)} unchanged")
    issues = len({p.parent for p in letters.written})
    click.echo(f"newsletters: {issues} written, {len(letters.skipped)} unchanged")


@cli.command()
@click.argument("issue")
@click.option("--esp", type=click.Choice(["mailchimp"]),
              help="Also write a copy with the ESP's merge tags (unsubscribe, archive, address).")
@pass_root
def newsletter(project_dir: Path, issue: str, esp: str | None) -> None:
    """Build one newsletter issue into output/newsletters/ISSUE/.

    Writes email.html (inlined), email.txt, email.eml (ready to open in a mail program)
    and browser.html (the web copy); with --esp, email.<esp>.html/.txt for an email service.

    \b
    Example:
      handout-gen newsletter 2026-12
      handout-gen newsletter 2026-12 --esp mailchimp
    """
    from handout_gen.newsletter.render import render_issue, write_issue

    project = load(project_dir)
    rendered = render_issue(project, issue, esp=esp)
    for warning in rendered.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for path in write_issue(project, rendered, esp):
        click.echo(f"wrote {path.relative_to(project.root)}")
    click.echo(f"HTML part: {len(rendered.html.encode()):,} bytes (Gmail clips above 102,000)")


@cli.command()
@click.argument("issue")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Test send to this address (repeatable); no send log is kept.")
@click.option("--recipients", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CSV (UTF-8) with an 'email' column and an optional 'first_name' column.")
@click.option("--smtp-host", envvar="SMTP_HOST", help="SMTP server [env SMTP_HOST].")
@click.option("--smtp-port", envvar="SMTP_PORT", type=click.IntRange(1, 65535), default=25,
              show_default=True, help="SMTP port [env SMTP_PORT].")
@click.option("--starttls/--no-starttls", envvar="SMTP_STARTTLS", default=False,
              help="Upgrade the connection with STARTTLS (needed before a login) [env SMTP_STARTTLS].")
@click.option("--smtp-user", envvar="SMTP_USER",
              help="Login name [env SMTP_USER]; the password is read only from env SMTP_PASSWORD.")
@click.option("--rate", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="At most this many messages per second (0: no limit).")
@click.option("--retries", type=click.IntRange(0, 10), default=4, show_default=True,
              help="Tries again after a temporary SMTP error (4xx, dropped connection).")
@click.option("--retry-delay", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds before the first retry; doubles each time.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Send log (default: output/newsletters/ISSUE/send-log.jsonl).")
@click.option("--dry-run", is_flag=True, help="Check the list and build every message; send nothing.")
@click.option("--retry-refused", is_flag=True,
              help="Also try again the rows the server refused for good (5xx) on an earlier run.")
@pass_root
def send(project_dir: Path, issue: str, to: tuple[str, ...], recipients: Path | None,
         smtp_host: str | None, smtp_port: int, starttls: bool, smtp_user: str | None, rate: float,
         retries: int, retry_delay: float, log_path: Path | None, dry_run: bool, retry_refused: bool) -> None:
    """Send a newsletter issue over SMTP: a test send (--to) or a list (--recipients).

    A list send keeps a log; run the same command again after a stop and it goes on
    where it left off, skipping rows already sent (and rows refused for good, unless
    --retry-refused). Ctrl-C lets the message in flight finish and be logged first.
    One case can repeat a message: a kill or crash while the server is answering
    (delivered, not yet logged); the repeat has the same Message-ID. Every row of the
    list is checked before the first message goes out.

    \b
    Example:
      handout-gen send 2026-12 --to me@example.org --smtp-host 127.0.0.1 --smtp-port 1025
      SMTP_HOST=smtp.example.org SMTP_PORT=587 SMTP_USER=news SMTP_PASSWORD=... \\
        handout-gen send 2026-12 --recipients list.csv --starttls --rate 5
    """
    import os

    from handout_gen.newsletter.recipients import Recipient, load_recipients, valid_address
    from handout_gen.newsletter.render import render_issue
    from handout_gen.newsletter.send import SmtpSettings, send_issue

    if bool(to) == bool(recipients):
        raise click.UsageError("give either --to ADDRESS (a test send) or --recipients CSV")
    for address in to:
        if not valid_address(address):
            raise click.BadParameter(f"'{address}' is not a valid email address", param_hint="--to")
    if not smtp_host and not dry_run:
        raise click.UsageError("no SMTP server: give --smtp-host or set SMTP_HOST")
    project = load(project_dir)
    rendered = render_issue(project, issue)  # every guard runs before the list is even read
    people = ([Recipient(0, a) for a in to] if to else load_recipients(recipients))  # type: ignore[arg-type]
    settings = SmtpSettings(smtp_host, smtp_port, starttls, smtp_user or None,
                            os.environ.get("SMTP_PASSWORD") or None) if smtp_host else None
    with click.progressbar(length=len(people), label="Sending" if not dry_run else "Preparing",
                           file=sys.stderr) as bar:
        report = send_issue(project, issue, people, settings, test=bool(to), log_path=log_path,
                            dry_run=dry_run, rate=rate, retries=retries, backoff=retry_delay,
                            progress=lambda _r: bar.update(1), rendered=rendered,
                            retry_refused=retry_refused)
    for line in report.summary(dry_run):
        click.echo(line)
    for refusal in report.failed:
        where = f"row {refusal.row}" if refusal.row else "test address"
        click.echo(f"  {where}: refused by the server ({refusal.codes})", err=True)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} message(s) were refused permanently (see above)")


def _packet_run(project: Any, roster: Any, output: Path | None, workers: int, encrypt: bool,
                skip_invalid: bool, today: Any) -> None:
    """Shared body of ``packets`` and ``packet``: counts and row numbers only on the terminal."""
    import datetime as dt

    from handout_gen.core.errors import roster_location
    from handout_gen.packets.run import RunOptions, run_packets

    options = RunOptions(
        out_root=output or project.output_dir / "packets", workers=workers, encrypt=encrypt,
        skip_invalid=skip_invalid, today=today or dt.date.today(),
    )
    bar: dict[str, Any] = {}

    def on_total(total: int) -> None:
        bar["bar"] = click.progressbar(length=total, label="packets", file=sys.stderr, show_pos=True)
        bar["bar"].__enter__()

    try:
        report = run_packets(
            project, roster, options, progress=lambda n: bar["bar"].update(n), on_total=on_total
        )
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
    for problem in report.problems:
        click.echo(f"Skipped {roster_location(problem)}: {problem.message}", err=True)
    skipped = f", {len(report.skipped_rows)} row(s) skipped" if report.skipped_rows else ""
    click.echo(f"wrote {report.written} packet(s){skipped} to {report.run_dir}")
    click.echo("index.csv maps packet ids to roster rows; audit.jsonl logs each packet.")


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


@cli.command()
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run folder (default: output/packets/). Each run gets <run-id>/.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes to use; 0 = every core.")
@click.option("--skip-invalid", is_flag=True,
              help="Make packets for the good rows and list the bad ones (default: write nothing).")
@click.option("--encrypt", is_flag=True,
              help="AES-256 password-protect each PDF with the roster's 'password' column.")
@click.option("--today", callback=_iso_date, hidden=True,
              help="Date that 'in the past' is measured from (the demo's sample roster uses it).")
@pass_root
def packets(project_dir: Path, roster: Path, output: Path | None, workers: int, skip_invalid: bool,
            encrypt: bool, today: Any) -> None:
    """Make a private information packet for every patient of a roster (CSV or JSON).

    Every row is checked first; if any row is bad, all problems are listed (row and
    column) and nothing is written. Packets go to output/packets/<run-id>/ as
    packet_<random id>.pdf (readable only by you) with index.csv (packet id -> roster
    row) and audit.jsonl. Patient names never appear on the screen or in file names.

    \b
    Example:
      handout-gen packets tomorrow.csv
      handout-gen packets tomorrow.csv -o /secure/share/packets --encrypt
      handout-gen packets content/rosters/sample-roster.csv --skip-invalid
    """
    _packet_run(load(project_dir), roster, output, workers, encrypt, skip_invalid, today)


@cli.command()
@click.option("--first-name", required=True, help="Patient's first name.")
@click.option("--last-name", required=True, help="Patient's last name.")
@click.option("--procedure", "procedures", multiple=True, required=True,
              help="Procedure slug (repeat for several).")
@click.option("--date", "day", required=True, help="Appointment date, YYYY-MM-DD.")
@click.option("--time", "clock", required=True, help="Appointment time, e.g. 13:30 or 1:30 PM.")
@click.option("--location", required=True, help="Location id from practice.yaml.")
@click.option("--physician", required=True, help="Physician id from practice.yaml.")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option("--patient-id", default="", help="Opaque reference printed on the cover letter.")
@click.option("--sedation", is_flag=True, help="The patient will have sedation.")
@click.option("--blood-thinner", is_flag=True,
              help="The patient takes a blood thinner (needs --blood-thinner-name, --stop and --restart).")
@click.option("--blood-thinner-name", default="",
              help="The blood thinner's name, as the clinician writes it.")
@click.option("--stop", "stop", default="", help="The clinician's instruction for when to stop it.")
@click.option("--restart", "restart", default="", help="The clinician's instruction for when to restart it.")
@click.option("--diabetes", is_flag=True, help="The patient has diabetes.")
@click.option("--dye-allergy", is_flag=True, help="The patient is allergic to X-ray dye.")
@click.option("--large-print", is_flag=True, help="18 pt large print.")
@click.option("--encrypt", is_flag=True, help="Ask for a password and AES-256 protect the PDF.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run folder (default: output/packets/).")
@click.option("--today", callback=_iso_date, hidden=True)
@pass_root
def packet(project_dir: Path, output: Path | None, encrypt: bool, today: Any, **fields: Any) -> None:
    """Make one patient's packet from options (no roster file needed).

    The password for --encrypt is asked for (hidden), never taken from the command line.

    \b
    Example:
      handout-gen packet --first-name Ana --last-name Reyes \\
        --procedure epidural-steroid-injection --date 2026-12-09 --time 9:30 \\
        --location orchard --physician okafor --sedation --diabetes
    """
    import datetime as dt

    from handout_gen.packets.roster import Catalog, rows_from

    project = load(project_dir)
    item = {
        "first_name": fields["first_name"], "last_name": fields["last_name"],
        "procedures": ";".join(fields["procedures"]), "date": fields["day"], "time": fields["clock"],
        "location": fields["location"], "physician": fields["physician"], "language": fields["lang"],
        "patient_id": fields["patient_id"], "sedation": fields["sedation"],
        "blood_thinner": fields["blood_thinner"], "blood_thinner_name": fields["blood_thinner_name"],
        "blood_thinner_stop": fields["stop"], "blood_thinner_restart": fields["restart"],
        "diabetes": fields["diabetes"], "dye_allergy": fields["dye_allergy"],
        "large_print": fields["large_print"],
    }
    if encrypt:
        item["password"] = click.prompt(
            "Password for the PDF", hide_input=True, confirmation_prompt=True, err=True
        )
    catalog = Catalog.for_project(project, today or dt.date.today(), require_password=encrypt)
    rows = rows_from([item], catalog)
    _packet_run(project, rows, output, 1, encrypt, False, today)


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
    1 when there are errors (or warnings, with --strict).

    \b
    Example:
      handout-gen check
      handout-gen check --strict --no-pdf
      handout-gen check --format json > check.json
    """
    from handout_gen.checks.runner import run_checks

    report = run_checks(project_dir, pdf=not no_pdf)
    click.echo(report.to_json(strict) if output_format == "json" else report.to_text(), nl=False)
    if report.failed(strict):
        sys.exit(1)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in your web browser.")
@pass_root
def preview(project_dir: Path, port: int, open_browser: bool) -> None:
    """Serve a live preview of every handout, newsletter and a sample packet.

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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="handout-gen")
