"""The static site (handout-gen site): a page at every printed address, metadata, incremental builds."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.core.errors import ValidationFailed
from handout_gen.site.build import SiteReport, build_site
from handout_gen.site.plan import SitePlan, plan_site
from handout_gen.site.urls import SiteUrls, file_for, normalise
from tests.conftest import copy_warm

pytestmark = pytest.mark.slow  # builds every handout once per module

SITE_ROOT = "https://www.example.org/"
Built = tuple[Path, SitePlan, SiteReport]
RFA = "procedures/radiofrequency-ablation/"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, warm_practice: Path) -> Built:
    """The fixture practice's site, built once for the read-only tests of this module (on a
    copy whose handouts are built: the site's own pages are the point here)."""
    root = copy_warm(tmp_path_factory.mktemp("site") / "project", warm_practice)
    project = load_project(root)
    report = build_site(project)
    return root / "output" / "site", plan_site(project), report


def page(site: Path, path: str) -> Any:
    return lxml_html.document_fromstring((site / file_for(path)).read_bytes())


def json_ld(tree: Any) -> list[dict[str, Any]]:
    scripts = tree.xpath('//script[@type="application/ld+json"]')
    assert len(scripts) == 1
    data = json.loads(scripts[0].text)
    assert data["@context"] == "https://schema.org"
    return list(data["@graph"])


def test_every_planned_file_is_written_and_nothing_else(built: Built) -> None:
    site, plan, report = built
    on_disk = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert on_disk == plan.files()
    assert {"index.html", f"{RFA}index.html", f"{RFA}es/index.html", "locations/index.html",
            "locations/orchard/index.html", "newsletters/index.html", "newsletters/2026-12/index.html",
            "newsletters/feed.xml", "email/unsubscribe/index.html", "email/unsubscribe/es/index.html",
            "email/preferences/es/index.html", "sitemap.xml", "robots.txt",
            "assets/site.css", "assets/logo.png", "assets/fonts/AtkinsonHyperlegible-Regular.woff2",
            "assets/images/newsletter-2026-12-hero.png", "handouts/radiofrequency-ablation.es.large.pdf",
            } <= on_disk
    assert len(report.site.written) == len(on_disk) and report.site.skipped == []
    name, size = report.largest_page
    assert name.endswith(".html") and 0 < size < 40_000  # small pages: no framework


def test_procedure_page_says_what_the_handout_says(built: Built) -> None:
    site, plan, _ = built
    meta = plan.project.procedure("radiofrequency-ablation").meta
    tree = page(site, RFA)
    assert tree.get("lang") == "en"
    assert tree.findtext(".//title") == "Radiofrequency Ablation - Maple Hollow Spine & Pain Center"
    main = tree.find(".//main")
    text = " ".join(main.text_content().split())
    assert [h.text_content() for h in main.iter("h1")] == ["Radiofrequency Ablation"]
    assert [h.text_content() for h in main.iter("h2")] == [
        "Key points", "What it is", "Who it may help", "Before your visit", "The day of your visit",
        "After your visit", "When to call us", "Handouts to print"]
    for item in [*meta.key_points, *meta.aftercare, *meta.call_us_if, *meta.go_to_er_if]:
        assert " ".join(item.split()) in text
    assert "Draft: our clinical team has not finished reviewing this page." in text
    reviewed = ("Version RFA-2026.2. A draft of November 2, 2026, not yet reviewed by: "
                "Interventional pain physician.")
    assert reviewed in text
    pdfs = {a.get("href") for a in main.iter("a") if a.get("href", "").endswith(".pdf")}
    assert pdfs == {"/handouts/radiofrequency-ablation.pdf", "/handouts/radiofrequency-ablation.large.pdf"}
    assert re.search(r"Large-print handout \(PDF, \d+ KB\)", text)


