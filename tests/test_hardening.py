"""Nothing broken gets out (issue 13): hostile and mistaken inputs, named, refused, never a traceback.

Each test reproduces a failure a new user or a hostile file caused, and asserts the exit
code, the message (file and line, or row and column), that nothing was written and that
no traceback was printed.
"""

from __future__ import annotations

import ctypes
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.content import procedures
from handout_gen.content.project import load_project
from handout_gen.packets.kit import load_kit
from handout_gen.packets.roster_check import iter_roster
from handout_gen.packets.roster_files import detect_format
from tests.cliutil import hg
from tests.fictional import write_csv
from tests.test_roster import GOOD, TODAY


def drafts(*files: str, one: bool = False) -> str:
    """The packet runs' warning of draft content, naming the files that print DRAFT (a run
    of ``one`` packet speaks of "this packet")."""
    named = ", ".join(f"content/{name}" for name in files)
    whose, it = ("this packet's", "it") if one else ("those packets'", "them")
    return (f"Warning: content awaiting review is marked DRAFT on {whose} pages ({named}): hand "
            f"{it} out once a clinician, and a translator for a translation, has approved it (status: "
            "approved in the file; 'handout-gen check' lists the drafts)")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- YAML and file-size limits ------------------------------------------------------------


def test_an_impossible_date_is_named_with_its_line_not_a_traceback(sample_project: Path) -> None:
    prp = sample_project / "content/procedures/prp-injection.md"
    edit(prp, "last_reviewed: 2026", "last_reviewed: 2026-02-30 #")
    result = hg(sample_project, "list")
    line = line_of(prp, "2026-02-30")
    assert result.returncode == 1, result.stderr
    assert (
        f"content/procedures/prp-injection.md:{line}: invalid YAML: '2026-02-30' is not a real date "
        "(dates are YYYY-MM-DD, e.g. 2026-02-28)"
    ) in result.stderr
    assert "radiofrequency-ablation" in result.stdout  # the others are listed as usual
    assert "Traceback" not in result.stderr


def test_a_yaml_alias_bomb_is_refused_in_under_two_seconds(sample_project: Path) -> None:
    practice = sample_project / "content/practice.yaml"
    bomb = "lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
    )
    practice.write_text(practice.read_text() + bomb)
    start = time.perf_counter()
    result = hg(sample_project, "build")
    assert time.perf_counter() - start < 2 + 1.5  # the limit, plus starting Python in a process
    assert result.returncode == 1
    assert "content/practice.yaml:" in result.stderr and "more than 32 aliases" in result.stderr
    assert "Traceback" not in result.stderr and not (sample_project / "output").exists()


def test_a_20_mb_markdown_file_is_refused_quickly_and_blocks_only_itself(sample_project: Path) -> None:
    huge = sample_project / "content/procedures/prp-injection.md"
    huge.write_text(huge.read_text() + "Words of text. " * 1_400_000)  # about 21 MB
    start = time.perf_counter()
    project = load_project(sample_project)
    assert time.perf_counter() - start < 2
    (problem,) = project.broken["prp-injection"]
    assert str(problem).startswith("content/procedures/prp-injection.md: is 21,")
    assert str(problem).endswith("bytes; files here may be at most 1,000,000 bytes")
    assert "radiofrequency-ablation" in project.procedures


def test_an_unquoted_colour_gets_a_hint(sample_project: Path) -> None:
    practice = sample_project / "content/practice.yaml"
    edit(practice, 'primary: "#1B4965"', "primary: #1B4965")
    result = hg(sample_project, "list")
    assert result.returncode == 1
    assert "colors.primary: is empty: write a value (one that starts with '#' must be in quotes" \
        in result.stderr


UNDIALLABLE = ["555-01OO", "555-010", "call the front desk", "555-0101 x", "555--", "555.0199", "05550100"]


