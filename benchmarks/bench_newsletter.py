"""Personalised newsletter messages per second: substitution after one inline vs re-inlining.

The fast path (what `handout-gen send` does): premailer runs once per issue; each reader's
message is token substitution + C quoted-printable into a fixed MIME skeleton. Baselines,
measured in the same run: (a) premailer per reader, (b) the email package's EmailMessage
per reader on the already-inlined HTML (pure-Python QP encoding).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from handout_gen.content.project import load_project
from handout_gen.newsletter.message import MessageTemplate, reader_values
from handout_gen.newsletter.model import list_issues
from handout_gen.newsletter.recipients import Recipient
from handout_gen.newsletter.render import inline_css, newsletter_context, render_issue
from handout_gen.render.jinja import make_env, render

REPO = Path(__file__).resolve().parents[1]


def _people(n: int) -> list[Recipient]:
    return [Recipient(i + 2, f"reader{i}@example.org", f"Reader{i}") for i in range(n)]


def run() -> None:
    project = load_project(REPO)
    issue_id = list_issues(project)[0]
    t0 = time.perf_counter()
    rendered = render_issue(project, issue_id)
    once = time.perf_counter() - t0
    issue = rendered.issue
    template = MessageTemplate.build(project, issue, rendered.template_html, rendered.template_text)
    now = datetime.now(UTC)

    def fast(people: list[Recipient]) -> int:
        size = 0
        for r in people:
            values = reader_values(project, issue, r.first_name, f"tok{r.row:019d}")
            size += len(
                template.message(
                    values,
                    to=r.address,
                    message_id=f"<{r.row}@example.org>",
                    date=now,
                    list_unsubscribe=values.unsub_url,
                )
            )
        return size

    fast(_people(50))  # warm up
    n_fast = 3000
    t0 = time.perf_counter()
    fast(_people(n_fast))
    fast_rate = n_fast / (time.perf_counter() - t0)

    env = make_env(project.templates_dir)
    context = newsletter_context(project, issue)
    raw_html = render(env, "newsletter.html.j2", **context)
    n_slow = 20
    t0 = time.perf_counter()
    for r in _people(n_slow):  # baseline (a): what personalising before inlining would cost
        values = reader_values(project, issue, r.first_name, f"tok{r.row:019d}")
        inlined = inline_css(raw_html)
        MessageTemplate.build(project, issue, inlined, rendered.template_text).message(
            values,
            to=r.address,
            message_id=f"<{r.row}@example.org>",
            date=now,
            list_unsubscribe=values.unsub_url,
        )
    slow_rate = n_slow / (time.perf_counter() - t0)

    n_pkg = 300
    t0 = time.perf_counter()
    for r in _people(n_pkg):  # baseline (b): substitution, but MIME via the email package
        values = reader_values(project, issue, r.first_name, f"tok{r.row:019d}")
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = issue.meta.subject
        msg["From"] = project.practice.email.sender_address
        msg["To"] = r.address
        msg.set_content(template.fill_text(values))
        msg.add_alternative(template.fill_html(values), subtype="html")
        msg.as_bytes()
    pkg_rate = n_pkg / (time.perf_counter() - t0)

    size = len(rendered.html.encode())
    print(f"issue {issue_id}: HTML {size:,} bytes; render + inline once {once * 1000:.0f} ms")
    print(f"personalised messages prepared (substitute + b2a_qp MIME): {fast_rate:,.0f} msg/s (goal 1,000)")
    print(
        f"baseline re-inlining per recipient (premailer each time):  {slow_rate:,.1f} msg/s"
        f" -> fast path x{fast_rate / slow_rate:,.0f}"
    )
    print(
        f"baseline EmailMessage per recipient (pure-Python QP):      {pkg_rate:,.0f} msg/s"
        f" -> fast path x{fast_rate / pkg_rate:,.1f}"
    )
