"""Template contexts of the packet's own pages: prep, closing pages, cover letter, one patient.

Only :func:`patient_context` holds patient data (and every instruction that depends on the
appointment's time); the others are shared by many packets and keyed by what they print
(:mod:`handout_gen.packets.parts`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any

from babel.support import NullTranslations
from markupsafe import Markup, escape

from handout_gen.content.schema import EditionMeta
from handout_gen.core.languages import ORIGINAL
from handout_gen.packets.kit import Kit
from handout_gen.packets.patient import PatientRow, PrepFlags
from handout_gen.packets.prep import build_prep
from handout_gen.packets.stated_dates import unbroken_days
from handout_gen.packets.timing import RuleName, Rules, Timed, schedule
from handout_gen.packets.words import LATE_WORDS, TIMED_WORDS, WITH_RESTART, PacketWords, placeholder_problem
from handout_gen.render.bidi import isolate, ltr_text
from handout_gen.render.catalogs import translations
from handout_gen.render.context import base_context, qr_png_uri
from handout_gen.render.jinja import hour_category


def prep_context(
    kit: Kit,
    slugs: tuple[str, ...],
    lang: str,
    large: bool,
    flags: PrepFlags,
    sections: tuple[str, ...],
) -> dict[str, Any]:
    words = kit.words(lang)
    plan = build_prep(slugs, flags, kit.project, words, kit.dated())
    context = base_context(kit.project, lang, large)
    context.update(_furniture(kit, words, context["dir"]))
    context.update(
        t=words,
        sections=sections,
        prep=plan,
        day_of=words.day_of,
        bring=list(words.bring) + ([words.bring_driver] if plan.driver else []),
    )
    return context


def back_context(
    kit: Kit,
    slugs: tuple[str, ...],
    lang: str,
    large: bool,
    location: str,
    today: str,
    sections: tuple[str, ...],
    calls: tuple[str, ...],
    covered: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Closing pages; ``calls``: the procedures whose "call us" and emergency lists are merged
    into the packet's one list (duplicates printed once); ``covered``: the packet topics
    whose marked aftercare items and signs to call about the letter says for this patient
    (left out)."""
    project = kit.project
    words = kit.words(lang)
    editions = [project.procedures[s].edition(lang) for s in slugs]
    call_editions = [project.procedures[s].edition(lang) for s in calls]
    directions, catalog = project.languages.direction, translations(lang, project.catalog_dir)
    context = base_context(project, lang, large)
    context.update(_furniture(kit, words, context["dir"]))

    def lines(read: Callable[[EditionMeta], list[str]]) -> list[dict[str, str]]:
        """The merged list ``read`` gives of every procedure called for, each line once, with
        the language it is in (English where a procedure has no translation yet)."""
        found = {line: e.lang for e in call_editions for line in read(e.meta)}
        return [{"text": line, "lang": its} for line, its in found.items()]

    aftercare: list[dict[str, Any]] = [  # a procedure whose every item the letter says has nothing left
        # the title as the letter names it: in English only, tagged so and glossed in the
        # reader's words when their catalog has them; English alone sets its heading's side
        {"title": _title(kit, slug, lang, lang), "items": items, "lang": e.lang,
         "dir": "" if e.lang == lang or _titled(catalog, e.meta.title) else directions(e.lang)}
        for slug, e in zip(slugs, editions, strict=True) if (items := e.meta.aftercare_in_packet(covered))
    ]
    call_us_if = lines(lambda meta: meta.call_us_if_in_packet(covered))
    go_to_er_if = lines(lambda meta: meta.go_to_er_if)
    foreign = {item["lang"] for item in [*aftercare, *call_us_if, *go_to_er_if]} - {lang}
    context.update(
        t=words,
        sections=sections,
        aftercare=aftercare,
        call_us_if=call_us_if,
        go_to_er_if=go_to_er_if,
        in_english=in_english_note(kit, words.in_english if foreign else None, lang),
        location=project.practice.location(location),
        printed=date.fromisoformat(today),
        packet=kit.text,
    )
    return context


