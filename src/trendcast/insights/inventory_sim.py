"""Simulate a periodic-review order-up-to policy on realised demand, day by day, and the rule of
thumb it is compared with.

Each day t (0-based): orders due that day arrive; on a review day (t % R == 0) the order
``max(0, S_t - on hand - on order)`` is placed and arrives after L days; then demand is
served from stock and what cannot be served is lost (no backorders). Units held are counted
at the end of each day. Orders that would arrive after the last day are placed but never
delivered inside the simulation.

Costs (``with_costs``): holding = units on hand at the end of each day x the unit cost x
an annual holding rate / 365; a lost sale costs its margin (price - unit cost). Total cost =
holding + lost sales. The assumptions are ``CostAssumptions``; M5 publishes sell prices but no
unit costs, hence the cost share of price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError


@dataclass(frozen=True)
class CostAssumptions:
    """Unit costs of a simulated policy, per item from its sell price."""

    holding_rate: float = 0.25  # per year, as a share of the unit cost (capital, space, shrink)
    cost_share: float = 0.6  # unit cost = this share of the sell price
    # a lost sale costs the margin, price x (1 - cost_share)

    def __post_init__(self) -> None:
        if not self.holding_rate >= 0:
            raise DataValidationError(f"holding_rate must be >= 0 per year; got {self.holding_rate}")
        if not 0 <= self.cost_share <= 1:
            raise DataValidationError("cost_share must lie in [0, 1] (unit cost / price); "
                                      f"got {self.cost_share}")

    def holding_per_unit_day(self, price: np.ndarray) -> np.ndarray:
        return np.asarray(price, dtype=float) * self.cost_share * self.holding_rate / 365.0

    def lost_sale(self, price: np.ndarray) -> np.ndarray:
        return np.asarray(price, dtype=float) * (1.0 - self.cost_share)


@dataclass(frozen=True)
class PolicyResult:
    """Per-item outcome (``items``) and the totals of a simulated policy."""

    items: pd.DataFrame  # demand, sold, lost, fill_rate, mean_on_hand, held_unit_days,
    # stockout_days, days, orders, cycles, short_cycles (review cycles with any lost sale);
    # after with_costs also price, holding_cost, lost_sales_cost, total_cost

    def with_costs(self, price: np.ndarray | pd.Series, costs: CostAssumptions = CostAssumptions()  # noqa: B008
                   ) -> PolicyResult:
        """The same result with per-item costs, ``price`` the sell price per item (same order).

        Raises:
            DataValidationError: a price is missing, negative or of the wrong length.
        """
        p = np.asarray(price, dtype=float)
        if p.shape != (len(self.items),):
            raise DataValidationError(f"price needs one value per item ({len(self.items)}); "
                                      f"got shape {p.shape}")
        bad = np.flatnonzero(np.isnan(p) | (p < 0))
        if len(bad):
            raise DataValidationError(f"price of item {self.items.index[bad[0]]!r} is {p[bad[0]]}; "
                                      "give a sell price >= 0 for every item")
        items = self.items.copy()
        items["price"] = p
        items["holding_cost"] = items["held_unit_days"] * costs.holding_per_unit_day(p)
        items["lost_sales_cost"] = items["lost"] * costs.lost_sale(p)
        items["total_cost"] = items["holding_cost"] + items["lost_sales_cost"]
        return PolicyResult(items)

    def summary(self, mask: np.ndarray | pd.Series | None = None) -> dict[str, float]:
        """Fill rate (units sold / demanded), mean units held per item-day, lost units, the
        share of item-days out of stock and the cycle service level (share of review cycles
        without a lost sale), plus holding, lost-sales and total cost when ``with_costs`` was
        applied, over all items or those where ``mask`` is true."""
        df = self.items if mask is None else self.items[np.asarray(mask, dtype=bool)]
        demand = float(df["demand"].sum())
        costs = {c: float(df[c].sum()) for c in ("holding_cost", "lost_sales_cost", "total_cost")
                 if c in df.columns}
        return {"n_items": len(df), **costs,
                "fill_rate": float(df["sold"].sum() / demand) if demand > 0 else float("nan"),
                "mean_on_hand": float(df["mean_on_hand"].mean()),
                "lost_units": float(df["lost"].sum()), "demand_units": demand,
                "stockout_day_share": float(df["stockout_days"].sum() / (df["days"].sum() or 1)),
                "cycle_service": float(1 - df["short_cycles"].sum() / (df["cycles"].sum() or 1))}


def simulate_order_up_to(demand: np.ndarray, order_up_to: np.ndarray, *, lead_time: int, review: int,
                         start_stock: np.ndarray | None = None, ids: pd.Index | None = None
                         ) -> PolicyResult:
    """Run the policy for every item at once.

    Args:
        demand: realised demand, shape (items, days).
        order_up_to: level S per item (items,) or per item and day (items, days); only review
            days are read.
        lead_time: days from order to arrival (>= 0; 0 arrives the same day, before demand).
        review: days between reviews (>= 1).
        start_stock: on hand before day 0 (default: S on day 0).
        ids: item labels for the result.
    """
    demand = np.asarray(demand, dtype=float)
    if demand.ndim != 2 or (demand < 0).any() or np.isnan(demand).any():
        raise DataValidationError("demand must be an (items, days) array of numbers >= 0")
    n, days = demand.shape
    levels = np.asarray(order_up_to, dtype=float)
    levels = np.repeat(levels[:, None], days, axis=1) if levels.ndim == 1 else levels
    if levels.shape != demand.shape or np.isnan(levels).any():
        raise DataValidationError(f"order_up_to must have shape ({n},) or {demand.shape} without NaN; "
                                  f"got {np.asarray(order_up_to).shape}")
    if lead_time < 0 or review < 1:
        raise DataValidationError(f"lead_time must be >= 0 and review >= 1; got {lead_time}, {review}")
    on_hand = (levels[:, 0] if start_stock is None else np.asarray(start_stock, dtype=float)).copy()
    arrivals = np.zeros((n, days + lead_time + 1))
    on_order = np.zeros(n)
    sold = np.zeros(n)
    held = np.zeros(n)
    out_days = np.zeros(n)
    orders = np.zeros(n)
    short_cycles = np.zeros(n)
    short = np.zeros(n, dtype=bool)
    for t in range(days):
        on_hand += arrivals[:, t]
        on_order -= arrivals[:, t]
        if t % review == 0:
            short_cycles += short
            short[:] = False
            qty = np.maximum(levels[:, t] - on_hand - on_order, 0.0)
            if lead_time == 0:
                on_hand += qty
            else:
                arrivals[:, t + lead_time] += qty
                on_order += qty
            orders += qty > 0
        served = np.minimum(on_hand, demand[:, t])
        out_days += demand[:, t] > served
        short |= demand[:, t] > served
        on_hand -= served
        sold += served
        held += on_hand
    short_cycles += short
    total = demand.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(total > 0, sold / total, np.nan)
    items = pd.DataFrame({"demand": total, "sold": sold, "lost": total - sold, "fill_rate": fill,
                          "mean_on_hand": held / days, "held_unit_days": held,
                          "stockout_days": out_days, "days": days,
                          "orders": orders, "cycles": -(-days // review), "short_cycles": short_cycles},
                         index=ids)
    return PolicyResult(items)


def rule_of_thumb_level(history: np.ndarray, *, lead_time: int, review: int, service_level: float
                        ) -> np.ndarray:
    """``mean x (L+R) + z x std x sqrt(L+R)`` per item from recent daily sales (items, days),
    z the standard normal quantile of the service level, rounded up to whole units."""
    from scipy.stats import norm

    history = np.asarray(history, dtype=float)
    span = lead_time + review
    spread = history.std(axis=1, ddof=1) * np.sqrt(span)
    level = history.mean(axis=1) * span + norm.ppf(service_level) * spread
    return np.ceil(np.maximum(level, 0.0) - 1e-9)
