"""Roster files as spreadsheets really save them, streamed into numbered rows of cells.

CSV in UTF-8 (with or without BOM), UTF-16 ("Unicode text", with its BOM) or Windows-1252,
separated by commas, semicolons (European Excel) or tabs; headers spelt as people write
them ("First Name", "Appointment Date"); or JSON. Only the header is checked here (missing,
unknown and doubled columns); the cells are validated by :mod:`handout_gen.packets.roster`,
which reads dates and times in the forms spreadsheets write them (the end of this module).
Rows are numbered as a spreadsheet shows them: the header is row 1, the first patient row 2.
In a JSON roster (a list of objects, or ``{"patients": [...]}``) the first object is row 1.
Which encoding a file is in, and the names a wrong one damaged: :mod:`.encodings`.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from handout_gen.core.errors import Problem
from handout_gen.core.files import MAX_ROSTER_BYTES
from handout_gen.packets.encodings import encoding_of, mixed_lines

REQUIRED = ("first_name", "last_name", "procedures", "date", "time", "location", "physician")
OPTIONAL = (
    "patient_id",
    "language",
    "sedation",
    "blood_thinner",
    "blood_thinner_name",
    "blood_thinner_stop",
    "blood_thinner_restart",
    "blood_thinner_last_dose",
    "diabetes",
    "dye_allergy",
    "large_print",
    "password",
)
COLUMNS = REQUIRED + OPTIONAL
# The whole name in one cell, as EHR exports write it ("Quintero-Vale, Marisol"): read in
# place of first_name and last_name, split at its one comma (:func:`split_name`).
NAME = "patient_name"


# Other spellings of each column, as spreadsheets and schedulers export them (after
# lower-casing and turning spaces and punctuation into "_"). Identifiers a packet must not
# carry (MRN, date of birth) are deliberately absent: they stay unknown columns.
ALIASES = {
    "first_name": ("first", "firstname", "given_name", "patient_first_name"),
    "last_name": ("last", "lastname", "surname", "family_name", "patient_last_name"),
    "procedures": ("procedure", "procedure_slug", "procedure_slugs", "procedure_name", "procedure_names"),
    "date": ("appointment_date", "appt_date", "visit_date", "date_of_visit", "date_of_service",
             "service_date"),
    "time": ("appointment_time", "appt_time", "visit_time", "time_of_visit", "start_time", "appt_start_time"),
    "location": ("location_id", "clinic", "site", "facility", "facility_name", "location_name",
                 "clinic_name"),
    "physician": ("physician_id", "doctor", "provider", "provider_name", "physician_name", "doctor_name"),
    NAME: ("name", "patient", "full_name", "patient_full_name", "name_last_first",
           "last_first", "last_name_first_name"),
    "patient_id": ("patient_reference", "reference", "ref"),
    "language": ("lang", "preferred_language"),
    "blood_thinner_last_dose": ("last_dose", "last_dose_date", "blood_thinner_last_dose_date"),
    "dye_allergy": ("contrast_allergy", "x_ray_dye_allergy", "xray_dye_allergy"),
    "large_print": ("large",),
}
_SPELLINGS = {alias: column for column, aliases in ALIASES.items() for alias in aliases}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def column_name(cell: str) -> str:
    """``"First Name"`` → ``first_name``: the documented column a header cell means."""
    name = re.sub(r"[^a-z0-9]+", "_", cell.strip().lower()).strip("_")
    return _SPELLINGS.get(name, name)


@dataclass(frozen=True)
class RosterFormat:
    """How a roster file is written, found by :func:`detect_format`."""

    encoding: str  # a Python codec name
    delimiter: str = ","
    mixed: tuple[int, int] | None = None  # Windows-1252 guessed, yet (a line in UTF-8, a line not)

    def describe(self) -> str:
        names = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16": "UTF-16",
                 "cp1252": "Windows-1252"}
        separated = DELIMITERS.get(self.delimiter, self.delimiter)
        return f"{names.get(self.encoding, self.encoding)}, {separated}-separated"


def detect_format(path: Path) -> RosterFormat:
    """The encoding, and the delimiter that splits the header into the most known columns;
    for a file read as Windows-1252, whether some of its lines are UTF-8 after all."""
    encoding = encoding_of(path)
    with path.open(encoding=encoding, newline="") as handle:
        first = handle.readline()

    def known(delimiter: str) -> int:
        cells = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
        return sum(column_name(cell) in COLUMNS for cell in cells)

    mixed = mixed_lines(path) if encoding == "cp1252" else None
    return RosterFormat(encoding, max(DELIMITERS, key=known), mixed)


def _letter(index: int) -> str:
    """A column's letter as the spreadsheet shows it: 1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _unnamed(index: int) -> str:
    return f"{_letter(index)} (no name)"