def in_english_note(kit: Kit, note: str | None, lang: str) -> str:
    """The packet's note (its ``in_english`` words) above text it prints in English for a
    reader of ``lang``, with the practice's number; "" when there is none to print."""
    if not note:
        return ""
    return note % {"phone": ltr_text(kit.project.practice.phone, kit.project.languages.direction(lang))}


def _furniture(kit: Kit, words: PacketWords, direction: str) -> dict[str, Any]:
    practice = kit.project.practice
    return {
        "footer_left": words.footer_call % {"phone": ltr_text(practice.phone, direction)},
        "footer_center": kit.text.version,
        "draft": kit.text.status == "draft",
    }


def _line(
    item: Timed, words: PacketWords, timing: Rules, locale: str, rules: set[RuleName],
    said: dict[str, Markup],
) -> dict[str, Any]:
    """One timed instruction for the letter: when (a pattern for ``at``; ``eve``, the day
    before it; the words' "one" form when the printed hour asks for it) and what to do, or
    why to call today. ``rules``: every rule of the letter's list; ``said``: the clinician's
    own words a rule's line quotes (the blood thinner's stop and restart), by rule."""
    if item.late:
        return {"late": True, "when": "", "text": getattr(words, LATE_WORDS[item.rule]), "at": item.at}
    when, text = TIMED_WORDS[item.rule]
    if text in WITH_RESTART:
        restart, instead = WITH_RESTART[text]
        text = instead if restart in rules and getattr(words, instead) else text
    at = item.at
    if item.rule == "numbness" and words.on_waking and (waking := timing.on_waking(at)) is not None:
        when, at = "on_waking", waking  # a sign to feel for: at night, on getting up
    elif when == "after_time" and at.time() < timing.night_end and words.after_night:
        # "in the night from Monday to Tuesday": 12:45 AM is not read as noon, nor 12:00 AM on
        # Tuesday as Tuesday night; the night's times all read alike
        when = "after_night"
    elif when == "after_time" and at.time() == time(0):
        # without those words: midnight is the end of the day before
        when, at = "after_midnight", at - timedelta(days=1)
    pattern = getattr(words, when)
    if hasattr(words, f"{when}_one") and hour_category(at, locale) == "one":
        pattern = getattr(words, f"{when}_one") or pattern
    eve = at - timedelta(days=1)
    return {"late": False, "when": pattern, "text": item.note or getattr(words, text), "at": at, "eve": eve,
            "words": said.get(item.rule, ""), "name": said.get("name", ""), "sign": item.sign}


