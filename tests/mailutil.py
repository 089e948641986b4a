"""Helpers to check parsed email messages the way a receiving server would."""

from __future__ import annotations

from email.message import EmailMessage

# Headers RFC 5322 and Gmail's sender rules want exactly once (plus RFC 8058 one-click).
SINGLE_HEADERS = (
    "Date", "Message-ID", "From", "To", "Subject", "MIME-Version",
    "List-Unsubscribe", "List-Unsubscribe-Post",
)


def assert_headers_once(msg: EmailMessage, *, one_click: bool = True) -> None:
    """Each single-instance header is present exactly once (the one-click one only on a
    reader's own message, whose unsubscribe address names them)."""
    for name in (h for h in SINGLE_HEADERS if one_click or h != "List-Unsubscribe-Post"):
        found = msg.get_all(name) or []
        assert len(found) == 1, f"{name}: {len(found)} times"
