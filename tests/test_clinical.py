"""Sound clinical content (issue 11, item 6): values a practice sets, bleeding risk per site,
after-sedation rules, the check rules for relative times and "call us" deadlines, Spanish words.

Everything runs on the fixture practice (a copy of the sample); the end-to-end test reads the
real packets back with poppler.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Any

import jinja2
import pytest

from handout_gen.checks.findings import RULE_FIXES
from handout_gen.checks.runner import run_checks
from handout_gen.content.project import load_project
from handout_gen.core.errors import RosterError, ValidationFailed
from handout_gen.handouts import Variant, render_handout
from handout_gen.packets.kit import load_kit
from handout_gen.packets.patient import PrepFlags
from handout_gen.packets.prep import build_prep
from handout_gen.packets.roster import rows_from
from handout_gen.packets.run import fallback_warnings
from handout_gen.render.catalogs import translations
from handout_gen.render.jinja import clock, clock_time, opening_hours
from handout_gen.site.plan import plan_site

from .conftest import FIXTURE, copy_sample
from .pdfutil import pdf_text
from .test_clock_times import packets_of
from .test_packets import BASE

ESI = "content/procedures/epidural-steroid-injection.md"
ESI_ES = "content/procedures/epidural-steroid-injection.es.md"
PACKET = "content/packet.yaml"
INSTRUCTION_RULES = ("instructions.relative-time", "instructions.call-deadline", "instructions.unquoted-plan")
PATIENT = {**BASE, "first_name": "Alex", "last_name": "Sample"}


def edit(project: Path, name: str, old: str, new: str) -> int:
    """Replace ``old`` once in a project file; return the line the new text starts on."""
    path = project / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


# --- values the practice sets, named in content ----------------------------------------------


@pytest.mark.slow
def test_handouts_and_packet_words_print_the_practice_thresholds(sample_project: Path) -> None:
    practice = sample_project / "content/practice.yaml"
    practice.write_text(practice.read_text().replace("fever_f: 100.4", "fever_f: 100.9"))
    project = load_project(sample_project)
    text = pdf_text(render_handout(project, "radiofrequency-ablation", Variant("en")))
    assert "You have a fever of 100.9 °F or higher, or chills." in text
    assert "If you have any of these, call us at 555-0100 within 2 hours of noticing it:" in text
    assert "still numb or weak 12 hours after the treatment" in text
    assert "{{" not in text and "thresholds" not in text
    words = load_kit(project).words("es")
    # and in Celsius where the reader's language gives both (worked out from fever_f: 38.3)
    assert "fiebre de 100.9\u00a0°F (38.3\u00a0°C) o más" in words.prep_always[0]
    zh = pdf_text(render_handout(project, "epidural-steroid-injection", Variant("zh")))
    assert "发烧到 100.9 °F（38.3 °C）" in zh
    assert (
        "Si pasa de 300 mg/dL en 2 mediciones seguidas, llámenos en menos de 2 horas."
        in words.diabetes_steroid
    )


@pytest.mark.slow
def test_an_unknown_value_is_named_by_file_and_line(sample_project: Path) -> None:
    esi_line = edit(sample_project, ESI, "{{ thresholds.fever_f }}", "{{ thresholds.fevr_f }}")
    project = load_project(sample_project)  # the other procedures still load
    (problem,) = project.broken["epidural-steroid-injection"]
    assert (problem.source, problem.line, problem.rule) == (ESI, esi_line, "references.unknown-value")
    assert problem.message.startswith("unknown value '{{ thresholds.fevr_f }}' (known: thresholds.")
    packet_line = edit(
        sample_project,
        PACKET,
        "{{ thresholds.call_within_hours }} hours of",
        "{{ thresholds.call_within }} hours of",
    )
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(sample_project))
    assert f"{PACKET}:{packet_line}: unknown value '{{{{ thresholds.call_within }}}}'" in str(info.value)
    findings = [
        f for f in run_checks(sample_project, pdf=False).findings if f.rule == "references.unknown-value"
    ]
    # check reads packet.yaml as packets do, without rendering one
    assert [(f.file, f.line, f.severity) for f in findings] == [(PACKET, packet_line, "error"),
                                                                (ESI, esi_line, "error")]
    assert {f.fix for f in findings} == {RULE_FIXES["references.unknown-value"]}


# --- check: relative times and "call us" without a deadline ----------------------------------


@pytest.mark.slow
def test_instruction_rules_are_quiet_on_the_sample(sample_project: Path) -> None:
    report = run_checks(sample_project, pdf=False)
    assert [f for f in report.findings if f.rule in INSTRUCTION_RULES] == []


@pytest.mark.slow
def test_a_dated_blood_thinner_line_that_only_points_at_the_box_is_flagged(sample_project: Path) -> None:
    """Words written before %(words)s still work (they point at the box), but the list the
    patient acts on then loses the clinician's "in the morning": check says where."""
    words = sample_project / PACKET
    text = words.read_text(encoding="utf-8")
    quoted = 'Your care team\'s plan says: "%(words)s"'
    assert text.count(quoted) == 2
    words.write_text(text.replace(quoted, 'Look under "%(heading)s".', 1), encoding="utf-8")
    line = 1 + words.read_text(encoding="utf-8").split("blood_thinner_last_dose_day:")[0].count("\n")
    findings = run_checks(sample_project, pdf=False).findings
    (finding,) = [f for f in findings if f.rule == "instructions.unquoted-plan"]
    assert (finding.file, finding.line, finding.severity) == (PACKET, line, "warning")
    assert finding.message.startswith("text.en.blood_thinner_last_dose_day: points at the box")


