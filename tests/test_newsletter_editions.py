"""Newsletter language editions: the Spanish edition of the sample issue, built and sent for real.

The .eml files are parsed with the email package; sends go to a real aiosmtpd server on
127.0.0.1 (the fixtures of tests/test_send.py), and every message is read back as received.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from lxml import html as lxml_html  # type: ignore[import-untyped]

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.newsletter.render import render_changed, write_rendered

from .mailutil import assert_headers_once
from .test_send import Handler, free_port, local_smtp, send_cli, write_csv

ISSUE = "2026-12"
SPANISH_SUBJECT = "Noticias de diciembre: dos tratamientos para el dolor de espalda y cuello que no se va"
ENGLISH_SUBJECT = "December news: two treatments for long-lasting back and neck pain"


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    """A real SMTP server on 127.0.0.1 that records what it accepts (as in test_send.py)."""
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def edition_file(project: Path, lang: str) -> Path:
    return project / "content" / "newsletters" / f"{ISSUE}.{lang}.md"


def build(project: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--project", str(project), "newsletter", ISSUE])
    return result.exit_code, result.stdout, result.stderr


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


def test_spanish_edition_is_built_inlined_with_a_text_part(sample_project: Path) -> None:
    code, out, err = build(sample_project)
    assert code == 0, err
    assert f"wrote output/newsletters/{ISSUE}/email.es.eml" in out
    assert re.search(r"HTML part \(es\): [\d,]+ bytes", out)
    folder = sample_project / "output" / "newsletters" / ISSUE
    msg = parse((folder / "email.es.eml").read_bytes())
    assert_headers_once(msg, one_click=False)
    assert msg["Subject"] == SPANISH_SUBJECT
    assert msg["Content-Language"] == "es"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html, text = parts(msg)
    tree = lxml_html.document_fromstring(html)
    assert tree.get("lang") == "es"
    h1 = tree.find(".//h1")
    assert h1.text_content() == SPANISH_SUBJECT
    assert "font-size:28px" in h1.get("style", "").replace(" ", "")  # premailer inlined the class
    media = re.compile(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}")
    assert all(not media.sub("", s.text or "").strip() for s in tree.iter("style"))  # only @media is left
    assert '<p style="margin:0 0 16px 0">Hola:</p>' in html
    hrefs = [a.get("href", "") for a in tree.iter("a")]
    spanish_page = "https://www.example.org/procedures/radiofrequency-ablation/es/?utm_"
    assert any(h.startswith(spanish_page) for h in hrefs)
    assert "https://www.example.org/newsletters/2026-12/es/" in hrefs  # view in browser: the Spanish page
    assert all(h.startswith(("https://", "tel:", "mailto:")) for h in hrefs)
    assert "Cancelar la suscripción" in html and "Recibe este correo porque" in html
    assert "\nHorario de fiestas\n==================\n" in text.replace("\r\n", "\n") and "Hola:" in text
    home = "https://www.example.org/es/?utm_source=newsletter&utm_medium=email&utm_campaign=2026-12"
    assert home in hrefs  # the logo's link: the Spanish home page
    assert "Lea sobre Ablación por radiofrecuencia: https://www.example.org/procedures/" in text
    assert "400 Orchard Way" in text  # the postal address, in both parts
    english = parse((folder / "email.eml").read_bytes())
    assert english["Content-Language"] == "en" and english["Subject"] == ENGLISH_SUBJECT
    assert lxml_html.document_fromstring(parts(english)[0]).get("lang") == "en"
    browser = (folder / "browser.es.html").read_text(encoding="utf-8")
    assert "Véalo en su navegador" not in browser and "Véalo en su navegador" in html


def test_mixed_list_gets_each_reader_their_edition(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    csv_path = write_csv(
        tmp_path / "list.csv",
        "email,first_name,Language\r\nana@example.org,Ana,es\r\nben@example.org,Ben,\r\n"
        "carla@example.org,Carla,Español\r\ndev@example.org,Dev,EN\r\n",
    )
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port), "--rate", "0")
    assert result.exit_code == 0, result.output
    summary = result.stdout.splitlines()[:2]
    assert summary == ["sent 4, failed 0", "editions: es 2, en 2"]
    received = {m["To"]: m for _, m in handler.received}
    for address, name in (("ana@example.org", "Ana"), ("carla@example.org", "Carla")):
        msg = received[address]
        html, text = parts(msg)
        assert msg["Subject"] == SPANISH_SUBJECT and msg["Content-Language"] == "es"
        assert lxml_html.document_fromstring(html).get("lang") == "es"
        assert f"Hola, {name}:" in html and f"Hola, {name}:" in text
        # their unsubscribe and preferences pages are in Spanish too (the site and the app make them)
        assert "Cancelar la suscripción: https://www.example.org/email/unsubscribe/es/?t=" in text
        assert msg["List-Unsubscribe"].startswith("<https://www.example.org/email/unsubscribe/es/?t=")
        assert "https://www.example.org/email/preferences/es/?t=" in text
    for address, name in (("ben@example.org", "Ben"), ("dev@example.org", "Dev")):
        msg = received[address]
        html, text = parts(msg)
        assert msg["Subject"] == ENGLISH_SUBJECT and msg["Content-Language"] == "en"
        assert lxml_html.document_fromstring(html).get("lang") == "en"
        assert f"Hello {name}," in text and "Hola" not in text
        assert "https://www.example.org/email/unsubscribe?t=" in text and "/es/" not in text
    log = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()][1:]
    assert [(e["row"], e["lang"]) for e in entries] == [(2, "es"), (3, "en"), (4, "es"), (5, "en")]
    again = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port))
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("sent 0, already sent earlier 4, failed 0\n")
    assert len(handler.received) == 4  # one message per reader, none again on resume
    # the editions line of a send counts what was sent, not a message the server refused
    handler.refuse["carla@example.org"] = "550 5.1.1 no such user"
    fresh = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port), "--rate", "0",
                     "--log", str(tmp_path / "second-send.jsonl"))  # a new log: everyone again
    assert fresh.stdout.splitlines()[:2] == ["sent 3, failed 1", "editions: es 1, en 2"]


def test_bad_language_cell_is_refused_by_row_and_column(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    csv_path = write_csv(
        tmp_path / "list.csv",
        "email,Idioma\nana@example.org,es\nben@example.org,Klingon\ncarla@example.org,es-MX\n",
    )
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: 1 problem in list.csv; nothing was sent:\n"
        "  row 3, column Idioma: is not a language of this project (known: en, es, zh, ar)\n"
    )
    assert "Klingon" not in result.output and handler.received == []


def test_no_edition_in_a_language_falls_back_to_english(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    csv_path = write_csv(
        tmp_path / "list.csv", "email,lang\nli@example.org,zh\nwang@example.org,zh\nana@example.org,es\n"
    )
    dry = send_cli(sample_project, "--recipients", str(csv_path), "--dry-run")
    assert "no Chinese (Simplified) (zh) edition of this issue: 2 readers would get the English one" \
        in dry.stdout.splitlines()
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port), "--rate", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1:3] == [
        "editions: en 2, es 1",
        "no Chinese (Simplified) (zh) edition of this issue: 2 readers got the English one",
    ]
    assert "example.org" not in result.output.replace("www.example.org", "")  # no reader named
    subjects = {m["To"]: (m["Subject"], m["Content-Language"]) for _, m in handler.received}
    assert subjects == {
        "li@example.org": (ENGLISH_SUBJECT, "en"),
        "wang@example.org": (ENGLISH_SUBJECT, "en"),
        "ana@example.org": (SPANISH_SUBJECT, "es"),
    }


def test_test_send_of_the_spanish_edition(sample_project: Path, smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    result = send_cli(sample_project, "--to", "me@example.org", "--lang", "es", *local_smtp(port))
    assert result.exit_code == 0, result.output
    ((_, msg),) = handler.received
    assert msg["Subject"] == SPANISH_SUBJECT and "Hola:" in parts(msg)[1]


def test_unknown_language_edition_warns_and_never_blocks_english(sample_project: Path) -> None:
    source = edition_file(sample_project, "es").read_text(encoding="utf-8")
    edition_file(sample_project, "vi").write_text(source.replace("lang: es", "lang: vi"), encoding="utf-8")
    code, out, err = build(sample_project)
    assert code == 0, err
    line = source.splitlines().index("lang: es") + 1
    assert (
        f"Warning: content/newsletters/{ISSUE}.vi.md:{line}: unknown language 'vi' "
        "(known: en, es, zh, ar); declare it in content/languages.yaml; this edition is left out"
    ) in err
    folder = sample_project / "output" / "newsletters" / ISSUE
    assert (folder / "email.html").is_file() and (folder / "email.es.html").is_file()
    assert not list(folder.glob("*.vi.*"))


def test_broken_edition_blocks_only_itself_in_build(sample_project: Path) -> None:
    path = edition_file(sample_project, "es")
    old = "## Horario de fiestas {#holiday-hours}"
    text = path.read_text(encoding="utf-8").replace(old, "## Horario {#horas}")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("## Horario {#horas}") + 1
    code, _, err = build(sample_project)  # `newsletter`: a reader's edition is broken, nothing written
    # ... while `build` writes the English files and reports the Spanish file
    assert code == 1
    assert f"content/newsletters/{ISSUE}.es.md:{line}: section 'horas' is not in the English issue" in err
    assert not (sample_project / "output" / "newsletters" / ISSUE).exists()
    project = load_project(sample_project)
    result = render_changed(project)
    assert [str(p) for p in result.problems][-1].startswith(f"content/newsletters/{ISSUE}.es.md:")
    names = sorted(p.name for p in write_rendered(project, result.rendered))
    assert names == ["browser.html", "email.eml", "email.html", "email.txt"]  # English only


def test_check_reads_the_spanish_edition(sample_project: Path) -> None:
    path = edition_file(sample_project, "es")
    hard = (
        "La administración farmacológica concomitante de anticoagulantes orales requiere "
        "una valoración interdisciplinaria individualizada, considerando comorbilidades "
        "cardiovasculares preexistentes y características farmacocinéticas específicas."
    )
    text = path.read_text(encoding="utf-8").replace("El invierno puede", hard + " El invierno puede")
    path.write_text(text.replace("clínica en", "clínica en ☃︎ \U0010fffd"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "check", "--no-pdf"])
    out = result.output
    body = text.splitlines().index("---", 1) + 2
    assert re.search(
        rf"content/newsletters/{ISSUE}\.es\.md:{body}: warning \[readability\.inflesz\] "
        r"the introduction scores \d+ on the Szigriszt-Pazos \(INFLESZ\) scale",
        out,
    ), out
    assert re.search(rf"content/newsletters/{ISSUE}\.es\.md:\d+: error \[.*glyph.*\].*U\+10FFFD", out), out
