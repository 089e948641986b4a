"""MIME messages from an inlined issue, personalised by substitution, and SMTP sending.

Why not ``EmailMessage.set_content`` per reader: the email package quoted-printable encodes
in pure Python (~3 ms for a 40 KB part), which caps a send at ~300 messages/s. The inlined
HTML is split once at its placeholder tokens; a reader's message is a join of strings plus
``binascii.b2a_qp`` (C), assembled into a fixed multipart/alternative skeleton. The tests
parse every message with the email package, so the hand-built MIME is checked by the real
parser. Static headers (Subject, From…) are still folded and encoded by the email package.

Sending keeps a JSONL send log, fsynced after each accepted message, so a send stopped at any
moment and started again reaches each recipient once. The log holds row numbers and HMAC
tokens, never addresses: the unsubscribe token is HMAC(key, issue, address), so only someone
holding both the list and the key (first log line) can map a token back to an address.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import html as html_lib
import io
import json
import os
import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from .errors import Problem, RosterError, SendError
from .io import ensure_dir, safe_join
from .newsletter import TOKEN_RE, Issue, RenderedIssue, render_issue
from .project import Project

GREETINGS = {"en": ("Hello {name},", "Hello,"), "es": ("Hola, {name}:", "Hola:")}
ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_COLUMNS = {"email", "email_address", "e_mail"}
NAME_COLUMNS = {"first_name", "firstname", "first"}


@dataclass(frozen=True)
class Values:
    """What fills the placeholder tokens: raw text, escaped by the fill functions."""

    greeting: str
    unsub_url: str
    prefs_url: str
    archive_url: str
    postal: str

    def get(self, name: str) -> str:
        return str(getattr(self, name.lower()))


def _with_param(url: str, key: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{key}={quote(value, safe='')}"


def greeting(lang: str, first_name: str | None) -> str:
    """ "Hello Ana," or "Hello," — the only personal field a newsletter may use."""
    named, plain = GREETINGS.get(lang, GREETINGS["en"])
    return named.format(name=first_name) if first_name else plain


def archive_url(project: Project, issue: Issue) -> str:
    return project.practice.email.archive_url.rstrip("/") + f"/{issue.id}/"


def generic_values(project: Project, issue: Issue) -> Values:
    """The copy written to output/ and used for the browser version: no reader, no token."""
    email = project.practice.email
    return Values(
        greeting(issue.meta.lang, None),
        email.unsubscribe_url,
        email.preferences_url,
        archive_url(project, issue),
        project.practice.postal_address.one_line(),
    )


def reader_values(project: Project, issue: Issue, first_name: str | None, unsub_token: str) -> Values:
    email = project.practice.email
    return Values(
        greeting(issue.meta.lang, first_name),
        _with_param(email.unsubscribe_url, "t", unsub_token),
        _with_param(email.preferences_url, "t", unsub_token),
        archive_url(project, issue),
        project.practice.postal_address.one_line(),
    )


def esp_values(esp: str) -> Values:
    """Mailchimp merge tags; the ESP fills in unsubscribe, archive and the list's address."""
    if esp != "mailchimp":
        msg = f"unknown ESP '{esp}' (known: mailchimp)"
        raise SendError(msg)
    return Values(
        "*|IF:FNAME|*Hello *|FNAME|*,*|ELSE:|*Hello,*|END:IF|*",
        "*|UNSUB|*",
        "*|UPDATE_PROFILE|*",
        "*|ARCHIVE|*",
        "*|HTML:LIST_ADDRESS_HTML|*",
    )


