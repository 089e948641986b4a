"""Roster input: CSV (UTF-8, with or without BOM) or JSON → validated rows
(:class:`~handout_gen.packets.patient.PatientRow`).

A roster holds protected health information, so three rules shape this module:

* **Minimum necessary.** Only the columns a packet needs are accepted; any other column
  (date of birth, MRN, diagnosis…) is refused, so it never travels further.
* **Validate everything first.** Every bad cell is reported (row and column) before a single
  packet is written; :mod:`handout_gen.packets.roster_check` streams the file and keeps only
  the problems.
* **Never repeat a cell.** Messages say which cell is wrong and why in general terms, never
  what it contains (a "did you mean" names a procedure or language the practice keeps, as the
  list of known ones does); :class:`~handout_gen.packets.patient.PatientRow` hides its fields
  from ``repr`` so a traceback or a log line cannot print a name either.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first patient row 2.
In a JSON roster (a list of objects, or ``{"patients": [...]}``) the first object is row 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from handout_gen.content.lookup import likely_procedure, name_key, procedure_key
from handout_gen.content.schema import OpeningHours
from handout_gen.core.errors import Problem, RosterError, plural
from handout_gen.core.fonts import chain
from handout_gen.core.languages import Languages
from handout_gen.packets.encodings import garbled_name
from handout_gen.packets.opening import closed_problems
from handout_gen.packets.patient import Day, PatientRow
from handout_gen.packets.roster_files import (
    COLUMNS,
    TIME_FORMS,
    TIME_RE,
    parse_date,
    parse_time,
    slash_date_problem,
    unread_date,
)
from handout_gen.packets.stated_dates import restart_day, stated_day_problems
from handout_gen.packets.timing import LATE_NAMES, Rules, Visit, late_problem, schedule

FLAGS = ("sedation", "blood_thinner", "diabetes", "dye_allergy", "large_print")
TRUE = {"yes", "y", "true", "1", "x"}
FALSE = {"no", "n", "false", "0", ""}
MAX_NAME = 80
MAX_INSTRUCTION = 400
MAX_AHEAD_DAYS = 2 * 366
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 127  # AES-256 PDF passwords (ISO 32000-2 7.6.4.3.3)
MAX_REFERENCE = 40  # patient_id: an opaque reference, printed on one line of the letter
MAX_MEDICINE_NAME = 60
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Printed as running text: a line break or a bidi override/isolate/mark could reorder or hide
# words of the letter (e.g. make a stop date read backwards), so they are refused.
BREAK_BIDI_RE = re.compile("[\n\r\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Invisible in print, yet they make "Win<ZWSP>ifred" another patient than "Winifred" to the
# same-day check. (ZWJ and ZWNJ are letters' business in some scripts: allowed.)
INVISIBLE_RE = re.compile("[\u00ad\u180e\u200b\u2060-\u2064\ufeff]")
# What an export leaves where it lost a letter ("Pe?a", "?ukasz"); no name has either.
LOST_LETTER_RE = re.compile("[?\ufffd]")
TEXT_COLUMNS = ("first_name", "last_name", "patient_id", "blood_thinner_name", "blood_thinner_stop",
                "blood_thinner_restart")
BLOOD_THINNER_COLUMNS = ("blood_thinner_name", "blood_thinner_stop", "blood_thinner_restart",
                         "blood_thinner_last_dose")


@dataclass(frozen=True)
class Catalog:
    """What a row may refer to, and the rules that depend on the run (today, encryption, lateness).

    Made by :meth:`handout_gen.packets.kit.Kit.catalog`, which knows the packet's timed rules.
    """

    procedures: Mapping[str, Any]  # slug → Procedure (needs .meta.prep)
    locations: frozenset[str]
    physicians: frozenset[str]
    today: date
    rules: Rules
    arrive_minutes: Mapping[str, int]  # location id → minutes to arrive early
    require_password: bool = False
    broken: frozenset[str] = frozenset()  # procedures whose files have problems
    allow_late: bool = False  # a rule the print date makes impossible prints "Call us today"
    # location id → its opening hours as data (none when practice.yaml gives them as text)
    hours: Mapping[str, Sequence[OpeningHours]] = field(default_factory=dict)
    closed: frozenset[Day] = frozenset()  # practice.yaml closed_dates: no visits, no phones
    closes_early: Mapping[Day, time] = field(default_factory=dict)  # practice.yaml short_days
    no_call_days: frozenset[Day] = frozenset()  # no "call us by" day: Practice.no_call_days
    allow_closed: bool = False  # a visit when closed (hours or date) is the clinic's own exception
    languages: Languages = Languages()  # the project's; a row's language must be one of them
    locales: tuple[str, ...] = ("en",)  # their Babel locales: month names in a clinician's words
    # name_key() of each clinic's and physician's id and name ("Orchard Way Clinic", "Dr.
    # Okafor") → its id: an export names them, practice.yaml has ids
    location_keys: Mapping[str, str] = field(default_factory=dict)
    physician_keys: Mapping[str, str] = field(default_factory=dict)
    procedure_keys: Mapping[str, str] = field(default_factory=dict)  # procedure_key() of slugs, titles
    # The language each row language's packet words print in (English when the packet has
    # none in it): its font chain must draw every character of the cells a packet prints.
    packet_langs: Mapping[str, str] = field(default_factory=dict)

    def visit(self, row: PatientRow) -> Visit:
        """The row's visit: its clinic's arrival time, its procedures' prep rules."""
        preps = [self.procedures[slug].meta.prep for slug in row.procedures]
        return row.visit(self.arrive_minutes[row.location], preps)

    def sites_of(self, slug: str) -> tuple[str, ...]:
        """The sites a procedure's bleeding risk depends on (none for an unknown slug)."""
        return tuple(self.procedures[slug].meta.prep.sites) if slug in self.procedures else ()

    def arrives_late(self, day: date) -> bool:
        """Posted, a packet for a visit on ``day`` reaches the patient on or after that day."""
        return bool(self.rules.delivery_days) and day <= self.rules.reaches(self.today)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return unicodedata.normalize("NFC", str(value)).strip()


