"""Web addresses: which URL is the practice's own, which file of ``output/site/`` serves it.

A page path ends with ``/`` (``procedures/prp-injection/``, and ``""`` for the home page) and
is served by ``<path>index.html``; a path whose last part has a dot (``sitemap.xml``,
``handouts/prp-injection.pdf``) is a file of that name. So the printed
``https://www.example.org/procedures/prp-injection`` (no slash) is the folder
``procedures/prp-injection/``: every common web server answers it with that folder's
``index.html`` (redirecting to the slash first).

Links inside pages are root-relative (``/procedures/…``), not relative, so a page works
whether or not the server adds the slash; the preview serves the site under ``/site/`` by
giving another ``base``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

from handout_gen.content.schema import Practice


def normalise(path: str) -> str | None:
    """The page or file path for a URL path below the site root; None for ``..`` tricks."""
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments or any("\\" in s or "\0" in s for s in segments):
        return None
    if not segments:
        return ""
    if "." in segments[-1] and not path.endswith("/"):
        return "/".join(segments)
    return "/".join(segments) + "/"


def file_for(path: str) -> str:
    """The file that serves ``path`` (relative to ``output/site/``)."""
    return path + "index.html" if path == "" or path.endswith("/") else path


@dataclass(frozen=True)
class SiteUrls:
    """The site root (``practice.website``) and what links in pages start with."""

    root: str  # "https://www.example.org/"
    base: str  # "/" (the root's own path), or "/site/" in the preview

    @classmethod
    def for_practice(cls, practice: Practice, base: str | None = None) -> SiteUrls:
        root = practice.website.rstrip("/") + "/"
        return cls(root, base if base is not None else urlsplit(root).path or "/")

    def own_path(self, url: str) -> str | None:
        """``procedures/rfa/`` for ``https://www.example.org/procedures/rfa``; None off the site.

        Query and fragment do not matter (``?t=…`` and UTM parameters reach the same page).
        """
        parts, root = urlsplit(url), urlsplit(self.root)
        try:
            same_port = parts.port == root.port
        except ValueError:
            return None
        if parts.scheme != "https" or (parts.hostname or "") != (root.hostname or "") or not same_port:
            return None
        path = unquote(parts.path) or "/"
        if not path.startswith(root.path) and path + "/" != root.path:
            return None
        return normalise(path[len(root.path):])

    def absolute(self, path: str) -> str:
        return self.root + quote(path)

    def link(self, path: str) -> str:
        """What a page links to for ``path``: root-relative, under ``base``."""
        return self.base + quote(path)

    def join(self, base_url: str, relative: str) -> str:
        """``relative`` resolved against another absolute URL (e.g. ``email.base_url``)."""
        return urljoin(base_url.rstrip("/") + "/", relative)
