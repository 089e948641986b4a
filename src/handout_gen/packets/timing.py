"""Instructions that depend on time: the rules clinicians set, as clock times and dates.

The numbers (hours of fasting before arrival, days without anti-inflammatory medicine, how
long before the visit a patient must call about an X-ray dye allergy or, fasting, about
their diabetes medicines) are clinical content: they live in ``content/packet.yaml`` under
``rules:`` (:class:`Rules`), never in Python. This module turns them into moments for one
appointment (:func:`schedule`), so a patient reads "after 10:45 PM on Monday, December 7" and
never has to count back from an arrival time, and it says which of them the print date has
made impossible (:func:`late_problem`).

"Late" has the granularity of the print date (``--today``; a run knows no time of day): a
moment on an earlier day is late, as is every fasting time when the visit is on the print
date itself (the packet cannot reach the patient before they must stop eating). A late rule
is a row error unless ``--allow-late``, which prints "Call us today" in its place: a date in
the past is never printed as an instruction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, Protocol

from pydantic import Field, ValidationInfo, field_validator, model_validator

from handout_gen.content.schema import WEEKDAYS, Clock, Prep, Strict, Weekday
from handout_gen.core.errors import agree, plural

Hours = Annotated[int, Field(ge=1, le=24)]
Days = Annotated[int, Field(ge=1, le=90)]

# What a timed line instructs. A late rule prints one "Call us today" box under the name of
# the whole rule ("fasting"); the lines it replaces are named by their step.
RuleName = Literal[
    "fasting",
    "fasting_fatty_food",
    "fasting_light_meal",
    "fasting_clear_liquids",
    "anti_inflammatories",
    "anti_inflammatories_restart",
    "dye_allergy",
    "diabetes_fasting",
    "blood_thinner",
    "blood_thinner_restart",  # the day the clinician's restart words name (never late: after the visit)
    "after_sedation",
    "after_sedation_driving_limited",  # the same time; driving is the handout's longer rule
    "blood_sugar",  # with diabetes, after a steroid: the last day to check it more often
    "aftercare_until",  # a procedure's dated aftercare step: its last day (its words: Timed.note)
    "numbness",  # numbness or weakness that lasts past this time: call us (never late: after the visit)
]
LATE_HINT = '; call the patient, or use --allow-late to print "Call us today" in its place'
# What the desk is told a late rule was, for the rows --allow-late makes (row numbers, no names).
LATE_NAMES: dict[str, str] = {
    "arrival": "the visit itself (posted, it arrives on or after the visit day)",
    "fasting": "the eating and drinking times",
    "anti_inflammatories": "the anti-inflammatory stop",
    "dye_allergy": "the X-ray dye allergy call",
    "diabetes_fasting": "the diabetes medicine call",
    "blood_thinner": "the blood thinner's last dose",
}


class FastingRules(Strict):
    """Sedation: how many hours before the *arrival* time the patient stops each kind of food."""

    fatty_food_hours: Hours
    light_meal_hours: Hours
    clear_liquids_hours: Hours

    @model_validator(mode="after")
    def _in_order(self) -> FastingRules:
        if not self.fatty_food_hours >= self.light_meal_hours >= self.clear_liquids_hours:
            msg = "must count down: fatty_food_hours >= light_meal_hours >= clear_liquids_hours"
            raise ValueError(msg)
        return self


class AntiInflammatoryRules(Strict):
    """Procedures with ``prep.avoid_anti_inflammatories``: days with no dose before the visit."""

    days_without: Days
    restart_days_after: Days | None = None  # none: the packet prints no restart day


class CallRules(Strict):
    """A call the patient makes by this many days before the visit (on a phone day)."""

    call_days_before: Days


class AfterSedationRules(Strict):
    """Sedation: the no-driving, no-alcohol, no-decisions time ends ``after_sedation_hours``
    (practice.yaml ``thresholds:``, which the handouts print too) after the patient goes home,
    counted as this many hours after the appointment time."""

    visit_hours: Annotated[int, Field(ge=0, le=12)]


class Rules(Strict):
    """``rules:`` of ``content/packet.yaml``: every number a time-dependent instruction uses."""

    fasting: FastingRules
    after_sedation: AfterSedationRules
    anti_inflammatories: AntiInflammatoryRules
    dye_allergy: CallRules  # a patient allergic to X-ray dye, for a procedure that may use it
    # A patient with diabetes who fasts for sedation, to be told how to take their diabetes
    # medicines (some stop days before). None (packet.yaml written before it): the checklist
    # asks for the call "before the day of your visit", with no day in the letter.
    diabetes_fasting: CallRules | None = None
    # Days someone answers the phone: a call-by day that falls on another day moves earlier.
    phone_days: Annotated[list[Weekday], Field(min_length=1)]
    # A time after midnight and before this names the night it falls in ("in the night from
    # Wednesday to Thursday"): "12:45 AM on Thursday" is read as Thursday lunchtime or night.
    # The default is for packet.yaml files written before it existed.
    night_ends: Clock = "06:00"
    # A sign to look for (numbness still there) that falls from this time until night_ends
    # is printed for when the patient gets up ("When you get up on Thursday"): nobody should
    # set an alarm to feel whether a leg is still numb. None: at its clock time (packet.yaml
    # files written before it).
    night_starts: Clock | None = None
    # Days from printing until the patient has the packet (by hand or the portal: 0; by
    # post: a few): an instruction for a day before then is late, as one before the print
    # date is. The default is for packet.yaml files written before it existed.
    delivery_days: Annotated[int, Field(ge=0, le=14)] = 0

    def calls(self) -> dict[RuleName, CallRules]:
        """The "call us by" rules that are set, by the name of their line."""
        found: dict[RuleName, CallRules | None] = {
            "dye_allergy": self.dye_allergy, "diabetes_fasting": self.diabetes_fasting}
        return {name: call for name, call in found.items() if call is not None}

    @property
    def lead_days(self) -> int:
        """Days ahead of the print date by which every rule of a visit is in time: the longest
        lead (the day before an anti-inflammatory hold, or a call-by day with a week more, for
        a day moved back over days without phones), then the days until the patient has it."""
        calls = [call.call_days_before + len(WEEKDAYS) for call in self.calls().values()]
        return max(self.anti_inflammatories.days_without + 1, *calls) + self.delivery_days

    @field_validator("night_starts")
    @classmethod
    def _after_night_ends(cls, value: str | None, info: ValidationInfo) -> str | None:
        # reported at night_starts' own line; night_ends, above it, is validated first
        ends = info.data.get("night_ends")
        if value is not None and ends is not None and value <= ends:  # "HH:MM" sorts as time does
            raise ValueError(f"must be later in the day than night_ends ({ends})")
        return value

    @property
    def night_end(self) -> time:
        return time.fromisoformat(self.night_ends)

    def on_waking(self, at: datetime) -> datetime | None:
        """When the patient gets up after a night ``at`` falls in (night_starts to
        night_ends); None when ``at`` is not at night or no night_starts is set."""
        if self.night_starts is None:
            return None
        evening = at.time() >= time.fromisoformat(self.night_starts)
        if not evening and at.time() >= self.night_end:
            return None
        return datetime.combine(at.date() + timedelta(days=evening), self.night_end)

    def reaches(self, today: date) -> date:
        """The first day the patient can act on a packet printed ``today``."""
        return today + timedelta(days=self.delivery_days)

    @property
    def first_day(self) -> str:
        """That day, as a message names it."""
        if not self.delivery_days:
            return "the print date"
        return (f"the day the packet reaches the patient ({plural(self.delivery_days, 'day')} after "
                "printing: delivery_days in packet.yaml, or --delivery-days)")


class PatientFlags(Protocol):
    """The flags of a patient the timed rules depend on (a roster row, or its prep flags)."""

    @property
    def sedation(self) -> bool: ...
    @property
    def dye_allergy(self) -> bool: ...
    @property
    def diabetes(self) -> bool: ...


@dataclass(frozen=True)
class Needs:
    """Which timed rules apply to one appointment, from its procedures and the patient's flags."""

    fasting: bool = False
    anti_inflammatories: bool = False
    dye_call: bool = False
    diabetes_call: bool = False  # fasting, with diabetes (a day only when the rule is set)
    driving_limited: bool = False  # a procedure's own no-driving rule outlasts sedation's
    visit_hours: int = 0  # the longest stay a procedure's prep sets (0: the packet rules')
    blood_sugar: bool = False  # diabetes, and a procedure with a steroid

    @classmethod
    def of(cls, preps: Sequence[Prep], flags: PatientFlags) -> Needs:
        fasting = flags.sedation and any(p.sedation_offered for p in preps)
        return cls(
            fasting=fasting,
            anti_inflammatories=any(p.avoid_anti_inflammatories for p in preps),
            dye_call=flags.dye_allergy and any(p.contrast_dye for p in preps),
            diabetes_call=flags.diabetes and fasting,
            driving_limited=any(p.driving_limited for p in preps),
            visit_hours=max((p.visit_hours or 0 for p in preps), default=0),
            blood_sugar=flags.diabetes and any(p.steroid for p in preps),
        )