def _split(text: str) -> list[str]:
    """``["literal", "TOKEN", "literal", …]``: even indexes literal, odd indexes token names."""
    return TOKEN_RE.split(text)


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class MessageTemplate:
    """An issue's inlined HTML and text split at their tokens, plus its fixed MIME skeleton."""

    html: str
    text: str
    html_parts: list[str]
    text_parts: list[str]
    static_headers: bytes
    boundary: str
    domain: str
    issue_id: str
    issue_date: datetime
    digest: str

    @classmethod
    def build(cls, project: Project, issue: Issue, html: str, text: str) -> MessageTemplate:
        email = project.practice.email
        head = EmailMessage(policy=policy.SMTP)
        head["Subject"] = issue.meta.subject
        head["From"] = Address(display_name=email.sender_name, addr_spec=email.sender_address)
        if email.reply_to:
            head["Reply-To"] = Address(addr_spec=email.reply_to)
        head["MIME-Version"] = "1.0"
        head["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        digest = hashlib.sha256(html.encode() + b"\0" + text.encode()).hexdigest()
        boundary = f"==hg-{digest[:24]}"  # '=' is always encoded as =3D in QP bodies
        content_type = f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode()
        return cls(
            html,
            text,
            _split(html),
            _split(text),
            head.as_bytes().rstrip(b"\r\n") + b"\r\n" + content_type,
            boundary,
            email.sender_address.rpartition("@")[2],
            issue.id,
            datetime.combine(issue.meta.date, dtime(0, 0), tzinfo=UTC),
            digest,
        )

    @staticmethod
    def substitute(text: str, values: Values, *, html: bool) -> str:
        return MessageTemplate._join(_split(text), values, html)

    @staticmethod
    def _join(parts: list[str], values: Values, html: bool) -> str:
        out = parts[:]
        for index in range(1, len(parts), 2):
            value = values.get(parts[index])
            out[index] = html_lib.escape(value, quote=True) if html else value
        return "".join(out)

    def fill_html(self, values: Values) -> str:
        return self._join(self.html_parts, values, True)

    def fill_text(self, values: Values) -> str:
        return self._join(self.text_parts, values, False)

    def message(
        self, values: Values, *, to: str, message_id: str, date: datetime, list_unsubscribe: str
    ) -> bytes:
        """One complete RFC 5322 message (CRLF line ends), text part first, HTML last."""
        b = self.boundary.encode()
        head = (
            f"Date: {format_datetime(date)}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\n"
            f"List-Unsubscribe: <{list_unsubscribe}>\r\n"
        ).encode()
        return b"".join(
            (
                head,
                self.static_headers,
                b"\r\n",
                b"--",
                b,
                b'\r\nContent-Type: text/plain; charset="utf-8"\r\n'
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                _qp(self.fill_text(values)),
                b"\r\n--",
                b,
                b'\r\nContent-Type: text/html; charset="utf-8"\r\n'
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                _qp(self.fill_html(values)),
                b"\r\n--",
                b,
                b"--\r\n",
            )
        )

    def eml(self, values: Values) -> bytes:
        """The generic .eml: deterministic Date (issue date, 00:00 UTC) and Message-ID."""
        return self.message(
            values,
            to="undisclosed-recipients:;",
            message_id=f"<newsletter.{self.issue_id}.{self.digest[:20]}@{self.domain}>",
            date=self.issue_date,
            list_unsubscribe=values.unsub_url,
        )


# --- recipients ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    row: int  # spreadsheet row: the header is row 1
    address: str
    first_name: str | None = None


def clean_name(value: str) -> str | None:
    """First names only: one line, no control characters, at most 40 characters."""
    name = " ".join("".join(ch for ch in value if ch.isprintable()).split())[:40]
    return name or None


def valid_address(value: str) -> bool:
    return len(value) <= 254 and bool(ADDRESS_RE.match(value)) and ".." not in value.split("@")[0]


def load_recipients(path: Path) -> list[Recipient]:
    """Read a UTF-8 CSV (BOM or not) with ``email`` and optional ``first_name``; every bad row
    (invalid or duplicate address, unknown column) is reported, by row, before anything is sent.
    Messages name rows and columns only, never the values (the list is patient-adjacent)."""
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError([Problem(name, "not UTF-8 text; save the list as CSV UTF-8")], name) from None
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise RosterError([Problem(name, "the file is empty; it needs a header row with 'email'")], name)
    columns = [re.sub(r"[^a-z0-9]+", "_", col.strip().lower()).strip("_") for col in header]
    problems: list[Problem] = []
    email_col = next((i for i, c in enumerate(columns) if c in EMAIL_COLUMNS), None)
    name_col = next((i for i, c in enumerate(columns) if c in NAME_COLUMNS), None)
    if email_col is None:
        problems.append(Problem(name, "needs an 'email' column", 1))
    for index, col in enumerate(columns):
        if col not in EMAIL_COLUMNS | NAME_COLUMNS and col:
            problems.append(
                Problem(
                    name,
                    f"column '{header[index].strip()}' is not allowed: a recipient "
                    "list holds only email and first_name (never patient data)",
                    1,
                )
            )
    if problems:
        raise RosterError(problems, name)
    assert email_col is not None
    recipients: list[Recipient] = []
    seen: dict[str, int] = {}
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        address = row[email_col].strip() if email_col < len(row) else ""
        if not address:
            problems.append(Problem(name, "is empty", row_number, "email"))
            continue
        if not valid_address(address):
            problems.append(Problem(name, "is not a valid email address", row_number, "email"))
            continue
        key = address.lower()
        if key in seen:
            problems.append(Problem(name, f"duplicate of row {seen[key]}", row_number, "email"))
            continue
        seen[key] = row_number
        first = clean_name(row[name_col]) if name_col is not None and name_col < len(row) else None
        recipients.append(Recipient(row_number, address, first))
    if problems:
        raise RosterError(problems, name)
    if not recipients:
        raise RosterError([Problem(name, "has no recipients")], name)
    return recipients


# --- send log ------------------------------------------------------------------------------------
class SendLog:
    """Append-only JSONL journal; each line is flushed and fsynced before the next send.

    ``io.write_file`` rewrites whole files atomically; a journal that grows by one line per
    message needs O_APPEND instead (a line is written with one write() call, so a kill leaves
    at most one torn last line, which :meth:`open` ignores). The file is 0600: it maps tokens
    to rows of the list.
    """

    def __init__(self, path: Path, key: bytes, sent: dict[str, int], fd: int | None) -> None:
        self.path = path
        self.key = key
        self.sent = sent  # token -> row
        self._fd = fd

    @classmethod
    def open(cls, path: Path, root: Path, issue_id: str, *, create: bool) -> SendLog:
        path = safe_join(root, os.path.relpath(path.resolve(), root.resolve()))
        key: bytes | None = None
        sent: dict[str, int] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a kill: that message was not recorded
                if entry.get("event") == "start":
                    if entry.get("issue") != issue_id:
                        raise SendError(
                            f"{path} is the send log of issue {entry.get('issue')}, not {issue_id}"
                        )
                    key = bytes.fromhex(entry["key"])
                elif entry.get("event") == "sent":
                    sent[entry["token"]] = entry["row"]
        if not create:
            return cls(path, key or secrets.token_bytes(32), sent, None)
        ensure_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        log = cls(path, key or secrets.token_bytes(32), sent, fd)
        if key is None:
            log.record({"event": "start", "issue": issue_id, "key": log.key.hex()})
        return log

    def record(self, entry: dict[str, object]) -> None:
        if self._fd is None:
            return
        entry = {**entry, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.write(self._fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


# --- SMTP ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        """Refuse settings that would leak the password, before anything is sent."""
        if self.user and not self.password:
            raise SendError("SMTP user given but SMTP_PASSWORD is not set in the environment")
        if self.user and not self.starttls and self.host not in LOOPBACK_HOSTS:
            msg = (
                f"refusing to send the SMTP password to {self.host} unencrypted: "
                "add --starttls (or set SMTP_STARTTLS=1)"
            )
            raise SendError(msg)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class SendReport:
    sent: int = 0
    skipped: int = 0  # already in the send log (a resumed send)
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (row, code, reply)
    prepared: int = 0
    log_path: Path | None = None


class _Transient(Exception):
    pass


class _Connection:
    """One SMTP session, opened lazily and reopened after a dropped connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, sender: str, to: str, data: bytes) -> None:
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.sendmail(sender, [to], data)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"SMTP login refused ({exc.smtp_code}); check SMTP_USER and SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            self._raise_for(code, reply)
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code >= 500:
                raise SendError(
                    f"the server refused the sender {sender} ({exc.smtp_code}); nothing more was sent"
                ) from None
            self._raise_for(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPResponseException as exc:
            self._raise_for(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:  # dropped connection, timeout, refused
            self.close()
            raise _Transient(str(exc) or type(exc).__name__) from None

    def _raise_for(self, code: int, reply: bytes | str) -> None:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        if code >= 500:
            raise _Permanent(code, text)
        self.close()
        raise _Transient(f"{code} {text}")

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if s.user:
            try:
                smtp.login(s.user, s.password or "")
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
                smtp.close()
                msg = f"the SMTP server refused the login for '{s.user}' ({type(exc).__name__})"
                raise SendError(msg) from None
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class _Permanent(Exception):
    def __init__(self, code: int, reply: str) -> None:
        super().__init__(code, reply)
        self.code = code
        self.reply = re.sub(r"[\w.+-]+@[\w.-]+", "<address>", reply)[:200]


def send_issue(
    project: Project,
    issue_id: str,
    recipients: list[Recipient],
    settings: SmtpSettings | None,
    *,
    test: bool = False,
    log_path: Path | None = None,
    dry_run: bool = False,
    rate: float = 10.0,
    retries: int = 4,
    backoff: float = 2.0,
    progress: Callable[[Recipient], None] | None = None,
    rendered: RenderedIssue | None = None,
) -> SendReport:
    """Send one issue to ``recipients``; resumable through the send log (not for ``test`` sends).

    Personalisation is string substitution on the once-inlined issue. Transient failures
    (4xx, dropped connections) are retried with exponential backoff; if they persist the send
    stops (run it again to resume). Permanent (5xx) refusals are logged and reported at the end.
    """
    rendered = rendered or render_issue(project, issue_id)
    issue = rendered.issue
    template = MessageTemplate.build(project, issue, rendered.template_html, rendered.template_text)
    sender = project.practice.email.sender_address
    report = SendReport()
    if test:
        log = SendLog(Path(os.devnull), secrets.token_bytes(32), {}, None)
    else:
        target = log_path or project.output_dir / "newsletters" / issue_id / "send-log.jsonl"
        root = project.output_dir if log_path is None else target.resolve().parent
        log = SendLog.open(target, root, issue_id, create=not dry_run)
        report.log_path = log.path
    if settings is None and not dry_run:
        raise SendError("no SMTP server: give --smtp-host or set SMTP_HOST")
    connection = _Connection(settings) if settings is not None else None
    interval = 1.0 / rate if rate > 0 else 0.0
    next_slot = time.monotonic()
    try:
        for recipient in recipients:
            unsub = _mac(log.key, "unsubscribe", issue_id, recipient.address.lower())
            if unsub in log.sent:
                report.skipped += 1
                if progress:
                    progress(recipient)
                continue
            values = reader_values(project, issue, recipient.first_name, unsub)
            # Same reader, same Message-ID on a resumed send: receivers can drop a duplicate.
            mid = _mac(log.key, "message-id", issue_id, recipient.address.lower())
            message_id = f"<{issue_id}.{mid}@{template.domain}>"
            data = template.message(
                values,
                to=recipient.address,
                message_id=message_id,
                date=datetime.now(UTC),
                list_unsubscribe=values.unsub_url,
            )
            report.prepared += 1
            if dry_run or connection is None:
                if progress:
                    progress(recipient)
                continue
            for attempt in range(retries + 1):
                time.sleep(max(0.0, next_slot - time.monotonic()))
                next_slot = time.monotonic() + interval
                try:
                    connection.send(sender, recipient.address, data)
                except _Transient as exc:
                    if attempt == retries:
                        msg = f"the SMTP server kept failing ({exc}); {report.sent} sent this run."
                        if not test:
                            msg += " Run the same command again to resume: sent recipients are skipped"
                        raise SendError(msg) from None
                    time.sleep(backoff * 2**attempt)
                    continue
                except _Permanent as exc:
                    log.record(
                        {
                            "event": "failed",
                            "row": recipient.row,
                            "token": unsub,
                            "code": exc.code,
                            "reply": exc.reply,
                        }
                    )
                    report.failed.append((recipient.row, exc.code, exc.reply))
                    break
                log.record({"event": "sent", "row": recipient.row, "token": unsub, "message_id": message_id})
                log.sent[unsub] = recipient.row
                report.sent += 1
                break
            if progress:
                progress(recipient)
    finally:
        if connection is not None:
            connection.close()
        log.close()
    return report
