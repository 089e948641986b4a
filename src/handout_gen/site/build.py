"""``handout-gen site``: every page and file of the site into ``output/site/``, unchanged ones skipped.

Staged like the rest of the tool: plan (content only), make every changed output in memory (a
template error stops the build before a file is written), then write. Each output has a key
made from the inputs it shows, kept in ``output/.handout-gen/site.json`` like the handouts'
manifest, so a rebuild with nothing changed hashes files and writes nothing. Files an earlier
build wrote that the plan no longer has (a deleted procedure's page) are removed; nothing else
in ``output/site/`` is touched.

The handout PDFs the procedure pages link to are built first (``build_handouts`` skips the
unchanged ones) and copied, so ``output/site/`` can be uploaded as it is.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

from handout_gen.content.project import Project
from handout_gen.core.errors import ValidationFailed
from handout_gen.core.files import BuildReport, Manifest, digest_of, safe_join, write_file
from handout_gen.handouts import build_handouts, handout_key
from handout_gen.newsletter.render import issue_key
from handout_gen.render.logo import logo_png
from handout_gen.site.pages import SitePages
from handout_gen.site.plan import FONT_FACES, STYLESHEET, Download, SitePlan, font_file, font_path, plan_site
from handout_gen.site.urls import file_for

SITE_DIR = "site"


@cache  # the bundled faces never change while a process runs; compressing all four takes 0.5 s
def woff2(face: str) -> bytes:
    """An Atkinson Hyperlegible face as WOFF2 (about 45 % of the TTF), the same bytes every time."""
    from fontTools.ttLib import TTFont

    font = TTFont(font_file(face), recalcTimestamp=False)
    font.flavor = "woff2"
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Output:
    """One file of the site: where it goes, the key of its inputs, how to make it."""

    path: str  # relative to output/site/
    key: str
    make: Callable[[], bytes]


def site_outputs(plan: SitePlan, pages: SitePages, pdf: Callable[[Download], bytes]) -> list[Output]:
    """Every output of ``plan`` with its key (hashing only: nothing is rendered here)."""
    project = plan.project
    shared = digest_of(project.shared_digest, project.recipe_digest)
    editions = [e for slug in sorted(project.procedures) for e in project.procedures[slug].editions.values()]
    procedures = digest_of(*(e.digest for e in editions))
    folder = project.content_dir / "newsletters"
    issue_files = digest_of(*((folder / f"{p.key}.md").read_bytes() for p in plan.of_kind("issue")))

    def listed(lang: str) -> str:
        """What a list of procedures in ``lang`` shows: each one's edition in ``lang`` (else the
        original) and the languages it has, so an edit rewrites only the lists that show it."""
        return digest_of(*(f"{p.edition(lang).digest}/{','.join(p.languages)}"
                           for p in (project.procedures[slug] for slug in sorted(project.procedures))))

    depends: dict[str, Callable[[str], str]] = {
        "home": lambda lang: digest_of(shared, listed(lang), issue_files),
        "procedures": lambda lang: digest_of(shared, listed(lang)),
        "sitemap": lambda _lang: digest_of(shared, procedures, issue_files),
        "archive": lambda _lang: digest_of(shared, issue_files),
        "feed": lambda _lang: digest_of(shared, issue_files),
    }
    outputs = []
    for page in plan.pages.values():
        if page.kind == "procedure":
            procedure = project.procedure(page.key)
            key = digest_of(shared, *(e.digest for e in procedure.editions.values()),
                          *(handout_key(project, d.procedure, d.variant) for d in plan.downloads.values()
                            if d.procedure.slug == page.key))
        elif page.kind == "issue":
            key = issue_key(project, page.key, page.lang)
        else:
            key = depends[page.kind](page.lang) if page.kind in depends else shared
        outputs.append(Output(file_for(page.path), digest_of(key, page.path), partial(pages.render, page)))
    outputs.append(Output(STYLESHEET, digest_of(shared, "css"), lambda: pages.stylesheet().encode()))
    for face in FONT_FACES:
        outputs.append(Output(font_path(face), digest_of(font_file(face).read_bytes()), partial(woff2, face)))
    outputs.append(Output(plan.logo.src, digest_of(shared, "logo"), partial(logo_png, project)))
    for path, file in plan.images.items():
        outputs.append(Output(path, digest_of(file.read_bytes()), file.read_bytes))
    for path, download in plan.downloads.items():
        key = handout_key(project, download.procedure, download.variant)
        outputs.append(Output(path, key, partial(pdf, download)))
    return outputs


@dataclass
class SiteReport:
    """What ``build_site`` did: the handouts it brought up to date, and the site's files."""

    handouts: BuildReport
    site: BuildReport
    removed: list[Path] = field(default_factory=list)
    folder: Path = Path()
    largest_page: tuple[str, int] = ("", 0)  # path relative to output/site/, bytes

    def summary(self, root: Path) -> list[str]:
        """What ``handout-gen site`` prints."""
        removed = f", {len(self.removed)} removed" if self.removed else ""
        page, size = self.largest_page
        return [
            f"handouts: {len(self.handouts.written)} written, {len(self.handouts.skipped)} unchanged",
            f"site: {len(self.site.written)} written, {len(self.site.skipped)} unchanged{removed} "
            f"in {self.folder.relative_to(root)}/",
            f"largest page: {page} ({size:,} bytes)",
        ]