@pytest.mark.parametrize("phone", UNDIALLABLE)
def test_a_phone_number_that_cannot_be_dialled_stops_everything_at_its_line(
    sample_project: Path, phone: str
) -> None:
    """Every page prints the practice's number for "call us": a letter O for a zero, a digit
    short or words in its place is an error at its line, before anything is written."""
    practice = sample_project / "content/practice.yaml"
    edit(practice, "after_hours_phone: 555-0199", f"after_hours_phone: {phone}")
    line = practice.read_text(encoding="utf-8").splitlines().index(f"after_hours_phone: {phone}") + 1
    result = hg(sample_project, "build")
    assert result.returncode == 1
    unquoted = 'is read as a number: put it in quotes, e.g. "555-0100"'  # YAML: 555.0199, octal 05550100
    assert f"content/practice.yaml:{line}: after_hours_phone: " in result.stderr
    assert "is not a phone number: write its 7 to 15 digits" in result.stderr or unquoted in result.stderr
    assert not (sample_project / "output").exists()


@pytest.mark.parametrize("phone", [
    "(555) 555-0199", "+1 555 555 0199", '"555.0199"', "555-0199 ext. 12", '"5550199"'
])
def test_phone_numbers_as_staff_write_them_are_read(sample_project: Path, phone: str) -> None:
    from handout_gen.content.project import load_project

    practice = sample_project / "content/practice.yaml"
    edit(practice, "after_hours_phone: 555-0199", f"after_hours_phone: {phone}")
    assert load_project(sample_project).practice.after_hours_phone == phone.strip('"')


def test_a_tapped_number_dials_its_extension_after_it() -> None:
    from handout_gen.render.jinja import tel_href

    assert tel_href("555-0100 ext. 12") == "tel:5550100;ext=12"
    assert tel_href("(555) 555-0100 x7") == "tel:5555550100;ext=7"
    assert tel_href("+1 555 555 0100") == "tel:+15555550100"


def test_a_wrong_value_says_what_to_write_instead(sample_project: Path) -> None:
    """pydantic's words ("Input should be a valid boolean, unable to interpret input") are
    said as what to write: true or false, a whole number, at least 1, text in quotes."""
    from handout_gen.content.project import load_project
    from handout_gen.core.errors import ValidationFailed

    prp = sample_project / "content/procedures/prp-injection.md"
    edit(prp, "sedation_offered: false", "sedation_offered: maybe")
    assert [(p.field, p.message) for p in load_project(sample_project).problems] == [
        ("prep.sedation_offered", "must be true or false")
    ]
    practice = sample_project / "content/practice.yaml"
    edit(practice, "call_within_hours: 2", "call_within_hours: 0")
    edit(practice, "short_name: Maple Hollow Spine & Pain", "short_name: 1999")
    edit(practice, "arrive_minutes_early: 45", "arrive_minutes_early: soon")
    with pytest.raises(ValidationFailed) as failed:
        load_project(sample_project)
    assert sorted((p.field or "", p.message) for p in failed.value.problems) == [
        ("locations.1.arrive_minutes_early", "must be a whole number, e.g. 30"),
        ("short_name", "must be text: put it in quotes"),
        ("thresholds.call_within_hours", "must be at least 1"),
    ]


# --- inside the project means resolved inside ------------------------------------------------


