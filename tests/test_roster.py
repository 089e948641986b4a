"""Roster parsing and validation: every bad cell named by row and column, no value ever quoted."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from handout_gen.content.project import load_project
from handout_gen.core.errors import RosterError
from handout_gen.packets.kit import load_kit
from handout_gen.packets.roster import Catalog, rows_from
from handout_gen.packets.roster_check import RosterSummary, check_roster, iter_roster
from handout_gen.packets.roster_files import parse_time
from tests.conftest import FIXTURE
from tests.fictional import write_csv

TODAY = date(2026, 11, 24)
GOOD = {
    "patient_id": "MH-1",
    "first_name": "Zzyzx",
    "last_name": "Testpatient",
    "language": "en",
    "procedures": "epidural-steroid-injection",
    "date": "2026-12-09",
    "time": "09:30",
    "location": "orchard",
    "physician": "okafor",
    "sedation": "yes",
    "blood_thinner": "no",
    "blood_thinner_stop": "",
    "blood_thinner_restart": "",
    "diabetes": "no",
    "dye_allergy": "no",
    "large_print": "no",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_kit(load_project(FIXTURE)).catalog(TODAY)


def rows_of(path: Path, catalog: Catalog) -> list:
    return [row for _, row, _ in iter_roster(path, catalog) if row is not None]


def checked(
    tmp_path: Path, catalog: Catalog, rows: list[dict[str, str]]
) -> tuple[RosterSummary, list[tuple[int | None, str | None, str, str]]]:
    """Pass one over ``rows`` written as a roster: its summary, and each problem as (row,
    column, rule, message)."""
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    summary = check_roster(path, catalog)
    return summary, [(p.line, p.field, p.rule, p.message) for p in summary.problems]


def both(first: int, second: int, column: str, rule: str, said: str) -> list[tuple[int, str, str, str]]:
    """The problems of two rows refused together, each naming the other (``said`` has a {})."""
    return [(first, column, rule, said.format(second)), (second, column, rule, said.format(first))]


@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_and_without_bom(tmp_path: Path, catalog: Catalog, bom: bool) -> None:
    path = tmp_path / "roster.csv"
    write_csv(path, [GOOD, {**GOOD, "first_name": "Ana", "time": "1:45 PM", "date": "12/10/2026",
                            "patient_id": "MH-2"}], bom=bom)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
    first, second = rows_of(path, catalog)
    assert (first.row, first.first_name, first.date, first.time) == (
        2,
        "Zzyzx",
        date(2026, 12, 9),
        time(9, 30),
    )
    assert (second.row, second.time, second.date) == (3, time(13, 45), date(2026, 12, 10))
    assert first.sedation and not first.blood_thinner and first.procedures == ("epidural-steroid-injection",)


def test_json_roster(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.json"
    path.write_text(
        json.dumps(
            {
                "patients": [
                    {**GOOD, "sedation": True, "procedures": ["prp-injection", "epidural-steroid-injection"]}
                ]
            }
        )
    )
    (row,) = rows_of(path, catalog)
    assert row.row == 1 and row.sedation is True
    assert row.procedures == ("prp-injection", "epidural-steroid-injection")


def test_repr_hides_patient_data(catalog: Catalog) -> None:
    (row,) = rows_from([GOOD], catalog)
    assert repr(row) == str(row) == "PatientRow(row=1)"


def test_every_bad_row_and_column_is_named_without_values(tmp_path: Path, catalog: Catalog) -> None:
    bad = [
        GOOD,
        {**GOOD, "first_name": "", "date": "2026-02-30"},
        {**GOOD, "procedures": "zzyzx-procedure", "location": "zzyzx-clinic", "physician": "dr-zzyzx"},
        {**GOOD, "date": "2025-01-05", "time": "25:00"},
        {**GOOD, "blood_thinner": "yes"},
        {**GOOD, "sedation": "maybe", "large_print": "zzyzx"},
        {
            **GOOD,
            "procedures": "joint-injections-nerve-blocks",
            "sedation": "yes",
            "blood_thinner_stop": "Stop Zzyzx pills",
        },
    ]
    path = tmp_path / "roster.csv"
    write_csv(path, bad)
    summary = check_roster(path, catalog)
    assert summary.valid == 1 and not summary.fatal
    assert summary.bad_rows == {3, 4, 5, 6, 7, 8}
    with pytest.raises(RosterError) as info:
        raise RosterError(summary.problems, "roster.csv")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "14 problems in roster.csv; nothing was written:"
    known = "epidural-steroid-injection, interventional-pain-care, joint-injections-nerve-blocks, prp-injection, radiofrequency-ablation, spinal-cord-stimulation, spinal-cord-stimulation-implant"  # noqa: E501
    assert lines[1:] == [
        "  row 3, column first_name: is empty; every packet needs the patient's name",
        "  row 3, column date: is not a real date "
        "(use YYYY-MM-DD, e.g. 2026-12-09, MM/DD/YYYY or DD.MM.YYYY)",  # February 30
        "  row 4, column procedures: names a procedure that is not known (write its slug or its title, and "
        f"a site after a colon; known: {known})",
        "  row 4, column location: is not a location id or name in practice.yaml (known: orchard, riverside)",
        "  row 4, column physician: is not a physician id or name in practice.yaml (known: lindqvist, "
        "okafor)",
        "  row 5, column date: is in the past; check the date (a visit that has taken place needs no packet)",
        "  row 5, column time: is not a time of day it can read (write it as 13:30 or 1:30 PM)",
        "  row 6, column blood_thinner_name: is empty; name the blood thinner the instructions are for",
        "  row 6, column blood_thinner_stop: is empty; a clinician must write when to stop and restart the blood thinner (the packet never uses a default)",  # noqa: E501
        "  row 6, column blood_thinner_restart: is empty; a clinician must write when to stop and restart the blood thinner (the packet never uses a default)",  # noqa: E501
        "  row 7, column sedation: must be yes or no (or leave it empty for no)",
        "  row 7, column large_print: must be yes or no (or leave it empty for no)",
        "  row 8, column sedation: is yes, but none of the procedures offers sedation; check the "
        "procedures cell, or write no",
        "  row 8, column blood_thinner_stop: is filled in, but blood_thinner is not yes; check which is right",  # noqa: E501
    ]  # the good row 2 is not mentioned at all
    assert "Zzyzx" not in message and "zzyzx" not in message and "Testpatient" not in message
    assert "2025-01-05" not in message and "25:00" not in message


def test_date_too_far_ahead(catalog: Catalog) -> None:
    with pytest.raises(RosterError, match="row 1, column date: is more than two years ahead; check the year"):
        rows_from([{**GOOD, "date": "2029-01-01"}], catalog)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            ["first_name", "last_name", "procedures", "date", "time", "location", "physician", "dob", "mrn"],
            [
                "row 1, column dob: is not a column a packet needs: remove it (minimum necessary). Allowed: ",
                "row 1, column mrn: is not a column a packet needs: remove it (minimum necessary)",
            ],
        ),
        (
            ["first_name", "last_name", "procedures", "date", "time", "location"],
            ["row 1, column physician: required column is missing; name the column that holds it "
             "'physician'"],
        ),
        (  # a scheduler's export: its names are read, and what a packet does not need is refused
            ["Patient First Name", "Patient Last Name", "Procedure Name", "Date of Service", "Start Time",
             "Facility", "Provider Name", "Insurance"],
            ["row 1, column Insurance: is not a column a packet needs: remove it"],
        ),
        (  # an unknown column while one is missing: it may be the one, under another name
            ["first_name", "last_name", "Service", "date", "time", "location", "physician"],
            ["row 1, column procedures: required column is missing; name the column that holds it "
             "'procedures'",
             "row 1, column Service: is not a column a packet needs: remove it (minimum necessary), or, if "
             "it holds procedures, give it that name. Allowed: "],
        ),
        (  # the clinician's words under a name of their own: removed, the row would lack them
            ["first_name", "last_name", "procedures", "date", "time", "location", "physician", "Stop",
             "Sedaton"],
            ["row 1, column Stop: is not a name handout-gen reads: if it holds blood_thinner_stop, name it "
             "'blood_thinner_stop'; if not, remove it (minimum necessary). Allowed: ",
             "row 1, column Sedaton: is not a name handout-gen reads: if it holds sedation, name it "
             "'sedation'; if not, remove it (minimum necessary)"],
        ),
        (  # two names of one column: both named as the spreadsheet shows them
            ["first_name", "last_name", "procedures", "Appointment Date", "Date of Service", "time",
             "location", "physician"],
            ['row 1, column Date of Service: and "Appointment Date" both mean the column \'date\': keep one'],
        ),
        (  # the whole name in one column, and the two name columns too
            ["Patient Name", "first_name", "procedures", "date", "time", "location", "physician"],
            ["row 1, column first_name: holds a name, and so does the column 'patient_name' (the whole "
             "name): keep one of them"],
        ),
    ],
)
def test_header_problems(tmp_path: Path, catalog: Catalog, header: list[str], expected: list[str]) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(",".join(header) + "\n" + ",".join("x" for _ in header) + "\n")
    summary = check_roster(path, catalog)
    assert summary.fatal and summary.valid == 0
    message = str(RosterError(summary.problems, "roster.csv"))
    for text in expected:
        assert f"  {text}" in message
    assert len(summary.problems) == len(expected), message


def test_a_row_with_a_cell_too_many_or_too_few_says_why(tmp_path: Path, catalog: Catalog) -> None:
    """An unquoted comma in a name splits its cell; a row cut short lost its commas."""
    header = "first_name,last_name,procedures,date,time,location,physician"
    path = tmp_path / "roster.csv"
    path.write_text(f"{header}\nAna,Reyes, Jr.,prp-injection,2026-12-09,09:30,orchard,okafor\n"
                    "Ana,Reyes,prp-injection,2026-12-09,09:30,orchard\n"
                    "Ana,Reyes,prp-injection,2026-12-09,09:30,orchard,okafor,,\n", encoding="utf-8")
    found = [(p.line, p.message) for p in check_roster(path, catalog).problems]
    assert found == [
        (2, 'has 8 cells but the header has 7: a cell probably holds a comma (a name like "Reyes, Jr."); '
            "put that cell in quotes"),
        (3, "has 6 cells but the header has 7: give every column its cell (an empty cell still needs its "
            "comma)"),
        (4, "has 9 cells but the header has 7: it ends with empty cells the header has no column for: end "
            "the header with as many commas, or remove the commas at the end of the row"),
    ]


def test_columns_with_no_name_are_read_only_when_empty(tmp_path: Path, catalog: Catalog) -> None:
    """Spreadsheets save empty columns after the last one (a comma at the end of every line,
    the header's too, or only the header's): they are skipped. A value under no name is the
    row's problem, named by the column's letter and never quoted."""
    header = "first_name,last_name,procedures,date,time,location,physician,,"
    good = "Ana,Reyes,prp-injection,2026-12-09,09:30,orchard,okafor"
    path = tmp_path / "roster.csv"
    path.write_text(f"{header}\n{good},,\n{good.replace('Ana', 'Eva')}\n"
                    f"{good.replace('Ana', 'Lia')},,Zzyzx\n", encoding="utf-8")
    assert [row.first_name for row in rows_of(path, catalog)] == ["Ana", "Eva"]
    problems = check_roster(path, catalog).problems
    assert [(p.line, p.field, p.message) for p in problems] == [
        (4, "I (no name)", "holds a value under no column name; name its column in row 1 or empty the cell"),
    ]


def test_the_whole_name_in_one_column_is_split_at_its_comma(tmp_path: Path, catalog: Catalog) -> None:
    """An EHR export's "Patient Name" ("Quintero-Vale, Marisol"): the family name before the
    comma, the given names after. A name without its one comma is the front desk's to fix:
    which words are the family name is never guessed."""
    others = {k: v for k, v in GOOD.items() if k not in ("first_name", "last_name")}
    names = ["Quintero-Vale, Marisol Ana", "Marisol Quintero", "Reyes, Jr., Daniel", " , Ana"]
    path = tmp_path / "roster.csv"
    write_csv(path, [{"Patient Name": name, **others, "patient_id": f"MH-{i}"}
                     for i, name in enumerate(names)])
    (row,) = rows_of(path, catalog)
    assert (row.first_name, row.last_name) == ("Marisol Ana", "Quintero-Vale")
    message = str(RosterError(check_roster(path, catalog).problems, "roster.csv"))
    form = 'write the family name, a comma, then the given names ("Quintero-Vale, Marisol")'
    assert message.splitlines()[1:] == [
        f"  row 3, column patient_name: has no comma: {form}",
        f'  row 4, column patient_name: has more than one comma: {form}; a suffix goes with the family name '
        '("Ruiz Jr., Pablo")',
        f"  row 5, column patient_name: has no family name before its comma: {form}",
    ]
    assert "Daniel" not in message and "Marisol" not in message.replace('"Quintero-Vale, Marisol"', "")
    json_path = tmp_path / "roster.json"
    json_path.write_text(json.dumps([{"name": "Quintero-Vale, Marisol", **others}]), encoding="utf-8")
    (row,) = rows_of(json_path, catalog)
    assert (row.first_name, row.last_name) == ("Marisol", "Quintero-Vale")


def test_a_slash_date_in_the_past_says_it_was_read_month_first(tmp_path: Path, catalog: Catalog) -> None:
    """3/12/2026 typed for 3 December reads as March 12, a day in the past: the message says
    how slash dates are read, and quotes no date."""
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "date": "3/12/2026"}, {**GOOD, "date": "2026-03-12", "patient_id": "MH-2"}])
    assert [p.message for p in check_roster(path, catalog).problems] == [
        "is in the past (slash dates are read month first, MM/DD/YYYY; write YYYY-MM-DD if it is day first)",
        "is in the past; check the date (a visit that has taken place needs no packet)",
    ]


def test_roster_without_header_quotes_nothing(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("Zzyzx,Testpatient,epidural-steroid-injection,2026-12-09,09:30,orchard,okafor\n")
    summary = check_roster(path, catalog)
    message = str(RosterError(summary.problems, "roster.csv"))
    assert "row 1: the first row must be the header row; expected columns:" in message
    assert "Zzyzx" not in message and "Testpatient" not in message


def test_json_unknown_key_refused(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.json"
    path.write_text(json.dumps([{**GOOD, "diagnosis": "M54.5"}]))
    summary = check_roster(path, catalog)
    assert summary.bad_rows == {1}
    assert (
        str(summary.problems[0])
        == "roster:1: diagnosis: is not a column a packet needs; remove it (minimum necessary)"
    )


def test_password_required_when_encrypting(tmp_path: Path) -> None:
    catalog = load_kit(load_project(FIXTURE)).catalog(TODAY, require_password=True)
    with pytest.raises(RosterError) as info:
        rows_from([GOOD, {**GOOD, "password": "short"}, {**GOOD, "password": "long enough"}], catalog)
    assert [str(p) for p in info.value.problems] == [
        "roster:1: password: is empty; --encrypt needs a password for every packet",
        "roster:2: password: is shorter than 8 characters",
    ]
    # a roster with no password at all is one problem of the file, not one per row
    path = tmp_path / "roster.csv"
    write_csv(path, [GOOD, {**GOOD, "first_name": "Ana"}, {**GOOD, "first_name": "Bo", "date": "bad"}])
    summary = check_roster(path, catalog)
    assert [(p.line, p.field, p.message) for p in summary.problems] == [
        (None, "password",
         "has no passwords: --encrypt needs a 'password' column with one for every patient"),
        (4, "date", "is not a date form the roster reads (use YYYY-MM-DD, e.g. 2026-12-09, MM/DD/YYYY or "
         "DD.MM.YYYY)"),
    ]
    assert summary.fatal


def test_not_text_and_wrong_suffix(tmp_path: Path, catalog: Catalog) -> None:
    binary = tmp_path / "roster.csv"
    binary.write_bytes(b"first_name\n\x81\x8d\x90\n")  # not UTF-8, and undefined in Windows-1252
    message = check_roster(binary, catalog).problems[0].message
    assert message == "is not text in UTF-8, UTF-16 or Windows-1252; save it as 'CSV UTF-8'"
    xlsx = tmp_path / "roster.xlsx"
    xlsx.write_bytes(b"PK")
    assert check_roster(xlsx, catalog).problems[0].message == (
        "must be a .csv or .json file; in the spreadsheet: File > Save As > 'CSV UTF-8'")


def test_blood_thinner_name_required(catalog: Catalog) -> None:
    thinner = {
        **GOOD,
        "blood_thinner": "yes",
        "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
        "blood_thinner_restart": "Start again the morning after your procedure.",
    }
    with pytest.raises(RosterError) as info:
        rows_from([thinner], catalog)
    assert str(info.value).splitlines()[1:] == [
        "  row 1, column blood_thinner_name: is empty; name the blood thinner the instructions are for"
    ]
    (row,) = rows_from([{**thinner, "blood_thinner_name": "Zapixaban (sample)"}], catalog)
    assert row.blood_thinner and row.blood_thinner_name == "Zapixaban (sample)"


@pytest.mark.parametrize("char", ["\n", "\r", "\u202e", "\u202a", "\u2066", "\u2069", "\u2028", "\u2029",
                                  "\u200f"])
@pytest.mark.parametrize("column", ["first_name", "last_name", "blood_thinner_stop"])
def test_line_breaks_and_bidi_controls_refused(catalog: Catalog, char: str, column: str) -> None:
    thinner = {
        "blood_thinner": "yes",
        "blood_thinner_name": "Zapixaban",
        "blood_thinner_stop": "Last dose Friday morning.",
        "blood_thinner_restart": "The morning after.",
    }
    row = {**GOOD, **thinner}
    row[column] = f"Zzyzx{char}Testpatient"
    with pytest.raises(RosterError) as info:
        rows_from([row], catalog)
    message = str(info.value)
    assert message.splitlines()[1:] == [
        f"  row 1, column {column}: contains a line break or a text-direction control character; "
        "use one line of text"
    ]
    assert "Zzyzx" not in message and "Testpatient" not in message


@pytest.mark.parametrize("char", ["\u200b", "\u00ad", "\u2060", "\ufeff"])
def test_an_invisible_character_in_a_name_is_refused(tmp_path: Path, catalog: Catalog, char: str) -> None:
    """Unseen on the page, yet it made "Win<ZWSP>ifred" at 14:00 another patient than
    "Winifred" at 13:00 for the same-day check."""
    _, problems = checked(tmp_path, catalog, [{**GOOD, "first_name": f"Win{char}ifred"}])
    assert problems == [(2, "first_name", "schema", "contains an invisible character (a zero-width space or "
                         "soft hyphen, often pasted from another program); type it again")]
    assert checked(tmp_path, catalog, [{**GOOD, "first_name": "Lila\u200cMah"}])[1] == []  # ZWNJ: a letter's


def test_a_long_reference_medicine_or_password_is_refused(tmp_path: Path) -> None:
    """A reference or a medicine's name longer than its line ran off the page; a password past
    127 bytes made a packet that no password opened (PDF keeps only the first 127)."""
    catalog = load_kit(load_project(FIXTURE)).catalog(TODAY, require_password=True)
    thinner = {"blood_thinner": "yes", "blood_thinner_name": "Q" * 61, "password": "é" * 64,
               "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
               "blood_thinner_restart": "Start again the morning after your procedure."}
    _, problems = checked(tmp_path, catalog, [{**GOOD, **thinner, "patient_id": "MH-" + "1" * 38}])
    assert [(column, message) for _, column, _, message in problems] == [
        ("blood_thinner_name", "is longer than 60 characters"),
        ("patient_id", "is longer than 40 characters"),
        ("password",
         "is longer than a PDF password may be (127 bytes: about 127 letters, fewer with accents)"),
    ]
    fine = {**GOOD, **thinner, "blood_thinner_name": "Q" * 60, "password": "é" * 63, "patient_id": "M" * 40}
    assert checked(tmp_path, catalog, [fine])[1] == []


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "[" + "9" * 5000 + "]"])
def test_a_json_roster_too_deep_or_with_a_huge_number_is_named(tmp_path: Path, catalog: Catalog,
                                                                text: str) -> None:
    path = tmp_path / "roster.json"
    path.write_text(text)
    (problem,) = check_roster(path, catalog).problems
    assert problem.message == "is not a roster this can read (a number too long or lists nested too deep)"


def test_a_json_cell_that_is_not_text_is_a_bad_cell(tmp_path: Path, catalog: Catalog) -> None:
    """An object printed as "Dear {'a': ['Ana']} Reyes", NaN as "nan"."""
    path = tmp_path / "roster.json"
    path.write_text(json.dumps([{**GOOD, "first_name": {"a": ["Ana"]}}, {**GOOD, "last_name": float("nan")},
                                {**GOOD, "procedures": ["epidural-steroid-injection"]}]))
    summary = check_roster(path, catalog)
    assert [(p.line, p.field, p.message) for p in summary.problems] == [
        (1, "first_name", "is not text, a number or true/false"),
        (2, "last_name", "is not text, a number or true/false")]
    assert summary.valid == 1


def test_a_header_cell_never_sends_control_characters_to_the_terminal(
        tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "Notes\x1b]0;owned\x07": "x"}])
    message = str(RosterError(check_roster(path, catalog).problems, "roster.csv"))
    assert "\x1b" not in message and "\x07" not in message and "column Notes?]0;owned?:" in message


def test_huge_cell_is_a_row_problem_not_a_traceback(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.csv"
    write_csv(path, [GOOD, {**GOOD, "last_name": "Zzyzx" + "y" * 200_000}, GOOD])
    summary = check_roster(path, catalog)
    assert summary.fatal
    message = str(RosterError(summary.problems, "roster.csv"))
    assert message.splitlines()[1:] == ["  row 3: a cell is too long or the file is not valid CSV"]
    assert "Zzyzx" not in message


def test_fictional_roster_has_named_dated_blood_thinner_instructions(catalog: Catalog) -> None:
    from tests.fictional import fictional_roster

    items = fictional_roster(60, catalog)
    rows = rows_from(items, catalog)  # every generated row is valid
    thinners = [(item, row) for item, row in zip(items, rows, strict=True) if row.blood_thinner]
    assert thinners
    for item, row in thinners:
        assert row.blood_thinner_name == "Zapixaban (fictional)"
        assert item["blood_thinner_stop"].startswith("Take your last dose on the morning of ")
        assert "days before" not in item["blood_thinner_stop"]
        last = row.date - timedelta(days=3)  # dated from the appointment
        expected = f"Take your last dose on the morning of {last:%A, %B} {last.day}."
        assert item["blood_thinner_stop"] == expected
        assert row.blood_thinner_last_dose == last >= TODAY  # the dated column agrees with the words


def test_an_arrival_outside_the_clinics_hours_is_a_bad_row(tmp_path: Path, catalog: Catalog) -> None:
    """"1:30" is 1:30 AM (a 1:30 PM visit typed without PM), a Saturday at a clinic open
    Monday to Friday, and a holiday: each would print a believable packet, fasting times and all.
    A row with two of them is told both. The row and
    column are named with the clinic's hours, never the row's date or time; --allow-closed
    (the clinic's own extra session) lets them through. A visit at opening time whose arrival
    is before it is refused; one whose arrival is at opening time is not."""
    orchard = load_project(FIXTURE).practice.locations[0]
    assert (orchard.id, orchard.arrive_minutes_early, orchard.hours[0].opens) == ("orchard", 30, "06:30")
    rows = [
        {**GOOD, "time": "1:30"},
        {**GOOD, "date": "2026-12-12"},  # a Saturday
        {**GOOD, "time": "06:45"},  # arrives 6:15, before 6:30
        {**GOOD, "time": "16:30"},  # closing time
        {**GOOD, "time": "07:00"},  # arrives 6:30, as the door opens
        {**GOOD, "time": "1:30 PM"},
        {**GOOD, "date": "2026-12-25"},  # a Friday the practice is closed (closed_dates)
        {**GOOD, "date": "2026-11-26", "time": "1:30", "first_name": "Ana"},  # both at once
        {**GOOD, "time": "12:30 AM"},  # said AM: no hint about 24-hour times
    ]
    path = tmp_path / "roster.csv"
    write_csv(path, [{**row, "patient_id": f"MH-{n}"} for n, row in enumerate(rows)])  # one visit each
    summary = check_roster(path, catalog)
    found = [(p.line, p.field) for p in summary.problems]
    assert found == [(2, "time"), (3, "date"), (4, "time"), (5, "time"), (8, "date"), (9, "date"),
                     (9, "time"), (10, "time")]
    closed = ("is one of the practice's closed_dates in practice.yaml; check it, or use --allow-closed "
              "if the clinic is open then")
    assert summary.problems[4].message == summary.problems[5].message == closed
    outside = ("puts the arrival (30 minutes before the appointment: arrive_minutes_early) before clinic "
               "'orchard' opens that day (06:30 to 16:30)")
    hint = "; a time without AM or PM is read as 24-hour (1:30 is 1:30 AM)"
    allow = "; check it, or use --allow-closed if the clinic is open then"
    assert summary.problems[0].message == summary.problems[6].message == outside + hint + allow
    assert summary.problems[2].message == outside + hint + allow  # 06:45: in at 6:15
    assert summary.problems[-1].message == outside + allow
    assert summary.problems[3].message == (  # 16:30: in at 16:00, but the visit is at closing time
        "is at or after the time clinic 'orchard' closes that day (06:30 to 16:30)" + allow)
    assert summary.problems[1].message.startswith(
        "is a day clinic 'orchard' is closed (open on Monday, Tuesday, Wednesday, Thursday, Friday")
    assert not any("2026" in p.message or "1:30 PM" in p.message for p in summary.problems)
    allowed = load_kit(load_project(FIXTURE)).catalog(TODAY, allow_closed=True)
    assert check_roster(path, allowed).problems == []


def test_a_visit_after_the_practice_closes_early_is_a_bad_row(tmp_path: Path) -> None:
    """Christmas Eve at noon (short_days in practice.yaml, what the newsletter announces): a
    visit whose arrival is before noon is fine, one at 2 PM is refused with the day's hours as
    they are then, and --allow-closed lets it through. A clinic whose hours are one line of
    text is held to the closing time too."""
    from .conftest import copy_sample, with_short_day

    kit = load_kit(load_project(with_short_day(copy_sample(tmp_path / "project"))))
    path = tmp_path / "roster.csv"
    eve = {**GOOD, "date": "2026-12-24"}  # a Thursday
    write_csv(path, [{**eve, "time": "10:00"}, {**eve, "time": "14:00", "patient_id": "MH-2"},
                     {**eve, "time": "11:45", "patient_id": "MH-3"}])
    problems = check_roster(path, kit.catalog(TODAY)).problems
    assert [(p.line, p.field, p.message) for p in problems] == [
        (3, "time", "is at or after the time clinic 'orchard' closes that day (06:30 to 12:00, closing "
                    "early: short_days in practice.yaml); check it, or use --allow-closed if the clinic is "
                    "open then"),
    ]
    assert check_roster(path, kit.catalog(TODAY, allow_closed=True)).problems == []
    from handout_gen.packets.opening import closed_problems  # a clinic's hours as one line of text

    two_pm = datetime(2026, 12, 24, 14, 0)
    early = {two_pm.date(): time(12)}
    found = closed_problems("text-hours", two_pm, 30, None, (), True, early)
    assert [column for column, _ in found] == ["time"]


def test_a_clinic_closed_for_lunch_is_told_apart_from_one_closed_for_the_day() -> None:
    """A Monday of 08:00-12:00 and 13:00-17:00: a 13:10 visit (in at 12:40, during lunch) is
    told its arrival falls outside the hours, not that the clinic has closed for the day;
    17:00 is at closing time; 08:15 (in at 7:45) is before it opens; 13:30 is fine."""
    from handout_gen.content.schema import OpeningHours
    from handout_gen.packets.opening import closed_problems

    hours = [OpeningHours(days=["monday"], opens="08:00", closes="12:00"),
             OpeningHours(days=["monday"], opens="13:00", closes="17:00")]

    def told(clock: str) -> list[str]:
        visit = datetime.combine(date(2026, 12, 7), time.fromisoformat(clock))  # a Monday
        return [why.split(" (")[0] for _, why in closed_problems("orchard", visit, 30, hours, (), True)]

    assert told("13:10") == ["puts the arrival"]
    assert "outside the hours of clinic 'orchard' that day (08:00 to 12:00, 13:00 to 17:00)" in (
        closed_problems("orchard", datetime(2026, 12, 7, 13, 10), 30, hours, (), True)[0][1])
    assert told("17:00") == ["is at or after the time clinic 'orchard' closes that day"]
    assert closed_problems("orchard", datetime(2026, 12, 7, 8, 15), 30, hours, (), True)[0][1].startswith(
        "puts the arrival (30 minutes before the appointment: arrive_minutes_early) before clinic 'orchard' "
        "opens that day")
    assert told("13:30") == []


def test_packets_refuses_a_closed_clinic_unless_allowed(tmp_path: Path) -> None:
    from tests.cliutil import hg

    from .conftest import copy_sample

    project = copy_sample(tmp_path / "project")
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "date": "2026-12-13"}])  # a Sunday
    refused = hg(project, "packets", path, "--today", "2026-11-24", "--check")
    assert refused.returncode != 0
    assert "row 2, column date: is a day clinic 'orchard' is closed" in refused.stderr
    allowed = hg(project, "packets", path, "--today", "2026-11-24", "--check", "--allow-closed", check=True)
    assert "1 row, all good" in allowed.stdout


def test_a_language_cell_is_read_as_every_list_reads_it(tmp_path: Path, catalog: Catalog) -> None:
    """A code in any case, a regional code of a language kept, or the language's name in
    English or its own, with or without accents or its "(Simplified)": the same rule as the
    newsletter's reader lists (Languages.code_of). A regional code read in another script
    (zh-TW: Traditional characters) is never taken for the plain code's packets."""
    cells = ["ES", "es-MX", "Spanish", "español", "", "EN", "Espanol", "Chinese", "简体中文"]
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "language": cell, "first_name": f"Ana{n}", "patient_id": f"MH-{n}"}
                     for n, cell in enumerate(cells, start=10)]
              + [{**GOOD, "language": "Klingon"},
                 {**GOOD, "language": "zh-TW", "first_name": "Li", "patient_id": ""},
                 {**GOOD, "language": "Spnish", "first_name": "Bo", "patient_id": ""}])
    assert [row.language for row in rows_of(path, catalog)] == ["es"] * 4 + ["en"] * 2 + ["es", "zh", "zh"]
    klingon, traditional, typo = check_roster(path, catalog).problems
    assert (klingon.line, klingon.field, traditional.line) == (11, "language", 12)
    assert klingon.message.startswith("must be one of en, es, ") and "Klingon" not in klingon.message
    assert klingon.message.endswith(  # nothing like it: no guess, but what to do
        "(content/languages.yaml); the practice has no packets in any other: ask the patient which of these "
        "they read (an English packet and an interpreter, if none), or ask whoever keeps the content to add "
        "the language")
    assert typo.message.endswith("(content/languages.yaml); did you mean es?")
    assert traditional.message.startswith(
        "is written in another script than its language's packets (which would print characters the "
        "patient may not read); ask the patient which they read: the cell must be one of en, es, ")
    assert traditional.message.endswith(
        "or whoever keeps the content declares this script as a language of its own")


