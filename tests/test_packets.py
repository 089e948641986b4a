"""Packets end to end: real CLI runs, real WeasyPrint renders, text read back with pypdf.

One generated roster is rendered once per module (a real ``handout-gen packets`` run in a
subprocess, so stdout/stderr are exactly what a user sees) and every test inspects it.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from handout_gen.content.project import load_project
from tests.fictional import write_csv
from tests.test_hardening import drafts

from .cliutil import hg, hg_process
from .conftest import FIXTURE, SMALL_RECIPE, copy_sample, copy_warm, live_group
from .pdfutil import in_order, pdf_pages, pdf_text, pdfinfo, struct_texts, tool

TODAY = "2026-11-24"
CANARY = ("Zzyzx", "Testpatient")
BASE = {
    "patient_id": "",
    "first_name": "",
    "last_name": "",
    "language": "en",
    "procedures": "epidural-steroid-injection",
    "date": "2026-12-09",
    "time": "09:30",
    "location": "orchard",
    "physician": "okafor",
    "sedation": "no",
    "blood_thinner": "no",
    "blood_thinner_name": "",
    "blood_thinner_stop": "",
    "blood_thinner_restart": "",
    "blood_thinner_last_dose": "",
    "diabetes": "no",
    "dye_allergy": "no",
    "large_print": "no",
}
STOP = "Take your last dose of Zapixaban on Friday, December 4 in the evening."
RESTART = "Start again on Thursday, December 10, if there is no bleeding."
PATIENTS = [
    {"first_name": "Zzyzx", "last_name": "Testpatient", "sedation": "yes", "patient_id": "CANARY-1"},
    {"first_name": "Winifred", "last_name": "O'Callaghan", "procedures": "prp-injection:peripheral"},
    {"first_name": "José-Ñandú", "last_name": "Pérez Ünal", "language": "es", "sedation": "yes"},
    {
        "first_name": "<script>alert(1)</script>",
        "last_name": "{{ 7*7 }}",
        "procedures": "joint-injections-nerve-blocks",
    },
    {
        "first_name": "Theodora",
        "last_name": "Blackwood",
        "blood_thinner": "yes",
        "blood_thinner_name": "Zapixaban (sample)",
        "blood_thinner_stop": STOP,
        "blood_thinner_restart": RESTART,
        "blood_thinner_last_dose": "2026-12-04",
        "procedures": "radiofrequency-ablation",
        "time": "13:15",
        "location": "riverside",
    },
    {"first_name": "Marguerite", "last_name": "Ellsworth-Quill", "large_print": "yes", "diabetes": "yes"},
    {"first_name": "Yusuf", "last_name": "Haddad مريم", "dye_allergy": "yes"},
    {
        "first_name": "Ruth",
        "last_name": "Fairweather",
        "procedures": "spinal-cord-stimulation;interventional-pain-care",
    },
    {
        "first_name": "Graciela",
        "last_name": "Montoya",
        "language": "es",
        "large_print": "yes",
        "procedures": "spinal-cord-stimulation",
    },
]
CALL_EN = (
    "If you take a medicine that thins your blood, call us today. Do not stop it "
    "unless we and the doctor who prescribes it tell you to."
)
CALL_ES = "Si toma un anticoagulante (medicina para diluir la sangre, como clopidogrel), llámenos hoy."


def read_index(run_dir: Path) -> dict[str, int]:
    with (run_dir / "index.csv").open() as handle:
        return {row["packet_id"]: int(row["row"]) for row in csv.DictReader(handle)}


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory, worker_id: str, warm_practice: Path) -> dict[str, Any]:
    """One real packet run that many tests read; made once per test run, even with ``-n 2``,
    on a copy of the warm practice (most of its handout parts are in the cache already).

    Under xdist the first worker to get here makes it in the run's shared temp folder while
    holding a lock; the other waits and reads the same files (the xdist-documented pattern).
    """
    base = tmp_path_factory.getbasetemp()
    tmp = (base if worker_id == "master" else base.parent) / "packets-batch"
    tmp.mkdir(exist_ok=True)
    rows = [{**BASE, **p} for p in PATIENTS]
    with (tmp / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (tmp / "result.json").is_file():
            project = copy_warm(tmp / "project", warm_practice)
            roster = tmp / "roster.csv"
            write_csv(roster, rows, bom=True)
            (tmp / "tmpdir").mkdir()  # the run's $TMPDIR: what its workers leave behind
            made = hg_process(
                project, "packets", roster, "-o", tmp / "out", "--today", TODAY, "--workers", "2",
                "--print-file", check=True, env={"TMPDIR": str(tmp / "tmpdir")}
            )
            saved = {"returncode": made.returncode, "stdout": made.stdout, "stderr": made.stderr}
            (tmp / "result.json").write_text(json.dumps(saved))
    saved = json.loads((tmp / "result.json").read_text())
    result = subprocess.CompletedProcess(["handout-gen", "packets"], **saved)
    out = tmp / "out"
    (run_dir,) = out.iterdir()
    index = read_index(run_dir)
    texts = {index[p.name[7:-4]]: pdf_text(p.read_bytes()) for p in run_dir.glob("packet_*.pdf")}
    return {
        "project": tmp / "project",
        "rows": rows,
        "result": result,
        "run_dir": run_dir,
        "out": out,
        "tmpdir": tmp / "tmpdir",
        "index": index,
        "texts": texts,
    }


def text_of(batch: dict[str, Any], first_name: str) -> str:
    number = next(i for i, r in enumerate(batch["rows"], start=2) if r["first_name"] == first_name)
    return str(batch["texts"][number])


def test_the_print_file_holds_every_packet_in_row_order_each_from_a_new_sheet(batch: dict[str, Any]) -> None:
    """``--print-file``: the day's stack as one two-sided print job. Each packet's pages follow
    in roster order, a packet with an odd page count gets a blank back (so the next one starts
    a new sheet), bookmarks name rows and packet ids, and nothing names a patient outside the
    pages (the file name, its metadata, the terminal)."""
    run_dir: Path = batch["run_dir"]
    printed = run_dir / "print-all.pdf"
    assert stat.S_IMODE(printed.stat().st_mode) == 0o600
    assert "No syntax or stream encoding errors found" in tool("qpdf", "--check", printed)
    pages = pdf_pages(printed.read_bytes())
    by_row = sorted((row, packet_id) for packet_id, row in batch["index"].items())
    at, blanks = 0, 0
    with pikepdf.open(printed) as pdf, pdf.open_outline() as outline:
        marks = [(item.title, pdf.pages.index(pikepdf.Page(item.destination[0])))
                 for item in outline.root]
        titles = [f"Row {row} · packet {packet_id} · " for row, packet_id in by_row]
        assert [title[:len(start)] for (title, _), start in zip(marks, titles, strict=True)] == titles
        for (row, packet_id), (_, first) in zip(by_row, marks, strict=True):
            own = pdf_pages((run_dir / f"packet_{packet_id}.pdf").read_bytes())
            assert first == at and first % 2 == 0  # page 1, 3, 5…: the front of a sheet
            assert pages[first:first + len(own)] == own, f"row {row}"
            at = first + len(own)
            title = next(title for title, page in marks if page == first)
            assert title.endswith(f" · {-(-len(own) // 2)} sheets")  # to check the stack at the printer
            if len(own) % 2:
                assert pages[at].strip() == ""  # the blank back
                at, blanks = at + 1, blanks + 1
        assert at == len(pdf.pages) and blanks > 0
        info = " ".join(str(v) for v in pdf.docinfo.values())
        assert "/Metadata" not in pdf.Root and info == f"Packets to print: run {run_dir.name}"
    said = batch["result"].stdout
    assert f"print file: {printed}: {len(PATIENTS)} packets in row order, {len(pages)} pages" in said
    assert f"(lp -o sides=two-sided-long-edge {printed})" in said  # runs from anywhere
    for row in batch["rows"]:
        assert row["last_name"] not in said


def test_a_ctrl_c_while_the_print_file_is_made_leaves_none(batch: dict[str, Any], tmp_path: Path) -> None:
    from handout_gen.packets.printfile import write_print_file

    run_dir = tmp_path / batch["run_dir"].name
    shutil.copytree(batch["run_dir"], run_dir)
    (run_dir / "print-all.pdf").unlink()
    for stop_at in (2, len(batch["index"])):  # after two packets, and once all are merged
        answers = iter([False] * stop_at + [True])
        assert write_print_file(run_dir, tmp_path, stop=answers.__next__) is None
        assert next(answers, "all asked") == "all asked" and not (run_dir / "print-all.pdf").exists()
    assert not list(run_dir.glob(".tmp-*"))


def test_a_run_that_makes_no_packet_says_there_is_no_print_file(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**BASE, **PATIENTS[0], "procedures": "no-such-procedure"}])
    done = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, "--skip-invalid",
              "--print-file")
    assert done.returncode == 3 and "no print file: no packet was made" in done.stdout
    assert not list((tmp_path / "out").glob("*/print-all.pdf"))


def test_a_print_file_is_never_encrypted_so_it_is_refused_with_encrypt(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**BASE, **PATIENTS[0], "password": "correct horse"}])
    for check in ([], ["--check"]):  # a check that passes promises the run: it refuses it too
        done = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY,
                  "--encrypt", "--print-file", *check)
        assert done.returncode == 1
        assert "a print file cannot be encrypted: each packet has its own" in done.stderr
        assert "all good" not in done.stdout
        assert not (tmp_path / "out").exists()


def test_every_packet_names_only_its_own_patient(batch: dict[str, Any]) -> None:
    assert len(batch["texts"]) == len(PATIENTS)
    assert sorted(batch["index"].values()) == list(range(2, 2 + len(PATIENTS)))
    for number, text in batch["texts"].items():
        own = batch["rows"][number - 2]
        assert own["first_name"] in text and own["last_name"].split()[0] in text
        for other in batch["rows"]:
            if other is not own:
                assert other["last_name"].split()[0] not in text


def test_cover_letter_facts(batch: dict[str, Any]) -> None:
    text = text_of(batch, "Theodora")
    assert "Dear Theodora Blackwood," in text
    assert "Wednesday, December 9, 2026" in text
    assert "Appointment time: 1:15 PM" in text
    assert "Please arrive by: 12:30 PM" in text  # riverside: 45 minutes early
    assert "Riverside Procedure Suite, 18 Mill Race Road" in text
    assert "Adaeze Okafor, MD" in text and "Dr. " not in text
    spanish = text_of(batch, "José-Ñandú")
    assert "Hola, José-Ñandú Pérez Ünal:" in spanish
    assert "miércoles, 9 de diciembre de 2026" in spanish
    assert "Por favor llegue a esta hora: 9:00 a.m." in spanish


def test_sections_follow_flags(batch: dict[str, Any]) -> None:
    sedated = text_of(batch, "Zzyzx")  # arrives 9:00 AM on Wednesday, December 9
    assert (
        "After 1:00 AM, in the night from Tuesday, December 8, to Wednesday, December 9: Do not eat fatty or "
        "fried food or meat."
    ) in sedated
    assert "The letter at the front of this packet tells you when to stop eating and drinking." in sedated
    assert "hours before" not in sedated  # no time the patient has to work out
    assert "An adult must come with you, drive you home, and stay with you." in sedated
    # the end of the after-sedation rules, as a clock time (appointment 9:30 AM + 2 + 24 hours)
    assert "Until 11:30 AM on Thursday, December 10: No driving, alcohol, or signing important" in sedated
    assert "Your blood thinner" not in sedated
    assert "This procedure uses a steroid medicine" not in sedated  # no diabetes flag
    plain = text_of(batch, "Winifred")  # PRP, no sedation: 7 days without anti-inflammatories
    assert "Do not eat fatty" not in plain
    assert (  # the letter gives the day to start again: "until" that day (WITH_RESTART's words)
        "On Tuesday, December 1: Take your last dose of anti-inflammatory pain medicine, such as "
        "ibuprofen or naproxen. Then take none until the day below when you may start again." in plain
    )
    assert "Starting Wednesday, December 23: You may take ibuprofen or naproxen again." in plain
    thinner = text_of(batch, "Theodora")
    assert "Do not stop any blood thinner unless your care team" in thinner
    assert STOP in thinner and RESTART in thinner and "Zapixaban (sample)" in thinner
    assert f"When to stop {STOP} Your last dose Friday, December 4 When to start again" in thinner
    # the day the restart words name is in the dated list too, after the visit's own lines
    # (with the clinician's own words: "if there is no bleeding" is on the list the patient acts on)
    plan = "Your care team's plan says:"
    # the drug named too: the patient may take more than one medicine
    drug = "Zapixaban (sample)"
    restart = f'On Thursday, December 10: Start your blood thinner again, {drug}. {plan} "{RESTART}"'
    last = f'On Friday, December 4: Last day of your blood thinner, {drug}. {plan} "{STOP}"'
    assert in_order(thinner, [last, restart, "When to stop"]) == []
    diabetic = text_of(batch, "Marguerite")
    # the last day to check blood sugar more often is a day in the list; the checklist points there
    assert "Through Saturday, December 12: Check your blood sugar more often than usual" in diabetic
    assert "uses a steroid medicine, which can raise your blood sugar for a few days." in diabetic
    assert "Start your blood thinner again" not in diabetic  # no blood thinner, no such line
    dye = text_of(batch, "Yusuf")
    assert "You told us you are allergic to X-ray dye." in dye
    # 3 days before Wednesday, December 9 is a Sunday: the call-by day moves to the Friday
    assert "By Friday, December 4: Call us at 555-0100 about your X-ray dye allergy" in dye
    assert "Tell us if you ever had a reaction to X-ray dye." in text_of(batch, "Zzyzx")
    both = text_of(batch, "Ruth")  # a row naming two procedures gets both handouts
    assert "Spinal Cord Stimulator Trial" in both and "Interventional Pain Care" in both
    # a procedure-day packet never gets the first-consultation overview ("no shot at the first visit")
    trial = text_of(batch, "Graciela")
    assert "Prueba del estimulador de la médula espinal" in trial
    assert "Tratamiento intervencionista del dolor" not in trial and "ninguna inyección" not in trial
    for text in batch["texts"].values():
        assert (
            "Instructions from your care team for you override the general handout." in text
            # (a page may break inside the Spanish sentence: its start is enough here)
            or "Las instrucciones que su equipo de atención le da a usted valen más" in text
        )
        assert "Call 911 or go to the nearest emergency room" in text or "Llame al 911" in text
        assert (
            "Packet version PKT-2026.3, printed November 24, 2026." in text or "Versión del paquete" in text
        )


def test_hostile_names_print_as_text(batch: dict[str, Any]) -> None:
    text = text_of(batch, "<script>alert(1)</script>")
    assert "Dear <script>alert(1)</script> {{ 7*7 }}," in text
    assert "Dear 49" not in text
    assert "O'Callaghan" in text_of(batch, "Winifred")


def test_canary_appears_nowhere_but_its_packet(batch: dict[str, Any]) -> None:
    result = batch["result"]
    out: Path = batch["out"]
    for canary in CANARY:
        assert canary not in result.stdout and canary not in result.stderr
        for path in out.rglob("*"):
            assert canary not in path.name
            if path.suffix in (".csv", ".jsonl"):
                assert canary not in path.read_text()
    assert result.stdout.startswith(f"wrote {len(PATIENTS)} packets to ")
    # the private index holds packet ids and row numbers only
    lines = (batch["run_dir"] / "index.csv").read_text().splitlines()
    assert lines[0] == "packet_id,row"
    assert all(line.split(",")[1].isdigit() and len(line.split(",")) == 2 for line in lines[1:])
    for path in batch["run_dir"].glob("packet_*.pdf"):
        pdf = pikepdf.open(path)
        meta_text = str(pdf.docinfo) + str(pdf.open_metadata())
        with pdf.open_outline() as outline:
            titles = [item.title for item in outline.root]
        for canary in (*CANARY, "Theodora", "Winifred", "Marguerite"):
            assert canary not in meta_text and canary not in " ".join(titles)
        assert str(pdf.docinfo["/Title"]) in (
            "Your procedure information packet",
            "Su paquete de información para el procedimiento",
        )


def test_bookmarks_per_section(batch: dict[str, Any]) -> None:
    pdf = pikepdf.open(packet_path(batch, "Zzyzx"))
    with pdf.open_outline() as outline:
        titles = [item.title for item in outline.root]
    assert titles == [
        "Your appointment",
        "Getting ready: your checklist",
        "What to bring",
        "On the day",
        "Epidural Steroid Injection",
        "After your procedure",
        "When to call us",
        "Contacts",
        "Please read",
    ]


def packet_path(batch: dict[str, Any], first_name: str) -> Path:
    number = next(i for i, r in enumerate(batch["rows"], start=2) if r["first_name"] == first_name)
    return Path(batch["run_dir"]) / f"packet_{index_of(batch['index'], number)}.pdf"


def test_a_whole_packet_reads_in_order_from_its_structure_tree(batch: dict[str, Any]) -> None:
    """poppler reads the tree: the letter (greeting, date, place and its map link, the
    blood-thinner box), then the prep checklist drawn on from the letter's pages, the
    handout's headings, and the closing pages with the packet's one emergency list."""
    data = packet_path(batch, "Theodora").read_bytes()
    tree = " ".join(" ".join(struct_texts(data)).split())
    assert in_order(tree, [
        "Your appointment", "Dear Theodora Blackwood,", "Date: Wednesday, December 9, 2026",
        "Appointment time: 1:15 PM", "Where: Riverside", "www.example.org/locations/riverside",
        "Your blood thinner", "Zapixaban (sample)", "Your care team at Maple Hollow",
        "Getting ready: your checklist", "Tick each box when it is done.", "What to bring",
        "Your photo ID and insurance card.", "On the day", "Check in at the front desk",
        "Radiofrequency Ablation", "Key points", "What it is", "Who it may help", "Before your visit",
        "The day of your visit", "After your visit", "After your procedure", "When to call us",
        "Call 911 or go to the nearest emergency room if:", "Contacts", "Please read",
    ]) == [], tree
    # the page stamp ("Page 1 of 9 · Packet ...") is an artifact: in the text, not in the tree
    stamp = re.compile(r"Page \d+ of \d+|Packet [0-9a-f]{16}")
    assert stamp.search(pdf_text(data)) and not stamp.search(tree)
    # the page furniture (header, footer) is an artifact, not read as content
    assert "DRAFT: awaiting clinical review" not in tree and "Call us: 555-0100" not in tree


def test_every_packet_is_one_tagged_pdfua_document_of_its_own(batch: dict[str, Any]) -> None:
    """Tagged, qpdf-clean, PDF/UA items clean; its tree names its own patient and no other,
    and every element, marked-content and object reference is on a page of this packet."""
    from handout_gen.checks.tagged import pdfua_problems

    rows = batch["rows"]
    for path in sorted(Path(batch["run_dir"]).glob("packet_*.pdf")):
        data = path.read_bytes()
        assert pdfinfo(path)["Tagged"] == "yes"
        assert "No syntax or stream encoding errors found" in tool("qpdf", "--check", path)
        assert pdfua_problems(data) == [], path.name
        own = rows[batch["index"][path.name[7:-4]] - 2]
        tree = " ".join(struct_texts(data))
        names = [r["last_name"].split()[0] for r in rows]  # the Latin part: "Haddad مريم" → "Haddad"
        assert [name for name in names if name in tree] == [own["last_name"].split()[0]]
        pdf = pikepdf.open(path)
        pages = {page.objgen for page in pdf.pages}
        refs = [node.Pg for node in _tree_nodes(pdf.Root.StructTreeRoot) if "/Pg" in node]
        assert refs and all(page.objgen in pages for page in refs)
        assert len({s.objgen for s in pdf.Root.StructTreeRoot.K.K}) == len(pdf.Root.StructTreeRoot.K.K)


def _tree_nodes(node: Any) -> Iterator[Any]:
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary):
            yield kid
            yield from _tree_nodes(kid)


def test_audit_log_and_modes(batch: dict[str, Any]) -> None:
    # the workers' WeasyPrint font folders are gone with them (no __del__ runs in a worker)
    assert list(batch["tmpdir"].iterdir()) == []
    run_dir: Path = batch["run_dir"]
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    names = {p.name for p in run_dir.iterdir()}
    packets_on_disk = {f"packet_{packet_id}.pdf" for packet_id in batch["index"]}
    assert len(packets_on_disk) == len(PATIENTS)
    assert names == {".handout-gen-run", "audit.jsonl", "index.csv", "print-all.pdf", *packets_on_disk}
    for path in run_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    # in roster order once the run is done, however its chunks finished
    assert [line.split(",")[1] for line in (run_dir / "index.csv").read_text().splitlines()] == [
        "row", *map(str, range(2, 2 + len(PATIENTS)))]
    records = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    assert records[0] == {**records[0], "event": "run-start", "print_date": TODAY, "delivery_days": 0,
                          "allow_late": False, "allow_closed": False}
    assert records[-1] == {
        **records[-1],
        "event": "run-complete",
        "packets": len(PATIENTS),
    }
    packets = [r for r in records if r["event"] == "packet"]
    assert {r["packet"] for r in packets} == set(batch["index"])
    import hashlib

    (printed,) = [r for r in records if r["event"] == "print-file"]
    assert hashlib.sha256((run_dir / "print-all.pdf").read_bytes()).hexdigest() == printed["sha256"]

    for record in packets:
        assert set(record) == {"time", "user", "event", "run", "packet", "versions", "sha256", "encrypted"}
        data = (run_dir / f"packet_{record['packet']}.pdf").read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
        assert record["versions"]["packet"] == "PKT-2026.3"


def test_large_print_cover(batch: dict[str, Any]) -> None:
    from handout_gen.checks.pdfchars import pdf_pages

    cover = next(pdf_pages(packet_path(batch, "Marguerite").read_bytes()))
    sizes = [round(c.size) for c in cover.chars if c.text.strip()]
    body = max(set(sizes), key=sizes.count)
    assert body >= 18


@pytest.mark.slow
def test_bad_roster_writes_nothing(tmp_path: Path, warm_project: Path) -> None:
    project = warm_project
    roster = tmp_path / "roster.csv"
    write_csv(
        roster,
        [
            {**BASE, "first_name": "Zzyzx", "last_name": "Testpatient"},
            {**BASE, "first_name": "Zzyzx", "last_name": "", "location": "moon"},
            {**BASE, "first_name": "Ana", "last_name": "Zzyzx", "blood_thinner": "yes"},
            {**BASE, "first_name": "Zzyzx", "last_name": "Testpatient"},  # row 2 pasted again
        ],
    )
    result = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [  # no progress-bar label before a validation error
        "Error: 6 problems in roster.csv; nothing was written:",
        "  row 3, column last_name: is empty; every packet needs the patient's name",
        "  row 3, column location: is not a location id or name in practice.yaml (known: orchard, riverside)",
        "  row 4, column blood_thinner_name: is empty; name the blood thinner the instructions are for",
        "  row 4, column blood_thinner_stop: is empty; a clinician must write when to stop and restart the blood thinner (the packet never uses a default)",  # noqa: E501
        "  row 4, column blood_thinner_restart: is empty; a clinician must write when to stop and restart the blood thinner (the packet never uses a default)",  # noqa: E501
        "  row 5, column patient_id: repeats row 2: the same patient at the same date and time (two procedures at one visit go in one procedures cell)",  # noqa: E501
    ]
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()
    skipped = hg(
        project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, "--skip-invalid", check=False
    )
    assert skipped.returncode == 3  # made what it could, skipped rows: distinct from success and failure
    assert skipped.stdout.startswith("wrote 1 packet to ")
    # the row pasted twice needs no call: its patient's packet is made from the first
    assert ("3 rows skipped (listed in skipped.csv): fix 2 rows and run a roster of those rows alone "
            "(the others have their packets); 1 repeated an earlier row (its packet is made)"
            ) in skipped.stdout
    assert "Skipped row 3, column last_name: is empty" in skipped.stderr
    # the desk's list of rows to call: row, column and why, in the run folder, private
    (listed,) = (tmp_path / "out").glob("*/skipped.csv")
    assert stat.S_IMODE(listed.stat().st_mode) == 0o600
    rows = list(csv.reader(listed.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["row", "column", "problem"] and [r[:2] for r in rows[1:]] == [
        ["3", "last_name"], ["3", "location"], ["4", "blood_thinner_name"], ["4", "blood_thinner_stop"],
        ["4", "blood_thinner_restart"], ["5", "patient_id"]]
    assert "Zzyzx" not in listed.read_text(encoding="utf-8")
    assert "Zzyzx" not in skipped.stderr + skipped.stdout


@pytest.mark.slow
def test_encrypted_packet_opens_only_with_its_password(tmp_path: Path, warm_project: Path) -> None:
    project = warm_project
    roster = tmp_path / "roster.csv"
    secret = "correct horse 42"  # noqa: S105
    write_csv(roster, [{**BASE, "first_name": "Ana", "last_name": "Lockwood", "password": secret}])
    hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, "--encrypt", check=True)
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(path)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(path, password=secret + "x")
    pdf = pikepdf.open(path, password=secret)
    assert pdf.is_encrypted and pdf.user_password_matched and not pdf.owner_password_matched
    encrypt = pdf.trailer.Encrypt
    assert (str(encrypt.Filter), int(encrypt.V), int(encrypt.R)) == ("/Standard", 5, 6)
    assert str(encrypt.CF.StdCF.CFM) == "/AESV3"  # AES-256, never RC4
    assert pdf.encryption.bits == 256
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    assert reader.is_encrypted and reader.decrypt(secret)
    assert "Dear Ana Lockwood," in " ".join((p.extract_text() or "") for p in reader.pages[:1]).replace(
        "\n", " "
    )
    # without --encrypt a roster with passwords is refused (never plain packets unasked), also by --check
    for extra in ((), ("--check",), ("--skip-invalid",)):
        plain = hg(project, "packets", roster, "-o", tmp_path / "plain", "--today", TODAY, *extra)
        assert plain.returncode == 1 and not (tmp_path / "plain").exists()
        assert "file, column password: has passwords, but --encrypt was not given" in plain.stderr
        assert secret not in plain.stderr + plain.stdout


@pytest.mark.slow
def test_single_packet_command(tmp_path: Path, warm_project: Path) -> None:
    project = warm_project
    result = hg(
        project,
        "packet",
        "--first-name",
        "Zzyzx",
        "--last-name",
        "Testpatient",
        "--procedure",
        "radiofrequency-ablation",
        "--date",
        "2026-12-09",  # after the stop day STOP names
        "--time",
        "8:15 AM",
        "--location",
        "orchard",
        "--physician",
        "lindqvist",
        "--blood-thinner",
        "--blood-thinner-name",
        "Zapixaban (sample)",
        "--stop",
        STOP,
        "--restart",
        RESTART,
        "--lang",
        "es",
        "-o",
        tmp_path / "out",
        "--today",
        TODAY, check=True,
    )
    assert "Zzyzx" not in result.stdout + result.stderr
    assert result.stderr == (  # off a terminal no progress bar, not even its label; no "rows"
        "Warning: radiofrequency-ablation without a site (write radiofrequency-ablation:<site>, sites: "
        "cervical, lumbar) takes its highest bleeding risk (intermediate)\n"
        + drafts("packet.yaml", "procedures/radiofrequency-ablation.es.md", one=True) + "\n")
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    text = pdf_text(path.read_bytes())
    assert "Hola, Zzyzx Testpatient:" in text and STOP in text
    missing = hg(
        project,
        "packet",
        "--first-name",
        "A",
        "--last-name",
        "B",
        "--procedure",
        "radiofrequency-ablation",
        "--date",
        "2026-12-02",
        "--time",
        "8:15",
        "--location",
        "orchard",
        "--physician",
        "lindqvist",
        "--blood-thinner",
        "--today",
        TODAY,
        check=False,
    )
    assert missing.returncode == 1
    assert "--blood-thinner-name: is empty; name the blood thinner" in missing.stderr
    assert "--stop: is empty" in missing.stderr


def test_the_packet_command_names_every_missing_option_at_once(sample_project: Path) -> None:
    """Not one a run, as Click would: the desk fills them all in one go; nothing is written."""
    result = hg(sample_project, "packet", "--first-name", "Zzyzx", "--time", "9:30", "--location", " ")
    assert result.returncode == 2
    assert result.stderr.endswith("Error: Missing options --last-name, --procedure, --date, --location, "
                                  "--physician (see the example in --help)\n")
    assert "Zzyzx" not in result.stderr and not (sample_project / "output").exists()


def test_the_skipped_rows_line_tells_rows_to_fix_from_patients_to_call() -> None:
    """A row with a mistake is fixed and run again; a right row too late for a rule means a
    call; a row repeating another needs nothing; any mistake makes a row one to fix."""
    from handout_gen.cli.packets import _skipped_line
    from handout_gen.core.errors import Problem
    from handout_gen.packets.roster import LATE_RULE
    from handout_gen.packets.roster_check import REPEATED_RULE

    late = {"rule": LATE_RULE}
    problems = [Problem("roster", "is empty", 2, "first_name"), Problem("roster", "late", 3, "date", **late),
                Problem("roster", "late", 4, "date", **late), Problem("roster", "x", 5, rule=REPEATED_RULE),
                Problem("roster", "is empty", 6, "time"), Problem("roster", "late", 6, "date", **late)]
    assert _skipped_line([2, 3, 4, 5, 6], problems) == (
        "5 rows skipped (listed in skipped.csv): fix 2 rows and run a roster of those rows alone (the "
        "others have their packets); call the patients of 2 rows (too late for a rule); 1 repeated an "
        "earlier row (its packet is made)")


def test_a_warning_names_its_rows_by_number() -> None:
    """A fallback warning says which rows it is about (the nurse calls those patients), by
    number only; a long list is cut short with a count."""
    from handout_gen.packets.run import _rows_named

    assert _rows_named([]) == ""
    assert _rows_named([9]) == " (row 9)"
    assert _rows_named([9, 4, 4]) == " (rows 4 and 9)"
    assert _rows_named(list(range(2, 22))) == " (rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 8 more)"


@pytest.mark.slow
def test_missing_translation_falls_back_with_a_plain_warning(tmp_path: Path, warm_project: Path) -> None:
    project = warm_project
    (project / "content/procedures/prp-injection.es.md").unlink()
    roster = tmp_path / "roster.csv"
    write_csv(
        roster,
        [
            {
                **BASE,
                "first_name": "Zzyzx",
                "last_name": "Testpatient",
                "language": "es",
                "procedures": "prp-injection",
            }
        ],
    )
    result = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, check=True)
    assert (
        "Warning: prp-injection has no 'es' edition; this packet uses the English handout (row 2)\n"
        in result.stderr  # the row, for the nurse to call: never the name
    )
    assert "Zzyzx" not in result.stderr
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    data = path.read_bytes()
    text = pdf_text(data)
    assert "Hola, Zzyzx Testpatient:" in text and "Platelet-Rich Plasma" in text
    # the tree says which part is in which language: the letter Spanish, the handout English
    pdf = pikepdf.open(io.BytesIO(data))
    sections = {str(s.T): str(s.Lang) for s in pdf.Root.StructTreeRoot.K.K}
    assert str(pdf.Root.Lang) == "es" and sections["Su cita"] == "es"
    assert sections["Platelet-Rich Plasma (PRP) Injection"] == "en"
    assert "Platelet-Rich Plasma" in " ".join(struct_texts(data))


@pytest.mark.slow
def test_sample_packet_for_the_preview() -> None:
    from handout_gen.packets.packet import sample_packet

    project = load_project(FIXTURE)
    data = sample_packet(project)
    assert data.startswith(b"%PDF")
    assert "Dear Alex Sample," in pdf_text(data)




def fictional_run(
    tmp_path: Path, warm: Path, count: int, slugs: tuple[str, ...] = SMALL_RECIPE
) -> tuple[Path, Path, list[dict[str, str]]]:
    """A project copy and a roster of ``count`` invented patients (two procedures: few static
    parts to render before the first packet)."""
    from datetime import date

    from handout_gen.packets.kit import load_kit
    from tests.fictional import fictional_roster

    project = copy_warm(tmp_path / "project", warm)
    catalog = load_kit(load_project(project)).catalog(date.fromisoformat(TODAY))
    rows = fictional_roster(count, catalog, slugs=slugs)
    roster = tmp_path / "tomorrow.csv"
    write_csv(roster, rows)
    return project, roster, rows


def packets_args(roster: Path, out: Path, workers: int = 2) -> list[str]:
    return ["packets", str(roster), "-o", str(out), "--today", TODAY, "--workers", str(workers)]


def packets_command(project: Path, roster: Path, out: Path) -> list[str]:
    """``handout-gen packets`` of ``roster`` as a real process of its own (for signals)."""
    return [sys.executable, "-m", "handout_gen", "--project", str(project), *packets_args(roster, out)]


def wait_for(condition: Any, timeout: float = 120) -> None:
    import time as clock

    deadline = clock.monotonic() + timeout
    while not condition():
        assert clock.monotonic() < deadline, "timed out"
        clock.sleep(0.02)


def index_of(index: dict[str, int], row: int) -> str:
    """The packet id of roster row ``row`` (as index.csv numbers it: the header is row 1)."""
    return next(packet_id for packet_id, number in index.items() if number == row)


def assert_consistent(run_dir: Path) -> dict[str, int]:
    """Every packet on disk is listed in the index and has one audit line, and the other way
    round; nothing half-written or locked is left. Returns the index."""
    index = read_index(run_dir)
    on_disk = {p.name[len("packet_") : -len(".pdf")] for p in run_dir.glob("packet_*.pdf")}
    audit = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    audited = [r["packet"] for r in audit if r["event"] == "packet"]
    assert on_disk == set(index) == set(audited) and len(audited) == len(index)
    assert not list(run_dir.glob(".tmp-*")) and not (run_dir / ".lock").exists()
    for packet_id in index:
        assert len(pikepdf.open(run_dir / f"packet_{packet_id}.pdf").pages) > 3  # whole packets
    return index


@pytest.mark.slow
def test_120_rows_and_a_killed_run(tmp_path: Path, warm_practice: Path, process_group: list[int]) -> None:
    """SIGKILL the parent of a 120-row run part-way: its workers die with it at once (they
    would otherwise finish their chunks unlisted, holding the run lock); the rerun removes
    the unlisted packets, says how many, and makes a complete set."""
    import signal
    import time as clock

    project, roster, rows = fictional_run(tmp_path, warm_practice, 120)
    rows[17].update(first_name="Zzyzx", last_name="Testpatient")
    write_csv(roster, rows)
    out = tmp_path / "out"
    # No pipes: a worker outliving its parent would hold them open and hang the test.
    process = subprocess.Popen(packets_command(project, roster, out), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    process_group.append(process.pid)
    wait_for(lambda: list(out.glob("*/packet_*.pdf")) or process.poll() is not None)
    os.kill(process.pid, signal.SIGKILL)  # the parent only, as `kill -9 PID` does
    killed_at = clock.monotonic()
    process.wait()
    while live_group(process.pid) and clock.monotonic() - killed_at < 1:
        clock.sleep(0.02)
    assert live_group(process.pid) == [], "worker processes outlived the killed run"
    (killed,) = out.iterdir()
    done = list(killed.glob("packet_*.pdf"))
    assert 0 < len(done) < 120
    clock.sleep(0.3)
    assert len(list(killed.glob("packet_*.pdf"))) == len(done)  # nobody writes there any more
    for path in done:  # every file present is a whole packet
        assert len(pikepdf.open(path).pages) > 3
    index = read_index(killed)
    assert all((killed / f"packet_{pid}.pdf").is_file() for pid in index)
    orphans = len(done) - len(index)

    rerun = hg_process(project, *packets_args(roster, out), check=True)
    removed = f"{orphans} packet" if orphans == 1 else f"{orphans} packets"  # the test's own wording
    assert (
        f"Warning: run {killed.name} did not finish; removed {removed} it had not listed in "
        "index.csv." in rerun.stderr
    )
    assert not list(out.rglob(".tmp-*")) and not list(out.rglob(".lock"))
    assert_consistent(killed)  # the killed run keeps exactly what it listed: no unlisted PHI file
    (new,) = [d for d in out.iterdir() if d != killed]
    index = assert_consistent(new)
    packets = sorted(new.glob("packet_*.pdf"))
    assert len(packets) == 120 and sorted(index.values()) == list(range(2, 122))
    # The tree is read back for a sample: poppler takes about 0.2 s a packet to read it (it
    # parses a page again for every marked-content id), and every packet's text is checked.
    # Each packet's own tree is checked on a whole batch in
    # test_every_packet_is_one_tagged_pdfua_document_of_its_own.
    sample = {index_of(index, 2), index_of(index, 19), index_of(index, 121)}  # first, Zzyzx, last
    for path in packets:
        data = path.read_bytes()
        text = pdf_text(data)
        own = rows[index[path.name[7:-4]] - 2]
        assert (
            f"Dear {own['first_name']} {own['last_name']}," in text
            or f"Hola, {own['first_name']} {own['last_name']}:" in text
        )
        assert sum(r["last_name"] in text for r in rows) == 1
        with pikepdf.open(io.BytesIO(data)) as pdf:
            assert pdf.Root.MarkInfo.Marked is True  # what poppler reports as "Tagged: yes" (below)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        if path.name[7:-4] in sample:  # one tagged tree, with this patient's name and no other's
            assert pdfinfo(path)["Tagged"] == "yes"
            tree = " ".join(struct_texts(data))
            assert f"{own['first_name']} {own['last_name']}" in tree
            assert sum(f"{r['first_name']} {r['last_name']}" in tree for r in rows) == 1
    for name in ("Zzyzx", "Testpatient"):
        assert name not in rerun.stdout + rerun.stderr
        assert not any(name in p.name for p in out.rglob("*"))


@pytest.mark.slow
def test_ctrl_c_late_in_a_run_stops_cleanly(
    tmp_path: Path, warm_practice: Path, process_group: list[int]
) -> None:
    """Ctrl-C at a terminal reaches the whole process group, workers included, late in a run
    (some workers idle, waiting for work): no traceback from any process, exit 130, and the
    run folder holds only listed packets."""
    import signal

    # 120 rows over two workers: two chunks of 60; the worker that finishes first waits,
    # idle, while the other makes the last packets (where Ctrl-C used to print a traceback).
    project, roster, _ = fictional_run(tmp_path, warm_practice, 120)
    out = tmp_path / "out"
    with (tmp_path / "stdout").open("w") as out_file, (tmp_path / "stderr").open("w") as err_file:
        process = subprocess.Popen(packets_command(project, roster, out), stdout=out_file,
                                   stderr=err_file, start_new_session=True)
    process_group.append(process.pid)
    wait_for(lambda: len(list(out.glob("*/packet_*.pdf"))) >= 100 or process.poll() is not None)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(60)
    stdout, stderr = (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.endswith("Interrupted; finished files are kept, nothing half-written. Run the roster "
                           "again for a whole set.\n")
    assert stdout == ""
    assert live_group(process.pid) == []
    (run_dir,) = out.iterdir()
    index = assert_consistent(run_dir)
    assert len(index) < 120
    audit = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    assert audit[-1] == {**audit[-1], "event": "run-stopped", "reason": "interrupted", "packets": len(index)}


@pytest.mark.slow
def test_a_full_disk_is_a_clean_error(tmp_path: Path, warm_practice: Path, small_disk: Any) -> None:
    """The output folder is a small real disk (tmpfs) that fills up while packets are
    written: a plain error (exit 1, no traceback), and the index and the audit log still
    agree with the files."""
    project, roster, _ = fictional_run(tmp_path, warm_practice, 6)
    disk = small_disk(400)  # room for about five packets; two chunks of three over two workers
    result = hg_process(project, *packets_args(roster, disk, 2), check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr or "short write" in result.stderr
    (run_dir,) = [d for d in disk.iterdir() if d.is_dir()]
    index = assert_consistent(run_dir)
    assert (
        f"The run stopped: the {len(index)} {'packet' if len(index) == 1 else 'packets'} listed in "
        f"{run_dir / 'index.csv'} {'is' if len(index) == 1 else 'are'} complete; "
        "unfinished ones were removed. Free some space and run the roster again\n" in result.stderr
    )


@pytest.mark.slow
def test_a_disk_that_fills_as_a_chunk_is_listed_lists_it_nowhere(
    tmp_path: Path, warm_practice: Path, small_disk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills just as a chunk is listed (a ballast file takes every free byte then):
    its index lines still fit in the index's first page, its audit lines need a new page of
    the audit log and do not fit. The index lines are taken back, the chunk's packets
    removed: a clean OutputError, and index and audit log agree with the files. (Sizing a
    disk from a measured run instead left this to how many bytes random packet ids take.)"""
    from datetime import date

    from handout_gen.core.errors import OutputError
    from handout_gen.packets.folder import RunFolder
    from handout_gen.packets.run import RunOptions, run_packets

    project, roster, _ = fictional_run(tmp_path, warm_practice, 14, slugs=("prp-injection",))
    disk = small_disk(4096)  # room for every packet of the one chunk
    record = RunFolder.record

    def fill_then_record(folder: RunFolder, records: list[dict[str, Any]]) -> None:
        space = os.statvfs(disk)
        with (disk / "ballast").open("wb") as ballast, contextlib.suppress(OSError):
            ballast.write(b"\0" * (space.f_bavail * space.f_frsize))
        record(folder, records)

    monkeypatch.setattr(RunFolder, "record", fill_then_record)
    options = RunOptions(out_root=disk, workers=1, today=date.fromisoformat(TODAY))
    with pytest.raises(OutputError) as info:
        run_packets(load_project(project), roster, options)
    said = str(info.value)
    assert "cannot append to" in said and "audit.jsonl" in said
    assert "No space left on device" in said or "short write" in said
    (run_dir,) = [d for d in disk.iterdir() if d.is_dir()]
    assert assert_consistent(run_dir) == {}
    assert (run_dir / "index.csv").read_text() == "packet_id,row\n"


