"""Whole-roster passes over a file: every row validated as it streams by, rows that repeat
an earlier one or book its patient a second time that day, and the summary pass one keeps
(counts and problems, never patient data).

Rows themselves are checked in :mod:`handout_gen.packets.roster`; this module adds what only
the whole file shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handout_gen.core.errors import Problem
from handout_gen.packets.roster import UNLOCKED_RULE, Catalog, PacketVariant, PatientRow, validate_row
from handout_gen.packets.roster_files import csv_format, read_rows

REPEATED_RULE = "roster.repeated"  # a row pasted twice: its patient's packet is made from the first
SAME_DAY_RULE = "roster.same-day"  # a second visit that day: two letters, two sets of fasting times


def iter_roster(path: Path, catalog: Catalog) -> Iterator[tuple[int, PatientRow | None, list[Problem]]]:
    """Stream ``(number, row, [])`` or ``(number, None, problems)``; number 0 = whole file."""
    fmt = csv_format(path)
    day_first = fmt is not None and fmt.delimiter == ";"  # a European spreadsheet's export
    seen: dict[bytes, int] = {}  # a digest of who and when → its first row (no name kept)
    days: dict[bytes, int] = {}  # a digest of who and which day → its first row
    for number, cells, problems in read_rows(path, fmt):
        if cells is None:
            yield number, None, problems
            continue
        row, problems = validate_row(number, cells, catalog, day_first)
        if row is not None:
            first = seen.setdefault(_digest(row, f"{row.appointment:%Y-%m-%dT%H:%M}"), number)
            first_that_day = days.setdefault(_digest(row, f"{row.appointment:%Y-%m-%d}"), number)
            if first != number:  # pasted twice: two packets, two letters for one visit
                row, problems = None, [Problem("roster", f"repeats row {first}: the same patient at the same "
                                               "date and time (two procedures at one visit go in one "
                                               "procedures cell)", number, "patient_id", rule=REPEATED_RULE)]
            elif first_that_day != number:
                # Each letter counts its fasting and medicine times from its own visit: the
                # patient would hold two schedules for one day, and follow the later one.
                row, problems = None, [Problem(
                    "roster", f"the same patient has another visit on this day (row {first_that_day}): two "
                    "packets would give two different times to stop eating, drinking and medicines; put "
                    "both procedures in one row's procedures cell", number, "date", rule=SAME_DAY_RULE)]
        yield number, row, problems


def _digest(row: PatientRow, when: str) -> bytes:
    who = f"{row.patient_id}\0{row.first_name}\0{row.last_name}".casefold()
    return hashlib.blake2b(f"{who}\0{when}".encode(), digest_size=16).digest()


@dataclass
class RosterSummary:
    """What the validation pass learned without keeping any patient data."""

    valid: int
    problems: list[Problem]  # every problem, file-level first
    fatal: bool  # the file itself is unusable: --skip-invalid cannot help
    bad_rows: set[int]
    variants: dict[PacketVariant, list[int]]  # each variant's row numbers (no names)


def check_roster(path: Path, catalog: Catalog) -> RosterSummary:
    """Pass one: validate every row, keep counts, problems and the static parts needed."""
    summary = RosterSummary(0, [], False, set(), {})
    has_passwords = False
    for number, row, problems in iter_roster(path, catalog):
        if row is None:
            summary.problems += problems
            if number == 0:
                summary.fatal = True
            else:
                summary.bad_rows.add(number)
            continue
        summary.valid += 1
        has_passwords |= bool(row.password)
        summary.variants.setdefault(row.variant, []).append(number)
    if not summary.valid and not summary.problems:
        summary.problems, summary.fatal = [Problem("roster", "has no patient rows")], True
    empty = [p for p in summary.problems if p.rule == UNLOCKED_RULE]
    if empty and len(empty) == len(summary.bad_rows) + summary.valid:  # no row has one: one line, not N
        summary.problems = [p for p in summary.problems if p.rule != UNLOCKED_RULE]
        summary.problems.insert(0, Problem(
            "roster", "has no passwords: --encrypt needs a 'password' column with one for every patient",
            field="password",
        ))
        summary.fatal = True
    if has_passwords and not catalog.require_password:
        # Passwords say the practice means these packets to be locked: never write them plain unasked.
        summary.problems.insert(0, Problem(
            "roster", "has passwords, but --encrypt was not given: add --encrypt to lock each packet "
            "with its row's password, or remove the column to make plain packets", field="password",
        ))
        summary.fatal = True
    return summary