@contextmanager
def opens_of(path: Path) -> Iterator[list[int]]:
    """Record every open of ``path`` (Linux inotify IN_OPEN) while the block runs."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    assert fd >= 0
    in_open = 0x20
    assert libc.inotify_add_watch(fd, str(path).encode(), in_open) >= 0
    events: list[int] = []
    try:
        yield events
    finally:
        try:
            while data := os.read(fd, 4096):
                events.append(len(data))
        except BlockingIOError:
            pass
        os.close(fd)


def test_opens_of_sees_an_open(tmp_path: Path) -> None:
    """The watcher itself works: reading the file is seen."""
    target = tmp_path / "watched.txt"
    target.write_text("x")
    with opens_of(target) as events:
        target.read_text()
    assert events


@pytest.mark.slow
def test_a_symlinked_procedure_outside_the_project_is_refused_and_never_opened(
    small_warm_project: Path, tmp_path: Path
) -> None:
    small_project = small_warm_project
    for built in (small_project / "output/handouts").glob("prp-injection*.pdf"):
        built.unlink()  # to be made again: the build goes on past the refused file
    secret = tmp_path / "elsewhere" / "secret.md"
    secret.parent.mkdir()
    source = (small_project / "content/procedures/prp-injection.md").read_text()
    secret.write_text(
        source.replace("slug: prp-injection", "slug: leak").replace("title: ", "title: ZZSECRET ")
    )
    (small_project / "content/procedures/leak.md").symlink_to(secret)
    with opens_of(secret) as events:
        build = hg(small_project, "build")
        check = hg(small_project, "check", "--no-pdf")
    assert not events, "the target outside the project was opened"
    message = "content/procedures/leak.md: resolves outside content/procedures/ (a link to a file elsewhere)"
    assert build.returncode == 1 and message in build.stderr
    assert check.returncode == 1
    assert "content/procedures/leak.md: error [references.outside] resolves outside content/procedures/" \
        in check.stdout
    assert "handouts: 4 written, 4 unchanged" in build.stdout  # every other procedure was built
    made = b"".join(p.read_bytes() for p in (small_project / "output").rglob("*") if p.is_file())
    assert b"ZZSECRET" not in made and "Traceback" not in build.stderr + check.stderr


def test_symlinked_templates_and_assets_outside_are_refused(sample_project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.css"
    outside.write_text("body { color: red }")
    (sample_project / "content/assets/brand.css").symlink_to(outside)
    with opens_of(outside) as events:
        result = hg(sample_project, "build")
    assert not events
    assert result.returncode == 1
    assert "content/assets/brand.css: resolves outside content/assets/" in result.stderr
    (sample_project / "content/assets/brand.css").unlink()
    (sample_project / "templates").mkdir(exist_ok=True)  # git keeps no empty folder: a clone has none
    (sample_project / "templates/handout.html.j2").symlink_to(outside)
    result = hg(sample_project, "handout", "prp-injection")
    assert result.returncode == 1
    assert "templates/handout.html.j2: resolves outside templates/" in result.stderr


@pytest.mark.slow
def test_a_symlinked_newsletter_outside_is_refused_and_never_opened(
    small_warm_project: Path, tmp_path: Path
) -> None:
    small_project = small_warm_project
    outside = tmp_path / "issue.md"
    outside.write_text((small_project / "content/newsletters/2026-12.md").read_text())
    (small_project / "content/newsletters/2027-01.md").symlink_to(outside)
    with opens_of(outside) as events:
        result = hg(small_project, "-q", "build")
    assert not events
    assert result.returncode == 1
    assert "content/newsletters/2027-01.md: resolves outside content/newsletters/" in result.stderr
    assert (small_project / "output/newsletters/2026-12/email.html").is_file()  # the good issue is built


def test_packet_words_linked_from_outside_are_refused_and_never_opened(
    sample_project: Path, tmp_path: Path
) -> None:
    """content/packet.yaml as a link to a file elsewhere: named, and read neither for its
    words nor for the parts' cache key."""
    from handout_gen.content.project import load_project
    from handout_gen.core.errors import ValidationFailed
    from handout_gen.packets.kit import load_kit

    words = sample_project / "content/packet.yaml"
    outside = tmp_path / "packet.yaml"
    outside.write_bytes(words.read_bytes())
    words.unlink()
    words.symlink_to(outside)
    project = load_project(sample_project)
    with opens_of(outside) as events, pytest.raises(ValidationFailed) as refused:
        load_kit(project)
    assert not events
    assert "content/packet.yaml: resolves outside content/" in str(refused.value)


def test_the_template_loader_refuses_a_link_out_of_templates(tmp_path: Path) -> None:
    """Defence in depth: even a template linked after the project was loaded is never read."""
    from handout_gen.core.errors import TemplateError
    from handout_gen.render.jinja import make_env, render

    folder = tmp_path / "templates"
    folder.mkdir()
    outside = tmp_path / "outside.j2"
    outside.write_text("SECRET")
    (folder / "page.j2").symlink_to(outside)
    with opens_of(outside) as events, pytest.raises(TemplateError, match="resolves outside templates/"):
        render(make_env(folder), "page.j2")
    assert not events


# --- build gates on the same rules as check ---------------------------------------------------


@pytest.mark.slow
def test_a_missing_image_stops_its_handouts_every_time(small_project: Path) -> None:
    prp = small_project / "content/procedures/prp-injection.md"
    image = '\n![A knee](assets/knee.png "Knee")\n'
    edit(prp, "## Who it may help {#who}\n", "## Who it may help {#who}\n" + image)
    line = line_of(prp, "assets/knee.png")
    for _ in range(2):  # a blocked output is never reported as "unchanged" on the next build
        result = hg(small_project, "build")
        assert result.returncode == 1
        where = f"content/procedures/prp-injection.md:{line}"
        assert f"{where}: image 'assets/knee.png' not found" in result.stderr
        assert not list((small_project / "output/handouts").glob("prp-injection*.pdf"))
        assert re.search(r"^handouts: [04] written, [04] unchanged$", result.stdout, re.M), result.stdout
    assert len(list((small_project / "output/handouts").glob("radiofrequency-ablation*.pdf"))) == 4


