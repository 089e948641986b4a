"""``handout-gen build``: every handout and newsletter, checked first, then written.

Staged like mkdocs and Pelican: plan what changed (hashes only), validate every output of
the plan, and only then render PDFs and write files. The gate is the same as ``check``'s
(:mod:`handout_gen.checks.gate`): a problem blocks only the outputs made from the file that
has it, is named with file and line, and is never hidden behind "unchanged"; everything
else is built, and the caller exits non-zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from handout_gen.checks.gate import practice_problems, procedure_problems
from handout_gen.content.project import Project
from handout_gen.core.errors import Problem
from handout_gen.core.files import BuildReport
from handout_gen.handouts import Renderer, handout_html, plan_handouts, write_handouts
from handout_gen.newsletter.render import render_changed, write_rendered

log = logging.getLogger("handout_gen")


@dataclass
class BuildResult:
    handouts: BuildReport
    newsletters: BuildReport
    problems: list[Problem] = field(default_factory=list)  # what kept outputs from being built

    def summary(self) -> list[str]:
        """What ``handout-gen build`` prints after the files it wrote."""
        issues = len({p.parent for p in self.newsletters.written})
        return [f"handouts: {len(self.handouts.written)} written, {len(self.handouts.skipped)} unchanged",
                f"newsletters: {issues} written, {len(self.newsletters.skipped)} unchanged"]


def build(
    project: Project, *, force: bool = False, progress: Callable[[Path], None] | None = None,
    workers: int = 1,
) -> BuildResult:
    """Build every changed handout and newsletter whose inputs have no errors; ``workers``
    processes lay the handouts out (0: every core)."""
    problems = practice_problems(project)
    if problems:  # every output carries the brand: nothing can be built
        return BuildResult(BuildReport(), BuildReport(), problems)
    problems = list(project.problems)  # procedures that did not load
    stale, unchanged = plan_handouts(project, force=force)
    # Only procedures with a handout to write are gated: an up-to-date handout passed the gate
    # when it was written, and every input the gate reads is part of its key.
    to_write = {item.procedure.slug for item in stale}
    blocked: set[str] = set()
    for procedure in project.selected_procedures():
        found = procedure_problems(project, procedure) if procedure.slug in to_write else []
        if found:
            blocked.add(procedure.slug)
            problems += found
    stale = [item for item in stale if item.procedure.slug not in blocked]
    unchanged = [path for path in unchanged if path.name.split(".")[0] not in blocked]
    renderer = Renderer(project)
    for item in stale:  # a template error stops the build before the first write
        handout_html(project, item.procedure, item.variant, renderer.env)
    changed = render_changed(project, force=force)
    problems += changed.problems
    for issue in changed.rendered:
        for warning in issue.warnings:
            log.warning("%s", warning)
    written = write_handouts(project, stale, renderer, progress, problems, workers)
    letters = write_rendered(project, changed.rendered)
    if progress:
        for path in letters:
            progress(path)
    return BuildResult(BuildReport(written, unchanged), BuildReport(letters, changed.unchanged), problems)
