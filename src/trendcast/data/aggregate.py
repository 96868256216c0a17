"""Aggregate raw transactions into sales series."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError

Freq = Literal["D", "W"]


STEP = {"D": pd.Timedelta(days=1), "W": pd.Timedelta(days=7)}


def period_start(ts: pd.Series, freq: Freq) -> pd.Series:
    """The day, or the Monday of the week, each time falls in."""
    ts = pd.to_datetime(ts)
    return ts.dt.normalize() if freq == "D" else ts.dt.to_period("W-SUN").dt.start_time


def orders_to_sales(orders: pd.DataFrame, freq: Freq = "D") -> pd.DataFrame:
    """Sum order quantities per product and day (or week starting Monday).

    Days without orders inside a product's span become zero sales, because no order means
    nothing was sold, not that the day is unknown. ``price`` is the quantity-weighted mean
    unit price of the period (missing where the period had no priced sale).
    """
    if freq not in ("D", "W"):
        raise DataValidationError(f"freq must be 'D' (daily) or 'W' (weekly), got {freq!r}")
    if orders.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "y", "price", "promo"])
    df = orders[["unique_id", "ts", "quantity"]].copy()
    df["ds"] = period_start(df["ts"], freq)
    price = orders["unit_price"] if "unit_price" in orders.columns else pd.Series(np.nan, index=orders.index)
    df["revenue"] = price.to_numpy() * df["quantity"].to_numpy()
    df["priced_qty"] = np.where(price.notna().to_numpy(), df["quantity"].to_numpy(), 0.0)
    agg = df.groupby(["unique_id", "ds"], as_index=False).agg(
        y=("quantity", "sum"), revenue=("revenue", "sum"), priced_qty=("priced_qty", "sum")
    )
    agg["price"] = agg["revenue"] / agg["priced_qty"].where(agg["priced_qty"] > 0)
    step = STEP[freq]
    end = agg["ds"].max()
    spans = agg.groupby("unique_id")["ds"].min()
    grid = pd.concat(
        [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, end, freq=step)})
         for uid, start in spans.items()],
        ignore_index=True,
    )
    out = grid.merge(agg[["unique_id", "ds", "y", "price"]], on=["unique_id", "ds"], how="left")
    out["y"] = out["y"].fillna(0.0)
    out["promo"] = np.nan
    return out[["unique_id", "ds", "y", "price", "promo"]]
