"""The one Jinja environment: template search order, autoescape, i18n and filters.

Search order (as in Pelican and datasette): the project's ``templates/`` first, then the
built-ins shipped in the package; ``default:<name>`` always means the built-in, so a
project override can ``{% extends "default:handout.html.j2" %}`` and change one block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list
from markupsafe import Markup

from handout_gen.content.schema import PHONE_RE, WEEKDAYS, OpeningHours, PostalAddress
from handout_gen.core import languages
from handout_gen.core.errors import TemplateError
from handout_gen.core.files import inside
from handout_gen.core.paths import BUILTIN_TEMPLATES
from handout_gen.render.bidi import isolate, isolate_numbers, ltr_text
from handout_gen.render.catalogs import catalog_dir, gettext, ngettext, translations
from handout_gen.render.continued import mark_lists

# Atkinson Hyperlegible lacks U+202F (Babel puts it in "8:30 AM") and a few symbols; map
# them to characters the font has so no glyph silently falls back to another font.
GLYPH_FALLBACKS = str.maketrans({"\u202f": "\u00a0", "\u2009": " ", "\u2192": "-", "\u2713": "*"})


def _locale(context: jinja2.runtime.Context) -> str:
    """The page's Babel locale (from the project's languages), else the language code's own."""
    return str(context.get("locale") or languages.locale(context.get("lang", languages.ORIGINAL)))


def plain(text: str) -> str:
    """Replace characters the embedded font cannot draw."""
    return text.translate(GLYPH_FALLBACKS)


# A number beside a CJK character: line breaking (UAX #14) may part them, "2026年11月24" /
# "日". A word joiner (drawn as nothing, and not in copied text) holds them together.
_CJK_NUMBER = re.compile(
    rf"(?<=\d)(?=[{languages.CJK_SCRIPTS}])|(?<=[{languages.CJK_SCRIPTS}])(?=\d)"
)


def dated(text: str) -> str:
    """A formatted date as printed: fallback glyphs (:func:`plain`), and in Chinese or
    Japanese each number held to its 年, 月 or 日."""
    return _CJK_NUMBER.sub("\u2060", plain(text))


@jinja2.pass_context
def long_date(context: jinja2.runtime.Context, value: date) -> str:
    """"Tuesday, December 1, 2026" / "martes, 1 de diciembre de 2026"."""
    return dated(format_date(value, "full", locale=_locale(context)))


@jinja2.pass_context
def short_date(context: jinja2.runtime.Context, value: date) -> str:
    """"December 1, 2026" / "1 de diciembre de 2026"."""
    return dated(format_date(value, "long", locale=_locale(context)))


@cache
def _weekday_pattern(locale: str, skeleton: str = "MMMEd") -> str:
    """The locale's "weekday, month day" pattern (with the year: ``yMMMEd``), with the names
    written out in full.

    CLDR has the pattern only with abbreviated names ("E, MMM d"; skeleton MMMEd) and
    expects the caller to widen its fields; Babel does not, so it is done here, outside the
    pattern's quoted literals ("E, d 'de' MMM" → "EEEE, d 'de' MMMM").
    """
    pattern = str(Locale.parse(locale).datetime_skeletons[skeleton])
    parts = pattern.split("'")
    for index in range(0, len(parts), 2):
        parts[index] = re.sub("M{3,}", "MMMM", re.sub("E+", "EEEE", parts[index]))
    return "'".join(parts)


def weekday_date(value: date, lang: str, year: int | None = None) -> str:  # lang: a code or a Babel locale
    """"Monday, December 7" / "lunes, 7 de diciembre": a day a patient must act on. Without
    the year, such a day being at most weeks from the appointment letter that prints it,
    unless it falls in another year than ``year`` (the appointment's): "Thursday, January
    14, 2027" after a December visit. The date never breaks over two lines ("December" /
    "7"); only after the weekday's comma."""
    locale = languages.locale(lang)
    skeleton = "MMMEd" if year is None or value.year == year else "yMMMEd"
    text = dated(format_date(value, _weekday_pattern(locale, skeleton), locale=locale))
    head, comma, rest = text.partition(", ")  # "January 14, 2027" holds together too
    return head.replace(" ", "\u00a0") + comma + rest.replace(" ", "\u00a0")


