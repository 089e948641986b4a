"""Phone numbers a reader can tap: on a web page, each of the practice's numbers and 911 in the
text becomes a ``tel:`` link. A patient in pain reading "call us at 555-0100 within 2 hours"
on a phone should not have to scroll to the footer for a number they can dial."""

from __future__ import annotations

import re
from collections.abc import Iterable

from handout_gen.render.jinja import tel_href

# What is never text to link: a comment, a tag, a link already, a script (JSON-LD names the
# numbers), a style sheet, a form's text or a drawing's.
_NOT_TEXT = re.compile(r"(<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<a\b.*?</a>"
                       r"|<textarea\b.*?</textarea>|<svg\b.*?</svg>|<[^>]*>)", re.S | re.I)
# 911 alone: not the middle of a longer number ("(555) 911 2222", "9110")
EMERGENCY = r"(?<![\d(])(?<!\d[ .)-])911(?![ .(-]?\d)"


def dial_links(html: str, numbers: Iterable[str]) -> str:
    """``html`` with each of ``numbers`` (and 911) in the text of its body made a ``tel:``
    link; numbers inside a link, a tag, the head, a script or a style sheet are left alone."""
    wanted = sorted({re.escape(n) for n in numbers if n}, key=len, reverse=True)
    number = re.compile(r"(?<![\w-])(" + "|".join([*wanted, EMERGENCY]) + r")(?![\w-])")
    body = html.find("<body")
    head, rest = (html[:body], html[body:]) if body >= 0 else ("", html)
    parts = _NOT_TEXT.split(rest)
    for index in range(0, len(parts), 2):  # the text between the pieces that are not
        parts[index] = number.sub(lambda found: f'<a href="{tel_href(found[1])}">{found[1]}</a>',
                                  parts[index])
    return head + "".join(parts)
