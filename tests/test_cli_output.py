"""The command line's output where users read it: tables that fit 80 columns without cutting
names, and progress as plain lines when the output is not a terminal."""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from trendcast import cli

MODELS = ["AutoETS", "SeasonalNaive", "SeasonalWindowAverage", "DynamicOptimizedTheta"]


@pytest.fixture
def narrow(monkeypatch):
    """The CLI's stdout as an 80-column terminal, recorded."""
    console = Console(width=80, record=True, force_terminal=False, highlight=False)
    monkeypatch.setattr(cli, "out", console)
    return console


def test_the_leaderboard_fits_80_columns_with_whole_names(narrow):
    board = pd.DataFrame({"model": MODELS, **{m: [0.1234, 1.5, 2.25, 3.0] for m in
                                             ("MAE", "RMSE", "MASE", "RMSSE", "WAPE", "sMAPE", "WQL")},
                          "coverage_80": [0.8, 0.81, 0.79, 0.9]})
    cli._print_board(board)
    text = narrow.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in MODELS + ["sMAPE", "RMSSE", "cov80"]:
        assert name in text, name
    assert "0.123" in text and "cov80: share of actual values inside the 80% interval" in text


def test_a_wide_text_table_wraps_instead_of_cutting(narrow):
    table = Table(title="trend calls")
    for col in ("product", "trend", "confidence", "why"):
        table.add_column(col)
    reason = "+96% on the same 52 weeks a year ago (seasonal Kendall p<0.001); last 8 weeks +52% on a year ago"
    table.add_row("P0001-SeasonalWindowAverage", "seasonal_peak_ahead", "0.88", reason)
    cli._print_table(table)
    text = narrow.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "P0001-SeasonalWindowAverage" in text and "seasonal_peak_ahead" in text
    assert all(word in text for word in reason.split())  # the long reason is all there, wrapped


def test_a_table_that_fits_keeps_its_frame(narrow):
    table = Table()
    table.add_column("model")
    table.add_row("AutoETS")
    cli._print_table(table)
    assert "┃ model" in narrow.export_text()


def test_a_table_wider_than_the_terminal_is_printed_in_blocks_of_whole_columns(narrow):
    """`monitor` has 12 columns: at 80 columns (a cron log, a pipe) none may be cropped or
    left out; each block repeats the first column so a row can be followed."""
    table = Table(title="accuracy per run (expected: the latest backtest)")
    headers = ["origin", "run_id", "model", "n", "MAE", "WAPE", "MASE", "bias", "WQL", "coverage",
               "expected_WAPE", "expected_MASE"]
    for col in headers:
        table.add_column(col)
    rows = [["2017-08-01", "fo-20261207-221956-18f2a9", "SeasonalNaive", "36", "196.028", "0.107",
             "1.188", "-0.046", "0.081", "0.972", "0.074", "0.724"],
            ["2017-08-02", "fo-20261207-222000-c03d13", "AutoETS", "24", "172.330", "0.096", "1.078",
             "-0.004", "0.083", "0.958", "0.060", "0.588"]]
    for row in rows:
        table.add_row(*row)
    cli._print_table(table)
    lines = narrow.export_text().splitlines()
    assert "…" not in "".join(lines) and max(len(line) for line in lines) <= 80
    assert lines[0] == "accuracy per run (expected: the latest backtest)"  # once, not folded
    heads = [line.split() for line in lines if line.startswith("origin")]
    assert len(heads) == 2 and sum(heads, []) == ["origin", *headers[1:7], "origin", *headers[7:]]
    for row in rows:  # every cell whole, each block's line led by the row's first cell
        cells = sum((line.split() for line in lines if line.startswith(row[0])), [])
        assert cells == [row[0], *row[1:7], row[0], *row[7:]]


@pytest.mark.parametrize(("widths", "blocks"), [
    ([10, 10, 10], [[0, 1, 2]]),  # 10+1 + 2*(2+10) = 35 <= 40
    ([10, 20, 20], [[0, 1], [0, 2]]),  # 11 + 22 + 22 = 55 > 40
    ([10, 60], [[0, 1]]),  # a column wider than the width still gets a block (it folds)
    ([6, 5, 5, 5, 30], [[0, 1, 2, 3], [0, 4]]),
])
def test_column_blocks_pack_columns_after_the_first_up_to_the_width(widths, blocks):
    assert cli._column_blocks(widths, 40) == blocks