def _name_problems(names: list[str], line: int | None) -> list[Problem]:
    """The whole-name column beside first_name or last_name: one of them must go."""
    both = [column for column in ("first_name", "last_name") if NAME in names and column in names]
    return [Problem("roster", f"holds a name, and so does the column '{NAME}' (the whole name): keep "
                    "one of them", line, column) for column in both]


def _missing(names: list[str]) -> list[str]:
    """The required columns a header lacks (the whole-name column stands for both names)."""
    given = set(names) | ({"first_name", "last_name"} if NAME in names else set())
    return [column for column in REQUIRED if column not in given]


def _header_problems(header: list[str]) -> list[Problem]:
    """Missing and unknown columns. Header cells are quoted only if the header looks real.
    A column with no name is no problem here: spreadsheets save empty columns after the
    last one, and only a value under no name is (:func:`_row_cells`)."""
    names = [column_name(h) for h in header]
    if not any(name in COLUMNS for name in names):
        # Probably no header row at all: row 1 would be a patient, so quote nothing.
        return [
            Problem(
                "roster", "the first row must be the header row; expected columns: " + ", ".join(COLUMNS), 1
            )
        ]
    missing = _missing(names)
    problems = [
        Problem("roster", f"required column is missing; name the column that holds it '{column}'", 1, column)
        for column in missing
    ]
    problems += _name_problems(names, 1)
    # Named as the spreadsheet shows them; the allowed columns listed once, at the first.
    unknown = [cell.strip()[:40] for cell, name in zip(header, names, strict=True)
               if name and name not in (*COLUMNS, NAME)]
    absent = [column for column in COLUMNS if column not in names]
    for index, shown in enumerate(unknown):
        message = "is not a column a packet needs: remove it (minimum necessary)"
        likely = _likely_column(column_name(shown), absent)
        if likely:  # "Stop" beside blood_thinner: removed, the row would lack the clinician's words
            message = f"is not a name handout-gen reads: if it holds {likely}, name it '{likely}'; if not, " \
                      "remove it (minimum necessary)"
        elif missing:
            message += f", or, if it holds {' or '.join(missing)}, give it that name"
        if index == 0:
            message += f". Allowed: {', '.join(COLUMNS)}; or {NAME} (\"Last, First\") for both names"
        problems.append(Problem("roster", message, 1, shown))
    seen: dict[str, str] = {}
    for cell, name in zip(header, names, strict=True):
        if name in seen and name in (*COLUMNS, NAME):
            problems.append(Problem("roster", f"and \"{seen[name]}\" both mean the column '{name}': keep one",
                                    1, cell.strip()[:40]))
        seen.setdefault(name, cell.strip()[:40])
    return problems


def _likely_column(name: str, absent: list[str]) -> str | None:
    """The one absent column an unknown header most likely means: all its words are that
    column's ("stop" → blood_thinner_stop), or it is spelt nearly so ("sedaton")."""
    words = set(name.split("_"))
    found = [column for column in absent if words <= set(column.split("_"))]
    found = found or difflib.get_close_matches(name, absent, n=2, cutoff=0.8)
    return found[0] if len(found) == 1 else None


def read_rows(
    path: Path, fmt: RosterFormat | None = None
) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    """Stream ``(row number, cells, problems)``; header problems come first with row 1.

    Streaming keeps memory flat for CSV however long the roster is; JSON is parsed whole
    (JSON rosters are small exports; a CSV is the format for big days). ``fmt``: a CSV's
    format when the caller has found it already (finding it decodes the whole file).
    """
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            message = f"is larger than {MAX_ROSTER_BYTES:,} bytes; split it by day"
            yield 0, None, [Problem("roster", message)]
        elif suffix == ".json":
            yield from _read_json(path)
        elif suffix in (".csv", ".txt"):
            yield from _read_csv(path, fmt or detect_format(path))
        else:
            spreadsheet = suffix in (".xlsx", ".xls", ".ods", ".numbers")
            how = "; in the spreadsheet: File > Save As > 'CSV UTF-8'" if spreadsheet else ""
            yield 0, None, [Problem("roster", f"must be a .csv or .json file{how}")]
    except UnicodeError:
        message = "is not text in UTF-8, UTF-16 or Windows-1252; save it as 'CSV UTF-8'"
        yield 0, None, [Problem("roster", message)]
    except _BadCsv as exc:  # number 0: the rest of the file cannot be read reliably
        yield 0, None, [Problem("roster", "a cell is too long or the file is not valid CSV", exc.row)]
    except OSError as exc:
        yield 0, None, [Problem("roster", f"cannot be read ({exc.strerror})")]


