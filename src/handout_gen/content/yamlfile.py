"""YAML with line numbers: front matter, config files and their validation into typed models.

Every problem is a :class:`Problem` naming file, line and field, so a person can fix it
without reading a traceback; nothing here raises for bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from handout_gen.core.errors import Problem, relpath

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


def yaml_key_lines(text: str, first_line: int = 1) -> KeyLines:
    """Map each key path in a YAML document to its 1-based line, for precise messages."""
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

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def parse_yaml(
    text: str, source: str, first_line: int = 1
) -> tuple[Any, KeyLines, list[Problem]]:
    """Parse YAML safely; a syntax error becomes a Problem with its line."""
    try:
        data = yaml.safe_load(text)
        key_lines = yaml_key_lines(text, first_line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark is not None else first_line
        reason = getattr(exc, "problem", None) or str(exc)
        return None, {}, [Problem(source, f"invalid YAML: {reason}", line)]
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
            message = error["msg"]
            if error["type"] == "missing":
                message = "is required but missing"
            elif error["type"] == "extra_forbidden":
                message = "is not a known field (check the spelling)"
            problems.append(Problem(source, message.removeprefix("Value error, "), line, where))
        return None, problems


def load_model(
    path: Path, model: type[M], root: Path
) -> tuple[M | None, KeyLines, list[Problem]]:
    """Read a YAML file and validate it against ``model``: the one way config files load."""
    source = relpath(path, root)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None, {}, [Problem(source, "not UTF-8 text")]
    data, key_lines, problems = parse_yaml(text, source)
    if data is None:
        return None, key_lines, problems
    value, problems = validate(model, data, source, key_lines)
    return value, key_lines, problems
