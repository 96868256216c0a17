"""Monthly totals from weekly sales: each week by its date, or spread over its days?

A shop that stores weekly sales and plans monthly (``forecast --freq M``) needs monthly totals
from weeks that straddle months. M5 CA_1 is daily, so the true monthly totals are known: its
days are summed into weeks ending Friday (Walmart's weeks), then the weeks into months two
ways, (a) each week wholly in the month of its date (what trendcast did before), (b) each
week's units spread evenly over its seven days (:func:`trendcast.features.series.resample_sales`
with ``week_start``), and both compared with the months summed from the days, over the months
the weeks cover completely. Results: docs/benchmarks.md, "Monthly plans from weekly sales".

    PYTHONPATH=src python benchmarks/weekly_to_monthly.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from trendcast.features.frequency import period_labels
from trendcast.features.series import resample_sales


def m5_daily(folder: Path) -> pd.DataFrame:
    wide = pd.read_csv(folder / "sales_train_evaluation_CA_1.csv.gz")
    days = [c for c in wide.columns if c.startswith("d_")]
    calendar = pd.read_csv(folder / "calendar.csv", usecols=["d", "date"])
    dates = dict(zip(calendar["d"], pd.to_datetime(calendar["date"]), strict=True))
    long = wide.melt(id_vars=["item_id"], value_vars=days, var_name="d", value_name="y")
    return pd.DataFrame({"unique_id": long["item_id"], "ds": long["d"].map(dates),
                         "y": long["y"].astype(float)})


def scores(monthly: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    both = truth.merge(monthly, on=["unique_id", "ds"], how="left", suffixes=("", "_est")).fillna(0.0)
    err = (both["y_est"] - both["y"]).abs()
    shop = both.groupby("ds")[["y", "y_est"]].sum()
    return {"item WAPE": round(float(err.sum() / both["y"].sum()), 4),
            "shop total MAPE": round(float(((shop["y_est"] - shop["y"]).abs() / shop["y"]).mean()), 4),
            "shop total worst month": round(float(((shop["y_est"] - shop["y"]).abs() / shop["y"]).max()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    daily = m5_daily(Path(args.shared) / "m5_ca1")
    weekly = daily.assign(ds=period_labels(daily["ds"], "W-FRI").to_numpy())
    weekly = weekly.groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    first_day = weekly["ds"].min() - pd.Timedelta(days=6)
    last_day = weekly["ds"].max()
    daily = daily[(daily["ds"] >= first_day) & (daily["ds"] <= last_day)]
    truth = resample_sales(daily, "MS")
    months = truth["ds"].drop_duplicates()
    whole = months[(months >= first_day) & (months + pd.offsets.MonthEnd(0) <= last_day)]
    truth = truth[truth["ds"].isin(whole)]
    rows = {"(a) each week in the month of its date": resample_sales(weekly, "MS"),
            "(b) each week spread over its days": resample_sales(weekly, "MS", week_start=-6)}
    print(f"M5 CA_1: {weekly['unique_id'].nunique():,} items, {len(whole)} whole months "
          f"({whole.min():%Y-%m} .. {whole.max():%Y-%m}), weeks ending Friday")
    print("| monthly totals from weekly sales | item WAPE | shop total MAPE | shop total worst month |")
    print("|---|---|---|---|")
    for name, monthly in rows.items():
        s = scores(monthly[monthly["ds"].isin(whole)], truth)
        print(f"| {name} | {s['item WAPE']} | {s['shop total MAPE']} | {s['shop total worst month']} |")


if __name__ == "__main__":
    main()
