"""Recipient lists: a UTF-8 CSV with ``email`` and an optional ``first_name``, checked row by row.

The list is patient-adjacent, so messages name rows and columns only, never the values.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from handout_gen.core.errors import Problem, RosterError, SendError

NOTHING_SENT = "nothing was sent"  # a list is checked whole before the first message goes out

ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_COLUMNS = {"email", "email_address", "e_mail"}
NAME_COLUMNS = {"first_name", "firstname", "first"}


@dataclass(frozen=True)
class Recipient:
    row: int  # spreadsheet row: the header is row 1
    address: str
    first_name: str | None = None


def clean_name(value: str) -> str | None:
    """First names only: one line, no control characters, at most 40 characters."""
    name = " ".join("".join(ch for ch in value if ch.isprintable()).split())[:40]
    return name or None


def valid_address(value: str) -> bool:
    return len(value) <= 254 and bool(ADDRESS_RE.match(value)) and ".." not in value.split("@")[0]


def load_recipients(path: Path) -> list[Recipient]:
    """Read a UTF-8 CSV (BOM or not) with ``email`` and optional ``first_name``; every bad row
    (invalid or duplicate address, unknown column) is reported, by row, before anything is sent.
    Messages name rows and columns only, never the values (the list is patient-adjacent)."""
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        problem = Problem(name, "not UTF-8 text; save the list as CSV UTF-8")
        raise RosterError([problem], name, NOTHING_SENT) from None
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        problem = Problem(name, "the file is empty; it needs a header row with 'email'")
        raise RosterError([problem], name, NOTHING_SENT)
    columns = [re.sub(r"[^a-z0-9]+", "_", col.strip().lower()).strip("_") for col in header]
    problems: list[Problem] = []
    email_col = next((i for i, c in enumerate(columns) if c in EMAIL_COLUMNS), None)
    name_col = next((i for i, c in enumerate(columns) if c in NAME_COLUMNS), None)
    if email_col is None:
        problems.append(Problem(name, "needs an 'email' column", 1))
    for index, col in enumerate(columns):
        if col not in EMAIL_COLUMNS | NAME_COLUMNS and col:
            problems.append(
                Problem(
                    name,
                    f"column '{header[index].strip()}' is not allowed: a recipient "
                    "list holds only email and first_name (never patient data)",
                    1,
                )
            )
    if problems:
        raise RosterError(problems, name, NOTHING_SENT)
    assert email_col is not None
    recipients: list[Recipient] = []
    seen: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
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
        recipients.append(Recipient(row_number, address, first))
    if problems:
        raise RosterError(problems, name, NOTHING_SENT)
    if not recipients:
        raise RosterError([Problem(name, "has no recipients")], name, NOTHING_SENT)
    return recipients
