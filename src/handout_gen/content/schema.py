"""Typed schema of the content: practice.yaml and procedure front matter.

The pydantic models are the one place the schema is declared. Unknown keys are errors
(``extra="forbid"``) because a misspelt key on a patient handout silently dropping an
instruction is worse than a failed build.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from handout_gen.content.packet_marks import item_topics, items_in_packet, unknown_topic, unmarked

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HEX_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _slug(value: str) -> str:
    if not SLUG_RE.match(value):
        msg = "must be lower-case words joined by hyphens, e.g. 'epidural-steroid-injection'"
        raise ValueError(msg)
    return value


def _https(value: str) -> str:
    if not value.startswith("https://"):
        msg = "must be an absolute https:// URL"
        raise ValueError(msg)
    return value


def _hex(value: str) -> str:
    if not HEX_RE.match(value):
        msg = "must be a six-digit hex colour such as '#1B4965'"
        raise ValueError(msg)
    return value.upper()


# A number as staff write one: digits and the marks between them, an extension at the end.
PHONE_RE = re.compile(r"(?P<number>\+?\(?[0-9][0-9 ().-]*[0-9])(?: ?(?:ext\.?|x) ?(?P<ext>[0-9]{1,6}))?")


def _phone(value: Any) -> Any:
    """A phone number every page prints for "call us": a typo there sends a worried patient
    nowhere, so a letter O for a zero, a digit short or words in its place stop the build."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # unquoted, YAML reads 5550100 as a number, 05550100 as an octal one and 555.0100
        # without its last zeros: the digits printed would not be the ones typed
        msg = 'is read as a number: put it in quotes, e.g. "555-0100"'
        raise ValueError(msg)
    if not isinstance(value, str):
        return value  # pydantic names the wrong type
    match = PHONE_RE.fullmatch(value.strip())
    if match is None or not 7 <= sum(char.isdigit() for char in match["number"]) <= 15:
        msg = ("is not a phone number: write its 7 to 15 digits, with spaces, dashes, dots or "
               "brackets between them if you like, e.g. 555-0100 or (555) 555-0100 (an extension: "
               "555-0100 ext. 12)")
        raise ValueError(msg)
    return value.strip()


def _clock(value: str) -> str:
    # A string on purpose: unquoted 07:30 is a number in YAML 1.1 (450), never a time.
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        msg = "must be a quoted 24-hour time such as \"07:30\" or \"16:30\""
        raise ValueError(msg)
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Clock = Annotated[str, AfterValidator(_clock)]
Phone = Annotated[str, BeforeValidator(_phone)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)  # in date.weekday() order
HttpsUrl = Annotated[str, AfterValidator(_https)]
HexColor = Annotated[str, AfterValidator(_hex)]
Text = Annotated[str, Field(min_length=1)]


def _one_line(value: str) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        msg = "must be one line: write it on one line, or fold its lines with '>' (not '|')"
        raise ValueError(msg)
    return value


Line = Annotated[str, AfterValidator(_one_line), Field(min_length=1)]  # a header's value (a subject)
TextList = Annotated[list[Text], Field(min_length=1)]


def _known_mark(item: str) -> str:
    """A front-matter list item whose packet mark, if it has one, names a known topic."""
    topic = unmarked(item)[1]
    if topic and (wrong := unknown_topic(topic)):
        raise ValueError(wrong)
    return item


