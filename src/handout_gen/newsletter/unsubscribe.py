"""Unsubscribe tokens, the practice secret they are made with, and the suppression list.

``send`` and the unsubscribe web app (:mod:`handout_gen.site.app`) share this module and
nothing else: the app verifies a token with the secret alone (it never sees the list), and
``send`` skips every reader the app has recorded.

A token is ``<issue>.<reader>.<mac>``:

- ``reader`` = HMAC-SHA256(secret, "reader", address in lower case), 128 bits: the address
  hash. It is keyed, so nobody without the secret can test guessed addresses against it (a
  plain hash of an email address falls to a dictionary of likely addresses), and it is the
  same in every issue, so one opt-out covers every later issue.
- ``mac`` = HMAC-SHA256(secret, "unsubscribe", issue, reader), 128 bits, compared in constant
  time. It binds the issue to the reader, so a token cannot be forged or altered without the
  secret, and the issue says which newsletter a reader left from.

The suppression file is JSON lines (``{"at", "token", "via"}``) appended with
:class:`~handout_gen.core.files.AppendLog` (one write, fsync): tokens only, never an address.
The readers' newsletter language choices (the preferences page) are kept the same way beside it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from handout_gen.core.errors import ConfigError
from handout_gen.core.files import AppendLog
from handout_gen.newsletter.model import ISSUE_RE

SECRET_ENV = "HANDOUT_GEN_SECRET"  # noqa: S105 - a variable's name, not a secret; the secret itself (for platforms that inject secrets as values)
SECRET_FILE_ENV = "HANDOUT_GEN_SECRET_FILE"  # noqa: S105 - a file holding it (preferred)
SUPPRESSIONS_ENV = "HANDOUT_GEN_SUPPRESSIONS"  # where opt-outs are recorded
DEFAULT_SUPPRESSIONS = Path("private") / "unsubscribed.jsonl"  # inside the project, never output/
LANGUAGE_CHOICES = "newsletter-languages.jsonl"  # beside the suppression list
MIN_SECRET_CHARS = 32
SUPPRESSION_MODE = 0o640  # tokens only; the group lets `send` read what the web app wrote
PART_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
Via = Literal["one-click", "form"]

NO_SECRET = (
    f"no unsubscribe secret: set {SECRET_FILE_ENV} to a key file (make one with "
    f"'handout-gen new-secret FILE') or {SECRET_ENV} to the key itself. The unsubscribe app "
    "needs the same key to check the links in each email"
)


def mac(key: bytes, *parts: str) -> str:
    """A 128-bit HMAC-SHA256 of ``parts`` (joined by newlines), base64url without padding."""
    digest = hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def load_secret(environ: Mapping[str, str] | None = None) -> bytes:
    """The practice secret from ``HANDOUT_GEN_SECRET_FILE`` (a file) or ``HANDOUT_GEN_SECRET``.

    There is no default: a key made up on one computer would silently differ from the web
    app's, and every unsubscribe link would fail. A key file anyone on the computer can read
    is refused.
    """
    env = os.environ if environ is None else environ
    file_name = env.get(SECRET_FILE_ENV, "").strip()
    if file_name:
        path = Path(file_name).expanduser()
        try:
            mode = path.stat().st_mode
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            msg = f"cannot read the unsubscribe secret {path} ({SECRET_FILE_ENV}): {reason}"
            raise ConfigError(msg) from None
        if mode & 0o004:
            msg = f"{path} (the unsubscribe secret) can be read by every user; run: chmod o-r {path}"
            raise ConfigError(msg)
        where = str(path)
    else:
        value, where = env.get(SECRET_ENV, "").strip(), SECRET_ENV
        if not value:
            raise ConfigError(NO_SECRET)
    if len(value) < MIN_SECRET_CHARS:
        msg = (
            f"the unsubscribe secret in {where} is {len(value)} characters; it needs at least "
            f"{MIN_SECRET_CHARS} (make one with 'handout-gen new-secret FILE')"
        )
        raise ConfigError(msg)
    return value.encode("utf-8")


def make_secret(path: Path, *, project_output: Path | None = None) -> Path:
    """Write a new random secret (256 bits) to ``path``, readable only by its owner.

    Never overwrites (a new key would break every link already sent) and never writes into
    the project's ``output/`` folder, which is generated and may be published.
    """
    target = Path(os.path.abspath(path.expanduser()))
    if project_output is not None:
        out = project_output.resolve()
        if target.resolve() == out or out in target.resolve().parents:
            raise ConfigError(f"refusing to keep the secret in {out} (generated files, may be published)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        msg = f"{target} already exists; a new key would break every unsubscribe link sent"
        raise ConfigError(msg) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return target


@dataclass(frozen=True)
class Unsubscribe:
    """A verified token: the issue it came from and the reader's address hash."""

    issue: str
    reader: str
    token: str


