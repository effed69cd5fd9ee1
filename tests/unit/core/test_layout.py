"""The engine's layout holds: ``labs/`` imports no Streamlit, ``labs/core`` imports no lab, no two files import each other (directly or
round a longer circle), a lab uses only another lab's public names, and every package says what it holds.

Read from the source with ``ast`` (nothing is imported), so a new lazy import inside a function counts too.
"""
from __future__ import annotations

import ast
from pathlib import Path

LABS = Path(__file__).resolve().parents[3] / "labs"
ROOMS = ("home", "structures", "patterns", "ttl", "eviction", "invalidation", "ai", "workshop")


def _module(path: Path) -> str:
    parts = list(path.relative_to(LABS.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module(p): p for p in LABS.rglob("*.py") if "__pycache__" not in p.parts}


def _imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every ``labs`` import in the file, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.startswith("labs")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("labs"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append((sub, None) if sub in FILES else (node.module, a.name))
    return out


def _file_of(module: str) -> str | None:
    while module and module not in FILES:
        module = module.rpartition(".")[0]
    return module or None


def _edges() -> set[tuple[str, str]]:
    edges = set()
    for mod, path in FILES.items():
        for target, _ in _imports(path):
            dest = _file_of(target)
            if dest and dest not in (mod, "labs"):
                edges.add((mod, dest))
    return edges


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_room_of_the_course_is_a_package_beside_core():
    assert (LABS / "core" / "__init__.py").is_file()
    for room in ROOMS:
        assert (LABS / room / "__init__.py").is_file(), room
    top = sorted(p.name for p in LABS.iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "__main__.py"], f"modules outside a room: {top}"


def test_core_imports_no_lab():
    offending = sorted((a, b) for a, b in _edges() if _room(a) == "core" and _room(b) != "core")
    assert not offending, f"core must stand alone: {offending}"


def test_the_engine_imports_no_streamlit():
    """``labs/`` runs headless (``python -m labs``, the worker pool): Streamlit stays in ``ui/`` and the pages,
    lazy imports inside functions included."""
    offending = []
    for mod, path in FILES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offending += [f"{mod}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert not offending, offending


def test_no_import_circle_between_files():
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_a_lab_uses_only_public_names_of_another_lab():
    private = []
    for mod, path in FILES.items():
        for target, name in _imports(path):
            other = _room(target)
            if name and name.startswith("_") and other not in (_room(mod), "core"):
                private.append(f"{mod} imports {target}.{name}")
    assert not private, private


def test_every_package_says_what_it_holds():
    for init in LABS.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 12, f"{init.relative_to(LABS.parent)} needs a paragraph on what it holds"
