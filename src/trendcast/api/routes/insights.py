"""Insight endpoints over the insight services: trend calls, sentiment alerts, inventory
actions, pricing, purchase propensity.

Each result is computed once per parameters and state of the data (``api.cache``), then
served from memory; the first call takes seconds on a shop of a few hundred products.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from trendcast.api.deps import StoreDep, Viewer
from trendcast.insights.report_notes import localize_note
from trendcast.insights.trend_rules import CLASSES
from trendcast.services.inventory import inventory_actions
from trendcast.services.inventory import records as table_records
from trendcast.services.pricing import price_report
from trendcast.services.propensity import run_propensity
from trendcast.services.sentiment import sentiment_alerts
from trendcast.services.trends import calls_records, trend_calls

router = APIRouter(tags=["insights"])

RunId = Annotated[str | None, Query(max_length=100, description="Forecast run (default the latest).")]
Top = Annotated[int, Query(ge=1, le=10_000, description="Rows to return (most important first).")]


class InsightTable(BaseModel):
    """Rows of an insight, with what was assumed to compute them."""

    run_id: str | None = Field(None, description="The forecast run used, if any.")
    model: str | None = Field(None, description="The model of that run used, if any.")
    total: int = Field(description="Rows before `top` and filters were applied.")
    notes: list[str] = Field(description="What was assumed or left out, in the language asked for.")
    notes_en: list[str] | None = Field(None, description="The notes as written, when `lang` is not en.")
    assumptions: dict[str, Any]
    items: list[dict[str, Any]]


def _notes(notes: list[str], lang: str) -> dict[str, list[str] | None]:
    """``notes`` and ``notes_en`` of an answer in ``lang`` (the report's patterns)."""
    if lang == "en":
        return {"notes": notes, "notes_en": None}
    return {"notes": [localize_note(n, lang) for n in notes], "notes_en": notes}


def jsonable(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, dates -> ISO text, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


@router.get("/trends", response_model=InsightTable)
def trends(
    request: Request,
    store: StoreDep,
    _: Viewer,
    level: Annotated[Literal["product", "brand", "category"], Query()] = "product",
    trend: Annotated[Literal[CLASSES] | None, Query(description="Only this class.")] = None,  # type: ignore[valid-type]
    top: Annotated[int | None, Query(ge=1, le=10_000, description="The top N calls of each class.")] = None,
    lang: Annotated[Literal["en", "zh"], Query(description="Language of the reasons.")] = "en",
    run_id: RunId = None,
) -> InsightTable:
    """Every product (or brand / category) called emerging, rising, seasonal_peak_ahead,
    declining or steady, ranked within its class, with the reason and the signals."""
    calls = request.app.state.results.get(
        ("trends", level, lang, run_id), lambda: trend_calls(store, level=level, run_id=run_id, lang=lang))
    rows = calls if trend is None else calls[calls["trend"] == trend]
    assumptions = calls.attrs.get("assumptions", {})
    return InsightTable(run_id=assumptions.get("forecast_run"), model=assumptions.get("forecast_col"),
                        total=len(calls), **_notes(calls.attrs.get("notes", []), lang),
                        assumptions=jsonable(assumptions), items=jsonable(calls_records(rows, top=top)))


@router.get("/alerts", response_model=InsightTable)
def alerts(
    request: Request,
    store: StoreDep,
    _: Viewer,
    source: Annotated[Literal["auto", "model", "rating"], Query(
        description="Sentiment from the stars where 80% of reviews have them, else the text (auto), "
                    "from the review text (model) or from the stars (rating).")] = "auto",
    since: Annotated[date | None, Query(description="Only alerts active on or after this day.")] = None,
    lang: Annotated[Literal["en", "zh"], Query(description="Language of the reasons.")] = "en",
    top: Top = 100,
) -> InsightTable:
    """Negative-sentiment alerts: products whose share of negative reviews jumped above their
    own past, with the reason and the keywords of the complaints."""
    result = request.app.state.results.get(
        ("alerts", source, since), lambda: sentiment_alerts(
            store, source=source, since=None if since is None else since.isoformat()))
    return InsightTable(run_id=None, model=None, total=len(result.alerts), **_notes(result.notes, lang),
                        assumptions=jsonable(result.assumptions),
                        items=jsonable(result.records(lang)[:top]))


@router.get("/inventory", response_model=InsightTable)
def inventory(
    request: Request,
    store: StoreDep,
    _: Viewer,
    lead_time: Annotated[int, Query(ge=0, le=365, description="Days from order to delivery.")] = 7,
    review: Annotated[int, Query(ge=1, le=365, description="Days between orders.")] = 7,
    service_level: Annotated[float | None, Query(gt=0, lt=1, description=(
        "Target chance of no stock-out per cycle; default from price and cost."))] = None,
    model: Annotated[str | None, Query(max_length=100, description="Model of the run to use.")] = None,
    run_id: RunId = None,
    top: Top = 50,
    calibrate: Annotated[bool | None, Query(description=(
        "Order-up-to levels calibrated on the stored backtests of the model; default when one "
        "fits, true makes a missing one an error (422), false never."))] = None,
) -> InsightTable:
    """Order-up-to levels and reorder points per product from the forecast's quantiles, most
    urgent first (levels calibrated on the model's backtests when there is one; the notes and
    ``assumptions.calibration`` say which). Order quantities and stock-out risks need on-hand
    stock, which the API does not take yet (use `trendcast inventory --stock FILE`)."""
    result = request.app.state.results.get(
        ("inventory", lead_time, review, service_level, model, run_id, calibrate),
        lambda: inventory_actions(store, run_id=run_id, model=model, lead_time=lead_time,
                                  review=review, service_level=service_level, calibrate=calibrate))
    return InsightTable(run_id=result.run_id, model=result.model, total=len(result.table),
                        notes=result.notes, assumptions=jsonable(result.assumptions),
                        items=jsonable(table_records(result.table.head(top))))


@router.get("/pricing", response_model=InsightTable)
def pricing(
    request: Request,
    store: StoreDep,
    _: Viewer,
    ids: Annotated[list[str] | None, Query(alias="id", max_length=1000,
                                           description="Only these products (repeat id=...).")] = None,
    change: Annotated[float | None, Query(gt=-1, le=10, description=(
        "Relative price change for the what-if, e.g. -0.1 for 10% off."))] = None,
    objective: Annotated[Literal["margin", "revenue", "units", "profit"], Query(
        description="What the suggested price maximises (profit: same as margin).")] = "margin",
    low: Annotated[float, Query(gt=0, le=1, description="Lowest suggested price / current.")] = 0.8,
    high: Annotated[float, Query(ge=1, le=10, description="Highest suggested price / current.")] = 1.2,
    cost_share: Annotated[float, Query(ge=0, lt=1, description=(
        "Unit cost / current price for products without a catalogue unit_cost."))] = 0.6,
    min_margin: Annotated[float | None, Query(ge=0, lt=1, description=(
        "Lowest (price - cost) / price a suggested price may have."))] = None,
    horizon: Annotated[int, Query(ge=1, le=365, description=(
        "Days a new price holds; a cut may not sell more than the stock on hand in them."))] = 28,
    top: Top = 50,
) -> InsightTable:
    """Price elasticity per product (own / shrunk / pooled), demand, revenue and margin now,
    after a price change, and at the price that maximises the objective within [low, high] x
    the current price, the minimum margin and the stock; `decision` change / keep and `reason`.
    Suggested changes first, biggest gain first."""
    key = ("pricing", tuple(sorted(ids or [])), change, objective, low, high, cost_share, min_margin,
           horizon)
    result = request.app.state.results.get(
        key, lambda: price_report(store, ids=ids, change=change, bounds=(low, high), objective=objective,
                                  cost_share=cost_share, min_margin=min_margin, horizon_days=horizon))
    return InsightTable(run_id=None, model=None, total=len(result.table), notes=result.notes,
                        assumptions=jsonable(result.assumptions),
                        items=jsonable(table_records(result.table.head(top))))


@router.get("/propensity", response_model=InsightTable)
def propensity(
    request: Request,
    store: StoreDep,
    _: Viewer,
    days: Annotated[int, Query(ge=1, le=60, description="Predict purchases in the next this-many days.")] = 3,
    level: Annotated[Literal["item", "category"], Query(
        description="user x item or user x category.")] = "item",
    k: Annotated[int, Query(ge=1, le=100_000, description=(
        "Length of the contact list: precision@k chooses the model."))] = 100,
    top: Top = 50,
) -> InsightTable:
    """Who is likely to buy what: the pairs active now with their calibrated probability, from
    LightGBM, their rank blend or the recency-frequency baseline (a challenger only when its lead
    on a validation cutoff clears the bootstrap noise: `model`, and why in the notes); holdout
    metrics, calibration and the rates given to pairs without recent activity in `assumptions`."""
    key = ("propensity", days, level, k, top)
    result = request.app.state.results.get(
        key, lambda: run_propensity(store, days=days, level=level, top=top, k=k))
    assumptions = {"level": result.level, "days": result.days, "k": k, "selection": result.selection,
                   "holdout": result.holdout, "calibration": result.calibration,
                   "counts": result.counts, "split": result.split,
                   "segments": result.segments.to_dict(orient="records")}
    return InsightTable(run_id=None, model=result.model, total=len(result.scores), notes=result.notes,
                        assumptions=jsonable(assumptions),
                        items=jsonable(result.scores.to_dict(orient="records")))
