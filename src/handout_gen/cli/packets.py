"""Commands for per-patient packets: a roster's worth, or one patient's."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from handout_gen.cli.base import EXIT_PARTIAL, Echo, InputFile, cli, load, pass_root, workers_option
from handout_gen.core.errors import agree, plural, roster_location

if TYPE_CHECKING:
    from handout_gen.core.errors import Problem


def _packet_run(project: Any, roster: Any, output: Path | None, workers: int, encrypt: bool,
                skip_invalid: bool, today: Any, allow_late: bool, allow_closed: bool,
                delivery_days: int | None, print_file: bool = False) -> Any:
    """Shared body of ``packets`` and ``packet``: counts and row numbers only on the terminal."""
    import datetime as dt

    from handout_gen.packets.run import RunOptions, run_packets

    options = RunOptions(
        out_root=output or project.output_dir / "packets", workers=workers, encrypt=encrypt,
        skip_invalid=skip_invalid, today=today or dt.date.today(), allow_late=allow_late,
        allow_closed=allow_closed, delivery_days=delivery_days, print_file=print_file,
    )
    bar: dict[str, Any] = {}

    def on_total(total: int) -> None:
        if sys.stderr.isatty():  # off a terminal, Click would print its label as a stray line
            bar["bar"] = click.progressbar(length=total, label="packets", file=sys.stderr, show_pos=True)
            bar["bar"].__enter__()

    try:
        report = run_packets(
            project, roster, options, progress=lambda n: bar["bar"].update(n) if "bar" in bar else None,
            on_total=on_total,
        )
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
    for problem in report.problems:
        click.echo(f"Skipped {roster_location(problem)}: {problem.message}", err=True)
    Echo.say(f"wrote {plural(report.written, 'packet')} to {report.run_dir}")
    if print_file and report.print_file is None:
        click.echo("no print file: no packet was made")
    if report.print_file is not None:
        made = report.print_file
        backs = ""
        if made.blanks:
            backs = f", {plural(made.blanks, 'blank back')} so each packet starts a new sheet"
        skipped = ", ".join(map(str, report.skipped_rows))
        rows = agree(len(report.skipped_rows), "row", "rows")
        left_out = f" ({rows} {skipped} not in it)" if skipped else ""
        Echo.say(f"print file: {made.path}: {plural(made.packets, 'packet')} in row order{left_out}, "
                 f"{plural(made.pages, 'page')}, {plural(made.sheets, 'sheet')} printed two-sided{backs}")
        command = f"lp -o sides=two-sided-long-edge {shlex.quote(str(made.path))}"
        Echo.say(f"Print it two-sided as one job ({command}), then delete it: the packets stay in the "
                 "run folder.")
    if report.late:
        click.echo(_late_line(report.late, one=not isinstance(roster, Path)))
    if report.skipped_rows:
        click.echo(_skipped_line(report.skipped_rows, report.problems))
    if isinstance(roster, Path):
        Echo.say("index.csv maps packet ids to roster rows; audit.jsonl logs each packet.")
    else:
        Echo.say("audit.jsonl logs the packet.")
    return report


def _skipped_line(skipped: list[int], problems: list[Problem]) -> str:
    """What the desk does about the rows --skip-invalid left out: a row with a mistake in it is
    fixed and run again; a right row too late for a rule means a call to the patient; a row
    that repeats an earlier one needs nothing (its patient's packet is made)."""
    from handout_gen.packets.roster import LATE_RULE
    from handout_gen.packets.roster_check import REPEATED_RULE

    rules: dict[int | None, set[str]] = {}
    for problem in problems:
        rules.setdefault(problem.line, set()).add(problem.rule)
    repeated = [n for n in skipped if rules.get(n) == {REPEATED_RULE}]
    late = [n for n in skipped if rules.get(n) == {LATE_RULE}]
    fix = [n for n in skipped if n not in repeated and n not in late]
    todo = []
    if fix:
        todo.append(f"fix {plural(len(fix), 'row')} and run a roster of those rows alone (the others have "
                    "their packets)")
    if late:
        todo.append(f"call the patients of {plural(len(late), 'row')} (too late for a rule)")
    if repeated:
        todo.append(f"{len(repeated)} repeated an earlier row (its packet is made)")
    return f"{plural(len(skipped), 'row')} skipped (listed in skipped.csv): {'; '.join(todo)}"


def _late_line(late: dict[int, tuple[str, ...]], one: bool = False) -> str:
    """The rows --allow-late made too late for a rule (their packets say "Call us today"), and
    for what: the desk calls them. ``one``: the one-patient command's packet."""
    from handout_gen.packets.timing import LATE_NAMES

    def what(rules: tuple[str, ...]) -> str:
        return ", ".join(LATE_NAMES.get(rule, rule) for rule in rules)

    if one:
        (rules,) = late.values()
        return f"The packet is too late for {what(rules)} (it says \"Call us today\"): call the patient today"
    rows = "; ".join(f"row {n}: {what(rules)}" for n, rules in sorted(late.items()))
    packets = f"{plural(len(late), 'packet')} {agree(len(late), 'is', 'are')}"
    patients = agree(len(late), "that patient", "those patients")
    return f'{packets} too late for a rule (they say "Call us today"); call {patients} today ({rows})'


def _describe_roster(roster: Path) -> None:
    """Say how a spreadsheet export was read when it is not plain UTF-8 with commas (stderr;
    always with -v). It names the encoding and the delimiter, never a cell. A file it cannot
    read (no such encoding) is left to the roster check, which names it."""
    from handout_gen.packets.roster_files import RosterFormat, csv_format

    if Echo.quiet:
        return
    found = csv_format(roster)
    if found is None:
        return
    if Echo.verbose or found not in (RosterFormat("utf-8"), RosterFormat("utf-8-sig")):
        click.echo(f"reading {roster.name}: {found.describe()}", err=True)


ALLOW_LATE_HELP = (
    "Make packets that are printed too late for a rule (a medicine to stop days before the "
    "visit, printed the day before) with a 'Call us today' box in place of that rule."
)
DELIVERY_HELP = (
    "Days until the patients have these packets, for this run: 0 when you hand them over or send "
    "them through the portal today [default: delivery_days in content/packet.yaml]. Every date "
    "rule counts from that day."
)
ALLOW_CLOSED_HELP = (
    "Make packets for appointments outside the clinic's opening hours or on a closed_dates day in "
    "practice.yaml (an extra session); without it such a row is bad: usually a typo, or a time "
    "with no AM/PM."
)


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


def _as_of(today: Any) -> None:
    """Say on every run whose print date is not today that it is not (deadlines worked out
    from another day mislead whoever reads them): a note, not one of the roster's warnings."""
    import datetime as dt

    if today is not None and today != dt.date.today():
        click.echo(f"Note: printing as of {today.isoformat()}, not today ({dt.date.today().isoformat()}): "
                   "every date and deadline in the packets is worked out from that day", err=True)


TODAY_HELP = ("Print as of this date (YYYY-MM-DD; default: today): what 'in the past' and 'too late' "
              "are measured from. For the fictional sample roster; the run's audit log records it.")


@cli.command()
@click.argument("roster", type=InputFile())
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run folder (default: output/packets/). Each run gets <run-id>/.")
@workers_option
@click.option("--skip-invalid", is_flag=True,
              help="Make packets for the good rows and list the bad ones (default: write nothing).")
@click.option("--encrypt", is_flag=True,
              help="AES-256 password-protect each PDF with the roster's 'password' column.")
@click.option("--check", "check_only", is_flag=True, help="Check every row and write nothing.")
@click.option("--print-file", is_flag=True,
              help="Also write print-all.pdf: every packet in roster order, for one two-sided print job "
                   "(a blank back after a packet with an odd page count).")
@click.option("--allow-late", is_flag=True, help=ALLOW_LATE_HELP)
@click.option("--allow-closed", is_flag=True, help=ALLOW_CLOSED_HELP)
@click.option("--delivery-days", type=click.IntRange(0, 14), default=None, metavar="DAYS", help=DELIVERY_HELP)
@click.option("--today", callback=_iso_date, metavar="DATE", help=TODAY_HELP)
@pass_root
def packets(project_dir: Path, roster: Path, output: Path | None, workers: int, skip_invalid: bool,
            encrypt: bool, check_only: bool, print_file: bool, allow_late: bool, allow_closed: bool,
            delivery_days: int | None, today: Any) -> None:
    """Make a private information packet for every patient of a roster (CSV or JSON).

    Every row is checked first; if any row is bad, all problems are listed (row and
    column) and nothing is written. Packets go to output/packets/<run-id>/ as
    packet_<random id>.pdf (readable only by you) with index.csv (packet id -> roster
    row) and audit.jsonl. Patient names never appear on the screen or in file names.

    Fasting, medicine stops and call-by days print as clock times and dates computed
    from each appointment (the rules are in content/packet.yaml). A row printed too late
    to follow one of them (a medicine to stop days before the visit) is a bad row, unless
    --allow-late: its packet then says "Call us today" in place of that rule. An arrival
    outside the clinic's opening hours (practice.yaml) is a bad row too, unless
    --allow-closed: "1:30" is read as 1:30 AM, so write 13:30 or 1:30 PM.

    A roster can be a spreadsheet export as it comes: comma, semicolon or tab separated;
    UTF-8, UTF-16 or Windows-1252; headers such as "First Name" or "Appointment Date"; the
    whole name in one "Patient Name" column as "Last, First".
    With --skip-invalid the exit code is 3 when rows were skipped.

    \b
    Example:
      handout-gen packets tomorrow.csv
      handout-gen packets tomorrow.csv --print-file   # + print-all.pdf: one job for the day's stack
      handout-gen packets tomorrow.csv -o /secure/share/packets --encrypt
      handout-gen packets content/rosters/sample-roster.csv --today 2026-11-20 --skip-invalid
      handout-gen packets tomorrow.csv --check
      handout-gen packets tomorrow.csv --allow-late
      handout-gen packets tomorrow.csv --delivery-days 0   # handed over today, not posted
    """
    import datetime as dt

    from handout_gen.core.errors import RosterError
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.roster_check import check_roster
    from handout_gen.packets.run import fallback_warnings, refuse_conflicts

    project = load(project_dir)
    _describe_roster(roster)
    _as_of(today)
    if check_only:
        refuse_conflicts(encrypt=encrypt, print_file=print_file)
        kit = load_kit(project).delivered_in(delivery_days)
        catalog = kit.catalog(today or dt.date.today(), encrypt, allow_late, allow_closed)
        summary = check_roster(roster, catalog)
        if summary.problems:
            raise RosterError(summary.problems, roster.name)
        # the run would say them: say them now
        warnings = fallback_warnings(kit, summary.variants, packets=summary.valid)
        for warning in warnings:
            logging.getLogger("handout_gen").warning("%s", warning)
        said = f", {plural(len(warnings), 'warning')} above" if warnings else ""
        click.echo(f"{roster.name}: {plural(summary.valid, 'row')}, all good{said}; nothing was written")
        if summary.late:
            click.echo(_late_line(summary.late))
        return
    report = _packet_run(project, roster, output, workers, encrypt, skip_invalid, today, allow_late,
                         allow_closed, delivery_days, print_file=print_file)
    if report.skipped_rows:
        sys.exit(EXIT_PARTIAL)


# The roster column each option of `packet` fills: (its parameter, the option a message names).
OPTION_COLUMNS = {
    "first_name": ("first_name", "--first-name"), "last_name": ("last_name", "--last-name"),
    "procedures": ("procedures", "--procedure"), "date": ("day", "--date"), "time": ("clock", "--time"),
    "location": ("location", "--location"), "physician": ("physician", "--physician"),
    "language": ("lang", "--lang"), "patient_id": ("patient_id", "--patient-id"),
    "sedation": ("sedation", "--sedation"), "blood_thinner": ("blood_thinner", "--blood-thinner"),
    "blood_thinner_name": ("blood_thinner_name", "--blood-thinner-name"),
    "blood_thinner_stop": ("stop", "--stop"), "blood_thinner_restart": ("restart", "--restart"),
    "blood_thinner_last_dose": ("last_dose", "--last-dose"), "diabetes": ("diabetes", "--diabetes"),
    "dye_allergy": ("dye_allergy", "--dye-allergy"), "large_print": ("large_print", "--large-print"),
}


def _option_of(problem: Any) -> str:
    """``--date`` for a problem of the date column (``--encrypt`` for the password)."""
    if problem.field == "password":
        return "--encrypt password"
    return OPTION_COLUMNS[problem.field][1] if problem.field in OPTION_COLUMNS else str(problem.field)


@cli.command()
# Required, but checked in the command, so that one message names every option missing
# (Click stops at the first).
@click.option("--first-name", default="", help="Patient's first name. Required.")
@click.option("--last-name", default="", help="Patient's last name. Required.")
@click.option("--procedure", "procedures", multiple=True,
              help="Procedure slug (repeat for several). Required.")
@click.option("--date", "day", default="", help="Appointment date, YYYY-MM-DD. Required.")
@click.option("--time", "clock", default="", help="Appointment time, e.g. 13:30 or 1:30 PM. Required.")
@click.option("--location", default="", help="Location id from practice.yaml. Required.")
@click.option("--physician", default="", help="Physician id from practice.yaml. Required.")
@click.option("--lang", default="en", show_default=True,
              help="Language code of the packet (see content/languages.yaml).")
@click.option("--patient-id", default="", help="Opaque reference printed on the cover letter.")
@click.option("--sedation", is_flag=True, help="The patient will have sedation.")
@click.option("--blood-thinner", is_flag=True,
              help="The patient takes a blood thinner (needs --blood-thinner-name, --stop and --restart).")
@click.option("--blood-thinner-name", default="",
              help="The blood thinner's name, as the clinician writes it.")
@click.option("--stop", "stop", default="", help="The clinician's instruction for when to stop it.")
@click.option("--restart", "restart", default="", help="The clinician's instruction for when to restart it.")
@click.option("--last-dose", "last_dose", default="",
              help="Day of the last dose of the blood thinner, YYYY-MM-DD (printed with its weekday).")
@click.option("--diabetes", is_flag=True, help="The patient has diabetes.")
@click.option("--dye-allergy", is_flag=True, help="The patient is allergic to X-ray dye.")
@click.option("--large-print", is_flag=True, help="18 pt large print.")
@click.option("--encrypt", is_flag=True, help="Ask for a password and AES-256 protect the PDF.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run folder (default: output/packets/).")
@click.option("--allow-late", is_flag=True, help=ALLOW_LATE_HELP)
@click.option("--allow-closed", is_flag=True, help=ALLOW_CLOSED_HELP)
@click.option("--delivery-days", type=click.IntRange(0, 14), default=None, metavar="DAYS", help=DELIVERY_HELP)
@click.option("--today", callback=_iso_date, metavar="DATE", help=TODAY_HELP)
@pass_root
def packet(project_dir: Path, output: Path | None, encrypt: bool, allow_late: bool, allow_closed: bool,
           delivery_days: int | None, today: Any, **fields: Any) -> None:
    """Make one patient's packet from options (no roster file needed).

    The password for --encrypt is asked for (hidden), never taken from the command line.

    \b
    Example:
      handout-gen packet --first-name Ana --last-name Reyes \\
        --procedure epidural-steroid-injection --date 2026-12-09 --time 9:30 \\
        --location orchard --physician okafor --sedation --diabetes
      handout-gen packet ... --blood-thinner --blood-thinner-name "Apixaban" \\
        --stop "Take your last dose on the morning of December 6." --last-dose 2026-12-06 \\
        --restart "Start again the morning after your procedure."
    """
    import datetime as dt

    from handout_gen.core.errors import RosterError
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.roster import rows_from
    from handout_gen.packets.roster_files import REQUIRED

    missing = [option for column, (name, option) in OPTION_COLUMNS.items()  # given blank is missing too
               if column in REQUIRED and not "".join(fields[name]).strip()]
    if missing:
        options = agree(len(missing), "option", "options")
        raise click.UsageError(f"Missing {options} {', '.join(missing)} (see the example in --help)")
    project = load(project_dir)
    _as_of(today)
    item = {column: fields[name] for column, (name, _) in OPTION_COLUMNS.items()}
    item["procedures"] = ";".join(fields["procedures"])
    if encrypt:
        item["password"] = click.prompt(
            "Password for the PDF", hide_input=True, confirmation_prompt=True, err=True
        )
    kit = load_kit(project).delivered_in(delivery_days)
    catalog = kit.catalog(today or dt.date.today(), encrypt, allow_late, allow_closed)
    try:
        rows = rows_from([item], catalog)
    except RosterError as exc:  # named by the options given, not by a roster's row and column
        raise RosterError(exc.problems, "the patient details", locate=_option_of) from None
    report = _packet_run(project, rows, output, 1, encrypt, False, today, allow_late, allow_closed,
                         delivery_days)
    for path in sorted(report.run_dir.glob("packet_*.pdf")):
        click.echo(f"packet: {path}")
