"""Newsletter rendering: content model, inlined HTML, text part, .eml, ESP copy, guards, CLI."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from handout_gen.cli import cli
from handout_gen.content.project import load_project
from handout_gen.core.errors import RenderError, UnknownItemError, ValidationFailed
from handout_gen.newsletter.guards import guard_context, unsupported_features
from handout_gen.newsletter.model import list_issues, load_issue
from handout_gen.newsletter.render import newsletter_context, render_issue
from tests.conftest import FIXTURE

from .mailutil import assert_headers_once

ISSUE = "2026-12"
PHI = "patient data has no place in a newsletter; remove this field"
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=2026-12"


@pytest.fixture(scope="module")
def rendered():  # type: ignore[no-untyped-def]
    return render_issue(load_project(FIXTURE), ISSUE, esp="mailchimp")


def issue_file(project: Path) -> Path:
    return project / "content" / "newsletters" / f"{ISSUE}.md"


def add_section(project: Path, markdown: str) -> None:
    """Append a free-Markdown block 'extra' to the sample issue."""
    path = issue_file(project)
    text = path.read_text(encoding="utf-8")
    text = text.replace("  - section: holiday-hours\n", "  - section: holiday-hours\n  - section: extra\n")
    path.write_text(text + f"\n## More {{#extra}}\n\n{markdown}\n", encoding="utf-8")


def override_footer(project: Path, body: str) -> None:
    (project / "templates").mkdir(exist_ok=True)
    (project / "templates" / "newsletter.html.j2").write_text(
        '{% extends "default:newsletter.html.j2" %}{% block footer %}' + body + "{% endblock %}",
        encoding="utf-8",
    )


def test_list_issues_and_unknown_issue(sample_project: Path) -> None:
    project = load_project(sample_project)
    assert list_issues(project) == [ISSUE]
    with pytest.raises(
        UnknownItemError, match=r"^no newsletter '2027-01' in content/newsletters/ \(known: 2026-12\)$"
    ):
        render_issue(project, "2027-01")


def test_procedure_blocks_come_from_the_procedure_files(rendered) -> None:  # type: ignore[no-untyped-def]
    project = load_project(FIXTURE)
    tree = lxml_html.document_fromstring(rendered.html)
    headings = [h.text_content() for h in tree.iter("h2")]
    assert headings == ["Radiofrequency Ablation", "Epidural Steroid Injection", "Holiday hours"]
    for slug in ("radiofrequency-ablation", "epidural-steroid-injection"):
        meta = project.procedure(slug).meta
        # one source: the summary is the procedure file's, word for word, in both parts
        assert " ".join(meta.summary.split()) in " ".join(tree.text_content().split())
        assert " ".join(meta.summary.split()) in " ".join(rendered.text.split())
        assert f": {meta.url}\n" in rendered.text  # written out without the campaign parameters
        assert any(a.get("href") == f"{meta.url}?{UTM}" for a in tree.iter("a"))


def test_html_structure_and_inlining(rendered) -> None:  # type: ignore[no-untyped-def]
    html = rendered.html
    tree = lxml_html.document_fromstring(html)
    assert tree.get("lang") == "en"
    assert tree.find(".//title").text == "December news: two treatments for long-lasting back and neck pain"
    metas = {m.get("name"): m.get("content") for m in tree.iter("meta") if m.get("name")}
    assert metas["viewport"] == "width=device-width, initial-scale=1"
    assert metas["color-scheme"] == "light dark"
    # one <style> left, in <head>, holding only the @media layers, with their !important kept
    styles = tree.findall(".//style")
    assert len(styles) == 1 and styles[0].getparent().tag == "head"
    css = styles[0].text
    assert "@media only screen and (max-width: 620px)" in css
    assert "width: 100% !important" in css
    assert "@media (prefers-color-scheme: dark)" in css and "color: #EEEEEE !important" in css
    assert not re.search(r"(?m)^\.hg-text\s*\{", css)  # plain rules were inlined, not left behind
    # layout styles are inline; colours stay six-digit
    td = next(td for td in tree.iter("td") if "hg-text" in (td.get("class") or ""))
    assert "font-size:18px" in td.get("style") and "color:#1A1A1A" in td.get("style")
    assert not re.search(r"#[0-9A-Fa-f]{3}(?![0-9A-Fa-f])", html)
    # 600 px presentation tables and the Outlook ghost table
    tables = list(tree.iter("table"))
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert any(t.get("width") == "600" for t in tables)
    assert '<!--[if mso]><table role="presentation" width="600"' in html
    # preheader first, then a view-in-browser link
    body = tree.find("body")
    assert body[0].get("class") == "hg-preheader" and "mso-hide:all" in body[0].get("style")
    preheader = "How nerve treatments and spine injections can ease pain, plus our holiday hours."
    shown, filler = body[0].text_content()[:len(preheader)], body[0].text_content()[len(preheader):]
    # then characters that draw nothing, so the inbox preview stops at the preheader
    assert shown == preheader and filler and set(filler) <= {"\u034f", "\u200c", "\xa0"}
    links = [a.get("href") for a in tree.iter("a")]
    assert links[0] == "https://www.example.org/newsletters/2026-12/"
    # unsubscribe and preferences: a line each, 18 px type on a 44 px tap height, no "|" read aloud
    footer = [a for a in tree.iter("a") if "hg-footer-link" in a.get("class", "")]
    assert [a.text_content() for a in footer] == ["Unsubscribe", "Update your email preferences"]
    assert all("font-size:18px" in a.get("style") and "padding:8px 0" in a.get("style") for a in footer)
    assert footer[0].getparent() is not footer[1].getparent()
    assert "|" not in footer[0].getparent().text_content()
    # footer: address, unsubscribe, preferences, permission reminder
    text = " ".join(tree.text_content().split())
    assert "400 Orchard Way, Suite 210, Cedar Falls, OH 45000" in text
    assert "You are getting this email because you asked for news" in text
    assert "https://www.example.org/email/unsubscribe" in links
    assert "https://www.example.org/email/preferences" in links
    # images: absolute https, alt, pixel width and height (the header logo, then the hero)
    logo, img = list(tree.iter("img"))[:2]
    assert logo.get("src") == "https://www.example.org/assets/logo.png"
    assert (logo.get("alt"), logo.get("width"), logo.get("height")) == ("", "48", "48")
    assert img.get("src") == "https://www.example.org/assets/images/newsletter-2026-12-hero.png"
    assert (img.get("alt"), img.get("width"), img.get("height")) == ("", "600", "200")
    assert len(html.encode()) < 90_000
    assert "HGTOKEN" not in html and "HGTOKEN" not in rendered.text and "HG:EMAIL" not in html


def test_no_feature_unsupported_in_gmail_apple_mail_or_outlook(rendered) -> None:  # type: ignore[no-untyped-def]
    assert unsupported_features(rendered.html) == []
    assert unsupported_features(rendered.browser_html) == []
    for bad in (
        '<div style="display:flex">x</div>',
        '<td style="position: absolute">x</td>',
        '<td style="background-image:url(https://x.example.org/a.png)">x</td>',
        "<svg></svg>",
    ):
        assert unsupported_features(f"<html><head></head><body>{bad}</body></html>"), bad


def test_utm_only_on_own_links(sample_project: Path) -> None:
    add_section(
        sample_project,
        "See [the county guide](https://www.example.com/guide?x=1) "
        "and [our team](/team) or [email us](mailto:frontdesk@example.org).",
    )
    r = render_issue(load_project(sample_project), ISSUE)
    hrefs = [a.get("href") for a in lxml_html.document_fromstring(r.html).iter("a")]
    assert "https://www.example.com/guide?x=1" in hrefs
    assert f"https://www.example.org/team?{UTM}" in hrefs
    assert "mailto:frontdesk@example.org" in hrefs
    assert "the county guide (https://www.example.com/guide?x=1)" in " ".join(r.text.split())


def test_eml_parts_and_headers(rendered) -> None:  # type: ignore[no-untyped-def]
    msg = email.message_from_bytes(rendered.eml, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert_headers_once(msg, one_click=False)
    assert msg["Subject"] == "December news: two treatments for long-lasting back and neck pain"
    assert msg["From"] == "Maple Hollow Spine & Pain Center <news@example.org>"
    assert msg["To"] == "undisclosed-recipients:;"
    assert msg["Date"] == "Tue, 01 Dec 2026 00:00:00 +0000"
    assert re.fullmatch(r"<newsletter\.2026-12\.[0-9a-f]{20}@example\.org>", msg["Message-ID"])
    # no reader: a reply and the page that says how, and no one-click button that could not work
    assert msg["List-Unsubscribe"] == (
        "<mailto:frontdesk@example.org?subject=unsubscribe>, <https://www.example.org/email/unsubscribe>")
    assert msg["List-Unsubscribe-Post"] is None
    html = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert html == rendered.html
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert all(len(line) <= 78 for line in rendered.eml.split(b"\r\n"))


def test_render_is_deterministic(sample_project: Path) -> None:
    project = load_project(sample_project)
    assert render_issue(project, ISSUE).eml == render_issue(project, ISSUE).eml


def test_mailchimp_variant(rendered) -> None:  # type: ignore[no-untyped-def]
    assert rendered.esp_html is not None and rendered.esp_text is not None
    hrefs = [a.get("href") for a in lxml_html.document_fromstring(rendered.esp_html).iter("a")]
    assert "*|UNSUB|*" in hrefs and "*|ARCHIVE|*" in hrefs and "*|UPDATE_PROFILE|*" in hrefs
    assert "*|HTML:LIST_ADDRESS_HTML|*" in rendered.esp_html
    # the text part's address is Mailchimp's plain-text tag: no markup in a text-only client
    assert "*|LIST:ADDRESS|*" in rendered.esp_text and "HTML:" not in rendered.esp_text
    assert "*|IF:FNAME|*Hello *|FNAME|*,*|ELSE:|*Hello,*|END:IF|*" in rendered.esp_html
    assert "Unsubscribe: *|UNSUB|*" in rendered.esp_text


def test_browser_copy_leaves_out_what_only_an_email_reader_needs(rendered) -> None:  # type: ignore[no-untyped-def]
    """The browser copy is the issue's public web page: no "view in browser" link, no "you are
    getting this email because", no preferences link (it works only with a reader's token),
    no "Hello," to nobody.
    The unsubscribe link stays: its page says how to stop the emails without one."""
    email = lxml_html.document_fromstring(rendered.html).text_content()
    browser = lxml_html.document_fromstring(rendered.browser_html).text_content()
    email_only = ("View it in your browser", "You are getting this email because",
                  "Update your email preferences", "Hello,")
    assert all(words in email for words in email_only)
    assert not [words for words in email_only if words in browser]
    assert "Unsubscribe" in browser and rendered.issue.meta.subject in browser


def test_a_heading_of_the_text_part_is_underlined_as_wide_as_it_shows() -> None:
    """A Chinese character takes two columns of a text-only mail program."""
    from handout_gen.render.jinja import underline

    assert underline("Holiday hours") == "=" * 13
    assert underline("节假日营业时间", "-") == "-" * 14


@pytest.mark.parametrize(("url", "written"), [
    (f"https://www.example.org/locations?{UTM}", "https://www.example.org/locations"),
    (f"https://www.example.org/a?k=v&{UTM}", "https://www.example.org/a?k=v"),
    ("mailto:desk@example.org?subject=Refill%20request", "mailto:desk@example.org?subject=Refill%20request"),
    ("https://www.example.org/a?flag", "https://www.example.org/a?flag"),
])
def test_the_text_part_drops_only_the_campaign_parameters(url: str, written: str) -> None:
    """The rest of a query stays as written: "%20" read as "+" would show in a mail program."""
    from handout_gen.newsletter.links import plain_url

    assert plain_url(url) == written


def test_text_part_has_same_content_and_written_out_links(rendered) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(rendered.text.split())
    assert "View this email in your browser: https://www.example.org/newsletters/2026-12/" in text
    # headings underlined, not in capitals (spelt out letter by letter when read aloud)
    assert "\nHoliday hours\n=============\n" in rendered.text and "HOLIDAY HOURS" not in text
    assert "\n- On all other days we keep our usual hours.\n" in rendered.text
    assert all(len(line) <= 72 or "https://" in line for line in rendered.text.splitlines())
    # links written out without their campaign parameters, which the HTML part's links carry
    assert "our locations page (https://www.example.org/locations)" in text and "utm_" not in text
    tree = lxml_html.document_fromstring(rendered.html)
    assert f"https://www.example.org/locations?{UTM}" in [a.get("href") for a in tree.iter("a")]
    read_about = "Read about Radiofrequency Ablation: https://www.example.org/procedures/radiofrequency-ablation\n"
    assert read_about in rendered.text
    # the after-hours line, for the holidays the issue names
    assert "Questions? Call us at 555-0100. After hours: 555-0199." in text
    assert "400 Orchard Way, Suite 210, Cedar Falls, OH 45000" in text
    assert "Unsubscribe: https://www.example.org/email/unsubscribe" in text


# --- guards: each one broken by a tiny change to a copy of the sample project ------------------
def test_guard_html_over_102_kb(sample_project: Path) -> None:
    add_section(sample_project, "\n\n".join(["Plain words about winter walks and warm coats. " * 20] * 120))
    with pytest.raises(
        ValidationFailed,
        match=r"content/newsletters/2026-12\.md: HTML is [\d,]+ bytes; "
        r"Gmail clips email over 102 KB \(hides the footer\): shorten the issue",
    ):
        render_issue(load_project(sample_project), ISSUE)


def test_guard_image_without_width_or_alt(sample_project: Path) -> None:
    add_section(
        sample_project,
        "![Hills](assets/images/newsletter-2026-12-hero.png)\n\n"
        '<img src="assets/images/newsletter-2026-12-hero.png" width="60" height="20">',
    )
    with pytest.raises(ValidationFailed) as info:
        render_issue(load_project(sample_project), ISSUE)
    url = "https://www.example.org/assets/images/newsletter-2026-12-hero.png"
    assert [str(p) for p in info.value.problems] == [
        f"content/newsletters/2026-12.md: image {url} needs width and height attributes"
        " (Outlook ignores CSS sizes)",
        f"content/newsletters/2026-12.md: image {url} has no alt text",
    ]


def test_guard_front_matter_image_needs_alt_and_width(sample_project: Path) -> None:
    path = issue_file(sample_project)
    path.write_text(path.read_text().replace('  alt: ""\n  width: 600\n', ""), encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        render_issue(load_project(sample_project), ISSUE)
    assert [str(p) for p in info.value.problems] == [
        "content/newsletters/2026-12.md:6: hero.alt: is required but missing",
        "content/newsletters/2026-12.md:6: hero.width: is required but missing",
    ]


def test_guard_non_https_link_and_missing_footer(sample_project: Path) -> None:
    override_footer(sample_project, '<tr><td><a href="http://www.example.org/old">old</a></td></tr>')
    with pytest.raises(ValidationFailed) as info:
        render_issue(load_project(sample_project), ISSUE)
    assert [p.message for p in info.value.problems] == [
        "link 'http://www.example.org/old' is not https:// (every link must be https, mailto: or tel:)",
        "the postal address (400 Orchard Way, Suite 210, Cedar Falls, OH 45000) must appear"
        " in the HTML and text parts (CAN-SPAM)",
        "an unsubscribe link (https://www.example.org/email/unsubscribe) must appear"
        " in the HTML and text parts",
    ]


def test_guard_unsupported_css_from_a_template_override(sample_project: Path) -> None:
    (sample_project / "templates").mkdir(exist_ok=True)
    (sample_project / "templates" / "newsletter.html.j2").write_text(
        '{% extends "default:newsletter.html.j2" %}{% block style %}{{ super() }}'
        "<style>.hg-card { display: flex; }</style>{% endblock %}",
        encoding="utf-8",
    )
    with pytest.raises(
        ValidationFailed,
        match=r"uses display:flex/grid \(Outlook Windows; grid also Gmail\), "
        "which a main email client does not support",
    ):
        render_issue(load_project(sample_project), ISSUE)


def test_guard_patient_fields_in_front_matter(sample_project: Path) -> None:
    path = issue_file(sample_project)
    text = path.read_text().replace(
        "blocks:\n", "patient:\n  mrn: '0001'\nblocks:\n  - procedure: prp-injection\n    diagnosis: x\n", 1
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_issue(load_project(sample_project), ISSUE)
    assert [str(p) for p in info.value.problems] == [
        f"content/newsletters/2026-12.md:11: patient: {PHI}",
        f"content/newsletters/2026-12.md:12: patient.mrn: {PHI}",
        f"content/newsletters/2026-12.md:15: blocks.0.diagnosis: {PHI}",
    ]


def test_guard_patient_fields_in_context(sample_project: Path) -> None:
    project = load_project(sample_project)
    context = newsletter_context(project, load_issue(project, ISSUE))
    guard_context(context)  # the real context passes
    context["blocks"][0]["appointment"] = "2026-12-02"
    with pytest.raises(
        RenderError,
        match=r"^newsletter context holds a field a newsletter may not carry: "
        r"blocks\.0\.appointment \(newsletters go to a whole list and never carry patient data\)$",
    ):
        guard_context(context)
    with pytest.raises(RenderError, match="may not carry: roster"):
        guard_context({**newsletter_context(project, load_issue(project, ISSUE)), "roster": []})


def test_content_errors_are_all_reported_with_lines(sample_project: Path) -> None:
    path = issue_file(sample_project)
    text = path.read_text().replace("procedure: epidural-steroid-injection", "procedure: no-such-thing")
    text = text.replace("## Holiday hours {#holiday-hours}", "## Holiday hours {#hours}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_issue(load_project(sample_project), ISSUE)
    messages = [str(p) for p in info.value.problems]
    assert messages[0].startswith(
        "content/newsletters/2026-12.md:13: blocks.1.procedure: unknown procedure 'no-such-thing' (known: "
    )
    heading = text.splitlines().index("## Holiday hours {#hours}") + 1
    assert messages[1:] == [
        "content/newsletters/2026-12.md:14: blocks.2.section: no section '## … {#holiday-hours}' in the body",
        f"content/newsletters/2026-12.md:{heading}: section 'hours' is not listed in blocks "
        "(add '- section: hours')",
    ]


# --- CLI ---------------------------------------------------------------------------------------
def test_cli_newsletter_writes_the_files(sample_project: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--project", str(sample_project), "newsletter", ISSUE, "--esp", "mailchimp"]
    )
    assert result.exit_code == 0, result.output
    out = sample_project / "output" / "newsletters" / ISSUE
    assert sorted(p.name for p in out.iterdir()) == [
        "browser.es.html",
        "browser.html",
        "email.eml",
        "email.es.eml",
        "email.es.html",
        "email.es.mailchimp.html",
        "email.es.mailchimp.txt",
        "email.es.txt",
        "email.html",
        "email.mailchimp.html",
        "email.mailchimp.txt",
        "email.txt",
    ]
    assert f"wrote output/newsletters/{ISSUE}/email.eml" in result.output
    assert re.search(r"HTML part: [\d,]+ bytes \(Gmail clips above 102,000\)", result.output)


def test_quiet_works_after_the_command_too(sample_project: Path) -> None:
    """``newsletter 2026-12 -q``, as people type it, is as quiet as ``-q newsletter 2026-12``:
    the files are written, only warnings and errors are printed (the draft notice is one)."""
    out = sample_project / "output" / "newsletters" / ISSUE
    said = []
    for args in (["-q", "newsletter", ISSUE], ["newsletter", ISSUE, "-q"], ["newsletter", ISSUE, "--quiet"]):
        result = CliRunner().invoke(cli, ["--project", str(sample_project), *args])
        assert result.exit_code == 0 and (out / "email.eml").is_file(), result.output
        assert "wrote" not in result.stdout and "HTML part" not in result.stdout, args
        said.append(result.output)
    assert said[0] == said[1] == said[2]
    loud = CliRunner().invoke(cli, ["--project", str(sample_project), "newsletter", ISSUE])
    assert "wrote output/newsletters/" in loud.stdout  # and the next command is not quiet


def test_cli_newsletter_error_is_one_line_exit_1(sample_project: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "newsletter", "nope"])
    assert result.exit_code == 1
    assert result.output == "Error: no newsletter 'nope' in content/newsletters/ (known: 2026-12)\n"


def test_the_text_part_keeps_nested_lists_breaks_and_addresses_once() -> None:
    """A list in an item was printed again as items of the outer list (renumbered), a <br>
    ran its lines together, and a screen reader heard "frontdesk@example.org (mailto:...)"."""
    from lxml import html as lxml_html

    from handout_gen.newsletter.links import to_text

    fragment = lxml_html.fragment_fromstring(
        "<ol><li>Rest.</li><li>Use ice:<ul><li>15 minutes at a time</li><li>a cloth between</li></ul></li>"
        "<li>Ask us.</li></ol><p>Line one<br>Line two,\nthe same line. Mail "
        '<a href="mailto:frontdesk@example.org">frontdesk@example.org</a>, call <a href="tel:5550100">'
        '555-0100</a> or <a href="mailto:frontdesk@example.org">write to us</a>.</p>', create_parent="div")
    assert to_text(fragment) == (
        "1. Rest.\n2. Use ice:\n  - 15 minutes at a time\n  - a cloth between\n3. Ask us.\n\n"
        "Line one\nLine two, the same line. Mail frontdesk@example.org, call 555-0100 or\n"
        "write to us (frontdesk@example.org).")


def test_the_text_part_writes_a_table_a_row_a_line() -> None:
    """A table's cells ran together in the text part ("ClinicOpenOrchard WayMon–Fri")."""
    from lxml import html as lxml_html

    from handout_gen.newsletter.links import to_text

    fragment = lxml_html.fragment_fromstring(
        "<p>Hours:</p><table><thead><tr><th>Clinic</th><th>Open</th></tr></thead><tbody><tr><td>Orchard Way"
        "</td><td>Monday to Friday, 8 AM to 5 PM</td></tr><tr><td>Riverside</td><td>Tuesday and Thursday, "
        "<b>9 AM</b> to 1 PM, and the first Saturday of the month, 9 AM to noon</td></tr><tr><td></td><td>"
        "</td></tr></tbody></table>", create_parent="div")
    assert to_text(fragment) == (
        "Hours:\n\nClinic | Open\nOrchard Way | Monday to Friday, 8 AM to 5 PM\n"
        "Riverside | Tuesday and Thursday, 9 AM to 1 PM, and the first Saturday\n"
        "  of the month, 9 AM to noon")


