"""The one record every ``check`` rule produces: where, which rule, how bad, how to fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from handout_gen.core.errors import Problem, Severity


@dataclass(frozen=True, order=True)
class Finding:
    """One thing a content keeper should fix, located by file and line."""

    file: str
    line: int | None
    rule: str  # e.g. "readability.grade"
    severity: Severity
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.severity} [{self.rule}] {self.message}\n    fix: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Schema fields whose absence is a governance problem rather than a typo.
_GOVERNANCE_FIELDS = {"version", "reviewer_role", "last_reviewed", "status"}

# How to fix a finding of each rule that loaders and guards report (rule ids travel on the
# Problem; nothing here reads the message text).
RULE_FIXES = {
    "packet.site-name": "add the site under site_names, in the patient's words (\"cervical: neck\")",
    "schema": "correct the value as the message says; the README's 'The content' describes each field",
    "references.unknown-slug": "use a slug of a file in content/procedures/ (run 'handout-gen list')",
    "references.image-missing": "check the path (relative to content/) or add the file",
    "references.unknown-language": "declare the language in content/languages.yaml (or rename the file)",
    "pdf.glyphs": "use a character the font chain draws, or add a font for it to content/languages.yaml",
    "references.outside": "copy the file into the project instead of linking to it",
    "references.too-large": "split the file; no handout, newsletter or recipe needs one this large",
    "references.broken-procedure": "fix the procedure's own file first (its problems are listed too)",
    "newsletter.schema": "correct the newsletter as the message says",
    "newsletter.patient-data": "remove the field: newsletters go to a whole list",
    "newsletter.size": "shorten the issue (Gmail clips HTML over 102 KB)",
    "newsletter.alt": "give every image alt text, width and height",
    "newsletter.https": "use absolute https:// URLs for links and images",
    "newsletter.footer": "keep the footer of the built-in template",
    "newsletter.client-support": "use what every main email client supports (tables, inline CSS)",
    "pdfua.packet": "fix the packet templates or content/packet.yaml "
                    "(run 'handout-gen preview' to see the error)",
    "pdfua.tagged": "keep packets made by handout-gen as they are: do not post-process them with tools "
                    "that drop the structure tree",
    "pdfua.lang": "give every language in content/packet.yaml and each handout edition its 'lang'",
    "pdfua.title": "keep packet_title in content/packet.yaml",
    "pdfua.alt": "give every <img> in the packet and handout templates an alt text",
    "pdfua.parent-tree": "make packets with handout-gen's assembly (it numbers every page and link)",
    "pdfua.annotations": "give every link in the packet templates a description (aria-label)",
    "pdfua.untagged": "keep template content inside its elements; put page furniture in the header "
                      "and footer (they are artifacts)",
    "references.unknown-value": "use a name from 'thresholds:' in content/practice.yaml, written as "
                                "{{ thresholds.<name> }} (or add the value there)",
    "references.bad-form": "write the words by number, on one line, the last for every other number: "
                           "{{ thresholds.<name> | 1: … | 2: … | 3-10: # … | # … }} (# is the number)",
    "instructions.relative-time": "point to the packet letter's dates and times, or add the rule to "
                                  "'rules:' in content/packet.yaml so packets print it as a clock time",
    "instructions.unquoted-plan": "quote the clinician's words with %(words)s, e.g. 'Last day of your blood "
                                  "thinner. Your care team's plan says: \"%(words)s\"'",
    "instructions.call-deadline": "say by when to call: 'today', 'right away', 'before your visit', or "
                                  "'within {{ thresholds.call_within_hours }} hours' (content/practice.yaml)",
    "site.missing-page": "link to a page the site makes (see output/site/ after 'handout-gen site')",
    "site.duplicate-page": "give each page its own address in practice.yaml or the procedure's url",
    "site.external-link": "check the address; if it is right, add it (or its start) to external_links "
                          "in content/practice.yaml",
}


def fix_for(rule: str) -> str:
    return RULE_FIXES.get(rule, RULE_FIXES["schema"])


def from_problem(problem: Problem, *, default_rule: str = "schema") -> Finding:
    """Turn a loader or guard Problem into a finding; its rule comes with the problem.

    ``default_rule`` names problems the loader left generic ("schema", or "schema.missing"
    for a field that is not there), e.g. as "newsletter.schema" for a newsletter file. A
    governance field with a wrong value keeps the generic rule: its fix is the value's.
    """
    field_name = (problem.field or "").split(".")[0]
    rule = default_rule if problem.rule in ("schema", "schema.missing") else problem.rule
    fix = fix_for(rule)
    if problem.rule == "schema.missing" and field_name in _GOVERNANCE_FIELDS:
        rule = "governance.missing"
        fix = f"add '{field_name}:' to the front matter (see the other procedures for the format)"
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Finding(problem.source, problem.line, rule, problem.severity, message, fix)
