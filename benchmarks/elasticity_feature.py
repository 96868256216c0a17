"""Does the per-product elasticity feature of LightGBM change plain forecast accuracy?

    python benchmarks/elasticity_feature.py --data sim --json sim.json
    python benchmarks/elasticity_feature.py --data /work/shared/data/m5_ca1 --items 300 --json m5.json

LightGBM is fitted twice on the same frame (``price_elasticity=True`` / ``False``, everything else
equal) at each cutoff and forecasts ``--h`` days with the actual future prices, promotions and
calendar (the covariates a scenario would give; no plan). Score: WAPE = sum |y - forecast| /
sum y over all series and days, per cutoff and pooled. Simulated shop: seed 7, 240 products.
M5: ``--items`` products of CA_1 drawn at random (seed 0) and cutoffs inside the training file
(no test actuals are read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.features.exog import add_covariates  # noqa: E402
from trendcast.features.series import fill_series  # noqa: E402
from trendcast.models.boosting import LightGBMGlobal  # noqa: E402

SIM_CUTOFFS = ("2025-03-16", "2025-07-13", "2025-08-10", "2025-09-14")
M5_CUTOFFS = ("2016-02-28", "2016-03-27", "2016-04-24")


def frame(data: str, items: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    if data == "sim":
        from trendcast.data.simulate import simulate_shop

        shop = simulate_shop(seed=7)
        sales, products, calendar, cutoffs = shop.sales, shop.products, shop.calendar, SIM_CUTOFFS
    else:
        from trendcast.data.m5 import read_m5

        m5 = read_m5(data)
        ids = np.random.default_rng(0).choice(sorted(m5.products["unique_id"]), items, replace=False)
        products = m5.products[m5.products["unique_id"].isin(ids)]
        sales = m5.sales[m5.sales["unique_id"].isin(ids)]
        calendar, cutoffs = m5.calendar, M5_CUTOFFS
    series = fill_series(sales[["unique_id", "ds", "y"]], "D")
    if "promo" not in sales.columns:
        sales = sales.assign(promo=np.nan)
    df = add_covariates(series, sales=sales, calendar=calendar, products=products)
    df.attrs = {}
    return df, cutoffs


def run(data: str, items: int, h: int, jobs: int) -> dict:
    df, cutoffs = frame(data, items)
    rows = []
    for cutoff in map(pd.Timestamp, cutoffs):
        train = df[df["ds"] <= cutoff]
        future = df[(df["ds"] > cutoff) & (df["ds"] <= cutoff + pd.Timedelta(days=h))]
        row: dict = {"cutoff": str(cutoff.date()), "actual": float(future["y"].sum())}
        for on in (False, True):
            model = LightGBMGlobal(price_elasticity=on, n_jobs=jobs).fit(train)
            fc = model.predict(h, X_df=future.drop(columns="y"))
            got = future[["unique_id", "ds", "y"]].merge(fc, on=["unique_id", "ds"])
            key = "with" if on else "without"
            row[f"abs_err_{key}"] = float((got["y"] - got["LightGBM"]).abs().sum())
            row[f"wape_{key}"] = round(row[f"abs_err_{key}"] / row["actual"], 4)
            if on and model.elasticity_ is not None:
                row["pooled_elasticity"] = round(model.elasticity_[1], 3)
        rows.append(row)
        print(row, flush=True)
    pooled = {k: round(sum(r[f"abs_err_{k}"] for r in rows) / sum(r["actual"] for r in rows), 4)
              for k in ("without", "with")}
    return {"data": data, "h": h, "series": int(df["unique_id"].nunique()), "cutoffs": rows,
            "pooled_wape": pooled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sim", help="'sim' or an M5 folder")
    parser.add_argument("--items", type=int, default=300, help="M5 products drawn at random")
    parser.add_argument("--h", type=int, default=14, help="forecast days")
    parser.add_argument("--jobs", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    res = run(args.data, args.items, args.h, args.jobs)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    print(json.dumps(res["pooled_wape"]))


if __name__ == "__main__":
    main()