LATER = {**GOOD, "patient_id": "", "date": "2026-12-11", "time": "11:00"}  # no id, another day


def test_a_row_pasted_twice_is_a_bad_row_naming_the_first(tmp_path: Path, catalog: Catalog) -> None:
    """The same patient at the same date and time again (a paste, a double export) would print
    two packets and two letters for one visit. Another day, or another patient at that time
    (another id or another name), is fine; ids and names match in any case. No cell is
    repeated. (The same moment with other details is no paste: see the double-booked test.)"""
    rows = [
        GOOD,
        {**GOOD, "date": "2026-12-10", "time": "13:30"},  # a visit the next day
        {**GOOD, "patient_id": "MH-2"},  # another patient at the same time
        {**GOOD, "patient_id": "mh-1"},  # row 2 again
        LATER,
        {**LATER, "first_name": "ZZYZX"},  # row 6 again
        {**LATER, "first_name": "Ana"},  # another patient
    ]
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    summary = check_roster(path, catalog)
    assert [(p.line, p.field, p.message) for p in summary.problems] == [
        (5, "patient_id", "repeats row 2: the same patient at the same date and time (two procedures at one "
                          "visit go in one procedures cell)"),
        (7, "patient_id", "repeats row 6: the same patient at the same date and time (two procedures at one "
                          "visit go in one procedures cell)"),
    ]
    assert (summary.valid, summary.bad_rows) == (5, {5, 7})