@pytest.mark.slow
def test_a_relative_time_and_a_call_without_deadline_are_flagged(sample_project: Path) -> None:
    before = edit(
        sample_project,
        ESI,
        "- Bring a list of all your medicines.\n",
        "- Do not eat for 8 hours before your visit.\n",
    )
    call = edit(
        sample_project,
        ESI,
        "- If you take a blood thinner, call us today.",
        "- If you take a blood thinner, call us.",
    )
    spanish = edit(sample_project, ESI_ES, "llámenos hoy. No lo deje", "llámenos. No lo deje")
    edit(
        sample_project,
        PACKET,
        "Please read it now, and again the day before.",
        "Please read it now, and again the day before your visit.",
    )
    packet = edit(sample_project, PACKET, "letter_intro:", "letter_intro:")  # a folded value: its key's line
    edit(sample_project, PACKET, "Call us by the day in", "Call us on the day in")
    dye = edit(sample_project, PACKET, "    dye_allergy: >-", "    dye_allergy: >-")
    found = sorted(
        (f.file, f.line, f.rule)
        for f in run_checks(sample_project, pdf=False).findings
        if f.rule in INSTRUCTION_RULES
    )
    assert found == sorted(
        [
            (ESI, before, "instructions.relative-time"),
            (ESI, call, "instructions.call-deadline"),
            (ESI_ES, spanish, "instructions.call-deadline"),
            (PACKET, packet, "instructions.relative-time"),
            (PACKET, dye, "instructions.call-deadline"),
        ]
    )
    for rule in INSTRUCTION_RULES:
        assert rule in RULE_FIXES


# --- bleeding risk per procedure and site ----------------------------------------------------


def test_the_roster_site_chooses_the_bleeding_risk() -> None:
    kit = load_kit(load_project(FIXTURE))
    catalog, words = kit.catalog(date(2026, 11, 24)), kit.words("en")

    def asks_to_call(procedures: str) -> bool:
        (row,) = rows_from([{**PATIENT, "procedures": procedures}], catalog)
        return (
            words.blood_thinner_call in build_prep(row.procedures, row.prep_flags, kit.project, words).items
        )

    assert asks_to_call("radiofrequency-ablation:cervical")  # the neck: intermediate (ASRA 2018)
    assert not asks_to_call("radiofrequency-ablation:lumbar")  # low back: low
    assert asks_to_call("radiofrequency-ablation")  # no site: the higher risk
    assert asks_to_call("spinal-cord-stimulation-implant")  # high, one level
    with pytest.raises(RosterError) as info:
        rows_from([{**PATIENT, "procedures": "radiofrequency-ablation:thoracic"}], catalog)
    assert str(info.value).splitlines()[1] == (
        "  row 1, column procedures: names a site radiofrequency-ablation does not have "
        "(its sites: cervical, lumbar); write slug:site or the slug alone"
    )
    rows = rows_from(
        [
            {**PATIENT, "procedures": "radiofrequency-ablation"},
            {**PATIENT, "procedures": "joint-injections-nerve-blocks"},
        ],
        catalog,
    )
    said = [w for w in fallback_warnings(kit, {row.variant: [row.row] for row in rows}) if "bleeding" in w]
    assert said == [  # said once, and only where the sites differ, naming the rows
        "radiofrequency-ablation without a site (write radiofrequency-ablation:<site>, "
        "sites: cervical, lumbar) takes its highest bleeding risk (intermediate) (row 1)"
    ]


