"""The package's floor plan: imports run one way, from the command line and the web down
through the pipeline's stages to the shared base, with no cycle and no import inside a
function that the same import at the top of the module would break.

The layers, from the top (see docs/architecture.md):

- ``cli``: the ``coopgraph`` command;
- ``web``: the server (``serve``, ``web/``);
- ``publish``: what is published from the graph: documentation, releases, VoID;
- ``stages``: the pipeline's stages: quality checks, reasoning, the store and its workers;
- ``sparql``: SPARQL text: parsing, the scanner, the guard, the results writers;
- ``graph``: the graph as files: the layout, parsing, sources, the dataset, canonical form;
- ``base``: what every layer shares: names, formats, terms, settings, errors.

A module may import modules of its own layer and of the layers below it. The command
``python -m tests.test_architecture`` prints each module with its layer and imports.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "coopgraph"

#: Layers from the bottom, each with the modules and packages it holds (a package holds its
#: modules; the package ``coopgraph`` itself is only its ``__init__``).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "coopgraph",
            "coopgraph.errors",
            "coopgraph.namespace",
            "coopgraph.formats",
            "coopgraph.terms",
            "coopgraph.settings",
            "coopgraph.atomic",
            "coopgraph.tools",
        ),
    ),
    ("graph", ("coopgraph.graph",)),
    ("sparql", ("coopgraph.sparql",)),
    ("stages", ("coopgraph.quality", "coopgraph.reason", "coopgraph.store")),
    ("publish", ("coopgraph.publish",)),
    ("web", ("coopgraph.web",)),
    ("cli", ("coopgraph.cli", "coopgraph.__main__")),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> str:
    """The layer of ``module``: the most specific entry of :data:`LAYERS` that holds it."""
    best, length = None, -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "coopgraph"
            if (module == prefix or inside) and len(prefix) > length:
                best, length = name, len(prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def imports(known: dict[str, Path]) -> Iterator[Import]:
    """Every import of a coopgraph module by another, resolved to the module imported."""
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        inside = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inside.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            for target in _targets(node, package, known):
                if target != name:
                    yield Import(name, target, node.lineno, id(node) in inside)


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        # ``from coopgraph.store import engine`` imports the module coopgraph.store.engine
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    else:
        return []
    found = []
    for target in names:
        while target not in known and "." in target:
            target = target.rpartition(".")[0]
        if target in known and target.split(".")[0] == "coopgraph":
            found.append(target)
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_imports_run_down_the_layers() -> None:
    wrong = [
        f"{i.importer} ({layer_of(i.importer)}) imports {i.imported} "
        f"({layer_of(i.imported)}), line {i.line}"
        for i in imports(modules())
        if RANK[layer_of(i.imported)] > RANK[layer_of(i.importer)]
    ]
    assert not wrong, "imports that go up the layers:\n" + "\n".join(wrong)


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    """A cycle hidden by an import inside a function is still a cycle: every import counts."""
    edges: dict[str, set[str]] = {}
    for found in imports(modules()):
        edges.setdefault(found.importer, set()).add(found.imported)
    assert cycles(edges) == []


def test_the_architecture_page_names_every_module() -> None:
    """docs/architecture.md maps each module to its layer: none may be missing from it."""
    page = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in page.splitlines() if line.startswith("| "))
    words = set(re.findall(r"`[^`]+`", table))
    missing = sorted(
        name
        for name, path in modules().items()
        if path.name not in ("__init__.py", "__main__.py")
        and not {f"`{'/'.join(name.split('.')[-2:])}`", f"`{name.split('.')[-1]}`"} & words
    )
    assert missing == [], f"modules docs/architecture.md does not name: {missing}"


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The checks above see imports of every form, and a cycle through a function."""
    package = tmp_path / "coopgraph"
    (package / "web").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "web" / "__init__.py").write_text("from . import pages\n")
    (package / "web" / "pages.py").write_text("def f():\n    from coopgraph import errors\n")
    (package / "errors.py").write_text("def g():\n    from coopgraph.web import pages\n")
    known = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(tmp_path).with_suffix("").parts
        known[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found = {(i.importer, i.imported, i.in_function) for i in imports(known)}
    assert found == {
        ("coopgraph.web", "coopgraph.web.pages", False),
        ("coopgraph.web.pages", "coopgraph.errors", True),
        ("coopgraph.errors", "coopgraph.web.pages", True),
    }
    edges: dict[str, set[str]] = {}
    for importer, imported, _ in found:
        edges.setdefault(importer, set()).add(imported)
    assert cycles(edges) == [["coopgraph.errors", "coopgraph.web.pages"]]
    assert RANK[layer_of("coopgraph.web.pages")] > RANK[layer_of("coopgraph.errors")]


def main() -> int:
    """Print each module's layer and what it imports."""
    known = modules()
    by_importer: dict[str, list[Import]] = {}
    for found in imports(known):
        by_importer.setdefault(found.importer, []).append(found)
    for name in sorted(known, key=lambda n: (RANK[layer_of(n)], n)):
        targets = sorted({i.imported for i in by_importer.get(name, [])})
        lines = len(known[name].read_text(encoding="utf-8").splitlines())
        print(f"{layer_of(name):8} {name} ({lines} lines)" + (" -> " if targets else ""), end="")
        print(", ".join(t.removeprefix("coopgraph.") for t in targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
