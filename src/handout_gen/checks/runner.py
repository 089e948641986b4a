"""``handout-gen check``: the gate that tells a content keeper what to fix, and where.

Rules fall in families (the rule id's prefix): ``schema``/``references`` (what the loader
reports plus images, links and slugs), ``readability``, ``pemat`` (the PEMAT-P items a
program can check), ``governance`` (review dates, drafts), ``translation``, ``pdf``
(contrast, type size, font coverage of the real render), ``pdfua`` (the machine-checkable
PDF/UA items of a sample packet) and ``newsletter``. Every finding
carries file, line, rule id, severity, message and a fix hint. Text rules live in
checks/text.py, print rules in checks/pdf.py; this module runs them and reports.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from handout_gen.checks import pdf as checks_pdf
from handout_gen.checks import tagged as checks_tagged
from handout_gen.checks import text as checks_text
from handout_gen.checks.calls import merged_sign_findings
from handout_gen.checks.catalogs import catalog_findings
from handout_gen.checks.findings import Finding, fix_for, from_problem
from handout_gen.checks.governance import governance, practice_review
from handout_gen.checks.instructions import edition_instructions, packet_instructions
from handout_gen.checks.newsletters import newsletter_checks
from handout_gen.content.languages import load_languages
from handout_gen.content.packet_marks import item_marks, unmarked
from handout_gen.content.procedures import Edition, Procedure, load_procedures
from handout_gen.content.project import Project, find_project_root, load_practice, load_project
from handout_gen.content.schema import SLUG_RE, Practice
from handout_gen.content.values import practice_values
from handout_gen.content.yamlfile import KeyLines, parse_yaml, split_front_matter, yaml_key_lines
from handout_gen.core.errors import ConfigError, HandoutGenError, ValidationFailed, plural, relpath
from handout_gen.core.languages import ORIGINAL, Languages
from handout_gen.core.paths import BUILTIN_TEMPLATES
from handout_gen.handouts import Renderer, Variant, handout_html
from handout_gen.site.printed import url_problems

log = logging.getLogger("handout_gen")

# Keys in recipes and newsletter front matter whose values (or mapping keys) are slugs.
SLUG_KEYS = {"procedure", "procedures", "slug", "slugs", "handout", "handouts", "featured"}


@dataclass
class CheckReport:
    """All findings of one run, sorted by file and line."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was looked at, for the summary

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))

    def summary(self) -> str:
        if not self.findings:
            return "No problems found."
        e, w = len(self.errors), len(self.warnings)
        return f"{plural(e, 'error')}, {plural(w, 'warning')}."

    def to_text(self) -> str:
        lines = [str(f) for f in self.findings]
        return "\n".join([*lines, self.summary()]) + "\n"

    def to_json(self, strict: bool = False) -> str:
        return json.dumps({
            "ok": not self.failed(strict),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_dict() for f in self.findings],
        }, indent=2, ensure_ascii=False) + "\n"


def load_glossary(root: Path, languages: Languages) -> tuple[dict[str, dict[str, str]], list[Finding]]:
    """content/glossary.yaml: ``{lang: {term: plain definition}}``; missing file = no jargon."""
    path = root / "content" / "glossary.yaml"
    if not path.is_file():
        return {}, []
    source = relpath(path, root)
    data, key_lines, problems = parse_yaml(path.read_text(encoding="utf-8-sig"), source)
    if data is None:
        return {}, [from_problem(p) for p in problems]
    glossary: dict[str, dict[str, str]] = {}
    findings = []
    for lang, terms in data.items():
        ok = lang in languages and isinstance(terms, dict) and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in terms.items())
        if not ok:
            findings.append(Finding(
                source, key_lines.get((str(lang),)), "schema", "error",
                f"'{lang}' must be a language ({', '.join(languages.codes)}) mapping each term "
                "to its definition",
                "write entries as '  term: plain definition' under 'en:' or 'es:'"))
            continue
        glossary[lang] = terms
    return glossary, findings


