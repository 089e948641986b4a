"""Packet pages that collate and read whole (issue 11, items 3-5), measured on the real PDFs.

The demo packet run (``make demo``'s roster, on the fixture practice) is made once; pdfium
reads every page back: the stamped "Page X of Y" and packet reference, how full each page is,
the smallest type on it.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import yaml

from handout_gen.content.project import load_project
from handout_gen.packets.run import RunOptions, run_packets
from handout_gen.render.jinja import medium_date

from .conftest import FIXTURE, copy_sample, copy_warm
from .pdfutil import page_layout, page_lines, pdf_text, struct_headings

TODAY = date(2026, 11, 24)
ROSTER = "content/rosters/sample-roster.csv"
STAMP = {
    "en": re.compile(r"Page (\d+) of (\d+) (?:· )?Packet ([0-9a-f]{16}) · (.+)$"),
    "es": re.compile(r"Página (\d+) de (\d+) (?:· )?Paquete ([0-9a-f]{16}) · (.+)$"),
}
ER_HEADING = {"en": "Call 911 or go to the nearest emergency room", "es": "Llame al 911 o vaya a la sala"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, warm_practice: Path) -> list[dict[str, Any]]:
    """Every packet of the demo roster: its roster row, id and PDF bytes."""
    root = copy_warm(tmp_path_factory.mktemp("pages") / "project", warm_practice)
    project = load_project(root)
    options = RunOptions(out_root=root / "output/packets", workers=1, today=TODAY)
    report = run_packets(project, root / ROSTER, options)
    with (root / ROSTER).open(encoding="utf-8") as handle:
        rows = {number: row for number, row in enumerate(csv.DictReader(handle), 2)}
    with (report.run_dir / "index.csv").open() as handle:
        index = {line["packet_id"]: int(line["row"]) for line in csv.DictReader(handle)}
    packets = []
    for packet_id, number in sorted(index.items(), key=lambda item: item[1]):
        data = (report.run_dir / f"packet_{packet_id}.pdf").read_bytes()
        row = rows[number]
        large = row["large_print"] == "yes"
        pages = page_layout(data, large_print=large)
        packets.append({"id": packet_id, "row": row, "data": data, "large": large, "pages": pages,
                        "texts": [str(p["text"]) for p in pages],
                        "sizes": set().union(*(p["sizes"] for p in pages))})
    assert len(packets) == len(rows) > 5 and {p["row"]["language"] for p in packets} >= {"en", "es"}
    assert {p["large"] for p in packets} == {True, False}
    return packets


def test_every_page_is_numbered_over_the_packet_and_carries_its_reference(demo: list[dict[str, Any]]) -> None:
    for packet in demo:
        lang, row = packet["row"]["language"], packet["row"]
        visit = medium_date(date.fromisoformat(row["date"]), lang)
        pages = packet["pages"]
        assert len(pages) == len(pikepdf.open(io.BytesIO(packet["data"])).pages)
        for number, page in enumerate(pages, 1):
            found = STAMP[lang].search(str(page["footer"]))
            assert found, (row["patient_id"], number, page["footer"])
            assert found.groups() == (str(number), str(len(pages)), packet["id"], visit)
        # handouts inside follow the packet's numbering: no "Page 1 of 4" of their own
        text = pdf_text(packet["data"])
        numbers = re.findall(r"(?:Page|Página) (\d+) (?:of|de) (\d+)", text)
        assert numbers == [(str(n), str(len(pages))) for n in range(1, len(pages) + 1)]
        assert row["first_name"] not in " ".join(str(p["footer"]) for p in pages)


def test_no_page_but_the_last_is_less_than_a_fifth_full(demo: list[dict[str, Any]]) -> None:
    """A page of a few lines is a stray end of the text before it. The one exception is the
    checklist that follows a one-page letter, whole under its heading ("What to bring", four
    boxes): it may stand alone rather than part the letter's sign-off from the appointment."""
    words = yaml.safe_load((FIXTURE / "content/packet.yaml").read_text(encoding="utf-8"))["text"]
    for packet in demo:
        pages, text = packet["pages"], words[packet["row"]["language"]]
        fills = [round(float(p["fill"]), 2) for p in pages[:-1]]
        sparse = [n for n, fill in enumerate(fills) if fill < 0.2]
        for n in sparse:
            lines = [line for line in packet["texts"][n].splitlines() if line.strip()]
            heading = lines.index(text["bring_heading"]) if text["bring_heading"] in lines else None
            assert heading is not None and heading <= 2 and text["bring"][-1] in packet["texts"][n], (
                packet["row"]["patient_id"], fills)
            sign_off = text["sign_off"].split("%(")[0].strip()  # the letter ends on the page before
            assert fills[n] >= 0.1 and sign_off in packet["texts"][n - 1], packet["row"]["patient_id"]


