"""How a roster cell finds a clinic, a physician or a procedure by what a scheduling
system's export writes ("Orchard Way Clinic", "Dr. Okafor", "Radiofrequency Ablation"),
where practice.yaml and the content files have ids and slugs."""

from __future__ import annotations

import re
from collections.abc import Callable

TITLES = frozenset({"dr", "dra", "doctor", "doctora"})


def name_key(text: str) -> str:
    """How a clinic or physician is looked up: any case, no title, no credentials after a
    comma ("Dr. Adaeze Okafor, MD" → "adaeze okafor")."""
    words = text.split(",")[0].casefold().replace(".", " ").split()
    return " ".join(word for word in words if word not in TITLES)


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
