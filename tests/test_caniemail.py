"""The newsletter HTML against the caniemail.com support data (npm package `caniemail`).

The gate of issue 3 / email.md §4: no feature the data marks *unsupported* in Gmail (web and
apps), Apple Mail (macOS, iOS) or Outlook for Windows, except the graceful ones listed below,
which the email is built to degrade without (the design is inline; these only add polish).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from handout_gen.content.project import load_project
from handout_gen.newsletter.render import render_issue
from tests.conftest import FIXTURE

GATE = Path(__file__).resolve().parent / "caniemail"
CLIENTS = ("gmail.*", "apple-mail.*", "outlook.windows")

# Features the data marks unsupported somewhere that the email uses on purpose, and why it is safe.
GRACEFUL = {
    "@media": "phone-width tweaks; without them the 600 px table still scales (inline styles rule)",
    "<style> element": "holds only @media and dark-mode rules; all layout CSS is inline",
    "display:none": "hides the preheader; Outlook also gets mso-hide:all",
    "opacity": "hides the preheader (same)",
    "overflow": "hides the preheader (same)",
    "outline": "image reset (outline:none); nothing depends on it",
    "border-radius": "rounded buttons become square in Outlook",
}


def test_newsletter_has_no_unsupported_feature_in_gmail_apple_mail_or_outlook(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for this gate; `make setup` installs it"
    assert (GATE / "node_modules" / "caniemail").is_dir(), "run `make setup` (npm ci in tests/caniemail)"
    html = tmp_path / "email.html"
    html.write_text(render_issue(load_project(FIXTURE), "2026-12").html, encoding="utf-8")
    result = subprocess.run(
        [node, str(GATE / "check.mjs"), str(html), *CLIENTS], capture_output=True, text=True, check=True
    )
    errors: dict[str, list[str]] = json.loads(result.stdout)
    unexpected = {client: sorted(set(found) - set(GRACEFUL)) for client, found in errors.items()}
    assert {c: f for c, f in unexpected.items() if f} == {}


def test_the_gate_catches_an_unsupported_feature(tmp_path: Path) -> None:
    """The same check fails on flexbox and a CSS background image (so it is not vacuous)."""
    html = tmp_path / "bad.html"
    html.write_text(
        '<html><body><div style="display:flex; background-image:url(https://x.example.org/a.png)">'
        "x</div></body></html>"
    )
    result = subprocess.run(
        ["node", str(GATE / "check.mjs"), str(html), *CLIENTS], capture_output=True, text=True, check=True
    )
    errors = json.loads(result.stdout)
    assert "display:flex" in errors["outlook.windows"]
    assert "background-image" in errors["outlook.windows"]
