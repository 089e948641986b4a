"""Static packet parts (no patient data): handouts, prep pages, closing pages, letter stationery.

Each part has a key made from everything it prints, so it is rendered once and kept in the
disk cache (``output/.handout-gen/packet-parts/``) for every later packet and run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from handout_gen.handouts import PacketPlace, Variant, handout_html, handout_key
from handout_gen.packets.contexts import back_context, cover_context, in_english_note, prep_context
from handout_gen.packets.kit import BACK, FRONT, Kit
from handout_gen.packets.patient import PrepFlags
from handout_gen.packets.prep import build_prep
from handout_gen.packets.stamps import glyph_alphabet
from handout_gen.packets.timing import Needs
from handout_gen.render.engine import Engine
from handout_gen.render.jinja import render
from handout_gen.render.pagefill import band
from handout_gen.render.pdf import weasyprint_warnings

log = logging.getLogger("handout_gen")


@dataclass(frozen=True)
class HandoutSpec:
    """A procedure handout as the packet's language and print size ask for it."""

    slug: str
    lang: str  # the edition used: the patient's language, or English when there is none
    large: bool
    place: PacketPlace


@dataclass(frozen=True)
class PrepSpec:
    """Prep checklist, what to bring and day-of pages for one set of procedures and flags."""

    slugs: tuple[str, ...]
    lang: str
    large: bool
    flags: PrepFlags
    sections: tuple[str, ...]


@dataclass(frozen=True)
class BackSpec:
    """Closing pages (aftercare, call us, contacts, disclaimer) for one clinic and print date."""

    slugs: tuple[str, ...]
    lang: str
    large: bool
    location: str
    today: str  # ISO date printed on the pages
    sections: tuple[str, ...]
    calls: tuple[str, ...]  # procedures whose "call us" and emergency lists are merged
    covered: tuple[str, ...] = ()  # packet topics the letter says (aftercare marked so gives way)


@dataclass(frozen=True)
class PageSpec:
    """The header-and-footer page cover letters are drawn on."""

    lang: str
    large: bool


@dataclass(frozen=True)
class GlyphSpec:
    """The pieces page stamps are drawn from (see :mod:`handout_gen.packets.stamps`)."""

    lang: str
    large: bool
    glyphs: tuple[str, ...]


PartKind = Literal["handout", "prep", "back", "page", "glyphs"]
Spec = HandoutSpec | PrepSpec | BackSpec | PageSpec | GlyphSpec


@dataclass(frozen=True)
class Static:
    """A cached PDF part with no patient data, and the key of everything it prints."""

    kind: PartKind
    key: str
    spec: Spec


def handout_part(
    kit: Kit, slug: str, lang: str, large: bool, slugs: tuple[str, ...], flags: PrepFlags
) -> Static:
    """A handout as a packet for ``slugs`` and a patient with ``flags`` prints it: no page
    numbers of its own; in a packet with its own "call us" or aftercare pages, no second
    emergency list or aftercare checklist; no general line the letter says for this patient."""
    procedure = kit.project.procedures[slug]
    variant = Variant(procedure.edition(lang).lang, large)  # missing edition → English
    packet_sections = kit.sections(slugs)
    aftercare_pages = "aftercare" in packet_sections
    # Keyed by what it prints: only the covered topics this edition marks change the handout.
    marked = procedure.edition(lang).packet_topics(aftercare=not aftercare_pages,
                                                   calls="call" not in packet_sections)
    reader = kit.packet_lang(lang)
    note = kit.words(lang).in_english if variant.lang != reader else None
    place = PacketPlace(has_call_section="call" in packet_sections,
                        has_aftercare_section=aftercare_pages,
                        covered=covered_topics(kit, slugs, flags, marked, lang),
                        reader_note=in_english_note(kit, note, reader),
                        reader_lang=reader if note else "")
    key = hashlib.sha256(f"{handout_key(kit.project, procedure, variant)}\0{place}".encode()).hexdigest()
    return Static("handout", key, HandoutSpec(slug, variant.lang, large, place))


