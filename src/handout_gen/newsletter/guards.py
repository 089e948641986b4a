"""Newsletter guards: what stops a build (size, images, links, footer, client support, PHI).

Kept apart from rendering so ``handout-gen check`` and the preview can reuse them. The
client-support check is a curated subset of the caniemail.com data (reference/email.md §2),
not the npm package itself: it lists features *unsupported* (not merely partial) in Gmail
web/apps, Apple Mail macOS/iOS or classic Outlook for Windows, matched on exact property
and tag names (avoiding the package's substring bugs).
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from lxml import html as lxml_html  # type: ignore[import-untyped]

from handout_gen.content.project import Project
from handout_gen.core.errors import PatientDataError, Problem, ValidationFailed, agree, relpath
from handout_gen.newsletter.links import reader_page_url
from handout_gen.newsletter.model import Issue
from handout_gen.newsletter.phi import patient_keys
from handout_gen.newsletter.tokens import TOKEN_RE

MAX_HTML_BYTES = 102_000  # Gmail clips the HTML part beyond about 102 KB (email.md §3.1)
WARN_HTML_BYTES = 90_000  # leave room for transfer-encoding overhead

CONTEXT_KEYS = {
    "lang",
    "direction",
    "permission_reminder",
    "logo",
    "practice",
    "colors",
    "issue",
    "hero",
    "intro_html",
    "intro_text",
    "blocks",
    "column_px",
    "links",
    "tokens",
    "address_line",
}




def guard_context(context: dict[str, Any]) -> None:
    """Refuse a template context holding anything but practice data and article content."""
    unknown = sorted(set(context) - CONTEXT_KEYS)
    bad = [".".join(map(str, p)) for p in patient_keys(context)]
    if unknown or bad:
        names = bad + [k for k in unknown if k not in bad]
        fields = agree(len(names), "a field", "fields")
        msg = (
            f"newsletter context holds {fields} a newsletter may not carry: {', '.join(names)} "
            "(newsletters go to a whole list and never carry patient data)"
        )
        raise PatientDataError(msg)


# --- guards -------------------------------------------------------------------------------
# A curated subset of caniemail.com data (email.md §2): features *unsupported* (not merely
# partial) in Gmail web/apps, Apple Mail macOS/iOS or classic Outlook for Windows, matched on
# exact property and tag names. Graceful ones (@media, border-radius, dark-mode) are allowed.
UNSUPPORTED_CSS = (
    (
        re.compile(r"display\s*:\s*(inline-)?(flex|grid)", re.I),
        "display:flex/grid (Outlook Windows; grid also Gmail)",
    ),
    (re.compile(r"(?<![-\w])position\s*:", re.I), "CSS position (Gmail, Outlook Windows)"),
    (
        re.compile(r"(?<![-\w])background-image\s*:|(?<![-\w])background\s*:[^;\"]*url\(", re.I),
        "CSS background-image (Outlook Windows)",
    ),
    (re.compile(r"@font-face", re.I), "@font-face (Gmail)"),
    (re.compile(r"@import", re.I), "@import (Gmail, Outlook Windows)"),
    (re.compile(r":\s*[-\d.]+rem\b", re.I), "rem units (Outlook Windows)"),
    (re.compile(r"(?<![-\w])(grid-template|gap)\s*:", re.I), "grid layout (Gmail, Outlook Windows)"),
)
UNSUPPORTED_TAGS = {
    "svg": "inline <svg> (Gmail, Outlook Windows)",
    "script": "<script>",
    "iframe": "<iframe>",
    "video": "<video> (Gmail, Outlook Windows)",
    "form": "<form> (Gmail apps, Outlook)",
    "object": "<object>",
    "embed": "<embed>",
}


def unsupported_features(html: str) -> list[str]:
    """Email-client features in ``html`` that a main client does not support at all."""
    found = [label for pattern, label in UNSUPPORTED_CSS if pattern.search(TOKEN_RE.sub("", html))]
    tree = lxml_html.document_fromstring(html)
    tags = {el.tag for el in tree.iter() if isinstance(el.tag, str)}
    found += [label for tag, label in UNSUPPORTED_TAGS.items() if tag in tags]
    if any(el.get("rel") == "stylesheet" for el in tree.iter("link")):
        found.append('<link rel="stylesheet"> (Gmail)')
    if any(el.getparent() is not None and el.getparent().tag != "head" for el in tree.iter("style")):
        found.append("<style> outside <head> (Gmail)")
    for img in tree.iter("img"):
        src = img.get("src", "").lower()
        if src.startswith("data:") or src.split("?")[0].endswith((".svg", ".webp")):
            found.append(f"image format of {img.get('src', '')[:60]} (Gmail, Outlook Windows)")
    return found


def check_issue(project: Project, html: str, text: str, issue: Issue) -> list[Problem]:
    """Stop the build on anything that breaks the law, Gmail or Outlook; return warnings.

    Each problem carries its ``check`` rule id, so the content check and the build agree.
    """
    source = relpath(issue.path, project.root)
    problems: list[Problem] = []

    def bad(rule: str, message: str) -> None:
        problems.append(Problem(source, message, rule=rule))

    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        bad("newsletter.size",
            f"HTML is {size:,} bytes; Gmail clips email over 102 KB (hides the footer): shorten the issue")
    tree = lxml_html.document_fromstring(html)
    for img in tree.iter("img"):
        src = img.get("src", "?")
        if img.get("alt") is None:
            bad("newsletter.alt", f"image {src} has no alt text")
        if not img.get("width", "").isdigit() or not img.get("height", "").isdigit():
            bad(
                "newsletter.alt", f"image {src} needs width and height attributes (Outlook ignores CSS sizes)"
            )
        if not src.startswith("https://"):
            bad("newsletter.https", f"image {src} is not an absolute https:// URL")
    for a in tree.iter("a"):
        href = a.get("href")
        if href is not None and not href.startswith(("https://", "mailto:", "tel:")):
            why = "every link must be https, mailto: or tel:"
            bad("newsletter.https", f"link {href!r} is not https:// ({why})")
    email = project.practice.email
    address = project.practice.postal_address.one_line()
    if address not in html_lib.unescape(tree.text_content()) or address not in text:
        bad("newsletter.footer",
            f"the postal address ({address}) must appear in the HTML and text parts (CAN-SPAM)")
    unsubscribe = reader_page_url(project, email.unsubscribe_url, issue.lang)
    if (
        not any(a.get("href", "").startswith(unsubscribe) for a in tree.iter("a"))
        or unsubscribe not in text
    ):
        bad("newsletter.footer",
            f"an unsubscribe link ({unsubscribe}) must appear in the HTML and text parts")
    for feature in unsupported_features(html):
        bad("newsletter.client-support", f"uses {feature}, which a main email client does not support")
    if problems:
        raise ValidationFailed(problems, f"newsletter {issue.id}")
    if size > WARN_HTML_BYTES:
        message = f"HTML is {size:,} bytes; keep it under 90 KB to stay clear of Gmail's 102 KB clip"
        return [Problem(source, message, severity="warning", rule="newsletter.size")]
    return []
