"""The preview and the outputs as a person sees them: headless Debian Chromium via Playwright.

One browser per worker (the ``browser`` fixture in conftest.py: starting Chromium costs about a
second) and one preview server.
The server runs in-process on a free 127.0.0.1 port over a private copy of the sample
project. Nothing is downloaded: Playwright drives /usr/bin/chromium-headless-shell through
``executable_path``; axe-core comes bundled with axe-playwright-python.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from handout_gen.content.project import load_project
from handout_gen.newsletter.model import list_issues
from handout_gen.preview import PreviewServer

from .browserutil import axe_violations
from .conftest import copy_sample

SERIOUS = ("serious", "critical")  # axe impacts these tests fail on

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium: not for the edit-test loop

@pytest.fixture(scope="session")  # once per xdist worker: tests of several modules interleave
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewServer]:
    project = copy_sample(tmp_path_factory.mktemp("browser") / "project")
    server = PreviewServer(project, port=0).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, preview: PreviewServer) -> Iterator[Page]:
    context = browser.new_context(base_url=preview.url)
    # The pages may load only what the preview serves: any other request is a defect.
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith((preview.url, "data:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    yield tab
    context.close()
    assert not outside, f"the page tried to load {outside}"


def newsletter_ids(preview: PreviewServer) -> list[str]:
    ids = list_issues(load_project(preview.site.root))
    assert ids, "the sample project has no newsletter"
    return ids


def test_index_links_every_handout_and_newsletter(page: Page, preview: PreviewServer) -> None:
    page.goto("/")
    hrefs = set(page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))"))
    for name in preview.site.items.handouts:
        assert {f"/handouts/{name}.html", f"/handouts/{name}.pdf"} <= hrefs
    for issue_id in newsletter_ids(preview):
        assert f"/newsletters/{issue_id}/" in hrefs
    assert len(preview.site.items.handouts) == 7 * 2 * 2  # fixture recipe: 7 procedures, 2 languages, 2 sizes


@pytest.mark.parametrize(("width", "styles"), [(600, True), (375, True), (375, False)])
def test_newsletter_fits_the_width_and_every_image_loads(
    page: Page, preview: PreviewServer, width: int, styles: bool
) -> None:
    """At a desktop's and a phone's width; and on the phone as a mail app shows it that drops
    the <style> block (some Android apps for other accounts than their own, forwarded mail):
    the inlined styles alone must keep it from scrolling sideways."""
    for issue_id in newsletter_ids(preview):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/newsletters/{issue_id}/email.html", wait_until="load")
        if not styles:
            assert page.evaluate("() => { const s = document.querySelectorAll('style'); "
                                 "s.forEach(e => e.remove()); return s.length; }") > 0
        scroll = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
        )
        assert scroll[0] <= scroll[1], f"{issue_id} scrolls sideways at {width} px: {scroll}"
        images = page.evaluate(
            "() => Array.from(document.images)"
            ".map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])"
        )
        assert images, "the newsletter has no images"
        assert [src for src, natural in images if not natural] == []
        # project pictures, and the header logo as the site publishes it (rendered from the SVG)
        assert all(src.startswith("/_file/0/content/") or src == "/site/assets/logo.png" for src, _ in images)


def test_newsletter_has_no_serious_accessibility_violation(page: Page, preview: PreviewServer) -> None:
    for issue_id in newsletter_ids(preview):
        page.goto(f"/newsletters/{issue_id}/email.html", wait_until="load")
        assert axe_violations(page, SERIOUS) == []


@pytest.mark.parametrize("name", ["radiofrequency-ablation", "epidural-steroid-injection.es.large"])
def test_handout_html_has_no_serious_accessibility_violation(page: Page, name: str) -> None:
    page.goto(f"/handouts/{name}.html", wait_until="load")
    assert page.evaluate("() => document.fonts.check('16px \"Atkinson Hyperlegible\"')")
    assert page.evaluate("() => Array.from(document.images).every(i => i.naturalWidth > 0)")
    assert axe_violations(page, SERIOUS) == []


def test_newsletter_preview_page_shows_both_widths_and_the_text_part(
    page: Page, preview: PreviewServer
) -> None:
    issue_id = newsletter_ids(preview)[0]
    page.goto(f"/newsletters/{issue_id}/", wait_until="load")
    widths = page.eval_on_selector_all("iframe", "els => els.map(e => e.getBoundingClientRect().width)")
    assert [round(w) for w in widths] == [602, 377]  # 600 and 375 px plus the 1 px borders
    text = page.locator("pre.text").inner_text()
    assert "unsubscribe" in text.lower()


def test_saving_a_file_updates_the_open_page(page: Page, preview: PreviewServer) -> None:
    path = preview.site.root / "content" / "procedures" / "prp-injection.md"
    original = path.read_text()
    page.goto("/handouts/prp-injection.html")
    expect(page.locator("h1")).to_have_text("Platelet-Rich Plasma (PRP) Injection")
    try:
        path.write_text(original.replace("title: Platelet-Rich Plasma (PRP) Injection",
                                         "title: PRP Shot, Edited"))
        expect(page.locator("h1")).to_have_text("PRP Shot, Edited", timeout=8000)
        # A mistake shows in the page (escaped) and the server keeps serving.
        path.write_text(original.replace("slug: prp-injection\n",
                                         "slug: prp-injection\nnot_a_field: <i>x</i>\n"))
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(
            "content/procedures/prp-injection.md:4: not_a_field: is not a known field", timeout=8000
        )
        path.write_text(original)
        expect(page.locator("h1")).to_have_text("Platelet-Rich Plasma (PRP) Injection", timeout=8000)
    finally:
        path.write_text(original)


def test_index_reloads_when_a_procedure_is_added(page: Page, preview: PreviewServer) -> None:
    procedures = preview.site.root / "content" / "procedures"
    source = (procedures / "prp-injection.md").read_text()
    page.goto("/")
    added = procedures / "prp-copy.md"
    try:
        added.write_text(source.replace("slug: prp-injection", "slug: prp-copy")
                         .replace("title: Platelet-Rich Plasma (PRP) Injection", "title: Copied PRP"))
        expect(page.get_by_role("link", name=re.compile("page")).first).to_be_visible()
        expect(page.locator('a[href="/handouts/prp-copy.html"]')).to_have_count(1, timeout=8000)
    finally:
        added.unlink(missing_ok=True)
    expect(page.locator('a[href="/handouts/prp-copy.html"]')).to_have_count(0, timeout=8000)


def test_served_pages_only_read_project_files(preview: PreviewServer) -> None:
    """The routes the handout page uses all resolve inside the allowed roots."""
    html = preview.site.handout_page("prp-injection")
    found = re.findall(r'src="(/_file/[^"]+)"|url\("(/_file/[^"]+)"\)', html)
    urls = [next(u for u in url if u) for url in found]
    assert any(u.endswith(".ttf") for u in urls) and any(u.endswith("logo.svg") for u in urls), urls
    for path in urls:
        index, _, rel = path.removeprefix("/_file/").partition("/")
        assert preview.site.project_file(int(index), rel) is not None, path


class Listener:
    """A TCP listener on another loopback port that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[str] = []  # the request line of each connection that sent one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1  # counted on connect: even one that never sends a request
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                self.requests.append(conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def hostile_references(url: str) -> tuple[str, str]:
    """An SVG and a handout-template override that reach for ``url`` in many ways.

    Nothing here navigates: Chromium connects (without sending a request) to the host of a
    frame or a form submission before the policy blocks it, as it does for a clicked link.
    Content cannot hold a frame or form (the Markdown sanitiser removes them), only the
    practice's own templates can; an SVG can, which is why project files are never served
    as documents (and this SVG has a frame).
    """
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="200" height="200">'
        f'<style>@import url("{url}/svg-import.css"); rect{{fill:url("{url}/svg-fill.svg#p")}}</style>'
        f'<image href="{url}/svg-image.png" width="20" height="20"/>'
        f'<image xlink:href="{url}/svg-xlink.png" width="20" height="20"/>'
        f'<use href="{url}/svg-use.svg#x"/>'
        f'<script>fetch("{url}/svg-script")</script>'
        '<foreignObject width="100" height="100"><iframe xmlns="http://www.w3.org/1999/xhtml" '
        f'src="{url}/svg-frame"></iframe></foreignObject>'
        '<rect width="20" height="20"/></svg>'
    )
    template = (
        '{% extends "default:handout.html.j2" %}'
        f'{{% block extra_css %}}@import url("{url}/page-import.css");'
        f'body{{background-image:url("{url}/page-background.png")}}'
        f'@font-face{{font-family:Far;src:url("{url}/page-font.woff2")}}h1{{font-family:Far,serif}}'
        "{% endblock %}"
        '{% block title %}{{ super() }}'
        f'<img src="{url}/page-img.png" alt=""><link rel="stylesheet" href="{url}/page-link.css">'
        f'<script src="{url}/page-script.js"></script>'
        f'<script>window.injected = true; fetch("{url}/page-inline-script")</script>'
        f'<object data="{url}/page-object"></object>'
        f'<video src="{url}/page-video.mp4"></video><audio src="{url}/page-audio.mp3" autoplay></audio>'
        "{% endblock %}"
    )
    return svg, template