def test_a_second_visit_of_a_patient_that_day_is_a_bad_row(tmp_path: Path, catalog: Catalog) -> None:
    """Two rows of one patient on one day at two times would make two letters, each counting
    its fasting and medicine times from its own visit: the patient holds two schedules for one
    day. Both rows are bad (rule roster.same-day), each naming the other: neither packet is
    made, --skip-invalid counts both among the patients to call. The same patient is the same
    name in any case, with or without accents, with the same id or none on one of the rows;
    another patient that day is fine; no cell is repeated."""
    rows = [
        GOOD,
        {**GOOD, "patient_id": "MH-2", "time": "13:30"},  # another patient that day
        {**GOOD, "patient_id": "mh-1", "time": "1:30 PM", "procedures": "prp-injection", "sedation": "no"},
        {**GOOD, "patient_id": "MH-7", "first_name": "José", "last_name": "Peña", "date": "2026-12-10"},
        {**GOOD, "patient_id": "", "first_name": "jose ", "last_name": "PENA", "date": "2026-12-10",
         "time": "14:00", "sedation": "no"},
    ]
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    summary = check_roster(path, catalog)
    said = "the same patient has another visit on this day (row {}): two packets would give two different " \
        "times to stop eating, drinking and medicines; put both procedures in one row's procedures cell"
    assert [(p.line, p.field, p.rule, p.message) for p in summary.problems] == [
        (n, "date", "roster.same-day", said.format(other)) for n, other in ((2, 4), (4, 2), (5, 6), (6, 5))]
    assert (summary.valid, summary.bad_rows) == (1, {2, 4, 5, 6})
    assert [row.row for row in rows_of(path, catalog) if row.row not in summary.bad_rows] == [3]
    assert sorted(n for rows in summary.variants.values() for n in rows) == [3]  # no part for a refused row
    assert all(summary.variants.values())


