"""Recipient lists: a UTF-8 CSV with ``email``, optional ``first_name`` and ``language``, checked row by row.

The list is patient-adjacent, so messages name rows and columns only, never the values.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handout_gen.core.errors import Problem, RosterError, SendError, printable
from handout_gen.core.languages import ORIGINAL, Languages

NOTHING_SENT = "nothing was sent"  # a list is checked whole before the first message goes out

ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_COLUMNS = {"email", "email_address", "e_mail"}
NAME_COLUMNS = {"first_name", "firstname", "first"}
LANGUAGE_COLUMNS = {"language", "lang", "preferred_language", "language_code", "idioma"}


@dataclass(frozen=True)
class Recipient:
    row: int  # spreadsheet row: the header is row 1
    address: str
    first_name: str | None = None
    lang: str = ORIGINAL  # the edition this reader gets (English when the issue has none in it)


def clean_name(value: str) -> str | None:
    """First names only: one line, no control characters, at most 40 characters."""
    name = " ".join("".join(ch for ch in value if ch.isprintable()).split())[:40]
    return name or None


def valid_address(value: str) -> bool:
    return len(value) <= 254 and bool(ADDRESS_RE.match(value)) and ".." not in value.split("@")[0]


def _row_language(row: list[str], column: int | None, languages: Languages) -> str | None:
    """A row's language: English without the column or with an empty cell; None if unknown."""
    if column is None or column >= len(row):
        return ORIGINAL
    return languages.code_of(row[column])


def _columns(header: list[str], name: str) -> tuple[int, int | None, int | None]:
    """The email, first-name and language columns; any other column stops the list."""
    columns = [re.sub(r"[^a-z0-9]+", "_", col.strip().lower()).strip("_") for col in header]
    problems: list[Problem] = []
    email_col = next((i for i, c in enumerate(columns) if c in EMAIL_COLUMNS), None)
    name_col = next((i for i, c in enumerate(columns) if c in NAME_COLUMNS), None)
    lang_col = next((i for i, c in enumerate(columns) if c in LANGUAGE_COLUMNS), None)
    if len(header) == 1 and ";" in header[0]:  # a spreadsheet's export with its own separator
        message = "is separated by semicolons, not commas: save the list as CSV UTF-8 (comma delimited)"
        raise RosterError([Problem(name, message, 1)], name, NOTHING_SENT)
    if any("@" in cell for cell in header):  # no header: the first row is a reader's
        message = "holds an email address, not column names: add a header row (email, first_name, language)"
        raise RosterError([Problem(name, message, 1)], name, NOTHING_SENT)
    if email_col is None:
        problems.append(Problem(name, "needs an 'email' column", 1))
    for index, col in enumerate(columns):
        if col not in EMAIL_COLUMNS | NAME_COLUMNS | LANGUAGE_COLUMNS and col:
            # a header cell, never a reader's (a first row with an address in it stopped above)
            message = (f"column '{printable(header[index].strip()[:40])}' is not allowed: a recipient "
                       "list holds only email, first_name and language (never patient data)")
            problems.append(Problem(name, message, 1))
    if problems or email_col is None:
        raise RosterError(problems, name, NOTHING_SENT)
    return email_col, name_col, lang_col


def load_recipients(path: Path, languages: Languages | None = None) -> list[Recipient]:
    """Read a UTF-8 CSV (BOM or not) with ``email`` and optional ``first_name`` and ``language``;
    every bad row (invalid or duplicate address, unknown language, unknown column) is reported,
    by row and column, before anything is sent. Messages name rows and columns only, never the
    values (the list is patient-adjacent)."""
    languages = languages or Languages()
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        problem = Problem(name, "not UTF-8 text; save the list as CSV UTF-8")
        raise RosterError([problem], name, NOTHING_SENT) from None
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _read_rows(reader, name, languages)
    except csv.Error as exc:  # its text can quote the cell: only where it is travels
        problem = Problem(name, "a cell is too long or the file is not valid CSV", reader.line_num)
        raise RosterError([problem], name, NOTHING_SENT) from exc


def _read_rows(reader: Iterator[list[str]], name: str, languages: Languages) -> list[Recipient]:
    """The header's columns, then every row checked; all problems raised together."""
    header = next(reader, None)
    if not header:
        problem = Problem(name, "the file is empty; it needs a header row with 'email'")
        raise RosterError([problem], name, NOTHING_SENT)
    email_col, name_col, lang_col = _columns(header, name)
    problems: list[Problem] = []
    recipients: list[Recipient] = []
    seen: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if any(cell.strip() for cell in row[len(header):]):  # a comma in a name, not quoted
            message = (f"has more cells than the header's {len(header)} columns (a comma in a name "
                       "must be inside double quotes)")
            problems.append(Problem(name, message, row_number))
            continue
        address = row[email_col].strip() if email_col < len(row) else ""
        if not address:
            problems.append(Problem(name, "is empty", row_number, "email"))
            continue
        if not valid_address(address):
            problems.append(Problem(name, "is not a valid email address", row_number, "email"))
            continue
        key = address.lower()
        if key in seen:
            problems.append(Problem(name, f"duplicate of row {seen[key]}", row_number, "email"))
            continue
        seen[key] = row_number
        first = clean_name(row[name_col]) if name_col is not None and name_col < len(row) else None
        lang = _row_language(row, lang_col, languages)
        if lang is None:
            assert lang_col is not None
            known = ", ".join(languages.codes)
            message = f"is not a language of this project (known: {known})"
            problems.append(Problem(name, message, row_number, header[lang_col].strip()))
            continue
        recipients.append(Recipient(row_number, address, first, lang))
    if problems:
        raise RosterError(problems, name, NOTHING_SENT)
    if not recipients:
        raise RosterError([Problem(name, "has no recipients")], name, NOTHING_SENT)
    return recipients
