"""Whole-roster passes over a file: every row validated as it streams by, rows that repeat
an earlier one or book its patient a second time that day, and the summary pass one keeps
(counts and problems, never patient data).

Rows themselves are checked in :mod:`handout_gen.packets.roster`; this module adds what only
the whole file shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from handout_gen.core.errors import Problem
from handout_gen.core.languages import fold
from handout_gen.packets.patient import PacketVariant, PatientRow
from handout_gen.packets.roster import UNLOCKED_RULE, Catalog, late_rules, validate_row
from handout_gen.packets.roster_files import csv_format, read_rows

REPEATED_RULE = "roster.repeated"  # a row pasted twice: its patient's packet is made from the first
SAME_DAY_RULE = "roster.same-day"  # a second visit that day: two letters, two sets of fasting times
ID_NAMES_RULE = "roster.id-names"  # one patient_id, two names: one row is another patient's chart
ID_NAMES = ("has the patient_id of row {other} with another name: one of the two rows is wrong; check "
            "both against the chart")
DOUBLE_BOOKED_RULE = "roster.double-booked"  # one patient, one moment, two different bookings
DOUBLE_BOOKED = ("books the same patient at the same date and time as row {other}, with another "
                 "{columns}: check which booking is right; neither packet is made")
# The roster column each field of a row is read from (its own name, or what the field says).
_COLUMN_OF = {f.name: f.metadata.get("column", f.name) for f in fields(PatientRow)}
SAME_DAY = ("the same patient has another visit on this day (row {other}): two packets would give two "
            "different times to stop eating, drinking and medicines; put both procedures in one row's "
            "procedures cell")


def iter_roster(
    path: Path, catalog: Catalog, partners: dict[int, Problem] | None = None
) -> Iterator[tuple[int, PatientRow | None, list[Problem]]]:
    """Stream ``(number, row, [])`` or ``(number, None, problems)``; number 0 = whole file.

    A second visit of a patient that day is bad, and so is the earlier one, which was streamed
    before the clash showed: ``partners`` gets its problem, by row number."""
    fmt = csv_format(path)
    day_first = fmt is not None and fmt.delimiter == ";"  # a European spreadsheet's export
    seen = _Seen()
    for number, cells, problems in read_rows(path, fmt):
        if cells is None:
            yield number, None, problems
            continue
        row, problems = validate_row(number, cells, catalog, day_first)
        if row is not None:
            problems = seen.clashes(number, row, partners if partners is not None else {})
            row = None if problems else row
        yield number, row, problems


class _Seen:
    """Who each row so far is, as digests (no name kept): the same patient is the same name
    (in any case, with or without accents, however spaced) with the same patient_id, or with
    none on one of the two rows."""

    def __init__(self) -> None:
        self.first: dict[bytes, list[tuple[int, bytes]]] = {}  # (name, moment) → each id's first row
        self.names: dict[bytes, tuple[int, bytes]] = {}  # id → the first row with it, and its name
        self.booked: dict[int, dict[str, bytes]] = {}  # row → a digest of each column it fills

    def clashes(self, number: int, row: PatientRow, partners: dict[int, Problem]) -> list[Problem]:
        name = " ".join(fold(row.first_name).split() + fold(row.last_name).split())  # José is jose
        ident = _digest(row.patient_id.strip().casefold()) if row.patient_id.strip() else b""
        if ident:
            # The letter prints the id to match paper to patient: a second name under one id
            # means one of the rows holds another patient's, and neither may go out.
            other, its_name = self.names.setdefault(ident, (number, _digest(name)))
            if its_name != _digest(name):
                return _both(number, other, partners, "patient_id", ID_NAMES, ID_NAMES_RULE)
        said = {f.name: getattr(row, f.name) for f in fields(row) if f.name != "row"}
        said.update(first_name=name, last_name="")  # "ZZYZX" is Zzyzx
        del said["patient_id"]  # the same patient already: the same id ("mh-1" is MH-1), or none on one row
        self.booked[number] = {key: _digest(repr(value)) for key, value in said.items()}
        first = self._first(number, ident, name, f"{row.appointment:%Y-%m-%dT%H:%M}")
        earlier = self._first(number, ident, name, f"{row.appointment:%Y-%m-%d}")
        differ = sorted({_COLUMN_OF[key] for key, digest in self.booked[number].items()
                         if first != number and self.booked[first][key] != digest})
        if differ:
            # Not a paste: which clinic, doctor or instructions are right is the desk's to find out.
            columns = " and ".join(filter(None, (", ".join(differ[:-1]), differ[-1])))
            message = DOUBLE_BOOKED.format(other="{other}", columns=columns)
            return _both(number, first, partners, "date", message, DOUBLE_BOOKED_RULE)
        if first != number:  # pasted twice: two packets, two letters for one visit
            return [Problem("roster", f"repeats row {first}: the same patient at the same date and time (two "
                            "procedures at one visit go in one procedures cell)", number, "patient_id",
                            rule=REPEATED_RULE)]
        if earlier != number:
            # Each letter counts its fasting and medicine times from its own visit: the patient
            # would hold two schedules for one day, and follow either: neither packet is made.
            return _both(number, earlier, partners, "date", SAME_DAY, SAME_DAY_RULE)
        return []

    def _first(self, number: int, ident: bytes, name: str, when: str) -> int:
        """The first row of this patient at ``when`` (``number`` itself if none), recording this one:
        two patients may share a name (each has its id)."""
        rows = self.first.setdefault(_digest(name, when), [])
        found = next((row for row, its_id in rows if not ident or not its_id or ident == its_id), number)
        if all(its_id != ident for _, its_id in rows):
            rows.append((number, ident))
        return found


def _both(
    number: int, other: int, partners: dict[int, Problem], column: str, message: str, rule: str
) -> list[Problem]:
    """Row ``number``'s problem with an earlier row ``other``: both are refused, each naming
    the other (the earlier one's problem goes to ``partners``: it was streamed already)."""
    partners.setdefault(other, Problem("roster", message.format(other=number), other, column, rule=rule))
    return [Problem("roster", message.format(other=other), number, column, rule=rule)]


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()


@dataclass
class RosterSummary:
    """What the validation pass learned without keeping any patient data."""

    valid: int
    problems: list[Problem]  # every problem, file-level first
    fatal: bool  # the file itself is unusable: --skip-invalid cannot help
    bad_rows: set[int]
    variants: dict[PacketVariant, list[int]]  # each variant's row numbers (no names)
    # with --allow-late: the rows whose packets say "Call us today", and for which rules
    late: dict[int, tuple[str, ...]] = field(default_factory=dict)


def check_roster(path: Path, catalog: Catalog) -> RosterSummary:
    """Pass one: validate every row, keep counts, problems and the static parts needed."""
    summary = RosterSummary(0, [], False, set(), {})
    has_passwords = False
    partners: dict[int, Problem] = {}
    for number, row, problems in iter_roster(path, catalog, partners):
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
        if catalog.allow_late and (late := late_rules(row, catalog)):
            summary.late[number] = late
    for number, problem in partners.items():  # an earlier row a later one clashed with
        if number not in summary.bad_rows:
            summary.valid -= 1
            for variant, rows in list(summary.variants.items()):
                if number in rows:
                    rows.remove(number)
                if not rows:  # its parts are not made, its warnings not said
                    del summary.variants[variant]
        summary.bad_rows.add(number)
        summary.late.pop(number, None)
        summary.problems.append(problem)
    summary.problems.sort(key=lambda p: p.line or 0)
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
