"""The built site and the unsubscribe pages in headless Chromium: axe-core, widths, fonts, JSON-LD.

The site is built once (``build_site`` on a copy of the fixture practice) and served from
``output/site/`` by the standard library's HTTP server on 127.0.0.1, as any static host would;
the unsubscribe app runs under wsgiref. Every page is checked at 1280 px with every axe-core
rule that runs by default (WCAG 2.1 A/AA and best practices), not only the serious ones, and
again at 375 px with the rules whose outcome depends on the layout (the document is the same
at both widths: test_site_css_changes_only_sizes_by_width keeps it so).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from playwright.sync_api import Browser, Page, Request

from handout_gen.content.project import load_project
from handout_gen.newsletter.unsubscribe import UnsubscribeTokens
from handout_gen.site.app import create_app
from handout_gen.site.build import build_site
from handout_gen.site.plan import plan_site
from handout_gen.site.urls import file_for
from tests.browserutil import LAYOUT_RULES, axe_violations, with_axe
from tests.conftest import TEST_SECRET, copy_warm

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WIDTHS = (1280, 375)
IMAGES_LOADED = "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        return


class _QuietWsgi(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - wsgiref's name
        return


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, warm_practice: Path
) -> Iterator[tuple[str, list[str], Path]]:
    """(base URL, every HTML page's path, project) of the built site, served from output/site/."""
    root = copy_warm(tmp_path_factory.mktemp("site-browser") / "project", warm_practice)
    project = load_project(root)
    build_site(project)
    pages = sorted(p for p in plan_site(project).pages if file_for(p).endswith(".html"))
    handler = functools.partial(_Quiet, directory=str(root / "output" / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", pages, root
    server.shutdown()
    server.server_close()


def open_page(browser: Browser, base: str, width: int, *, javascript: bool = True) -> tuple[Page, list[str]]:
    """A tab and the list of every request it makes outside ``base``, recorded as it is sent.
    Nothing outside loads (the browser resolves no host name: CHROMIUM_ARGS); the requests
    are only watched, not routed through this process, so the browser's cache keeps the
    style sheet and fonts from page to page."""
    context = with_axe(browser.new_context(base_url=base, viewport={"width": width, "height": 900},
                                           java_script_enabled=javascript))
    outside: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith((base, "data:", "about:")):
            outside.append(request.url)

    context.on("request", watch)
    return context.new_page(), outside


def test_every_page_passes_axe_and_fits_the_width(
    browser: Browser, site: tuple[str, list[str], Path]
) -> None:
    """Each page is loaded once and checked at each width in turn (the viewport resized, the
    page laid out again): axe's own run is most of the cost, the page load the rest. The
    second width runs only the rules a new layout can change (LAYOUT_RULES)."""
    base, paths, _ = site
    assert len(paths) > 15
    tab, outside = open_page(browser, base, WIDTHS[0])
    found: dict[str, list[str]] = {}
    for path in paths:
        tab.goto(path, wait_until="load")
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 900})
            problems = axe_violations(tab, rules=None if width == WIDTHS[0] else LAYOUT_RULES)
            scroll = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if scroll[1] != width:
                problems.append(f"the window is {scroll[1]} px wide, not {width}")
            elif scroll[0] > scroll[1]:
                problems.append(f"scrolls sideways: {scroll}")
            if not tab.evaluate(IMAGES_LOADED):
                problems.append("an image did not load")
            if problems:
                found[f"{path} at {width} px"] = problems
    tab.context.close()
    assert found == {}
    assert outside == []


def test_site_css_changes_only_sizes_by_width(site: tuple[str, list[str], Path]) -> None:
    """What a screen-width media query of the site's style sheet sets: sizes only. A rule
    that showed, hid or moved something at one width would change the document axe reads
    there, and every rule would then have to run at every width."""
    _, _, root = site
    css = next((root / "output" / "site").rglob("*.css")).read_text(encoding="utf-8")
    blocks = re.findall(r"@media[^{]*width[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", css)
    assert blocks, "the site has no width media query: this test no longer guards anything"
    properties = {p.strip() for block in blocks for p in re.findall(r"([a-z-]+)\s*:", block)}
    assert properties <= {"font-size", "line-height", "padding", "margin", "letter-spacing"}, properties


def test_fonts_focus_and_json_ld_in_the_browser(browser: Browser, site: tuple[str, list[str], Path]) -> None:
    base, _, _ = site
    tab, outside = open_page(browser, base, 1280)
    tab.goto("procedures/radiofrequency-ablation/es/", wait_until="load")
    tab.evaluate("() => document.fonts.ready")
    assert tab.evaluate("() => document.fonts.check('16px \"Atkinson Hyperlegible\"')")
    family = tab.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Atkinson Hyperlegible"')
    data = json.loads(tab.locator('script[type="application/ld+json"]').text_content() or "")
    web_page = data["@graph"][0]
    assert web_page["about"]["@type"] == "MedicalProcedure"
    assert web_page["about"]["name"] == tab.locator("h1").inner_text() == "Ablación por radiofrecuencia"
    tab.keyboard.press("Tab")  # the skip link comes first and shows when focused
    skip = tab.locator("a.skip")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert skip.bounding_box()["y"] >= 0  # type: ignore[index]
    tab.keyboard.press("Tab")
    assert tab.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"
    tab.context.close()
    assert outside == []


def test_pages_read_without_javascript(browser: Browser, site: tuple[str, list[str], Path]) -> None:
    base, _, _ = site
    tab, _ = open_page(browser, base, 375, javascript=False)
    tab.goto("procedures/prp-injection/", wait_until="load")
    assert "Key points" in tab.locator("main").inner_text()
    assert tab.locator("text=When to call us").is_visible()
    tab.context.close()


def test_the_unsubscribe_pages_pass_axe(browser: Browser, site: tuple[str, list[str], Path]) -> None:
    _, _, root = site
    app = create_app({"HANDOUT_GEN_PROJECT": str(root), "HANDOUT_GEN_SECRET": TEST_SECRET})
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietWsgi)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    token = UnsubscribeTokens(TEST_SECRET.encode()).token("2026-12", "ana@example.org")
    try:
        for width in WIDTHS:
            tab, _ = open_page(browser, base, width)
            rules = None if width == WIDTHS[0] else LAYOUT_RULES  # the same style sheet as the site's
            for path in (f"email/unsubscribe?t={token}", f"email/preferences?t={token}",
                         "email/unsubscribe?t=broken", "email/unsubscribe",
                         f"email/preferences/es/?t={token}"):
                tab.goto(path, wait_until="load")
                assert axe_violations(tab, rules=rules) == [], path
            for lang, button, done in (("", "Unsubscribe", "You are unsubscribed"),
                                       ("/es/", "Cancelar la suscripción", "Se ha dado de baja")):
                tab.goto(f"email/unsubscribe{lang}?t={token}", wait_until="load")
                tab.get_by_role("button", name=button).click()
                tab.wait_for_load_state("load")
                assert tab.locator("h1").inner_text() == done
                assert axe_violations(tab, rules=rules) == []
            reader = UnsubscribeTokens(TEST_SECRET.encode()).token("2026-12", "ben@example.org")
            tab.goto(f"email/preferences?t={reader}", wait_until="load")  # a reader who reads Spanish
            tab.get_by_label("Español").check()
            tab.get_by_role("button", name="Save").click()
            tab.wait_for_load_state("load")
            assert tab.locator("h1").inner_text() == "Guardado"
            assert tab.locator("html").get_attribute("lang") == "es"
            assert axe_violations(tab, rules=rules) == []
            tab.context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_the_axe_check_and_the_outside_watch_can_fail(
    browser: Browser, site: tuple[str, list[str], Path]
) -> None:
    """The same check finds an image without alt text and a skipped heading level, and the
    watch records a picture asked for from another host, which never loads."""
    base, _, _ = site
    tab, outside = open_page(browser, base, 1280)
    tab.goto("robots.txt")
    tab.set_content('<html lang="en"><head><title>x</title></head><body><main><h1>A</h1><h3>B</h3>'
                    '<img src="/assets/logo.png"><img src="https://www.example.org/pixel.png" alt="">'
                    "</main></body></html>")
    found = " ".join(axe_violations(tab))
    assert "image-alt" in found and "heading-order" in found
    assert outside == ["https://www.example.org/pixel.png"]
    assert tab.evaluate("() => document.images[1].complete && document.images[1].naturalWidth") == 0
    tab.context.close()


