"""The layer rules of docs/architecture.md, enforced on the source: imports go downward only,
and SQL text lives in ``trendcast.data`` only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trendcast"

# Lower layers first. A module may import its own package and any package of a lower rank.
LAYERS: list[tuple[str, ...]] = [
    ("schema", "errors", "config", "version"),
    ("data",),
    ("features", "text"),
    ("models",),
    ("engine",),
    ("evaluation",),
    ("insights",),
    ("services",),
    ("dashboard",),
    ("api",),
    ("cli", "__init__", "__main__"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+"
                 r"(TEMP\s+)?TABLE|DROP\s+TABLE)\b", re.IGNORECASE | re.DOTALL)


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return [(line, name) for line, name in out if name == "trendcast" or name.startswith("trendcast.")]


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_has_a_layer():
    packages = {_package(p) for p in _modules()}
    assert packages <= set(RANK), f"add {sorted(packages - set(RANK))} to LAYERS and docs/architecture.md"


def test_imports_go_downward_only():
    upward = []
    for path in _modules():
        own = _package(path)
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = name.split(".")[1] if "." in name else "__init__"
            if target == own:
                continue
            if RANK[target] > RANK[own] or (RANK[target] == RANK[own] and own not in LAYERS[0]):
                upward.append(f"{path.relative_to(SRC)}:{line} ({own}) imports {name}")
    assert not upward, "imports against the layer order (docs/architecture.md):\n" + "\n".join(upward)


def test_sql_text_lives_in_the_data_layer_only():
    found = []
    for path in _modules():
        if _package(path) == "data":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value[:60]!r}")
    assert not found, "SQL outside trendcast.data (add a typed Store method instead):\n" + "\n".join(found)


@pytest.mark.parametrize("bad", ["from trendcast.services.forecast import run_forecast",
                                 "import trendcast.api.app"])
def test_the_rule_catches_an_upward_import(bad):
    own = "models"
    name = _imports(ast.parse(bad))[0][1]
    assert RANK[name.split(".")[1]] > RANK[own]
