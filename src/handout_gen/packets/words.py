"""The packet's words (``text:`` of ``content/packet.yaml``, one block per language) and the
placeholders each sentence may use.

Which words print each timed rule are here too (:data:`TIMED_WORDS`, :data:`LATE_WORDS`).
"""

from __future__ import annotations

import re
from typing import Any

from handout_gen.content.schema import Strict, Text, TextList
from handout_gen.packets.timing import RuleName

# Each timed instruction: its "when" line (the only words that change with the appointment)
# and what to do (the same for every patient, so laid out once per run); a late rule has
# the reason for its "Call us today" box instead.
TIMED_WORDS: dict[RuleName, tuple[str, str]] = {
    "fasting_fatty_food": ("after_time", "fast_fatty_food"),
    "fasting_light_meal": ("after_time", "fast_light_meal"),
    "fasting_clear_liquids": ("after_time", "fast_clear_liquids"),
    "anti_inflammatories": ("on_day", "anti_inflammatories_last_dose"),
    "anti_inflammatories_restart": ("from_day", "anti_inflammatories_restart"),
    "dye_allergy": ("by_day", "dye_allergy_call"),
    "diabetes_fasting": ("by_day", "diabetes_fasting_call"),
    "after_sedation": ("until_time", "after_sedation_rules"),
    "after_sedation_driving_limited": ("until_time", "after_sedation_rules_driving_limited"),
    "blood_thinner": ("on_day", "blood_thinner_last_dose_day"),
    "blood_thinner_restart": ("on_day", "blood_thinner_restart_day"),
    "blood_sugar": ("through_day", "blood_sugar_check"),
    "aftercare_until": ("through_day", ""),  # the procedure's own words (Timed.note)
    "numbness": ("after_time", "numbness_call"),
}
# A timed line's other words when the letter's list also holds a given line (the day to
# start again): "until the day below", not "until we say you may". text → (that line's
# rule, the words instead).
WITH_RESTART: dict[str, tuple[RuleName, str]] = {
    "anti_inflammatories_last_dose": ("anti_inflammatories_restart", "anti_inflammatories_last_dose_restart"),
}
LATE_WORDS: dict[RuleName, str] = {
    "fasting": "late_fasting",
    "anti_inflammatories": "late_anti_inflammatories",
    "dye_allergy": "late_dye_allergy",
    "diabetes_fasting": "late_diabetes_fasting",
    "blood_thinner": "late_blood_thinner",
}


