"""``check`` rules for newsletters: every language edition of every issue, as the build sees it.

The guards (size, alt, https, footer, client support, no patient data) are the newsletter
build's own (:func:`~handout_gen.newsletter.render.render_editions` runs them without writing);
this adds what a content keeper needs before a send: the glyph rule on each file and the
readability rule of each edition's language (Flesch-Kincaid for English, INFLESZ for Spanish,
sentence length for a language without a formula), scored on the introduction and each section.
"""

from __future__ import annotations

from pathlib import Path

from lxml import html as lxml_html  # type: ignore[import-untyped]

from handout_gen.checks import pdf as checks_pdf
from handout_gen.checks import text as checks_text
from handout_gen.checks.findings import Finding, fix_for, from_problem
from handout_gen.checks.readability import reading_level
from handout_gen.content.markdown import render_markdown
from handout_gen.content.project import Project
from handout_gen.core.errors import HandoutGenError, ValidationFailed, relpath
from handout_gen.core.languages import ORIGINAL, Languages
from handout_gen.newsletter.editions import edition_files
from handout_gen.newsletter.model import Issue, list_issues
from handout_gen.newsletter.render import render_editions

NEWSLETTER_SCHEMA = "newsletter.schema"  # a newsletter problem without a more specific rule


def _plain(markdown: str) -> str:
    """What a reader reads of a Markdown fragment; list items become sentences."""
    if not markdown.strip():
        return ""
    root = lxml_html.fragment_fromstring(render_markdown(markdown), create_parent="div")
    for li in root.iter("li"):
        li.text, li.tail = checks_text.as_sentence(li.text_content()), " "
        for child in list(li):
            li.remove(child)
    return " ".join(root.text_content().split())


def readability(issue: Issue, source: str, lines: list[str], languages: Languages) -> list[Finding]:
    """The reading-level rule of the edition's language over its introduction and sections
    (warnings only: the hard limits are the handouts')."""
    body = next((n for n, line in enumerate(lines, 1) if n > 1 and line.strip() == "---"), 1) + 1
    units = [("the introduction", body, _plain(issue.intro_md))]
    for sid, (heading, markdown) in issue.sections.items():
        line = next((n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"{{#{sid}}}")), body)
        units.append((f"section '{heading}'", line, _plain(markdown)))
    rule = languages.readability(issue.lang)
    return reading_level(source, units, issue.lang, rule, errors=False)


def newsletter_checks(root: Path, project: Project | None, rendered: dict[str, str]) -> list[Finding]:
    """Every edition of every issue: guards, glyphs and reading level, as findings.

    Each edition that renders leaves its HTML in ``rendered`` under ``<issue>`` or
    ``<issue>.<lang>`` (its file's name: the site rules read its links).
    """
    folder = root / "content" / "newsletters"
    if project is None or not folder.is_dir():
        return []
    findings: list[Finding] = []
    for issue_id in list_issues(project):
        files = {ORIGINAL: folder / f"{issue_id}.md", **edition_files(project, issue_id)}
        texts = {
            lang: path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
            for lang, path in files.items()
        }
        seen: set[str] = set()  # the same rule as handouts: no character without a font of the chain
        for lang, lines in texts.items():
            families = project.languages.font_chain(lang)
            source = relpath(files[lang], root)
            findings += checks_pdf.glyphs(
                [(line, n) for n, line in enumerate(lines, 1)], source, seen, families
            )
        try:
            editions = render_editions(project, issue_id, strict=False)
        except ValidationFailed as exc:
            findings += [from_problem(p, default_rule=NEWSLETTER_SCHEMA) for p in exc.problems]
            continue
        except HandoutGenError as exc:
            rule = NEWSLETTER_SCHEMA if exc.rule == HandoutGenError.rule else exc.rule
            source = relpath(files[ORIGINAL], root)
            findings.append(Finding(source, None, rule, "error", str(exc), fix_for(rule)))
            continue
        findings += [from_problem(p, default_rule=NEWSLETTER_SCHEMA) for p in editions.problems]
        findings += [from_problem(p, default_rule=NEWSLETTER_SCHEMA) for p in editions.warnings]
        for item in editions.all:
            lang = item.issue.lang
            rendered[issue_id if lang == ORIGINAL else f"{issue_id}.{lang}"] = item.html
            source = relpath(files[lang], root)
            findings += readability(item.issue, source, texts[lang], project.languages)
            if not item.issue.approved:
                findings.append(_draft(source, texts[lang], item.issue.status))
    return findings


def _draft(source: str, lines: list[str], status: str | None) -> Finding:
    line = next((n for n, text in enumerate(lines, 1) if text.startswith("status:")), None)
    said = "status is draft" if status else "no status: a draft until a reviewer approves it"
    return Finding(source, line, "governance.draft", "warning",
                   f"{said}: 'send' refuses to send it to a list",
                   "after review (a clinician; for a translation, a qualified translator) set "
                   "'status: approved'")