def _remove_orphans(out_dir: Path, manifest: Manifest, keep: set[str]) -> list[Path]:
    out_dir = out_dir.resolve()
    removed = []
    for name in sorted(set(manifest.keys) - keep):
        path = safe_join(out_dir, name)
        if path.is_file():
            path.unlink()
            removed.append(path)
        manifest.forget(name)
        for folder in path.parents:  # folders left empty by the removal
            if folder == out_dir or out_dir not in folder.parents or any(folder.iterdir()):
                break
            folder.rmdir()
    return removed


def build_site(project: Project, *, force: bool = False,
               progress: Callable[[Path], None] | None = None, workers: int = 1) -> SiteReport:
    """Build (or update) ``output/site/``; raise before writing if any page cannot be made.
    Stale handout PDFs are built first, over ``workers`` processes (0: every core)."""
    plan = plan_site(project)
    if plan.problems:
        raise ValidationFailed(plan.problems, "the site")
    handouts = build_handouts(project, progress=progress, workers=workers)
    handouts_dir = project.output_dir / "handouts"
    sizes = {path: (handouts_dir / d.variant.filename(d.procedure.slug)).stat().st_size
             for path, d in plan.downloads.items()}
    pages = SitePages(plan, sizes=sizes)
    def pdf(download: Download) -> bytes:
        return (handouts_dir / download.variant.filename(download.procedure.slug)).read_bytes()

    outputs = site_outputs(plan, pages, pdf)
    out_dir = project.output_dir / SITE_DIR
    manifest = Manifest(project.output_dir, SITE_DIR)
    stale = [o for o in outputs if force or not manifest.unchanged(o.path, o.key, out_dir / o.path)]
    made = [(output, output.make()) for output in stale]  # everything renders before anything is written
    report = SiteReport(handouts, BuildReport(), folder=out_dir)
    for output, data in made:
        target = write_file(out_dir / output.path, data, root=out_dir)
        manifest.record(output.path, output.key, target)
        report.site.written.append(target)
        if progress:
            progress(target)
    fresh = {o.path for o, _ in made}
    report.site.skipped = [out_dir / o.path for o in outputs if o.path not in fresh]
    report.removed = _remove_orphans(out_dir, manifest, {o.path for o in outputs})
    html = [file_for(p) for p in plan.pages if file_for(p).endswith(".html")]
    report.largest_page = max(((name, (out_dir / name).stat().st_size) for name in html),
                              key=lambda item: item[1], default=("", 0))
    return report