def test_a_letter_that_fits_one_page_keeps_its_phone_number_and_sign_off_there(
    demo: list[dict[str, Any]]
) -> None:
    """The first-visit letter (no dates to remember) fits its page: the doctor, the number to
    call to change the time and the sign-off stay with the appointment, not over "What to bring"."""
    words = yaml.safe_load((FIXTURE / "content/packet.yaml").read_text(encoding="utf-8"))["text"]["en"]
    (packet,) = [p for p in demo if p["row"]["procedures"] == "interventional-pain-care"]
    first = packet["texts"][0]
    for said in (words["date_label"], words["physician_label"], words["phone_label"],
                 words["sign_off"].split("%(")[0].strip()):
        assert said in first, said
    assert words["bring_heading"] not in first


def test_the_number_to_change_the_time_is_on_the_first_page_of_every_letter(
    demo: list[dict[str, Any]]
) -> None:
    """However long the letter's opening (Spanish, large print), page 1 says when to come and
    which number to call to change that time, and where: the call line sits under the time it
    is about, and what may go on to page 2 is the doctor's name and the map code."""
    words = yaml.safe_load((FIXTURE / "content/packet.yaml").read_text(encoding="utf-8"))["text"]
    practice = load_project(FIXTURE).practice
    phones = {location.phone for location in practice.locations}
    for packet in demo:
        text = words[packet["row"]["language"]]
        first = " ".join(packet["texts"][0].split())
        ask, _, call = text["phone_label"].partition("?")
        assert ask in first and call.strip() in first, (packet["row"]["patient_id"], first[-200:])
        assert any(phone in first for phone in phones), packet["row"]["patient_id"]
        assert first.index(text["time_label"]) < first.index(ask)
        assert text["where_label"] in first, packet["row"]["patient_id"]


def test_what_to_bring_sits_whole_under_its_heading(demo: list[dict[str, Any]]) -> None:
    """The list never starts a page without its heading: the page with "What to bring" holds
    its last item too (the packet's words, content/packet.yaml)."""
    words = yaml.safe_load((FIXTURE / "content/packet.yaml").read_text(encoding="utf-8"))["text"]
    for packet in demo:
        text = words[packet["row"]["language"]]
        whole = " ".join(packet["texts"])
        last = text["bring_driver"] if text["bring_driver"] in whole else text["bring"][-1]
        (page,) = [t for t in packet["texts"] if text["bring_heading"] in t]
        assert last in page, (packet["row"]["patient_id"], page)


def test_a_checklist_that_goes_on_over_a_page_break_goes_on_under_its_heading(
    demo: list[dict[str, Any]]
) -> None:
    """The Spanish large-print stimulator packet's prep checklist runs over a page: the page
    it goes on to opens with the list's heading again, "(continuación)", a heading (H2) in
    the structure tree too, not boxes under no heading. It is said once, where the list goes on."""
    words = yaml.safe_load((FIXTURE / "content/packet.yaml").read_text(encoding="utf-8"))["text"]["es"]
    again = words["continued"] % {"heading": words["prep_heading"]}
    (packet,) = [p for p in demo if p["row"]["language"] == "es" and p["large"]]
    texts = [" ".join(t.split()) for t in packet["texts"]]
    (page,) = [n for n, text in enumerate(texts) if again in text]
    body = texts[page].split(words["draft"], 1)[1].strip()  # below the page's header
    assert body.startswith(again), body[:80]
    assert texts[page - 1].count(words["prep_heading"]) == 1  # the list starts on the page before
    assert again in struct_headings(packet["data"])