Complain = Callable[[str, str], None]  # (column, message)
UNLOCKED_RULE = "roster.no-password"  # a row's empty password cell under --encrypt
LATE_RULE = "roster.late"  # a right row printed too late for a rule: the desk calls the patient


def _check_text(cells: dict[str, str], bad: Complain) -> None:
    """Names present, short and as the patient writes them; no control, line-break or
    text-direction characters anywhere."""
    garbled = set()  # its soft hyphen or stray character is the garbling's ("í" read as "Ã" + U+00AD)
    for column in ("first_name", "last_name"):
        if not cells[column]:
            bad(column, "is empty; every packet needs the patient's name")
        elif len(cells[column]) > MAX_NAME:
            bad(column, f"is longer than {MAX_NAME} characters")
        elif LOST_LETTER_RE.search(cells[column]):
            bad(column, "has a '?' or '\ufffd' where a letter was lost when the file was saved (an export "
                "to a code page without that letter); correct it; in a roster, export it again as "
                "'CSV UTF-8'")
        elif garbled_name(cells[column]):
            # UTF-8 read as Windows-1252 ("JosÃ©"), or saved twice so: the letter would greet the
            # patient by a name that is not theirs.
            garbled.add(column)
            bad(column, "looks garbled by a wrong text encoding (letters such as \"é\" read as \"Ã©\"); "
                "correct it; in a roster, export it again as 'CSV UTF-8'")
    for column, value in cells.items():
        if column in TEXT_COLUMNS and BREAK_BIDI_RE.search(value):
            bad(column, "contains a line break or a text-direction control character; use one line of text")
        elif column in TEXT_COLUMNS and INVISIBLE_RE.search(value) and column not in garbled:
            bad(column, "contains an invisible character (a zero-width space or soft hyphen, often pasted "
                "from another program); type it again")
        elif CONTROL_RE.search(value):
            bad(column, "contains control characters")
    limits = {**dict.fromkeys(BLOOD_THINNER_COLUMNS, MAX_INSTRUCTION),
              "blood_thinner_name": MAX_MEDICINE_NAME, "patient_id": MAX_REFERENCE}
    for column, limit in limits.items():
        if len(cells[column]) > limit:
            bad(column, f"is longer than {limit} characters")