def test_editions_point_at_each_other_and_name_their_language(built: Built) -> None:
    site, _, _ = built
    expected = {"en": f"{SITE_ROOT}{RFA}", "es": f"{SITE_ROOT}{RFA}es/", "x-default": f"{SITE_ROOT}{RFA}"}
    for path, lang in ((RFA, "en"), (f"{RFA}es/", "es")):
        tree = page(site, path)
        assert tree.get("lang") == lang
        links = {e.get("hreflang"): e.get("href") for e in tree.xpath('//link[@rel="alternate"][@hreflang]')}
        assert links == expected
        assert tree.xpath('//link[@rel="canonical"]/@href') == [expected[lang]]
        assert tree.xpath('//meta[@property="og:url"]/@content') == [expected[lang]]
        other = "es" if lang == "en" else "en"
        (switch,) = tree.xpath(f'//nav[@class="editions"]/p/a[@hreflang="{other}"]')
        assert switch.get("lang") == other
        assert switch.get("href") == "/" + (f"{RFA}es/" if other == "es" else RFA)
    spanish = " ".join(page(site, f"{RFA}es/").find(".//main").text_content().split())
    assert "Puntos clave" in spanish and "Cuándo llamarnos" in spanish and "Hojas para imprimir" in spanish


def test_json_ld_names_the_procedure_and_the_clinic(built: Built) -> None:
    site, _, _ = built
    web_page, clinic, website = json_ld(page(site, f"{RFA}es/"))
    assert web_page["@type"] == "MedicalWebPage" and web_page["inLanguage"] == "es"
    assert web_page["about"]["@type"] == "MedicalProcedure"
    assert web_page["about"]["name"] == "Ablación por radiofrecuencia"
    assert web_page["lastReviewed"] == "2026-11-02" and web_page["creativeWorkStatus"] == "Draft"
    assert web_page["reviewedBy"]["jobTitle"]
    assert clinic["@type"] == "MedicalClinic" and clinic["name"] == "Maple Hollow Spine & Pain Center"
    assert [d["name"] for d in clinic["department"]] == ["Orchard Way Clinic", "Riverside Procedure Suite"]
    assert [e["name"] for e in clinic["employee"]] == ["Adaeze Okafor", "Soren Lindqvist"]
    assert website["@type"] == "WebSite"
    overview = json_ld(page(site, "procedures/interventional-pain-care/"))[0]
    assert overview["about"]["@type"] == "MedicalTherapy"


