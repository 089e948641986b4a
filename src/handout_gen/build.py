"""``handout-gen build``: every handout and newsletter, validated first, then written.

Staged like mkdocs and Pelican: plan what changed (hashes only), validate every output of
the plan (handout templates render, every newsletter is rendered in memory and passes every
guard), and only then render PDFs and write files. A problem in any output stops the build
before the first file is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handout_gen.content.project import Project
from handout_gen.core.files import BuildReport
from handout_gen.handouts import Renderer, check_templates, plan_handouts, write_handouts
from handout_gen.newsletter.render import render_changed, write_rendered

log = logging.getLogger("handout_gen")


@dataclass
class BuildResult:
    handouts: BuildReport
    newsletters: BuildReport

    def summary(self) -> list[str]:
        """What ``handout-gen build`` prints after the files it wrote."""
        issues = len({p.parent for p in self.newsletters.written})
        return [f"handouts: {len(self.handouts.written)} written, {len(self.handouts.skipped)} unchanged",
                f"newsletters: {issues} written, {len(self.newsletters.skipped)} unchanged"]


def build(
    project: Project, *, force: bool = False, progress: Callable[[Path], None] | None = None
) -> BuildResult:
    """Build every changed handout and newsletter; ``progress`` hears of each file written."""
    handouts, unchanged = plan_handouts(project, force=force)
    renderer = Renderer(project)
    check_templates(project, handouts, renderer)
    issues, issues_unchanged = render_changed(project, force=force)
    for issue in issues:
        for warning in issue.warnings:
            log.warning("%s", warning)
    written = write_handouts(project, handouts, renderer, progress)
    letters = write_rendered(project, issues)
    if progress:
        for path in letters:
            progress(path)
    return BuildResult(BuildReport(written, unchanged), BuildReport(letters, issues_unchanged))
