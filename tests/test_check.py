"""`handout-gen check`: each rule fires on a small edit of the sample, and the sample passes.

Every case copies the sample project into tmp_path, breaks one thing, and asserts the
exact finding (file, line, rule, severity, message). PDF rules are in test_check_pdf.py.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.checks.findings import Finding
from handout_gen.checks.governance import months_between
from handout_gen.checks.pdf import contrast_ratio
from handout_gen.checks.readability import normalise_for_scoring, score
from handout_gen.checks.runner import CheckReport, run_checks
from handout_gen.checks.text import is_action
from handout_gen.cli import cli
from handout_gen.content.project import load_project

TODAY = date(2026, 12, 1)
ESI = "content/procedures/epidural-steroid-injection.md"
ESI_ES = "content/procedures/epidural-steroid-injection.es.md"
ESI_WHAT = "This shot puts a steroid (a strong medicine that calms swelling) into the epidural space"
UNIVERSITY = (
    "Epidural corticosteroid administration attenuates inflammatory mediators implicated in "
    "radicular pathophysiology, consequently diminishing nociceptive transmission. "
    "Contemporary evidence demonstrates heterogeneous therapeutic responsiveness, "
    "necessitating individualized multidisciplinary evaluation preceding intervention."
)


def edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(project: Path, name: str, needle: str) -> int:
    lines = (project / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def check(project: Path) -> CheckReport:
    return run_checks(project, today=TODAY, pdf=False)


def only(report: CheckReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


@pytest.mark.slow
def test_a_newsletter_with_no_status_is_a_draft_to_check_as_to_send(sample_project: Path) -> None:
    """``send`` refuses a list an issue with no status line (nobody said it was reviewed):
    ``check`` warns about it as about ``status: draft``."""
    issue = "content/newsletters/2026-12.md"
    assert [f for f in only(check(sample_project), "governance.draft") if f.file == issue] == []
    edit(sample_project, issue, "\nstatus: approved  #", "\n#")
    (finding,) = [f for f in only(check(sample_project), "governance.draft") if f.file == issue]
    assert finding.message == (
        "no status: a draft until a reviewer approves it: 'send' refuses to send it to a list")


def test_sample_has_no_errors_and_every_draft_warns(sample_project: Path) -> None:
    report = check(sample_project)
    assert report.errors == []
    drafts = only(report, "governance.draft")
    newsletters = [f for f in drafts if f.file.startswith("content/newsletters/")]
    assert [(f.file, f.message) for f in newsletters] == [  # its Spanish edition awaits a translator
        ("content/newsletters/2026-12.es.md", "status is draft: 'send' refuses to send it to a list")]
    (words,) = [f for f in drafts if f.file == "content/packet.yaml"]  # on every packet
    assert words.message == "status is draft: every packet prints a DRAFT banner" and words.line == 19
    drafts = [f for f in drafts if f not in newsletters and f is not words]
    assert len(drafts) == 16  # seven procedures in en and es, one in zh and ar: all awaiting review
    assert drafts[0].fix == "after clinical review set 'status: approved'"
    assert not report.failed() and report.failed(strict=True)


@pytest.mark.slow
def test_cli_exit_codes_and_json(sample_project: Path) -> None:
    runner = CliRunner()
    base = ["--project", str(sample_project), "check", "--no-pdf"]
    result = runner.invoke(cli, base)
    assert result.exit_code == 0, result.output
    # 16 drafts and packet.yaml's, 2 "no readability formula", the English newsletter's holiday
    # section (grade 7.1), the Chinese and Arabic epidural editions translating an older English
    # one, the Spanish newsletter's draft status
    assert result.output.endswith("0 errors, 23 warnings.\n")
    assert runner.invoke(cli, [*base, "--strict"]).exit_code == 1
    result = runner.invoke(cli, [*base, "--format", "json"])
    data = json.loads(result.output)
    assert data["ok"] is True and data["errors"] == 0
    assert set(data["findings"][0]) == {"file", "line", "rule", "severity", "message", "fix"}


def test_reviewed_in_2022_fails(sample_project: Path) -> None:
    """As of TODAY (the months are counted to the day the check runs: a fixed one here, so the
    test reads the same next month)."""
    edit(sample_project, ESI, "last_reviewed: 2026-11-02", "last_reviewed: 2022-03-01")
    report = check(sample_project)
    assert [f.rule for f in report.errors] == ["governance.review-age"]
    assert (
        f"{ESI}:12: error [governance.review-age] last reviewed 2022-03-01, 57 months ago (limit 36)\n"
        "    fix: have it reviewed (reviewer_role: Interventional pain physician), then update last_reviewed "
        "and version"
    ) in report.to_text()


def test_review_due_warns_at_the_interval(sample_project: Path) -> None:
    """A text's own review_interval_months wins over the practice's."""
    edit(sample_project, ESI, "last_reviewed: 2026-11-02",
         "last_reviewed: 2025-10-15\nreview_interval_months: 12")
    (finding,) = [f for f in only(check(sample_project), "governance.review-due") if f.file == ESI]
    assert finding == Finding(
        ESI, 12, "governance.review-due", "warning",
        "last reviewed 2025-10-15, 13 months ago; review is due every 12 months",
        "schedule a review (reviewer_role: Interventional pain physician); it fails at 36 months")


def test_the_practice_sets_the_review_cycle(sample_project: Path) -> None:
    """practice.yaml's review: the limit fails content reviewed that long ago, and a text that
    gives no review_interval_months of its own (packet.yaml here) is due at the practice's."""
    edit(sample_project, "content/practice.yaml", "  interval_months: 24\n  limit_months: 36",
         "  interval_months: 6\n  limit_months: 18")
    edit(sample_project, ESI, "last_reviewed: 2026-11-02", "last_reviewed: 2025-05-02")
    edit(sample_project, "content/packet.yaml", "last_reviewed: 2026-11-20", "last_reviewed: 2026-05-20")
    report = check(sample_project)
    assert [(f.file, f.message) for f in report.errors] == [
        (ESI, "last reviewed 2025-05-02, 18 months ago (limit 18)")]
    (due,) = only(report, "governance.review-due")
    assert (due.file, due.message, due.fix) == (
        "content/packet.yaml", "last reviewed 2026-05-20, 6 months ago; review is due every 6 months",
        "schedule a review (reviewer_role: Interventional pain physician and nurse manager); "
        "it fails at 18 months")


