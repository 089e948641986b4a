"""Cover letters composed from blocks (letters.py): reuse, isolation, page flow, links.

Real WeasyPrint layouts and pikepdf composition, read back with pypdf and pdfplumber.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pdfplumber
import pikepdf
import pytest

from handout_gen.checks.pdfchars import pdf_pages
from handout_gen.checks.tagged import pdfua_problems
from handout_gen.content.project import load_project
from handout_gen.packets.kit import load_kit
from handout_gen.packets.packet import PacketMaker
from handout_gen.packets.patient import PatientRow
from handout_gen.packets.roster import rows_from

from .conftest import copy_sample
from .pdfutil import page_lines, pdf_text, struct_texts

TODAY = date(2026, 11, 24)
BASE = {
    "procedures": "epidural-steroid-injection",
    "date": "2026-12-09",
    "time": "09:30",
    "location": "orchard",
    "physician": "okafor",
    "language": "en",
}


@pytest.fixture(scope="session")  # once per xdist worker: tests of several modules interleave
def worker(tmp_path_factory: pytest.TempPathFactory) -> PacketMaker:
    project = load_project(copy_sample(tmp_path_factory.mktemp("letters") / "project"))
    return PacketMaker(load_kit(project), TODAY)  # no disk cache: everything rendered here


def make_rows(worker: PacketMaker, *specs: dict[str, str]) -> list[PatientRow]:
    catalog = worker.kit.catalog(TODAY)
    return rows_from([{**BASE, **spec} for spec in specs], catalog)


def letters(worker: PacketMaker, rows: list[PatientRow]) -> tuple[bytes, list[int]]:
    """The composed letters of ``rows`` as PDF bytes, and each letter's first page."""
    pdf, starts, warnings, _ = worker.press.letters([(row, row.language) for row in rows])
    assert warnings == []
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue(), starts


def page_texts(data: bytes) -> list[str]:
    return [" ".join(" ".join(lines).split()) for lines in page_lines(data)]


@pytest.mark.slow
def test_each_distinct_block_is_laid_out_once(tmp_path: Path) -> None:
    """Same appointment slot: after the first batch, only each new patient's greeting is new."""
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    first = make_rows(worker, *({"first_name": f"Anya{i}", "last_name": "Quist"} for i in range(6)))
    before = worker.press.laid_out
    letters(worker, first)
    shared = worker.press.laid_out - before - len(first)
    # heading, intro, procedure, date, time, place, sign-off..., and the times section with
    # its one line (the time to call if still numb)
    assert 5 <= shared <= 13
    second = make_rows(worker, *({"first_name": f"Bela{i}", "last_name": "Quist"} for i in range(6)))
    before = worker.press.laid_out
    letters(worker, second)
    assert worker.press.laid_out - before == len(second)  # greetings only
    later = make_rows(
        worker, *({"first_name": f"Cyd{i}", "last_name": "Quist", "time": "14:45"} for i in range(3))
    )
    before = worker.press.laid_out
    data, _ = letters(worker, later)
    assert worker.press.laid_out - before == len(later) + 2  # the new time, and when to call if still numb
    assert "Appointment time: 2:45 PM" in pdf_text(data)


def test_letter_reads_in_order_on_one_page(worker: PacketMaker) -> None:
    (row,) = make_rows(worker, {"first_name": "Odile", "last_name": "Marchetti", "patient_id": "MRN-77"})
    data, starts = letters(worker, [row])
    texts = page_texts(data)
    assert starts == [0] and len(texts) == 1
    text = texts[0]
    order = [
        "Maple Hollow Spine & Pain Center",
        "Your appointment",
        "Your reference: MRN-77",
        "Dear Odile Marchetti,",
        "We look forward to seeing you.",
        "Your procedure: Epidural Steroid Injection",
        "Date: Wednesday, December 9, 2026",
        "Appointment time: 9:30 AM",
        "Please arrive by: 9:00 AM",
        "Questions or need to change the time? Call 555-0101",  # under the time it is about
        "Where: Orchard Way Clinic",
        "Your doctor: Adaeze Okafor, MD",
        "www.example.org/locations/orchard",  # the map code after the details it may not part
        "Your care team at Maple Hollow",
    ]
    positions = [text.find(phrase) for phrase in order]
    assert -1 not in positions, [p for p, at in zip(order, positions, strict=True) if at < 0]
    assert positions == sorted(positions), text