@dataclass(frozen=True)
class Visit:
    """What the moments are computed from: no name, nothing but times and the rules that apply."""

    appointment: datetime
    arrive_minutes: int
    needs: Needs
    blood_thinner_last_dose: date | None = None
    blood_thinner_restart: date | None = None
    rest_hours: int = 0  # after sedation: no driving, alcohol or decisions (0: not printed)
    sugar_days: int = 0  # after a steroid, with diabetes: days to check blood sugar more often (0: none)
    aftercare: tuple[tuple[int, str], ...] = ()  # the procedures' dated aftercare: (days, words)
    # Numbing medicine: numbness or weakness still there this many hours after the appointment
    # time is a sign to call about (practice.yaml thresholds.numbness_hours), each sign in its
    # procedure's words ("your legs are still numb or weak"): (hours, sign). Counted from the
    # appointment, not from going home: the treatment starts at it or later, so the patient
    # calls no later than the hours the handout gives.
    numbness: tuple[tuple[int, str], ...] = ()

    @property
    def arrival(self) -> datetime:
        return self.appointment - timedelta(minutes=self.arrive_minutes)


@dataclass(frozen=True)
class Timed:
    """One instruction's moment (a day's rule: midnight of that day), and whether it is late."""

    rule: RuleName
    at: datetime
    late: bool = False
    note: str = ""  # the content's own words, for a rule that has no packet words of its own
    all_day: bool = False  # it lasts its day ("through Wednesday"): listed after that day's others
    sign: str = ""  # numbness: the sign in its procedure's words, which the packet's words name
    # Its line names a day, not a time ("On Thursday:"): ``at`` is that day's midnight (or, on
    # the visit's own day, the appointment).
    day: bool = False

    def listed_at(self, night_end: time) -> datetime:
        """Where it goes in a list read by date: its moment, or the end of a day it lasts (the
        morning restart and "until 12:15 PM" that day come first, not hidden below it), or,
        for a day's line ("On Thursday:"), the end of the night before (``night_end``): a
        reader counts "in the night from Wednesday to Thursday" as Wednesday's."""
        if self.all_day:
            return self.at + timedelta(days=1, microseconds=-1)
        if self.day and self.at.time() == time(0):
            return self.at + timedelta(hours=night_end.hour, minutes=night_end.minute)
        return self.at


