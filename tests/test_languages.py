"""Every patient's language and script: languages as data, a real glyph for every name,
right to left, the language-help notice (issue 12)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
import yaml

from handout_gen.content.project import load_project
from handout_gen.core.errors import RosterError, ValidationFailed
from handout_gen.handouts import Variant, render_handout
from handout_gen.packets.kit import load_kit
from handout_gen.packets.packet import PacketMaker
from handout_gen.packets.roster import rows_from
from handout_gen.scaffold import init_project
from tests.conftest import FIXTURE, copy_sample

from .pdfutil import language_changes, missing_glyphs, pdf_lines, pdf_pages, pdf_text, shown_glyphs

TODAY = date(2026, 11, 24)
ESI = "epidural-steroid-injection"
# (first name, last name) in Chinese, Japanese, Korean, Arabic, Hebrew, Devanagari, Thai,
# Cyrillic, Greek and Vietnamese: all fictional.
NAMES = [
    ("小明", "王"),
    ("陽子", "山田"),
    ("지민", "김"),
    ("سلمى", "الحداد"),
    ("נועה", "לוי"),
    ("अनीता", "शर्मा"),
    ("สมชาย", "ใจดี"),
    ("Ирина", "Соколова"),
    ("Νίκος", "Παπαδάκης"),
    ("Thị Hương", "Nguyễn"),
]
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def row(first: str, last: str, lang: str = "en", **extra: str) -> dict[str, str]:
    return {
        "first_name": first,
        "last_name": last,
        "procedures": ESI,
        "date": "2026-12-09",
        "time": "9:30",
        "location": "orchard",
        "physician": "okafor",
        "language": lang,
        "patient_id": "MH-0042",
        **extra,
    }


def letters(name: str) -> str:
    """The letters of a name (no marks, no spaces): what survives any text extraction."""
    return "".join(c for c in name if unicodedata.category(c).startswith("L"))


def in_order(needle: str, text: str) -> bool:
    it = iter(text)
    return all(c in it for c in needle)


@pytest.mark.slow
def test_names_in_ten_scripts_are_drawn_with_real_glyphs() -> None:
    project = load_project(FIXTURE)
    kit = load_kit(project)
    rows = rows_from([row(first, last) for first, last in NAMES], kit.catalog(TODAY))
    made = PacketMaker(kit, TODAY).make(rows)
    for (first, last), packet in zip(NAMES, made, strict=True):
        shown = shown_glyphs(packet.data)
        fonts = {font for font, _, _ in shown}
        assert any("Atkinson" in f for f in fonts)
        # Letters are stacked Form XObjects: shown_glyphs walks into them, so the name's
        # glyphs are among those read; none is .notdef or past its embedded subset.
        assert missing_glyphs(packet.data) == [], (first, last)
        text = BIDI_MARKS.sub("", pdf_text(packet.data)).replace(" ", "")
        for part in (first, last):
            assert in_order(letters(part), text), part
    # The scripts were drawn by the chain's Noto families, not by a system fallback.
    every = {font.split("+")[-1] for packet in made for font, _, _ in shown_glyphs(packet.data)}
    for family in (
        "Noto-Sans-CJK-SC",
        "Noto-Naskh-Arabic",
        "Noto-Sans-Hebrew",
        "Noto-Sans-Devanagari",
        "Noto-Sans-Thai",
    ):
        assert any(f.startswith(family) for f in every), family
    assert not any(f.startswith("DejaVu") for f in every)


def test_a_character_no_font_draws_is_refused_by_row_and_column() -> None:
    kit = load_kit(load_project(FIXTURE))
    with pytest.raises(RosterError) as caught:
        rows_from(
            [row("Ana", "Reyes"), row("Ana", "Rey\ue000es"), row("\U000e0100x", "Li")], kit.catalog(TODAY)
        )
    problems = [(p.line, p.field, p.message.split(" that ")[0]) for p in caught.value.problems]
    assert problems == [(2, "last_name", "has 1 character"), (3, "first_name", "has 1 character")]
    message = caught.value.problems[0].message
    assert message.endswith("add a font for this script (fonts in content/languages.yaml)")
    # the cell is never quoted, nor spelt out as code points (they would spell the name)
    assert "Rey" not in message and "U+" not in message and "E000" not in message


@pytest.mark.slow
def test_a_roster_with_an_unprintable_name_writes_nothing(tmp_path: Path) -> None:
    from .cliutil import hg

    project = copy_sample(tmp_path / "project")
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row("", "")))
        writer.writeheader()
        writer.writerows([row("小明", "王"), row("Ana", "\U0010ffff")])
    result = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", "2026-11-24", check=False)
    assert result.returncode == 1
    assert "row 3, column last_name: has 1 character that no installed font prints" in result.stderr
    assert "U+" not in result.stderr
    assert "nothing was written" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_arabic_handout_reads_right_to_left() -> None:
    project = load_project(FIXTURE)
    data = render_handout(project, ESI, Variant("ar"))
    assert missing_glyphs(data) == []
    with pdfplumber.open(__import__("io").BytesIO(data)) as pdf:
        assert pdf.metadata.get("Title", "").startswith("حقنة الستيرويد")
        page = pdf.pages[0]
        right_margin = page.width - 1.4 * 72
        title = [c for c in page.chars if round(c["size"]) == 24]
        # Right-aligned: the title ends at the right margin and starts well inside the page.
        assert abs(max(c["x1"] for c in title) - right_margin) < 2
        assert min(c["x0"] for c in title) > 1.4 * 72 + 72
        # Its first word (حقنة) is drawn right of its last (الجافية): the line runs right to left.
        words = page.extract_words(extra_attrs=["size"])
        line = [w for w in words if round(w["size"]) == 24]
        first = next(w for w in line if letters(w["text"]) in {"حقنة", "ةنقح"})
        last = next(w for w in line if letters(w["text"]) in {"الجافية", "ةيفاجلا"})
        assert first["x0"] > last["x1"]
        # Mirrored furniture: page numbers at the left, the call-us line at the right, and
        # the phone number keeps its digits in order ("555-0100", not "0100-555").
        footer = [c for c in page.chars if c["top"] > page.height - 72]
        digits = "".join(
            c["text"] for c in sorted(footer, key=lambda c: c["x0"]) if c["text"] in "0123456789-"
        )
        assert "555-0100" in digits and "0100-555" not in digits
        call = [c for c in footer if c["text"] == "5"]
        assert min(c["x0"] for c in call) > page.width / 2
        # The web address under the QR code wraps as written: a left-to-right block of its
        # own (an isolate alone printed its second line as "/injection/ar"), after a slash.
        lines = [line["text"] for p in pdf.pages for line in p.extract_text_lines()]
        url = [text for text in lines if "org/procedures/" in text]
        rest = [text for text in lines if "injection/ar" in text]
        assert url[0].endswith("org/procedures/") and rest == ["epidural-steroid-injection/ar/"], (url, rest)
    assert pdf_text(data).count("555-0100") >= 1
    with __import__("pikepdf").open(__import__("io").BytesIO(data)) as pdf:
        assert str(pdf.Root.Lang) == "ar"


@pytest.mark.slow
def test_the_chinese_handout_uses_its_own_catalog_and_cjk_font() -> None:
    project = load_project(FIXTURE)
    data = render_handout(project, ESI, Variant("zh"))
    text = pdf_text(data)
    assert "硬膜外类固醇注射" in text and "要点" in text and "草稿：等待临床审核" in text
    assert "2026年11月2日" in text.replace(" ", "")  # Babel's zh_Hans_CN date
    pages = len(pikepdf.open(io.BytesIO(data)).pages)
    for page in range(1, pages + 1):  # the translator's whole phrase: "页" after the count too
        assert f"第 {page} 页，共 {pages} 页" in text
    fonts = {f.split("+")[-1] for f, _, _ in shown_glyphs(data)}
    assert "Noto-Sans-CJK-SC" in fonts and missing_glyphs(data) == []


def test_a_catalog_with_only_the_old_footer_words_keeps_its_language(tmp_path: Path) -> None:
    """A project catalog made before "Page %(page)s of %(pages)s" existed still has its footer
    in its language: "Page" and "of" joined around the counters, as they always were."""
    from handout_gen.render.jinja import make_env

    old_words = 'msgid "Page"\nmsgstr "Trang"\n\nmsgid "of"\nmsgstr "trên"\n'
    (tmp_path / "vi.po").write_text(old_words, encoding="utf-8")
    footer = make_env().from_string("{% autoescape false %}{{ page_counters() }}{% endautoescape %}")
    vietnamese = footer.render(lang="vi", catalog_dir=str(tmp_path))
    assert vietnamese == '"Trang " counter(page) " trên " counter(pages)'
    assert footer.render(lang="es") == '"Página " counter(page) " de " counter(pages)'
    assert footer.render(lang="en") == '"Page " counter(page) " of " counter(pages)'


def test_a_reworded_heading_keeps_an_old_catalogs_translation(tmp_path: Path) -> None:
    """The emergency heading ends "…if:" (its items begin "You have…"); a project catalog
    made when it ended "…if you have:" keeps printing its translation, never English."""
    from handout_gen.render.jinja import make_env

    old = 'msgid "Call 911 or go to the nearest emergency room if you have:"\nmsgstr "Gọi 911 nếu:"\n'
    (tmp_path / "vi.po").write_text(old, encoding="utf-8")
    heading = make_env().from_string('{{ _("Call 911 or go to the nearest emergency room if:") }}')
    assert heading.render(lang="vi", catalog_dir=str(tmp_path)) == "Gọi 911 nếu:"
    assert heading.render(lang="es") == "Llame al 911 o vaya a la sala de emergencias más cercana si:"
    assert heading.render(lang="en") == "Call 911 or go to the nearest emergency room if:"


@pytest.mark.slow
def test_the_language_help_notice_prints_in_each_script_and_turns_off(sample_project: Path) -> None:
    text = pdf_text(render_handout(load_project(sample_project), "prp-injection", Variant("en")))
    assert "Free help in your language" in text and "免费语言协助" in text
    path = sample_project / "content/languages.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  show: true", "  show: false"), encoding="utf-8"
    )
    text = pdf_text(render_handout(load_project(sample_project), "prp-injection", Variant("en")))
    assert "Free help in your language" not in text and "免费语言协助" not in text


def test_an_edition_in_an_undeclared_language_is_named_and_left_out(sample_project: Path) -> None:
    folder = sample_project / "content/procedures"
    (folder / "prp-injection.xx.md").write_text((folder / "prp-injection.es.md").read_text(encoding="utf-8"))
    project = load_project(sample_project)  # loads: nothing else is held up
    (warning,) = project.warnings
    assert (warning.source, warning.line, warning.severity) == (
        "content/procedures/prp-injection.xx.md",
        1,
        "warning",
    )
    assert warning.message.startswith("unknown language 'xx' (known: en, es, zh, ar)")
    assert project.procedures["prp-injection"].languages == ["en", "es"]


def test_a_bad_languages_file_is_named_by_line(sample_project: Path) -> None:
    path = sample_project / "content/languages.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "    - lang: fr\n      text: Aide gratuite \ue000.\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_project(sample_project)
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (lines - 1, "language_help.lines.4", "unknown language 'fr' (known: en, es, zh, ar)")
    ]
    text = text.replace("    direction: rtl", "    direction: sideways").replace(
        "locale: ar", "locale: qq_ZZ"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_project(sample_project)
    found = {(p.line, p.field) for p in caught.value.problems}
    lines_of = text.splitlines()
    assert found == {
        (lines_of.index("    locale: qq_ZZ") + 1, "languages.ar.locale"),
        (lines_of.index("    direction: sideways") + 1, "languages.ar.direction"),
    }


def test_chinese_gets_the_length_rule_and_check_says_so() -> None:
    from handout_gen.checks.runner import run_checks

    report = run_checks(FIXTURE, today=TODAY, pdf=False)
    said = [f for f in report.findings if f.rule == "readability.no-formula"]
    assert {f.file for f in said} == {f"content/procedures/{ESI}.zh.md", f"content/procedures/{ESI}.ar.md"}
    assert "no readability formula; checked for short sentences and short words" in said[0].message
    assert not [f for f in report.errors if f.rule in ("pdf.glyphs", "schema", "references.unknown-language")]


VI_EDITION = """---
title: Tiêm điểm kích hoạt
lang: vi
summary: Mũi tiêm đưa thuốc vào một điểm cơ bị co cứng và đau. Việc này nhanh và bạn về nhà ngay.
version: TPI-2026.1-vi
translation_of_version: TPI-2026.1
status: draft
reviewer_role: Người dịch y khoa có trình độ
last_reviewed: 2026-11-01
key_points:
  - Mũi tiêm đi vào điểm cơ co cứng gây đau.