def test_every_page_is_plain_html_with_headings_in_order(built: Built) -> None:
    """No script but JSON-LD, one h1, no skipped heading level, every own link resolves."""
    site, plan, _ = built
    files = plan.files()
    for path in (p for p in plan.pages if file_for(p).endswith(".html")):
        tree = page(site, path)
        assert tree.get("lang") in ("en", "es", "zh", "ar"), path
        assert all(s.get("type") == "application/ld+json" for s in tree.iter("script")), path
        levels = [int(h.tag[1]) for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        assert levels.count(1) == 1 and levels[0] == 1, path
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (path, levels)
        assert tree.find(".//main") is not None, path
        for element in tree.xpath("//*[@href or @src]"):
            target = element.get("href") or element.get("src")
            if target.startswith("/"):
                assert file_for(normalise(target.split("?")[0]) or "") in files, (path, target)


def test_location_pages_archive_and_issue(built: Built) -> None:
    site, _, _ = built
    orchard = " ".join(page(site, "locations/orchard/").find(".//main").text_content().split())
    for fact in ("Orchard Way Clinic", "400 Orchard Way, Suite 210", "555-0101",
                 "Monday to Friday, 6:30 AM to 4:30 PM", "arrive 30 minutes before"):
        assert fact in orchard
    map_link = page(site, "locations/orchard/").xpath('//a[@class="button"]/@href')[0]
    assert map_link.startswith("https://www.openstreetmap.org/search?query=400%20Orchard%20Way")
    archive = page(site, "newsletters/")
    assert archive.xpath("//main//a/@href")[0] == "/newsletters/2026-12/"
    issue = page(site, "newsletters/2026-12/")
    assert issue.get("lang") == "en" and issue.find(".//main/div[@role='article']") is not None
    assert issue.xpath('//link[@rel="canonical"]/@href') == [f"{SITE_ROOT}newsletters/2026-12/"]
    assert json_ld(issue)[0]["@type"] == "Article"
    assert issue.xpath("//img/@src")[:2] == ["/assets/logo.png", "/assets/images/newsletter-2026-12-hero.png"]


def test_an_issue_page_leads_to_its_other_editions(built: Built) -> None:
    """A Spanish reader who lands on the English issue finds the Spanish edition, and a search
    engine finds each edition's language."""
    site, _, _ = built
    issue = page(site, "newsletters/2026-12/")
    spanish_url = f"{SITE_ROOT}newsletters/2026-12/es/"
    assert issue.xpath('//link[@rel="alternate"][@hreflang="es"]/@href') == [spanish_url]
    (spanish,) = issue.xpath('//header//nav//a[@hreflang="es"]')
    assert (spanish.get("href"), spanish.text_content()) == ("/newsletters/2026-12/es/", "Español")
    assert issue.xpath("//header/p")[0].text_content() == "Tuesday, December 1, 2026"  # its days name no year
    hrefs = issue.xpath("//a/@href")
    assert not [href for href in hrefs if "utm_" in href] and f"{SITE_ROOT}locations" in " ".join(hrefs)
    back = page(site, "newsletters/2026-12/es/")
    assert back.xpath("//header/p")[0].text_content() == "martes, 1 de diciembre de 2026"
    assert back.xpath('//header//nav//a[@hreflang="en"]/@href') == ["/newsletters/2026-12/"]
    metas = back.xpath("//meta[starts-with(@property, 'og:locale')]")
    locales = {m.get("property"): m.get("content") for m in metas}
    assert locales == {"og:locale": "es_US", "og:locale:alternate": "en_US"}


def test_sitemap_feed_and_robots(built: Built) -> None:
    site, plan, _ = built
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml",
          "a": "http://www.w3.org/2005/Atom"}
    sitemap = ET.parse(site / "sitemap.xml").getroot()  # noqa: S314 - the build's own output
    locs = [e.text for e in sitemap.findall("s:url/s:loc", ns)]
    assert f"{SITE_ROOT}{RFA}es/" in locs and f"{SITE_ROOT}email/unsubscribe/" not in locs
    assert len(locs) == len([p for p in plan.pages.values() if p.kind not in
                             ("feed", "sitemap", "robots", "unsubscribe", "preferences", "notfound")])
    urls = sitemap.findall("s:url", ns)
    rfa = next(u for u in urls if u.findtext("s:loc", namespaces=ns) == SITE_ROOT + RFA)
    assert {x.get("hreflang") for x in rfa.findall("x:link", ns)} == {"en", "es", "x-default"}
    feed = ET.parse(site / "newsletters" / "feed.xml").getroot()  # noqa: S314 - the build's own output
    (entry,) = feed.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns).startswith("December news")
    assert entry.findtext("a:updated", namespaces=ns) == "2026-12-01T00:00:00Z"
    robots = (site / "robots.txt").read_text()
    assert "Disallow: /email/unsubscribe/" in robots and f"Sitemap: {SITE_ROOT}sitemap.xml" in robots


def test_the_spanish_editions_footer_links_lead_to_spanish_pages(built: Built) -> None:
    """Where no unsubscribe app runs, a Spanish reader's link still opens a page in Spanish."""
    site, plan, _ = built
    said = {  # where no app runs the footer's links land here: what to do, not "use the link"
        "unsubscribe": ("Dejar de recibir nuestros correos",
                        "responda a uno de nuestros correos con la palabra «baja» o llámenos al 555-0100"),
        "preferences": ("Sus preferencias de correo", "Para recibir nuestro boletín en otro idioma, o para "
                        "dejar de recibirlo, responda a uno de nuestros correos o llámenos al 555-0100"),
    }
    for kind, (heading, words) in said.items():
        path = f"email/{kind}/es/"
        assert (plan.pages[path].kind, plan.pages[path].lang) == (kind, "es")
        tree = page(site, path)
        assert tree.get("lang") == "es" and tree.findtext(".//h1") == heading
        assert tree.findtext(".//title").startswith(heading)
        assert tree.xpath('//meta[@name="robots"]/@content') == ["noindex"]
        text = " ".join(tree.find(".//main").text_content().split())
        assert words in text and "enlace" not in text
    assert "email/unsubscribe/zh/" not in plan.pages  # no newsletter in Chinese: no page either


