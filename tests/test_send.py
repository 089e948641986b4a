"""Sending over SMTP to a real aiosmtpd server on 127.0.0.1: test send, list send, resume."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.core.errors import RosterError, SendError
from handout_gen.newsletter.recipients import load_recipients
from handout_gen.newsletter.send import ListReaders, SmtpSettings, send_issue
from tests.conftest import SRC_DIR

from .mailutil import assert_headers_once

ISSUE = "2026-12"


@dataclass
class Handler:
    """Records every accepted message; can refuse or stall on chosen messages."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    temporary_after: int | None = None  # answer 421 once this many were accepted
    stall_at: int | None = None  # hold the n-th message (1-based) until released
    accept_after_stall: bool = False  # then accept it (the default refuses it: the client was killed)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    attempts: int = 0
    refuse_sender: str | None = None  # answer MAIL FROM with this

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        self.attempts += 1
        if self.temporary_after is not None and len(self.received) >= self.temporary_after:
            return "421 4.3.2 try again later"
        if self.stall_at is not None and self.attempts == self.stall_at:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            if not self.accept_after_stall:
                return "451 4.3.0 client went away"  # never accepted: the client was killed
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


# The fixture's newsletter quotes draft procedures, as the sample's does: a list send of it
# needs --allow-draft (test_a_list_send_of_draft_text_is_refused tests the refusal).
DRAFTS_OK = "--allow-draft"


