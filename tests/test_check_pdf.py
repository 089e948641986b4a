"""`check`'s print rules on real WeasyPrint renders: type size, footer size, font coverage."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from handout_gen.checks.runner import run_checks
from handout_gen.content.project import load_project
from handout_gen.handouts import Variant, render_handout
from tests.conftest import FIXTURE

TODAY = date(2026, 12, 1)
OVERRIDE = """{% extends "default:handout.html.j2" %}
{% block extra_css %}
.disclaimer { font-size: 10pt; }
.page-footer { font-size: 9pt; }
@page { margin-bottom: 0.6in; }
{% endblock %}
{% block disclaimer %}{{ super() }}<p>Go <b style="font-family:'DejaVu Sans'">→</b> call.</p>{% endblock %}
"""


def only_esi(project: Path) -> Path:
    recipe = project / "handouts/handouts.yaml"
    text = recipe.read_text().replace("procedures: all", "procedures: [epidural-steroid-injection]")
    recipe.write_text(text)
    return project


@pytest.mark.slow
@pytest.mark.no_cover
def test_sample_handout_pdfs_pass_every_print_rule(
    warm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the handouts ``build`` wrote (the warm practice): ``check --pdf`` reads a built
    handout that is up to date instead of rendering it again (the next test renders)."""
    from handout_gen.handouts import Renderer

    def rendered(*args: object) -> bytes:
        raise AssertionError(f"rendered again: {args[1:]}")

    monkeypatch.setattr(Renderer, "handout", rendered)
    report = run_checks(only_esi(warm_project), today=TODAY, pdf=True)
    assert [f for f in report.findings if f.rule.startswith("pdf.")] == []
    assert report.errors == []


@pytest.mark.slow
@pytest.mark.no_cover
def test_small_text_small_footer_and_fallback_glyphs_fail(sample_project: Path) -> None:
    only_esi(sample_project)
    (sample_project / "templates").mkdir(exist_ok=True)
    (sample_project / "templates/handout.html.j2").write_text(OVERRIDE, encoding="utf-8")
    report = run_checks(sample_project, today=TODAY, pdf=True)
    sizes = [f for f in report.errors if f.rule == "pdf.body-size"]
    assert len(sizes) == 4  # every variant: en, en large, es, es large
    large = next(f for f in sizes if "epidural-steroid-injection.large.pdf" in f.message)
    assert large.message.endswith("large-print body text must be at least 18 pt")
    assert "body text as small as 10 pt" in large.message
    footer = [f for f in report.errors if f.rule == "pdf.furniture-size"]
    assert len(footer) == 4 and "header/footer text as small as 9 pt" in footer[0].message
    edges = [f for f in report.errors if f.rule == "pdf.edge-clearance"]
    assert len(edges) == 4 and all(re.search(r"page 1: text 0\.[0-4]\d in from the bottom edge of the paper",
                                             f.message) for f in edges), edges
    (glyph,) = [f for f in report.errors if f.rule == "pdf.glyphs"]
    assert (glyph.file, glyph.line) == ("templates/handout.html.j2", 7)
    # drawn with a font outside the chain (the override names one): a rendered-PDF finding
    assert glyph.message.startswith("character '→' (U+2192) is drawn with a font outside the chain in ")


@pytest.mark.slow  # three renders read twice, pdfminer's read slow: the reader's guard, not the edit loop's
@pytest.mark.parametrize("variant", [Variant("en", large_print=True), Variant("ar"), Variant("zh")],
                         ids=["en-large", "ar", "zh"])
