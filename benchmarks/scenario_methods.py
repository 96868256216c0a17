"""Choosing how a what-if run estimates its price response, on simulated shops other than the
one reported (seeds 11 and 13 by default; seed 7 is the shop of docs/benchmarks.md).

    python benchmarks/scenario_methods.py --seeds 11,13 --json out.json

The plan is the one of ``benchmarks/scenarios.py``: ``--discount`` percent off the assumed price
plus a promotion for 7 days, for the 30 top sellers of the last 28 days before each cutoff.
Under the default ``scenario_response="elasticity"`` every plan day is scaled by the same
factor, so the forecast uplift is ``(1 - d) ** e_hat x exp(promo_hat) - 1`` whatever the
baseline forecast: each variant is scored without fitting a forecasting model. The estimates
come from :func:`trendcast.engine.tasks.estimate_response`, the function a run calls; the true
uplift from the simulator's own demand (``simulate_shop(plan=...)``, as in scenarios.py).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402
from trendcast.engine.tasks import Block, Prep, estimate_response  # noqa: E402
from trendcast.features.elasticity import ElasticityOptions  # noqa: E402

CUTOFFS = ("2025-03-16", "2025-07-13", "2025-08-10", "2025-09-14")
PLAN_DAYS = 7
# name -> (history days, options); the first is what a run uses
VARIANTS: dict[str, tuple[int | None, ElasticityOptions]] = {
    "shrunk, 730 days": (730, ElasticityOptions()),
    "own (no shrinkage), 730 days": (730, ElasticityOptions(shrink=False)),
    "shrunk, 365 days": (365, ElasticityOptions()),
    "shrunk, whole history": (None, ElasticityOptions()),
}


def _top(sales: pd.DataFrame, last: pd.Timestamp, n: int) -> list[str]:
    recent = sales[sales["ds"] > last - pd.Timedelta(days=28)].groupby("unique_id")["y"].sum()
    return sorted(recent.sort_values(ascending=False).index[:n])


def true_uplift(seed: int, ids: list[str], cutoff: pd.Timestamp, discount: float) -> pd.Series:
    """The simulator's uplift of the plan: expected demand with the price cut and a promotion
    over expected demand without, everything else unchanged (any base price: the ratio is the
    same)."""
    days = pd.date_range(cutoff + pd.Timedelta(days=1), periods=PLAN_DAYS)
    cells = pd.DataFrame({"unique_id": np.repeat(ids, PLAN_DAYS), "ds": np.tile(days, len(ids)),
                          "price": 100.0, "promo": 0.0})
    base = simulate_shop(seed=seed, plan=cells).truth.planned
    plan = simulate_shop(seed=seed, plan=cells.assign(price=100.0 * (1 - discount / 100),
                                                      promo=1.0)).truth.planned
    return plan.groupby("unique_id")["expected"].sum() / base.groupby("unique_id")["expected"].sum() - 1


@functools.lru_cache(maxsize=2)
def _shop(seed: int):  # type: ignore[no-untyped-def]
    return simulate_shop(seed=seed)


def score(seed: int, cutoff: pd.Timestamp, n_top: int, discount: float) -> list[dict]:
    shop = _shop(seed)
    sales = shop.sales[shop.sales["ds"] <= cutoff]
    ids = _top(sales, cutoff, n_top)
    truth = true_uplift(seed, ids, cutoff, discount)
    true_e = shop.truth.products.set_index("unique_id")["elasticity"]
    block = Block(sorted(sales["unique_id"].unique()), sales, shop.products)
    prep = Prep("D", 14, True, False, shop.calendar)
    rows = []
    for name, (days, options) in VARIANTS.items():
        resp = estimate_response(block, prep, days, options)
        assert resp is not None
        e_hat = pd.Series(resp.of(ids), index=ids)
        promo = resp.promo or 0.0
        forecast = (1 - discount / 100) ** e_hat * np.exp(promo) - 1
        err = (forecast - truth.loc[ids]).abs() / truth.loc[ids].abs()
        for uid in ids:
            rows.append({"seed": seed, "cutoff": str(cutoff.date()), "variant": name,
                         "unique_id": uid, "elasticity": float(true_e[uid]),
                         "elasticity_hat": float(e_hat[uid]), "source": str(resp.source.get(uid, "pooled")),
                         "promo_hat": promo, "true_uplift": float(truth[uid]),
                         "forecast_uplift": float(forecast[uid]), "abs_rel_error": float(err[uid])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="11,13", help="simulated shop seeds, comma-separated")
    parser.add_argument("--cutoffs", default=",".join(CUTOFFS), help="last stored days")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--discount", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [r for seed in args.seeds.split(",") for c in args.cutoffs.split(",")
            for r in score(int(seed), pd.Timestamp(c), args.top, args.discount)]
    df = pd.DataFrame(rows)
    per_cut = df.groupby(["variant", "seed", "cutoff"])["abs_rel_error"].median().unstack(["seed", "cutoff"])
    summary = df.groupby("variant").agg(
        pooled_error=("abs_rel_error", "median"),
        within_25pct=("abs_rel_error", lambda e: int((e <= 0.25).sum())),
        product_plans=("abs_rel_error", "size"),
        median_abs_elasticity_error=("elasticity_hat", lambda s: float(
            (s - df.loc[s.index, "elasticity"]).abs().median())),
        promo_hat=("promo_hat", "median"))
    worst = per_cut.max(axis=1).rename("worst_cutoff")
    summary = summary.join(worst).loc[list(VARIANTS)]
    pd.set_option("display.width", 200)
    print(per_cut.loc[list(VARIANTS)].round(3).to_string())
    print(summary.round(4).to_string())
    if args.json:
        cells = per_cut.stack(["seed", "cutoff"], future_stack=True)
        args.json.write_text(json.dumps({"summary": summary.reset_index().to_dict(orient="records"),
                                         "per_cutoff": {f"{v}|{s}|{c}": float(x) for (v, s, c), x in
                                                        cells.items()},
                                         "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
