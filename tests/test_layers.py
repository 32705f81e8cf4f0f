"""The layout is the architecture: imports flow one way and never in a circle (README, "Layout").

Layers, lowest first: ``sim.inputs`` (declarations, scenario files, data) < ``agents`` (firm and producer agents,
their state and rules) < ``sim.engine`` (the model) < ``sim.reference`` (the same rules one agent per plant, which
starts from the engine's set-up) < ``sim.outputs`` (metrics, tables, charts, comparison)
< ``sim.runs`` (batches, executors, run directories) < ``sim.api`` (the public door) < ``calibration`` and
``sim.discovery`` < the front ends (``sim.cli``, ``sim.app``, ``sim``'s package module). A module may import its
own layer or lower ones; calibration and discovery reach the simulator through ``sim.api`` only.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sim", "agents", "calibration")
LAYERS = [
    ("sim.inputs",),
    ("agents",),
    ("sim.engine",),
    ("sim.reference",),
    ("sim.outputs",),
    ("sim.runs",),
    ("sim.api",),
    ("calibration", "sim.discovery"),
    ("sim.cli", "sim.app", "sim.__main__", "sim"),
]


def layer(module: str) -> int:
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (level, len(prefix))
    if best is None:
        raise AssertionError(f"{module} belongs to no layer")
    return best[0]


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(path: Path, name: str) -> set[str]:
    """Every project module the file imports, anywhere in it (function-level imports count)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    known = modules()
    return {m for m in found if m in known and m != name}


GRAPH = {name: imports(path, name) for name, path in modules().items()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_never_run_back_up(module):
    for target in GRAPH[module]:
        if module == "sim" and target == "sim.api":
            continue  # the package exposes the API lazily, on first use
        assert layer(target) <= layer(module), f"{module} (layer {layer(module)}) imports {target} ({layer(target)})"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith(("calibration", "sim.discovery"))))
def test_calibration_and_discovery_use_the_public_api_only(module):
    for target in GRAPH[module]:
        if target.startswith(("sim.", "agents")) or target in ("sim", "agents"):
            assert target in ("sim.api", "sim.discovery") or target.startswith("sim.discovery."), (
                f"{module} imports {target}; use sim.api"
            )


def test_there_is_no_import_circle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH.get(node, ())):
            if node == "sim" and target == "sim.api":
                continue
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)


def test_every_room_says_what_it_owns():
    for room in (
        "sim.inputs",
        "sim.engine",
        "sim.reference",
        "sim.outputs",
        "sim.runs",
        "sim.discovery",
        "agents",
        "calibration",
    ):
        doc = ast.get_docstring(ast.parse(modules()[room].read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{room}/__init__.py needs a docstring saying what it owns and may import"