def test_a_review_limit_shorter_than_the_interval_is_named_at_its_line(sample_project: Path) -> None:
    edit(sample_project, "content/practice.yaml", "  limit_months: 36", "  limit_months: 12")
    (error,) = check(sample_project).errors
    assert (error.file, error.line, error.rule) == (
        "content/practice.yaml", line_of(sample_project, "content/practice.yaml", "review:"), "schema")
    assert "limit_months (12) is shorter than interval_months (24)" in error.message


def test_a_texts_own_review_interval_past_the_limit_is_named(sample_project: Path) -> None:
    edit(sample_project, ESI, "last_reviewed: 2026-11-02",
         "last_reviewed: 2026-11-02\nreview_interval_months: 48")
    (finding,) = only(check(sample_project), "governance.review-interval")
    assert (finding.file, finding.line, finding.severity) == (ESI, 13, "warning")
    assert finding.message == (
        "review_interval_months 48 is longer than the practice's limit (36 months in practice.yaml): "
        "check fails before the review is due")


def test_a_practice_yaml_without_review_fails_check_only(sample_project: Path) -> None:
    """An older practice.yaml: check says what to add; the handouts and packets still load."""
    edit(sample_project, "content/practice.yaml", "review:\n  interval_months: 24\n  limit_months: 36\n", "")
    assert load_project(sample_project).practice.review is None
    (error,) = check(sample_project).errors
    assert (error.file, error.rule) == ("content/practice.yaml", "governance.missing")
    assert "review:" in error.fix and "limit_months:" in error.fix


def test_texts_are_aged_when_the_rest_of_practice_yaml_does_not_load(sample_project: Path) -> None:
    edit(sample_project, "content/practice.yaml", "  fever_f:", "  fever_ff:")
    edit(sample_project, ESI, "last_reviewed: 2026-11-02", "last_reviewed: 2021-05-20")
    rules = [f.rule for f in check(sample_project).errors]
    assert "schema" in rules and "governance.review-age" in rules


def test_future_review_date_warns(sample_project: Path) -> None:
    edit(sample_project, ESI, "last_reviewed: 2026-11-02", "last_reviewed: 2027-01-02")
    assert [f.message for f in only(check(sample_project), "governance.review-date")] == [
        "last_reviewed 2027-01-02 is in the future"]


def test_months_between() -> None:
    assert months_between(date(2024, 3, 15), date(2026, 3, 14)) == 23
    assert months_between(date(2024, 3, 15), date(2026, 3, 15)) == 24