SlugRef = tuple[str, tuple[Any, ...]]


def _slug_refs(node: Any, path: tuple[Any, ...] = (), under: bool = False) -> list[SlugRef]:
    found: list[SlugRef] = []
    if isinstance(node, dict):
        for key, value in node.items():
            child = (*path, str(key))
            if under and isinstance(key, str) and SLUG_RE.match(key):
                found.append((key, child))
            found += _slug_refs(value, child, str(key) in SLUG_KEYS)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _slug_refs(item, (*path, index), under)
    elif under and isinstance(node, str) and SLUG_RE.match(node) and node != "all":
        found.append((node, path))
    return found


def slug_references(root: Path, slugs: set[str]) -> list[Finding]:
    """Unknown procedure slugs in recipes (handouts/*.yaml, e.g. packets.yaml).

    handouts/handouts.yaml is checked by the project loader and newsletter front matter by
    the newsletter loader (see newsletter_checks), so neither is read twice.
    """
    files = [p for p in sorted((root / "handouts").glob("*.y*ml")) if p.name != "handouts.yaml"]
    findings = []
    for path in files:
        source = relpath(path, root)
        text = path.read_text(encoding="utf-8-sig")
        data, key_lines, problems = parse_yaml(text, source)
        findings += [from_problem(p) for p in problems]
        for slug, where in _slug_refs(data):
            if slug not in slugs:
                findings.append(Finding(
                    source, key_lines.get(where), "references.unknown-slug", "error",
                    f"unknown procedure '{slug}'",
                    f"use one of: {', '.join(sorted(slugs)) or 'none'} (see 'handout-gen list')"))
    return findings


def translation_findings(
    procedure: Procedure, wanted: list[str], root: Path, languages: Languages
) -> list[Finding]:
    original = procedure.editions[ORIGINAL]
    source = relpath(original.path, root)
    findings = []
    # Missing: the languages the recipe prints handouts in. Stale: every edition there is
    # (packets and web pages print the others).
    for lang in dict.fromkeys([*wanted, *procedure.editions]):
        if lang == ORIGINAL:
            continue
        edition = procedure.editions.get(lang)
        name = languages.name(lang)  # the project's name for it
        if edition is None:
            findings.append(Finding(
                source, 1, "translation.missing", "warning",
                f"no {name} edition ({procedure.slug}.{lang}.md): the {name} handout falls back to English",
                f"write content/procedures/{procedure.slug}.{lang}.md (status: draft until reviewed)"))
            continue
        meta: Any = edition.meta
        tsource = relpath(edition.path, root)
        if behind := procedure.behind(lang):
            findings.append(Finding(
                tsource, _front_line(edition, "translation_of_version"), "translation.stale", "warning",
                f"translates version {behind[0]} but the English original is now {behind[1]}",
                "update the translation, then set translation_of_version to the new version"))
        findings += _marks_not_translated(original, edition, tsource, name)
        if original.meta.dated_aftercare and not meta.dated_aftercare:
            findings.append(Finding(
                tsource, 1, "translation.dated-aftercare", "warning",
                f"the English gives dated_aftercare and this edition none: {name} packets print no "
                "day for those steps", "add them in this language, with the English's days"))
        if original.meta.numbness_sign and not meta.numbness_sign and "numbness" in meta.call_topics:
            findings.append(Finding(
                tsource, _front_line(edition, "call_us_if") or 1, "translation.numbness-sign", "warning",
                f"the English gives numbness_sign and this edition none: {name} packets print no time "
                "to call if still numb or weak (their closing pages keep the line)",
                "add numbness_sign: in this language, the sign its {packet:numbness} item names"))
        elif meta.numbness_sign and (missing := sorted(
                original.meta.numbness_sign_by_site.keys() - meta.numbness_sign_by_site.keys())):
            findings.append(Finding(
                tsource, _front_line(edition, "numbness_sign") or 1, "translation.numbness-sign", "warning",
                f"the English names a sign for {', '.join(missing)} (numbness_sign_by_site) and this edition "
                f"none: {name} packets name its numbness_sign for every site",
                "add numbness_sign_by_site: in this language, for the same sites"))
        image: Any = getattr(original.meta, "image", None)
        if image is not None and not (meta.image_alt and meta.image_caption):
            findings.append(Finding(
                tsource, 1, "translation.image-text", "warning",
                f"the image has no {name} alt text or caption (the English one is used)",
                "add image_alt: and image_caption: to the front matter"))
    return findings


