"""Price elasticities from the stored sales and what a price change would do to demand and
revenue (see ``trendcast.insights.pricing`` for the method)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trendcast.data.queries import no_sales
from trendcast.data.store import Store
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.insights.pricing import (
    ElasticityOptions,
    check_bounds,
    elasticities,
    suggest_price,
    what_if,
)
from trendcast.services.inventory import records

BASE_DAYS = 28


@dataclass
class PricingResult:
    """Per-product elasticity, current demand and revenue, the what-if and the suggestion."""

    table: pd.DataFrame
    assumptions: dict[str, object]
    notes: list[str] = field(default_factory=list)

    def as_dict(self, top: int | None = None) -> dict[str, object]:
        table = self.table if top is None else self.table.head(top)
        return {"assumptions": self.assumptions, "notes": self.notes, "products": records(table)}


def _scope(store: Store, ids: Sequence[str] | None, groups: Sequence[str]) -> list[str] | None:
    """The products to estimate: ``ids`` and every product sharing a pooling group with them."""
    if not ids:
        return None
    known = set(store.series_ids(ids))
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFoundError(f"no sales for product id(s) {missing[:10]}; `trendcast info` lists the data")
    products = store.products()
    scope = set(ids)
    for level in groups:
        if level in products.columns:
            wanted = products.loc[products["unique_id"].isin(ids), level].dropna()
            scope |= set(products.loc[products[level].isin(wanted), "unique_id"])
    return sorted(scope)


def price_report(
    store: Store,
    *,
    ids: Sequence[str] | None = None,
    change: float | None = None,
    bounds: tuple[float, float] = (0.8, 1.2),
    objective: str = "revenue",
    cost_share: float = 0.6,
    options: ElasticityOptions = ElasticityOptions(),  # noqa: B008 (frozen, safe to share)
) -> PricingResult:
    """Elasticity per product, demand and revenue now, after a relative price ``change`` and at
    the price within ``bounds`` (relative to the current price) that maximises the objective.

    Args:
        store: the workspace.
        ids: products to report (default all); their departments and categories are estimated
            too, since pooling needs them.
        change: relative price change for the what-if, e.g. -0.1 for 10% off.
        bounds: lowest and highest suggested price as multiples of the current price.
        objective: "revenue", or "profit" with unit cost = ``cost_share`` x current price.
        cost_share: unit cost as a share of the current price (profit objective only).
        options: elasticity fit settings.
    """
    if objective not in ("revenue", "profit"):
        raise DataValidationError(f"objective must be 'revenue' or 'profit', got {objective!r}")
    check_bounds(bounds)
    if change is not None and change <= -1:
        raise DataValidationError(f"a price change must be > -100%, got {change:+.0%}")
    groups = ("department", "category")
    scope = _scope(store, ids, groups)
    sales = store.sales(scope)
    if sales.empty:
        raise no_sales()
    if sales["price"].isna().all():
        raise DataValidationError("the sales have no prices; elasticities need a 'price' column "
                                  "(trendcast ingest sales.csv with unique_id,ds,y,price)")
    est = elasticities(sales, events=store.calendar(), products=store.products(),
                       groups=groups, options=options)
    promo_effect = est.attrs.get("promo_effect")
    if ids:
        est = est[est["unique_id"].isin(ids)]
    recent = sales[sales["ds"] > sales.groupby("unique_id")["ds"].transform("max")
                   - pd.Timedelta(days=BASE_DAYS)]
    base = recent.groupby("unique_id")["y"].mean().rename("base_demand")
    price = sales.dropna(subset=["price"]).sort_values("ds").groupby("unique_id")["price"].last()
    t = est.merge(base, left_on="unique_id", right_index=True, how="left")
    t["price"] = t["unique_id"].map(price)
    t = t[["unique_id", "price", "base_demand", *[c for c in est.columns if c != "unique_id"]]]
    t["revenue"] = t["base_demand"] * t["price"]
    cost = t["price"] * cost_share if objective == "profit" else None
    if change is not None:
        w = what_if(t["elasticity"], t["base_demand"], t["price"], t["price"] * (1 + change))
        t["change_price"] = w["new_price"].to_numpy()
        t["change_demand"] = w["new_demand"].to_numpy()
        t["change_revenue"] = w["new_revenue"].to_numpy()
    best, why = suggest_price(t["elasticity"].to_numpy(), t["price"].to_numpy(), bounds=bounds,
                              unit_cost=None if cost is None else cost.to_numpy())
    ok = np.isfinite(best)
    w = what_if(np.where(ok, t["elasticity"], 0.0), t["base_demand"], t["price"],
                np.where(ok, best, t["price"]), unit_cost=None if cost is None else cost.to_numpy())
    t["suggested_price"] = best
    t["suggested_demand"] = np.where(ok, w["new_demand"], np.nan)
    t["suggested_revenue"] = np.where(ok, w["new_revenue"], np.nan)
    if cost is not None:
        t["unit_cost"] = cost.to_numpy()
        t["profit"] = w["profit"].to_numpy()
        t["suggested_profit"] = np.where(ok, w["new_profit"], np.nan)
    tried = [best] + ([t["change_price"].to_numpy()] if change is not None else [])
    outside = np.zeros(len(t), dtype=bool)
    for p in tried:
        outside |= np.isfinite(p) & ((p < t["price_min"] * 0.999) | (p > t["price_max"] * 1.001))
    t["extrapolated"] = outside
    t["note"] = [_join(n, w_, "price outside the observed range: extrapolated" if x else "")
                 for n, w_, x in zip(t["note"], why, outside, strict=True)]
    gain = (t["suggested_profit"] / t["profit"] if cost is not None
            else t["suggested_revenue"] / t["revenue"]) - 1
    t = t.assign(_gain=gain.fillna(-np.inf)).sort_values("_gain", ascending=False).drop(columns="_gain")
    notes = [f"demand now = mean daily sales over each product's last {BASE_DAYS} days; "
             "price now = its last price"]
    if objective == "profit":
        notes.append(f"unit cost assumed {cost_share:.0%} of the current price")
    assumptions = {"objective": objective, "bounds": list(bounds), "change": change,
                   "base_days": BASE_DAYS, "model": "Poisson GLM, log demand on log price + controls",
                   "promo_effect": promo_effect,
                   **({"cost_share": cost_share} if objective == "profit" else {}),
                   "min_changes": options.min_changes}
    return PricingResult(t.reset_index(drop=True), assumptions, notes)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
