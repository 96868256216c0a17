"""Report use case: the latest (or a given) forecast run as an HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.insights.report import write_report
from trendcast.services.forecast import load_series, read_run


def build_report(store: Store, out_dir: str | Path, *, run_id: str | None = None,
                 lang: str = "en", model: str | None = None, n_products: int = 6) -> Path:
    """Write report.html for a forecast run, with the latest backtest's leaderboard."""
    run = read_run(store, run_id, kind="forecast")
    if model is None:
        model = run.models[-1]
    if model not in run.models:
        raise NotFoundError(f"run {run.run_id} has no model {model!r}; it has {run.models}")
    meta = store.read("runs", where="run_id = ?", params=[run.run_id]).iloc[0]
    quantiles = json.loads(meta["quantiles"])
    ids = sorted(run.forecasts["unique_id"].unique())
    history = load_series(store, ids)
    board = None
    backtests = store.sql("SELECT run_id FROM runs WHERE kind='backtest' ORDER BY created_at DESC LIMIT 1")
    if not backtests.empty:
        board = read_run(store, str(backtests["run_id"].iloc[0]), kind="backtest").metrics
    products = store.read("products")
    return write_report(out_dir, history=history, forecast=run.forecasts, model=model,
                        quantiles=quantiles, run_id=run.run_id, products=products,
                        leaderboard=board, notes=run.notes, lang=lang, n_products=n_products)
