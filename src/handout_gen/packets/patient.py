"""One validated appointment as a packet uses it (:class:`PatientRow`), and the name-free
parts of it that a packet's cached pages depend on (:class:`PacketVariant`, :class:`PrepFlags`).

Rows are made only by :mod:`handout_gen.packets.roster`, which checks every cell first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from handout_gen.content.schema import Prep
from handout_gen.core.languages import ORIGINAL
from handout_gen.packets.timing import Needs, Visit

Day = date  # the type, where PatientRow's field ``date`` hides its name


@dataclass(frozen=True)
class PrepFlags:
    """The patient flags the (cached, name-free) prep pages depend on."""

    sedation: bool = False
    diabetes: bool = False
    dye_allergy: bool = False
    blood_thinner: bool = False
    # Site of each procedure ("cervical"; "" when the roster names none); the prep checklist
    # takes each procedure's bleeding risk at that site, or its highest.
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class PacketVariant:
    """What the name-free parts of a row's packet depend on: no name, no date, no free text.

    The validation pass collects these so every static part is rendered before any packet.
    """

    procedures: tuple[str, ...]
    language: str
    large_print: bool
    location: str
    flags: PrepFlags


@dataclass(frozen=True, repr=False)
class PatientRow:
    """One validated appointment. ``repr`` shows the row number only (no PHI in tracebacks)."""

    row: int
    first_name: str
    last_name: str
    procedures: tuple[str, ...]
    date: date
    time: time
    location: str
    physician: str
    # per procedure, "" for none (the roster's "slug:site"); the column it is read from:
    sites: tuple[str, ...] = field(default=(), metadata={"column": "procedures"})
    patient_id: str = ""
    language: str = ORIGINAL
    sedation: bool = False
    blood_thinner: bool = False
    blood_thinner_name: str = ""
    blood_thinner_stop: str = ""
    blood_thinner_restart: str = ""
    blood_thinner_last_dose: Day | None = None  # a date the clinician set; printed with its weekday
    # the one day the restart words name
    blood_thinner_restart_day: Day | None = field(default=None, metadata={"column": "blood_thinner_restart"})
    diabetes: bool = False
    dye_allergy: bool = False
    large_print: bool = False
    password: str = ""

    def __repr__(self) -> str:
        return f"PatientRow(row={self.row})"

    __str__ = __repr__

    @property
    def appointment(self) -> datetime:
        return datetime.combine(self.date, self.time)

    def visit(
        self, arrive_minutes: int, preps: Sequence[Prep], rest_hours: int = 0, sugar_days: int = 0
    ) -> Visit:
        """What this row's timed instructions are computed from (see :mod:`.timing`);
        ``rest_hours``: the practice's hours without driving after sedation, ``sugar_days``
        its days of checking blood sugar more often after a steroid (0: not printed)."""
        needs = Needs.of(preps, self)
        return Visit(self.appointment, arrive_minutes, needs, self.blood_thinner_last_dose,
                     self.blood_thinner_restart_day, rest_hours, sugar_days)

    @property
    def prep_flags(self) -> PrepFlags:
        return PrepFlags(self.sedation, self.diabetes, self.dye_allergy, self.blood_thinner, self.sites)

    @property
    def variant(self) -> PacketVariant:
        return PacketVariant(self.procedures, self.language, self.large_print, self.location, self.prep_flags)
