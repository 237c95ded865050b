"""The layers of DESIGN.md: core <- storage <- engine <- interfaces; imports only point down."""

from __future__ import annotations

import ast
from pathlib import Path

import neural_memory

ROOT = Path(neural_memory.__file__).parent

# Subpackage -> the subpackages it may import (its own included).
_CORE = {"errors", "core"}
_STORAGE = _CORE | {"codec", "storage"}
_ENGINE = _STORAGE | {"engine", "sharing"}
_INTERFACES = _ENGINE | {"cli", "server", "mcp"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "core": _CORE,
    "codec": _CORE | {"codec"},
    "storage": _STORAGE,
    "engine": _ENGINE,
    "sharing": _ENGINE,
    "cli": _INTERFACES,
    "server": _INTERFACES,
    "mcp": _INTERFACES,
}


def imported_subpackages(path: Path) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "neural_memory" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_imports_only_point_down() -> None:
    wrong: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if len(relative.parts) == 1 and relative.stem != "errors":
            continue  # the package's own __init__ re-exports the public names
        here = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        assert here in ALLOWED, f"{relative}: unknown subpackage, add it to ALLOWED"
        for there, line in imported_subpackages(path):
            if there not in ALLOWED[here]:
                wrong.append(f"{relative}:{line} imports neural_memory.{there}")
    assert wrong == []