@pytest.mark.slow
def test_a_full_disk_stops_the_worker_pool_in_process(
    tmp_path: Path, warm_practice: Path, small_disk: Any
) -> None:
    """The library call (no CLI): chunks of two over two workers, the disk fills after a few.
    A clean OutputError, the workers gone, and only listed packets left. While they work,
    the workers hold none of the run's files open: not the lock, not the journals."""
    import multiprocessing
    from datetime import date

    from handout_gen.core.errors import OutputError
    from handout_gen.packets.run import RunOptions, run_packets

    project, roster, _ = fictional_run(tmp_path, warm_practice, 10, slugs=("prp-injection",))
    disk = small_disk(500)  # about six packets
    options = RunOptions(out_root=disk, workers=2, today=date.fromisoformat(TODAY), chunk_size=2)
    done: list[int] = []
    held_by_workers: set[str] = set()

    def progress(count: int) -> None:
        done.append(count)
        for child in multiprocessing.active_children():
            for fd in Path(f"/proc/{child.pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    held_by_workers.add(os.readlink(fd))

    with pytest.raises(OutputError) as info:
        run_packets(load_project(project), roster, options, progress=progress)
    assert multiprocessing.active_children() == []
    (run_dir,) = [d for d in disk.iterdir() if d.is_dir()]
    index = assert_consistent(run_dir)
    assert sum(done) == len(index) and 0 < len(index) < 10
    # (a worker may be caught writing its own packet's temporary file: that one is its to hold)
    shared = {f for f in held_by_workers
              if f.startswith(str(run_dir)) and not Path(f).name.startswith(".tmp-")}
    assert held_by_workers and not shared
    assert "No space left on device" in str(info.value) or "short write" in str(info.value)
    assert str(info.value).endswith(
        f"The run stopped: the {len(index)} {'packet' if len(index) == 1 else 'packets'} listed in "
        f"{run_dir / 'index.csv'} {'is' if len(index) == 1 else 'are'} complete; "
        "unfinished ones were removed. Free some space and run the roster again"
    )
    audit = [json.loads(line) for line in (run_dir / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["event"] in ("packet", "run-stopped")  # a stop line, if the disk had room for it


@pytest.mark.slow
def test_non_latin_names_reach_the_text_layer(tmp_path: Path, warm_project: Path) -> None:
    """CJK and Arabic names are text in the PDF. (Atkinson Hyperlegible has neither script;
    Arabic falls back to DejaVu Sans; CJK needs a CJK font such as fonts-noto-cjk installed,
    or it prints as empty boxes, which WeasyPrint reports as a warning without the name.)"""
    from .pdfutil import tool

    project = warm_project
    result = hg(
        project,
        "packet",
        "--first-name",
        "李小龍",
        "--last-name",
        "Haddad مريم",
        "--procedure",
        "prp-injection",
        "--date",
        "2026-12-02",
        "--time",
        "9:00",
        "--location",
        "orchard",
        "--physician",
        "okafor",
        "-o",
        tmp_path / "out",
        "--today",
        TODAY, check=True,
    )
    assert "李" not in result.stderr and "Haddad" not in result.stderr
    (path,) = (tmp_path / "out").glob("*/packet_*.pdf")
    text = tool("pdftotext", "-l", "1", path, "-")
    assert "Dear 李小龍 Haddad" in text and "مريم" in text


def test_blood_thinner_call_only_without_the_flag_and_with_bleeding_risk(batch: dict[str, Any]) -> None:
    assert CALL_EN in text_of(batch, "Zzyzx")  # epidural: intermediate bleeding risk, no flag
    assert CALL_EN in text_of(batch, "Ruth")  # spinal cord stimulation: high
    assert CALL_ES in text_of(batch, "José-Ñandú")
    assert CALL_EN not in text_of(batch, "Winifred")  # PRP into a tendon or joint: low bleeding risk
    thinner = text_of(batch, "Theodora")  # flagged: the clinician's own words instead
    assert CALL_EN not in thinner and STOP in thinner
    plan = "Follow your care team's plan for your blood thinner exactly. It is in the letter at the front"
    assert plan in thinner and plan not in text_of(batch, "Zzyzx")  # ticked too, by those on one only


def test_build_prep_blood_thinner_call_both_ways() -> None:
    from handout_gen.packets.kit import load_kit
    from handout_gen.packets.patient import PrepFlags
    from handout_gen.packets.prep import build_prep

    kit = load_kit(load_project(FIXTURE))
    words = kit.words("en")
    esi, prp = ("epidural-steroid-injection",), ("prp-injection",)
    assert words.blood_thinner_call in build_prep(esi, PrepFlags(), kit.project, words).items
    flagged = build_prep(esi, PrepFlags(blood_thinner=True), kit.project, words).items
    assert words.blood_thinner_call not in flagged
    # the one blood-thinner item of a patient on one points at the clinician's plan in the
    # letter: no default day or number of its own
    (item,) = [item for item in flagged if "blood thinner" in item.lower()]
    assert item == words.blood_thinner_plan % {"heading": words.blood_thinner_heading}
    assert not re.search(r"\d", item) and "stop" not in item.lower()  # no default, nor "stop" for all
    # PRP is low risk into a tendon or joint and intermediate into a disc (ASRA 2018): a row
    # naming the site gets that site's risk, a row naming none the highest
    peripheral, disc = PrepFlags(sites=("peripheral",)), PrepFlags(sites=("disc",))
    assert words.blood_thinner_call not in build_prep(prp, peripheral, kit.project, words).items
    assert words.blood_thinner_call in build_prep(prp, disc, kit.project, words).items
    assert words.blood_thinner_call in build_prep(prp, PrepFlags(), kit.project, words).items


def test_spanish_large_print_header_stays_on_the_page(batch: dict[str, Any]) -> None:
    from handout_gen.checks.pdfchars import pdf_pages

    from .pdfutil import lines_of

    for page in pdf_pages(packet_path(batch, "Graciela").read_bytes()):
        header = [c for c in page.chars if c.bottom <= 90 and c.text.strip()]
        text = " ".join(lines_of(header))
        assert "Maple Hollow Spine & Pain Center" in text, page.number
        assert "BORRADOR: falta la revisión clínica" in text, page.number  # one banner text
        assert all(c.x0 >= 0 and c.x1 <= page.width - 18 for c in header), page.number


def test_placeholder_typo_is_a_located_problem(tmp_path: Path) -> None:
    from handout_gen.core.errors import ValidationFailed
    from handout_gen.packets.kit import load_kit

    project = copy_sample(tmp_path / "project")
    words = project / "content/packet.yaml"
    text = words.read_text()
    text = text.replace('dear: "Dear %(name)s,"', 'dear: "Dear %(nam)s,"')
    text = text.replace('footer_call: "Llámenos: %(phone)s"', 'footer_call: "Llámenos 100% %(phone)s"')
    words.write_text(text)
    with pytest.raises(ValidationFailed) as info:
        load_kit(load_project(project))
    lines = text.splitlines()
    dear = next(n for n, line in enumerate(lines, 1) if "%(nam)s" in line)
    footer = next(n for n, line in enumerate(lines, 1) if "100% %(phone)s" in line)
    assert str(info.value).splitlines() == [
        "2 problems in the packet setup; nothing was written:",
        f"  content/packet.yaml:{dear}: text.en.dear: unknown placeholder 'nam' (allowed: name)",
        f"  content/packet.yaml:{footer}: text.es.footer_call: has a '%' that is not a placeholder; "
        "write %% for a percent sign (placeholders: phone)",
    ]
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**BASE, "first_name": "Zzyzx", "last_name": "Testpatient"}])
    result = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "Error: 2 problems in the packet setup; nothing was written:"
    assert "Traceback" not in result.stderr and "packets" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_failing_cover_template_never_echoes_patient_data(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    (project / "templates").mkdir(exist_ok=True)
    (project / "templates/packet_cover.html.j2").write_text(
        '{% extends "default:packet_cover.html.j2" %}'
        "{% block letter %}{{ p[p.name] }}{% endblock %}"  # Jinja's message would quote the name
    )
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**BASE, "first_name": "Zzyzx", "last_name": "Testpatient"}])
    result = hg(project, "packets", roster, "-o", tmp_path / "out", "--today", TODAY, check=False)
    assert result.returncode == 1
    assert "Zzyzx" not in result.stderr + result.stdout and "Testpatient" not in result.stderr
    assert "Traceback" not in result.stderr and "packetsError" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Error: the cover-letter template (packet_cover.html.j2) failed (UndefinedError); "
        "run 'handout-gen preview' or a one-row roster of a fictional patient to see details"
    )
    assert result.stderr.endswith("\n")
    assert not list((tmp_path / "out").glob("*/packet_*.pdf"))  # a failed run leaves no packet