def _day(value: date) -> datetime:
    return datetime.combine(value, time())


def call_by(
    visit_day: date, call: CallRules, phone_days: Collection[str], closed: Collection[date] = ()
) -> date:
    """The day a patient must make ``call`` by: N days before, on one of the ``phone_days``
    that is not one of the practice's ``closed`` dates (practice.yaml ``closed_dates``)."""
    day = visit_day - timedelta(days=call.call_days_before)
    for _ in range(len(WEEKDAYS) + len(closed)):
        if WEEKDAYS[day.weekday()] in phone_days and day not in closed:
            break
        day -= timedelta(days=1)
    return day


def _fasting(visit: Visit, rules: Rules, today: date) -> list[Timed]:
    hours = rules.fasting
    steps: list[tuple[RuleName, int]] = [
        ("fasting_fatty_food", hours.fatty_food_hours),
        ("fasting_light_meal", hours.light_meal_hours),
        ("fasting_clear_liquids", hours.clear_liquids_hours),
    ]
    moments = [Timed(rule, visit.arrival - timedelta(hours=h)) for rule, h in steps]
    reached = rules.reaches(today)
    if moments[0].at.date() < reached or visit.appointment.date() <= reached:
        return [Timed("fasting", moments[0].at, late=True)]
    return moments


