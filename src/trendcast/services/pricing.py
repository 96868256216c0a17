"""Price elasticities from the stored sales, what a price change would do to demand, revenue
and margin, and the price to set (see ``trendcast.insights.pricing`` for the method)."""

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
    PriceRules,
    current_prices,
    elasticities,
    price_decisions,
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


def _stock_on_hand(store: Store) -> pd.Series:
    """The latest stored stock on hand per product (empty without a stock table)."""
    stock = store.read("stock_history")
    if stock.empty:
        return pd.Series(dtype=float)
    stock = stock.dropna(subset=["on_hand"]).sort_values("ds")
    return stock.groupby("unique_id")["on_hand"].last().astype(float)


def price_report(
    store: Store,
    *,
    ids: Sequence[str] | None = None,
    change: float | None = None,
    bounds: tuple[float, float] = (0.8, 1.2),
    objective: str = "margin",
    cost_share: float = 0.6,
    min_margin: float | None = None,
    horizon_days: int = BASE_DAYS,
    options: ElasticityOptions = ElasticityOptions(),  # noqa: B008 (frozen, safe to share)
) -> PricingResult:
    """Elasticity per product, demand, revenue and margin now, after a relative price
    ``change``, and at the price that maximises the objective within the constraints, with a
    decision (change / keep) and its reason.

    Args:
        store: the workspace.
        ids: products to report (default all); their departments and categories are estimated
            too, since pooling needs them.
        change: relative price change for the what-if, e.g. -0.1 for 10% off.
        bounds: lowest and highest suggested price as multiples of the current price.
        objective: "revenue", "margin" ("profit" is read as margin) or "units".
        cost_share: unit cost as a share of the current regular price for products whose
            catalogue row has no ``unit_cost``.
        min_margin: lowest (price - unit cost) / price a suggested price may have.
        horizon_days: days a new price holds; with stock on hand stored, a cut may not sell
            more than that stock over these days.
        options: elasticity fit settings.
    """
    rules = PriceRules(objective=objective, bounds=bounds, min_margin=min_margin,
                       horizon_days=horizon_days)
    if not 0 <= cost_share < 1:
        raise DataValidationError(f"cost share must be in [0, 1), got {cost_share}")
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
    products = store.products()
    est = elasticities(sales, events=store.calendar(), products=products,
                       groups=groups, options=options)
    promo_effect = est.attrs.get("promo_effect")
    if ids:
        est = est[est["unique_id"].isin(ids)]
    price, base = current_prices(sales, BASE_DAYS)
    t = est.copy()
    t.insert(1, "price", t["unique_id"].map(price))
    t.insert(2, "base_demand", t["unique_id"].map(base))
    catalogue_cost = (products.set_index("unique_id")["unit_cost"] if "unit_cost" in products.columns
                      else pd.Series(dtype=float))
    known = t["unique_id"].map(catalogue_cost).astype(float)
    t.insert(3, "unit_cost", known.fillna(t["price"] * cost_share))
    t.insert(4, "cost_source", np.where(known.notna(), "catalogue", f"default {cost_share:.0%} of price"))
    stock = _stock_on_hand(store)
    t["on_hand"] = t["unique_id"].map(stock).astype(float)
    t["revenue"] = t["base_demand"] * t["price"]
    t["margin"] = t["base_demand"] * (t["price"] - t["unit_cost"])
    if change is not None:
        w = what_if(t["elasticity"], t["base_demand"], t["price"], t["price"] * (1 + change),
                    unit_cost=t["unit_cost"])
        t["change_price"] = w["new_price"].to_numpy()
        t["change_demand"] = w["new_demand"].to_numpy()
        t["change_revenue"] = w["new_revenue"].to_numpy()
        t["change_margin"] = w["new_profit"].to_numpy()
    d = price_decisions(t, rules)
    t["optimal_price"] = d["optimal_price"]
    t["suggested_price"] = d["suggested_price"]
    t["decision"] = d["decision"]
    t["reason"] = d["reason"]
    t["suggested_demand"] = d["demand_new"]
    t["suggested_revenue"] = d["revenue_new"]
    t["suggested_margin"] = d["margin_new"]
    tried = [t["optimal_price"].to_numpy()] + ([t["change_price"].to_numpy()] if change is not None else [])
    outside = np.zeros(len(t), dtype=bool)
    for p in tried:
        outside |= np.isfinite(p) & ((p < t["price_min"] * 0.999) | (p > t["price_max"] * 1.001))
    t["extrapolated"] = outside
    t["note"] = [_join(n, "price outside the observed range: extrapolated" if x else "")
                 for n, x in zip(t["note"], outside, strict=True)]
    value = {"revenue": ("revenue", "suggested_revenue"), "margin": ("margin", "suggested_margin"),
             "units": ("base_demand", "suggested_demand")}[rules.objective]
    gain = t[value[1]] - t[value[0]]
    t = (t.assign(_change=t["decision"] == "change", _gain=gain.fillna(-np.inf))
         .sort_values(["_change", "_gain"], ascending=False).drop(columns=["_change", "_gain"]))
    n_default = int((t["cost_source"] != "catalogue").sum())
    notes = [f"price now = each product's last regular (non-promotion) price; demand now = its "
             f"mean daily units over its last {BASE_DAYS} days without a promotion",
             "a change is suggested only where the elasticity is the product's own or shrunk "
             "toward its group and its 95% interval lies below 0; otherwise the row says keep "
             "and why"]
    if n_default:
        notes.append(f"unit cost assumed {cost_share:.0%} of the current price for {n_default} of "
                     f"{len(t)} product(s) without a catalogue unit_cost (set with --cost-share)")
    if stock.empty:
        notes.append("no stock on hand stored: price cuts are not limited by stock")
    assumptions = {"objective": rules.objective, "bounds": list(bounds), "change": change,
                   "min_margin": min_margin, "horizon_days": horizon_days,
                   "base_days": BASE_DAYS, "model": "Poisson GLM, log demand on log price + controls",
                   "promo_effect": promo_effect, "cost_share": cost_share,
                   "products_with_default_cost": n_default,
                   "products_with_stock": int(t["on_hand"].notna().sum()),
                   "min_changes": options.min_changes,
                   "decisions": {k: int(v) for k, v in t["decision"].value_counts().items()},
                   "estimates": {k: int(v) for k, v in t["estimate"].value_counts().items()}}
    return PricingResult(t.reset_index(drop=True), assumptions, notes)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
