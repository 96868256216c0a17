"""Cleaning on the simulated shop, whose stock-outs are known (``demo_truth``).

Run through ``benchmarks/catalogues.py --only cleaning`` (or ``python benchmarks/cleaning_bench.py``).

- Detection: the stock-out days cleaning infers from zero runs (no stock file), against the
  simulator's stock-out days: precision and recall, per seed.
- Effect: rolling backtests (6 windows of 28 days, the last six months) with and without
  ``clean``, through the run path; WAPE on the products with stock-outs ("affected") and on
  the others, over the test days that were not themselves stock-outs (a stock-out day's zero
  is not demand), and over every test day.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

SEEDS = (7, 1, 2)
MODELS = ("AutoETS", "LightGBM")


def detection(seed: int) -> dict:
    from trendcast.data.simulate import simulate_shop
    from trendcast.features.cleaning import clean_series
    from trendcast.features.series import fill_series

    shop = simulate_shop(n_products=240, seed=seed)
    series = fill_series(shop.sales, "D")
    _, changes = clean_series(series, calendar=shop.calendar)
    found = changes[changes["reason"].str.startswith("stock-out")][["unique_id", "ds"]]
    truth = shop.truth.stockouts.assign(ds=lambda d: pd.to_datetime(d["ds"]))
    hits = len(found.merge(truth, on=["unique_id", "ds"]))
    return {"seed": seed, "found_days": len(found), "true_days": len(truth),
            "precision": round(hits / max(len(found), 1), 3), "recall": round(hits / len(truth), 3),
            "outliers": int((changes["reason"] == "outlier").sum())}


def effect(n_jobs: int) -> list[dict]:
    from trendcast.data.simulate import simulate_shop
    from trendcast.engine.runner import FrameSource, Runner
    from trendcast.models.registry import make_model

    shop = simulate_shop(n_products=240, seed=7)
    truth = shop.truth.stockouts.assign(ds=lambda d: pd.to_datetime(d["ds"]), stockout=True)
    affected = set(truth["unique_id"])
    source = FrameSource(shop.sales, shop.products, shop.calendar)
    rows = []
    for name in MODELS:
        scored = {}
        for clean in (False, True):
            model = make_model(name, n_jobs=n_jobs)
            t0 = time.perf_counter()
            cv = Runner([model], n_jobs=n_jobs, clean=clean).cross_validation(source, 28, n_windows=6)
            cv = cv.forecasts.merge(truth, on=["unique_id", "ds"], how="left")
            cv["stockout"] = cv["stockout"].fillna(False).astype(bool)
            scored[clean] = (cv.rename(columns={model.alias: "fc"}), time.perf_counter() - t0)
        for group, ids in (("affected", affected), ("unaffected", None)):
            row = {"model": name, "products": group}
            for clean, (cv, secs) in scored.items():
                inside = cv["unique_id"].isin(affected)
                part = cv[inside] if ids is not None else cv[~inside]
                demand = part[~part["stockout"]]
                tag = "clean" if clean else "raw"
                row[f"wape_{tag}"] = round(_wape(demand), 4)
                row[f"wape_all_days_{tag}"] = round(_wape(part), 4)
                row[f"seconds_{tag}"] = round(secs, 1)
            row["change"] = round(row["wape_clean"] / row["wape_raw"] - 1, 4)
            rows.append(row)
            print(row, flush=True)
    return rows


def _wape(cv: pd.DataFrame) -> float:
    return float((cv["y"] - cv["fc"]).abs().sum() / cv["y"].abs().sum())


def cleaning(n_jobs: int = 2) -> dict:
    found = [detection(s) for s in SEEDS]
    for row in found:
        print(row, flush=True)
    return {"detection": found, "effect": effect(n_jobs)}


if __name__ == "__main__":
    import json

    print(json.dumps(cleaning(), indent=2))