def _marks_not_translated(original: Edition, edition: Edition, source: str, name: str) -> list[Finding]:
    """An item of ``key_points``, ``aftercare``, ``call_us_if`` or a section's lists the English marks
    {packet:<topic>} whose translation (the item at the same place of a list as long) lacks
    the mark: that language's packets would print it beside the letter's own words for it."""
    lines = _front_lines(edition)
    lists: list[tuple[str, int | None, list[str], list[str]]] = [
        (key, lines.get((key,)), [unmarked(i)[1] for i in getattr(original.meta, f"{key}_marked")],
         [unmarked(i)[1] for i in getattr(edition.meta, f"{key}_marked")])
        for key in ("key_points", "aftercare", "call_us_if")
    ]
    ours = {s.id: s for s in edition.sections}
    lists += [(f"section '{ours[s.id].heading}'", ours[s.id].line, item_marks(s.markdown),
               item_marks(ours[s.id].markdown)) for s in original.sections if s.id in ours]
    findings = []
    for where, line, said, marked in lists:
        if len(said) != len(marked):
            continue  # not item for item: nothing to compare with
        for n, (topic, here) in enumerate(zip(said, marked, strict=True)):
            if topic and here != topic:
                findings.append(Finding(
                    source, lines.get((where, n), line), "translation.packet-marks", "warning",
                    f"item {n + 1} of {where} is marked {{packet:{topic}}} in English, not here: {name} "
                    "packets print it beside the letter's own words for it",
                    f"end the item with {{packet:{topic}}}, as the English does"))
    return findings


def _front_lines(edition: Edition) -> KeyLines:
    """Where each front matter key and list item of an edition starts (its file's lines),
    read from the text with practice values filled in (the raw file's "{{ n | 1: ... }}" is
    not YAML)."""
    text = edition.text or edition.path.read_text(encoding="utf-8-sig")
    return yaml_key_lines(split_front_matter(text)[0], 2)


def _front_line(edition: Edition, key: str) -> int | None:
    return _front_lines(edition).get((key,))


def procedure_image(procedure: Procedure, content_dir: Path, root: Path) -> list[Finding]:
    image: Any = procedure.meta.image
    if image is None:
        return []
    target = (content_dir / image.src).resolve()
    if target.is_file() and content_dir.resolve() in target.parents:
        return []
    edition = procedure.editions[ORIGINAL]
    return [Finding(
        relpath(edition.path, root), _front_line(edition, "image"), "references.image-missing",
        "error", f"image '{image.src}' not found in content/",
        "check the path (relative to content/) or add the file")]