def clock_time(
    value: time | datetime, lang: str, locale: str | None = None, catalogs: Path | None = None
) -> str:
    """"8:30 AM" / "8:30 a.m." with a font-safe no-break space.

    Twelve o'clock says which it is ("12:00 AM (midnight)", "12:00 a.m. (medianoche)"):
    readers mix up 12 a.m. and 12 p.m., and a fasting time at midnight is common. A 24-hour
    clock needs no word ("00:00" starts its day, where a "midnight" beside a date is read as
    its end), and a language whose catalog lacks the word prints the time alone, never an
    English word. ``locale``: the page's Babel locale, when the project sets one for
    ``lang``; ``catalogs``: the project's ``content/locale/`` (its words first, as everywhere).
    """
    locale = locale or languages.locale(lang)
    text = plain(format_time(value, "short", locale=locale))
    if value.minute or value.second or value.hour not in (0, 12) or _24_hour(locale):
        return text
    catalog = translations(lang, catalogs)
    word = catalog.gettext("midnight") if value.hour == 0 else catalog.gettext("noon")
    if lang != languages.ORIGINAL and word in ("midnight", "noon"):
        return text
    return f"{text} ({word})"


@lru_cache(maxsize=64)
def _24_hour(locale: str) -> bool:
    """Whether the locale's short time pattern counts the hours 0 to 23 (CLDR "H")."""
    return "H" in str(Locale.parse(locale).time_formats["short"].pattern)


def hour_category(value: time | datetime, locale: str) -> str:
    """The CLDR plural category of the hour as the clock prints it ("one" for 1:30 PM in
    Spanish): words that agree with it ("la 1:30", "las 2:30") pick their form by it."""
    hour = re.search(r"\d+", format_time(value, "short", locale=locale))
    return str(Locale.parse(locale).plural_form(int(hour.group()))) if hour else "other"


def opening_hours(
    hours: str | Sequence[OpeningHours], lang: str, catalogs: Path | None = None, capital: bool = True,
    comma: str = ", ", semicolon: str = "; ",
) -> str:
    """A location's hours in ``lang``: "Monday to Friday, 7:30 AM to 4:30 PM" / "Lunes a
    viernes, 7:30 a.m. a 4:30 p.m."; weekday names and times from Babel, "to" from the
    catalogs (the project's ``catalogs`` first). Hours given as one line of text are printed
    as they are. ``capital``: they start a line (not "(lunes a jueves…)" after a number);
    ``comma`` and ``semicolon``: the language's own (languages.yaml)."""
    if isinstance(hours, str):
        return hours
    locale = languages.locale(lang)
    names = Locale.parse(locale).days["format"]["wide"]
    span = translations(lang, catalogs).gettext("%(first)s to %(last)s")
    parts = []
    for group in hours:
        days = sorted(WEEKDAYS.index(d) for d in group.days)
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            when = span % {"first": names[days[0]], "last": names[days[-1]]}
        else:
            when = format_list([str(names[d]) for d in days], locale=locale)  # "Monday and Wednesday"
        opens, closes = (clock_time(t, lang, catalogs=catalogs) for t in group.times())
        parts.append(when + comma + span % {"first": opens, "last": closes})
    text = semicolon.join(parts)
    return text[:1].upper() + text[1:] if capital else text


@jinja2.pass_context
def day(context: jinja2.runtime.Context, value: date, year: int | None = None) -> str:
    """The ``weekday_date`` filter: weekday, month and day in the page's language (and the
    year, when it is not ``year``)."""
    return weekday_date(value, _locale(context), year)


@jinja2.pass_context
def weekday(context: jinja2.runtime.Context, value: date) -> str:
    """The ``weekday`` filter: the weekday's name alone ("Monday", "lunes") in the page's language."""
    return plain(format_date(value, "EEEE", locale=_locale(context)))


@jinja2.pass_context
def hours(context: jinja2.runtime.Context, value: str | Sequence[OpeningHours], capital: bool = True) -> str:
    """The ``hours`` filter: a location's opening hours in the page's language;
    ``hours(capital=false)`` inside a sentence or after a label."""
    return opening_hours(value, context.get("lang", languages.ORIGINAL), catalog_dir(context), capital,
                         context.get("comma", ", "), context.get("semicolon", "; "))


@jinja2.pass_context
def clock(context: jinja2.runtime.Context, value: time | datetime) -> str:
    """"8:30 AM" / "8:30 a.m." with a font-safe no-break space."""
    return clock_time(value, context.get("lang", languages.ORIGINAL), _locale(context), catalog_dir(context))


