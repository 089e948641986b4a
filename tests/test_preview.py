"""The preview server over real HTTP (no browser): routes, rebuilds, errors, confinement."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.handouts import handout_html, planned_handouts
from handout_gen.newsletter.model import list_issues
from handout_gen.newsletter.render import render_issue
from handout_gen.preview import MARKER, PreviewServer

from .pdfutil import pdf_text


def get(server: PreviewServer, path: str, host: str | None = None) -> tuple[int, str, bytes]:
    """A raw GET (the path is sent exactly as given, so ``..%2f`` reaches the server)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Host": host} if host else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type") or "", body


@pytest.fixture
def server(sample_project: Path) -> Iterator[PreviewServer]:
    srv = PreviewServer(sample_project, port=0).start()
    yield srv
    srv.stop()


def expected_links(project_dir: Path) -> set[str]:
    """Every handout page and PDF, and every newsletter, the index must link."""
    project = load_project(project_dir)
    links = set()
    for procedure, variant in planned_handouts(project):
        stem = variant.filename(procedure.slug).removesuffix(".pdf")
        links |= {f"/handouts/{stem}.html", f"/handouts/{stem}.pdf"}
    links |= {f"/newsletters/{issue}/" for issue in list_issues(project)}
    links |= {f"/newsletters/{issue}/es/" for issue in list_issues(project)}  # the fixture's Spanish edition
    assert len(links) > 2, "the fixture has handouts and a newsletter"
    return links


def test_index_links_every_handout_and_newsletter(server: PreviewServer, sample_project: Path) -> None:
    status, ctype, body = get(server, "/")
    assert status == 200 and ctype == "text/html; charset=utf-8"
    hrefs = set(re.findall(r'href="([^"]+)"', body.decode()))
    expected = expected_links(sample_project)
    assert len([h for h in expected if h.startswith("/handouts/")]) == 7 * 2 * 2 * 2
    assert expected <= hrefs
    assert "/packets/sample.pdf" in hrefs


def test_handout_page_serves_fonts_and_logo_from_routes(server: PreviewServer) -> None:
    status, _, body = get(server, "/handouts/radiofrequency-ablation.large.html")
    text = body.decode()
    assert status == 200
    assert "file:" not in text
    assert 'class="large-print"' in text and "Radiofrequency Ablation" in text
    assert MARKER in text  # the reload script, in the preview page only
    fonts = re.findall(r'url\("(/_file/[^"]+\.ttf)"\)', text)
    logo = re.search(r'<img src="(/_file/0/content/assets/logo\.svg)"', text)
    assert len(fonts) == 4 and logo
    for url in [*fonts, logo[1]]:
        status, ctype, data = get(server, url)
        assert status == 200 and data
        assert ctype in ("font/ttf", "image/svg+xml"), ctype


def test_built_outputs_never_carry_the_reload_script(sample_project: Path) -> None:
    project = load_project(sample_project)
    procedure, variant = planned_handouts(project)[0]
    assert MARKER not in handout_html(project, procedure, variant)
    issues = list_issues(project)
    assert issues
    for issue in issues:
        rendered = render_issue(project, issue)
        assert MARKER not in rendered.html and MARKER not in rendered.browser_html


@pytest.mark.slow
def test_handout_pdf_route_renders_the_pdf(server: PreviewServer) -> None:
    status, ctype, body = get(server, "/handouts/prp-injection.es.pdf")
    assert status == 200 and ctype == "application/pdf"
    assert body.startswith(b"%PDF-")
    assert "Inyección de plasma rico en plaquetas (PRP)" in pdf_text(body)


@pytest.mark.parametrize("path", [
    "/_file/0/content/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/_file/0/content/assets/..%2f..%2foutput%2fsecret.png",
    "/_file/0/content/../output/secret.png",
    "/_file/1/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/_file/0/output/secret.png",           # output/ is never served (packets hold PHI)
    "/_file/0/content/practice.yaml",       # only fonts, pictures and styles are served
    "/_file/9/etc/passwd",
    "/_file/x/etc/passwd",
    "/handouts/..%2f..%2fcontent%2fpractice.yaml.html",
    "/newsletters/..%2f..%2fetc/",
])
def test_no_file_outside_the_served_folders(server: PreviewServer, sample_project: Path, path: str) -> None:
    (sample_project / "output").mkdir()
    (sample_project / "output" / "secret.png").write_bytes(b"\x89PNG patient")
    status, _, body = get(server, path)
    assert status == 404
    assert b"root:" not in body and b"patient" not in body


