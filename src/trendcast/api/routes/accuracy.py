"""Live forecast accuracy and drift alerts (what `trendcast monitor` shows).

Reads the scores `trendcast update` and `trendcast monitor` store as actuals arrive; a GET
never writes, so a forecast not scored yet appears after the next update or monitor run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from trendcast.api.deps import StoreDep, Viewer
from trendcast.api.routes.insights import jsonable
from trendcast.services.monitor import accuracy as accuracy_table
from trendcast.services.monitor import drift_alerts

router = APIRouter(tags=["accuracy"])


class AccuracyTable(BaseModel):
    """Pooled live accuracy per group, with the latest backtest's expectation per model."""

    level: str
    items: list[dict[str, Any]] = Field(description="n, MAE, WAPE, MASE, bias, WQL, coverage, "
                                                    "expected_WAPE, expected_MASE per group.")
    alerts: list[dict[str, Any]] = Field(description=(
        "Drift alerts (sales errors and, for products, complaints), newest first; "
        "`signal` says which fired."))
    waiting: int = Field(0, description=(
        "Product-dates the forecasts cover that have no row though the product sold in every "
        "period before and the rest of the shop reported: most likely left out of an export, "
        "not scored until their rows arrive."))


@router.get("/accuracy", response_model=AccuracyTable)
def accuracy(
    store: StoreDep,
    _: Viewer,
    level: Annotated[Literal["run", "step", "product", "category", "week", "category-week",
                             "period", "category-period"],
                     Query(description="How errors are pooled (period: the workspace's own, "
                                       "e.g. a month of a monthly shop).")] = "run",
    model: Annotated[str | None, Query(max_length=200, description="Only this model.")] = None,
    alerts: Annotated[bool, Query(description="Include drift alerts.")] = True,
) -> AccuracyTable:
    """Accuracy of stored forecasts over time against the backtest's expectation."""
    board = accuracy_table(store, level=level, model=model, score=False)
    found = drift_alerts(store, model=model, score=False) if alerts else None
    return AccuracyTable(level=level, items=jsonable(board.to_dict(orient="records")),
                         alerts=[] if found is None else jsonable(found.to_dict(orient="records")),
                         waiting=store.waiting_scores())
