"""Roster files: CSV (UTF-8, with or without BOM) or JSON, streamed into numbered rows of cells.

Only the header is checked here (missing, unknown and doubled columns); the cells are
validated by :mod:`handout_gen.packets.roster`. Rows are numbered as a spreadsheet shows
them: the header is row 1, the first patient row 2. In a JSON roster (a list of objects, or
``{"patients": [...]}``) the first object is row 1.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handout_gen.core.errors import Problem

REQUIRED = ("first_name", "last_name", "procedures", "date", "time", "location", "physician")
OPTIONAL = (
    "patient_id",
    "language",
    "sedation",
    "blood_thinner",
    "blood_thinner_name",
    "blood_thinner_stop",
    "blood_thinner_restart",
    "diabetes",
    "dye_allergy",
    "large_print",
    "password",
)
COLUMNS = REQUIRED + OPTIONAL


def _header_problems(header: list[str]) -> list[Problem]:
    """Missing and unknown columns. Header cells are quoted only if the header looks real."""
    names = [h.strip().lower() for h in header]
    if not any(name in COLUMNS for name in names):
        # Probably no header row at all: row 1 would be a patient, so quote nothing.
        return [
            Problem(
                "roster", "the first row must be the header row; expected columns: " + ", ".join(COLUMNS), 1
            )
        ]
    problems = [
        Problem("roster", "required column is missing", 1, column)
        for column in REQUIRED
        if column not in names
    ]
    for index, name in enumerate(names, start=1):
        if name not in COLUMNS:
            shown = name[:40] if name else f"#{index} (no name)"
            problems.append(
                Problem(
                    "roster",
                    "is not a column a packet needs; remove it (minimum necessary). "
                    f"Allowed: {', '.join(COLUMNS)}",
                    1,
                    shown,
                )
            )
    seen: set[str] = set()
    for name in names:
        if name in seen and name in COLUMNS:
            problems.append(Problem("roster", "appears twice", 1, name))
        seen.add(name)
    return problems


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    """Stream ``(row number, cells, problems)``; header problems come first with row 1.

    Streaming keeps memory flat for CSV however long the roster is; JSON is parsed whole
    (JSON rosters are small exports; a CSV is the format for big days).
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            yield from _read_json(path)
        elif suffix in (".csv", ".txt"):
            yield from _read_csv(path)
        else:
            yield 0, None, [Problem("roster", "must be a .csv or .json file")]
    except UnicodeDecodeError:
        yield 0, None, [Problem("roster", "is not UTF-8 text; save it as 'CSV UTF-8'")]
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


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = _records(csv.reader(handle), 1)
        header = next(records, (1, None))[1]
        if header is None:
            yield 0, None, [Problem("roster", "is empty")]
            return
        problems = _header_problems(header)
        if problems:
            yield 0, None, problems  # number 0: the whole file is unusable
            return
        names = [h.strip().lower() for h in header]
        for number, cells in records:
            if not any(c.strip() for c in cells):
                continue  # blank lines at the end of spreadsheet exports
            if len(cells) != len(names):
                yield (
                    number,
                    None,
                    [
                        Problem(
                            "roster",
                            f"has {len(cells)} cells but the header has {len(names)}",
                            number,
                        )
                    ],
                )
                continue
            yield number, dict(zip(names, cells, strict=True)), []


def _read_json(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        yield 0, None, [Problem("roster", f"is not valid JSON (line {exc.lineno})")]
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
        keys = {str(k).strip().lower(): v for k, v in item.items()}
        problems = [
            Problem("roster", "required column is missing", number, c) for c in REQUIRED if c not in keys
        ]
        problems += [
            Problem("roster", "is not a column a packet needs; remove it (minimum necessary)", number, k[:40])
            for k in keys
            if k not in COLUMNS
        ]
        yield number, (None if problems else keys), problems