def test_requests_for_another_host_are_refused(server: PreviewServer) -> None:
    status, _, body = get(server, "/", host=f"attacker.example:{server.port}")
    assert status == 403 and body == b"Forbidden host\n"
    assert get(server, "/", host=f"localhost:{server.port}")[0] == 200


def test_content_error_shows_in_the_page_and_the_server_stays_up(
    server: PreviewServer, sample_project: Path
) -> None:
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    good = path.read_text()
    path.write_text(good.replace("kind: procedure\n", "kind: procedure\n<b>oops</b>: 1\n"))
    server.site.refresh()
    for url in ("/", "/handouts/prp-injection.html"):
        status, _, body = get(server, url)
        text = body.decode()
        assert status == 200
        assert "content/procedures/prp-injection.md:5: &lt;b&gt;oops&lt;/b&gt;: is not a known field" in text
        assert "<b>oops</b>" not in text
    path.write_text(good)
    server.site.refresh()
    status, _, body = get(server, "/handouts/prp-injection.html")
    assert status == 200 and b"Problem" not in body and b"<h1>Platelet-Rich Plasma" in body


def test_template_error_shows_in_the_page(server: PreviewServer, sample_project: Path) -> None:
    (sample_project / "templates").mkdir(exist_ok=True)
    (sample_project / "templates" / "handout.html.j2").write_text(
        '{% extends "default:handout.html.j2" %}{% block title %}<h1>{{ nope }}</h1>{% endblock %}'
    )
    server.site.refresh()
    status, _, body = get(server, "/handouts/prp-injection.html")
    assert status == 200
    assert "template &#x27;handout.html.j2:1&#x27;: &#x27;nope&#x27; is undefined" in body.decode()
    assert get(server, "/")[0] == 200


def test_only_changed_items_are_rebuilt(server: PreviewServer, sample_project: Path) -> None:
    site = server.site
    for name in ("prp-injection", "joint-injections-nerve-blocks"):
        assert get(server, f"/handouts/{name}.html")[0] == 200
    renders, since = site.renders, site.generation
    assert get(server, "/handouts/prp-injection.html")[0] == 200
    assert site.renders == renders  # cached
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    path.write_text(path.read_text().replace("title: Platelet-Rich Plasma (PRP) Injection",
                                             "title: PRP Shot"))
    changed = site.refresh()
    assert {c for c in changed if c.startswith("handout:")} == {
        "handout:prp-injection", "handout:prp-injection.large",
        "handout:prp-injection.es", "handout:prp-injection.es.large",  # translations follow the original
    }
    assert site.should_reload("handout:prp-injection", since)
    assert not site.should_reload("handout:joint-injections-nerve-blocks", since)
    assert b"<h1>PRP Shot</h1>" in get(server, "/handouts/prp-injection.html")[2]
    assert get(server, "/handouts/joint-injections-nerve-blocks.html")[0] == 200
    assert site.renders == renders + 1
    assert site.refresh() == set()  # nothing changed since


