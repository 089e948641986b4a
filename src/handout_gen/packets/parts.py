"""Static packet parts (no patient data): handouts, prep pages, closing pages, letter stationery.

Each part has a key made from everything it prints, so it is rendered once and kept in the
disk cache (``output/.handout-gen/packet-parts/``) for every later packet and run.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from handout_gen.handouts import Variant, handout_html, handout_key
from handout_gen.packets.contexts import back_context, cover_context, prep_context
from handout_gen.packets.kit import BACK, FRONT, Kit
from handout_gen.packets.prep import build_prep
from handout_gen.packets.roster import PrepFlags
from handout_gen.packets.structure import artifact_orphans
from handout_gen.render.engine import Engine
from handout_gen.render.jinja import render
from handout_gen.render.pdf import weasyprint_warnings

log = logging.getLogger("handout_gen")


@dataclass(frozen=True)
class HandoutSpec:
    """A procedure handout as the packet's language and print size ask for it."""

    slug: str
    lang: str  # the edition used: the patient's language, or English when there is none
    large: bool


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


@dataclass(frozen=True)
class PageSpec:
    """The header-and-footer page cover letters are drawn on."""

    lang: str
    large: bool


PartKind = Literal["handout", "prep", "back", "page"]


@dataclass(frozen=True)
class Static:
    """A cached PDF part with no patient data, and the key of everything it prints."""

    kind: PartKind
    key: str
    spec: HandoutSpec | PrepSpec | BackSpec | PageSpec


def handout_part(kit: Kit, slug: str, lang: str, large: bool) -> Static:
    procedure = kit.project.procedures[slug]
    variant = Variant(procedure.edition(lang).lang, large)  # missing edition → English
    key = handout_key(kit.project, procedure, variant)
    return Static("handout", key, HandoutSpec(slug, variant.lang, large))


def prep_part(kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, flags: PrepFlags) -> Static | None:
    """Prep checklist, what to bring, day of: no name on them, so cached by what they say."""
    sections = tuple(s for s in kit.sections(slugs) if s in FRONT[1:])
    if not sections:
        return None
    # Keyed by what the page says, not by the flags: many flag combinations print the same
    # checklist (a dye allergy matters only for procedures that use X-ray dye...).
    plan = build_prep(slugs, flags, kit.project, kit.words(lang))
    says = (lang, large, sections, plan.sedation, plan.sedation_rules, plan.items, plan.driver)
    key = hashlib.sha256(f"{kit.digest}\0prep\0{says!r}".encode()).hexdigest()
    return Static("prep", key, PrepSpec(slugs, lang, large, flags, sections))


def back_part(
    kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, location: str, today: date
) -> Static | None:
    sections = tuple(s for s in kit.sections(slugs) if s in BACK)
    if not sections:
        return None
    editions = "".join(kit.project.procedures[s].edition(lang).digest for s in slugs)
    spec = BackSpec(slugs, lang, large, location, today.isoformat(), sections)
    says = (slugs, lang, large, location, spec.today, sections)  # the cache key's historic form
    key = hashlib.sha256(f"{kit.digest}\0back\0{editions}\0{says!r}".encode()).hexdigest()
    return Static("back", key, spec)


def page_part(kit: Kit, lang: str, large: bool) -> Static:
    """The page cover letters are composed on (see :mod:`handout_gen.packets.letters`)."""
    key = hashlib.sha256(f"{kit.digest}\0page\0{lang}\0{large}".encode()).hexdigest()
    return Static("page", key, PageSpec(lang, large))


def part_html(kit: Kit, spec: HandoutSpec | PrepSpec | BackSpec | PageSpec, engine: Engine) -> str:
    """The HTML of one static part."""
    project, env = kit.project, engine.env
    if isinstance(spec, PageSpec):
        return render(env, kit.recipe.template, **cover_context(kit, spec.lang, spec.large), mode="page")
    if isinstance(spec, HandoutSpec):
        variant = Variant(spec.lang, spec.large)
        return handout_html(project, project.procedures[spec.slug], variant, env)
    if isinstance(spec, PrepSpec):
        context = prep_context(kit, spec.slugs, spec.lang, spec.large, spec.flags, spec.sections)
        return render(env, kit.recipe.prep_template, **context)
    context = back_context(kit, spec.slugs, spec.lang, spec.large, spec.location, spec.today, spec.sections)
    return render(env, kit.recipe.back_template, **context)


def render_static(kit: Kit, part: Static, engine: Engine) -> tuple[bytes, dict[str, Any]]:
    """Render a part → PDF bytes and its anchors: the page each section starts on, and for
    a "page" part the top and bottom of its body area (CSS px, "body-top", "body-bottom")."""
    html = part_html(kit, part.spec, engine)
    # Tagged: assembly merges the parts' structure trees into the packet's (structure.py).
    with weasyprint_warnings() as warnings:
        document = engine.pdf.document(html, kit.project.content_dir)
        data = artifact_orphans(engine.pdf.write(document))
    for message in warnings:
        log.warning("packet %s part: %s", part.kind, message)
    anchors: dict[str, Any] = {
        name: index for index, page in enumerate(document.pages) for name in page.anchors
    }
    if part.kind == "page":
        _, anchors["body-top"], _, anchors["body-bottom"] = document.pages[0].anchors["body-area"]
    return bytes(data), anchors