def test_one_patient_id_under_two_names_is_a_bad_row_for_both(tmp_path: Path, catalog: Catalog) -> None:
    """The letter prints the patient_id to match paper to patient: a second name under one
    id means one of the rows holds another patient's. Both rows are refused (rule
    roster.id-names), each naming the other; the same name written another way ("JOSÉ
    peña") on another day is the same patient; no name or id is quoted."""
    rows = [
        {**GOOD, "patient_id": "MH-7", "first_name": "José", "last_name": "Peña"},
        {**GOOD, "patient_id": "mh-7", "first_name": "JOSÉ", "last_name": "peña", "date": "2026-12-10"},
        {**GOOD, "patient_id": "MH-7 ", "first_name": "Joseph", "last_name": "Penner", "date": "2026-12-11"},
        {**GOOD, "patient_id": "MH-8", "first_name": "Ana", "date": "2026-12-11"},
    ]
    summary, found = checked(tmp_path, catalog, rows)
    said = ("has the patient_id of row {} with another name: one of the two rows is wrong; check both "
            "against the chart")
    assert found == both(2, 4, "patient_id", "roster.id-names", said)
    assert (summary.valid, summary.bad_rows) == (2, {2, 4})
    message = str(RosterError(summary.problems, "roster.csv"))
    assert not any(word in message for word in ("MH-7", "José", "Penner", "Joseph"))


