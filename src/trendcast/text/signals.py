"""Per-product daily review signals: volume, mean sentiment and share negative over rolling windows.

Input is the ``reviews`` table with a ``sentiment`` column, P(positive) in [0, 1], from
:class:`trendcast.text.sentiment.SentimentModel` (or :func:`rating_sentiment` when only star
ratings are wanted). A review is negative when its sentiment is below ``threshold``. Every
product gets one row per day from its first review (or ``start``) to ``end``; days without
reviews count zero reviews, and means and shares over a window without reviews are NaN.
A window of ``w`` days ending on ``ds`` covers ``ds - w + 1 .. ds``: known at the end of ``ds``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError


def rating_sentiment(rating: pd.Series) -> pd.Series:
    """Star ratings 1..5 as a sentiment score: (rating - 1) / 4, so 1-2 stars are negative
    (< 0.5), 3 stars sit on the threshold (not negative), 4-5 are positive."""
    r = pd.to_numeric(rating, errors="coerce")
    if ((r < 1) | (r > 5)).any():
        raise DataValidationError(f"ratings must lie in 1..5; got {r[(r < 1) | (r > 5)].iloc[0]}")
    return (r - 1.0) / 4.0


def _check_windows(windows: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(w) for w in windows)
    if not out or any(w < 1 for w in out):
        raise DataValidationError(f"windows must be whole days >= 1, got {list(windows)}")
    return out


def daily_signals(reviews: pd.DataFrame, *, windows: Sequence[int] = (7, 28), threshold: float = 0.5,
                  start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
                  ) -> pd.DataFrame:
    """Daily review signals per product.

    Args:
        reviews: ``unique_id, ts, sentiment`` (P(positive); NaN = unscored, counted in volume
            only).
        windows: rolling window lengths in days.
        threshold: a review is negative when ``sentiment < threshold``.
        start: first day of the grid (default each product's first review day).
        end: last day of the grid (default the last review day of all products).

    Returns:
        ``unique_id, ds, reviews, negative, scored, sentiment_sum`` (the day's counts) and,
        per window ``w``, ``reviews_{w}d``, ``negative_{w}d``, ``neg_share_{w}d`` and
        ``sentiment_{w}d`` (mean); ``attrs["assumptions"]`` records threshold and windows.
    """
    wins = _check_windows(windows)
    missing = {"unique_id", "ts", "sentiment"} - set(reviews.columns)
    if missing:
        raise DataValidationError(f"reviews lack column(s) {sorted(missing)}; need unique_id, ts and "
                                  "sentiment (score them with trendcast.services.sentiment.score_reviews)")
    if not 0 < threshold < 1:
        raise DataValidationError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    columns = ["unique_id", "ds", "reviews", "negative", "scored", "sentiment_sum"] + [
        f"{k}_{w}d" for w in wins for k in ("reviews", "negative", "neg_share", "sentiment")]
    if reviews.empty:
        return pd.DataFrame(columns=columns)
    s = pd.to_numeric(reviews["sentiment"], errors="coerce")
    if ((s < 0) | (s > 1)).any():
        raise DataValidationError("sentiment must be a probability in [0, 1]")
    day = pd.to_datetime(reviews["ts"]).dt.normalize()
    frame = pd.DataFrame({"unique_id": reviews["unique_id"].astype(str).to_numpy(), "ds": day.to_numpy(),
                          "reviews": 1.0, "negative": (s < threshold).astype(float).to_numpy(),
                          "scored": s.notna().astype(float).to_numpy(),
                          "sentiment_sum": s.fillna(0).to_numpy()})
    daily = frame.groupby(["unique_id", "ds"], sort=True).sum()
    first = pd.Timestamp(start).normalize() if start is not None else daily.index.get_level_values("ds").min()
    last = pd.Timestamp(end).normalize() if end is not None else daily.index.get_level_values("ds").max()
    if first > last:
        raise DataValidationError(f"start {first.date()} is after end {last.date()}")
    dates = pd.date_range(first, last, freq="D")
    ids = daily.index.get_level_values("unique_id").unique()
    out: dict[str, np.ndarray] = {}
    cube = {}
    for col in ("reviews", "negative", "scored", "sentiment_sum"):
        wide = daily[col].unstack("unique_id").reindex(index=dates, columns=ids).fillna(0.0)
        cube[col] = wide.to_numpy()
        out[col] = cube[col].T.ravel()
    for w in wins:
        roll = {k: _rolling_sum(v, w) for k, v in cube.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"reviews_{w}d"] = roll["reviews"].T.ravel()
            out[f"negative_{w}d"] = roll["negative"].T.ravel()
            out[f"neg_share_{w}d"] = np.where(roll["scored"] > 0, roll["negative"] / roll["scored"],
                                              np.nan).T.ravel()
            out[f"sentiment_{w}d"] = np.where(roll["scored"] > 0, roll["sentiment_sum"] / roll["scored"],
                                              np.nan).T.ravel()
    result = pd.DataFrame({"unique_id": np.repeat(ids.to_numpy(), len(dates)),
                           "ds": np.tile(dates.to_numpy(), len(ids)), **out})[columns]
    if start is None:  # drop the days before each product's first review
        first_day = daily.reset_index().groupby("unique_id")["ds"].min()
        result = result[result["ds"] >= result["unique_id"].map(first_day)]
    result = result.reset_index(drop=True)
    result.attrs["assumptions"] = {"threshold": threshold, "windows": list(wins),
                                   "window_end": "a window ending on ds covers ds-w+1..ds"}
    return result


def _rolling_sum(values: np.ndarray, w: int) -> np.ndarray:
    """Trailing sums over ``w`` rows of a (days, products) matrix (shorter at the start)."""
    c = np.cumsum(values, axis=0)
    out = c.copy()
    out[w:] = c[w:] - c[:-w]
    return out
