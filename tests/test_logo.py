"""The screen logo (render/logo.py): a PNG made from the SVG, or the practice's own raster file."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from handout_gen.content.project import load_project
from handout_gen.render.logo import logo_png, web_logo


def test_png_is_rendered_from_the_svg_at_twice_the_shown_size(sample_project: Path) -> None:
    project = load_project(sample_project)
    logo = web_logo(project)
    assert (logo.src, logo.width, logo.height, logo.rendered) == ("assets/logo.png", 48, 48, True)
    data = logo_png(project)
    assert data == logo_png(project)  # the same logo, the same bytes
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (96, 96), "RGBA")
        assert image.getpixel((0, 0))[3] == 0  # transparent outside the circle
        assert image.getpixel((9, 48))[:3] == (0x1B, 0x49, 0x65)  # the brand blue of the SVG's circle


def test_a_png_next_to_the_svg_is_used_as_it_is(sample_project: Path) -> None:
    own = sample_project / "content" / "assets" / "logo.png"
    Image.new("RGB", (300, 100), (27, 73, 101)).save(own)
    project = load_project(sample_project)
    logo = web_logo(project)
    assert (logo.src, logo.width, logo.height, logo.rendered) == ("assets/logo.png", 144, 48, False)
    assert logo_png(project) == own.read_bytes()


def test_a_raster_logo_is_its_own_screen_logo(sample_project: Path) -> None:
    Image.new("RGB", (64, 32), (27, 73, 101)).save(sample_project / "content" / "assets" / "mark.jpg")
    practice = sample_project / "content" / "practice.yaml"
    practice.write_text(practice.read_text().replace("logo: assets/logo.svg", "logo: assets/mark.jpg"))
    logo = web_logo(load_project(sample_project))
    assert (logo.src, logo.width, logo.height, logo.rendered) == ("assets/mark.jpg", 96, 48, False)
