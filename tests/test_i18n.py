"""Spanish: every template string is translated, dates are Spanish, the PDF says lang=es."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pikepdf
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from handout_gen.content.project import load_project
from handout_gen.core.paths import PACKAGE_DIR
from handout_gen.handouts import Variant, render_handout
from handout_gen.render.jinja import make_env
from tests.conftest import FIXTURE

from .pdfutil import pdf_links, pdf_text

PO = PACKAGE_DIR / "locale/es/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def template_msgids() -> set[str]:
    """What `pybabel extract -F babel.cfg -k translate` finds in the package."""
    method_map = [("templates/**.j2", "jinja2"), ("**.py", "python")]
    options = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    keywords = {**DEFAULT_KEYWORDS, "translate": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PACKAGE_DIR, method_map, options, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_template_string_has_a_spanish_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    msgids = template_msgids()
    assert {"Key points", "Page %(page)s of %(pages)s", "When to call us"} <= msgids
    for msgid in sorted(msgids):
        message = catalog.get(msgid)
        assert message is not None and message.string, f"no Spanish for {msgid!r}"
        assert not message.fuzzy, f"fuzzy: {msgid!r}"
        text = message.string if isinstance(message.string, str) else message.string[0]
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_the_template_catalog_lists_every_template_string() -> None:
    """messages.pot is what translators and ``check`` go by: it must not miss a phrase."""
    with (PACKAGE_DIR / "locale/messages.pot").open("rb") as handle:
        # a plural entry's id is (one, other): the templates name it by its one
        pot = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert template_msgids() <= pot


@pytest.mark.slow
def test_check_names_the_phrases_a_language_catalog_leaves_in_english(sample_project: Path) -> None:
    """The Chinese catalog without its web-page phrases: one warning on zh.po that counts and
    quotes them. The Arabic catalog with the 911 heading's former msgid still covers it."""
    from handout_gen.checks.runner import run_checks

    zh = sample_project / "content/locale/zh.po"
    kept, web = zh.read_text(encoding="utf-8").split("# Web pages and the newsletter")
    zh.write_text(kept, encoding="utf-8")
    left_out = web.count('\nmsgid "')
    ar = sample_project / "content/locale/ar.po"
    ar.write_text(ar.read_text(encoding="utf-8").replace(
        "emergency room if:", "emergency room if you have:"), encoding="utf-8")
    findings = [f for f in run_checks(sample_project, pdf=False).findings if f.rule == "translation.catalog"]
    assert [(f.file, f.severity) for f in findings] == [("content/locale/zh.po", "warning")]
    message = findings[0].message
    assert message.startswith(f"{left_out} phrases of the page furniture have no Chinese (Simplified) "
                              "translation")
    assert "'Address', 'After hours:'" in message and f"and {left_out - 5} more" in message


def test_spanish_dates_and_times_use_es_us_without_narrow_spaces() -> None:
    env = make_env()
    template = env.from_string("{{ d|long_date }} | {{ d|short_date }} | {{ t|clock }}")
    text = template.render(lang="es", d=date(2026, 12, 1), t=time(8, 30))
    assert text == "martes, 1 de diciembre de 2026 | 1 de diciembre de 2026 | 8:30\u00a0a.m."
    assert "\u202f" not in text


@pytest.mark.slow
def test_spanish_pdf_has_lang_es_spanish_furniture_and_dates(tmp_path: Path) -> None:
    project = load_project(FIXTURE)
    data = render_handout(project, "epidural-steroid-injection", Variant("es"))
    path = tmp_path / "esi.es.pdf"
    path.write_bytes(data)
    with pikepdf.open(path) as pdf:
        assert str(pdf.Root.Lang) == "es"
    text = pdf_text(data)
    assert "Página 1 de " in text and "Page 1" not in text
    assert "Puntos clave" in text and "Cuándo llamarnos" in text
    assert "Borrador del 2 de noviembre de 2026, aún sin revisar por:" in text  # status: draft
    assert "Llámenos: 555-0100" in text


@pytest.mark.slow
def test_each_edition_prints_and_links_its_own_web_page(sample_project: Path) -> None:
    """The QR code and the printed address lead a Spanish reader to the Spanish page."""
    (sample_project / "content" / "procedures" / "prp-injection.es.md").unlink()
    project = load_project(sample_project)
    base = "https://www.example.org/procedures/"
    for slug, lang, url in (
        ("radiofrequency-ablation", "en", f"{base}radiofrequency-ablation"),
        ("radiofrequency-ablation", "es", f"{base}radiofrequency-ablation/es/"),
        ("prp-injection", "es", f"{base}prp-injection"),  # no Spanish edition: the English page
    ):
        data = render_handout(project, slug, Variant(lang))
        assert set(pdf_links(data)) == {url}  # one link (a wrapped address is two annotations)
        assert url.removeprefix("https://") in pdf_text(data).replace("/ ", "/")  # wrapped after a slash