def _check_glyphs(cells: dict[str, str], catalog: Catalog, lang: str, bad: Complain) -> None:
    """Every character a packet prints from the row is drawn by a font of its language's chain:
    never an empty box. The message counts the characters (their code points would spell a name)."""
    fonts = chain(catalog.languages.font_chain(lang))
    for column in TEXT_COLUMNS:
        missing = fonts.missing(cells[column]) if cells[column] else []
        if missing:
            bad(column, f"has {plural(len(missing), 'character')} that no installed font prints (each "
                "would print as an empty box): check the cell, write it as the patient writes it in "
                "another script, or ask whoever keeps the content to add a font for this script (fonts "
                "in content/languages.yaml)")


def _check_procedures(
    cells: dict[str, str], catalog: Catalog, bad: Complain
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The row's procedure slugs and, for each, the site it names ("slug:site") or ""."""
    items = [s.strip() for s in re.split(r"[;,|]", cells["procedures"]) if s.strip()]
    known_slugs = {*catalog.procedures, *catalog.broken}
    resolved = []  # a title or a slug in another case, as an export writes it: the slug
    for slug in (item.partition(":")[0].strip() for item in items):
        found = slug if slug in known_slugs else catalog.procedure_keys.get(procedure_key(slug))
        resolved.append(found or slug)
    named: dict[str, str] = {}
    for slug, item in zip(resolved, items, strict=True):
        named.setdefault(slug, item.partition(":")[2].strip())
    slugs, sites = tuple(named), tuple(named.values())
    if not slugs:
        bad("procedures", "is empty; name at least one procedure slug")
    broken = [s for s in slugs if s in catalog.broken]
    if broken:
        bad("procedures", f"names a procedure whose content has a mistake ({', '.join(broken)}): ask whoever "
            "keeps the content to fix it ('handout-gen check' names the file and line); --skip-invalid "
            "makes the other rows' packets")
    unknown = [n for n, s in enumerate(resolved, 1) if s not in known_slugs]
    if unknown:  # by position in the cell, never its text; a guess is a known slug
        which = (f"procedure{'s' * (len(unknown) > 1)} {' and '.join(map(str, unknown))} of {len(items)}"
                 if len(items) > 1 else "a procedure")
        guesses = [likely_procedure(items[n - 1], catalog.procedure_keys, catalog.sites_of) for n in unknown]
        guess = f": did you mean {' and '.join(map(str, guesses))}?" if all(guesses) else ""
        known = ", ".join(sorted(catalog.procedures))
        bad("procedures", f"names {which} that {'are' if len(unknown) > 1 else 'is'} not known{guess} (write "
            f"its slug or its title, and a site after a colon; known: {known})")
    for slug, site in zip(slugs, sites, strict=True):
        if site and slug in catalog.procedures:
            known_sites = catalog.procedures[slug].meta.prep.sites
            if site not in known_sites:
                have = f"its sites: {', '.join(known_sites)}" if known_sites else "it has one bleeding risk"
                message = f"names a site {slug} does not have ({have}); write slug:site or the slug alone"
                bad("procedures", message)
    return slugs, sites


def _date_cell(cells: dict[str, str], column: str, bad: Complain, day_first_file: bool) -> date | None:
    """A filled date cell as a real date, or None after saying why it cannot be read."""
    text = cells[column]
    if slash := slash_date_problem(text, day_first_file):
        bad(column, slash)
        return None
    day = parse_date(text)
    if day is None:
        bad(column, unread_date(text))
    return day


def _check_when(
    cells: dict[str, str], catalog: Catalog, bad: Complain, day_first_file: bool
) -> tuple[date | None, time | None]:
    day = _date_cell(cells, "date", bad, day_first_file) if cells["date"] else None
    if not cells["date"]:
        bad("date", "is empty")
    elif day is not None and day < catalog.today:
        # 3/12/2026 meant as 3 December is read as March 12: say how a slash date is read
        slash = "/" in cells["date"] and not day_first_file
        bad("date", "is in the past" + (" (slash dates are read month first, MM/DD/YYYY; write "
                                        "YYYY-MM-DD if it is day first)" if slash else
                                        "; check the date (a visit that has taken place needs no packet)"))
    elif day is not None and day > catalog.today + timedelta(days=MAX_AHEAD_DAYS):
        bad("date", "is more than two years ahead; check the year")
    clock = parse_time(cells["time"])
    if clock is None:
        said = cells["time"].strip().casefold()
        noon = {"noon": "12:00 PM", "midday": "12:00 PM", "midnight": "12:00 AM"}.get(said)
        bad("time", f"is not a time of day it can read ({f'write {noon}' if noon else TIME_FORMS})")
    return day, clock


def _check_last_dose(
    cells: dict[str, str], day: date | None, catalog: Catalog, bad: Complain, day_first_file: bool
) -> date | None:
    """The optional last-dose date of the blood thinner, a real date before the visit, and the
    days the clinician's stop and restart words name (:mod:`~handout_gen.packets.stated_dates`)."""
    given = bool(cells["blood_thinner_last_dose"])
    last = _date_cell(cells, "blood_thinner_last_dose", bad, day_first_file) if given else None
    if last is not None and day is not None and last >= day:
        bad("blood_thinner_last_dose", "is not before the visit date; the last dose comes before the visit")
    if day is not None:
        rules = catalog.rules
        for column, message in stated_day_problems(
            cells["blood_thinner_stop"], cells["blood_thinner_restart"], given, last, day,
            rules.reaches(catalog.today), rules.first_day, catalog.locales,
        ):
            bad(column, message)
    return last


def _check_lead_time(row: PatientRow, catalog: Catalog, bad: Complain) -> None:
    """Each timed rule against the print date: a rule the patient can no longer follow is a
    problem of its row, unless the run allows late packets (they print "Call us today")."""
    if catalog.allow_late:
        return
    visit = catalog.visit(row)
    late = _late_arrival(catalog, row.date, visit)
    if late:  # nothing in the packet can be acted on
        bad("date", late)
        return
    for item in schedule(visit, catalog.rules, catalog.today, catalog.no_call_days):
        if item.late:
            bad(*late_problem(item, visit, catalog.rules, catalog.today))


def _late_arrival(catalog: Catalog, day: date, visit: Visit | None) -> str | None:
    """The date column's problem when a packet for a visit on ``day`` reaches the patient on
    or after that day (None: in time). ``visit``, the row's, says whether handed over today it
    would still be too late for a rule (sending the desk to --delivery-days 0 would only show
    them the next refusal); None for a row with other problems, whose rules are not worked out."""
    if not catalog.arrives_late(day):
        return None
    still: list[str] = []
    if visit is not None:
        by_hand = catalog.rules.model_copy(update={"delivery_days": 0})
        timed = schedule(visit, by_hand, catalog.today, catalog.no_call_days)
        still = [LATE_NAMES.get(item.rule, item.rule) for item in timed if item.late]
    if still:
        return (f"is not after {catalog.rules.first_day}, and even handed over today it is too late for "
                f"{' and '.join(still)}: call the patient (or, handing it over today, make it with "
                "--delivery-days 0 --allow-late: it says \"Call us today\" in their place)")
    return (f"is not after {catalog.rules.first_day}; if the patient gets the packet today (by hand or "
            "through the portal), make it in a run with --delivery-days 0 of the patients who do; else "
            "call the patient")


def late_rules(row: PatientRow, catalog: Catalog) -> tuple[str, ...]:
    """What a row's packet made with --allow-late is too late for, for the desk to call: the
    visit itself ("arrival": posted, it arrives on or after the visit day), then each timed rule."""
    timed = schedule(catalog.visit(row), catalog.rules, catalog.today, catalog.no_call_days)
    return ("arrival",) * catalog.arrives_late(row.date) + tuple(item.rule for item in timed if item.late)


def _check_open(cells: dict[str, str], day: Day | None, clock: time | None, catalog: Catalog,
                bad: Complain) -> None:
    """The visit falls when its clinic is open (:mod:`handout_gen.packets.opening`)."""
    location = cells["location"]
    if catalog.allow_closed or day is None or clock is None or location not in catalog.locations:
        return
    said_am_pm = bool((match := TIME_RE.match(cells["time"])) and match[3])  # "1:30 PM", "1:30 p.m."
    for column, message in closed_problems(location, datetime.combine(day, clock),
                                           catalog.arrive_minutes[location], catalog.hours.get(location),
                                           catalog.closed, said_am_pm, catalog.closes_early):
        bad(column, message)


def _check_ids(cells: dict[str, str], catalog: Catalog, bad: Complain) -> None:
    """The clinic and the physician, by id or by name; the cell becomes the id."""
    for column, known, keys in (("location", catalog.locations, catalog.location_keys),
                                ("physician", catalog.physicians, catalog.physician_keys)):
        found = cells[column] if cells[column] in known else keys.get(name_key(cells[column]))
        if not cells[column]:
            bad(column, f"is empty (known: {', '.join(sorted(known))})")
        elif found is None:
            bad(column, f"is not a {column} id or name in practice.yaml (known: {', '.join(sorted(known))})")
        else:
            cells[column] = found


def _check_flags(
    data: Mapping[str, Any], cells: dict[str, str], preps: list[Any], bad: Complain
) -> dict[str, bool]:
    """Yes/no columns, and what they require: sedation offered, the clinician's blood-thinner words."""
    flags: dict[str, bool] = {}
    for column in FLAGS:
        flag = _flag(data.get(column))
        if flag is None:
            bad(column, "must be yes or no (or leave it empty for no)")
        flags[column] = bool(flag)
    if flags["sedation"] and preps and not any(p.sedation_offered for p in preps):
        bad("sedation", "is yes, but none of the procedures offers sedation; check the procedures "
            "cell, or write no")
    if flags["blood_thinner"]:
        if not cells["blood_thinner_name"]:
            bad("blood_thinner_name", "is empty; name the blood thinner the instructions are for")
        for column in ("blood_thinner_stop", "blood_thinner_restart"):
            if not cells[column]:  # a column the roster lacks is not "empty": the desk looks for it
                bad(column, f"{'is empty' if column in data else 'is not a column of the roster'}; a "
                    "clinician must write when to stop and restart the blood thinner (the packet never "
                    "uses a default)")
    else:
        for column in BLOOD_THINNER_COLUMNS:
            if cells[column]:
                bad(column, "is filled in, but blood_thinner is not yes; check which is right")
    return flags


def _unknown_language(cell: str, catalog: Catalog) -> str:
    """Why a language cell names no language the practice keeps, and what to do about it."""
    languages = catalog.languages
    guess = languages.likely(cell)
    known = (f"must be one of {', '.join(languages.codes)} or their names (content/languages.yaml)"
             f"{f'; did you mean {guess}?' if guess else ''}")
    if languages.other_script(cell):  # zh-TW: Traditional characters
        return (f"is written in another script than its language's packets (which would print characters "
                f"the patient may not read); ask the patient which they read: the cell {known}, or whoever "
                "keeps the content declares this script as a language of its own")
    if guess:
        return known
    return (f"{known}; the practice has no packets in any other: ask the patient which of these they read "
            "(an English packet and an interpreter, if none), or ask whoever keeps the content to add the "
            "language")


def validate_row(
    row: int, data: Mapping[str, Any], catalog: Catalog, day_first_file: bool = False
) -> tuple[PatientRow | None, list[Problem]]:
    """Check one row; return the typed row or every problem in it (row + column, no values).
    ``day_first_file``: the row comes from a semicolon-separated file (see slash_date_problem)."""
    problems: list[Problem] = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem("roster", message, row, column))

    cells = {key: _text(data.get(key)) for key in COLUMNS}
    _check_text(cells, bad)
    language = catalog.languages.code_of(cells["language"]) or ""
    if not language:
        bad("language", _unknown_language(cells["language"], catalog))
    else:
        _check_glyphs(cells, catalog, catalog.packet_langs.get(language, language), bad)
    slugs, sites = _check_procedures(cells, catalog, bad)
    day, clock = _check_when(cells, catalog, bad, day_first_file)
    _check_ids(cells, catalog, bad)
    _check_open(cells, day, clock, catalog, bad)
    preps = [catalog.procedures[s].meta.prep for s in slugs if s in catalog.procedures]
    flags = _check_flags(data, cells, preps, bad)
    last_dose = _check_last_dose(cells, day, catalog, bad, day_first_file)
    if catalog.require_password:
        if not cells["password"]:
            message = "is empty; --encrypt needs a password for every packet"
            problems.append(Problem("roster", message, row, "password", rule=UNLOCKED_RULE))
        elif len(cells["password"]) < MIN_PASSWORD:
            bad("password", f"is shorter than {MIN_PASSWORD} characters")
        elif len(cells["password"].encode("utf-8")) > MAX_PASSWORD_BYTES:  # the rest is dropped:
            # a packet that no one could open with the password the patient was given
            bad("password", f"is longer than a PDF password may be ({MAX_PASSWORD_BYTES} bytes: about "
                f"{MAX_PASSWORD_BYTES} letters, fewer with accents)")
    if problems or day is None or clock is None:
        # The packet would reach the patient too late whatever else is wrong: said with the rest,
        # not only once they are fixed (a date already refused, in the past say, is not late too).
        if day is not None and not catalog.allow_late and all(p.field != "date" for p in problems):
            late = _late_arrival(catalog, day, None)
            if late:
                problems.append(Problem("roster", late, row, "date", rule=LATE_RULE))
        return None, problems
    patient = PatientRow(
        row=row,
        first_name=cells["first_name"],
        last_name=cells["last_name"],
        procedures=slugs,
        sites=sites,
        date=day,
        time=clock,
        location=cells["location"],
        physician=cells["physician"],
        patient_id=cells["patient_id"],
        language=language,
        blood_thinner_name=cells["blood_thinner_name"],
        blood_thinner_stop=cells["blood_thinner_stop"],
        blood_thinner_restart=cells["blood_thinner_restart"],
        blood_thinner_last_dose=last_dose,
        blood_thinner_restart_day=restart_day(cells["blood_thinner_restart"], day, catalog.locales),
        password=cells["password"],
        **flags,
    )
    _check_lead_time(patient, catalog, lambda column, message: problems.append(
        Problem("roster", message, row, column, rule=LATE_RULE)))
    return (None, problems) if problems else (patient, [])


def rows_from(items: Iterable[Mapping[str, Any]], catalog: Catalog) -> list[PatientRow]:
    """Validate in-memory rows (the ``packet`` command and tests); raise on any problem."""
    rows, problems = [], []
    for number, item in enumerate(items, start=1):
        row, found = validate_row(number, item, catalog)
        problems += found
        if row is not None:
            rows.append(row)
    if problems:
        raise RosterError(problems, "the patient details")
    return rows
