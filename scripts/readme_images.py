"""Regenerate the README pictures with the project's own commands (``make readme-images``).

- docs/images/handout-page.png: page 1 of ``handout-gen handout radiofrequency-ablation``,
  rasterised by ``pdftoppm -png -r 60 -f 1 -l 1``.
- docs/images/newsletter.png: the December newsletter as Chromium shows it at 600 px,
  served by ``handout-gen preview`` (in-process, on a free 127.0.0.1 port).
- docs/images/preview.png: the preview page of that newsletter (desktop and phone width).

Nothing is downloaded: Playwright drives Debian's /usr/bin/chromium.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def handout_page() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "handout.pdf"
        subprocess.run([sys.executable, "-m", "handout_gen", "--project", str(REPO), "handout",
                        "radiofrequency-ablation", "-o", str(pdf)], check=True)
        target = IMAGES / "handout-page"
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(target)], check=True)
    return target.with_suffix(".png")


def newsletter_shots(issue_id: str = "2026-12") -> list[Path]:
    from playwright.sync_api import sync_playwright

    from handout_gen.preview import PreviewServer

    server = PreviewServer(REPO, port=0).start()
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 600, "height": 900})
            page.goto(f"{server.url}newsletters/{issue_id}/email.html", wait_until="load")
            written.append(IMAGES / "newsletter.png")
            page.screenshot(path=str(written[-1]), full_page=True)
            page.set_viewport_size({"width": 1100, "height": 800})
            page.goto(f"{server.url}newsletters/{issue_id}/", wait_until="load")
            written.append(IMAGES / "preview.png")
            page.screenshot(path=str(written[-1]))
            browser.close()
    finally:
        server.stop()
    return written


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for path in [handout_page(), *newsletter_shots()]:
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
