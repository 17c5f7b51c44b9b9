"""The package's house rules (issue 13), checked on the source: which module may import which, no import cycles
(lazy imports count; imports under ``if TYPE_CHECKING:`` never run and do not), modules of a readable size, and a
simple layer's class name written in one module only, its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tfjs_interop"
MAX_LINES = 450
# Layers whose names other modules may spell: the recurrent family and wrappers, which engines and writers
# rewrite by name, and the classes every graph has.
NOT_SIMPLE = {"LSTM", "GRU", "SimpleRNN", "ConvLSTM2D", "RNN", "Bidirectional", "TimeDistributed", "InputLayer",
              "Sequential", "Model", "Functional"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _runtime_imports(tree: ast.AST):
    """Every import statement that runs: at module level or in a function, not under ``if TYPE_CHECKING``."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]


def _imports(module: str, path: Path) -> set[str]:
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = package[:len(package) - node.level + 1] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _area(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_formats_and_runtime_do_not_import_each_other():
    crossing = [(m, d) for m, deps in GRAPH.items() for d in deps
                if {_area(m), _area(d)} == {"formats", "runtime"}]
    assert not crossing


def test_the_package_has_no_import_cycle():
    """Edges into a package's ``__init__`` from its own submodules count as well (the lazy top-level package
    imports every public module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_the_size_limit(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def _strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings}


# The old class names some releases wrote for standard layers (BatchNormalizationV1) are a dialect's spelling,
# mapped in ``dialects.CLASS_ALIASES`` before any layer class is known; so is the name Keras 3's legacy H5 gives
# the ops.concatenate of a Concatenate's mask, the layer's (``dialects.KERAS3_OPS_NAMED_AS_LAYERS``).
DIALECT_ALIASES = {"BatchNormalization": ["tfjs_interop.dialects"], "Concatenate": ["tfjs_interop.dialects"]}


def test_a_simple_layer_is_named_in_its_own_module_only():
    from tfjs_interop.runtime.layers import LAYERS

    strings = {module: _strings(path) for module, path in MODULES.items()}
    elsewhere = {}
    for name, cls in LAYERS.items():
        if name in NOT_SIMPLE or name.startswith("op."):
            continue
        others = [m for m, found in strings.items() if name in found and m != cls.__module__]
        if others:
            elsewhere[name] = others
    assert elsewhere == DIALECT_ALIASES
