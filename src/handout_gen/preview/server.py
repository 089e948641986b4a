"""The preview's HTTP server: routes, the Host check, and the file watcher that drives refreshes.

Why the standard library's ``http.server``: the preview serves a handful of pages to one
person on their own machine; a web framework would add a dependency and nothing else.
"""

from __future__ import annotations

import json
import mimetypes
import re
import threading
import webbrowser
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from handout_gen.content.project import find_project_root
from handout_gen.core.errors import HandoutGenError, PreviewError
from handout_gen.core.languages import ORIGINAL
from handout_gen.preview.site import (
    CONTENT_SECURITY_POLICY,
    SITE_ROUTE,
    WATCHED,
    Items,
    PreviewSite,
    broken_text,
    describe,
)
from handout_gen.site.urls import file_for, normalise

# Fetch Metadata (``Sec-Fetch-Dest``) values of a request that would show a file as a document.
DOCUMENT_DESTINATIONS = frozenset({"document", "iframe", "frame", "embed", "object", "fencedframe"})

HTML_TYPE = "text/html; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    server: PreviewHTTPServer
    protocol_version = "HTTP/1.1"
    sandboxed = False  # this response is a project file (an SVG may be opened on its own)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        return

    def end_headers(self) -> None:
        """Every response, http.server's own errors included, carries the preview's policy."""
        policy = CONTENT_SECURITY_POLICY
        self.send_header("Content-Security-Policy", f"sandbox; {policy}" if self.sandboxed else policy)
        super().end_headers()

    def _send(self, status: int, body: bytes | str, ctype: str, extra: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.sandboxed = False
        site = self.server.site
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts:
            self._send(HTTPStatus.FORBIDDEN, "Forbidden host\n", "text/plain; charset=utf-8")
            return
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            self._route(site, path, query)
        except HandoutGenError as exc:
            item = "*"
            self._send(HTTPStatus.OK, site.error_page(describe(exc), item), HTML_TYPE)
        except Exception as exc:  # noqa: BLE001 - the server stays up whatever a page does
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, site.error_page(describe(exc), "*"), HTML_TYPE)

    def _reload(self, site: PreviewSite, query: dict[str, list[str]]) -> None:
        """Has the page's item changed since the generation it shows? (polled by preview pages)"""
        item = query.get("item", ["index"])[0]
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            since = 0
        body = json.dumps({"reload": site.should_reload(item, since), "generation": site.generation})
        self._send(HTTPStatus.OK, body, "application/json")

    def _site(self, site: PreviewSite, path: str) -> None:
        """The web pages under /site/ (never output/site/: they are made on request)."""
        rel = normalise(unquote(path.removeprefix(SITE_ROUTE)))
        try:
            found = site.site_file(file_for(rel)) if rel is not None else None
        except HandoutGenError as exc:
            self._send(HTTPStatus.OK, site.error_page(describe(exc), "site"), HTML_TYPE)
            return
        if found is None:
            self._not_found()
        else:
            self._send(HTTPStatus.OK, found[0], found[1])

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, "Not found\n", "text/plain; charset=utf-8")

    def _handout(self, site: PreviewSite, items: Items, name: str, kind: str) -> bool:
        """Serve a handout page or PDF (or the problems keeping it out); False if there is none."""
        if name in items.broken:
            problems = site.project.broken[items.broken[name]] if site.project else []
            self._send(HTTPStatus.OK, site.error_page(broken_text(problems), f"handout:{name}"), HTML_TYPE)
            return True
        if name not in items.handouts:
            return False
        try:
            if kind == "pdf":
                self._send(HTTPStatus.OK, site.handout_pdf(name), "application/pdf")
            else:
                self._send(HTTPStatus.OK, site.handout_page(name), HTML_TYPE)
        except HandoutGenError as exc:
            self._send(HTTPStatus.OK, site.error_page(describe(exc), f"handout:{name}"), HTML_TYPE)
        return True

    def _newsletter(self, site: PreviewSite, items: Items, issue_id: str, folder: str | None,
                    what: str) -> bool:
        """Serve an edition's page, email or text part (``folder``: a translation's language;
        the original has none); False if there is no such edition."""
        lang = unquote(folder) if folder else ORIGINAL
        if (folder and lang == ORIGINAL) or lang not in items.newsletters.get(issue_id, ()):
            return False
        try:
            if what == "email.html":
                self._send(HTTPStatus.OK, site.newsletter_email(issue_id, lang), HTML_TYPE)
            elif what == "email.txt":
                text = str(site.newsletter(issue_id, lang).text)
                self._send(HTTPStatus.OK, text, "text/plain; charset=utf-8")
            else:
                self._send(HTTPStatus.OK, site.newsletter_page(issue_id, lang), HTML_TYPE)
        except HandoutGenError as exc:
            self._send(HTTPStatus.OK, site.error_page(describe(exc), f"newsletter:{issue_id}"), HTML_TYPE)
        return True

    def _project_file(self, site: PreviewSite, where: str) -> None:
        """A picture, font or style a preview page embeds (``/_file/<root>/<path>``)."""
        index, _, rel = where.partition("/")
        file = site.project_file(int(index), rel) if index.isdigit() else None
        if file is None:
            self._not_found()
            return
        if self.headers.get("Sec-Fetch-Dest", "") in DOCUMENT_DESTINATIONS:
            # Files are for preview pages to embed; opened as a page of its own an SVG is a
            # document that could reach out (a frame in it makes Chromium connect to its host
            # even though the policy blocks the load).
            self._send(HTTPStatus.FORBIDDEN, "Project files are served to preview pages only\n",
                       "text/plain; charset=utf-8")
            return
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self.sandboxed = True  # no script would run in it even on its own: it is not a preview page
        self._send(HTTPStatus.OK, file.read_bytes(), ctype)

    def _route(self, site: PreviewSite, path: str, query: dict[str, list[str]]) -> None:
        if path == "/_reload":
            self._reload(site, query)
            return
        if path == "/":
            self._send(HTTPStatus.OK, site.index_page(), HTML_TYPE)
            return
        if path.startswith("/_file/"):
            self._project_file(site, path.removeprefix("/_file/"))
            return
        with site.changed:  # the project of this generation, not one half-replaced
            error, items = site.error, site.items
        if error is not None:
            self._send(HTTPStatus.OK, site.error_page(error, "*"), HTML_TYPE)
            return
        match = re.fullmatch(r"/handouts/([^/]+)\.(html|pdf)", path)
        if match and self._handout(site, items, unquote(match[1]), match[2]):
            return
        match = re.fullmatch(r"/newsletters/([^/]+)/(?:([^/]+)/)?(|email\.html|email\.txt)", path)
        if match and self._newsletter(site, items, unquote(match[1]), match[2], match[3]):
            return
        if path.startswith(SITE_ROUTE):
            self._site(site, path)
            return
        if path == "/packets/sample.pdf":
            try:
                self._send(HTTPStatus.OK, site.packet_pdf(), "application/pdf")
            except HandoutGenError as exc:
                self._send(HTTPStatus.OK, site.error_page(describe(exc), "packet:sample"), HTML_TYPE)
            return
        self._not_found()


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, site: PreviewSite, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.site = site
        real_port = self.server_address[1]
        self.allowed_hosts = {f"127.0.0.1:{real_port}", f"localhost:{real_port}"}