def test_missing_version_is_a_governance_error(sample_project: Path) -> None:
    edit(sample_project, ESI, "version: ESI-2026.2\n", "")
    report = check(sample_project)
    (finding,) = only(report, "governance.missing")
    assert (finding.file, finding.severity, finding.message) == (
        ESI, "error", "version: is required but missing")
    assert finding.fix.startswith("add 'version:' to the front matter")


def test_university_paragraph_fails(sample_project: Path) -> None:
    edit(sample_project, ESI, ESI_WHAT, UNIVERSITY + "\n\n" + ESI_WHAT)
    report = check(sample_project)
    (finding,) = [f for f in only(report, "readability.grade") if f.file == ESI]
    assert finding.severity == "error" and finding.line == line_of(sample_project, ESI, "{#what}")
    assert finding.message.startswith("section 'What it is' reads at grade ")
    assert report.failed()


def test_spanish_hard_paragraph_fails_inflesz(sample_project: Path) -> None:
    hard = ("La administración epidural de corticosteroides disminuye considerablemente la "
            "concentración de mediadores inflamatorios, modificando significativamente la "
            "transmisión nociceptiva característica de las radiculopatías degenerativas "
            "crónicas.")
    edit(sample_project, ESI_ES, "En esta inyección", hard + "\n\nEn esta inyección")
    (finding,) = [f for f in only(check(sample_project), "readability.inflesz") if f.file == ESI_ES]
    assert finding.severity == "error"
    assert "on the Szigriszt-Pazos (INFLESZ) scale; the target is 65 or more" in finding.message


def test_scoring_normalises_numbers_and_bullets() -> None:
    assert normalise_for_scoring("Call 555-0100 at 8:30 if it is 100.4 °F.") == (
        "Call 5 at 5 if it is 5.")
    bullets = ["Bring a list of all your medicines", "Wear loose clothes", "Plan a ride home",
               "Tell us if you are allergic to dye"]
    joined, _ = score(" ".join(bullets), "en")
    fixed, _ = score(". ".join(bullets) + ".", "en")
    assert fixed < 4 < joined  # without periods the bullets read as one long sentence
    spanish, _ = score("Traiga una lista de sus medicinas. Use ropa cómoda.", "es")
    assert spanish > 65
    english_again, _ = score("Bring a list of your medicines. Wear loose clothes.", "en")
    assert english_again < 6  # set_lang('es') did not leak into the next English score


def test_long_paragraph_and_section_warn(sample_project: Path) -> None:
    long_para = " ".join(["Rest at home and drink water."] * 13)  # 78 words
    edit(sample_project, ESI, ESI_WHAT, long_para + "\n\n" + " ".join([long_para] * 3) + "\n\n" + ESI_WHAT)
    report = check(sample_project)
    paras = [f for f in only(report, "pemat.paragraph-length") if f.file == ESI]
    assert paras[0].line == line_of(sample_project, ESI, "Rest at home")
    assert paras[0].message == "this paragraph has 78 words (more than 60)"
    (section,) = [f for f in only(report, "pemat.section-length") if f.file == ESI]
    assert section.message.startswith("section 'What it is' has ")


def test_the_patient_is_flagged(sample_project: Path) -> None:
    edit(sample_project, ESI, "- Wear loose, comfortable clothes.",
         "- The patient should wear loose clothes.")
    (finding,) = [f for f in only(check(sample_project), "pemat.address-reader") if f.file == ESI]
    assert finding.line == line_of(sample_project, ESI, "The patient should")
    assert finding.message == "talks about 'The patient' instead of to the reader"


def test_no_action_and_no_checklist_warn(sample_project: Path) -> None:
    path = sample_project / ESI
    text = path.read_text()
    start, end = text.index("## The day of your visit"), text.index("## After your visit")
    path.write_text(text[:start] + "## The day of your visit {#day-of}\n\nThe visit is short.\n\n"
                    + text[end:])
    report = check(sample_project)
    assert [f.message for f in only(report, "pemat.action") if f.file == ESI] == [
        "section 'day-of' has no list item that tells the reader what to do"]
    assert [f.message for f in only(report, "pemat.checklist") if f.file == ESI] == [
        "section 'day-of' has no bullet list, so the handout prints no checklist for it"]


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("Bring your ID.", "en", True),
    ("If you will get sedation, follow our rules.", "en", True),
    ("Your arm may feel numb.", "en", False),
    ("The shot takes a few minutes.", "en", False),
    ("No deje de tomar sus medicinas.", "es", True),
    ("Si tiene diabetes, mídase el azúcar.", "es", True),
    ("Su brazo puede sentirse dormido.", "es", False),
])
def test_is_action(text: str, lang: str, expected: bool) -> None:
    assert is_action(text, lang) is expected


