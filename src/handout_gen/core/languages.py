"""Languages are data: what a language is, the two built in, and a project's table of them.

A practice adds a language with files (``content/languages.yaml``, editions, packet words,
a page-furniture catalog), never with code: :class:`Languages` is the table every module
asks for a language's name, Babel locale, text direction, readability rule and fonts.
English and Spanish are built in (:data:`DEFAULTS`), so a project without a languages file
works as before. English is the original every edition translates and the fallback for
anything missing in another language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

ORIGINAL = "en"

Direction = Literal["ltr", "rtl"]
# How a letter writes a patient's name: "given-first" ("Ana Ruiz") or "family-first" (Chinese,
# Japanese, Korean: "王秀英", "Wang Xiuying").
NameOrder = Literal["given-first", "family-first"]
# The CJK scripts (kana, ideographs, Hangul) as a regex class body: a name in them is written
# without a space, and a number beside them keeps to its unit (render/jinja.py's dates).
CJK_SCRIPTS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNSPACED_NAME = re.compile(f"[{CJK_SCRIPTS}]+")
# flesch-kincaid (English) and inflesz (Spanish) are formulas; sentence-length is the rule for
# a language without one: short sentences and short words, measured, not scored.
Readability = Literal["flesch-kincaid", "inflesz", "sentence-length"]

# The font chain every printed page uses, first choice first: Atkinson Hyperlegible (bundled,
# drawn for low-vision readers) for Latin, then Noto families for every other script. A
# language may put its own script's families in front (``fonts:``); the rest follow.
BUNDLED_FONT = "Atkinson Hyperlegible"
DEFAULT_FONTS: tuple[str, ...] = (
    BUNDLED_FONT,
    "Noto Sans",  # Latin extended (Vietnamese), Cyrillic, Greek
    "Noto Naskh Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Thai",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
)


# Subtags of a code whose readers use another script than the language's plain code prints
# (zh-TW, zh-Hant-HK: Traditional characters; sr-Latn): never mapped to the plain code (a
# project that keeps such a variant declares it under its own code).
OTHER_SCRIPT = {"zh": frozenset({"hant", "tw", "hk", "mo"}), "sr": frozenset({"latn"})}


def fold(text: str) -> str:
    """Text compared as a person types it: any case, with or without accents ("espanol")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    name: str  # in English, for messages to content keepers
    native: str  # the language's name in its own script ("Español", "中文")
    locale: str  # Babel locale for dates, times and plurals
    direction: Direction = "ltr"
    readability: Readability = "sentence-length"
    fonts: tuple[str, ...] = ()  # families tried before the chain (its own script's first)
    names: NameOrder = "given-first"
    # What ends a label before its value: "Date: Tuesday…"; Chinese and Japanese write the
    # full-width "：", which carries its own space ("日期：星期二…").
    colon: str = ": "
    # What parts a list's items (a clinic's days from its hours; one set of hours from the
    # next): ", " and "; ", in Chinese "，" and "；", in Arabic "، " and "؛ ".
    comma: str = ", "
    semicolon: str = "; "


DEFAULTS: dict[str, LanguageInfo] = {
    "en": LanguageInfo("en", "English", "English", "en_US", "ltr", "flesch-kincaid"),
    "es": LanguageInfo("es", "Spanish", "Español", "es_US", "ltr", "inflesz"),
}


@dataclass(frozen=True)
class Languages:
    """A project's languages: the built-in ones plus those its languages file declares."""

    table: dict[str, LanguageInfo] = field(default_factory=lambda: dict(DEFAULTS))
    fonts: tuple[str, ...] = DEFAULT_FONTS

    def __contains__(self, code: object) -> bool:
        return code in self.table

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every language, the original first, then in the order they were declared."""
        return tuple(self.table)

    @property
    def locales(self) -> tuple[str, ...]:
        """The Babel locale of every language, in :attr:`codes` order (month and day names)."""
        return tuple(self.locale(code) for code in self.codes)

    @property
    def translated(self) -> tuple[str, ...]:
        """Languages an edition can be translated into (all but the original)."""
        return tuple(code for code in self.table if code != ORIGINAL)

    def code_of(self, value: str) -> str | None:
        """The language code a roster cell, list cell or option means: a code in any case
        ("es", "ES"), a regional one of a language kept ("es-MX", "es_MX" → es), or the
        language's name in English or its own ("Spanish", "español"); "" is the original.
        None: no language of this project."""
        cell = fold(value.strip().replace("_", "-"))
        if not cell:
            return ORIGINAL
        short: dict[str, set[str]] = {}  # a name without its "(Simplified)", if no other code has it
        for code in self.codes:
            names = {fold(code), fold(self.name(code)), fold(self.native(code))}
            if cell in names:
                return code
            for name in names:
                short.setdefault(name.split(" (")[0], set()).add(code)
        if len(short.get(cell, ())) == 1:
            return next(iter(short[cell]))
        parts = cell.split("-")
        for end in range(len(parts) - 1, 0, -1):  # the longest declared prefix: zh-hant-tw → zh-hant
            prefix = "-".join(parts[:end])
            declared = next((code for code in self.codes if fold(code) == prefix), None)
            if declared and (end > 1 or not self.other_script(cell)):
                return declared
        return None

    def likely(self, value: str) -> str | None:
        """The language a mistyped cell most likely means ("Spnish" → es), for a "did you mean"."""
        import difflib

        names = {fold(name): code for code in self.codes
                 for name in (code, self.name(code), self.native(code))}
        near = difflib.get_close_matches(fold(value.strip()), list(names), n=1, cutoff=0.8)
        return names[near[0]] if near else None

    @staticmethod
    def other_script(value: str) -> bool:
        """Whether a code's readers use another script than its plain language code prints."""
        parts = fold(value.strip().replace("_", "-")).split("-")
        return bool(OTHER_SCRIPT.get(parts[0], frozenset()) & set(parts[1:]))

    def info(self, code: str) -> LanguageInfo:
        """The entry of ``code``; an unknown code gets a plain left-to-right entry of its own."""
        return self.table.get(code) or LanguageInfo(code, code, code, locale(code))

    def name(self, code: str) -> str:
        return self.info(code).name

    def native(self, code: str) -> str:
        return self.info(code).native

    def locale(self, code: str) -> str:
        return self.info(code).locale

    def direction(self, code: str) -> Direction:
        return self.info(code).direction

    def full_name(self, code: str, given: str, family: str) -> str:
        """A name as a letter in ``code`` writes it: family name first where the language
        puts it first, with no space between two names in Chinese, Japanese or Korean script."""
        if self.info(code).names == "given-first":
            return f"{given} {family}"
        both_unspaced = all(_UNSPACED_NAME.fullmatch(part) for part in (family, given))
        return f"{family}{given}" if both_unspaced else f"{family} {given}"

    def punctuation(self, code: str) -> dict[str, str]:
        """The marks templates put between a label and its value and between parts of a list."""
        info = self.info(code)
        return {"colon": info.colon, "comma": info.comma, "semicolon": info.semicolon}

    def readability(self, code: str) -> Readability:
        return self.info(code).readability

    def font_chain(self, code: str) -> tuple[str, ...]:
        """The families a page in ``code`` is set in, first choice first, each once."""
        return tuple(dict.fromkeys((*self.info(code).fonts, *self.fonts)))


def locale(code: str) -> str:
    """The Babel locale of a built-in language, else the code itself (Babel reads "vi", "zh")."""
    info = DEFAULTS.get(code)
    return info.locale if info else code.replace("-", "_")


