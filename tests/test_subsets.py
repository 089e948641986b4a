"""Compact font subsets (render/subsets.py): CJK and Arabic programs cut to the glyphs shown,
checked on real WeasyPrint output with poppler, qpdf, pdfplumber and fontTools."""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from datetime import date
from functools import cache
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops

from handout_gen.content.project import load_project
from handout_gen.handouts import Renderer, Variant, handout_html, render_handout
from handout_gen.packets.kit import load_kit
from handout_gen.packets.packet import PacketMaker
from handout_gen.packets.roster import rows_from
from handout_gen.render.cff import subset_cid_cff
from handout_gen.render.subsets import shrink_fonts, shrink_pdf_bytes
from tests.conftest import FIXTURE

from .pdfutil import missing_glyphs, pdf_text, shown_glyphs, tool

ESI = "epidural-steroid-injection"
NOTICE_ZH = "免费语言协助：我们可以为您免费提供口译员和翻译文件。"
NOTICE_AR = ("مساعدة", "مجانية", "بلغتك", "تكلفة")  # poppler prints Arabic words in visual order
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def has_notice(text: str) -> bool:
    text = BIDI_MARKS.sub("", text)
    return NOTICE_ZH in text.replace(" ", "") and all(word in text for word in NOTICE_AR)


@cache
def zh_handout() -> bytes:
    """The Chinese handout as WeasyPrint writes it (glyph ids retained), before the renderer
    makes its subsets compact."""
    project = load_project(FIXTURE)
    renderer = Renderer(project)
    html = handout_html(project, project.procedure(ESI), Variant("zh"), renderer.env)
    pdf = renderer.engine.pdf
    return pdf.write(pdf.paged(html, project.content_dir))


def programs(data: bytes) -> dict[str, tuple[int, str]]:
    """Each embedded font (name without its subset tag): its program's length and kind."""
    found = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for font in pdf.objects:
            if isinstance(font, pikepdf.Dictionary) and font.get("/Subtype") == "/Type0":
                descriptor = font.DescendantFonts[0].FontDescriptor
                key = "/FontFile3" if "/FontFile3" in descriptor else "/FontFile2"
                kind = str(descriptor[key].get("/Subtype", "TrueType"))
                found[str(font.BaseFont).split("+")[-1]] = (len(descriptor[key].read_bytes()), kind)
    return found


def pages_png(data: bytes, folder: Path) -> list[Image.Image]:
    folder.mkdir()
    (folder / "doc.pdf").write_bytes(data)
    tool("pdftoppm", "-png", "-r", "60", folder / "doc.pdf", folder / "p")
    return [Image.open(path).convert("RGB") for path in sorted(folder.glob("p-*.png"))]


@pytest.mark.slow
def test_a_chinese_handout_shrinks_and_prints_the_same(tmp_path: Path) -> None:
    before = zh_handout()
    after = shrink_pdf_bytes(before)
    old, new = programs(before), programs(after)
    assert set(old) == set(new) and "Noto-Sans-CJK-SC" in new and "Noto-Naskh-Arabic" in new
    for name in ("Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"):
        assert new[name][0] * 5 < old[name][0], (name, old[name], new[name])
        assert (old[name][1], new[name][1]) == ("/OpenType", "/CIDFontType0C")
    assert new["Noto-Naskh-Arabic"][0] * 2 < old["Noto-Naskh-Arabic"][0]
    assert len(after) * 3 < len(before)
    # The same glyphs in the same order and fonts, each inside its (now compact) subset.
    shown_before, shown_after = shown_glyphs(before), shown_glyphs(after)
    assert [f.split("+")[1] for f, _, _ in shown_after] == [f.split("+")[1] for f, _, _ in shown_before]
    assert missing_glyphs(after) == []
    cjk = {(gid, count) for font, gid, count in shown_after if font.endswith("+Noto-Sans-CJK-SC")}
    assert max(count for _, count in cjk) == len(cjk) + 1  # the glyphs shown and .notdef, no more
    # ToUnicode rebuilt: poppler and pdfminer read the same text, Chinese and Arabic included.
    assert pdf_text(after) == pdf_text(before)
    assert "硬膜外类固醇注射" in pdf_text(after) and has_notice(pdf_text(after))
    with pdfplumber.open(io.BytesIO(before)) as a, pdfplumber.open(io.BytesIO(after)) as b:
        assert [p.extract_text() for p in a.pages] == [p.extract_text() for p in b.pages]
    (tmp_path / "x.pdf").write_bytes(after)
    tool("qpdf", "--check", tmp_path / "x.pdf")  # exits non-zero on any error
    fonts = tool("pdffonts", tmp_path / "x.pdf").splitlines()[2:]
    assert len(fonts) == 4 and all(line.split()[-5:-2] == ["yes", "yes", "yes"] for line in fonts)
    # Drawn the same, pixel for pixel.
    pixels = zip(pages_png(before, tmp_path / "a"), pages_png(after, tmp_path / "b"), strict=True)
    assert all(ImageChops.difference(a, b).getbbox() is None for a, b in pixels)