def schedule(visit: Visit, rules: Rules, today: date, closed: Collection[date] = ()) -> list[Timed]:
    """Every timed instruction of one visit, earliest first (one that lasts a day at its end),
    each marked late or not; ``closed``: the practice's closed dates (a call-by day never
    falls on one)."""
    day, reached = visit.appointment.date(), rules.reaches(today)
    found: list[Timed] = []
    if visit.needs.fasting:
        found += _fasting(visit, rules, today)
        if visit.rest_hours:  # never late: it is after the visit
            stay = max(rules.after_sedation.visit_hours, visit.needs.visit_hours)
            hours = stay + visit.rest_hours
            limited = visit.needs.driving_limited
            rule: RuleName = "after_sedation_driving_limited" if limited else "after_sedation"
            found.append(Timed(rule, visit.appointment + timedelta(hours=hours)))
    if visit.needs.blood_sugar and visit.sugar_days:  # "for 3 days" as the day it ends
        found.append(Timed("blood_sugar", _day(day + timedelta(days=visit.sugar_days)), all_day=True))
    for hours, sign in visit.numbness:  # "still numb 12 hours after the treatment" as a clock time
        found.append(Timed("numbness", visit.appointment + timedelta(hours=hours), sign=sign))
    for days, words in visit.aftercare:  # "no tub for 2 days" as the day it ends
        found.append(Timed("aftercare_until", _day(day + timedelta(days=days)), note=words, all_day=True))
    if visit.needs.anti_inflammatories:
        hold = rules.anti_inflammatories
        last = day - timedelta(days=hold.days_without + 1)
        found.append(Timed("anti_inflammatories", _day(last), late=last < reached, day=True))
        if hold.restart_days_after:
            restart = day + timedelta(days=hold.restart_days_after)
            found.append(Timed("anti_inflammatories_restart", _day(restart), day=True))
    needed = {"dye_allergy": visit.needs.dye_call, "diabetes_fasting": visit.needs.diabetes_call}
    for name, call in rules.calls().items():
        if needed[name]:
            due = call_by(day, call, rules.phone_days, closed)
            found.append(Timed(name, _day(due), late=due < reached, day=True))
    if visit.blood_thinner_last_dose is not None:
        last = visit.blood_thinner_last_dose
        found.append(Timed("blood_thinner", _day(last), late=last < reached, day=True))
    if visit.blood_thinner_restart is not None:  # on the visit's own day: after the visit's lines
        again = max(_day(visit.blood_thinner_restart), visit.appointment)
        found.append(Timed("blood_thinner_restart", again, day=True))
    return sorted(found, key=lambda item: item.listed_at(rules.night_end))


def late_problem(item: Timed, visit: Visit, rules: Rules, today: date) -> tuple[str, str]:
    """(column, message) for a late rule: which rule, why, and what to do; never a cell value."""
    left = (visit.appointment.date() - rules.reaches(today)).days
    first = rules.first_day
    if item.rule == "fasting":
        hours = plural(rules.fasting.fatty_food_hours, "hour")
        start = f"the eating and drinking rules start {hours} before arrival"
        when = f", before {first}" if left > 0 else f" and the visit is on {first}"
        return "date", start + when + LATE_HINT
    if item.rule == "anti_inflammatories":
        need = rules.anti_inflammatories.days_without
        full = max(left - 1, 0)  # whole days between the patient having the packet and the visit
        remain = "no day is" if full == 0 else f"only {plural(full, 'day')} {agree(full, 'is', 'are')}"
        counted = "" if not rules.delivery_days else f", counted from {first}"
        return "date", (
            f"the anti-inflammatory hold needs {plural(need, 'day')} without the medicine before the "
            f"visit and {remain} left{counted}{LATE_HINT}"
        )
    call = rules.calls().get(item.rule)
    if call is not None:
        days = plural(call.call_days_before, "day")
        return "date", (
            f"{LATE_NAMES[item.rule]} is due {days} before the visit (or the last phone day before), "
            f"and that day is before {first}{LATE_HINT}"
        )
    return "blood_thinner_last_dose", (
        f"is before {first}, so the stop plan can no longer be followed (ask the clinician "
        f"for a new one){LATE_HINT}"
    )
