"""Practice values in content: ``{{ thresholds.fever_f }}`` in a procedure or packet.yaml.

A "call us if" needs a threshold and a "call us" a deadline, and both are the practice's
decision, set once in ``content/practice.yaml`` (``thresholds:``). Content names them instead
of copying the number, so a handout, its translation and the packet never disagree.

This is not a template language: only ``{{ group.name }}`` of a known value is replaced, in the
source text before it is parsed (values are plain numbers, so YAML and Markdown see a number
and every line number stays the same). Any other ``{{ ... }}`` is a located problem: a patient
must never read template braces.

A language whose words change with the number (Arabic: ساعة واحدة, ساعتين, 3 ساعات, 24 ساعة)
gives them after the name, by number, and a last form for every other, ``#`` standing for
the number: ``{{ thresholds.call_within_hours | 1: ساعة واحدة | 2: ساعتين | 3-10: # ساعات |
# ساعة }}``. The forms go by the number itself, not by a language's plural rules, so the
file's language need not be known where it is read, and the translator writes exactly what
each number prints.
"""

from __future__ import annotations

import re

from handout_gen.content.schema import Practice
from handout_gen.core.errors import Problem

# On one line, and never across another brace: a placeholder wrapped over lines would change
# the line numbers of everything after it once replaced.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\n]*?)\s*\}\}")
UNKNOWN_VALUE = "references.unknown-value"
BAD_FORM = "references.bad-form"
_FORM_RE = re.compile(r"(\d+)(?:-(\d+))?\s*:\s*(.+)")  # "3-10: # ساعات"


def practice_values(practice: Practice) -> dict[str, str]:
    """Every name content may use, with the text it becomes (``100.4``, ``300``)."""
    values: dict[str, str] = {}
    for name, value in practice.thresholds.model_dump(exclude_none=True).items():
        text = f"{value:g}" if isinstance(value, float) else str(value)
        values[f"thresholds.{name}"] = text
    # The same fever threshold in Celsius, for readers who know that scale (most outside the
    # US): worked out from fever_f, so the two never disagree. 100.4 °F is 38 °C.
    values["thresholds.fever_c"] = f"{round((practice.thresholds.fever_f - 32) * 5 / 9, 1):g}"
    return values


def substitute(
    text: str, values: dict[str, str] | None, source: str, first_line: int = 1
) -> tuple[str, list[Problem]]:
    """``text`` with each ``{{ name }}`` replaced; an unknown name is a problem at its line.

    ``values`` None means practice.yaml did not load (its own problems are reported): the text
    is returned as it is, with no second report for every placeholder.
    """
    if values is None or "{{" not in text:
        return text, []
    problems: list[Problem] = []
    placed: list[tuple[int, int]] = []  # where each placeholder stands, for the braces left over

    def replace(match: re.Match[str]) -> str:
        placed.append(match.span())
        name, *forms = (part.strip() for part in match.group(1).split("|"))
        line = first_line + text.count("\n", 0, match.start())
        if name not in values:
            known = ", ".join(sorted(values))
            message = f"unknown value '{{{{ {name} }}}}' (known: {known})"
            problems.append(Problem(source, message, line, rule=UNKNOWN_VALUE))
            return match.group(0)
        if not forms:
            return values[name]
        said, problem = _form(values[name], forms)
        if problem:
            problems.append(Problem(source, f"'{{{{ {name} | ... }}}}': {problem}", line, rule=BAD_FORM))
            return match.group(0)
        return said

    filled = PLACEHOLDER_RE.sub(replace, text)
    for start in (m.start() for m in re.finditer(r"\{\{", text)):
        if not any(low <= start < high for low, high in placed):  # would print its braces
            line = first_line + text.count("\n", 0, start)
            message = "'{{' with no '}}' after it on the same line: write a value on one line"
            problems.append(Problem(source, message, line, rule=BAD_FORM))
    return filled, problems


def _form(value: str, forms: list[str]) -> tuple[str, str | None]:
    """The words ``value`` prints as, from ``forms`` ("2: ساعتين", "3-10: # ساعات", and a last
    one for every other number: a number with decimals too), or why they cannot say it. The
    first form whose numbers hold the value wins."""
    *numbered, other = forms
    if _FORM_RE.fullmatch(other) or "#" not in other:
        return "", "the last form is for every other number: it has no 'N:' and shows the number as '#'"
    for form in numbered:
        found = _FORM_RE.fullmatch(form)
        if not found:
            return "", f"'{form}' is not 'N: words' or 'N-M: words'"
        low, high = int(found[1]), int(found[2] or found[1])
        if low > high:
            return "", f"'{form}' counts down: write the smaller number first"
        if value.isdigit() and low <= int(value) <= high:
            return found[3].strip().replace("#", value), None
    return other.replace("#", value), None
