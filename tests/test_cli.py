"""The CLI contract: fast help with examples, exit codes, plain errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from tests.conftest import FIXTURE

from .pdfutil import pdf_text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_help_is_fast_and_never_imports_weasyprint() -> None:
    code = (
        "import sys, time; t = time.perf_counter();"
        "from handout_gen.cli import cli;"
        "sys.argv = ['handout-gen', '--help'];"
        "\ntry:\n    cli()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('weasyprint', 'pydantic', 'markdown_it', 'premailer', 'pypdf')"
        " if m in sys.modules];"
        "print(heavy, time.perf_counter() - t, file=sys.stderr)"
    )
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    heavy, _, _seconds = result.stderr.strip().rpartition(" ")[0].partition("]")
    assert "Usage: handout-gen" in result.stdout
    assert heavy + "]" == "[]", result.stderr
    assert elapsed < 1.5  # the goal is 0.15 s for the CLI itself; `make bench` prints it


def _commands() -> list[str]:
    return sorted(cli.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_help_has_an_example(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Example:" in out


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("handout-gen, version ")


def test_list_shows_procedures_languages_and_status() -> None:
    """A row a procedure, under a header: its version, last review, and every edition's own
    status, a translation of an older English version saying which it translates."""
    code, out, _ = run("--project", str(FIXTURE), "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["procedure", "version", "reviewed", "editions"]
    (esi,) = [line for line in lines if line.startswith("epidural-steroid-injection ")]
    assert esi.split(None, 3)[1:] == ["ESI-2026.2", "2026-11-02", "en draft, es draft, zh draft (translates "
                                      "ESI-2026.1), ar draft (translates ESI-2026.1)"]
    assert {line.index("2026-11-02") for line in lines[1:]} == {lines[0].index("reviewed")}  # aligned


@pytest.mark.slow
def test_a_handout_of_a_translation_behind_its_english_says_so(tmp_path: Path) -> None:
    """The desk printing a Chinese handout that translates an older English version is told,
    as a packet run and check tell it: the patient gets the older text."""
    target = tmp_path / "esi.zh.pdf"
    code, out, err = run("--project", str(FIXTURE), "handout", "epidural-steroid-injection", "--lang", "zh",
                         "-o", str(target))
    assert code == 0 and target.is_file() and out == f"wrote {target}\n"
    assert err == ("Warning: epidural-steroid-injection's 'zh' edition translates ESI-2026.1, but the "
                   "English is now ESI-2026.2: this handout prints the older text; update the translation\n")


def test_workers_come_from_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers wins; HANDOUT_GEN_WORKERS sets it for every command of a shared machine; else
    0 (every core). What build and site are handed, without laying anything out."""
    import handout_gen.build
    from handout_gen.build import BuildResult
    from handout_gen.core.files import BuildReport

    seen: list[int] = []

    def fake_build(project: object, *, workers: int, **_: object) -> BuildResult:
        seen.append(workers)
        return BuildResult(BuildReport(), BuildReport())

    monkeypatch.setattr(handout_gen.build, "build", fake_build)
    monkeypatch.delenv("HANDOUT_GEN_WORKERS")
    base = ["--project", str(FIXTURE), "build"]
    assert CliRunner().invoke(cli, base).exit_code == 0
    assert CliRunner().invoke(cli, base, env={"HANDOUT_GEN_WORKERS": "3"}).exit_code == 0
    assert CliRunner().invoke(cli, [*base, "--workers", "1"], env={"HANDOUT_GEN_WORKERS": "3"}).exit_code == 0
    assert seen == [0, 3, 1]
    import handout_gen.site.build
    from handout_gen.site.build import SiteReport

    def fake_site(project: object, *, force: bool, workers: int) -> SiteReport:
        seen.append(workers)
        return SiteReport(BuildReport(), BuildReport(), folder=FIXTURE)

    monkeypatch.setattr(handout_gen.site.build, "build_site", fake_site)
    site = ["--project", str(FIXTURE), "site"]
    assert CliRunner().invoke(cli, site, env={"HANDOUT_GEN_WORKERS": "2"}).exit_code == 0
    assert CliRunner().invoke(cli, [*site, "--workers", "1"]).exit_code == 0
    assert seen[3:] == [2, 1]


def test_unknown_slug_is_a_clean_error() -> None:
    code, out, err = run("--project", str(FIXTURE), "handout", "nope")
    assert code == 1
    assert err.startswith("Error: no procedure 'nope' in content/procedures/ (known: ")
    assert "Traceback" not in out + err


def test_misuse_exits_2() -> None:
    code, _, err = run("--project", str(FIXTURE), "handout", "prp-injection", "--lang", "fr")
    assert code == 2
    assert "Invalid value for '--lang'" in err


def test_not_a_project_is_a_clean_error(tmp_path: Path) -> None:
    code, _, err = run("--project", str(tmp_path), "list")
    assert code == 1
    assert "is not a handout-gen project (no content/practice.yaml)" in err