class _BadCsv(Exception):
    """csv.Error at a row; its text can quote the cell, so only the row number travels."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


def _records(reader: Iterator[list[str]], first: int) -> Iterator[tuple[int, list[str]]]:
    """Number the records; a csv.Error ("field larger than field limit"…) becomes _BadCsv."""
    number = first
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise _BadCsv(number) from None
        yield number, cells
        number += 1


def _read_csv(path: Path, fmt: RosterFormat) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    if fmt.mixed:
        utf8, other = fmt.mixed
        yield 0, None, [Problem("roster", f"mixes two text encodings: line {utf8} is UTF-8 and line {other} "
                                "is not (rows pasted in from another file); save the whole file again as "
                                "'CSV UTF-8'")]
        return
    with path.open(encoding=fmt.encoding, newline="") as handle:
        records = _records(csv.reader(handle, delimiter=fmt.delimiter), 1)
        header = next(records, (1, None))[1]
        if header is None:
            yield 0, None, [Problem("roster", "is empty")]
            return
        problems = _header_problems(header)
        if problems:
            yield 0, None, problems  # number 0: the whole file is unusable
            return
        names = [column_name(h) for h in header]
        for number, cells in records:
            if not any(c.strip() for c in cells):
                continue  # blank lines at the end of spreadsheet exports
            row, problems = _row_cells(names, cells, number)
            yield number, row, problems


def _row_cells(
    names: list[str], cells: list[str], number: int
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One CSV record as ``{column: cell}``, or the problems that stop it. Cells under a
    column with no name must be empty; empty ones after the last named column may be
    missing (some exports drop them)."""
    named = max(index for index, name in enumerate(names, start=1) if name)
    if len(cells) > len(names):
        if any(cell.strip() for cell in cells[len(names):]):
            hint = "a cell probably holds a comma (a name like \"Reyes, Jr.\"); put that cell in quotes"
        else:
            hint = ("it ends with empty cells the header has no column for: end the header with as many "
                    "commas, or remove the commas at the end of the row")
        return None, [Problem("roster", f"has {len(cells)} cells but the header has {len(names)}: {hint}",
                              number)]
    if len(cells) < named:
        hint = "give every column its cell (an empty cell still needs its comma)"
        return None, [Problem("roster", f"has {len(cells)} cells but the header has {named}: {hint}", number)]
    problems = [
        Problem("roster", "holds a value under no column name; name its column in row 1 or empty the cell",
                number, _unnamed(index))
        for index, (name, cell) in enumerate(zip(names, cells, strict=False), start=1)
        if not name and cell.strip()
    ]
    if problems:
        return None, problems
    # strict=False: the row may stop before the header's last (unnamed, empty) columns
    return split_name({name: cell for name, cell in zip(names, cells, strict=False) if name}, number)


