"""Real WeasyPrint renders of the sample handouts, checked the way a printer would be."""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from handout_gen.checks.pdfchars import Page, pdf_pages
from handout_gen.content.project import load_project
from handout_gen.core.errors import ValidationFailed
from handout_gen.handouts import Variant, build_handouts, render_handout
from tests.conftest import FIXTURE, copy_sample, live_group

from .pdfutil import page_lines, pdf_lines, pdf_text, pdfinfo, struct_headings, tool


@pytest.fixture(scope="module")
def rfa_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "rfa.pdf"
    path.write_bytes(render_handout(load_project(FIXTURE), "radiofrequency-ablation", Variant()))
    return path


@pytest.mark.slow
def test_text_sections_and_page_furniture(rfa_pdf: Path) -> None:
    text = pdf_text(rfa_pdf.read_bytes())
    for phrase in (
        "Radiofrequency Ablation",
        "Maple Hollow Spine & Pain Center",
        "What it is", "Who it may help", "Before your visit", "The day of your visit",
        "After your visit", "When to call us", "Key points",
        "Call us: 555-0100", "Page 1 of", "RFA-2026.2, draft of Nov 2, 2026",
        "DRAFT: awaiting clinical review",
    ):
        assert phrase in text, phrase
    # The web address is printed under the QR code; it wraps after a slash, never at a hyphen
    # ("radiofrequency-" / "ablation" reads as one hyphenated word).
    assert "www.example.org/procedures/ radiofrequency-ablation" in text
    # The sections come in the fixed order the guide asks for, the key points on page 1.
    headings = ("Key points", "What it is", "Who it may help", "Before your visit", "The day of your visit",
                "After your visit", "When to call us")
    order = [text.index(h) for h in headings]
    assert order == sorted(order)
    # The emergency list reads as one sentence with each item ("…if: You have…").
    flat = " ".join(text.split())
    assert "nearest emergency room if: You have new weakness" in flat.replace("• ", "")
    assert "if you have:" not in flat


def test_letter_size_tagged_titled_and_valid(rfa_pdf: Path) -> None:
    info = pdfinfo(rfa_pdf)
    assert info["Page size"] == "612 x 792 pts (letter)"
    assert info["Tagged"] == "yes"
    assert info["Title"] == "Radiofrequency Ablation - Maple Hollow Spine & Pain Center"
    assert "No syntax or stream encoding errors found" in tool("qpdf", "--check", rfa_pdf)
    reader = PdfReader(rfa_pdf)
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in metadata
    assert "<dc:title>" in metadata


def test_every_font_is_embedded_and_of_the_chain(rfa_pdf: Path) -> None:
    rows = tool("pdffonts", rfa_pdf).splitlines()[2:]
    assert rows, "no fonts listed"
    names = [row.split()[0].split("+")[-1] for row in rows]
    assert "Atkinson-Hyperlegible" in names and "Atkinson-Hyperlegible-Bold" in names  # the text
    for name, row in zip(names, rows, strict=True):
        # Atkinson Hyperlegible, or a Noto family of the chain for the language-help lines
        # in Chinese and Arabic; never a system fallback such as DejaVu
        assert name.startswith(("Atkinson-Hyperlegible", "Noto-Sans-CJK-SC", "Noto-Naskh-Arabic")), row
        assert row.split()[-5] == "yes", f"not embedded: {row}"  # the 'emb' column


def test_body_text_is_at_least_12pt(rfa_pdf: Path) -> None:
    chars = [c for page in pdf_pages(rfa_pdf.read_bytes()) for c in page.chars if c.text.strip()]
    sizes = {round(c.size, 1) for c in chars}
    assert min(sizes) >= 12


@pytest.mark.slow
def test_identical_input_gives_identical_bytes() -> None:
    project = load_project(FIXTURE)
    first = render_handout(project, "prp-injection", Variant())
    second = render_handout(load_project(FIXTURE), "prp-injection", Variant())
    assert first == second
    assert b"/CreationDate" not in first


