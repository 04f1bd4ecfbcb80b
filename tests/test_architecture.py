"""The package's shape: no import cycles, small modules and functions, a light `import thermocad`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import thermocad
from tests.conftest import REPO, TOP_HEAVY

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
    repo = REPO  # the checkout's, also where thermocad is installed from a wheel
    edits = [
        str(path.relative_to(repo))
        for folder in ("tests", "experiments", "benchmarks")
        for path in (repo / folder).rglob("*.py")
        if "sys.path.insert" in path.read_text() and path.name != "test_architecture.py"
    ]
    assert not edits, f"sys.path edits in {edits}"


ENTRY_POINTS = ("thermocad.__main__", "thermocad.api", "thermocad.pipeline",
                "thermocad.fit", "thermocad.cli")  # fmt: skip
HEAVY = ("torch", "torchvision", "fastai", "timm", "matplotlib", "gradio", "onnxruntime", "onnx",
         "pytorch_grad_cam")  # fmt: skip
# Modules that import a heavy library at their top, themselves or through another of them:
# only functions may import them.


def _is_entry(name: str) -> bool:
    return name in ENTRY_POINTS or name.startswith("thermocad.cli.")


def test_stages_never_import_entry_points_and_utils_only_utils():
    wrong = []
    for name, imported in import_graph().items():
        if not _is_entry(name):
            wrong += [f"{name} -> {i}" for i in sorted(imported) if _is_entry(i)]
        if name.startswith("thermocad.utils"):
            wrong += [f"{name} -> {i}" for i in sorted(imported)  # the root: __version__
                      if not i.startswith("thermocad.utils") and i != "thermocad"]  # fmt: skip
    assert not wrong, "imports against docs/design.md's import rule: " + "; ".join(wrong)


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """Statements run on import: the module's own, and those inside its top-level if/try."""
    out, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue  # never run: for type checkers only
        if isinstance(node, ast.If | ast.Try):
            todo += [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            todo += [s for h in getattr(node, "handlers", []) for s in h.body]
    return out


def _top_imports(name: str, tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """What a module imports when it is imported: other packages by name, and thermocad
    modules resolved as import_graph resolves them (`from thermocad.training import run`
    is the module training.run; relative imports too)."""
    defs = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef  # their bodies run later
    body = ast.Module(body=[n for n in _top_level(tree) if not isinstance(n, defs)],
                      type_ignores=[])  # fmt: skip
    names = {a.name for n in body.body if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in body.body if isinstance(n, ast.ImportFrom) and not n.level}
    return names | _imported(name, body, modules)


def test_heavy_libraries_only_inside_functions_or_in_the_listed_modules():
    """docs/design.md's import rule: a module importing torch (and the like) at its top is
    listed there and in TOP_HEAVY, and every other module imports it inside a function."""
    modules = _modules()
    trees = {name: ast.parse(path.read_text()) for name, path in modules.items()}
    top = {n: _top_imports(n, t, modules) for n, t in trees.items()}
    heavy_at_top = {n for n, i in top.items() if any(m.split(".")[0] in HEAVY for m in i)}
    direct = set(heavy_at_top)
    while more := {n for n, i in top.items() if n not in heavy_at_top and i & heavy_at_top}:
        heavy_at_top |= more
    extra = [f"{n} ({'directly' if n in direct else 'through a module that does'})"
             for n in sorted(heavy_at_top - TOP_HEAVY, key=lambda n: (n not in direct, n))]  # fmt: skip
    assert not extra, (f"{'; '.join(extra)} import(s) a heavy library at the top: move the "
                       "import into the function that needs it (the usual fix); if intended, "
                       "list it in TOP_HEAVY (tests/conftest.py) and docs/design.md")  # fmt: skip
    gone = sorted(TOP_HEAVY - heavy_at_top)
    assert not gone, f"{gone} no longer import a heavy library at the top: drop from TOP_HEAVY"
    design = (REPO / "docs" / "design.md").read_text()
    assert all(f"`{n.split('.', 1)[1].replace('.', '/')}.py`" in design for n in TOP_HEAVY)
    wrong = [f"{name} -> {i}" for name, imports in top.items() if name not in TOP_HEAVY
             for i in imports if i in TOP_HEAVY]  # fmt: skip
    assert not wrong, "a module importing a TOP_HEAVY module at its top: " + "; ".join(wrong)


def test_the_cli_help_loads_no_heavy_library():
    code = ("import sys\nfrom thermocad.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            f"print([m for m in {(*HEAVY, 'pandas')!r} if m in sys.modules], file=sys.stderr)")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}  # this checkout's, not an install's
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)  # fmt: skip
    assert out.stderr.strip().splitlines()[-1] == "[]"