def test_in_large_print_the_doctor_and_the_number_to_call_stay_on_page_one(worker: PacketMaker) -> None:
    """Large print, a sedated patient on a blood thinner (radiofrequency, neck): page 1 has no
    room left for the map code; the doctor and the number to call for questions come before
    it and stay on page 1 with the appointment (they started page 2, with the map code)."""
    (row,) = make_rows(worker, {"first_name": "Theo", "last_name": "Ash", "large_print": "yes",
                                "procedures": "radiofrequency-ablation:cervical", "sedation": "yes"})
    first, *rest = page_texts(letters(worker, [row])[0])
    assert "Where: Orchard Way Clinic" in first and "Your doctor: Adaeze Okafor, MD" in first
    assert "Questions or need to change the time? Call 555-0101" in first
    assert rest and "www.example.org/locations/orchard" not in first  # the case this is about


def test_a_first_visit_is_a_visit_not_a_procedure(worker: PacketMaker) -> None:
    """The overview (kind: overview, a first talk and exam, most often no shot) is "Your
    visit"; anything with a procedure in it stays "Your procedure"."""
    first, both = make_rows(
        worker,
        {"first_name": "Fern", "last_name": "Firstvisit", "procedures": "interventional-pain-care"},
        {"first_name": "Gus", "last_name": "Both", "procedures": "interventional-pain-care;prp-injection"},
    )
    data, starts = letters(worker, [first, both])
    texts = page_texts(data)
    first_text, both_text = " ".join(texts[: starts[1]]), " ".join(texts[starts[1]:])
    assert "Your visit: Interventional Pain Care" in first_text and "Your procedure" not in first_text
    assert "Your procedure: Interventional Pain Care and Platelet-Rich Plasma (PRP) Injection" in both_text


@pytest.mark.parametrize(("locale", "items", "said"), [
    ("en_US", "AB", "A and B"), ("es_US", "ABC", "A, B y C"), ("zh", "ABC", "A、B和C"), ("ar", "AB", "A وB")])
def test_a_list_in_a_sentence_is_joined_as_its_language_joins_it(locale: str, items: str, said: str) -> None:
    """The letter's procedures: never an English comma in a Chinese or Arabic sentence."""
    from handout_gen.render.jinja import make_env

    assert make_env().from_string("{{ items|and_list }}").render(items=list(items), locale=locale) == said


def test_a_title_marked_as_another_language_stays_marked_in_the_list() -> None:
    """An untranslated procedure's title is marked as English inside a Chinese sentence (so a
    screen reader speaks it in English); the other items are still escaped."""
    from markupsafe import Markup

    from handout_gen.render.jinja import make_env

    items = [Markup('<span lang="en" dir="ltr">{}</span>').format("A & B"), "<C>"]
    said = make_env().from_string("{{ items|and_list }}").render(items=items, locale="zh")
    assert said == '<span lang="en" dir="ltr">A &amp; B</span>和&lt;C&gt;'


def _words_overlap(words: list[dict[str, Any]]) -> list[tuple[str, str]]:
    clashes = []
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            if (
                a["x0"] < b["x1"] - 0.5
                and b["x0"] < a["x1"] - 0.5
                and a["top"] < b["bottom"] - 0.5
                and b["top"] < a["bottom"] - 0.5
            ):
                clashes.append((a["text"], b["text"]))
    return clashes


@pytest.mark.slow
def test_long_instructions_flow_onto_more_pages_and_nothing_overlaps(worker: PacketMaker) -> None:
    """Large print, Spanish, the longest instructions a roster allows: the box is taller
    than a page, so WeasyPrint breaks it and each piece starts a page of its own."""
    stop = " ".join(f"paso{i}" for i in range(57))  # about 400 characters: the most a cell holds
    restart = " ".join(f"reinicio{i}" for i in range(37))
    assert len(stop) <= 400 and len(restart) <= 400
    (row,) = make_rows(
        worker,
        {
            "first_name": "Maximiliana Guadalupe",
            "last_name": "de la Concepción Villaseñor-Etxeberria",
            "language": "es",
            "large_print": "yes",
            "blood_thinner": "yes",
            "blood_thinner_name": "Zapixaban (ficticio)",
            "blood_thinner_stop": stop,
            "blood_thinner_restart": restart,
        },
    )
    data, _ = letters(worker, [row])
    text = " ".join(page_texts(data))
    # nothing lost, nothing out of order (page footers and headers come in between)
    tokens = [t for t in text.split() if t.startswith(("paso", "reinicio"))]
    assert tokens == [*stop.split(), *restart.split()]
    # and so in the packet's structure tree, the box (an Aside) over its pages
    (made,) = worker.make([row])
    tree = " ".join(struct_texts(made.data)).split()
    assert [t for t in tree if t.startswith(("paso", "reinicio"))] == tokens
    assert pdfua_problems(made.data) == []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) >= 3
        for page in pdf.pages:
            words = page.extract_words()
            assert words and _words_overlap(words) == []
            assert all(
                w["x0"] >= 0 and w["x1"] <= page.width and w["top"] >= 0 and w["bottom"] <= page.height
                for w in words
            )
            assert "Maple Hollow Spine & Pain Center" in " ".join(
                w["text"] for w in words
            )  # header on every page