# Where Chromium draws two parts of one text node: x of the first minus x of the second.
PARTS_ORDER = """([selector, first, second]) => {
  const node = [...document.querySelectorAll(selector)].map(e => {
    const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    let n; while ((n = walk.nextNode())) { if (n.data.includes(first) &&
      n.data.indexOf(second, n.data.indexOf(first)) > 0) return n; }
    return null; }).find(n => n);
  const x = part => { const r = document.createRange(); const at = node.data.indexOf(part);
    r.setStart(node, at); r.setEnd(node, at + part.length); return r.getBoundingClientRect().left; };
  return x(first) - x(second);
}"""


def test_arabic_pages_draw_numbers_left_to_right(browser: Browser, site: tuple[str, list[str], Path]) -> None:
    """What Chromium drew on right-to-left pages: "400" left of "Orchard" in an address, "555"
    left of "0100" in a phone number after Arabic words, "100.4" left of "°F" (each of them
    was drawn the other way round before the pages isolated them)."""
    base, _, _ = site
    tab, outside = open_page(browser, base, 375)
    reversed_ = []
    for path, selector, first, second in (
        ("locations/orchard/ar/", "address", "400", "Orchard"),
        ("ar/", "main a[href^='tel:']", "555", "0100"),
        ("procedures/epidural-steroid-injection/ar/", "main li", "100.4", "°F"),
    ):
        tab.goto(path, wait_until="load")
        if tab.evaluate(PARTS_ORDER, [selector, first, second]) > 0:
            reversed_.append((path, first, second))
    tab.context.close()
    assert reversed_ == []
    assert outside == []
