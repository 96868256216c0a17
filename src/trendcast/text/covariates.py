"""Review signals as forecast covariates, lagged so they are known when the forecast is made.

A covariate on day ``ds`` is the review statistic of day ``ds - lag`` (windows ending that
day). With ``lag >= horizon`` every future value is already known at the forecast origin.
With a shorter lag the values that would need reviews after the origin (``until``) are
filled with the last known one (the statistic on the origin day, carried forward): the
signal is assumed to persist over the horizon. Negative shares are shrunk toward the shop's
share up to ``until`` (``prior_weight`` pseudo-reviews), so products and days with few or no
reviews get the shop's rate instead of a 0/0.

Columns: ``txt_reviews_{w}d`` (review count) for ``volume_windows`` and
``txt_neg_share_{w}d`` (shrunk share negative) for ``share_windows``. Any extra numeric
column of a LightGBMGlobal training frame becomes a dynamic feature, so these need future
values in ``X_df``: :func:`add_text_covariates` builds rows for the whole frame passed in,
including its future dates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError


def text_covariates(signals: pd.DataFrame, dates: pd.DatetimeIndex, *, lag: int = 28,
                    until: str | pd.Timestamp | None = None, volume_windows: Sequence[int] = (7,),
                    share_windows: Sequence[int] = (28,), prior_weight: float = 10.0) -> pd.DataFrame:
    """Covariates for every product of ``signals`` and every day of ``dates``.

    Args:
        signals: :func:`trendcast.text.signals.daily_signals` output (its daily columns
            ``reviews, negative, scored`` are used).
        dates: the days to give values for (history and horizon).
        lag: days between a statistic and the day it is used on.
        until: the forecast origin: no review after it is used (default: all reviews).
        volume_windows: windows of the review-count covariates.
        share_windows: windows of the negative-share covariates.
        prior_weight: pseudo-reviews at the shop's share added to each share.

    Returns:
        ``unique_id, ds, txt_...``; ``attrs["assumptions"]`` says how the future is filled.
    """
    if lag < 0:
        raise DataValidationError(f"lag must be >= 0 days, got {lag}")
    need = {"unique_id", "ds", "reviews", "negative", "scored"}
    if need - set(signals.columns):
        raise DataValidationError(f"signals lack {sorted(need - set(signals.columns))}; use daily_signals")
    sig = signals
    if until is not None:
        sig = sig[sig["ds"] <= pd.Timestamp(until)]
    dates = pd.DatetimeIndex(dates).normalize()
    first = min(dates.min(), sig["ds"].min()) if len(sig) else dates.min()
    last_known = pd.Timestamp(until) if until is not None else (sig["ds"].max() if len(sig) else dates.max())
    span = pd.date_range(first, max(dates.max(), last_known), freq="D")
    ids = pd.Index(sorted(signals["unique_id"].astype(str).unique()))
    cube = {c: sig.pivot_table(index="ds", columns="unique_id", values=c, aggfunc="sum")
            .reindex(index=span, columns=ids).fillna(0.0).to_numpy()
            for c in ("reviews", "negative", "scored")}
    # nothing is known after the origin: those rows stay empty and are filled below
    after = span > last_known
    shop = (cube["negative"][~after].sum() + 1) / (cube["scored"][~after].sum() + 2)
    out = {}
    for w in volume_windows:
        out[f"txt_reviews_{w}d"] = _trailing(cube["reviews"], w)
    for w in share_windows:
        k, n = _trailing(cube["negative"], w), _trailing(cube["scored"], w)
        out[f"txt_neg_share_{w}d"] = (k + prior_weight * shop) / (n + prior_weight)
    frames = []
    pos_known = int(np.flatnonzero(~after).max()) if (~after).any() else 0
    for name, values in out.items():
        values = values.copy()
        values[after] = values[pos_known]  # persistence past the origin
        # the first `lag` days would need reviews from before the data: none known
        lagged = np.full_like(values, shop if "neg_share" in name else 0.0)
        lagged[lag:] = values[: len(values) - lag]
        frames.append(pd.DataFrame(lagged, index=span, columns=ids).reindex(dates).stack()
                      .rename(name))
    result = pd.concat(frames, axis=1).rename_axis(["ds", "unique_id"]).reset_index()
    result = result[["unique_id", "ds", *out]].sort_values(["unique_id", "ds"], ignore_index=True)
    result.attrs["assumptions"] = {
        "lag_days": lag, "origin": None if until is None else str(pd.Timestamp(until).date()),
        "future": "values needing reviews after the origin repeat the origin day's value",
        "prior_weight": prior_weight, "shop_negative_share": round(float(shop), 4)}
    return result


def add_text_covariates(frame: pd.DataFrame, signals: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    """``frame`` (``unique_id, ds, ...``, history and future rows) with the text covariates
    merged in; products without reviews get zero volume and the shop's negative share."""
    if {"unique_id", "ds"} - set(frame.columns):
        raise DataValidationError("frame needs unique_id and ds columns")
    dates = pd.date_range(frame["ds"].min(), frame["ds"].max(), freq="D")
    cov = text_covariates(signals, dates, **kwargs)  # type: ignore[arg-type]
    out = frame.merge(cov, on=["unique_id", "ds"], how="left")
    shop = cov.attrs["assumptions"]["shop_negative_share"]
    for col in cov.columns[2:]:
        out[col] = out[col].fillna(shop if "neg_share" in col else 0.0)
    out.attrs.update(frame.attrs)
    out.attrs["text_covariates"] = cov.attrs["assumptions"]
    return out


def _trailing(values: np.ndarray, w: int) -> np.ndarray:
    if w < 1:
        raise DataValidationError(f"windows must be >= 1 day, got {w}")
    c = np.cumsum(values, axis=0)
    out = c.copy()
    out[w:] = c[w:] - c[:-w]
    return out
