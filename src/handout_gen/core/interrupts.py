"""Ctrl-C at a clean point: hold SIGINT across work that must finish once it has started.

A KeyboardInterrupt may fire between any two bytecodes. Where that would split a record
(a message the SMTP server accepted but the send log does not list yet; a packet chunk in
the index but not in the audit log), the work runs inside :class:`HeldInterrupt`: a Ctrl-C
there is noted, and raised as KeyboardInterrupt when the block ends (or at :meth:`check`).
Blocking system calls are not cut short by a held Ctrl-C (Python retries them, PEP 475),
so a reply the program is waiting for still arrives.

Signal handlers belong to the main thread; elsewhere (a test's server thread) the guard
holds nothing and a Ctrl-C cannot reach the block anyway.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class HeldInterrupt:
    """A block in which Ctrl-C is noted instead of raised; raised when the block ends."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: signal.Handlers | int | object = None
        self._installed = False

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __enter__(self) -> HeldInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._note)
            self._installed = True
        return self

    def check(self) -> None:
        """Raise KeyboardInterrupt now if Ctrl-C came while held (a clean point in a loop)."""
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            previous = signal.SIG_DFL if self._previous is None else self._previous  # None: set from C
            signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]
            self._installed = False
        if self.requested and self._previous is not signal.SIG_IGN and not isinstance(exc, KeyboardInterrupt):
            self.requested = False
            raise KeyboardInterrupt