def test_a_packet_run_names_the_rows_whose_translation_is_older_than_its_english() -> None:
    """The fixture's Chinese epidural edition translates ESI-2026.1, its English is ESI-2026.2:
    the nurse hears which packets print the older text (check's translation.stale says it
    to whoever keeps the content); an up-to-date Spanish edition says nothing."""
    kit = load_kit(load_project(FIXTURE))
    catalog = kit.catalog(date(2026, 11, 24))
    rows = rows_from([{**PATIENT, "procedures": "epidural-steroid-injection", "language": lang}
                      for lang in ("zh", "es", "zh")], catalog)
    variants: dict[Any, list[int]] = {}
    for row in rows:
        variants.setdefault(row.variant, []).append(row.row)
    assert [w for w in fallback_warnings(kit, variants) if "older" in w] == [
        "epidural-steroid-injection's 'zh' edition translates ESI-2026.1, but the English is now ESI-2026.2: "
        "those packets print the older text; update the translation, or call the patients (rows 1 and 3)"
    ]


def test_the_overview_is_kept_out_of_procedure_day_packets(sample_project: Path) -> None:
    assert load_kit(load_project(sample_project)).handout_slugs(("spinal-cord-stimulation",)) == [
        "spinal-cord-stimulation"
    ]
    line = edit(
        sample_project,
        "handouts/packets.yaml",
        "procedures:\n",
        "procedures:\n  spinal-cord-stimulation:\n    handouts: [interventional-pain-care]\n",
    )
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(sample_project))
    assert (
        f"handouts/packets.yaml:{line + 2}: procedures.spinal-cord-stimulation.handouts: "
        "'interventional-pain-care' is a first-consultation overview"
    ) in str(info.value)


# --- Spanish: hours, twelve o'clock, one banner ------------------------------------------------


def test_opening_hours_and_twelve_oclock_in_the_readers_language() -> None:
    project = load_project(FIXTURE)
    orchard, riverside = project.practice.locations
    assert opening_hours(orchard.hours, "en") == "Monday to Friday, 6:30\u00a0AM to 4:30\u00a0PM"
    assert opening_hours(riverside.hours, "es") == "Lunes a jueves, 6:30\u00a0a.m. a 3:00\u00a0p.m."
    # inside a sentence, a Spanish weekday is written in lower case
    assert opening_hours(riverside.hours, "es", capital=False).startswith("lunes a jueves, 6:30")
    assert opening_hours("Every day, 9 to 5", "es") == "Every day, 9 to 5"  # free text stays as written
    # days apart are a list of the reader's language: "and", "y", "和", never an English comma
    from handout_gen.content.schema import OpeningHours

    apart = [OpeningHours(days=["wednesday", "monday", "friday"], opens="08:00", closes="12:00"),
             OpeningHours(days=["tuesday", "thursday"], opens="13:00", closes="17:00")]
    assert opening_hours(apart, "en") == (
        "Monday, Wednesday, and Friday, 8:00\u00a0AM to 12:00\u00a0PM (noon); "
        "Tuesday and Thursday, 1:00\u00a0PM to 5:00\u00a0PM")
    assert opening_hours(apart, "es").startswith("Lunes, miércoles y viernes, 8:00")
    assert opening_hours(apart, "zh").startswith("星期一、星期三和星期五")
    # and the marks between the parts are the language's own (languages.yaml)
    marks = {lang: project.languages.punctuation(lang) for lang in ("zh", "ar")}
    zh, ar = (opening_hours(orchard.hours, lang, project.catalog_dir, comma=marks[lang]["comma"],
                            semicolon=marks[lang]["semicolon"]) for lang in ("zh", "ar"))
    assert zh == "星期一至星期五，06:30至16:30"
    assert ar == "من الاثنين إلى الجمعة، من 6:30 ص إلى 4:30 م"
    assert "，" in opening_hours(apart, "zh", comma="，", semicolon="；").split("；")[1]
    assert clock_time(time(0, 0), "es") == "12:00\u00a0a.m. (medianoche)"
    assert clock_time(time(12, 0), "es") == "12:00\u00a0p.m. (mediodía)"
    assert clock_time(time(0, 0), "en") == "12:00\u00a0AM (midnight)"
    assert clock_time(time(0, 30), "es") == "12:30\u00a0a.m."
    # a 24-hour clock's 00:00 starts its day: "午夜" (midnight) beside a date reads as its end
    assert clock_time(time(0, 0), "zh", catalogs=project.catalog_dir) == "00:00"  # the catalog has 午夜
    assert clock_time(time(0, 0), "ar", catalogs=project.catalog_dir) == "12:00 ص (منتصف الليل)"
    # and so through the templates' filter, in the page's language and locale
    env = jinja2.Environment(autoescape=True)
    env.filters["clock"] = clock
    page = env.from_string("{{ at|clock }}")
    assert page.render(at=time(0, 0), lang="es", locale="es_US") == "12:00\u00a0a.m. (medianoche)"
    assert page.render(at=time(12, 0), lang="en") == "12:00\u00a0PM (noon)"


