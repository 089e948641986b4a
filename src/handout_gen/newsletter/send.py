"""SMTP sending: resumable through a send log, rate-limited, retried, and silent about addresses.

Sending keeps a JSONL send log, fsynced after each accepted message, so a send stopped at any
moment and started again reaches each recipient once. The log holds row numbers and reader
ids, never addresses: a reader id is HMAC(log key, issue, address), so only someone holding
both the list and the log's key (its first line) can map an id back to a row.

Unsubscribe links carry a token made with the practice secret
(:mod:`handout_gen.newsletter.unsubscribe`), not with the log's key: the web app that checks
them has the secret but never the list or the log. A list send skips every reader on the
suppression list the app keeps.
"""

from __future__ import annotations

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
from pathlib import Path

from handout_gen.content.project import Project
from handout_gen.core.errors import SendError
from handout_gen.core.files import AppendLog, ensure_dir, safe_join
from handout_gen.newsletter.message import MessageTemplate, reader_values
from handout_gen.newsletter.model import Issue
from handout_gen.newsletter.recipients import Recipient
from handout_gen.newsletter.render import RenderedIssue, render_issue
from handout_gen.newsletter.unsubscribe import SuppressionList, UnsubscribeTokens, load_secret, mac


class SendLog:
    """Append-only JSONL journal (a :class:`~handout_gen.core.files.AppendLog`), one fsynced line
    per message, so a kill leaves at most one torn last line, which :meth:`open` ignores. The
    file is 0600: it maps tokens to rows of the list.
    """

    def __init__(self, path: Path, key: bytes, sent: dict[str, int], log: AppendLog | None) -> None:
        self.path = path
        self.key = key
        self.sent = sent  # token -> row
        self._log = log

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
        log = cls(path, key or secrets.token_bytes(32), sent, AppendLog(path))
        if key is None:
            log.record({"event": "start", "issue": issue_id, "key": log.key.hex()})
        return log

    def record(self, entry: dict[str, object]) -> None:
        if self._log is None:
            return
        entry = {**entry, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._log.append(json.dumps(entry, sort_keys=True) + "\n")

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


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
    suppressed: int = 0  # unsubscribed readers, not sent
    suppression_foreign: int = 0  # suppression lines made with another secret (they match nobody)
    suppression_path: Path | None = None
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (row, code, reply)
    prepared: int = 0
    log_path: Path | None = None

    def summary(self, dry_run: bool) -> list[str]:
        """What ``handout-gen send`` prints (counts and paths only, never an address)."""
        if dry_run:
            prepared, skipped = self.prepared, self.skipped
            lines = [f"dry run: {prepared} message(s) prepared, {skipped} already sent; nothing sent"]
        else:
            lines = [f"sent {self.sent}, already sent earlier {self.skipped}, failed {len(self.failed)}"]
        if self.suppression_path is not None:
            where = f"(suppression list: {self.suppression_path})"
            lines.append(f"unsubscribed, not sent: {self.suppressed} {where}")
        if self.log_path is not None and not dry_run:
            lines.append(f"send log: {self.log_path}")
        return lines

    def problems(self) -> list[str]:
        """Warnings and refusals, for stderr."""
        lines = []
        if self.suppression_foreign:
            lines.append(f"Warning: {self.suppression_foreign} line(s) of the suppression list were made "
                         "with another secret and match nobody; give send the unsubscribe app's secret")
        for row, code, reply in self.failed:
            where = f"row {row}" if row else "test address"
            lines.append(f"  {where}: refused by the server ({code} {reply})")
        return lines


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


def _send_log(
    project: Project, issue_id: str, *, test: bool, log_path: Path | None, dry_run: bool
) -> SendLog:
    """The send log of a list send (opened, or created unless it is a dry run); none for a test send."""
    if test:
        return SendLog(Path(os.devnull), secrets.token_bytes(32), {}, None)
    target = log_path or project.output_dir / "newsletters" / issue_id / "send-log.jsonl"
    root = project.output_dir if log_path is None else target.resolve().parent
    return SendLog.open(target, root, issue_id, create=not dry_run)


class _GaveUp(Exception):
    """Temporary failures went on through every retry."""


class _Pacer:
    """At most ``rate`` messages a second (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_slot = time.monotonic()

    def wait(self) -> None:
        time.sleep(max(0.0, self.next_slot - time.monotonic()))
        self.next_slot = time.monotonic() + self.interval


def _deliver(
    connection: _Connection, sender: str, to: str, data: bytes, pacer: _Pacer, retries: int, backoff: float
) -> None:
    """Send one message, retrying temporary failures with exponential backoff.

    Raises _Permanent for a 5xx refusal and _GaveUp when temporary failures outlast the retries.
    """
    for attempt in range(retries + 1):
        pacer.wait()
        try:
            connection.send(sender, to, data)
        except _Transient as exc:
            if attempt == retries:
                raise _GaveUp(str(exc)) from None
            time.sleep(backoff * 2**attempt)
        else:
            return


@dataclass
class _Run:
    """One send in progress: what each recipient needs, and where each outcome is recorded."""

    project: Project
    issue: Issue
    template: MessageTemplate
    tokens: UnsubscribeTokens
    suppressed: frozenset[str]
    log: SendLog
    report: SendReport
    connection: _Connection | None
    pacer: _Pacer
    retries: int
    backoff: float
    test: bool

    def one(self, recipient: Recipient) -> None:
        address = recipient.address.lower()
        # The log's reader id keeps the label "unsubscribe" it had when it was also the link's
        # token, so a send log written before the practice secret existed still resumes.
        reader = mac(self.log.key, "unsubscribe", self.issue.id, address)
        if reader in self.log.sent:
            self.report.skipped += 1
            return
        if self.tokens.reader(address) in self.suppressed:
            self.report.suppressed += 1
            return
        issue = self.issue.id
        token = self.tokens.token(issue, address)
        values = reader_values(self.project, self.issue, recipient.first_name, token)
        # Same reader, same Message-ID on a resumed send: receivers can drop a duplicate.
        message_id = f"<{issue}.{mac(self.log.key, 'message-id', issue, address)}@{self.template.domain}>"
        data = self.template.message(
            values, to=recipient.address, message_id=message_id, date=datetime.now(UTC),
            list_unsubscribe=values.unsub_url,
        )
        self.report.prepared += 1
        if self.connection is None:  # a dry run
            return
        sender = self.project.practice.email.sender_address
        try:
            _deliver(self.connection, sender, recipient.address, data, self.pacer, self.retries, self.backoff)
        except _Permanent as exc:
            entry = {"event": "failed", "row": recipient.row, "token": reader, "code": exc.code}
            self.log.record({**entry, "reply": exc.reply})
            self.report.failed.append((recipient.row, exc.code, exc.reply))
        except _GaveUp as exc:
            msg = f"the SMTP server kept failing ({exc}); {self.report.sent} sent this run."
            if not self.test:
                msg += " Run the same command again to resume: sent recipients are skipped"
            raise SendError(msg) from None
        else:
            entry = {"event": "sent", "row": recipient.row, "token": reader}
            self.log.record({**entry, "message_id": message_id})
            self.log.sent[reader] = recipient.row
            self.report.sent += 1


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
    tokens: UnsubscribeTokens | None = None,
    suppressions: SuppressionList | None = None,
) -> SendReport:
    """Send one issue to ``recipients``; resumable through the send log (not for ``test`` sends).

    Personalisation is string substitution on the once-inlined issue. Transient failures
    (4xx, dropped connections) are retried with exponential backoff; if they persist the send
    stops (run it again to resume). Permanent (5xx) refusals are logged and reported at the end.

    ``tokens`` default to the practice secret from the environment (:func:`load_secret`); a
    list send skips the readers on ``suppressions`` (default: the project's suppression list).
    A test send goes to the addresses typed, whatever the list says.
    """
    tokens = tokens or UnsubscribeTokens(load_secret())
    rendered = rendered or render_issue(project, issue_id)
    template = MessageTemplate.build(project, rendered.issue, rendered.template_html, rendered.template_text)
    report = SendReport()
    suppressed: frozenset[str] = frozenset()
    if not test:
        suppressions = suppressions or SuppressionList.for_project(project.root)
        found = suppressions.suppressed(tokens)
        suppressed, report.suppression_foreign = found.readers, found.foreign
        report.suppression_path = suppressions.path
    if settings is None and not dry_run:
        raise SendError("no SMTP server: give --smtp-host or set SMTP_HOST")
    log = _send_log(project, issue_id, test=test, log_path=log_path, dry_run=dry_run)
    report.log_path = None if test else log.path
    connection = _Connection(settings) if settings is not None and not dry_run else None
    run = _Run(project, rendered.issue, template, tokens, suppressed, log, report, connection,
               _Pacer(rate), retries, backoff, test)
    try:
        for recipient in recipients:
            run.one(recipient)
            if progress:
                progress(recipient)
    finally:
        if connection is not None:
            connection.close()
        log.close()
    return report