def test_watcher_picks_up_a_save(server: PreviewServer, sample_project: Path) -> None:
    since = server.site.generation
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    path.write_text(path.read_text().replace("title: Platelet-Rich", "title: Saved Platelet-Rich"))
    deadline = time.monotonic() + 10
    while not server.site.should_reload("handout:prp-injection", since) and time.monotonic() < deadline:
        time.sleep(0.05)
    status, ctype, body = get(server, f"/_reload?item=handout%3Aprp-injection&since={since}")
    assert status == 200 and ctype == "application/json"
    assert body.startswith(b'{"reload": true')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_preview_command_answers_on_the_port(sample_project: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "handout_gen", "--project", str(sample_project),
         "preview", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "preview did not answer"
                time.sleep(0.1)
        assert response.status == 200
        hrefs = set(re.findall(r'href="([^"]+)"', body))
        assert expected_links(sample_project) <= hrefs
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert f"Serving the preview at http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err


def test_preview_on_a_busy_port_is_a_plain_error(sample_project: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(cli, ["--project", str(sample_project), "preview", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "choose another port with --port\n"
    )


def test_preview_outside_a_project_is_a_plain_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "preview", "--port", "0"])
    assert result.exit_code == 1
    assert "is not a handout-gen project (no content/practice.yaml)" in result.stderr


def test_newsletter_routes_show_the_email_and_its_text_part(server: PreviewServer) -> None:
    (issue_id, *_) = server.site.items.newsletters
    status, _, body = get(server, f"/newsletters/{issue_id}/")
    page_html = body.decode()
    assert status == 200
    assert f'<iframe src="/newsletters/{issue_id}/email.html" width="600"' in page_html
    assert f'<iframe src="/newsletters/{issue_id}/email.html" width="375"' in page_html
    status, ctype, text = get(server, f"/newsletters/{issue_id}/email.txt")
    assert status == 200 and ctype == "text/plain; charset=utf-8"
    assert "https://www.example.org/email/unsubscribe" in text.decode()
    status, _, email = get(server, f"/newsletters/{issue_id}/email.html")
    assert status == 200 and MARKER.encode() not in email  # the frame document is the email as built
    assert b'src="https://www.example.org/' not in email  # images point at the local files


def test_each_newsletter_edition_has_its_own_routes(server: PreviewServer) -> None:
    """The Spanish edition is previewed as its readers get it: its email, its text part."""
    (issue_id, langs), *_ = server.site.items.newsletters.items()
    assert langs == ("en", "es")
    status, _, body = get(server, f"/newsletters/{issue_id}/es/")
    page_html = body.decode()
    assert status == 200 and f"<h1>Newsletter {issue_id} (Spanish)</h1>" in page_html
    assert f'<iframe src="/newsletters/{issue_id}/es/email.html" width="375"' in page_html
    status, _, text = get(server, f"/newsletters/{issue_id}/es/email.txt")
    assert status == 200 and text.decode() == str(render_issue(server.site.project, issue_id, lang="es").text)
    assert "Cancelar la suscripción: https://www.example.org/email/unsubscribe/es/" in text.decode()
    status, _, email = get(server, f"/newsletters/{issue_id}/es/email.html")
    assert status == 200 and b'<html lang="es"' in email
    for path in (f"/newsletters/{issue_id}/en/", f"/newsletters/{issue_id}/zh/email.txt"):
        assert get(server, path)[0] == 404, path  # the original has no language folder; no Chinese edition


@pytest.mark.slow
def test_sample_packet_route(server: PreviewServer) -> None:
    status, ctype, body = get(server, "/packets/sample.pdf")
    assert status == 200 and ctype == "application/pdf"
    text = pdf_text(body)
    assert "Dear Alex Sample," in text and "Your appointment" in text


def test_preview_of_a_new_project(tmp_path: Path) -> None:
    from handout_gen.scaffold import init_project

    init_project(tmp_path / "p", name="Riverbend Pain Clinic")
    srv = PreviewServer(tmp_path / "p", port=0).start()
    try:
        hrefs = set(re.findall(r'href="([^"]+)"', get(srv, "/")[2].decode()))
        expected = {"/handouts/trigger-point-injection.html", "/newsletters/2027-01/",
                    "/packets/sample.pdf"}
        assert expected <= hrefs
        assert b"Riverbend Pain Clinic" in get(srv, "/newsletters/2027-01/email.txt")[2]
    finally:
        srv.stop()


@pytest.mark.slow
def test_the_site_is_served_under_site_with_its_links_there(
    server: PreviewServer, sample_project: Path
) -> None:
    status, ctype, body = get(server, "/site/")
    assert (status, ctype) == (200, "text/html; charset=utf-8")
    home = body.decode()
    assert MARKER in home  # the preview's reload script, as on every preview page
    assert 'href="/site/procedures/radiofrequency-ablation/"' in home
    assert 'href="/site/assets/site.css"' in home and '<a class="brand" href="/site/">' in home
    assert '<link rel="canonical" href="https://www.example.org/">' in home  # addresses stay the real ones
    status, _, body = get(server, "/site/procedures/radiofrequency-ablation/es")  # no slash, as printed
    assert status == 200 and '<html lang="es">' in body.decode()
    for path, kind, start in (
        ("/site/assets/site.css", "text/css; charset=utf-8", b"@font-face"),
        ("/site/assets/logo.png", "image/png", b"\x89PNG"),
        ("/site/assets/fonts/AtkinsonHyperlegible-Bold.woff2", "font/woff2", b"wOF2"),
        ("/site/assets/images/newsletter-2026-12-hero.png", "image/png", b"\x89PNG"),
        ("/site/handouts/prp-injection.es.pdf", "application/pdf", b"%PDF"),
        ("/site/sitemap.xml", "application/xml", b"<?xml"),
    ):
        status, ctype, body = get(server, path)
        assert (status, ctype, body[:len(start)]) == (200, kind, start), path
    issue = get(server, "/site/newsletters/2026-12/")[2].decode()
    assert 'src="/site/assets/images/newsletter-2026-12-hero.png"' in issue
    assert get(server, "/site/nope/")[0] == 404
    assert get(server, "/site/../content/practice.yaml")[0] == 404
    since = server.site.generation
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    text = path.read_text()
    path.write_text(text.replace("title: Platelet-Rich Plasma (PRP) Injection", "title: PRP, edited"))
    server.site.refresh()
    assert server.site.should_reload("site", since)
    assert "PRP, edited" in get(server, "/site/procedures/prp-injection/")[2].decode()


def raw(server: PreviewServer, request: bytes) -> tuple[int, dict[str, str]]:
    """Send ``request`` as it is (malformed ones included); the status and headers of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"{name} sent twice"
        headers[name.lower()] = value.strip()
    return int(lines[0].split()[1]), headers


@pytest.mark.slow
def test_every_response_carries_the_content_security_policy(
    server: PreviewServer, sample_project: Path
) -> None:
    """Pages, files, PDFs, JSON, errors (the preview's and http.server's own): one policy each."""
    from handout_gen.preview.site import CONTENT_SECURITY_POLICY as POLICY

    issue = next(iter(server.site.items.newsletters))
    host = f"Host: 127.0.0.1:{server.port}\r\n"

    def get_headers(path: str, method: str = "GET", extra: str = host) -> tuple[int, dict[str, str]]:
        return raw(server, f"{method} {path} HTTP/1.1\r\n{extra}Connection: close\r\n\r\n".encode())

    answers = {
        path: get_headers(path)
        for path in ("/", "/handouts/prp-injection.html", "/handouts/prp-injection.pdf",
                     f"/newsletters/{issue}/", f"/newsletters/{issue}/email.html",
                     f"/newsletters/{issue}/email.txt", "/_reload?item=index&since=0", "/no/such/page",
                     "/_file/0/content/practice.yaml")
    }
    answers["wrong host"] = get_headers("/", extra="Host: attacker.example\r\n")
    answers["POST"] = get_headers("/", method="POST")
    many = "".join(f"X-{i}: 1\r\n" for i in range(120))  # http.server refuses over 100 headers
    answers["bad request"] = get_headers("/", extra=host + many)
    answers["file"] = get_headers("/_file/0/content/assets/logo.svg")
    answers["file as a page"] = get_headers("/_file/0/content/assets/logo.svg",
                                            extra=host + "Sec-Fetch-Dest: document\r\n")
    path = sample_project / "content" / "procedures" / "prp-injection.md"
    path.write_text(path.read_text().replace("kind: procedure\n", "kind: procedure\nnot_a_field: 1\n"))
    server.site.refresh()
    answers["content error"] = get_headers("/handouts/prp-injection.html")
    statuses = {what: status for what, (status, _) in answers.items()}
    assert statuses == {**statuses, "/no/such/page": 404, "/_file/0/content/practice.yaml": 404,
                        "wrong host": 403, "POST": 501, "bad request": 431, "file": 200,
                        "file as a page": 403, "content error": 200, "/handouts/prp-injection.pdf": 200}
    for what, (_, headers) in answers.items():
        expected = f"sandbox; {POLICY}" if what == "file" else POLICY
        assert headers.get("content-security-policy") == expected, what
    assert "default-src 'none'" in POLICY and "unsafe-inline" not in POLICY.split("style-src")[0]
