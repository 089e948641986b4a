"""The web addresses handouts, packets and newsletters print, and whether the site has a page there.

Collected from the same data the outputs print them from (no PDF is rendered): each procedure
edition's page (handout QR code and address, packets' handouts, newsletter buttons), the
practice's website (packets' contacts page), each location's map link (cover letters), the
absolute links in procedure text, and every link and picture of each rendered newsletter.
``check`` reports an address on the practice's own site with nothing behind it as an error,
and an address on another site that is not in ``external_links`` (practice.yaml) as a warning:
a typo in a host name makes a link "external" too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import html as lxml_html  # type: ignore[import-untyped]

from handout_gen.content.project import Project
from handout_gen.core.errors import Problem, relpath
from handout_gen.site.plan import RASTER, SitePlan, plan_site

HREF_RE = re.compile(r'<a\b[^>]*?\bhref="(https://[^"]+)"')


@dataclass(frozen=True)
class Printed:
    """A URL one of the outputs prints, where it comes from and what prints it."""

    url: str
    source: str  # the project file it comes from
    what: str


def printed_urls(project: Project, newsletters: Mapping[str, str]) -> list[Printed]:
    """Every URL the outputs print; ``newsletters`` maps issue ids to their rendered HTML."""
    practice = "content/practice.yaml"
    found = [Printed(project.practice.website, practice, "the packets' contacts page")]
    found += [Printed(project.location_url(loc, lang), practice, f"the map link of {loc.id} (cover letters)")
              for loc in project.practice.locations for lang in project.web_languages]
    for procedure in project.procedures.values():
        for lang, edition in procedure.editions.items():
            source = relpath(edition.path, project.root)
            found.append(Printed(procedure.url(lang), source, "the handout's QR code and address"))
            found += [Printed(url, source, "a link in the handout") for section in edition.sections
                      for url in HREF_RE.findall(section.html)]
    for issue_id, html in newsletters.items():
        tree = lxml_html.document_fromstring(html)
        urls = [a.get("href", "") for a in tree.iter("a")] + [img.get("src", "") for img in tree.iter("img")]
        source = f"content/newsletters/{issue_id}.md"
        found += [Printed(url, source, "a link in the newsletter") for url in urls if url.startswith("https://")]
    return list(dict.fromkeys(found))


def url_problems(
    project: Project, newsletters: Mapping[str, str], plan: SitePlan | None = None
) -> list[Problem]:
    """Printed URLs with no page behind them (errors) or on an unlisted site (warnings)."""
    plan = plan or plan_site(project)
    problems = list(plan.problems)
    allowed = tuple(project.practice.external_links)
    for printed in printed_urls(project, newsletters):
        target = plan.target(printed.url)
        if target == "missing" and _missing_picture(project, plan, printed.url):
            continue  # a picture that is not in content/: references.image-missing says so already
        if target == "missing":
            message = f"{printed.url} ({printed.what}) is on your website, but the site has no page there"
            problems.append(Problem(printed.source, message, rule="site.missing-page"))
        elif target == "external" and not printed.url.startswith(allowed):
            message = (f"{printed.url} ({printed.what}) is not on your website ({project.practice.website}) "
                       "and not in external_links in content/practice.yaml")
            problems.append(Problem(printed.source, message, severity="warning", rule="site.external-link"))
    return problems


def _missing_picture(project: Project, plan: SitePlan, url: str) -> bool:
    path = plan.urls.own_path(url) or ""
    return path.lower().endswith(RASTER) and not (project.content_dir / path).is_file()
