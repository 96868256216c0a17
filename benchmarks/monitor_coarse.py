"""Monitoring a weekly or monthly shop: the live MASE of each update's forecast.

Replays real non-daily sales through ``trendcast update`` (one new period per update, the
promoted version moved forward without refitting) and prints the MASE that ``monitor``
stores per run and model, for the code at hand. Run it on two checkouts to compare them.
Results: docs/benchmarks.md, "Monitoring weekly and monthly shops".

- monthly: wineind (``monthly_quarterly/monthly.csv``), history to 1992-12, then seven
  months, a version of SeasonalNaive + AutoETS with a 6-month horizon;
- weekly: Walmart stores 1 and 2 (147 departments, negatives clipped), history to
  2012-08-03, then twelve weeks, a 4-week horizon.

    PYTHONPATH=src python benchmarks/monitor_coarse.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_frames
from trendcast.services.monitor import accuracy
from trendcast.services.update import run_update
from trendcast.services.versions import train_version

MODELS = ["SeasonalNaive", "AutoETS"]


def wineind(shared: Path) -> tuple[pd.DataFrame, pd.Timestamp, int, int]:
    df = pd.read_csv(shared / "monthly_quarterly" / "monthly.csv", parse_dates=["ds"])
    return df[df["unique_id"] == "wineind"], pd.Timestamp("1992-12-01"), 7, 6


def walmart(shared: Path) -> tuple[pd.DataFrame, pd.Timestamp, int, int]:
    df = pd.read_csv(shared / "walmart_recruiting" / "train.csv.zip", parse_dates=["Date"])
    df = df[df["Store"].isin([1, 2])]
    out = pd.DataFrame({"unique_id": df["Store"].astype(str) + "_" + df["Dept"].astype(str),
                        "ds": df["Date"], "y": df["Weekly_Sales"].clip(lower=0)})
    return out, pd.Timestamp("2012-08-03"), 12, 4


def replay(sales: pd.DataFrame, cut: pd.Timestamp, n_updates: int, horizon: int) -> pd.DataFrame:
    """MASE per run origin and model after ``n_updates`` one-period updates from ``cut``."""
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "ws.duckdb") as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= cut]}, source="history")
        train_version(store, horizon=horizon, models=MODELS, validate=True)
        later = sorted(sales.loc[sales["ds"] > cut, "ds"].unique())[:n_updates]
        for day in later:
            path = Path(tmp) / f"{pd.Timestamp(day).date()}.csv"
            sales[sales["ds"] == day].to_csv(path, index=False)
            run_update(store, [path], refit="never")
        runs = accuracy(store, level="run")
    return runs.pivot_table(index="origin", columns="model", values="MASE").round(3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    for name, load in (("wineind, monthly", wineind), ("Walmart stores 1-2, weekly", walmart)):
        table = replay(*load(args.shared))
        print(f"\n{name}: live MASE per update (origin = the last stored period)\n")
        print("| origin | " + " | ".join(table.columns) + " |")
        print("|---|" + "---|" * len(table.columns))
        for origin, row in table.iterrows():
            print(f"| {pd.Timestamp(origin).date()} | " + " | ".join(f"{v:.3f}" for v in row) + " |")


if __name__ == "__main__":
    main()