def test_a_sections_image_fits_the_column_and_a_missing_one_is_named(sample_project: Path) -> None:
    """A 600 px picture in a section made the email scroll sideways on a phone, and one that
    is not in content/ was linked all the same."""
    path = issue_file(sample_project)
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(n for n, line in enumerate(lines) if line.startswith("## ")) + 2
    picture = ('<img src="assets/images/newsletter-2026-12-hero.png" alt="Our clinic" '
               'width="600" height="200">')
    path.write_text("\n".join([*lines[:at], picture, *lines[at:]]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "newsletter", ISSUE])
    assert result.exit_code == 0, result.output
    html = (sample_project / "output" / "newsletters" / ISSUE / "email.html").read_text(encoding="utf-8")
    (img,) = re.findall(r'<img[^>]*alt="Our clinic"[^>]*>', html)
    assert 'width="536"' in img and 'height="179"' in img and "hg-img" in img
    path.write_text("\n".join([*lines[:at], picture.replace("hero.png", "gone.png"), *lines[at:]]),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "newsletter", ISSUE])
    assert result.exit_code == 1
    assert (f"content/newsletters/{ISSUE}.md:{at + 1}: image 'assets/images/newsletter-2026-12-gone.png' "
            "not found inside content/") in result.output


def test_files_a_build_no_longer_makes_are_removed_and_the_send_log_kept(sample_project: Path) -> None:
    """After an edit, an email service copy of the earlier text stayed beside the new email,
    and a deleted translation's files stayed too: a copy that no longer says what the issue
    says could be uploaded."""
    folder = sample_project / "output" / "newsletters" / ISSUE
    command = ["--project", str(sample_project), "newsletter", ISSUE]
    assert CliRunner().invoke(cli, [*command, "--esp", "mailchimp"]).exit_code == 0
    (folder / "send-log.jsonl").write_text("{}\n", encoding="utf-8")
    assert (folder / "email.mailchimp.html").is_file() and (folder / "email.es.html").is_file()
    (sample_project / "content" / "newsletters" / f"{ISSUE}.es.md").unlink()
    assert CliRunner().invoke(cli, command).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "browser.html", "email.eml", "email.html", "email.txt", "send-log.jsonl"]


