"""One error hierarchy. The CLI turns every HandoutGenError into ``Error: …`` and exit 1.

Messages name where the problem is (``file:line: field: message`` or ``row N, column C``)
so a person can fix it without reading a traceback. Messages about roster rows must never
quote patient data: they name the row and column only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]


def printable(text: str) -> str:
    """``text`` with every control character as "?". A column is named as its file names it,
    and a header cell may hold anything: a terminal is never sent an escape sequence or a bell."""
    return "".join(c if c.isprintable() else "?" for c in text)


def plural(count: int, noun: str) -> str:
    """"1 packet", "7 packets": a count as a person reads it, never "packet(s)"."""
    return f"{count} {agree(count, noun, noun + 's')}"


def agree(count: int, one: str, many: str) -> str:
    """The word that goes with ``count``: ``agree(n, "is", "are")``, ``agree(n, "row", "rows")``."""
    return one if count == 1 else many


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, located precisely enough to fix it."""

    source: str  # a project-relative path, or "roster.csv"
    message: str
    line: int | None = None
    field: str | None = None
    severity: Severity = "error"
    rule: str = "schema"  # the ``check`` rule id, e.g. "references.unknown-slug"; never read from the message

    def __post_init__(self) -> None:
        if self.field and not self.field.isprintable():
            object.__setattr__(self, "field", printable(self.field))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"


class HandoutGenError(Exception):
    """Base of every error a user can cause and fix; never shown with a traceback."""

    rule = "error"  # the ``check`` rule id a finding made from this error carries

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole across a worker process's pipe: pickle would call the class again with the
        # message alone, and a ValidationFailed would arrive as one "problem" per character.
        return _unpickled, (type(self), self.args, self.__dict__)


def _unpickled(kind: type[HandoutGenError], args: tuple[Any, ...], state: dict[str, Any]) -> HandoutGenError:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(HandoutGenError):
    """Raised when the project layout, practice.yaml or a recipe is unusable."""


class ContentError(HandoutGenError):
    """Raised when content (front matter, Markdown, references) fails validation."""


class InputRefused(ContentError):
    """Raised, before a file is opened, for an input that resolves outside its folder or is too big."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class ValidationFailed(ContentError):
    """Raised with every problem found, so all of them are reported at once."""

    def __init__(self, problems: list[Problem], what: str = "content") -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{plural(len(problems), 'problem')} in {what}; nothing was written:\n{lines}")


class UnknownItemError(HandoutGenError):
    """Raised when a slug, issue id or similar names nothing in the project."""


class TemplateError(HandoutGenError):
    """Raised when a template is missing or fails to render (e.g. an undefined variable)."""


class RenderError(HandoutGenError):
    """Raised when WeasyPrint, premailer or PDF assembly fails on otherwise valid input."""


class PatientDataError(RenderError):
    """Raised when a newsletter's template context holds anything that could be patient data."""

    rule = "newsletter.patient-data"


class OutputError(HandoutGenError):
    """Raised when output would go outside output/ or cannot be written."""


class SendError(HandoutGenError):
    """Raised when a newsletter send cannot go on (SMTP refused the login or sender, or kept failing)."""


class PreviewError(HandoutGenError):
    """Raised when the preview server cannot start (e.g. the port is taken)."""


def relpath(path: Path, root: Path) -> str:
    """Show ``path`` relative to the project root when possible (shorter, no home dirs)."""
    # The path as written first: a symlink is named by its own name, not by its target's.
    written = (Path(os.path.abspath(path)), Path(os.path.abspath(root)))
    for candidate, base in (written, (path.resolve(), root.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


class RosterError(HandoutGenError):
    """Raised with every bad roster row at once; messages name row and column, never values.

    Roster cells hold patient data, so a message says *which* cell is wrong and why in
    general terms ("is in the past"), but never repeats what the cell contains.
    """

    def __init__(
        self,
        problems: list[Problem],
        source: str,
        outcome: str = "nothing was written",
        locate: Callable[[Problem], str] | None = None,  # default: "row 3, column date"
    ) -> None:
        self.problems = problems
        lines = "\n".join(f"  {(locate or roster_location)(p)}: {p.message}" for p in problems)
        super().__init__(f"{plural(len(problems), 'problem')} in {source}; {outcome}:\n{lines}")


def roster_location(problem: Problem) -> str:
    """``row 3, column date`` (rows counted as a spreadsheet shows them; header is row 1)."""
    where = f"row {problem.line}" if problem.line else "file"
    return f"{where}, column {problem.field}" if problem.field else where
