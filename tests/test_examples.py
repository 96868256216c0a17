"""The example files in examples/ are what the README's commands use: every README ingest of
an example file runs, in the README's order, into a new workspace; every example file is used;
the files are small and rebuilt identically by examples/make_examples.py."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA_FILES = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".csv", ".xlsx"))


def readme_commands() -> list[list[str]]:
    """Every `trendcast ...` line of the README's bash blocks that names a file in examples/,
    as arguments (the comment after # dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("trendcast ") and "examples/" in line:
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_readme_uses_every_example_file():
    used = {Path(a).name for cmd in readme_commands() for a in cmd if a.startswith("examples/")}
    assert DATA_FILES and set(DATA_FILES) <= used, set(DATA_FILES) - used
    kinds = {cmd[cmd.index("--kind") + 1] for cmd in readme_commands() if "--kind" in cmd}
    assert {"products", "orders", "reviews", "calendar", "stock"} <= kinds


def test_the_example_files_are_small():
    total = sum((EXAMPLES / name).stat().st_size for name in DATA_FILES)
    assert total < 300_000, total


def test_every_readme_ingest_runs_on_the_examples(tmp_path, monkeypatch):
    from trendcast import cli
    from trendcast.data.store import open_store

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(cli, "_SETTINGS", None)
    db = str(tmp_path / "examples.duckdb")
    runner = CliRunner()
    ingests = [cmd for cmd in readme_commands() if cmd[0] == "ingest"]
    assert len(ingests) >= 8
    for cmd in ingests:
        result = runner.invoke(cli.app, [*cmd, "--db", db])
        assert result.exit_code == 0, (cmd, result.output, result.exception)
        assert " new" in result.output, (cmd, result.output)
    with open_store(db, read_only=True) as store:
        counts = {t: store.count(t) for t in ("products", "sales", "orders", "reviews", "calendar_events",
                                              "stock_history")}
    assert all(n > 0 for n in counts.values()), counts
    assert counts["products"] == 6
    # the README's inventory command reads today's stock and so gives order quantities
    inventory = [cmd for cmd in readme_commands() if cmd[0] == "inventory"]
    assert len(inventory) == 1 and "examples/on_hand.csv" in inventory[0]
    result = runner.invoke(cli.app, ["forecast", "--horizon", "28", "--model", "SeasonalNaive", "--jobs", "1",
                                     "--db", db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.app, [*inventory[0], "--db", db])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "P0001" in result.output and "no stock file" not in result.output


@pytest.mark.parametrize("name", [n for n in DATA_FILES if n.endswith(".csv")])
def test_make_examples_rebuilds_the_same_files(tmp_path_factory, name):
    folder = _rebuilt(tmp_path_factory)
    assert (folder / name).read_bytes() == (EXAMPLES / name).read_bytes()


_REBUILT: dict[str, Path] = {}


def _rebuilt(tmp_path_factory) -> Path:
    if "dir" not in _REBUILT:
        spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        folder = tmp_path_factory.mktemp("examples")
        module.make_examples(folder)
        _REBUILT["dir"] = folder
    return _REBUILT["dir"]