def split_name(row: dict[str, Any], number: int) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A row with the whole name in one cell ("Last, First") as one with first_name and
    last_name. One comma, and a name on each side: anything else is the front desk's to
    fix, never a guess at which words are the family name."""
    if NAME not in row:
        return row, []
    whole = row.pop(NAME)
    last, comma, first = str(whole if whole is not None else "").partition(",")
    form = "the family name, a comma, then the given names (\"Quintero-Vale, Marisol\")"
    if not comma:
        message = f"has no comma: write {form}"
    elif "," in first:
        message = (f"has more than one comma: write {form}; a suffix goes with the family name "
                   "(\"Ruiz Jr., Pablo\")")
    elif not last.strip() or not first.strip():
        missing = "family name before" if not last.strip() else "given names after"
        message = f"has no {missing} its comma: write {form}"
    else:
        return {"first_name": first.strip(), "last_name": last.strip(), **row}, []
    return None, [Problem("roster", message, number, NAME)]


def _read_json(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        yield 0, None, [Problem("roster", f"is not valid JSON (line {exc.lineno})")]
        return
    except (ValueError, RecursionError):  # a number of thousands of digits, lists nested thousands deep
        yield 0, None, [Problem("roster", "is not a roster this can read (a number too long or lists "
                                "nested too deep)")]
        return
    if isinstance(data, dict) and set(data) == {"patients"}:
        data = data["patients"]
    if not isinstance(data, list):
        yield 0, None, [Problem("roster", 'must be a list of objects, or {"patients": [...]}')]
        return
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            yield number, None, [Problem("roster", "must be an object of column: value", number)]
            continue
        keys = {column_name(str(k)): v for k, v in item.items()}
        problems = [Problem("roster", "required column is missing", number, c) for c in _missing(list(keys))]
        problems += _name_problems(list(keys), number)
        problems += [
            Problem("roster", "is not a column a packet needs; remove it (minimum necessary)", number, k[:40])
            for k in keys
            if k not in (*COLUMNS, NAME)
        ]
        problems += [Problem("roster", "is not text, a number or true/false", number, k)
                     for k, v in keys.items() if k in (*COLUMNS, NAME) and not _json_cell(v)]
        if problems:
            yield number, None, problems
        else:
            yield number, *split_name(keys, number)


def _json_cell(value: Any) -> bool:
    """A value a cell can hold: text, a finite number, true/false, null, or a list of those
    (the procedures); never an object, whose text would print as "{'a': …}", nor NaN."""
    if isinstance(value, list):
        return all(not isinstance(item, list) and _json_cell(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


# --- cells as spreadsheets write them ----------------------------------------------------

DATE_FORMS = "use YYYY-MM-DD, e.g. 2026-12-09, MM/DD/YYYY or DD.MM.YYYY"
# Times as people, schedulers and Excel write them: 13:30, 1:30 PM, 9:30:00 AM, 09:30:00,
# 13h30, and 1pm (an hour alone only with AM or PM). Not "0830" nor "9.12": in a time
# column they may as well be a year or a date from the column beside it.
TIME_RE = re.compile(r"^(\d{1,2})(?:[:hH](\d{2})(?::\d{2})?)?\s*([AaPp]\.?\s*[Mm]\.?)?$")
TIME_FORMS = "write it as 13:30 or 1:30 PM"
# Dates: 2026-12-09 (with Excel's " 00:00:00" tail), 12/9/2026 (US), 9.12.2026 (European).
ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
US_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
DOT_DATE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


SHORT_YEAR_RE = re.compile(r"^\d{1,2}[/.]\d{1,2}[/.]\d{2}$")


def slash_date_problem(text: str, day_first_file: bool) -> str | None:
    """Why a MM/DD/YYYY date may be read wrong: its first number is over 12 (a day first,
    as outside the US), or it comes from a semicolon-separated file (a European spreadsheet's,
    where slash dates are day first) and is not the same both ways; or why a date with a
    two-digit year is not read at all. A message, never the value."""
    if SHORT_YEAR_RE.match(text):
        return "has a two-digit year; write the year in full, e.g. 2026-12-09 or 12/09/2026"
    match = US_DATE_RE.match(text)
    if not match or match[1] == match[2]:
        return None
    first, second = int(match[1]), int(match[2])
    if day_first_file:
        return ("is a slash date in a semicolon-separated file (as a European spreadsheet saves it), "
                "where slash dates are day first, but rosters read them month first (MM/DD/YYYY); "
                "write it as YYYY-MM-DD")
    if first > 12 >= second:
        return ("is not a real date: slash dates are read month first (MM/DD/YYYY) and its first "
                "number is over 12; day and month swapped? Write it as YYYY-MM-DD")
    return None


def parse_date(text: str) -> date | None:
    """A real calendar date in one of the forms of ISO_DATE_RE, US_DATE_RE, DOT_DATE_RE."""
    try:
        if match := ISO_DATE_RE.match(text):
            year, month, day = (int(g) for g in match.groups())
        elif match := US_DATE_RE.match(text):
            month, day, year = (int(g) for g in match.groups())
        elif match := DOT_DATE_RE.match(text):
            day, month, year = (int(g) for g in match.groups())
        else:
            return None
        return date(year, month, day)
    except ValueError:  # 2026-02-30
        return None


def unread_date(text: str) -> str:
    """Why a date cell gave no date: a date of a known form that is not on the calendar
    (2026-02-30), or a form the roster does not read ("Dec 1, 2026"). Never the value."""
    known = any(form.match(text) for form in (ISO_DATE_RE, US_DATE_RE, DOT_DATE_RE))
    return f"is not {'a real date' if known else 'a date form the roster reads'} ({DATE_FORMS})"


def parse_time(text: str) -> time | None:
    match = TIME_RE.match(text)
    if not match or (match[2] is None and not match[3]):  # "13" alone: an hour or a room number?
        return None
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), match[3]
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def csv_format(path: Path) -> RosterFormat | None:
    """A CSV roster's format, found once a pass (None: not CSV, or read_rows names the fault)."""
    if path.suffix.lower() not in (".csv", ".txt"):
        return None
    try:
        return detect_format(path)
    except (OSError, UnicodeError):
        return None