def test_every_page_leads_to_each_other_language_and_offers_an_interpreter(built: Built) -> None:
    """A Spanish, Chinese or Arabic reader who lands on any page (from the newsletter, a
    typed address) finds their language in the header, in its own name: this page in it, or
    that language's home where the page has none. The footer offers free language help in
    every language, the page's own first, as the printed handouts do."""
    site, plan, _ = built
    for path, found in plan.pages.items():
        if not path.endswith("/") or found.kind == "issue":  # an issue's page is its email, as sent
            continue
        tree = page(site, path)
        links = dict(zip(tree.xpath("//header//nav[@class='languages']//a/@lang"),
                         tree.xpath("//header//nav[@class='languages']//a/@href"), strict=True))
        own = tree.get("lang")
        assert set(links) == {"en", "es", "zh", "ar"} - {own}, path
        for code, href in links.items():
            target = plan.pages[href.lstrip("/")]
            assert target.lang == code, (path, href)
            same = (target.kind, target.key) == (plan.pages[path].kind, plan.pages[path].key)
            assert same or target.kind == "home", (path, href)
        notice = tree.xpath("//footer//div[@class='language-help']/p/@lang")
        assert notice[0] == own and sorted(notice) == ["ar", "en", "es", "zh"], path
    english = page(site, RFA)
    assert english.xpath("//header//nav[@class='languages']//a[@lang='es']/@href") == [f"/{RFA}es/"]
    languages = "//header//nav[@class='languages']"
    assert english.xpath(f"{languages}//a[@lang='zh']/@href") == ["/zh/"]  # RFA has no Chinese page
    assert english.xpath("//header//nav[@class='languages']//a[@lang='zh']/text()") == ["简体中文"]


def test_phone_numbers_in_the_text_can_be_tapped(built: Built) -> None:
    """"Call us at 555-0100 within 2 hours", the after-hours number and 911 in a page's text
    are tel: links where they are read, not only in the footer; nothing in the head or the
    JSON-LD is touched, and a number already a link is not linked twice."""
    site, _, _ = built
    tree = page(site, RFA)
    call = tree.xpath("//section[@id='call']")[0]
    assert call.xpath(".//p/a/@href")[:2] == ["tel:5550100", "tel:5550199"]
    assert call.xpath(".//h3/a/@href") == ["tel:911"]
    assert not tree.xpath("//a//a")
    raw = (site / RFA / "index.html").read_text(encoding="utf-8")
    head = raw[:raw.index("<body")]
    assert "tel:" not in head and '"telephone"' in raw and 'href="tel:' not in raw[raw.index("ld+json"):
                                                                                     raw.index("</script>")]
    arabic = page(site, "procedures/epidural-steroid-injection/ar/")
    assert arabic.xpath("//section[@id='call']//a/@href")[:1] == ["tel:5550100"]


def test_a_reader_who_came_in_one_language_stays_in_it(built: Built) -> None:
    """Every language the site has pages in gets the pages the menu leads to (home, treatments,
    clinics, newsletter), below the original's address; a page's menu leads to those in its
    own language, in its own words, and its lists to the pages in that language where they
    exist (the rest marked as English for screen readers)."""
    site, plan, _ = built
    for lang in ("es", "zh", "ar"):
        for path, kind in (("", "home"), ("procedures/", "procedures"), ("locations/", "locations"),
                           ("newsletters/", "archive")):
            assert (plan.pages[f"{path}{lang}/"].kind, plan.pages[f"{path}{lang}/"].lang) == (kind, lang)
    menus = {
        RFA + "es/": ["/es/", "/procedures/es/", "/locations/es/", "/newsletters/es/"],
        "locations/orchard/zh/": ["/zh/", "/procedures/zh/", "/locations/zh/", "/newsletters/zh/"],
        "email/unsubscribe/es/": ["/es/", "/procedures/es/", "/locations/es/", "/newsletters/es/"],
        RFA: ["/", "/procedures/", "/locations/", "/newsletters/"],
    }
    for path, links in menus.items():
        assert page(site, path).xpath("//header//nav[not(@class='languages')]//a/@href") == links, path
    spanish = page(site, "es/")
    assert spanish.get("lang") == "es"
    assert spanish.xpath("//header//nav//a/text()")[:2] == ["Inicio", "Tratamientos"]  # the menu first
    assert spanish.xpath("//nav//a[@aria-current='page']/@href") == ["/es/"]
    # a page under a menu item marks it too: the clinic under "Our clinics"
    clinic = page(site, "locations/orchard/zh/")
    assert clinic.xpath("//header//nav//a[@aria-current]/@href") == ["/locations/zh/"]
    assert clinic.xpath("//header//nav//a/@aria-current") == ["true"]
    assert f"/{RFA}es/" in spanish.xpath("//main//h3/a/@href")
    assert spanish.xpath("//main//a[starts-with(@href, '/newsletters/2026-12/')]/@href")[0] == (
        "/newsletters/2026-12/es/")
    chinese = page(site, "procedures/zh/")
    cards = {li.find(".//h2/a").get("href"): li.get("lang") for li in chinese.xpath("//main//li")}
    assert cards["/procedures/epidural-steroid-injection/zh/"] is None  # in the page's language
    assert cards[f"/{RFA}"] == "en"  # no Chinese edition: the English page, said to be English
    assert chinese.findtext(".//h1") == "治疗"
    # a card's links to its other languages say what they are, in the page's language
    (esi,) = [li for li in chinese.xpath("//main//li") if "epidural" in li.find(".//h2/a").get("href")]
    (also,) = esi.xpath(".//p[@class='also-in']")
    assert also.text.strip() == "其他语言：" and also.xpath("a/@hreflang") == ["en", "es", "ar"]
    # on an English card of the Chinese page the label is Chinese, and marked so
    found = [li for li in chinese.xpath("//main//li[@lang='en']") if RFA in li.find(".//h2/a").get("href")]
    (english,) = found
    assert english.xpath(".//p[@class='also-in']/@lang") == ["zh"]
    assert chinese.xpath("//a[@class='skip']/text()") == ["跳到主要内容"]
    hreflangs = page(site, "locations/").xpath('//link[@rel="alternate"]/@hreflang')
    assert set(hreflangs) >= {"en", "es", "zh", "ar", "x-default"}


