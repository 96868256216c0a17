"""Write the example input files of the README from trendcast's own simulated shop.

    python examples/make_examples.py            # rewrites the files next to this script

Six products over 2024-2025 (seed 7): a catalogue, daily sales (four products in a CSV, two in
an Excel sheet with the shop's own column names), orders, review texts with star ratings, the
festival calendar, the shop's own promotion days, daily stock on hand and today's stock. The
files are small (under 300 KB together) and the same on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from trendcast.data.simulate import simulate_shop  # noqa: E402

SEED = 7
STOCK_DAYS = 120


def _stock(sales: pd.DataFrame, stockouts: pd.DataFrame, days: int, seed: int) -> pd.DataFrame:
    """Units on hand at the end of each of the last ``days`` days: a fortnightly delivery up to
    three weeks of demand, the day's sales taken off, zero on the simulated stock-out days."""
    rng = np.random.default_rng(seed)
    end = sales["ds"].max()
    recent = sales[sales["ds"] > end - pd.Timedelta(days=days)]
    out = recent.sort_values("ds", kind="stable").reset_index(drop=True)
    outs = set(zip(stockouts["unique_id"], stockouts["ds"], strict=True))
    frames = []
    for uid, part in out.groupby("unique_id", sort=True):
        level = max(float(part["y"].mean()) * 21, 5.0)
        on_hand, values = level, []
        for i, (ds, y) in enumerate(zip(part["ds"], part["y"], strict=True)):
            if i % 14 == 0:
                on_hand = level + float(rng.integers(0, 5))
            on_hand = max(on_hand - y, 0.0)
            values.append(0.0 if (uid, ds) in outs else on_hand)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": part["ds"].to_numpy(), "on_hand": values}))
    return pd.concat(frames, ignore_index=True)


def _promotions(sales: pd.DataFrame) -> pd.DataFrame:
    """The shop's own promotion periods: runs of days on which at least half the products were
    on promotion, as ``ds, end, name, kind``."""
    share = sales.groupby("ds")["promo"].mean()
    days = share[share >= 0.5].index
    runs: list[list[pd.Timestamp]] = []
    for d in days:
        if runs and d - runs[-1][-1] == pd.Timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    names = {6: "618 店铺满减", 11: "双11 店铺大促", 12: "双12 返场", 3: "春季上新", 1: "年货节"}
    rows = [{"ds": r[0].date(), "end": r[-1].date(),
             "name": f"{r[0].year} {names.get(r[0].month, f'{r[0].month}月店铺活动')}", "kind": "promotion"}
            for r in runs if len(r) >= 2]
    return pd.DataFrame(rows).drop_duplicates("name")


def make_examples(folder: Path = HERE, seed: int = SEED) -> dict[str, Path]:
    """Write every example file into ``folder``; returns name -> path."""
    shop = simulate_shop(n_products=6, start="2024-01-01", end="2025-12-31", n_users=300,
                         behaviour_days=60, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in (
        "products.csv", "sales.csv", "my.xlsx", "orders.csv", "reviews.csv", "calendar.csv",
        "promo_days.csv", "stock.csv", "on_hand.csv")}
    products = shop.products.drop(columns=["store"])
    products.to_csv(paths["products.csv"], index=False)

    sales = shop.sales.assign(price=shop.sales["price"].round(1), promo=shop.sales["promo"].astype(int),
                              y=shop.sales["y"].astype(int))
    ids = sorted(sales["unique_id"].unique())
    in_csv, in_xlsx = ids[:4], ids[4:]
    sales[sales["unique_id"].isin(in_csv)].to_csv(paths["sales.csv"], index=False, date_format="%Y-%m-%d")
    # a shop's own export: its own column names, one sheet, dates as Excel dates
    own = sales[sales["unique_id"].isin(in_xlsx)].rename(
        columns={"unique_id": "sku", "ds": "date", "y": "units"})[["sku", "date", "units", "price", "promo"]]
    with pd.ExcelWriter(paths["my.xlsx"], engine="openpyxl") as xl:
        own.to_excel(xl, sheet_name="sales", index=False)

    orders = shop.orders.assign(ts=shop.orders["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                                quantity=shop.orders["quantity"].astype(int))
    orders.to_csv(paths["orders.csv"], index=False)
    reviews = shop.reviews.assign(ts=shop.reviews["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                                  rating=shop.reviews["rating"].astype("Int64"))
    reviews.to_csv(paths["reviews.csv"], index=False)
    shop.calendar.to_csv(paths["calendar.csv"], index=False, date_format="%Y-%m-%d")
    _promotions(shop.sales).to_csv(paths["promo_days.csv"], index=False)

    stock = _stock(shop.sales, shop.truth.stockouts, STOCK_DAYS, seed)
    stock.assign(on_hand=stock["on_hand"].round().astype(int)).to_csv(
        paths["stock.csv"], index=False, date_format="%Y-%m-%d")
    today = stock[stock["ds"] == stock["ds"].max()][["unique_id", "on_hand"]]
    today.assign(on_hand=today["on_hand"].round().astype(int), lead_time_days=7).to_csv(
        paths["on_hand.csv"], index=False)
    return paths


if __name__ == "__main__":
    for name, path in make_examples().items():
        print(f"{name:16s} {path.stat().st_size / 1024:6.1f} KB")
