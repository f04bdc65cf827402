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


def _modules(path: Path) -> set[str]:
    """Full dotted names of the absolute imports of ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_visits_imports_neither_app_nor_fastapi_nor_ortools() -> None:
    paths = sorted((ROOT / "visits").rglob("*.py"))
    assert any(p.parent != ROOT / "visits" for p in paths), "the domain subpackages are walked"
    for path in paths:
        bad = _imports(path) & {"app", "fastapi", "starlette", "ortools", "pyvrp"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_routing_knows_nothing_of_the_product() -> None:
    for path in sorted((ROOT / "routing").rglob("*.py")):
        bad = _imports(path) & {"app", "visits", "sqlmodel", "sqlalchemy", "fastapi"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_router_imports_another_router_and_the_cli_imports_none() -> None:
    for path in sorted((ROOT / "app").rglob("*.py")):
        routers = {m for m in _modules(path) if m.startswith("app.routers.") and m.count(".") >= 2}
        if path.parent.name == "routers" or path.name == "cli.py":
            assert not routers, f"{path.relative_to(ROOT)} imports {sorted(routers)}"


def test_templates_hold_no_status_or_role_literal_used_for_a_decision() -> None:
    """``{% if x.status in ("booked", ...) %}`` or ``principal.role == "admin"``: the rule belongs in
    the domain (``visits/intake/models.py::request_actions``, ``visits/staff/roles.py``)."""
    import re

    from visits.models import RequestStatus, Role

    words = {s.value for s in RequestStatus} | {r.value for r in Role}
    decision = re.compile(r"{%-?\s*(?:el)?if\b(.*?)%}", re.S)
    literal = re.compile(r"[\"']([a-z_]+)[\"']")
    for path in sorted((ROOT / "app" / "templates").rglob("*.html")):
        for condition in decision.findall(path.read_text()):
            used = set(literal.findall(condition)) & words
            assert not used, f"{path.relative_to(ROOT)}: decision on literal {sorted(used)} in {{% if{condition}%}}"


def test_only_routing_imports_ortools() -> None:
    for folder in ("app", "visits", "migrations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            assert "ortools" not in _imports(path), f"{path} imports ortools"
