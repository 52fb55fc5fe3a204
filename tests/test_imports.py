"""The import graph of lanl has no circles, function-level imports included (a circle hidden inside a function
is still a circle: the two modules cannot be read, or moved, apart).

An edge A -> B is every ``import``/``from ... import`` of a lanl module anywhere in A's source (``if
TYPE_CHECKING:`` blocks excepted). Importing ``lanl.x.y`` from outside package ``lanl.x`` also runs
``lanl/x/__init__.py``, so it is an edge to ``lanl.x`` too; from inside ``lanl.x`` it is not (the package is
already being imported), nor is ``from lanl.x import submodule`` there.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import lanl

ROOT = Path(lanl.__file__).parent


def modules(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see the module doc for what counts)."""
    mods = modules(root, package)
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_nodes(tree)
        here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        named: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                named.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                named.update(subs)
                if not (mod.startswith(target + ".") and len(subs) == len(node.names)):
                    named.add(target)
        deps = set()
        for name in named:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                inside = mod.startswith(prefix + ".") and i < len(
                    parts
                )  # an enclosing package, not the target
                if prefix in mods and prefix != mod and not inside:
                    deps.add(prefix)
        graph[mod] = deps
    return graph


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return exc.args[1]
    return None


def test_lanl_has_no_import_circle():
    graph = import_graph(ROOT, "lanl")
    assert len(graph) > 50 and "lanl.data.windows" in graph["lanl.distributed"]
    circle = find_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle)


@pytest.mark.parametrize(
    "files, circle",
    [
        (
            {"a.py": "def f():\n    from pkg import b\n", "b.py": "import pkg.a\n"},
            True,
        ),  # hidden in a function
        (
            {
                "sub/__init__.py": "from pkg.sub import x\n",
                "sub/x.py": "from pkg.sub import y\n",
                "sub/y.py": "",
            },
            False,
        ),
        (
            {"sub/__init__.py": "from pkg.sub.x import f\n", "sub/x.py": "", "c.py": "import pkg.sub.x\n"},
            False,
        ),
        ({"sub/__init__.py": "import pkg.c\n", "sub/x.py": "", "c.py": "from pkg.sub.x import f\n"}, True),
        ({"a.py": "from . import b\n", "b.py": "from .a import f\n"}, True),
        (
            {
                "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.b\n",
                "b.py": "import pkg.a\n",
            },
            False,
        ),
    ],
)
def test_the_circle_finder_sees_circles(tmp_path, files, circle):
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    found = find_circle(import_graph(tmp_path / "pkg", "pkg"))
    assert (found is not None) == circle, found


def test_function_level_imports_of_lanl_say_why():
    """Outside the CLI (whose commands import their work when run, to start fast), a module's lanl imports
    sit at its top; the few inside a function (an optional or slow package behind them) carry a comment on
    their line or the line above."""
    bare = []
    for mod, path in modules(ROOT, "lanl").items():
        if mod.startswith("lanl.commands"):
            continue
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                lanl_import = (
                    isinstance(node, ast.ImportFrom)
                    and (node.level or (node.module or "").startswith("lanl"))
                ) or (isinstance(node, ast.Import) and any(a.name.startswith("lanl") for a in node.names))
                if not lanl_import:
                    continue
                said = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
                if not said:
                    bare.append(
                        f"{path.relative_to(ROOT.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
                    )
    assert not bare, "function-level lanl imports without a reason:\n" + "\n".join(sorted(set(bare)))
