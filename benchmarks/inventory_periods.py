"""Inventory from a weekly or monthly run (`forecast --freq W|M` of daily sales) whose lead
time and review are not whole periods: each period's share (the current rule) against whole
periods rounded up (the rule before), scored on the days that follow.

On a simulated shop, at several origins (sales ingested up to the origin, the end of a whole
period), a forecast run at ``--freq`` is stored; `trendcast inventory` gives each product's
order-up-to level S for the lead time + review days, and S is compared with the demand of those
days (never seen by the forecast). The rule before is reproduced by giving the same run lead
time and review rounded up to whole periods of days.

The days are weighted as the service weights them (the shop's daily sales on the same dates
a year before). ``--data favorita`` does the same on Favorita's daily transactions per store
(``../shared/data/favorita_store_transactions``, real; store closures counted as zero).

    python benchmarks/inventory_periods.py --freq W --lead 3 --review 7 --origins 6
    python benchmarks/inventory_periods.py --data favorita --freq M --origins 8
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import pandas as pd

from trendcast.data.simulate import simulate_shop
from trendcast.data.store import open_store
from trendcast.features.frequency import period_days
from trendcast.services.forecast import run_forecast
from trendcast.services.ingest import ingest_frames
from trendcast.services.inventory import inventory_actions

QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def _origins(end: pd.Timestamp, freq: str, n: int, span: int) -> list[pd.Timestamp]:
    """The last days of ``n`` whole periods, the latest leaving ``span`` days after it."""
    ends = pd.date_range(end=end - pd.Timedelta(days=span), periods=n + 1,
                         freq="W-SUN" if freq == "W" else "ME")
    return list(ends[-n:])


def _data(args: argparse.Namespace) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The extra tables and the daily sales (``unique_id, ds, y``) of the chosen data."""
    if args.data == "sim":
        shop = simulate_shop(n_products=args.products, start="2023-01-01", end="2025-12-31", seed=args.seed)
        return {"products": shop.products, "calendar_events": shop.calendar}, shop.sales
    path = args.shared / "favorita_store_transactions" / "transactions.csv"
    if not path.exists():
        raise SystemExit(f"{path}: not found (see its PROVENANCE.md); give --shared DIR")
    raw = pd.read_csv(path, parse_dates=["date"])
    raw = raw[raw["date"] >= "2015-01-01"]
    wide = raw.pivot_table(index="date", columns="store_nbr", values="transactions", aggfunc="sum")
    wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max()))
    long = wide.stack(future_stack=True).rename("y").reset_index()
    long.columns = ["ds", "unique_id", "y"]
    first = long.dropna().groupby("unique_id")["ds"].min()
    long = long[long["ds"] >= long["unique_id"].map(first)].fillna({"y": 0.0})
    return {}, long.assign(unique_id=long["unique_id"].astype(str))[["unique_id", "ds", "y"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--freq", default="W", choices=["W", "M"])
    ap.add_argument("--products", type=int, default=60)
    ap.add_argument("--origins", type=int, default=6)
    ap.add_argument("--model", default="AutoETS")
    ap.add_argument("--service-level", type=float, default=0.9)
    ap.add_argument("--lead", type=int, default=3)
    ap.add_argument("--review", type=int, default=7)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--data", default="sim", choices=["sim", "favorita"])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    frames, sales = _data(args)
    span = args.lead + args.review
    origins = _origins(sales["ds"].max(), args.freq, args.origins, span)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "ws.duckdb") as store:
        ingest_frames(store, {**frames, "sales": sales[sales["ds"] <= origins[0]]}, source="bench")
        previous = origins[0]
        for origin in origins:
            if origin > previous:
                new = sales[(sales["ds"] > previous) & (sales["ds"] <= origin)]
                ingest_frames(store, {"sales": new}, source="bench")
                previous = origin
            run = run_forecast(store, horizon=4, models=[args.model], quantiles=QUANTILES, freq=args.freq)
            step = period_days(str(store.run_row(run.run_id)["freq"]))
            first = run.forecasts["ds"].min()
            after = sales[(sales["ds"] > origin) & (sales["ds"] <= origin + pd.Timedelta(days=span))]
            demand = after.groupby("unique_id")["y"].sum()
            whole = {"lead": math.ceil(args.lead / step - 1e-9) * step,
                     "review": max(math.ceil(args.review / step - 1e-9), 1) * step}
            for rule, (lead, review) in {"share of a period": (args.lead, args.review),
                                         "whole periods (before)": (round(whole["lead"]),
                                                                     round(whole["review"]))}.items():
                res = inventory_actions(store, service_level=args.service_level, lead_time=lead,
                                        review=review, calibrate=False)
                t = res.table.set_index("unique_id")
                y = demand.reindex(t.index).fillna(0.0)
                rows.append(pd.DataFrame({"origin": str(origin.date()), "rule": rule, "S": t["order_up_to"],
                                          "y": y}))
                print(origin.date(), f"first forecast {first.date()}", rule,
                      f"coverage {(y <= t['order_up_to']).mean():.3f}",
                      f"mean S {t['order_up_to'].mean():.1f}", f"mean demand {y.mean():.1f}", flush=True)
    df = pd.concat(rows).reset_index()
    out: dict[str, object] = {}
    for rule, part in df.groupby("rule"):
        out[str(rule)] = {"cases": len(part), "coverage": round(float((part["y"] <= part["S"]).mean()), 4),
                          "mean_order_up_to": round(float(part["S"].mean()), 2),
                          "mean_demand": round(float(part["y"].mean()), 2),
                          "mean_left_over": round(float((part["S"] - part["y"]).clip(lower=0).mean()), 2)}
    text = json.dumps({**out, "args": {k: str(v) for k, v in vars(args).items()}}, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
