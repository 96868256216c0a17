"""Price elasticity: recovered vs true elasticities on the simulated shop (3 seeds), the
realised margin of the suggested prices under the true demand curves, and the distribution of
estimates on M5 CA_1 (real data, no truth: described, not scored).

    python benchmarks/pricing.py --data /work/shared/data/m5_ca1 --json out.json

Simulated shop: demand has the factor (price / list_price) ** elasticity with elasticities drawn
uniformly in [-2.5, -0.5], promotions (10-30% off plus an extra lift of exp(0.1)), festivals
and trends. Compared: trendcast's estimator (Poisson GLM, shop-wide promotion lift, empirical
Bayes shrinkage to the department), the same without pooling the promotion lift, and OLS on
log(y + 1). "pooled" rows: the prices of a random quarter of the products are replaced by a
constant before estimating, so those products get the pooled estimate of their department,
which is scored against their true elasticity.

Suggested prices ("decisions"): on each seed, every product's current regular price p0 and
recent daily units q0 are read as `trendcast pricing` reads them, its unit cost from the
simulated catalogue. Under the true curve q0 (p / p0) ** e_true the realised margin (and
revenue) of four policies is summed over products: no change; trendcast's decisions (change only
for own/shrunk estimates whose interval lies below 0); the estimated optimum applied to every
product (no refusals); and the true optimum within the same bounds (e_true known).
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
from trendcast.insights.pricing import (  # noqa: E402
    ElasticityOptions,
    PriceRules,
    current_prices,
    elasticities,
    optimal_price,
    price_decisions,
)

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


def realised(est: pd.DataFrame, shop: object, truth_of: pd.Series, objective: str,
             bounds: tuple[float, float] = (0.8, 1.2)) -> dict[str, object]:
    """Realised objective of no change, the decisions, the unguarded optimum and the true
    optimum, under the true demand curves (see the module docstring)."""
    price, base = current_prices(shop.sales)  # type: ignore[attr-defined]
    t = est.copy()
    t["price"] = t["unique_id"].map(price)
    t["base_demand"] = t["unique_id"].map(base)
    t["unit_cost"] = t["unique_id"].map(shop.products.set_index("unique_id")["unit_cost"])  # type: ignore[attr-defined]
    t = t[t["base_demand"] > 0].reset_index(drop=True)
    d = price_decisions(t, PriceRules(objective=objective, bounds=bounds))
    e_true = t["unique_id"].map(truth_of).to_numpy()
    p0, q0, c = (t[k].to_numpy(dtype=float) for k in ("price", "base_demand", "unit_cost"))
    lo, hi = p0 * bounds[0], p0 * bounds[1]
    unguarded = np.where(np.isfinite(d["optimal_price"]), d["optimal_price"], p0)
    policies = {"no change": p0, "trendcast decisions": d["suggested_price"].to_numpy(),
                "estimated optimum, no refusals": unguarded,
                "true optimum": optimal_price(e_true, c, lo, hi, objective)}

    def value(p: np.ndarray) -> np.ndarray:
        q = q0 * (p / p0) ** e_true
        return q * (p - c) if objective == "margin" else q * p if objective == "revenue" else q

    base_value = value(p0)
    best = value(policies["true optimum"]).sum()
    out: dict[str, object] = {"objective": objective, "products": len(t),
                              "changed": int((d["decision"] == "change").sum())}
    for name, p in policies.items():
        v = value(p)
        out[name] = {"total": round(float(v.sum()), 2),
                     "vs_no_change": round(float(v.sum() / base_value.sum() - 1), 4),
                     "share_of_possible_gain": round(float((v.sum() - base_value.sum())
                                                           / (best - base_value.sum())), 3),
                     "products_worse_than_no_change": int((v < base_value - 1e-9).sum())}
    changed = d["decision"] == "change"
    kinds = {"only pooled": "pooled", "includes 0": "interval includes 0",
             "already the best": "already best", "no elasticity": "no estimate"}
    why = [next((v for k, v in kinds.items() if k in r), "constraints") for r in d.loc[~changed, "reason"]]
    out["keep_reasons"] = {k: int(v) for k, v in pd.Series(why).value_counts().items()}
    return out


def simulated(seed: int) -> list[dict[str, object]]:
    shop = simulate_shop(seed=seed)
    truth_of = shop.truth.products.set_index("unique_id")["elasticity"]
    rows: list[dict[str, object]] = []
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
                         "sources": {k: int(v) for k, v in est["estimate"].value_counts().items()},
                         **scores(est["elasticity"], truth, est["ci_low"], est["ci_high"])})
            for objective in ("margin", "revenue"):
                rows.append({"seed": seed, "decisions": realised(est, shop, truth_of, objective),
                             "prices": "all observed"})
    # the pooled path: hide the price variation of a random quarter of the products
    rng = np.random.default_rng(seed)
    ids = shop.products["unique_id"].to_numpy()
    hidden = set(rng.choice(ids, len(ids) // 4, replace=False))
    sales = shop.sales.copy()
    mask = sales["unique_id"].isin(hidden)
    sales.loc[mask, "price"] = sales[mask].groupby("unique_id")["price"].transform("median")
    est_all = elasticities(sales, events=shop.calendar, products=shop.products)
    rows.append({"seed": seed, "decisions": realised(est_all, shop, truth_of, "margin"),
                 "prices": "a quarter hidden"})
    est = est_all[est_all["unique_id"].isin(hidden)]
    assert (est["estimate"] == "pooled").all()
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
        own = g[g["estimate"].isin(["own", "shrunk"])]
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
    sim = [r for r in payload["simulated"] if "decisions" not in r]
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
    lines += ["", render_decisions([r for r in payload["simulated"] if "decisions" in r])]
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


def render_decisions(rows: list[dict]) -> str:
    """The realised-objective table: one line per (objective, prices, policy), seeds 7/8/9."""
    policies = ("no change", "trendcast decisions", "estimated optimum, no refusals", "true optimum")
    lines = ["| objective | prices | policy | vs no change (seeds " + "/".join(map(str, SEEDS))
             + ") | share of the possible gain | products worse than no change | changed |",
             "|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["decisions"]["objective"], r["prices"]), []).append(r["decisions"])
    for (objective, prices), ds in groups.items():
        for pol in policies:
            vs = " / ".join(f"{d[pol]['vs_no_change']:+.1%}" for d in ds)
            share = " / ".join(f"{d[pol]['share_of_possible_gain']:.2f}" for d in ds)
            worse = " / ".join(str(d[pol]["products_worse_than_no_change"]) for d in ds)
            changed = " / ".join(f"{d['changed']} of {d['products']}" for d in ds) \
                if pol == "trendcast decisions" else ""
            lines.append(f"| {objective} | {prices} | {pol} | {vs} | {share} | {worse} | {changed} |")
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