aftercare:
  - Chườm đá lên chỗ tiêm mỗi lần 20 phút nếu thấy đau.
call_us_if:
  - Chỗ tiêm bị đỏ, nóng hoặc sưng.
go_to_er_if:
  - Bạn khó thở hoặc đau ngực.
---
## Đây là gì {#what}

Bác sĩ tiêm thuốc vào điểm cơ bị co cứng.

## Ai có thể được giúp {#who}

Người bị đau do cơ co cứng.

## Trước khi đến khám {#before}

- Mang theo danh sách thuốc của bạn.

## Ngày đến khám {#day-of}

- Mặc quần áo rộng rãi.

## Sau khi khám {#after}

- Nghỉ ngơi và giãn cơ nhẹ nhàng.
"""


@pytest.mark.slow
def test_vietnamese_is_added_to_an_init_project_by_files_alone(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    init_project(root, name="Riverbend Pain Clinic")
    content = root / "content"
    with (content / "languages.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "languages:\n  vi:\n    name: Vietnamese\n    native: Tiếng Việt\n    fonts: [Noto Sans]\n"
        )
    (content / "procedures/trigger-point-injection.vi.md").write_text(VI_EDITION, encoding="utf-8")
    packet = yaml.safe_load((content / "packet.yaml").read_text(encoding="utf-8"))
    packet["text"]["vi"] = {
        **packet["text"]["en"],
        "letter_heading": "Lịch hẹn của bạn",
        "dear": "Kính gửi %(name)s,",
        "packet_title": "Hồ sơ thủ thuật của bạn",
    }
    (content / "packet.yaml").write_text(yaml.safe_dump(packet, allow_unicode=True), encoding="utf-8")
    (content / "locale").mkdir()
    (content / "locale/vi.po").write_text('msgid "Key points"\nmsgstr "Những điểm chính"\n', encoding="utf-8")

    project = load_project(root)
    assert project.languages.name("vi") == "Vietnamese" and "vi" in project.handout_languages
    handout = render_handout(project, "trigger-point-injection", Variant("vi"))
    text = pdf_text(handout)
    assert "Tiêm điểm kích hoạt" in text and "Những điểm chính" in text
    assert missing_glyphs(handout) == []
    kit = load_kit(project)
    rows = rows_from(
        [
            {
                **row("Thị Hương", "Nguyễn", "vi"),
                "procedures": "trigger-point-injection",
                "location": project.practice.locations[0].id,
                "physician": project.practice.physicians[0].id,
            }
        ],
        kit.catalog(TODAY),
    )
    (made,) = PacketMaker(kit, TODAY).make(rows)
    text = pdf_text(made.data)
    assert "Lịch hẹn của bạn" in text and "Kính gửi Thị Hương Nguyễn," in text.replace("\u2068", "").replace(
        "\u2069", ""
    )
    assert "Tiêm điểm kích hoạt" in text  # the Vietnamese handout inside the packet
    assert "tháng 12" in text  # Babel's Vietnamese date on the letter
    assert missing_glyphs(made.data) == []


def test_the_glyph_rule_covers_newsletters(sample_project: Path) -> None:
    from handout_gen.checks.runner import run_checks

    issue = sample_project / "content/newsletters/2026-12.md"
    text = issue.read_text(encoding="utf-8")
    issue.write_text(text.replace("## Holiday hours", "## Holiday hours \U000f0000", 1), encoding="utf-8")
    report = run_checks(sample_project, today=TODAY, pdf=False)
    (finding,) = [f for f in report.findings if f.rule == "pdf.glyphs"]
    line = issue.read_text(encoding="utf-8").splitlines().index(
        next(x for x in issue.read_text(encoding="utf-8").splitlines() if "\U000f0000" in x)) + 1
    assert (finding.file, finding.line, finding.severity) == ("content/newsletters/2026-12.md", line, "error")
    assert "(U+F0000) is in no font of the chain" in finding.message


@pytest.mark.slow
def test_an_arabic_packet_is_stamped_from_the_right(sample_project: Path, tmp_path: Path) -> None:
    """Every page of an Arabic packet carries its stamp, set right to left: the page number
    rightmost, the packet id (a left-to-right run) whole and to its left."""
    from .cliutil import hg

    hg(
        sample_project, "packet", "--first-name", "سارة", "--last-name", "Zzyzx", "--lang", "ar",
        "--procedure", "epidural-steroid-injection", "--date", "2026-12-09", "--time", "9:30",
        "--location", "orchard", "--physician", "okafor", "--today", "2026-11-24",
        "-o", str(tmp_path / "out"), check=True,
    )  # fmt: skip
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            footer = [w for w in page.extract_words() if w["top"] > page.height - 80]
            (packet_id,) = [w for w in footer if re.search(r"[0-9a-f]{16}", w["text"])]
            page_word = [w for w in footer if "ةحفص" in w["text"]]  # صفحة, as pdfplumber reads it
            assert page_word and page_word[0]["x0"] > packet_id["x0"], number
            # the word and the page number are apart: "صفحة 2", never "صفحة2"
            assert page_word[0]["text"] == "ةحفص" and any(w["text"] == str(number) for w in footer), number
            mixed = re.compile(r"\d.*[\u0600-\u06ff]|[\u0600-\u06ff].*\d")  # a digit glued to Arabic
            glued = [w["text"] for w in footer if mixed.search(w["text"])]
            assert glued == [], number


@pytest.mark.slow
def test_english_in_a_packet_of_another_language_says_so_and_runs_left_to_right(
    warm_project: Path, tmp_path: Path
) -> None:
    """A procedure with no translation prints in English: its handout's first page carries the
    packet's note in the reader's language (how to have it read to them), under the key
    points, and so do the English lines
    on the closing pages, whose list runs left to right on an Arabic page (its checkboxes at
    the left). A packet whose every part is translated carries no note."""
    from .cliutil import hg

    def packet(lang: str, procedure: str) -> bytes:
        out = tmp_path / f"{lang}-{procedure}"
        hg(
            warm_project, "packet", "--first-name", "秀英", "--last-name", "王", "--lang", lang,
            "--procedure", procedure, "--date", "2026-12-09", "--time", "9:30", "--location", "orchard",
            "--physician", "okafor", "--today", "2026-11-24", "-o", str(out), check=True,
        )  # fmt: skip
        (path,) = out.glob("*/packet_*.pdf")
        return path.read_bytes()

    note = "这部分只有英文版。请在就诊前致电555-0100，我们会免费用中文读给您听。"
    zh = packet("zh", "radiofrequency-ablation")
    pages = [page.replace(" ", "") for page in pdf_pages(zh)]
    handout = next(i for i, page in enumerate(pages) if "Keypoints" in page)
    assert "RadiofrequencyAblation" in pages[handout] and note in pages[handout]
    assert pages[handout].index(note) > pages[handout].index("Keypoints")  # which it never pushes off page 1
    closing = next(i for i, page in enumerate(pages) if "Youhaveafeverof" in page)
    assert closing > handout and note in pages[closing]
    emergency = next(page for page in pages if "911" in page and "Yousuddenlycannotcontrol" in page)
    assert note in emergency.split("911")[1]  # the 911 box says it too: it may start a page of its own
    # Each change of language is declared in the structure tree, so a screen reader speaks it
    # in its own language: the English title in the Chinese letter, the Chinese note on the
    # English handout, the English lines of the closing pages.
    changes = language_changes(zh)
    assert changes[0] == ("en", "RadiofrequencyAblation")
    assert ("zh", note) in changes
    assert [t for lang, t in changes if lang == "en" and t.startswith("•Youhaveafeverof")]
    translated = "".join(pdf_pages(packet("zh", "epidural-steroid-injection"))).replace(" ", "")
    assert "只有英文版" not in translated

    arabic = packet("ar", "joint-injections-nerve-blocks")
    with pdfplumber.open(io.BytesIO(arabic)) as pdf:
        words = [(page, w) for page in pdf.pages for w in page.extract_words()]
    (page, first), = [(p, w) for p, w in words if w["text"] == "Have" and w["x0"] < p.width / 2]
    boxes = [r for r in page.rects if abs(r["top"] - first["top"]) < 6 and r["width"] < 14]
    assert boxes and all(box["x1"] <= first["x0"] for box in boxes)  # the checkbox left of its line
    # and a bullet of an English line stays inside the page's text column, left of its line
    margin = min(box["x0"] for box in boxes)  # the text column's left edge
    bullets = [(p, w) for p, w in words if w["text"] == "•"]
    assert bullets and all(w["x0"] >= margin - 1 for _, w in bullets), (margin, [w["x0"] for _, w in bullets])


@pytest.mark.slow  # letters and parts in several languages: many PDFs
def test_an_english_medicine_name_stays_in_its_arabic_line_between_its_brackets(tmp_path: Path) -> None:
    """The dated line "the last day of your blood thinner (Zapixaban)" in an Arabic letter:
    the name is an isolate in the line, not a left-to-right block of its own ("(" was left at
    the end of one line, the name alone on the next, ")." on the one after)."""
    root = copy_sample(tmp_path / "project")
    words = root / "content" / "packet.yaml"
    text = words.read_text(encoding="utf-8")
    assert "آخر يوم لدواء السيولة." in text
    named = text.replace("آخر يوم لدواء السيولة.", "آخر يوم لدواء السيولة (%(name)s).")
    words.write_text(named, encoding="utf-8")
    kit = load_kit(load_project(root))
    plan = {"blood_thinner": "yes", "blood_thinner_name": "Zapixaban",
            "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
            "blood_thinner_restart": "Start again the morning after your procedure.",
            "blood_thinner_last_dose": "2026-12-05"}
    today = date(2026, 11, 24)
    (ar_row,) = rows_from([row("Layla", "Haddad", "ar", **plan)], kit.catalog(today))
    pdf = PacketMaker(kit, today).press.letters([(ar_row, "ar")])[0]
    buffer = io.BytesIO()
    pdf.save(buffer)
    with pdfplumber.open(buffer) as letter:
        tops = [[round(c["top"]) for c in page.chars if c["text"] == "Z"] for page in letter.pages]
        arabic = [{round(c["top"]) for c in page.chars if "\u0600" <= c["text"] <= "\u06ff"}
                  for page in letter.pages]
    # the dated line's name shares its line with Arabic words (the box's own line holds it alone)
    # (each font sets its own top: within a third of a line is the same line)
    assert any(abs(top - line) < 7 for names, lines in zip(tops, arabic, strict=True)
               for top in names for line in lines), tops


@pytest.mark.slow
def test_a_blood_thinner_plan_in_english_in_a_chinese_letter_says_so() -> None:
    """The clinician's words print verbatim. A field in Latin letters in a Chinese or Arabic
    letter is English: the box says so in the reader's language, above the plan, and a screen
    reader speaks that field (and only it) in English. A letter in the packet's own script is
    left alone, and so is a full-width English one's script ("ＴＡＫＥ" is Latin). In Spanish
    the script cannot tell: the desk writes the plan in Spanish, and nothing is added."""
    kit = load_kit(load_project(FIXTURE))
    plan = {"blood_thinner": "yes", "blood_thinner_name": "阿哌沙班",
            "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5 (5 µg).",
            "blood_thinner_restart": "手术后第二天早上重新开始。"}
    spanish = {**plan, "blood_thinner_name": "Zapixaban",
               "blood_thinner_stop": "Tome la última dosis el sábado, 5 de diciembre, por la mañana.",
               "blood_thinner_restart": "Vuelva a tomarlo la mañana después de su procedimiento."}
    arabic = {**plan, "blood_thinner_name": "Zapixaban", "blood_thinner_restart": "ＴＡＫＥ it again."}
    today = date(2026, 11, 24)
    rows = [row("秀英", "王", "zh", **plan), row("Layla", "Haddad", "ar", **arabic),
            row("Ana", "Reyes", "es", **spanish)]
    zh_row, ar_row, es_row = rows_from(rows, kit.catalog(today))
    maker = PacketMaker(kit, today)
    zh = maker.make([zh_row])[0].data
    note = "这部分只有英文版。请在就诊前致电555-0100，我们会免费用中文读给您听。"
    text = pdf_text(zh).replace(" ", "")
    assert note in text and text.index(note) < text.index("Takeyourlastdose")
    english = [t for lang, t in language_changes(zh) if lang == "en"]
    assert "TakeyourlastdoseonthemorningofSaturday,December5(5µg)." in english
    assert not [t for t in english if "阿哌沙班" in t or "重新开始" in t]  # the Chinese fields stay Chinese
    letters_only = maker.press.letters([(ar_row, "ar"), (es_row, "es")])[0]
    buffer = io.BytesIO()
    letters_only.save(buffer)
    ar_es = BIDI_MARKS.sub("", pdf_text(buffer.getvalue()))  # poppler splits Arabic words with marks
    assert ar_es.count("إنجليزية") == 1  # the Arabic letter's note ("English"); none in the Spanish one
    assert "inglés" not in ar_es


@pytest.mark.slow  # letters and parts in several languages: many PDFs
def test_an_untranslated_procedure_is_named_in_the_readers_words_when_the_catalog_has_them(
    tmp_path: Path,
) -> None:
    """The letter of a Chinese reader whose procedure has no Chinese handout names it in
    Chinese, with the English title of the handout they will find after it (spoken in
    English); a catalog without the title prints the English alone, and a joining pattern
    with a typo falls back to the plain one, never a traceback."""
    project = copy_sample(tmp_path / "project")
    catalog = project / "content/locale/zh.po"
    original = catalog.read_text(encoding="utf-8")
    title = '\nmsgid "Radiofrequency Ablation"\nmsgstr "射频消融术"\n'
    joined = '\nmsgid "%(title)s (%(english)s)"\nmsgstr "%(title)s（%(english)s）"\n'  # Chinese brackets
    catalog.write_text(original + joined + title, encoding="utf-8")
    words = project / "content/packet.yaml"
    said = "说明书只有英文版。请在就诊前致电 %(phone)s，我们会免费用中文读给您听。"
    text = words.read_text(encoding="utf-8")
    assert text.count("\n  zh:\n") == 1
    text = text.replace("\n  zh:\n", f"\n  zh:\n    in_english_handout: \"{said}\"\n")
    words.write_text(text, encoding="utf-8")
    kit = load_kit(load_project(project))
    today = date(2026, 11, 24)
    rfa = row("秀英", "王", "zh", procedures="radiofrequency-ablation")
    esi = row("秀英", "王", "zh", procedures="epidural-steroid-injection")  # translated: no such line
    (patient, translated) = rows_from([rfa, esi], kit.catalog(today))
    packet = PacketMaker(kit, today).make([patient])[0].data
    letter = pdf_text(packet).replace(" ", "")
    # the reader's name for it, the English handout's title, and on page 1 how to have it read
    assert "您的治疗：射频消融术（RadiofrequencyAblation）说明书只有英文版。请在就诊前致电555-0100" in letter
    assert ("en", "RadiofrequencyAblation") in language_changes(packet)
    others = PacketMaker(kit, today).press.letters([(translated, "zh")])[0]
    buffer = io.BytesIO()
    others.save(buffer)
    assert "说明书只有英文版" not in pdf_text(buffer.getvalue()).replace(" ", "")

    # a pattern that would print a Python dict, drop a title or raise: the plain one instead
    # (the same file, edited: a running preview reads it again)
    for typo in ("%(titel)s（%(english)s）", "%s", "%(title)s"):
        mistyped = joined.replace("%(title)s（%(english)s）", typo)
        catalog.write_text(original + mistyped + title, encoding="utf-8")
        kit = load_kit(load_project(project))
        letters = PacketMaker(kit, today).press.letters([(patient, "zh")])[0]
        buffer = io.BytesIO()
        letters.save(buffer)
        text = pdf_text(buffer.getvalue()).replace(" ", "")
        assert "您的治疗：射频消融术(RadiofrequencyAblation)" in text, typo


@pytest.mark.slow  # letters and parts in several languages: many PDFs
def test_the_closing_pages_name_an_untranslated_procedure_as_the_letter_does(tmp_path: Path) -> None:
    """Aftercare of two procedures, one with no Chinese handout: its heading is the reader's
    name for it with the English title (spoken in English), as in the letter."""
    project = copy_sample(tmp_path / "project")
    catalog = project / "content/locale/zh.po"
    entries = ('\nmsgid "%(title)s (%(english)s)"\nmsgstr "%(title)s（%(english)s）"\n'
               '\nmsgid "Radiofrequency Ablation"\nmsgstr "射频消融术"\n')
    catalog.write_text(catalog.read_text(encoding="utf-8") + entries, encoding="utf-8")
    kit = load_kit(load_project(project))
    today = date(2026, 11, 24)
    both = f"{ESI};radiofrequency-ablation"
    (patient,) = rows_from([row("秀英", "王", "zh", procedures=both)], kit.catalog(today))
    packet = PacketMaker(kit, today).make([patient])[0].data
    pages = [page.replace(" ", "") for page in pdf_pages(packet)]
    closing = [page for page in pages if "射频消融术（RadiofrequencyAblation）" in page]
    assert len(closing) >= 2, "the letter and the closing pages both name it"  # letter, aftercare
    assert ("en", "RadiofrequencyAblation") in language_changes(packet)


@pytest.mark.slow
def test_an_english_title_in_an_arabic_line_is_never_wrapped(tmp_path: Path) -> None:
    """Wrapped inside a right-to-left line, an English title and the brackets around it trade
    places ("(Plasma (PRP) Injection" under "Platelet-Rich)"): a title that fits a line keeps
    to one, in large print too, and its brackets close around it."""
    project = copy_sample(tmp_path / "project")
    catalog = project / "content/locale/ar.po"
    title = '\nmsgid "Platelet-Rich Plasma (PRP) Injection"\nmsgstr "حقن البلازما الغنية بالصفائح الدموية"\n'
    catalog.write_text(catalog.read_text(encoding="utf-8") + title, encoding="utf-8")
    kit = load_kit(load_project(project))
    today = date(2026, 11, 24)
    (patient,) = rows_from([row("يوسف", "العلي", "ar", procedures="prp-injection", large_print="yes")],
                           kit.catalog(today))
    letter = PacketMaker(kit, today).press.letters([(patient, "ar")])[0]
    buffer = io.BytesIO()
    letter.save(buffer)
    lines = pdf_lines(buffer.getvalue())
    (title,) = [line for line in lines if "Platelet" in line or "Injection" in line]
    # (poppler reads the brackets' mirrored glyphs back as either bracket: the words are the point)
    assert re.search(r"Platelet-Rich Plasma .PRP. Injection", title), lines


def test_a_chinese_date_never_breaks_between_a_number_and_its_unit() -> None:
    """Line breaking may part "2026年11月24" from "日": a word joiner (drawn as nothing, not in
    copied text) holds each number to its 年, 月 or 日; other scripts are left as they are."""
    from handout_gen.render.jinja import medium_date, weekday_date

    joined = "2026\u2060年\u206011\u2060月\u206024\u2060日"
    assert medium_date(date(2026, 11, 24), "zh_Hans_CN") == joined
    assert weekday_date(date(2026, 11, 24), "zh_Hans_CN").startswith("11\u2060月\u206024\u2060日")
    assert "\u2060" not in medium_date(date(2026, 11, 24), "en") + weekday_date(date(2026, 11, 24), "es")


@pytest.mark.slow
def test_the_language_help_notice_opens_in_the_readers_language(sample_project: Path) -> None:
    """A Spanish reader meets the notice's Spanish line first, not an English one, the English
    handout they get for want of a Spanish edition included; the English handout keeps the
    practice's order (English first)."""
    (sample_project / "content/procedures/prp-injection.es.md").unlink()
    project = load_project(sample_project)
    spanish = pdf_text(render_handout(project, ESI, Variant("es")))
    fallback = pdf_text(render_handout(project, "prp-injection", Variant("es")))
    english = pdf_text(render_handout(project, ESI, Variant("en")))
    for text in (spanish, fallback):
        assert 0 <= text.index("Ayuda gratis en su idioma") < text.index("Free help in your language")
    assert "Platelet-Rich Plasma" in fallback  # the English edition, for the Spanish reader
    assert 0 <= english.index("Free help in your language") < english.index("Ayuda gratis en su idioma")