@pytest.mark.parametrize(("sentence", "found"), [
    ("About 50% of people feel better.", "'50%' is a percentage"),
    ("Drink 1/2 cup of water.", "'1/2' is a fraction"),
    ("Relief lasts 2.5 months.", "'2.5' is a decimal number"),
])
def test_percentages_fractions_and_decimals_warn(sample_project: Path, sentence: str, found: str) -> None:
    edit(sample_project, ESI, "The shot often has numbing", sentence + " The shot often has numbing")
    findings = [f for f in only(check(sample_project), "pemat.numbers") if f.file == ESI]
    assert [f.message for f in findings] == [found]
    assert findings[0].line == line_of(sample_project, ESI, sentence)


def test_decimal_temperature_time_and_phone_are_allowed(sample_project: Path) -> None:
    edit(sample_project, ESI, "The shot often has numbing",
         "Call 555-0100 at 8:30 if your fever is 100.4 °F or higher. The shot often has numbing")
    assert [f for f in only(check(sample_project), "pemat.numbers") if f.file == ESI] == []


def test_jargon_must_be_defined_at_first_use(sample_project: Path) -> None:
    edit(sample_project, ESI, "fluoroscopy (a live X-ray picture)", "fluoroscopy to see")
    (finding,) = [f for f in only(check(sample_project), "pemat.jargon") if f.file == ESI]
    assert finding.line == line_of(sample_project, ESI, "fluoroscopy to see")
    assert finding.message == "'fluoroscopy' is not explained where it is first used"
    assert finding.fix == "add a short definition right after it, e.g. 'fluoroscopy (a live X-ray picture)'"


def test_jargon_which_means_counts_as_a_definition(sample_project: Path) -> None:
    edit(sample_project, ESI, "fluoroscopy (a live X-ray picture)",
         "fluoroscopy, which means a live X-ray picture,")
    assert [f for f in only(check(sample_project), "pemat.jargon") if f.file == ESI] == []


def test_body_images_need_a_file_alt_text_and_caption(sample_project: Path) -> None:
    (sample_project / "content/assets/spine.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    edit(sample_project, ESI, "The shot often has numbing",
         '![](assets/spine.png)\n\n![A spine](assets/missing.png "The spine")\n\n'
         "The shot often has numbing")
    report = check(sample_project)
    line = line_of(sample_project, ESI, "![](assets/spine.png)")
    assert [(f.line, f.rule, f.message) for f in report.errors] == [
        (line, "references.image-alt", "image 'assets/spine.png' has no alt text"),
        (line, "references.image-caption", "image 'assets/spine.png' has no caption"),
        (line + 2, "references.image-missing", "image 'assets/missing.png' not found in content/"),
    ]


def test_front_matter_image_must_exist(sample_project: Path) -> None:
    edit(sample_project, ESI, "prep:\n",
         "image:\n  src: assets/esi.png\n  alt: A needle near the spine\n"
         "  caption: Where the shot goes\nprep:\n")
    report = check(sample_project)
    assert [(f.file, f.rule, f.message) for f in report.errors] == [
        (ESI, "references.image-missing", "image 'assets/esi.png' not found in content/")]
    assert sorted(f.file for f in only(report, "translation.image-text")) == [
        ESI.replace(".md", f".{lang}.md") for lang in ("ar", "es", "zh")]  # every edition, not only handouts


def test_broken_link_between_content_files_and_http_links(sample_project: Path) -> None:
    edit(sample_project, ESI, "The shot often has numbing",
         "See [the overview](interventional-pain-care.md) and [RFA](rfa.md#after) and "
         "[our site](http://www.example.org). The shot often has numbing")
    report = check(sample_project)
    assert [(f.rule, f.message) for f in report.errors] == [
        ("references.broken-link", "link to 'rfa.md' points at no file"),
        ("references.link-https",
         "link 'http://www.example.org' is not https (it would be removed from the handout)"),
    ]


