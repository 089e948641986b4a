"""``handout-gen init DIR``: start a new practice's project from the shipped starter.

The starter (``src/handout_gen/starter/``) is itself a valid project: one practice, one
procedure, one newsletter, the recipes and a README on overriding templates. ``init``
copies it, putting the practice's name into practice.yaml and the logo. It checks
everything before writing and never overwrites a file, so running it on an existing
project changes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from handout_gen.content.schema import Practice
from handout_gen.content.yamlfile import parse_yaml, validate
from handout_gen.core.errors import ConfigError, ValidationFailed
from handout_gen.core.files import write_file
from handout_gen.core.paths import STARTER_DIR

DEFAULT_NAME = "Example Spine & Pain Clinic"
MAX_NAME = 100
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    """The practice name, trimmed; raise ValueError when it cannot go on a handout."""
    name = name.strip()
    if not name:
        msg = "the practice name must not be empty"
        raise ValueError(msg)
    if CONTROL_RE.search(name):
        msg = "the practice name must be one line of text"
        raise ValueError(msg)
    if len(name) > MAX_NAME:
        msg = f"the practice name must be at most {MAX_NAME} characters"
        raise ValueError(msg)
    return name


# output/ holds packets with patient data and private/ the unsubscribe secret (new-secret):
# a practice's git repository must never take either in.
GITIGNORE = (
    "# Made by handout-gen init. output/ holds generated files and patient packets (PHI);\n"
    "# private/ holds the unsubscribe secret (handout-gen new-secret). Never commit them.\n"
    "output/\n"
    "private/\n"
)


def starter_files() -> list[str]:
    """Project-relative paths of every starter file, in a stable order (``.gitignore`` included)."""
    return sorted(
        [
            p.relative_to(STARTER_DIR).as_posix()
            for p in STARTER_DIR.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
        ]
        + [".gitignore"]
    )


def _personalise(rel: str, data: bytes, name: str) -> bytes:
    """Put ``name`` where the starter says ``DEFAULT_NAME``, escaped for the file's format."""
    if rel == "content/practice.yaml":
        # The starter writes the name only inside double-quoted YAML scalars, whose escapes
        # (\" \\ \uXXXX) are the same as JSON's.
        replacement = json.dumps(name, ensure_ascii=False)[1:-1]
        return data.decode("utf-8").replace(DEFAULT_NAME, replacement).encode("utf-8")
    if rel.endswith(".svg"):
        old, new = xml_escape(DEFAULT_NAME), xml_escape(name, {'"': "&quot;"})
        return data.decode("utf-8").replace(old, new).encode("utf-8")
    return data


def init_project(directory: Path, *, name: str = DEFAULT_NAME) -> list[Path]:
    """Copy the starter into ``directory``; return the files written.

    Raises ConfigError (and writes nothing) when ``directory`` is a file, already holds a
    project, or holds any file the starter would overwrite.
    """
    try:
        name = check_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        msg = f"{directory} exists and is not a folder"
        raise ConfigError(msg)
    if (directory / "content" / "practice.yaml").exists():
        msg = f"{directory} already holds a handout-gen project (content/practice.yaml); nothing was written"
        raise ConfigError(msg)
    files = starter_files()
    clashes = [rel for rel in files if (directory / rel).exists()]
    if clashes:
        msg = f"{directory} already has {', '.join(clashes)}; nothing was written"
        raise ConfigError(msg)
    payloads = {
        rel: _personalise(rel, (STARTER_DIR / rel).read_bytes(), name) for rel in files if rel != ".gitignore"
    }
    payloads[".gitignore"] = GITIGNORE.encode()
    # Validate the personalised practice.yaml before writing anything.
    source = "content/practice.yaml"
    data, key_lines, problems = parse_yaml(payloads[source].decode("utf-8"), source)
    if data is not None:
        practice, problems = validate(Practice, data, source, key_lines)
        if practice is not None and practice.name != name:  # pragma: no cover - escaping guard
            msg = f"could not write the name {name!r} into practice.yaml"
            raise ConfigError(msg)
    if problems:
        raise ValidationFailed(problems, "the starter practice.yaml")
    written = []
    for rel in files:
        written.append(write_file(directory / rel, payloads[rel], root=directory))
    return written