@pytest.mark.slow
def test_a_typo_blocks_only_what_is_made_from_its_file(small_project: Path) -> None:
    """One procedure's typo is named and blocks its own handouts; everything else is made."""
    path = small_project / "content" / "procedures" / "prp-injection.md"
    path.write_text(path.read_text().replace("status: draft", "status: reviewed"))
    problem = "content/procedures/prp-injection.md:10: status: must be 'draft' or 'approved'"
    code, out, err = run("--project", str(small_project), "build")
    assert code == 1
    assert err.startswith("Error: 1 problem; the outputs they concern were not built")
    assert problem in err and "Traceback" not in out + err
    built = sorted(p.name for p in (small_project / "output" / "handouts").glob("*.pdf"))
    assert built == sorted(f"radiofrequency-ablation{s}.pdf" for s in ("", ".es", ".es.large", ".large"))
    assert "newsletters: 1 written" in out  # the issue does not quote the broken procedure
    code, out, _ = run("--project", str(small_project), "handout", "epidural-steroid-injection")
    assert code == 0 and out.startswith("wrote ")  # the front desk is not blocked
    code, _, err = run("--project", str(small_project), "handout", "prp-injection")
    assert code == 1 and problem in err
    assert err.startswith("Error: 1 problem in the files of procedure 'prp-injection'")
    roster = small_project / "content" / "rosters" / "sample-roster.csv"
    code, _, err = run("--project", str(small_project), "packets", str(roster), "--check",
                       "--today", "2026-11-20")
    assert code == 1  # the desk is told who can fix it, and how to make the other packets meanwhile
    assert ("row 5, column procedures: names a procedure whose content has a mistake (prp-injection): ask "
            "whoever keeps the content to fix it ('handout-gen check' names the file and line); "
            "--skip-invalid makes the other rows' packets") in err
    code, out, err = run("--project", str(small_project), "list")
    assert code == 1 and "radiofrequency-ablation" in out and "prp-injection" not in out
    assert "not loaded: prp-injection" in err and problem in err


@pytest.mark.slow
def test_handout_to_chosen_path_in_spanish_large_print(sample_project: Path, tmp_path: Path) -> None:
    """The procedure named by its Spanish title in capitals and the language by a regional
    code, as rosters take them."""
    target = tmp_path / "desk" / "prp.pdf"
    code, out, _ = run(
        "--project", str(sample_project), "handout", "INYECCIÓN DE PLASMA RICO EN PLAQUETAS (PRP)",
        "--lang", "es-MX", "--large-print", "-o", str(target),
    )
    assert code == 0, out
    assert out.strip() == f"wrote {target}"
    text = pdf_text(target.read_bytes())
    assert "Puntos clave" in text and "Página 1 de" in text


@pytest.mark.slow
def test_build_then_noop_rebuild(small_project: Path) -> None:
    code, out, _ = run("--project", str(small_project), "build")
    assert code == 0
    assert "handouts: 8 written, 0 unchanged\nnewsletters: 1 written, 0 unchanged\n" in out
    code, out, _ = run("--project", str(small_project), "build")
    assert out == "handouts: 0 written, 8 unchanged\nnewsletters: 0 written, 1 unchanged\n"


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handout_gen", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("handout-gen, version")


def test_project_option_works_after_the_command_too(sample_project: Path) -> None:
    code, out, _ = run("list", "--project", str(sample_project))
    assert code == 0 and "prp-injection" in out


def test_a_roster_not_found_says_which_folder_it_was_looked_for_in(
    sample_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative roster path is read from the current folder, not --project's: the desk that
    typed the project's own path from elsewhere is told where it was looked for."""
    elsewhere = sample_project.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run("--project", str(sample_project), "packets", "content/rosters/sample-roster.csv",
                         "--check")
    assert code == 2 and "Traceback" not in out + err
    assert (f"'content/rosters/sample-roster.csv' is not in the current folder ({elsewhere}); give its "
            "path from there, or the whole path") in err


def test_a_misspelt_roster_is_named_with_the_nearest_file(sample_project: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder is right and the name is wrong: say so, with the file it most likely is."""
    monkeypatch.chdir(sample_project)
    code, out, err = run("packets", "content/rosters/sample-rooster.csv", "--check")
    assert code == 2 and "Traceback" not in out + err
    assert (f"'content/rosters/sample-rooster.csv' does not exist in the current folder ({sample_project}); "
            "did you mean 'content/rosters/sample-roster.csv'?") in err
    code, out, err = run("packets", "tomorow.csv", "--check")  # a bare name: where it was looked for
    assert code == 2 and f"'tomorow.csv' does not exist in the current folder ({sample_project})" in err
    code, out, err = run("packets", str(tmp_path / "nothing-like-it.csv"), "--check")
    assert code == 2 and f"'{tmp_path / 'nothing-like-it.csv'}' does not exist" in err


def test_an_in_process_run_shows_what_c_libraries_write_to_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tests/cliutil.hg runs a command in the test's process; what a C library writes straight to
    file descriptor 2 (a fontconfig or Pango warning) is in its stderr, as on a terminal, so a
    search of the output for patient data in an in-process run misses nothing."""
    import os

    from handout_gen.content import project
    from tests.cliutil import hg

    loaded = project.load_project

    def noisy(*args: object, **kwargs: object) -> object:
        os.write(2, b"Fontconfig warning: Zzyzx Testpatient\n")
        os.write(1, b"from C\n")
        return loaded(*args, **kwargs)

    monkeypatch.setattr(project, "load_project", noisy)
    result = hg(FIXTURE, "list")
    assert result.returncode == 0
    assert "Fontconfig warning: Zzyzx Testpatient" in result.stderr
    assert result.stdout.endswith("from C\n") and "spinal-cord-stimulation" in result.stdout