def test_a_name_an_export_garbled_is_refused_never_printed(tmp_path: Path, catalog: Catalog) -> None:
    """A name with a letter an export lost ("Pe?a") or read in the wrong encoding ("JosÃ©",
    as when one Windows-1252 row makes a UTF-8 file read as Windows-1252) would greet the
    patient by a name not theirs: the row is refused, the cell never quoted. Real names in
    any script pass."""
    names = [("José", "Peña"), ("Łukasz", "Dvořák"), ("JOÃO", "Nguyễn Văn"), ("秀英", "王"),
             ("محمد", "O’Brien"), ("Jos?", "Pe?a"), ("JosÃ©", "PeÃ±a"), ("Ana", "Oâ€™Brien"),
             ("Mar\u00c3\u00ada", "Ruiz")]  # "María": its "í" garbles into "Ã" and a soft hyphen
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "first_name": first, "last_name": last, "patient_id": f"MH-{n}"}
                     for n, (first, last) in enumerate(names)])
    found = [(p.line, p.field, p.message.split(";")[0]) for p in check_roster(path, catalog).problems]
    lost = ("has a '?' or '\ufffd' where a letter was lost when the file was saved (an export to a code "
            "page without that letter)")
    garbled = 'looks garbled by a wrong text encoding (letters such as "é" read as "Ã©")'
    assert found == [(7, "first_name", lost), (7, "last_name", lost), (8, "first_name", garbled),
                     (8, "last_name", garbled), (9, "last_name", garbled), (10, "first_name", garbled)]
    # a UTF-8 file with one Windows-1252 row is not UTF-8: read as Windows-1252 its UTF-8 names
    # would garble, and the row to blame is the other one; the file is named with both lines
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n" + b"\n".join(
        ["MH-1,Jos\u00e9,Pe\u00f1a,en,epidural-steroid-injection,2026-12-09,09:30,orchard,okafor,yes"
         ",no,,,no,no,no".encode(),
         "MH-2,Zo\u00eb,Bront\u00eb,en,epidural-steroid-injection,2026-12-09,10:30,orchard,okafor,yes"
         ",no,,,no,no,no".encode("cp1252")]) + b"\n")
    problems = check_roster(mixed, catalog).problems
    assert [(p.line, p.field, p.message) for p in problems] == [(None, None, (
        "mixes two text encodings: line 2 is UTF-8 and line 3 is not (rows pasted in from another "
        "file); save the whole file again as 'CSV UTF-8'"))]