def send_cli(project: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``handout-gen --project PROJECT send 2026-12 ARGS…``, in-process (a list send of the
    fixture's draft text allowed)."""
    drafts = [DRAFTS_OK] if "--recipients" in args else []
    return CliRunner().invoke(cli, ["--project", str(project), "send", ISSUE, *args, *drafts], env=env)


def local_smtp(port: int) -> tuple[str, ...]:
    """The options that point a send at the test server."""
    return ("--smtp-host", "127.0.0.1", "--smtp-port", str(port))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


def write_csv(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def unsubscribe_token(msg: EmailMessage) -> str:
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://www.example.org/email/unsubscribe?t=")
    return parse_qs(urlsplit(url).query)["t"][0]


def test_a_server_without_starttls_is_named_at_once_not_retried(
    sample_project: Path, smtp: tuple[Handler, int]
) -> None:
    """--starttls to a server that offers none (aiosmtpd here, as many local relays): said as
    such on the first try, with what to change, not as a server that "kept failing"."""
    handler, port = smtp
    result = send_cli(sample_project, "--to", "x@example.org", *local_smtp(port), "--starttls")
    assert result.exit_code == 1 and handler.attempts == 0
    assert result.output.endswith(
        f"Error: the SMTP server at 127.0.0.1:{port} does not offer STARTTLS: check SMTP_PORT (587 "
        "usually offers it), or leave out --starttls for a relay on this machine\n")
    assert "x@example.org" not in result.output


def test_one_try_that_fails_is_said_as_one(sample_project: Path) -> None:
    """--retries 0 and no server: "failed", not "kept failing"."""
    result = send_cli(sample_project, "--to", "x@example.org", *local_smtp(free_port()), "--retries", "0")
    assert result.exit_code == 1
    assert "Error: the SMTP server failed on the test address (" in result.output


def test_cli_test_send_delivers_one_message(sample_project: Path, smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    result = send_cli(sample_project, "--to", "x@example.org", *local_smtp(port))
    assert result.exit_code == 0, result.output
    assert result.stdout == "sent 1, failed 0\n"
    assert len(handler.received) == 1
    rcpts, msg = handler.received[0]
    assert rcpts == ["x@example.org"]
    assert msg["To"] == "x@example.org"
    assert msg["Subject"] == "December news: two treatments for long-lasting back and neck pain"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert_headers_once(msg)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not (sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl").exists()


def test_three_recipient_send_is_personalised(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    csv_path = write_csv(
        tmp_path / "list.csv",
        "Email,First name\r\nana@example.org,Ana\r\n"
        "ben@example.org,<b>Ben & Co</b>\r\ncarla@example.org,\r\n",
        bom=True,
    )
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    result = send_cli(sample_project, "--recipients", str(csv_path), "--rate", "0", env=env)
    assert result.exit_code == 0, result.output
    assert "sent 3, failed 0" in result.stdout
    assert [rcpts for rcpts, _ in handler.received] == [
        ["ana@example.org"],
        ["ben@example.org"],
        ["carla@example.org"],
    ]
    bodies = {
        m["To"]: (m.get_body(("html",)).get_content(), m.get_body(("plain",)).get_content())
        for _, m in handler.received
    }
    assert '<p style="margin:0 0 16px 0">Hello Ana,</p>' in bodies["ana@example.org"][0]
    assert "Hello &lt;b&gt;Ben &amp; Co&lt;/b&gt;," in bodies["ben@example.org"][0]  # escaped, not markup
    assert "Hello <b>Ben & Co</b>," in bodies["ben@example.org"][1]  # text part: plain text
    assert '<p style="margin:0 0 16px 0">Hello,</p>' in bodies["carla@example.org"][0]
    tokens = [unsubscribe_token(m) for _, m in handler.received]
    # <issue>.<keyed address hash>.<MAC>, made with the practice secret (newsletter/unsubscribe.py)
    token_re = r"2026-12\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}"
    assert len(set(tokens)) == 3 and all(re.fullmatch(token_re, t) for t in tokens)
    for (_, msg), tok in zip(handler.received, tokens, strict=True):
        html, text = bodies[msg["To"]]
        assert f'href="https://www.example.org/email/unsubscribe?t={tok}"' in html
        assert f"Unsubscribe: https://www.example.org/email/unsubscribe?t={tok}" in text
        assert msg["To"].split("@")[0] not in msg["List-Unsubscribe"]  # the token never shows the address
    assert len({m["Message-ID"] for _, m in handler.received}) == 3
    log = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in entries] == ["start", "sent", "sent", "sent"]
    assert [e["row"] for e in entries[1:]] == [2, 3, 4]
    assert "example.org" not in log.read_text().replace("@example.org>", "")  # no addresses in the log


def test_bad_rows_named_before_anything_is_sent(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    csv_path = write_csv(
        tmp_path / "list.csv",
        "email,first_name\nana@example.org,Ana\nnot-an-address,Bo\n\nANA@example.org,Ana again\n,Cy\n",
    )
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: 3 problems in list.csv; nothing was sent:\n"
        "  row 3, column email: is not a valid email address\n"
        "  row 5, column email: duplicate of row 2\n"
        "  row 6, column email: is empty\n"
    )
    assert "not-an-address" not in result.output and handler.received == []


def test_a_list_send_of_draft_text_is_refused_and_named_by_file(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    """Medical text and translations stay draft until a reviewer signs: a list gets none of it
    (a test send does: that is how a reviewer reads it). Each draft is named by its file, the
    Spanish edition only when the list has a Spanish reader; nothing is sent or logged."""
    handler, port = smtp
    csv_path = write_csv(tmp_path / "list.csv", "email,first_name,language\nana@example.org,Ana,es\n")
    args = ["--project", str(sample_project), "send", ISSUE, "--recipients", str(csv_path), *local_smtp(port)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and handler.received == []
    assert result.stderr == (
        "Error: nothing was sent: no reviewer has approved (no 'status: approved') the Spanish edition "
        "(content/newsletters/2026-12.es.md); the summary of Ablación por radiofrecuencia "
        "(content/procedures/radiofrequency-ablation.es.md); the summary of Inyección epidural de "
        "esteroides (content/procedures/epidural-steroid-injection.es.md). Have it reviewed and set "
        "'status: approved', or send it anyway with --allow-draft\n")
    assert not (sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl").exists()
    # an email service's copy goes to a list past this gate: its export names the drafts too
    export = CliRunner().invoke(cli, ["--project", str(sample_project), "newsletter", ISSUE,
                                      "--esp", "mailchimp"])
    assert export.exit_code == 0 and export.stderr.startswith(
        "Note: no reviewer has approved (no 'status: approved') the summary of Radiofrequency Ablation "
        "(content/procedures/radiofrequency-ablation.md);")
    assert "the Spanish edition (content/newsletters/2026-12.es.md)" in export.stderr
    # approved, the Spanish reader's text goes out
    for name in ("content/newsletters/2026-12.es.md", "content/procedures/radiofrequency-ablation.es.md",
                 "content/procedures/epidural-steroid-injection.es.md"):
        path = sample_project / name
        path.write_text(path.read_text(encoding="utf-8").replace("\nstatus: draft", "\nstatus: approved"),
                        encoding="utf-8")
    result = CliRunner().invoke(cli, [*args, "--rate", "0"])
    assert result.exit_code == 0, result.output
    assert [rcpt for rcpt, _ in handler.received] == [["ana@example.org"]]
    # a test send of draft text goes: the reviewer reads it that way
    sent = send_cli(sample_project, "--to", "reviewer@example.org", "--lang", "en", *local_smtp(port))
    assert sent.exit_code == 0, sent.output
    # an issue with no status at all is not approved either (init's starter issue had none)
    path = sample_project / "content/newsletters/2026-12.md"
    path.write_text(path.read_text(encoding="utf-8").replace("\nstatus: approved  #", "\n#", 1),
                    encoding="utf-8")
    english = write_csv(tmp_path / "english.csv", "email,first_name,language\nben@example.org,Ben,en\n")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "send", ISSUE, "--recipients",
                                      str(english), *local_smtp(port), "--rate", "0"])
    assert result.exit_code == 1 and len(handler.received) == 2
    assert ("approved (no 'status: approved') the English edition (content/newsletters/2026-12.md)"
            in result.stderr)


def refusal(tmp_path: Path, text: str) -> str:
    """What loading a recipient list of ``text`` says, refusing it."""
    with pytest.raises(RosterError) as info:
        load_recipients(write_csv(tmp_path / "list.csv", text))
    return str(info.value)


def test_patient_columns_are_refused(tmp_path: Path) -> None:
    said = refusal(tmp_path, "email,first_name,Diagnosis\na@example.org,A,lumbar stenosis\n")
    assert said == (
        "1 problem in list.csv; nothing was sent:\n  row 1: column 'Diagnosis' is not "
        "allowed: a recipient list holds only email, first_name and language (never patient data)"
    )
    assert "stenosis" not in said
    assert "column 'red?[0m' is not allowed" in refusal(tmp_path, "email,red\x1b[0m\na@example.org,x\n")


def test_an_unquoted_comma_and_a_semicolon_export_are_named(tmp_path: Path) -> None:
    """A cell past the header's columns (a name with a comma, not quoted) was dropped in
    silence; a spreadsheet's semicolon export was called one unknown column."""
    said = refusal(tmp_path, "email,first_name\nok1@example.org,Smith, Ana\nok2@example.org,Bo\n")
    assert said == ("1 problem in list.csv; nothing was sent:\n  row 2: has more cells than the header's 2 "
                    "columns (a comma in a name must be inside double quotes)")
    assert "Smith" not in said and "Ana" not in said
    assert refusal(tmp_path, "email;first_name;language\nok1@example.org;Ana;es\n") == (
        "1 problem in list.csv; nothing was sent:\n  row 1: is separated by semicolons, not commas: save "
        "the list as CSV UTF-8 (comma delimited)")
    quoted = load_recipients(write_csv(tmp_path / "ok.csv", 'email,first_name\nok1@example.org,"Ana, Jr."\n'))
    assert [r.first_name for r in quoted] == ["Ana, Jr."]


def test_a_list_without_a_header_or_with_a_huge_cell_is_named_never_quoted(tmp_path: Path) -> None:
    """Its first row is a reader's: the message once quoted their address as a column name."""
    assert refusal(tmp_path, "jane.doe@example.org,Jane\nben@example.org,Ben\n") == (
        "1 problem in list.csv; nothing was sent:\n  row 1: holds an email address, not column names: add a "
        "header row (email, first_name, language)")
    assert refusal(tmp_path, "email,first_name\na@example.org," + "Zzyzx" * 40_000 + "\n") == (
        "1 problem in list.csv; nothing was sent:\n  row 2: a cell is too long or the file is not valid CSV")


def test_not_utf8_list(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("email,first_name\na@example.org,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8 text; save the list as CSV UTF-8"):
        load_recipients(path)


def test_permanent_failure_recorded_and_reported(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    handler.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: user unknown"
    csv_path = write_csv(tmp_path / "list.csv", "email\na@example.org\ngone@example.org\nc@example.org\n")
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port), "--rate", "0")
    assert result.exit_code == 1
    assert [r for r, _ in handler.received] == [["a@example.org"], ["c@example.org"]]
    assert "  row 3: refused by the server (550 5.1.1)\n" in result.stderr
    assert result.stderr.endswith("Error: 1 message was refused permanently (see above)\n")
    assert "gone@example.org" not in result.output


def test_transient_errors_retried_then_resume_without_duplicates(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    project = load_project(sample_project)
    people = load_recipients(
        write_csv(tmp_path / "l.csv", "email\n" + "".join(f"p{i}@example.org\n" for i in range(5)))
    )
    settings = SmtpSettings("127.0.0.1", port)
    handler.temporary_after = 2  # the server starts answering 421 after two messages
    with pytest.raises(
        SendError,
        match=r"^the SMTP server kept failing on row 4 \(421 4\.3\.2\); 2 sent this run\. "
        "Run the same command again to resume: sent recipients are skipped$",
    ):
        send_issue(project, ISSUE, people, settings, rate=0, retries=2, backoff=0.01)
    assert handler.attempts == 2 + 3  # two accepted, then the first try and two retries of the third
    handler.temporary_after = None  # the server recovers
    report = send_issue(project, ISSUE, people, settings, rate=0, backoff=0.01)
    assert (report.sent, report.skipped, report.failed) == (3, 2, [])
    assert [r[0] for r, _ in handler.received] == [f"p{i}@example.org" for i in range(5)]
    again = send_issue(project, ISSUE, people, settings, rate=0)
    assert (again.sent, again.skipped) == (0, 5) and len(handler.received) == 5


def test_the_send_log_keeps_no_key_and_a_resume_with_another_secret_is_refused(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    """With its key in its first line, the log alone let anyone test a guessed address against
    its tokens. The key now comes from the practice secret; its start line keeps a check."""
    from handout_gen.newsletter.unsubscribe import UnsubscribeTokens, mac

    handler, port = smtp
    project = load_project(sample_project)
    people = load_recipients(write_csv(tmp_path / "l.csv", "email\nana@example.org\nben@example.org\n"))
    settings = SmtpSettings("127.0.0.1", port)
    ours, other = UnsubscribeTokens(b"k" * 40), UnsubscribeTokens(b"j" * 40)
    send_issue(project, ISSUE, people[:1], settings, rate=0, tokens=ours)
    path = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    start, sent = (json.loads(line) for line in path.read_text().splitlines())
    assert set(start) == {"event", "issue", "nonce", "check", "at"} and "key" not in path.read_text()
    assert b"k" * 40 not in path.read_bytes()
    with pytest.raises(SendError, match="was started with another unsubscribe secret: resume it with"):
        send_issue(project, ISSUE, people, settings, rate=0, tokens=other)
    report = send_issue(project, ISSUE, people, settings, rate=0, tokens=ours)
    assert (report.sent, report.skipped) == (1, 1) and len(handler.received) == 2
    # the list sent again with a new log (a corrected issue): new Message-IDs, or mail systems
    # drop the messages as repeats of the first
    send_issue(project, ISSUE, people[:1], settings, rate=0, tokens=ours, log_path=tmp_path / "again.jsonl")
    first, _, again = (message["Message-ID"] for _, message in handler.received)
    assert first != again
    # a log started before, with its own key in its first line, still resumes with that key
    key = bytes(range(32))
    old = tmp_path / "old-log.jsonl"
    old.write_text(json.dumps({"event": "start", "issue": ISSUE, "key": key.hex()}) + "\n"
                   + json.dumps({"event": "sent", "row": 2, "token": mac(key, "unsubscribe", ISSUE,
                                                                          "ana@example.org")}) + "\n")
    resumed = send_issue(project, ISSUE, people, settings, rate=0, tokens=other, log_path=old)
    assert (resumed.sent, resumed.skipped) == (1, 1)
    # and so does one started with a check of its key but no nonce (the form before nonces)
    from handout_gen.newsletter.sendlog import _key_check, send_log_key

    key = send_log_key(b"k" * 40, ISSUE, None)
    checked = tmp_path / "checked-log.jsonl"
    checked.write_text(json.dumps({"event": "start", "issue": ISSUE, "check": _key_check(key)}) + "\n"
                       + json.dumps({"event": "sent", "row": 2, "token": mac(key, "unsubscribe", ISSUE,
                                                                              "ana@example.org")}) + "\n")
    resumed = send_issue(project, ISSUE, people, settings, rate=0, tokens=ours, log_path=checked)
    assert (resumed.sent, resumed.skipped) == (1, 1)


@pytest.mark.slow
def test_killed_send_resumes_with_no_duplicate_and_no_miss(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    addresses = [f"r{i}@example.org" for i in range(6)]
    csv_path = write_csv(
        tmp_path / "list.csv", "email,first_name\n" + "".join(f"{a},R{i}\n" for i, a in enumerate(addresses))
    )
    handler.stall_at = 4  # hold the 4th message mid-DATA, then kill the sender with SIGKILL
    cmd = send_command(sample_project, csv_path, port)
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert handler.stalled.wait(60), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    handler.release.set()
    assert [r[0] for r, _ in handler.received] == addresses[:3]
    log = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    assert [json.loads(x)["event"] for x in log.read_text().splitlines()] == ["start", "sent", "sent", "sent"]
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("sent 3, already sent earlier 3, failed 0\n")
    got = [r[0] for r, _ in handler.received]
    assert sorted(got) == sorted(addresses) and len(got) == len(set(got)) == 6


def send_command(project: Path, csv_path: Path, port: int, *more: str) -> list[str]:
    """``handout-gen send`` of a list as a real process (for signals)."""
    return [
        sys.executable, "-m", "handout_gen", "--project", str(project), "send", ISSUE,
        "--recipients", str(csv_path), *local_smtp(port), "--rate", "0", DRAFTS_OK, *more,
    ]


@pytest.mark.slow
def test_ctrl_c_while_the_server_holds_its_reply_logs_the_message_in_flight(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    """SIGINT while the server holds its answer to DATA: the message is answered, logged and
    never sent again; the send stops cleanly right after it (exit 130, no traceback)."""
    handler, port = smtp
    addresses = [f"r{i}@example.org" for i in range(6)]
    csv_path = write_csv(tmp_path / "list.csv", "email\n" + "".join(f"{a}\n" for a in addresses))
    handler.stall_at, handler.accept_after_stall = 3, True
    cmd = send_command(sample_project, csv_path, port)
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert handler.stalled.wait(60), proc.communicate()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the sender is blocked reading the reply: the signal is taken now, and held
    handler.release.set()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.endswith("Interrupted; finished files are kept, nothing half-written. Run the same command "
                        "again to send the rest: the send log keeps who got it.\n")
    assert [r[0] for r, _ in handler.received] == addresses[:3]
    log = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(e["event"], e.get("row")) for e in entries] == [
        ("start", None), ("sent", 2), ("sent", 3), ("sent", 4)]
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("sent 3, already sent earlier 3, failed 0\n")
    assert [r[0] for r, _ in handler.received] == addresses  # each once, in order


ODD = "o'brien/sales%desk@example.org"  # every character here is allowed in an address


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (f"450 4.2.1 <{ODD}>: mailbox busy, try later", "kept failing on row 3 (450 4.2.1)"),
        (f"550 5.1.1 <{ODD}>... User unknown ('{ODD}')", "row 3: refused by the server (550 5.1.1)"),
        (f"553 mailbox name {ODD} not allowed", "row 3: refused by the server (553)"),
    ],
    ids=["temporary", "permanent", "no-enhanced-code"],
)
def test_server_replies_are_reduced_to_codes(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path, reply: str, shown: str
) -> None:
    """A refusal quoting the address (with ' / %) leaves it nowhere: terminal or send log."""
    handler, port = smtp
    handler.refuse[ODD] = reply
    csv_path = write_csv(tmp_path / "list.csv", f"email\na@example.org\n{ODD}\nc@example.org\n")
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port), "--rate", "0",
                      "--retries", "1", "--retry-delay", "0")
    assert result.exit_code == 1
    assert shown in result.stderr
    log = (sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl").read_text()
    for where in (result.stdout, result.stderr, log):
        for piece in ("o'brien", "brien", "sales", "desk", "%", "mailbox", "unknown", "allowed"):
            assert piece not in where, (piece, where)
    assert "Traceback" not in result.stderr


def test_a_refused_sender_is_named_by_its_codes(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    handler.refuse_sender = "553 5.7.1 <news@example.org>: sender address rejected"
    csv_path = write_csv(tmp_path / "list.csv", "email\na@example.org\n")
    result = send_cli(sample_project, "--recipients", str(csv_path), *local_smtp(port))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: the server refused the sender address of content/practice.yaml (553 5.7.1); "
        "nothing more was sent\n"
    )
    assert "@" not in result.output


def test_refused_rows_are_not_tried_again_unless_asked(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    handler, port = smtp
    handler.refuse["gone@example.org"] = "550 5.1.1 no such user"
    csv_path = write_csv(tmp_path / "list.csv", "email\na@example.org\ngone@example.org\nc@example.org\n")
    args = ("--recipients", str(csv_path), *local_smtp(port), "--rate", "0")
    first = send_cli(sample_project, *args)
    assert first.exit_code == 1 and "row 3: refused by the server (550 5.1.1)" in first.stderr
    log = sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl"
    failed = [json.loads(x) for x in log.read_text().splitlines()][2]
    assert {k: failed[k] for k in ("event", "row", "code", "status")} == {
        "event": "failed", "row": 3, "code": 550, "status": "5.1.1"}
    assert handler.attempts == 2  # the refused message never reached DATA
    again = send_cli(sample_project, *args)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(
        "sent 0, already sent earlier 2, failed 0\n"
        "refused earlier, not tried again (add --retry-refused to try): row 3\n"
    )
    dry = send_cli(sample_project, *args, "--dry-run")
    assert dry.stdout.startswith("dry run: 0 messages prepared, 2 already sent; nothing sent\n")
    handler.refuse.clear()  # the mailbox exists again
    retried = send_cli(sample_project, *args, "--retry-refused")
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.startswith("sent 1, already sent earlier 2, failed 0\n")
    assert sorted(r[0] for r, _ in handler.received) == ["a@example.org", "c@example.org", "gone@example.org"]
    last = send_cli(sample_project, *args, "--retry-refused")
    assert last.stdout.startswith("sent 0, already sent earlier 3, failed 0\n") and len(handler.received) == 3


def test_dry_run_sends_and_writes_nothing(sample_project: Path, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "list.csv", "email\na@example.org\nb@example.org\n")
    result = send_cli(sample_project, "--recipients", str(csv_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dry run: 2 messages prepared, 0 already sent; nothing sent\n")
    # a list send (dry or not) also reports the readers it skipped as unsubscribed
    assert "unsubscribed, not sent: 0 (suppression list: " in result.stdout
    assert not (sample_project / "output" / "newsletters" / ISSUE / "send-log.jsonl").exists()


def test_rate_limit_spaces_messages(sample_project: Path, smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    start = time.monotonic()
    report = send_issue(
        load_project(sample_project),
        ISSUE,
        [*load_recipients_from(["a", "b", "c"])],
        SmtpSettings("127.0.0.1", port),
        test=True,
        rate=10,
    )
    assert report.sent == 3 and time.monotonic() - start >= 0.2


def load_recipients_from(names: list[str]) -> list[Any]:
    from handout_gen.newsletter.recipients import Recipient

    return [Recipient(i + 2, f"{n}@example.org") for i, n in enumerate(names)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smtp-host", "127.0.0.1"], "give either --to ADDRESS (a test send) or --recipients CSV"),
        (["--to", "x@example.org"], "no SMTP server: give --smtp-host or set SMTP_HOST"),
        (["--to", "nope", "--smtp-host", "h"], "Invalid value for --to: 'nope' is not a valid email address"),
    ],
)
def test_send_usage_errors_exit_2(sample_project: Path, args: list[str], message: str) -> None:
    result = send_cli(sample_project, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_password_only_from_environment(sample_project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "send", "--help"])
    assert "--smtp-password" not in result.output and "SMTP_PASSWORD" in result.output


def test_help_states_what_a_resumed_send_repeats_and_skips(sample_project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "send", "--help"])
    text = " ".join(result.output.split())
    assert "nobody gets it twice" not in text
    assert "Ctrl-C lets the message in flight finish and be logged first" in text
    assert ("One case can repeat a message: a kill or crash while the server is answering "
            "(delivered, not yet logged)") in text
    assert "--retry-refused Also try again the rows the server refused for good (5xx)" in text


def test_a_draft_edition_a_reader_chose_is_refused_too(sample_project: Path, tmp_path: Path) -> None:
    """A reader listed without a language who chose Spanish on the preferences page gets the
    Spanish edition: a draft one stops a list send as it would for a Spanish row."""
    from handout_gen.newsletter.unsubscribe import LanguageChoices, SuppressionList, UnsubscribeTokens
    from tests.conftest import TEST_SECRET

    tokens = UnsubscribeTokens(TEST_SECRET.encode())
    unsubscribed = tmp_path / "unsubscribed.jsonl"
    unsubscribed.touch()
    chose = tokens.verify(tokens.token(ISSUE, "hal@example.org"))
    assert chose is not None
    LanguageChoices.beside(SuppressionList(unsubscribed)).choose(chose, "es")
    listed = write_csv(tmp_path / "l.csv", "email\nhal@example.org\n")
    args = ["--project", str(sample_project), "send", ISSUE, "--recipients", str(listed), "--dry-run",
            "--suppressions", str(unsubscribed)]
    result = CliRunner().invoke(cli, args)
    assert "the Spanish edition (content/newsletters/2026-12.es.md)" in result.stderr
    assert "in the language they chose (preferences page): 1 reader" in result.stdout


def test_a_suppression_list_named_but_missing_stops_a_list_send(
    sample_project: Path, smtp: tuple[Handler, int], tmp_path: Path
) -> None:
    """A typo in the path would mail every reader who unsubscribed."""
    handler, port = smtp
    listed = write_csv(tmp_path / "l.csv", "email\nana@example.org\n")
    result = send_cli(sample_project, "--recipients", str(listed), *local_smtp(port),
                      "--suppressions", str(tmp_path / "unsubscribe.jsonl"))
    assert result.exit_code == 2 and handler.received == []
    assert "unsubscribe.jsonl is not a file; check the path" in result.stderr


def test_a_chosen_language_the_issue_lacks_gives_the_lists_language_uncounted(
    sample_project: Path, tmp_path: Path
) -> None:
    from handout_gen.newsletter.unsubscribe import LanguageChoices, SuppressionList, UnsubscribeTokens

    (sample_project / "content" / "newsletters" / f"{ISSUE}.es.md").unlink()  # English only
    tokens = UnsubscribeTokens(b"k" * 40)
    suppressions = SuppressionList(tmp_path / "unsubscribed.jsonl")
    chose = tokens.verify(tokens.token(ISSUE, "ana@example.org"))
    assert chose is not None
    LanguageChoices.beside(suppressions).choose(chose, "es")
    people = load_recipients(write_csv(tmp_path / "l.csv", "email\nana@example.org\n"))
    project = load_project(sample_project)
    report = send_issue(project, ISSUE, people, None, dry_run=True, tokens=tokens,
                        readers=ListReaders.load(project, tokens, suppressions))
    assert report.by_language == {"en": 1} and report.chose_language == 0 and not report.fallback