MarkedText = Annotated[str, Field(min_length=1), AfterValidator(_known_mark)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Colors(Strict):
    primary: HexColor
    accent: HexColor
    text: HexColor = "#1A1A1A"
    background: HexColor = "#FFFFFF"
    tint: HexColor = "#F2F2F2"


class PostalAddress(Strict):
    """A street address (the practice's, and each location's)."""

    street: Text
    city: Text
    state: Text
    zip: Text

    def one_line(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"


class EmailSettings(Strict):
    sender_name: Text
    sender_address: Text
    reply_to: Text | None = None
    base_url: HttpsUrl
    unsubscribe_url: HttpsUrl
    preferences_url: HttpsUrl
    archive_url: HttpsUrl
    permission_reminder: Text


class OpeningHours(Strict):
    """Days a clinic keeps the same hours; printed in each reader's language (Babel)."""

    days: Annotated[list[Weekday], Field(min_length=1)]
    opens: Clock
    closes: Clock

    def times(self) -> tuple[time, time]:
        return time.fromisoformat(self.opens), time.fromisoformat(self.closes)


class Location(PostalAddress):
    id: Slug
    name: Text
    phone: Phone
    # Opening hours as data (printed in the reader's language), or one line of text that
    # every language prints as it is.
    hours: Text | Annotated[list[OpeningHours], Field(min_length=1)]
    map_url: HttpsUrl
    arrive_minutes_early: int = Field(default=30, ge=0, le=240)


class Thresholds(Strict):
    """``thresholds:`` of practice.yaml: the numbers behind "call us if" and "call us within".

    The practice's clinicians set them; content prints them as ``{{ thresholds.<name> }}``
    (:mod:`handout_gen.content.values`), so a handout and a packet never disagree on a number.
    """

    call_within_hours: Annotated[int, Field(ge=1, le=72)]  # "call us within N hours"
    fever_f: Annotated[float, Field(ge=99, le=104)]  # a temperature at or above this, in °F
    blood_sugar_mg_dl: Annotated[int, Field(ge=150, le=600)]  # after a steroid, with diabetes
    blood_sugar_checks: Annotated[int, Field(ge=1, le=10)]  # ...this many checks in a row
    numbness_hours: Annotated[int, Field(ge=1, le=72)]  # numbness or weakness lasting longer
    after_sedation_hours: Annotated[int, Field(ge=1, le=72)]  # no driving, alcohol, decisions
    # with diabetes, after a steroid: check blood sugar more often for this many days (none:
    # content that names it is an error at its line, as any unknown value is)
    blood_sugar_check_days: Annotated[int, Field(ge=1, le=14)] | None = None


ReviewMonths = Annotated[int, Field(ge=1, le=60)]  # a review cycle: review due this often


class Review(Strict):
    """``review:`` of practice.yaml: the practice's review cycle for every text a clinician
    signs off (a procedure's editions, content/packet.yaml), which ``check`` ages."""

    interval_months: ReviewMonths  # review due (a text may set its own)
    limit_months: Annotated[int, Field(ge=1, le=120)]  # older than this: not to be handed out

    @model_validator(mode="after")
    def _limit_after_interval(self) -> Review:
        if self.limit_months < self.interval_months:
            msg = (f"limit_months ({self.limit_months}) is shorter than "
                   f"interval_months ({self.interval_months})")
            raise ValueError(msg)
        return self


class ShortDay(Strict):
    """A day the whole practice closes early (Christmas Eve at noon): no visit from then on."""

    date: date
    closes: Clock

    def closing(self) -> time:
        return time.fromisoformat(self.closes)


class Physician(Strict):
    id: Slug
    name: Text
    credentials: str = ""
    title: str = ""


class Practice(Strict):
    """practice.yaml: brand, contacts, locations, physicians and email sender."""

    name: Text
    short_name: Text
    logo: Text
    website: HttpsUrl
    phone: Phone
    after_hours_phone: Phone
    colors: Colors
    postal_address: PostalAddress
    email: EmailSettings
    locations: Annotated[list[Location], Field(min_length=1)]
    physicians: Annotated[list[Physician], Field(min_length=1)]
    thresholds: Thresholds
    # Only `check` reads it, and says so when it is missing (an older practice.yaml): the
    # handouts and packets do not wait for it.
    review: Review | None = None
    # Days the whole practice is closed (holidays): no visit is booked on one, and no one
    # answers the phone, so a call-by day that falls on one moves earlier.
    closed_dates: list[date] = Field(default_factory=list)
    # Days the whole practice closes early: a visit booked from that time on is refused too.
    short_days: list[ShortDay] = Field(default_factory=list)
    # Addresses on other sites that handouts, packets or newsletters may print (URL prefixes);
    # `check` warns about any other link off the practice's website (a typo in a host, say).
    external_links: list[HttpsUrl] = Field(default_factory=list)

    @property
    def no_call_days(self) -> frozenset[date]:
        """Days a "call us by" deadline never falls on: closed, or closing early (a patient
        calling that afternoon would find no one)."""
        return frozenset(self.closed_dates) | {short.date for short in self.short_days}

    def location(self, location_id: str) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)

    def physician(self, physician_id: str) -> Physician | None:
        return next((doc for doc in self.physicians if doc.id == physician_id), None)


class Image(Strict):
    """An illustration; ``src`` is relative to content/. Alt text and a caption are required."""

    src: Text
    alt: Text
    caption: Text
    width: int = Field(default=600, gt=0)
    height: int = Field(default=300, gt=0)


RiskLevel = Literal["low", "intermediate", "high"]
RISK_ORDER: tuple[RiskLevel, ...] = ("low", "intermediate", "high")
_LEVELS = "'low', 'intermediate' or 'high'"


def _bleeding_risk(value: Any) -> Any:
    """One message per mistake (a union would report one for each of its branches)."""
    if isinstance(value, dict):
        if not value:
            msg = "list at least one site and its level, e.g. cervical: intermediate"
            raise ValueError(msg)
        for site, level in value.items():
            if not isinstance(site, str) or not SLUG_RE.match(site):
                msg = f"site '{site}' must be lower-case words joined by hyphens, e.g. 'lumbar'"
                raise ValueError(msg)
            if not isinstance(level, str) or level not in RISK_ORDER:
                msg = f"site '{site}': must be {_LEVELS}"
                raise ValueError(msg)
        return value
    if not isinstance(value, str) or value not in RISK_ORDER:
        msg = f"must be {_LEVELS}, or one of them per site (site: level)"
        raise ValueError(msg)
    return value


BleedingRisk = Annotated[RiskLevel | dict[str, RiskLevel], BeforeValidator(_bleeding_risk)]


class Prep(Strict):
    """Which preparation rules apply to a procedure; packets build the prep checklist from it."""

    sedation_offered: bool
    driver_required: bool
    contrast_dye: bool
    steroid: bool
    # One level, or one per site where the procedure is done at sites of different risk
    # (``{cervical: intermediate, ...}``); a roster row may name the site ("slug:site").
    bleeding_risk: BleedingRisk
    avoid_anti_inflammatories: bool = False
    # The handout forbids driving for longer than sedation does (e.g. while a stimulator is
    # on): the letter's end of the sedation rules then leaves driving to the handout.
    driving_limited: bool = False
    # Hours from the appointment time until the patient goes home, for a procedure with a
    # longer stay than packet.yaml's rules.after_sedation.visit_hours (an implant's recovery):
    # the time without driving after sedation is counted from then.
    visit_hours: Annotated[int, Field(ge=0, le=12)] | None = None

    @property
    def sites(self) -> tuple[str, ...]:
        """The sites with a bleeding risk of their own (none for a single level)."""
        return tuple(self.bleeding_risk) if isinstance(self.bleeding_risk, dict) else ()

    def risk_at(self, site: str = "") -> RiskLevel:
        """The bleeding risk at ``site``; with no site (or a single level), the highest."""
        levels = self.bleeding_risk
        if isinstance(levels, str):
            return levels
        if site in levels:
            return levels[site]
        return max(levels.values(), key=RISK_ORDER.index)


def site_keys(sites: tuple[str, ...]) -> set[str]:
    """What numbness_sign_by_site may name: each site, and each region before a site's "-"."""
    return {*sites, *(site.partition("-")[0] for site in sites)}


class DatedAftercare(Strict):
    """An aftercare step that lasts a number of days ("no tub for 2 days"): a packet's letter
    prints the last day it lasts ("Through Thursday, December 3:") so no one counts."""

    days: Annotated[int, Field(ge=1, le=120)]
    text: Text


class Signoff(Strict):
    """What every text a clinician signs off carries (an edition's front matter,
    content/packet.yaml): its version and review; ``check`` ages the review (governance)."""

    version: Text
    status: Literal["draft", "approved"]
    reviewer_role: Text
    last_reviewed: date
    # Its own review cycle, when it differs from practice.yaml's review.interval_months.
    review_interval_months: ReviewMonths | None = None


class EditionMeta(Signoff):
    """Front matter fields every language edition carries (the text a reader sees)."""

    title: Text
    summary: Text
    # As written, "{packet:<topic>}" marks and all (content.packet_marks): read .key_points,
    # .aftercare and .call_us_if, or what a packet prints of them (*_in_packet)
    key_points_marked: Annotated[list[MarkedText], Field(min_length=1, alias="key_points")]
    aftercare_marked: Annotated[list[MarkedText], Field(min_length=1, alias="aftercare")]
    call_us_if_marked: Annotated[list[MarkedText], Field(min_length=1, alias="call_us_if")]
    go_to_er_if: TextList
    # Printed in a packet's dated list, each as the visit day plus its days (a translation
    # gives the same days, in the same order, in its words).
    dated_aftercare: list[DatedAftercare] = Field(default_factory=list)
    # The sign its call_us_if item marked {packet:numbness} names, as a packet's letter says it
    # at a time ("If <your legs are still numb or weak>, call us"); none: the letter prints no
    # time and the packet keeps the item.
    numbness_sign: Text | None = None
    # The same sign where the site a roster row names changes it (a lumbar injection numbs a
    # leg, a neck one an arm), by a site of prep or the region before its "-" ("lumbar": both
    # lumbar-interlaminar and lumbar-transforaminal); any other site, or none, numbness_sign.
    numbness_sign_by_site: dict[str, Text] = Field(default_factory=dict)

    def numbness_sign_at(self, site: str) -> str | None:
        """The sign to name for a treatment at ``site`` ("" when the row names none)."""
        by_site = self.numbness_sign_by_site
        return by_site.get(site) or by_site.get(site.partition("-")[0]) or self.numbness_sign

    @property
    def key_points(self) -> list[str]:
        """What a reader who reads nothing else must know, as every output but a packet
        covering a mark prints it."""
        return items_in_packet(self.key_points_marked)

    @property
    def aftercare(self) -> list[str]:
        """What to do afterwards, as every output but a packet covering a mark prints it."""
        return items_in_packet(self.aftercare_marked)

    @property
    def call_us_if(self) -> list[str]:
        """The signs to call about, as every output but a packet covering a mark prints them."""
        return items_in_packet(self.call_us_if_marked)

    @property
    def key_point_topics(self) -> frozenset[str]:
        return item_topics(self.key_points_marked)

    @property
    def aftercare_topics(self) -> frozenset[str]:
        return item_topics(self.aftercare_marked)

    @property
    def call_topics(self) -> frozenset[str]:
        return item_topics(self.call_us_if_marked)

    def key_points_in_packet(self, covered: tuple[str, ...]) -> list[str]:
        """The key points a packet prints: without those marked with a ``covered`` topic."""
        return items_in_packet(self.key_points_marked, covered)

    def aftercare_in_packet(self, covered: tuple[str, ...]) -> list[str]:
        """The aftercare a packet prints: without the items marked with a ``covered`` topic."""
        return items_in_packet(self.aftercare_marked, covered)

    def call_us_if_in_packet(self, covered: tuple[str, ...]) -> list[str]:
        """The signs to call about a packet prints: without those marked with a ``covered``
        topic (the letter gives the sign its clock time)."""
        return items_in_packet(self.call_us_if_marked, covered)


class ProcedureMeta(EditionMeta):
    """Front matter of ``content/procedures/<slug>.md`` (the English original)."""

    slug: Slug
    kind: Literal["procedure", "overview"] = "procedure"
    url: HttpsUrl
    lang: Literal["en"] = "en"
    image: Image | None = None
    prep: Prep


class TranslationMeta(EditionMeta):
    """Front matter of ``<slug>.<lang>.md``: text only; slug, url and prep come from the original."""

    lang: Text  # must match the file name's <lang>, a language the project declares
    translation_of_version: Text
    image_alt: str | None = None
    image_caption: str | None = None