def patient_context(
    kit: Kit, row: PatientRow, lang: str, today: date, qr_cache: dict[str, str]
) -> dict[str, Any]:
    """What the letter template knows about one patient ("p"), its words being in ``lang``.

    ``times`` are the timed instructions, earliest first (the template formats their moments
    in the letter's language); a rule ``today`` is too late for is a "Call us today" line.
    """
    project = kit.project
    practice = project.practice
    location = practice.location(row.location)
    physician = practice.physician(row.physician)
    assert location is not None and physician is not None  # validated with the roster
    map_url = project.location_url(location, row.language)  # the clinic's page in their language
    if map_url not in qr_cache:
        qr_cache[map_url] = qr_png_uri(map_url, practice.colors.text)
    preps = [project.procedures[slug].meta.prep for slug in row.procedures]
    visit = replace(row.visit(location.arrive_minutes_early, preps, practice.thresholds.after_sedation_hours,
                              practice.thresholds.blood_sugar_check_days or 0),
                    aftercare=_dated_aftercare(kit, row.procedures, lang),
                    numbness=kit.numbness_signs(row.procedures, row.language, row.sites))
    timed = schedule(visit, kit.text.rules, today, practice.no_call_days)
    listed = {item.rule for item in timed}
    thinner = _blood_thinner(kit, row, lang, timed) if row.blood_thinner else None
    said = _quoted(thinner) if thinner else {}
    words = kit.words(lang)
    return {
        "name": project.languages.full_name(lang, row.first_name, row.last_name),
        "patient_id": row.patient_id,
        "procedures": [_at_site(words, _title(kit, slug, row.language, lang), site)
                       for slug, site in zip(row.procedures, row.sites or ("",) * len(row.procedures),
                                             strict=True)],
        "in_english": in_english_note(kit, words.in_english_handout, lang) if any(
            project.procedures[slug].edition(row.language).lang != lang for slug in row.procedures
        ) else "",
        # an overview only (a first talk and exam): "Your visit", not "Your procedure"
        "first_visit": all(project.procedures[s].meta.kind == "overview" for s in row.procedures),
        "appointment": row.appointment,
        "arrival": row.appointment - timedelta(minutes=location.arrive_minutes_early),
        "arrive_minutes": location.arrive_minutes_early,
        "location": location,
        "physician": physician,
        "map_qr": qr_cache[map_url],
        "map_url": map_url,
        "blood_thinner": thinner,
        "late": any(item.late for item in timed),  # page 1 says to call today (late_notice)
        # a blood thinner's last-dose day is a line too, unless it has passed (the box says so)
        "times": [_line(item, words, kit.text.rules, project.languages.locale(lang), listed, said)
                  for item in timed if not (item.rule == "blood_thinner" and item.late)
                  and (item.late or item.note or getattr(words, TIMED_WORDS[item.rule][1]))],  # optional
    }


def _dated_aftercare(kit: Kit, slugs: tuple[str, ...], lang: str) -> tuple[tuple[int, str], ...]:
    """Each procedure's dated aftercare steps, in the letter's language: from the edition in
    it (an edition translated before they were written has none, and so prints none, rather
    than English words in the reader's list). ``%`` is kept as text (the line is formatted)."""
    editions = (kit.project.procedures[slug].editions.get(lang) for slug in slugs)
    steps = ((step.days, step.text.replace("%", "%%"))
             for edition in editions if edition is not None for step in edition.meta.dated_aftercare)
    return tuple(dict.fromkeys(steps))  # two procedures' same step: one line


def _blood_thinner(kit: Kit, row: PatientRow, lang: str, timed: list[Timed]) -> dict[str, Any]:
    """The clinician's words, verbatim (a day they name on one line); never a default. A
    field in Latin letters in a packet of another script (Chinese, Arabic) is English, the
    practice's language: tagged so, under the note that says how to have it read. In a
    Latin-script language the script cannot tell, and the desk writes it in the patient's."""
    locales, words = kit.project.languages.locales, kit.words(lang)
    own = _scripts(kit.project.languages.native(lang))
    fields = {"name": row.blood_thinner_name, "stop": row.blood_thinner_stop,
              "restart": row.blood_thinner_restart}
    english = {key: "LATIN" not in own and "LATIN" in (found := _scripts(text)) and not found & own
               for key, text in fields.items()}
    return {
        "name": row.blood_thinner_name,
        "stop": unbroken_days(row.blood_thinner_stop, locales),
        "restart": unbroken_days(row.blood_thinner_restart, locales),
        "last_dose": row.blood_thinner_last_dose,
        "late": any(item.late for item in timed if item.rule == "blood_thinner"),
        "late_text": words.late_blood_thinner,
        "lang": {key: ORIGINAL for key, yes in english.items() if yes},  # field → its language
        "note": in_english_note(kit, words.in_english, lang) if any(english.values()) else "",
    }


