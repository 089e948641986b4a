"""Large print: `build` makes every language in standard and large print; sizes are measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.checks.pdf import in_body
from handout_gen.checks.pdfchars import pdf_pages
from handout_gen.cli import cli
from tests.conftest import SMALL_RECIPE

from .pdfutil import page_lines


def body_sizes(path: Path) -> tuple[set[float], set[float]]:
    """(body sizes, bold body sizes) of the characters between the page margins."""
    sizes, bold = set(), set()
    large = path.name.endswith(".large.pdf")
    for page in pdf_pages(path.read_bytes()):
        for char in page.chars:
            if not char.text.strip():
                continue
            if in_body(char, page, large):
                size = round(char.size, 1)
                sizes.add(size)
                if "Bold" in char.font:
                    bold.add(size)
    return sizes, bold


@pytest.mark.slow
@pytest.mark.no_cover
def test_build_makes_spanish_and_large_print_and_large_body_is_18pt(warm_project: Path) -> None:
    """On the handouts ``build`` wrote (the warm practice), for two procedures."""
    out = warm_project / "output/handouts"
    expected = {f"{s}{suffix}.pdf" for s in SMALL_RECIPE for suffix in ("", ".es", ".large", ".es.large")}
    assert expected <= {p.name for p in out.glob("*.pdf")}
    for path in sorted(out / name for name in expected):
        sizes, bold = body_sizes(path)
        if path.name.endswith(".large.pdf"):
            assert min(sizes) >= 18, path.name
            assert max(sizes) <= 28, path.name  # h1 28, h2 24, h3 20 pt: larger than standard print's
            assert {28.0, 24.0} <= bold, path.name
        else:
            assert min(sizes) >= 12, path.name


def test_missing_translation_falls_back_to_english_with_a_warning(sample_project: Path) -> None:
    (sample_project / "content/procedures/prp-injection.es.md").unlink()
    runner = CliRunner()
    target = sample_project / "prp.pdf"
    result = runner.invoke(cli, ["--project", str(sample_project), "handout", "prp-injection",
                                 "--lang", "es", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert ("Warning: prp-injection has no 'es' edition (content/procedures/prp-injection.es.md); "
            "using English") in result.stderr
    first = " ".join(page_lines(target.read_bytes())[0])
    assert "Platelet" in first or "PRP" in first
    result = runner.invoke(cli, ["--project", str(sample_project), "check", "--no-pdf"])
    assert ("content/procedures/prp-injection.md:1: warning [translation.missing] no Spanish edition "
            "(prp-injection.es.md): the Spanish handout falls back to English") in result.output
