"""The unsubscribe app: a small WSGI application a practice runs behind its web server.

It answers the two addresses every email carries (``email.unsubscribe_url`` and
``email.preferences_url`` in practice.yaml), each also in the language of every newsletter
edition (``<url>/es/``: the Spanish edition's footer links there), and nothing else:

- ``GET <unsubscribe>?t=TOKEN`` (the link in the email's footer) shows a page with one button.
  A GET never unsubscribes: mail scanners and link checkers open every link in a message, and
  RFC 8058 exists because such fetches unsubscribed people who never asked. One page with one
  button is what CAN-SPAM allows an opt-out to ask for ("visiting a single Internet Web page").
- ``POST <unsubscribe>?t=TOKEN`` with the body ``List-Unsubscribe=One-Click`` (RFC 8058: the
  mail program's own unsubscribe button) or with the page's form unsubscribes at once: the
  token is checked (constant time), appended to the suppression list (fsync), and the answer
  is a 200 page, never a redirect (RFC 8058: redirected POSTs are unreliable).
- ``GET <preferences>?t=TOKEN`` shows the reader's settings: the language of the newsletter
  (when it comes in more than one) and the same unsubscribe button. ``POST <preferences>``
  with the token and ``language`` records the choice (:class:`LanguageChoices`, tokens only)
  and answers in that language; ``send`` gives the reader that edition from then on.

A missing or altered token gets a page that says how else to unsubscribe (reply, phone).
Configuration comes from the environment, so any WSGI server can run it:
``HANDOUT_GEN_PROJECT`` (the project folder: practice.yaml, templates), the secret
(``HANDOUT_GEN_SECRET_FILE`` or ``HANDOUT_GEN_SECRET``, the same one ``send`` uses) and
optionally ``HANDOUT_GEN_SUPPRESSIONS``. Pages carry their stylesheet inline, so the app works
even where the static site is served from elsewhere.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from handout_gen.content.project import find_project_root, load_project
from handout_gen.core.errors import ConfigError, HandoutGenError
from handout_gen.newsletter.links import TOKEN_PARAM, with_token
from handout_gen.newsletter.unsubscribe import (
    LanguageChoices,
    SuppressionList,
    Unsubscribe,
    UnsubscribeTokens,
    Via,
    load_secret,
)
from handout_gen.site.pages import SitePages
from handout_gen.site.plan import Page, plan_site, reader_pages
from handout_gen.site.urls import normalise

PROJECT_ENV = "HANDOUT_GEN_PROJECT"
MAX_BODY = 4096  # a one-click body is 26 bytes, the form's about 60
ONE_CLICK = "One-Click"
StartResponse = Callable[..., Any]
HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the address: never send it on
    ("X-Content-Type-Options", "nosniff"),
    ("X-Robots-Tag", "noindex"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
     "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
]


class UnsubscribeApp:
    """The WSGI application for one project (see the module's docstring for the routes)."""

    def __init__(self, root: Path, tokens: UnsubscribeTokens, suppressions: SuppressionList) -> None:
        project = load_project(root)
        self.tokens = tokens
        self.suppressions = suppressions
        self.choices = LanguageChoices.beside(suppressions)
        plan = plan_site(project)
        self.pages = SitePages(plan)
        self.languages = plan.languages("issue")  # the newsletter's editions: what a reader may choose
        self.routes: dict[str, Page] = {}
        self.actions: dict[tuple[str, str], str] = {}  # (kind, language) → where its page's form posts
        self.preferences: dict[str, Page] = {}  # language → its preferences page
        for kind, lang, url in reader_pages(project, self.languages):
            path = normalise(urlsplit(url).path) or ""
            # an address two languages share is kept as it is: the original's
            page = self.routes.setdefault(path, Page(path, kind, lang))
            self.actions.setdefault((kind, lang), urlsplit(url).path)
            if kind == "preferences":
                self.preferences.setdefault(lang, page)
        fonts = self.pages.urls.link("assets/fonts/")
        self.css = self.pages.stylesheet(fonts=fonts)

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = normalise(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        page = self.routes.get(path or "") if path is not None else None
        method = environ.get("REQUEST_METHOD", "GET")
        if page is None:
            return self._plain(start_response, HTTPStatus.NOT_FOUND, "Not found\n")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if method in ("GET", "HEAD"):
            body = self._show(environ, page, _first(query, TOKEN_PARAM))
        elif method == "POST":
            form = self._form(environ)
            if form is None:
                return self._plain(start_response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too large\n")
            token = _first(form, TOKEN_PARAM) or _first(query, TOKEN_PARAM)
            if page.kind == "unsubscribe":
                via: Via = "one-click" if _first(form, "List-Unsubscribe") == ONE_CLICK else "form"
                body = self._unsubscribe(environ, page, token, via)
            else:
                body = self._choose(environ, page, token, _first(form, "language"))
        else:
            return self._plain(start_response, HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n",
                               [("Allow", "GET, HEAD, POST")])
        status, html = body
        start_response(f"{status.value} {status.phrase}", [
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html))), *HEADERS])
        return [b""] if method == "HEAD" else [html]

    def _page(self, page: Page, state: str, token: str | None = None, **extra: Any) -> bytes:
        """A page of the app. With the reader's ``token``, the unsubscribe button (where the
        page has one) and the header's links to this page in other languages carry it."""
        form = None
        if token and state in ("confirm", "preferences"):
            form = {"action": self.actions["unsubscribe", page.lang], "token": token}
        return self.pages.unsubscribe(page, state, form, inline_css=self.css, token=token or "", **extra)

    def _unsubscribed(self, environ: Mapping[str, Any], verified: Unsubscribe) -> bool:
        """Is the reader on the suppression list? One that cannot be read is logged and taken
        as no: the settings page still shows, and its Unsubscribe button says if it fails."""
        try:
            return verified.reader in self.suppressions.suppressed(self.tokens).readers
        except (HandoutGenError, OSError) as exc:
            _log(environ, f"handout-gen preferences: could not read the suppression list: {exc}")
            return False

    def _choice(self, page: Page, verified: Unsubscribe) -> dict[str, Any] | None:
        """The preferences page's language form, the reader's last choice (else this page's
        language) checked; none when the newsletter comes in one language."""
        if len(self.languages) < 2:
            return None
        current = self.choices.chosen(self.tokens, self.languages).get(verified.reader, page.lang)
        languages = self.pages.project.languages
        options = [{"lang": code, "dir": languages.direction(code), "label": languages.native(code),
                    "checked": code == current} for code in self.languages]
        return {"action": self.actions["preferences", page.lang], "token": verified.token, "options": options}

    def _show(self, environ: Mapping[str, Any], page: Page, token: str | None) -> tuple[HTTPStatus, bytes]:
        """A GET: never changes anything (mail scanners open links too)."""
        if not token:
            return HTTPStatus.OK, self._page(page, "fallback")
        verified = self.tokens.verify(token)
        if verified is None:
            return HTTPStatus.BAD_REQUEST, self._page(page, "invalid")
        if page.kind == "unsubscribe":
            return HTTPStatus.OK, self._page(page, "confirm", token)
        if self._unsubscribed(environ, verified):  # no settings to show: say so, and how to come back
            return HTTPStatus.OK, self._page(page, "done", token)
        return HTTPStatus.OK, self._page(page, "preferences", token, choice=self._choice(page, verified))

    def _choose(self, environ: Mapping[str, Any], page: Page, token: str | None,
                language: str | None) -> tuple[HTTPStatus, bytes]:
        """A language chosen on the preferences page: recorded, and confirmed in that language."""
        verified = self.tokens.verify(token) if token else None
        if verified is None:
            return HTTPStatus.BAD_REQUEST, self._page(page, "invalid")
        if self._unsubscribed(environ, verified):  # "we will send you" would be untrue
            return HTTPStatus.OK, self._page(page, "done", verified.token)
        if language not in self.languages or len(self.languages) < 2:  # not one the form offers
            return HTTPStatus.BAD_REQUEST, self._page(
                page, "preferences", verified.token, choice=self._choice(page, verified))
        try:
            # the same choice again (a second press, a reload) adds no line
            if self.choices.chosen(self.tokens).get(verified.reader) != language:
                self.choices.choose(verified, language)
        except (HandoutGenError, OSError) as exc:
            _log(environ, f"handout-gen preferences: could not record a language: {exc}")
            return HTTPStatus.SERVICE_UNAVAILABLE, self._page(page, "not-saved")
        what = f"reader {verified.reader} chose {language} (issue {verified.issue})"
        _log(environ, f"handout-gen preferences: {what}")
        answer = self.preferences.get(language, page)
        chosen = self.pages.language_of(language, answer.lang)["language"]
        back = with_token(self.actions["preferences", answer.lang], verified.token)
        return HTTPStatus.OK, self._page(answer, "saved", verified.token, chosen=chosen, back=back)

    def _unsubscribe(self, environ: Mapping[str, Any], page: Page, token: str | None,
                     via: Via) -> tuple[HTTPStatus, bytes]:
        verified = self.tokens.verify(token) if token else None
        if verified is None:
            return HTTPStatus.BAD_REQUEST, self._page(page, "invalid")
        try:
            added = self.suppressions.add(verified, via)
        except (HandoutGenError, OSError) as exc:
            _log(environ, f"handout-gen unsubscribe: could not record an opt-out: {exc}")
            return HTTPStatus.SERVICE_UNAVAILABLE, self._page(page, "error")
        if added:
            what = f"reader {verified.reader} (issue {verified.issue}, {via})"
            _log(environ, f"handout-gen unsubscribe: {what}")
        return HTTPStatus.OK, self._page(page, "done")

    @staticmethod
    def _form(environ: Mapping[str, Any]) -> dict[str, list[str]] | None:
        """The urlencoded body (RFC 8058 and the page's form both send one); None when too large."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return None
        data = environ["wsgi.input"].read(length) if length > 0 else b""
        return parse_qs(data.decode("utf-8", "replace"))

    @staticmethod
    def _plain(start_response: StartResponse, status: HTTPStatus, text: str,
               extra: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
        data = text.encode()
        start_response(f"{status.value} {status.phrase}", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data))),
            *HEADERS, *(extra or [])])
        return [data]


def _first(values: Mapping[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[0].strip() if found else None


def _log(environ: Mapping[str, Any], line: str) -> None:
    stream = environ.get("wsgi.errors") or sys.stderr
    stream.write(line + "\n")
    stream.flush()


def create_app(environ: Mapping[str, str] | None = None) -> UnsubscribeApp:
    """The app configured from the environment (``gunicorn 'handout_gen.site.app:create_app()'``)."""
    env = os.environ if environ is None else environ
    folder = env.get(PROJECT_ENV, "").strip()
    if not folder:
        raise ConfigError(f"set {PROJECT_ENV} to the project folder (the one holding content/practice.yaml)")
    root = find_project_root(Path(folder).expanduser())
    return UnsubscribeApp(root, UnsubscribeTokens(load_secret(env)), SuppressionList.for_project(root, env))


class _LazyApp:
    """``application`` for servers that import a callable (mod_wsgi, uWSGI): built on first request."""

    def __init__(self) -> None:
        self._app: UnsubscribeApp | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            if self._app is None:
                self._app = create_app()
        return self._app(environ, start_response)


application = _LazyApp()
