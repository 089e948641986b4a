"""The one URL fetcher: project files (and the tool's own assets), never the network.

WeasyPrint would otherwise follow any ``http(s)://`` or ``file://`` URL found in content
or templates. Everything it may read is listed here, so a hostile ``<img src>`` cannot
read ``/etc/passwd`` or leak a request to a tracking server.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from handout_gen.core.paths import FONT_DIR, PACKAGE_DIR


def allowed_roots(project_root: Path) -> tuple[Path, ...]:
    """Folders a render may read: the project, the package's own files, the font files."""
    roots = [project_root.resolve(), PACKAGE_DIR]
    if FONT_DIR is not None:
        roots.append(FONT_DIR)
    return tuple(roots)


class RefusedURL(ValueError):
    """Raised (and logged by WeasyPrint as a warning) for any URL outside the allowed roots."""


def resolve_local(url: str, roots: tuple[Path, ...]) -> Path:
    """Map a ``file:`` URL to a path inside one of ``roots``, or raise RefusedURL."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        msg = f"refused to fetch {url!r}: only project files may be read"
        raise RefusedURL(msg)
    path = Path(unquote(parts.path)).resolve()
    if not any(path == root or root in path.parents for root in roots):
        msg = f"refused to read {path}: it is outside the project"
        raise RefusedURL(msg)
    return path


def make_weasyprint_fetcher(project_root: Path) -> Any:
    """A WeasyPrint URLFetcher limited to :func:`allowed_roots` and ``data:`` URLs."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = allowed_roots(project_root)

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = resolve_local(url, roots)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return ProjectFetcher(allowed_protocols=("file", "data"))