@jinja2.pass_context
def and_list(context: jinja2.runtime.Context, values: Sequence[str]) -> str:
    """The ``and_list`` filter: "A and B", "A, B y C", "A和B", "A وB" in the page's language
    (CLDR's list patterns): never an English comma in a Chinese or Arabic sentence. Items
    that are markup (a title marked as another language) stay markup; the rest is escaped."""
    items = list(values)
    # The pattern laid out around numbered private-use slots (never in a pattern), then each
    # piece escaped: the pattern's words as text, the items as they are.
    slots = [f"\ue000{i}\ue001" for i in range(len(items))]
    pieces = re.split("\ue000(\\d+)\ue001", format_list(slots, locale=_locale(context)))
    joined = Markup()
    for i, piece in enumerate(pieces):
        joined += Markup.escape(items[int(piece)] if i % 2 else piece)
    return joined


@jinja2.pass_context
def ltr(context: jinja2.runtime.Context, value: object) -> str:
    """The ``ltr`` filter: :func:`ltr_text` in the page's direction."""
    return ltr_text(value, str(context.get("dir", "ltr")))


def underline(text: str, mark: str = "=") -> str:
    """The ``underline`` filter: a plain-text heading's rule, as wide as the heading shows
    (a Chinese character takes two columns of a text-only mail program)."""
    from wcwidth import wcswidth

    width = wcswidth(text)  # -1 when the text holds a control character
    return mark * (width if width >= 0 else len(text))


WORD_JOINER = "\u2060"


@jinja2.pass_context
def web_address(context: jinja2.runtime.Context, url: str) -> str:
    """The ``web_address`` filter: a printed address, without the "https://" a browser adds
    itself (shorter, so it wraps less), that breaks after a slash, never at a hyphen:
    "spinal-" / "cord-stimulation" reads as a hyphenated word, and the reader types the
    address without it. A word joiner after each hyphen forbids the break; it draws nothing
    and is not in the text a reader copies (HarfBuzz drops it). The link keeps the whole URL."""
    shown = re.sub(r"^https?://", "", url)
    return ltr_text(shown.replace("-", "-" + WORD_JOINER), str(context.get("dir", "ltr")))