def run_checks(
    start: Path, *, today: date | None = None, pdf: bool = True, progress: Callable[[str], None] | None = None
) -> CheckReport:
    """Run every rule over the project at ``start``; never raises for content problems.

    ``progress`` hears what is being checked (a file, a rendered PDF): the PDF rules take
    seconds, and a person should see that something is happening.
    """
    say = progress or (lambda _step: None)
    root = find_project_root(start)
    today = today or date.today()
    report = CheckReport()
    findings = report.findings
    project = None
    values: dict[str, str] | None
    practice: Practice | None
    try:
        project = load_project(root)
        procedures, langs = project.procedures, project.languages
        findings += [from_problem(p) for p in project.problems + project.warnings]
        wanted = project.handout_languages
        values, practice = practice_values(project.practice), project.practice
    except ValidationFailed as exc:
        findings += [from_problem(p) for p in exc.problems]
        practice, _ = load_practice(root)  # its problems are in exc.problems already
        values = practice_values(practice) if practice is not None else None
        langs = load_languages(root / "content", root)[0].languages
        procedures = load_procedures(root / "content", root, langs, values).procedures  # what did load
        wanted = list(langs.codes)
    content_dir = root / "content"
    review, found = practice_review(root, practice)
    findings += found
    glossary, found = load_glossary(root, langs)
    findings += found
    seen_chars: set[str] = set()
    docs: list[checks_text.Document] = []
    for procedure in procedures.values():
        say(relpath(procedure.editions[ORIGINAL].path, root))
        findings += procedure_image(procedure, content_dir, root)
        findings += translation_findings(procedure, wanted, root, langs)
        for edition in procedure.editions.values():
            doc = checks_text.read_document(edition, root, langs)
            findings += governance(edition.meta, doc.source, doc.key_lines, today, review)
            findings += edition_findings(doc, glossary.get(edition.lang, {}), content_dir)
            findings += checks_pdf.glyphs(
                checks_text.all_text(doc), doc.source, seen_chars, langs.font_chain(edition.lang))
            report.checked.append(doc.source)
            docs.append(doc)
    findings += merged_sign_findings(docs)  # what packets of several procedures print
    findings += slug_references(root, set(procedures))
    findings += packet_instructions(root, values)
    if practice is not None:
        practice_yaml = content_dir / "practice.yaml"
        _, key_lines, _ = parse_yaml(practice_yaml.read_text(encoding="utf-8-sig"), "practice.yaml")
        findings += checks_pdf.contrast(practice.colors, relpath(practice_yaml, root), key_lines)
    newsletters: dict[str, str] = {}
    if project is not None:
        findings += catalog_findings(project) + packet_setup_findings(project, today)
        findings += key_points_rendered(project)
        if pdf:
            findings += pdf_checks(project, seen_chars, say)
            findings += packet_checks(project, say)
    findings += newsletter_checks(root, project, newsletters)
    if project is not None:
        findings += [from_problem(p) for p in url_problems(project, newsletters)]
    report.findings = sorted(set(findings), key=lambda f: (f.file, f.line or 0, f.rule, f.message))
    return report


def edition_findings(doc: checks_text.Document, glossary: dict[str, str], content_dir: Path) -> list[Finding]:
    """The text rules on one edition: readability, PEMAT, numbers, jargon, references, instructions."""
    return [
        *checks_text.readability(doc),
        *checks_text.pemat(doc),
        *checks_text.numbers(doc),
        *checks_text.jargon(doc, glossary),
        *checks_text.references(doc, content_dir),
        *checks_text.removed(doc),
        *edition_instructions(doc),
    ]


def key_points_rendered(project: Any) -> list[Finding]:
    """PEMAT-P item 11: the rendered handout has its key-points summary box."""
    env = Renderer(project).env
    findings = []
    for procedure in project.selected_procedures():
        html = handout_html(project, procedure, Variant(ORIGINAL), env)
        if 'class="box key-points"' not in html and "key-points" not in html:
            findings.append(Finding(
                relpath(procedure.editions[ORIGINAL].path, project.root), None, "pemat.key-points",
                "warning", f"the handout for {procedure.slug} shows no key-points box",
                "keep the key_points block in your templates/handout.html.j2 override"))
    return findings


