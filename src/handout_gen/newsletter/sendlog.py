"""The send log: the journal that makes a newsletter send resumable, without an address in it.

One fsynced JSON line per message (:class:`~handout_gen.core.files.AppendLog`): a first
``start`` line with the issue, then ``sent`` and ``failed`` lines that name the list's row and
an HMAC token of the address under the log's key. The key is made from the practice secret,
the issue and the log's nonce (:func:`send_log_key`), never written down: whoever holds the
log alone cannot test a guessed address against it. The start line keeps a check of the key,
so a resume with another secret is refused rather than sending everyone the issue again. (A
log started before, with its key in its start line, resumes with that key.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from handout_gen.content.project import Project
from handout_gen.core.errors import SendError
from handout_gen.core.files import AppendLog, ensure_dir, safe_join


class SendLog:
    """Append-only JSONL journal (a :class:`~handout_gen.core.files.AppendLog`), one fsynced line
    per message, so a kill leaves at most one torn last line, which :meth:`open` ignores. The
    file is 0600: it maps tokens to rows of the list.
    """

    def __init__(self, path: Path, key: bytes, sent: dict[str, int], log: AppendLog | None) -> None:
        self.path = path
        self.key = key
        self.sent = sent  # token -> row
        self.refused: set[str] = set()  # tokens the server refused permanently on an earlier run
        self._log = log

    @classmethod
    def open(cls, path: Path, root: Path, issue_id: str, *, create: bool, secret: bytes) -> SendLog:
        path = safe_join(root, os.path.relpath(path.resolve(), root.resolve()))
        kept: bytes | None = None  # an older log's own key, from its start line
        check: str | None = None
        nonce: str | None = secrets.token_hex(16)  # a new log's: a later log of the issue gets new ids
        started = False
        sent: dict[str, int] = {}
        refused: set[str] = set()
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
                    started = True
                    kept = bytes.fromhex(entry["key"]) if "key" in entry else None
                    check, nonce = entry.get("check"), entry.get("nonce")  # no nonce: an earlier log
                elif entry.get("event") == "sent":
                    sent[entry["token"]] = entry["row"]
                elif entry.get("event") == "failed":
                    refused.add(entry["token"])
        key = send_log_key(secret, issue_id, nonce)
        if kept is None and check is not None and not hmac.compare_digest(check, _key_check(key)):
            raise SendError(f"{path} was started with another unsubscribe secret: resume it with the same "
                            "one (HANDOUT_GEN_SECRET_FILE), or it would send the issue again to everyone "
                            "it reached")
        key = kept or key
        if not create:
            log = cls(path, key, sent, None)
        else:
            ensure_dir(path.parent)
            log = cls(path, key, sent, AppendLog(path))
            if not started:
                log.record({"event": "start", "issue": issue_id, "nonce": nonce, "check": _key_check(key)})
        log.refused = refused - sent.keys()
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


def send_log_key(secret: bytes, issue_id: str, nonce: str | None) -> bytes:
    """The key of a send log, from the practice secret and the log's nonce (its start line):
    the same on every resume of that log; another log of the issue (the list sent again after
    a correction, a second list with --log) gets other Message-IDs, which mail systems would
    otherwise drop as repeats."""
    label = f"send-log\n{issue_id}" if nonce is None else f"send-log\n{issue_id}\n{nonce}"
    return hmac.new(secret, label.encode(), hashlib.sha256).digest()


def _key_check(key: bytes) -> str:
    """What the start line keeps of the key: enough to tell another key, nothing to test an
    address with."""
    return hmac.new(key, b"send-log key check", hashlib.sha256).hexdigest()[:32]


def open_send_log(
    project: Project, issue_id: str, *, test: bool, log_path: Path | None, dry_run: bool, secret: bytes
) -> SendLog:
    """The send log of a list send (opened, or created unless it is a dry run); none for a test send."""
    if test:
        return SendLog(Path(os.devnull), secrets.token_bytes(32), {}, None)
    target = log_path or project.output_dir / "newsletters" / issue_id / "send-log.jsonl"
    root = project.output_dir if log_path is None else target.resolve().parent
    return SendLog.open(target, root, issue_id, create=not dry_run, secret=secret)