def test_models_list_shows_times_to_the_minute_and_day_only_dates(narrow, tmp_path):
    from typer.testing import CliRunner

    from conftest import make_sales
    from trendcast.data.store import open_store
    from trendcast.services.versions import train_version

    db = tmp_path / "w.duckdb"
    with open_store(db) as store:
        store.upsert("sales", make_sales(n_series=2, n_days=60))
        version = train_version(store, horizon=7, models=["SeasonalNaive", "Naive"]).version_id
    res = CliRunner().invoke(cli.app, ["models", "list", "--db", str(db)])
    assert res.exit_code == 0, res.output
    text = narrow.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    row = next(line for line in text.splitlines() if line.startswith(version))
    assert "promoted" in row and "SeasonalNaive, Naive" in row
    import re
    assert re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b(?!:)", row)  # created, to the minute
    assert "2024-02-29" in text and "00:00:00" not in text  # the data's last day, no midnight


def test_the_command_list_shows_each_summary_unbroken(monkeypatch):
    """A docstring's source line ends must not break the command list of ``--help``: at 400
    columns each command's summary is on one line."""
    import inspect

    from typer.testing import CliRunner

    monkeypatch.setenv("COLUMNS", "400")
    shown = CliRunner().invoke(cli.app, ["--help"], terminal_width=400).output
    checked = 0
    for info in cli.app.registered_commands:
        summary = " ".join(inspect.cleandoc(info.callback.__doc__).split("\n\n")[0].split())
        if "[" in summary or len(summary) > 300:  # rich markup (other tests); longer than a line
            continue
        assert any(summary in line for line in shown.splitlines()), summary
        checked += 1
    assert checked >= 15


def test_plain_progress_prints_each_step_and_throttles_repeats(monkeypatch, capsys):
    clock = iter([0.0, 0.0, 1.0, 2.0, 7.0, 8.0, 9.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    progress = cli._PlainProgress(every=5.0)
    progress("fit LightGBM", 1, 10)  # t=0: printed (new step)
    progress("fit LightGBM", 2, 10)  # t=1: same step, too soon
    progress("fit LightGBM", 3, 10)  # t=2: too soon
    progress("fit LightGBM", 4, 10)  # t=7: 5 s since the last line
    progress("score", 0, 2)  # t=8: new step
    progress("score", 2, 2)  # t=9: the end of a step is always shown
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["[1/10] fit LightGBM ... (0s)", "[4/10] fit LightGBM ... (7s)", "[0/2] score ... (8s)",
                     "[2/2] score ... (9s)"]


def test_progress_is_plain_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(cli, "console", Console(stderr=True, force_terminal=False))
    with cli._progress() as progress:
        progress("reading the run", 0, 3)
    assert "[0/3] reading the run ..." in capsys.readouterr().err
    with cli._progress(enabled=False) as progress:  # --json: nothing at all
        progress("reading the run", 0, 3)
    assert capsys.readouterr().err == ""


def _commands(group, prefix=()):
    """Every (path, click command) under ``group``."""
    import click
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


def test_every_option_help_shows_its_bracketed_words(monkeypatch):
    """Rich reads ``[phone]`` in a help text as a style tag and drops it: every bracketed word
    an option's help gives must reach ``--help`` (escape it as ``\\[phone]``)."""
    import re

    import typer
    from typer.testing import CliRunner

    monkeypatch.setenv("COLUMNS", "400")
    group = typer.main.get_command(cli.app)
    checked = 0
    for path, command in _commands(group):
        words = [re.sub(r"^\\", "", m) for p in command.params for m in
                 re.findall(r"\\?\[[a-z_]+\]", getattr(p, "help", None) or "")]
        if not words:
            continue
        shown = CliRunner().invoke(cli.app, [*path, "--help"], terminal_width=400).output
        for word in words:
            assert word in shown, (path, word)
            checked += 1
    assert checked >= 2


def test_a_note_written_to_a_log_stays_one_line(tmp_path):
    """`trendcast update ... >> cron.log`: each note is one line (grep finds it whole); the
    same command in a terminal wraps between words."""
    import os
    import subprocess
    import sys

    db = tmp_path / "w.duckdb"
    path = tmp_path / "s.csv"
    path.write_text("unique_id,ds,y\n" + "".join(f"SKU{i:02d},2024-01-0{d},{i}\n" for i in range(30)
                                                  for d in range(1, 4)))
    log = subprocess.run([sys.executable, "-m", "trendcast.cli", "ingest", str(path), "--db", str(db)],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"})
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    summary = next(line for line in lines if line.startswith(f"{path} (sales, 90 rows)"))
    assert summary.endswith("s") and len(summary) > 80  # one line, not wrapped at 80
    assert any(line.startswith("note: 30 series had no catalogue entry; added as products") for line in lines)
