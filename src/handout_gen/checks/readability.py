"""Reading level, measured: Flesch-Kincaid grade for English, Szigriszt-Pazos (INFLESZ) for
Spanish and, for a language without a formula, sentence and word length. ``check`` applies
the one rule (:func:`reading_level`) to handouts and newsletters alike."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from handout_gen.checks.findings import Finding
from handout_gen.core.errors import Severity
from handout_gen.core.languages import DEFAULTS, Readability

# Targets (reference/patient-education.md §0, §1.3).
FK_TARGET, FK_MAX = 6.0, 8.0  # English Flesch-Kincaid grade: warn above 6, error above 8
INFLESZ_TARGET, INFLESZ_MIN = 65.0, 55.0  # Spanish Szigriszt-Pazos: warn below 65, error below 55
# A language with no formula: short sentences and short words, measured (plain-language
# guidance: about 15-20 words a sentence). Scripts written without spaces (Chinese, Japanese,
# Thai) are measured in characters a sentence.
SENTENCE_WORDS_MAX, WORD_LETTERS_MAX, SENTENCE_CHARS_MAX = 20.0, 7.0, 40.0
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, Han.
UNSPACED_RE = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
SENTENCE_END_RE = re.compile(r"(?<=[.!?;。！？；؟۔।])\s*")
MIN_SCORED_WORDS = 10  # formulas are noise on a line or two; shorter units are not scored

_textstat_lock = threading.Lock()


NUMBER_RE = re.compile(r"\d+(?:[.,:/-]\d+)*")
DEGREE_RE = re.compile(r"\s?°\s?[FC]\b")


def normalise_for_scoring(text: str) -> str:
    """Make formulas see what a reader sees.

    textstat splits sentences at the dot in "100.4", counts "555-0100" as several words and
    merges bullets without a full stop into one long sentence (measured in the reference,
    §1.3), so numbers become one short word and units are dropped.
    """
    text = DEGREE_RE.sub("", text)
    return NUMBER_RE.sub("5", text)


def score(text: str, lang: str, rule: Readability | None = None) -> tuple[float, int]:
    """(score, words): FK grade for English, Szigriszt-Pazos (INFLESZ) for Spanish.

    ``textstat.set_lang`` is module-global, so it is set on every call, under a lock, and
    put back to English afterwards.
    """
    import textstat

    with _textstat_lock:
        try:
            textstat.set_lang(lang)
            words = int(textstat.lexicon_count(text))
            if (rule or DEFAULTS[lang].readability) == "inflesz":
                return float(textstat.szigriszt_pazos(text)), words
            return float(textstat.flesch_kincaid_grade(text)), words
        finally:
            textstat.set_lang("en")


def sentence_lengths(text: str) -> tuple[float, float, bool]:
    """(average sentence length, average word length, spaced): in words and letters for a
    script written with spaces, in characters a sentence for one without (word length 0)."""
    sentences = [s for s in SENTENCE_END_RE.split(text) if s.strip()]
    words = re.findall(r"\w+", text)
    letters = sum(len(w) for w in words)
    spaced = len(UNSPACED_RE.findall(text)) * 2 < letters
    if not sentences:
        return 0.0, 0.0, spaced
    if not spaced:
        return len(re.sub(r"\s", "", text)) / len(sentences), 0.0, False
    return len(words) / len(sentences), letters / max(len(words), 1), True


@dataclass(frozen=True)
class Scale:
    """A readability formula's target and hard limit, and how ``check`` words a miss."""

    rule: str
    target: float
    limit: float
    sign: int  # +1: higher is harder (a grade level); -1: lower is harder (a reading-ease score)
    says: str
    limit_words: str
    fix: str


SCALES = {
    "flesch-kincaid": Scale(
        "readability.grade", FK_TARGET, FK_MAX, 1,
        "{label} reads at grade {value:.1f} (Flesch-Kincaid); the target is grade {target:.0f} or lower",
        "error above", "split long sentences and swap long words for short everyday ones"),
    "inflesz": Scale(
        "readability.inflesz", INFLESZ_TARGET, INFLESZ_MIN, -1,
        "{label} scores {value:.0f} on the Szigriszt-Pazos (INFLESZ) scale; the target is "
        "{target:.0f} or more", "error below", "use shorter sentences and shorter, everyday words"),
}


def reading_level(
    source: str, units: Iterable[tuple[str, int, str]], lang: str, rule: Readability, *, errors: bool = True
) -> list[Finding]:
    """The reading-level rule of ``lang`` over each (label, line, text) unit of a file: the
    one rule handouts and newsletters share. With ``errors``, a unit past the hard limit is an
    error (a handout); without, every finding is a warning (a newsletter)."""
    findings = []
    for label, line, text in units:
        normal = normalise_for_scoring(text)
        if rule == "sentence-length":
            sentence, word, spaced = sentence_lengths(normal)
            if sentence > (SENTENCE_WORDS_MAX if spaced else SENTENCE_CHARS_MAX) or word > WORD_LETTERS_MAX:
                unit = "words" if spaced else "characters"
                findings.append(Finding(
                    source, line, "readability.length", "warning",
                    f"{label} has {sentence:.0f} {unit} a sentence"
                    + (f" and {word:.1f} letters a word" if spaced else "") + " on average",
                    "split long sentences and swap long words for short everyday ones"))
            continue
        value, words = score(normal, lang, rule)
        if words < MIN_SCORED_WORDS:
            continue
        scale = SCALES[rule]
        if scale.sign * (value - scale.target) > 0:
            hard = errors and scale.sign * (value - scale.limit) > 0
            limit = f" ({scale.limit_words} {scale.limit:.0f})" if errors else ""
            message = scale.says.format(label=label, value=value, target=scale.target) + limit
            severity: Severity = "error" if hard else "warning"
            findings.append(Finding(source, line, scale.rule, severity, message, scale.fix))
    return findings
