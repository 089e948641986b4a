"""The build gate: the errors ``check --no-pdf`` reports for an output's own inputs.

``build`` asks here before it renders anything, so an output whose image is missing, whose
link would be removed, whose text holds a character the font cannot draw, or whose brand
colours are unreadable is never written, and the same rule ids and messages appear in both.
"""

from __future__ import annotations

from handout_gen.checks import pdf as checks_pdf
from handout_gen.checks import text as checks_text
from handout_gen.checks.findings import Finding
from handout_gen.checks.runner import procedure_image
from handout_gen.content.procedures import Procedure
from handout_gen.content.project import Project
from handout_gen.content.yamlfile import yaml_key_lines
from handout_gen.core.errors import Problem, relpath


def as_problem(finding: Finding) -> Problem:
    return Problem(finding.file, finding.message, finding.line, severity=finding.severity, rule=finding.rule)


def practice_problems(project: Project) -> list[Problem]:
    """Errors in practice.yaml that every output inherits (brand colours below the contrast limit)."""
    path = project.content_dir / "practice.yaml"
    key_lines = yaml_key_lines(path.read_text(encoding="utf-8-sig"))
    findings = checks_pdf.contrast(project.practice.colors, relpath(path, project.root), key_lines)
    return [as_problem(f) for f in findings if f.severity == "error"]


def procedure_problems(project: Project, procedure: Procedure) -> list[Problem]:
    """Errors in the files of one procedure (every edition): images, links, glyphs."""
    findings = procedure_image(procedure, project.content_dir, project.root)
    for edition in procedure.editions.values():
        doc = checks_text.read_document(edition, project.root, project.languages)
        findings += checks_text.references(doc, project.content_dir)
        findings += checks_text.removed(doc)
        findings += checks_pdf.glyphs(
            checks_text.all_text(doc), doc.source, set(), project.languages.font_chain(edition.lang))
    return [as_problem(f) for f in findings if f.severity == "error"]