def test_the_spanish_clinic_page_exists_where_spanish_packets_point() -> None:
    project = load_project(FIXTURE)
    orchard = project.practice.locations[0]
    url = project.location_url(orchard, "es")
    assert url == "https://www.example.org/locations/orchard/es/"
    plan = plan_site(project)
    page = plan.find("location", "orchard", "es")
    assert page.path == "locations/orchard/es/" and plan.target(url) == "page"
    assert project.location_url(orchard, "en") == orchard.map_url


def test_one_draft_banner_per_language() -> None:
    project = load_project(FIXTURE)
    kit = load_kit(project)
    for lang in kit.text.text:  # the packet's banner is the handouts' (the project's catalog first)
        banner = translations(lang, project.catalog_dir).gettext("DRAFT: awaiting clinical review")
        assert kit.words(lang).draft == banner, lang


@pytest.mark.slow
def test_spanish_trial_and_english_implant_packets_read_as_a_patient_needs(
    sample_project: Path, tmp_path: Path
) -> None:
    trial = {  # arrives 8:00 AM at Riverside: the fatty-food stop is midnight
        **BASE,
        "first_name": "Inés",
        "last_name": "Prueba",
        "language": "es",
        "procedures": "spinal-cord-stimulation",
        "date": "2026-12-03",
        "time": "08:45",
        "location": "riverside",
        "sedation": "yes",
        "blood_thinner": "yes",
        "blood_thinner_name": "Clopidogrel (muestra)",
        "blood_thinner_stop": "Deje de tomarlo el jueves 26 de noviembre.",
        "blood_thinner_restart": "Su médico le dirá cuándo volver a tomarlo.",
    }
    implant = {
        **BASE,
        "first_name": "Hal",
        "last_name": "Implant",
        "procedures": "spinal-cord-stimulation-implant",
        "date": "2026-12-03",
        "time": "09:00",
        "location": "riverside",
        "sedation": "yes",
    }
    texts = packets_of(sample_project, [trial, implant], tmp_path / "out", "--today", "2026-11-24")
    spanish, english = texts[2], texts[3]
    assert "Hola, Inés Prueba:" in spanish and "Estimado" not in spanish
    # 12:00 AM on Thursday is in the night from Wednesday: said so, as the night's other times
    assert (
        "Después de las 12:00 a.m. (medianoche), en la noche del miércoles, 2 de diciembre, al jueves, "
        "3 de diciembre: "
        "No coma comida grasosa" in spanish
    )
    assert ("Después de las 2:00 a.m., en la noche del miércoles, 2 de diciembre, al jueves, "
            "3 de diciembre:") in spanish
    # the stimulator's own no-driving rule outlasts sedation's: the letter never names a time
    # to drive again, nor the checklist
    assert (
        "Hasta las 10:45 a.m. del viernes, 4 de diciembre: No tome alcohol ni firme papeles importantes. "
        "Un adulto debe quedarse con usted. No maneje hasta que su equipo de atención le diga que puede: su "
        "folleto le explica por qué."
    ) in spanish
    assert spanish.count("No maneje hasta que su equipo de atención le diga que puede") == 2  # + checklist
    assert "No maneje, no tome alcohol" not in spanish and "no maneje, no tome alcohol" not in spanish
    assert "Su medicina para diluir la sangre" in spanish and "antiagregante" not in spanish
    assert "(lunes a jueves, 6:30 a.m. a 3:00 p.m.)" in spanish and "Monday" not in spanish
    assert "www.example.org/locations/riverside/es/" in spanish and "https://" not in spanish
    assert "Prueba del estimulador de la médula espinal" in spanish and "5 a 7 días" in spanish
    assert "No se haga una resonancia" in spanish
    assert "Tratamiento intervencionista del dolor" not in spanish  # no first-visit overview
    assert "BORRADOR: pendiente" not in spanish
    # the handouts' general lines give way where the letter speaks for this patient: her
    # blood-thinner plan and his and her eating times; his handout keeps the blood-thinner
    # line (no plan for one in his letter), and no "{packet:...}" mark is ever printed
    assert "Si toma un anticoagulante (medicina para diluir la sangre), llámenos hoy" not in spanish
    assert "Si le darán sedación" not in spanish and "If you will get sedation" not in english
    assert "If you take a blood thinner, call us today." in english
    # the letter's exact end of the no-driving time stands alone: no "for 24 hours" beside it
    assert "If you had sedation" not in english and "Si le dieron sedación" not in spanish
    assert "{packet" not in spanish + english
    assert (
        "Until 11:00 AM on Friday, December 4: No alcohol or signing important papers. An adult must stay "
        "with you. Do not drive until your care team says you may: your handout explains why."
    ) in english
    assert "No driving, alcohol" not in english and "do not drive, drink alcohol" not in english
    assert "Come to your wound check about 10 to 14 days after surgery." in english
    assert 'These are called "MRI conditional."' in english
    assert "If you have any of these, call us at 555-0100 within 2 hours of noticing it:" in english
    assert "sudden, severe back pain with a fever or new weakness" in english