def test_unknown_slug_in_packet_recipe_and_newsletter(sample_project: Path) -> None:
    edit(sample_project, "handouts/packets.yaml", "procedures:\n",
         "procedures:\n  prp-injection:\n    handouts: [interventional-pain-cair]\n")
    report = check(sample_project)
    (finding,) = only(report, "references.unknown-slug")
    assert (finding.file, finding.line, finding.message) == (
        "handouts/packets.yaml", line_of(sample_project, "handouts/packets.yaml", "cair"),
        "unknown procedure 'interventional-pain-cair'")


def test_unknown_slug_in_handout_recipe_comes_from_the_loader(sample_project: Path) -> None:
    edit(sample_project, "handouts/handouts.yaml", "procedures: all", "procedures: [prp-injecton]")
    (finding,) = only(check(sample_project), "references.unknown-slug")
    assert finding.message == "procedures: unknown procedure 'prp-injecton'"
    assert finding.severity == "error"


def test_missing_translation_warns_fallback(sample_project: Path) -> None:
    (sample_project / ESI_ES).unlink()
    (finding,) = only(check(sample_project), "translation.missing")
    assert finding == Finding(
        ESI, 1, "translation.missing", "warning",
        "no Spanish edition (epidural-steroid-injection.es.md): the Spanish handout falls back to English",
        "write content/procedures/epidural-steroid-injection.es.md (status: draft until reviewed)")


def test_stale_translation_warns(sample_project: Path) -> None:
    edit(sample_project, ESI, "version: ESI-2026.2", "version: ESI-2026.3")
    findings = {f.file: f for f in only(check(sample_project), "translation.stale")}
    finding = findings.pop(ESI_ES)
    assert (finding.file, finding.line) == (ESI_ES, line_of(sample_project, ESI_ES, "translation_of_version"))
    assert finding.message == "translates version ESI-2026.2 but the English original is now ESI-2026.3"
    # the editions only packets and web pages print are held to their English too
    assert sorted(findings) == [ESI.replace(".md", ".ar.md"), ESI.replace(".md", ".zh.md")]
    assert {f.message for f in findings.values()} == {
        "translates version ESI-2026.1 but the English original is now ESI-2026.3"}


def test_a_translation_missing_an_items_packet_mark_warns_at_the_item(sample_project: Path) -> None:
    """The English ends its first aftercare item with {packet:sedation}, and the second item
    of "Before your visit" with {packet:blood-thinner}; the Spanish items at the same places
    (lists as long) without them would print beside the letter's own words. A front-matter
    item is named at its line, found in the file as written, a plural form ("{{ n | 1: ... }}")
    and all; a section's item at its section. Key points are compared only item for item:
    the Spanish has one fewer, so none is named."""
    said = "  - Pida a un adulto que le lleve a casa, y no maneje el resto del día. {packet:sedation}\n"
    edit(sample_project, ESI_ES, said, "  - Pida a un adulto que le lleve a casa, y no maneje por "
         "{{ thresholds.after_sedation_hours | 1: una hora | # horas }}.\n")
    edit(sample_project, ESI_ES, "cómo y cuándo. {packet:blood-thinner}", "cómo y cuándo.")
    aftercare, before = only(check(sample_project), "translation.packet-marks")
    assert (aftercare.file, aftercare.line) == (ESI_ES, line_of(sample_project, ESI_ES, "Pida a un adulto"))
    assert aftercare.message == ("item 1 of aftercare is marked {packet:sedation} in English, not here: "
                                 "Spanish packets print it beside the letter's own words for it")
    assert (before.file, before.line) == (ESI_ES, line_of(sample_project, ESI_ES, "## Antes de su cita"))
    assert before.message.startswith("item 2 of section 'Antes de su cita' is marked {packet:blood-thinner}")


PRP = "content/procedures/prp-injection.md"
REDNESS = "You have redness, warmth, swelling, or fluid at the shot spot."
BLADDER = "You suddenly cannot control your bladder or bowels."


def places(project: Path, line: str) -> str:
    """Where the English procedures of ``project`` say ``line``, as a finding names them."""
    names = [f"content/procedures/{f.name}" for f in sorted((project / "content/procedures").glob("*.md"))
             if f.suffixes == [".md"] and f"  - {line}\n" in f.read_text(encoding="utf-8")]
    return ", ".join(f"{name}:{line_of(project, name, line)}" for name in names)


