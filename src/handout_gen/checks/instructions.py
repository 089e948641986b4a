"""Instruction rules of ``handout-gen check``: can a patient act on what the text says?

Two rules over every text a packet carries (procedure editions and ``content/packet.yaml``):

* ``instructions.relative-time``: a time counted back from the visit ("8 hours before your
  visit", "the day before your procedure"). A handout cannot know the date and a packet
  prints such rules as clock times and days computed from ``rules:`` in packet.yaml (its
  "when" lines), so the sentence leaves the patient to do the arithmetic: say it in a rule
  instead, or point to the letter's dates.
* ``instructions.call-deadline``: a "call us" with no deadline ("today", "right away", "within
  2 hours", "by <day>", "before your visit"). A patient who is told to call but not by when
  may call too late; the practice's deadlines are in practice.yaml (``thresholds:``).

Only English and Spanish have patterns; text in another language is not scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handout_gen.checks.findings import Finding, fix_for
from handout_gen.checks.text import FRONT_LISTS, Document
from handout_gen.content.values import substitute
from handout_gen.content.yamlfile import KeyLines, parse_yaml
from handout_gen.core.errors import relpath
from handout_gen.packets.stated_dates import COUNTS
from handout_gen.packets.words import PLACEHOLDERS, TIMED_WORDS, WITH_RESTART

TIMED_TEXTS = frozenset(text for _, text in [*TIMED_WORDS.values(), *WITH_RESTART.values()])

RELATIVE_TIME = "instructions.relative-time"
CALL_DEADLINE = "instructions.call-deadline"
UNQUOTED_PLAN = "instructions.unquoted-plan"
# The dated lines that may quote the clinician's own words (a blood thinner's stop, restart).
QUOTING = tuple(key for key, allowed in PLACEHOLDERS.items() if "words" in allowed)

_COUNT_EN, _COUNT_ES = COUNTS["en"], COUNTS["es"]
_EVENT_EN = (
    r"(?:your|the)\s+(?:visit|procedure|appointment|arrival|arrival time|shot|surgery|injection|treatment)"
)
_EVENT_ES = (
    r"(?:su|la|el)\s+(?:visita|procedimiento|cita|llegada|hora de llegada|inyección|cirugía|tratamiento)"
)
RELATIVE_RE = {
    "en": re.compile(
        rf"\b(?:(?:for\s+)?{_COUNT_EN}\s+(?:hours?|days?|weeks?|nights?)|the\s+(?:day|night|morning|evening))"
        rf"\s+(?:before|ahead\s+of|prior\s+to)\s+(?:{_EVENT_EN}|you\s+(?:arrive|come))",
        re.I,
    ),
    "es": re.compile(
        rf"\b(?:(?:por\s+)?{_COUNT_ES}\s+(?:horas?|días?|semanas?|noches?)|(?:el\s+día|la\s+noche|la\s+mañana))"
        rf"\s+antes\s+(?:de\s+{_EVENT_ES}|de\s+que\s+llegue|de\s+venir)",
        re.I,
    ),
}
CALL_RE = {"en": re.compile(r"\bcall\s+us\b", re.I), "es": re.compile(r"\bll[áa]menos\b", re.I)}
DEADLINE_RE = {
    "en": re.compile(
        r"\b(?:today|tonight|right\s+away|at\s+once|now|immediately|the\s+same\s+day|within|by|"
        r"as\s+soon\s+as|before\s+(?:your|the|you)\b)",
        re.I,
    ),
    "es": re.compile(
        r"\b(?:hoy|esta\s+noche|enseguida|de\s+inmediato|ahora|el\s+mismo\s+d[íi]a|en\s+menos\s+de|"
        r"dentro\s+de|a\s+m[áa]s\s+tardar|lo\s+antes\s+posible|cuanto\s+antes|antes\s+del\b|antes\s+de\s+(?:su|la|el|que))",
        re.I,
    ),
}
# A label such as the footer's "Call us: 555-0100" names a number; it instructs nothing.
LABEL_RE = re.compile(r"^\s*(?:call\s+us|ll[áa]menos)\s*:\s*(?:%\(phone\)s|[\d\s()+-]+)\s*$", re.I)
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def _findings(text: str, line: int, lang: str, source: str, where: str) -> list[Finding]:
    found: list[Finding] = []
    if lang not in RELATIVE_RE or LABEL_RE.match(text):
        return found
    match = RELATIVE_RE[lang].search(text)
    if match:
        found.append(
            Finding(
                source,
                line,
                RELATIVE_TIME,
                "warning",
                f"{where}'{match.group(0)}' counts back from the visit; the patient must work out the time",
                fix_for(RELATIVE_TIME),
            )
        )
    for sentence in SENTENCE_RE.split(text):
        if CALL_RE[lang].search(sentence) and not DEADLINE_RE[lang].search(sentence):
            found.append(
                Finding(
                    source,
                    line,
                    CALL_DEADLINE,
                    "warning",
                    f"{where}'{sentence.strip()[:80]}' says to call us but not by when",
                    fix_for(CALL_DEADLINE),
                )
            )
    return found


def edition_instructions(doc: Document) -> list[Finding]:
    """Both rules over the body and the front-matter lists of one procedure edition."""
    texts = [(b.text, b.line) for b in doc.blocks]
    texts += [item for name in FRONT_LISTS for item in doc.front_items(name)]
    texts.append((doc.edition.meta.summary, doc.key_lines.get(("summary",), 1)))
    return [f for text, line in texts for f in _findings(text, line, doc.lang, doc.source, "")]


def _strings(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, (*path, index))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))


def packet_instructions(root: Path, values: dict[str, str] | None) -> list[Finding]:
    """Both rules over every sentence of ``content/packet.yaml`` (its ``text:`` blocks).

    The packet's own "when" lines ("After %(time)s on %(day)s:") are computed and carry no
    relative time; a broken file is reported by the packet loader, not here.
    """
    path = root / "content" / "packet.yaml"
    if not path.is_file():
        return []
    source = relpath(path, root)
    text, _ = substitute(path.read_text(encoding="utf-8-sig"), values, source)
    data, lines, problems = parse_yaml(text, source)
    if data is None or problems or not isinstance(data.get("text"), dict):
        return []
    found = [
        finding
        for lang, words in data["text"].items()
        for key_path, sentence in _strings(words, ("text", str(lang)))
        if not _computed_or_heading(str(key_path[2]))
        for finding in _findings(
            sentence, _line(lines, key_path), str(lang), source, f"{'.'.join(str(p) for p in key_path[2:])}: "
        )
    ]
    for lang, words in data["text"].items():  # a dated line that only points at the box
        for key in QUOTING:
            said = words.get(key) if isinstance(words, dict) else None
            if isinstance(said, str) and "%(words)s" not in said:
                message = (f"text.{lang}.{key}: points at the box instead of quoting the clinician's words: "
                           "the dated list the patient acts on loses \"in the morning\" or \"if there is no "
                           "bleeding\"")
                found.append(Finding(source, _line(lines, ("text", str(lang), key)), UNQUOTED_PLAN, "warning",
                                     message, fix_for(UNQUOTED_PLAN)))
    return found


def _computed_or_heading(key: str) -> bool:
    """A timed line's text (its deadline is the computed "when" line over it) or a heading."""
    return key in TIMED_TEXTS or key.endswith("_heading")


def _line(lines: KeyLines, path: tuple[str | int, ...]) -> int:
    return next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), 1)