def test_a_mac_or_chinese_export_read_as_windows_1252_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    """Old Mac Excel saves CSV in Mac Roman and Chinese Excel in GBK; both files read as
    Windows-1252 ("JosŽ Pe–a" for "José Peña", "Íõ ÐãÓ¢" for "王秀英"): refused, never printed.
    Names with the punctuation names have pass."""
    bad = [("José", "Peña", "mac_roman"), ("Jürgen", "Müller", "mac_roman"), ("秀英", "王", "gbk")]
    garbled = 'looks garbled by a wrong text encoding (letters such as "é" read as "Ã©")'
    for n, (first, last, encoding) in enumerate(bad):
        path = tmp_path / f"{encoding}{n}.csv"
        write_csv(path, [{**GOOD, "first_name": first, "last_name": last}])
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
        found = [p.message.split(";")[0] for p in check_roster(path, catalog).problems]  # the row is refused
        assert found and set(found) == {garbled}
    good = [("Siobhán", "O'Brien"), ("Ana", "O’Callaghan"), ("Mary-Jo", "St. John, Jr."),
            ("Jordi", "Col·lell"), ("Žaneta", "Hašek"), ("Šimon", "Dvořák"), ("Zoë", "Brontë"),
            ("Robert “Bob”", "Nguyen-Larkspur"), ("Agnès", "Cœur"), ("Ngozi", "Okafor (Eze)"),
            ("Renée", "D´Angelo"), ("Þórunn", "Smith – Ólafsdóttir"), ("Kaʻahumanu", "Nguyễn Văn"),
            ("EDIN", "DŽEKO"), ("MARIJA", "ŠUŠNJAR-MEŠIĆ"), ("ג׳ורג׳", "כהן"),
            ("マリア・ガルシア", "Lê [Tom]"), ("Renée/Ann", "Louis III")]
    path = tmp_path / "good.csv"
    write_csv(path, [{**GOOD, "first_name": first, "last_name": last, "patient_id": f"MH-{n}"}
                     for n, (first, last) in enumerate(good)])
    assert check_roster(path, catalog).problems == []


