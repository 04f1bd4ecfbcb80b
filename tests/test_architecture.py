"""The package's shape: no import cycles, small modules and functions, a light `import thermocad`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import thermocad

PACKAGE = Path(thermocad.__file__).parent
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
# A module or function may be longer where a comment says why: `# size: <reason>` on the
# line of its `def` or just above it (a function), or anywhere in its first 10 lines (a module).
SIZE_MARKER = "# size:"


def _modules() -> dict[str, Path]:
    """thermocad module name -> file, for every .py file of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(name: str, tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The thermocad modules a module imports, at module level or inside functions."""
    package = name if modules[name].name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from thermocad.x import y` imports module x.y when y is a module, else x.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]  # fmt: skip
        else:
            continue
        out |= {t for t in targets if t in modules and t != name}
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: _imported(name, ast.parse(path.read_text()), modules)
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search with colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_import_graph_resolves_function_level_and_from_imports():
    graph = import_graph()
    # cli/train.py imports the library only inside its handlers.
    assert "thermocad.training.run" in graph["thermocad.cli.train"]
    # `from thermocad.io import thermal` would be the module; `from thermocad.io.labels import
    # CLASSES` is the module io.labels.
    assert "thermocad.io.labels" in graph["thermocad.training.run"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _marked(lines: list[str], lineno: int) -> bool:
    """A `# size:` comment on the def line, the line above it, or a decorator line above."""
    return any(SIZE_MARKER in lines[i] for i in range(max(0, lineno - 3), lineno))


def test_modules_and_functions_stay_small():
    too_long = []
    for name, path in _modules().items():
        text = path.read_text()
        lines = text.splitlines()
        if len(lines) > MAX_MODULE_LINES and not any(SIZE_MARKER in ln for ln in lines[:10]):
            too_long.append(f"{name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                n = node.end_lineno - first + 1
                if n > MAX_FUNCTION_LINES and not _marked(lines, node.lineno):
                    too_long.append(f"{name}.{node.name}: {n} lines")
    assert not too_long, "over the size limits (or add a `# size: <reason>` comment): " + (
        "; ".join(too_long)
    )


def test_import_thermocad_loads_no_heavy_library():
    heavy = ("torch", "fastai", "pandas", "matplotlib")
    code = f"import sys, thermocad; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tests_and_experiments_import_without_sys_path_edits():
    repo = PACKAGE.parents[1]
    edits = [
        str(path.relative_to(repo))
        for folder in ("tests", "experiments", "benchmarks")
        for path in (repo / folder).rglob("*.py")
        if "sys.path.insert" in path.read_text() and path.name != "test_architecture.py"
    ]
    assert not edits, f"sys.path edits in {edits}"