class PacketWords(Strict):
    """Every sentence of the packet outside the handouts, in one language."""

    packet_title: Text
    draft: Text
    footer_call: Text
    page_of: Text
    packet_ref: Text
    letter_heading: Text
    dear: Text
    letter_intro: Text
    procedure_label: Text
    # The site a roster row names ("radiofrequency-ablation:cervical") in the patient's words,
    # after the procedure on the letter's line: "Radiofrequency Ablation (neck)", so patient and
    # nurse can see it is the right place. A site without a name is left off (check warns).
    site_names: dict[str, Text] = {}
    procedure_at_site: Text | None = None  # "%(procedure)s (%(site)s)"; none: no site is named
    visit_label: Text
    date_label: Text
    time_label: Text
    arrive_label: Text
    arrive_note: Text
    where_label: Text
    physician_label: Text
    phone_label: Text
    reference_label: Text
    map_caption: Text
    sign_off: Text
    times_heading: Text
    times_continued: Text | None = None  # atop a page the dates go on to (none: continued, or times_heading)
    after_time: Text
    after_midnight: Text
    after_night: Text | None = None  # none: after_time (packet.yaml files written before it)
    on_day: Text
    by_day: Text
    from_day: Text
    until_time: Text
    # The same lines when the clock shows an hour of the plural category "one" (CLDR): the
    # Spanish "la 1:00", not "las 1:00". Optional: a language without them needs none.
    after_time_one: Text | None = None
    after_night_one: Text | None = None
    # A sign to feel for that falls at night (rules.night_starts to night_ends): "When you
    # get up on %(day)s:" (none: printed at its clock time).
    on_waking: Text | None = None
    until_time_one: Text | None = None
    fast_fatty_food: Text
    fast_light_meal: Text
    fast_clear_liquids: Text
    anti_inflammatories_last_dose: Text  # "Then take none until we say you may"
    # The same when the letter also gives the day to start again (rules.anti_inflammatories
    # .restart_days_after): "until the day below", never "until we say" beside a day we gave.
    anti_inflammatories_last_dose_restart: Text | None = None
    anti_inflammatories_restart: Text
    dye_allergy_call: Text
    # rules.diabetes_fasting's call (none: packet.yaml written before it; load_kit asks for
    # both when the rule is set).
    diabetes_fasting_call: Text | None = None
    after_sedation_rules: Text
    # A procedure with prep.driving_limited: the same, driving left to the handout's longer
    # rule (none: packet.yaml written before it; load_kit asks for it when a procedure has it).
    after_sedation_rules_driving_limited: Text | None = None
    # After a steroid, with diabetes: "Through <day>:" (the last day, included) and what to do
    # until then (none: packet.yaml written before them; load_kit asks for both when
    # thresholds.blood_sugar_check_days is set and a procedure uses a steroid).
    through_day: Text | None = None
    blood_sugar_check: Text | None = None
    # Numbing medicine: what to do if a procedure's sign (%(sign)s, its numbness_sign) is still
    # there at the letter's time (none: the letter prints no time, and the handouts' "still
    # numb after N hours" stays).
    numbness_call: Text | None = None
    call_today: Text
    # Above text a packet prints in English for want of a translation (a handout, or its
    # lines on the closing pages): the reader is told, in their language, how to have it
    # read to them. None: no note (packet.yaml files written before it).
    in_english: Text | None = None
    # The letter's line under "Your procedure" when a handout of the packet is in English for
    # want of a translation: the reader learns on page 1 how to have it read (none: no line).
    in_english_handout: Text | None = None
    late_fasting: Text
    late_anti_inflammatories: Text
    late_dye_allergy: Text
    late_diabetes_fasting: Text | None = None
    late_blood_thinner: Text
    # Page 1's box when a rule is late: call today, the boxes below say which part (none:
    # packet.yaml files written before it; the late rules' own boxes still say it).
    late_notice: Text | None = None
    prep_heading: Text
    continued: Text | None = None  # "%(heading)s (continued)": atop a page a checklist goes on to
    prep_intro: Text
    prep_always: TextList
    sedation_heading: Text
    sedation_times: Text
    after_sedation: Text
    after_sedation_driving_limited: Text | None = None  # the checklist's, as above
    glp1_note: Text
    driver_sedation: Text
    driver_required: Text
    blood_thinner_heading: Text
    blood_thinner_warning: Text
    blood_thinner_name_label: Text
    blood_thinner_stop_label: Text
    blood_thinner_restart_label: Text
    blood_thinner_last_dose_label: Text
    blood_thinner_last_dose_day: Text
    # The day the clinician's restart words name, in the dated list (none: no such line).
    blood_thinner_restart_day: Text | None = None
    blood_thinner_call: Text
    # The checklist's item for a patient on one: follow the letter's plan (none: no item).
    blood_thinner_plan: Text | None = None
    diabetes_steroid: Text
    # The same, when the letter gives the last day to check (blood_sugar_check): points there.
    diabetes_steroid_dated: Text | None = None
    diabetes_fasting: Text  # fasting with diabetes: call us before the visit day (undated)
    diabetes_fasting_dated: Text | None = None  # the same, pointing at the letter's day (the rule set)
    dye_allergy: Text
    dye_question: Text
    anti_inflammatories: Text
    bring_heading: Text
    bring: TextList
    bring_driver: Text
    day_of_heading: Text
    day_of: TextList
    handouts_heading: Text
    aftercare_heading: Text
    call_heading: Text
    call_intro: Text
    after_hours: Text
    er_heading: Text
    contacts_heading: Text
    contact_main: Text
    contact_after_hours: Text
    contact_location: Text
    contact_website: Text
    disclaimer_heading: Text
    disclaimer: Text
    version_line: Text


