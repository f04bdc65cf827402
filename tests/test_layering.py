"""The layering in DEVELOPERS.md: visits/ never imports the web app or FastAPI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_visits_imports_neither_app_nor_fastapi_nor_ortools() -> None:
    for path in sorted((ROOT / "visits").glob("*.py")):
        bad = _imports(path) & {"app", "fastapi", "starlette", "ortools"}
        assert not bad, f"{path.name} imports {bad}"


def test_only_routing_imports_ortools() -> None:
    for folder in ("app", "visits", "migrations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            assert "ortools" not in _imports(path), f"{path} imports ortools"
