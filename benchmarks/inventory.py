"""Inventory policy on M5 CA_1: a periodic-review order-up-to policy simulated on the real
28 test days, with trendcast's quantile-based levels against the rule of thumb, scored by fill
rate and total cost (holding + lost sales at stated unit costs).

    python benchmarks/inventory.py --data /work/shared/data/m5_ca1 --jobs 1 --json out.json
    python benchmarks/inventory.py --render out.json

Forecasts are made once at d_1941 for d_1942..d_1969 (LightGBMDirect, quantiles 0.05..0.95),
and, for the calibrated policy, at the backtest cutoffs ``--calibration-windows`` days earlier
(d_1913, d_1885, d_1857 by default), each cached in --cache-dir so reruns skip the fits.
Reviews every R days from d_1942; each review's level covers its own L+R days of that one
forecast (no refit, no peeking at the test). Policies:

- rule of thumb: ``mean x (L+R) + z sigma sqrt(L+R)`` from the last 28 days of sales before
  d_1942 (mean and std of daily sales), the same level at every review;
- trendcast (nbinom): ``inventory_policy``, independent daily negative binomials;
- trendcast (calibrated): ``inventory_calibration``: per volume band, the blend of forecast and
  last-28-day rate and the quantile level chosen by conformal calibration on the backtest
  windows (all before d_1942).

All start with their day-0 level on hand; orders arrive after L days; unmet demand is lost.
Costs: price = the item's mean M5 sell price over the test days (published in advance; the last
known price when there is none), unit cost = --cost-share x price, holding = --holding-rate
per year x unit cost per unit-day held (end-of-day stock), lost sale = price - unit cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from m5 import load, window  # noqa: E402

from trendcast.insights.inventory import critical_fractile, inventory_policy  # noqa: E402
from trendcast.insights.inventory_calibration import (  # noqa: E402
    VOLUME_BANDS,
    Window,
    calibrated_order_up_to,
    fit_review_calibration,
)
from trendcast.insights.inventory_sim import (  # noqa: E402
    CostAssumptions,
    rule_of_thumb_level,
    simulate_order_up_to,
)
from trendcast.schema import quantile_column  # noqa: E402

H = 28
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def forecast(d: dict[str, pd.DataFrame], back: int, cache_dir: Path, jobs: int) -> pd.DataFrame:
    """LightGBMDirect's forecast made ``back`` days before d_1941 (0: the test forecast),
    cached in ``cache_dir``."""
    cache = cache_dir / f"fc_back{back}.parquet"
    if cache.exists():
        print(f"forecast read from {cache}", file=sys.stderr)
        return pd.read_parquet(cache)
    from trendcast.models.registry import make_model
    from trendcast.models.statistical import clip_negative

    w = d if back == 0 else window(d, d["train"]["ds"].max() - pd.Timedelta(days=back))
    start = time.perf_counter()
    model = make_model("LightGBMDirect", alias="yhat", n_jobs=jobs)
    model.fit(w["train"])
    fc = clip_negative(model.predict(H, X_df=w["future"], quantiles=list(QUANTILES)))
    print(f"LightGBMDirect (cutoff -{back} d) fit + forecast {time.perf_counter() - start:.0f}s",
          file=sys.stderr)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fc.to_parquet(cache)
    return fc


def as_window(fc: pd.DataFrame, ids: pd.Index, recent: np.ndarray, actual: np.ndarray | None) -> Window:
    """The arrays of a forecast frame, items in ``ids`` order."""
    fc = fc.sort_values(["unique_id", "ds"]).set_index("unique_id").loc[ids]
    n = len(ids)
    mean = fc["yhat"].to_numpy(dtype=float).reshape(n, H)
    q = np.stack([fc[quantile_column("yhat", lv)].to_numpy(dtype=float) for lv in QUANTILES], axis=1)
    return Window(mean=mean, quantiles=q.reshape(n, H, len(QUANTILES)), levels=np.array(QUANTILES),
                  recent_rate=recent.mean(axis=1), actual=actual)


def matrix(frame: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    return frame.pivot(index="unique_id", columns="ds", values="y").reindex(ids).fillna(0).to_numpy()


def trendcast_levels(fc: pd.DataFrame, ids: pd.Index, *, lead: int, review: int, sl: float,
                     method: str) -> np.ndarray:
    """(items, days) order-up-to levels: at each review t the quantile of demand t..t+L+R-1."""
    step = fc.groupby("unique_id").cumcount()
    levels = np.zeros((len(ids), H))
    last = None
    for t in range(0, H, review):
        if t + lead + review <= H:
            window = fc[step >= t]
            pol = inventory_policy(window, model="yhat", service_level=sl, method=method,
                                   products=pd.DataFrame({"unique_id": ids, "lead_time_days": lead,
                                                          "review_days": review}))
            last = pol.set_index("unique_id")["order_up_to"].reindex(ids).to_numpy()
        # a review whose order lands after the last day cannot matter; keep the last level
        levels[:, t:] = last[:, None]
    return levels


def spread_levels(per_review: np.ndarray, review: int) -> np.ndarray:
    """(items, H) levels from one column per useful review; later reviews keep the last."""
    levels = np.zeros((per_review.shape[0], H))
    for i, t in enumerate(range(0, H, review)):
        levels[:, t:] = per_review[:, min(i, per_review.shape[1] - 1)][:, None]
    return levels


def render(payload: dict) -> str:
    """The docs/benchmarks.md tables of a run's JSON."""
    rows = payload["rows"]
    head = ["| target service level | policy | fill rate | cycle service | mean units on hand | lost units |"
            " holding cost | lost-sales cost | total cost |", "|---|---|---|---|---|---|---|---|---|"]

    def table(subset: str) -> list[str]:
        out = list(head)
        for r in rows:
            if r["subset"] == subset:
                out.append(f"| {r['service_level']:g} | {r['policy']} | {r['fill_rate']:.3f} | "
                           f"{r['cycle_service']:.3f} | {r['mean_on_hand']:.2f} | {r['lost_units']:,.0f} | "
                           f"${r['holding_cost']:,.0f} | ${r['lost_sales_cost']:,.0f} | "
                           f"${r['total_cost']:,.0f} |")
        return out

    c = payload["costs"]
    lines = [f"Costs: unit cost = {c['cost_share']:.0%} of the sell price, holding "
             f"{c['holding_rate']:.0%} of unit cost per year, lost sale = the margin (price - unit cost); "
             f"newsvendor fractile {c.get('critical_fractile', float('nan')):.4f}.",
             "", f"All {payload['n_items']:,} items:", "", *table("all items")]
    for subset in ("slow (< 1 unit/day)", "fast (>= 1 unit/day)"):
        lines += ["", f"{subset[0].upper()}{subset[1:]} ({payload['subsets'][subset]:,} items):", "",
                  *table(subset)]
    lines += ["", "| items | actual units (28 d) | forecast units | last 28 days' units | "
              "MAE of 28-day total: forecast | MAE: last 28 days |", "|---|---|---|---|---|---|"]
    for subset, t in payload["totals_28d"].items():
        lines.append(f"| {subset} | {t['actual_units']:,.0f} | {t['forecast_units']:,.0f} | "
                     f"{t['last_28d_units']:,.0f} | {t['mae_forecast']:.2f} | {t['mae_last_28d']:.2f} |")
    if payload.get("equal_stock"):
        lines += ["", "At equal stock (all items): the rule of thumb with the safety factor z whose mean "
                  "units on hand match each trendcast policy's (z found on the test: a diagnostic, "
                  "not a policy):", "",
                  "| target | policy | mean units on hand | fill rate | total cost | rule z | "
                  "rule: mean units on hand | rule: fill rate | rule: total cost |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in payload["equal_stock"]:
            lines.append(f"| {r['service_level']:g} | {r['policy']} | {r['mean_on_hand']:.2f} | "
                         f"{r['fill_rate']:.3f} | ${r['total_cost']:,.0f} | {r['rule_z']:.2f} | "
                         f"{r['rule_mean_on_hand']:.2f} | {r['rule_fill_rate']:.3f} | "
                         f"${r['rule_total_cost']:,.0f} |")
    if payload.get("calibration"):
        edges = payload["volume_bands"]
        names = [f"< {edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:], strict=False)] \
            + [f">= {edges[-1]:g}"]
        lines += ["", "Calibration chosen on the backtest windows (units/day band of the last 28 days; "
                  "weight of the forecast in the mean, the rest on the last-28-day rate):", "",
                  "| target | band (units/day) | cases | forecast weight | quantile level | "
                  "validation coverage | mean level | uncalibrated coverage | uncalibrated mean level |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in payload["calibration"]:
            lines.append(f"| {r['target']:g} | {names[r['band']]} | {r['n_cases']:,} | {r['weight']:g} | "
                         f"{r['level']:.4f} | {r['coverage']:.3f} | {r['mean_stock']:.2f} | "
                         f"{r['raw_coverage']:.3f} | {r['raw_mean_stock']:.2f} |")
    return "\n".join(lines)


def item_prices(d: dict[str, pd.DataFrame], ids: pd.Index) -> np.ndarray:
    """Mean sell price per item over the test days; the last known price where it has none."""
    fut = d["future"].groupby("unique_id")["price"].mean().reindex(ids)
    known = d["train"].dropna(subset=["price"]).sort_values("ds").groupby("unique_id")["price"].last()
    price = fut.fillna(known.reindex(ids))
    if price.isna().any():
        raise SystemExit(f"no sell price at all for {price.index[price.isna()][0]!r}")
    return price.to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/m5_ca1"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/inventory_fc"))
    parser.add_argument("--jobs", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--lead", type=int, default=7)
    parser.add_argument("--review", type=int, default=7)
    parser.add_argument("--levels", default="0.9,0.95,0.98")
    parser.add_argument("--calibration-windows", default="28,56,84",
                        help="backtest cutoffs, days before d_1941 (each window's 28 days end "
                             "before d_1942); empty: no calibrated policy")
    parser.add_argument("--holding-rate", type=float, default=CostAssumptions.holding_rate,
                        help="holding cost per year as a share of unit cost")
    parser.add_argument("--cost-share", type=float, default=CostAssumptions.cost_share,
                        help="unit cost as a share of the sell price (lost sale = the rest)")
    parser.add_argument("--sample", action="store_true", help="also the Monte-Carlo policy (slow)")
    parser.add_argument("--render", type=Path, default=None,
                        help="print the markdown tables of a JSON this script wrote, and exit")
    opts = parser.parse_args()
    if opts.render is not None:
        print(render(json.loads(opts.render.read_text())))
        return
    costs = CostAssumptions(holding_rate=opts.holding_rate, cost_share=opts.cost_share)
    lead, review = opts.lead, opts.review
    targets = [float(x) for x in opts.levels.split(",")]

    d = load(opts.data, "CA_1")
    last = d["train"]["ds"].max()
    fc = forecast(d, 0, opts.cache_dir, opts.jobs)
    ids = pd.Index(sorted(fc["unique_id"].unique()))
    train = d["train"][["unique_id", "ds", "y"]]
    actual = matrix(d["test"], ids)
    hist = matrix(train[train["ds"] > last - pd.Timedelta(days=28)], ids)
    price = item_prices(d, ids)
    sold_recently = hist.sum(axis=1) > 0
    rate = hist.mean(axis=1)
    subsets = {"all items": np.ones(len(ids), dtype=bool),
               "slow (< 1 unit/day)": sold_recently & (rate < 1), "fast (>= 1 unit/day)": rate >= 1}
    # how good is each policy's demand estimate: 28-day totals, forecast vs last 28 days' sales
    fc_total = fc.groupby("unique_id")["yhat"].sum().reindex(ids).to_numpy()
    totals = {}
    for subset, mask in subsets.items():
        real = actual[mask].sum(axis=1)
        totals[subset] = {"actual_units": float(real.sum()),
                          "forecast_units": round(float(fc_total[mask].sum())),
                          "last_28d_units": float(hist[mask].sum()),
                          "mae_forecast": round(float(np.abs(fc_total[mask] - real).mean()), 2),
                          "mae_last_28d": round(float(np.abs(hist[mask].sum(axis=1) - real).mean()), 2)}
        print(subset, json.dumps(totals[subset]), file=sys.stderr)

    # the newsvendor fractile of these costs (the same for every item: costs scale with price)
    fractile = round(float(critical_fractile(np.array([1.0]), np.array([costs.cost_share]),
                                             np.array([costs.holding_rate]), np.array([review]))[0]), 4)
    print(f"critical fractile of the costs: {fractile}", file=sys.stderr)
    calibration = None
    backs = [int(x) for x in opts.calibration_windows.split(",") if x.strip()]
    if backs:
        if min(backs) < H:
            raise SystemExit(f"calibration windows must end before d_1942: each needs >= {H} days back")
        windows = []
        for back in backs:
            cut = last - pd.Timedelta(days=back)
            tr = train[train["ds"] <= cut + pd.Timedelta(days=H)]
            before = tr[(tr["ds"] > cut - pd.Timedelta(days=28)) & (tr["ds"] <= cut)]
            wfc = forecast(d, back, opts.cache_dir, opts.jobs)
            # items without history enough to forecast at that cutoff give no case there
            wids = ids[ids.isin(wfc["unique_id"].unique())]
            print(f"calibration window -{back} d: {len(wids):,} items", file=sys.stderr)
            windows.append(as_window(wfc, wids, matrix(before, wids), matrix(tr[tr["ds"] > cut], wids)))
        fit_targets = sorted({*targets, *([fractile] if fractile < max(targets) else [])})
        calibration = fit_review_calibration(windows, targets=fit_targets, lead=lead, review=review)
        print(calibration.table.to_string(), file=sys.stderr)
    test_window = as_window(fc, ids, hist, None)
    starts = [t for t in range(0, H, review) if t + lead + review <= H]

    rows = []
    for sl in targets:
        policies = {"rule of thumb": np.repeat(rule_of_thumb_level(
            hist, lead_time=lead, review=review, service_level=sl)[:, None], H, axis=1)}
        for method in ("nbinom", "sample") if opts.sample else ("nbinom",):
            policies[f"trendcast ({method})"] = trendcast_levels(fc, ids, lead=lead, review=review,
                                                                 sl=sl, method=method)
        if calibration is not None:
            policies["trendcast (calibrated)"] = spread_levels(
                calibrated_order_up_to(calibration, test_window, target=sl, starts=starts), review)
            if fractile < sl:  # cost-aware: no more service than the costs justify
                policies["trendcast (calibrated, cost cap)"] = spread_levels(
                    calibrated_order_up_to(calibration, test_window, target=fractile, starts=starts),
                    review)
        for name, levels in policies.items():
            result = simulate_order_up_to(actual, levels, lead_time=lead, review=review,
                                          ids=ids).with_costs(price, costs)
            for subset, mask in subsets.items():
                s = result.summary(mask)
                rows.append({"service_level": sl, "policy": name, "subset": subset,
                             **{k: round(v, 4) for k, v in s.items()},
                             "mean_level_day0": round(float(levels[mask, 0].mean()), 3)})
                print(json.dumps(rows[-1]), file=sys.stderr)
    # diagnostic, not a choice: the rule of thumb with the safety factor z that holds the same
    # mean stock as each trendcast policy (found on the test), so fill and cost compare at equal
    # stock rather than rewarding whichever policy holds more
    from scipy.stats import norm

    sweep = []
    for z in np.arange(0.0, 6.01, 0.05):
        lv = np.repeat(rule_of_thumb_level(hist, lead_time=lead, review=review,
                                           service_level=float(norm.cdf(z)))[:, None], H, axis=1)
        sweep.append((float(z), simulate_order_up_to(actual, lv, lead_time=lead, review=review, ids=ids)
                      .with_costs(price, costs).summary()))
    equal_stock = []
    for r in rows:
        if r["subset"] == "all items" and r["policy"].startswith("trendcast"):
            z, s = min(sweep, key=lambda zs: abs(zs[1]["mean_on_hand"] - r["mean_on_hand"]))
            equal_stock.append({"service_level": r["service_level"], "policy": r["policy"],
                                "mean_on_hand": r["mean_on_hand"], "fill_rate": r["fill_rate"],
                                "total_cost": r["total_cost"], "rule_z": round(z, 2),
                                "rule_mean_on_hand": round(s["mean_on_hand"], 4),
                                "rule_fill_rate": round(s["fill_rate"], 4),
                                "rule_total_cost": round(s["total_cost"], 4)})
    payload = {"lead_time": lead, "review": review, "n_items": len(ids),
               "costs": {"holding_rate": costs.holding_rate, "cost_share": costs.cost_share,
                         "critical_fractile": fractile,
                         "price": "mean M5 sell price over d_1942..d_1969 (last known if none)"},
               "calibration_windows": backs, "volume_bands": list(VOLUME_BANDS),
               "subsets": {k: int(v.sum()) for k, v in subsets.items()}, "totals_28d": totals,
               "calibration": [] if calibration is None else calibration.table.round(4).to_dict("records"),
               "rows": rows, "equal_stock": equal_stock}
    text = json.dumps(payload, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text)


if __name__ == "__main__":
    main()