def covered_topics(
    kit: Kit, slugs: tuple[str, ...], flags: PrepFlags, marked: Collection[str], lang: str
) -> tuple[str, ...]:
    """The packet topics (:data:`~handout_gen.content.packet_marks.PACKET_TOPICS`) the cover
    letter says for this patient (the clinician's blood-thinner plan, the eating and drinking
    times, the dye-allergy call-by day, the last day of anti-inflammatory medicine), of those
    a part's text is ``marked`` with: only they change what the part prints (and its key).
    "blood-sugar": the letter's last day to check it more often (when practice.yaml sets the
    days) replaces "for the next 3 days"; "dated-aftercare": the letter's last day of each
    dated aftercare step replaces "for 2 days" (the editions in ``lang``); "numbness": the
    letter's time replaces "still numb 12 hours after the treatment" (Kit.numbness_signs)."""
    if "cover" not in kit.sections(slugs):
        return ()
    preps = [kit.project.procedures[s].meta.prep for s in slugs]
    needs = Needs.of(preps, flags)
    topics = {
        "blood-thinner": flags.blood_thinner,
        "sedation": needs.fasting,
        "blood-sugar": needs.blood_sugar and "blood_sugar" in kit.dated(),
        "dated-aftercare": _letter_dates_aftercare(kit, slugs, lang),
        "numbness": bool(kit.numbness_signs(slugs, lang)),
        "dye-allergy": needs.dye_call,
        "anti-inflammatories": needs.anti_inflammatories,
    }
    return tuple(sorted(topic for topic, said in topics.items() if said and topic in marked))


def _letter_dates_aftercare(kit: Kit, slugs: tuple[str, ...], lang: str) -> bool:
    """Whether the letter prints, in its language, the dated aftercare of each procedure whose
    edition in ``lang`` marks lines it replaces (contexts.patient_context): never when the
    letter's edition has none to print (an edition translated before they were written)."""
    letter = kit.packet_lang(lang)
    for slug in slugs:
        procedure = kit.project.procedures[slug]
        if "dated-aftercare" in procedure.edition(lang).packet_topics():
            edition = procedure.editions.get(letter)
            if edition is None or not edition.meta.dated_aftercare:
                return False
    return True


def prep_part(kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, flags: PrepFlags) -> Static | None:
    """Prep checklist, what to bring, day of: no name on them, so cached by what they say.

    Laid out without header and footer: the letter press draws them on from the letter's
    last page (a short "What to bring" shares it), the way it stacks the letter's blocks."""
    sections = tuple(s for s in kit.sections(slugs) if s in FRONT[1:])
    if not sections:
        return None
    # Keyed by what the page says, not by the flags: many flag combinations print the same
    # checklist (a dye allergy matters only for procedures that use X-ray dye...).
    plan = build_prep(slugs, flags, kit.project, kit.words(lang), kit.dated())
    says = (lang, large, sections, plan.sedation, plan.sedation_rules, plan.items, plan.driver)
    key = hashlib.sha256(f"{kit.digest}\0prep-tail\0{says!r}".encode()).hexdigest()
    return Static("prep", key, PrepSpec(slugs, lang, large, flags, sections))


def back_part(
    kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, location: str, today: date, flags: PrepFlags
) -> Static | None:
    """Closing pages. Their "call us" section is the packet's one emergency list, drawn from
    every procedure the packet holds a handout of (the handouts leave theirs out); their
    aftercare leaves out what the letter says for a patient with these ``flags``."""
    sections = tuple(s for s in kit.sections(slugs) if s in BACK)
    if not sections:
        return None
    calls = tuple(kit.packet_handouts(slugs)) or slugs
    editions = [kit.project.procedures[s].edition(lang) for s in dict.fromkeys(slugs + calls)]
    marked = {t for e in editions for t in e.meta.aftercare_topics | e.meta.call_topics}
    covered = covered_topics(kit, slugs, flags, marked, lang)
    spec = BackSpec(slugs, lang, large, location, today.isoformat(), sections, calls, covered)
    says = (slugs, lang, large, location, spec.today, sections, calls, covered)
    digests = "".join(e.digest for e in editions)
    key = hashlib.sha256(f"{kit.digest}\0back\0{digests}\0{says!r}".encode()).hexdigest()
    return Static("back", key, spec)