@pytest.mark.slow
def test_output_into_a_shared_folder(tmp_path: Path, warm_project: Path) -> None:
    """-o into an existing folder: its mode and other people's files are left alone; only
    marked run folders whose lock nobody holds are cleaned, down to their indexed packets."""
    import fcntl

    project = warm_project
    shared = tmp_path / "shared"
    (shared / "sub1").mkdir(parents=True)
    shared.chmod(0o755)
    (shared / "sub1/.lock").write_text("someone else's")
    (shared / "sub1/.tmp-notes").write_text("someone else's")
    (shared / "sub1/packet_aaaa.pdf").write_text("someone else's")
    killed = shared / "20261101-000000-aaaaaa"
    killed.mkdir()
    for name in (".handout-gen-run", ".lock", ".tmp-x1", "packet_listed.pdf", "packet_orphan.pdf"):
        (killed / name).write_text("x")
    (killed / "index.csv").write_text("packet_id,row\nlisted,2\n")
    busy = shared / "20261101-000000-bbbbbb"
    busy.mkdir()
    for name in (".handout-gen-run", ".lock", ".tmp-x2", "packet_inflight.pdf"):
        (busy / name).write_text("x")
    (busy / "index.csv").write_text("packet_id,row\n")
    roster = tmp_path / "roster.csv"
    write_csv(roster, [{**BASE, "first_name": "Ana", "last_name": "Lockwood"}])
    with (busy / ".lock").open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run still writing there
        result = hg(project, "packets", roster, "-o", shared, "--today", TODAY, check=True)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert sorted(p.name for p in (shared / "sub1").iterdir()) == [".lock", ".tmp-notes", "packet_aaaa.pdf"]
    assert sorted(p.name for p in killed.iterdir()) == [".handout-gen-run", "index.csv", "packet_listed.pdf"]
    assert sorted(p.name for p in busy.iterdir()) == [
        ".handout-gen-run",
        ".lock",
        ".tmp-x2",
        "index.csv",
        "packet_inflight.pdf",
    ]
    assert (
        "Warning: run 20261101-000000-aaaaaa did not finish; removed 1 packet it had not listed in "
        "index.csv. Its listed packets are complete; rerun for a full set" in result.stderr
    )
    assert "Warning: removed 1 unfinished temporary file left by an interrupted run" in result.stderr
    (new,) = [d for d in shared.iterdir() if d.name not in ("sub1", killed.name, busy.name)]
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    assert len(list(new.glob("packet_*.pdf"))) == 1 and (new / ".handout-gen-run").is_file()


