"""The unsubscribe app (site/app.py) over real HTTP on 127.0.0.1, with a real SMTP server for sends."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from lxml import html as lxml_html

from handout_gen.cli import cli
from handout_gen.core.errors import ConfigError
from handout_gen.newsletter.unsubscribe import UnsubscribeTokens
from handout_gen.site.app import UnsubscribeApp, create_app
from tests.conftest import TEST_SECRET
from tests.test_send import Handler, free_port, write_csv

TOKENS = UnsubscribeTokens(TEST_SECRET.encode())
UNSUBSCRIBE = "/email/unsubscribe"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - wsgiref's name
        return


@pytest.fixture
def app_server(sample_project: Path) -> Iterator[tuple[WSGIServer, Path]]:
    """The app as a practice runs it: configured from the environment, served on 127.0.0.1."""
    app = create_app({"HANDOUT_GEN_PROJECT": str(sample_project), "HANDOUT_GEN_SECRET": TEST_SECRET})
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, sample_project / "private" / "unsubscribed.jsonl"
    server.shutdown()
    server.server_close()


def request(server: WSGIServer, method: str, target: str, body: bytes | None = None,
            content_type: str = "application/x-www-form-urlencoded") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    headers = {"Content-Type": content_type} if body is not None else {}
    conn.request(method, target, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text


def main_text(html: str) -> str:
    return " ".join(lxml_html.document_fromstring(html).find(".//main").text_content().split())


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_link_shows_a_button_and_changes_nothing(app_server: tuple[WSGIServer, Path]) -> None:
    server, suppressions = app_server
    token = TOKENS.token("2026-12", "ana@example.org")
    for _ in range(2):  # a mail scanner opening the link twice unsubscribes nobody
        status, headers, html = request(server, "GET", f"{UNSUBSCRIBE}?t={token}")
        assert status == 200
    assert not suppressions.exists()
    assert "Stop getting our newsletter?" in main_text(html)
    form = lxml_html.document_fromstring(html).find(".//form")
    assert (form.get("method"), form.get("action")) == ("post", UNSUBSCRIBE)
    assert form.xpath('.//input[@name="t"]/@value') == [token]
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "<script" not in html.replace('<script type="application/ld+json">', "")


def test_one_click_post_unsubscribes_at_once_without_a_redirect(app_server: tuple[WSGIServer, Path]) -> None:
    server, suppressions = app_server
    token = TOKENS.token("2026-12", "ben@example.org")
    status, headers, html = request(server, "POST", f"{UNSUBSCRIBE}?t={token}", b"List-Unsubscribe=One-Click")
    assert status == 200 and "location" not in headers
    assert "You are unsubscribed" in main_text(html)
    assert [(e["token"], e["via"]) for e in lines(suppressions)] == [(token, "one-click")]
    assert "ben" not in suppressions.read_text()
    # again, from the page's form this time: still one line (the reader is already on the list)
    status, _, html = request(server, "POST", UNSUBSCRIBE, f"t={quote(token)}".encode())
    assert status == 200 and "You are unsubscribed" in main_text(html)
    assert len(lines(suppressions)) == 1


def test_preferences_page_offers_the_language_and_the_same_button(
        app_server: tuple[WSGIServer, Path]) -> None:
    server, suppressions = app_server
    token = TOKENS.token("2026-12", "carla@example.org")
    status, _, html = request(server, "GET", f"/email/preferences?t={token}")
    assert status == 200 and "Your email settings" in main_text(html)
    choose, stop = lxml_html.document_fromstring(html).findall(".//form")
    assert choose.get("action") == "/email/preferences"
    assert choose.xpath('.//input[@name="t"]/@value') == [token]
    options = {i.get("value"): (i.get("checked") is not None, i.getparent().text_content().strip())
               for i in choose.xpath('.//input[@type="radio"][@name="language"]')}
    # the editions the newsletter comes in, the page's language checked
    assert options == {"en": (True, "English"), "es": (False, "Español")}
    assert stop.get("action") == UNSUBSCRIBE and "Stop getting our newsletter?" in main_text(html)
    # a bad token, a language not offered, none
    for body in (b"t=x&language=es", f"t={quote(token)}&language=zh".encode(), f"t={quote(token)}".encode()):
        assert request(server, "POST", "/email/preferences", body)[0] == 400
    status, headers, _ = request(server, "PUT", "/email/preferences", b"x")
    assert status == 405 and headers["allow"] == "GET, HEAD, POST"
    assert not choices_file(suppressions).exists() and not suppressions.exists()


def choices_file(suppressions: Path) -> Path:
    return suppressions.with_name("newsletter-languages.jsonl")


def test_a_spanish_reader_is_answered_in_spanish(app_server: tuple[WSGIServer, Path]) -> None:
    """The Spanish edition's footer links to ``<url>/es/``: the page, its button and what
    follows are in Spanish, and the button posts back to the Spanish page."""
    server, suppressions = app_server
    token = TOKENS.token("2026-12", "ana@example.org")
    status, _, html = request(server, "GET", f"{UNSUBSCRIBE}/es/?t={token}")
    tree = lxml_html.document_fromstring(html)
    assert status == 200 and tree.get("lang") == "es"
    assert "¿Dejar de recibir nuestro boletín?" in main_text(html) and "newsletter" not in main_text(html)
    form = tree.find(".//form")
    assert form.get("action") == f"{UNSUBSCRIBE}/es/"
    assert form.find(".//button").text == "Cancelar la suscripción"
    status, _, html = request(server, "POST", f"{UNSUBSCRIBE}/es/", f"t={quote(token)}".encode())
    assert status == 200 and "Se ha dado de baja" in main_text(html)
    assert [(e["token"], e["via"]) for e in lines(suppressions)] == [(token, "form")]
    # Ana has left: her settings page says so, and how to come back, not "we will send you"
    status, _, html = request(server, "GET", f"/email/preferences/es/?t={token}")
    assert status == 200 and "Se ha dado de baja" in main_text(html)
    assert "Llámenos al 555-0100" in main_text(html)
    # its other languages stay with her (her page in English says the same), not the how-to-stop page
    english = lxml_html.document_fromstring(html).xpath('//nav//a[@hreflang="en"]/@href')
    assert english == [f"/email/preferences/?t={quote(token)}"]
    body = f"t={quote(token)}&language=en".encode()
    status, _, html = request(server, "POST", "/email/preferences/es/", body)
    assert "Se ha dado de baja" in main_text(html) and "enviaremos" not in main_text(html)
    token = TOKENS.token("2026-12", "ben@example.org")
    status, _, html = request(server, "GET", f"/email/preferences/es/?t={token}")
    tree = lxml_html.document_fromstring(html)
    assert status == 200 and "Sus preferencias de correo" in main_text(html)
    assert tree.findtext(".//title").startswith("Sus preferencias de correo")
    # the header's "English" keeps Ben's token: his settings in English, not the how-to-stop page
    assert tree.xpath('//nav//a[@hreflang="en"]/@href') == [f"/email/preferences/?t={quote(token)}"]
    choose, stop = tree.findall(".//form")
    assert (choose.get("action"), stop.get("action")) == ("/email/preferences/es/", f"{UNSUBSCRIBE}/es/")
    assert choose.xpath('.//input[@checked]/@value') == ["es"]  # the page's language until a reader chooses
    assert request(server, "GET", f"{UNSUBSCRIBE}/zh/?t={token}")[0] == 404  # no Chinese edition


@pytest.mark.parametrize(
    "token",
    [
        "2026-12.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",  # made up
        UnsubscribeTokens(b"another-secret-of-thirty-two-chars!").token("2026-12", "ana@example.org"),
        TOKENS.token("2026-12", "ana@example.org")[:-1],  # cut short by a mail program
    ],
)
def test_a_bad_token_is_refused_with_other_ways_to_unsubscribe(
    app_server: tuple[WSGIServer, Path], token: str
) -> None:
    server, suppressions = app_server
    for method, body in (("GET", None), ("POST", b"List-Unsubscribe=One-Click")):
        status, _, html = request(server, method, f"{UNSUBSCRIBE}?t={quote(token)}", body)
        assert status == 400
        assert "This link does not work" in main_text(html) and "555-0100" in main_text(html)
    assert not suppressions.exists()


def test_no_token_other_paths_methods_and_sizes(app_server: tuple[WSGIServer, Path]) -> None:
    server, _ = app_server
    status, _, html = request(server, "GET", UNSUBSCRIBE + "/")
    assert status == 200 and "Stop getting our emails" in main_text(html)
    assert request(server, "GET", "/email/unsubscribe/../../etc/passwd")[0] == 404
    assert request(server, "GET", "/procedures/")[0] == 404
    status, headers, _ = request(server, "PUT", UNSUBSCRIBE, b"x")
    assert status == 405 and headers["allow"] == "GET, HEAD, POST"
    assert request(server, "POST", UNSUBSCRIBE, b"t=" + b"x" * 5000)[0] == 413
    status, headers, body = request(server, "HEAD", UNSUBSCRIBE)
    assert status == 200 and body == "" and int(headers["content-length"]) > 0


def test_the_app_needs_its_project_and_the_secret(sample_project: Path) -> None:
    with pytest.raises(ConfigError, match="^set HANDOUT_GEN_PROJECT to the project folder"):
        create_app({"HANDOUT_GEN_SECRET": TEST_SECRET})
    with pytest.raises(ConfigError, match="^no unsubscribe secret"):
        create_app({"HANDOUT_GEN_PROJECT": str(sample_project)})
    app = create_app({"HANDOUT_GEN_PROJECT": str(sample_project), "HANDOUT_GEN_SECRET": TEST_SECRET,
                      "HANDOUT_GEN_SUPPRESSIONS": str(sample_project / "elsewhere.jsonl")})
    assert isinstance(app, UnsubscribeApp) and app.suppressions.path == sample_project / "elsewhere.jsonl"


def test_send_unsubscribe_by_one_click_send_again(sample_project: Path, tmp_path: Path,
                                                  app_server: tuple[WSGIServer, Path]) -> None:
    """The whole loop, over 127.0.0.1: a list send, one reader's mail program POSTs the
    List-Unsubscribe URL, the next issue reaches everybody else and not that reader."""
    server, suppressions = app_server
    issues = sample_project / "content" / "newsletters"
    december = (issues / "2026-12.md").read_text()
    january = december.replace("December news", "January news").replace("2026-12-01", "2027-01-04")
    (issues / "2027-01.md").write_text(january)
    readers = ["ana@example.org", "ben@example.org", "carla@example.org"]
    rows = "".join(f"{a},{a[:3]}\n" for a in readers)
    roster = write_csv(tmp_path / "list.csv", "email,first_name\n" + rows)
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        def send(issue: str) -> str:
            result = CliRunner().invoke(cli, [
                "--project", str(sample_project), "send", issue, "--recipients", str(roster),
                "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--rate", "0", "--allow-draft"])
            assert result.exit_code == 0, result.output
            return result.stdout

        assert "unsubscribed, not sent: 0" in send("2026-12")
        first = {msg["To"]: msg for _, msg in handler.received}
        assert sorted(first) == readers
        header = first["ben@example.org"]["List-Unsubscribe"].strip("<>")
        assert first["ben@example.org"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = urlsplit(header)
        assert (url.scheme, url.netloc, url.path) == ("https", "www.example.org", UNSUBSCRIBE)
        # Ben's mail program: POST the header's URL (here the app on 127.0.0.1) with the one-click body
        status, headers, _ = request(server, "POST", f"{url.path}?{url.query}", b"List-Unsubscribe=One-Click")
        assert status == 200 and "location" not in headers
        handler.received.clear()
        stdout = send("2027-01")
        assert stdout.startswith("sent 2, failed 0\n")
        assert f"unsubscribed, not sent: 1 (suppression list: {suppressions})" in stdout
        assert sorted(msg["To"] for _, msg in handler.received) == ["ana@example.org", "carla@example.org"]
        assert all(msg["Subject"].startswith("January news") for _, msg in handler.received)
    finally:
        controller.stop()
    assert "ben" not in suppressions.read_text()


def test_servers_that_import_a_callable_get_one_built_on_first_request(
    sample_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``handout_gen.site.app:application`` (mod_wsgi, uWSGI) reads the same environment."""
    from wsgiref.util import setup_testing_defaults

    from handout_gen.site.app import _LazyApp

    monkeypatch.setenv("HANDOUT_GEN_PROJECT", str(sample_project))
    environ: dict[str, object] = {"PATH_INFO": UNSUBSCRIBE}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(_LazyApp()(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"] and b"Stop getting our emails" in body


def test_a_reader_who_chooses_spanish_gets_the_spanish_edition_next(
        sample_project: Path, tmp_path: Path, app_server: tuple[WSGIServer, Path]) -> None:
    """The whole loop over 127.0.0.1: an English reader opens the preferences link of the email
    they got, chooses Spanish, is answered in Spanish; the next issue reaches them in Spanish
    while the rest of the list, and the list's own language column, stay as they were."""
    server, suppressions = app_server
    issues = sample_project / "content" / "newsletters"
    for name in ("2026-12.md", "2026-12.es.md"):
        text = (issues / name).read_text().replace("2026-12-01", "2027-01-04")
        (issues / name.replace("2026-12", "2027-01")).write_text(text)
    roster = write_csv(tmp_path / "list.csv", "email,language\nana@example.org,en\nben@example.org,English\n")
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        def send(issue: str) -> dict[str, str]:
            handler.received.clear()
            result = CliRunner().invoke(cli, [
                "--project", str(sample_project), "send", issue, "--recipients", str(roster),
                "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--rate", "0", "--allow-draft"])
            assert result.exit_code == 0, result.output
            languages = {msg["To"]: msg["Content-Language"] for _, msg in handler.received}
            return {"stdout": result.stdout, **languages}

        first = send("2026-12")
        assert (first["ana@example.org"], first["ben@example.org"]) == ("en", "en")
        message = next(msg for _, msg in handler.received if msg["To"] == "ana@example.org")
        html = message.get_body(("html",)).get_content()
        link = next(a.get("href") for a in lxml_html.document_fromstring(html).iter("a")
                    if a.text_content().strip() == "Update your email preferences")
        url = urlsplit(link)
        assert (url.netloc, url.path) == ("www.example.org", "/email/preferences")
        status, _, page = request(server, "GET", f"{url.path}?{url.query}")
        token = lxml_html.document_fromstring(page).xpath('//form[1]//input[@name="t"]/@value')[0]
        status, _, page = request(server, "POST", url.path, f"t={quote(token)}&language=es".encode())
        assert status == 200 and lxml_html.document_fromstring(page).get("lang") == "es"
        assert "Guardado" in main_text(page) and "se lo enviaremos en español" in main_text(page)
        tree = lxml_html.document_fromstring(page)
        back = tree.xpath('//main//a[text()="Volver a sus preferencias de correo"]')
        assert back[0].get("href") == f"/email/preferences/es/?t={quote(token)}"
        recorded = choices_file(suppressions)
        request(server, "POST", url.path, f"t={quote(token)}&language=es".encode())  # pressed twice
        assert [(e["token"], e["language"]) for e in lines(recorded)] == [(token, "es")]
        assert "ana" not in recorded.read_text() and not suppressions.exists()
        assert recorded.stat().st_mode & 0o777 == 0o640
        status, _, page = request(server, "GET", f"{url.path}?{url.query}")  # the choice is shown as made
        assert lxml_html.document_fromstring(page).xpath('//input[@checked]/@value') == ["es"]

        second = send("2027-01")
        assert (second["ana@example.org"], second["ben@example.org"]) == ("es", "en")
        assert "in the language they chose (preferences page): 1 reader\n" in second["stdout"]
        assert "ana" not in second["stdout"]
    finally:
        controller.stop()


def test_a_reader_whose_last_choice_is_no_longer_offered_can_choose_again(
        app_server: tuple[WSGIServer, Path]) -> None:
    """Their last line names a language the newsletter no longer comes in: no choice, so the
    page checks its own language, and pressing Save records the new one."""
    server, suppressions = app_server
    token = TOKENS.token("2026-12", "dora@example.org")
    choices_file(suppressions).parent.mkdir(parents=True, exist_ok=True)
    for language in ("es", "zh"):
        line = json.dumps({"at": "2026-11-01T00:00:00+00:00", "token": token, "language": language})
        with choices_file(suppressions).open("a") as handle:
            handle.write(line + "\n")
    _, _, html = request(server, "GET", f"/email/preferences?t={token}")
    assert lxml_html.document_fromstring(html).xpath('//input[@checked]/@value') == ["en"]
    request(server, "POST", "/email/preferences", f"t={quote(token)}&language=es".encode())
    assert [e["language"] for e in lines(choices_file(suppressions))] == ["es", "zh", "es"]