CALL_WITHIN = (
    '{{ ngettext("If you have any of these, call us at %(phone)s within %(hours)s hour of noticing it:", '
    '"If you have any of these, call us at %(phone)s within %(hours)s hours of noticing it:", n, hours=n, '
    'phone="555-0100") }}'
)


def test_call_within_hours_is_said_in_each_languages_plural_forms(tmp_path: Path) -> None:
    """"within 1 hours", "en menos de 1 horas" and the Arabic "خلال 2 ساعات" were one msgid for
    every number: each language now has its own forms (Arabic: one, two, three to ten...)."""
    env = make_env()
    template = env.from_string(CALL_WITHIN)
    catalogs = FIXTURE / "content/locale"

    def said(lang: str, n: int, folder: Path = catalogs) -> str:
        return template.render(lang=lang, n=n, catalog_dir=folder)

    assert "within 1 hour of" in said("en", 1) and "within 2 hours of" in said("en", 2)
    assert "en menos de 1 hora desde" in said("es", 1) and "en menos de 2 horas desde" in said("es", 2)
    assert "خلال ساعة واحدة من" in said("ar", 1)
    assert "خلال ساعتين من" in said("ar", 2) and "ساعات" not in said("ar", 2)
    assert "خلال 3 ساعات من" in said("ar", 3) and "خلال 12 ساعة من" in said("ar", 12)
    assert "在发现后 2 小时内致电 555-0100" in said("zh", 2)
    # a project catalog made before the plural forms still gives its one translation
    old = tmp_path / "locale"
    old.mkdir()
    text = (catalogs / "zh.po").read_text(encoding="utf-8")
    singular = "If you have any of these, call us at %(phone)s within %(hours)s hour of noticing it:"
    (old / "zh.po").write_text(text.replace(f'msgid "{singular}"\nmsgid_plural ', "msgid ").replace(
        "msgstr[0]", "msgstr"), encoding="utf-8")
    assert "在发现后 2 小时内致电 555-0100" in said("zh", 2, old)
    assert "within 1 hour of" in said("vi", 1)  # a language with no catalog: English, in its forms


def test_a_plural_phrase_with_an_empty_form_counts_as_untranslated(sample_project: Path) -> None:
    """A plural entry copied from messages.pot and left empty (or with one form empty) prints
    English: check names it as it names a missing phrase."""
    from handout_gen.checks.catalogs import catalog_findings

    zh = sample_project / "content/locale/zh.po"
    text = zh.read_text(encoding="utf-8")
    filled = 'msgstr[0] "如果您有以下任何情况，请在发现后 %(hours)s 小时内致电 %(phone)s："'
    assert filled in text
    zh.write_text(text.replace(filled, 'msgstr[0] ""'), encoding="utf-8")
    (finding,) = catalog_findings(load_project(sample_project))
    assert finding.file == "content/locale/zh.po"
    assert "within %(hours)s hour of noticing it" in finding.message


def test_a_catalog_with_the_old_one_form_phrase_is_told_to_add_the_plural_forms(sample_project: Path) -> None:
    """A project's Arabic catalog made before "within N hours" got plural forms still prints
    its one form ("خلال 2 ساعات"): check says which phrase and what to add."""
    from handout_gen.checks.catalogs import catalog_findings

    ar = sample_project / "content/locale/ar.po"
    text = ar.read_text(encoding="utf-8")
    one = "If you have any of these, call us at %(phone)s within %(hours)s hour of noticing it:"
    start = text.index(f'msgid "{one}"')
    end = text.index("\n\n", start)
    old = ('msgid "If you have any of these, call us at %(phone)s within %(hours)s hours of noticing it:"\n'
           'msgstr "إذا كان لديك أي من هذه، اتصل بنا على %(phone)s خلال %(hours)s ساعات من ملاحظة ذلك:"')
    ar.write_text(text[:start] + old + text[end:], encoding="utf-8")
    (finding,) = catalog_findings(load_project(sample_project))
    assert finding.file == "content/locale/ar.po" and finding.message.startswith(
        "1 phrase has one Arabic form for every number")
    assert one in finding.message and "msgid_plural" in finding.fix