def test_the_preview_reaches_nothing_outside_itself(browser: Browser, tmp_path: Any) -> None:
    """Content-Security-Policy, proven in Chromium: an SVG opened directly and a handout page
    whose template reaches for another loopback port make no connection there, while the
    preview's own script, pictures, fonts and frames still work; the same references in a
    page without the policy do connect (so the listener would see a leak)."""
    listener = Listener()
    project = copy_sample(tmp_path / "project")
    url = f"http://127.0.0.1:{listener.port}"
    svg, template = hostile_references(url)
    (project / "content" / "assets" / "hostile.svg").write_text(svg)
    (project / "templates").mkdir(exist_ok=True)
    (project / "templates" / "handout.html.j2").write_text(template)
    server = PreviewServer(project, port=0).start()
    context = browser.new_context(base_url=server.url)  # no request interception: the real thing
    try:
        tab = context.new_page()
        with tab.expect_request("**/_reload?*"):  # the reload script still runs (allowed by hash)
            tab.goto("/handouts/prp-injection.html", wait_until="load")
        assert tab.evaluate("() => window.injected") is None  # no other script did
        assert tab.evaluate("() => Array.from(document.images).filter(i => i.src.startsWith('data:')"
                            " || i.src.includes('/_file/')).every(i => i.naturalWidth > 0)")
        other = context.new_page()
        opened = other.goto("/_file/0/content/assets/hostile.svg", wait_until="load")
        assert opened is not None and opened.status == 403  # embedded by pages only, never shown
        other.goto(f"/newsletters/{next(iter(server.site.items.newsletters))}/", wait_until="load")
        frame = other.frames[1]  # the email at 600 px, in its sandboxed frame: its own images load
        assert frame.evaluate("() => Array.from(document.images).every(i => i.naturalWidth > 0)")
        other.wait_for_timeout(1000)
        assert (listener.connections, listener.requests) == (0, [])
        # The control, in a context of its own: the same references in a page without the policy.
        control = browser.new_context().new_page()
        control.set_content(f'<img src="{url}/control.png" alt="">{svg}')
        expect_soon(lambda: len(listener.requests) >= 3, "the control page should reach the listener")
        control.context.close()
    finally:
        context.close()
        server.stop()
        listener.close()


def expect_soon(condition: Any, message: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
