"""Out-of-sample check of `trendcast inventory` through the workspace, calibrated on the stored
backtests or not: on a simulated shop, at several forecast origins (sales ingested up to the
origin only), a backtest and a forecast are stored, then the order-up-to levels of both policies
are compared with the demand of the lead time + review days that follow (never seen by either).

    python benchmarks/inventory_service.py --products 60 --origins 4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from trendcast.data.simulate import simulate_shop
from trendcast.data.store import open_store
from trendcast.services.forecast import run_backtest, run_forecast
from trendcast.services.ingest import ingest_frames
from trendcast.services.inventory import inventory_actions

QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=60)
    ap.add_argument("--origins", type=int, default=4, help="forecast origins, 28 days apart")
    ap.add_argument("--windows", type=int, default=3, help="backtest windows stored at each origin")
    ap.add_argument("--model", default="SeasonalNaive")
    ap.add_argument("--service-level", type=float, default=0.9)
    ap.add_argument("--lead", type=int, default=7)
    ap.add_argument("--review", type=int, default=7)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    shop = simulate_shop(n_products=args.products, start="2024-01-01", end="2025-12-31", seed=args.seed)
    end = shop.sales["ds"].max()
    span = args.lead + args.review
    origins = [end - pd.Timedelta(days=span + 28 * k) for k in range(args.origins - 1, -1, -1)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "ws.duckdb") as store:
        ingest_frames(store, {"products": shop.products, "calendar_events": shop.calendar,
                              "sales": shop.sales[shop.sales["ds"] <= origins[0]]}, source="bench")
        previous = origins[0]
        for origin in origins:
            if origin > previous:
                new = shop.sales[(shop.sales["ds"] > previous) & (shop.sales["ds"] <= origin)]
                ingest_frames(store, {"sales": new}, source="bench")
                previous = origin
            run_backtest(store, horizon=28, n_windows=args.windows, models=[args.model], quantiles=QUANTILES)
            run_forecast(store, horizon=28, models=[args.model], quantiles=QUANTILES)
            upto = origin + pd.Timedelta(days=span)
            after = shop.sales[(shop.sales["ds"] > origin) & (shop.sales["ds"] <= upto)]
            demand = after.groupby("unique_id")["y"].sum()
            for calibrate in (False, True):
                res = inventory_actions(store, service_level=args.service_level, lead_time=args.lead,
                                        review=args.review, calibrate=calibrate)
                t = res.table.set_index("unique_id")
                y = demand.reindex(t.index).fillna(0.0)
                rows.append(pd.DataFrame({"origin": str(origin.date()), "calibrate": calibrate,
                                          "policy": t["policy"], "S": t["order_up_to"], "y": y}))
                print(origin.date(), "calibrated" if calibrate else "nbinom",
                      f"coverage {(y <= t['order_up_to']).mean():.3f}",
                      f"mean S {t['order_up_to'].mean():.1f}",
                      res.assumptions["calibration"].get("coverage"), flush=True)
    df = pd.concat(rows).reset_index()
    out = {}
    for calibrate, part in df.groupby("calibrate"):
        key = "calibrated" if calibrate else "nbinom"
        out[key] = {"cases": len(part), "coverage": round(float((part["y"] <= part["S"]).mean()), 4),
                    "mean_order_up_to": round(float(part["S"].mean()), 2),
                    "rows_calibrated": int((part["policy"] == "calibrated").sum())}
    # the products the calibrated run did calibrate, both policies on the same cases
    on = df[df["calibrate"]].set_index(["origin", "unique_id"])
    off = df[~df["calibrate"]].set_index(["origin", "unique_id"]).loc[on.index]
    mask = (on["policy"] == "calibrated").to_numpy()
    out["calibrated_products_only"] = {
        "cases": int(mask.sum()),
        "coverage_calibrated": round(float((on["y"] <= on["S"])[mask].mean()), 4),
        "coverage_nbinom": round(float((off["y"] <= off["S"])[mask].mean()), 4),
        "mean_S_calibrated": round(float(on["S"][mask].mean()), 2),
        "mean_S_nbinom": round(float(off["S"][mask].mean()), 2)} if mask.any() else {}
    out["args"] = {k: str(v) for k, v in vars(args).items()}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
