"""Inventory policy on M5 CA_1: a periodic-review order-up-to policy simulated on the real
28 test days, with trendcast's quantile-based levels against the rule of thumb.

    python benchmarks/inventory.py --data /work/shared/data/m5_ca1 --json out.json

Forecasts are made once at d_1941 for d_1942..d_1969 (LightGBMDirect, quantiles
0.05..0.95, cached in --cache so reruns skip the ~90 s fit). Reviews every R days from d_1942;
each review's level covers its own L+R days of that one forecast (no refit, no peeking at the
test). The rule of thumb is ``mean x (L+R) + z sigma sqrt(L+R)`` from the last 28 days of sales
before d_1942 (mean and std of daily sales), the same level at every review. Both start with
their day-0 level on hand; orders arrive after L days; unmet demand is lost.
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

from m5 import load  # noqa: E402

from trendcast.insights.inventory import inventory_policy  # noqa: E402
from trendcast.insights.inventory_sim import rule_of_thumb_level, simulate_order_up_to  # noqa: E402

H = 28
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def forecast(data: Path, cache: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(forecast, test actuals, last 28 training days), the forecast cached in ``cache``."""
    d = load(data, "CA_1")
    train, test = d["train"], d["test"]
    recent = train[train["ds"] > train["ds"].max() - pd.Timedelta(days=28)][["unique_id", "ds", "y"]]
    if cache.exists():
        print(f"forecast read from {cache}", file=sys.stderr)
        return pd.read_parquet(cache), test, recent
    from trendcast.models.registry import make_model
    from trendcast.models.statistical import clip_negative

    start = time.perf_counter()
    model = make_model("LightGBMDirect", alias="yhat", n_jobs=2)
    model.fit(train)
    fc = clip_negative(model.predict(H, X_df=d["future"], quantiles=list(QUANTILES)))
    print(f"LightGBMDirect fit + forecast {time.perf_counter() - start:.0f}s", file=sys.stderr)
    fc.to_parquet(cache)
    return fc, test, recent


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


def render(payload: dict) -> str:
    """The docs/benchmarks.md tables of a run's JSON."""
    rows = payload["rows"]
    head = ["| target service level | policy | fill rate | cycle service | mean units on hand | lost units |"
            " item-days out of stock |", "|---|---|---|---|---|---|---|"]

    def table(subset: str, levels: list[float] | None = None) -> list[str]:
        out = list(head)
        for r in rows:
            if r["subset"] == subset and (levels is None or r["service_level"] in levels):
                out.append(f"| {r['service_level']:g} | {r['policy']} | {r['fill_rate']:.3f} | "
                           f"{r['cycle_service']:.3f} | {r['mean_on_hand']:.2f} | {r['lost_units']:,.0f} | "
                           f"{r['stockout_day_share']:.1%} |")
        return out

    lines = [f"All {payload['n_items']:,} items:", "", *table("all items")]
    for subset in ("sold in last 28 d", "slow (< 1 unit/day)", "fast (>= 1 unit/day)"):
        lines += ["", f"{subset[0].upper()}{subset[1:]} ({payload['subsets'][subset]:,} items), "
                      "target 0.9 and 0.95:", "", *table(subset, [0.9, 0.95])]
    lines += ["", "| items | actual units (28 d) | forecast units | last 28 days' units | "
              "MAE of 28-day total: forecast | MAE: last 28 days |", "|---|---|---|---|---|---|"]
    for subset, t in payload["totals_28d"].items():
        lines.append(f"| {subset} | {t['actual_units']:,.0f} | {t['forecast_units']:,.0f} | "
                     f"{t['last_28d_units']:,.0f} | {t['mae_forecast']:.2f} | {t['mae_last_28d']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/m5_ca1"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/inventory_fc.parquet"))
    parser.add_argument("--lead", type=int, default=7)
    parser.add_argument("--review", type=int, default=7)
    parser.add_argument("--levels", default="0.7,0.8,0.9,0.95,0.98")
    parser.add_argument("--render", type=Path, default=None,
                        help="print the markdown tables of a JSON this script wrote, and exit")
    opts = parser.parse_args()
    if opts.render is not None:
        print(render(json.loads(opts.render.read_text())))
        return

    fc, test, recent = forecast(opts.data, opts.cache)
    ids = pd.Index(sorted(fc["unique_id"].unique()))
    actual = test.pivot(index="unique_id", columns="ds", values="y").reindex(ids).to_numpy()
    hist = recent.pivot(index="unique_id", columns="ds", values="y").reindex(ids).fillna(0).to_numpy()
    sold_recently = hist.sum(axis=1) > 0
    rate = hist.mean(axis=1)
    subsets = {"all items": np.ones(len(ids), dtype=bool), "sold in last 28 d": sold_recently,
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
    lead, review = opts.lead, opts.review
    rows = []
    for sl in [float(x) for x in opts.levels.split(",")]:
        policies = {"rule of thumb": np.repeat(rule_of_thumb_level(
            hist, lead_time=lead, review=review, service_level=sl)[:, None], H, axis=1)}
        for method in ("nbinom", "sample"):
            start = time.perf_counter()
            policies[f"trendcast ({method})"] = trendcast_levels(fc, ids, lead=lead, review=review,
                                                                 sl=sl, method=method)
            print(f"sl {sl} {method}: levels in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        for name, levels in policies.items():
            result = simulate_order_up_to(actual, levels, lead_time=lead, review=review, ids=ids)
            for subset, mask in subsets.items():
                s = result.summary(mask)
                rows.append({"service_level": sl, "policy": name, "subset": subset,
                             **{k: round(v, 4) for k, v in s.items()},
                             "mean_level_day0": round(float(levels[mask, 0].mean()), 3)})
                print(json.dumps(rows[-1]), file=sys.stderr)
    payload = {"lead_time": lead, "review": review, "n_items": len(ids),
               "subsets": {k: int(v.sum()) for k, v in subsets.items()}, "totals_28d": totals,
               "rows": rows}
    text = json.dumps(payload, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text)


if __name__ == "__main__":
    main()
