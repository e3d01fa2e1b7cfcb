"""The Lambda library's layout, measured by import direction (issue #29).

A unit is a top-level module of ``gateway`` or one of its packages. Every import counts,
at module level, inside a function or under ``TYPE_CHECKING``: no arrow may run back
up, so the units stand on floors, each importing only from the floors below it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[2] / "lambdas" / "gateway"

# What each package's __init__ docstring says it may import, besides its own modules.
GROUND = {"gateway.aws_clients", "gateway.clock", "gateway.errors", "gateway.observability"}
ALLOWED = {
    "gateway.token": GROUND | {"gateway.credentials", "gateway.http"},
    "gateway.budgets": GROUND,
    "gateway.cache": GROUND | {"gateway.customer_keys"},
}


def _unit(module: str) -> str:
    """``gateway.token.broker`` -> ``gateway.token``; ``gateway.clock`` -> itself."""
    parts = module.split(".")
    if len(parts) > 2 or (GATEWAY / parts[-1]).is_dir():
        return ".".join(parts[:2])
    return module


def _module_of(path: Path) -> str:
    relative = path.relative_to(GATEWAY.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imported(path: Path) -> set[str]:
    """The gateway modules a file imports (``from gateway import x`` names module x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gateway."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gateway":
                found.update(f"gateway.{a.name}" for a in node.names)
            elif node.module.startswith("gateway."):
                found.add(node.module)
    return found


@cache
def _edges() -> dict[str, set[str]]:
    """Each unit's imports of other units."""
    edges: dict[str, set[str]] = {}
    for path in sorted(GATEWAY.rglob("*.py")):
        unit = _unit(_module_of(path))
        if unit == "gateway":
            continue
        targets = {_unit(m) for m in _imported(path)} - {unit, "gateway"}
        edges.setdefault(unit, set()).update(targets)
    return edges


def floors() -> dict[str, int]:
    """Each unit's floor: 0 imports no other unit, n imports from floors below n only."""
    edges = _edges()
    floor: dict[str, int] = {}

    def visit(unit: str, path: tuple[str, ...]) -> int:
        assert unit not in path, f"import cycle: {' -> '.join((*path, unit))}"
        if unit not in floor:
            below = [visit(t, (*path, unit)) for t in edges.get(unit, ())]
            floor[unit] = 1 + max(below, default=-1)
        return floor[unit]

    for unit in edges:
        visit(unit, ())
    return floor


def test_no_import_cycle_between_units() -> None:
    # Given every import of every module under lambdas/gateway
    # When the units are put on floors
    placed = floors()
    # Then every unit has one (a cycle would have failed), each above all it imports
    edges = _edges()
    for unit, targets in edges.items():
        assert all(placed[t] < placed[unit] for t in targets), unit


def test_the_service_api_does_not_import_the_proxy() -> None:
    # The proxy dispatches service paths to the service API; what both need (the
    # RequestError envelope) lives below both, in gateway.api_responses.
    assert "gateway.proxy" not in _edges()["gateway.service"]


def test_token_budgets_and_cache_import_only_what_their_docstrings_allow() -> None:
    edges = _edges()
    for package, allowed in ALLOWED.items():
        assert edges[package] <= allowed, (package, sorted(edges[package] - allowed))
        assert (GATEWAY / package.split(".")[1] / "__init__.py").read_text().startswith('"""')


def test_module_names_do_not_repeat_their_package() -> None:
    for package in ALLOWED:
        name = package.split(".")[1]
        for path in (GATEWAY / name).glob("*.py"):
            assert not path.stem.startswith(f"{name}_"), path