@pytest.mark.slow
def test_one_sign_worded_two_ways_is_named_with_the_wording_most_procedures_use(sample_project: Path) -> None:
    """A packet merges only identical lines: a comma apart, it prints the sign twice."""
    assert only(check(sample_project), "calls.worded-twice") == []  # the fixture words each sign once
    twin = REDNESS.replace("swelling,", "swelling")
    edit(sample_project, PRP, REDNESS, twin)
    (finding,) = only(check(sample_project), "calls.worded-twice")
    assert finding == Finding(
        PRP, line_of(sample_project, PRP, twin), "calls.worded-twice", "warning",
        f"'{twin}' says nearly what '{REDNESS}' says ({places(sample_project, REDNESS)}): a packet for this "
        "procedure and one of those prints both lines",
        "word the sign the same way in every procedure (a packet then prints it once), or make the "
        "difference plain")
    assert "epidural-steroid-injection.md" in finding.message and "joint-injections" in finding.message


@pytest.mark.slow
def test_a_sign_worded_in_another_order_is_one_sign_and_other_numbers_make_two(sample_project: Path) -> None:
    """"legs or arms" and "arms or legs" are one sign, named at every line that words it the
    other way; "12 hours" and "24 hours" are two signs, however alike the words."""
    rfa = "content/procedures/radiofrequency-ablation.md"
    numb = "Your arm or leg is still numb or weak {{ thresholds.numbness_hours }} hours after the treatment."
    edit(sample_project, rfa, numb, numb.replace("{{ thresholds.numbness_hours }}", "24"))
    assert only(check(sample_project), "calls.worded-twice") == []
    weak = "You have new weakness or numbness in your legs or arms that keeps getting worse."
    swapped = weak.replace("legs or arms", "arms or legs")
    for name in (rfa, PRP):
        edit(sample_project, name, "go_to_er_if:\n", f"go_to_er_if:\n  - {swapped}\n")
    findings = only(check(sample_project), "calls.worded-twice")
    assert [(f.file, f.line) for f in findings] == [(PRP, line_of(sample_project, PRP, swapped)),
                                                     (rfa, line_of(sample_project, rfa, swapped))]
    assert all(f.message.startswith(f"'{swapped}' says nearly what '{weak}' says (") for f in findings)


def test_a_sign_under_call_us_in_one_procedure_and_the_er_in_another_warns(sample_project: Path) -> None:
    """The merged packet would tell the patient both to call and to go to the emergency room."""
    edit(sample_project, PRP, "call_us_if:\n", f"call_us_if:\n  - {BLADDER[:-1]}\n")
    (finding,) = only(check(sample_project), "calls.both-lists")
    at = (PRP, line_of(sample_project, PRP, BLADDER[:-1]), "warning")
    assert (finding.file, finding.line, finding.severity) == at
    assert finding.message == (
        f"'{BLADDER[:-1]}' is under call_us_if here and '{BLADDER}' under go_to_er_if in "
        f"{places(sample_project, BLADDER)}: a packet for this procedure and one of those tells the "
        "patient both to call and to go to the emergency room")
    assert finding.message.count("content/procedures/") >= 3


def test_low_contrast_brand_colours_fail(sample_project: Path) -> None:
    edit(sample_project, "content/practice.yaml", 'tint: "#EEF4F8"', 'tint: "#C8D6E0"')
    edit(sample_project, "content/practice.yaml", 'accent: "#2D6A4F"', 'accent: "#9ACD32"')
    report = check(sample_project)
    found = {(f.line, f.severity, f.message) for f in only(report, "pdf.contrast")}
    assert (10, "error", "colors.primary #1B4965 on colors.tint #C8D6E0 (the key-points heading) "
            "has contrast 6.5:1; it needs 7:1") in found
    assert any(f[0] == 11 and f[1] == "warning" for f in found)  # accent used for borders only


def test_contrast_ratio_matches_wcag() -> None:
    assert round(contrast_ratio("#000000", "#FFFFFF"), 1) == 21.0
    assert round(contrast_ratio("#767676", "#FFFFFF"), 2) == 4.54


def test_characters_no_font_of_the_chain_has_are_errors(sample_project: Path) -> None:
    # U+E000 is a private-use code point: no font of the chain maps it (an arrow, which
    # Atkinson Hyperlegible lacks, is fine now: Noto Sans draws it).
    edit(sample_project, ESI, "- Wear loose, comfortable clothes.", "- Wear loose clothes \ue000 → comfy.")
    (finding,) = only(check(sample_project), "pdf.glyphs")
    assert (finding.file, finding.line) == (ESI, line_of(sample_project, ESI, "comfy"))
    assert finding.message.startswith(
        "character '\ue000' (U+E000) is in no font of the chain (Atkinson Hyperlegible, Noto Sans, ")