def test_two_different_bookings_of_one_patient_at_one_time_refuse_both(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A row pasted twice is a repeat (its first copy is made); the same patient at the same
    date and time with another clinic, doctor or procedure is not a paste: which booking is
    right is the desk's to find out, so both rows are refused (roster.double-booked), naming the
    columns that differ. A paste that lost its patient_id is still a paste."""
    rows = [
        GOOD,
        {**GOOD, "location": "riverside", "physician": "lindqvist", "date": "2026-12-08"},
        {**GOOD, "patient_id": "MH-2", "first_name": "Ana"},
        {**GOOD, "patient_id": "MH-2", "first_name": "Ana"},  # pasted twice
        {**GOOD, "patient_id": "MH-3", "first_name": "Eva", "date": "2026-12-10"},
        {**GOOD, "patient_id": "MH-3", "first_name": "Eva", "date": "2026-12-10",
         "procedures": "prp-injection", "sedation": "no"},  # another procedure at that moment
        {**GOOD, "patient_id": "MH-4", "first_name": "Ida", "time": "08:00"},
        {**GOOD, "patient_id": "", "first_name": "Ida", "time": "08:00"},  # pasted, its id lost
    ]
    rows[0] = {**GOOD, "date": "2026-12-08"}
    summary, found = checked(tmp_path, catalog, rows)
    said = ("books the same patient at the same date and time as row {}, with another %s: check which "
            "booking is right; neither packet is made")
    assert found == [
        *both(2, 3, "date", "roster.double-booked", said % "location and physician"),
        (5, "patient_id", "roster.repeated", "repeats row 4: the same patient at the same date and time (two "
         "procedures at one visit go in one procedures cell)"),
        *both(6, 7, "date", "roster.double-booked", said % "procedures and sedation"),
        (9, "patient_id", "roster.repeated", "repeats row 8: the same patient at the same date and time (two "
         "procedures at one visit go in one procedures cell)"),
    ]
    assert (summary.valid, summary.bad_rows) == (2, {2, 3, 5, 6, 7, 9})


def test_two_patients_of_one_name_are_told_apart_by_their_ids(tmp_path: Path, catalog: Catalog) -> None:
    """Two Maria Garcias on one day are two patients; the second one's second visit clashes
    with her own first, not with the other Maria's."""
    maria = {**GOOD, "first_name": "Maria", "last_name": "Garcia", "sedation": "no",
             "procedures": "joint-injections-nerve-blocks"}
    path = tmp_path / "roster.csv"
    write_csv(path, [{**maria, "patient_id": "A1", "time": "09:00"},
                     {**maria, "patient_id": "B2", "time": "10:00"},
                     {**maria, "patient_id": "B2", "time": "14:00"}])
    summary = check_roster(path, catalog)
    assert [(p.line, p.rule) for p in summary.problems] == [(3, "roster.same-day"), (4, "roster.same-day")]


def test_a_last_dose_day_the_stop_words_contradict_is_a_bad_row(tmp_path: Path, catalog: Catalog) -> None:
    """The letter prints the clinician's stop words and the dated last-dose column side by
    side: when the words name a day and the column another, the patient gets two last doses.
    Words naming no day, or naming the column's day, are fine; the cells are never quoted."""
    thinner = {**GOOD, "blood_thinner": "yes", "blood_thinner_name": "Zapixaban (sample)",
               "blood_thinner_restart": "The morning after."}
    rows = [
        {**thinner, "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
         "blood_thinner_last_dose": "2026-12-05"},
        {**thinner, "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
         "blood_thinner_last_dose": "2026-12-06", "time": "10:30"},
        {**thinner, "blood_thinner_stop": "Deje de tomarlo el sábado 5 de diciembre.",
         "blood_thinner_last_dose": "2026-12-04", "time": "11:30"},
        {**thinner, "blood_thinner_stop": "Take your last dose 4 days before.",
         "blood_thinner_last_dose": "2026-12-04", "time": "12:30"},
    ]
    path = tmp_path / "roster.csv"
    write_csv(path, [{**row, "patient_id": f"MH-{n}"} for n, row in enumerate(rows)])
    summary = check_roster(path, catalog)
    message = "is not a day the blood_thinner_stop words name; the letter prints both, so make them agree"
    assert [(p.line, p.field, p.message) for p in summary.problems] == [
        (3, "blood_thinner_last_dose", message), (4, "blood_thinner_last_dose", message)]


def test_the_days_the_clinicians_words_name_are_checked_against_the_calendar(
    tmp_path: Path, catalog: Catalog
) -> None:
    """The stop and restart words print verbatim: a weekday that is not its date's, or (with
    no last-dose column) a stop day on or after the visit or before the print date, would be
    followed as written. A right weekday, a sentence without days and the visit's own day
    named beside the stop day are fine; no cell is quoted. A day written in numbers reads two
    ways and is refused, and so is a count of days that names none (the patient would count
    back from the visit); a fraction of a tablet is not a day."""
    thinner = {**GOOD, "blood_thinner": "yes", "blood_thinner_name": "Zapixaban (sample)",
               "blood_thinner_restart": "The morning after."}  # the visit: Wednesday, December 9
    stops = [
        "Take your last dose on the morning of Sunday, December 6.",  # right
        "Take your last dose 3 days before.",  # counts, names no day
        "Take your last dose on the morning of Saturday, November 27.",  # a Friday
        "Take your last dose on Wednesday, November 18.",  # before the print date
        "Take your last dose on Saturday, December 12.",  # after the visit
        "Deje de tomarlo el domingo 6 de diciembre.",  # right, in Spanish
        "Take your last dose on Sunday, December 6, three days before your visit on Wednesday, December 9.",
        "Take your last 1/2 tablet on the morning of Sunday, December 6.",  # a fraction, no date
        "Last dose 12/12/2026 in the morning.",  # 12 December, or 12 May? (and after the visit)
        "Última dosis el 6.12.2026.",  # a numeric date, as a patient of another country reads it
        "Deje de tomarlo cinco días antes.",  # counts in words, names no day
        "Keep taking it: do not stop it for this procedure.",  # no day, nothing to count
    ]
    rows = [{**thinner, "patient_id": f"MH-{n}", "blood_thinner_stop": stop} for n, stop in enumerate(stops)]
    rows.append({**thinner, "patient_id": "MH-99", "blood_thinner_stop": stops[0],
                 "blood_thinner_restart": "Start again on Friday, December 10."})  # a Thursday
    rows.append({**thinner, "patient_id": "MH-98", "blood_thinner_stop": stops[0],
                 "blood_thinner_restart": "Start again 2 days after, if there is no bleeding."})
    rows.append({**thinner, "patient_id": "MH-97", "blood_thinner_stop": stops[0],  # a length, no day
                 "blood_thinner_restart": "The morning after, half a tablet a day for 3 days."})
    rows.append({**thinner, "patient_id": "MH-96", "blood_thinner_stop": stops[0],
                 "blood_thinner_restart": "Restart 2 days after your procedure on Wednesday, December 9."})
    rows.append({**thinner, "patient_id": "MH-95", "blood_thinner_stop": "Stop it 72 hours before."})
    rows.append({**thinner, "patient_id": "MH-94",  # a rate, no day: kept for a low-risk procedure
                 "blood_thinner_stop": "Keep taking it once a day; do not stop it."})
    rows.append({**thinner, "patient_id": "MH-93", "blood_thinner_stop": stops[0],
                 "blood_thinner_restart": "Start again on Monday, November 30."})  # before the visit
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    found = [(p.line, p.field, p.message) for p in check_roster(path, catalog).problems]
    weekday = "names a weekday that is not its date's; check the day with the clinician"
    numeric = ("writes a day in numbers (12/5/2026), which a patient may read as 12 May or as 5 December: "
               'write it with the month\'s name ("Saturday, December 5")')
    counted = ('counts days ("3 days before") and names no day, so the patient would have to count them: '
               'write the day itself ("on the morning of Sunday, December 6")')
    counted_restart = ('counts days ("2 days after") and names no day, so the patient would have to count '
                       'them: write the day itself ("on the morning of Thursday, December 10")')
    assert found == [
        (3, "blood_thinner_stop", counted + ", or give the day of the last dose in blood_thinner_last_dose"),
        (4, "blood_thinner_stop", weekday),
        (5, "blood_thinner_stop", "names a day before the print date, so the stop plan can no longer be "
         "followed: ask the clinician for a new one, or give the day in blood_thinner_last_dose and use "
         '--allow-late to print "Call us today"'),
        (6, "blood_thinner_stop", "names no day before the visit; the last dose comes before it"),
        (10, "blood_thinner_stop", numeric),
        (11, "blood_thinner_stop", numeric),
        (12, "blood_thinner_stop", counted + ", or give the day of the last dose in blood_thinner_last_dose"),
        (14, "blood_thinner_restart", weekday),
        (15, "blood_thinner_restart", counted_restart),
        (17, "blood_thinner_restart", counted_restart),  # the visit's own day is no restart day
        (18, "blood_thinner_stop", counted + ", or give the day of the last dose in blood_thinner_last_dose"),
        (20, "blood_thinner_restart", "names no day on or after the visit; the blood thinner starts again "
         "after it: check the day with the clinician"),
    ]


def test_a_blood_thinner_column_the_roster_lacks_is_named_as_missing(
    tmp_path: Path, catalog: Catalog
) -> None:
    """Not "is empty": the desk would look for an empty cell in a column the file does not have."""
    row = {**GOOD, "blood_thinner": "yes", "blood_thinner_name": "Zapixaban (sample)",
           "blood_thinner_stop": "Take your last dose on the morning of Sunday, December 6."}
    row.pop("blood_thinner_restart", None)
    path = tmp_path / "roster.csv"
    write_csv(path, [row])
    (problem,) = check_roster(path, catalog).problems
    assert (problem.field, problem.message.partition(";")[0]) == (
        "blood_thinner_restart", "is not a column of the roster")


def test_an_unknown_procedure_is_named_with_the_one_it_most_likely_is(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A scheduler's name with the site after it, a short name, a near spelling: the message
    says which known slug (and site) to write. Nothing is guessed silently, and a cell like
    nothing known gets no guess."""
    cells = ["Radiofrequency Ablation - Lumbar", "PRP", "joint-injection-nerve-blocks", "zzyzx shot",
             "PRP; zzyzx shot", "Injection", "Radiofrequency Ablation - Thoracic"]
    rows = [{**GOOD, "patient_id": f"MH-{n}", "procedures": cell, "sedation": "no"}
            for n, cell in enumerate(cells)]
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    found = [p.message.partition(" (")[0] for p in check_roster(path, catalog).problems]
    assert found == [
        "names a procedure that is not known: did you mean radiofrequency-ablation:lumbar?",
        "names a procedure that is not known: did you mean prp-injection?",
        "names a procedure that is not known: did you mean joint-injections-nerve-blocks?",
        "names a procedure that is not known",
        "names procedures 1 and 2 of 2 that are not known",
        "names a procedure that is not known",  # two procedures are injections: no guess
        "names a procedure that is not known",  # a site it does not have: no guess without it
    ]


def test_a_procedure_is_found_by_its_title_or_its_slug_in_any_case(tmp_path: Path, catalog: Catalog) -> None:
    """An export writes the procedure's name ("Radiofrequency Ablation", in Spanish too) or its
    slug in capitals or with spaces: the packet uses the slug. An unknown one is named by its
    place in the cell, never by its text."""
    cells = ["Radiofrequency Ablation", "Epidural-Steroid-Injection", "epidural steroid injection",
             "Ablación por radiofrecuencia:lumbar", "PRP-INJECTION; zzyzx shot"]
    rows = [{**GOOD, "patient_id": f"MH-{n}", "procedures": cell, "sedation": "no"}
            for n, cell in enumerate(cells)]
    path = tmp_path / "roster.csv"
    write_csv(path, rows)
    assert [row.procedures for row in rows_of(path, catalog)] == [
        ("radiofrequency-ablation",), ("epidural-steroid-injection",), ("epidural-steroid-injection",),
        ("radiofrequency-ablation",)]
    (problem,) = check_roster(path, catalog).problems
    assert (problem.line, problem.field) == (6, "procedures")
    assert problem.message.startswith("names procedure 2 of 2 that is not known (write its slug or its title")
    assert "zzyzx" not in problem.message
    write_csv(path, [{**GOOD, "procedures": "prp-injection; PRP injection; zzyzx shot", "sedation": "no"}])
    (problem,) = check_roster(path, catalog).problems
    assert problem.message.startswith("names procedure 3 of 3 that is not known")  # its place in the cell


def test_a_language_name_or_code_is_never_guessed_across_scripts() -> None:
    """With Simplified and Traditional Chinese both kept, "Chinese" names neither, and a
    regional code finds its own (zh-Hant-TW: zh-Hant); without Traditional, zh-TW is refused."""
    from handout_gen.core.languages import DEFAULTS, LanguageInfo, Languages

    simplified = LanguageInfo("zh", "Chinese (Simplified)", "简体中文", "zh_Hans_CN")
    traditional = LanguageInfo("zh-Hant", "Chinese (Traditional)", "繁體中文", "zh_Hant_TW")
    both = Languages({**DEFAULTS, "zh": simplified, "zh-Hant": traditional})
    assert [both.code_of(v) for v in ("Chinese", "chinese (traditional)", "zh-Hant-TW", "zh-CN")] == [
        None, "zh-Hant", "zh-Hant", "zh"]
    alone = Languages({**DEFAULTS, "zh": simplified})
    assert [alone.code_of(v) for v in ("Chinese", "zh_Hant_HK", "zh-TW", "zh-SG")] == ["zh", None, None, "zh"]


def test_a_clinic_and_a_physician_are_found_by_name_as_an_export_writes_them(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A scheduling system's export says "Orchard Way Clinic" and "Dr. Okafor", not the ids of
    practice.yaml: any case, a title, credentials (after a comma or not) or the family name alone find
    the same clinic and physician, and the packet uses the id. Anything else is still a bad row."""
    spellings = [("Orchard", "OKAFOR"), ("Orchard Way Clinic", "Dr. Okafor"),
                 ("orchard way clinic", "Adaeze Okafor, MD"), ("Riverside Procedure Suite", "dr lindqvist"),
                 ("Orchard", "Adaeze Okafor MD")]
    rows = [{**GOOD, "location": where, "physician": who, "time": f"{10 + n}:00"}
            for n, (where, who) in enumerate(spellings)]
    made = rows_from(rows, catalog)
    assert [(r.location, r.physician) for r in made] == [
        ("orchard", "okafor"), ("orchard", "okafor"), ("orchard", "okafor"), ("riverside", "lindqvist"),
        ("orchard", "okafor")]
    from handout_gen.content.lookup import name_key

    assert name_key("Minh Do") == "minh do" and name_key("MD") == "md"  # a name is never cut short
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "location": "Orchard Clinic", "physician": "Dr. Adaeze"}])
    assert [(p.field, p.message) for p in check_roster(path, catalog).problems] == [
        ("location", "is not a location id or name in practice.yaml (known: orchard, riverside)"),
        ("physician", "is not a physician id or name in practice.yaml (known: lindqvist, okafor)"),
    ]