def test_large_print_means_everything_on_the_page(demo: list[dict[str, Any]]) -> None:
    largest = {}
    for packet in demo:
        smallest = round(min(float(p["smallest"]) for p in packet["pages"]), 1)
        assert smallest >= (18 if packet["large"] else 12), packet["row"]["patient_id"]
        largest[packet["large"]] = max(largest.get(packet["large"], 0), max(packet["sizes"]))
    assert largest[True] > largest[False]  # large print's headings are larger, not only its body


def test_stamps_are_page_furniture_for_screen_readers(demo: list[dict[str, Any]]) -> None:
    """The stamp is drawn last on each page, inside /Artifact BMC ... EMC, and nothing of it
    outside: its text (fonts named /HgF…) and the packet reference's form (/HgRef)."""
    marked = (pikepdf.Operator("BMC"), pikepdf.Operator("EMC"))
    draw, font = pikepdf.Operator("Do"), pikepdf.Operator("Tf")
    with pikepdf.open(io.BytesIO(demo[0]["data"])) as pdf:
        for page in pdf.pages:
            ops = pikepdf.parse_content_stream(page)
            start, end = [i for i, (_, op) in enumerate(ops) if op in marked][-2:]
            assert ops[start].operands == [pikepdf.Name.Artifact] and end == len(ops) - 1
            inside, before = ops[start:end], ops[:start]
            assert [str(o[0]) for o, op in inside if op == draw] == ["/HgRef"]
            fonts = {str(o[0]) for o, op in inside if op == font}
            assert fonts and all(name.startswith("/HgF") for name in fonts)
            assert not any(str(o[0]).startswith("/Hg") for o, op in before if op in (draw, font))


def test_a_stamp_glyph_keeps_only_the_saves_that_matter() -> None:
    """WeasyPrint's ten nested ``q`` around a glyph collapse; a group followed by drawing, or
    closed before marked content ends, stays (what it restores is needed)."""
    from handout_gen.packets.stamps import unnested

    pdf = pikepdf.Pdf.new()

    def ops(text: str) -> list[tuple[list[Any], Any]]:
        stream = pdf.make_stream(text.encode())
        return [(list(i.operands), i.operator) for i in pikepdf.parse_content_stream(stream)]

    def text(items: list[tuple[list[Any], Any]]) -> str:
        return " ".join(pikepdf.unparse_content_stream(items).decode().split())

    glyph = "1 0 0 -1 0 792 cm q .75 0 0 .75 0 0 cm q q q /E1 gs BT /F0 9 Tf [<0006>] TJ ET Q Q Q Q"
    flat = "1 0 0 -1 0 792 cm .75 0 0 .75 0 0 cm /E1 gs BT /F0 9 Tf [ <0006> ] TJ ET"
    assert text(unnested(ops(glyph))) == text(ops(flat))
    kept = "q 0 0 1 rg 0 0 5 5 re f Q 0 0 5 5 re f /P << /MCID 0 >> BDC q 1 0 0 1 2 2 cm Q EMC"
    assert text(unnested(ops(kept))) == text(ops(kept))


def test_every_page_leaves_half_an_inch_of_paper_clear(demo: list[dict[str, Any]]) -> None:
    """Printers that cannot print to the edge clip less than half an inch: no ink there, on
    any page of either print size (large print's header and four-line footer included)."""
    from handout_gen.checks.pdf import EDGE_CLEAR_PT

    for packet in demo:
        nearest = min(float(p["clear"]) for p in packet["pages"])
        assert nearest >= EDGE_CLEAR_PT, (packet["row"]["patient_id"], packet["large"], nearest / 72)


def test_one_emergency_list_and_whole_contacts_per_packet(demo: list[dict[str, Any]]) -> None:
    for packet in demo:
        lang = packet["row"]["language"]
        assert pdf_text(packet["data"]).count(ER_HEADING[lang]) == 1, packet["row"]["patient_id"]
        texts = packet["texts"]
        label = "Main number" if lang == "en" else "Número principal"
        (page,) = [t for t in texts if label in t]
        assert re.search(re.escape(label) + r"\s+555-0100", page)  # the label and its number together


