"""Every web address the demo outputs print resolves to a file of the built site.

What ``make demo`` makes (every handout, the sample roster's packets, the newsletter, the site)
is made here from the fixture practice, and the addresses are read back from the outputs
themselves, not from the data they came from: the PDFs' link annotations and printed text,
the QR codes (the cover letter's is decoded from the PNG inside the packet PDF; a handout's
is an SVG drawn as vectors, so its payload is compared in the HTML the PDF was laid out
from), and the newsletter's HTML and text parts.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pikepdf
import pytest
import segno
from lxml import html as lxml_html
from PIL import Image

from handout_gen.build import build
from handout_gen.content.project import load_project
from handout_gen.handouts import handout_html, planned_handouts
from handout_gen.packets.run import RunOptions, run_packets
from handout_gen.render.context import qr_data_uri
from handout_gen.site.build import build_site
from handout_gen.site.urls import SiteUrls, file_for
from tests.conftest import copy_warm

from .pdfutil import pdf_links, pdf_text

pytestmark = [pytest.mark.slow, pytest.mark.no_cover]
ROSTER = Path("content/rosters/sample-roster.csv")
TEXT_URL_RE = re.compile(r"(?:https://)?www\.example\.org/[A-Za-z0-9/._?=&%-]*")
WRAP_RE = re.compile(r"(?<=[-/]) (?=[a-z0-9])")  # slugs are lower case; the next sentence is not
QR_SCALE, QR_BORDER = 6, 2  # render.context.qr_png_uri


def printed_text_urls(text: str) -> set[str]:
    """Addresses printed as text ("www.example.org/procedures/radiofrequency-ablation")."""
    text = WRAP_RE.sub("", text)  # a long address wraps after a hyphen or a slash
    return {u if u.startswith("https://") else "https://" + u for u in TEXT_URL_RE.findall(text)}


def qr_matrix(image: Image.Image) -> list[list[bool]] | None:
    """The dark modules of a QR code drawn at QR_SCALE with a QR_BORDER quiet zone."""
    modules = image.width // QR_SCALE - 2 * QR_BORDER
    if image.width != image.height or image.width % QR_SCALE or modules < 21:
        return None
    grey = image.convert("L")
    centre = QR_SCALE // 2
    return [[grey.getpixel(((QR_BORDER + x) * QR_SCALE + centre, (QR_BORDER + y) * QR_SCALE + centre)) < 128
             for x in range(modules)] for y in range(modules)]


def decode_qr(matrix: list[list[bool]], candidates: set[str]) -> str | None:
    """The candidate whose QR code (as the tool makes it) has exactly these modules."""
    for url in sorted(candidates):
        if [[bool(m) for m in row] for row in segno.make(url, error="m").matrix] == matrix:
            return url
    return None


def test_every_printed_url_resolves_to_a_file_of_the_site(tmp_path: Path, warm_practice: Path) -> None:
    root = copy_warm(tmp_path / "demo", warm_practice)
    project = load_project(root)
    build(project)
    options = RunOptions(out_root=root / "output" / "packets", workers=1, today=date(2026, 11, 24))
    run_packets(project, root / ROSTER, options)
    build_site(project)
    output, site = root / "output", root / "output" / "site"
    printed: dict[str, set[str]] = {}

    def found(urls: set[str] | list[str], where: str) -> None:
        for url in urls:
            if url.startswith("https://"):
                printed.setdefault(url, set()).add(where)

    for pdf in sorted((output / "handouts").glob("*.pdf")):
        data = pdf.read_bytes()
        found(pdf_links(data), pdf.name)
        found(printed_text_urls(pdf_text(data)), pdf.name)
    qr_codes, maps_seen = 0, set()
    for pdf in sorted((output / "packets").glob("*/packet_*.pdf")):
        data = pdf.read_bytes()
        found(pdf_links(data), "a packet")
        found(printed_text_urls(pdf_text(data)), "a packet")
        with pikepdf.open(io.BytesIO(data)) as document:
            for page in document.pages:
                for image in page.get_images().values():
                    matrix = qr_matrix(pikepdf.PdfImage(image).as_pil_image())
                    if matrix is not None:
                        maps = {  # the clinic's page in the reader's language
                            project.location_url(loc, lang)
                            for loc in project.practice.locations
                            for lang in project.web_languages
                        }
                        decoded = decode_qr(matrix, maps)
                        assert decoded is not None, f"a QR code in {pdf.name} encodes no map link"
                        found([decoded], "a packet's QR code")
                        maps_seen.add(decoded)
                        qr_codes += 1
    assert qr_codes == 7  # one map QR code on each sample packet's cover letter
    # the Spanish sample packets (Orchard Way, Riverside) open the clinic's Spanish page
    assert {f"https://www.example.org/locations/{loc}/es/" for loc in ("orchard", "riverside")} <= maps_seen
    for procedure, variant in planned_handouts(project):  # the handouts' QR codes, in their HTML
        page = handout_html(project, procedure, variant)
        url = procedure.url(variant.lang)
        assert qr_data_uri(url, project.practice.colors.text) in page
        found([url], f"the QR code of {variant.filename(procedure.slug)}")
    issue = output / "newsletters" / "2026-12"
    for name in ("email.html", "browser.html"):
        tree = lxml_html.document_fromstring((issue / name).read_bytes())
        found([a.get("href", "") for a in tree.iter("a")], name)
        found([img.get("src", "") for img in tree.iter("img")], name)
    # the text part writes a link out as "label (url)", and may end a sentence with one
    found([u.rstrip(".,;:") for u in re.findall(r"https://[^\s()]+", (issue / "email.txt").read_text())],
          "email.txt")

    urls = SiteUrls.for_practice(project.practice)
    missing = {url: sorted(where) for url, where in printed.items()
               if (path := urls.own_path(url)) is None or not (site / file_for(path)).is_file()}
    assert missing == {}
    paths = {urls.own_path(url) for url in printed}
    assert {"", "procedures/radiofrequency-ablation/", "procedures/radiofrequency-ablation/es/",
            "locations/", "locations/orchard/", "locations/riverside/", "newsletters/2026-12/",
            "email/unsubscribe/", "email/preferences/", "assets/logo.png",
            "assets/images/newsletter-2026-12-hero.png"} <= paths
