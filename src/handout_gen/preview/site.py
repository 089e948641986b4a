"""Live preview pages: every output the way it will come out, rebuilt only when its sources change.

Safety: the server binds to 127.0.0.1 only, answers only requests whose ``Host`` header
names that address (so a web page elsewhere cannot reach it by DNS rebinding), and serves
files only through :func:`fetcher.resolve_local` inside the allowed roots, never from
``output/`` (packets there hold patient data).

Rebuilding: a watchfiles thread watches ``content/``, ``templates/`` and ``handouts/``.
After each batch of changes :meth:`PreviewSite.refresh` hashes the source files, reloads the
project (cheap: YAML and Markdown, no WeasyPrint) and gives every item (one handout variant,
one newsletter, the sample packet) a key made from the files it reads. Only items whose key
changed are rendered again, on their next request, and only their open pages reload. Pages
learn about changes by polling ``/_reload`` (short requests rather than one held-open
connection per tab, so many open tabs never exhaust the browser's connections per host).

The reload script and the asset-URL rewriting happen in this module, to preview pages only;
nothing here changes what ``build`` writes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import mimetypes
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from handout_gen.content.project import load_project
from handout_gen.core.errors import HandoutGenError, plural, relpath
from handout_gen.core.files import digest_of, inside
from handout_gen.core.languages import ORIGINAL
from handout_gen.handouts import Renderer, Variant, handout_html, planned_handouts
from handout_gen.newsletter.model import issue_path, list_issues
from handout_gen.newsletter.render import render_issue
from handout_gen.packets.packet import sample_packet
from handout_gen.render.fetcher import RefusedURL, allowed_roots, resolve_local
from handout_gen.render.logo import logo_png, web_logo
from handout_gen.site.build import woff2
from handout_gen.site.pages import SitePages
from handout_gen.site.plan import FONT_FACES, STYLESHEET, font_path, plan_site
from handout_gen.site.urls import file_for

POLL_MS = 500
WATCHED = ("content", "templates", "handouts")
# Files the preview may hand to the browser: what pages embed (fonts, pictures, styles).
SERVABLE_SUFFIXES = {
    ".ttf", ".otf", ".woff", ".woff2", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".css",
}
# Inside the project only these folders are served (never output/, which may hold PHI).
SERVABLE_PROJECT_DIRS = ("content", "templates")
FILE_URL_RE = re.compile(r"file://[^\"'\s)<>]+")
MARKER = "data-handout-gen-preview"
SITE_ROUTE = "/site/"  # the web pages, as `handout-gen site` makes them, with links under this base
FILE_TYPES = {".woff2": "font/woff2", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8",
              ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}

# The reload script is the same text on every page (what it polls for comes from its data-
# attributes), so the Content-Security-Policy can allow exactly it, by hash, and no other script.
RELOAD_JS = (
    "(function(){var s=document.currentScript,item=s.dataset.item,since=+s.dataset.since;"
    "function poll(){fetch('/_reload?item='+encodeURIComponent(item)+'&since='+since,{cache:'no-store'})"
    ".then(function(r){return r.json()}).then(function(d){if(d.reload){location.reload()}"
    "else{since=d.generation;setTimeout(poll,POLL_MS)}}).catch(function(){setTimeout(poll,2000)})}"
    "setTimeout(poll,POLL_MS)})();"
).replace("POLL_MS", str(POLL_MS))
RELOAD_SCRIPT = f'<script {MARKER} data-item="%(item)s" data-since="%(since)d">{RELOAD_JS}</script>'
RELOAD_HASH = "sha256-" + base64.b64encode(hashlib.sha256(RELOAD_JS.encode()).digest()).decode()

# Every preview response carries this policy: nothing outside the preview is loaded, framed,
# fetched or posted to, whatever a page, an SVG or a template holds; the only script is the
# reload script. Inline styles stay allowed (the email is all style attributes); they cannot
# load anything the img-src and font-src lines do not allow. data: is for the inline QR codes.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    f"script-src '{RELOAD_HASH}'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "frame-src 'self'",
    "frame-ancestors 'self'",
    "base-uri 'self'",
    "form-action 'none'",
))

PAGE_CSS = (
    "body{font-family:system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:24px auto;"
    "max-width:1100px;padding:0 16px;line-height:1.45}a{color:#1b4965}"
    ".error{border:2px solid #9b1c1c;padding:8px 16px;background:#fff}"
    ".error pre{white-space:pre-wrap;color:#1a1a1a}iframe{border:1px solid #555;background:#fff}"
    ".frames{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}"
    "pre.text{white-space:pre-wrap;border:1px solid #555;padding:12px;max-width:72ch}figure{margin:0}"
)


def inject_reload(page: str, item: str, since: int) -> str:
    """Add the reload script before ``</body>`` (preview pages only, never built outputs)."""
    script = RELOAD_SCRIPT % {"item": html.escape(item, quote=True), "since": since}
    index = page.lower().rfind("</body>")
    return page + script if index < 0 else page[:index] + script + page[index:]


def page(title: str, body: str, item: str, since: int) -> str:
    """A plain preview page (index, error, newsletter frame) with the reload script."""
    doc = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return inject_reload(doc, item, since)


def describe(exc: BaseException) -> str:
    """The message a person sees for a failure; unexpected ones name their type."""
    if isinstance(exc, HandoutGenError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def broken_text(problems: list[Any]) -> str:
    """The problems of procedures left out of the preview until they are fixed."""
    lines = "\n".join(f"  {p}" for p in problems)
    return f"{plural(len(problems), 'problem')}; these procedures are left out until fixed:\n{lines}"


def error_block(message: str) -> str:
    return f'<div class="error" role="alert"><h2>Problem</h2><pre>{html.escape(message)}</pre></div>'


def newsletter_route(issue_id: str, lang: str = ORIGINAL) -> str:
    """The preview's folder for one edition: ``/newsletters/<issue>/``, a translation's ``<lang>/`` below."""
    return f"/newsletters/{quote(issue_id)}/" + ("" if lang == ORIGINAL else f"{quote(lang)}/")


@dataclass
class Items:
    """What the loaded project offers, with the key of the files each item reads."""

    handouts: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (slug, Variant)
    broken: dict[str, str] = field(default_factory=dict)  # handout name -> slug whose files have problems
    newsletters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # issue -> its editions' languages
    keys: dict[str, str] = field(default_factory=dict)


class PreviewSite:
    """The pages of the preview, rebuilt lazily and only when their sources changed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.roots = allowed_roots(self.root)
        self.generation = 0
        self.error: str | None = None
        self.project: Any = None
        self.items = Items()
        self._files: dict[str, str] | None = None
        self._item_generation: dict[str, int] = {}
        self._cache: dict[tuple[str, str], tuple[str, Any]] = {}
        self._renderer: Any = None
        self._lock = threading.RLock()
        self._render_lock = threading.Lock()  # WeasyPrint and premailer: one render at a time
        self.changed = threading.Condition(self._lock)
        self.renders = 0  # how many items were rendered (tests check that unchanged ones are not)
        self._site: tuple[Any, SitePages] | None = None

    # --- watching -----------------------------------------------------------------------
    def _snapshot(self) -> dict[str, str]:
        files: dict[str, str] = {}
        for folder in WATCHED:
            base = self.root / folder
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                name = path.name
                if not path.is_file() or name.startswith((".", "#")) or name.endswith("~"):
                    continue
                if not inside(path, base):  # a link to a file elsewhere: named by the loader, never read
                    files[path.relative_to(self.root).as_posix()] = "outside"
                    continue
                try:
                    files[path.relative_to(self.root).as_posix()] = digest_of(path.read_bytes())
                except OSError:  # deleted between listing and reading; the next event catches up
                    continue
        return files

    def refresh(self) -> set[str]:
        """Re-read the project if any source changed; return the ids of items that changed."""
        with self._lock:
            files = self._snapshot()
            if files == self._files:
                return set()
            self._files = files
            error: str | None = None
            try:
                project = load_project(self.root)
                items = self._items(project, files)
                renderer = Renderer(project)
            except Exception as exc:  # noqa: BLE001 - any failure is shown in the page
                project, items, renderer = None, Items(), None
                error = describe(exc)
            old = self.items.keys
            changed = {i for i in old.keys() | items.keys.keys() if old.get(i) != items.keys.get(i)}
            if error != self.error:
                changed.add("*")  # every open page shows (or stops showing) the problem
            changed.add("index")
            self.project, self.items, self._renderer, self.error = project, items, renderer, error
            self.generation += 1
            for item in changed:
                self._item_generation[item] = self.generation
            self.changed.notify_all()
            return changed

    def _items(self, project: Any, files: dict[str, str]) -> Items:
        shared = digest_of(*(f"{p}={h}" for p, h in files.items()
                           if not p.startswith(("content/procedures/", "content/newsletters/"))))
        procedures = digest_of(*(f"{p}={h}" for p, h in files.items() if p.startswith("content/procedures/")))
        items = Items()
        for procedure, variant in planned_handouts(project):
            name = variant.filename(procedure.slug).removesuffix(".pdf")
            items.handouts[name] = (procedure.slug, variant)
            edition = procedure.edition(variant.lang)
            items.keys[f"handout:{name}"] = digest_of(shared, edition.digest, name)
        for slug in project.broken:  # their pages show the problems, the rest work as usual
            for lang in project.handout_languages:
                for large in project.recipe.large_print:
                    name = Variant(lang, large).filename(slug).removesuffix(".pdf")
                    items.broken[name] = slug
                    items.keys[f"handout:{name}"] = digest_of(*map(str, project.broken[slug]))
        for issue_id in list_issues(project):
            prefix = f"content/newsletters/{issue_id}"
            items.newsletters[issue_id] = (ORIGINAL, *(
                lang for lang in project.languages.codes
                if lang != ORIGINAL and relpath(issue_path(project, issue_id, lang), project.root) in files))
            own = [f"{p}={h}" for p, h in files.items() if p.startswith(prefix)]
            items.keys[f"newsletter:{issue_id}"] = digest_of(shared, procedures, *own)
        items.keys["packet:sample"] = digest_of(shared, procedures)
        items.keys["logo"] = shared
        issues = (f"{p}={h}" for p, h in files.items() if p.startswith("content/newsletters/"))
        newsletters = digest_of(*issues)
        items.keys["site"] = digest_of(shared, procedures, newsletters)
        return items

    def should_reload(self, item: str, since: int) -> bool:
        """Did ``item`` (or the error state) change after generation ``since``?"""
        with self._lock:
            return any(self._item_generation.get(i, 0) > since for i in (item, "*"))

    # --- building -----------------------------------------------------------------------
    def _cached(self, item: str, kind: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            key = self.items.keys[item]
            hit = self._cache.get((item, kind))
        if hit is not None and hit[0] == key:
            return hit[1]
        with self._render_lock:
            value = build()
            self.renders += 1
        with self._lock:
            self._cache[(item, kind)] = (key, value)
        return value

    def file_url(self, url: str) -> str:
        """Map a ``file:`` URL inside the allowed roots to the route that serves it."""
        try:
            path = resolve_local(url, self.roots)
        except RefusedURL:
            return "about:blank"
        for index, root in enumerate(self.roots):
            if path == root or root in path.parents:
                return f"/_file/{index}/" + quote(path.relative_to(root).as_posix())
        return "about:blank"  # pragma: no cover - resolve_local guarantees a root

    def asset_url(self, url: str) -> str:
        """Map a practice image URL to the local file it was made from, for preview pages.

        Emails carry absolute ``https://<base_url>/<path>`` image URLs, where ``<path>`` is
        the image's path relative to content/ (newsletter.LinkPolicy). Those do not exist
        offline (or not yet, before upload), so the preview shows content/<path> instead.
        Anything else is left alone.
        """
        practice = self.project.practice
        content = self.project.content_dir.resolve()
        logo = web_logo(self.project)
        for base in (practice.email.base_url, practice.website):
            prefix = base.rstrip("/") + "/"
            if url.startswith(prefix):
                rel = unquote(urlsplit(url).path.removeprefix(urlsplit(prefix).path))
                if rel == logo.src and logo.rendered:  # made from the SVG: the site's copy
                    return SITE_ROUTE + logo.src
                try:
                    local = resolve_local((content / rel).as_uri(), (content,))
                except (RefusedURL, ValueError):
                    continue
                if local.is_file():
                    return self.file_url(local.as_uri())
        return url

    def handout_page(self, name: str) -> str:
        slug, variant = self.items.handouts[name]
        item = f"handout:{name}"
        raw = self._cached(item, "html", lambda: handout_html(
            self.project, self.project.procedure(slug), variant, self._renderer.env))
        served = FILE_URL_RE.sub(lambda m: self.file_url(m.group(0)), raw)
        base = self.file_url(self.project.content_dir.resolve().as_uri()) + "/"
        served = re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + f'<base href="{base}">', served, count=1)
        return inject_reload(served, item, self.generation)

    def handout_pdf(self, name: str) -> bytes:
        slug, variant = self.items.handouts[name]
        data: bytes = self._cached(f"handout:{name}", "pdf", lambda: self._renderer.handout(
            self.project.procedure(slug), variant))
        return data

    def newsletter(self, issue_id: str, lang: str = ORIGINAL) -> Any:
        """One edition; an issue's files are one item, so an edit to any edition reloads them all."""
        return self._cached(f"newsletter:{issue_id}", f"issue:{lang}",
                            lambda: render_issue(self.project, issue_id, lang=lang))

    def newsletter_email(self, issue_id: str, lang: str = ORIGINAL) -> str:
        """The inlined email with the practice's asset URLs pointed at local files."""
        rendered = self.newsletter(issue_id, lang)
        def local(match: re.Match[str]) -> str:
            return f'src="{html.escape(self.asset_url(html.unescape(match[1])))}"'

        return re.sub(r'src="(https://[^"]+)"', local, str(rendered.html))

    def newsletter_name(self, issue_id: str, lang: str = ORIGINAL) -> str:
        """"Newsletter 2026-12", with the edition's language after a translation's."""
        name = f"Newsletter {issue_id}"
        return name if lang == ORIGINAL else f"{name} ({self.project.languages.name(lang)})"

    def newsletter_page(self, issue_id: str, lang: str = ORIGINAL) -> str:
        rendered = self.newsletter(issue_id, lang)
        name, folder = self.newsletter_name(issue_id, lang), newsletter_route(issue_id, lang)
        frames = "".join(
            f'<figure><figcaption>{label} ({width} px)</figcaption>'
            f'<iframe src="{folder}email.html" width="{width}" height="900"'
            f' title="{html.escape(name)} at {width} px"'
            f' sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe></figure>'
            for label, width in (("Desktop", 600), ("Phone", 375))
        )
        body = (
            f'<p><a href="/">All outputs</a></p><h1>{html.escape(name)}</h1>'
            f'<p><a href="{folder}email.html">Email HTML</a> · '
            f'<a href="{folder}email.txt">Text part</a></p>'
            f'<div class="frames">{frames}</div><h2>Text part</h2>'
            f'<pre class="text">{html.escape(str(rendered.text))}</pre>'
        )
        return page(f"{name} - preview", body, f"newsletter:{issue_id}", self.generation)

    def site_pages(self) -> SitePages:
        """The site's page renderer for the project of this generation, links under /site/."""
        with self._lock:
            if self._site is None or self._site[0] is not self.project:
                self._site = (self.project, SitePages(plan_site(self.project, base=SITE_ROUTE)))
            return self._site[1]

    def site_file(self, path: str) -> tuple[bytes, str] | None:
        """A file of the site (``path`` relative to its root) as ``handout-gen site`` writes it,
        made on request; pages get the reload script, PDFs come from the preview's own renders."""
        pages = self.site_pages()
        plan = pages.plan
        page = next((p for p in plan.pages.values() if file_for(p.path) == path), None)
        download = plan.downloads.get(path)
        suffix = Path(path).suffix
        kind = FILE_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        if page is not None:
            data: bytes = self._cached("site", path, lambda: pages.render(page))
            if kind.startswith("text/html"):
                data = inject_reload(data.decode(), "site", self.generation).encode()
            return data, kind
        if download is not None:
            name = download.variant.filename(download.procedure.slug).removesuffix(".pdf")
            return self.handout_pdf(name), "application/pdf"
        if path == plan.logo.src:
            return self.logo(), "image/png"  # cached on its own (one render lock: no nesting)
        makers: dict[str, Callable[[], bytes]] = {
            STYLESHEET: lambda: pages.stylesheet().encode(),
            **{font_path(face): partial(woff2, face) for face in FONT_FACES},
            **{name: file.read_bytes for name, file in plan.images.items()},
        }
        if path in makers:
            made: bytes = self._cached("site", path, makers[path])
            return made, kind
        return None

    def logo(self) -> bytes:
        """The screen logo; rendered from the SVG once per change of the shared files."""
        data: bytes = self._cached("logo", "png", lambda: logo_png(self.project))
        return data

    def packet_pdf(self) -> bytes:
        data: bytes = self._cached("packet:sample", "pdf", lambda: sample_packet(self.project))
        return data

    def index_page(self) -> str:
        parts = ["<h1>Preview</h1>", f"<p>Project: {html.escape(str(self.root))}. "
                 "Pages reload by themselves when you save a file.</p>"]
        if self.error is not None:
            parts.append(error_block(self.error))
        if self.project is not None and self.project.broken:
            parts.append(error_block(broken_text(self.project.problems)))
        if self.project is not None:
            parts.append("<h2>Handouts</h2><ul>")
            for name, (slug, variant) in self.items.handouts.items():
                title = self.project.procedure(slug).edition(variant.lang).meta.title
                label = self.project.languages.name(variant.lang)
                label += ", large print" if variant.large_print else ""
                parts.append(f'<li>{html.escape(title)} ({label}): '
                             f'<a href="/handouts/{quote(name)}.html">page</a>'
                             f' · <a href="/handouts/{quote(name)}.pdf">PDF</a></li>')
            parts.append("</ul><h2>Newsletters</h2><ul>")
            for issue_id, langs in self.items.newsletters.items():
                for lang in langs:
                    folder = newsletter_route(issue_id, lang)
                    parts.append(f'<li><a href="{folder}">{html.escape(self.newsletter_name(issue_id, lang))}'
                                 f'</a> · <a href="{folder}email.txt">text part</a></li>')
            if not self.items.newsletters:
                parts.append("<li>No newsletters in content/newsletters/.</li>")
            parts.append('</ul><h2>Packets</h2><ul><li><a href="/packets/sample.pdf">'
                         "Sample packet for a fictional patient (PDF)</a></li></ul>")
            parts.append(f'<h2>Web pages</h2><ul><li><a href="{SITE_ROUTE}">The site</a>, as '
                         "<code>handout-gen site</code> makes it (every page a handout, packet or "
                         "newsletter links to)</li></ul>")
        return page("handout-gen preview", "".join(parts), "index", self.generation)

    def error_page(self, message: str, item: str) -> str:
        body = ('<p><a href="/">All outputs</a></p><h1>This output could not be built</h1>'
                + error_block(message))
        return page("Preview error", body, item, self.generation)

    def project_file(self, index: int, rel: str) -> Path | None:
        """The file behind ``/_file/<index>/<rel>``, or None when it may not be served."""
        if not 0 <= index < len(self.roots):
            return None
        root = self.roots[index]
        try:
            path = resolve_local((root / unquote(rel)).as_uri(), (root,))
        except (RefusedURL, ValueError):
            return None
        if index == 0 and not any((self.root / d) in path.parents for d in SERVABLE_PROJECT_DIRS):
            return None
        if path.suffix.lower() not in SERVABLE_SUFFIXES or not path.is_file():
            return None
        return path


