"""Warning signs a packet merges: lines that would print twice, or in both lists.

A packet for several procedures prints one "call us if" list and one "go to the ER if" list,
drawn from every procedure it holds, each line once. Only identical lines are merged; clinical
text is never rewritten. So two wordings of one sign ("after the shot", "after the treatment")
print as two lines, and a sign one procedure files under "call us" and another under "go to
the ER" prints in both lists: the patient is told two things. These rules name both lines.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from handout_gen.checks.findings import Finding
from handout_gen.checks.text import Document

LISTS = ("call_us_if", "go_to_er_if")
# How alike two lines' words must be to read as one sign worded twice: a question of wording,
# not a clinical threshold ("legs or arms" / "arms or legs" is 0.91; "at a needle spot" /
# "at a cut" is 0.88 and is two signs). The same words in another order are one sign; lines
# whose numbers differ ("12 hours", "24 hours") are two.
ALIKE = 0.9
_NOT_LETTERS = re.compile(r"[\W_]+")
_NUMBERS = re.compile(r"\d+(?:[.,]\d+)?")

Variant = tuple[str, str]  # (list name, text): what a packet prints once however many procedures say it


def merged_sign_findings(docs: list[Document]) -> list[Finding]:
    """Per language, the lines of every procedure grouped into signs: the most used wording of
    each, and every line of another wording alike to it, each named with that one's places."""
    places: dict[str, dict[Variant, list[tuple[str, int]]]] = {}
    for doc in docs:
        found = places.setdefault(doc.lang, {})
        for name in LISTS:
            for text, line in doc.front_items(name):
                found.setdefault((name, text), []).append((doc.source, line))
    findings = []
    for variants in places.values():
        for main, others in _signs(variants):
            findings += [_finding(v, at, main, variants[main]) for v in others for at in variants[v]]
    return findings


def _signs(variants: dict[Variant, list[tuple[str, int]]]) -> list[tuple[Variant, list[Variant]]]:
    """(the most used wording, the others alike to it) for each sign worded more than one way,
    taking the most used first, so one wording stands for a sign (alike is not chained)."""
    order = sorted(variants, key=lambda v: -len(variants[v]))  # stable: the first of the most used
    taken: set[Variant] = set()
    signs = []
    for main in order:
        if main in taken:
            continue
        others = [v for v in order if v != main and v not in taken and _alike(main[1], v[1])]
        taken.update([main, *others])
        if others:
            signs.append((main, others))
    return signs


def _alike(text: str, other: str) -> bool:
    if _NUMBERS.findall(text) != _NUMBERS.findall(other):
        return False
    words, other_words = _words(text), _words(other)
    if words == other_words or sorted(words.split()) == sorted(other_words.split()):
        return True
    match = SequenceMatcher(None, words, other_words)
    return match.real_quick_ratio() >= ALIKE and match.quick_ratio() >= ALIKE and match.ratio() >= ALIKE


def _finding(variant: Variant, at: tuple[str, int], main: Variant, where: list[tuple[str, int]]) -> Finding:
    (name, text), (main_list, main_text) = variant, main
    places = ", ".join(f"{source}:{line}" for source, line in where)
    if name != main_list:
        return Finding(
            at[0], at[1], "calls.both-lists", "warning",
            f"'{text}' is under {name} here and '{main_text}' under {main_list} in {places}: a packet "
            "for this procedure and one of those tells the patient both to call and to go to the "
            "emergency room",
            "file the sign under one list in every procedure (the urgent one if in doubt)")
    return Finding(
        at[0], at[1], "calls.worded-twice", "warning",
        f"'{text}' says nearly what '{main_text}' says ({places}): a packet for this procedure "
        "and one of those prints both lines",
        "word the sign the same way in every procedure (a packet then prints it once), or make "
        "the difference plain")


def _words(text: str) -> str:
    """What two wordings are compared on: the words, without case or punctuation."""
    return " ".join(_NOT_LETTERS.sub(" ", text.casefold()).split())
