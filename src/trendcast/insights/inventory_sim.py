"""Simulate a periodic-review order-up-to policy on realised demand, day by day, and the rule of
thumb it is compared with.

Each day t (0-based): orders due that day arrive; on a review day (t % R == 0) the order
``max(0, S_t - on hand - on order)`` is placed and arrives after L days; then demand is
served from stock and what cannot be served is lost (no backorders). Units held are counted
at the end of each day. Orders that would arrive after the last day are placed but never
delivered inside the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError


@dataclass(frozen=True)
class PolicyResult:
    """Per-item outcome (``items``) and the totals of a simulated policy."""

    items: pd.DataFrame  # demand, sold, lost, fill_rate, mean_on_hand, stockout_days, days,
    # orders, cycles, short_cycles (review cycles with any lost sale)

    def summary(self, mask: np.ndarray | pd.Series | None = None) -> dict[str, float]:
        """Fill rate (units sold / demanded), mean units held per item-day, lost units, the
        share of item-days out of stock and the cycle service level (share of review cycles
        without a lost sale), over all items or those where ``mask`` is true."""
        df = self.items if mask is None else self.items[np.asarray(mask, dtype=bool)]
        demand = float(df["demand"].sum())
        return {"n_items": len(df),
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
                          "mean_on_hand": held / days, "stockout_days": out_days, "days": days,
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