@pytest.mark.slow
def test_handouts_are_written_with_compact_subsets() -> None:
    """Every handout prints the language-help lines in Chinese and Arabic: the renderer makes
    those subsets compact, so an English handout is not mostly empty CJK glyph slots."""
    project = load_project(FIXTURE)
    assert render_handout(project, ESI, Variant("zh")) == shrink_pdf_bytes(zh_handout())
    english = render_handout(project, ESI, Variant("en"))
    fonts = programs(english)
    assert fonts["Noto-Sans-CJK-SC"][1] == "/CIDFontType0C" and fonts["Noto-Sans-CJK-SC"][0] < 20_000
    assert len(english) < 50_000  # 175 KB with WeasyPrint's retained-id subsets
    assert has_notice(pdf_text(english)) and missing_glyphs(english) == []


def test_a_shrunk_file_is_left_as_it_is() -> None:
    once = shrink_pdf_bytes(zh_handout())
    assert once != zh_handout() and shrink_pdf_bytes(once) is once  # compact already: not even re-saved


def test_a_text_operator_with_no_font_leaves_the_file_alone() -> None:
    """A font it cannot account for is never rewritten (the file is kept whole, not broken)."""
    with pikepdf.open(io.BytesIO(zh_handout())) as pdf:
        page = pdf.pages[0]
        page.contents_add(pdf.make_stream(b"BT <0001> Tj ET"), prepend=True)
        before = [bytes(o.read_raw_bytes()) for o in pdf.objects if isinstance(o, pikepdf.Stream)]
        assert shrink_fonts(pdf) == 0
        assert [bytes(o.read_raw_bytes()) for o in pdf.objects if isinstance(o, pikepdf.Stream)] == before


def test_the_cff_cut_copies_the_kept_charstrings() -> None:
    with pikepdf.open(io.BytesIO(zh_handout())) as pdf:
        font = next(
            f
            for f in pdf.objects
            if isinstance(f, pikepdf.Dictionary)
            and str(f.get("/BaseFont", "")).endswith("+Noto-Sans-CJK-SC")
            and f.get("/Subtype") == "/Type0"
        )
        program = font.DescendantFonts[0].FontDescriptor.FontFile3.read_bytes()
    original = TTFont(io.BytesIO(program))
    keep = [0, *sorted({gid for gid, _ in _shown_with(font_name="+Noto-Sans-CJK-SC")})[:50]]
    cut = CFFFontSet()
    cut.decompile(io.BytesIO(subset_cid_cff(original.reader["CFF "], keep)), None)
    top, old_top = cut[cut.fontNames[0]], original["CFF "].cff.topDictIndex[0]
    assert top.charset == [".notdef"] + [f"cid{i:05d}" for i in range(1, len(keep))]  # CID = GID
    new_strings, old_strings = top.CharStrings.charStringsIndex, old_top.CharStrings.charStringsIndex
    assert [new_strings[i].bytecode for i in range(len(keep))] == [old_strings[g].bytecode for g in keep]
    assert [top.FDSelect[i] for i in range(len(keep))] == [old_top.FDSelect[g] for g in keep]


def _shown_with(font_name: str) -> set[tuple[int, int]]:
    return {(gid, count) for font, gid, count in shown_glyphs(zh_handout()) if font.endswith(font_name)}


@pytest.mark.slow
def test_packets_carry_compact_subsets_in_parts_and_letters(tmp_path: Path) -> None:
    """The contacts page's language-help notice (a cached part) and a Chinese cover letter
    (stacked Form XObjects of a letter batch) both print from compact subsets."""
    today = date(2026, 11, 24)
    kit = load_kit(load_project(FIXTURE))
    base = {
        "procedures": ESI,
        "date": "2026-12-09",
        "time": "9:30",
        "location": "orchard",
        "physician": "okafor",
        "patient_id": "MH-0042",
    }
    rows = rows_from(
        [
            {**base, "first_name": "Ana", "last_name": "Reyes", "language": "en"},
            {**base, "first_name": "小明", "last_name": "王", "language": "zh"},
        ],
        kit.catalog(today),
    )
    english, chinese = PacketMaker(kit, today).make(rows)
    assert len(english.data) < 150_000  # 240 KB with the retained-id subsets of WeasyPrint
    assert len(chinese.data) < 250_000  # its Chinese glyphs are real outlines (~140 bytes each)
    for packet in (english, chinese):
        assert has_notice(pdf_text(packet.data))
        assert missing_glyphs(packet.data) == []
        for font, (size, kind) in programs(packet.data).items():
            if "CJK" in font:
                assert kind == "/CIDFontType0C" and size < 60_000, (font, size)
        counts: dict[str, set[int]] = {}
        for font, gid, count in shown_glyphs(packet.data):
            if "CJK" in font:
                counts.setdefault(f"{font}/{count}", set()).add(gid)
        # Compact: a subset holds the glyphs shown (a part's other pages, the glyph kit's
        # unused stamp pieces and the letter batch's other letters may add a few) and .notdef.
        assert counts and all(int(k.rsplit("/", 1)[1]) <= 2 * len(v) + 1 for k, v in counts.items())
        (tmp_path / "packet.pdf").write_bytes(packet.data)
        tool("qpdf", "--check", tmp_path / "packet.pdf")


def test_a_cut_font_program_is_not_stamped_with_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identical input, identical bytes: saving a cut TrueType program must not write the
    time into its ``head`` table (fontTools would, and takes it from SOURCE_DATE_EPOCH)."""
    from handout_gen.render import subsets

    made = []
    for epoch in ("1700000000", "1800000000"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        monkeypatch.setattr(subsets, "_MEMO", OrderedDict())  # cut again, not remembered
        made.append(shrink_pdf_bytes(zh_handout()))
    assert len(made[0]) < len(zh_handout()) // 2  # a program was cut
    assert made[0] == made[1]
