"""``handout-gen init``: a new practice's project that builds straight away, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.core.errors import ConfigError
from handout_gen.core.paths import STARTER_DIR
from handout_gen.newsletter.model import list_issues
from handout_gen.newsletter.render import render_issue
from handout_gen.scaffold import init_project, starter_files

from .pdfutil import pdf_text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_init_then_build_writes_pdfs(tmp_path: Path) -> None:
    target = tmp_path / "our-practice"
    code, out, err = run("init", str(target), "--name", "Riverbend Pain Clinic")
    assert (code, err) == (0, "")
    assert out.startswith(f"created {len(starter_files())} files in {target}\n")
    code, out, err = run("--project", str(target), "build")
    assert code == 0, err
    pdfs = sorted(p.name for p in (target / "output" / "handouts").glob("*.pdf"))
    assert pdfs == ["trigger-point-injection.large.pdf", "trigger-point-injection.pdf"]
    text = pdf_text((target / "output" / "handouts" / "trigger-point-injection.pdf").read_bytes())
    assert "Riverbend Pain Clinic" in text and "Trigger Point Injection" in text
    assert "DRAFT: awaiting clinical review" in text  # starter text is not clinically reviewed
    project = load_project(target)  # the starter issue renders against the starter practice
    (issue_id,) = list_issues(project)
    assert "Riverbend Pain Clinic" in render_issue(project, issue_id).text


def test_git_never_takes_in_the_secret_or_the_packets(tmp_path: Path) -> None:
    """The README's steps for a new practice: init, a secret made where the README says
    (private/), then git. Neither the secret nor output/ (patient packets) is added."""
    import subprocess

    target = tmp_path / "our-practice"
    assert run("init", str(target), "--name", "Riverbend Pain Clinic")[0] == 0
    assert run("--project", str(target), "new-secret", str(target / "private" / "secret.key"))[0] == 0
    (target / "output" / "packets").mkdir(parents=True)
    (target / "output" / "packets" / "packet_0123.pdf").write_bytes(b"%PDF-")
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    added = subprocess.run(["git", "-C", str(target), "add", "-A", "--dry-run"], check=True,
                           capture_output=True, text=True).stdout
    assert "content/practice.yaml" in added
    assert "private/" not in added and "output/" not in added


def test_starter_has_what_the_issue_lists() -> None:
    files = starter_files()
    assert "content/practice.yaml" in files and "content/assets/logo.svg" in files
    procedures = [f for f in files if f.startswith("content/procedures/")]
    assert procedures == ["content/procedures/trigger-point-injection.md"]
    assert len([f for f in files if f.startswith("content/newsletters/")]) == 1
    assert "handouts/handouts.yaml" in files and "README.md" in files
    readme = (STARTER_DIR / "templates" / "README.md").read_text()
    assert '{% extends "default:handout.html.j2" %}' in readme and "{% block" in readme


def test_the_name_is_escaped_for_yaml_and_svg(tmp_path: Path) -> None:
    name = 'O\'Brien "Back" & Pain <Care> \\ Clinic'
    init_project(tmp_path / "p", name=name)
    project = load_project(tmp_path / "p")
    assert project.practice.name == name and project.practice.short_name == name
    assert project.practice.email.sender_name == name
    assert name in project.practice.email.permission_reminder
    logo = (tmp_path / "p" / "content" / "assets" / "logo.svg").read_text()
    assert 'aria-label="O\'Brien &quot;Back&quot; &amp; Pain &lt;Care&gt; \\ Clinic logo"' in logo


def test_init_refuses_an_existing_project_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "p"
    init_project(target)
    practice = target / "content" / "practice.yaml"
    practice.write_text("# mine\n")
    code, _, err = run("init", str(target))
    assert code == 1
    assert err == (f"Error: {target} already holds a handout-gen project (content/practice.yaml); "
                   "nothing was written\n")
    assert practice.read_text() == "# mine\n"


def test_init_refuses_to_overwrite_any_file(tmp_path: Path) -> None:
    (tmp_path / "handouts").mkdir()
    (tmp_path / "handouts" / "handouts.yaml").write_text("mine\n")
    (tmp_path / "notes.txt").write_text("unrelated files are fine\n")
    code, _, err = run("init", str(tmp_path))
    assert code == 1
    assert err == f"Error: {tmp_path} already has handouts/handouts.yaml; nothing was written\n"
    assert not (tmp_path / "content").exists()
    assert (tmp_path / "handouts" / "handouts.yaml").read_text() == "mine\n"


def test_init_into_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    code, _, err = run("init", str(tmp_path / "f"))
    assert code == 2
    assert err.endswith(f"Error: Invalid value for 'DIRECTORY': Directory '{tmp_path / 'f'}' is a file.\n")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        init_project(tmp_path / "f")


@pytest.mark.parametrize(("name", "message"), [
    ("   ", "the practice name must not be empty"),
    ("Two\nlines", "the practice name must be one line of text"),
    ("x" * 101, "the practice name must be at most 100 characters"),
])
def test_a_bad_name_is_a_usage_error(tmp_path: Path, name: str, message: str) -> None:
    code, _, err = run("init", str(tmp_path / "p"), "--name", name)
    assert code == 2
    assert err.endswith(f"Error: Invalid value for '--name': {message}\n")
    assert not (tmp_path / "p").exists()


def test_init_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("init", ".")
    assert code == 0, err
    assert load_project(tmp_path).practice.name == "Example Spine & Pain Clinic"


@pytest.mark.slow
def test_the_starter_passes_check(tmp_path: Path) -> None:
    """A new practice starts with no errors (contrast, structure); only draft/translation notes."""
    init_project(tmp_path / "p")
    code, out, err = run("--project", str(tmp_path / "p"), "check")
    assert code == 0, out + err
    assert re.search(r"^0 errors, \d+ warnings?\.$", out, re.M), out  # not "10 errors"
