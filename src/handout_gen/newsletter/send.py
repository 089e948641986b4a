"""SMTP sending: resumable through a send log, rate-limited, retried, and silent about addresses.

Sending keeps a JSONL send log, fsynced after each accepted message, so a send stopped and
started again skips whoever it reached. Ctrl-C is held while a message is with the server, so
the message in flight is answered and logged before the send stops; only a hard stop (a kill,
a crash, a power cut) while the server is answering can leave a delivered message unlogged,
and that one message goes again on resume, with the same Message-ID. The log holds row
numbers and HMAC tokens, never addresses: a reader's token is HMAC(key, issue, address), and
the key is made from the practice secret (:mod:`handout_gen.newsletter.sendlog`), so only
someone holding the list and the secret can map a token back to an address. Unsubscribe links
carry a different token, made with the practice secret too
(:mod:`handout_gen.newsletter.unsubscribe`): the web app that checks them has the secret but
never the list or the log. A list send skips every reader on the app's suppression list.
Nothing the server says is shown or logged but its reply codes (``550 5.1.1``):
a reply's text may quote the address.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from handout_gen.content.project import Project
from handout_gen.core.errors import OutputError, SendError, agree, plural
from handout_gen.core.interrupts import HeldInterrupt
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.message import MessageTemplate, reader_values
from handout_gen.newsletter.model import Issue
from handout_gen.newsletter.recipients import Recipient
from handout_gen.newsletter.render import RenderedEditions, RenderedIssue, render_editions
from handout_gen.newsletter.sendlog import SendLog, open_send_log
from handout_gen.newsletter.unsubscribe import (
    LanguageChoices,
    SuppressionList,
    UnsubscribeTokens,
    load_secret,
    mac,
)


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


class Refusal(NamedTuple):
    """A permanent (5xx) refusal: the row and the server's codes, never its words."""

    row: int
    code: int
    status: str = ""  # the enhanced status code (RFC 3463), e.g. "5.1.1", when the reply has one

    @property
    def codes(self) -> str:
        return codes(self.code, self.status)


@dataclass
class SendReport:
    sent: int = 0
    skipped: int = 0  # already in the send log (a resumed send)
    suppressed: int = 0  # unsubscribed readers, not sent
    suppression_foreign: int = 0  # suppression lines made with another secret (they match nobody)
    suppression_path: Path | None = None
    suppression_missing: bool = False  # no suppression list at that path (yet)
    failed: list[Refusal] = field(default_factory=list)  # refused permanently in this run
    refused_earlier: list[int] = field(default_factory=list)  # rows refused on an earlier run, not tried
    prepared: int = 0
    log_path: Path | None = None
    by_language: dict[str, int] = field(default_factory=dict)  # edition -> messages prepared
    sent_by_language: dict[str, int] = field(default_factory=dict)  # edition -> messages sent
    fallback: dict[str, int] = field(default_factory=dict)  # "Spanish (es)" -> readers given English
    chose_language: int = 0  # readers given the language they chose, not the list's

    def summary(self, dry_run: bool) -> list[str]:
        """What the terminal shows after a send: counts and row numbers only."""
        lines = [
            f"dry run: {plural(self.prepared, 'message')} prepared, {self.skipped} already sent; nothing sent"
            if dry_run
            else f"sent {self.sent}, "
            + (f"already sent earlier {self.skipped}, " if self.skipped else "")
            + f"failed {len(self.failed)}"
        ]
        if set(self.by_language) - {ORIGINAL} or self.fallback:  # a real send counts what was sent
            sent = {k: self.sent_by_language.get(k, 0) for k in self.by_language}
            counts = self.by_language if dry_run else sent
            lines.append("editions: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
        got = "would get" if dry_run else "got"
        for language, count in self.fallback.items():
            readers = plural(count, "reader")
            lines.append(f"no {language} edition of this issue: {readers} {got} the English one")
        if self.chose_language:
            chose = plural(self.chose_language, "reader")
            lines.append(f"in the language they chose (preferences page): {chose}")
        if self.refused_earlier:
            rows = agree(len(self.refused_earlier), "row", "rows")
            listed = ", ".join(map(str, self.refused_earlier))
            lines.append(f"refused earlier, not tried again (add --retry-refused to try): {rows} {listed}")
        if self.suppression_path is not None:
            where = f"(suppression list: {self.suppression_path}"
            where += ", not found: nobody has unsubscribed yet?)" if self.suppression_missing else ")"
            lines.append(f"unsubscribed, not sent: {self.suppressed} {where}")
        if self.log_path is not None and not dry_run:
            lines.append(f"send log: {self.log_path}")
        return lines

    def problems(self) -> list[str]:
        """Warnings and refusals, for stderr: row numbers and reply codes only."""
        lines = []
        if self.suppression_foreign:
            foreign = plural(self.suppression_foreign, "line")
            were = agree(self.suppression_foreign, "was", "were")
            lines.append(f"Warning: {foreign} of the suppression list {were} made "
                         "with another secret and match nobody; give send the unsubscribe app's secret")
        for refusal in self.failed:
            where = f"row {refusal.row}" if refusal.row else "test address"
            lines.append(f"  {where}: refused by the server ({refusal.codes})")
        return lines


ENHANCED_STATUS = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})(?!\S)")


