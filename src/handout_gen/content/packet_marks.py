"""Packet marks: "{packet:<topic>}" at the end of a handout's general line that a packet
says for its patient in its own words (the letter's days, the clinician's plan).

A packet that covers the topic for its patient leaves the line out; every other output
prints the line without the mark. Marks end a "- " item of a Markdown section, or an item
of a front-matter list (``key_points``, ``aftercare``, ``call_us_if``), and are written without a space after
the colon (YAML reads "a: b" in a plain line as a key).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

PACKET_TOPICS = ("blood-thinner", "sedation", "dye-allergy", "anti-inflammatories", "blood-sugar",
                 "dated-aftercare", "numbness")
PACKET_MARK_RE = re.compile(r"\s*\{packet:\s*([^}]*?)\s*\}\s*$")
BULLET_RE = re.compile(r"^\s*[-*+]\s")  # a mark ends a bullet item: a numbered list would skip a number
_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def unmarked(item: str) -> tuple[str, str]:
    """(the item without its mark, the mark's topic or "")."""
    mark = PACKET_MARK_RE.search(item)
    return (item[: mark.start()], mark[1]) if mark else (item, "")


def items_in_packet(items: Iterable[str], covered: Collection[str] = ()) -> list[str]:
    """The items of a marked front-matter list as a packet covering ``covered`` prints them:
    without their marks, and without those marked with a covered topic."""
    return [text for text, topic in map(unmarked, items) if not (topic and topic in covered)]


def item_topics(items: Iterable[str]) -> frozenset[str]:
    """The topics the items of a front-matter list are marked with."""
    return frozenset(topic for _, topic in map(unmarked, items) if topic)


def item_marks(markdown: str) -> list[str]:
    """The topic each bullet item of a section's Markdown is marked with ("" for none), in
    order (a mark ends its item's own line)."""
    return [unmarked(line)[1] for line in markdown.splitlines() if BULLET_RE.match(line)]


def unknown_topic(topic: str) -> str | None:
    """What is wrong with a mark's topic, or None."""
    if topic in PACKET_TOPICS:
        return None
    return f"'{{packet:{topic}}}' names no packet topic (one of: {', '.join(PACKET_TOPICS)})"


def packet_marks(markdown: str) -> list[tuple[int, str, bool]]:
    """(line offset, topic, whether it ends a bullet item's line) of every packet mark."""
    return [
        (n, m[1], bool(BULLET_RE.match(line)))
        for n, line in enumerate(markdown.splitlines())
        if (m := PACKET_MARK_RE.search(line))
    ]


def for_packet(markdown: str, covered: tuple[str, ...] = ()) -> str:
    """``markdown`` without its packet marks, and without the bullet items (with their
    continuation lines) marked with a topic in ``covered``."""
    lines: list[str] = []
    dropping = False
    for line in markdown.splitlines():
        if dropping and line.strip() and not _ITEM_RE.match(line) and line[:1].isspace():
            continue  # the rest of a dropped item
        text, topic = unmarked(line)
        dropping = bool(topic and topic in covered and BULLET_RE.match(line))
        if not dropping:
            lines.append(text)
    return "\n".join(lines)
