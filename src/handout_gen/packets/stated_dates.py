"""The days a clinician's own words name ("on the morning of Saturday, November 28"), so a
dated roster column can be compared with the sentence the letter prints beside it, and so
the letter prints each of them on one line.

Only unmistakable forms count: a month's name (in any language the practice keeps, full or
short) next to a day number, "11月28日", or an ISO date. A numeric date with a year
("12/5/2026", "5.12.2026") is refused: the patient reads it verbatim, and whether it is
5 December or 12 May depends on where they learned to read dates. So is a count of days
that names no day ("3 days before"): the patient would have to count back from the visit
(a last-dose column dates the stop for them). Bare fractions ("1/2 tablet") are no days.
"""

from __future__ import annotations

import contextlib
import functools
import re
from datetime import date

_CJK_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_ISO_DAY = re.compile(r"\b\d{4}-(\d{2})-(\d{2})\b")
_NUMERIC_DAY = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b")
# A count of hours or days a reader would have to work out ("3 days", "a few days", "dos
# semanas"), in words in English and Spanish (also check's instructions.relative-time rule).
COUNTS = {
    "en": r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|a few)",
    "es": r"(?:\d+|una?|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|varias|varios)",
}
# ... of hours or days before or after something, in a clinician's words ("3 days before",
# "72 hours before", "en dos días", "3天前", "بعد 3 أيام"); in digits, in any language. A
# length ("half a tablet for 3 days") or a rate ("once a day") is no day to work out.
_UNITS = r"(?:(?:full|whole|complete|completos?)\s+)?(?:hours?|days?|weeks?|horas?|d[ií]as?|semanas?)"
_COUNTED_DAYS = re.compile(
    rf"\b(?:{COUNTS['en']}|{COUNTS['es']})\s+{_UNITS}\s+(?:before|after|prior|antes|despu[eé]s)\b"
    rf"|\b(?:in|en)\s+(?:{COUNTS['en']}|{COUNTS['es']})\s+{_UNITS}\b"
    r"|\d{1,3}\s*(?:小时|天|周|星期)(?:以?[前后]|之[前后])"
    r"|(?:قبل|بعد)\s+\d{1,3}\s*(?:ساعات|ساعة|أيام|يوم|أسابيع|أسبوع)(?!\w)",
    re.IGNORECASE,
)
COUNTED = ("counts days (\"{example}\") and names no day, so the patient would have to count them: "
           "write the day itself (\"{day}\"){extra}")
_COUNTED_WORDS = {  # column → how its message says it
    "blood_thinner_stop": {"example": "3 days before", "day": "on the morning of Sunday, December 6",
                           "extra": ", or give the day of the last dose in blood_thinner_last_dose"},
    "blood_thinner_restart": {"example": "2 days after", "day": "on the morning of Thursday, December 10",
                              "extra": ""},
}


def _names(locales: tuple[str, ...], kind: str) -> tuple[str, dict[str, int]]:
    """Every full and short name of the months or the weekdays (``kind``: Babel's "months"
    or "days", whose 0 is Monday as in date.weekday()) in ``locales``, by number, and a
    pattern alternative that tries the longest first."""
    from babel import Locale  # only when a stop sentence is read: roster checks stay light

    names: dict[str, int] = {}
    for locale in locales:
        table = getattr(Locale.parse(locale), kind)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in table[context][width].items():
                    names[name.casefold().rstrip(".")] = number
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True)), names


