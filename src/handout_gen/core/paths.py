"""Where the tool's own files live: built-in templates, message catalogs, starter project, fonts."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
BUILTIN_TEMPLATES = PACKAGE_DIR / "templates"
LOCALE_DIR = PACKAGE_DIR / "locale"
STARTER_DIR = PACKAGE_DIR / "starter"

try:  # the fonts ship as a Python package; renders may read that folder too
    import fontpkg_atkinson_hyperlegible as _font_pkg

    FONT_DIR: Path | None = Path(_font_pkg.__file__).resolve().parent / "files"
except ImportError:  # pragma: no cover - it is a hard dependency
    FONT_DIR = None
