"""Price elasticity: recovered vs true elasticities on the simulated shop (3 seeds), and the
distribution of estimates on M5 CA_1 (real data, no truth: described, not scored).

    python benchmarks/pricing.py --data /work/shared/data/m5_ca1 --json out.json

Simulated shop: demand has the factor (price / list_price) ** elasticity with elasticities drawn
uniformly in [-2.5, -0.5], promotions (10-30% off plus an extra lift of exp(0.1)), festivals
and trends. Compared: trendcast's estimator (Poisson GLM, shop-wide promotion lift, empirical
Bayes shrinkage to the department), the same without pooling the promotion lift, and OLS on
log(y + 1). "pooled" rows: the prices of a random quarter of the products are replaced by a
constant before estimating, so those products get the pooled estimate of their department,
which is scored against their true elasticity.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402
from trendcast.insights.pricing import ElasticityOptions, elasticities  # noqa: E402

SEEDS = (7, 8, 9)


def scores(est: pd.Series, truth: pd.Series, low: pd.Series | None = None,
           high: pd.Series | None = None) -> dict[str, float]:
    ok = est.notna()
    err = (est - truth)[ok]
    out = {"n": int(ok.sum()), "mae": float(err.abs().mean()), "median_ae": float(err.abs().median()),
           "bias": float(err.mean()), "corr": float(np.corrcoef(est[ok], truth[ok])[0, 1]),
           "within_0.3": float((err.abs() <= 0.3).mean())}
    if low is not None and high is not None:
        out["ci95_coverage"] = float(((low <= truth) & (truth <= high))[ok].mean())
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def simulated(seed: int) -> list[dict[str, object]]:
    shop = simulate_shop(seed=seed)
    truth_of = shop.truth.products.set_index("unique_id")["elasticity"]
    rows = []
    variants = {"trendcast": ElasticityOptions(),
                "no shared promotion lift": ElasticityOptions(pool_promo=False),
                "OLS log(y+1)": ElasticityOptions(method="ols_log1p")}
    for name, opts in variants.items():
        start = time.perf_counter()
        est = elasticities(shop.sales, events=shop.calendar, products=shop.products, options=opts)
        secs = time.perf_counter() - start
        truth = est["unique_id"].map(truth_of)
        rows.append({"seed": seed, "estimator": name, "estimates": "per item (own data only)",
                     "seconds": round(secs, 1), **scores(est["elasticity_item"], truth,
                                                         est["elasticity_item"] - 1.96 * est["se_item"],
                                                         est["elasticity_item"] + 1.96 * est["se_item"])})
        if name == "trendcast":
            rows.append({"seed": seed, "estimator": name, "estimates": "final (shrunk to department)",
                         "seconds": round(secs, 1), "promo_effect": round(est.attrs["promo_effect"], 3),
                         **scores(est["elasticity"], truth, est["ci_low"], est["ci_high"])})
    # the pooled path: hide the price variation of a random quarter of the products
    rng = np.random.default_rng(seed)
    ids = shop.products["unique_id"].to_numpy()
    hidden = set(rng.choice(ids, len(ids) // 4, replace=False))
    sales = shop.sales.copy()
    mask = sales["unique_id"].isin(hidden)
    sales.loc[mask, "price"] = sales[mask].groupby("unique_id")["price"].transform("median")
    est = elasticities(sales, events=shop.calendar, products=shop.products)
    est = est[est["unique_id"].isin(hidden)]
    assert (est["estimate"] != "item").all()
    truth = est["unique_id"].map(truth_of)
    rows.append({"seed": seed, "estimator": "trendcast", "estimates": "pooled (prices hidden)",
                 "share_pooled": round(float((est["estimate"] == "pooled").mean()), 3),
                 **scores(est["elasticity"], truth, est["ci_low"], est["ci_high"])})
    for r in rows:
        print(json.dumps(r), file=sys.stderr)
    return rows


def m5(data: Path) -> dict[str, object]:
    from trendcast.data.m5 import read_m5

    d = read_m5(data)
    start = time.perf_counter()
    est = elasticities(d.sales, events=d.calendar, products=d.products)
    secs = time.perf_counter() - start
    est = est.merge(d.products[["unique_id", "category"]], on="unique_id")
    rows = []
    for cat, g in [*est.groupby("category"), ("all", est)]:
        e = g["elasticity"].dropna()
        own = g[g["estimate"] == "item"]
        rows.append({
            "category": cat, "items": len(g), "own_estimate": len(own),
            "pooled": int((g["estimate"] == "pooled").sum()), "none": int((g["estimate"] == "none").sum()),
            "median": round(float(e.median()), 3), "q25": round(float(e.quantile(0.25)), 3),
            "q75": round(float(e.quantile(0.75)), 3), "share_negative": round(float((e < 0).mean()), 3),
            "share_ci_below_0": round(float((g["ci_high"] < 0).sum() / len(e)), 3),
            "share_ci_above_0": round(float((g["ci_low"] > 0).sum() / len(e)), 3),
            "own_median": round(float(own["elasticity_item"].median()), 3),
            "median_price_changes": float(g["n_changes"].median()),
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    return {"seconds": round(secs, 1), "by_category": rows}


def render(payload: dict) -> str:
    """The docs/benchmarks.md tables of a run's JSON."""
    sim = payload["simulated"]
    keys = []
    for r in sim:
        if (r["estimator"], r["estimates"]) not in keys:
            keys.append((r["estimator"], r["estimates"]))
    lines = ["| estimator | estimates | MAE (seeds " + "/".join(map(str, SEEDS)) + ") | median abs error | "
             "bias | correlation | within ±0.3 | 95% CI coverage |", "|---|---|---|---|---|---|---|---|"]
    for est, kind in keys:
        rs = [r for r in sim if (r["estimator"], r["estimates"]) == (est, kind)]

        def mean(k: str, rs: list = rs) -> str:
            return f"{np.mean([r[k] for r in rs]):.3f}"

        maes = " / ".join(f"{r['mae']:.3f}" for r in rs)
        lines.append(f"| {est} | {kind} | {maes} | {mean('median_ae')} | {mean('bias')} | "
                     f"{mean('corr')} | {mean('within_0.3')} | {mean('ci95_coverage')} |")
    lifts = [str(r["promo_effect"]) for r in sim if "promo_effect" in r]
    lines += ["", f"Shared promotion lift estimated (log scale; the simulator's is 0.1): {' / '.join(lifts)}"]
    if "m5" in payload:
        lines += ["", "| category | items | own estimate (>= 4 price changes) | pooled | median | IQR | "
                  "share < 0 | 95% CI below 0 | 95% CI above 0 | median of own estimates | "
                  "median price changes |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in payload["m5"]["by_category"]:
            lines.append(f"| {r['category']} | {r['items']:,} | {r['own_estimate']:,} | {r['pooled']:,} | "
                         f"{r['median']:.2f} | {r['q25']:.2f} .. {r['q75']:.2f} | "
                         f"{r['share_negative']:.1%} | {r['share_ci_below_0']:.1%} | "
                         f"{r['share_ci_above_0']:.1%} | {r['own_median']:.2f} | "
                         f"{r['median_price_changes']:g} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="M5 folder (skipped if absent)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--render", type=Path, default=None,
                        help="print the markdown tables of a JSON this script wrote, and exit")
    opts = parser.parse_args()
    if opts.render is not None:
        print(render(json.loads(opts.render.read_text())))
        return
    payload: dict[str, object] = {"simulated": [r for s in SEEDS for r in simulated(s)]}
    if opts.data is not None:
        payload["m5"] = m5(opts.data)
    text = json.dumps(payload, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text)


if __name__ == "__main__":
    main()
