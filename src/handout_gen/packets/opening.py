"""When a clinic takes visits: its opening hours (practice.yaml ``locations:``), the days
the whole practice is closed (``closed_dates:``) and those it closes early (``short_days:``).

A date typed wrong, or a time without AM or PM ("1:30" is 1:30 AM), would otherwise print a
believable packet, fasting times and all, for a clinic that is closed then. The messages
name the clinic's hours, never the row's date or time (a roster cell is never repeated).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta

from handout_gen.content.schema import WEEKDAYS, OpeningHours

ALLOW_CLOSED_HINT = "; check it, or use --allow-closed if the clinic is open then"


def closed_problems(
    location: str,
    appointment: datetime,
    arrive_minutes: int,
    hours: Sequence[OpeningHours] | None,
    closed: Collection[date],
    said_am_pm: bool = False,
    closes_early: Mapping[date, time] | None = None,
) -> list[tuple[str, str]]:
    """(column, message) for each way the visit falls when its clinic is closed: on a closed
    date, on a day the clinic does not open, an arrival before it opens or a visit at or
    after it closes that day (cut short on a day the practice ``closes_early``). ``hours``
    None: the clinic's hours are one line of text, so only the closed and short days are
    checked. ``said_am_pm``: the time cell said AM or PM (no hint about 24-hour times then)."""
    day = appointment.date()
    early = (closes_early or {}).get(day)
    found = []
    if day in closed:
        found.append(("date", "is one of the practice's closed_dates in practice.yaml" + ALLOW_CLOSED_HINT))
    if not hours:
        if early is not None and appointment.time() >= early:
            found.append(("time", f"is after {early:%H:%M}, when the practice closes that day (short_days "
                                  "in practice.yaml)" + ALLOW_CLOSED_HINT))
        return found
    weekday = WEEKDAYS[day.weekday()]
    spans = [h.times() for h in hours if weekday in h.days]
    if early is not None and spans:  # the day's hours end when the practice closes
        spans = [(opens, min(closes, early)) for opens, closes in spans if opens < early]
        if not spans:
            why = (f"is a day the practice closes at {early:%H:%M}, before clinic '{location}' opens "
                   "(short_days in practice.yaml)")
            return [*found, ("date", why + ALLOW_CLOSED_HINT)]
    if not spans:
        open_days = ", ".join(dict.fromkeys(d.title() for h in hours for d in h.days))
        why = f"is a day clinic '{location}' is closed (open on {open_days} in practice.yaml)"
        return [*found, ("date", why + ALLOW_CLOSED_HINT)]
    arrival = appointment - timedelta(minutes=arrive_minutes)
    if any(arrival.date() == day and opens <= arrival.time() and appointment.time() < closes
           for opens, closes in spans):
        return found
    hours_shown = ", ".join(f"{opens:%H:%M} to {closes:%H:%M}" for opens, closes in spans)
    hours_shown += ", closing early: short_days in practice.yaml" if early is not None else ""
    arrives = f"puts the arrival ({arrive_minutes} minutes before the appointment: arrive_minutes_early)"
    if arrival.date() != day or arrival.time() < min(opens for opens, _ in spans):
        # in before the door opens: also what a PM time typed without PM looks like
        why = f"{arrives} before clinic '{location}' opens that day ({hours_shown})"
        if not said_am_pm:
            why += "; a time without AM or PM is read as 24-hour (1:30 is 1:30 AM)"
    elif appointment.time() >= max(closes for _, closes in spans):
        why = f"is at or after the time clinic '{location}' closes that day ({hours_shown})"
    else:  # between two of the day's sessions (closed for lunch)
        why = f"{arrives} outside the hours of clinic '{location}' that day ({hours_shown})"
    return [*found, ("time", why + ALLOW_CLOSED_HINT)]