def test_a_subject_on_two_lines_is_named_at_its_line(sample_project: Path) -> None:
    """An email header holds one line: a YAML literal block ('|') for the subject is a problem
    at its line (it was a traceback from the email package in newsletter, check and build)."""
    path = issue_file(sample_project)
    text = path.read_text(encoding="utf-8")
    subject = next(line for line in text.splitlines() if line.startswith("subject: "))
    two_lines = f"subject: |\n  {subject[9:]}\n  and a second line"
    path.write_text(text.replace(subject, two_lines), encoding="utf-8")
    line = text.splitlines().index(subject) + 1
    for command in (["newsletter", ISSUE], ["check", "--no-pdf"]):
        result = CliRunner().invoke(cli, ["--project", str(sample_project), *command])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert f"content/newsletters/{ISSUE}.md:{line}: " in result.output
        assert ("subject: must be one line: write it on one line, or fold its lines with '>' "
                "(not '|')") in result.output


@pytest.mark.slow
def test_build_builds_every_newsletter(sample_project: Path) -> None:
    # a second issue proves `build` picks up every file, not just the sample
    second = issue_file(sample_project).with_name("2027-01.md")
    second.write_text(issue_file(sample_project).read_text(), encoding="utf-8")
    from handout_gen.newsletter.render import build_newsletters

    paths = build_newsletters(load_project(sample_project)).written
    names = sorted(p.relative_to(sample_project / "output").as_posix() for p in paths)
    assert "newsletters/2027-01/email.eml" in names and "newsletters/2026-12/email.html" in names
    # 2026-12 in English and Spanish (four files each), 2027-01 in English only
    assert len(names) == 12 and "newsletters/2026-12/email.es.eml" in names
    # A second build finds nothing changed; editing a featured procedure rebuilds both issues.
    again = build_newsletters(load_project(sample_project))
    assert again.written == [] and len(again.skipped) == 2
    rfa = sample_project / "content" / "procedures" / "radiofrequency-ablation.md"
    rfa.write_text(rfa.read_text().replace("title: Radiofrequency Ablation", "title: Nerve Heat Treatment"))
    changed = build_newsletters(load_project(sample_project))
    assert len(changed.written) == 12  # both issues again, 2026-12 in both its languages
    assert "Nerve Heat Treatment" in (sample_project / "output/newsletters/2026-12/email.html").read_text()


NOTE = "This newsletter is general information, not medical advice: ask your care team about your own care."


def test_ends_with_the_general_information_note_in_both_parts(rendered) -> None:  # type: ignore[no-untyped-def]
    tree = lxml_html.document_fromstring(rendered.html)
    paragraphs = [" ".join(p.text_content().split()) for p in tree.iter("p")]
    footer_start = next(i for i, p in enumerate(paragraphs) if p.startswith("You are getting this email"))
    assert paragraphs[footer_start - 1] == NOTE  # the last line before the footer
    assert NOTE in " ".join(rendered.text.split())


def test_spanish_issue_has_the_spanish_note(sample_project: Path) -> None:
    path = issue_file(sample_project)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("date: 2026-12-01\n", "date: 2026-12-01\nlang: es\n"), encoding="utf-8")
    spanish = render_issue(load_project(sample_project), ISSUE)
    note = "Este boletín es información general, no un consejo médico: pregunte a su equipo de atención"
    assert note in " ".join(lxml_html.document_fromstring(spanish.html).text_content().split())
    assert note in " ".join(spanish.text.split())
