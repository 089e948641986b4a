"""Invented patients for tests and benchmarks (never real data): varied flags, every name unique."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from handout_gen.packets.roster import Catalog
from handout_gen.packets.timing import WEEKDAYS

FIRST = (
    "Ana",
    "Theo",
    "Mei",
    "Omar",
    "Ruth",
    "Jonas",
    "Priya",
    "Lucia",
    "Kwame",
    "Edith",
    "Rafael",
    "Ingrid",
    "Tomasz",
    "Amara",
    "Hugo",
    "Noor",
)
LAST = (
    "Quillfeather",
    "Marbury",
    "Ostrander",
    "Vantreese",
    "Calloway",
    "Penhallow",
    "Draycott",
    "Ellsworth",
    "Fenwick",
    "Holloway",
    "Kestrel",
    "Lockridge",
)


def fictional_roster(
    count: int, catalog: Catalog, seed: int = 4, slugs: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Invented patients with varied flags (benchmarks, tests, demos); every name unique.

    Appointments are far enough ahead of ``catalog.today`` for every timed rule of the
    packet (``rules:`` in content/packet.yaml), so no row is refused as too late.
    ``slugs`` limits the procedures drawn from (fewer static parts to render); default: all.
    """
    rng = random.Random(seed)  # noqa: S311 - fictional test data, not security
    choices = sorted(slugs or catalog.procedures)
    lead = catalog.rules.lead_days
    rows = []
    for index in range(count):
        slug = rng.choice(choices)
        prep = catalog.procedures[slug].meta.prep
        sites = sorted(prep.sites)  # a roster names the site where the risk depends on it
        thinner = rng.random() < 0.2
        location = sorted(catalog.locations)[index % len(catalog.locations)]
        day, clock = _open_slot(catalog, location, catalog.today + timedelta(days=lead + index % 20), index)
        last_dose = day - timedelta(days=3)
        rows.append(
            {
                "patient_id": f"T-{index:05d}",
                "first_name": rng.choice(FIRST),
                "last_name": f"{rng.choice(LAST)}{index:05d}",
                "language": "es" if rng.random() < 0.3 else "en",
                "procedures": f"{slug}:{sites[index % len(sites)]}" if sites else slug,
                "date": day.isoformat(),
                "time": clock,
                "location": location,
                "physician": sorted(catalog.physicians)[index % len(catalog.physicians)],
                "sedation": "yes" if prep.sedation_offered and rng.random() < 0.5 else "no",
                "blood_thinner": "yes" if thinner else "no",
                "blood_thinner_name": "Zapixaban (fictional)" if thinner else "",
                "blood_thinner_stop": (
                    f"Take your last dose on the morning of {last_dose:%A, %B} {last_dose.day}."
                    if thinner
                    else ""
                ),
                "blood_thinner_restart": (
                    "Start again the morning after your procedure, if there is no bleeding."
                    if thinner
                    else ""
                ),
                "blood_thinner_last_dose": last_dose.isoformat() if thinner else "",
                "diabetes": "yes" if rng.random() < 0.25 else "no",
                "dye_allergy": "yes" if rng.random() < 0.1 else "no",
                "large_print": "yes" if rng.random() < 0.15 else "no",
            }
        )
    return rows


def _open_slot(catalog: Catalog, location: str, day: date, index: int) -> tuple[date, str]:
    """The first day from ``day`` the clinic is open, and one of its eight appointment times
    (on the hour from opening plus the time to arrive early, to an hour before closing)."""
    while day in catalog.closed or day in catalog.closes_early:  # a short day: fewer slots; skipped
        day += timedelta(days=1)
    hours = catalog.hours.get(location)
    if not hours:
        return day, f"{9 + index % 6:02d}:{(index * 15) % 60:02d}"
    def opens(day: date) -> bool:
        return day not in catalog.closed and day not in catalog.closes_early and any(
            WEEKDAYS[day.weekday()] in h.days for h in hours)

    while not opens(day):
        day += timedelta(days=1)
    opens, closes = next(h for h in hours if WEEKDAYS[day.weekday()] in h.days).times()
    first = opens.hour * 60 + opens.minute + catalog.arrive_minutes[location]
    last = closes.hour * 60 + closes.minute - 60
    minutes = first + (60 * (index % 8)) % max(60, last - first + 1)
    return day, f"{minutes // 60:02d}:{minutes % 60:02d}"


def write_csv(path: Path, rows: list[dict[str, str]], bom: bool = False) -> None:
    """Write rows as a roster CSV (tests and benchmarks; real rosters come from the EHR)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
