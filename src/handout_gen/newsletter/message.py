"""MIME messages from an inlined issue, personalised by substitution.

Why not ``EmailMessage.set_content`` per reader: the email package quoted-printable encodes
in pure Python (~3 ms for a 40 KB part), which caps a send at ~300 messages/s. The inlined
HTML is split once at its placeholder tokens; a reader's message is a join of strings plus
``binascii.b2a_qp`` (C), assembled into a fixed multipart/alternative skeleton. The tests
parse every message with the email package, so the hand-built MIME is checked by the real
parser. Static headers (Subject, From…) are still folded and encoded by the email package.
"""

from __future__ import annotations

import binascii
import hashlib
import html as html_lib
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from handout_gen.content.project import Project
from handout_gen.core.errors import SendError
from handout_gen.core.languages import ORIGINAL
from handout_gen.newsletter.links import reader_page_url, with_token
from handout_gen.newsletter.model import Issue
from handout_gen.newsletter.tokens import TOKEN_RE
from handout_gen.render.catalogs import translations


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


def greeting(lang: str, first_name: str | None, catalogs: Path | None = None) -> str:
    """ "Hello Ana," or "Hello," — the only personal field a newsletter may use; the words
    come from the language's page-furniture catalog ("Hola, Ana:")."""
    gettext = translations(lang, catalogs).gettext
    return gettext("Hello %(name)s,") % {"name": first_name} if first_name else gettext("Hello,")


def issue_url(project: Project, issue_id: str, lang: str = ORIGINAL) -> str:
    """The issue's web copy: ``<archive_url>/<issue>/`` (the "view in browser" link; the site's page),
    ``<archive_url>/<issue>/<lang>/`` for a language edition (as a procedure's ``<url>/<lang>/``)."""
    own = "" if lang == ORIGINAL else f"{lang}/"
    return project.practice.email.archive_url.rstrip("/") + f"/{issue_id}/{own}"


def archive_url(project: Project, issue: Issue) -> str:
    return issue_url(project, issue.id, issue.lang)


def generic_values(project: Project, issue: Issue) -> Values:
    """The copy written to output/ and used for the browser version: no reader, no token."""
    email = project.practice.email
    return Values(
        greeting(issue.meta.lang, None, project.catalog_dir),
        reader_page_url(project, email.unsubscribe_url, issue.lang),
        reader_page_url(project, email.preferences_url, issue.lang),
        archive_url(project, issue),
        project.practice.postal_address.one_line(),
    )


def reader_values(project: Project, issue: Issue, first_name: str | None, unsub_token: str) -> Values:
    email = project.practice.email
    return Values(
        greeting(issue.meta.lang, first_name, project.catalog_dir),
        with_token(reader_page_url(project, email.unsubscribe_url, issue.lang), unsub_token),
        with_token(reader_page_url(project, email.preferences_url, issue.lang), unsub_token),
        archive_url(project, issue),
        project.practice.postal_address.one_line(),
    )


def esp_values(esp: str, lang: str = ORIGINAL, catalogs: Path | None = None, *, text: bool = False) -> Values:
    """Mailchimp merge tags; the ESP fills in unsubscribe, archive and the list's address (as
    HTML in the HTML part, as plain text in the ``text`` part). The greeting's words are the
    edition's language ("Hola, *|FNAME|*:")."""
    if esp != "mailchimp":
        msg = f"unknown ESP '{esp}' (known: mailchimp)"
        raise SendError(msg)
    named, plain = greeting(lang, "*|FNAME|*", catalogs), greeting(lang, None, catalogs)
    return Values(
        f"*|IF:FNAME|*{named}*|ELSE:|*{plain}*|END:IF|*",
        "*|UNSUB|*",
        "*|UPDATE_PROFILE|*",
        "*|ARCHIVE|*",
        "*|LIST:ADDRESS|*" if text else "*|HTML:LIST_ADDRESS_HTML|*",
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
    reply_address: str | None  # where an "unsubscribe" reply goes (reply_to), for the generic .eml
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
        head["Content-Language"] = issue.lang  # RFC 3282: the edition's language, as <html lang>
        head["MIME-Version"] = "1.0"
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
            email.reply_to,
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
        self, values: Values, *, to: str, message_id: str, date: datetime, list_unsubscribe: str,
        one_click: bool = True,
    ) -> bytes:
        """One complete RFC 5322 message (CRLF line ends), text part first, HTML last.
        ``one_click``: ``list_unsubscribe`` names the reader (a signed token), so a mail
        program's unsubscribe button may POST to it (RFC 8058); ``list_unsubscribe`` may be
        several ``<address>`` already (the generic .eml's reply and page)."""
        b = self.boundary.encode()
        addresses = list_unsubscribe if list_unsubscribe.startswith("<") else f"<{list_unsubscribe}>"
        addresses = addresses.replace(", <", ",\r\n <")  # folded: each address on a line of its own
        post = "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" if one_click else ""
        head = (
            f"Date: {format_datetime(date)}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\n"
            f"List-Unsubscribe: {addresses}\r\n{post}"
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
        """The generic .eml: deterministic Date (issue date, 00:00 UTC) and Message-ID. Its
        unsubscribe address names no reader, so it offers a reply (to ``reply_to``, when set)
        and the page that says how, and no one-click POST (RFC 8058 asks that one unsubscribe
        the recipient); ``send`` writes each reader's own signed address, with one-click."""
        reply = self.reply_address  # a reply to the sender's own address may reach no one: none then
        mailto = f"<mailto:{quote(reply, safe='@')}?subject=unsubscribe>, " if reply else ""
        return self.message(
            values,
            to="undisclosed-recipients:;",
            message_id=f"<newsletter.{self.issue_id}.{self.digest[:20]}@{self.domain}>",
            date=self.issue_date,
            list_unsubscribe=f"{mailto}<{values.unsub_url}>",
            one_click=False,
        )