@pytest.mark.parametrize(
    ("cell", "clock"),
    [("13:30", time(13, 30)), ("1:30 PM", time(13, 30)), ("9:30:00 AM", time(9, 30)), ("1pm", time(13, 0)),
     ("1 p.m.", time(13, 0)), ("12 AM", time(0, 0)), ("10h15", time(10, 15)), ("10H15", time(10, 15)),
     ("13", None), ("13 PM", None), ("25:00", None), ("0830", None), ("2026", None), ("9.12", None)],
)
def test_times_as_schedulers_write_them(cell: str, clock: time | None) -> None:
    """An hour alone only with AM or PM ("13" may be a room); no bare digits or dots, which
    may be a year or a date that slipped into the time column."""
    assert parse_time(cell) == clock


def test_the_restart_day_is_the_one_day_on_or_after_the_visit_the_words_name() -> None:
    """It goes in the letter's dated list; words that name no such day, or two, add no line."""
    from handout_gen.packets.stated_dates import restart_day

    visit, locales = date(2026, 12, 9), ("en", "es")
    thursday = date(2026, 12, 10)
    assert restart_day("Start again on the morning of Thursday, December 10.", visit, locales) == thursday
    assert restart_day("Vuelva a tomarlo el jueves 10 de diciembre.", visit, locales) == thursday
    assert restart_day("Start again the morning after your procedure.", visit, locales) is None
    assert restart_day("Start again on December 10 or December 11, as we tell you.", visit, locales) is None
    assert restart_day("Not before your visit on December 9; start on December 12.", visit, locales) is None
    assert restart_day("", visit, locales) is None
    # counted from the visit, whose day it names: no restart day (and a bad row, see above)
    counted = "Restart 2 days after your procedure on Wednesday, December 9."
    assert restart_day(counted, visit, locales) is None
    assert restart_day("Start again on the evening of Wednesday, December 9.", visit, locales) == visit


def test_a_restart_on_the_visit_day_comes_after_the_visits_own_lines(catalog: Catalog) -> None:
    """Its line is dated by the day only: sorted at midnight, it would head the list, before
    the eating and drinking times of the morning."""
    from datetime import datetime

    from handout_gen.packets.timing import Needs, Visit, schedule

    when = datetime(2026, 12, 9, 13, 30)
    visit = Visit(when, 30, Needs(fasting=True), blood_thinner_restart=when.date())
    rules = [item.rule for item in schedule(visit, catalog.rules, catalog.today, catalog.no_call_days)]
    assert rules[-1] == "blood_thinner_restart" and "fasting_clear_liquids" in rules


def test_noon_and_midnight_in_words_get_the_clock_time_to_write(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "roster.csv"
    write_csv(path, [{**GOOD, "time": "Noon"}, {**GOOD, "time": "midnight", "patient_id": "MH-2"}])
    assert [p.message for p in check_roster(path, catalog).problems] == [
        "is not a time of day it can read (write 12:00 PM)",
        "is not a time of day it can read (write 12:00 AM)",
    ]
