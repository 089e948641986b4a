"""Shared fixtures: an isolated environment, a copy of the fixture project, log guards.

Tests run on ``tests/fixtures/practice`` (a frozen copy of the sample practice), never on the
repository's own ``content/``: a practice that edits its content must not break the suite.
Only ``tests/test_sample_content.py`` reads the real sample content.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "practice"
SRC_DIR = REPO / "src"


TEST_SECRET = "fictional-test-secret-for-unsubscribe-links-0123456789"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests off the developer's HOME and away from real SMTP and secret settings.

    Every test gets the same fictional unsubscribe secret (sends need one); tests of a
    missing or bad secret remove or replace it.
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "HANDOUT_GEN_SMTP_PASSWORD",
                 "HANDOUT_GEN_SECRET_FILE", "HANDOUT_GEN_SUPPRESSIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDOUT_GEN_SECRET", TEST_SECRET)


class _Fail(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_weasyprint_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Any WeasyPrint warning (missing image, refused URL, bad CSS) fails the test.

    Tests that expect warnings take the ``weasyprint_log`` fixture instead.
    """
    if "weasyprint_log" in request.fixturenames:
        yield
        return
    handler = _Fail()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    messages = [r.getMessage() for r in handler.records]
    assert not messages, f"WeasyPrint warned: {messages}"


@pytest.fixture
def weasyprint_log() -> Iterator[list[str]]:
    """WeasyPrint's warnings, for tests that provoke them on purpose."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def copy_sample(dest: Path, source: Path = FIXTURE) -> Path:
    """Copy a project (content, recipes, templates; the fixture practice by default) into ``dest``."""
    for name in ("content", "handouts", "templates"):
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name)
    return dest


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A private copy of the fixture practice that a test may change freely."""
    return copy_sample(tmp_path / "project")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``small_disk(kib)`` mounts a tmpfs of that size in ``tmp_path``: a real disk that fills up.

    Needs root (CI runs as root); each mount is lazily unmounted when the test ends.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounts: list[Path] = []

    def mount(kib: int) -> Path:
        target = tmp_path / f"disk{len(mounts)}"
        target.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(target)],
                       check=True)
        mounts.append(target)
        return target

    yield mount
    for target in reversed(mounts):
        subprocess.run(["umount", "-l", str(target)], check=False)


SMALL_RECIPE = ("prp-injection", "radiofrequency-ablation")


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """The fixture practice with a handout recipe of two procedures (8 PDFs), for build tests
    whose point is the build, not every procedure (the sample content test builds them all)."""
    root = copy_sample(tmp_path / "project")
    recipe = root / "handouts" / "handouts.yaml"
    text = recipe.read_text(encoding="utf-8")
    assert "procedures: all" in text
    limited = text.replace("procedures: all", f"procedures: [{', '.join(SMALL_RECIPE)}]")
    recipe.write_text(limited, encoding="utf-8")
    return root


CHROMIUM = "/usr/bin/chromium"  # Debian's build; Playwright never downloads a browser
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")  # once per xdist worker: tests of several modules interleave
def browser() -> Iterator[Any]:
    """Headless Chromium for the browser tests (test_browser.py, test_site_browser.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true",
        help="rewrite tests/golden/ from what the code makes now (then review the diff)",
    )


# Fixtures that run a whole packet batch: every test that uses one is slow.
SLOW_FIXTURES = {"batch", "demo"}


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests on a whole-batch fixture slow, then run the slow tests first: with ``-n 2``
    the quick ones then fill the other core instead of one long test finishing alone at the
    end (longest-first scheduling)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
