"""Golden files: the fixture practice's newsletter, HTML and text part of each language edition,
exactly as we send them.

A change to a template, the inliner or the link rules shows up here as a readable diff.
Regenerate with ``make golden`` (``pytest tests/test_golden.py --update-golden``) and review
the diff like any other change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handout_gen.content.project import load_project
from handout_gen.newsletter.render import RenderedEditions, render_editions
from tests.conftest import FIXTURE

GOLDEN = Path(__file__).resolve().parent / "golden"
ISSUE = "2026-12"


def normalise(text: str, part: str) -> str:
    """Line ends and trailing blanks carry no meaning; HTML gets a tag a line for readable diffs."""
    if part == "html":
        text = re.sub(r">\s*<", ">\n<", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@pytest.fixture(scope="module")
def rendered() -> RenderedEditions:
    return render_editions(load_project(FIXTURE), ISSUE)


@pytest.mark.parametrize(
    ("name", "part", "lang"),
    [
        (f"newsletter-{ISSUE}.txt", "text", "en"),
        (f"newsletter-{ISSUE}.html", "html", "en"),
        (f"newsletter-{ISSUE}.es.txt", "text", "es"),
        (f"newsletter-{ISSUE}.es.html", "html", "es"),
    ],
)
def test_newsletter_matches_its_golden_file(
    rendered: RenderedEditions, request: pytest.FixtureRequest, name: str, part: str, lang: str
) -> None:
    edition = rendered.edition(lang)
    assert edition is not None, f"the fixture issue has no '{lang}' edition"
    actual = normalise(getattr(edition, part), part)
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run `make golden`"
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed: review, then run `make golden`"