def test_right_to_left_pages_keep_numbers_and_addresses_left_to_right(built: Built) -> None:
    """On an Arabic page, phone numbers, temperatures and street addresses are isolated as
    left-to-right (LRI ... PDI), else the bidi algorithm prints "0100-555" and "Orchard Way
    ... 400", and so is the number of the Arabic interpreter line on every other page;
    English items in its lists read left to right and say they are English; the logo leads
    to the Arabic home page."""
    site, _, _ = built
    lri, pdi = "\u2066", "\u2069"
    clinic = (site / "locations/orchard/ar/index.html").read_text(encoding="utf-8")
    assert f"{lri}555-0101{pdi}" in clinic and f"{lri}400 Orchard Way, Suite 210{pdi}" in clinic
    shown = page(site, "locations/orchard/ar/").find(".//body").text_content()
    assert shown.count("555-01") == shown.count(f"{lri}555-01")  # every phone number on the page
    esi = (site / "procedures/epidural-steroid-injection/ar/index.html").read_text(encoding="utf-8")
    assert f"{lri}100.4\u00a0°F{pdi}" in esi or f"{lri}100.4 °F{pdi}" in esi
    # the interpreter line in Arabic on a Spanish page too (its number read "0100-555" there)
    (arabic,) = page(site, "locations/orchard/es/").xpath("//footer//p[@lang='ar']")
    assert arabic.get("dir") == "rtl" and f"{lri}555-0100{pdi}" in arabic.text_content()
    home = page(site, "ar/")
    english = [li for li in home.xpath("//main//li[@lang='en']")]
    assert english and all(li.get("dir") == "ltr" for li in english)
    # ...and say so in the reader's language ("الإنجليزية", English as Arabic names it), tagged as Arabic
    labels = [span for li in english for span in li.xpath(".//span[@class='muted']")]
    assert labels and all(s.text_content() == "(الإنجليزية)" and s.get("lang") == "ar" for s in labels)
    chinese = page(site, "zh/").xpath("//main//li[@lang='en']//span[@class='muted']")
    assert chinese and {s.text_content() for s in chinese} == {"(英语)"}
    assert home.xpath("//a[@class='brand']/@href") == ["/ar/"]


def test_clinic_hours_read_in_the_pages_language(built: Built) -> None:
    """Hours join their days and times with the project catalog's word for "to"."""
    site, _, _ = built
    chinese = " ".join(page(site, "locations/orchard/zh/").find(".//main").text_content().split())
    assert "星期一至星期五" in chinese and " to " not in chinese
    arabic = " ".join(page(site, "locations/orchard/ar/").find(".//main").text_content().split())
    assert " to " not in arabic and "إلى" in arabic


