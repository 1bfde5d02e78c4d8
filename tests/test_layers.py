"""The layers hold: nothing below imports upward, and no two modules import each other.

servicers -> domain -> storage, with the shared enums, ids, errors and config below them all;
the component library on the domain's contracts; the gateway apart over the core (it speaks
gRPC), the proxy beside it; the standalone's front apart over the cores, as the gateway.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fateflow_grpc", "gateway", "party_proxy")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """Every module an import statement names, anywhere in the file (lazy imports too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


GRAPH = {
    name: {target for target in _imports(path) if target in MODULES and target != name}
    for name, path in MODULES.items()
}
EXTERNAL = {name: set(_imports(path)) for name, path in MODULES.items()}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


#: (importer prefix, forbidden prefixes): what each layer must not import.
FORBIDDEN = [
    (
        "fateflow_grpc.storage",
        ["fateflow_grpc.domain", "fateflow_grpc.components", "fateflow_grpc.servicers"],
    ),
    (
        "fateflow_grpc.domain",
        [
            "fateflow_grpc.servicers",
            "fateflow_grpc.components",
            "grpc",
            "google.protobuf",
            "fateflow",
        ],
    ),
    ("fateflow_grpc.components", ["fateflow_grpc.servicers", "party_proxy", "gateway", "grpc"]),
    ("fateflow_grpc.status", ["fateflow_grpc.domain", "fateflow_grpc.storage"]),
    ("fateflow_grpc.ids", ["fateflow_grpc.domain", "fateflow_grpc.storage"]),
    ("gateway", ["fateflow_grpc.domain", "fateflow_grpc.storage", "fateflow_grpc.components"]),
    ("party_proxy", ["fateflow_grpc.domain", "fateflow_grpc.storage", "fateflow_grpc.server"]),
    # The standalone starts the parties' nodes as processes and speaks to them over gRPC only.
    (
        "fateflow_grpc.standalone",
        [
            "fateflow_grpc.domain",
            "fateflow_grpc.components",
            "fateflow_grpc.servicers",
            "fateflow_grpc.node",
            "fateflow_grpc.server",
        ],
    ),
    ("fateflow_grpc.standalone.front", ["fateflow_grpc.storage"]),
    ("fateflow_grpc.standalone.rules", ["fateflow_grpc.storage"]),
]


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN, ids=[layer for layer, _ in FORBIDDEN])
def test_no_layer_imports_upward(layer: str, forbidden: list[str]) -> None:
    offences = sorted(
        f"{name} imports {target}"
        for name, targets in EXTERNAL.items()
        if _under(name, layer)
        for target in targets
        if any(_under(target, prefix) for prefix in forbidden)
    )
    assert offences == []


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert cycles == []
