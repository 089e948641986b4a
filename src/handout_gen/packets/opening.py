"""When a clinic takes visits: its opening hours (practice.yaml ``locations:``) and the days
the whole practice is closed (``closed_dates:``).

A date typed wrong, or a time without AM or PM ("1:30" is 1:30 AM), would otherwise print a
believable packet, fasting times and all, for a clinic that is closed then. The messages
name the clinic's hours, never the row's date or time (a roster cell is never repeated).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from handout_gen.content.schema import WEEKDAYS, OpeningHours

ALLOW_CLOSED_HINT = "; check the row, or use --allow-closed if the clinic is open then"


def closed_problem(
    location: str,
    appointment: datetime,
    arrive_minutes: int,
    hours: Sequence[OpeningHours] | None,
    closed: Collection[date],
) -> tuple[str, str] | None:
    """(column, message) when the arrival or the appointment falls when the clinic is closed;
    ``hours`` None: the clinic's hours are one line of text, so only ``closed`` is checked."""
    day = appointment.date()
    if day in closed:
        return "date", "is one of the practice's closed_dates in practice.yaml" + ALLOW_CLOSED_HINT
    if not hours:
        return None
    weekday = WEEKDAYS[day.weekday()]
    spans = [h.times() for h in hours if weekday in h.days]
    if not spans:
        open_days = ", ".join(dict.fromkeys(d.title() for h in hours for d in h.days))
        why = f"is a day clinic '{location}' is closed (open on {open_days} in practice.yaml)"
        return "date", why + ALLOW_CLOSED_HINT
    arrival = appointment - timedelta(minutes=arrive_minutes)
    if any(arrival.date() == day and opens <= arrival.time() and appointment.time() < closes
           for opens, closes in spans):
        return None
    shown = ", ".join(f"{opens:%H:%M} to {closes:%H:%M}" for opens, closes in spans)
    return "time", (
        f"puts the arrival outside the hours of clinic '{location}' that day ({shown}); "
        "a time without AM or PM is read as 24-hour (1:30 is 1:30 AM)" + ALLOW_CLOSED_HINT
    )