def test_stylesheet_has_fonts_focus_and_print_styles(built: Built) -> None:
    css = (built[0] / "assets" / "site.css").read_text()
    assert 'url("fonts/AtkinsonHyperlegible-Regular.woff2") format("woff2")' in css
    assert ":focus-visible { outline: 3px solid #1B4965" in css
    assert "@media print" in css
    assert (built[0] / "assets" / "fonts" / "AtkinsonHyperlegible-Bold.woff2").read_bytes()[:4] == b"wOF2"


def test_no_op_rebuild_writes_nothing_and_an_edit_rewrites_what_shows_it(small_warm_project: Path) -> None:
    """Starts from built handouts: the first site build makes only its pages."""
    build_site(load_project(small_warm_project))
    again = build_site(load_project(small_warm_project))
    assert again.site.written == [] and again.handouts.written == [] and again.removed == []
    spanish = small_warm_project / "content" / "procedures" / "prp-injection.es.md"
    spanish.write_text(spanish.read_text().replace("title: Inyección", "title: La inyección"))
    edited = build_site(load_project(small_warm_project))
    site = small_warm_project / "output" / "site"
    assert sorted(p.relative_to(site).as_posix() for p in edited.site.written) == [
        "es/index.html",  # the Spanish lists of procedures show the title; the others do not
        "handouts/prp-injection.es.large.pdf", "handouts/prp-injection.es.pdf",
        "newsletters/2026-12/es/index.html",  # the Spanish issue may quote any Spanish edition
        "procedures/es/index.html", "procedures/prp-injection/es/index.html",
        "procedures/prp-injection/index.html", "sitemap.xml"]


def test_a_deleted_procedure_loses_its_pages(small_warm_project: Path) -> None:
    build_site(load_project(small_warm_project))
    site = small_warm_project / "output" / "site"
    assert (site / "procedures" / "spinal-cord-stimulation" / "es" / "index.html").is_file()
    for name in ("spinal-cord-stimulation.md", "spinal-cord-stimulation.es.md"):
        (small_warm_project / "content" / "procedures" / name).unlink()
    packets = small_warm_project / "handouts" / "packets.yaml"
    recipe = "  spinal-cord-stimulation:\n    handouts: [interventional-pain-care]\n"
    packets.write_text(packets.read_text().replace(recipe, ""))
    report = build_site(load_project(small_warm_project))
    assert not (site / "procedures" / "spinal-cord-stimulation").exists()
    assert len(report.removed) == 2


