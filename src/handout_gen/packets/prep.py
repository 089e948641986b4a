"""The prep checklist: which preparation rules apply, from procedure prep flags and patient flags.

No patient data and no dates: a checklist depends only on the procedures and four yes/no
flags, so the prep pages are cached by what they print and shared by every patient they
fit. A rule with a time (fasting, the last dose of an anti-inflammatory, a call-by day) is
printed as a clock time and a day on the personal cover letter; its checklist item points
there (:mod:`handout_gen.packets.timing`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from handout_gen.content.project import Project
from handout_gen.packets.patient import PrepFlags
from handout_gen.packets.timing import Needs
from handout_gen.packets.words import PacketWords


@dataclass
class PrepPlan:
    """The prep checklist of one patient: built from procedure prep flags + patient flags."""

    sedation: bool = False
    sedation_rules: list[str] = field(default_factory=list)  # where the fasting times are, GLP-1
    items: list[str] = field(default_factory=list)
    driver: bool = False


def build_prep(
    slugs: tuple[str, ...],
    flags: PrepFlags,
    project: Project,
    words: PacketWords,
    dated: Collection[str] = (),
) -> PrepPlan:
    """Decide which prep items apply from procedure prep flags and patient flags.

    The blood-thinner instructions are not here: they are the clinician's own words for one
    patient, printed verbatim on the personal cover page (see
    :func:`handout_gen.packets.contexts.patient_context`); a patient on one gets an item that
    points there (``blood_thinner_plan``), so the list they tick holds that step too.
    A patient NOT flagged as taking one, having a procedure with intermediate or high
    bleeding risk (at the site the roster names, or the procedure's highest when it names
    none), gets only "call us if you take a blood thinner": the roster may simply not know,
    and a stop or restart default would be unsafe. ``dated``: the items that point at a day
    the letter prints (:meth:`Kit.dated <handout_gen.packets.kit.Kit.dated>`).
    """
    preps = [project.procedures[s].meta.prep for s in slugs]
    needs = Needs.of(preps, flags)
    letter = {"heading": words.times_heading}  # where the times are printed
    plan = PrepPlan()
    plan.sedation = needs.fasting
    if plan.sedation:
        limited = words.after_sedation_driving_limited  # load_kit makes sure it is there when needed
        after = limited if needs.driving_limited and limited else words.after_sedation
        plan.sedation_rules = [words.sedation_times % letter, after % letter, words.glp1_note]
        plan.items.append(words.driver_sedation)
        plan.driver = True
    elif any(p.driver_required for p in preps):
        plan.items.append(words.driver_required)
        plan.driver = True
    if needs.blood_sugar:  # the dated words are there when the letter names the day (load_kit)
        dated_sugar = words.diabetes_steroid_dated if "blood_sugar" in dated else None
        plan.items.append(dated_sugar % letter if dated_sugar else words.diabetes_steroid)
    if needs.diabetes_call:  # the dated words are there when the rule is (load_kit)
        dated_words = words.diabetes_fasting_dated if "diabetes_fasting" in dated else None
        plan.items.append(dated_words % letter if dated_words else words.diabetes_fasting)
    if needs.dye_call:
        plan.items.append(words.dye_allergy % letter)
    elif any(p.contrast_dye for p in preps):
        plan.items.append(words.dye_question)
    if needs.anti_inflammatories:
        plan.items.append(words.anti_inflammatories % letter)
    sites = flags.sites or ("",) * len(slugs)
    risky = any(p.risk_at(site) != "low" for p, site in zip(preps, sites, strict=True))
    if not flags.blood_thinner and risky:
        plan.items.append(words.blood_thinner_call)
    elif flags.blood_thinner and words.blood_thinner_plan:  # the step that matters most, ticked too
        plan.items.append(words.blood_thinner_plan % {"heading": words.blood_thinner_heading})
    plan.items += words.prep_always
    return plan