def enhanced_status(reply: bytes | str) -> str:
    """The enhanced status code an SMTP reply starts with (``5.1.1``), or ""; the rest is dropped.

    A reply's text is the server's free prose and often quotes the address it refuses
    (``550 5.1.1 <o'brien/x%y@example.org>: no such user``); no pattern can be trusted to
    find every address in it, so none of it is kept.
    """
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else str(reply)
    found = ENHANCED_STATUS.match(text)
    return found[1] if found else ""


def codes(code: int, status: str) -> str:
    """``550 5.1.1``, or ``550`` when the reply had no enhanced status code."""
    return f"{code} {status}".strip()


def _problem(exc: BaseException) -> str:
    """A dropped connection or timeout, named by its type and errno text (never by its message)."""
    name = type(exc).__name__
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return f"{name}: {strerror}" if strerror else name


class _Transient(Exception):
    """A temporary failure (4xx, dropped connection); ``reason`` holds codes or a type name only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Permanent(Exception):
    def __init__(self, code: int, status: str) -> None:
        super().__init__(code, status)
        self.code = code
        self.status = status


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
                refused = codes(exc.smtp_code, enhanced_status(exc.smtp_error))
                raise SendError(
                    f"the server refused the sender address of content/practice.yaml ({refused}); "
                    "nothing more was sent"
                ) from None
            self._raise_for(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPResponseException as exc:
            self._raise_for(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:  # dropped connection, timeout, refused
            self.close()
            raise _Transient(_problem(exc)) from None

    def _raise_for(self, code: int, reply: bytes | str) -> None:
        status = enhanced_status(reply)
        if code >= 500:
            raise _Permanent(code, status)
        self.close()
        raise _Transient(codes(code, status))

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.starttls:
            try:
                smtp.starttls(context=ssl.create_default_context())
            except smtplib.SMTPNotSupportedError:  # no retry mends that: say what to change
                smtp.close()
                msg = (f"the SMTP server at {s.host}:{s.port} does not offer STARTTLS: check SMTP_PORT "
                       "(587 usually offers it), or leave out --starttls for a relay on this machine")
                raise SendError(msg) from None
        if s.user:
            try:
                smtp.login(s.user, s.password or "")
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
                smtp.close()  # the login name is often an address: it is not repeated here
                msg = f"the SMTP server refused the login of SMTP_USER ({type(exc).__name__})"
                raise SendError(msg) from None
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


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


@dataclass
class _Delivery:
    """How one send delivers: the connection, the pace and the retries."""

    connection: _Connection
    sender: str
    pacer: _Pacer
    retries: int
    backoff: float

    def deliver(self, to: str, data: bytes, answered: Callable[[_Permanent | None], None]) -> None:
        """Send one message, retrying temporary failures with exponential backoff.

        Ctrl-C is held from the moment the message goes to the server until ``answered``
        has logged the server's answer (accepted, or refused for good: ``_Permanent``), and
        raised right after; so an interrupted send never forgets a message it delivered.
        The pauses between tries are not held. Raises _GaveUp when temporary failures
        outlast the retries.
        """
        for attempt in range(self.retries + 1):
            self.pacer.wait()
            with HeldInterrupt():
                try:
                    self.connection.send(self.sender, to, data)
                except _Transient as exc:
                    reason = exc.reason
                except _Permanent as exc:
                    answered(exc)
                    return
                else:
                    answered(None)
                    return
            if attempt == self.retries:
                raise _GaveUp(reason)
            time.sleep(self.backoff * 2**attempt)


@dataclass(frozen=True)
class ListReaders:
    """What the practice's files say about a list's readers: who unsubscribed (the suppression
    list) and the newsletter language each chose on the preferences page (beside it)."""

    suppressed: frozenset[str]  # reader ids
    foreign: int  # suppression lines made with another secret (they match nobody)
    path: Path
    chosen: dict[str, str]  # reader id → language code

    @classmethod
    def none(cls) -> ListReaders:
        """A test send's: it goes to the addresses typed, whatever the list says."""
        return cls(frozenset(), 0, Path(), {})

    @classmethod
    def load(
        cls, project: Project, tokens: UnsubscribeTokens, suppressions: SuppressionList | None = None
    ) -> ListReaders:
        suppressions = suppressions or SuppressionList.for_project(project.root)
        found = suppressions.suppressed(tokens)
        chosen = LanguageChoices.beside(suppressions).chosen(tokens, project.languages.codes)
        return cls(found.readers, found.foreign, suppressions.path, chosen)

    def language(self, recipient: Recipient, reader: str, rendered: RenderedEditions) -> str:
        """The language a reader is sent: their choice where this issue has that edition,
        else the list's."""
        choice = self.chosen.get(reader)
        return choice if choice and rendered.edition(choice) is not None else recipient.lang

    def languages(
        self, recipients: list[Recipient], tokens: UnsubscribeTokens, rendered: RenderedEditions
    ) -> set[str]:
        """The languages a list send sends ``recipients`` in (those who unsubscribed get none)."""
        readers = ((r, tokens.reader(r.address.lower())) for r in recipients)
        return {self.language(r, reader, rendered) for r, reader in readers if reader not in self.suppressed}


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
    rendered: RenderedEditions | None = None,
    retry_refused: bool = False,
    tokens: UnsubscribeTokens | None = None,
    readers: ListReaders | None = None,
) -> SendReport:
    """Send one issue to ``recipients``; resumable through the send log (not for ``test`` sends).

    Personalisation is string substitution on the once-inlined issue. Transient failures
    (4xx, dropped connections) are retried with exponential backoff; if they persist the send
    stops (run it again to resume). Permanent (5xx) refusals are logged and reported at the end;
    a resumed send does not try them again unless ``retry_refused``.

    ``tokens`` default to the practice secret from the environment (:func:`load_secret`); a
    list send skips the readers who unsubscribed and gives each the language they chose
    (``readers``; default: read from the project's suppression list, :meth:`ListReaders.load`).
    A test send goes to the addresses typed, whatever the list says. Each reader gets the
    edition in their ``lang``, or the English one when the issue has none in it (the summary
    says so once per language, with a count, never with a row or address).
    """
    tokens = tokens or UnsubscribeTokens(load_secret())
    rendered = rendered or render_editions(project, issue_id)
    templates = {
        item.issue.lang: MessageTemplate.build(project, item.issue, item.template_html, item.template_text)
        for item in rendered.all
    }
    report = SendReport()
    if readers is None:  # the caller may have read them already (for the draft check)
        readers = ListReaders.none() if test else ListReaders.load(project, tokens)
    suppressed = readers.suppressed
    if not test:
        report.suppression_foreign, report.suppression_path = readers.foreign, readers.path
        report.suppression_missing = not readers.path.exists()
    if settings is None and not dry_run:
        raise SendError("no SMTP server: give --smtp-host or set SMTP_HOST")
    log = open_send_log(project, issue_id, test=test, log_path=log_path, dry_run=dry_run,
                        secret=tokens.secret)
    report.log_path = None if test else log.path
    delivery = None
    if settings is not None and not dry_run:
        sender = project.practice.email.sender_address
        delivery = _Delivery(_Connection(settings), sender, _Pacer(rate), retries, backoff)
    try:
        for recipient in recipients:
            address = recipient.address.lower()
            # The log's reader id keeps the label "unsubscribe" it had when it was also the link's
            # token, so a send log written before the practice secret existed still resumes.
            unsub = mac(log.key, "unsubscribe", issue_id, address)
            if unsub in log.sent:
                report.skipped += 1
            elif (reader := tokens.reader(address)) in suppressed:
                report.suppressed += 1
            elif unsub in log.refused and not retry_refused:
                report.refused_earlier.append(recipient.row)
            else:
                lang = readers.language(recipient, reader, rendered)
                report.chose_language += lang != recipient.lang
                edition = _edition(project, rendered, lang, report)
                link = tokens.token(issue_id, address)
                template = templates[edition.issue.lang]
                message = _message(project, template, log.key, recipient, link, edition.issue)
                report.prepared += 1
                if delivery is not None:
                    _send_one(delivery, recipient, unsub, message, log, report, test)
            if progress:
                progress(recipient)
    finally:
        if delivery is not None:
            delivery.connection.close()
        log.close()
    return report