# Run in a new interpreter: what it spawns while WeasyPrint loads its C libraries, and what it prints.
_LOAD = """
import subprocess, sys
runs = []
spawn = subprocess.Popen.__init__
def spy(self, args, *rest, **options):
    runs.append(args[0].rsplit("/", 1)[-1])
    spawn(self, args, *rest, **options)
subprocess.Popen.__init__ = spy
if sys.argv[1] == "compiler-only":  # a library only gcc or ld finds: cffi cannot open it otherwise
    import ctypes.util, cffi.api
    search, load = ctypes.util._findLib_gcc, cffi.api._load_backend_lib
    def refuse(backend, name, flags):
        if ctypes.util._findLib_gcc is not search and "pango-1.0" in str(name):  # searches cut short
            raise OSError("not in the linker cache")
        return load(backend, name, flags)
    cffi.api._load_backend_lib = refuse
from handout_gen.render.pdf import import_weasyprint
import_weasyprint()
import weasyprint
print(weasyprint.__version__, sorted(set(runs)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("case", ["linker-cache", "compiler-only"])
def test_weasyprint_loads_without_compiler_runs_unless_it_needs_them(case: str) -> None:
    """No gcc or ld is run to look for a library the linker's cache lists; where only they
    find one, WeasyPrint still loads (with them) and its failed first try prints nothing."""
    result = subprocess.run([sys.executable, "-c", _LOAD, case], capture_output=True, text=True, check=True)
    version, _, runs = result.stdout.strip().partition(" ")
    assert version == weasyprint_version()
    if case == "linker-cache":
        assert runs == "['ldconfig']", result.stdout
    else:
        assert "gcc" in runs and "ld" in runs, result.stdout
    assert result.stdout.count("\n") == 1 and "WeasyPrint could not import" not in result.stderr


def weasyprint_version() -> str:
    import weasyprint

    return str(weasyprint.__version__)


@pytest.mark.slow
def test_a_style_sheet_parsed_once_lays_out_as_weasyprint_reads_it() -> None:
    """The renderer parses each <style> block once and hands WeasyPrint the parsed sheet: the
    pages it writes, the first time and from the remembered sheet, are byte for byte those
    WeasyPrint writes when it reads the block itself, in both print sizes."""
    from weasyprint import HTML

    from handout_gen.handouts import handout_html
    from handout_gen.render.pdf import PdfRenderer, typeset

    project = load_project(FIXTURE)
    renderer = PdfRenderer(project.root)
    for variant in (Variant(), Variant(large_print=True)):
        html = handout_html(project, project.procedure("prp-injection"), variant)
        assert html.count("<style>") == 1
        base = project.content_dir.resolve().as_uri() + "/"
        own = HTML(string=typeset(html), base_url=base, url_fetcher=renderer.fetcher).render(
            font_config=renderer.fonts, pdf_variant="pdf/ua-1"
        )
        expected = renderer.write(own)
        first = renderer.write(renderer.document(html, project.content_dir))
        again = renderer.write(renderer.document(html, project.content_dir))
        assert first == expected and again == expected
    assert len(renderer._sheets) == 2  # one parsed sheet per print size, reused


def test_the_cycle_collector_rests_during_a_layout_and_resumes_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layout, writing and shrinking the fonts run with Python's cycle collector off (a full
    collection would walk the whole growing box tree for nothing) and it is back on after, a
    failed layout too; a caller that turned it off itself finds it still off."""
    import gc

    import weasyprint
    from weasyprint.document import Document

    from handout_gen.core.errors import RenderError
    from handout_gen.render import pdf as render_pdf

    seen: dict[str, list[bool]] = {"layout": [], "write": [], "shrink": []}
    fail = False

    def watched(step: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[step].append(gc.isenabled())
            if fail:
                raise ValueError("a layout that breaks")
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(weasyprint.HTML, "render", watched("layout", weasyprint.HTML.render))
    monkeypatch.setattr(Document, "write_pdf", watched("write", Document.write_pdf))
    monkeypatch.setattr(render_pdf, "shrink_pdf_bytes", watched("shrink", render_pdf.shrink_pdf_bytes))
    renderer = render_pdf.PdfRenderer(tmp_path)
    html = '<html lang="en"><head><title>t</title></head><body><p>One</p></body></html>'
    assert gc.isenabled()
    data, _ = renderer.render(html, tmp_path)
    assert data.startswith(b"%PDF")
    assert {step: set(states) for step, states in seen.items()} == {step: {False} for step in seen}
    assert gc.isenabled()
    fail = True
    with pytest.raises(RenderError, match="a layout that breaks"):
        renderer.document(html, tmp_path)
    assert gc.isenabled()
    fail = False
    gc.disable()
    try:
        renderer.render(html, tmp_path)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("head", [
    "<style>@counter-style z { system: cyclic; symbols: Z; } ol { list-style: z; }</style>",
    '<style>li { color: #101010 }</style><style media="print">li { color: #202020 }</style>',
    '<style>li { color: #101010 }</style><link rel="stylesheet" href="data:text/css,li{color:%23202020}">',
])
def test_a_document_whose_sheets_cascade_by_its_own_rules_is_left_to_weasyprint(
    tmp_path: Path, head: str
) -> None:
    """A project template's own @counter-style (WeasyPrint keeps those per document), or a
    sheet in a <link> or a <style media> (an author sheet that must keep its place in the
    cascade): the renderer parses nothing itself, and the pages are WeasyPrint's own."""
    from weasyprint import HTML

    from handout_gen.render.pdf import PdfRenderer, typeset

    body = "<ol><li>One</li><li>Two</li></ol>"
    html = f'<html lang="en"><head><title>t</title>{head}</head><body>{body}</body></html>'
    renderer = PdfRenderer(tmp_path)
    own = HTML(string=typeset(html), base_url=tmp_path.as_uri() + "/", url_fetcher=renderer.fetcher).render(
        font_config=renderer.fonts, pdf_variant="pdf/ua-1")
    assert renderer.write(renderer.document(html, tmp_path)) == renderer.write(own)
    assert renderer._sheets == {}


def test_qr_code_is_embedded_as_an_image_with_alt_text(rfa_pdf: Path) -> None:
    data = rfa_pdf.read_bytes()
    # The QR code is an SVG drawn as vector paths inside a form XObject with /Alt in the tags.
    reader = PdfReader(io.BytesIO(data))
    last = reader.pages[-1]
    assert "/XObject" in last["/Resources"]
    assert "QR code that opens this page on our website" in _structure_alts(reader)


def _structure_alts(reader: PdfReader) -> str:
    alts: list[str] = []

    def walk(node: object) -> None:
        obj = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(obj, dict):
            if "/Alt" in obj:
                alts.append(str(obj["/Alt"]))
            kids = obj.get("/K")
            if kids is not None:
                walk(kids)
        elif isinstance(obj, list):
            for kid in obj:
                walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return " | ".join(alts)


@pytest.mark.slow
@pytest.mark.no_cover
def test_build_skips_unchanged_and_rebuilds_what_changed(small_warm_project: Path) -> None:
    """From a built project (the warm practice: a first build of every handout is the sample
    content test's): nothing changed, nothing written; one edition edited, its handouts made."""
    again = build_handouts(load_project(small_warm_project))
    assert not again.written and len(again.skipped) == 8  # 2 procedures x en/es x standard/large
    prp = small_warm_project / "content" / "procedures" / "prp-injection.md"
    prp.write_text(prp.read_text().replace("title: ", "title: New ", 1))
    changed = build_handouts(load_project(small_warm_project))
    # The English edition changed; the Spanish one depends on it (prep flags), so both rebuild.
    assert sorted(p.name for p in changed.written) == [
        "prp-injection.es.large.pdf", "prp-injection.es.pdf", "prp-injection.large.pdf", "prp-injection.pdf",
    ]
    for pdf in changed.written:  # what `make demo` promises for every handout it writes
        assert "No syntax or stream encoding errors" in tool("qpdf", "--check", pdf), pdf
        info = pdfinfo(pdf)
        assert info["Page size"] == "612 x 792 pts (letter)" and info["Tagged"] == "yes", pdf
        assert info["Title"].endswith(" - Maple Hollow Spine & Pain Center"), pdf
        fonts = tool("pdffonts", pdf).splitlines()[2:]
        assert fonts and all(row.split()[-5] == "yes" for row in fonts), pdf
    assert "New " in pdf_text((small_warm_project / "output/handouts/prp-injection.pdf").read_bytes())


def test_handouts_laid_out_over_worker_processes_are_the_ones_one_process_makes(
    small_warm_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``build --workers 2``: the same bytes as the warm practice's one-process build, written
    and listed in the plan's order by this process, and no worker or font folder left."""
    import tempfile

    from handout_gen.handouts import Renderer, plan_handouts, write_handouts

    temp = tmp_path / "tmpdir"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the workers' WeasyPrint fonts go
    project = load_project(small_warm_project)
    stale, _ = plan_handouts(project, force=True)
    planned = [item for item in stale if item.procedure.slug == "prp-injection" and item.variant.lang == "en"]
    before = {item.target: item.target.read_bytes() for item in planned}
    for item in planned:
        item.target.unlink()
    seen: list[Path] = []
    written = write_handouts(project, planned, Renderer(project), seen.append, workers=2)
    assert written == seen == [item.target for item in planned] and len(written) == 2
    for target, data in before.items():
        assert target.read_bytes() == data, target.name
    assert build_handouts(load_project(small_warm_project)).written == []  # the manifest lists them
    assert list(temp.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_a_handouts_bytes_do_not_depend_on_what_the_process_wrote_before(rfa_pdf: Path) -> None:
    """qpdf's compression level is one setting per process: a packet saved at the fast level
    used to leave every handout written after it in the same process (check, the preview)
    compressed at that level, other bytes for the same input."""
    import pikepdf

    from handout_gen.render.saving import FAST_LEVEL, saved

    saved(pikepdf.new(), level=FAST_LEVEL)  # as a packet, a cached part or a print file is
    again = render_handout(load_project(FIXTURE), "radiofrequency-ablation", Variant())
    assert again == rfa_pdf.read_bytes()


def test_workers_are_one_per_core_this_process_may_use_and_never_more_than_jobs() -> None:
    from handout_gen.core.workers import worker_count

    cores = len(os.sched_getaffinity(0))
    assert worker_count(0, 100) == cores  # a container's CPU limit narrows the affinity, not cpu_count
    assert worker_count(0, 1) == 1 and worker_count(3, 2) == 2 and worker_count(5, 0) == 1


_INHERITED = [["made by the parent before the pool"]]


def _walked_by_the_collector() -> bool:
    import gc

    return any(o is _INHERITED[0] for o in gc.get_objects())


def test_a_worker_sets_what_it_inherited_aside_from_the_collector() -> None:
    """A worker's collections never walk the objects it inherited from the parent (they
    were most of a worker's time when forked from a large process): it holds them, but the
    collector does not look at them."""
    import gc

    from handout_gen.core.workers import WorkerPool

    frozen = gc.get_freeze_count()
    assert _walked_by_the_collector()  # here, in the parent, the collector does
    with WorkerPool(1, setup=lambda: None) as pool:
        assert pool.submit(_walked_by_the_collector).result() is False
    assert gc.get_freeze_count() == frozen  # the parent's collector is left as it was


@pytest.mark.slow
def test_ctrl_c_in_a_build_over_workers_stops_cleanly(
    small_project: Path, tmp_path: Path, process_group: list[int]
) -> None:
    """Ctrl-C at a terminal (the whole process group) while `handout-gen build` lays handouts
    out over two workers: exit 130 with one line, no traceback from any process, no worker or
    WeasyPrint font folder left, and the manifest lists exactly the handouts on disk (a
    rebuild makes only the rest)."""
    import json
    import signal
    import subprocess
    import sys

    temp = tmp_path / "tmpdir"
    temp.mkdir()
    command = [sys.executable, "-m", "handout_gen", "--project", str(small_project), "build",
               "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**os.environ, "TMPDIR": str(temp)})
    process_group.append(process.pid)
    assert process.stdout is not None
    first = process.stdout.readline()  # the first handout is written: the others are in flight
    assert first.startswith("wrote output/handouts/"), first
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr == ("Interrupted; finished files are kept, nothing half-written. Run it again to build "
                      "the rest: what is done is skipped.\n")
    assert live_group(process.pid) == [] and list(temp.iterdir()) == []
    out = small_project / "output" / "handouts"
    made = sorted(p.name for p in out.glob("*.pdf"))
    listed = json.loads((small_project / "output/.handout-gen/handouts.json").read_text())
    assert 1 <= len(made) < 8 and sorted(listed) == made and not list(out.glob(".tmp-*"))
    rest = build_handouts(load_project(small_project))
    assert len(rest.written) == 8 - len(made) and len(rest.skipped) == len(made)


def test_a_workers_error_arrives_whole(small_warm_project: Path) -> None:
    """A handout refused in a worker process is the error one process gives: file, line and
    character named, not the message cut into one "problem" per letter."""
    prp = small_warm_project / "content" / "procedures" / "prp-injection.md"
    lines = prp.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.startswith("## ")) + 2
    lines[at] = "Bring this card \ue000 to your visit.\n" + lines[at]
    prp.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ValidationFailed) as raised:
        build_handouts(load_project(small_warm_project), workers=2)
    (problem,) = {p for p in raised.value.problems}
    assert problem.source == "content/procedures/prp-injection.md" and problem.line == at + 1
    assert "U+E000" in problem.message and problem.rule == "pdf.glyphs"
    assert str(raised.value).startswith("1 problem in prp-injection")


def test_a_damaged_handout_is_made_again_and_never_read_back(small_warm_project: Path) -> None:
    """A handout cut short after the build (a full disk when copied, an editor's save): the
    next build makes it again, and nothing else; ``check`` renders it afresh meanwhile, since
    what it would read back is not what build wrote (pdfium raised on it)."""
    from handout_gen.checks.pdf import rendered_handouts

    damaged = small_warm_project / "output/handouts/prp-injection.es.pdf"
    damaged.write_bytes(damaged.read_bytes()[:20000])
    project = load_project(small_warm_project)
    (data,) = [data for procedure, variant, data in rendered_handouts(project)
               if variant.filename(procedure.slug) == damaged.name]
    assert data.endswith(b"%%EOF\n") and len(data) > 20000
    again = build_handouts(project)
    assert again.written == [damaged] and len(again.skipped) == 7
    assert "No syntax or stream encoding errors" in tool("qpdf", "--check", damaged)
    assert build_handouts(load_project(small_warm_project)).written == []


@pytest.fixture(scope="module")
def warm_pages(warm_practice: Path) -> dict[str, list[Page]]:
    """Every page of every handout the warm practice built, read once with pdfium, by file name."""
    pdfs = sorted((warm_practice / "output/handouts").glob("*.pdf"))
    assert len(pdfs) > 20
    return {pdf.name: list(pdf_pages(pdf.read_bytes())) for pdf in pdfs}


def test_no_text_runs_into_the_side_margins(warm_pages: dict[str, list[Page]]) -> None:
    """Every character of every handout lies in the text column (base.css.j2: 1.4 in side
    margins), read off the PDF: the stimulator trial's web address ran 10 pt past it, beside
    its QR code."""
    column = (1.4 * 72 - 1.5, (8.5 - 1.4) * 72 + 1.5)  # a "j" starting a line reaches 1 pt to the left
    outside = [(name, page.number, char.text)
               for name, pages in warm_pages.items() for page in pages for char in page.chars
               if char.text.strip() and not column[0] <= char.x0 <= char.x1 <= column[1]]
    assert outside == []


def test_no_page_between_the_first_and_the_last_holds_only_a_few_lines(
    warm_pages: dict[str, list[Page]],
) -> None:
    """What a page's text covers of its body (base.css.j2's margins), read off every middle
    page of every handout: at least a fifth. The Spanish large-print epidural's page 5 held
    only the QR code and its two lines (the closing and the language-help notice, kept
    together, did not fit under it); the emergency box now comes along to it."""
    from handout_gen.checks.pdf import BOTTOM_MARGIN_PT, TOP_MARGIN_PT, in_body

    thin, middle_pages = [], 0
    for name, pages in warm_pages.items():
        large = ".large" in name
        for page in pages[1:-1]:
            middle_pages += 1
            height = page.height - TOP_MARGIN_PT[large] - BOTTOM_MARGIN_PT[large]
            chars = [c for c in page.chars if c.text.strip() and in_body(c, page, large)]
            covered = (max(c.bottom for c in chars) - min(c.top for c in chars)) / height
            if covered < 0.2:
                thin.append((name, page.number, round(covered, 2)))
    assert middle_pages > 20
    assert thin == []


def test_a_moved_project_keeps_its_build(warm_project: Path) -> None:
    """Cache keys name files relative to the project: a copy built elsewhere rebuilds nothing."""
    report = build_handouts(load_project(warm_project))
    built = list((warm_project / "output/handouts").glob("*.pdf"))
    assert report.written == [] and len(report.skipped) == len(built) > 20


def test_adding_a_procedure_to_the_recipe_builds_only_its_handouts(small_warm_project: Path) -> None:
    """Which procedures, languages and sizes the recipe asks for is not part of a handout's key."""
    recipe = small_warm_project / "handouts/handouts.yaml"
    first = build_handouts(load_project(small_warm_project))
    assert first.written == [] and len(first.skipped) == 8
    added_slug = "procedures: [epidural-steroid-injection, "
    recipe.write_text(recipe.read_text().replace("procedures: [", added_slug))
    for pdf in (small_warm_project / "output/handouts").glob("epidural-steroid-injection*.pdf"):
        pdf.unlink()
    added = build_handouts(load_project(small_warm_project))
    assert sorted(p.name for p in added.written) == [
        "epidural-steroid-injection.es.large.pdf", "epidural-steroid-injection.es.pdf",
        "epidural-steroid-injection.large.pdf", "epidural-steroid-injection.pdf",
    ]
    assert len(added.skipped) == 8


def test_a_no_op_build_gates_only_what_it_would_write(
    small_warm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate (glyphs, links, images of a procedure's files) runs for procedures with a
    handout to write; an up-to-date handout passed it when it was written."""
    from handout_gen import build as build_module

    gated: list[str] = []
    real = build_module.procedure_problems

    def counting(project: Any, procedure: Any) -> Any:
        gated.append(procedure.slug)
        return real(project, procedure)

    monkeypatch.setattr(build_module, "procedure_problems", counting)
    assert build_module.build(load_project(small_warm_project)).handouts.written == []
    assert gated == []
    prp = small_warm_project / "content/procedures/prp-injection.md"
    prp.write_text(prp.read_text().replace("title: ", "title: New ", 1))
    assert len(build_module.build(load_project(small_warm_project)).handouts.written) == 4
    assert gated == ["prp-injection"]


@pytest.mark.slow
def test_a_reviewed_handout_says_when_and_by_whom_a_draft_that_it_is_not_yet(tmp_path: Path) -> None:
    """A draft says it has not been reviewed (footer and version line); once a clinician sets
    ``status: approved``, the same lines say when it was last reviewed and by whom."""
    root = copy_sample(tmp_path / "project")
    draft = " ".join(pdf_text(render_handout(load_project(root), "prp-injection", Variant())).split())
    assert "A draft of November 2, 2026, not yet reviewed by:" in draft and "last reviewed" not in draft
    source = root / "content/procedures/prp-injection.md"
    source.write_text(source.read_text(encoding="utf-8").replace("status: draft", "status: approved"),
                      encoding="utf-8")
    approved = " ".join(pdf_text(render_handout(load_project(root), "prp-injection", Variant())).split())
    assert "PRP-2026.2, last reviewed Nov 2, 2026" in approved
    assert "Last reviewed November 2, 2026 by:" in approved and "draft" not in approved.lower()


def test_a_phone_number_never_starts_a_line_apart_from_its_sentence(tmp_path: Path) -> None:
    """"call us at | 555-0100": the number keeps the word before it on its line (and page),
    also when it or the word is printed in an element of its own, at every width a line can
    break."""
    from handout_gen.render.pdf import PdfRenderer

    sentence = "If you have questions, call us {at_phone} before your next visit."
    paragraphs = "".join(
        f'<p style="width: {width}em">{sentence.format(at_phone=at_phone)}</p>'
        for width in range(8, 26)
        for at_phone in ("at 555-0100", "at <b>555-0100</b>", "<b>at</b> 555-0100")
    )
    html = f'<html lang="en"><head><title>t</title></head><body>{paragraphs}</body></html>'
    lines = pdf_lines(PdfRenderer(tmp_path).render(html, tmp_path)[0])
    assert sum("555-0100" in line for line in lines) == 54
    assert not [line for line in lines if line.startswith("555-0100")]
    # the widths do reach the break: at some, "at 555-0100" starts a line of its own
    assert [line for line in lines if line.startswith("at 555-0100")]



def key_points(count: int) -> list[str]:
    return [f"Key point number {n}, which a reader who stops at page one must know."
            for n in range(1, count + 1)]


def prp_list(root: Path, key: str, items: list[str]) -> list[str]:
    """Give the English PRP handout of the project at ``root`` ``items`` as its front-matter
    list ``key`` (``key_points``, ``aftercare``)."""
    path = root / "content/procedures/prp-injection.md"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{key}:\n") + 1
    end = text.index(re.search(r"^\S.*$", text[start + len(key) + 2 :], re.M)[0], start + 1)  # the next key
    path.write_text(text[:start] + f"{key}:\n" + "".join(f"  - {i}\n" for i in items) + text[end:],
                    encoding="utf-8")
    return items


@pytest.mark.slow
def test_a_list_that_goes_on_over_a_page_break_goes_on_under_its_heading(tmp_path: Path) -> None:
    """A "When to call us" list long enough to run over a page: the page it goes on to opens
    with "When to call us (continued)", a heading (H2) in the structure tree too, and every
    sign is printed once, in order. A Spanish edition says it in Spanish. Key points too
    many for page 1 go on in their box under "Key points (continued)"."""
    root = copy_sample(tmp_path / "project")
    signs = [f"Sign number {n} that you should call us about today." for n in range(1, 31)]
    for name in ("prp-injection.md", "prp-injection.es.md"):
        path = root / "content/procedures" / name
        text = path.read_text(encoding="utf-8")
        start = text.index("call_us_if:\n")
        end = text.index("go_to_er_if:", start)
        listed = "".join(f"  - {sign}\n" for sign in signs)
        path.write_text(text[:start] + "call_us_if:\n" + listed + text[end:], encoding="utf-8")
    points = prp_list(root, "key_points", key_points(12))
    project = load_project(root)
    for lang, again in (("en", "When to call us (continued)"), ("es", "Cuándo llamarnos (continuación)")):
        pdf = render_handout(project, "prp-injection", Variant(lang=lang))
        pages = [" ".join(" ".join(lines).split()) for lines in page_lines(pdf)]
        (at,) = [n for n, page in enumerate(pages) if again in page]
        assert pages[at].index(again) < pages[at].index("Sign number")  # atop the signs it goes on with
        assert sum(page.count("Sign number") for page in pages[:at]) > 1  # the list started before
        whole = " ".join(pages)
        assert [whole.index(sign) for sign in signs] == sorted(whole.index(sign) for sign in signs)
        assert all(whole.count(sign) == 1 for sign in signs)
        assert again in struct_headings(pdf)
        with pikepdf.open(io.BytesIO(pdf)) as document, document.open_outline() as outline:
            level, marks = list(outline.root), []
            while level:
                marks += [item.title for item in level]
                level = [child for item in level for child in item.children]
        assert marks and not [title for title in marks if again in title or "(contin" in title]  # one each
        if lang == "en":
            (at,) = [n for n, page in enumerate(pages) if "Key points (continued)" in page]
            assert at == 1 and "Key point number" in pages[0]
            assert pages[1].index("Key points (continued)") < pages[1].index("Key point number")
            assert [whole.count(point) for point in points] == [1] * len(points)


@pytest.mark.slow  # two renders of a handout laid out three times each
def test_only_the_layout_kept_lays_out_its_header_and_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handout whose lists go on over page breaks is laid out several times (each split,
    each moved break). Only the layout kept lays out the page margins, two boxes a page, and
    its bytes are those of a render that laid them out on every trial."""
    from weasyprint.layout import page as weasy_page

    import handout_gen.render.pdf as pdf_module

    root = copy_sample(tmp_path / "project")
    prp_list(root, "key_points", key_points(12))
    prp_list(root, "call_us_if", [f"Sign number {n} to call us about." for n in range(1, 31)])
    project = load_project(root)
    laid: list[Any] = []
    original = weasy_page.margin_box_content_layout
    monkeypatch.setattr(weasy_page, "margin_box_content_layout", lambda *a: laid.append(a) or original(*a))
    kept_only = render_handout(project, "prp-injection", Variant())
    margins_kept_only = len(laid)
    laid.clear()
    monkeypatch.setattr(pdf_module, "without_margins", lambda _html, lay_out: lay_out())
    every_trial = render_handout(project, "prp-injection", Variant())
    pages = len(PdfReader(io.BytesIO(kept_only)).pages)
    assert margins_kept_only == 2 * pages < len(laid)
    assert kept_only == every_trial
    assert all("555-0100" in page and "PRP-" in page for page in (" ".join(p) for p in page_lines(kept_only)))


def test_a_number_never_ends_a_line_apart_from_its_word(tmp_path: Path) -> None:
    """"heavier than 5" at a line's end and "pounds" on the next (or the next page) is a
    different instruction until the reader gets there: a number keeps the word after it.
    A word ending in digits does not chain ("step12 step13" still breaks)."""
    from handout_gen.render.pdf import PdfRenderer

    phrases = "".join(f"Lift no more than {n} pounds for {n + 1} weeks, then {n}:30 PM. "
                      for n in range(2, 40))
    steps = " ".join(f"step{n}" for n in range(60))
    html = f"""<html lang="en"><head><style>p {{ width: 170pt; font-size: 14pt; }}</style></head>
    <body><p>{phrases}</p><p>{steps}</p></body></html>"""
    renderer = PdfRenderer(tmp_path)
    lines = pdf_lines(renderer.write(renderer.paged(html, tmp_path)))
    ends = [line for line in lines if re.search(r"(?<![\w:])\d+$", line)]
    assert ends == [] and sum("step" in line for line in lines) > 3, lines


@pytest.mark.slow
def test_a_running_element_in_a_fixed_box_keeps_its_place_in_the_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeasyPrint lays out a page's fixed boxes between the margins of the pages around it, and
    a running element inside one changes which the footer of a later page shows (``last``): a
    document with fixed boxes (a template override may have them) keeps its margins in every
    trial layout, and prints what it printed before the trials held them back."""
    import handout_gen.render.pdf as pdf_module
    from handout_gen.render.pdf import PdfRenderer

    items = "".join(f"<li>Sign number {n} to call us about, to fill the line.</li>" for n in range(60))
    paragraphs = "".join(
        f"<p>Paragraph {n} {'some words of the paragraph ' * 12}"
        + (f'<span class="r">RUN{n}</span>' if n % 5 == 0 else "") + "</p>" for n in range(14))
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
    @page {{ size: letter; margin: 1in; @bottom-left {{ content: element(r, last); }} }}
    .r {{ position: running(r); }} .fix {{ position: fixed; top: 0; right: 0; }}
    </style></head><body><div class="fix">fixed <span class="r">FIXEDRUN</span></div>{paragraphs}
    <h2>When to call us</h2><ul data-continued="When to call us (continued)">{items}</ul></body></html>"""

    def render() -> bytes:
        renderer = PdfRenderer(tmp_path)
        return renderer.write(renderer.paged(html, tmp_path))

    held = render()
    monkeypatch.setattr(pdf_module, "without_margins", lambda _html, lay_out: lay_out())
    assert held == render()
    assert "When to call us (continued)" in pdf_text(held)  # laid out more than once


@pytest.mark.slow
def test_a_key_points_box_that_goes_on_ends_under_its_last_point(tmp_path: Path) -> None:
    """Twelve key points, too many for page 1 even above the summary (render/keypoints.py):
    the last three go on to page 2 together, in a box of their own under "Key points
    (continued)". Page 1's box ends under its last point, not shaded and empty
    down to the page's end (a box cut by a page break reaches it), which read as a box with
    nothing more to say. Read off the drawn page: the box is its filled rectangle."""
    import pdfplumber

    root = copy_sample(tmp_path / "project")
    prp_list(root, "key_points", key_points(12))
    data = render_handout(load_project(root), "prp-injection", Variant())
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        first, second = pdf.pages[:2]
        points = [w for w in first.extract_words() if w["text"] in ("Key", "know.")]
        top, bottom = min(w["top"] for w in points), max(w["bottom"] for w in points)
        filled = [r for r in first.rects if r["fill"] and r["top"] < top and r["bottom"] > bottom
                  and r["bottom"] < first.height - 72]  # not the page's own background
        box = max(filled, key=lambda r: r["height"])
        assert box["bottom"] - bottom < 24  # the box's padding and border under the last line (8 + 2 pt)
        text = " ".join(second.extract_text().split())
        assert text.index("Key points (continued)") < text.index("Key point number 10,")
    assert "Key point number 9," in " ".join(page_lines(data)[0])


def test_a_boxs_list_goes_on_in_a_copy_of_its_box() -> None:
    """The box a list goes on in copies the first one's tag (its classes and attributes, with
    class "continued" and without the id only one element may have); a list that does not end
    its box goes on in it (closing the box there would cut what follows the list out of it)."""
    from handout_gen.render.continued import _split, _stamped

    html = ('<aside id="kp" class="box" aria-label="Key"><h2>Key</h2><ul data-continued="Key (continued)" '
            "data-continued-box><li>a</li><li>b</li></ul>\n</aside>")
    stamped, lists = _stamped(html)
    assert lists["0"].box == '<aside class="box continued" aria-label="Key">'
    split = _split(stamped, "0.1", lists["0"])
    assert split.count("<aside") == split.count("</aside>") == 2
    assert split.index("</aside>") < split.index('<aside class="box continued"') < split.index(
        '<h2 class="continued">Key (continued)</h2>') < split.index(">b</li>")
    _, lists = _stamped(html.replace("</ul>\n</aside>", "</ul><p>more</p></aside>"))
    assert lists["0"].box == ""


@pytest.mark.slow
def test_the_after_hours_number_stays_with_the_signs_to_call_about(tmp_path: Path) -> None:
    """Four signs to call about: the list ended at the foot of page 2 and the line under it,
    "After hours, call 555-0199.", atop page 3, away from what it is the number for. It goes
    with the list's last two signs (here with no "(continued)" heading: that would cost a
    page)."""
    root = copy_sample(tmp_path / "project")
    signs = prp_list(root, "call_us_if", [f"Sign number {n} to call us about today." for n in range(1, 5)])
    pages = [" ".join(" ".join(lines).split()).split("awaiting clinical review ", 1)[1]  # under the header
             for lines in page_lines(render_handout(load_project(root), "prp-injection", Variant()))]
    holding = [n for n, page in enumerate(pages) if any(sign in page for sign in signs)]
    assert len(holding) == 2  # the list does go on over a page break: the case this is about
    page = pages[holding[-1]]
    assert page.index(signs[-2]) < page.index(signs[-1]) < page.rindex("After hours, call 555-0199.")


def test_a_heading_that_would_cost_a_page_is_left_out_and_later_lists_get_theirs() -> None:
    """Two lists that go on over a page break, in a document of fixed heights (points) laid
    out by WeasyPrint: list A's heading (40 pt) atop page 2 would push page 2's unbreakable
    block onto page 3 and the end onto a fifth page, so A goes on without it; list B, going
    on atop the last page, which has room for a heading, still gets "B (continued)"."""
    from weasyprint import HTML

    from handout_gen.render.continued import with_continued_headings

    def items(name: str, count: int, height: int) -> str:
        return "".join(f'<li><div style="height: {height}pt">{name}{n}</div></li>' for n in range(count))

    html = f"""<html><head><style>
    @page {{ size: 300pt 400pt; margin: 50pt }}
    body {{ margin: 0; font-size: 10pt; line-height: 1 }}
    ul {{ margin: 0; padding: 0; list-style: none }} li {{ break-inside: avoid }}
    h2 {{ margin: 0; height: 40pt; font-size: 10pt }} h2.continued {{ break-before: page }}
    </style></head><body>
    <ul data-continued="A (continued)">{items("A", 5, 80)}</ul>
    <div style="height: 120pt; break-inside: avoid">block</div><p style="margin: 0">gap</p>
    <ul data-continued="B (continued)">{items("B", 6, 58)}</ul>
    <div style="height: 190pt; break-inside: avoid">end</div>
    </body></html>"""
    # As laid out: A0-A2 | A3 A4 block (20 pt to spare) | gap B0-B4 | B5 end (52 pt to spare).
    document = with_continued_headings(html, lambda text: HTML(string=text).render())
    pages = [" ".join(pdf_text(document.copy([page]).write_pdf()).split()) for page in document.pages]
    assert pages == ["A0 A1 A2", "A3 A4 block", "gap B0 B1 B2 B3 B4", "B (continued) B5 end"]


@pytest.mark.slow
def test_the_aftercare_checklist_goes_on_under_its_sections_heading(tmp_path: Path) -> None:
    """The aftercare checklist printed under "After your visit" goes on over a page break
    under "After your visit (continued)", every step once, in order."""
    root = copy_sample(tmp_path / "project")
    # 24 steps: enough to go on over a page break, with room for the heading on the next page
    # (with 30, the heading would add a page and is left out: test_a_heading_that_would_cost...)
    steps = prp_list(root, "aftercare", [f"Aftercare step number {n}, then rest, ice and watch the spot."
                                         for n in range(1, 25)])
    pages = [" ".join(" ".join(lines).split()) for lines in page_lines(
        render_handout(load_project(root), "prp-injection", Variant()))]
    (at,) = [n for n, page in enumerate(pages) if "After your visit (continued)" in page]
    assert pages[at].index("After your visit (continued)") < pages[at].index("Aftercare step number")
    assert "Aftercare step number" in pages[at - 1]
    whole = " ".join(pages)
    assert [whole.index(step) for step in steps] == sorted(whole.index(step) for step in steps)
    assert all(whole.count(step) == 1 for step in steps)


def test_continued_marks_only_a_sections_own_flat_bulleted_lists() -> None:
    """The ``continued`` filter marks each bulleted list of a section's Markdown that holds no
    other list (a nested list's items would be counted as the outer one's), escaping the words;
    HTML not already marked safe is escaped, never passed through."""
    from markupsafe import Markup

    from handout_gen.content.markdown import render_markdown
    from handout_gen.render.continued import ATTR, mark_lists

    markdown = "- one\n- two\n\ntext\n\n- outer\n  - inner\n\n1. first\n2. second\n"
    html = Markup(render_markdown(markdown))  # noqa: S704 - nh3-cleaned, as the template's section.html
    marked = str(mark_lists(html, 'Before "your" visit (continued)'))
    assert marked.count(ATTR) == 1
    assert marked.startswith('<ul data-continued="Before &#34;your&#34; visit (continued)">')
    assert str(mark_lists("<ul><li>x</li></ul>", "h")) == "&lt;ul&gt;&lt;li&gt;x&lt;/li&gt;&lt;/ul&gt;"


@pytest.mark.slow
def test_a_last_page_never_holds_the_language_help_notice_alone(tmp_path: Path) -> None:
    """A handout whose language-help notice would fall alone on its last page (however much
    of the page its lines take) moves the closing lines before it onto that page too: a page
    of the notice alone reads as a page left over. No page is added."""
    import weasyprint

    from handout_gen.render.pdf import PdfRenderer

    notice = ('<aside class="language-help" style="break-inside: avoid">'
              + "<p>Free help in your language: we can give you an interpreter. Call 555-0100.</p>" * 16
              + "</aside>")

    def page(n: int) -> str:
        body = "".join(f"<section><h2>Part {i}</h2><p>{'Plain words for a patient. ' * 12}</p></section>"
                       for i in range(n))
        return (f'<html lang="en"><head><title>t</title><style>@page {{ size: letter; margin: 1in }}</style>'
                f'</head><body><main>{body}<div class="closing"><p>This handout gives general '
                f"information.</p></div>{notice}</main></body></html>")

    def alone(pdf: bytes) -> bool:
        return page_lines(pdf)[-1][0].startswith("Free help")

    from handout_gen.render.pagefill import notice_only

    cases = [n for n in range(4, 16) if notice_only(weasyprint.HTML(string=page(n)).render().pages[-1])]
    assert cases, "no document of these sizes ends on a page of the notice alone"
    renderer = PdfRenderer(tmp_path)
    for n in cases[:2]:
        before = weasyprint.HTML(string=page(n)).write_pdf()
        after, _ = renderer.render(page(n), tmp_path)
        assert len(PdfReader(io.BytesIO(after)).pages) == len(PdfReader(io.BytesIO(before)).pages), n
        assert alone(before) and not alone(after), n