def css_string(value: object) -> str:
    """Escape text for use inside a double-quoted CSS string (``content: "…"``)."""
    text = plain(str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


_COUNTER_RE = re.compile(r"%\((page|pages)\)s")


@jinja2.pass_context
def page_counters(context: jinja2.runtime.Context) -> str:
    """The footer's "Page 3 of 11" as a CSS ``content`` value: the page's language's whole
    phrase, its placeholders replaced by the page counters (``"第 " counter(page) " 页，共 "
    counter(pages) " 页"``). Word order and the words after the numbers are the translator's.

    A project catalog made before the phrase existed translates only "Page" and "of": those
    are joined as they were, so its footers do not turn English.
    """
    lang = context.get("lang", languages.ORIGINAL)
    words = translations(lang, catalog_dir(context))
    phrase = words.gettext("Page %(page)s of %(pages)s")
    if phrase == "Page %(page)s of %(pages)s" and lang != languages.ORIGINAL:
        phrase = f"{words.gettext('Page')} %(page)s {words.gettext('of')} %(pages)s"
    parts = _COUNTER_RE.split(phrase)
    return " ".join(f"counter({part})" if index % 2 else f'"{css_string(part)}"'
                    for index, part in enumerate(parts) if part)


def medium_date(value: date, lang: str) -> str:
    """"Nov 2, 2026" / "2 nov 2026": short enough for a footer, no reader arithmetic."""
    return dated(format_date(value, "medium", locale=languages.locale(lang)))


def nowrap(text: str) -> str:
    """Spaces made non-breaking: a date or a phone label never splits over two lines."""
    return text.replace(" ", "\u00a0")


_PHONE_RE = re.compile(r"\+?\d[\d().\s-]{5,}\d")


# The last two characters of a label in a script written without spaces: the verb before a
# number ("致电", "拨打"), one word that a line may not split.
_UNSPACED_TAIL_RE = re.compile(rf"[{languages.CJK_SCRIPTS}]{{2}}$")


def call_words(label: str) -> tuple[str, str]:
    """("the words before", "the words that say to call") of a label a phone number follows:
    the last word, with the one before it when it is short ("Call"; "Llame al", "اتصل على"),
    so they go to a new line with the number, never without it; in a script without spaces,
    the last two characters ("请致电": "致电"). The words before keep the space after them."""
    words = label.split()
    if len(words) < 2:
        tail = _UNSPACED_TAIL_RE.search(label.rstrip())
        return (label, "") if tail is None else (label[: tail.start()], tail.group())
    n = 2 if len(words[-1]) <= 3 else 1
    head = " ".join(words[:-n])
    return f"{head} " if head else "", " ".join(words[-n:])


def number_kept(text: str) -> str:
    """``text`` with the phone number in it held to the words that say to call it: spaces made
    non-breaking, and word joiners (U+2060: drawn as nothing, never copied out of the PDF)
    between characters a script without spaces would otherwise break between."""
    match = _PHONE_RE.search(text)
    if match is None:
        return text
    head, said = call_words(text[: match.start()])
    if not said:
        return text
    if _UNSPACED_TAIL_RE.fullmatch(said):
        said = WORD_JOINER.join(said)
    return f"{head}{nowrap(said + ' ' + match.group(0))}{text[match.end():]}".lstrip()


@jinja2.pass_context
def address(context: jinja2.runtime.Context, value: PostalAddress) -> str:
    """A street address on one line for print and screen, its state and ZIP code held
    together (a ZIP code never wraps onto a line of its own), and left to right on a
    right-to-left page ("400 Orchard Way", not "Orchard Way … 400"). ``one_line()`` is the
    plain form, for search links and the newsletter's address check."""
    text = f"{value.street}, {value.city}, {nowrap(f'{value.state} {value.zip}')}"
    return ltr_text(text, str(context.get("dir", "ltr")))


def tel_href(phone: str) -> str:
    """``555-0100`` → ``tel:5550100`` for tappable links; an extension after the number
    (``555-0100 ext. 12``) is dialled after it (RFC 3966), never run into it."""
    found = PHONE_RE.fullmatch(phone.strip())
    number, ext = (found["number"], found["ext"]) if found else (phone, None)
    return "tel:" + re.sub(r"[^0-9+]", "", number) + (f";ext={ext}" if ext else "")


class ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses, before opening it, a template that resolves outside its
    folder (a symlink to a file elsewhere): templates are read only from inside the project."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.folder.joinpath(*jinja2.loaders.split_template_path(template))
        if path.is_file() and not inside(path, self.folder):
            msg = f"template '{template}' resolves outside {self.folder.name}/ (a link to a file elsewhere)"
            raise TemplateError(msg)
        return super().get_source(environment, template)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, so a second environment (each
    project loaded: `preview` after a save, a check after a build) does not compile them
    again. Jinja keys them by name and file and checks the source's checksum before use."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self.code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def make_env(project_templates: Path | None = None) -> jinja2.Environment:
    """Build the environment. Called once per run; renderers share it."""
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    search: list[jinja2.BaseLoader] = []
    if project_templates is not None and project_templates.is_dir():
        search.append(ConfinedLoader(project_templates))
    search += [builtin, jinja2.PrefixLoader({"default": builtin}, delimiter=":")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            disabled_extensions=("txt", "txt.j2", "css", "css.j2"), default=True
        ),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_COMPILED,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["page_counters"] = page_counters
    env.filters.update(
        long_date=long_date,
        short_date=short_date,
        clock=clock,
        hours=hours,
        weekday_date=day,
        weekday=weekday,
        and_list=and_list,
        underline=underline,
        tel_href=tel_href,
        plain=plain,
        css_string=css_string,
        isolate=isolate,
        numbers_ltr=isolate_numbers,
        ltr=ltr,
        web_address=web_address,
        address=address,
        call_words=call_words,
        number_kept=number_kept,
        continued=mark_lists,
    )
    if project_templates is not None:  # content/locale/<lang>.po beside the project's templates/
        env.globals["catalog_dir"] = str(project_templates.parent / "content" / "locale")
    return env


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render template ``name``; Jinja errors become a TemplateError naming the template."""
    try:
        return env.get_template(name).render(**context)
    except TemplateError:
        raise
    except jinja2.TemplateNotFound as exc:
        msg = f"template '{exc.name}' not found in templates/ or the built-in templates"
        raise TemplateError(msg) from exc
    except jinja2.TemplateSyntaxError as exc:
        msg = f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}"
        raise TemplateError(msg) from exc
    except jinja2.UndefinedError as exc:
        msg = f"template '{_where(exc, name)}': {exc.message}"
        raise TemplateError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"template '{name}' (or one it includes) is not UTF-8 text"
        raise TemplateError(msg) from exc
    except Exception as exc:  # a runtime error inside a template: 1/0, a filter given bad input
        msg = f"template '{_where(exc, name)}' failed: {type(exc).__name__}: {exc}"
        raise TemplateError(msg) from exc


def _where(exc: BaseException, name: str) -> str:
    """``file.j2:line`` of the innermost template frame of ``exc`` (Jinja keeps them)."""
    where = name
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{Path(filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def safe_html(html: str) -> Markup:
    """Mark HTML that was already sanitised (content Markdown) as safe for templates."""
    return Markup(html)  # noqa: S704 - input comes from content.markdown.render_markdown (nh3-cleaned)
