"""A catalogue's frequency and season length, from the dates of its series."""

from __future__ import annotations

import pandas as pd

from trendcast.errors import DataValidationError


def infer_freq(df: pd.DataFrame) -> str:
    """'D' for daily data, 'W-<day>' for weekly, else the pandas alias of the modal step."""
    ds = df.sort_values(["unique_id", "ds"])
    steps = ds.groupby("unique_id")["ds"].diff().dropna()
    if steps.empty:
        return "D"
    step = steps.mode().iloc[0]
    if step == pd.Timedelta(days=1):
        return "D"
    if step == pd.Timedelta(days=7):
        return "W-" + ds["ds"].iloc[0].day_name()[:3].upper()
    return pd.tseries.frequencies.to_offset(step).freqstr


def default_season_length(freq: str) -> int:
    """7 for daily data, 52 for weekly, 12 for monthly, else 1."""
    if freq == "D":
        return 7
    if freq.startswith("W"):
        return 52
    if freq.startswith(("M", "MS", "ME")):
        return 12
    return 1


def check_frequency(df: pd.DataFrame, freq: str) -> None:
    """Every series must step by whole multiples of ``freq`` (gaps are fine, a daily series
    among weekly ones or dates at odd offsets are not: filling them would invent data)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    step = pd.Timedelta(days=7) if freq.startswith("W") else pd.Timedelta(offset)
    ordered = df.sort_values(["unique_id", "ds"])
    diffs = ordered.groupby("unique_id")["ds"].diff().dropna()
    uid = ordered.loc[diffs.index, "unique_id"]
    typical = diffs.groupby(uid).agg(lambda d: d.mode().iloc[0])
    odd_series = set(typical.index[typical != step])
    bad = diffs[(diffs % step != pd.Timedelta(0)) | (diffs < step) | uid.isin(odd_series)]
    if bad.empty:
        return
    ids = ordered.loc[bad.index, "unique_id"].unique()
    row = ordered.loc[bad.index[0]]
    raise DataValidationError(
        f"the sales mix frequencies: most series are {freq!r} but {len(ids)} series "
        f"({', '.join(map(str, ids[:5]))}) have dates {bad.iloc[0]} apart, e.g. "
        f"{row['unique_id']!r} at {row['ds'].date()}; keep one frequency per workspace "
        "(aggregate with `trendcast ingest --kind orders --aggregate W`, or use separate --db files)"
    )
