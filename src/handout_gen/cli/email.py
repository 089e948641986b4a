"""Commands for the newsletter: build an issue, send it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from handout_gen.cli.base import Echo, InputFile, cli, load, pass_root
from handout_gen.core.errors import agree, plural

if TYPE_CHECKING:
    from handout_gen.content.project import Project
    from handout_gen.newsletter.render import RenderedEditions


@cli.command()
@click.argument("issue")
@click.option("--esp", type=click.Choice(["mailchimp"]),
              help="Also write a copy with the ESP's merge tags (unsubscribe, archive, address).")
@pass_root
def newsletter(project_dir: Path, issue: str, esp: str | None) -> None:
    """Build one newsletter issue, in every language it has, into output/newsletters/ISSUE/.

    Writes email.html (inlined), email.txt, email.eml (ready to open in a mail program)
    and browser.html (the web copy); with --esp, email.<esp>.html/.txt for an email service.
    A language edition (content/newsletters/ISSUE.<lang>.md) gets the same files with its
    language before the extension: email.es.html, email.es.txt, email.es.eml, browser.es.html.

    \b
    Example:
      handout-gen newsletter 2026-12
      handout-gen newsletter 2026-12 --esp mailchimp
    """
    from handout_gen.newsletter.render import render_editions, write_editions

    project = load(project_dir)
    rendered = render_editions(project, issue, esp=esp)
    for warning in rendered.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for path in write_editions(project, rendered, esp):
        Echo.say(f"wrote {path.relative_to(project.root)}")
    for edition in rendered.all:
        size = len(edition.html.encode())
        lang = "" if edition is rendered.original else f" ({edition.issue.lang})"
        Echo.say(f"HTML part{lang}: {size:,} bytes (Gmail clips above 102,000)")
    # An ESP's copy goes to a list from the ESP, past `send`'s gate: say so here.
    if drafts := rendered.unreviewed(project, [e.issue.lang for e in rendered.all]):
        click.echo(f"Note: {_not_approved(drafts)}: send none of it to a list until they have", err=True)


@cli.command()
@click.argument("issue")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Test send to this address (repeatable); no send log is kept.")
@click.option("--recipients", type=InputFile(),
              help="CSV (UTF-8) with an 'email' column and optional 'first_name' and 'language' columns.")
@click.option("--lang", "lang", metavar="CODE", default=None,
              help="Test send (--to) of this language's edition, e.g. es (a list says it per row).")
@click.option("--smtp-host", envvar="SMTP_HOST", help="SMTP server [env SMTP_HOST].")
@click.option("--smtp-port", envvar="SMTP_PORT", type=click.IntRange(1, 65535), default=25,
              show_default=True, help="SMTP port [env SMTP_PORT].")
@click.option("--starttls/--no-starttls", envvar="SMTP_STARTTLS", default=False,
              help="Upgrade the connection with STARTTLS (needed before a login) [env SMTP_STARTTLS].")
@click.option("--smtp-user", envvar="SMTP_USER",
              help="Login name [env SMTP_USER]; the password is read only from env SMTP_PASSWORD.")
@click.option("--rate", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="At most this many messages per second (0: no limit).")
@click.option("--retries", type=click.IntRange(0, 10), default=4, show_default=True,
              help="Tries again after a temporary SMTP error (4xx, dropped connection).")
@click.option("--retry-delay", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds before the first retry; doubles each time.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Send log (default: output/newsletters/ISSUE/send-log.jsonl).")
@click.option("--dry-run", is_flag=True, help="Check the list and build every message; send nothing.")
@click.option("--suppressions", type=click.Path(dir_okay=False, path_type=Path),
              envvar="HANDOUT_GEN_SUPPRESSIONS",
              help="Suppression list (default: private/unsubscribed.jsonl); the readers' language "
                   "choices are read from newsletter-languages.jsonl beside it "
                   "[env HANDOUT_GEN_SUPPRESSIONS].")
@click.option("--allow-draft", is_flag=True,
              help="Send a list text no reviewer has approved (no 'status: approved'). Test sends (--to) "
                   "always may.")
@click.option("--retry-refused", is_flag=True,
              help="Also try again the rows the server refused for good (5xx) on an earlier run.")
@pass_root
def send(project_dir: Path, issue: str, to: tuple[str, ...], recipients: Path | None, lang: str | None,
         smtp_host: str | None, smtp_port: int, starttls: bool, smtp_user: str | None,
         rate: float, retries: int, retry_delay: float, log_path: Path | None, dry_run: bool,
         suppressions: Path | None, allow_draft: bool, retry_refused: bool) -> None:
    """Send a newsletter issue over SMTP: a test send (--to) or a list (--recipients).

    A list send keeps a log; run the same command again after a stop and it goes on
    where it left off, skipping rows already sent (and rows refused for good, unless
    --retry-refused). Ctrl-C lets the message in flight finish and be logged first.
    One case can repeat a message: a kill or crash while the server is answering
    (delivered, not yet logged); the repeat has the same Message-ID. Every row of the
    list is checked first; readers who unsubscribed are skipped. Links are signed with the
    practice secret (env HANDOUT_GEN_SECRET_FILE; see 'handout-gen new-secret').
    Each reader gets the edition in the language of their row (the list's 'language'
    column: es, Spanish, español…; empty means English); a language the issue has no
    edition in gets the English one, and the summary says so.

    \b
    Example:
      handout-gen send 2026-12 --to me@example.org --smtp-host 127.0.0.1 --smtp-port 1025
      handout-gen send 2026-12 --to me@example.org --lang es --smtp-host 127.0.0.1 --smtp-port 1025
      SMTP_HOST=smtp.example.org SMTP_PORT=587 SMTP_USER=news SMTP_PASSWORD=... \\
        handout-gen send 2026-12 --recipients list.csv --starttls --rate 5
    """
    import os

    from handout_gen.newsletter.recipients import Recipient, load_recipients, valid_address
    from handout_gen.newsletter.render import render_editions
    from handout_gen.newsletter.send import ListReaders, SmtpSettings, send_issue
    from handout_gen.newsletter.unsubscribe import SuppressionList, UnsubscribeTokens, load_secret

    if bool(to) == bool(recipients):
        raise click.UsageError("give either --to ADDRESS (a test send) or --recipients CSV")
    for address in to:
        if not valid_address(address):
            raise click.BadParameter(f"'{address}' is not a valid email address", param_hint="--to")
    if not smtp_host and not dry_run:
        raise click.UsageError("no SMTP server: give --smtp-host or set SMTP_HOST")
    if lang is not None and not to:
        raise click.UsageError("--lang is for a test send (--to); a list gives each row's language")
    project = load(project_dir)
    rendered = render_editions(project, issue)  # every guard, every edition, before the list is read
    code = project.languages.code_of(lang or "")
    if code is None:
        raise click.BadParameter(f"'{lang}' is not a language of this project "
                                 f"(known: {', '.join(project.languages.codes)})", param_hint="--lang")
    people = ([Recipient(0, a, None, code) for a in to] if to
              else load_recipients(recipients, project.languages))  # type: ignore[arg-type]
    if suppressions is not None and not to and not suppressions.is_file():  # a typo mails the unsubscribed
        raise click.BadParameter(f"{suppressions} is not a file; check the path (create it empty "
                                 "if nobody has unsubscribed yet)", param_hint="--suppressions")
    tokens = UnsubscribeTokens(load_secret())  # no secret: said before "Sending" starts
    readers = (ListReaders.none() if to else
               ListReaders.load(project, tokens, SuppressionList(suppressions) if suppressions else None))
    # the editions readers get: a list reader's own choice (preferences page) counts too
    langs = {p.lang for p in people} if to else readers.languages(people, tokens, rendered)
    _refuse_drafts(project, rendered, langs, test=bool(to), dry_run=dry_run, allow=allow_draft)
    settings = SmtpSettings(smtp_host, smtp_port, starttls, smtp_user or None,
                            os.environ.get("SMTP_PASSWORD") or None) if smtp_host else None
    with click.progressbar(length=len(people), label="Sending" if not dry_run else "Preparing",
                           file=sys.stderr) as bar:
        report = send_issue(project, issue, people, settings, test=bool(to), log_path=log_path,
                            dry_run=dry_run, rate=rate, retries=retries, backoff=retry_delay,
                            progress=lambda _r: bar.update(1), rendered=rendered,
                            readers=readers,
                            retry_refused=retry_refused, tokens=tokens)
    for line in report.summary(dry_run):
        click.echo(line)
    for line in report.problems():
        click.echo(line, err=True)
    if report.failed and not dry_run:
        refused = f"{plural(len(report.failed), 'message')} {agree(len(report.failed), 'was', 'were')}"
        raise click.ClickException(f"{refused} refused permanently (see above)")


def _refuse_drafts(project: Project, rendered: RenderedEditions, langs: set[str], *,
                   test: bool, dry_run: bool, allow: bool) -> None:
    """A list gets only reviewed text: medical text and translations stay draft until a
    clinician or a qualified translator signs. A test send is how a reviewer sees it.
    ``langs``: the languages readers are sent."""
    drafts = rendered.unreviewed(project, langs)
    if not drafts or test or allow:
        return
    message = (f"{_not_approved(drafts)}. Have it reviewed and set 'status: approved', or send it "
               "anyway with --allow-draft")
    if dry_run:
        click.echo(f"Note: a send would stop here: {message}", err=True)
        return
    raise click.ClickException(f"nothing was sent: {message}")


def _not_approved(drafts: list[str]) -> str:
    return "no reviewer has approved (no 'status: approved') " + "; ".join(drafts)


@cli.command("new-secret")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_root
def new_secret(project_dir: Path, path: Path) -> None:
    """Make the practice secret that signs and checks unsubscribe links.

    Writes a random key to PATH (0600; never overwritten: a new key breaks the links
    already sent). Give send and the unsubscribe app HANDOUT_GEN_SECRET_FILE=PATH.

    \b
    Example:
      handout-gen new-secret ~/.config/handout-gen/secret.key
      export HANDOUT_GEN_SECRET_FILE=~/.config/handout-gen/secret.key
    """
    from handout_gen.newsletter.unsubscribe import make_secret

    written = make_secret(path, project_output=project_dir / "output")
    click.echo(f"wrote {written}; set HANDOUT_GEN_SECRET_FILE={written} for send and the unsubscribe app")
