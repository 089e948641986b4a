"""The one language registry: which languages the tool knows, their names and Babel locales.

Every module that needs a language list, a language's name or its locale asks here, so a
language is added in one place. English is the original every edition translates and the
fallback for anything missing in another language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Language = Literal["en", "es"]
Translated = Literal["es"]  # languages an edition can be translated into (all but the original)
ORIGINAL: Language = "en"


Readability = Literal["flesch-kincaid", "inflesz"]


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    name: str  # in English, for messages to content keepers
    locale: str  # Babel locale for dates, times and plurals
    readability: Readability  # the formula ``check`` scores this language's text with
    native: str  # the language's name in itself, for links to an edition ("Español")


REGISTRY: dict[str, LanguageInfo] = {
    "en": LanguageInfo("en", "English", "en_US", "flesch-kincaid", "English"),
    "es": LanguageInfo("es", "Spanish", "es_US", "inflesz", "Español"),
}
LANGUAGES: tuple[str, ...] = get_args(Language)
TRANSLATED: tuple[str, ...] = get_args(Translated)
assert set(LANGUAGES) == set(REGISTRY) and ORIGINAL not in TRANSLATED


def name(code: str) -> str:
    """"Spanish" for "es"; an unknown code is shown as it is."""
    info = REGISTRY.get(code)
    return info.name if info else code


def readability(code: str) -> Readability:
    """The readability formula for ``code`` (the original's for an unknown code)."""
    return REGISTRY.get(code, REGISTRY[ORIGINAL]).readability


def locale(code: str) -> str:
    """The Babel locale of ``code`` (the original's for an unknown code)."""
    return REGISTRY.get(code, REGISTRY[ORIGINAL]).locale


def native(code: str) -> str:
    """"Español" for "es": how a link to an edition names its language."""
    info = REGISTRY.get(code)
    return info.native if info else code
