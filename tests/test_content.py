"""The content model: the sample loads, and every kind of bad input is named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from handout_gen.content.markdown import render_markdown
from handout_gen.content.procedures import edition_url
from handout_gen.content.project import load_project
from handout_gen.content.yamlfile import split_front_matter
from handout_gen.core.errors import ConfigError, UnknownItemError, ValidationFailed
from tests.conftest import FIXTURE

SLUGS = {
    "interventional-pain-care", "spinal-cord-stimulation", "spinal-cord-stimulation-implant",
    "radiofrequency-ablation", "epidural-steroid-injection", "prp-injection", "joint-injections-nerve-blocks",
}


def test_sample_project_loads_with_every_procedure_in_both_languages() -> None:
    project = load_project(FIXTURE)
    assert set(project.procedures) == SLUGS
    for procedure in project.procedures.values():
        # zh and ar (content/languages.yaml) have one sample edition each; languages are
        # listed in the order the project declares them
        more = ["zh", "ar"] if procedure.slug == "epidural-steroid-injection" else []
        assert procedure.languages == ["en", "es", *more]
        for edition in procedure.editions.values():
            assert [s.id for s in edition.sections] == ["what", "who", "before", "day-of", "after"]
            assert edition.meta.status == "draft"  # medical text stays draft until a clinician signs
    assert project.practice.location("orchard") is not None
    assert project.practice.physician("okafor") is not None


def _break(project: Path, slug: str, old: str, new: str) -> Path:
    path = project / "content" / "procedures" / f"{slug}.md"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _problems(project: Path) -> list[str]:
    """Every problem of the project as ``file:line: message``."""
    return [str(p) for p in load_project(project).problems]


def test_all_front_matter_problems_are_reported_together_with_file_line_and_field(
    sample_project: Path,
) -> None:
    rfa = _break(sample_project, "radiofrequency-ablation", "status: draft", "status: finished")
    _break(sample_project, "radiofrequency-ablation", "last_reviewed:",
           "review_intervall_months: 12\nlast_reviewed:")
    esi = _break(
        sample_project, "epidural-steroid-injection", "cervical-interlaminar: intermediate",
        "cervical-interlaminar: medium",
    )
    project = load_project(sample_project)  # the other procedures still load
    assert sorted(project.broken) == ["epidural-steroid-injection", "radiofrequency-ablation"]
    assert "prp-injection" in project.procedures and "radiofrequency-ablation" not in project.procedures
    message = "\n".join(str(p) for p in project.problems)
    status_line = _line_of(rfa, "status: finished")
    typo_line = _line_of(rfa, "review_intervall_months")
    risk_line = _line_of(esi, "bleeding_risk:")  # the site's level is named in the message
    assert (
        f"content/procedures/radiofrequency-ablation.md:{status_line}: status: "
        "must be 'draft' or 'approved'" in message
    )
    assert (
        f"content/procedures/radiofrequency-ablation.md:{typo_line}: review_intervall_months: "
        "is not a known field (check the spelling)" in message
    )
    assert (
        f"content/procedures/epidural-steroid-injection.md:{risk_line}: prep.bleeding_risk: "
        "site 'cervical-interlaminar': must be 'low', 'intermediate' or 'high'" in message
    )
    assert len(project.problems) == 3
    with pytest.raises(ValidationFailed, match="radiofrequency-ablation.md:.*status"):
        project.procedure("radiofrequency-ablation")  # asking for it names its problems


def test_a_translation_that_repeats_the_originals_fields_says_where_they_come_from(
    sample_project: Path,
) -> None:
    """A translator who copies "slug:" or "prep:" from the English file has misspelt nothing:
    the message says the field comes from the English file, at its line; a real typo still
    asks to check the spelling."""
    path = sample_project / "content" / "procedures" / "prp-injection.es.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("---\n", "---\nslug: prp-injection\ntitel: x\n", 1), encoding="utf-8")
    found = [p for p in _problems(sample_project) if "prp-injection.es.md" in p]
    assert found == [
        "content/procedures/prp-injection.es.md:2: slug: comes from the English file (prp-injection.md), "
        "not a translation: remove it here",
        "content/procedures/prp-injection.es.md:3: titel: is not a known field (check the spelling)",
    ]


def test_missing_required_field_and_yaml_syntax_error(sample_project: Path) -> None:
    _break(sample_project, "prp-injection", "reviewer_role:", "# reviewer_role:")
    scs = _break(sample_project, "spinal-cord-stimulation", "title: ", "title: [unclosed ")
    message = "\n".join(str(p) for p in load_project(sample_project).problems)
    assert "content/procedures/prp-injection.md:2: reviewer_role: is required but missing" in message
    assert "content/procedures/spinal-cord-stimulation.md:" in message and "invalid YAML" in message
    assert _line_of(scs, "[unclosed") >= 2


def test_a_key_that_lost_its_indent_is_named(sample_project: Path) -> None:
    """The parser stops at the line after one that lost its indent; the hint names that one."""
    path = _break(sample_project, "prp-injection", "  sedation_offered: false", "sedation_offered: false")
    lost = _line_of(path, "sedation_offered")
    assert _problems(sample_project) == [
        f"content/procedures/prp-injection.md:{lost + 1}: invalid YAML: mapping values are not allowed "
        f"in this context (hint: line {lost} (sedation_offered) has a value, so nothing can be indented "
        f"under it: if it lost its indent, indent it as line {lost + 1} is; or a value that holds ': ' must "
        "be in quotes)"  # the parser cannot tell which: both are said
    ]


def test_sections_must_be_present_and_in_order(sample_project: Path) -> None:
    path = _break(sample_project, "prp-injection", "{#who}", "{#whom}")
    line = _line_of(path, "## ")
    assert (
        f"content/procedures/prp-injection.md:{line}: sections must be what, who, before, day-of, "
        "after in that order; found what, whom, before, day-of, after"
    ) in _problems(sample_project)


def test_missing_logo_is_named_with_its_line(sample_project: Path) -> None:
    (sample_project / "content" / "assets" / "logo.svg").unlink()
    with pytest.raises(ValidationFailed) as caught:
        load_project(sample_project)
    assert "content/practice.yaml:5: logo: logo file 'assets/logo.svg' not found inside content/" in str(
        caught.value
    )


def test_logo_outside_the_project_is_refused(sample_project: Path) -> None:
    practice = sample_project / "content" / "practice.yaml"
    practice.write_text(practice.read_text().replace("logo: assets/logo.svg", "logo: ../../../etc/hostname"))
    with pytest.raises(ValidationFailed, match="logo file '../../../etc/hostname' not found inside content/"):
        load_project(sample_project)


def test_translation_of_unknown_procedure(sample_project: Path) -> None:
    stray = sample_project / "content" / "procedures" / "acupuncture.es.md"
    stray.write_text((sample_project / "content" / "procedures" / "prp-injection.es.md").read_text())
    expected = (
        "content/procedures/acupuncture.es.md: "
        "translation of unknown procedure 'acupuncture' (no acupuncture.md)"
    )
    assert _problems(sample_project) == [expected]


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a handout-gen project"):
        load_project(tmp_path)


def test_unknown_slug_names_the_known_ones() -> None:
    with pytest.raises(UnknownItemError, match=r"no procedure 'nope'.*known: epidural-steroid-injection"):
        load_project(FIXTURE).procedure("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: x\n", "missing front matter"),
        ("---\ntitle: x\n", "front matter is not closed"),
    ],
)
def test_front_matter_framing(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_front_matter(text)


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<iframe src='https://evil.example.com'></iframe>", "<iframe"),
        ("<object data='x.swf'></object>", "<object"),
        ("[click](javascript:alert(1))", 'href="javascript:'),
        ("<a href='javascript:alert(1)'>x</a>", "javascript:"),
        ("![x](file:///etc/passwd)", 'src="file:'),
        ("<img src='file:///etc/passwd' alt='x'>", "file:"),
        ("<img src='https://tracker.example.com/p.png' alt='x'>", "tracker.example.com"),
        ("<img src='/etc/passwd' alt='x'>", "/etc/passwd"),
        ("<p onclick='steal()'>hi</p>", "onclick"),
        ("<style>body{background:url(https://x.example.com)}</style>", "x.example.com"),
    ],
)
def test_raw_html_is_sanitised(markdown: str, forbidden: str) -> None:
    assert forbidden not in render_markdown(markdown)


def test_safe_markdown_survives_sanitising() -> None:
    html = render_markdown("**Bold** and [our site](https://www.example.org).\n\n- one\n- two\n")
    assert "<strong>Bold</strong>" in html
    assert '<a href="https://www.example.org">our site</a>' in html
    assert "<li>one</li>" in html


@pytest.mark.parametrize(
    ("url", "lang", "expected"),
    [
        ("https://www.example.org/procedures/rfa", "en", "https://www.example.org/procedures/rfa"),
        ("https://www.example.org/procedures/rfa", "es", "https://www.example.org/procedures/rfa/es/"),
        ("https://www.example.org/procedures/rfa/", "es", "https://www.example.org/procedures/rfa/es/"),
        ("https://www.example.org/p/rfa.html", "es", "https://www.example.org/p/rfa.es.html"),
        ("https://www.example.org/p/rfa?x=1#top", "es", "https://www.example.org/p/rfa/es/"),
    ],
)
def test_edition_url_sits_beside_the_original(url: str, lang: str, expected: str) -> None:
    assert edition_url(url, lang) == expected


def test_packet_marks_print_nowhere_and_a_packet_drops_the_items_it_covers(sample_project: Path) -> None:
    """"{packet:blood-thinner}" ends a general line a packet says in its own words for a
    patient with a plan: every other output prints the line without the mark; a packet
    that covers the topic leaves the item (and its continuation lines) out; an unknown
    topic is a problem at its line."""
    from handout_gen.content.packet_marks import for_packet

    project = load_project(FIXTURE)
    before = project.procedures["radiofrequency-ablation"].edition("en").section("before")
    assert "{packet:blood-thinner}" in before.markdown and "{packet" not in before.html
    assert "If you take a blood thinner, call us today." in before.html
    in_packet = before.html_in_packet(("blood-thinner",))
    assert "blood thinner" not in in_packet and "Bring a list of all your medicines." in in_packet
    assert before.html_in_packet(("dye-allergy",)) == render_markdown(for_packet(before.markdown))
    markdown = "- One {packet:sedation}\n  more of one\n- Two\n* Three {packet:sedation}"
    assert for_packet(markdown, ("sedation",)) == "- Two"
    assert for_packet(markdown) == "- One\n  more of one\n- Two\n* Three"
    unknown = "'{packet:blood-thiner}' names no packet topic (one of: blood-thinner, sedation, dye-allergy, "
    numbered = "'{packet:sedation}' must end the line of a '- ' list item"  # a number would be skipped
    path = _break(sample_project, "prp-injection", "{packet:blood-thinner}", "{packet:blood-thiner}")
    _break(sample_project, "prp-injection", "- Bring a list of all your medicines.",
           "1. Bring a list of all your medicines. {packet:sedation}")
    problems = _problems(sample_project)
    for needle, message in (("{packet:blood-thiner}", unknown), ("1. Bring a list", numbered)):
        where = f"content/procedures/prp-injection.md:{_line_of(path, needle)}: "
        assert any(p.startswith(where + message) for p in problems), (where, problems)
    # a front-matter aftercare item carries its mark the same way, checked the same way
    meta = project.procedures["radiofrequency-ablation"].edition("en").meta
    assert meta.aftercare[0] == "Have an adult drive you home, and do not drive for the rest of the day."
    assert not any("{packet" in item for item in meta.aftercare)
    assert len(meta.aftercare_in_packet(("sedation",))) == len(meta.aftercare) - 2
    rfa = _break(sample_project, "radiofrequency-ablation", "day. {packet:sedation}", "day. {packet:sedate}")
    problems = _problems(sample_project)
    assert (
        f"content/procedures/radiofrequency-ablation.md:{_line_of(rfa, '{packet:sedate}')}: aftercare.0: "
        "'{packet:sedate}' names no packet topic (one of: blood-thinner, sedation, dye-allergy, "
        "anti-inflammatories, blood-sugar, dated-aftercare, numbness)"
    ) in problems
