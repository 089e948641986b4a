"""What axe-core finds on a page in headless Chromium (test_browser.py, test_site_browser.py)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page

AXE_SCRIPT = Axe().axe_script  # axe-core, as the axe-playwright-python package ships it
RUN = "options => axe.run(options).then(results => results.violations)"
# The default rules whose outcome depends on how the page is laid out (sizes, positions,
# overflow, what is drawn behind a text) rather than on the document alone: what a page
# checked again at another width must run again.
LAYOUT_RULES = ("color-contrast", "link-in-text-block", "p-as-heading", "scrollable-region-focusable",
                "target-size")


def with_axe(context: BrowserContext) -> BrowserContext:
    """``context``, with axe-core in every page it opens, before the page's own scripts.
    Chromium then compiles it once for them all: evaluated into each page after it loaded,
    it was compiled again for every page, about a sixth of checking a page."""
    context.add_init_script(script=AXE_SCRIPT)
    return context


def axe_violations(page: Page, impacts: tuple[str, ...] | None = None,
                   rules: tuple[str, ...] | None = None) -> list[str]:
    """Every axe-core violation on the page as it is laid out now (of these ``impacts`` only,
    when given; of these ``rules`` only, when given, else every rule axe runs by default),
    one line each. axe is injected once a page (unless the context has it: :func:`with_axe`):
    a page checked again after a resize runs it again without loading it again."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    options: dict[str, object] = {"resultTypes": ["violations"]}
    if rules is not None:
        options["runOnly"] = {"type": "rule", "values": list(rules)}
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in page.evaluate(RUN, options) if impacts is None or v["impact"] in impacts]
