"""``content/languages.yaml``: the languages a practice prints in, and its language-help notice.

Optional: without it a project has the built-in English and Spanish. An entry adds a
language (or changes a built-in one): its names, Babel locale, text direction, readability
rule and the font families its script needs. The notice of free language help (Section
1557 of the ACA asks for one in the languages patients use) is a list of lines, each in its
own language and script, printed on a packet's contacts page and at the end of handouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, Field, StringConstraints

from handout_gen.content.schema import Strict, Text
from handout_gen.content.yamlfile import load_model
from handout_gen.core.errors import Problem, relpath
from handout_gen.core.fonts import chain, missing_message
from handout_gen.core.languages import DEFAULTS, Direction, LanguageInfo, Languages, NameOrder, Readability
from handout_gen.core.languages import locale as default_locale

CODE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
LANGUAGES_FILE = "languages.yaml"


def _locale(value: str) -> str:
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        msg = f"'{value}' is not a locale Babel knows (e.g. 'vi', 'zh_Hans_CN', 'ar')"
        raise ValueError(msg) from None
    return value.replace("-", "_")


# A punctuation mark with the space it takes ("： " has none: the full-width mark holds it).
Mark = Annotated[
    str, StringConstraints(strip_whitespace=False, min_length=1, max_length=3, pattern=r"^[^\n\r]+$")
]


class LanguageEntry(Strict):
    name: Text  # in English, for messages to content keepers
    native: Text  # in its own script
    locale: Annotated[str, AfterValidator(_locale)] | None = None  # default: the code
    direction: Direction = "ltr"
    readability: Readability | None = None  # default: the built-in one, else sentence-length
    fonts: list[Text] = Field(default_factory=list)
    names: NameOrder = "given-first"  # family-first: Chinese, Japanese, Korean
    colon: Mark = ": "
    comma: Mark = ", "
    semicolon: Mark = "; "


class HelpLine(Strict):
    lang: Text
    text: Text


class LanguageHelp(Strict):
    """The notice of free language help; ``show: false`` turns it off everywhere."""

    show: bool = True
    lines: list[HelpLine] = Field(default_factory=list)


class LanguagesFile(Strict):
    languages: dict[str, LanguageEntry] = Field(default_factory=dict)
    fonts: Annotated[list[Text], Field(min_length=1)] | None = None  # the chain after each language's own
    language_help: LanguageHelp = Field(default_factory=LanguageHelp)


@dataclass(frozen=True)
class LanguageSetup:
    """What the languages file gives the rest of the program (the built-ins without one)."""

    languages: Languages = field(default_factory=Languages)
    help: LanguageHelp = field(default_factory=LanguageHelp)


def _info(code: str, entry: LanguageEntry) -> LanguageInfo:
    builtin = DEFAULTS.get(code)
    readability = entry.readability or (builtin.readability if builtin else "sentence-length")
    locale = entry.locale or default_locale(code)
    fonts = tuple(entry.fonts)
    return LanguageInfo(
        code, entry.name, entry.native, locale, entry.direction, readability, fonts, entry.names, entry.colon,
        entry.comma, entry.semicolon,
    )


def load_languages(content_dir: Path, root: Path) -> tuple[LanguageSetup, list[Problem]]:
    """Read ``content/languages.yaml``; every problem names its file and line."""
    path = content_dir / LANGUAGES_FILE
    if not path.is_file():
        return LanguageSetup(), []
    source = relpath(path, root)
    data, lines, problems = load_model(path, LanguagesFile, root)
    if data is None:
        return LanguageSetup(), problems
    table = dict(DEFAULTS)
    for code, entry in data.languages.items():
        if not CODE_RE.match(code):
            message = f"'{code}' is not a language code (lower-case ISO 639, e.g. 'vi', 'zh', 'ar')"
            problems.append(Problem(source, message, lines.get(("languages", code)), f"languages.{code}"))
            continue
        table[code] = _info(code, entry)
    fonts = tuple(data.fonts) if data.fonts else Languages().fonts
    languages = Languages(table, fonts)
    for index, line in enumerate(data.language_help.lines):
        where: tuple[Any, ...] = ("language_help", "lines", index)
        if line.lang not in table:
            message = f"unknown language '{line.lang}' (known: {', '.join(table)})"
            problems.append(Problem(source, message, lines.get((*where, "lang")), ".".join(map(str, where))))
        elif missing := chain(languages.font_chain(line.lang)).missing(line.text):
            message = missing_message(missing, languages.font_chain(line.lang))
            problems.append(
                Problem(
                    source, message, lines.get((*where, "text")), ".".join(map(str, where)), rule="pdf.glyphs"
                )
            )
    return LanguageSetup(languages, data.language_help), problems


def unknown_language(code: str, languages: Languages) -> str:
    """The message for a language code the project does not declare."""
    return (
        f"unknown language '{code}' (known: {', '.join(languages.codes)}); "
        f"declare it in content/{LANGUAGES_FILE}"
    )