def test_a_rule_that_starts_at_midnight_reads_as_the_nights_other_times(tmp_path: Path) -> None:
    """12:00 AM is in the night before the visit day, as 2:00 AM is; a packet.yaml without the
    night's words says "after midnight at the end of" the day before, never Thursday's midnight."""
    from handout_gen.packets.contexts import patient_context
    from handout_gen.render.jinja import weekday_date

    row = {**PATIENT, "date": "2026-12-03", "time": "08:45", "location": "riverside", "sedation": "yes"}

    def first_when(project: Path) -> str:
        kit = load_kit(load_project(project))
        (patient,) = rows_from([row], kit.catalog(date(2026, 11, 24)))  # arrives 8:00 AM on Thursday
        first = patient_context(kit, patient, "en", date(2026, 11, 24), {})["times"][0]
        shown = {"day": weekday_date(first["at"], "en"), "eve": weekday_date(first["eve"], "en"),
                 "time": "12:00 AM"}
        assert first["text"] == kit.words("en").fast_fatty_food
        return str(first["when"] % shown)

    night = "After 12:00 AM, in the night from Wednesday, December\u00a02, to Thursday, December\u00a03:"
    assert first_when(FIXTURE) == night
    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    words.write_text(text.replace("    after_night:", "    # after_night:"), encoding="utf-8")
    assert first_when(project) == "After midnight at the end of Wednesday, December\u00a02:"

def test_a_procedure_that_limits_driving_needs_the_words_that_leave_driving_to_it(tmp_path: Path) -> None:
    """Sedation's words name a time after which the patient may drive; a stimulator's handout
    forbids driving while it is on. A packet.yaml without the words that leave driving to the
    handout is refused for such a procedure, named by file, key and the procedure."""
    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    text = words.read_text(encoding="utf-8")
    assert text.count("    after_sedation_driving_limited:") == 4
    key = "after_sedation_driving_limited"
    words.write_text(re.sub(rf"    {key}: >-\n(      .*\n)+", "", text, count=1), encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(project))
    (problem,) = info.value.problems
    assert (problem.source, problem.field) == ("content/packet.yaml", f"text.en.{key}")
    assert problem.message == "is needed: procedure 'spinal-cord-stimulation' has prep.driving_limited"
    fixture = load_kit(load_project(FIXTURE))
    plan = build_prep(("spinal-cord-stimulation",), PrepFlags(sedation=True), fixture.project,
                      fixture.words("en"))
    assert plan.sedation_rules[1].endswith(
        "Do not drive until your care team says you may: your handout explains why.")