def _edition(project: Project, rendered: RenderedEditions, lang: str, report: SendReport) -> RenderedIssue:
    """The edition a reader of ``lang`` gets (English when there is none), counted in ``report``."""
    edition = rendered.edition(lang)
    if edition is None:
        language = f"{project.languages.name(lang)} ({lang})"
        report.fallback[language] = report.fallback.get(language, 0) + 1
        edition = rendered.original
    report.by_language[edition.issue.lang] = report.by_language.get(edition.issue.lang, 0) + 1
    return edition


def _message(
    project: Project, template: MessageTemplate, key: bytes, recipient: Recipient, link: str, issue: Issue
) -> tuple[bytes, str, str]:
    """One reader's message (``link``: the unsubscribe token) and its Message-ID (the same on a
    resumed send: receivers can drop a duplicate)."""
    values = reader_values(project, issue, recipient.first_name, link)
    mid = mac(key, "message-id", issue.id, recipient.address.lower())
    message_id = f"<{issue.id}.{mid}@{template.domain}>"
    data = template.message(
        values, to=recipient.address, message_id=message_id, date=datetime.now(UTC),
        list_unsubscribe=values.unsub_url,
    )
    return data, message_id, issue.lang


def _send_one(
    delivery: _Delivery, recipient: Recipient, unsub: str, message: tuple[bytes, str, str], log: SendLog,
    report: SendReport, test: bool,
) -> None:
    data, message_id, lang = message

    def answered(refused: _Permanent | None) -> None:
        entry: dict[str, object] = {"row": recipient.row, "token": unsub, "lang": lang}
        if refused is not None:
            report.failed.append(Refusal(recipient.row, refused.code, refused.status))
            entry.update(event="failed", code=refused.code, status=refused.status)
        else:
            report.sent += 1
            report.sent_by_language[lang] = report.sent_by_language.get(lang, 0) + 1
            entry.update(event="sent", message_id=message_id)
            log.sent[unsub] = recipient.row
        try:
            log.record(entry)
        except OutputError as exc:
            what = "was refused" if refused else "was sent"
            msg = (f"{exc}. The message to row {recipient.row} {what} but could not be logged: "
                   "a resumed send tries it again")
            raise SendError(msg) from None

    try:
        delivery.deliver(recipient.address, data, answered)
    except _GaveUp as exc:
        where = f"row {recipient.row}" if recipient.row else "the test address"
        failing = "kept failing" if delivery.retries else "failed"  # --retries 0: one try
        msg = f"the SMTP server {failing} on {where} ({exc}); {report.sent} sent this run."
        if not test:
            msg += " Run the same command again to resume: sent recipients are skipped"
        raise SendError(msg) from None
