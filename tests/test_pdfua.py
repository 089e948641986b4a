"""The PDF/UA rules of ``check`` (checks/tagged.py) on a real packet, and on copies of it with
one thing broken each: every rule fails when its item fails, and only then."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from handout_gen.checks.runner import packet_checks
from handout_gen.checks.tagged import pdfua_problems
from handout_gen.content.project import load_project
from handout_gen.packets.packet import sample_packet

from .conftest import FIXTURE, copy_sample
from .pdfutil import language_changes, struct_texts


@pytest.fixture(scope="module")
def packet() -> bytes:
    return sample_packet(load_project(FIXTURE))


def _elements(node: Any) -> Iterator[Any]:
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _broken(data: bytes, change: Callable[[pikepdf.Pdf], None]) -> bytes:
    pdf = pikepdf.open(io.BytesIO(data))
    change(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.mark.slow
def test_a_packet_passes_every_rule_and_reads_as_a_letter_first(packet: bytes) -> None:
    assert pdfua_problems(packet) == []
    texts = struct_texts(packet)
    assert texts[0] == "Your appointment" and "Dear Alex Sample," in texts[:4]


@pytest.mark.slow
def test_each_line_of_the_language_help_notice_is_declared_in_its_language(packet: bytes) -> None:
    """PDF/UA 7.2: a change of language is declared, so a screen reader reads the Spanish,
    Chinese and Arabic lines of every handout's language-help notice in their own voices."""
    changes = language_changes(packet)
    help_lines = {lang: text for lang, text in changes if "555-0100" in text}
    assert set(help_lines) >= {"es", "zh", "ar"}, changes
    assert help_lines["es"].startswith("Ayudagratis") and help_lines["zh"].startswith("免费语言协助")


@pytest.mark.slow
def test_a_handout_on_its_own_declares_its_lines_in_other_languages() -> None:
    """The same on a Spanish handout as built, whose language is the catalog's only."""
    from handout_gen.handouts import Variant, render_handout

    data = render_handout(load_project(FIXTURE), "prp-injection", Variant("es"))
    help_lines = {lang for lang, text in language_changes(data) if "555-0100" in text}
    assert help_lines == {"en", "zh", "ar"}


def test_every_element_in_another_language_is_declared_so(tmp_path: Path) -> None:
    """A list nested in an English item of a Chinese page (WeasyPrint hangs it on the outer
    list), a Chinese word inside English, and lang="" (unknown) each carry their language."""
    from handout_gen.render.pdf import PdfRenderer

    renderer = PdfRenderer(tmp_path)
    html = ('<html lang="zh"><body><p>中文</p><ul><li lang="en">English<ul><li>nested</li></ul></li></ul>'
            '<p lang="en">a <span lang="zh">中</span> b</p><p lang="">?</p></body></html>')
    changes = language_changes(renderer.write(renderer.document(html, tmp_path)))
    assert [text for lang, text in changes if lang == "en" and "nested" in text and "English" not in text]
    assert ("zh", "中") in changes and ("", "?") in changes
    assert all(lang != "zh" for lang, text in changes if text == "中文")  # the page's own: inherited


def _no_alt(pdf: pikepdf.Pdf) -> None:
    for element in _elements(pdf.Root.StructTreeRoot):
        if element.S == "/Figure":
            del element["/Alt"]


def _link_without_description(pdf: pikepdf.Pdf) -> None:
    annot = next(a for page in pdf.pages for a in page.obj.get("/Annots", []) if a.Subtype == "/Link")
    del annot["/Contents"]


def _untagged_drawing(pdf: pikepdf.Pdf) -> None:
    page = pdf.pages[0]
    page.contents_add(pdf.make_stream(b"0 0 10 10 re f"), prepend=False)


def _orphan_mcid(pdf: pikepdf.Pdf) -> None:
    page = pdf.pages[1]
    page.contents_add(pdf.make_stream(b"/P <</MCID 900>> BDC 0 0 10 10 re f EMC"), prepend=False)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda pdf: pdf.Root.MarkInfo.__setitem__("/Marked", False), "pdfua.tagged"),
        (lambda pdf: pdf.Root.__delitem__("/StructTreeRoot"), "pdfua.tagged"),
        (lambda pdf: pdf.Root.__setitem__("/Lang", pikepdf.String("")), "pdfua.lang"),
        (lambda pdf: pdf.Root.ViewerPreferences.__setitem__("/DisplayDocTitle", False), "pdfua.title"),
        (_no_alt, "pdfua.alt"),
        # a page out of the parent tree: its content belongs to no element either
        (lambda pdf: pdf.pages[2].obj.__delitem__("/StructParents"), "pdfua.parent-tree pdfua.untagged"),
        (_link_without_description, "pdfua.annotations"),
        (_untagged_drawing, "pdfua.untagged"),
        (_orphan_mcid, "pdfua.untagged"),
    ],
)
def test_each_rule_fails_when_its_item_is_broken(
    packet: bytes, change: Callable[[pikepdf.Pdf], None], rule: str
) -> None:
    assert {found for found, _ in pdfua_problems(_broken(packet, change))} == set(rule.split())


@pytest.mark.slow
def test_check_reports_a_letter_image_without_alt(tmp_path: Path, weasyprint_log: list[str]) -> None:
    """`check` makes a sample packet: an image the letter template left without alt text is
    an error, named by rule, in the packets recipe."""
    import handout_gen

    project_dir = copy_sample(tmp_path / "project")
    (project_dir / "templates").mkdir(exist_ok=True)
    builtin = Path(handout_gen.__file__).parent / "templates/packet_letter.html.j2"
    text = builtin.read_text().replace('alt="{{ t.map_caption }}"', "")
    (project_dir / "templates/packet_letter.html.j2").write_text(text)
    project = load_project(project_dir)
    assert packet_checks(load_project(FIXTURE), lambda _: None) == []
    (finding,) = packet_checks(project, lambda _: None)
    assert (finding.file, finding.rule, finding.severity) == ("handouts/packets.yaml", "pdfua.alt", "error")
    assert finding.message == "the sample packet: a figure has no alternate text (/Alt)"
    assert any("no required alt" in message for message in weasyprint_log)


def test_tagged_content_inside_a_form_is_found(packet: bytes) -> None:
    """An MCID inside a form (as WeasyPrint writes an element with opacity) is one no reader
    finds: the rule says so."""

    def form_with_a_mark(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0]
        form = pdf.make_stream(
            b"/P <</MCID 0>> BDC 0 0 5 5 re f EMC",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, 5, 5],
        )
        page.obj.Resources.XObject.Fm9 = form
        page.contents_add(pdf.make_stream(b"/Artifact BMC /Fm9 Do EMC"), prepend=False)

    found = pdfua_problems(_broken(packet, form_with_a_mark))
    assert found == [("pdfua.untagged", "page 1: a form it draws has tagged content of its own (MCIDs)")]