def test_a_sedated_combination_drops_the_handouts_eat_before_you_come() -> None:
    """PRP alone is done awake ("eat a light meal before you come"); with an epidural under
    sedation in one visit the letter's fasting times hold, and the PRP pages say nothing else."""
    from handout_gen.packets.parts import handout_part, part_html
    from handout_gen.render.engine import Engine

    kit = load_kit(load_project(FIXTURE))
    engine = Engine(kit.project.root, kit.project.templates_dir)
    eat = {"en": "Eat a light meal and drink water before you come.", "es": "Coma algo ligero y tome agua"}
    for lang, line in eat.items():
        alone = handout_part(kit, "prp-injection", lang, False, ("prp-injection",), PrepFlags())
        both = ("epidural-steroid-injection", "prp-injection")
        sedated = handout_part(kit, "prp-injection", lang, False, both, PrepFlags(sedation=True))
        assert line in part_html(kit, alone.spec, engine)
        html = part_html(kit, sedated.spec, engine)
        assert line not in html and "{packet" not in html


def test_the_days_to_check_blood_sugar_are_one_practice_value(sample_project: Path) -> None:
    """"For 3 days", "for a few days" and "for 2 to 3 days" once stood side by side in one
    packet: every such sentence prints thresholds.blood_sugar_check_days. A practice.yaml
    without it (written before it existed) still loads; content that names it is then an
    error at its line."""
    practice = sample_project / "content/practice.yaml"
    text = practice.read_text(encoding="utf-8")
    four = text.replace("blood_sugar_check_days: 3", "blood_sugar_check_days: 4")
    practice.write_text(four, encoding="utf-8")
    project = load_project(sample_project)
    joints = project.procedures["joint-injections-nerve-blocks"].edition("es")
    assert "mídase el azúcar en la sangre más seguido por 4 días." in joints.text
    assert "4 days" in load_kit(project).words("en").diabetes_steroid
    practice.write_text("\n".join(line for line in text.splitlines() if "blood_sugar_check_days" not in line),
                        encoding="utf-8")
    broken = load_project(sample_project).broken
    assert {p.rule for p in broken["joint-injections-nerve-blocks"]} == {"references.unknown-value"}


def test_a_value_prints_the_words_its_number_takes() -> None:
    """Arabic says ساعة واحدة, ساعتين, 3 ساعات, 24 ساعة: forms by number after the name, '#'
    for the number, the last for every other; a form that cannot say it is a located problem
    and the text is left as it was (no half-made sentence)."""
    from handout_gen.content.values import substitute

    forms = "| 1: ساعة واحدة | 2: ساعتين | 3-10: # ساعات | # ساعة"
    text = "\n".join(f"{{{{ thresholds.{name} {forms} }}}}" for name in ("one", "two", "few", "many"))
    values = {"thresholds.one": "1", "thresholds.two": "2", "thresholds.few": "3", "thresholds.many": "24"}
    said, problems = substitute(text, values, "content/x.ar.md")
    assert said.splitlines() == ["ساعة واحدة", "ساعتين", "3 ساعات", "24 ساعة"] and problems == []
    assert substitute("{{ thresholds.one }} hour", values, "x")[0] == "1 hour"  # no forms: the number
    for bad in ("| 1: ساعة واحدة", "| one: ساعة | # ساعة", "| 2: ساعتين | ساعة", "| 10-3: # ساعات | # ساعة"):
        text = f"line one\n{{{{ thresholds.two {bad} }}}}"
        said, (problem,) = substitute(text, values, "content/x.ar.md")
        assert said == text and (problem.source, problem.line, problem.rule) == (
            "content/x.ar.md", 2, "references.bad-form")
        assert problem.message.startswith("'{{ thresholds.two | ... }}': ")
    # a placeholder never spans lines (replaced, it would move every line after it): named
    wrapped = "{{ thresholds.two | 2: ساعتين |\n# ساعة }} and {{ thresholds.one }}"
    said, (problem,) = substitute(wrapped, values, "x", first_line=7)
    assert said == "{{ thresholds.two | 2: ساعتين |\n# ساعة }} and 1" and (problem.line, problem.rule) == (
        7, "references.bad-form")