@functools.lru_cache(maxsize=8)
def _month_names(locales: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """One pattern for "28 November", "November 28", "28 de noviembre" in ``locales``."""
    words, names = _names(locales, "months")
    day = r"(\d{1,2})"
    pattern = re.compile(rf"(?:\b{day}(?:\s+de)?\s+)?\b({words})\b\.?(?:\s+{day}\b)?", re.IGNORECASE)
    return pattern, names


def named_days(text: str, locales: tuple[str, ...]) -> set[tuple[int, int]]:
    """Every (month, day) ``text`` names, read with the month names of ``locales``."""
    pattern, names = _month_names(locales)
    found = set()
    for before, month, after in pattern.findall(text):
        day = before or after
        if day and 1 <= int(day) <= 31:
            found.add((names[month.casefold()], int(day)))
    for month, day in _CJK_DAY.findall(text) + _ISO_DAY.findall(text):
        found.add((int(month), int(day)))
    return found


@functools.lru_cache(maxsize=8)
def _weekday_dates(locales: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """A weekday's name before a date ("Saturday, November 28", "sábado 28 de noviembre")."""
    words, names = _names(locales, "days")
    dates, _ = _month_names(locales)
    return re.compile(rf"\b({words})\b\.?,?\s+(?:the\s+)?{dates.pattern}", re.IGNORECASE), names


def named_weekdays(text: str, locales: tuple[str, ...]) -> list[tuple[int, int, int]]:
    """(weekday, month, day) of each date ``text`` names with its weekday (0 is Monday)."""
    pattern, weekdays = _weekday_dates(locales)
    _, months = _month_names(locales)
    found = []
    for weekday, before, month, after in pattern.findall(text):
        day = before or after
        if day and 1 <= int(day) <= 31:
            found.append((weekdays[weekday.casefold()], months[month.casefold()], int(day)))
    return found


def unbroken_days(text: str, locales: tuple[str, ...]) -> str:
    """``text`` with each day it names held on one line ("December\u00a04", "4\u00a0de
    \u00a0diciembre"): a day number alone at the start of a line is easily missed."""
    pattern, _ = _month_names(locales)

    def bind(found: re.Match[str]) -> str:
        day = found.group(1) or found.group(3)  # a month's name alone is left as it is
        return re.sub(r"\s+", "\u00a0", found.group(0)) if day else found.group(0)

    return pattern.sub(bind, text)


def stated_day_problems(
    stop: str, restart: str, has_last_dose: bool, last_dose: date | None, visit: date, first: date,
    first_named: str, locales: tuple[str, ...],
) -> list[tuple[str, str]]:
    """(column, message) for the days the clinician's stop and restart words name, printed
    verbatim: a weekday that is not its date's; with a last-dose column, a stop day that is
    not its day (the letter prints both); without one, no stop day before the visit, or a
    last stop day before ``first``, the first day the patient has the packet
    (``first_named``: how a message says it)."""
    found = []
    for column, text in (("blood_thinner_stop", stop), ("blood_thinner_restart", restart)):
        if _NUMERIC_DAY.search(text):
            found.append((column, "writes a day in numbers (12/5/2026), which a patient may read as 12 May "
                          "or as 5 December: write it with the month's name (\"Saturday, December 5\")"))
            continue
        dated = has_last_dose and column == "blood_thinner_stop"  # the letter prints that day
        if not dated and counts_from_an_unnamed_day(text, visit, locales):
            found.append((column, COUNTED.format(**_COUNTED_WORDS[column])))
            continue
        for weekday, month, number in named_weekdays(text, locales) if text else ():
            day = _nearest(visit, month, number)
            if day is not None and day.weekday() != weekday:
                found.append((column, "names a weekday that is not its date's; check the day with the "
                              "clinician"))
                break
    restarts = _named_dates(restart, visit, locales) if restart else set()
    if restarts and max(restarts) < visit:  # "Start again on Monday, November 30" for a December visit
        found.append(("blood_thinner_restart", "names no day on or after the visit; the blood thinner "
                      "starts again after it: check the day with the clinician"))
    named = named_days(stop, locales) if stop else set()
    if has_last_dose:  # the column is the day; words that name another would print two last doses
        if last_dose is not None and named and (last_dose.month, last_dose.day) not in named:
            found.append(("blood_thinner_last_dose", "is not a day the blood_thinner_stop words name; the "
                          "letter prints both, so make them agree"))
        return found
    days = _named_dates(stop, visit, locales) if stop else set()
    stops = [d for d in days if d < visit]  # the words may name the visit's own day too
    if days and not stops:
        found.append(("blood_thinner_stop", "names no day before the visit; the last dose comes before it"))
    elif stops and max(stops) < first:
        found.append(("blood_thinner_stop", f"names a day before {first_named}, so the stop plan can no "
                      "longer be followed: ask the clinician for a new one, or give the day in "
                      "blood_thinner_last_dose and use --allow-late to print \"Call us today\""))
    return found


def _named_dates(text: str, visit: date, locales: tuple[str, ...]) -> set[date]:
    """The dates ``text`` names, each in the year nearest the visit."""
    named = (_nearest(visit, month, number) for month, number in named_days(text, locales))
    return {day for day in named if day is not None}


def counts_from_an_unnamed_day(text: str, visit: date, locales: tuple[str, ...]) -> bool:
    """``text`` counts hours or days ("2 days after") and names no day but the visit's own
    ("2 days after your procedure on Wednesday, December 9"): the patient would count."""
    return bool(_COUNTED_DAYS.search(text)) and not (_named_dates(text, visit, locales) - {visit})


def restart_day(text: str, visit: date, locales: tuple[str, ...]) -> date | None:
    """The one day on or after the visit the clinician's restart words name ("Start again on
    the morning of Wednesday, December 2"), for the letter's dated list; None when they name
    none ("at your follow-up visit"), several, or count from the visit ("2 days after your
    procedure on Wednesday, December 9" names the visit's day, not the restart's)."""
    if not text or _COUNTED_DAYS.search(text):
        return None
    days = {day for day in _named_dates(text, visit, locales) if day >= visit}
    return days.pop() if len(days) == 1 else None


def _nearest(visit: date, month: int, number: int) -> date | None:
    """The date of that month and day nearest the visit (a stop day may be in the year before)."""
    found = []
    for year in (visit.year - 1, visit.year, visit.year + 1):
        with contextlib.suppress(ValueError):  # November 31, or February 29 of another year
            found.append(date(year, month, number))
    return min(found, key=lambda candidate: abs((candidate - visit).days)) if found else None