def _quoted(thinner: dict[str, Any]) -> dict[str, Markup]:
    """The clinician's stop and restart words as the dated lines quote them (the patient acts
    on that list: "in the morning", "if there is no bleeding" must be there too), each
    tagged with its language as the box tags it."""
    def field(key: str, kind: str = "quote") -> Markup:
        lang, text = thinner["lang"].get(key), thinner[key]
        if not lang:
            return escape(text)
        inner = isolate(text) if kind == "quoted-name" else text
        return Markup('<span class="{}" lang="{}">{}</span>').format(kind, lang, inner)

    # A sentence of words runs as a block of its own in a right-to-left letter (base.css.j2);
    # the medicine's name stays in its line, between the brackets around it: an isolate,
    # unbroken ("(Warfarin)" split over three lines there, "(" alone at a line's end).
    return {"blood_thinner": field("stop"), "blood_thinner_restart": field("restart"),
            "name": field("name", "quoted-name")}


def _scripts(text: str) -> set[str]:
    """The scripts of the letters of ``text``, as Unicode names them ("LATIN", full-width
    letters too; "CJK", "ARABIC", "CYRILLIC"…)."""
    names = (unicodedata.name(c, "") for c in text if c.isalpha())
    return {"LATIN" if "LATIN" in name else name.split(" ", 1)[0] for name in names}


# How a letter joins a procedure's title in the reader's words and the English one of its
# handout; a catalog may say it its own way (Chinese brackets). A constant, not a literal in
# gettext(): it is a phrase of the catalogs that name titles, not of every catalog.
TITLE_GLOSS = "%(title)s (%(english)s)"


UNBROKEN_TITLE = 40  # characters: at 18 pt, well inside the 5.7 in measure (base.css.j2)


def _title(kit: Kit, slug: str, reader: str, lang: str) -> str:
    """A procedure's title in the reader's edition; one from another edition (English, for a
    procedure not translated) is marked as its language, which a screen reader then speaks,
    after the title in the reader's words when their catalog (``content/locale``) has it:
    "射频消融术（Radiofrequency Ablation）", the patient's name for it and the one on the
    English handout."""
    edition = kit.project.procedures[slug].edition(reader)
    if edition.lang == lang:
        return edition.meta.title
    direction = kit.project.languages.direction(edition.lang)
    # isolated (FSI … PDI): WeasyPrint's dir= sets no unicode-bidi, and an English "(PRP)" in an
    # Arabic sentence would otherwise mix with the words around it
    title = isolate(edition.meta.title)
    # Kept on one line when it fits one: wrapped in a line of the other direction, its words
    # and the brackets around it trade places ("(Plasma (PRP) Injection" under "Platelet-Rich)").
    whole = "unbroken" if len(edition.meta.title) <= UNBROKEN_TITLE else ""
    span = Markup('<span lang="{}" dir="{}" class="{}">{}</span>')
    marked = span.format(edition.lang, direction, whole, title)
    catalog = translations(lang, kit.project.catalog_dir)
    own = _titled(catalog, edition.meta.title)
    if not own:
        return marked
    pattern = catalog.gettext(TITLE_GLOSS)
    if placeholder_problem(pattern, {"title": "", "english": ""}, ("title", "english")):
        pattern = TITLE_GLOSS  # a translator's typo would print a Python dict or drop a title
    return escape(pattern) % {"title": own, "english": marked}


def _at_site(words: PacketWords, title: str, site: str) -> str:
    """A procedure's title with the site the roster names, in the reader's words ("Radiofrequency
    Ablation (neck)"); the title alone for no site, or a site the words do not name."""
    name = words.site_names.get(site) if site else None
    if not name or not words.procedure_at_site:
        return title
    return escape(words.procedure_at_site) % {"procedure": title, "site": name}


def _titled(catalog: NullTranslations, title: str) -> str:
    """The reader's words for a procedure's English title, from their catalog; "" if none."""
    own = catalog.gettext(title)
    return "" if own == title else own


def cover_context(kit: Kit, lang: str, large: bool) -> dict[str, Any]:
    """What every cover-letter render of one language and print size shares."""
    words = kit.words(lang)
    context = base_context(kit.project, lang, large)
    context.update(_furniture(kit, words, context["dir"]))
    context["t"] = words
    return context
