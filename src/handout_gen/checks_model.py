"""The one record every ``check`` rule produces: where, which rule, how bad, how to fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import Problem


@dataclass(frozen=True, order=True)
class Finding:
    """One thing a content keeper should fix, located by file and line."""

    file: str
    line: int | None
    rule: str  # e.g. "readability.grade"
    severity: str  # "error" or "warning"
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.severity} [{self.rule}] {self.message}\n    fix: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Schema fields whose absence is a governance problem rather than a typo.
_GOVERNANCE_FIELDS = {"version", "reviewer_role", "last_reviewed", "status"}


def from_problem(problem: Problem) -> Finding:
    """Turn a loader Problem (schema, YAML, references) into a finding with a fix hint."""
    field_name = (problem.field or "").split(".")[0]
    if field_name in _GOVERNANCE_FIELDS:
        rule = "governance.missing"
        fix = f"add '{field_name}:' to the front matter (see the other procedures for the format)"
    elif "unknown procedure" in problem.message or "unknown language" in problem.message:
        rule = "references.unknown-slug"
        fix = "use a slug of a file in content/procedures/ (run 'handout-gen list')"
    elif "logo file" in problem.message:
        rule = "references.image-missing"
        fix = "put the logo in content/assets/ and give its path relative to content/"
    else:
        rule = "schema"
        fix = "correct the value as the message says; see GUIDE.md for the content format"
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Finding(problem.source, problem.line, rule, problem.severity, message, fix)