def page_part(kit: Kit, lang: str, large: bool) -> Static:
    """The page cover letters are composed on (see :mod:`handout_gen.packets.letters`)."""
    key = hashlib.sha256(f"{kit.digest}\0page\0{lang}\0{large}".encode()).hexdigest()
    return Static("page", key, PageSpec(lang, large))


def glyph_part(kit: Kit, lang: str, large: bool) -> Static:
    """The glyph kit page stamps are drawn from, in the packet's language and print size."""
    words = kit.words(lang)
    glyphs = glyph_alphabet(words.page_of, words.packet_ref, lang)
    key = hashlib.sha256(f"{kit.digest}\0glyphs\0{lang}\0{large}\0{glyphs!r}".encode()).hexdigest()
    return Static("glyphs", key, GlyphSpec(lang, large, glyphs))


def part_html(kit: Kit, spec: Spec, engine: Engine) -> str:
    """The HTML of one static part."""
    project, env = kit.project, engine.env
    if isinstance(spec, PageSpec):
        return render(env, kit.recipe.template, **cover_context(kit, spec.lang, spec.large), mode="page")
    if isinstance(spec, GlyphSpec):
        context = cover_context(kit, spec.lang, spec.large)
        return render(env, "packet_glyphs.html.j2", **context, glyphs=spec.glyphs)
    if isinstance(spec, HandoutSpec):
        variant = Variant(spec.lang, spec.large)
        return handout_html(project, project.procedures[spec.slug], variant, env, spec.place)
    if isinstance(spec, PrepSpec):
        context = prep_context(kit, spec.slugs, spec.lang, spec.large, spec.flags, spec.sections)
        return render(env, kit.recipe.prep_template, **context, bare_pages=True)
    context = back_context(
        kit, spec.slugs, spec.lang, spec.large, spec.location, spec.today, spec.sections, spec.calls,
        spec.covered,
    )
    return render(env, kit.recipe.back_template, **context)


def render_static(kit: Kit, part: Static, engine: Engine) -> tuple[bytes, dict[str, Any]]:
    """Render a part → PDF bytes, as WeasyPrint wrote them (:meth:`PacketMaker.part
    <handout_gen.packets.packet.PacketMaker.part>` prepares them to be merged), and its
    anchors: the page each section starts on, the footer's stamp slot (CSS px: left, top,
    right, bottom), for a "page" part the top and bottom of its body area ("body-top",
    "body-bottom"), for a glyph kit each piece's page and box."""
    html = part_html(kit, part.spec, engine)

    # Tagged: assembly merges the parts' structure trees into the packet's (structure.py),
    # and the letter press carries the prep part's tags onto the letter pages (letters.py).
    # Letter stationery and stamp glyphs are only ever drawn as artifacts: no tags.
    tagged = part.kind not in ("page", "glyphs")

    pdf, folder = engine.pdf, kit.project.content_dir
    with weasyprint_warnings() as warnings:  # flowing parts are paged for a reader
        document = pdf.paged(html, folder) if tagged else pdf.document(html, folder, tagged=False)
        data = pdf.write(document, tagged=tagged)
    for message in warnings:
        log.warning("packet %s part: %s", part.kind, message)
    anchors: dict[str, Any] = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:  # a section that runs over pages starts on the first
            anchors.setdefault(name, index)
    first = document.pages[0].anchors
    if "stamp-slot" in first:  # the same on every page: the footer's text is
        anchors["stamp-slot"] = list(first["stamp-slot"])
    if part.kind == "page":
        _, anchors["body-top"], _, anchors["body-bottom"] = first["body-area"]
    if part.kind == "prep":  # where each page's text is, for the letter press to cut it out
        anchors["bands"] = [list(band(page)) for page in document.pages]
    if isinstance(part.spec, GlyphSpec):
        anchors["glyphs"] = {
            glyph: [index, *document.pages[index].anchors[f"glyph-{index}"]]
            for index, glyph in enumerate(part.spec.glyphs)
        }
    return bytes(data), anchors
