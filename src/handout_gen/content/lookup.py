"""How a roster cell (or a person at the command line) finds a clinic, a physician or a
procedure by what a scheduling system's export writes ("Orchard Way Clinic", "Dr. Okafor",
"Radiofrequency Ablation"), where practice.yaml and the content files have ids and slugs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping

from handout_gen.content.procedures import Procedure

TITLES = frozenset({"dr", "dra", "doctor", "doctora"})
# Credentials an export may write after a name without a comma ("Adaeze Okafor MD"). Not
# "DO": it is a family name too (Do, Đỗ), and a name is never cut short.
CREDENTIALS = frozenset({"md", "phd", "np", "pa", "pa-c", "rn", "crna", "dnp", "fnp", "aprn", "mbbs", "dpm"})


def name_key(text: str) -> str:
    """How a clinic or physician is looked up: any case, no title, no credentials after a
    comma or at the end ("Dr. Adaeze Okafor, MD", "Adaeze Okafor MD" → "adaeze okafor")."""
    words = [w for w in text.split(",")[0].casefold().replace(".", " ").split() if w not in TITLES]
    while len(words) > 1 and words[-1] in CREDENTIALS:
        words.pop()
    return " ".join(words)


def procedure_key(text: str) -> str:
    """How a procedure is looked up: its slug or its title in any language, in any case,
    with spaces or hyphens ("Radiofrequency Ablation" → "radiofrequency ablation")."""
    return " ".join(re.split(r"[\s_-]+", text.casefold())).strip()


def keys(names: list[tuple[str, str]], key: Callable[[str], str] = name_key) -> dict[str, str]:
    """key(name) → id; a key two ids share (a family name two physicians have) is left
    out, so it is never guessed."""
    found: dict[str, set[str]] = {}
    for name, ident in names:
        found.setdefault(key(name), set()).add(ident)
    return {k: ids.pop() for k, ids in found.items() if len(ids) == 1 and k}


def procedure_keys(procedures: Mapping[str, Procedure]) -> dict[str, str]:
    """:func:`procedure_key` of every slug and every edition's title → its slug (a roster
    cell, or ``handout-gen handout "Radiofrequency Ablation"``)."""
    return keys([(name, slug) for slug, procedure in procedures.items()
                 for name in (slug, *(e.meta.title for e in procedure.editions.values()))], procedure_key)


def likely_procedure(
    text: str, keys: Mapping[str, str], sites: Callable[[str], tuple[str, ...]]
) -> str | None:
    """The procedure an unknown cell most likely means, for a "did you mean": a title with its
    site after it ("Radiofrequency Ablation - Lumbar" → "radiofrequency-ablation:lumbar"), the
    one procedure whose name holds all its words ("PRP"), or a near spelling; else None.
    ``keys``: :func:`procedure_key` of every slug and title → its slug."""
    key = procedure_key(text)
    for known in sorted(keys, key=len, reverse=True):
        if key.startswith(known + " "):  # a title and something after it: a site it has, or no guess
            site = key.removeprefix(known + " ").replace(" ", "-")
            return f"{keys[known]}:{site}" if site in sites(keys[known]) else None
    words = set(key.split())
    holding = {slug for known, slug in keys.items() if words and words <= set(known.split())}
    if holding:  # "Injection" is in two names: no guess rather than a wrong one
        return holding.pop() if len(holding) == 1 else None
    near = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.8)
    return keys[near[0]] if near else None