def test_each_aftercare_item_is_printed_once(demo: list[dict[str, Any]]) -> None:
    """A packet with its own aftercare pages holds the one aftercare checklist: the handouts
    in it leave theirs out (as they leave out the emergency list). Items the letter says for
    this patient (marked {packet:sedation}: the letter's end of the no-driving time;
    {packet:blood-sugar}: its last day to check blood sugar more often) give way, in the
    aftercare and in the key points."""
    from handout_gen.content.packet_marks import PACKET_TOPICS
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.parts import covered_topics
    from handout_gen.packets.roster import rows_from

    project = load_project(FIXTURE)
    kit = load_kit(project)
    checked = emptied = 0
    gave_way: set[str] = set()
    for packet in demo:
        text = " ".join(pdf_text(packet["data"]).split())
        (row,) = rows_from([packet["row"]], kit.catalog(TODAY))
        covered = covered_topics(kit, row.procedures, row.prep_flags, PACKET_TOPICS, row.language)
        for slug in packet["row"]["procedures"].split(";"):
            procedure = project.procedures[slug.split(":")[0]]
            meta = procedure.edition(packet["row"]["language"]).meta
            items = meta.aftercare_in_packet(covered)
            left_out = [item for item in meta.aftercare if item not in items]
            points = meta.key_points_in_packet(covered)
            left_out += [point for point in meta.key_points if point not in points]
            assert all(" ".join(item.split()) not in text for item in left_out), packet["row"]["patient_id"]
            assert all(" ".join(point.split()) in text for point in points), packet["row"]["patient_id"]
            gave_way.update(covered if left_out else ())
            if not items:
                emptied += 1  # every item said by the letter: no aftercare of it at all
                continue
            # the list as printed: its items one after another (an item may also be a key point)
            listed = " ".join(" ".join(item.split()) for item in items)
            assert text.count(listed) == 1, (packet["row"]["patient_id"], slug)
            checked += 1
    assert checked and checked + emptied >= len(demo)
    assert gave_way >= {"sedation", "blood-sugar"}


def test_outline_keeps_one_bookmark_per_section(demo: list[dict[str, Any]]) -> None:
    packet = next(p for p in demo if p["row"]["language"] == "en" and not p["large"])
    data = io.BytesIO(packet["data"])
    texts = [" ".join(lines) for lines in page_lines(packet["data"])]
    with pikepdf.open(data) as pdf:
        pages = {page.objgen: number for number, page in enumerate(pdf.pages)}
        with pdf.open_outline() as outline:
            marks = [(item.title, pages[item.destination[0].objgen]) for item in outline.root]
        titles = [title for title, _ in marks]
        assert len(titles) == len(set(titles)) and titles[0] == "Your appointment"
        assert [page for _, page in marks] == sorted(page for _, page in marks)
        for title, page in marks:  # each bookmark opens the page its section starts on
            assert title in texts[page], title


@pytest.mark.slow
def test_key_points_that_continue_on_page_two_carry_more_than_the_last_point(tmp_path: Path) -> None:
    """The large-print Spanish stimulator trial with seven key points (too many for page 1
    even above the summary: render/keypoints.py) fills page 1 with five: the last point (the
    MRI warning) never goes alone to page 2, where the box shows its border."""
    from handout_gen.handouts import Variant, render_handout

    root = copy_sample(tmp_path / "project")
    path = root / "content/procedures/spinal-cord-stimulation.es.md"
    text = path.read_text(encoding="utf-8")
    third = "  - En la cita para quitar los cables"
    extra = ("  - Mientras tenga los cables, mantenga seco el vendaje y no cargue peso, no se agache ni gire "
             "el cuerpo.\n"
             "  - Si algo le preocupa, llame a la clínica y le diremos qué hacer y cuándo venir.\n"
             "  - Lleve su tarjeta del aparato y muéstrela antes de cualquier examen o cirugía.\n")
    path.write_text(text.replace(third, extra + third, 1), encoding="utf-8")
    project = load_project(root)
    points = project.procedures["spinal-cord-stimulation"].edition("es").meta.key_points
    data = render_handout(project, "spinal-cord-stimulation", Variant("es", True))
    pages = [" ".join(" ".join(lines).split()) for lines in page_lines(data)[:2]]
    starts = [" ".join(point.split())[:30] for point in points]
    assert len(starts) == 7 and "Puntos clave" in pages[0]
    moved = [start for start in starts if start not in pages[0]]
    assert len(moved) == 2 and all(start in pages[1] for start in moved), moved


