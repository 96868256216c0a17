"""One truth per run: which model represents a forecast run, and which run a product page shows.

The report, the dashboard and the API all call :func:`representative_model`, so a run shows the
same model everywhere. The rule, in order:

1. **backtest**: the newest backtest that scored some of the run's models; of those models, the
   one with the lowest MASE there;
2. **default**: no backtest scored any of them: :data:`DEFAULT_MODEL` when the run has it;
3. **first**: otherwise the run's first model.

The leaderboard that goes with the choice is that backtest's (else the newest backtest's), and
it always has a row for the chosen model: one the backtest did not score gets a row of missing
metrics, so a reader sees it was not backtested rather than not seeing it at all.

A product page shows, by default, the newest run that covers the product and has the newest
backtest's winner; else the newest covering run with any backtested model; else the newest
covering run (:func:`product_run`). A dashboard forecast job with fewer or weaker models
therefore never hides a better run; the page lists the other runs to pick from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from trendcast.data.store import Store
from trendcast.services import browse
from trendcast.services.browse import RunInfo

DEFAULT_MODEL = "AutoETS"  # the default model list's statistical model (services.forecast.DEFAULT_MODELS)
Rule = Literal["backtest", "default", "first"]
_BACKTESTS_SEARCHED = 50


@dataclass
class RunChoice:
    """The model that represents a run, the rule that chose it and its leaderboard."""

    run_id: str
    model: str
    rule: Rule
    reason: str  # one sentence, English
    backtest_id: str | None = None
    leaderboard: pd.DataFrame | None = None  # ``model`` + metric columns, best MASE first
    mase: float | None = None  # the chosen model's MASE in that backtest (rule "backtest")


def _boards(store: Store) -> list[tuple[str, pd.DataFrame]]:
    """(run id, leaderboard: ``model`` + metric columns, best MASE first) of the newest
    backtests with metrics, newest first; one query."""
    rows = store.backtest_metrics(_BACKTESTS_SEARCHED)
    out = []
    for run_id in dict.fromkeys(rows["run_id"].astype(str)):
        part = rows[rows["run_id"] == run_id]
        board = part.pivot_table(index="model", columns="metric", values="value").reset_index()
        board.columns.name = None
        if "MASE" in board.columns:
            board = board.sort_values("MASE", ignore_index=True, na_position="last", kind="stable")
        out.append((run_id, board))
    return out


def _with_row(board: pd.DataFrame, model: str) -> pd.DataFrame:
    if model in set(board["model"]):
        return board
    return pd.concat([board, pd.DataFrame({"model": [model]})], ignore_index=True)


def choose(run: RunInfo, boards: list[tuple[str, pd.DataFrame]]) -> RunChoice:
    """:func:`representative_model` over backtest leaderboards already read (newest first)."""
    if not run.models:
        raise ValueError(f"run {run.run_id} lists no models")
    if run.kind == "backtest":
        boards = [(i, b) for i, b in boards if i == run.run_id] or boards
    for backtest_id, board in boards:
        scored = board[board["model"].isin(run.models)]
        if "MASE" not in scored.columns or not scored["MASE"].notna().any():
            continue
        best = scored.sort_values("MASE", kind="stable").iloc[0]
        reason = (f"{best['model']}: the lowest MASE ({float(best['MASE']):.3f}) of this run's models "
                  f"in backtest {backtest_id}")
        return RunChoice(run.run_id, str(best["model"]), "backtest", reason, backtest_id, board,
                         float(best["MASE"]))
    latest = boards[0] if boards else None
    if DEFAULT_MODEL in run.models:
        model, rule = DEFAULT_MODEL, "default"
        reason = f"no backtest scored this run's models; {DEFAULT_MODEL} is the default model"
    else:
        model, rule = run.models[0], "first"
        reason = (f"no backtest scored this run's models and it has no {DEFAULT_MODEL}: its first "
                  f"model, {run.models[0]}")
    board = None if latest is None else _with_row(latest[1], model)
    return RunChoice(run.run_id, model, rule, reason, None if latest is None else latest[0], board)


def representative_model(store: Store, run_id: str) -> RunChoice:
    """The model that represents run ``run_id`` (the module's rule) and its leaderboard.

    Raises:
        NotFoundError: no such run.
    """
    return choose(browse.get_run(store, run_id), _boards(store))


def best_backtested_model(store: Store, boards: list[tuple[str, pd.DataFrame]] | None = None) -> str | None:
    """The newest backtest's winner (lowest MASE); None without a scored backtest."""
    for _, board in _boards(store) if boards is None else boards:
        if "MASE" in board.columns and board["MASE"].notna().any():
            return str(board.sort_values("MASE", kind="stable").iloc[0]["model"])
    return None


@dataclass
class ProductRuns:
    """The run a product page shows by default, why, and the other runs that cover it."""

    run_id: str | None
    reason: str
    runs: list[RunInfo]  # covering runs, newest first


def product_run(store: Store, unique_id: str) -> ProductRuns:
    """Which stored forecast run a product page shows (see the module docstring)."""
    runs = [browse.run_info(r) for r in store.runs_covering(unique_id)]
    if not runs:
        return ProductRuns(None, "no forecast run covers this product", [])
    boards = _boards(store)
    best = best_backtested_model(store, boards)
    if best is not None:
        for run in runs:
            if best in run.models:
                return ProductRuns(run.run_id, f"the newest run with {best}, the best model of the "
                                   "newest backtest", runs)
    scored = {str(m) for _, b in boards if "MASE" in b.columns
              for m in b.loc[b["MASE"].notna(), "model"]}
    for run in runs:
        if scored & set(run.models):
            return ProductRuns(run.run_id, "the newest run with a backtested model", runs)
    return ProductRuns(runs[0].run_id, "the newest run (no backtest scored any run's models)", runs)
