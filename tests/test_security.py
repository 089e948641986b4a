"""Hostile content cannot make a render read outside the project or touch the network."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from handout_gen.content.project import load_project
from handout_gen.core.errors import OutputError
from handout_gen.core.files import write_file
from handout_gen.handouts import Variant, render_handout
from handout_gen.render.fetcher import RefusedURL, allowed_roots, resolve_local

from .pdfutil import pdf_text


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def _image_sizes(pdf: bytes) -> set[tuple[int, int]]:
    sizes = set()
    with pikepdf.open(__import__("io").BytesIO(pdf)) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                sizes.add((int(obj.Width), int(obj.Height)))
    return sizes


@pytest.mark.slow
def test_hostile_html_in_markdown_is_inert(
    sample_project: Path, tmp_path: Path, web_server: tuple[str, list[str]]
) -> None:
    base, hits = web_server
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    Image.new("RGB", (37, 23), "red").save(secret)
    hostile = (
        f'\n<img src="file://{secret}" alt="a">\n'
        f'<img src="{base}/tracker.png" alt="b">\n'
        f'<img src="../../../outside/secret.png" alt="c">\n'
        "<script>document.write('PWNED')</script>\n"
        '<iframe src="https://evil.example.com"></iframe>\n'
        '<a href="javascript:alert(1)">click me</a>\n'
        f'<p style="background: url({base}/bg.png)">styled</p>\n'
    )
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    marker = "## Who it may help {#who}"
    path.write_text(path.read_text().replace(marker, hostile + "\n" + marker))
    pdf = render_handout(load_project(sample_project), "prp-injection", Variant())
    assert hits == []  # not one request left the process
    assert (37, 23) not in _image_sizes(pdf)  # the outside file was never embedded
    text = pdf_text(pdf)
    assert "PWNED" not in text and "document.write" not in text
    assert "click me" in text  # the link text stays, the javascript: URL does not
    assert b"javascript:" not in pdf


@pytest.mark.slow
def test_a_template_cannot_read_outside_files_or_the_network(
    sample_project: Path, tmp_path: Path, web_server: tuple[str, list[str]], weasyprint_log: list[str]
) -> None:
    """Even a project template (trusted less than the tool) goes through the confined fetcher."""
    base, hits = web_server
    secret = tmp_path / "secret.png"
    Image.new("RGB", (41, 19), "blue").save(secret)
    templates = sample_project / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "handout.html.j2").write_text(
        '{% extends "default:handout.html.j2" %}{% block title %}{{ super() }}'
        f'<img src="file://{secret}" alt="x"><img src="{base}/remote.png" alt="y">'
        "{% endblock %}"
    )
    pdf = render_handout(load_project(sample_project), "prp-injection", Variant())
    assert hits == []
    assert (41, 19) not in _image_sizes(pdf)
    assert any("outside the project" in m for m in weasyprint_log), weasyprint_log
    assert any("only project files may be read" in m for m in weasyprint_log), weasyprint_log


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "https://www.example.org/x.png", "http://127.0.0.1/x", "ftp://x/y",
     "file://otherhost/etc/passwd"],
)
def test_fetcher_refuses_everything_outside_the_project(tmp_path: Path, url: str) -> None:
    with pytest.raises(RefusedURL):
        resolve_local(url, allowed_roots(tmp_path))


def test_fetcher_allows_project_files(tmp_path: Path) -> None:
    inside = tmp_path / "content" / "a.png"
    assert resolve_local(inside.as_uri(), allowed_roots(tmp_path)) == inside.resolve()
    sneaky = (tmp_path / "content" / ".." / ".." / "etc" / "passwd").as_uri()
    with pytest.raises(RefusedURL):
        resolve_local(sneaky, allowed_roots(tmp_path))


def test_write_helper_is_atomic_and_confined(tmp_path: Path) -> None:
    out = tmp_path / "output"
    target = write_file(out / "a" / "b.txt", "hello", root=out)
    assert target.read_text() == "hello"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]  # no temp file left
    with pytest.raises(OutputError, match="refusing to write outside"):
        write_file(out / ".." / "escape.txt", "x", root=out)
    assert not (tmp_path / "escape.txt").exists()
    private = write_file(out / "p" / "secret.pdf", b"%PDF", root=out, private=True)
    assert private.stat().st_mode & 0o777 == 0o600
    assert private.parent.stat().st_mode & 0o777 == 0o700


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "output"
    target = write_file(out / "keep.txt", "good", root=out)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("handout_gen.core.files.os.fsync", disk_full)
    with pytest.raises(OutputError, match="No space left on device; the previous file .* is unchanged"):
        write_file(target, "bad", root=out)
    assert target.read_text() == "good"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unwritable_target_is_a_clean_error(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.mkdir()
    (out / "blocked").write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"cannot write .*blocked/x.pdf: File exists"):
        write_file(out / "blocked" / "x.pdf", b"%PDF", root=out)


@pytest.mark.slow
def test_a_translators_markup_is_shown_as_text_never_run(sample_project: Path) -> None:
    """A catalog's words are text: "<script>" in a Chinese msgstr is escaped on the web page,
    and a link in one prints as its characters in the PDF, no link made of it."""
    from handout_gen.site.pages import SitePages
    from handout_gen.site.plan import plan_site

    from .pdfutil import pdf_links

    catalog = sample_project / "content" / "locale" / "zh.po"
    text = catalog.read_text(encoding="utf-8")
    text = text.replace('msgstr "跳到主要内容"', 'msgstr "跳到<script>alert(1)</script>主要内容"')
    text = text.replace('msgstr "要点"', 'msgstr "<a href=\\"javascript:alert(2)\\">要点</a>"')
    catalog.write_text(text, encoding="utf-8")
    project = load_project(sample_project)
    plan = plan_site(project)
    page = SitePages(plan).render(plan.pages["zh/"]).decode()
    assert "<script>alert" not in page and "跳到&lt;script&gt;alert(1)&lt;/script&gt;主要内容" in page
    pdf = render_handout(project, "epidural-steroid-injection", Variant("zh"))
    assert '<a href="javascript:alert(2)">要点</a>' in pdf_text(pdf)
    assert not [link for link in pdf_links(pdf) if "javascript" in link]
    # check tells the translator why their tags show
    from handout_gen.checks.runner import run_checks

    (warning,) = [f for f in run_checks(sample_project, pdf=False).findings if "hold markup" in f.message]
    where = (warning.file, warning.rule, warning.severity)
    assert where == ("content/locale/zh.po", "translation.catalog", "warning")
    assert warning.message.startswith("2 phrases hold markup or an entity, which prints as typed")


@pytest.mark.slow
def test_a_percent_encoded_dot_dot_image_is_dropped(sample_project: Path) -> None:
    """"%2E%2E/" is "../" to the URL fetcher: it embedded a picture from the project's root,
    outside content/, past the sanitiser, check and the build gate."""
    Image.new("RGB", (43, 17), "green").save(sample_project / "secret.png")
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    marker = "## Who it may help {#who}"
    hostile = '<img src="%2E%2E/secret.png" alt="a">\n\n![b](..%2Fsecret.png)\n\n'
    path.write_text(path.read_text().replace(marker, hostile + marker))
    pdf = render_handout(load_project(sample_project), "prp-injection", Variant())
    assert (43, 17) not in _image_sizes(pdf)