def test_today_other_than_today_is_said() -> None:
    """``--today`` (the demo prints the fictional roster as of 2026-11-20) says on every run
    that the packets' dates are worked out from another day than today; as of today, it
    says nothing. (The other tests' helpers leave this line out: it depends on the day the
    suite runs.) It is a note, not one of the roster check's counted warnings."""
    import datetime as dt

    from click.testing import CliRunner

    from handout_gen.cli import cli

    roster = FIXTURE / "content/rosters/sample-roster.csv"
    today = dt.date.today()
    before = today - dt.timedelta(days=1)
    said = (f"Note: printing as of {before.isoformat()}, not today ({today.isoformat()}): every "
            "date and deadline in the packets is worked out from that day\n")
    for day in (before, today):
        result = CliRunner().invoke(cli, ["--project", str(FIXTURE), "packets", str(roster), "--check",
                                          "--today", day.isoformat()])
        assert (said in result.stderr) is (day == before), result.stderr
        assert "printing as of" not in result.stdout


def test_a_long_unbroken_name_or_reference_stays_on_the_paper(warm_project: Path, tmp_path: Path) -> None:
    """A name typed with no space in it (the longest a row may hold) and a reference as long as
    one may be break inside the line on the letter; they ran off the paper."""
    from .pdfutil import page_layout

    out = tmp_path / "out"
    hg(warm_project, "packet", "--first-name", "W" * 80, "--last-name", "Zzyzx", "--patient-id", "M" * 40,
       "--procedure", "prp-injection", "--date", "2026-12-09", "--time", "9:30", "--location", "orchard",
       "--physician", "okafor", "--today", TODAY, "-o", str(out), check=True)
    (path,) = out.glob("*/packet_*.pdf")
    data = path.read_bytes()
    letter = page_layout(data, large_print=False)[0]
    assert "W" * 20 in letter["text"] and "M" * 20 in letter["text"]
    assert letter["clear"] >= 36  # at least half an inch of paper beside every character
