"""Placeholder tokens left in the once-inlined newsletter and filled per reader or per route.

Letters, digits and underscores only, so premailer, lxml and quoted-printable encoding leave
them alone; :mod:`handout_gen.newsletter.message` swaps them by plain string substitution.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

TokenName = Literal["GREETING", "UNSUB_URL", "PREFS_URL", "ARCHIVE_URL", "POSTAL"]
TOKENS: tuple[TokenName, ...] = get_args(TokenName)
TOKEN_RE = re.compile(r"HGTOKEN_(" + "|".join(TOKENS) + r")\b")
PREFIX = "HGTOKEN_"


def token(name: TokenName) -> str:
    """The placeholder for ``name``."""
    return f"{PREFIX}{name}"