# The words that are %-formatted, and the placeholders each may use (with a dummy value of
# the type the real one has). A typo such as %(nam)s must be a located problem at load
# time, not a KeyError in the middle of a run.
_PHONE = {"phone": "555-0100"}
_DAY = {"day": "Monday, December 7"}
_WHEN = {"time": "10:45 PM", **_DAY}
_HEADING = {"heading": "Dates and times to remember"}
_DRUG = {"name": "Apixaban"}  # the roster's blood_thinner_name
PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "footer_call": _PHONE,
    "page_of": {"page": 3, "pages": 11},
    "packet_ref": {"id": "8338e3e0b4ee148e", "date": "Dec 1, 2026"},
    "dear": {"name": "Alex Sample"},
    "arrive_note": {"minutes": 30},
    "sign_off": {"practice": "Practice"},
    "after_time": _WHEN,
    "after_midnight": _DAY,
    "after_night": {"time": "12:45 AM", "eve": "Sunday, November 29", **_DAY},
    "on_day": _DAY,
    "by_day": _DAY,
    "from_day": _DAY,
    "until_time": _WHEN,
    "through_day": _DAY,
    "blood_sugar_check": {**_PHONE, "after_hours": "555-0199"},  # a window over nights and weekends
    "numbness_call": {**_PHONE, "after_hours": "555-0199", "sign": "your legs are still numb or weak"},
    "diabetes_steroid_dated": _HEADING,
    "after_time_one": _WHEN,
    "after_night_one": {"time": "1:45 AM", "eve": "Sunday, November 29", **_DAY},
    "on_waking": _DAY,
    "until_time_one": _WHEN,
    "dye_allergy_call": _PHONE,
    "diabetes_fasting_call": _PHONE,
    "call_today": _PHONE,
    "in_english": _PHONE,
    "in_english_handout": _PHONE,
    "sedation_times": _HEADING,
    "after_sedation": _HEADING,
    "after_sedation_driving_limited": _HEADING,
    "anti_inflammatories": _HEADING,
    "blood_thinner_plan": _HEADING,
    "dye_allergy": _HEADING,
    "diabetes_fasting_dated": _HEADING,
    "blood_thinner_last_dose_day": {**_HEADING, **_DRUG, "words": "Take your last dose on Saturday."},
    "blood_thinner_restart_day": {**_HEADING, **_DRUG, "words": "Start again on Wednesday, December 2."},
    "call_intro": _PHONE,
    "after_hours": _PHONE,
    "version_line": {"version": "V1", "date": "11/24/2026"},
    "continued": {"heading": "Getting ready: your checklist"},
    "procedure_at_site": {"procedure": "Radiofrequency Ablation", "site": "neck"},
}
# Placeholders a sentence must use: a "when" line without its computed time or day would
# leave the patient to work it out, a "call us" without the number is no instruction.
REQUIRED: dict[str, tuple[str, ...]] = {
    "page_of": ("page", "pages"),
    "procedure_at_site": ("procedure", "site"),  # never the site without the procedure
    "packet_ref": ("id", "date"),
    "continued": ("heading",),  # never a bare "(continued)": which list goes on?
    "after_time": ("time", "day"),
    "after_midnight": ("day",),
    "after_night": ("time", "day"),
    "on_day": ("day",),
    "by_day": ("day",),
    "from_day": ("day",),
    "until_time": ("time", "day"),
    "through_day": ("day",),
    "blood_sugar_check": ("phone",),
    "numbness_call": ("sign", "phone"),  # the procedure's own words: which numbness
    "after_time_one": ("time", "day"),
    "after_night_one": ("time", "day"),
    "on_waking": ("day",),
    "until_time_one": ("time", "day"),
    "dye_allergy_call": ("phone",),
    "diabetes_fasting_call": ("phone",),
    "call_today": ("phone",),
    "in_english": ("phone",),
    "in_english_handout": ("phone",),
}
_NAMED_RE = re.compile(r"%\(([^)]*)\)")
_UNNAMED_RE = re.compile(r"%(?!\()")


def placeholder_problem(text: str, allowed: dict[str, Any], required: tuple[str, ...] = ()) -> str | None:
    """Why ``text % allowed`` would fail or misprint, or None when it formats cleanly."""
    names = ", ".join(allowed)
    found = _NAMED_RE.findall(text)
    for name in found:
        if name not in allowed:
            return f"unknown placeholder '{name}' (allowed: {names})"
    for name in required:
        if name not in found:
            return f"must use the placeholder %({name})s: the packet prints the computed {name} there"
    if _UNNAMED_RE.search(text.replace("%%", "")):
        return f"has a '%' that is not a placeholder; write %% for a percent sign (placeholders: {names})"
    try:
        text % allowed  # noqa: B018 - the test format itself is the check
    except (KeyError, ValueError, TypeError) as exc:
        example = f"%({next(iter(allowed))})s"
        return f"is not a valid format ({type(exc).__name__}); placeholders look like {example}"
    return None
