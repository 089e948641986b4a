"""The shape of the package: layers whose imports only point down, no cycles, small modules.

Read from the source with ``ast`` (every import, also the lazy ones inside functions), so a
shortcut that works at run time still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "handout_gen"

# Bottom to top. A module may import its own layer's group and any group of a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("handout_gen", "core"),
    ("content",),
    ("render",),
    ("handouts",),
    ("newsletter", "packets"),
    # The site sits below checks and preview, not beside them: `check` resolves every printed
    # URL against the site's plan and the preview serves its pages, and neither may import
    # sideways. It imports newsletter (web copies, tokens) but never packets.
    ("site",),
    ("checks", "scaffold"),
    ("build", "preview"),
    ("cli",),
    ("__main__",),
)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60  # of body, after the signature and docstring


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module: str) -> str:
    """``handout_gen.packets.run`` → ``packets``; the package itself is ``handout_gen``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def rank(module: str) -> int:
    for index, groups in enumerate(LAYERS):
        if group(module) in groups:
            return index
    raise AssertionError(f"{module} is in no layer: add its group to LAYERS in {Path(__file__).name}")


def imports(path: Path) -> set[str]:
    """Every module of the tool and every outside package ``path`` imports, at any depth."""
    found: set[str] = set()
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            if base.startswith("handout_gen"):  # `from handout_gen.checks import pdf` imports a module
                found.update(f"{base}.{a.name}" for a in node.names if module_exists(f"{base}.{a.name}"))
    return found


def module_exists(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {  # a package's __init__ importing its own submodules is no edge to itself
    name: {i for i in imports(path) if i.startswith("handout_gen") and module_exists(i) and i != name}
    for name, path in MODULES.items()
}


def test_the_graph_sees_the_lazy_imports() -> None:
    """The reader finds imports inside functions (the CLI imports every command's library lazily)."""
    assert "handout_gen.packets.run" in GRAPH["handout_gen.cli.packets"]
    assert "handout_gen.newsletter.send" in GRAPH["handout_gen.cli.email"]
    assert len(MODULES) > 40


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_point_down(module: str) -> None:
    wrong = []
    for target in sorted(GRAPH[module]):
        same_group = group(target) == group(module)
        if rank(target) > rank(module) or (rank(target) == rank(module) and not same_group):
            wrong.append(target)
    assert not wrong, f"{module} imports up or sideways: {wrong}"


def test_no_import_cycles() -> None:
    """No strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in GRAPH[node]:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_a_cycle_is_found_when_there_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle check itself can fail: give it a graph with a loop."""
    monkeypatch.setitem(GRAPH, "handout_gen.core.errors", {"handout_gen.cli"})
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycles()


def test_only_the_cli_imports_click() -> None:
    users = sorted(m for m, p in MODULES.items() if any(i.split(".")[0] == "click" for i in imports(p)))
    assert users and all(m.startswith("handout_gen.cli.") for m in users), users


def test_modules_stay_small() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_stay_short() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
                length = (node.end_lineno or node.lineno) - body[0].lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name} ({length} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_an_upward_import_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The direction check itself can fail: let core import the CLI."""
    monkeypatch.setitem(GRAPH, "handout_gen.core.errors", {"handout_gen.cli"})
    with pytest.raises(AssertionError, match="imports up or sideways"):
        test_imports_only_point_down("handout_gen.core.errors")