def test_cli_site(small_project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(small_project), "site"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "handouts: 8 written, 0 unchanged"
    assert re.fullmatch(r"site: \d+ written, 0 unchanged in output/site/", lines[1])
    assert re.fullmatch(r"largest page: \S+\.html \([\d,]+ bytes\)", lines[2])


def test_two_pages_at_one_address_stop_the_build(small_project: Path) -> None:
    practice = small_project / "content" / "practice.yaml"
    practice.write_text(practice.read_text().replace(
        "https://www.example.org/locations/riverside", "https://www.example.org/procedures/prp-injection"))
    with pytest.raises(ValidationFailed) as info:
        build_site(load_project(small_project))
    assert str(info.value) == (  # the clinic's Spanish page sits beside it, as the procedure's does
        "2 problems in the site; nothing was written:\n  content/practice.yaml: "
        "https://www.example.org/procedures/prp-injection is also the address of the procedure page "
        "made from content/procedures/prp-injection.md\n  content/practice.yaml: "
        "https://www.example.org/procedures/prp-injection/es/ is also the address of the procedure page "
        "made from content/procedures/prp-injection.es.md")
    assert not (small_project / "output" / "site").exists()


def test_a_map_link_elsewhere_keeps_a_clinic_page(small_project: Path) -> None:
    practice = small_project / "content" / "practice.yaml"
    practice.write_text(practice.read_text().replace(
        "https://www.example.org/locations/riverside", "https://maps.example.com/?q=18+Mill+Race+Road"))
    plan = plan_site(load_project(small_project))
    riverside = plan.find("location", "riverside")
    assert riverside.path == "locations/riverside/"
    assert plan.target("https://maps.example.com/?q=18+Mill+Race+Road") == "external"
    html = plan_pages_render(plan, riverside)
    assert 'href="https://maps.example.com/?q=18+Mill+Race+Road"' in html


def plan_pages_render(plan: SitePlan, target: Any) -> str:
    from handout_gen.site.pages import SitePages

    return SitePages(plan).render(target).decode()


def test_content_pictures_and_links_point_at_the_site(small_project: Path) -> None:
    procedure = small_project / "content" / "procedures" / "prp-injection.md"
    (small_project / "content" / "assets" / "images" / "prp-steps.png").write_bytes(
        (small_project / "content" / "assets" / "images" / "newsletter-2026-12-hero.png").read_bytes())
    procedure.write_text(procedure.read_text().replace(
        "## Who it may help {#who}\n",
        "## Who it may help {#who}\n\n![The three steps](assets/images/prp-steps.png \"Three steps\")\n\n"
        "See also [radiofrequency ablation](radiofrequency-ablation.md) and [our clinics](/locations).\n"))
    plan = plan_site(load_project(small_project))
    assert plan.images["assets/images/prp-steps.png"].name == "prp-steps.png"
    html = plan_pages_render(plan, plan.find("procedure", "prp-injection"))
    assert '<img src="/assets/images/prp-steps.png" alt="The three steps"' in html
    assert '<a href="/procedures/radiofrequency-ablation/">radiofrequency ablation</a>' in html
    assert '<a href="/locations">our clinics</a>' in html
    preview = plan_site(load_project(small_project), base="/site/")
    in_preview = plan_pages_render(preview, preview.find("procedure", "prp-injection"))
    assert '<a href="/site/locations">' in in_preview


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://www.example.org", ""),
        ("https://www.example.org/procedures/rfa", "procedures/rfa/"),
        ("https://www.example.org/procedures/rfa/?utm_source=newsletter#top", "procedures/rfa/"),
        ("https://WWW.EXAMPLE.ORG/sitemap.xml", "sitemap.xml"),
        ("https://www.example.org/a/../../etc/passwd", None),
        ("http://www.example.org/procedures/rfa", None),
        ("https://www.example.org:8443/", None),
        ("https://example.org/", None),
        ("mailto:frontdesk@example.org", None),
    ],
)
def test_own_addresses_map_to_site_paths(url: str, path: str | None) -> None:
    assert SiteUrls(SITE_ROOT, "/").own_path(url) == path


def test_an_address_the_site_does_not_have_still_reaches_home_and_the_phone(built: Built) -> None:
    """404.html, what a web server sends for a mistyped or old printed address: not indexed,
    not in the sitemap, every link from the site's root (it answers at any path), the home
    page and a number to tap, and a line in each other language leading to its own home."""
    site, plan, _ = built
    assert plan.pages["404.html"].kind == "notfound"
    tree = page(site, "404.html")
    assert tree.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert "404.html" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    links = tree.xpath("//a/@href")
    assert all(link.startswith(("/", "#", "tel:", "https://")) for link in links), links
    main = tree.xpath("//main")[0]
    assert main.xpath(".//a[@class='button']/@href") == ["/"]
    assert "tel:5550100" in main.xpath(".//a/@href")
    others = {p.get("lang"): p.xpath("./a/@href")[0] for p in main.xpath("./p[@lang]")}
    assert others == {"es": "/es/", "zh": "/zh/", "ar": "/ar/"}
    assert main.xpath("./p[@lang='es']/text()")[0].strip() == "Esta página no está aquí"


def test_only_whole_numbers_in_text_become_links() -> None:
    """911 alone, not inside a longer number; nothing in a comment, a form's text, a drawing,
    a tag's attributes or a link already."""
    from handout_gen.site.phones import dial_links

    html = ("<head><title>555-0100</title></head><body><p>Call 911 or 555-0100.</p>"
            "<p>(555) 911 2222, 9110, 911-0000</p><!-- call 555-0100 > soon -->"
            "<textarea>555-0100</textarea><svg><text>911</text></svg>"
            '<p title="555-0100"><a href="tel:5550100">555-0100</a></p></body>')
    out = dial_links(html, ["555-0100"])
    assert out.count('href="tel:911"') == 1 and out.count('href="tel:5550100"') == 2
    assert "<title>555-0100</title>" in out and "<textarea>555-0100</textarea>" in out
    assert "<!-- call 555-0100 > soon -->" in out and "<text>911</text>" in out
