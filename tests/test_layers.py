"""The package's shape (docs/ARCHITECTURE.md), checked on the source with ``ast``:
imports only go downward through the layers, there is no import cycle, no function is
longer than 60 lines, and no test imports a private name of ``qa``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qa"

#: lowest first; a module may import only from its own layer or a lower one.
LAYERS = (
    ("qa.config", "qa.errors", "qa.schema", "qa.atomic", "qa.models"),
    ("qa.text",),
    ("qa.index",),
    ("qa.answer",),
    ("qa.assistant", "qa"),  # the package itself: its lazy load_assistant is the assistant's
    ("qa.evaluation", "qa.bench", "qa.feedback", "qa.web"),
    ("qa.cli", "qa.__main__"),
)


def layer_of(module: str) -> int:
    """The layer of ``module``: the longest listed prefix wins (qa.text.spans → qa.text)."""
    best, rank = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            inside = module.startswith(name + ".") and name != "qa"  # "qa" is __init__ only
            if (module == name or inside) and len(name) > best:
                best, rank = len(name), i
    if rank < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return rank


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text("utf-8"), str(p))
            for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (annotations, not run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    return out


def imports(tree: ast.Module, known: set[str]) -> set[str]:
    """The qa modules a module imports (at run time, anywhere in it)."""
    skip = _type_checking_only(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "qa")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "qa":
                continue
            for alias in node.names:  # `from qa.answer import extract` imports qa.answer.extract
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return out


def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: imports(tree, known) for name, tree in trees.items()}


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} imports {b}" for a, targets in edges.items() for b in targets
                  if layer_of(b) > layer_of(a))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (one per back edge)."""
    found, state = [], dict.fromkeys(edges, 0)

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt == node or nxt not in state:
                continue
            if state[nxt] == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif state[nxt] == 0:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if state[start] == 0:
            visit(start, [start])
    return found


def test_every_module_imports_only_its_own_layer_or_lower():
    assert upward(graph()) == []


def test_the_index_never_imports_answering_code():
    edges = graph()
    index = [m for m in edges if m.startswith("qa.index")]
    assert index and not [m for m in index for t in edges[m] if t.startswith("qa.answer")]


def test_there_is_no_import_cycle():
    # the package's own __init__ re-exports from below it; a package importing its own
    # submodules is not a cycle of the design
    edges = {a: {b for b in t if not a.startswith(b + ".") and a != b}
             for a, t in graph().items()}
    assert cycles(edges) == []


def test_the_checks_can_fail():
    """The checks above on made-up graphs: an upward import and a cycle are found."""
    assert upward({"qa.text.spans": {"qa.answer.extract"}}) == [
        "qa.text.spans imports qa.answer.extract"]
    assert upward({"qa.answer.extract": {"qa.text.spans"}}) == []
    assert cycles({"qa.a": {"qa.b"}, "qa.b": {"qa.a"}}) == [["qa.a", "qa.b", "qa.a"]]
    with pytest.raises(AssertionError):
        layer_of("qa.nowhere")
    tree = ast.parse("from qa.answer import extract\nimport qa.index.store\n")
    assert imports(tree, {"qa.answer.extract"}) == {"qa.answer.extract", "qa.index.store"}


def test_no_module_shadows_the_standard_library():
    import sys

    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not names & set(sys.stdlib_module_names) - {"__init__", "__main__"}


def long_functions(trees: dict[str, ast.Module], limit: int = 60) -> list[str]:
    out = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    out.append(f"{name}.{node.name}: {length} lines")
    return sorted(out)


def test_no_function_is_longer_than_60_lines():
    assert long_functions(modules()) == []
    assert long_functions({"m": ast.parse("def f():\n" + "    x = 1\n" * 60)}) == [
        "m.f: 61 lines"]


def test_no_test_imports_a_private_name_of_qa():
    private = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa"):
                private += [f"{path.name}: {a.name}" for a in node.names
                            if a.name.startswith("_")]
    assert private == []


def test_the_assistant_is_wiring_only():
    assert len((PACKAGE / "assistant.py").read_text("utf-8").splitlines()) <= 120
