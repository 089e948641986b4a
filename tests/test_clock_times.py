"""Instructions that depend on time: clock times and days on the real packets, lead-time checks.

The end-to-end tests run the real CLI on the fixture practice and read the PDFs back with
poppler (``pdf_text``); the rules themselves (``content/packet.yaml`` ``rules:``) are tested
on the library, where an exact datetime can be asserted.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handout_gen.content.project import load_project
from handout_gen.core.errors import RosterError, ValidationFailed
from handout_gen.packets.kit import Kit, load_kit
from handout_gen.packets.letters import split_blocks
from handout_gen.packets.parts import prep_part
from handout_gen.packets.prep import build_prep
from handout_gen.packets.roster import rows_from
from handout_gen.packets.timing import Needs, Visit, call_by, schedule
from tests.fictional import write_csv

from .cliutil import hg
from .conftest import FIXTURE, copy_sample, copy_warm, with_short_day
from .pdfutil import pdf_pages, pdf_text
from .test_packets import BASE, read_index

TODAY = date(2026, 11, 24)
HINT = 'call the patient, or use --allow-late to print "Call us today" in its place'
SEDATED = {  # 7:15 at orchard, 30 minutes early: arrives 6:45 AM on Tuesday, December 8
    **BASE,
    "first_name": "Zzyzx",
    "last_name": "Testpatient",
    "date": "2026-12-08",
    "time": "07:15",
    "sedation": "yes",
}
FASTING_EN = (
    "After 10:45 PM on Monday, December 7: Do not eat fatty or fried food or meat.",
    "After 12:45 AM, in the night from Monday, December 7, to Tuesday, December 8: Do not eat any food or "
    "drink milk.",
    "After 4:45 AM, in the night from Monday, December 7, to Tuesday, December 8: Do not eat or drink "
    "anything, not "
    "even water, except a small sip of water to take your morning medicines.",
)
FASTING_ES = (
    "Después de las 10:45 p.m. del lunes, 7 de diciembre: No coma comida grasosa, frita ni carne.",
    "Después de las 12:45 a.m., en la noche del lunes, 7 de diciembre, al martes, 8 de diciembre: No coma "
    "nada ni tome leche.",
    "Después de las 4:45 a.m., en la noche del lunes, 7 de diciembre, al martes, 8 de diciembre: No coma ni "
    "beba nada, ni "
    "siquiera agua, salvo un sorbo de agua para tomar sus medicinas de la mañana.",
)
MONTHS = ("November", "December", "January")
WEEKDAY_DATE = re.compile(
    r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (" + "|".join(MONTHS) + r") (\d{1,2})\b"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, warm_practice: Path) -> Path:
    """One warm copy of the fixture practice for the module: its part cache is shared by the runs."""
    return copy_warm(tmp_path_factory.mktemp("clock") / "project", warm_practice)


@pytest.fixture(scope="module")
def kit() -> Kit:
    return load_kit(load_project(FIXTURE))


def packets_of(project: Path, rows: list[dict[str, str]], out: Path, *args: str,
               said: list[str] | None = None) -> dict[int, str]:
    """Run ``handout-gen packets`` on ``rows``; the text of each packet by roster row (and
    what the run printed, into ``said``)."""
    roster = out.parent / f"{out.name}.csv"
    write_csv(roster, rows)
    done = hg(project, "packets", roster, "-o", out, *args, check=True)
    if said is not None:
        said.append(done.stdout)
    (run_dir,) = out.iterdir()
    index = read_index(run_dir)
    return {row: pdf_text((run_dir / f"packet_{pid}.pdf").read_bytes()) for pid, row in index.items()}


def test_fasting_prints_clock_times_with_weekday_and_date_in_english_and_spanish(
    project: Path, tmp_path: Path
) -> None:
    thinner = {  # its last-dose day is a "when" line too, the first of the list
        "blood_thinner": "yes",
        "blood_thinner_name": "Zapixaban (sample)",
        "blood_thinner_stop": "Take your last dose on the morning of Saturday, December 5.",
        "blood_thinner_restart": "Start again the morning after your procedure.",
        "blood_thinner_last_dose": "2026-12-05",
    }
    texts = packets_of(
        project, [{**SEDATED, **thinner}, {**SEDATED, **thinner, "language": "es", "first_name": "Zoila"}],
        tmp_path / "out",
        "--today", TODAY.isoformat(),
    )
    english, spanish = texts[2], texts[3]
    assert "Please arrive by: 6:45 AM" in english and "Por favor llegue a esta hora: 6:45 a.m." in spanish
    for line in FASTING_EN:
        assert line in english
    for line in FASTING_ES:
        assert line in spanish
    # in order, under the letter's heading; the checklist points at it instead of counting hours
    at = [english.index(line) for line in FASTING_EN]
    last_dose = english.index(  # the clinician's words, quoted: "in the morning" is on the list too
        "On Saturday, December 5: Last day of your blood thinner, Zapixaban (sample). Your care team's plan "
        "says: "
        '"Take your last dose on the morning of Saturday, December 5."')
    assert english.index("Dates and times to remember") < last_dose < at[0] < at[1] < at[2]
    assert ('El sábado, 5 de diciembre: Último día de su anticoagulante, Zapixaban (sample). El plan de '
            'su equipo de atención dice: "Take your last dose on the morning of Saturday, December 5."'
            ) in spanish
    assert "hours before" not in english and "horas antes" not in spanish
    assert 'Look under "Dates and times to remember".' in english
    assert 'Busque "Fechas y horas importantes".' in spanish


LATE = [
    # row 2: PRP two days out, but its anti-inflammatory hold needs 7 days
    {**BASE, "first_name": "Ana", "last_name": "Prp", "procedures": "prp-injection", "date": "2026-12-09"},
    # row 3: a blood thinner whose last dose was three days ago
    {
        **BASE,
        "first_name": "Ben",
        "last_name": "Thinner",
        "procedures": "radiofrequency-ablation",
        "date": "2026-12-14",
        "blood_thinner": "yes",
        "blood_thinner_name": "Zapixaban (sample)",
        "blood_thinner_stop": "Take your last dose on Friday, December 4, in the evening.",
        "blood_thinner_restart": "Start again on Tuesday, December 15, if there is no bleeding.",
        "blood_thinner_last_dose": "2026-12-04",
    },
    # row 4: allergic to X-ray dye, printed the evening before a procedure that uses it
    {
        **BASE,
        "first_name": "Cleo",
        "last_name": "Dye",
        "procedures": "joint-injections-nerve-blocks",
        "date": "2026-12-08",
        "dye_allergy": "yes",
    },
    # row 5: sedation on the print date itself
    {
        **BASE,
        "first_name": "Dov",
        "last_name": "Sedation",
        "date": "2026-12-07",
        "time": "14:00",
        "sedation": "yes",
    },
    # row 6: nothing late
    {**BASE, "first_name": "Eve", "last_name": "Fine", "date": "2026-12-09"},
]
LATE_TODAY = "2026-12-07"  # a Monday
LATE_PROBLEMS = [
    "Error: 4 problems in late.csv; nothing was written:",
    "  row 2, column date: the anti-inflammatory hold needs 7 days without the medicine before the visit "
    f"and only 1 day is left; {HINT}",
    "  row 3, column blood_thinner_last_dose: is before the print date, so the stop plan can no longer "
    f"be followed (ask the clinician for a new one); {HINT}",
    "  row 4, column date: the X-ray dye allergy call is due 3 days before the visit (or the last phone "
    f"day before), and that day is before the print date; {HINT}",
    "  row 5, column date: the eating and drinking rules start 8 hours before arrival and the visit is on "
    f"the print date; {HINT}",
]


@pytest.mark.slow
def test_late_rows_are_refused_by_row_column_and_rule(project: Path, tmp_path: Path) -> None:
    roster = tmp_path / "late.csv"
    write_csv(roster, LATE)
    out = tmp_path / "out"
    refused = hg(project, "packets", roster, "-o", out, "--today", LATE_TODAY, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == LATE_PROBLEMS
    assert not out.exists()  # nothing written
    for name in ("Ana", "Prp", "Thinner", "December"):  # no cell value is repeated
        assert name not in refused.stderr
    checked = hg(project, "packets", roster, "--check", "--today", LATE_TODAY, check=False)
    assert checked.returncode == 1 and checked.stderr.splitlines() == LATE_PROBLEMS
    skipped = hg(
        project, "packets", roster, "-o", out, "--today", LATE_TODAY, "--skip-invalid", check=False
    )
    assert skipped.returncode == 3
    assert skipped.stdout.startswith("wrote 1 packet to ")
    # right rows, printed too late: nothing to fix in the roster, a call to make
    assert ("4 rows skipped (listed in skipped.csv): call the patients of 4 rows (too late for a "
            "rule)\n") in skipped.stdout


def past_days(text: str, today: date) -> list[str]:
    """Every "Weekday, Month D" in ``text`` that falls before ``today`` (around a new year too)."""
    found = []
    for match in WEEKDAY_DATE.finditer(text):
        month = MONTHS.index(match[1])
        day = date(today.year + (month == 2), 11 + month if month < 2 else 1, int(match[2]))
        if day < today:
            found.append(match[0])
    return found


@pytest.mark.slow
def test_allow_late_prints_call_us_today_and_no_past_date(project: Path, tmp_path: Path) -> None:
    today = date.fromisoformat(LATE_TODAY)
    said: list[str] = []
    texts = packets_of(project, LATE, tmp_path / "out", "--today", LATE_TODAY, "--allow-late", said=said)
    assert sorted(texts) == [2, 3, 4, 5, 6]
    # the desk is told which patients to call, by row and rule, never by name
    assert said[0].splitlines()[1] == (
        '4 packets are too late for a rule (they say "Call us today"); call those patients '
        "today (row 2: the anti-inflammatory stop; row 3: the blood thinner's last dose; row 4: the "
        "X-ray dye allergy call; row 5: the eating and drinking times)")
    checked = hg(project, "packets", tmp_path / "out.csv", "--check", "--allow-late", "--today", LATE_TODAY)
    assert checked.stdout.splitlines()[-1] == said[0].splitlines()[1]  # --check says it before the run
    call_today = "Call us today at 555-0100"
    prp, thinner, dye, sedation, fine = (texts[n] for n in range(2, 7))
    assert (
        f"{call_today} Your visit is too soon to stop anti-inflammatory pain medicine, such as ibuprofen "
        "or naproxen, in time. We will tell you what to do." in prp
    )
    assert "Take your last dose of anti-inflammatory" not in prp
    assert "Starting Wednesday, December 23: You may take ibuprofen or naproxen again." in prp  # still true
    assert f"{call_today} The day to stop your blood thinner has passed." in thinner
    assert "Take your last dose on Friday" not in thinner and "Your last dose" not in thinner
    assert "Start again on Tuesday, December 15, if there is no bleeding." in thinner  # verbatim
    assert f"{call_today} You told us you are allergic to X-ray dye. We need to plan a safe way" in dye
    assert "By Monday" not in dye and "By Friday" not in dye
    assert f"{call_today} Your visit is too soon for our usual rules on eating and drinking." in sedation
    assert "Do not eat fatty" not in sedation and "After 5:30 AM" not in sedation
    assert call_today not in fine
    for row, text in texts.items():
        assert past_days(text, today) == [], row
    # the box of a late rule may be on page 2 or 3: page 1 says to call before anything else
    (run_dir,) = (tmp_path / "out").iterdir()
    first = {row: pdf_pages((run_dir / f"packet_{pid}.pdf").read_bytes())[0]
             for pid, row in read_index(run_dir).items()}
    notice = f"{call_today} Part of getting ready for your visit cannot be done in time."
    assert [row for row, page in sorted(first.items()) if notice in page] == [2, 3, 4, 5]
    assert first[3].index(notice) < first[3].index("We look forward to seeing you")


@pytest.mark.slow
def test_delivery_days_for_one_run(warm_practice: Path, tmp_path: Path) -> None:
    """--delivery-days sets, for one run, the days until the patients have their packets: the
    roster check and the letter count from that day. A practice that posts (packet.yaml: 2)
    has a sedated visit tomorrow refused, the message naming the way for a packet handed over
    today; made anyway with --allow-late it says "Call us today" and the run names the row to
    call; with --delivery-days 0 it prints the eating and drinking times."""
    project = copy_warm(tmp_path / "project", warm_practice)
    words = project / "content" / "packet.yaml"
    words.write_text(words.read_text(encoding="utf-8").replace("rules:\n", "rules:\n  delivery_days: 2\n", 1),
                     encoding="utf-8")
    roster = tmp_path / "tomorrow.csv"
    write_csv(roster, [SEDATED])
    refused = hg(project, "packets", roster, "--today", LATE_TODAY, check=False)
    assert refused.returncode == 1 and refused.stderr.endswith(
        "row 2, column date: is not after the day the packet reaches the patient (2 days after printing: "
        "delivery_days in packet.yaml, or --delivery-days); if the patient gets the packet today (by hand "
        "or through the portal), make it in a run with --delivery-days 0 of the patients who do; else call "
        "the patient\n")
    said: list[str] = []
    (posted,) = packets_of(project, [SEDATED], tmp_path / "posted", "--today", LATE_TODAY, "--allow-late",
                           said=said).values()
    assert "Call us today at 555-0100 Your visit is too soon for our usual rules on eating" in posted
    assert said[0].splitlines()[1] == (
        '1 packet is too late for a rule (they say "Call us today"); call that patient today (row 2: '
        "the visit itself (posted, it arrives on or after the visit day), the eating and drinking times)")
    (handed,) = packets_of(project, [SEDATED], tmp_path / "handed", "--today", LATE_TODAY,
                           "--delivery-days", "0").values()
    assert FASTING_EN[0] in handed and "Call us today" not in handed
    # the one-patient command: the same override, and the same word to call
    one = hg(project, "packet", "--first-name", "Zzyzx", "--last-name", "Testpatient", "--procedure",
             "prp-injection", "--date", "2026-12-08", "--time", "07:15", "--location", "orchard",
             "--physician", "okafor", "--today", LATE_TODAY, "--allow-late", "-o", tmp_path / "one",
             check=True)  # fmt: skip
    assert "The packet is too late for the visit itself (posted, it arrives on or after the visit day)" in (
        one.stdout)
    assert "Zzyzx" not in one.stdout + one.stderr


@pytest.mark.slow
def test_one_packet_command_with_a_past_last_dose(project: Path, tmp_path: Path) -> None:
    args = [
        "packet", "--first-name", "Zzyzx", "--last-name", "Testpatient", "--procedure",
        "radiofrequency-ablation", "--date", "2026-12-02", "--time", "8:15 AM", "--location", "orchard",
        "--physician", "lindqvist", "--blood-thinner", "--blood-thinner-name", "Zapixaban (sample)",
        "--stop", "Take your last dose on the morning of Saturday, November 28.",
        "--restart", "Start again the morning after your procedure.", "--last-dose", "2026-11-28",
        "-o", str(tmp_path / "out"),
    ]  # fmt: skip
    made = hg(project, *args, "--today", TODAY.isoformat(), check=True)
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    text = pdf_text(path.read_bytes())
    assert "When to stop Take your last dose on the morning of Saturday, November 28." in text
    assert "Your last dose Saturday, November 28 When to start again" in text
    assert "Zzyzx" not in made.stdout + made.stderr
    late = hg(project, *args, "--today", "2026-11-30", check=False)
    assert late.returncode == 1
    # named by the option given (there is no roster row or column here)
    said = "1 problem in the patient details; nothing was written:\n  --last-dose: is before the print date"
    assert said in late.stderr
    assert "row 1" not in late.stderr
    allowed = hg(project, *args, "--today", "2026-11-30", "--allow-late", check=True)
    assert "Zzyzx" not in allowed.stdout + allowed.stderr


# --- the rules, on the library --------------------------------------------------------------


def visit(kit: Kit, when: datetime, **needs: bool) -> Visit:
    return Visit(when, 30, Needs(**needs))


def test_fasting_counts_back_from_the_arrival(kit: Kit) -> None:
    moments = schedule(visit(kit, datetime(2026, 12, 8, 7, 15), fasting=True), kit.text.rules, TODAY)
    assert [(m.rule, m.at, m.late) for m in moments] == [
        ("fasting_fatty_food", datetime(2026, 12, 7, 22, 45), False),
        ("fasting_light_meal", datetime(2026, 12, 8, 0, 45), False),
        ("fasting_clear_liquids", datetime(2026, 12, 8, 4, 45), False),
    ]
    # printed the evening before: the first time is on the print date, which is still in time
    assert not any(m.late for m in schedule(visit(kit, datetime(2026, 12, 8, 7, 15), fasting=True),
                                            kit.text.rules, date(2026, 12, 7)))  # fmt: skip
    (late,) = schedule(
        visit(kit, datetime(2026, 12, 8, 7, 15), fasting=True), kit.text.rules, date(2026, 12, 8)
    )
    assert (late.rule, late.late) == ("fasting", True)  # one "Call us today" for the whole rule


def test_no_driving_after_sedation_counts_from_the_longest_stay_of_the_visit(kit: Kit) -> None:
    """The time without driving ends after_sedation_hours after the patient goes home: the
    packet rules' visit_hours after the appointment (2 in the fixture), or a procedure's own
    longer stay (an implant's recovery, its prep's visit_hours), never the shorter one."""
    from types import SimpleNamespace

    from handout_gen.content.schema import Prep

    when = datetime(2026, 12, 8, 8, 45)
    rest = 24

    def end(*stays: int | None) -> datetime:
        preps = [Prep(sedation_offered=True, driver_required=True, contrast_dye=False, steroid=False,
                      bleeding_risk="low", visit_hours=stay) for stay in stays]
        needs = Needs.of(preps, SimpleNamespace(sedation=True, dye_allergy=False, diabetes=False))
        moments = schedule(Visit(when, 30, needs, rest_hours=rest), kit.text.rules, TODAY)
        return next(m.at for m in moments if m.rule == "after_sedation")

    assert kit.text.rules.after_sedation.visit_hours == 2
    assert end(None) == end(1) == when + timedelta(hours=2 + rest)  # the rules' stay at least
    assert end(4) == end(None, 4) == when + timedelta(hours=4 + rest)  # 12:45 PM the next day


@pytest.mark.parametrize(("ahead", "late"), [(8, False), (7, True), (6, True), (0, True)])
def test_anti_inflammatory_hold_boundary(kit: Kit, ahead: int, late: bool) -> None:
    """7 days without the medicine: the last dose is 8 days before, and may be on the print date.
    (Not 2 or 3 days ahead: those are closed dates of the fixture practice.)"""
    day = TODAY + timedelta(days=ahead)
    moments = schedule(visit(kit, datetime(day.year, day.month, day.day, 9), anti_inflammatories=True),
                       kit.text.rules, TODAY)  # fmt: skip
    hold, restart = moments
    assert hold.at.date() == day - timedelta(days=8) and hold.late is late
    assert (restart.rule, restart.at.date(), restart.late) == (
        "anti_inflammatories_restart",
        day + timedelta(days=14),
        False,
    )
    catalog = kit.catalog(TODAY)
    row = {
        **BASE,
        "first_name": "A",
        "last_name": "B",
        "procedures": "prp-injection",
        "date": day.isoformat(),
    }
    if late:
        with pytest.raises(RosterError) as info:
            rows_from([row], catalog)
        (problem,) = info.value.problems
        assert (problem.line, problem.field) == (1, "date")
        assert problem.message.startswith("the anti-inflammatory hold needs 7 days without the medicine")
    else:
        assert rows_from([row], catalog)
    assert rows_from([row], kit.catalog(TODAY, allow_late=True))  # --allow-late lets it through


def test_a_posted_packet_counts_its_days_from_when_it_arrives(kit: Kit) -> None:
    """``delivery_days`` (packet.yaml rules): a packet printed on Tuesday and posted arrives on
    Thursday, when "On Tuesday: take your last dose" or "By Wednesday: call us" can no longer
    be followed. Such a day is late as a day before the print date is, and the row's message
    says it is counted from the day the packet arrives; by hand (0, the default) it is in time."""
    posted = kit.delivered_in(2)
    assert kit.text.rules.delivery_days == 0 and posted.digest == kit.digest  # the parts stay cached
    closed = kit.project.practice.closed_dates
    wednesday = datetime(2026, 12, 2, 9)  # last anti-inflammatory dose on the print date; the dye
    needs = {"anti_inflammatories": True, "dye_call": True}  # call by Nov 25 (Nov 26-27 closed)

    def late(rules_of: Kit, when: datetime, **flags: bool) -> list[tuple[str, date, bool]]:
        found = schedule(visit(rules_of, when, **flags), rules_of.text.rules, TODAY, closed)
        return [(m.rule, m.at.date(), m.late) for m in found if m.rule != "anti_inflammatories_restart"]

    assert late(kit, wednesday, **needs) == [
        ("anti_inflammatories", TODAY, False), ("dye_allergy", date(2026, 11, 25), False)]
    assert late(posted, wednesday, **needs) == [
        ("anti_inflammatories", TODAY, True), ("dye_allergy", date(2026, 11, 25), True)]
    # fasting: a visit the day the packet arrives is late; one the day after is in time
    assert [m[2] for m in late(posted, datetime(2026, 11, 26, 9), fasting=True)] == [True]
    assert not any(m[2] for m in late(posted, datetime(2026, 11, 27, 9), fasting=True))
    row = {**BASE, "first_name": "A", "last_name": "B", "procedures": "prp-injection", "date": "2026-12-02"}
    assert rows_from([row], kit.catalog(TODAY))
    with pytest.raises(RosterError) as info:
        rows_from([row], posted.catalog(TODAY))
    (problem,) = info.value.problems
    assert problem.message == (
        "the anti-inflammatory hold needs 7 days without the medicine before the visit and only 5 days "
        "are left, counted from the day the packet reaches the patient (2 days after printing: "
        "delivery_days in packet.yaml, or --delivery-days); " + HINT)
    # a visit with no timed rule at all: posted, it must still come after the packet arrives
    plain = {**row, "procedures": "joint-injections-nerve-blocks"}
    early = [{**plain, "date": "2026-11-25", "first_name": "C"},  # arrives on the 26th: too late
             {**plain, "date": "2026-11-30", "first_name": "D"}]
    with pytest.raises(RosterError) as info:
        rows_from(early, posted.catalog(TODAY))
    assert [(p.line, p.field) for p in info.value.problems] == [(1, "date")]
    assert info.value.problems[0].message.startswith(
        "is not after the day the packet reaches the patient (2 days after printing: delivery_days in "
        "packet.yaml, or --delivery-days); if the patient gets the packet today (by hand or through the "
        "portal), make it in a run with --delivery-days 0 of the patients who do; else call the patient")
    assert len(rows_from(early, posted.catalog(TODAY, allow_late=True))) == 2 == len(
        rows_from(early, kit.catalog(TODAY)))  # handed over (0 days), both are in time
    # with another problem in the row, the late arrival is said too: the desk calls the
    # patient without fixing the other cell first (its rules are not worked out: no "even
    # handed over today")
    sedated = {**early[0], "sedation": "yes"}  # the joint injection offers no sedation
    with pytest.raises(RosterError) as info:
        rows_from([sedated], posted.catalog(TODAY))
    assert [p.field for p in info.value.problems] == ["sedation", "date"]
    assert info.value.problems[1].message.startswith("is not after the day the packet reaches the patient")
    with pytest.raises(RosterError) as info:
        rows_from([sedated], posted.catalog(TODAY, allow_late=True))
    assert [p.field for p in info.value.problems] == ["sedation"]
    with pytest.raises(RosterError) as info:  # a date already refused is not late as well
        rows_from([{**sedated, "date": "2026-11-10"}], posted.catalog(TODAY))
    assert [p.field for p in info.value.problems] == ["date", "sedation"]
    assert "is in the past" in info.value.problems[0].message
    # a visit too soon even for a packet handed over today: no advice to run it again by hand
    with pytest.raises(RosterError) as info:
        rows_from([{**row, "date": "2026-11-25"}], posted.catalog(TODAY))
    assert [p.message for p in info.value.problems] == [
        "is not after the day the packet reaches the patient (2 days after printing: delivery_days in "
        "packet.yaml, or --delivery-days), and even handed over today it is too late for the "
        "anti-inflammatory stop: call the patient (or, handing it over today, make it with --delivery-days 0 "
        '--allow-late: it says "Call us today" in their place)']


@pytest.mark.parametrize(
    ("visit_day", "call_day"),
    [
        (date(2026, 12, 9), date(2026, 12, 4)),  # Wednesday: 3 days before is a Sunday → Friday
        (date(2026, 12, 8), date(2026, 12, 4)),  # Tuesday: a Saturday → Friday
        (date(2026, 12, 7), date(2026, 12, 4)),  # Monday: Friday itself
        (date(2026, 12, 11), date(2026, 12, 8)),  # Friday: Tuesday
    ],
)
def test_call_by_day_falls_on_a_phone_day(kit: Kit, visit_day: date, call_day: date) -> None:
    assert call_by(visit_day, kit.text.rules.dye_allergy, kit.text.rules.phone_days) == call_day


def test_call_by_day_skips_the_practices_closed_dates(kit: Kit) -> None:
    """A Monday visit: 3 days before is Friday, November 27, a closed date after the closed
    Thanksgiving: the patient is told to call by Wednesday, and the letter prints that day."""
    closed = kit.project.practice.closed_dates
    assert closed[:2] == [date(2026, 11, 26), date(2026, 11, 27)]  # the fixture's practice.yaml
    rules = kit.text.rules
    assert call_by(date(2026, 11, 30), rules.dye_allergy, rules.phone_days) == date(2026, 11, 27)
    assert call_by(date(2026, 11, 30), rules.dye_allergy, rules.phone_days, closed) == date(2026, 11, 25)
    row = {**SEDATED, "date": "2026-11-30", "time": "09:30", "dye_allergy": "yes", "sedation": "no",
           "procedures": "joint-injections-nerve-blocks"}
    (text,) = letter_text(kit, [row], date(2026, 11, 20))
    assert "By Wednesday, November 25: Call us at 555-0100 about your X-ray dye allergy" in text
    assert "November 27" not in text and "November 26" not in text


def test_call_by_day_skips_a_day_the_practice_closes_early(tmp_path: Path) -> None:
    """A day the phones stop at noon (short_days) is no "call us by" day either: a patient who
    calls that afternoon finds no one. Monday, December 28: 3 days before is Friday the 25th
    (closed), then Thursday the 24th (closing at noon): call by Wednesday the 23rd."""
    kit = load_kit(load_project(with_short_day(copy_sample(tmp_path / "project"))))
    assert date(2026, 12, 24) in kit.project.practice.no_call_days
    row = {**SEDATED, "date": "2026-12-28", "time": "09:30", "dye_allergy": "yes", "sedation": "no",
           "procedures": "joint-injections-nerve-blocks"}
    (text,) = letter_text(kit, [row], date(2026, 12, 10))
    assert "By Wednesday, December 23: Call us at 555-0100 about your X-ray dye allergy" in text


DIABETES_WORDS = {  # rules.diabetes_fasting's words (call, late, checklist), per language of the fixture
    "en": ("Call us at %(phone)s to ask how to take your diabetes medicine or insulin while you fast.",
           "You told us you have diabetes. Call today so we can tell you how to take your diabetes medicine.",
           'You told us you have diabetes. Call us by the day in the letter. Look under "%(heading)s".'),
    "es": ("Llámenos al %(phone)s para preguntar cómo tomar su medicina para la diabetes mientras no come.",
           "Usted nos dijo que tiene diabetes. Llámenos hoy.",
           'Usted nos dijo que tiene diabetes. Llámenos el día de la carta. Busque "%(heading)s".'),
    "zh": ("请致电 %(phone)s，问我们您不吃东西的时候糖尿病药该怎么用。", "请今天就打电话。",
           "最晚在信上写的那一天打电话问我们。请看“%(heading)s”。"),
    "ar": ("اتصل بنا على %(phone)s لتسألنا كيف تأخذ دواء السكري بينما لا تأكل.", "اتصل بنا اليوم.",
           'اتصل بنا في موعد أقصاه اليوم المذكور في الرسالة. انظر تحت "%(heading)s".'),
}


def with_diabetes_call(project: Path, days: int = 5, *, skip: str = "") -> Kit:
    """The fixture practice with rules.diabetes_fasting set (its words in every language but
    ``skip``): the kit it loads."""
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    assert text.count("\nrules:\n") == 1
    text = text.replace("\nrules:\n", f"\nrules:\n  diabetes_fasting:\n    call_days_before: {days}\n")
    for lang, (call, late, dated) in DIABETES_WORDS.items():
        if lang != skip:
            assert text.count(f"\n  {lang}:\n") == 1
            added = (f"    diabetes_fasting_call: {call!r}\n    late_diabetes_fasting: {late!r}\n"
                     f"    diabetes_fasting_dated: {dated!r}\n")
            text = text.replace(f"\n  {lang}:\n", f"\n  {lang}:\n{added}")
    words.write_text(text, encoding="utf-8")
    return load_kit(load_project(project))


def letter_text(kit: Kit, rows: list[dict[str, str]], today: date, **catalog: bool) -> list[str]:
    """The text of each row's letter. The letters are laid out together, as a run lays out a
    chunk (one renderer, each language's page stationery made once), and each is read back
    from its own pages."""
    from handout_gen.packets.packet import PacketMaker

    patients = rows_from(rows, kit.catalog(today, **catalog))
    data, starts, _, _ = PacketMaker(kit, today).press.letters([(p, p.language) for p in patients])
    buffer = io.BytesIO()
    data.save(buffer)
    pages = pdf_pages(buffer.getvalue())
    assert len(pages) == len(data.pages)
    return [" ".join(pages[start:end]) for start, end in zip(starts, [*starts[1:], len(pages)], strict=True)]


@pytest.mark.slow
def test_a_fasting_patient_with_diabetes_calls_by_a_day_the_letter_names(tmp_path: Path) -> None:
    """rules.diabetes_fasting: 5 days before a Tuesday visit is Thursday, a phone day. Only a
    patient who has diabetes and fasts for sedation is asked to call; without the rule (the
    fixture as it is) no day is printed and the checklist's own sentence asks for the call."""
    kit = with_diabetes_call(copy_sample(tmp_path / "project"))
    diabetic = {**SEDATED, "diabetes": "yes"}
    rows = [diabetic, {**diabetic, "language": "es", "first_name": "Zoila"},
            {**diabetic, "sedation": "no", "first_name": "Ana"}, {**SEDATED, "first_name": "Bo"}]
    fasting, spanish, awake, healthy = letter_text(kit, rows, TODAY)
    call = "By Thursday, December 3: Call us at 555-0100 to ask how to take your diabetes medicine"
    assert call in fasting
    assert fasting.index(call) < fasting.index(FASTING_EN[0])  # earliest first
    assert "A más tardar el jueves, 3 de diciembre: Llámenos al 555-0100 para preguntar cómo tomar" in spanish
    for text in (awake, healthy):
        assert "diabetes" not in text and "December 3" not in text
    (chinese,) = letter_text(kit, [{**diabetic, "language": "zh"}], TODAY)
    assert "问我们您不吃东西的时候糖尿病药该怎么用" in chinese.replace(" ", "")
    plain_kit = load_kit(load_project(FIXTURE))
    (plain,) = letter_text(plain_kit, [diabetic], TODAY)
    assert "diabetes" not in plain and "December 3" not in plain
    # the checklist points at the letter's day only when the letter prints one
    (row,) = rows_from([diabetic], kit.catalog(TODAY))
    dated = build_prep(row.procedures, row.prep_flags, kit.project, kit.words("en"), kit.dated())
    undated = build_prep(row.procedures, row.prep_flags, plain_kit.project, plain_kit.words("en"),
                         plain_kit.dated())
    heading = {"heading": "Dates and times to remember"}
    assert DIABETES_WORDS["en"][2] % heading in dated.items
    assert plain_kit.words("en").diabetes_fasting in undated.items
    # (the letter's last day to check blood sugar after the steroid is another rule's pointer)
    assert not [item for item in undated.items if "in the letter" in item and "not eating" in item]


def test_a_diabetes_call_the_print_date_is_too_late_for_is_refused_or_printed_as_call_us_today(
    tmp_path: Path,
) -> None:
    """Printed on Thursday, November 26 for Tuesday, December 1: the call was due by Wednesday
    (5 days before is the 26th, a closed date, so the day before): a row error by row, column
    and rule, and with --allow-late a "Call us today" box the desk is told to follow up."""
    from handout_gen.cli.packets import _late_line
    from handout_gen.packets.roster import late_rules

    kit = with_diabetes_call(copy_sample(tmp_path / "project"))
    today, row = date(2026, 11, 26), {**SEDATED, "diabetes": "yes", "date": "2026-12-01"}
    with pytest.raises(RosterError) as info:
        rows_from([row], kit.catalog(today))
    assert [str(p) for p in info.value.problems] == [
        "roster:1: date: the diabetes medicine call is due 5 days before the visit (or the last phone "
        f"day before), and that day is before the print date; {HINT}"
    ]
    catalog = kit.catalog(today, allow_late=True)
    assert late_rules(rows_from([row], catalog)[0], catalog) == ("diabetes_fasting",)
    assert "(row 3: the diabetes medicine call)" in _late_line({3: ("diabetes_fasting",)})
    (text,) = letter_text(kit, [row], today, allow_late=True)
    assert "Call us today at 555-0100 You told us you have diabetes. Call today so we can tell you" in text
    assert "November 25" not in text and "By " not in text


@pytest.mark.slow
def test_the_previews_sample_patient_is_in_time_for_every_rule(tmp_path: Path) -> None:
    """The preview's fictional patient (diabetes, sedation) is booked far enough ahead: on a
    Thursday, a Friday and around closed dates, with the diabetes call and a posted packet,
    its letter prints days, never "Call us today" (a week ahead was too late on those days)."""
    from handout_gen.packets.packet import PacketMaker, sample_row

    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    posted = words.read_text(encoding="utf-8").replace("\nrules:\n", "\nrules:\n  delivery_days: 2\n")
    words.write_text(posted, encoding="utf-8")
    kit = with_diabetes_call(project)
    for today in (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 24), date(2026, 11, 25)):
        row = sample_row(kit.project, kit.text.rules, today)
        letters, _ = PacketMaker(kit, today).press.letters([(row, "en")])[:2]
        buffer = io.BytesIO()
        letters.save(buffer)
        text = pdf_text(buffer.getvalue())
        assert "Call us today" not in text and "to ask how to take your diabetes medicine" in text, today


