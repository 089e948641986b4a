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
from itertools import combinations

from handout_gen.checks.findings import Finding
from handout_gen.checks.text import Document

LISTS = ("call_us_if", "go_to_er_if")
# How alike two lines' words must be to read as one sign worded twice: a question of wording,
# not a clinical threshold ("legs or arms" / "arms or legs" is 0.91; "at a needle spot" /
# "at a cut" is 0.88 and is two signs).
ALIKE = 0.9
_NOT_LETTERS = re.compile(r"[\W_]+")

Variant = tuple[str, str]  # (list name, text): what a packet prints once however many procedures say it


def merged_sign_findings(docs: list[Document]) -> list[Finding]:
    """Per language, the lines of every procedure grouped into signs (lines alike in words);
    each wording of a sign other than its most used one is named, with the places of that one."""
    places: dict[str, dict[Variant, list[tuple[str, int]]]] = {}
    for doc in docs:
        found = places.setdefault(doc.lang, {})
        for name in LISTS:
            for text, line in doc.front_items(name):
                found.setdefault((name, text), []).append((doc.source, line))
    findings = []
    for variants in places.values():
        for sign in _signs(list(variants)):
            main = max(sign, key=lambda v: len(variants[v]))  # the first of the most used
            findings += [_finding(v, variants[v][0], main, variants[main]) for v in sign if v != main]
    return findings


def _signs(variants: list[Variant]) -> list[list[Variant]]:
    """The variants grouped by sign (alike pairs joined), groups of two or more, in order."""
    group = list(range(len(variants)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    words = [_words(text) for _, text in variants]
    for i, j in combinations(range(len(variants)), 2):
        if words[i] == words[j] or SequenceMatcher(None, words[i], words[j]).ratio() >= ALIKE:
            group[root(j)] = root(i)
    signs: dict[int, list[Variant]] = {}
    for i, variant in enumerate(variants):
        signs.setdefault(root(i), []).append(variant)
    return [sign for sign in signs.values() if len(sign) > 1]


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
