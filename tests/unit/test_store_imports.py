"""features/store has no import circle: its modules import each other one way only, names.py is a leaf and
the guards are pure (they know the names, not the registry, retrieval or the lake's views)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "features" / "store"


def store_imports() -> dict[str, set[str]]:
    """module -> the features.store modules it imports, anywhere in the file (a function-level import closes a
    circle as surely as a top-level one)."""
    graph = {}
    for path in STORE.glob("*.py"):
        if path.stem == "__init__":
            continue
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("features.store"):
                found.add(node.module.removeprefix("features.store").lstrip(".") or "__init__")
            elif isinstance(node, ast.Import):
                found |= {a.name.removeprefix("features.store.") for a in node.names
                          if a.name.startswith("features.store.")}
        graph[path.stem] = found
    return graph


def test_the_store_modules_form_no_import_circle():
    graph = store_imports()
    assert all("__init__" not in deps for deps in graph.values()), "a store module imports the package itself"
    order, state = [], {}

    def visit(module: str, path: tuple[str, ...]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import circle: {' -> '.join((*path, module))}"
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            visit(dep, (*path, module))
        state[module] = "done"
        order.append(module)

    for module in sorted(graph):
        visit(module, ())
    assert graph["names"] == set() and graph["guards"] == {"names"}
    assert "registry" not in {d for m, deps in graph.items() if m != "registry" for d in deps}  # only re-exports


def test_every_store_module_imports_on_its_own():
    for module in sorted(store_imports()):
        if module != "dataset":  # torch: imported by the model tests
            importlib.import_module(f"features.store.{module}")