@pytest.mark.slow
def test_an_http_link_in_a_newsletter_is_an_error_not_a_gap(sample_project: Path) -> None:
    issue = sample_project / "content/newsletters/2026-12.md"
    heading = "## Holiday hours {#holiday-hours}\n"
    edit(issue, heading, heading + "\nSee [new page](http://example.org/new).\n")
    line = line_of(issue, "http://example.org/new")
    expected = (
        f"content/newsletters/2026-12.md:{line}: link 'http://example.org/new' would be removed: "
        "links must be https://, mailto: or tel:"
    )
    result = hg(sample_project, "newsletter", "2026-12")
    assert result.returncode == 1 and expected in result.stderr
    assert not (sample_project / "output/newsletters").exists()
    check = hg(sample_project, "check", "--no-pdf")
    assert check.returncode == 1
    assert f"content/newsletters/2026-12.md:{line}: error [references.link-https]" in check.stdout


def test_raw_html_and_other_schemes_in_a_handout_are_errors(sample_project: Path) -> None:
    prp = sample_project / "content/procedures/prp-injection.md"
    heading = "## Who it may help {#who}\n"
    edit(prp, heading, heading + '\n<a href="javascript:alert(1)">tap</a>\n')
    line = line_of(prp, "javascript:")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "check", "--no-pdf"])
    where = f"content/procedures/prp-injection.md:{line}"
    found = f"{where}: error [references.link-https] link 'javascript:alert(1)' would be removed"
    assert found in result.output


def test_low_contrast_brand_colours_stop_every_output(sample_project: Path) -> None:
    practice = sample_project / "content/practice.yaml"
    edit(practice, 'text: "#1A1A1A"', 'text: "#AAAAAA"')
    line = line_of(practice, "#AAAAAA")
    result = hg(sample_project, "build")
    assert result.returncode == 1
    assert f"content/practice.yaml:{line}: colors.text #AAAAAA on colors.background" in result.stderr
    assert not list((sample_project / "output").rglob("*.pdf"))


# --- rosters as spreadsheets save them --------------------------------------------------------

SPREADSHEET_HEADER = {
    "patient_id": "Patient ID", "first_name": "First Name", "last_name": "Last Name", "language": "Language",
    "procedures": "Procedure", "date": "Appointment Date", "time": "Appointment Time", "location": "Clinic",
    "physician": "Doctor", "sedation": "Sedation", "blood_thinner": "Blood Thinner",
    "blood_thinner_stop": "Blood Thinner Stop", "blood_thinner_restart": "Blood Thinner Restart",
    "diabetes": "Diabetes", "dye_allergy": "Dye Allergy", "large_print": "Large Print",
}
PATIENTS = [
    {**GOOD, "first_name": "José", "last_name": "Muñoz-Ñúñez"},
    {**GOOD, "first_name": "Zoë", "last_name": "Brontë", "time": "1:45 PM", "date": "12/10/2026",
     "patient_id": "MH-2"},
]


def export(path: Path, delimiter: str, encoding: str, excel: bool) -> Path:
    """Write PATIENTS as a spreadsheet would: its header words, its date and time formats."""
    lines = [delimiter.join(SPREADSHEET_HEADER[c] for c in GOOD)]
    for patient in PATIENTS:
        cells = dict(patient)
        if excel:
            cells["time"] = {"09:30": "9:30:00 AM", "1:45 PM": "1:45:00 PM"}[cells["time"]]
            cells["date"] = {"2026-12-09": "2026-12-09 00:00:00", "12/10/2026": "10.12.2026"}[cells["date"]]
        lines.append(delimiter.join(cells[c] for c in GOOD))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("delimiter", "encoding", "described"),
    [
        (";", "cp1252", "Windows-1252, semicolon-separated"),
        ("\t", "utf-16", "UTF-16, tab-separated"),
        (",", "utf-8-sig", "UTF-8 (with BOM), comma-separated"),
        ("\t", "cp1252", "Windows-1252, tab-separated"),
    ],
)
def test_spreadsheet_exports_give_the_same_rows_as_utf8_commas(
    tmp_path: Path, delimiter: str, encoding: str, described: str
) -> None:
    catalog = load_kit(load_project(_fixture_root())).catalog(TODAY)
    plain = tmp_path / "plain.csv"
    write_csv(plain, PATIENTS)
    exported = export(tmp_path / "export.csv", delimiter, encoding, excel=True)
    assert detect_format(exported).describe() == described

    def rows(path: Path) -> list[tuple[object, ...]]:
        found = list(iter_roster(path, catalog))
        assert all(row is not None for _, row, _ in found), [p for _, _, ps in found for p in ps]
        return [tuple(vars(row).values()) for _, row, _ in found]

    assert rows(exported) == rows(plain)