def _forms(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    return [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Form"]


def _form_text(form: pikepdf.Object) -> str:
    """The text a Form XObject would show if drawn on its own (drawn or not in its file)."""
    alone = pikepdf.new()
    page = alone.add_blank_page(page_size=(612, 792))
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(F=alone.copy_foreign(form)))
    page.obj.Contents = alone.make_stream(b"q /F Do Q")
    buffer = io.BytesIO()
    alone.save(buffer)
    return pdf_text(buffer.getvalue())


@pytest.mark.slow
@pytest.mark.parametrize("css", ["", ".greeting { opacity: 0.99; }"])
def test_no_form_in_a_packet_holds_another_patients_text(tmp_path: Path, css: str) -> None:
    """Every page and Form XObject in every packet, drawn or not, holds only its own patient's name.

    The opacity rule makes WeasyPrint draw each greeting as a transparency group, an object
    in the resource list its document shares among all pages.
    """
    project_dir = copy_sample(tmp_path / "project")
    (project_dir / "templates").mkdir(exist_ok=True)
    (project_dir / "templates/packet_cover.html.j2").write_text(
        '{% extends "default:packet_cover.html.j2" %}{% block extra_css %}' + css + "{% endblock %}"
    )
    worker = PacketMaker(load_kit(load_project(project_dir)), TODAY)
    names = [("Ingrid", "Sorensen"), ("Kwame", "Asante"), ("Lucía", "Ferrándiz"), ("Tobias", "Wren")]
    rows = make_rows(
        worker,
        *(
            {"first_name": first, "last_name": last, "patient_id": f"ID-{first.upper()}"}
            | (
                {
                    "blood_thinner": "yes",
                    "blood_thinner_name": "Zapixaban (sample)",
                    "blood_thinner_stop": f"Stop note for {first}",
                    "blood_thinner_restart": "Restart note",
                }
                if i % 2
                else {}
            )
            for i, (first, last) in enumerate(names)
        ),
    )
    packets = worker.make(rows)
    assert len(packets) == len(names)
    for made in packets:
        row, data = made.row, made.data
        pdf = pikepdf.open(io.BytesIO(data))
        seen = " ".join([pdf_text(data), *(_form_text(form) for form in _forms(pdf))])
        assert f"{row.first_name} {row.last_name}" in seen
        tree = " ".join(struct_texts(data))  # the structure tree reads the same letter
        assert f"Dear {row.first_name} {row.last_name}," in tree and pdfua_problems(data) == []
        for first, last in names:
            if first != row.first_name:
                assert first not in seen and last not in seen and f"ID-{first.upper()}" not in seen
                assert f"Stop note for {first}" not in pdf_text(data)
                assert first not in tree and last not in tree and f"Stop note for {first}" not in tree


def test_map_link_stays_clickable(worker: PacketMaker) -> None:
    (row,) = make_rows(worker, {"first_name": "Petra", "last_name": "Lindgren", "location": "riverside"})
    data, _ = letters(worker, [row])
    pdf = pikepdf.open(io.BytesIO(data))
    links = [a for a in pdf.pages[0].obj.get("/Annots", []) if a.get("/Subtype") == "/Link"]
    assert [str(a.A.URI) for a in links] == ["https://www.example.org/locations/riverside"]
    x1, y1, x2, y2 = (float(v) for v in links[0].Rect)
    assert x1 < x2 and y1 < y2  # normalised: lower left, upper right
    with pdfplumber.open(io.BytesIO(data)) as plumber:
        page = plumber.pages[0]
        (url,) = [
            w for w in page.extract_words() if w["text"].startswith("www.example.org/locations/riv")
        ]
    # pdfplumber measures from the top; link rectangles from the bottom
    middle_x, middle_y = (url["x0"] + url["x1"]) / 2, page.height - (url["top"] + url["bottom"]) / 2
    assert x1 <= middle_x <= x2 and y1 <= middle_y <= y2


def test_text_outside_the_blocks_is_an_error_not_a_loss(tmp_path: Path) -> None:
    """A stray closing tag in a customised letter pushes text out of its block: refuse."""
    import handout_gen
    from handout_gen.core.errors import RenderError

    project_dir = copy_sample(tmp_path / "project")
    (project_dir / "templates").mkdir(exist_ok=True)
    builtin = Path(handout_gen.__file__).parent / "templates/packet_letter.html.j2"
    text = builtin.read_text().replace("<p>{{ t.letter_intro }}</p>", "</div><p>{{ t.letter_intro }}</p>")
    (project_dir / "templates/packet_letter.html.j2").write_text(text)
    worker = PacketMaker(load_kit(load_project(project_dir)), TODAY)
    rows = make_rows(worker, {"first_name": "Ada", "last_name": "Byrne"})
    with pytest.raises(RenderError, match="content outside its blocks"):
        worker.press.letters([(rows[0], "en")])


def test_a_chunk_of_both_print_sizes_gets_both_right(tmp_path: Path) -> None:
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    rows = make_rows(
        worker,
        {"first_name": "Large", "last_name": "Print", "large_print": "yes"},
        {"first_name": "Standard", "last_name": "Print"},
    )
    data, starts = letters(worker, rows)
    pages = list(pdf_pages(data))
    for first, name, size in ((starts[0], "Large", 18), (starts[1], "Standard", 14)):
        chars = pages[first].chars
        text = "".join(c.text for c in chars)  # one character each: the greeting's first is its index
        assert round(chars[text.index(name)].size) == size, name


@pytest.mark.slow
def test_a_batch_of_every_language_and_print_size_is_laid_out_in_two_documents(tmp_path: Path) -> None:
    """Blocks carry their own language and print size: one document for the blocks letters
    share, one for the rest, whatever the mix (each document costs ~15 ms to set up)."""
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    mix = [
        {"language": lang, "large_print": large, "last_name": f"Mix{lang}{large}{n}"}
        for lang in ("es", "en")
        for large in ("yes", "no")
        for n in range(2)
    ]
    rows = make_rows(worker, *({"first_name": "Zed", **spec} for spec in mix))
    before = worker.press.documents
    data, starts = letters(worker, rows)
    assert worker.press.documents - before == 2
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for row, first in zip(rows, starts, strict=True):
            page = pdf.pages[first]
            text = " ".join((page.extract_text() or "").split())
            assert ("Hola, Zed" in text) is (row.language == "es"), row.last_name
            name = next(w for w in page.extract_words(extra_attrs=["size"]) if w["text"].startswith("Mix"))
            assert round(name["size"]) == (18 if row.large_print else 14), row.last_name


@pytest.mark.slow
def test_font_subsets_in_a_packet_have_names_of_their_own(worker: PacketMaker) -> None:
    """A packet merges font subsets from several documents; one name, one subset."""
    import hashlib

    rows = make_rows(worker, {"first_name": "Sunniva", "last_name": "Halvorsen", "large_print": "yes"})
    (made,) = worker.make(rows)
    data = made.data
    subsets: dict[str, set[str]] = {}
    pdf = pikepdf.open(io.BytesIO(data))
    for font in pdf.objects:
        if isinstance(font, pikepdf.Dictionary) and font.get("/Subtype") == "/Type0":
            (cid,) = font.DescendantFonts
            assert cid.BaseFont == font.BaseFont == cid.FontDescriptor.FontName
            descriptor = cid.FontDescriptor  # TrueType (FontFile2) or CFF (FontFile3: Noto CJK)
            file = (descriptor.get("/FontFile2") or descriptor.FontFile3).read_raw_bytes()
            subsets.setdefault(str(font.BaseFont), set()).add(hashlib.sha256(file).hexdigest())
    assert len(subsets) >= 3  # cover, handout and closing pages: different glyphs
    assert all(len(files) == 1 for files in subsets.values()), subsets


@pytest.mark.slow  # lays out a batch of letters per case: not for the edit-test loop
def test_the_number_to_call_keeps_the_words_that_say_to_call_it(tmp_path: Path) -> None:
    """Spanish large print breaks "¿Preguntas o necesita cambiar la hora? Llame al 555-0102"
    in its last words: "Llame al" goes down with the number, never "al 555-0102" under "Llame"."""
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    specs = ({"first_name": "Ines", "last_name": "Vale", "language": lang, "location": where,
              "large_print": "yes"} for lang in ("es", "en") for where in ("orchard", "riverside"))
    rows = make_rows(worker, *specs)
    data, _ = letters(worker, rows)
    lines = [line for page in page_lines(data) for line in page]
    numbers = [line for line in lines if re.search(r"555-010[12]$", line)]
    said = [line for line in numbers if re.search(r"(Llame al|Call) 555-010[12]$", line)]
    assert len(numbers) == 4 and said == numbers, numbers
    assert any(line.startswith("Llame al 555") for line in lines)  # the case arose: it wrapped whole


def test_a_number_in_running_text_keeps_the_words_that_say_to_call_it() -> None:
    """The language-help lines hold their numbers in the text: the same rule as the letter's
    label (call_words), by non-breaking spaces; in a script without spaces, by word joiners
    between the two characters of the verb ("致电") and a non-breaking space to the number."""
    from handout_gen.render.jinja import call_words, number_kept

    spanish = "Documentos sin costo. Llame al 555-0100."
    assert number_kept(spanish) == "Documentos sin costo. Llame\u00a0al\u00a0555-0100."
    assert number_kept("Free help. Call 555-0100.") == "Free help. Call\u00a0555-0100."
    assert number_kept("文件。请致电 555-0100。") == "文件。请致\u2060电\u00a0555-0100。"
    assert number_kept("No number") == "No number"
    assert call_words("Questions? Call") == ("Questions? ", "Call")
    assert call_words("Llame al") == ("", "Llame al")
    assert call_words("请致电") == ("请", "致电") and call_words("Llámenos") == ("Llámenos", "")


@pytest.mark.slow
def test_a_zip_code_never_wraps_onto_a_line_of_its_own(tmp_path: Path) -> None:
    """Addresses of 26 lengths in large print (where the line breaks inside "Cedar Falls, OH
    45000" for a third of them): the state goes down with its ZIP code, never the ZIP alone."""
    root = copy_sample(tmp_path / "project")
    practice = root / "content/practice.yaml"
    text = practice.read_text(encoding="utf-8")
    clinic = text[text.index("  - id: orchard") : text.index("  - id: riverside")]
    streets = [f"400 Orchard Way, Building {'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[:k]}" for k in range(1, 27)]
    extra = "".join(
        clinic.replace("id: orchard", f"id: annex{k}").replace("400 Orchard Way, Suite 210", street)
        for k, street in enumerate(streets)
    )
    practice.write_text(text.replace("  - id: riverside", extra + "  - id: riverside"), encoding="utf-8")
    worker = PacketMaker(load_kit(load_project(root)), TODAY)
    rows = make_rows(
        worker,
        *(
            {"first_name": "Ines", "last_name": f"Vale{k}", "location": f"annex{k}", "large_print": "yes"}
            for k in range(len(streets))
        ),
    )
    data, _ = letters(worker, rows)
    lines = [line for page in page_lines(data) for line in page]
    assert not [line for line in lines if line.startswith("45000")]
    assert any(line.startswith("OH 45000") for line in lines)  # the case arose: it wrapped whole


@pytest.mark.slow  # lays out 21 large-print letters
def test_a_day_in_the_clinicians_words_never_breaks_from_its_month(worker: PacketMaker) -> None:
    """The stop plan of 20 lengths in large print (where the line breaks between "December" and
    "4." for some): the day number goes down with its month ("4 de diciembre" too)."""
    thinner = {"blood_thinner": "yes", "blood_thinner_name": "Zapixaban (sample)", "large_print": "yes",
               "blood_thinner_restart": "Start again on the morning of December 10."}
    rows = make_rows(worker, *(
        {**thinner, "first_name": "Ines", "last_name": f"Vale{k}",
         "blood_thinner_stop": f"{'Please ' * k}take your last dose on the evening of December 4."}
        for k in range(20)
    ), {**thinner, "first_name": "Rosa", "last_name": "Vale", "language": "es",
        "blood_thinner_stop": "Tome la última dosis en la noche del viernes 4 de diciembre, con la cena."})
    data, _ = letters(worker, rows)
    lines = [line for page in page_lines(data) for line in page]
    assert not [line for line in lines if line.endswith(("December", " 4", " 4 de"))]
    assert not [line for line in lines if line.startswith(("4.", "de diciembre"))]
    assert any(line.startswith("December 4.") for line in lines)  # the case arose: it wrapped whole


@pytest.mark.slow  # lays out a batch of letters per case: not for the edit-test loop
def test_each_letter_in_a_mixed_batch_reads_in_its_own_direction(tmp_path: Path) -> None:
    """Arabic and Chinese letters laid out in one batch, whichever comes first: the Arabic
    heading ends at the right margin, the Chinese one starts at the left, and the Arabic
    letter's clinic address and map address read left to right (not "..., 210 ... 400")."""
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    headings = {"ar": "موعدك", "zh": "您的预约"}
    for order in (("ar", "zh"), ("zh", "ar")):
        specs = [{"language": lang, "large_print": large, "first_name": "Zed",
                  "last_name": f"Dir{lang}{large}"} for lang in order for large in ("no", "yes")]
        rows = make_rows(worker, *specs)
        data, starts = letters(worker, rows)
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for row, first, end in zip(rows, starts, [*starts[1:], len(pdf.pages)], strict=True):
                page = pdf.pages[first]
                heading = [c for c in page.chars if c["text"] in headings[row.language] and c["top"] < 120]
                where = (row.language, row.large_print, order)
                if row.language == "ar":
                    assert min(c["x0"] for c in heading) > page.width / 2, where  # flush right
                    pages = pdf.pages[first:end]
                    text = " ".join(" ".join((p.extract_text(y_tolerance=9) or "").split()) for p in pages)
                    assert "Orchard Way Clinic, 400 Orchard Way, Suite 210," in text, where
                    assert "orchard/ar/" in text and "/https" not in text, where
                else:
                    assert min(c["x0"] for c in heading) < page.width / 4, where  # flush left


@pytest.mark.slow  # lays out a batch of letters
def test_a_latin_letter_after_chinese_and_arabic_ones_keeps_its_fonts_and_brackets(tmp_path: Path) -> None:
    """A batch's blocks share a document whose first block's language set the fonts: an
    English letter after a Chinese one was set in the Chinese font, and after an Arabic one
    (whose brackets are drawn mirrored) its text said "12:00 PM )noon(" to a screen reader.
    Each block now takes its own language's fonts, and a glyph its own character."""
    worker = PacketMaker(load_kit(load_project(copy_sample(tmp_path / "project"))), TODAY)
    rows = make_rows(
        worker,
        {"language": "zh", "first_name": "秀英", "last_name": "王"},
        {"language": "ar", "first_name": "Zed", "last_name": "Dirar", "time": "12:00"},
        {"language": "en", "first_name": "Ann", "last_name": "Latin", "time": "12:00"},
    )
    data, starts = letters(worker, rows)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        chars = pdf.pages[starts[2]].chars
        latin = [c["fontname"] for c in chars if c["text"].isascii() and c["text"].isalpha()]
    assert latin and all("Atkinson" in name for name in latin), set(latin)
    assert "12:00 PM (noon)" in page_texts(data)[starts[2]]


@pytest.mark.slow
def test_a_chinese_letter_greets_the_family_name_first(worker: PacketMaker) -> None:
    """languages.yaml says Chinese writes the family name first: "王秀英" (no space between
    names in Chinese script), "Wang Xiuying" in Latin letters; English keeps given-first."""
    rows = make_rows(
        worker,
        {"language": "zh", "first_name": "秀英", "last_name": "王"},
        {"language": "zh", "first_name": "Xiuying", "last_name": "Wang"},
        {"language": "en", "first_name": "Xiuying", "last_name": "Wang"},
    )
    data, starts = letters(worker, rows)
    texts = [" ".join(page.split()) for page in page_texts(data)]
    assert "王秀英，您好" in texts[starts[0]].replace(" ", "")
    assert "Wang Xiuying，您好" in texts[starts[1]]
    assert "Dear Xiuying Wang," in texts[starts[2]]
    # and each label ends as its language writes it (languages.yaml's colon): "日期：" in
    # Chinese, never an ASCII colon; "Date: " in English
    chinese, english = texts[starts[0]], texts[starts[2]]
    assert all(f"{label}：" in chinese for label in ("日期", "预约时间", "地点", "您的医生")), chinese
    assert not re.search(r"[\u4e00-\u9fff]:", chinese), chinese
    assert "Date: " in english and "Your doctor: " in english


def chained_pages(
    names: list[str], heights: list[float], glue: list[str], letter_blocks: int | None = None
) -> list[list[str]]:
    """The names of the blocks on each page, as the letter stacks blocks of these heights
    (CSS px) on a 700 px page; a "continued" block repeats the heading before it. With
    ``letter_blocks`` (the blocks before the checklist), the whole of ``paginate``: the
    sign-off and the letter's last page are placed too."""
    from handout_gen.packets.letterpages import Piece, Stationery, _paginate, _repeated_headings, paginate

    blocks = [[Piece(marked=name, top=0.0, height=height, page_height=0.0)]  # type: ignore[arg-type]
              for name, height in zip(names, heights, strict=True)]
    page = Stationery(form=None, width=612.0, height=792.0, top=0.0, bottom=700.0)
    if letter_blocks is not None:
        paged = paginate(page, blocks, glue, letter_blocks)
    else:
        paged = _paginate(page, *_repeated_headings(blocks, glue))
    return [[piece.marked for piece, _ in placed] for placed in paged]


@pytest.mark.parametrize("intro", range(380, 640, 20))
def test_a_chain_breaking_over_pages_never_leaves_its_heading_alone(intro: int) -> None:
    """A heading with two tall "when" lines under a first block of any height: no page ends
    with the heading, and a page the lines go on to starts with the repeated heading."""
    from handout_gen.packets.letterpages import CONTINUED, KEEP, PART

    names = ["intro", "heading", "continued", "when 1", "what 1", "when 2", "what 2", "sign-off"]
    glue = ["", "", CONTINUED, KEEP, PART, KEEP, PART, KEEP]
    pages = chained_pages(names, [intro, 50, 50, 40, 160, 40, 160, 30], glue)
    said = [name for placed in pages for name in placed if name != "continued"]
    assert said == [name for name in names if name != "continued"]
    for placed in pages:
        assert placed[-1] != "heading", pages
        assert "continued" not in placed[1:], pages  # only ever at the top of a page
    assert not [placed for placed in pages[1:] if placed[0] in ("when 1", "when 2")], pages  # no heading


def test_a_chain_taller_than_a_page_starts_where_its_heading_and_first_line_fit() -> None:
    """The dated list under "Dates and times to remember" goes on over a page break wherever
    it starts, so it starts under the letter's first lines when its heading and first "when"
    line fit there, rather than leaving that page a third full; a chain that fits on a page
    of its own still moves there whole."""
    from handout_gen.packets.letterpages import CONTINUED, KEEP, PART

    def laid(whens: int) -> list[list[str]]:
        names, heights, glue = ["intro", "heading", "continued"], [300.0, 50.0, 50.0], ["", "", CONTINUED]
        for n in range(whens):
            names += [f"when {n}", f"what {n}"]
            heights += [40.0, 160.0]
            glue += [KEEP, PART]
        return chained_pages(names, heights, glue)

    # 50 + 4 x 200 is more than a page: it starts under the intro and goes on under its heading
    assert laid(4) == [["intro", "heading", "when 0", "what 0"],
                       ["continued", "when 1", "what 1", "when 2", "what 2", "when 3", "what 3"]]
    # 50 + 3 x 200 fits on a page: it moves there whole, as before
    assert laid(3) == [["intro"], ["heading", "when 0", "what 0", "when 1", "what 1", "when 2", "what 2"]]


def test_a_letter_page_holding_its_last_dated_line_and_sign_off_takes_the_lines_before() -> None:
    """The dated list goes on to the letter's last page with only its last line and the
    sign-off under its repeated heading (then the checklist starts a page): the line before it
    moves over too, a whole "when" line with its instruction, and the first stays with the
    heading. Without the checklist after it, the same."""
    from handout_gen.packets.letterpages import CONTINUED, KEEP, PART

    names = ["intro", "heading", "continued", "when 0", "what 0", "when 1", "what 1", "when 2", "what 2",
             "sign-off", "checklist"]
    heights = [150.0, 50, 50, 40, 160, 40, 160, 40, 60, 30, 600]
    glue = ["", "", CONTINUED, KEEP, PART, KEEP, PART, KEEP, PART, KEEP, ""]
    for count in (len(names), len(names) - 1):  # with the checklist, and without
        assert chained_pages(names[:count], heights[:count], glue[:count], letter_blocks=10)[:2] == [
            ["intro", "heading", "when 0", "what 0"],
            ["continued", "when 1", "what 1", "when 2", "what 2", "sign-off"],
        ], count


@pytest.mark.slow
def test_the_letter_names_the_site_the_roster_names(tmp_path: Path) -> None:
    """"radiofrequency-ablation:cervical" reads "Radiofrequency Ablation (neck)" on the letter,
    in the patient's language ("(cuello)"), so patient and nurse can see it is the right place;
    a row that names no site, or a site the words do not name, prints the title alone."""
    project = copy_sample(tmp_path / "project")
    worker = PacketMaker(load_kit(load_project(project)), TODAY)
    cases = [("en", ":cervical"), ("es", ":lumbar"), ("en", "")]
    rows = make_rows(worker, *({"first_name": "Ines", "last_name": f"Vale{n}", "language": lang,
                                "procedures": f"radiofrequency-ablation{site}", "sedation": "no"}
                               for n, (lang, site) in enumerate(cases)))
    data, starts = letters(worker, rows)
    pages = page_texts(data)
    assert "Your procedure: Radiofrequency Ablation (neck) Date:" in pages[starts[0]]
    spanish = "Su procedimiento: Ablación por radiofrecuencia (parte baja de la espalda) Fecha:"
    assert spanish in pages[starts[1]]
    assert "Your procedure: Radiofrequency Ablation Date:" in pages[starts[2]]
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    words.write_text(text.replace("      cervical: neck\n", ""), encoding="utf-8")
    worker = PacketMaker(load_kit(load_project(project)), TODAY)
    data, starts = letters(worker, make_rows(worker, {"first_name": "Ines", "last_name": "Vale",
                                                      "procedures": "radiofrequency-ablation:cervical",
                                                      "sedation": "no"}))
    assert "Your procedure: Radiofrequency Ablation Date:" in page_texts(data)[0]


def test_a_block_broken_over_pages_starts_on_the_page_before_when_its_first_piece_fits() -> None:
    """The prep checklist comes to the letter press cut at its own pages: its first piece
    goes on the letter's last page when it fits there (a sign-off is not left alone with
    the rest of a page blank), each later piece starts a page, and a first piece that does
    not fit starts one too."""
    from types import SimpleNamespace

    from handout_gen.packets.letterpages import Piece, _paginate

    page = SimpleNamespace(top=0.0, bottom=800.0)

    def pieces(*heights: float) -> list[Piece]:
        return [Piece(None, 0.0, height, 792.0) for height in heights]  # type: ignore[arg-type]

    def laid(*blocks: list[Piece]) -> list[list[int]]:
        paged = _paginate(page, list(blocks), [""] * len(blocks), {})  # type: ignore[arg-type]
        return [[index for _, index in on_page] for on_page in paged]

    assert laid(pieces(300), pieces(400, 700, 200)) == [[0, 1], [1], [1]]
    assert laid(pieces(500), pieces(400, 700)) == [[0], [1], [1]]
    assert laid(pieces(100), pieces(300, 100)) == [[0, 1], [1]]  # a later piece starts a page, room or not


def test_a_sign_off_that_would_stand_alone_closes_the_page_before_the_box_that_fills_one() -> None:
    """The blood-thinner box fills a page of its own, so the sign-off kept with it would
    stand alone on the next: it closes the page before the box instead, when it fits
    there. When it does not fit there either, it stays where it was."""
    from types import SimpleNamespace

    from handout_gen.packets.letterpages import KEEP, Piece, paginate

    page = SimpleNamespace(top=0.0, bottom=800.0)

    def pieces(*heights: float) -> list[Piece]:
        return [Piece(None, 0.0, height, 792.0) for height in heights]  # type: ignore[arg-type]

    def laid(first: float, checklist: float = 750) -> list[list[int]]:
        # the letter so far, the box, the sign-off, the prep checklist over two pages
        blocks = [pieces(first), pieces(750), pieces(90), pieces(checklist, 300)]
        paged = paginate(page, blocks, ["", "", KEEP, ""], 3)  # type: ignore[arg-type]
        return [[index for _, index in on_page] for on_page in paged]

    assert laid(600) == [[0, 2], [1], [3], [3]]
    assert laid(750) == [[0], [1], [2], [3], [3]]  # no room before the box: as it was
    assert laid(600, checklist=700) == [[0], [1], [2, 3], [3]]  # the checklist's first page takes it in
