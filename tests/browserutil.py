"""What axe-core finds on a page in headless Chromium (test_browser.py, test_site_browser.py)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

AXE_SCRIPT = Axe().axe_script  # axe-core, as the axe-playwright-python package ships it
RUN = 'axe.run({"resultTypes": ["violations"]}).then(results => results.violations)'


def axe_violations(page: Page, impacts: tuple[str, ...] | None = None) -> list[str]:
    """Every axe-core violation on the page as it is laid out now (of these ``impacts`` only,
    when given), one line each. axe is injected once a page: a page checked again after a
    resize runs it again without loading it again."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in page.evaluate(RUN) if impacts is None or v["impact"] in impacts]