@pytest.mark.parametrize("encoding", ["cp850", "shift_jis"])
def test_a_roster_in_another_encoding_is_refused_by_name_not_a_traceback(
    sample_project: Path, tmp_path: Path, encoding: str
) -> None:
    """A DOS-era export (CP850: "ü" is a byte Windows-1252 leaves undefined) or a Japanese
    Excel's (Shift-JIS): the check and the run say which file and how to save it, and write
    nothing."""
    roster = tmp_path / "tomorrow.csv"
    rows = [{**GOOD, "last_name": "Müller" if encoding == "cp850" else "佐藤"}]
    write_csv(roster, rows)
    roster.write_bytes(roster.read_text(encoding="utf-8").encode(encoding))
    for extra in (["--check"], []):
        result = hg(sample_project, "packets", str(roster), *extra, "--today", TODAY.isoformat())
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr == ("Error: 1 problem in tomorrow.csv; nothing was written:\n  file: is not "
                                 "text in UTF-8, UTF-16 or Windows-1252; save it as 'CSV UTF-8'\n")
        assert not (sample_project / "output").exists()


def test_a_slash_date_that_may_be_day_first_is_refused(tmp_path: Path) -> None:
    """MM/DD/YYYY is read month first: a first number over 12 is a day (a non-US export),
    and in a semicolon-separated file (a European spreadsheet's) 05/01/2027 could be either.
    Both are named by row and column, with the fix; a US comma file keeps 05/01/2027. A year
    of two digits is named too."""
    catalog = load_kit(load_project(_fixture_root())).catalog(TODAY)
    rows = [{**GOOD, "date": "01/05/2027"}, {**GOOD, "date": "14/12/2026"}, {**GOOD, "date": "02/02/2027"},
            {**GOOD, "date": "2027-01-05", "time": "10:30", "patient_id": "MH-2"}]  # row 2's day

    def problems(delimiter: str) -> list[tuple[int | None, str | None, str]]:
        path = tmp_path / "roster.csv"
        lines = [delimiter.join(GOOD)] + [delimiter.join(row[c] for c in GOOD) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [(p.line, p.field, p.message) for _, _, found in iter_roster(path, catalog) for p in found]

    swapped = ("is not a real date: slash dates are read month first (MM/DD/YYYY) and its first number "
               "is over 12; day and month swapped? Write it as YYYY-MM-DD")
    assert problems(",") == [(3, "date", swapped)]
    # in a semicolon file every slash date that reads two ways is told the same thing
    european = ("is a slash date in a semicolon-separated file (as a European spreadsheet saves it), where "
                "slash dates are day first, but rosters read them month first (MM/DD/YYYY); write it as "
                "YYYY-MM-DD")
    assert problems(";") == [(2, "date", european), (3, "date", european)]
    rows[0]["date"] = "12/2/26"  # a two-digit year is named as such, not "not a real date"
    assert problems(",") == [(2, "date", "has a two-digit year; write the year in full, e.g. 2026-12-09 or "
                              "12/09/2026"), (3, "date", swapped)]


def _fixture_root() -> Path:
    from tests.conftest import FIXTURE

    return FIXTURE


def test_packets_check_says_the_warnings_the_run_would(sample_project: Path, tmp_path: Path) -> None:
    """A nurse checking the roster learns before the run which patients get an English
    handout and which rows name no site (their blood-thinner wording is the highest risk's)."""
    roster = tmp_path / "roster.csv"
    chinese = {**GOOD, "language": "zh", "procedures": "joint-injections-nerve-blocks", "sedation": "no"}
    write_csv(roster, [chinese, {**GOOD, "patient_id": "MH-2", "procedures": "radiofrequency-ablation"}])
    result = hg(sample_project, "packets", str(roster), "--check", "--today", TODAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "roster.csv: 2 rows, all good, 3 warnings above; nothing was written\n"
    assert result.stderr.splitlines()[-3:] == [
        "Warning: joint-injections-nerve-blocks has no 'zh' edition; those packets use the English handout "
        "(row 2)",
        "Warning: radiofrequency-ablation without a site (write radiofrequency-ablation:<site>, "
        "sites: cervical, lumbar) takes its highest bleeding risk (intermediate) (row 3)",
        drafts("packet.yaml", "procedures/joint-injections-nerve-blocks.md",
               "procedures/radiofrequency-ablation.md") + " (rows 2 and 3)",
    ]
    assert not (sample_project / "output").exists()


def test_packets_of_approved_content_print_no_draft_warning(sample_project: Path, tmp_path: Path) -> None:
    """Once the packet words and the handouts a packet uses are approved, the DRAFT warning
    goes; a draft handout of a procedure no row names does not bring it back."""
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**GOOD, "procedures": "prp-injection:peripheral", "sedation": "no"}])
    for name in ("content/packet.yaml", "content/procedures/prp-injection.md"):
        path = sample_project / name
        path.write_text(path.read_text(encoding="utf-8").replace("\nstatus: draft", "\nstatus: approved"),
                        encoding="utf-8")
    result = hg(sample_project, "packets", str(roster), "--check", "--today", TODAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "roster.csv: 1 row, all good; nothing was written\n", result.stderr
    assert "DRAFT" not in result.stderr


def test_packets_check_reads_a_spreadsheet_export_and_writes_nothing(
    sample_project: Path, tmp_path: Path
) -> None:
    roster = export(tmp_path / "tomorrow.csv", ";", "cp1252", excel=True)
    result = hg(sample_project, "packets", str(roster), "--check", "--today", TODAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tomorrow.csv: 2 rows, all good, 1 warning above; nothing was written\n"
    assert "reading tomorrow.csv: Windows-1252, semicolon-separated" in result.stderr
    # the fixture's content is all draft
    assert result.stderr.endswith(drafts("packet.yaml", "procedures/epidural-steroid-injection.md")
                                  + " (rows 2 and 3)\n")
    assert not (sample_project / "output").exists()
    assert "José" not in result.stdout + result.stderr and "Muñoz" not in result.stdout + result.stderr


# --- small things users expect ---------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_edition_prints_english_under_the_english_name(sample_project: Path) -> None:
    (sample_project / "content/procedures/prp-injection.es.md").unlink()
    result = hg(sample_project, "handout", "prp-injection", "--lang", "es")
    assert result.returncode == 0
    assert "Warning: prp-injection has no 'es' edition" in result.stderr
    assert result.stdout.strip().endswith("output/handouts/prp-injection.pdf")
    assert not (sample_project / "output/handouts/prp-injection.es.pdf").exists()


@pytest.mark.slow
def test_quiet_build_prints_only_problems(small_warm_project: Path) -> None:
    prp = small_warm_project / "content/procedures/prp-injection.md"
    edit(prp, "title: ", "title: New ")  # something to write
    result = hg(small_warm_project, "-q", "build")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


@pytest.mark.slow
def test_packet_prints_the_file_it_wrote_and_warns_about_this_packet(sample_project: Path) -> None:
    """The one-patient command's warnings speak of the one packet it makes."""
    result = hg(
        sample_project, "packet", "--first-name", "Zzyzx", "--last-name", "Testpatient",
        "--procedure", "joint-injections-nerve-blocks", "--date", "2026-12-09", "--time", "9:30",
        "--location", "orchard", "--physician", "okafor", "--today", TODAY.isoformat(), "--lang", "zh",
    )
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("packet: ")]
    path = Path(line.removeprefix("packet: "))
    assert path.is_file() and re.fullmatch(r"packet_[0-9a-f]{16}\.pdf", path.name)
    assert "Zzyzx" not in result.stdout + result.stderr
    assert result.stderr.splitlines()[-2:] == [
        "Warning: joint-injections-nerve-blocks has no 'zh' edition; this packet uses the English handout",
        drafts("packet.yaml", "procedures/joint-injections-nerve-blocks.md", one=True),
    ]


def test_the_preview_names_file_and_line_of_an_impossible_date(sample_project: Path) -> None:
    from handout_gen.preview.site import PreviewSite

    prp = sample_project / "content/procedures/prp-injection.md"
    edit(prp, "last_reviewed: 2026", "last_reviewed: 2026-02-30 #")
    site = PreviewSite(sample_project)
    site.refresh()
    line = line_of(prp, "2026-02-30")
    page = site.index_page()
    where = f"content/procedures/prp-injection.md:{line}"
    assert f"{where}: invalid YAML: &#x27;2026-02-30&#x27; is not a real date" in page
    assert "radiofrequency-ablation" in page and "ValueError" not in page  # the rest is previewed as usual


@pytest.mark.parametrize("folder", ["templates", "content/procedures", "content/locale"])
def test_a_project_folder_that_links_elsewhere_is_refused_before_anything_is_read(
        sample_project: Path, tmp_path: Path, folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link to a file elsewhere was refused; a link to a folder elsewhere let every file in
    it in. Now the folder itself is named and nothing is built; for content/procedures the
    loader's reads are watched too: not one file behind the link is opened."""
    inside = sample_project / folder
    elsewhere = tmp_path / "elsewhere"
    if inside.exists():
        inside.rename(elsewhere)
    else:
        elsewhere.mkdir()
    inside.symlink_to(elsewhere, target_is_directory=True)
    read: list[Path] = []  # what the procedures loader reads
    real_read = procedures.read_input

    def spy(path: Path, **kw: Any) -> bytes:
        read.append(path)
        return real_read(path, **kw)

    monkeypatch.setattr(procedures, "read_input", spy)
    done = hg(sample_project, "build")
    assert not [path for path in read if folder in str(path)]
    assert done.returncode == 1 and not (sample_project / "output").exists()
    assert f"  {folder}: resolves outside the project (a link to a folder elsewhere)" in done.stderr


def test_a_catalog_that_links_elsewhere_or_is_not_utf8_is_named_never_read(
        sample_project: Path, tmp_path: Path) -> None:
    from handout_gen.checks.runner import run_checks

    catalog = sample_project / "content" / "locale" / "zh.po"
    elsewhere = tmp_path / "zh.po"
    catalog.rename(elsewhere)
    catalog.symlink_to(elsewhere)
    args = ("handout", "epidural-steroid-injection", "--lang", "zh", "-o", tmp_path / "zh.pdf")
    done = hg(sample_project, *args)
    assert done.returncode == 1 and not (tmp_path / "zh.pdf").exists()
    stale = ("Warning: epidural-steroid-injection's 'zh' edition translates ESI-2026.1, but the English "
             "is now ESI-2026.2: this handout prints the older text; update the translation\n")
    assert done.stderr == stale + ("Error: content/locale/zh.po: resolves outside content/locale/ "
                                   "(a link to a file elsewhere); it was not read\n")
    catalog.unlink()
    catalog.write_bytes(elsewhere.read_bytes().replace("要点".encode(), b"\xff\xfe"))
    done = hg(sample_project, *args)
    assert done.stderr == stale + "Error: content/locale/zh.po: is not UTF-8 text; save it as UTF-8\n"
    report = run_checks(sample_project, pdf=False)
    assert [(f.file, f.severity) for f in report.findings if "UTF-8" in f.message] == [
        ("content/locale/zh.po", "error")]


def test_an_oversized_packet_yaml_is_named_never_read_whole(
        sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read whole before its size was checked, a 1.5 GB file was a MemoryError traceback."""
    words = sample_project / "content" / "packet.yaml"
    words.write_bytes(words.read_bytes() + b"#" * 2_000_000 + b"\n")
    read_bytes = Path.read_bytes

    def refuse_the_big_one(path: Path) -> bytes:
        assert path != words, "packet.yaml was read whole"  # this one only: other threads read too
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_the_big_one)
    roster = tmp_path / "roster.csv"
    write_csv(roster, [GOOD])
    done = hg(sample_project, "packets", roster, "--check", "--today", TODAY.isoformat())
    assert done.returncode == 1 and "content/packet.yaml: is 2," in done.stderr
    assert "bytes; files here may be at most" in done.stderr and "Traceback" not in done.stderr
