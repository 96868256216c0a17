"""Every real export in ../shared/data ingests with the one command docs/ingest.md gives for it.

The commands are read from the docs (between the `real-files` markers) and run through the CLI
as written, with each `--db` pointed into a temporary folder.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SHARED_DATA
from trendcast.cli import app
from trendcast.data.store import open_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "ingest.md"


def documented_commands() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- real-files: begin -->(.*?)<!-- real-files: end -->", text, re.S)
    assert block, "docs/ingest.md lost its real-files block"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines()
            if line.startswith("trendcast ingest ")]


COMMANDS = documented_commands()
# Rows each file must yield, from the PROVENANCE.md files (table, rows).
EXPECTED = {
    "train.csv.zip": ("sales", 421_570), "features.csv": ("macro", 8_190 * 9), "stores.csv": ("macro", 45),
    "transactions.csv": ("sales", 83_488), "holidays_events.csv": ("calendar_events", None),
    "oil.csv": ("macro", 1_218), "AMAZON_FASHION_5.json": ("reviews", 3_086),  # 3,176 lines, 90 the same review twice
    "All_Beauty_5.json": ("reviews", None), "amazon_alexa.tsv": ("reviews", 3_150),
    "online_shopping_10_cats.zip": ("reviews", 62_774), "waimai_10k.csv": ("reviews", 11_987),
    "ChnSentiCorp_htl_all.csv": ("reviews", 7_766), "UserBehavior_head.csv": ("events", 84_475),
}


def test_every_real_folder_has_a_documented_command():
    files = {Path(c[1]).name for c in COMMANDS}
    assert set(EXPECTED) == files


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=[Path(c[1]).name for c in COMMANDS])
def test_documented_command_ingests_the_real_file(args, tmp_path):
    path = Path(args[1].replace("$D", str(SHARED_DATA)))
    if not path.exists():
        pytest.skip(f"real data not found at {path} (../shared/data beside the repo)")
    args = [args[0], str(path), *args[2:]]
    db = tmp_path / args[args.index("--db") + 1]
    args[args.index("--db") + 1] = str(db)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    table, rows = EXPECTED[path.name]
    with open_store(db) as store:
        stored = store.count(table)
    assert stored > 0
    if rows is not None:
        assert stored == rows
    if path.name == "train.csv.zip":
        assert "1,285 negative value(s) kept" in " ".join(result.output.split())
    # a second ingest of the same file changes nothing
    with open_store(db) as store:
        before = store.read(table).sort_values(list(store.read(table).columns[:2])).reset_index(drop=True)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated" in " ".join(again.output.split())
    with open_store(db) as store:
        after = store.read(table).sort_values(list(before.columns[:2])).reset_index(drop=True)
    assert len(after) == len(before)
