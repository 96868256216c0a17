"""Rank models on a backtest and pick the best one.

``leaderboard`` scores each model with :func:`trendcast.evaluation.metrics.score` and sorts by
one metric; ``choose`` returns the winner's name. Lower is better for every error metric
(MAE, RMSE, MASE, RMSSE, WAPE, sMAPE, WQL); for ``coverage_<k>`` the best is the one closest
to the nominal k%. Ties keep the order of ``models`` (the earlier model wins); models whose
metric is NaN rank last.

With quantiles the board carries WQL and the coverage of every central band they give
(``coverage_50``, ``coverage_80``, ``coverage_95``). ``Recommended`` makes its automatic choice
in two steps: the point forecast by WAPE, then the quantile calibration method by cross-fitted
validation WQL (:mod:`trendcast.models.calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.evaluation.metrics import score


def _badness(board: pd.DataFrame, metric: str) -> pd.Series:
    """Smaller is better; NaN becomes +inf."""
    if metric not in board.columns:
        metrics = [c for c in board.columns if c not in ("model", "rank")]
        raise ModelError(f"metric {metric!r} is not on the leaderboard; available: {metrics}")
    values = pd.to_numeric(board[metric], errors="coerce").astype(float)
    if metric.startswith("coverage_"):
        nominal = float(metric.removeprefix("coverage_")) / 100
        values = (values - nominal).abs()
    return values.fillna(np.inf)


def leaderboard(
    cv: pd.DataFrame,
    models: Sequence[str],
    *,
    train: pd.DataFrame,
    season_length: int,
    quantiles: Sequence[float] = (),
    metric: str = "MASE",
) -> pd.DataFrame:
    """One row per model with every metric of ``score`` and a 1-based ``rank`` by ``metric``.

    Args:
        cv: backtest frame (``unique_id, ds, cutoff, y`` and one column per model).
        models: model aliases to rank; their order breaks ties.
        train: history before the first cutoff (MASE scale).
        season_length: seasonal period for MASE.
        quantiles: quantile levels present as ``<model>-q-<level>`` columns.
        metric: column to sort by (default MASE).
    """
    models = list(models)
    if not models:
        raise ModelError("leaderboard needs at least one model")
    missing = [m for m in models if m not in cv.columns]
    if missing:
        raise ModelError(f"backtest frame has no forecast column for {missing}")
    board = score(cv, models, train=train, season_length=season_length, quantiles=quantiles)
    bad = _badness(board, metric)
    order = np.lexsort((np.arange(len(board)), bad.to_numpy()))  # stable: models order on ties
    board = board.iloc[order].reset_index(drop=True)
    board.insert(1, "rank", np.arange(1, len(board) + 1))
    board.attrs["models"] = models
    board.attrs["metric"] = metric
    return board


def choose(board: pd.DataFrame, metric: str = "MASE", *,
           models: Sequence[str] | None = None) -> str:
    """The best model on ``metric``; ties go to the earlier model in ``models``.

    ``models`` defaults to the order the leaderboard was built with (``board.attrs``), else
    the row order of ``board``.
    """
    if board.empty:
        raise ModelError("cannot choose from an empty leaderboard")
    bad = _badness(board, metric)
    if np.isinf(bad).all():
        raise ModelError(f"no model has a finite {metric}; cannot choose")
    order = list(models) if models is not None else board.attrs.get("models")
    names = board["model"].tolist()
    if order:
        pos = {m: i for i, m in enumerate(order)}
        tie = np.array([pos.get(m, len(pos)) for m in names])
    else:
        tie = np.arange(len(board))
    best = np.lexsort((tie, bad.to_numpy()))[0]
    return str(names[best])
