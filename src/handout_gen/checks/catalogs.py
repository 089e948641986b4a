"""The words around the content (headings, footers, menus, buttons): which phrases a language's
catalogs leave untranslated. Those print in English on that language's handouts, packets and
web pages, so ``check`` names them before a reader meets them."""

from __future__ import annotations

import re

from babel.messages.catalog import Catalog, Message

from handout_gen.checks.findings import Finding
from handout_gen.content.project import Project
from handout_gen.core.errors import InputRefused, agree, plural, relpath
from handout_gen.core.languages import ORIGINAL
from handout_gen.core.paths import LOCALE_DIR
from handout_gen.render.catalogs import REWORDED, read_catalog

SHOWN = 5  # phrases quoted in the message; the count says how many more


def _msgid(message: Message) -> str:
    """A message's msgid; a plural entry's by its one form, as the templates name it."""
    return message.id if isinstance(message.id, str) else message.id[0]


def _translated(catalog: Catalog) -> set[str]:
    """The msgids a catalog translates: a plural entry only when every one of its forms is
    (an empty one prints English)."""
    return {_msgid(m) for m in catalog
            if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}


# "<br>", "</b>", "&nbsp;", "&#160;": markup a translator may expect to work; it prints as typed
MARKUP_RE = re.compile(r"</?[A-Za-z][^<>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")


def _markup(catalog: Catalog, source: str) -> list[Finding]:
    """A warning for the phrases of a project's catalog that hold markup or an entity."""
    strings: list[str] = []
    for message in catalog:
        if message.id:
            forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
            strings += [str(text) for text in forms if text]
    marked = [text for text in strings if MARKUP_RE.search(text)]
    if not marked:
        return []
    hold = f"{plural(len(marked), 'phrase')} {agree(len(marked), 'holds', 'hold')}"
    return [Finding(source, None, "translation.catalog", "warning",
                    f"{hold} markup or an entity, which prints as typed, never as "
                    f"markup: {', '.join(repr(text) for text in marked[:SHOWN])}",
                    "write the character itself (a non-breaking space, \"&\") and no tags")]


def catalog_findings(project: Project) -> list[Finding]:
    """One warning per language whose catalogs (the project's ``content/locale/<lang>.po``,
    then the tool's) miss a phrase of the built-in templates (``messages.pot``), and one for a
    phrase that got plural forms but is still translated with the one form it had before."""
    pot = [m for m in read_catalog(LOCALE_DIR / "messages.pot") if m.id]
    wanted = sorted(_msgid(m) for m in pot)
    with_plurals = sorted(_msgid(m) for m in pot if isinstance(m.id, tuple))
    findings = []
    for lang in project.languages.codes:
        if lang == ORIGINAL:
            continue
        own = project.catalog_dir / f"{lang}.po"
        have: set[str] = set()
        name, source = project.languages.name(lang), relpath(own, project.root)
        tools = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        if tools.is_file():
            have |= _translated(read_catalog(tools))
        if own.is_file():
            try:
                catalog = read_catalog(own, root=project.root)
            except InputRefused as refused:  # every page in the language stops on it: an error
                problem = refused.problem
                findings.append(Finding(source, None, problem.rule or "translation.catalog", "error",
                                        problem.message, "make it a real UTF-8 file in content/locale/"))
                continue
            have |= _translated(catalog)
            findings += _markup(catalog, source)
        singular = [m for m in with_plurals if m not in have and REWORDED.get(m) in have]
        if singular:  # the old one-form phrase still prints: "خلال 2 ساعات" for "two hours"
            findings.append(Finding(
                source, None, "translation.catalog", "warning",
                f"{plural(len(singular), 'phrase')} {agree(len(singular), 'has', 'have')} one {name} form "
                "for every number, as the English had "
                f"before it got plural forms: {', '.join(repr(m) for m in singular)}",
                f"add the phrase's msgid_plural entry to {source}, one msgstr[n] per {name} plural form"))
        missing = [m for m in wanted if m not in have and REWORDED.get(m) not in have]
        if not missing:
            continue
        quoted = ", ".join(repr(m) for m in missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        findings.append(Finding(
            source, None, "translation.catalog", "warning",
            f"{plural(len(missing), 'phrase')} of the page furniture {agree(len(missing), 'has', 'have')} no "
            f"{name} translation and {agree(len(missing), 'prints', 'print')} in "
            f"English on {name} handouts, packets and web pages: {quoted}{more}",
            f"add them to {source} (msgid: the English phrase, msgstr: the {name}); keep the file "
            "marked draft until a qualified translator reviews it"))
    return findings
