"""What-if scenarios on the simulated shop, whose price elasticities and promotion uplift are
known: does ``trendcast forecast --scenario`` move the forecast as much as demand really moves?

    python benchmarks/scenarios.py --json out.json

1. **Uplift of a price cut and a promotion.** Sales are stored up to ``--cutoff``
   (2025-09-14 by default: no festival in the next two weeks). LightGBM forecasts 14 days for
   every product through ``run_forecast(..., scenario=plan)``; the plan takes ``--discount``
   percent off and runs a promotion on the first 7 days for the 30 top sellers (by their last
   28 days). Forecast uplift = scenario units / baseline units - 1 over those 7 days. True
   uplift comes from the simulator's own demand function: ``simulate_shop(plan=...)``
   recomputes expected demand with the baseline's assumed price and no promotion, and again
   with the planned price and a promotion, every other factor unchanged
   (``truth.planned``). Target: median absolute relative error <= 25%. ``--cutoff`` takes
   several dates (comma-separated); the pooled error over all of them is printed too.
   ``--response`` is the run's ``scenario_response``: ``elasticity`` (default: the baseline
   times the change the estimated elasticities and promotion effect give) or ``model`` (the
   model's own response to the planned covariates, with LightGBM's price features).
2. **Double 11 2025 with the promotion plan.** As ``benchmarks/explain.py``: sales up to
   2025-11-04, 14-day LightGBM forecast of the 30 top sellers, now with the shop's actual
   prices and promotions for 11-05 .. 11-18 given as the plan. Target: the median forecast on
   11-11 within 20% of the median actual (74 units; 41.7 without the plan in the explain
   benchmark).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402
from trendcast.data.store import open_store  # noqa: E402
from trendcast.services.forecast import run_forecast  # noqa: E402
from trendcast.services.ingest import ingest_frames  # noqa: E402

H = 14
PLAN_DAYS = 7
DOUBLE11_LAST = pd.Timestamp("2025-11-04")
DOUBLE11 = pd.Timestamp("2025-11-11")


def _top(sales: pd.DataFrame, last: pd.Timestamp, n: int) -> list[str]:
    recent = sales[sales["ds"] > last - pd.Timedelta(days=28)].groupby("unique_id")["y"].sum()
    return sorted(recent.sort_values(ascending=False).index[:n])


def _forecast(shop, last: pd.Timestamp, plan: pd.DataFrame, jobs: int,  # type: ignore[no-untyped-def]
              model: str = "LightGBM", response: str = "elasticity"):
    sales = shop.sales[shop.sales["ds"] <= last]
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "shop.duckdb") as store:
        ingest_frames(store, {"products": shop.products, "sales": sales,
                              "calendar_events": shop.calendar}, source="simulated shop")
        return run_forecast(store, horizon=H, models=[model], quantiles=[0.1, 0.5, 0.9],
                            scenario=plan, n_jobs=jobs, cold_start=False,
                            scenario_response=response)


def uplift(seed: int, cutoff: pd.Timestamp, n_top: int, discount: float, jobs: int,
           model: str = "LightGBM", response: str = "elasticity") -> dict:
    shop = simulate_shop(seed=seed)
    ids = _top(shop.sales[shop.sales["ds"] <= cutoff], cutoff, n_top)
    start, end = cutoff + pd.Timedelta(days=1), cutoff + pd.Timedelta(days=PLAN_DAYS)
    plan = pd.DataFrame({"unique_id": ids, "start": str(start.date()), "end": str(end.date()),
                         "discount": str(discount), "promo": "1"})
    res = _forecast(shop, cutoff, plan, jobs, model, response)
    model = res.models[0]  # the run's column (e.g. "Recommended" for "recommended")
    keys = ["unique_id", "ds"]
    days = res.forecasts[(res.forecasts["ds"] >= start) & (res.forecasts["ds"] <= end)
                         & res.forecasts["unique_id"].isin(ids)][keys + [model]]
    days = days.rename(columns={model: "baseline"})
    scen = res.scenario_forecasts[keys + [model]].rename(columns={model: "plan"})
    fc = days.merge(scen, on=keys)
    # the prices the forecast assumed (baseline) and planned, from the run's own comparison inputs
    cells = fc[keys].merge(res.scenario_prices[keys + ["base_price"]], on=keys)
    cells = cells.rename(columns={"base_price": "price"})
    base_cells = cells.assign(promo=0.0)
    plan_cells = cells.assign(price=cells["price"] * (1 - discount / 100), promo=1.0)
    true_base = simulate_shop(seed=seed, plan=base_cells).truth.planned
    true_plan = simulate_shop(seed=seed, plan=plan_cells).truth.planned
    truth = (true_plan.groupby("unique_id")["expected"].sum()
             / true_base.groupby("unique_id")["expected"].sum() - 1)
    sums = fc.groupby("unique_id")[["baseline", "plan"]].sum()
    forecast = sums["plan"] / sums["baseline"] - 1
    table = pd.DataFrame({"true_uplift": truth, "forecast_uplift": forecast})
    el = shop.truth.products.set_index("unique_id")["elasticity"]
    table["elasticity"] = table.index.map(el)
    said = res.scenario_response or {}
    if said.get("elasticity"):
        table["elasticity_hat"] = table.index.map(said["elasticity"])
    gap = (table["forecast_uplift"] - table["true_uplift"]).abs()
    table["abs_rel_error"] = gap / table["true_uplift"].abs()
    return {"model": model, "response": said.get("method"), "promo_effect": said.get("promo_effect"),
            "seed": seed, "cutoff": str(cutoff.date()), "plan": f"{discount:g}% off + promotion, "
            f"{start.date()} .. {end.date()}", "products": len(ids),
            "median_abs_rel_error": round(float(table["abs_rel_error"].median()), 4),
            "median_true_uplift": round(float(table["true_uplift"].median()), 4),
            "median_forecast_uplift": round(float(table["forecast_uplift"].median()), 4),
            "n_within_25pct": int((table["abs_rel_error"] <= 0.25).sum()),
            "table": table.round(4).reset_index(names="unique_id").to_dict(orient="records"),
            "notes": res.notes}


def double11(seed: int, n_top: int, jobs: int, model: str = "LightGBM",
             response: str = "elasticity") -> dict:
    shop = simulate_shop(seed=seed)
    ids = _top(shop.sales[shop.sales["ds"] <= DOUBLE11_LAST], DOUBLE11_LAST, n_top)
    window = shop.sales[(shop.sales["ds"] > DOUBLE11_LAST)
                        & (shop.sales["ds"] <= DOUBLE11_LAST + pd.Timedelta(days=H))
                        & shop.sales["unique_id"].isin(ids)]
    plan = pd.DataFrame({"unique_id": window["unique_id"], "start": window["ds"].dt.strftime("%Y-%m-%d"),
                         "price": window["price"].map("{:.2f}".format),
                         "promo": window["promo"].map("{:.0f}".format)})
    res = _forecast(shop, DOUBLE11_LAST, plan, jobs, model, response)
    model = res.models[0]
    keys = ["unique_id", "ds"]
    base = res.forecasts[(res.forecasts["ds"] == DOUBLE11) & res.forecasts["unique_id"].isin(ids)]
    scen = res.scenario_forecasts[res.scenario_forecasts["ds"] == DOUBLE11]
    actual = window[window["ds"] == DOUBLE11]
    t = (base[keys + [model]].rename(columns={model: "baseline"})
         .merge(scen[keys + [model]].rename(columns={model: "with_plan"}), on=keys)
         .merge(actual[keys + ["y", "promo"]], on=keys))
    med = {c: round(float(t[c].median()), 2) for c in ("baseline", "with_plan", "y")}
    return {"model": model, "response": (res.scenario_response or {}).get("method"), "seed": seed,
            "day": str(DOUBLE11.date()), "products": len(t),
            "median_forecast_without_plan": med["baseline"], "median_forecast_with_plan": med["with_plan"],
            "median_actual": med["y"],
            "median_vs_actual": round(med["with_plan"] / med["y"] - 1, 4),
            "median_abs_rel_error_per_product": round(
                float(((t["with_plan"] - t["y"]).abs() / t["y"].clip(lower=1)).median()), 4),
            "n_on_promotion": int((t["promo"] > 0).sum()),
            "table": t.drop(columns="ds").round(2).to_dict(orient="records")}


def pooled(parts: list[dict]) -> dict:
    """The median absolute relative error over every product-plan of several cutoffs."""
    rows = pd.DataFrame([r for part in parts for r in part["table"]])
    return {"cutoffs": [p["cutoff"] for p in parts], "product_plans": len(rows),
            "median_abs_rel_error": round(float(rows["abs_rel_error"].median()), 4),
            "n_within_25pct": int((rows["abs_rel_error"] <= 0.25).sum()),
            "per_cutoff": {p["cutoff"]: p["median_abs_rel_error"] for p in parts}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=30, help="top sellers in the plan")
    parser.add_argument("--seed", type=int, default=7, help="simulated shop seed")
    parser.add_argument("--cutoff", default="2025-09-14",
                        help="last stored day (uplift test); several, comma-separated, are pooled")
    parser.add_argument("--discount", type=float, default=10.0, help="planned discount, percent")
    parser.add_argument("--jobs", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--model", default="LightGBM", help="a model that takes covariates")
    parser.add_argument("--response", default="elasticity", choices=["elasticity", "model"],
                        help="how the plan's prices and promotions move the forecast")
    parser.add_argument("--skip-double11", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    cutoffs = [pd.Timestamp(c.strip()) for c in args.cutoff.split(",") if c.strip()]
    parts = [uplift(args.seed, c, args.top, args.discount, args.jobs, args.model, args.response)
             for c in cutoffs]
    res: dict = {"uplift" if i == 0 else f"uplift_{p['cutoff']}": p for i, p in enumerate(parts)}
    if len(parts) > 1:
        res["pooled"] = pooled(parts)
    if not args.skip_double11:
        res["double11"] = double11(args.seed, args.top, args.jobs, args.model, args.response)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False, default=str))
    for name, part in res.items():
        print(name, json.dumps({k: v for k, v in part.items() if k not in ("table", "notes")},
                               indent=1, default=str))
        if "table" in part:
            print(pd.DataFrame(part["table"]).to_string(index=False))


if __name__ == "__main__":
    main()
