"""Golden files: the fixture practice's newsletter, HTML and text part, exactly as we send them.

A change to a template, the inliner or the link rules shows up here as a readable diff.
Regenerate with ``make golden`` (``pytest tests/test_golden.py --update-golden``) and review
the diff like any other change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handout_gen.content.project import load_project
from handout_gen.newsletter.render import RenderedIssue, render_issue
from tests.conftest import FIXTURE

GOLDEN = Path(__file__).resolve().parent / "golden"
ISSUE = "2026-12"


def normalise(text: str, part: str) -> str:
    """Line ends and trailing blanks carry no meaning; HTML gets a tag a line for readable diffs."""
    if part == "html":
        text = re.sub(r">\s*<", ">\n<", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@pytest.fixture(scope="module")
def rendered() -> RenderedIssue:
    return render_issue(load_project(FIXTURE), ISSUE)


@pytest.mark.parametrize(
    ("name", "part"), [(f"newsletter-{ISSUE}.txt", "text"), (f"newsletter-{ISSUE}.html", "html")]
)
def test_newsletter_matches_its_golden_file(
    rendered: RenderedIssue, request: pytest.FixtureRequest, name: str, part: str
) -> None:
    actual = normalise(getattr(rendered, part), part)
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run `make golden`"
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed: review, then run `make golden`"
