"""Shared fixtures: an isolated environment, a copy of the sample project, log guards."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests off the developer's HOME and away from real SMTP settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "HANDOUT_GEN_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


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


def copy_sample(dest: Path) -> Path:
    """Copy the bundled sample project (content, recipes, templates) into ``dest``."""
    for name in ("content", "handouts", "templates"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name)
    return dest


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A private copy of the sample project that a test may change freely."""
    return copy_sample(tmp_path / "project")
