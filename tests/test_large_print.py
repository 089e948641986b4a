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


@pytest.mark.slow
def test_a_rule_parts_the_footer_from_the_last_line_of_text(warm_project: Path, tmp_path: Path) -> None:
    """In large print the footer is as big as the text: on every page a rule drawn across the
    measure lies between the page's last line of text and the footer's "Call us" ("...is also
    called" then "Call us: 555-0100" read as one sentence without it), and clear of that
    line's letters: at least 5 pt under the bottom of its type (a full page's last line once
    sat 2.7 pt over it, its descenders on the rule). Read off the pages as pictures (72 dpi:
    a pixel a point)."""
    import subprocess

    import pdfplumber
    from PIL import Image

    from handout_gen.checks.pdf import BOTTOM_MARGIN_PT

    for name in ("prp-injection.large.pdf", "prp-injection.pdf"):
        path = warm_project / "output/handouts" / name
        subprocess.run(["pdftoppm", "-r", "72", "-gray", "-png", str(path), str(tmp_path / name)], check=True)
        pictures = {int(p.stem.rsplit("-", 1)[1]): p for p in tmp_path.glob(f"{name}-*.png")}
        with pdfplumber.open(path) as pdf:
            assert len(pictures) == len(pdf.pages)
            for page in pdf.pages:
                words = page.extract_words()
                margin_top = page.height - BOTTOM_MARGIN_PT[".large" in name]
                footer = min(w["top"] for w in words if w["text"] == "Call" and w["top"] > margin_top)
                text_bottom = max(w["bottom"] for w in words if w["bottom"] < footer - 1)
                image = Image.open(pictures[page.page_number]).convert("L")
                left, width = round(1.4 * 72), round(5.7 * 72)  # the measure
                dark_rows = [y for y in range(round(text_bottom) + 1, round(footer))
                             if sum(image.getpixel((x, y)) < 128 for x in range(left, left + width))
                             > 0.9 * width]
                assert dark_rows, (name, page.page_number)
                assert dark_rows[0] - text_bottom >= 5, (name, page.page_number, dark_rows[0] - text_bottom)


@pytest.mark.slow
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


@pytest.mark.slow
def test_key_points_that_would_go_on_to_page_2_come_before_the_summary(sample_project: Path) -> None:
    """A long summary pushed the last key points onto page 2 of a large-print handout, under
    "Key points (continued)": the summary then follows the box, which stays whole on page 1.
    Where the box fits under the summary (standard print), the summary stays first."""
    from handout_gen.content.project import load_project
    from handout_gen.handouts import Variant, render_handout

    from .pdfutil import pdf_pages as page_texts

    path = sample_project / "content" / "procedures" / "prp-injection.md"
    text = path.read_text(encoding="utf-8")
    summary = "A PRP shot uses a small amount of your own blood to help an injured or worn area heal."
    long = " ".join(f"Sentence {n} of a long summary that runs on over many lines." for n in range(5))
    points = [f"Key point number {n}, long enough to take two lines of large print." for n in range(3)]
    text = text.replace(summary, f"{summary} {long}", 1)
    text = text.replace("key_points:\n", "key_points:\n" + "".join(f"  - {p}\n" for p in points), 1)
    path.write_text(text, encoding="utf-8")
    project = load_project(sample_project)
    large = page_texts(render_handout(project, "prp-injection", Variant(large_print=True)))
    last = "The area may hurt more for a few days before it starts to feel better."  # the box's own last
    assert all(point in large[0] for point in [*points, last]), large[0]
    assert "Key points (continued)" not in " ".join(large)
    assert large[0].index("Key points") < large[0].index(summary)
    standard = page_texts(render_handout(project, "prp-injection", Variant()))
    assert standard[0].index(summary) < standard[0].index("Key points")
