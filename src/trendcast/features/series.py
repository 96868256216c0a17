"""Stored sales rows -> the gap-free long frame models train on."""

from __future__ import annotations

import pandas as pd

from trendcast.features.frequency import check_frequency, infer_freq


def fill_series(sales: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """``unique_id, ds, y`` with every period between a series' first and last date; missing
    periods count as zero sales. ``freq`` (the whole catalogue's, when this is part of it)
    replaces the inferred one. ``attrs`` keep ``gaps_filled`` and ``freq``."""
    from utilsforecast.preprocessing import fill_gaps

    df = sales[["unique_id", "ds", "y"]]
    freq = freq or infer_freq(df)
    check_frequency(df, freq)
    filled = fill_gaps(df, freq=freq, start="per_serie", end="per_serie")
    filled["y"] = filled["y"].fillna(0.0)
    filled.attrs["gaps_filled"] = int(len(filled) - len(df))
    filled.attrs["freq"] = freq
    return filled
