"""Read use cases for the API and dashboard: series, their history, stored runs, a run's
forecasts for some series, and backtest leaderboards, paginated in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.schema import format_quantile
from trendcast.services.forecast import wide_forecasts

RUN_KINDS = ("forecast", "backtest")


@dataclass
class Page:
    """One page of rows and the total count over all pages."""

    total: int
    rows: pd.DataFrame


@dataclass
class RunInfo:
    """A stored run's metadata."""

    run_id: str
    kind: str
    created_at: pd.Timestamp
    models: list[str]
    horizon: int | None
    freq: str | None
    quantiles: list[float]
    n_series: int | None
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def series_stats(store: Store) -> pd.DataFrame:
    """One row per series with sales: id, title, category, rows, first and last day, total
    units, in id order."""
    return store.series_stats()


def page_series(stats: pd.DataFrame, *, limit: int = 100, offset: int = 0, q: str | None = None,
                category: str | None = None) -> Page:
    """A page of :func:`series_stats`, optionally those whose id or title contains ``q``
    (case-insensitive, literally) and of one ``category``."""
    keep = pd.Series(True, index=stats.index)
    if q:
        needle = q.lower()
        keep &= (stats["unique_id"].str.lower().str.contains(needle, regex=False)
                 | stats["title"].fillna("").str.lower().str.contains(needle, regex=False))
    if category:
        keep &= stats["category"] == category
    chosen = stats[keep]
    return Page(len(chosen), chosen.iloc[offset:offset + limit])


def list_series(store: Store, *, limit: int = 100, offset: int = 0, q: str | None = None,
                category: str | None = None) -> Page:
    """Series with sales (id, title, category, rows, first/last day, total units), by id."""
    return page_series(series_stats(store), limit=limit, offset=offset, q=q, category=category)


