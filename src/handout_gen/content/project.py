"""A project folder: practice.yaml, procedures and recipes, read and validated in one go.

Following mkdocs and Pelican, everything is read and checked before anything is
rendered, and every problem is reported together (:class:`ValidationFailed`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from handout_gen.content.languages import (
    LANGUAGES_FILE,
    LanguageHelp,
    LanguageSetup,
    load_languages,
    unknown_language,
)
from handout_gen.content.procedures import Procedure, edition_url, load_procedures
from handout_gen.content.schema import Location, Practice, Slug, Strict
from handout_gen.content.values import practice_values
from handout_gen.content.yamlfile import load_model
from handout_gen.core.errors import ConfigError, Problem, UnknownItemError, ValidationFailed, relpath
from handout_gen.core.files import inside
from handout_gen.core.languages import ORIGINAL, Languages
from handout_gen.core.paths import BUILTIN_TEMPLATES, LOCALE_DIR

CATALOG_DIR = "locale"  # content/locale/<lang>.po: a project's page-furniture words


class HandoutRecipe(Strict):
    """``handouts/handouts.yaml``: which procedures become handouts, in which variants."""

    template: str = "handout.html.j2"
    procedures: Literal["all"] | Annotated[list[Slug], Field(min_length=1)] = "all"
    languages: list[str] | None = None  # default: every language the project declares
    large_print: list[bool] = Field(default_factory=lambda: [False, True])


@dataclass
class Project:
    """Everything the renderers need, already validated.

    ``procedures`` holds the procedures that loaded cleanly; ``broken`` the problems of each
    one that did not, so a typo in one file blocks only the outputs made from it.
    """

    root: Path
    practice: Practice
    procedures: dict[str, Procedure]
    recipe: HandoutRecipe
    broken: dict[str, list[Problem]] = field(default_factory=dict)
    setup: LanguageSetup = field(default_factory=LanguageSetup)
    warnings: list[Problem] = field(default_factory=list)  # e.g. an edition in an undeclared language

    @property
    def languages(self) -> Languages:
        return self.setup.languages

    @property
    def language_help(self) -> LanguageHelp:
        return self.setup.help

    @property
    def handout_languages(self) -> list[str]:
        """The languages ``build`` makes handouts in (the recipe's list, else every one)."""
        return list(self.recipe.languages) if self.recipe.languages else list(self.languages.codes)

    @property
    def catalog_dir(self) -> Path:
        return self.content_dir / CATALOG_DIR

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the procedures left out, in file order."""
        return [p for slug in sorted(self.broken) for p in self.broken[slug]]

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def handouts_dir(self) -> Path:
        return self.root / "handouts"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def recipe_path(self) -> Path:
        return self.handouts_dir / "handouts.yaml"

    @cached_property
    def recipe_digest(self) -> str:
        """Hash of the handout recipe: which handouts exist (the site's lists depend on it)."""
        return hashlib.sha256(self.recipe.model_dump_json().encode()).hexdigest()

    @property
    def logo_path(self) -> Path:
        return self.content_dir / self.practice.logo

    @cached_property
    def web_languages(self) -> tuple[str, ...]:
        """Languages the site has pages in: the original and every language of an edition."""
        found = {lang for procedure in self.procedures.values() for lang in procedure.languages}
        return tuple(lang for lang in self.languages.codes if lang == ORIGINAL or lang in found)

    def home_url(self, lang: str) -> str:
        """The site's home page for a reader of ``lang``: its own language's, when the site
        makes one (beside the original, as for procedures)."""
        if lang == ORIGINAL or lang not in self.web_languages:
            return self.practice.website
        return edition_url(self.practice.website, lang)

    def location_url(self, location: Location, lang: str) -> str:
        """The page a reader of ``lang`` opens for a clinic (its map link and QR code): the
        site's page in ``lang`` (next to the original, as for procedures) when the site makes
        one, else ``map_url`` itself (an address off the site is printed as it is)."""
        on_site = location.map_url.startswith(self.practice.website.rstrip("/") + "/")
        if lang == ORIGINAL or lang not in self.web_languages or not on_site:
            return location.map_url
        return edition_url(location.map_url, lang)

    def procedure(self, slug: str) -> Procedure:
        """Look up a procedure; an unknown slug names the known ones, a broken one its problems."""
        if slug in self.broken:
            raise ValidationFailed(self.broken[slug], f"the files of procedure '{slug}'")
        try:
            return self.procedures[slug]
        except KeyError:
            known = ", ".join(sorted(self.procedures)) or "none"
            msg = f"no procedure '{slug}' in content/procedures/ (known: {known})"
            raise UnknownItemError(msg) from None

    def selected_slugs(self) -> list[str]:
        """Slugs the handout recipe asks for, in a stable order, broken ones included."""
        if self.recipe.procedures == "all":
            return sorted({*self.procedures, *self.broken})
        return list(self.recipe.procedures)

    def selected_procedures(self) -> list[Procedure]:
        """Procedures the handout recipe asks for that loaded cleanly, in a stable order."""
        return [self.procedures[s] for s in self.selected_slugs() if s in self.procedures]

    @cached_property
    def shared_digest(self) -> str:
        """Hash of everything every output depends on besides its own content file.

        practice.yaml, the logo and images, every template (project and built-in), the packet
        recipe, the handout template named in the handout recipe (not its choice of procedures,
        languages and sizes: adding a procedure to it builds only that one) and the package
        version: a change to any of them rebuilds everything.
        """
        from handout_gen import __version__

        digest = hashlib.sha256(f"{__version__}\0{self.recipe.template}".encode())
        files = [self.content_dir / "practice.yaml", self.content_dir / LANGUAGES_FILE, self.logo_path]
        for folder in (self.templates_dir, BUILTIN_TEMPLATES, self.handouts_dir, self.content_dir / "assets",
                       self.catalog_dir):
            if folder.is_dir():
                files += sorted(p for p in folder.rglob("*") if p.is_file() and p != self.recipe_path)
        if LOCALE_DIR.is_dir():
            files += sorted(LOCALE_DIR.rglob("*.po"))
        for path in files:  # named relative to where it lives: a moved or copied project keeps its keys
            digest.update(_label(path, self.root).encode() + b"\0")
            if path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()


def find_project_root(start: Path) -> Path:
    """The project is the folder holding content/practice.yaml."""
    root = start.resolve()
    if not (root / "content" / "practice.yaml").is_file():
        msg = (
            f"{start} is not a handout-gen project (no content/practice.yaml); "
            "use --project DIR or create one with 'handout-gen init DIR'"
        )
        raise ConfigError(msg)
    return root


def load_practice(root: Path) -> tuple[Practice | None, list[Problem]]:
    path = root / "content" / "practice.yaml"
    source = relpath(path, root)
    practice, key_lines, problems = load_model(path, Practice, root)
    if practice is None:
        return None, problems
    logo = (root / "content" / practice.logo).resolve()
    if not logo.is_file() or (root / "content").resolve() not in logo.parents:
        problems.append(Problem(
            source, f"logo file '{practice.logo}' not found inside content/",
            key_lines.get(("logo",)), "logo", rule="references.image-missing",
        ))
    for group, ids in (
        ("locations", [loc.id for loc in practice.locations]),
        ("physicians", [doc.id for doc in practice.physicians]),
    ):
        for index, item_id in enumerate(ids):
            if item_id in ids[:index]:
                key = (group, index, "id")
                problems.append(Problem(
                    source, f"duplicate id '{item_id}'", key_lines.get(key), f"{group}.{index}.id"
                ))
    return practice, problems


def _load_recipe(
    root: Path, procedures: set[str], languages: Languages
) -> tuple[HandoutRecipe | None, list[Problem]]:
    path = root / "handouts" / "handouts.yaml"
    if not path.is_file():
        return HandoutRecipe(), []
    source = relpath(path, root)
    recipe, lines, problems = load_model(path, HandoutRecipe, root)
    for index, code in enumerate(recipe.languages or [] if recipe else []):
        if code not in languages:
            where = lines.get(("languages", index)) or lines.get(("languages",))
            problems.append(Problem(source, unknown_language(code, languages), where, "languages",
                                    rule="references.unknown-language"))
    if recipe is not None and recipe.procedures != "all":
        for slug in recipe.procedures:
            if slug not in procedures:
                message = f"unknown procedure '{slug}'"
                problems.append(Problem(source, message, None, "procedures", rule="references.unknown-slug"))
    return recipe, problems


PROJECT_FOLDERS = ("content", "content/procedures", "content/newsletters", "content/locale", "content/assets",
                   "templates", "handouts")


def outside_files(root: Path) -> list[Problem]:
    """The project's folders that resolve outside it, and files in the shared folders
    (templates, recipes, assets) that resolve outside them.

    Every output may use these folders, so such a file is a problem for the whole project;
    it is named and never opened or hashed.
    """
    problems = []
    for name in PROJECT_FOLDERS:  # a folder that is a link to one elsewhere: all of it is outside
        if (root / name).exists() and not inside(root / name, root):
            message = "resolves outside the project (a link to a folder elsewhere); use a real folder"
            problems.append(Problem(name, message, rule="references.outside"))
    if problems:
        return problems
    for folder in (root / "templates", root / "handouts", root / "content" / "assets"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_symlink() and not inside(path, folder):
                    message = f"resolves outside {relpath(folder, root)}/ (a link to a file elsewhere)"
                    problems.append(Problem(relpath(path, root), message, rule="references.outside"))
    return problems


def load_project(start: Path) -> Project:
    """Read and validate the project.

    Problems every output depends on (practice.yaml, the handout recipe, the shared folders)
    raise :class:`ValidationFailed` listing all of them; a procedure with problems is left
    out and its problems kept in :attr:`Project.broken`.
    """
    root = find_project_root(start)
    outside = outside_files(root)
    if outside:  # nothing behind a link to a folder elsewhere is read, not even to name its problems
        raise ValidationFailed(outside, "the project")
    practice, problems = load_practice(root)
    setup, found = load_languages(root / "content", root)
    problems += found
    values = practice_values(practice) if practice is not None else None
    loaded = load_procedures(root / "content", root, setup.languages, values)
    problems += loaded.problems
    recipe, found = _load_recipe(root, {*loaded.procedures, *loaded.broken}, setup.languages)
    problems += found
    errors = [p for p in problems if p.severity == "error"]
    if errors or practice is None or recipe is None:
        raise ValidationFailed(errors or problems, "the project")
    project = Project(root, practice, loaded.procedures, recipe, loaded.broken, setup)
    project.warnings = [p for p in problems if p.severity == "warning"]
    return project


def _label(path: Path, root: Path) -> str:
    """A file's name in the digest: relative to the project, or to the package for built-ins."""
    for base, prefix in ((root, ""), (BUILTIN_TEMPLATES, "builtin:"), (LOCALE_DIR, "locale:")):
        if path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return path.as_posix()
