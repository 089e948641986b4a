"""Typed schema of the content: practice.yaml and procedure front matter.

The pydantic models are the one place the schema is declared. Unknown keys are errors
(``extra="forbid"``) because a misspelt key on a patient handout silently dropping an
instruction is worse than a failed build.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


Slug = Annotated[str, AfterValidator(_slug)]
HttpsUrl = Annotated[str, AfterValidator(_https)]
HexColor = Annotated[str, AfterValidator(_hex)]
Text = Annotated[str, Field(min_length=1)]
TextList = Annotated[list[Text], Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Colors(Strict):
    primary: HexColor
    accent: HexColor
    text: HexColor = "#1A1A1A"
    background: HexColor = "#FFFFFF"
    tint: HexColor = "#F2F2F2"


class PostalAddress(Strict):
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


class Location(Strict):
    id: Slug
    name: Text
    street: Text
    city: Text
    state: Text
    zip: Text
    phone: Text
    hours: Text
    map_url: HttpsUrl
    arrive_minutes_early: int = Field(default=30, ge=0, le=240)

    def one_line(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"


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
    phone: Text
    after_hours_phone: Text
    colors: Colors
    postal_address: PostalAddress
    email: EmailSettings
    locations: Annotated[list[Location], Field(min_length=1)]
    physicians: Annotated[list[Physician], Field(min_length=1)]
    # Addresses on other sites that handouts, packets or newsletters may print (URL prefixes);
    # `check` warns about any other link off the practice's website (a typo in a host, say).
    external_links: list[HttpsUrl] = Field(default_factory=list)

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


class Prep(Strict):
    """Which preparation rules apply to a procedure; packets build the prep checklist from it."""

    sedation_offered: bool
    driver_required: bool
    contrast_dye: bool
    steroid: bool
    bleeding_risk: Literal["low", "intermediate", "high"]
    avoid_anti_inflammatories: bool = False


class EditionMeta(Strict):
    """Front matter fields every language edition carries (the text a reader sees)."""

    title: Text
    summary: Text
    version: Text
    status: Literal["draft", "approved"]
    reviewer_role: Text
    last_reviewed: date
    review_interval_months: int = Field(default=24, ge=1, le=60)
    key_points: TextList
    aftercare: TextList
    call_us_if: TextList
    go_to_er_if: TextList


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
