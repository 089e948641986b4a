"""The page-furniture words (headings, footers, menus, buttons) in each language: gettext
catalogs, the project's ``content/locale/<lang>.po`` first, then the tool's, and the
``_()`` / ``ngettext()`` the templates call."""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

import jinja2
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import escape

from handout_gen.core import languages
from handout_gen.core.errors import InputRefused, Problem, relpath
from handout_gen.core.files import read_input
from handout_gen.core.paths import LOCALE_DIR


def read_catalog(po_path: Path, lang: str | None = None, root: Path | None = None) -> Catalog:
    """A ``.po`` file. A project's own (``root`` given) is read as every project input is
    (:func:`read_input`: not through a link to a file elsewhere, not oversized), and one that
    is not UTF-8 is a named problem (:class:`InputRefused`), not a traceback."""
    if root is None:
        data = po_path.read_bytes()
    else:
        data = read_input(po_path, folder=po_path.parent, root=root)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            message = "is not UTF-8 text; save it as UTF-8"
            raise InputRefused(Problem(relpath(po_path, root), message, rule="translation.catalog")) from None
    return read_po(io.BytesIO(data), locale=languages.locale(lang) if lang else None)


def _compile(po_path: Path, lang: str, root: Path | None = None) -> Translations:
    catalog = read_catalog(po_path, lang, root)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def translations(lang: str, project_catalogs: Path | None = None) -> NullTranslations:
    """The page-furniture words of ``lang``: the project's ``content/locale/<lang>.po`` first,
    then the catalog shipped with the tool; English (the msgids) for anything in neither.
    Compiled once per state of the project's file: the preview shows a saved edit."""
    own = project_catalogs / f"{lang}.po" if project_catalogs else None
    try:
        state = os.stat(own) if own else None
    except OSError:
        state = None
    return _translations(lang, own, (state.st_mtime_ns, state.st_size) if state else None)


@lru_cache(maxsize=64)
def _translations(lang: str, own: Path | None, _state: tuple[int, int] | None) -> NullTranslations:
    if lang == languages.ORIGINAL:
        return NullTranslations()
    found: NullTranslations = NullTranslations()
    for po_path, root in ((LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", None),
                          (own, own.parents[2] if own else None)):  # <root>/content/locale/<lang>.po
        if po_path is not None and po_path.is_file():
            compiled = _compile(po_path, lang, root)
            compiled.add_fallback(found)
            found = compiled
    return found


def catalog_dir(context: jinja2.runtime.Context) -> Path | None:
    """The project's ``content/locale/`` a template is rendered with (none: the tool's only)."""
    folder = context.get("catalog_dir")
    return Path(folder) if folder else None


# Template messages whose English was reworded: a project catalog made before has only the
# old msgid, whose translation still fits, so it is used rather than English.
REWORDED = {
    # One hour or several, in each language's own plural forms ("ساعتين", not "2 ساعات").
    "If you have any of these, call us at %(phone)s within %(hours)s hour of noticing it:": (
        "If you have any of these, call us at %(phone)s within %(hours)s hours of noticing it:"
    ),
    # The items under it begin "You have…": "if you have: • You have trouble breathing".
    "Call 911 or go to the nearest emergency room if:": (
        "Call 911 or go to the nearest emergency room if you have:"
    ),
}


def _as_text(context: jinja2.runtime.Context, text: str) -> str:
    """A catalog's words are text, never markup: Jinja's newstyle gettext marks what it gets
    safe in an HTML template, so a translator's "<script>" or "<a href=javascript:…>" would
    reach the web pages and the PDFs' links. Escaped here, in HTML templates only (the text
    part of a newsletter shows "&" as it is)."""
    return escape(text) if context.eval_ctx.autoescape else text


@jinja2.pass_context
def gettext(context: jinja2.runtime.Context, message: str) -> str:
    lang = context.get("lang", languages.ORIGINAL)
    words = translations(lang, catalog_dir(context))
    text = words.gettext(message)
    if text == message and message in REWORDED and lang != languages.ORIGINAL:
        text = words.gettext(REWORDED[message])
    return _as_text(context, text)


@jinja2.pass_context
def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    lang = context.get("lang", languages.ORIGINAL)
    words = translations(lang, catalog_dir(context))
    text = words.ngettext(singular, plural, n)
    if text in (singular, plural) and singular in REWORDED and lang != languages.ORIGINAL:
        before = words.gettext(REWORDED[singular])  # a catalog made before the plural forms
        text = text if before == REWORDED[singular] else before
    return _as_text(context, text)
