"""Numbers and names in running text: bidirectional text that keeps its own direction, and
phone numbers that keep their place on the line.

WeasyPrint has no CSS ``unicode-bidi``, but Pango (FriBidi) honours the Unicode isolates, as
browsers do: a right-to-left name in a left-to-right letter, or a phone number in Arabic text,
keeps its own order and leaves the digits and punctuation around it in place. (An isolate does
not survive a line break in WeasyPrint: text that may wrap, like a web address, is a
left-to-right block of its own instead; see base.css.j2.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

FSI, LRI, PDI = "\u2068", "\u2066", "\u2069"


def isolate(value: object) -> str:
    """Text set apart from the direction around it (a name in a letter): FSI … PDI.
    Plain text: autoescape still escapes ``value`` where it is printed."""
    return f"{FSI}{value}{PDI}"


def ltr_text(value: object, direction: str) -> str:
    """Text that always reads left to right (phone numbers, codes, web addresses): LRI … PDI
    on a right-to-left page, where "555-0100" would otherwise print as "0100-555"."""
    return f"{LRI}{value}{PDI}" if direction == "rtl" else str(value)


# Text between tags (never inside a tag, a <style> or a <script>), and in it a number with
# hyphens or plus signs ("555-0100") or with its unit ("100.4 °F", "300 mg/dL"). In
# right-to-left text the Unicode bidi algorithm splits such a number at the hyphen and prints
# its parts in reverse order ("0100-555", "F° 100.4"); isolated as left-to-right (LRI … PDI)
# it prints as written. WeasyPrint (through Pango) and browsers both honour the isolates.
_TEXT_RE = re.compile(r"(<(?:style|script)\b.*?</(?:style|script)>|<[^>]*>)", re.S)
_NUMBER_RE = re.compile(
    r"[+]?\d+(?:[-\u2010\u2011\u2013+]\d+)+"  # a phone number, a range
    r"|\d+(?:\.\d+)?(?:\s|\u00a0)?(?:°(?:\s|\u00a0)?[FC]\b|mg/dL\b)"  # a measurement with its unit
)


def _in_text(html: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> str:
    """``html`` with ``pattern`` replaced in its text only (never in a tag, a style or a script)."""
    parts = _TEXT_RE.split(html)
    for index in range(0, len(parts), 2):  # even items are text, odd ones tags
        parts[index] = pattern.sub(replace, parts[index])
    return "".join(parts)


def isolate_numbers(html: str) -> str:
    """Wrap the numbers of the text of ``html`` that must read left to right in LRI … PDI
    (for a right-to-left page, or one right-to-left line on another: the ``numbers_ltr``
    filter; see above)."""
    return _in_text(html, _NUMBER_RE, lambda m: f"{LRI}{m.group(0)}{PDI}")


# A phone number ("555-0100", "+1 555-0100" is two words) at the end of a sentence's line
# would otherwise start the next line, or the next page, apart from "call us at". One pass
# over the whole document (letters lay out a document per batch of blocks): the space after
# a word, before tags if any, then the number. No stylesheet or attribute holds a space
# before such a number; in an attribute the no-break space would be harmless.
_PHONE = r"[+]?(?:\d+[-\u2010\u2011])+\d{3,}"
_TAGS = r"(?:<[^<>]*>)*"
_BEFORE_PHONE_RE = re.compile(rf"(?<=[^\s>])({_TAGS}) (?={_TAGS}{LRI}?{_PHONE})")


def keep_phone_numbers_with_words(html: str) -> str:
    """Join each phone number of the text of ``html`` to the word before it with a no-break
    space, so a line (or a page) never starts with the number its sentence leads up to. Tags
    around the space do not count: ``<b>Call</b> 555-0102`` is joined too."""
    return _BEFORE_PHONE_RE.sub("\\1\u00a0", html)


# A number and the word after it ("5 pounds", "3 weeks", "300 mg/dL", "8:30 AM"): a line that
# ends on the number leaves the patient reading "heavier than 5" and then, a line or a page
# later, "pounds". A number of its own only, not the end of a word ("step12 step13" would
# chain into one unbreakable line). Text between tags only, as above.
_NUMBER_WORD_RE = re.compile(r"(?<!\w)(\d+(?:[.,:]\d+)*) (?=[^\W\d_])")


def keep_numbers_with_words(html: str) -> str:
    """Join each number of the text of ``html`` to the word after it with a no-break space."""
    return _in_text(html, _NUMBER_WORD_RE, lambda m: f"{m[1]}\u00a0")