class PreviewServer:
    """The site, its HTTP server and its file watcher, started and stopped together."""

    def __init__(self, root: Path, port: int = 8000) -> None:
        self.site = PreviewSite(root)
        self.site.refresh()
        try:
            self.httpd = PreviewHTTPServer(self.site, port)
        except OSError as exc:
            msg = f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another port with --port"
            raise PreviewError(msg) from exc
        self.port: int = self.httpd.server_address[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PreviewServer:
        self._threads = [
            # A short poll interval: stop() returns in ~50 ms rather than the default 0.5 s.
            threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                             name="preview-http", daemon=True),
            threading.Thread(target=self._watch, name="preview-watch", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _watch(self) -> None:
        import watchfiles

        paths = [self.site.root / name for name in WATCHED if (self.site.root / name).is_dir()]
        # yield_on_timeout: a periodic re-check as a safety net for missed events (network
        # drives, a save landing before the watcher was set up); refresh() is cheap when
        # nothing changed.
        for _changes in watchfiles.watch(*paths, stop_event=self._stop, debounce=150, step=50,
                                         rust_timeout=1000, yield_on_timeout=True,
                                         raise_interrupt=False):
            self.site.refresh()

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(5)


def serve(root: Path, *, port: int = 8000, open_browser: bool = False,
          echo: Callable[[str], None] = print) -> None:
    """Run the preview until Ctrl+C (``handout-gen preview``)."""
    server = PreviewServer(find_project_root(root), port).start()
    echo(f"Serving the preview at {server.url} (Ctrl+C to stop)")
    if server.site.error:
        echo("The project has problems; they are shown in the page.")
    if open_browser:
        webbrowser.open(server.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        echo("Stopped the preview.")
    finally:
        server.stop()
