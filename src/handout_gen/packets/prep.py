"""The prep checklist: which preparation rules apply, from procedure prep flags and patient flags.

No patient data: a checklist depends only on the procedures and four yes/no flags, so the
prep pages are cached by what they print and shared by every patient they fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handout_gen.content.project import Project
from handout_gen.packets.kit import PacketWords
from handout_gen.packets.roster import PrepFlags


@dataclass
class PrepPlan:
    """The prep checklist of one patient: built from procedure prep flags + patient flags."""

    sedation: bool = False
    sedation_rules: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    driver: bool = False



def build_prep(slugs: tuple[str, ...], flags: PrepFlags, project: Project, words: PacketWords) -> PrepPlan:
    """Decide which prep items apply from procedure prep flags and patient flags.

    The blood-thinner instructions are not here: they are the clinician's own words for one
    patient, printed verbatim on the personal cover page (see
    :func:`handout_gen.packets.contexts.patient_context`).
    A patient NOT flagged as taking one, having a procedure with intermediate or high
    bleeding risk, gets only "call us if you take a blood thinner": the roster may simply
    not know, and a stop or restart default would be unsafe.
    """
    sedation, diabetes, dye_allergy, blood_thinner = (
        flags.sedation, flags.diabetes, flags.dye_allergy, flags.blood_thinner
    )
    preps = [project.procedures[s].meta.prep for s in slugs]
    plan = PrepPlan()
    plan.sedation = sedation and any(p.sedation_offered for p in preps)
    if plan.sedation:
        plan.sedation_rules = [*words.sedation_rules, words.glp1_note]
        plan.items.append(words.driver_sedation)
        plan.driver = True
    elif any(p.driver_required for p in preps):
        plan.items.append(words.driver_required)
        plan.driver = True
    if diabetes and any(p.steroid for p in preps):
        plan.items.append(words.diabetes_steroid)
    if diabetes and plan.sedation:
        plan.items.append(words.diabetes_fasting)
    if any(p.contrast_dye for p in preps):
        plan.items.append(words.dye_allergy if dye_allergy else words.dye_question)
    if any(p.avoid_anti_inflammatories for p in preps):
        plan.items.append(words.anti_inflammatories)
    if not blood_thinner and any(p.bleeding_risk in ("intermediate", "high") for p in preps):
        plan.items.append(words.blood_thinner_call)
    plan.items += words.prep_always
    return plan
