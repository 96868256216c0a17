"""Read endpoints: series, their history, stored runs, forecasts and leaderboards."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from trendcast.api.deps import StoreDep, Viewer
from trendcast.api.schemas import (
    ChosenModel,
    ForecastRow,
    Leaderboard,
    LeaderboardRow,
    Product,
    Run,
    RunForecasts,
    RunPage,
    Scenario,
    ScenarioRow,
    SeriesHistory,
    SeriesItem,
    SeriesPage,
)
from trendcast.data.store import Store
from trendcast.services import browse, run_choice

router = APIRouter(tags=["data"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (at most 1000).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
RunId = Annotated[str, Path(max_length=100, description="A run id from GET /api/runs.")]


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _none(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _run(info: browse.RunInfo, store: Store | None = None) -> Run:
    """A run; with ``store``, a forecast run also says which model represents it."""
    chosen = None
    if store is not None and info.kind == "forecast" and info.models:
        c = run_choice.representative_model(store, info.run_id)
        chosen = ChosenModel(model=c.model, rule=c.rule, reason=c.reason, backtest_id=c.backtest_id)
    return Run(run_id=info.run_id, kind=info.kind, created_at=info.created_at.to_pydatetime(),
               models=info.models, horizon=info.horizon, freq=info.freq, quantiles=info.quantiles,
               n_series=info.n_series, notes=info.notes, params=info.params, chosen=chosen)


@router.get("/series", response_model=SeriesPage)
def list_series(
    request: Request,
    store: StoreDep,
    _: Viewer,
    limit: Limit = 100,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200, description="Part of an id or title.")] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
) -> SeriesPage:
    """Series with sales, by id: rows, first and last day, total units."""
    # The per-series figures change only with uploads: computed once per state of the data.
    stats = request.app.state.results.get(("series_stats",), lambda: browse.series_stats(store))
    page = browse.page_series(stats, limit=limit, offset=offset, q=q, category=category)
    items = [SeriesItem(unique_id=r.unique_id, title=_none(r.title), category=_none(r.category),
                        rows=int(r.rows), start=r.start.date(), end=r.end.date(),
                        total_sales=float(r.total_sales))
             for r in page.rows.itertuples()]
    return SeriesPage(total=page.total, limit=limit, offset=offset, items=items)


@router.get("/series/{unique_id}", response_model=SeriesHistory)
def series_history(unique_id: Annotated[str, Path(max_length=200)], store: StoreDep,
                   _: Viewer) -> dict[str, Any]:
    """A series' catalogue entry and its sales history."""
    entry, history = browse.series_history(store, unique_id)
    product = {k: _none(v) for k, v in entry.items() if k in Product.model_fields}
    if product.get("launch_date") is not None:
        product["launch_date"] = pd.Timestamp(product["launch_date"]).date()
    columns = (history["ds"].dt.date.tolist(), history["y"].tolist(),
               [_num(v) for v in history["price"].tolist()], [_num(v) for v in history["promo"].tolist()])
    points = [{"ds": ds, "y": y, "price": price, "promo": promo}
              for ds, y, price, promo in zip(*columns, strict=True)]
    # Plain dicts: FastAPI validates them against SeriesHistory once, in pydantic-core.
    return {"unique_id": unique_id, "product": product, "history": points}


@router.get("/runs", response_model=RunPage)
def list_runs(
    store: StoreDep,
    _: Viewer,
    kind: Annotated[Literal["forecast", "backtest"] | None, Query(description="Only this kind.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunPage:
    """Stored forecast and backtest runs, newest first."""
    total, runs = browse.list_runs(store, kind=kind, limit=limit, offset=offset)
    return RunPage(total=total, limit=limit, offset=offset, items=[_run(r) for r in runs])


@router.get("/runs/{run_id}", response_model=Run)
def get_run(run_id: RunId, store: StoreDep, _: Viewer) -> Run:
    """One run's metadata and notes; a forecast run's ``chosen`` model (the one the report and
    dashboard show for it)."""
    return _run(browse.get_run(store, run_id), store)


@router.get("/runs/{run_id}/forecasts", response_model=RunForecasts)
def run_forecasts(
    run_id: RunId,
    store: StoreDep,
    _: Viewer,
    ids: Annotated[list[str] | None, Query(alias="id", max_length=1000,
                                           description="Only these series (repeat id=...).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Series per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Series to skip.")] = 0,
) -> RunForecasts:
    """A run's forecasts, one row per series and date (and cutoff, for backtests), with every
    model's point forecast and quantiles."""
    info, total, rows = browse.run_forecast_records(store, run_id, ids=ids, limit=limit, offset=offset)
    return RunForecasts(run=_run(info, store), total_series=total, limit=limit, offset=offset,
                        items=[ForecastRow(**r) for r in rows])


def _board(info: browse.RunInfo, board: pd.DataFrame) -> Leaderboard:
    metrics = [c for c in board.columns if c != "model"]
    rows = [LeaderboardRow(model=str(r["model"]), metrics={m: _num(r[m]) for m in metrics})
            for r in board.to_dict(orient="records")]
    return Leaderboard(run=_run(info), rows=rows)


@router.get("/runs/{run_id}/leaderboard", response_model=Leaderboard)
def run_leaderboard(run_id: RunId, store: StoreDep, _: Viewer) -> Leaderboard:
    """A backtest run's metrics per model (MAE, RMSE, MASE, RMSSE, WAPE, sMAPE, WQL, coverage)."""
    return _board(*browse.leaderboard(store, run_id))


@router.get("/leaderboard", response_model=Leaderboard)
def latest_leaderboard(store: StoreDep, _: Viewer) -> Leaderboard:
    """The leaderboard of the latest backtest."""
    return _board(*browse.leaderboard(store))


@router.get("/runs/{run_id}/scenario", response_model=Scenario)
def run_scenario(run_id: RunId, store: StoreDep, _: Viewer) -> Scenario:
    """A forecast run's what-if plan beside its baseline: per model and planned product (and
    ``TOTAL``) units, revenue and margin over the horizon, with intervals. 404 when the run
    was made without a plan."""
    info, sc = browse.run_scenario(store, run_id)
    rows = [ScenarioRow(model=str(r["model"]), unique_id=str(r["unique_id"]),
                        values={k: _num(v) for k, v in r.items() if k not in ("model", "unique_id")})
            for r in sc["compare"]]
    unchanged = [m for m in info.models if m not in sc["models"]]
    notes = [n for n in info.notes if "intervals are" in n or "unit cost" in n or "no covariates" in n
             or n.startswith("what-if")]
    return Scenario(run_id=info.run_id, source=str(sc["source"]), models=list(sc["models"]),
                    unchanged=unchanged, cost_share=float(sc["cost_share"]), plan=sc["plan"],
                    rows=rows, notes=notes)

