"""YAML with line numbers: front matter, config files and their validation into typed models.

Every problem is a :class:`Problem` naming file, line and field, so a person can fix it
without reading a traceback; nothing here raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from handout_gen.core.errors import InputRefused, Problem, relpath
from handout_gen.core.files import read_input

M = TypeVar("M", bound=BaseModel)
KeyLines = dict[tuple[str | int, ...], int]


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return ``(yaml_text, body, body_first_line)``; raise ValueError without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        msg = "missing front matter: the file must start with a line '---'"
        raise ValueError(msg)
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    msg = "front matter is not closed: add a line '---' after it"
    raise ValueError(msg)


MAX_ALIASES = 32  # a real front matter has none; a "billion laughs" file has millions


class _Loader(yaml.CSafeLoader):
    """libyaml's parser (C) with PyYAML's safe constructor, and two guards: a cap on aliases
    (counted before anything is composed) and impossible dates reported at their line
    instead of a ValueError. The C parser reads a project's YAML about ten times faster
    than PyYAML's own Python one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.text = stream

    def get_single_node(self) -> yaml.Node | None:
        if "*" in self.text:  # an alias is written *name: without one, nothing to count
            _count_aliases(self.text)
        return super().get_single_node()

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            msg = f"'{node.value}' is not a real date (dates are YYYY-MM-DD, e.g. 2026-02-28)"
            raise yaml.constructor.ConstructorError(None, None, msg, node.start_mark) from None


def _count_aliases(stream: str) -> None:
    """Raise at the first alias past :data:`MAX_ALIASES`, reading parser events only: each
    alias repeats its value wherever a walk of the nodes meets it, which is how a "billion
    laughs" file explodes."""
    aliases = 0
    for event in yaml.parse(stream, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                msg = f"more than {MAX_ALIASES} aliases (*name); write the values out"
                mark = event.start_mark  # libyaml's Mark: the same line and column
                raise yaml.composer.ComposerError(None, None, msg, mark)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)

# Usual causes of a YAML syntax error, by the parser's own phrase.
YAML_HINTS = {
    "mapping values are not allowed in this context": "a value that holds ': ' must be in quotes",
    "could not find expected ':'": "a value that holds ': ' or starts with a quote must be in quotes",
    "found character that cannot start any token": "indent with spaces, not tabs",
    "did not find expected key": "keys of one level start in the same column",
}


def _lost_indent(text: str, index: int, first_line: int) -> str | None:
    """A hint when line ``index`` (0-based) is indented under a line that already holds a
    value: that line most likely lost its indent (the parser names the line after it)."""
    lines = text.splitlines()
    if index >= len(lines) or not lines[index].strip():
        return None
    before = next((i for i in range(index - 1, -1, -1)
                   if lines[i].strip() and not lines[i].lstrip().startswith("#")), None)
    if before is None:
        return None
    indent = len(lines[index]) - len(lines[index].lstrip(" "))
    key, colon, value = lines[before].strip().partition(": ")
    if indent <= len(lines[before]) - len(lines[before].lstrip(" ")) or not (colon and value.strip()):
        return None
    return (f"line {before + first_line} ({key}) has a value, so nothing can be indented under it: "
            f"if it lost its indent, indent it as line {index + first_line} is")


def _key_lines(root: yaml.Node | None, first_line: int) -> KeyLines:
    lines: KeyLines = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = node.start_mark.line + first_line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                walk(value, child)
                lines[child] = key.start_mark.line + first_line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def yaml_key_lines(text: str, first_line: int = 1) -> KeyLines:
    """Map each key path in a YAML document to its 1-based line, for precise messages."""
    loader = _Loader(text)
    try:
        return _key_lines(loader.get_single_node(), first_line)
    finally:
        loader.dispose()


