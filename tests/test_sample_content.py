"""The one smoke test of the repository's own sample content (``content/``, ``handouts/``).

Every other test runs on the fixture practice (a small copy of it), so a practice that renames itself,
adds a procedure or edits a sentence changes only what this file expects. It checks what
must hold for any content a practice ships: it loads, builds, passes ``check`` without
errors, makes the sample packets and its web pages, and (house rule for the bundled sample)
stays fictional.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from handout_gen.build import build
from handout_gen.checks.runner import run_checks
from handout_gen.content.project import load_project
from handout_gen.handouts import planned_handouts
from handout_gen.newsletter.model import list_issues
from handout_gen.packets.run import RunOptions, run_packets
from handout_gen.site.build import build_site
from tests.conftest import REPO, copy_sample

SAMPLE_ROSTER = Path("content/rosters/sample-roster.csv")
ROSTER_TODAY = date(2026, 11, 20)  # the date the Makefile's demo uses for the fictional roster


@pytest.mark.slow
@pytest.mark.no_cover
def test_sample_project_builds_checks_and_makes_its_packets(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "sample", REPO)
    project = load_project(root)
    result = build(project)
    assert len(result.handouts.written) == len(planned_handouts(project)) > 0
    assert {p.parent.name for p in result.newsletters.written} == set(list_issues(project))
    # Text rules only: the print rules measure templates more than content, and
    # tests/test_check_pdf.py runs them on the fixture's handouts in three scripts.
    report = run_checks(root, pdf=False)  # includes the site.* rules: every printed URL has a page
    assert not report.errors, report.to_text()
    # every instruction can be acted on: no time left to work out, no "call us" without a deadline
    assert not [f for f in report.findings if f.rule.startswith("instructions.")], report.to_text()
    # a packet for any two procedures prints each warning sign once, in one list
    assert not [f for f in report.findings if f.rule.startswith("calls.")], report.to_text()
    site = build_site(project)  # the handouts are built: only the pages are made
    assert site.handouts.written == [] and site.site.written and site.removed == []
    with (root / SAMPLE_ROSTER).open(encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    options = RunOptions(out_root=tmp_path / "packets", workers=1, today=ROSTER_TODAY)
    packets = run_packets(project, root / SAMPLE_ROSTER, options)
    assert packets.written == rows > 0 and not packets.skipped_rows


def test_sample_content_is_fictional() -> None:
    """Only 555-01xx numbers and example.org addresses appear in the bundled content."""
    files = [p for p in (REPO / "content").rglob("*") if p.suffix in {".md", ".yaml", ".csv"}]
    text = "\n".join(p.read_text(encoding="utf-8-sig") for p in files)
    numbers = re.findall(r"\b\d{3}-\d{4}\b", text)
    assert numbers
    for number in numbers:
        assert number.startswith("555-01"), number
    for host in re.findall(r"https://([^/\s\"')]+)", text):
        assert host.endswith("example.org"), host


def test_sample_medical_text_is_marked_draft() -> None:
    """Medical text stays draft until a clinician signs (house rule for the bundled sample)."""
    project = load_project(REPO)
    assert project.procedures
    for procedure in project.procedures.values():
        for edition in procedure.editions.values():
            assert edition.meta.status == "draft", edition.path.name


def test_sample_bleeding_risk_follows_the_guideline_per_site() -> None:
    """ASRA/ESRA/AAPM/INS/NANS/WIP, 2nd edition (2018): the sample's classification, and each
    file that sets a risk says which edition it follows."""
    project = load_project(REPO)
    prep = {slug: procedure.meta.prep for slug, procedure in project.procedures.items()}
    assert prep["radiofrequency-ablation"].risk_at("cervical") == "intermediate"  # the neck
    assert prep["radiofrequency-ablation"].risk_at("lumbar") == "low"  # moved to low in 2018
    assert prep["radiofrequency-ablation"].risk_at() == "intermediate"  # no site: the higher
    esi = prep["epidural-steroid-injection"]
    assert {esi.risk_at(site) for site in esi.sites} == {"intermediate"}
    assert set(esi.sites) >= {"cervical-transforaminal", "lumbar-interlaminar"}
    scs = (prep["spinal-cord-stimulation"], prep["spinal-cord-stimulation-implant"])
    assert [p.risk_at() for p in scs] == ["high", "high"]
    assert prep["joint-injections-nerve-blocks"].risk_at() == "low"
    assert prep["prp-injection"].risk_at("disc") == "intermediate"
    for procedure in project.procedures.values():
        for edition in procedure.editions.values():
            text = edition.path.read_text(encoding="utf-8")
            assert "ASRA/ESRA/AAPM/INS/NANS/WIP" in text and "2018" in text, edition.path.name
            assert "SECOND edition" in text or "SEGUNDA edición" in text, edition.path.name
    assert "SECOND edition" in (REPO / "content" / "packet.yaml").read_text(encoding="utf-8")


def test_sample_stimulator_trial_and_implant_are_separate() -> None:
    """Each with its own length, follow-up visit and MRI warning; no overview in their packets."""
    project = load_project(REPO)
    trial = project.procedures["spinal-cord-stimulation"].editions["en"]
    implant = project.procedures["spinal-cord-stimulation-implant"].editions["en"]
    trial_text = " ".join([*trial.meta.key_points, *(s.markdown for s in trial.sections)])
    implant_text = " ".join([*implant.meta.key_points, *(s.markdown for s in implant.sections)])
    assert "5 to 7 days" in trial_text and "wire removal visit" in trial_text and "MRI" in trial_text
    assert "wound check" in implant_text and "MRI conditional" in implant_text
    assert "10 to 14 days" in implant_text and "6 weeks" in implant_text
    assert set(project.procedures["spinal-cord-stimulation-implant"].editions) == {"en", "es"}
    recipe = (REPO / "handouts" / "packets.yaml").read_text(encoding="utf-8")
    assert "handouts: [interventional-pain-care]" not in recipe
