"""Sizes a reader can hold in mind: no module over 400 lines (the generated namespace aside)
and no function over 60 lines, in ``src/`` and ``bench/``.

A function's length runs from its ``def`` line (or its first decorator) to its last line, its
docstring included; a nested function counts inside the one that holds it and on its own.
``python -m tests.test_sizes`` prints the largest modules and functions.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = (ROOT / "src" / "coopgraph", ROOT / "bench")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: Partly written by a generator (``python -m coopgraph.tools.gen_namespace`` writes the
#: ontology's terms into it), so its length follows the ontology's.
GENERATED = {ROOT / "src" / "coopgraph" / "namespace.py"}


def python_files() -> Iterator[Path]:
    for tree in TREES:
        for path in sorted(tree.rglob("*.py")):
            if path not in GENERATED and "__pycache__" not in path.parts:
                yield path


def module_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def functions(path: Path) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function in the file at *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                name = f"{prefix}{child.name}"
                yield name, first, child.end_lineno - first + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def where(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_over_the_limit() -> None:
    long = {where(p): n for p in python_files() if (n := module_lines(p)) > MAX_MODULE_LINES}
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_the_limit() -> None:
    long = {
        f"{where(p)}:{line} {name}": n
        for p in python_files()
        for name, line, n in functions(p)
        if n > MAX_FUNCTION_LINES
    }
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_count_sees_decorators_nesting_and_methods(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    body = "\n".join(f"        x{i} = {i}" for i in range(3))
    source.write_text(
        f"@decorator\ndef outer():\n    def inner():\n{body}\n    return inner\n\n"
        f"class Thing:\n    def method(self):\n        return 1\n",
        encoding="utf-8",
    )
    found = {name: (line, n) for name, line, n in functions(source)}
    assert found == {
        "outer": (1, 7),
        "outer.inner": (3, 4),
        "Thing.method": (10, 2),
    }


def main() -> int:
    print(f"modules over {MAX_MODULE_LINES * 3 // 4} lines:")
    for path in python_files():
        if (n := module_lines(path)) > MAX_MODULE_LINES * 3 // 4:
            print(f"  {n:5d}  {where(path)}")
    print(f"functions over {MAX_FUNCTION_LINES * 3 // 4} lines:")
    for path in python_files():
        for name, line, n in functions(path):
            if n > MAX_FUNCTION_LINES * 3 // 4:
                print(f"  {n:5d}  {where(path)}:{line} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
