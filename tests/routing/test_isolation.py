"""``routing`` stays a plain library: no web, database or app imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROUTING = Path(__file__).resolve().parents[2] / "routing"
FORBIDDEN = ("app", "visits", "sqlmodel", "fastapi", "sqlalchemy", "starlette", "settings", "pydantic_settings")


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_forbidden_import_in_source():
    modules = sorted(ROUTING.glob("*.py"))
    assert modules
    for path in modules:
        bad = _top_level_imports(path) & set(FORBIDDEN)
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_every_routing_module_loads_no_forbidden_package():
    names = [f"routing.{p.stem}" for p in sorted(ROUTING.glob("*.py")) if p.stem != "__init__"]
    code = f"import importlib, json, sys\nfor name in ['routing', *{names!r}]: importlib.import_module(name)\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROUTING.parent, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == []
