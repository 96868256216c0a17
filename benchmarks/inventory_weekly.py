"""Inventory of a weekly shop (Walmart stores 1-2, real): order-up-to levels for lead time 7 +
review 7 days against the next two weeks' sales, uncalibrated and calibrated on weekly
backtests.

At 6 origins four weeks apart (sales ingested up to the origin), a 4-week forecast of
``--model`` is stored; with ``--calibrate`` a backtest of the same model (4 windows of 4 weeks)
is stored first, so `trendcast inventory` calibrates on it (and on the earlier origins' runs,
as a shop's workspace keeps them). Each product's S at service level 0.9 is compared with its
sales in the 2 weeks after the origin, which no forecast saw. Returns are clipped at zero.

    python benchmarks/inventory_weekly.py --model LightGBM
    python benchmarks/inventory_weekly.py --model LightGBM --calibrate
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from trendcast.data.store import open_store
from trendcast.services.forecast import run_backtest, run_forecast
from trendcast.services.ingest import ingest_frames
from trendcast.services.inventory import inventory_actions

QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="LightGBM")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--stores", type=int, default=2)
    ap.add_argument("--origins", nargs="*", default=None,
                    help="origin dates (Fridays), e.g. the weeks before Christmas 2011; default six "
                         "four weeks apart from 2012-05-04")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = ap.parse_args()
    w = pd.read_csv(args.shared / "walmart_recruiting" / "train.csv.zip", parse_dates=["Date"])
    w = w[w["Store"] <= args.stores]
    sales = pd.DataFrame({"unique_id": w["Store"].astype(str) + "_" + w["Dept"].astype(str),
                          "ds": w["Date"], "y": w["Weekly_Sales"].clip(lower=0.0)})
    weeks = sorted(sales["ds"].unique())
    origins = ([pd.Timestamp(d) for d in args.origins] if args.origins
               else [pd.Timestamp(d) for d in weeks[-2 - 4 * 6::4][:6]])
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "ws.duckdb") as store:
        previous = pd.Timestamp.min
        for origin in origins:
            ingest_frames(store, {"sales": sales[(sales["ds"] > previous) & (sales["ds"] <= origin)]},
                          source="bench")
            previous = origin
            if args.calibrate:
                run_backtest(store, horizon=4, n_windows=4, models=[args.model], quantiles=QUANTILES)
            run_forecast(store, horizon=4, models=[args.model], quantiles=QUANTILES)
            res = inventory_actions(store, service_level=0.9, lead_time=7, review=7,
                                    calibrate=None if args.calibrate else False)
            t = res.table.set_index("unique_id")
            after = sales[(sales["ds"] > origin) & (sales["ds"] <= origin + pd.Timedelta(days=14))]
            y = after.groupby("unique_id")["y"].sum().reindex(t.index)
            ok = y.notna()
            rows.append(pd.DataFrame({"origin": str(origin.date()), "S": t["order_up_to"][ok], "y": y[ok],
                                      "calibrated": t["policy"][ok] == "calibrated"}))
            part = rows[-1]
            below = int((t["safety_stock"][ok] < 0).sum()) if "safety_stock" in t else 0
            print(origin.date(), args.model, f"coverage {(part['y'] <= part['S']).mean():.3f}",
                  f"S below the forecast's mean demand {below}",
                  f"mean S {part['S'].mean():.0f}", f"mean demand {part['y'].mean():.0f}",
                  f"calibrated {int(part['calibrated'].sum())}/{len(part)}", flush=True)
    df = pd.concat(rows)
    print(json.dumps({"model": args.model, "calibrate": args.calibrate, "cases": len(df),
                      "coverage": round(float((df["y"] <= df["S"]).mean()), 3),
                      "mean_order_up_to": round(float(df["S"].mean()), 1),
                      "mean_demand": round(float(df["y"].mean()), 1)}))


if __name__ == "__main__":
    main()
