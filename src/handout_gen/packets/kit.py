"""The packet kit: the words and rules (``content/packet.yaml``) and the recipe (``handouts/packets.yaml``).

Everything a packet needs that is not patient data, loaded and validated once per run. The
words (:mod:`~handout_gen.packets.words`) and the numbers of the timed rules
(:mod:`~handout_gen.packets.timing`) are versioned clinical content (reviewed like a
procedure); the recipe says which sections each procedure's packet holds.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from handout_gen.content.languages import unknown_language
from handout_gen.content.lookup import keys, name_key, procedure_keys
from handout_gen.content.project import Project
from handout_gen.content.schema import Signoff, Slug, Strict
from handout_gen.content.values import practice_values, substitute
from handout_gen.content.yamlfile import KeyLines, load_model, parse_yaml
from handout_gen.core.errors import ConfigError, InputRefused, Problem, ValidationFailed, relpath
from handout_gen.core.files import read_input
from handout_gen.core.fonts import chain, missing_message
from handout_gen.core.languages import ORIGINAL
from handout_gen.packets.roster import Catalog
from handout_gen.packets.timing import Rules
from handout_gen.packets.words import (
    LATE_WORDS,
    PLACEHOLDERS,
    REQUIRED,
    TIMED_WORDS,
    PacketWords,
    placeholder_problem,
)

log = logging.getLogger("handout_gen")

SectionName = Literal[
    "cover", "prep", "bring", "day-of", "handouts", "aftercare", "call", "contacts", "disclaimer"
]
SECTION_ORDER: tuple[SectionName, ...] = (
    "cover",
    "prep",
    "bring",
    "day-of",
    "handouts",
    "aftercare",
    "call",
    "contacts",
    "disclaimer",
)
FRONT = ("cover", "prep", "bring", "day-of")
BACK = ("aftercare", "call", "contacts", "disclaimer")


class PacketText(Signoff):
    """``content/packet.yaml``: versioned, reviewed words; English is required."""

    rules: Rules
    text: dict[str, PacketWords]  # language code → its words (codes the project declares)

    @model_validator(mode="after")
    def _english_required(self) -> PacketText:
        if ORIGINAL not in self.text:
            msg = "needs an 'en' block (the fallback for every other language)"
            raise ValueError(msg)
        return self


class ProcedurePacket(Strict):
    sections: Annotated[list[SectionName], Field(min_length=1)] | None = None
    handouts: list[Slug] = Field(default_factory=list)


class PacketRecipe(Strict):
    """``handouts/packets.yaml``: sections in print order, per-procedure overrides."""

    template: str = "packet_cover.html.j2"
    prep_template: str = "packet_prep.html.j2"
    back_template: str = "packet_back.html.j2"
    sections: Annotated[list[SectionName], Field(min_length=1)] = Field(
        default_factory=lambda: list(SECTION_ORDER)
    )
    procedures: dict[Slug, ProcedurePacket] = Field(default_factory=dict)


@dataclass
class Kit:
    """Everything a packet needs that is not patient data, loaded and validated once."""

    project: Project
    recipe: PacketRecipe
    text: PacketText
    text_bytes: bytes

    def delivered_in(self, days: int | None) -> Kit:
        """This kit for packets the patients have ``days`` after printing (0: handed over or
        sent through the portal today), whatever ``delivery_days`` packet.yaml sets (None: as
        it sets). Nothing a static part prints depends on it: its cache keys stay the same."""
        if days is None:
            return self
        rules = self.text.rules.model_copy(update={"delivery_days": days})
        return replace(self, text=self.text.model_copy(update={"rules": rules}))

    def packet_lang(self, lang: str) -> str:
        """The language of the packet's own words: the patient's, or English when missing."""
        return lang if any(key == lang for key in self.text.text) else ORIGINAL

    def words(self, lang: str) -> PacketWords:
        """The packet's words in ``lang`` (English when the packet has no such language)."""
        return next(words for key, words in self.text.text.items() if key == self.packet_lang(lang))

    def dated(self) -> set[str]:
        """The checklist items that point at a day the letter prints ("by Tuesday, December 1:
        call us"): the "call us by" rules packet.yaml sets, and the last day to check blood
        sugar when practice.yaml sets how many days (the letter's line: timing.schedule)."""
        dated: set[str] = set(self.text.rules.calls())
        if self.project.practice.thresholds.blood_sugar_check_days:
            dated.add("blood_sugar")
        return dated

    def numbness_signs(
        self, slugs: tuple[str, ...], lang: str, sites: tuple[str, ...] = ()
    ) -> tuple[tuple[int, str], ...]:
        """(hours after the appointment, sign) of each sign the letter of a packet in ``lang``
        names a time for: the procedures whose list of signs to call about (their edition in
        ``lang``) marks one "{packet:numbness}", each sign in the letter's language (the
        edition's ``numbness_sign``, or its sign for the row's site in ``sites``), the hours
        practice.yaml's numbness_hours. None at all when the letter's language lacks the
        words or an edition the sign: the packet then keeps each procedure's own line."""
        letter = self.packet_lang(lang)
        if self.words(letter).numbness_call is None:
            return ()
        signs: list[str] = []
        for slug, site in zip(slugs, sites or ("",) * len(slugs), strict=True):
            procedure = self.project.procedures[slug]
            if "numbness" in procedure.edition(lang).meta.call_topics:
                edition = procedure.editions.get(letter)
                sign = edition.meta.numbness_sign_at(site) if edition is not None else None
                if sign is None:
                    return ()
                signs.append(sign)
        hours = self.project.practice.thresholds.numbness_hours
        return tuple((hours, sign) for sign in dict.fromkeys(signs))

    def sections(self, slugs: tuple[str, ...]) -> list[str]:
        """Every section any of the procedures asks for, in the recipe's print order."""
        wanted: set[str] = set()
        for slug in slugs:
            override = self.recipe.procedures.get(slug)
            wanted.update(override.sections if override and override.sections else self.recipe.sections)
        return [s for s in self.recipe.sections if s in wanted]

    def catalog(self, today: date, require_password: bool = False, allow_late: bool = False,
                allow_closed: bool = False) -> Catalog:
        """What roster rows may name, and the rules they are checked against on ``today``.

        A procedure whose packet recipe adds the handout of a procedure with problems in its
        files cannot be packed: its rows are errors. ``allow_late`` lets rows through that
        the print date is too late for (their packets print "Call us today"); ``allow_closed``
        rows whose arrival is outside the clinic's opening hours or on a closed date.
        """
        project, practice = self.project, self.project.practice
        blocked = frozenset(
            slug
            for slug, item in self.recipe.procedures.items()
            if any(h in project.broken for h in item.handouts)
        )
        return Catalog(
            procedures=project.procedures,
            locations=frozenset(loc.id for loc in practice.locations),
            physicians=frozenset(doc.id for doc in practice.physicians),
            today=today,
            rules=self.text.rules,
            arrive_minutes={loc.id: loc.arrive_minutes_early for loc in practice.locations},
            require_password=require_password,
            broken=frozenset(project.broken) | blocked,
            allow_late=allow_late,
            hours={loc.id: loc.hours for loc in practice.locations if not isinstance(loc.hours, str)},
            closed=frozenset(practice.closed_dates),
            closes_early={short.date: short.closing() for short in practice.short_days},
            no_call_days=practice.no_call_days,
            allow_closed=allow_closed,
            languages=project.languages,
            locales=project.languages.locales,
            location_keys=keys([(name, loc.id) for loc in practice.locations
                                for name in (loc.id, loc.name)]),
            # a family name alone ("Dr. Okafor") too, when no other physician has it
            physician_keys=keys([(name, doc.id) for doc in practice.physicians
                                 for name in (doc.id, doc.name, name_key(doc.name).split()[-1])]),
            procedure_keys=procedure_keys(project.procedures),
            packet_langs={code: self.packet_lang(code) for code in project.languages},
        )

    def packet_handouts(self, slugs: tuple[str, ...]) -> list[str]:
        """The handouts a packet of ``slugs`` holds: none when its recipe leaves them out."""
        return self.handout_slugs(slugs) if "handouts" in self.sections(slugs) else []

    def handout_slugs(self, slugs: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for slug in slugs:
            override = self.recipe.procedures.get(slug)
            for item in (slug, *(override.handouts if override else [])):
                if item not in out:
                    out.append(item)
        return out

    @cached_property
    def digest(self) -> str:
        """Hash of the non-patient inputs of closing pages (everything shared + the words)."""
        return hashlib.sha256(self.project.shared_digest.encode() + self.text_bytes).hexdigest()


def _known_languages(text: PacketText, project: Project, source: str, lines: dict[Any, int]) -> PacketText:
    """Leave out (with a warning naming file and line) words in a language the project does
    not declare: the other languages' packets are still made."""
    unknown = [lang for lang in text.text if lang not in project.languages]
    for lang in unknown:
        message = f"text.{lang}: {unknown_language(lang, project.languages)}; these words are left out"
        log.warning("%s", Problem(source, message, lines.get(("text", lang)), severity="warning"))
    if not unknown:
        return text
    return text.model_copy(update={"text": {k: v for k, v in text.text.items() if k not in unknown}})


DRIVING_LIMITED_WORDS = ("after_sedation_rules_driving_limited", "after_sedation_driving_limited")
DIABETES_CALL_WORDS = (
    TIMED_WORDS["diabetes_fasting"][1], LATE_WORDS["diabetes_fasting"], "diabetes_fasting_dated"
)
BLOOD_SUGAR_WORDS = (*TIMED_WORDS["blood_sugar"], "diabetes_steroid_dated")


def _needed_words_problems(
    text: PacketText, project: Project, source: str, lines: dict[Any, int]
) -> list[Problem]:
    """Optional words a packet needs after all: a procedure whose own no-driving rule outlasts
    sedation's needs the words that leave driving to it (the plain ones would tell its patients
    when they may drive); rules.diabetes_fasting needs the words of its call, and
    thresholds.blood_sugar_check_days with a procedure that uses a steroid the dated line of
    its last day."""
    needed: list[tuple[tuple[str, ...], str]] = []
    limited = sorted(slug for slug, p in project.procedures.items() if p.meta.prep.driving_limited)
    if limited:
        needed.append((DRIVING_LIMITED_WORDS, f"procedure '{limited[0]}' has prep.driving_limited"))
    if text.rules.diabetes_fasting is not None:
        needed.append((DIABETES_CALL_WORDS, "rules.diabetes_fasting is set"))
    dated = sorted(slug for slug, p in project.procedures.items()
                   if any(e.meta.dated_aftercare for e in p.editions.values()))
    if dated:
        needed.append((("through_day",), f"procedure '{dated[0]}' has dated_aftercare"))
    steroid = sorted(slug for slug, p in project.procedures.items() if p.meta.prep.steroid)
    if steroid and project.practice.thresholds.blood_sugar_check_days:
        needed.append((BLOOD_SUGAR_WORDS, f"thresholds.blood_sugar_check_days is set and procedure "
                                          f"'{steroid[0]}' uses a steroid"))
    return [
        Problem(source, f"is needed: {why}", lines.get(("text", lang)), f"text.{lang}.{key}")
        for keys, why in needed
        for lang, words in text.text.items()
        for key in keys
        if getattr(words, key) is None
    ]


def _glyph_problems(text: PacketText, project: Project, source: str, lines: dict[Any, int]) -> list[Problem]:
    """Words with a character no font of their language's chain draws (file:line, code point)."""
    problems = []
    for lang, words in text.text.items():
        families = project.languages.font_chain(lang)
        fonts = chain(families)
        for key, value in words.model_dump(exclude_none=True).items():
            if isinstance(value, dict):  # site_names: the names are printed, not the keys
                value = list(value.values())
            missing = fonts.missing("".join(value) if isinstance(value, list) else value)
            if missing:
                message = f"text.{lang}.{key} {missing_message(missing, families)}"
                problems.append(Problem(source, message, lines.get(("text", lang, key)), rule="pdf.glyphs"))
    return problems


def _overview_problems(
    project: Project, slug: str, item: ProcedurePacket, source: str, lines: dict[tuple[str | int, ...], int]
) -> list[Problem]:
    """An overview (``kind: overview``, a first consultation) added to a procedure's packet
    would tell a patient on procedure day that no shot is given at the first visit."""
    found = []
    for name in item.handouts:
        procedure = project.procedures.get(name)
        if procedure is not None and procedure.meta.kind == "overview" and name != slug:
            found.append(Problem(
                source,
                f"'{name}' is a first-consultation overview; a procedure-day packet must not add it "
                "(a roster row may name it as a procedure of its own)",
                lines.get(("procedures", slug, "handouts")),
                f"procedures.{slug}.handouts",
            ))
    return found




def _words_alone(path: Path, project: Project, values: dict[str, str]) -> dict[str, PacketWords]:
    """When packet.yaml as a whole does not validate (rules out of order, say), each language's
    words that do on their own: their problems are then reported in the same run, not after
    the first one is fixed."""
    try:  # read as load_model read it: a file it refused has said so already
        text = read_input(path, folder=path.parent, root=project.root).decode("utf-8-sig")
    except (InputRefused, UnicodeDecodeError):
        return {}
    filled, _ = substitute(text, values, "")
    data, _, _ = parse_yaml(filled, "")
    blocks = data.get("text") if isinstance(data, dict) else None
    found: dict[str, PacketWords] = {}
    for lang, block in blocks.items() if isinstance(blocks, dict) else ():
        if str(lang) not in project.languages:
            continue  # left out with a warning once the file loads (_known_languages)
        try:
            found[str(lang)] = PacketWords.model_validate(block)
        except ValidationError:
            continue  # its problems are in the whole file's
    return found


def load_kit(project: Project) -> Kit:
    """Read content/packet.yaml and handouts/packets.yaml; report every problem at once."""
    problems: list[Problem] = []
    text_path = project.content_dir / "packet.yaml"
    if not text_path.is_file():
        msg = f"{relpath(text_path, project.root)} is missing: packets need their words (copy it from the sample project)"  # noqa: E501
        raise ConfigError(msg)
    source = relpath(text_path, project.root)
    values = practice_values(project.practice)
    try:  # its bytes are the cache key of every packet part too: read once, for both
        raw = read_input(text_path, folder=text_path.parent, root=project.root)
    except InputRefused as refused:  # a link to a file elsewhere, an oversized file: never read
        raw, text, found = b"", None, [refused.problem]
        lines: KeyLines = {}
    else:
        text, lines, found = load_model(
            text_path, PacketText, project.root, lambda said, where: substitute(said, values, where), raw=raw
        )
    problems += found
    if text is not None:
        text = _known_languages(text, project, source, lines)
        problems += _glyph_problems(text, project, source, lines)
        problems += _needed_words_problems(text, project, source, lines)
    words = text.text if text is not None else _words_alone(text_path, project, values)
    for lang, said_in in words.items():
        for key, allowed in PLACEHOLDERS.items():
            said = getattr(said_in, key)
            why = said is not None and placeholder_problem(said, allowed, REQUIRED.get(key, ()))
            if why:
                line = lines.get(("text", lang, key))
                problems.append(Problem(source, why, line, f"text.{lang}.{key}"))
    recipe: PacketRecipe | None = PacketRecipe()
    recipe_path = project.handouts_dir / "packets.yaml"
    if recipe_path.is_file():
        source = relpath(recipe_path, project.root)
        recipe, lines, found = load_model(recipe_path, PacketRecipe, project.root)
        problems += found
        if recipe is not None:
            for slug, item in recipe.procedures.items():
                for name in (slug, *item.handouts):
                    if name not in project.procedures and name not in project.broken:
                        problems.append(Problem(source, f"unknown procedure '{name}'",
                                                lines.get(("procedures", slug)), f"procedures.{slug}",
                                                rule="references.unknown-slug"))
                problems += _overview_problems(project, slug, item, source, lines)
                if item.sections and "cover" not in item.sections:
                    at = ("procedures", slug, "sections")
                    problems.append(Problem(source, "must include 'cover'", lines.get(at), ".".join(at)))
    if problems or text is None or recipe is None:
        raise ValidationFailed(problems, "the packet setup")
    return Kit(project, recipe, text, raw)