@pytest.mark.slow
def test_the_diabetes_call_needs_its_words_in_every_language(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        with_diabetes_call(copy_sample(tmp_path / "project"), skip="es")
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [
        "text.es.diabetes_fasting_call: is needed: rules.diabetes_fasting is set",
        "text.es.late_diabetes_fasting: is needed: rules.diabetes_fasting is set",
        "text.es.diabetes_fasting_dated: is needed: rules.diabetes_fasting is set",
    ]


@pytest.mark.slow
def test_after_a_steroid_a_patient_with_diabetes_gets_the_last_day_to_check_blood_sugar(kit: Kit) -> None:
    """"Check your blood sugar more often for 3 days" left the counting to the patient: the
    letter prints the last day, visit day plus thresholds.blood_sugar_check_days (Wednesday
    December 9 + 3: Saturday December 12), in the patient's language, and the checklist points
    there. Only with diabetes and a procedure that uses a steroid."""
    diabetic = {**BASE, "first_name": "Ida", "last_name": "Quill", "diabetes": "yes"}
    english, spanish, not_diabetic, no_steroid = letter_text(kit, [
        diabetic,
        {**diabetic, "language": "es", "patient_id": "MH-2", "first_name": "Eva"},
        {**BASE, "first_name": "Ana", "last_name": "Quill", "patient_id": "MH-3"},
        {**diabetic, "procedures": "prp-injection", "patient_id": "MH-4", "first_name": "Bo"},
    ], TODAY)
    said = ("Through Saturday, December 12: Check your blood sugar more often than usual: the steroid can "
            "raise it.")
    assert said in " ".join(english.split())
    # the days run over nights and a weekend: the after-hours number is on the line too
    assert "call us within 2 hours: 555-0100, or 555-0199 after hours." in " ".join(english.split())
    assert "Hasta el sábado, 12 de diciembre (incluido): Mídase el azúcar" in " ".join(spanish.split())
    assert "blood sugar" not in not_diabetic and "blood sugar" not in no_steroid
    words = kit.words("en")
    prep = build_prep(("epidural-steroid-injection",), rows_from([diabetic], kit.catalog(TODAY))[0],
                      kit.project, words, kit.dated())
    assert words.diabetes_steroid_dated % {"heading": words.times_heading} in prep.items


def epidural_in_packets(kit: Kit, lang: str = "en") -> tuple[str, str]:
    """The HTML of the epidural handout as the packet of a patient with diabetes prints it
    (the letter prints the last day to check blood sugar), then as one without diabetes."""
    from handout_gen.packets.parts import handout_part, part_html
    from handout_gen.render.engine import Engine

    esi = "epidural-steroid-injection"
    diabetic = {**BASE, "first_name": "Ida", "last_name": "Quill", "diabetes": "yes"}
    rows = rows_from([diabetic, {**diabetic, "diabetes": "no", "patient_id": "MH-2"}], kit.catalog(TODAY))
    engine = Engine(kit.project.root, kit.project.templates_dir)
    said, other = (part_html(kit, handout_part(kit, esi, lang, False, (esi,), row.prep_flags).spec, engine)
                   for row in rows)
    return said, other


def test_a_key_point_the_letter_dates_gives_way_only_in_that_patients_packet(kit: Kit) -> None:
    """The epidural's key point "test your blood sugar more than usual for 3 days" is marked
    {packet:blood-sugar}: a packet whose letter prints the last day to check leaves it out of
    the key points (in English and in Spanish); a packet for a patient without diabetes, and
    the handout itself, keep it, without the mark."""
    from handout_gen.handouts import Variant, handout_html

    point = {"en": "test your blood sugar more than usual for 3 days.",
             "es": "mídase el azúcar en la sangre más seguido por 3 días."}

    def key_points(html: str) -> str:
        return html.split('class="box key-points"', 1)[1].split("</aside>", 1)[0]

    for lang, words in point.items():
        said, other = epidural_in_packets(kit, lang)
        assert words not in key_points(said), lang
        assert words in key_points(other), lang
    handout = handout_html(kit.project, kit.project.procedures["epidural-steroid-injection"], Variant("en"))
    assert point["en"] in handout and "{packet" not in handout


def test_a_key_points_box_with_every_point_said_by_the_letter_is_left_out(tmp_path: Path) -> None:
    """Every key point of the epidural marked {packet:blood-sugar}: the packet of a patient
    whose letter prints the last day to check prints no empty "Key points" box; another
    patient's packet prints the box whole."""
    project = copy_sample(tmp_path / "project")
    path = project / "content/procedures/epidural-steroid-injection.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("key_points:\n"), text.index("\naftercare:")
    points = [line.removesuffix(" {packet:blood-sugar}") + " {packet:blood-sugar}"
              for line in text[start:end].splitlines()[1:]]
    path.write_text(text[:start] + "key_points:\n" + "\n".join(points) + text[end:], encoding="utf-8")
    said, other = epidural_in_packets(load_kit(load_project(project)))
    assert "box key-points" not in said and "Key points" not in said
    assert other.count("<li>", other.index("box key-points"), other.index("</aside>")) == len(points) == 4


def test_the_blood_sugar_line_needs_its_words_in_every_language(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    spanish = text.index("\n  es:\n")
    cut = re.sub(r"\n    blood_sugar_check: >-\n(      .*\n)+", "\n", text[spanish:], count=1)
    words.write_text(text[:spanish] + cut, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(project))
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [
        "text.es.blood_sugar_check: is needed: thresholds.blood_sugar_check_days is set and procedure "
        "'epidural-steroid-injection' uses a steroid"
    ]


def test_last_dose_column_is_a_real_date_before_the_visit_and_needs_the_flag(kit: Kit) -> None:
    catalog = kit.catalog(TODAY)
    thinner = {
        **BASE,
        "first_name": "A",
        "last_name": "B",
        "blood_thinner": "yes",
        "blood_thinner_name": "Zapixaban",
        "blood_thinner_stop": "As we told you.",
        "blood_thinner_restart": "As we told you.",
    }
    rows = [
        {**thinner, "blood_thinner_last_dose": "2026-13-01"},
        {**thinner, "blood_thinner_last_dose": BASE["date"]},
        {**BASE, "first_name": "A", "last_name": "B", "blood_thinner_last_dose": "2026-12-01"},
        {**thinner, "blood_thinner_last_dose": "12/1/2026"},
    ]
    with pytest.raises(RosterError) as info:
        rows_from(rows, catalog)
    assert [str(p) for p in info.value.problems] == [
        "roster:1: blood_thinner_last_dose: is not a real date (use YYYY-MM-DD, e.g. 2026-12-09, "
        "MM/DD/YYYY or DD.MM.YYYY)",
        "roster:2: blood_thinner_last_dose: is not before the visit date; the last dose comes before "
        "the visit",
        "roster:3: blood_thinner_last_dose: is filled in, but blood_thinner is not yes; check which is right",
    ]
    (row,) = rows_from(rows[3:], catalog)
    assert row.blood_thinner_last_dose == date(2026, 12, 1)


def test_a_packet_yaml_that_is_not_utf8_is_named_with_no_traceback(sample_project: Path) -> None:
    """Read once more for its words when it does not validate: never a UnicodeDecodeError."""
    path = sample_project / "content" / "packet.yaml"
    path.write_bytes(b"\xff" + path.read_bytes())
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(sample_project))
    assert [str(p) for p in info.value.problems] == ["content/packet.yaml: not UTF-8 text"]


def test_rules_are_validated_with_their_lines(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    original = words.read_text(encoding="utf-8")
    lines = original.splitlines()

    dear = 'dear: "Dear %(name)s,"'

    def line(needle: str) -> int:
        return next(i for i, text in enumerate(lines, 1) if text.strip().startswith(needle))

    text = original.replace("light_meal_hours: 6", "light_meal_hours: 9")
    text = text.replace("call_days_before: 3", "call_days_before: three")
    text = text.replace("phone_days: [monday,", "phone_days: [someday,")
    text = text.replace(dear, 'dear: "Dear %(nam)s,"')  # reported in the same run, not after the fix
    words.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(project))
    assert [str(p).split(": ", 2)[:2] for p in info.value.problems] == [
        [f"content/packet.yaml:{line('fasting:')}", "rules.fasting"],
        [f"content/packet.yaml:{line('call_days_before:')}", "rules.dye_allergy.call_days_before"],
        [f"content/packet.yaml:{line('phone_days:')}", "rules.phone_days.0"],
        [f"content/packet.yaml:{line(dear)}", "text.en.dear"],
    ]
    assert info.value.problems[0].message.endswith(
        "must count down: fatty_food_hours >= light_meal_hours >= clear_liquids_hours"
    )
    # a timed sentence must print its computed day: a translation that drops it is refused
    words.write_text(
        original.replace(
            'after_time: "After %(time)s on %(day)s:"',
            'after_time: "After %(time)s:"',
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(project))
    assert [str(p) for p in info.value.problems] == [
        f"content/packet.yaml:{line('after_time:')}: text.en.after_time: must use the "
        "placeholder %(day)s: the packet prints the computed day there"
    ]


# --- where the time-dependent text lives: caching stays effective -----------------------------


def test_prep_pages_do_not_depend_on_the_appointment(kit: Kit) -> None:
    """The checklist points at the letter; two appointments with the same flags share it."""
    catalog = kit.catalog(TODAY)
    one, two = rows_from(
        [
            {**SEDATED, "procedures": "prp-injection", "sedation": "no", "dye_allergy": "yes"},
            {**SEDATED, "procedures": "prp-injection", "sedation": "no", "dye_allergy": "yes",
             "date": "2026-12-21", "time": "15:30"},
        ],
        catalog,
    )  # fmt: skip
    parts = [prep_part(kit, r.procedures, "en", False, r.prep_flags) for r in (one, two)]
    assert parts[0] is not None and parts[1] is not None and parts[0].key == parts[1].key


@pytest.mark.slow
def test_timed_blocks_are_shared_by_patients_with_the_same_time(tmp_path: Path) -> None:
    from handout_gen.packets.packet import PacketMaker

    kit = load_kit(load_project(copy_sample(tmp_path / "project")))
    worker = PacketMaker(kit, TODAY)
    catalog = kit.catalog(TODAY)
    batch = [{**SEDATED, "first_name": f"Ida{i}"} for i in range(4)]
    first = rows_from(batch, catalog)
    worker.press.letters([(row, "en") for row in first])
    again = rows_from([{**row, "first_name": f"Jo{i}"} for i, row in enumerate(batch)], catalog)
    before = worker.press.laid_out
    worker.press.letters([(row, "en") for row in again])
    assert worker.press.laid_out - before == len(again)  # greetings only: the times were laid out
    later = rows_from([{**SEDATED, "first_name": "Kim", "time": "07:30"}], catalog)
    before = worker.press.laid_out
    pdf, _, _, _ = worker.press.letters([(row, "en") for row in later])
    # greeting, the time, three fasting lines, the end of the after-sedation rules and the
    # time to call if still numb
    assert worker.press.laid_out - before == 1 + 1 + 5


def test_block_marks_carry_keep_with_previous() -> None:
    html = (
        "<h1>A</h1><!--block--><h2>B</h2><!--block keep-with-previous--><p>C</p>"
        "<!--block--> <!--block--><p>D</p>"
    )
    assert split_blocks(html) == [
        ("<h1>A</h1>", ""),
        ("<h2>B</h2>", ""),
        ("<p>C</p>", "keep-with-previous"),
        ("<p>D</p>", ""),
    ]
    part = split_blocks("<p>E</p><!--block part-of-previous--><p>F</p>")
    assert part == [("<p>E</p>", ""), ("<p>F</p>", "part-of-previous")]


@pytest.mark.slow
def test_heading_lines_and_sign_off_stay_together(tmp_path: Path) -> None:
    """Large print: the times section starts on a page with room for it; the sign-off is never
    alone; the times that go on to the next page do so under "(continued)"."""
    import io

    from handout_gen.packets.packet import PacketMaker

    from .pdfutil import page_lines

    kit = load_kit(load_project(copy_sample(tmp_path / "project")))
    rows = rows_from([{**SEDATED, "large_print": "yes", "dye_allergy": "yes"},
                      {**SEDATED, "dye_allergy": "yes", "first_name": "Ana"}], kit.catalog(TODAY))
    pdf, starts, _, _ = PacketMaker(kit, TODAY).press.letters([(rows[0], "en"), (rows[1], "en")])
    buffer = io.BytesIO()
    pdf.save(buffer)
    pages = [" ".join(" ".join(lines).split()) for lines in page_lines(buffer.getvalue())]
    standard, pages = pages[starts[1]:], pages[: starts[1]]
    assert "Dates and times to remember" in " ".join(standard) and "(continued)" not in " ".join(standard)
    assert len(pages) >= 2
    times, *rest = [text for text in pages if "Dates and times to remember" in text]
    assert "By Friday, December 4: Call us at 555-0100 about your X-ray dye allergy" in times  # first in time
    for line in FASTING_EN:
        assert line in times
    assert len(rest) == 1  # the fixture's large-print letter breaks its times over two pages
    for page in rest:  # the times go on under the heading, marked as continued
        body = page.split("DRAFT: awaiting clinical review", 1)[1].strip()
        assert body.startswith("Dates and times to remember (continued) After 7:15 PM on Tuesday, "
                               "December 8: If your arm or leg is still numb or weak, call us"), body
        assert "Until 9:15 AM on Wednesday" in body
    (last,) = [text for text in pages if "Your care team at" in text]
    body = last.split("DRAFT: awaiting clinical review", 1)[1]
    assert not body.strip().startswith("Your care team at")  # something of the letter precedes it


def test_fictional_rows_are_in_time_for_every_rule(kit: Any, tmp_path: Path) -> None:
    """The benchmark's and the warm practice's rosters: no row is late, with or without the
    diabetes call (here with a lead longer than the others, as the sample's is)."""
    from tests.fictional import fictional_roster

    for practice in (kit, with_diabetes_call(copy_sample(tmp_path / "project"), days=14)):
        catalog = practice.catalog(TODAY)
        rows = rows_from(fictional_roster(200, catalog), catalog)  # raises on any late row
        assert any(r.sedation for r in rows) and any(r.dye_allergy for r in rows)
        assert any(r.sedation and r.diabetes for r in rows)
        assert any("prp-injection" in r.procedures for r in rows)


@pytest.mark.slow
def test_a_time_in_the_night_names_its_night_up_to_night_ends(tmp_path: Path) -> None:
    """"12:45 AM on Tuesday" is read as lunchtime or as Tuesday night: a fasting time after
    midnight and before ``night_ends`` (packet.yaml, a clinician's edit) names the night it is
    in. A time after it reads as any other; a language with no ``after_night`` words keeps
    ``after_time`` (packet.yaml files written before it)."""
    from handout_gen.packets.packet import PacketMaker

    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    assert '  night_ends: "06:00"\n' in text
    text = text.replace('  night_ends: "06:00"\n', '  night_ends: "02:00"\n')
    text = text.replace('    after_night: "Después de las', '    # after_night: "', 1)  # Spanish: none
    words.write_text(text, encoding="utf-8")
    kit = load_kit(load_project(project))
    (english, spanish) = rows_from([SEDATED, {**SEDATED, "language": "es"}], kit.catalog(TODAY))
    pdf, _, _, _ = PacketMaker(kit, TODAY).press.letters([(english, "en"), (spanish, "es")])
    buffer = io.BytesIO()
    pdf.save(buffer)
    letters = pdf_text(buffer.getvalue())
    assert FASTING_EN[1] in letters  # 12:45 AM: before 2:00
    assert "After 4:45 AM on Tuesday, December 8: Do not eat or drink anything, not even water," in letters
    assert FASTING_ES[0] in letters
    assert "Después de las 12:45 a.m. del martes, 8 de diciembre: No coma nada ni tome leche." in letters


@pytest.mark.slow
def test_spanish_says_la_1_and_las_2(kit: Kit) -> None:
    """Spanish says "la 1:00" and "las 2:00": a "when" line picks its ``_one`` words when the
    hour the clock prints is of the plural category "one" (CLDR), in the letter as printed.
    English has no such words and keeps its own; the arrival label needs no article."""
    from handout_gen.packets.packet import PacketMaker

    at_one = {**SEDATED, "language": "es", "time": "07:30"}  # arrives 7:00: fasting 11 PM, 1 AM, 5 AM
    home_at_one = {**SEDATED, "language": "es", "time": "11:15", "first_name": "Ana"}  # home 1:15 PM
    rows = rows_from([at_one, home_at_one, {**at_one, "language": "en"}], kit.catalog(TODAY))
    pdf, _, _, _ = PacketMaker(kit, TODAY).press.letters([(row, row.language) for row in rows])
    buffer = io.BytesIO()
    pdf.save(buffer)
    letters = pdf_text(buffer.getvalue())
    assert "Después de la 1:00 a.m., en la noche del lunes, 7 de diciembre, al martes, 8 de diciembre:" \
        in letters
    assert "Después de las 11:00 p.m. del lunes, 7 de diciembre:" in letters
    assert "Después de las 5:00 a.m., en la noche del lunes, 7 de diciembre, al martes" in letters
    assert "Hasta la 1:15 p.m. del miércoles, 9 de diciembre:" in letters
    assert "Hasta las 9:30 a.m. del miércoles, 9 de diciembre:" in letters
    assert "las 1:" not in letters
    assert "After 1:00 AM, in the night from Monday, December 7, to Tuesday" in letters
    assert "Por favor llegue a esta hora: 7:00 a.m." in letters


@pytest.mark.parametrize(
    ("clock", "locale", "category"),
    [("13:30", "es_US", "one"), ("01:05", "es_US", "one"), ("14:00", "es_US", "other"),
     ("00:30", "es_US", "other"), ("13:30", "es", "other"), ("01:30", "es", "one"), ("13:30", "zh", "other"),
     ("13:30", "ar", "one")],
)
def test_the_hour_category_is_the_printed_hours(clock: str, locale: str, category: str) -> None:
    """A 12-hour clock (es_US, the letters' Spanish) prints 1 for 13:30, a 24-hour one (es) 13;
    12:30 AM is "12"."""
    from handout_gen.render.jinja import hour_category

    assert hour_category(datetime.fromisoformat(f"2026-12-08T{clock}"), locale) == category


def _with_dated_aftercare(project: Path, spanish_days: int | None = 2) -> Path:
    """The fixture practice with one dated aftercare step on the epidural's English edition
    (and its Spanish one, with ``spanish_days``; none: the translation has no such step)."""
    steps = {"": "Do not soak in a tub, pool, or hot tub.", ".es": "No se meta en la tina ni en la piscina."}
    for suffix, words in steps.items():
        days = 2 if not suffix else spanish_days
        if days is None:
            continue
        step = f"\ndated_aftercare:\n  - days: {days}\n    text: {words}\ncall_us_if:"
        _edit_epidural(project, suffix, "\ncall_us_if:", step)
    return project


def test_a_line_that_lasts_its_day_comes_after_that_days_others(tmp_path: Path) -> None:
    """A blood thinner restarted on the morning the 2-day aftercare step ends: "On Friday,
    December 11" (start again) comes before "Through Friday, December 11" (no tub), which
    lasts the whole day; the list read "Through Friday" first, and a reader scanning by date
    could stop there and miss the morning restart."""
    kit = load_kit(load_project(_with_dated_aftercare(copy_sample(tmp_path / "project"))))
    thinner = {**BASE, "first_name": "Ida", "last_name": "Quill", "blood_thinner": "yes",
               "blood_thinner_name": "Zapixaban (sample)",
               "blood_thinner_stop": "Take your last dose on Saturday, December 5, in the evening.",
               "blood_thinner_restart": "Start again on the morning of Friday, December 11.",
               "blood_thinner_last_dose": "2026-12-05"}
    (text,) = letter_text(kit, [thinner], TODAY)
    text = " ".join(text.split())
    assert text.index("On Friday, December 11:") < text.index("Through Friday, December 11:")


def _edit_epidural(project: Path, suffix: str, old: str, new: str) -> None:
    """Write ``new`` in place of ``old`` (found once) in an edition of the project's epidural."""
    path = project / f"content/procedures/epidural-steroid-injection{suffix}.md"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_handout_line_the_letter_dates_gives_way_in_the_packet(tmp_path: Path) -> None:
    """An aftercare line marked {packet:dated-aftercare} ("no tub for 2 days") is left out of
    a packet whose letter prints that step's last day, in the letter's language; a packet
    whose letter has no such step to print (the translation has none) keeps the line."""
    from handout_gen.packets.parts import covered_topics
    from handout_gen.packets.patient import PrepFlags

    def marked(project: Path) -> Path:
        lines = {"": "Do not soak in a tub for 2 days.", ".es": "No se meta en la tina por 2 días."}
        for suffix, line in lines.items():
            item = f"\naftercare:\n  - {line} {{packet:dated-aftercare}}\n"
            _edit_epidural(project, suffix, "\naftercare:\n", item)
        return project

    dated = load_kit(load_project(marked(_with_dated_aftercare(copy_sample(tmp_path / "dated")))))
    english_only = load_kit(load_project(marked(_with_dated_aftercare(copy_sample(tmp_path / "en"), None))))
    esi = ("epidural-steroid-injection",)
    for kit, lang, gives_way in ((dated, "en", True), (dated, "es", True), (english_only, "en", True),
                                 (english_only, "es", False)):
        covered = covered_topics(kit, esi, PrepFlags(), {"dated-aftercare"}, lang)
        meta = kit.project.procedures[esi[0]].edition(lang).meta
        kept = " ".join(meta.aftercare_in_packet(covered))
        assert (("tub" not in kept and "tina" not in kept) if gives_way else "tina" in kept), (lang, kept)
    untouched = " ".join(dated.project.procedures[esi[0]].edition("en").meta.aftercare)
    assert "Do not soak in a tub for 2 days." in untouched  # a handout and a web page print it


@pytest.mark.slow
def test_a_procedures_dated_aftercare_is_printed_as_its_last_day(tmp_path: Path) -> None:
    """"No tub for 2 days" left the counting to the patient: a procedure's dated_aftercare
    step is a line of the letter's dated list, the visit day plus its days (Wednesday,
    December 9 + 2: Friday, December 11), in the letter's language, from that language's
    edition. A translation without the step prints none (never English words in a Spanish
    list); one that gives other days is refused at its line."""
    kit = load_kit(load_project(_with_dated_aftercare(copy_sample(tmp_path / "en-es"))))
    plain = {**BASE, "first_name": "Ida", "last_name": "Quill"}
    english, spanish, other = letter_text(kit, [
        plain, {**plain, "language": "es", "patient_id": "MH-2", "first_name": "Eva"},
        {**plain, "procedures": "prp-injection", "patient_id": "MH-3", "first_name": "Bo"}], TODAY)
    assert "Through Friday, December 11: Do not soak in a tub, pool, or hot tub." in " ".join(english.split())
    assert ("Hasta el viernes, 11 de diciembre (incluido): No se meta en la tina ni en la piscina."
            in " ".join(spanish.split()))
    assert "tub" not in other
    untranslated = load_kit(load_project(_with_dated_aftercare(copy_sample(tmp_path / "en"), None)))
    (spanish_only,) = letter_text(untranslated, [{**plain, "language": "es"}], TODAY)
    assert "(incluido)" not in spanish_only and "tub" not in spanish_only
    from handout_gen.checks.runner import run_checks  # and check says so

    found = {f.file for f in run_checks(tmp_path / "en", pdf=False).findings
             if f.rule == "translation.dated-aftercare"}
    esi = "content/procedures/epidural-steroid-injection"
    assert found == {f"{esi}.{code}.md" for code in ("es", "zh", "ar")}
    project = _with_dated_aftercare(copy_sample(tmp_path / "wrong"), 3)
    spanish_file = project / "content/procedures/epidural-steroid-injection.es.md"
    line = spanish_file.read_text(encoding="utf-8").splitlines().index("dated_aftercare:") + 1
    assert [str(p) for p in load_project(project).broken["epidural-steroid-injection"]] == [
        f"content/procedures/epidural-steroid-injection.es.md:{line}: dated_aftercare: gives the days [3] "
        "where the English gives [2]: the same steps, in its order"]


@pytest.mark.slow
def test_a_numbness_that_lasts_is_called_about_at_a_time_the_letter_names(tmp_path: Path) -> None:
    """"Still numb or weak 12 hours after the treatment" left the sum to the patient: the
    letter names the time (the appointment plus practice.yaml's numbness_hours; one in the
    afternoon makes it a night-time one, felt for on getting up: packet.yaml's night_starts),
    and the closing pages' list leaves out the line it replaces. The handout on its own still
    says the hours; a letter in a language without the words (Chinese, here) prints no time,
    and its closing pages keep the line."""
    from handout_gen.handouts import Variant, render_handout
    from handout_gen.packets.packet import PacketMaker

    kit = load_kit(load_project(copy_sample(tmp_path / "project")))
    afternoon = {**BASE, "first_name": "Ida", "last_name": "Quill", "procedures": "radiofrequency-ablation",
                 "date": "2026-12-09", "time": "14:45"}
    chinese = {**afternoon, "patient_id": "MH-2", "first_name": "秀英", "last_name": "王", "language": "zh"}
    english, in_chinese = rows_from([afternoon, chinese], kit.catalog(TODAY))
    maker = PacketMaker(kit, TODAY)
    text = " ".join(pdf_text(maker.make([english])[0].data).split())
    assert ("When you get up on Thursday, December 10: If your arm or leg is still numb or weak, call us: "
            "555-0100, or 555-0199 after hours.") in text
    assert "2:45 AM" not in text
    assert "still numb or weak 12 hours" not in text and "{packet" not in text
    assert "You have a fever of" in text  # the closing pages' list, without that one line
    handout = " ".join(pdf_text(render_handout(kit.project, "radiofrequency-ablation", Variant())).split())
    assert "Your arm or leg is still numb or weak 12 hours after the treatment." in handout
    assert "{packet" not in handout
    zh = " ".join(pdf_text(maker.make([in_chinese])[0].data).split())
    assert "If your arm or leg" not in zh and "2:45" not in zh
    assert "Your arm or leg is still numb or weak 12 hours after the treatment." in zh  # the English line


@pytest.mark.slow
def test_the_site_names_the_arm_or_the_leg_that_may_stay_numb(kit: Kit) -> None:
    """A low-back injection numbs a leg, a neck one an arm: the row's site chooses the sign
    (numbness_sign_by_site, by the region before the site's "-"), in the letter's language;
    a row that names no site keeps "arm or leg"."""
    sites = ["lumbar-transforaminal", "cervical-interlaminar", ""]
    rows = [{**BASE, "patient_id": f"MH-{n}", "first_name": f"Ida{n}", "last_name": "Quill",
             "procedures": f"epidural-steroid-injection{':' if site else ''}{site}"}
            for n, site in enumerate(sites)]
    rows.append({**rows[0], "patient_id": "MH-3", "first_name": "Inés", "language": "es",
                 "procedures": "radiofrequency-ablation:lumbar"})
    lumbar, cervical, unnamed, spanish = (" ".join(t.split()) for t in letter_text(kit, rows, TODAY))
    call = ", call us: 555-0100, or 555-0199 after hours."
    assert f"After 9:30 PM on Wednesday, December 9: If your leg is still numb or weak{call}" in lumbar
    assert f"If your arm is still numb or weak{call}" in cervical and "your leg" not in cervical
    assert f"If your arm or leg is still numb or weak{call}" in unnamed
    assert "Si sigue con la pierna dormida o débil, llámenos" in spanish


def test_a_sign_by_a_site_the_procedure_does_not_have_is_refused(tmp_path: Path) -> None:
    """At the line of numbness_sign_by_site, in the English and in a translation (whose
    sites are the English edition's); the procedure is kept out, as for any mistake in it."""
    root = copy_sample(tmp_path / "project")
    folder = root / "content" / "procedures"
    lines = {}
    for name, old, new in (("epidural-steroid-injection.es.md", "  lumbar: sigue", "  thoracic: sigue"),
                           ("radiofrequency-ablation.md", "  lumbar: your", "  sacral: your")):
        text = (folder / name).read_text(encoding="utf-8")
        (folder / name).write_text(text.replace(old, new), encoding="utf-8")
        lines[name] = text[: text.index("numbness_sign_by_site:")].count("\n") + 1
    project = load_project(root)
    said = {slug: [(p.source, p.line, p.field, p.message) for p in problems]
            for slug, problems in project.broken.items()}
    assert said == {
        "epidural-steroid-injection": [(
            "content/procedures/epidural-steroid-injection.es.md", lines["epidural-steroid-injection.es.md"],
            "numbness_sign_by_site", "names thoracic: not a site of the English edition's "
            "prep.bleeding_risk (cervical-interlaminar, cervical-transforaminal, lumbar-interlaminar, "
            "lumbar-transforaminal) nor the region before a site's '-'")],
        "radiofrequency-ablation": [(
            "content/procedures/radiofrequency-ablation.md", lines["radiofrequency-ablation.md"],
            "numbness_sign_by_site", "names sacral: not a site of prep.bleeding_risk (cervical, lumbar) nor "
            "the region before a site's '-'")],
    }


def test_signs_by_site_without_the_sign_for_no_site_are_refused(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "project")
    path = root / "content" / "procedures" / "epidural-steroid-injection.md"
    text = path.read_text(encoding="utf-8")
    sign = "numbness_sign: your arm or leg is still numb or weak\n"
    path.write_text(text.replace(sign, ""), encoding="utf-8")
    (problem,) = load_project(root).broken["epidural-steroid-injection"]
    assert (problem.line, problem.message) == (
        text[: text.index("numbness_sign_by_site:")].count("\n"),  # a line up: numbness_sign's is gone
        "needs numbness_sign too: the sign for a row that names no site")


@pytest.mark.parametrize(("at", "waking"), [
    ("2026-12-09 21:59", None), ("2026-12-09 22:00", "2026-12-10 06:00"),
    ("2026-12-10 00:00", "2026-12-10 06:00"), ("2026-12-10 05:59", "2026-12-10 06:00"),
    ("2026-12-10 06:00", None), ("2026-12-10 13:00", None)])
def test_a_sign_at_night_is_felt_for_on_getting_up(kit: Kit, at: str, waking: str | None) -> None:
    """From night_starts (22:00 in the fixture) until night_ends (06:00), the night's end."""
    got = kit.text.rules.on_waking(datetime.fromisoformat(at))
    assert got == (waking and datetime.fromisoformat(waking))


def test_night_starts_before_night_ends_is_refused(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "project")
    words = root / "content" / "packet.yaml"
    text = words.read_text(encoding="utf-8")
    words.write_text(text.replace('night_starts: "22:00"', 'night_starts: "05:00"'), encoding="utf-8")
    with pytest.raises(ValidationFailed) as failed:
        load_kit(load_project(root))
    line = text[: text.index('night_starts: "22:00"')].count("\n") + 1
    said = f"content/packet.yaml:{line}: rules.night_starts: must be later in the day than night_ends (06:00)"
    assert said in str(failed.value)


def test_a_day_in_the_next_year_says_its_year(kit: Kit) -> None:
    """After a visit at the end of December, "Through Sunday, January 3" could be read as a
    year away or as gone: a day in another year than the visit's says the year; the visit's
    own days do not. Its date stays on one line, the year included."""
    row = {**BASE, "first_name": "Ida", "last_name": "Quill", "date": "2026-12-31", "time": "09:30",
           "diabetes": "yes"}  # a steroid: blood sugar checked more often for 3 days
    (text,) = letter_text(kit, [row], TODAY)
    assert "Through Sunday, January 3, 2027: Check your blood sugar" in " ".join(text.split())
    assert "After 9:30 PM on Thursday, December 31: If your arm" in " ".join(text.split())
    from handout_gen.render.jinja import weekday_date

    assert weekday_date(date(2027, 1, 3), "en", 2026) == "Sunday, January\u00a03,\u00a02027"  # one line
    assert weekday_date(date(2027, 1, 3), "es", 2026) == "domingo, 3\u00a0de\u00a0enero\u00a0de\u00a02027"


def test_two_lines_at_one_time_share_their_when_line(tmp_path: Path) -> None:
    """Two procedures whose numbness signs differ, at the same hours: one "After ..." line,
    both signs under it (the letter printed the same bold line twice, once above each)."""
    kit = load_kit(load_project(copy_sample(tmp_path / "project")))
    row = {**BASE, "first_name": "Ida", "last_name": "Quill", "date": "2026-12-09", "time": "12:00",
           "procedures": "epidural-steroid-injection;joint-injections-nerve-blocks"}
    (text,) = (" ".join(t.split()) for t in letter_text(kit, [row], TODAY))
    when = "When you get up on Thursday, December 10:"
    assert text.count(when) == 1, text
    after = text[text.index(when):]
    assert "If your arm or leg is still numb or weak" in after
    assert "If the area is still numb or weak" in after


@pytest.mark.slow
def test_a_days_line_is_read_after_the_night_that_ends_its_small_hours(tmp_path: Path) -> None:
    """A blood thinner started again "On Thursday" comes after "in the night from Wednesday to
    Thursday" (a reader counts those hours as Wednesday's), and two procedures with the same
    sign give one line, a stimulator's in its own words ("your legs"). (Without night_starts
    in packet.yaml, a sign to feel for is printed at its time in the night too.)"""
    root = copy_sample(tmp_path / "project")
    words = root / "content" / "packet.yaml"
    text = words.read_text(encoding="utf-8")
    assert text.count('\n  night_starts: "22:00"\n') == 1
    words.write_text(text.replace('\n  night_starts: "22:00"\n', "\n"), encoding="utf-8")
    kit = load_kit(load_project(root))
    thinner = {**BASE, "first_name": "Ida", "last_name": "Quill", "procedures": "radiofrequency-ablation",
               "date": "2026-12-09", "time": "12:30", "blood_thinner": "yes",
               "blood_thinner_name": "Zapixaban (sample)",
               "blood_thinner_stop": "Take your last dose on Saturday, December 5, in the evening.",
               "blood_thinner_restart": "Start again on Thursday, December 10, if there is no bleeding.",
               "blood_thinner_last_dose": "2026-12-05"}
    plain = {key: "" for key in thinner if key.startswith("blood_thinner_")}
    both = {**thinner, **plain, "patient_id": "MH-2", "blood_thinner": "no",
            "procedures": "radiofrequency-ablation;epidural-steroid-injection"}
    stimulator = {**both, "patient_id": "MH-3", "procedures": "spinal-cord-stimulation"}
    first, second, third = (" ".join(t.split()) for t in letter_text(kit, [thinner, both, stimulator], TODAY))
    night = "After 12:30 AM, in the night from Wednesday, December 9, to Thursday, December 10: If your arm"
    assert first.index(night) < first.index("On Thursday, December 10:"), first
    assert second.count("If your arm or leg is still numb or weak") == 1
    assert "If your legs are still numb or weak, call us: 555-0100" in third
