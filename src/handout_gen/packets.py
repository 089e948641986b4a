"""Per-patient packets: recipe and words, prep checklist, HTML contexts, PDF assembly.

A packet is four kinds of pages:

* **personal pages** (the cover letter, with the clinician's blood-thinner instructions when
  there are any), composed from blocks that are each laid out once (see
  :mod:`handout_gen.letters`);
* **prep pages** (checklist, what to bring, day of), which depend on the procedures and the
  patient's flags but carry no name, so they are cached per checklist they print;
* **handouts**, the same PDFs for everyone with that procedure, language and print size,
  rendered once and cached by content hash;
* **closing pages** (aftercare, call us / ER, contacts, disclaimer), which hold no patient
  data either, so they are cached like handouts, keyed by procedures, language, print size
  and clinic.

pikepdf stitches them together in a few milliseconds, adds a bookmark per section
and generic metadata, and optionally encrypts with AES-256. The words of the packet live
in ``content/packet.yaml`` (English and Spanish, reviewed like any clinical content); the
recipe (which sections per procedure) in ``handouts/packets.yaml``. Batch orchestration
(processes, index, audit log) is in :mod:`handout_gen.packet_run`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .content import load_model
from .errors import ConfigError, Problem, RenderError, ValidationFailed, relpath
from .handouts import Variant, base_context, handout_key
from .models import Slug, Strict, Text, TextList
from .project import Project
from .roster import PatientRow
from .templates import render

log = logging.getLogger("handout_gen")

SectionName = Literal[
    "cover", "prep", "bring", "day-of", "handouts", "aftercare", "call", "contacts", "disclaimer"
]
SECTION_ORDER: tuple[SectionName, ...] = (
    "cover",
    "prep",
    "bring",
    "day-of",
    "handouts",
    "aftercare",
    "call",
    "contacts",
    "disclaimer",
)
FRONT = ("cover", "prep", "bring", "day-of")
BACK = ("aftercare", "call", "contacts", "disclaimer")


class PacketWords(Strict):
    """Every sentence of the packet outside the handouts, in one language."""

    packet_title: Text
    draft: Text
    footer_call: Text
    letter_heading: Text
    dear: Text
    letter_intro: Text
    procedure_label: Text
    date_label: Text
    time_label: Text
    arrive_label: Text
    arrive_note: Text
    where_label: Text
    physician_label: Text
    phone_label: Text
    reference_label: Text
    map_caption: Text
    sign_off: Text
    prep_heading: Text
    prep_intro: Text
    prep_always: TextList
    sedation_heading: Text
    sedation_rules: TextList
    glp1_note: Text
    driver_sedation: Text
    driver_required: Text
    blood_thinner_heading: Text
    blood_thinner_warning: Text
    blood_thinner_name_label: Text
    blood_thinner_stop_label: Text
    blood_thinner_restart_label: Text
    blood_thinner_call: Text
    diabetes_steroid: Text
    diabetes_fasting: Text
    dye_allergy: Text
    dye_question: Text
    anti_inflammatories: Text
    bring_heading: Text
    bring: TextList
    bring_driver: Text
    day_of_heading: Text
    day_of: TextList
    handouts_heading: Text
    aftercare_heading: Text
    call_heading: Text
    call_intro: Text
    after_hours: Text
    er_heading: Text
    contacts_heading: Text
    contact_main: Text
    contact_after_hours: Text
    contact_location: Text
    contact_website: Text
    disclaimer_heading: Text
    disclaimer: Text
    version_line: Text


# The words that are %-formatted, and the placeholders each may use (with a dummy value of
# the type the real one has). A typo such as %(nam)s must be a located problem at load
# time, not a KeyError in the middle of a run.
PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "footer_call": {"phone": "555-0100"},
    "dear": {"name": "Alex Sample"},
    "arrive_note": {"minutes": 30},
    "sign_off": {"practice": "Practice"},
    "call_intro": {"phone": "555-0100"},
    "after_hours": {"phone": "555-0100"},
    "version_line": {"version": "V1", "date": "11/24/2026"},
}
_NAMED_RE = re.compile(r"%\(([^)]*)\)")
_UNNAMED_RE = re.compile(r"%(?!\()")


def placeholder_problem(text: str, allowed: dict[str, Any]) -> str | None:
    """Why ``text % allowed`` would fail or misprint, or None when it formats cleanly."""
    names = ", ".join(allowed)
    for name in _NAMED_RE.findall(text):
        if name not in allowed:
            return f"unknown placeholder '{name}' (allowed: {names})"
    if _UNNAMED_RE.search(text.replace("%%", "")):
        return f"has a '%' that is not a placeholder; write %% for a percent sign (placeholders: {names})"
    try:
        text % allowed  # noqa: B018 - the test format itself is the check
    except (KeyError, ValueError, TypeError) as exc:
        example = f"%({next(iter(allowed))})s"
        return f"is not a valid format ({type(exc).__name__}); placeholders look like {example}"
    return None


class PacketText(Strict):
    """``content/packet.yaml``: versioned, reviewed words; English is required."""

    version: Text
    status: Literal["draft", "approved"]
    reviewer_role: Text
    last_reviewed: date
    text: dict[Literal["en", "es"], PacketWords]

    @model_validator(mode="after")
    def _english_required(self) -> PacketText:
        if "en" not in self.text:
            msg = "needs an 'en' block (the fallback for every other language)"
            raise ValueError(msg)
        return self


class ProcedurePacket(Strict):
    sections: Annotated[list[SectionName], Field(min_length=1)] | None = None
    handouts: list[Slug] = Field(default_factory=list)


class PacketRecipe(Strict):
    """``handouts/packets.yaml``: sections in print order, per-procedure overrides."""

    template: str = "packet_cover.html.j2"
    prep_template: str = "packet_prep.html.j2"
    back_template: str = "packet_back.html.j2"
    sections: Annotated[list[SectionName], Field(min_length=1)] = Field(
        default_factory=lambda: list(SECTION_ORDER)
    )
    procedures: dict[Slug, ProcedurePacket] = Field(default_factory=dict)


@dataclass
class Kit:
    """Everything a packet needs that is not patient data, loaded and validated once."""

    project: Project
    recipe: PacketRecipe
    text: PacketText
    text_bytes: bytes

    def words(self, lang: str) -> PacketWords:
        for key, words in self.text.text.items():
            if key == lang:
                return words
        return self.text.text["en"]

    def sections(self, slugs: tuple[str, ...]) -> list[str]:
        """Every section any of the procedures asks for, in the recipe's print order."""
        wanted: set[str] = set()
        for slug in slugs:
            override = self.recipe.procedures.get(slug)
            wanted.update(override.sections if override and override.sections else self.recipe.sections)
        return [s for s in self.recipe.sections if s in wanted]

    def handout_slugs(self, slugs: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for slug in slugs:
            override = self.recipe.procedures.get(slug)
            for item in (slug, *(override.handouts if override else [])):
                if item not in out:
                    out.append(item)
        return out

    @cached_property
    def digest(self) -> str:
        """Hash of the non-patient inputs of closing pages (everything shared + the words)."""
        return hashlib.sha256(self.project.shared_digest.encode() + self.text_bytes).hexdigest()


def load_kit(project: Project) -> Kit:
    """Read content/packet.yaml and handouts/packets.yaml; report every problem at once."""
    problems: list[Problem] = []
    text_path = project.content_dir / "packet.yaml"
    if not text_path.is_file():
        msg = f"{relpath(text_path, project.root)} is missing: packets need their words (copy it from the sample project)"  # noqa: E501
        raise ConfigError(msg)
    raw = text_path.read_bytes()
    source = relpath(text_path, project.root)
    text, lines, found = load_model(text_path, PacketText, project.root)
    problems += found
    if text is not None:
        for lang, words in text.text.items():
            for key, allowed in PLACEHOLDERS.items():
                why = placeholder_problem(getattr(words, key), allowed)
                if why:
                    line = lines.get(("text", lang, key))
                    problems.append(Problem(source, why, line, f"text.{lang}.{key}"))
    recipe: PacketRecipe | None = PacketRecipe()
    recipe_path = project.handouts_dir / "packets.yaml"
    if recipe_path.is_file():
        source = relpath(recipe_path, project.root)
        recipe, lines, found = load_model(recipe_path, PacketRecipe, project.root)
        problems += found
        if recipe is not None:
            for slug, item in recipe.procedures.items():
                for name in (slug, *item.handouts):
                    if name not in project.procedures:
                        problems.append(
                            Problem(
                                source,
                                f"unknown procedure '{name}'",
                                lines.get(("procedures", slug)),
                                f"procedures.{slug}",
                            )
                        )
                if item.sections and "cover" not in item.sections:
                    problems.append(
                        Problem(
                            source,
                            "must include 'cover'",
                            lines.get(("procedures", slug, "sections")),
                            f"procedures.{slug}.sections",
                        )
                    )
    if problems or text is None or recipe is None:
        raise ValidationFailed(problems, "the packet setup")
    return Kit(project, recipe, text, raw)


# --- what goes in the prep checklist -----------------------------------------------------


@dataclass
class PrepPlan:
    """The prep checklist of one patient: built from procedure prep flags + patient flags."""

    sedation: bool = False
    sedation_rules: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    driver: bool = False


Flags = tuple[bool, bool, bool, bool]  # sedation, diabetes, dye allergy, blood thinner


def prep_flags(row: PatientRow) -> Flags:
    """The patient flags the (cached, name-free) prep pages depend on."""
    return row.prep_flags


def build_prep(slugs: tuple[str, ...], flags: Flags, project: Project, words: PacketWords) -> PrepPlan:
    """Decide which prep items apply from procedure prep flags and patient flags.

    The blood-thinner instructions are not here: they are the clinician's own words for one
    patient, printed verbatim on the personal cover page (see :func:`patient_context`).
    A patient NOT flagged as taking one, having a procedure with intermediate or high
    bleeding risk, gets only "call us if you take a blood thinner": the roster may simply
    not know, and a stop or restart default would be unsafe.
    """
    sedation, diabetes, dye_allergy, blood_thinner = flags
    preps = [project.procedures[s].meta.prep for s in slugs]
    plan = PrepPlan()
    plan.sedation = sedation and any(p.sedation_offered for p in preps)
    if plan.sedation:
        plan.sedation_rules = [*words.sedation_rules, words.glp1_note]
        plan.items.append(words.driver_sedation)
        plan.driver = True
    elif any(p.driver_required for p in preps):
        plan.items.append(words.driver_required)
        plan.driver = True
    if diabetes and any(p.steroid for p in preps):
        plan.items.append(words.diabetes_steroid)
    if diabetes and plan.sedation:
        plan.items.append(words.diabetes_fasting)
    if any(p.contrast_dye for p in preps):
        plan.items.append(words.dye_allergy if dye_allergy else words.dye_question)
    if any(p.avoid_anti_inflammatories for p in preps):
        plan.items.append(words.anti_inflammatories)
    if not blood_thinner and any(p.bleeding_risk in ("intermediate", "high") for p in preps):
        plan.items.append(words.blood_thinner_call)
    plan.items += words.prep_always
    return plan


# --- static parts (no patient data): handouts and closing pages ----------------------------


@dataclass(frozen=True)
class Static:
    """A cached PDF part with no patient data: "handout", "prep", "back", or "page" (the
    header-and-footer page that cover letters are drawn on)."""

    kind: str
    key: str
    spec: tuple[Any, ...]


def handout_part(kit: Kit, slug: str, lang: str, large: bool) -> Static:
    procedure = kit.project.procedures[slug]
    variant = Variant(procedure.edition(lang).lang, large)  # missing edition → English
    return Static("handout", handout_key(kit.project, procedure, variant), (slug, variant.lang, large))


def prep_part(kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, flags: Flags) -> Static | None:
    """Prep checklist, what to bring, day of: no name on them, so cached by what they say."""
    sections = tuple(s for s in kit.sections(slugs) if s in FRONT[1:])
    if not sections:
        return None
    # Keyed by what the page says, not by the flags: many flag combinations print the same
    # checklist (a dye allergy matters only for procedures that use X-ray dye...).
    plan = build_prep(slugs, flags, kit.project, kit.words(lang))
    says = (lang, large, sections, plan.sedation, plan.sedation_rules, plan.items, plan.driver)
    key = hashlib.sha256(f"{kit.digest}\0prep\0{says!r}".encode()).hexdigest()
    return Static("prep", key, (slugs, lang, large, flags, sections))


def back_part(
    kit: Kit, slugs: tuple[str, ...], lang: str, large: bool, location: str, today: date
) -> Static | None:
    sections = tuple(s for s in kit.sections(slugs) if s in BACK)
    if not sections:
        return None
    editions = "".join(kit.project.procedures[s].edition(lang).digest for s in slugs)
    spec = (slugs, lang, large, location, today.isoformat(), sections)
    key = hashlib.sha256(f"{kit.digest}\0back\0{editions}\0{spec!r}".encode()).hexdigest()
    return Static("back", key, spec)


def page_part(kit: Kit, lang: str, large: bool) -> Static:
    """The page cover letters are composed on (see :mod:`handout_gen.letters`)."""
    key = hashlib.sha256(f"{kit.digest}\0page\0{lang}\0{large}".encode()).hexdigest()
    return Static("page", key, (lang, large))


def render_static(kit: Kit, part: Static, pdf: Any, env: Any) -> tuple[bytes, dict[str, Any]]:
    """Render a part → PDF bytes and its anchors: the page each section starts on, and for
    a "page" part the top and bottom of its body area (CSS px, "body-top", "body-bottom")."""
    project = kit.project
    if part.kind == "page":
        html = render(env, kit.recipe.template, **cover_context(kit, *part.spec), mode="page")
    elif part.kind == "handout":
        from .handouts import handout_html

        slug, lang, large = part.spec
        html = handout_html(project, project.procedures[slug], Variant(lang, large), env)
    elif part.kind == "prep":
        html = render(env, kit.recipe.prep_template, **prep_context(kit, *part.spec))
    else:
        html = render(env, kit.recipe.back_template, **back_context(kit, *part.spec))
    from .pdf import weasyprint_warnings

    # Untagged: assembly keeps pages, not structure trees, so tags would be dead weight (and
    # they cost time). Screen-reader users get the tagged handouts themselves (README).
    with weasyprint_warnings() as warnings:
        document = pdf.document(html, project.content_dir, tagged=False)
        data = pdf.write(document, tagged=False)
    for message in warnings:
        log.warning("packet %s part: %s", part.kind, message)
    anchors: dict[str, Any] = {
        name: index for index, page in enumerate(document.pages) for name in page.anchors
    }
    if part.kind == "page":
        _, anchors["body-top"], _, anchors["body-bottom"] = document.pages[0].anchors["body-area"]
    return bytes(data), anchors


def prep_context(
    kit: Kit,
    slugs: tuple[str, ...],
    lang: str,
    large: bool,
    flags: Flags,
    sections: tuple[str, ...],
) -> dict[str, Any]:
    words = kit.words(lang)
    plan = build_prep(slugs, flags, kit.project, words)
    context = base_context(kit.project, lang, large)
    context.update(_furniture(kit, words))
    context.update(
        t=words,
        sections=sections,
        prep=plan,
        day_of=words.day_of,
        bring=list(words.bring) + ([words.bring_driver] if plan.driver else []),
    )
    return context


def back_context(
    kit: Kit,
    slugs: tuple[str, ...],
    lang: str,
    large: bool,
    location: str,
    today: str,
    sections: tuple[str, ...],
) -> dict[str, Any]:
    project = kit.project
    words = kit.words(lang)
    metas = [project.procedures[s].edition(lang).meta for s in slugs]
    context = base_context(project, lang, large)
    context.update(_furniture(kit, words))
    context.update(
        t=words,
        sections=sections,
        aftercare=[{"title": m.title, "items": m.aftercare} for m in metas],
        call_us_if=list(dict.fromkeys(i for m in metas for i in m.call_us_if)),
        go_to_er_if=list(dict.fromkeys(i for m in metas for i in m.go_to_er_if)),
        location=project.practice.location(location),
        printed=date.fromisoformat(today),
        packet=kit.text,
    )
    return context


def _furniture(kit: Kit, words: PacketWords) -> dict[str, Any]:
    practice = kit.project.practice
    return {
        "footer_left": words.footer_call % {"phone": practice.phone},
        "footer_center": kit.text.version,
        "draft": kit.text.status == "draft",
    }


# --- personal pages (composed by :mod:`handout_gen.letters`) ----------------------------------


def patient_context(kit: Kit, row: PatientRow, qr_cache: dict[str, str]) -> dict[str, Any]:
    """What the letter template knows about one patient ("p")."""
    project = kit.project
    practice = project.practice
    location = practice.location(row.location)
    physician = practice.physician(row.physician)
    assert location is not None and physician is not None  # validated with the roster
    if location.id not in qr_cache:
        qr_cache[location.id] = qr_png_uri(location.map_url, practice.colors.text)
    blood_thinner = None
    if row.blood_thinner:  # the clinician's words, verbatim; never a default
        blood_thinner = {
            "name": row.blood_thinner_name,
            "stop": row.blood_thinner_stop,
            "restart": row.blood_thinner_restart,
        }
    return {
        "name": f"{row.first_name} {row.last_name}",
        "patient_id": row.patient_id,
        "procedures": [project.procedures[s].edition(row.language).meta.title for s in row.procedures],
        "appointment": row.appointment,
        "arrival": row.appointment - timedelta(minutes=location.arrive_minutes_early),
        "arrive_minutes": location.arrive_minutes_early,
        "location": location,
        "physician": physician,
        "map_qr": qr_cache[location.id],
        "blood_thinner": blood_thinner,
    }


def qr_png_uri(url: str, color: str) -> str:
    """The map QR code as a PNG data URI (it is part of a block laid out once per location)."""
    import segno

    return str(segno.make(url, error="m").png_data_uri(scale=6, border=2, dark=color))


def cover_context(kit: Kit, lang: str, large: bool) -> dict[str, Any]:
    """What every cover-letter render of one language and print size shares."""
    words = kit.words(lang)
    context = base_context(kit.project, lang, large)
    context.update(_furniture(kit, words))
    context["t"] = words
    return context


# --- assembly ------------------------------------------------------------------------------


def outline_titles(words: PacketWords) -> dict[str, str]:
    """Bookmark titles: generic section names, never patient data."""
    return {
        "cover": words.letter_heading,
        "prep": words.prep_heading,
        "bring": words.bring_heading,
        "day-of": words.day_of_heading,
        "aftercare": words.aftercare_heading,
        "call": words.call_heading,
        "contacts": words.contacts_heading,
        "disclaimer": words.disclaimer_heading,
    }


@dataclass
class Part:
    """Pages to copy into a packet: a source PDF, a page range and bookmarks inside it."""

    pdf: Any  # pikepdf.Pdf
    start: int
    stop: int
    bookmarks: list[tuple[str, int]]  # (title, page index within the source)


def assemble(parts: list[Part], *, title: str, lang: str, author: str, password: str = "") -> bytes:
    """Stitch parts into one packet with bookmarks, generic metadata and optional AES-256."""
    import pikepdf

    out = pikepdf.new()
    outline_items: list[tuple[str, int]] = []
    for part in parts:
        offset = len(out.pages) - part.start
        out.pages.extend(part.pdf.pages[part.start : part.stop])
        outline_items += [(name, index + offset) for name, index in part.bookmarks]
    with out.open_outline() as outline:
        for name, index in outline_items:
            outline.root.append(pikepdf.OutlineItem(name, index))
    out.Root.Lang = pikepdf.String(lang)
    out.Root.PageMode = pikepdf.Name.UseOutlines
    out.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
    out.docinfo = out.make_indirect(
        pikepdf.Dictionary(
            Title=pikepdf.String(title),
            Author=pikepdf.String(author),
            Creator=pikepdf.String("handout-gen"),
            Producer=pikepdf.String("handout-gen"),
        )
    )
    out.Root.Metadata = out.make_stream(
        _xmp(title, author, lang), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
    )
    buffer = io.BytesIO()
    encryption: Any = False
    if password:
        encryption = pikepdf.Encryption(
            user=password,
            owner=secrets.token_urlsafe(24),
            R=6,
            aes=True,
            allow=pikepdf.Permissions(extract=False, modify_other=False),
        )
    try:
        out.save(
            buffer,
            encryption=encryption,
            deterministic_id=not password,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,  # smaller, and faster to write
        )
    except Exception as exc:  # pikepdf errors carry no patient data, but say what failed
        msg = f"could not assemble a packet PDF: {type(exc).__name__}"
        raise RenderError(msg) from exc
    return buffer.getvalue()


@lru_cache(maxsize=32)
def _xmp(title: str, author: str, lang: str) -> bytes:
    """The XMP metadata packet of packets with this title (the same for every patient)."""
    import pikepdf

    scratch = pikepdf.new()
    with scratch.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:title"] = title
        meta["dc:creator"] = [author]
        meta["dc:language"] = [lang]
        meta["pdf:Producer"] = "handout-gen"
    return bytes(scratch.Root.Metadata.read_bytes())


def prepare_part(pdf: Any) -> None:
    """Make a rendered part safe to copy into packets, in place.

    Links to other pages are removed: copied into a packet, they could point at a page that
    is not there. Font subsets are renamed after their own bytes: WeasyPrint names a subset
    after the font, not the glyphs in it, and a packet merges subsets from several
    documents; printers that match fonts by name could otherwise pick the wrong one.
    """
    import pikepdf

    for page in pdf.pages:
        _drop_internal_links(page)
    for font in pdf.objects:
        if not isinstance(font, pikepdf.Dictionary) or font.get("/Type") != "/Font":
            continue
        for cid in font.get("/DescendantFonts", []):
            descriptor = cid.get("/FontDescriptor")
            name = str(font.get("/BaseFont", ""))
            if descriptor is None or "/FontFile2" not in descriptor or name[7:8] != "+":  # "/ABCDEF+Name"
                continue  # not an embedded TrueType subset
            data = descriptor.FontFile2
            digest = hashlib.sha256(data.read_raw_bytes()).digest()
            tag = "".join(chr(ord("A") + b % 26) for b in digest[:6])
            renamed = pikepdf.Name(f"/{tag}{name[7:]}")
            font.BaseFont = cid.BaseFont = descriptor.FontName = renamed


def _drop_internal_links(page: Any) -> None:
    import pikepdf

    annots = page.obj.get("/Annots")
    if annots is None:
        return
    keep = [a for a in annots if "/Dest" not in a and not ("/A" in a and a.A.get("/S") == pikepdf.Name.GoTo)]
    if len(keep) != len(annots):
        page.obj.Annots = pikepdf.Array(keep)


def sample_row(project: Project, today: date | None = None) -> PatientRow:
    """A built-in fictional patient (for the live preview and docs); not from any roster."""
    today = today or date.today()
    slug = next(
        s for s in ("epidural-steroid-injection", *sorted(project.procedures)) if s in project.procedures
    )
    return PatientRow(
        row=1,
        first_name="Alex",
        last_name="Sample",
        procedures=(slug,),
        date=today + timedelta(days=7),
        time=__import__("datetime").time(9, 30),
        location=project.practice.locations[0].id,
        physician=project.practice.physicians[0].id,
        patient_id="SAMPLE-0001",
        sedation=project.procedures[slug].meta.prep.sedation_offered,
        diabetes=True,
    )


def sample_packet(project: Project) -> bytes:
    """A packet for a built-in fictional patient, no roster and no files written (preview)."""
    from .packet_run import Worker

    worker = Worker(load_kit(project), today=date.today())
    return worker.packet_bytes([sample_row(project)], reveal_errors=True)[0][1]

