"""The one Jinja environment: search order, default: prefix, strictness, escaping."""

from __future__ import annotations

from pathlib import Path

import pytest

from handout_gen.content.project import load_project
from handout_gen.core.errors import TemplateError
from handout_gen.core.paths import BUILTIN_TEMPLATES
from handout_gen.handouts import Variant, handout_html
from handout_gen.render.jinja import make_env, render


def test_project_template_overrides_builtin_and_can_extend_default(sample_project: Path) -> None:
    templates = sample_project / "templates"
    templates.mkdir(exist_ok=True)
    override = templates / "handout.html.j2"
    override.write_text(
        '{% extends "default:handout.html.j2" %}'
        "{% block disclaimer %}<p>Our own closing words.</p>{% endblock %}"
    )
    env = make_env(templates)
    assert env.get_template("handout.html.j2").filename == str(override)
    assert env.get_template("default:handout.html.j2").filename == str(BUILTIN_TEMPLATES / "handout.html.j2")
    project = load_project(sample_project)
    html = handout_html(project, project.procedure("prp-injection"), Variant(), env)
    assert "Our own closing words." in html
    assert "does not replace advice from your care team" not in html
    assert "What it is" in html  # everything else still comes from the built-in


def test_undefined_variable_is_an_error_not_a_blank(tmp_path: Path) -> None:
    (tmp_path / "broken.html.j2").write_text("<p>{{ patient.first_name }}</p>")
    with pytest.raises(TemplateError, match="template 'broken.html.j2:1': 'patient' is undefined"):
        render(make_env(tmp_path), "broken.html.j2")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.html.j2").write_text("<p>\n{% if %}</p>")
    with pytest.raises(TemplateError, match=r"bad.html.j2:2: template syntax error"):
        render(make_env(tmp_path), "bad.html.j2")


def test_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="template 'nope.html.j2' not found"):
        render(make_env(tmp_path), "nope.html.j2")


def test_html_is_escaped_but_text_templates_are_not(tmp_path: Path) -> None:
    (tmp_path / "a.html.j2").write_text("{{ value }}")
    (tmp_path / "a.txt.j2").write_text("{{ value }}")
    env = make_env(tmp_path)
    assert render(env, "a.html.j2", value="<b>&") == "&lt;b&gt;&amp;"
    assert render(env, "a.txt.j2", value="<b>&") == "<b>&"


def test_spanish_strings_dates_and_font_safe_times(tmp_path: Path) -> None:
    from datetime import date, time

    (tmp_path / "t.html.j2").write_text("{{ _('Key points') }}|{{ day|long_date }}|{{ at|clock }}")
    env = make_env(tmp_path)
    english = render(env, "t.html.j2", lang="en", day=date(2026, 12, 1), at=time(8, 30))
    spanish = render(env, "t.html.j2", lang="es", day=date(2026, 12, 1), at=time(8, 30))
    assert english == "Key points|Tuesday, December 1, 2026|8:30\u00a0AM"
    assert spanish.startswith("Puntos clave|martes, 1 de diciembre de 2026|8:30")
    assert "\u202f" not in english + spanish  # the font has no narrow no-break space


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<p>\n{{ 1 / 0 }}</p>", r"template 'boom.html.j2:2' failed: ZeroDivisionError"),
        ("{{ 'x'|truncate('long') }}", r"template 'boom.html.j2:1' failed: TypeError"),
        ("<p>\n\n{{ missing.key }}</p>", r"template 'boom.html.j2:3': 'missing' is undefined"),
    ],
)
def test_runtime_errors_in_templates_name_file_and_line(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "boom.html.j2").write_text(source)
    with pytest.raises(TemplateError, match=message):
        render(make_env(tmp_path), "boom.html.j2")


def test_a_template_that_is_not_utf8_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "latin.html.j2").write_bytes(b"\xff\xfe<p>caf\xe9</p>")
    with pytest.raises(TemplateError, match="template 'latin.html.j2' .*is not UTF-8 text"):
        render(make_env(tmp_path), "latin.html.j2")