def parse_yaml(
    text: str, source: str, first_line: int = 1
) -> tuple[Any, KeyLines, list[Problem]]:
    """Parse YAML safely (one pass); a syntax error becomes a Problem with its line and a hint."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        key_lines = _key_lines(node, first_line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark is not None else first_line
        reason = str(getattr(exc, "problem", None) or exc)
        hints = [h for h in ((_lost_indent(text, mark.line, first_line) if mark is not None else None),
                             next((h for phrase, h in YAML_HINTS.items() if phrase in reason), None)) if h]
        hint = "; or ".join(hints) or None  # a lost indent, or a value that needs quotes: both say
        message = f"invalid YAML: {reason}" + (f" (hint: {hint})" if hint else "")
        return None, {}, [Problem(source, message, line)]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return None, {}, [Problem(source, "expected a mapping of keys to values", first_line)]
    return data, key_lines, []


def validate(
    model: type[M],
    data: dict[str, Any],
    source: str,
    key_lines: KeyLines,
    default_line: int = 1,
) -> tuple[M | None, list[Problem]]:
    """Validate ``data`` against ``model``; every error becomes a located Problem."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # The nearest enclosing key that exists gives the line (a missing key has none).
            line = next(
                (key_lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in key_lines),
                default_line,
            )
            where = ".".join(str(part) for part in loc) or None
            rule = "schema.missing" if error["type"] == "missing" else "schema"
            problems.append(Problem(source, plain_words(error), line, where, rule=rule))
        return None, problems


# pydantic's messages ("Input should be a valid boolean, unable to interpret input") in the
# words of the person who edits the file, saying what to write instead.
_KINDS = {
    "bool": "true or false",
    "int": "a whole number, e.g. 30",
    "float": "a number, e.g. 100.4",
    "list": "a list: one line for each item, each starting with '- '",
    "dict": "a group of 'key: value' lines, indented under it",
    "model": "a group of 'key: value' lines, indented under it",
}
_LIMITS = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
           "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}


def plain_words(error: ErrorDetails) -> str:
    """What is wrong with a value and what to write instead, for one pydantic error."""
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_float")
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling)"
    if kind == "string_type":
        if given is None:
            return "is empty: write a value (one that starts with '#' must be in quotes, e.g. \"#1B4965\")"
        if isinstance(given, (dict, list)):
            return "must be one value on the line, not a list or a group"
        return "must be text: put it in quotes"  # never the value as YAML read it (yes: True)
    if base in _KINDS:
        return f"is empty: write {_KINDS[base]}" if given is None else f"must be {_KINDS[base]}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must list at least {ctx.get('min_length', 1)}"
    if kind == "literal_error":
        return f"must be {ctx['expected']}"
    if kind in _LIMITS:
        words, key = _LIMITS[kind]
        return f"must be {words} {ctx[key]}"
    if kind.startswith(("date_", "datetime_")):
        return "must be a date written YYYY-MM-DD, e.g. 2026-11-02"
    return str(error["msg"]).removeprefix("Value error, ")


Fill = Callable[[str, str], tuple[str, list[Problem]]]  # (text, source) -> (filled text, problems)


def load_model(
    path: Path, model: type[M], root: Path, fill: Fill | None = None, raw: bytes | None = None
) -> tuple[M | None, KeyLines, list[Problem]]:
    """Read a YAML file and validate it against ``model``: the one way config files load.

    ``fill(text, source)`` may fill values into the text first (practice values in packet.yaml);
    ``raw``: the file's bytes, when the caller has read them (:func:`read_input`) for itself.
    """
    source = relpath(path, root)
    try:
        if raw is None:
            raw = read_input(path, folder=path.parent, root=root)
        text = raw.decode("utf-8-sig")
    except InputRefused as exc:
        return None, {}, [exc.problem]
    except UnicodeDecodeError:
        return None, {}, [Problem(source, "not UTF-8 text")]
    filled: list[Problem] = []
    if fill is not None:
        text, filled = fill(text, source)
    data, key_lines, problems = parse_yaml(text, source)
    problems = filled + problems
    if data is None:
        return None, key_lines, problems
    value, problems = validate(model, data, source, key_lines)
    return value, key_lines, filled + problems