@dataclass(frozen=True)
class UnsubscribeTokens:
    """Makes and checks tokens with the practice secret."""

    secret: bytes = field(repr=False)

    def reader(self, address: str) -> str:
        """The keyed address hash: the same for every issue, meaningless without the secret."""
        return mac(self.secret, "reader", address.strip().lower())

    def token(self, issue: str, address: str) -> str:
        reader = self.reader(address)
        return f"{issue}.{reader}.{mac(self.secret, 'unsubscribe', issue, reader)}"

    def verify(self, token: str) -> Unsubscribe | None:
        """The token's issue and reader when its MAC is right (constant-time compare), else None."""
        issue, _, rest = token.partition(".")
        reader, _, signature = rest.partition(".")
        if len(token) > 120 or not ISSUE_RE.match(issue) or not PART_RE.match(reader):
            return None
        expected = mac(self.secret, "unsubscribe", issue, reader)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return None
        return Unsubscribe(issue, reader, token)


def reader_of(token: str) -> str:
    """The reader part of a token (no check: use :meth:`UnsubscribeTokens.verify` for that)."""
    return token.partition(".")[2].partition(".")[0]


@dataclass(frozen=True)
class Suppressed:
    """The readers of a suppression file that verify with this secret, and how many did not."""

    readers: frozenset[str]
    foreign: int  # lines made with another secret (or damaged): they match nobody


class _Journal:
    """An append-only JSON-lines file of tokens that the web app writes and ``send`` reads."""

    what = "journal"  # how messages name the file

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every whole line; a torn last line (a crash mid-write) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConfigError(f"cannot read the {self.what} {self.path}: {exc.strerror}") from None
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                yield entry

    def _append(self, token: Unsubscribe, **fields: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "token": token.token, **fields}
        with AppendLog(self.path, mode=SUPPRESSION_MODE) as log:
            log.append(json.dumps(line, sort_keys=True) + "\n")


class SuppressionList(_Journal):
    """The append-only suppression file the web app writes and ``send`` reads."""

    what = "suppression list"

    @classmethod
    def for_project(cls, root: Path, environ: Mapping[str, str] | None = None) -> SuppressionList:
        """``HANDOUT_GEN_SUPPRESSIONS``, or ``private/unsubscribed.jsonl`` in the project."""
        env = os.environ if environ is None else environ
        named = env.get(SUPPRESSIONS_ENV, "").strip()
        return cls(Path(named).expanduser() if named else root / DEFAULT_SUPPRESSIONS)

    def suppressed(self, tokens: UnsubscribeTokens) -> Suppressed:
        readers: set[str] = set()
        foreign = 0
        for entry in self.entries():
            verified = tokens.verify(entry["token"])
            if verified is None:
                foreign += 1
            else:
                readers.add(verified.reader)
        return Suppressed(frozenset(readers), foreign)

    def add(self, unsubscribe: Unsubscribe, via: Via) -> bool:
        """Record an opt-out (append, fsync); False when this reader is already on the list."""
        if any(reader_of(entry["token"]) == unsubscribe.reader for entry in self.entries()):
            return False
        self._append(unsubscribe, via=via)
        return True


class LanguageChoices(_Journal):
    """The newsletter language each reader chose on the preferences page (the last choice
    counts), kept beside the suppression list: ``{"at", "token", "language"}`` lines, tokens
    only. ``send`` gives a reader who chose the edition in that language."""

    what = "newsletter language choices"

    @classmethod
    def beside(cls, suppressions: SuppressionList) -> LanguageChoices:
        return cls(suppressions.path.with_name(LANGUAGE_CHOICES))

    def chosen(self, tokens: UnsubscribeTokens, offered: Collection[str] | None = None) -> dict[str, str]:
        """Reader hash → language code: each reader's last choice of the lines this secret
        verifies, where it is one of the languages ``offered`` (a language the practice no
        longer keeps is no choice: not an earlier one either, so the app and ``send`` agree)."""
        latest: dict[str, str] = {}
        for entry in self.entries():
            verified, language = tokens.verify(entry["token"]), entry.get("language")
            if verified is not None and isinstance(language, str):
                latest[verified.reader] = language
        return {reader: lang for reader, lang in latest.items() if offered is None or lang in offered}

    def choose(self, reader: Unsubscribe, language: str) -> None:
        """Record a choice (append, fsync)."""
        self._append(reader, language=language)
