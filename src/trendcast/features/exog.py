"""Covariates for models that use them: price and promotion from the sales rows, calendar
flags from the calendar events, and the product hierarchy as static columns. Frames in,
frames out: the caller reads them from the workspace (or a run's snapshot)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.features.calendar import event_features
from trendcast.features.frequency import period_labels

STATIC = ("category", "department")


def add_covariates(series: pd.DataFrame, *, sales: pd.DataFrame, calendar: pd.DataFrame,
                   products: pd.DataFrame, horizon: int = 0) -> pd.DataFrame:
    """``series`` (unique_id, ds, y) plus price, promo, calendar flags and hierarchy columns.

    Args:
        series: the gap-free frame (:func:`trendcast.features.series.fill_series`).
        sales: the stored sales rows of these series (``price`` and ``promo`` are used).
        calendar: the calendar events.
        products: catalogue rows (``category``, ``department``).
        horizon: calendar flags are computed this many days past the end, so future rows
            can reuse them.
    """
    ids = set(series["unique_id"].unique())
    extra = sales.loc[sales["unique_id"].isin(ids), ["unique_id", "ds", "price", "promo"]]
    df = series.merge(extra, on=["unique_id", "ds"], how="left")
    df["promo"] = df["promo"].fillna(0.0)
    if df["price"].isna().all():
        df = df.drop(columns="price")
    freq = series.attrs.get("freq", "D")
    if freq == "D":
        end = df["ds"].max() + pd.Timedelta(days=horizon)
        feats = event_features(pd.date_range(df["ds"].min(), end, freq="D"), calendar)
    else:
        feats = period_flags(df["ds"].min(), df["ds"].max(), freq, horizon, calendar)
    df = df.merge(feats, on="ds", how="left")
    df = df.merge(products[["unique_id", *STATIC]], on="unique_id", how="left")
    for col in STATIC:
        df[col] = df[col].fillna("unknown")
    df.attrs.update(series.attrs)
    df.attrs["calendar"] = feats
    return df


def period_flags(start: pd.Timestamp, end: pd.Timestamp, freq: str, horizon: int,
                 calendar: pd.DataFrame) -> pd.DataFrame:
    """Calendar flags per period of ``freq`` from ``start`` to ``horizon`` periods past ``end``:
    a period carries a flag when any of its days does (a month containing Double 11 is a
    Double 11 month)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    first = offset.rollback(start) - offset if not freq.startswith("W") else start - pd.Timedelta(days=6)
    last = end + (horizon + 1) * offset
    days = pd.date_range(first, last, freq="D")
    daily = event_features(days, calendar)
    daily["ds"] = period_labels(daily["ds"], freq).to_numpy()
    return daily.groupby("ds", as_index=False).max()


def future_covariates(df: pd.DataFrame, horizon: int, freq: str) -> tuple[pd.DataFrame, list[str]]:
    """Future rows for every series: calendar flags as scheduled, price held at its last
    regular (non-promotion) value and no promotion (planned prices and promotions can replace
    them). Returns notes."""
    step = pd.tseries.frequencies.to_offset(freq)
    last = df.groupby("unique_id")["ds"].max()
    future = pd.DataFrame({
        "unique_id": np.repeat(last.index.to_numpy(), horizon),
        "ds": np.concatenate([pd.date_range(d + step, periods=horizon, freq=freq).to_numpy()
                              for d in last.to_numpy()]),
    })
    notes = []
    if "price" in df.columns:
        priced = df.dropna(subset=["price"])
        last_price = priced.groupby("unique_id")["price"].last()
        if "promo" in priced.columns:  # a promotion price would otherwise run on for the horizon
            regular = priced[priced["promo"].fillna(0) <= 0].groupby("unique_id")["price"].last()
            last_price = regular.combine_first(last_price)
        future["price"] = future["unique_id"].map(last_price)
        notes.append("future prices held at each product's last regular (non-promotion) price")
    if "promo" in df.columns:
        future["promo"] = 0.0
        notes.append("no promotions assumed in the forecast horizon")
    feats = df.attrs.get("calendar")
    if feats is not None:
        future = future.merge(feats, on="ds", how="left")
        cal_cols = [c for c in feats.columns if c != "ds"]
        future[cal_cols] = future[cal_cols].fillna(0.0)
    return future, notes