def test_glossary_with_a_bad_shape_is_reported(sample_project: Path) -> None:
    (sample_project / "content/glossary.yaml").write_text("en:\n  - fluoroscopy\n", encoding="utf-8")
    (finding,) = only(check(sample_project), "schema")
    assert (finding.file, finding.line, finding.severity) == ("content/glossary.yaml", 1, "error")


def test_schema_errors_are_reported_and_other_files_still_checked(sample_project: Path) -> None:
    edit(sample_project, ESI, "status: draft", "status: maybe")
    edit(sample_project, "content/procedures/prp-injection.md", "last_reviewed: 2026", "last_reviewed: 2021")
    report = check(sample_project)
    # the field is there with a wrong value: fix the value, not "add 'status:'"
    (status,) = [f for f in report.errors if f.file == ESI and f.message.startswith("status:")]
    assert (status.rule, status.line) == ("schema", 10)
    assert status.fix.startswith("correct the value as the message says; the README's 'The content'")
    assert any(f.rule == "governance.review-age" and "prp-injection.md" in f.file for f in report.errors)


def test_not_a_project_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "check"])
    assert result.exit_code == 1
    assert "is not a handout-gen project (no content/practice.yaml)" in result.output


def test_newsletter_guards_report_patient_data(sample_project: Path) -> None:
    name = "content/newsletters/2026-12.md"
    edit(sample_project, name, "date: 2026-12-01\n", "date: 2026-12-01\npatient_name: Pat Example\n")
    (finding,) = only(check(sample_project), "newsletter.patient-data")
    assert (finding.file, finding.line, finding.severity) == (name, 6, "error")
    assert finding.message == "patient_name: patient data has no place in a newsletter; remove this field"


def test_newsletter_guards_report_missing_images(sample_project: Path) -> None:
    name = "content/newsletters/2026-12.md"
    edit(sample_project, name, "src: assets/images/newsletter-2026-12-hero.png",
         "src: assets/images/nope.png")
    findings = [f for f in check(sample_project).errors if f.file == name]
    assert [(f.line, f.rule, f.message) for f in findings] == [
        (6, "references.image-missing", "hero: image 'assets/images/nope.png' not found inside content/")]


def test_a_printed_link_to_a_missing_page_of_the_site_is_an_error(sample_project: Path) -> None:
    name = "content/newsletters/2026-12.md"
    edit(sample_project, name, "[our locations page](/locations)", "[our opening hours](/hours)")
    (finding,) = only(check(sample_project), "site.missing-page")
    assert (finding.file, finding.severity) == (name, "error")
    assert finding.message == (
        "https://www.example.org/hours?utm_source=newsletter&utm_medium=email&utm_campaign=2026-12 "
        "(a link in the newsletter) is on your website, but the site has no page there")
    assert finding.fix.startswith("link to a page the site makes")


@pytest.mark.slow
def test_a_link_to_another_site_warns_until_it_is_listed(sample_project: Path) -> None:
    edit(sample_project, ESI, ESI_WHAT, "See [the spine society](https://www.exmaple.org/spine). " + ESI_WHAT)
    edit(sample_project, "content/practice.yaml", "    map_url: https://www.example.org/locations/riverside",
         "    map_url: https://maps.example.com/riverside")
    findings = only(check(sample_project), "site.external-link")
    assert [(f.file, f.severity, f.message) for f in findings] == [
        ("content/practice.yaml", "warning", "https://maps.example.com/riverside (the map link of riverside "
         "(cover letters)) is not on your website (https://www.example.org) and not in external_links in "
         "content/practice.yaml"),
        (ESI, "warning", "https://www.exmaple.org/spine (a link in the handout) is not on your website "
         "(https://www.example.org) and not in external_links in content/practice.yaml"),
    ]
    edit(sample_project, "content/practice.yaml", "physicians:\n",
         "external_links: [https://maps.example.com/, https://www.exmaple.org/spine]\nphysicians:\n")
    assert only(check(sample_project), "site.external-link") == []


def test_two_pages_at_one_address_are_an_error(sample_project: Path) -> None:
    edit(sample_project, "content/practice.yaml", "archive_url: https://www.example.org/newsletters",
         "archive_url: https://www.example.org/locations")
    (finding,) = only(check(sample_project), "site.duplicate-page")
    assert (finding.file, finding.severity) == ("content/practice.yaml", "error")
    assert finding.message == ("https://www.example.org/locations is also the address of the locations page "
                               "made from content/practice.yaml")


