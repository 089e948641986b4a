"""Shared fixtures: an isolated environment, a copy of the fixture project, log guards.

Tests run on ``tests/fixtures/practice`` (a small copy of the sample practice: the same
procedures, languages, rules and recipes, with shorter texts), never on the repository's own
``content/``: a practice that edits its content must not break the suite.
Only ``tests/test_sample_content.py`` reads the real sample content.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
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
    for name in (
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "HANDOUT_GEN_SMTP_PASSWORD",
        "HANDOUT_GEN_SECRET_FILE",
        "HANDOUT_GEN_SUPPRESSIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HANDOUT_GEN_SECRET", TEST_SECRET)
    # Commands lay PDFs out in one process unless a test asks for workers (--workers 2): the
    # suite already keeps both cores busy, and a pool per command only added CPU to it.
    monkeypatch.setenv("HANDOUT_GEN_WORKERS", "1")


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


def with_short_day(root: Path) -> Path:
    """The project at ``root`` with Christmas Eve 2026 a day the practice closes at noon."""
    practice = root / "content/practice.yaml"
    text = practice.read_text(encoding="utf-8")
    assert text.count("\nclosed_dates:\n") == 1
    short = '\nshort_days:\n  - {date: 2026-12-24, closes: "12:00"}\nclosed_dates:\n'
    practice.write_text(text.replace("\nclosed_dates:\n", short), encoding="utf-8")
    return root


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
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(target)], check=True
        )
        mounts.append(target)
        return target

    yield mount
    for target in reversed(mounts):
        subprocess.run(["umount", "-l", str(target)], check=False)


SMALL_RECIPE = ("prp-injection", "radiofrequency-ablation")
WARM_TODAY = "2026-11-24"  # the print date of the warm part cache (tests that print on it find it warm)


def shared_tmp(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str) -> Path:
    """A folder every xdist worker of this test run shares (the run's own under ``-n 0``)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base if worker_id == "master" else base.parent) / name
    folder.mkdir(exist_ok=True)
    return folder


def _make_warm(shared: Path) -> None:
    """Build the warm practice in ``shared/project`` (the caller holds ``shared/.lock``): its
    handouts built by a real ``build``, then the packet parts of the demo roster and of the
    two-procedure roster the fictional runs draw (test_packets.fictional_run) put in the part
    cache as a run would, without the packets themselves (every test makes its own). A test
    that asks for other parts renders them itself."""
    from handout_gen.content.project import load_project
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.packet import PacketMaker
    from handout_gen.packets.roster_check import check_roster
    from handout_gen.packets.run import CACHE, static_parts
    from tests.fictional import fictional_roster, write_csv

    root = shared / "project"
    shutil.rmtree(root, ignore_errors=True)
    copy_sample(root)
    # One process: the test workers keep both cores busy meanwhile, and a pool only adds CPU.
    command = [sys.executable, "-m", "handout_gen", "--project", str(root), "-q", "build", "--workers", "1"]
    subprocess.run(command, check=True, timeout=600, capture_output=True)
    project = load_project(root)
    kit, today = load_kit(project), date.fromisoformat(WARM_TODAY)
    catalog = kit.catalog(today)
    rosters = [root / "content/rosters/sample-roster.csv", shared / "two.csv"]
    write_csv(rosters[-1], fictional_roster(120, catalog, slugs=SMALL_RECIPE))
    maker = PacketMaker(kit, today, project.output_dir / CACHE)
    for roster in rosters:
        for part in static_parts(kit, check_roster(roster, catalog).variants, today):
            maker.ensure(part)
    (shared / ".done").touch()


def pytest_configure(config: pytest.Config) -> None:
    """Fewer, larger young collections in a test process. It lives long and keeps much alive
    (the libraries, module and session fixtures, the renderers' caches), and with Python's
    default thresholds each worker ran some thirty full collections over all of it, a fifth
    of a second and more each: about 16 s of collector time in a run, 11 s with these. The
    product's own processes keep the defaults (they are short, and rest the collector during
    a layout: render/pdf.py collector_paused)."""
    gc.set_threshold(50_000, 20, 20)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the controller (idle while workers run tests) makes the warm practice in
    a thread from the start, so no worker waits for it while it could run other tests."""
    import threading

    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession"):
        return  # a worker, or no xdist: the fixture makes it when first asked
    if "not slow" in (config.option.markexpr or ""):
        return  # the fast lane: only slow tests use it (SLOW_FIXTURES)
    shared = config._tmp_path_factory.getbasetemp() / "warm"  # type: ignore[attr-defined]
    shared.mkdir(exist_ok=True)
    lock = (shared / ".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # taken now, before any worker can ask

    def make() -> None:
        sys.settrace(None)  # coverage traces the controller's threads; nothing is measured here
        threading.settrace(None)
        try:
            _make_warm(shared)
        except Exception as exc:  # the workers' fixture reports it
            (shared / ".failed").write_text(f"{type(exc).__name__}: {exc}")
        finally:
            lock.close()

    threading.Thread(target=make, daemon=True).start()


@pytest.fixture(scope="session")
def warm_practice(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The fixture practice with every handout built and the packet-part cache warm for the
    demo roster and a 120-row two-procedure roster, made once per test run (by the xdist
    controller, or by the first test to ask). Cache keys do not depend on the project's folder, so a copy
    (:func:`copy_warm`) starts warm: for tests whose point is what comes after the first
    render. The first render itself is tested by test_sample_content and the tests on
    ``sample_project``."""
    shared = shared_tmp(tmp_path_factory, worker_id, "warm")
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (shared / ".failed").is_file():
            pytest.fail(f"the warm practice could not be made: {(shared / '.failed').read_text()}")
        if not (shared / ".done").is_file():
            _make_warm(shared)
    return shared / "project"


def copy_warm(dest: Path, warm: Path) -> Path:
    """A private copy of the warm practice (content, recipes, templates and output)."""
    shutil.copytree(warm, dest, symlinks=True)
    return dest


@pytest.fixture
def warm_project(tmp_path: Path, warm_practice: Path) -> Path:
    """A private copy of the fixture practice with its handouts built and its part cache warm."""
    return copy_warm(tmp_path / "project", warm_practice)


@pytest.fixture
def small_warm_project(tmp_path: Path, warm_practice: Path) -> Path:
    """:func:`small_project` with its 8 handouts built (the recipe's choice of procedures is
    not part of a handout's key: the other handouts stay on disk until the next build)."""
    return limit_recipe(copy_warm(tmp_path / "project", warm_practice))


@pytest.fixture(autouse=True, scope="session")
def interruptible() -> None:
    """Ctrl-C raises in tests and their child processes even when pytest itself was started
    where SIGINT is ignored (a background job of a script): the Ctrl-C tests need it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def limit_recipe(root: Path) -> Path:
    """Ask the handout recipe of the project at ``root`` for :data:`SMALL_RECIPE` only."""
    recipe = root / "handouts" / "handouts.yaml"
    text = recipe.read_text(encoding="utf-8")
    assert "procedures: all" in text
    limited = text.replace("procedures: all", f"procedures: [{', '.join(SMALL_RECIPE)}]")
    recipe.write_text(limited, encoding="utf-8")
    return root


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """The fixture practice with a handout recipe of two procedures (8 PDFs), for build tests
    whose point is the build, not every procedure (the sample content test builds them all)."""
    return limit_recipe(copy_sample(tmp_path / "project"))


def live_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` still alive (zombies waiting to be reaped are dead)."""
    alive = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            alive.append(int(stat_file.parent.name))
    return alive


@pytest.fixture
def process_group() -> Iterator[list[int]]:
    """Process groups a test started: whatever of them is left is killed at the end (a test
    that fails because workers outlived their run must not leave them running)."""
    import signal

    groups: list[int] = []
    yield groups
    for pgid in groups:
        for pid in live_group(pgid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


CHROMIUM = "/usr/bin/chromium-headless-shell"  # Debian's build; Playwright never downloads a browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",  # loopback only
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
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from what the code makes now (then review the diff)",
    )


# Fixtures that run a whole packet batch or build the warm practice: every test on one is slow.
SLOW_FIXTURES = {"batch", "demo", "warm_practice"}


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests on a whole-batch fixture slow, then run the files with slow tests first:
    with ``-n 2`` (a file at a time, handed out in this order: see the Makefile) the files
    with quick tests then fill the other core instead of one long test finishing alone at
    the end. Files with a test on the warm practice come after those without: the
    controller makes it meanwhile, so no core waits for it."""
    slow_tests: Counter[str] = Counter()
    warm_files: set[str] = set()
    for item in items:
        file = item.nodeid.partition("::")[0]
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("slow") is not None:
            slow_tests[file] += 1
        if "warm_practice" in getattr(item, "fixturenames", ()):
            warm_files.add(file)

    # By file, as xdist hands them out: a file with one test on the warm practice runs
    # whole on one worker, so it would wait there for the warm practice from its first
    # test. Within each group, the files with the most slow tests (the longest) go first.
    def order(item: pytest.Item) -> tuple[bool, bool, int, str, bool]:
        file = item.nodeid.partition("::")[0]
        slow = item.get_closest_marker("slow") is not None
        return not slow_tests[file], file in warm_files, -slow_tests[file], file, not slow

    items.sort(key=order)


@pytest.fixture(autouse=True, scope="session")
def untraced_forks() -> None:
    """Under coverage, a forked child (a packet worker of an in-process run) runs untraced:
    coverage keeps only in-process data (pyproject.toml), so tracing it would cost time
    for nothing."""
    import threading

    def untrace() -> None:
        sys.settrace(None)
        threading.settrace(None)

    if sys.gettrace() is not None:
        os.register_at_fork(after_in_child=untrace)


@pytest.fixture(autouse=True, scope="session")
def untraced_layout() -> Iterator[None]:
    """Under coverage, the library code the project and its tests lean on runs with the tracer
    off: layout and PDF writing, CSS inlining, readability scores, Markdown, QR codes, font
    subsets, MIME, reading PDFs back, copying the fixture practice, resolving paths.

    Coverage does not measure it, yet on Python 3.11 its tracer is called for every line run
    inside it: about a third of the suite's time for WeasyPrint alone, and a few seconds more
    for the rest (each entry below was measured to cost more traced than the wrapper costs).
    The project's own code that WeasyPrint calls back (the URL fetcher) is covered by its own
    tests; the others call none, so the coverage report is the same line for line.
    """
    import email.generator
    import email.parser

    import pdfplumber.page
    import premailer
    import segno
    import textstat
    import weasyprint
    from fontTools import subset
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from weasyprint.document import Document

    if sys.gettrace() is None:
        yield
        return
    originals = [
        (weasyprint.HTML, "__init__", weasyprint.HTML.__init__),  # parses the HTML (pure Python)
        (weasyprint.HTML, "render", weasyprint.HTML.render),
        (weasyprint.CSS, "__init__", weasyprint.CSS.__init__),  # a <style> block the renderer parses once
        (Document, "write_pdf", Document.write_pdf),
        (pdfplumber.page.Page, "parse_objects", pdfplumber.page.Page.parse_objects),
        (pdfplumber.page.Page, "extract_words", pdfplumber.page.Page.extract_words),
        (pdfplumber.page.Page, "extract_text", pdfplumber.page.Page.extract_text),
        (premailer.Premailer, "transform", premailer.Premailer.transform),  # cssutils: pure Python
        *((textstat, name, getattr(textstat, name))  # check's readability scores (bound methods)
          for name in ("lexicon_count", "flesch_kincaid_grade", "szigriszt_pazos")),
        (MarkdownIt, "parse", MarkdownIt.parse),  # content and check (no plugins: no callbacks)
        (RendererHTML, "render", RendererHTML.render),
        (segno, "make", segno.make),  # QR codes
        (subset.Subsetter, "subset", subset.Subsetter.subset),  # compact font subsets
        (email.generator.BytesGenerator, "flatten", email.generator.BytesGenerator.flatten),
        (email.parser.BytesParser, "parsebytes", email.parser.BytesParser.parsebytes),  # tests read MIME
        (shutil, "copytree", shutil.copytree),  # tests copy the fixture practice (a few hundred files)
        (os.path, "realpath", os.path.realpath),  # Path.resolve: each file read is checked inside the project
    ]

    def untraced(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            tracer = sys.gettrace()
            sys.settrace(None)
            try:
                return function(*args, **kwargs)
            finally:
                sys.settrace(tracer)

        return call

    for owner, name, function in originals:
        setattr(owner, name, untraced(function))
    yield
    for owner, name, function in originals:
        setattr(owner, name, function)
