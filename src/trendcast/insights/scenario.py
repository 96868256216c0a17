"""Baseline and what-if scenario side by side: units, revenue and margin per product and in
total, with intervals.

Frames in (a run's baseline and scenario forecasts, the assumed and planned prices, unit
costs), one frame out. Horizon totals of an interval bound are the sums of each period's
bounds: that treats the periods as moving together, so the total's interval is wider than the
truth (never narrower); the notes say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.schema import quantile_column

DEFAULT_COST_SHARE = 0.6  # as the pricing service: unit cost = 60% of the regular price
MEASURES = ("units", "revenue", "margin")


def interval_levels(quantiles: Sequence[float]) -> tuple[float, float] | None:
    """The widest symmetric pair of the run's quantiles (e.g. 0.1 and 0.9: an 80% interval)."""
    qs = sorted(quantiles)
    pairs = [(q, 1 - q) for q in qs if q < 0.5 and any(abs(r - (1 - q)) < 1e-9 for r in qs)]
    return pairs[0] if pairs else None


def unit_costs(products: pd.DataFrame, base_price: pd.Series,
               cost_share: float = DEFAULT_COST_SHARE) -> tuple[pd.Series, list[str]]:
    """Unit cost per product: the catalogue's ``unit_cost``, else ``cost_share`` of the price
    the forecast assumes (as ``trendcast pricing`` does); with a note on the defaults."""
    known = pd.Series(np.nan, index=base_price.index, dtype=float)
    if "unit_cost" in products.columns and len(products):
        cat = products.assign(unique_id=products["unique_id"].astype(str)).set_index("unique_id")["unit_cost"]
        known = pd.Series(base_price.index.map(pd.to_numeric(cat, errors="coerce")), index=base_price.index,
                          dtype=float)
    cost = known.fillna(base_price * cost_share)
    missing = int(known.isna().sum())
    notes = [f"unit cost assumed {cost_share:.0%} of the regular price for {missing} of {len(cost)} "
             "planned product(s) without a catalogue unit_cost"] if missing else []
    return cost, notes


def compare(baseline: pd.DataFrame, scenario: pd.DataFrame, prices: pd.DataFrame | None,
            models: Sequence[str], quantiles: Sequence[float], *, products: pd.DataFrame,
            cost_share: float = DEFAULT_COST_SHARE) -> tuple[pd.DataFrame, list[str]]:
    """Per model and planned product (and ``TOTAL``): baseline and scenario units, revenue
    and margin over the horizon, each with its interval, and the scenario's change.

    Args:
        baseline: the run's wide forecasts (``unique_id, ds, <model>, <model>-q-<q>``).
        scenario: the same for the planned products under the plan.
        prices: ``unique_id, ds, base_price, plan_price`` (None or NaN: revenue unknown).
        models: the models with a scenario.
        quantiles: the run's quantiles (the widest symmetric pair gives the interval).
        products: catalogue rows (``unit_cost`` when known).
        cost_share: unit cost as a share of the regular price where it is unknown.

    Returns:
        The table (columns ``model, unique_id, <side>_<measure>[_lo|_hi]`` for side ``base``
        and ``plan``, and ``<measure>_change`` as a ratio) and notes.
    """
    keys = ["unique_id", "ds"]
    ids = sorted(scenario["unique_id"].unique())
    base = baseline[baseline["unique_id"].isin(set(ids))]
    if prices is None or prices.empty:
        prices = base[keys].assign(base_price=np.nan, plan_price=np.nan)
    level = interval_levels(quantiles)
    regular = prices.groupby("unique_id")["base_price"].mean()
    cost, notes = unit_costs(products, regular, cost_share)
    rows = []
    for model in models:
        cols = {"mid": model}
        if level is not None:
            cols.update(lo=quantile_column(model, level[0]), hi=quantile_column(model, level[1]))
        sides = {}
        for side, frame in (("base", base), ("plan", scenario)):
            have = {k: c for k, c in cols.items() if c in frame.columns}
            f = frame[keys + list(have.values())].rename(columns={c: k for k, c in have.items()})
            f = f.merge(prices, on=keys, how="left")
            price = f[f"{side}_price"].to_numpy(dtype=float)
            unit_margin = price - f["unique_id"].map(cost).to_numpy(dtype=float)
            for k in have:
                f[f"units_{k}"] = f[k]
                f[f"revenue_{k}"] = f[k] * price
                f[f"margin_{k}"] = f[k] * unit_margin
            if "lo" in have and "hi" in have:  # a loss per unit turns the low units into the high margin
                lo, hi = f["margin_lo"].to_numpy(), f["margin_hi"].to_numpy()
                f["margin_lo"], f["margin_hi"] = np.minimum(lo, hi), np.maximum(lo, hi)
            value_cols = [c for c in f.columns if c.split("_")[0] in MEASURES]
            sums = f.groupby("unique_id")[value_cols].sum(min_count=1)
            sums.loc["TOTAL"] = sums.sum(min_count=1)
            sums.columns = [f"{side}_{c.replace('_mid', '')}" for c in sums.columns]
            sides[side] = sums
        table = sides["base"].join(sides["plan"], how="inner")
        for m in MEASURES:
            table[f"{m}_change"] = table[f"plan_{m}"] / table[f"base_{m}"] - 1
        table.insert(0, "model", model)
        rows.append(table.reset_index(names="unique_id"))
    out = pd.concat(rows, ignore_index=True)
    if level is not None:
        notes.append(f"intervals are {level[1] - level[0]:.0%} ({level[0]:g} and {level[1]:g} quantiles); "
                     "horizon totals add each period's bounds, which over-states their width")
    if prices["base_price"].isna().all():
        notes.append("the sales have no prices: revenue and margin are not known")
    ordered = ["model", "unique_id"] + [f"{side}_{m}{suffix}" for m in MEASURES for side in ("base", "plan")
                                        for suffix in ("", "_lo", "_hi")] + [f"{m}_change" for m in MEASURES]
    return out[[c for c in ordered if c in out.columns]], notes