def test_packet_words_are_checked_at_their_line_without_rendering(sample_project: Path) -> None:
    """content/packet.yaml is read as packets read it, even without PDFs: a misspelt
    placeholder or key, each at its own line (they were once one line about a sample packet
    that could not be made, and only when PDFs were rendered)."""

    def errors() -> list[tuple[int | None, str]]:
        report = check(sample_project)
        return [(f.line, f.message) for f in report.findings
                if f.file == "content/packet.yaml" and f.severity == "error"]

    edit(sample_project, "content/packet.yaml", "%(name)s", "%(nam)s")
    assert errors() == [(line_of(sample_project, "content/packet.yaml", "%(nam)s"),
                         "text.en.dear: unknown placeholder 'nam' (allowed: name)")]
    edit(sample_project, "content/packet.yaml", "%(nam)s", "%(name)s")
    edit(sample_project, "content/packet.yaml", "    after_sedation_rules:", "    after_sedation_rule:")
    assert errors() == [
        (line_of(sample_project, "content/packet.yaml", "  en:"),
         "text.en.after_sedation_rules: is required but missing"),
        (line_of(sample_project, "content/packet.yaml", "after_sedation_rule:"),
         "text.en.after_sedation_rule: is not a known field (check the spelling)"),
    ]


def test_a_site_the_packet_words_do_not_name_is_a_warning(sample_project: Path) -> None:
    """A roster may name "radiofrequency-ablation:cervical"; English words without a name for
    "cervical" would print the procedure without its site: check says which site, in which
    language's words."""
    edit(sample_project, "content/packet.yaml", "      cervical: neck\n", "      cervicle: neck\n")
    missing, misspelt = only(check(sample_project), "packet.site-name")
    assert (missing.file, missing.line, missing.severity) == (
        "content/packet.yaml", line_of(sample_project, "content/packet.yaml", "    site_names:"), "warning")
    assert missing.message == ("text.en.site_names has no name for cervical: letters in English name those "
                               "procedures without their site")
    assert misspelt.line == line_of(sample_project, "content/packet.yaml", "      cervicle: neck")
    assert misspelt.message.startswith("text.en.site_names.cervicle names no site a procedure has (sites: ")
    assert misspelt.fix == "correct the key to one of those sites, or remove it"


def test_a_procedure_that_fails_to_load_does_not_make_its_sites_look_misspelt(sample_project: Path) -> None:
    """Its sites are unknown while it does not load: its own error is what check says, not a
    warning on every packet word that names one of them."""
    procedure = "content/procedures/radiofrequency-ablation.md"
    edit(sample_project, procedure, "\nstatus: draft\n", "\nstatus: drat\n")
    findings = check(sample_project).findings
    assert procedure in [f.file for f in findings if f.severity == "error"]
    assert not [f for f in findings if f.rule == "packet.site-name" and "names no site" in f.message]


def test_a_translation_that_marks_the_numbness_sign_without_its_words_is_named(sample_project: Path) -> None:
    """Without numbness_sign, a Spanish letter prints no time to call if still numb (its
    closing pages keep the line): check says so, at the edition's call_us_if."""
    edit(sample_project, ESI_ES, "numbness_sign: sigue con el brazo o la pierna dormidos o débiles\n", "")
    (finding,) = only(check(sample_project), "translation.numbness-sign")
    assert (finding.file, finding.line) == (ESI_ES, line_of(sample_project, ESI_ES, "call_us_if:"))
    assert finding.message.startswith("the English gives numbness_sign and this edition none: Spanish")


def test_a_translation_without_the_signs_by_site_is_named(sample_project: Path) -> None:
    """Without numbness_sign_by_site, a Spanish letter after a low-back injection says "arm
    or leg" where the English says "leg": check says so, at the edition's numbness_sign."""
    edit(sample_project, ESI_ES, "  lumbar: sigue con la pierna dormida o débil\n", "")
    (finding,) = only(check(sample_project), "translation.numbness-sign")
    assert (finding.file, finding.line) == (ESI_ES, line_of(sample_project, ESI_ES, "numbness_sign:"))
    assert finding.message == ("the English names a sign for lumbar (numbness_sign_by_site) and this edition "
                               "none: Spanish packets name its numbness_sign for every site")