@pytest.mark.slow  # eight handouts rendered
@pytest.mark.parametrize("large", [False, True])
def test_key_points_are_on_page_one_of_each_handout(tmp_path: Path, large: bool) -> None:
    from handout_gen.handouts import Variant, render_handout

    project = load_project(copy_sample(tmp_path / "project"))
    for slug in ("epidural-steroid-injection", "spinal-cord-stimulation"):
        for lang, heading in (("en", "Key points"), ("es", "Puntos clave")):
            data = render_handout(project, slug, Variant(lang, large))
            assert heading in page_lines(data)[0], (slug, lang)


def _sections(*lines: int, last_alone: bool = False) -> str:
    """A document of sections of so many paragraphs each; the last on a page of its own."""
    alone = "section:last-child { break-before: page; }" if last_alone else ""
    body = "".join(f"<section><h2>Part {s}</h2>" + "".join(
        f"<p>Line {s}.{i}, a few words to fill the page.</p>" for i in range(count)) + "</section>"
        for s, count in enumerate(lines))
    return (f"<html><head><style>@page {{ size: letter; margin: 1in }} p {{ margin: 0 0 8pt }} {alone}"
            f"</style></head><body>{body}</body></html>")


@pytest.mark.slow
def test_a_parts_last_page_under_the_target_takes_more_but_never_gets_worse() -> None:
    """A checklist part whose last page is a quarter full ("On the day", four boxes) takes
    the section before it along, as a letter's last page does: at least TARGET_FILL, no page
    more. A last section that always starts a page gains nothing from a moved break, so the
    part is left as laid out rather than leaving a second near-empty page."""
    import weasyprint

    from handout_gen.render.pagefill import MIN_FILL, TARGET_FILL, balanced, fill

    def lay_out(html: str) -> Any:
        return weasyprint.HTML(string=html).render()

    cases = [n for n in range(10, 30)
             if MIN_FILL <= fill(lay_out(_sections(n, n, n)).pages[-1]) < TARGET_FILL]
    assert cases, "no document of these sizes ends on a page between the two fills"
    for n in cases:
        before, after = lay_out(_sections(n, n, n)), balanced(_sections(n, n, n), lay_out)
        assert len(after.pages) == len(before.pages) and fill(after.pages[-1]) >= TARGET_FILL, n
    # a short last section that always starts a page: nothing moved can join it
    alone = _sections(40, 3, last_alone=True)
    laid = lay_out(alone)
    assert fill(laid.pages[-1]) < MIN_FILL
    kept = balanced(alone, lay_out)
    assert [round(fill(p), 3) for p in kept.pages] == [round(fill(p), 3) for p in laid.pages]


def test_a_page_a_section_goes_on_from_is_cut_at_its_content() -> None:
    """A section broken over pages reaches down to the body's bottom on the page it leaves
    (CSS fragmentation) however little it holds there: the band the letter press cuts is
    where its content ends, so a letter's last lines can share that page."""
    import weasyprint

    from handout_gen.render.pagefill import band

    box = '<div style="height: 300px; break-inside: avoid; border: 1px solid">x</div>'
    html = (f"<html><head><style>@page {{ size: letter; margin: 1in }} body {{ margin: 0 }}</style></head>"
            f"<body><section>{box * 4}</section></body></html>")
    first, second = weasyprint.HTML(string=html).render().pages[:2]
    top, bottom = band(first)
    assert bottom - top == pytest.approx(2 * 302, abs=1)  # two boxes and their borders, not 9 in (864 px)
    assert band(second)[1] - band(second)[0] == pytest.approx(2 * 302, abs=1)
