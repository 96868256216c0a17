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