def test_pdfium_reads_the_characters_pdfminer_reads(variant: Variant) -> None:
    """``check`` reads characters with pdfium (C, fast); pdfminer (pdfplumber, pure Python) is
    a reader of its own. On real handouts, in three scripts, both find the same characters
    in the same fonts, at the same sizes, on the same baselines and in the same places."""
    import io

    import pdfplumber

    from handout_gen.checks.pdfchars import pdf_pages

    data = render_handout(load_project(FIXTURE), "epidural-steroid-injection", variant)

    def key(text: str, size: float, bottom: float, font: str) -> tuple[str, float, int, str]:
        return text, round(size, 2), round(bottom), font

    pages = list(pdf_pages(data))
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pages) == len(pdf.pages) > 1
        for ours, theirs in zip(pages, pdf.pages, strict=True):
            assert (ours.width, ours.height) == (theirs.width, theirs.height)
            read = Counter(key(c.text, c.size, c.bottom, c.font) for c in ours.chars if c.text.strip())
            expected = Counter(key(c["text"], float(c["size"]), c["bottom"], c["fontname"])
                               for c in theirs.chars if c["text"].strip())
            assert read == expected, ours.number
            assert len(read) > 50
            # and each letter and digit of a left-to-right script in the same place: paired in
            # order along their line, within 2 pt (Arabic letters join, and the two readers
            # split the joined shapes' advances differently)
            drawn = sorted((key(c.text, c.size, c.bottom, c.font), c.x0, c.x1)
                           for c in ours.chars if _ltr_letter(c.text))
            found = sorted((key(c["text"], float(c["size"]), c["bottom"], c["fontname"]), c["x0"], c["x1"])
                           for c in theirs.chars if _ltr_letter(c["text"]))
            assert len(drawn) > 50
            for (mine, x0, x1), (other, x0_there, x1_there) in zip(drawn, found, strict=True):
                assert mine == other and abs(x0 - x0_there) <= 2 and abs(x1 - x1_there) <= 2, (mine, x0)
            # the ink of each glyph lies about its character's box, measured the same way down
            # the page (Arabic, with its marks, rises well above an em box the font's deep
            # descent sets low; a flipped or shifted measure would be pages off)
            for c in ours.chars:
                if c.text.strip():
                    assert c.top - c.size <= c.ink_top < c.ink_bottom <= c.bottom + 1, c


def _ltr_letter(text: str) -> bool:
    return text.isalnum() and not "\u0590" <= text <= "\u08ff" and not "\ufb1d" <= text <= "\ufeff"


@pytest.mark.parametrize(("margins", "edge"), [
    ("0.1in 1in 1in 1in", "top"), ("1in 1in 1in 0.1in", "left"), ("1in 0.1in 1in 3in", "right"),
    ("1in 1in 1in 1in", None),
])
def test_text_near_an_edge_of_the_paper_is_named_by_its_edge(margins: str, edge: str | None) -> None:
    """pdf.edge-clearance measures the ink nearest each edge and names that edge; text half
    an inch or more from every edge passes."""
    import weasyprint

    from handout_gen.checks.pdf import pdf_findings

    text = "Call us at 555-0100 " * 12  # fills the measure, so it reaches the right margin too
    style = f"@page {{ size: letter; margin: {margins} }}"
    html = f"<html><head><style>{style}</style></head><body><p>{text}</p></body></html>"
    data = weasyprint.HTML(string=html).write_pdf()
    findings = pdf_findings(data, large_print=False, output_name="x.pdf", source="x.md", char_files=[],
                            root=Path("."), seen_chars=set())
    found = [f for f in findings if f.rule == "pdf.edge-clearance"]
    if edge is None:
        assert found == []
    else:
        (finding,) = found
        pattern = rf"x\.pdf page 1: text 0\.[0-4]\d in from the {edge} edge of the paper"
        assert re.search(pattern, finding.message), finding.message


def test_the_margins_check_measures_by_are_the_templates() -> None:
    """check tells body text from header and footer by the page margins of base.css.j2: the
    two must say the same, in both print sizes, or a change to one silently breaks the rules."""
    import handout_gen
    from handout_gen.checks.pdf import BOTTOM_MARGIN_PT, TOP_MARGIN_PT

    css = (Path(handout_gen.__file__).parent / "templates/base.css.j2").read_text(encoding="utf-8")
    inches = r'\{\{ "([\d.]+)in" if large_print else "([\d.]+)in" \}\}'
    margin = rf"margin: {inches} [\d.]+in {inches} [\d.]+in;"
    ((top_large, top, bottom_large, bottom),) = re.findall(margin, css)
    in_css = {"top": {False: float(top) * 72, True: float(top_large) * 72},
              "bottom": {False: float(bottom) * 72, True: float(bottom_large) * 72}}
    assert in_css == {"top": TOP_MARGIN_PT, "bottom": BOTTOM_MARGIN_PT}