def series_history(store: Store, unique_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """A series' catalogue entry and its stored sales (ds, y, price, promo), by date."""
    history = store.sales([unique_id], columns=["ds", "y", "price", "promo"])
    product = store.products([unique_id])
    if history.empty:
        hint = " (it is in the catalogue but has no sales)" if len(product) else ""
        raise NotFoundError(f"no series {unique_id!r}{hint}; GET /api/series lists them")
    entry = product.iloc[0].to_dict() if len(product) else {"unique_id": unique_id}
    return entry, history


def run_info(row: dict[str, Any]) -> RunInfo:
    """A stored run row (``Store.run_row``) as :class:`RunInfo`."""
    return RunInfo(
        run_id=str(row["run_id"]), kind=str(row["kind"]), created_at=row["created_at"],
        models=row["models"], horizon=row["horizon"], freq=row["freq"],
        quantiles=row["quantiles"], n_series=row["n_series"], notes=row["notes"],
        params=row["params"],
    )


def list_runs(store: Store, *, kind: str | None = None, limit: int = 50,
              offset: int = 0) -> tuple[int, list[RunInfo]]:
    """Stored runs, newest first, optionally of one kind."""
    total, rows = store.run_rows(kind=kind, limit=limit, offset=offset)
    return total, [run_info(r) for r in rows]


def get_run(store: Store, run_id: str) -> RunInfo:
    """One run's metadata; NotFoundError if there is none."""
    row = store.run_row(run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id!r}; GET /api/runs lists the stored runs")
    return run_info(row)


def latest_run(store: Store, kind: str) -> RunInfo:
    """The newest run of ``kind``."""
    row = store.latest_run_row(kind)
    if row is None:
        raise NotFoundError(f"no {kind} run stored yet; start one with POST /api/jobs/{kind}")
    return run_info(row)


def run_forecasts(store: Store, run_id: str, *, ids: Sequence[str] | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[RunInfo, int, pd.DataFrame]:
    """A run's forecasts as wide rows (``unique_id, ds[, cutoff], <Model>, <Model>-q-<q>``).

    With ``ids``, only those series (unknown ones raise NotFoundError); otherwise a page of
    ``limit`` series from ``offset``, in id order. Returns the run, the number of series
    selected before paging, and the rows.
    """
    run, total, long = _forecast_rows(store, run_id, ids, limit, offset)
    return run, total, wide_forecasts(long) if len(long) else pd.DataFrame(columns=["unique_id", "ds"])


def run_forecast_records(store: Store, run_id: str, *, ids: Sequence[str] | None = None,
                         limit: int = 100, offset: int = 0) -> tuple[RunInfo, int, list[dict[str, Any]]]:
    """As :func:`run_forecasts`, as records ``{unique_id, ds, cutoff, values: {column: value}}``
    (dates as ``datetime.date``, missing values as None), without building a frame."""
    run, total, long = _forecast_rows(store, run_id, ids, limit, offset)
    labels = {q: format_quantile(q) for q in long["quantile"].dropna().unique()}
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    columns = (long[c].tolist() for c in ("unique_id", "ds", "cutoff", "model", "quantile", "value"))
    for uid, ds, cutoff, model, q, value in zip(*columns, strict=True):
        cut = None if pd.isna(cutoff) else cutoff.date()
        row = rows.get((uid, ds, cut))
        if row is None:
            row = rows[(uid, ds, cut)] = {"unique_id": uid, "ds": ds.date(), "cutoff": cut, "values": {}}
        name = model if pd.isna(q) else f"{model}-q-{labels[q]}"
        row["values"][name] = None if pd.isna(value) or not np.isfinite(value) else float(value)
    ordered = sorted(rows.values(), key=lambda r: (r["unique_id"], r["cutoff"] or r["ds"], r["ds"]))
    return run, total, ordered


def _forecast_rows(store: Store, run_id: str, ids: Sequence[str] | None, limit: int,
                   offset: int) -> tuple[RunInfo, int, pd.DataFrame]:
    """The run, the number of series selected, and the long rows of one page of series."""
    run = get_run(store, run_id)
    if ids:
        wanted = sorted(dict.fromkeys(ids))
        total, selected = len(wanted), wanted[offset:offset + limit]
    else:
        ids_all = store.run_series(run_id)
        total, selected = len(ids_all), ids_all[offset:offset + limit]
    long = store.run_forecasts(run_id, selected)
    if ids:
        missing = sorted(set(selected) - set(long["unique_id"]))
        if missing:
            raise NotFoundError(f"run {run_id} has no forecasts for {missing[:10]}")
    return run, total, long


def leaderboard(store: Store, run_id: str | None = None) -> tuple[RunInfo, pd.DataFrame]:
    """A backtest run's metrics per model (the latest backtest when ``run_id`` is None)."""
    run = latest_run(store, "backtest") if run_id is None else get_run(store, run_id)
    if run.kind != "backtest":
        raise NotFoundError(f"run {run.run_id} is a {run.kind} run; leaderboards come from "
                            "backtest runs (GET /api/runs?kind=backtest)")
    metrics = store.run_metrics(run.run_id)
    if metrics.empty:
        return run, pd.DataFrame(columns=["model"])
    board = metrics.pivot_table(index="model", columns="metric", values="value").reset_index()
    board.columns.name = None
    if "MASE" in board.columns:
        board = board.sort_values("MASE", ignore_index=True, na_position="last")
    return run, board


def run_scenario(store: Store, run_id: str | None = None) -> tuple[RunInfo, dict[str, Any]]:
    """A forecast run's what-if plan and its comparison with the baseline (``params["scenario"]``:
    source, models, cost_share, plan, compare), the latest forecast run when ``run_id`` is None;
    NotFoundError if the run was made without a plan."""
    info = get_run(store, run_id) if run_id is not None else latest_run(store, "forecast")
    found = (info.params or {}).get("scenario")
    if not found:
        raise NotFoundError(f"run {info.run_id} was made without a plan; forecast with `trendcast "
                            "forecast --scenario plan.csv` (or a scenario in POST /api/jobs/forecast)")
    return info, found

