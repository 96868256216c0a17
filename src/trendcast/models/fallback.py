"""The end of every fallback chain: a forecast for any series with at least one value.

A model that cannot forecast a series (too short, all zeros, a numerical failure) hands it
down a documented chain, and each series' tier is named in the run's notes:

1. the model itself;
2. a non-seasonal version of it, when the series is shorter than two seasons
   (statistical models: :mod:`trendcast.models.statistical`);
3. ``window average``: the mean of the last ``window`` values, with the empirical quantiles
   of those values as the interval (ordered by construction);
4. ``naive``: the last value, when there is only one;
5. ``zero``: zeros, for a series that never sold.

:func:`guard` applies tiers 3-5 to whatever a model returned with a missing or infinite
value, and sorts crossed quantiles, so no run stores a blank forecast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.schema import quantile_column

TIERS = ("non-seasonal", "window average", "naive", "zero")


def tier_of(values: np.ndarray) -> str:
    """The simple tier for a series' values: zero, naive or window average."""
    if not np.any(values):
        return "zero"
    return "naive" if len(values) == 1 else "window average"


def simple_forecast(train: pd.DataFrame, h: int, freq: str, qs: Sequence[float], alias: str,
                    *, window: int = 28) -> tuple[pd.DataFrame, dict[str, str]]:
    """Tiers 3-5 for every series of ``train`` (``unique_id, ds, y``): the forecast frame and
    each series' tier."""
    offset = pd.tseries.frequencies.to_offset(freq)
    rows, tiers = [], {}
    for uid, part in train.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=True):
        y = part["y"].to_numpy(dtype=float)
        y = y[np.isfinite(y)]
        recent = y[-window:] if len(y) else np.zeros(1)
        tier = tier_of(recent)
        tiers[str(uid)] = tier
        point = 0.0 if tier == "zero" else float(recent.mean())
        frame = pd.DataFrame({"unique_id": str(uid),
                              "ds": pd.date_range(part["ds"].max() + offset, periods=h, freq=freq),
                              alias: point})
        for q in qs:
            frame[quantile_column(alias, q)] = 0.0 if tier == "zero" else float(np.quantile(recent, q))
        rows.append(frame)
    if not rows:
        return pd.DataFrame(columns=["unique_id", "ds", alias]), tiers
    return pd.concat(rows, ignore_index=True), tiers


def guard(fc: pd.DataFrame, train: pd.DataFrame, h: int, freq: str, qs: Sequence[float],
          alias: str) -> tuple[pd.DataFrame, dict[str, str], int]:
    """``fc`` with every series that has a missing or infinite value replaced by its simple
    forecast, and quantiles sorted where they crossed. Returns the frame, the replaced series'
    tiers and the number of rows whose quantiles were reordered."""
    cols = [alias, *(quantile_column(alias, q) for q in qs if quantile_column(alias, q) in fc.columns)]
    values = fc[cols].to_numpy(dtype=float)
    bad_rows = ~np.isfinite(values).all(axis=1)
    expected = train.groupby("unique_id")["ds"].size().index.astype(str)
    present = set(fc["unique_id"].astype(str))
    missing = [u for u in expected if u not in present]
    bad = sorted(set(fc.loc[bad_rows, "unique_id"].astype(str)) | set(missing))
    tiers: dict[str, str] = {}
    if bad:
        simple, tiers = simple_forecast(train[train["unique_id"].astype(str).isin(bad)], h, freq,
                                        [q for q in qs if quantile_column(alias, q) in cols], alias)
        fc = pd.concat([fc[~fc["unique_id"].astype(str).isin(bad)], simple[fc.columns.intersection(
            simple.columns)]], ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)
    qcols = [c for c in cols[1:]]
    crossed = 0
    if len(qcols) > 1:
        q = fc[qcols].to_numpy(dtype=float)
        order = np.sort(q, axis=1)
        changed = (order != q).any(axis=1)
        crossed = int(changed.sum())
        if crossed:
            fc[qcols] = order
    return fc, tiers, crossed
