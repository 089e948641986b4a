"""The one lazy renderer: a project's Jinja environment now, its WeasyPrint renderer on first use.

Handouts, packet workers, ``check`` and the preview each hold one :class:`Engine` per run
(or per process), so fonts and images are loaded once and ``import weasyprint`` (about a
second) is paid only by commands that really lay out a page.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import jinja2

from handout_gen.render.jinja import make_env
from handout_gen.render.pdf import PdfRenderer


class Engine:
    """Template environment and PDF renderer for one project."""

    def __init__(self, root: Path, templates_dir: Path) -> None:
        self.root = root
        self.env: jinja2.Environment = make_env(templates_dir)

    @cached_property
    def pdf(self) -> PdfRenderer:
        return PdfRenderer(self.root)