def pdf_checks(project: Project, seen_chars: set[str], progress: Callable[[str], None]) -> list[Finding]:
    """Render (or reuse the built) PDF of every planned handout and measure it."""
    findings: list[Finding] = []
    templates = sorted(project.templates_dir.rglob("*.j2")) if project.templates_dir.is_dir() else []
    templates += sorted(BUILTIN_TEMPLATES.rglob("*.j2"))
    for procedure, variant, data in checks_pdf.rendered_handouts(project):
        progress(f"output/handouts/{variant.filename(procedure.slug)} (print rules)")
        edition = procedure.edition(variant.lang)
        files = [edition.path, project.content_dir / "practice.yaml", *templates]
        findings += checks_pdf.pdf_findings(
            data, large_print=variant.large_print, output_name=variant.filename(procedure.slug),
            source=relpath(edition.path, project.root), char_files=files, root=project.root,
            seen_chars=seen_chars, families=project.languages.font_chain(edition.lang))
    return findings


def packet_setup_findings(project: Project, today: date) -> list[Finding]:
    """content/packet.yaml and handouts/packets.yaml as packets read them, each problem at its
    own line (an unknown slug in a recipe is slug_references' finding), and packet.yaml's
    review: its words are on every packet."""
    from handout_gen.packets.kit import load_kit

    try:
        kit = load_kit(project)
    except ValidationFailed as exc:
        return [from_problem(p) for p in exc.problems if p.rule != "references.unknown-slug"]
    except ConfigError as exc:
        return [Finding("content/packet.yaml", None, "schema", "error", str(exc), fix_for("schema"))]
    lines = yaml_key_lines(kit.text_bytes.decode("utf-8-sig"))  # the file loaded: its YAML parses
    source = relpath(project.content_dir / "packet.yaml", project.root)
    reviewed = governance(kit.text, source, lines, today, project.practice.review, "every packet prints")
    return reviewed + _site_name_findings(project, kit.text.text, lines)


def _site_name_findings(
    project: Project, words_by_lang: Mapping[str, Any], lines: KeyLines
) -> list[Finding]:
    """A site a roster row may name ("radiofrequency-ablation:cervical") that a language's
    packet words do not name: letters in it print the procedure without its site, and the
    patient cannot see it is the right place. A name for no site is a misspelt key (unless a
    procedure failed to load: its sites are unknown until its own errors are fixed)."""
    sites = sorted({site for procedure in project.procedures.values() for site in procedure.meta.prep.sites})
    source, fix = relpath(project.content_dir / "packet.yaml", project.root), fix_for("packet.site-name")
    findings = []
    for lang, words in words_by_lang.items():
        missing = [site for site in sites if site not in words.site_names]
        at = lines.get(("text", lang, "site_names"), lines.get(("text", lang)))
        if words.procedure_at_site and missing:
            findings.append(Finding(
                source, at, "packet.site-name", "warning",
                f"text.{lang}.site_names has no name for {', '.join(missing)}: letters in "
                f"{project.languages.name(lang)} name those procedures without their site", fix))
        if project.problems:  # a procedure that did not load has sites too: say its errors first
            continue
        for key in sorted(set(words.site_names) - set(sites)):
            line = lines.get(("text", lang, "site_names", key), at)
            findings.append(Finding(
                source, line, "packet.site-name", "warning",
                f"text.{lang}.site_names.{key} names no site a procedure has (sites: {', '.join(sites)})",
                "correct the key to one of those sites, or remove it"))
    return findings


def packet_checks(project: Project, progress: Callable[[str], None]) -> list[Finding]:
    """PDF/UA rules (checks/tagged.py) over a packet for a fictional patient, made in memory."""
    from handout_gen.packets.packet import sample_packet

    recipe = relpath(project.root / "handouts" / "packets.yaml", project.root)
    progress("a sample packet (PDF/UA rules)")
    try:
        data = sample_packet(project)
    except ValidationFailed:  # content/packet.yaml or the recipe: packet_setup_findings has them
        return []
    except HandoutGenError as exc:
        return [Finding(recipe, None, "pdfua.packet", "error", f"a sample packet could not be made: {exc}",
                        fix_for("pdfua.packet"))]
    return [Finding(recipe, None, rule, "error", f"the sample packet: {message}", fix_for(rule))
            for rule, message in checks_tagged.pdfua_problems(data)]
