"""Price elasticity per product from its own price changes, pooled across a department or
category, and what a price change would do.

Model: a Poisson GLM with log link, ``log E[y] = a + e log(price) + controls``, so ``e`` is the
elasticity of a constant-elasticity demand curve. Daily sales are small counts with many zeros:
Poisson keeps the zeros and is consistent for the mean even when counts are overdispersed
(standard errors are the robust, sandwich ones), whereas OLS on log(y + 1) pulls the
coefficient toward zero when counts are low (on the simulated shop, where the truth is
known, it is biased by about +0.4; see docs/benchmarks.md). Controls: day of week, yearly
Fourier terms (once there is a year of history), a piecewise-linear trend (a knot every
``knot_days``), a flag per calendar event *name* (festivals of one kind move demand very
differently: the shop's Double 11 quadruples it, the Spring Festival halves it) plus "an event
within three days", and the promotion flag where present.

Promotions: a product's price falls exactly when its promotion runs, so its own data barely
separate the price effect from the promotion's extra lift. The lift is therefore estimated per
product, pooled into one shop-wide value (random-effects mean) and held fixed as an offset in
a second pass. Without this the simulated shop's errors double.

Pooling: each group (department, else category) with ``min_group`` products of their own
estimate gets a random-effects (DerSimonian-Laird) mean and between-product variance tau^2.
Every estimate is shrunk toward its group mean with weight tau^2 / (tau^2 + se^2) on its own
(empirical Bayes; ``weight_own`` in the output). Where the estimate comes from is the
``estimate`` column: ``own`` (weight_own >= 0.9), ``shrunk`` (in between) or ``pooled``
(weight_own < 0.1, fewer than ``min_changes`` price changes, or no estimate of its own). A
group whose products look alike (tau^2 = 0) gives every member weight 0: they all get the
group mean, and are ``pooled``. With no estimate of their own products get the group mean
with the spread of a new product (sqrt(tau^2 + se_mean^2)). Products with neither get NaN and
a note, never an invented number.

Suggested prices (:func:`price_decisions`) maximise revenue, margin or units on the
constant-elasticity curve within the bounds, a minimum margin and the stock on hand; a
change is suggested only for an ``own`` or ``shrunk`` estimate whose 95% interval lies below
zero, else the row says ``keep`` and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError

# the estimator lives in features (models use it too); re-exported here
from trendcast.features.elasticity import (  # noqa: F401
    Z95,
    ElasticityOptions,
    count_changes,
    elasticities,
    event_controls,
    fit_item,
    poisson_irls,
    random_effects,
)

# What a price change does -----------------------------------------------------------------

def what_if(elasticity: np.ndarray | float, base_demand: np.ndarray | float, price: np.ndarray | float,
            new_price: np.ndarray | float, unit_cost: np.ndarray | float | None = None
            ) -> pd.DataFrame:
    """Demand, revenue (and profit, given a unit cost) at ``price`` and ``new_price`` on the
    constant-elasticity curve ``demand = base_demand x (new_price / price) ** elasticity``."""
    e, base, p0, p1 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in
                       (elasticity, base_demand, price, new_price))
    if (p0 <= 0).any() or (p1 <= 0).any():
        raise DataValidationError("prices must be > 0 for a what-if")
    demand = base * (p1 / p0) ** e
    out = pd.DataFrame({"price": p0, "new_price": p1, "demand": base, "new_demand": demand,
                        "revenue": base * p0, "new_revenue": demand * p1})
    out["demand_change"] = out["new_demand"] / out["demand"] - 1
    out["revenue_change"] = out["new_revenue"] / out["revenue"] - 1
    if unit_cost is not None:
        c = np.asarray(unit_cost, dtype=float)
        out["profit"] = base * (p0 - c)
        out["new_profit"] = demand * (p1 - c)
    return out


def check_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    """Price bounds as factors of the current price: 0 < lower <= 1 <= upper."""
    lo, hi = bounds
    if not 0 < lo <= 1 <= hi:
        raise DataValidationError(f"bounds must satisfy 0 < lower <= 1 <= upper, got {tuple(bounds)}")
    return lo, hi


OBJECTIVES = ("revenue", "margin", "units")


def current_prices(sales: pd.DataFrame, base_days: int = 28) -> tuple[pd.Series, pd.Series]:
    """Each product's current regular price (its last price on a day without a promotion,
    else its last price) and its mean daily units over its last ``base_days`` days at that
    kind of price (days without a promotion when there are any), both indexed by unique_id."""
    priced = sales.dropna(subset=["price"]).sort_values("ds")
    no_promo = pd.Series(False, index=sales.index)
    promo = sales["promo"].fillna(0) > 0 if "promo" in sales.columns else no_promo
    regular = priced[~promo.loc[priced.index]].groupby("unique_id")["price"].last()
    price = regular.combine_first(priced.groupby("unique_id")["price"].last())
    last = sales.groupby("unique_id")["ds"].transform("max")
    recent = sales[sales["ds"] > last - pd.Timedelta(days=base_days)]
    base = recent[~promo.loc[recent.index]].groupby("unique_id")["y"].mean()
    base = base.combine_first(recent.groupby("unique_id")["y"].mean())
    return price, base


def check_objective(objective: str) -> str:
    """``objective`` if known (``profit`` is read as ``margin``), else a DataValidationError."""
    objective = "margin" if objective == "profit" else objective
    if objective not in OBJECTIVES:
        raise DataValidationError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    return objective


def optimal_price(elasticity: np.ndarray, unit_cost: np.ndarray, low: np.ndarray, high: np.ndarray,
                  objective: str = "margin") -> np.ndarray:
    """The price in [low, high] that maximises the objective on ``demand ~ price ** e``.

    Revenue ~ p^(1+e) rises with p when -1 < e < 0 and falls when e < -1: the upper or the
    lower end. Margin (p - c) p^e peaks at c e / (1 + e) when e < -1 (clipped to the range)
    and rises with p otherwise. Units fall with p: the lower end. NaN for e >= 0 or unknown
    e, and where low > high (no feasible price)."""
    objective = check_objective(objective)
    e, c, lo, hi = (np.asarray(v, dtype=float) for v in (elasticity, unit_cost, low, high))
    if objective == "units":
        best = lo.copy()
    elif objective == "revenue":
        best = np.where(e < -1, lo, np.where(e > -1, hi, np.clip(np.sqrt(lo * hi), lo, hi)))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(e < -1, c * e / (1 + e), np.inf)
        best = np.clip(peak, lo, hi)
    return np.where(np.isfinite(e) & (e < 0) & (lo <= hi), best, np.nan)


def objective_value(objective: str, demand: np.ndarray, price: np.ndarray, unit_cost: np.ndarray
                    ) -> np.ndarray:
    """Revenue, margin or units per day of ``demand`` units at ``price``."""
    objective = check_objective(objective)
    if objective == "units":
        return np.asarray(demand, dtype=float)
    if objective == "revenue":
        return np.asarray(demand * price, dtype=float)
    return np.asarray(demand * (price - unit_cost), dtype=float)


@dataclass(frozen=True)
class PriceRules:
    """What a suggested price maximises and the constraints it must meet.

    Attributes:
        objective: revenue, margin (price - unit cost, times units) or units.
        bounds: lowest and highest price as factors of the current price.
        min_margin: (price - cost) / price must be at least this (None: no floor).
        horizon_days: days the new price would hold; with stock on hand, a cut may not sell
            more than that stock over these days.
        min_move: relative moves smaller than this are "keep" (not worth a change).
    """

    objective: str = "margin"
    bounds: tuple[float, float] = (0.8, 1.2)
    min_margin: float | None = None
    horizon_days: int = 28
    min_move: float = 0.005

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", check_objective(self.objective))
        check_bounds(self.bounds)
        if self.min_margin is not None and not 0 <= self.min_margin < 1:
            raise DataValidationError(f"min margin must be in [0, 1), got {self.min_margin}")
        if self.horizon_days < 1:
            raise DataValidationError(f"horizon must be >= 1 day, got {self.horizon_days}")


def price_decisions(table: pd.DataFrame, rules: PriceRules = PriceRules()  # noqa: B008 (frozen)
                    ) -> pd.DataFrame:
    """Suggested price, decision (change / keep) and reason per product.

    Args:
        table: ``elasticity, ci_low, ci_high, estimate, price, base_demand, unit_cost`` per
            product, optionally ``pooled_from`` and ``on_hand`` (stock; NaN where unknown).
        rules: objective and constraints.

    Returns:
        ``floor, ceiling, optimal_price, suggested_price, decision, reason`` and the expected
        ``demand, revenue, margin`` per day at the current and the suggested price
        (``*_now`` / ``*_new``), indexed like ``table``. ``optimal_price`` is the model's best
        price within the constraints; ``suggested_price`` is that price when the decision is
        ``change`` and the current price when it is ``keep``.
    """
    t = table
    e = t["elasticity"].to_numpy(dtype=float)
    p0 = t["price"].to_numpy(dtype=float)
    q0 = t["base_demand"].to_numpy(dtype=float)
    c = t["unit_cost"].to_numpy(dtype=float)
    lo_f, hi_f = rules.bounds
    floor, ceiling = p0 * lo_f, p0 * hi_f
    margin_floor = (c / (1 - rules.min_margin) if rules.min_margin is not None
                    else np.full(len(t), -np.inf))
    floor = np.maximum(floor, margin_floor)
    stock = t["on_hand"].to_numpy(dtype=float) if "on_hand" in t.columns else np.full(len(t), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the price at which demand over the horizon equals the stock: no cut below it
        stock_price = p0 * (stock / (q0 * rules.horizon_days)) ** (1 / e)
    stock_floor = np.where(np.isfinite(stock_price) & (e < 0) & (q0 > 0), np.minimum(stock_price, p0),
                           -np.inf)
    binding_stock = stock_floor > floor
    floor = np.maximum(floor, stock_floor)
    best = optimal_price(e, c, floor, ceiling, rules.objective)
    demand_new = q0 * (np.where(np.isfinite(best), best, p0) / p0) ** np.where(np.isfinite(e), e, 0)
    value_now = objective_value(rules.objective, q0, p0, c)
    value_new = objective_value(rules.objective, demand_new, np.where(np.isfinite(best), best, p0), c)
    reasons, decisions = [], []
    pooled_from = t["pooled_from"] if "pooled_from" in t.columns else pd.Series(None, index=t.index)
    for k, (src, lo95, hi95, frm) in enumerate(zip(t["estimate"], t["ci_low"], t["ci_high"],
                                                   pooled_from, strict=True)):
        why = _keep_reason(k, str(src), lo95, hi95, frm, e, best, floor, ceiling, p0, c,
                           value_now, value_new, rules, margin_floor)
        if why is None:
            decisions.append("change")
            move = best[k] / p0[k] - 1
            why = f"{move:+.1%} to maximise {rules.objective}"
            if binding_stock[k] and np.isclose(best[k], floor[k]):
                why += f" (stock on hand {stock[k]:,.0f} limits the cut over {rules.horizon_days} days)"
            elif rules.min_margin is not None and np.isclose(best[k], margin_floor[k]):
                why += f" (held at the {rules.min_margin:.0%} minimum margin)"
        else:
            decisions.append("keep")
        reasons.append(why)
    change = np.array(decisions) == "change"
    suggested = np.where(change, best, p0)
    demand_s = np.where(change, demand_new, q0)
    return pd.DataFrame({
        "floor": floor, "ceiling": ceiling, "optimal_price": best, "suggested_price": suggested,
        "decision": decisions, "reason": reasons,
        "demand_now": q0, "revenue_now": q0 * p0, "margin_now": q0 * (p0 - c),
        "demand_new": demand_s, "revenue_new": demand_s * suggested,
        "margin_new": demand_s * (suggested - c),
    }, index=t.index)


def _keep_reason(k: int, src: str, lo95: float, hi95: float, frm: object, e: np.ndarray,
                 best: np.ndarray, floor: np.ndarray, ceiling: np.ndarray, p0: np.ndarray,
                 c: np.ndarray, value_now: np.ndarray, value_new: np.ndarray, rules: PriceRules,
                 margin_floor: np.ndarray) -> str | None:
    """Why product ``k`` keeps its price, or None when a change is suggested."""
    if not np.isfinite(e[k]):
        return "keep: no elasticity estimate"
    if src == "pooled":
        where = f" from {frm}" if isinstance(frm, str) and frm else ""
        return (f"keep: elasticity only pooled{where}, not measured on this product's own "
                "price changes")
    if not hi95 < 0:
        return (f"keep: the 95% interval of the elasticity ({lo95:.2f}, {hi95:.2f}) includes 0: "
                "that demand falls with price is not established")
    if floor[k] > ceiling[k]:
        if rules.min_margin is not None and margin_floor[k] > ceiling[k]:
            return (f"keep: a {rules.min_margin:.0%} margin needs a price >= {margin_floor[k]:.2f} "
                    f"(unit cost {c[k]:.2f}), above the upper bound {ceiling[k]:.2f}")
        return f"keep: no price satisfies the constraints ({floor[k]:.2f} > {ceiling[k]:.2f})"
    if not np.isfinite(best[k]) or abs(best[k] / p0[k] - 1) < rules.min_move:
        return f"keep: the current price is already the best for {rules.objective} within the constraints"
    if not value_new[k] > value_now[k] and floor[k] <= p0[k]:
        return f"keep: no price within the constraints raises {rules.objective}"
    return None
