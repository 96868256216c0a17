"""Rolling-origin validation for any Forecaster: cutoffs, refit-and-forecast windows, and
the per-series error scales (MASE, RMSSE) computed from the training part.

These live beside the models because models validate themselves (``WeightedEnsemble``,
``AutoSelect``, reconciliation); :mod:`trendcast.evaluation` scores and ranks with them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from trendcast.errors import ModelError
from trendcast.features.frequency import infer_freq
from trendcast.models.base import Forecaster, check_horizon, check_quantiles


def cutoffs_for(df: pd.DataFrame, h: int, n_windows: int, step: int | None = None) -> list[pd.Timestamp]:
    """The last ``n_windows`` forecast origins, ``step`` periods apart, leaving ``h`` to score."""
    return cutoffs_between(df["ds"].min(), df["ds"].max(), infer_freq(df), h, n_windows, step)


def cutoffs_between(start: pd.Timestamp, end: pd.Timestamp, freq: str, h: int, n_windows: int,
                    step: int | None = None) -> list[pd.Timestamp]:
    """:func:`cutoffs_for` from the data's first and last date and frequency, so a catalogue
    backtested partition by partition uses one set of cutoffs."""
    check_horizon(h)
    if n_windows < 1:
        raise ModelError(f"n_windows must be >= 1, got {n_windows}")
    step = step or h
    offset = pd.tseries.frequencies.to_offset(freq)
    last = end - h * offset
    cuts = [last - k * step * offset for k in range(n_windows)]
    if cuts[-1] <= start:
        raise ModelError(
            f"not enough history for {n_windows} window(s) of {h} steps (step {step}); "
            f"data runs {start.date()}..{end.date()}"
        )
    return sorted(cuts)


def backtest(
    make_model: Callable[[], Forecaster],
    df: pd.DataFrame,
    *,
    h: int,
    n_windows: int = 2,
    step: int | None = None,
    quantiles: Sequence[float] | None = None,
    on_window: Callable[[int, int], None] | None = None,
    cutoffs: Sequence[pd.Timestamp] | None = None,
    on_fit: Callable[[pd.Timestamp, Forecaster], None] | None = None,
) -> pd.DataFrame:
    """Refit at each cutoff and forecast ``h`` steps; returns the forecasts with ``cutoff``
    and the actual ``y`` (dates past the end of a series are dropped).

    Covariate columns of ``df`` after the cutoff are passed as ``X_df``: prices, promotions
    and calendar flags are treated as planned, known in advance. ``cutoffs`` replaces the
    origins ``cutoffs_for(df, ...)`` would choose (a partition of a catalogue uses the
    catalogue's). ``on_fit(cutoff, model)`` sees each window's fitted model (e.g. to report
    what a self-choosing model chose)."""
    from trendcast.models.fallback import guard

    parts = []
    cuts = list(cutoffs) if cutoffs is not None else cutoffs_for(df, h, n_windows, step)
    alias = df.attrs.get("freq") or infer_freq(df)
    qs = check_quantiles(quantiles)
    covariates = [c for c in df.columns if c != "y"]
    for i, cutoff in enumerate(cuts):
        train = df[df["ds"] <= cutoff]
        model = make_model().fit(train)
        if on_fit:
            on_fit(cutoff, model)
        X_df = _future_rows(train, df[covariates], h, alias) if len(covariates) > 2 else None
        fc = model.predict(h, X_df=X_df, quantiles=qs or None)
        fc, _, _ = guard(fc, train[["unique_id", "ds", "y"]], h, alias, qs, model.alias)
        fc = fc[fc["ds"] > cutoff]  # a series that ended before the cutoff has nothing to score
        fc["cutoff"] = cutoff
        parts.append(fc)
        if on_window:
            on_window(i + 1, len(cuts))
    out = pd.concat(parts, ignore_index=True)
    actual = df[["unique_id", "ds", "y"]]
    return out.merge(actual, on=["unique_id", "ds"], how="inner")


def _future_rows(train: pd.DataFrame, frame: pd.DataFrame, h: int, freq: str) -> pd.DataFrame:
    """The covariates of the ``h`` periods after each training series' own last date: the
    frame's values where it has them (prices, promotions and calendar flags are taken as
    planned), else those a forecast would assume (:func:`~trendcast.features.exog.future_covariates`:
    a series that ended or paused before the window)."""
    from trendcast.features.exog import future_covariates

    part = train.copy()
    part.attrs = dict(train.attrs)
    assumed, _ = future_covariates(part, h, freq)
    keys = ["unique_id", "ds"]
    assumed = assumed.reindex(columns=frame.columns)
    known = assumed[keys].merge(frame, on=keys, how="inner")
    if len(known) == len(assumed):
        return known.sort_values(keys, ignore_index=True)
    rest = assumed.merge(known[keys], on=keys, how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([known, rest], ignore_index=True).sort_values(keys, ignore_index=True)


def rmsse_scale(train: pd.DataFrame) -> pd.Series:
    """Mean squared one-step error per series from its first non-zero value (as M5 scales)."""
    tr = train.sort_values(["unique_id", "ds"])
    started = tr.groupby("unique_id")["y"].cumsum() > 0
    tr = tr[started]
    diff = tr.groupby("unique_id")["y"].diff() ** 2
    scale = diff.groupby(tr["unique_id"]).mean()
    return scale.where(scale > 0)


def mase_scale(train: pd.DataFrame, season_length: int) -> pd.Series:
    """Mean absolute seasonal-naive error per series in ``train`` (the MASE denominator)."""
    tr = train.sort_values(["unique_id", "ds"])
    diff = tr.groupby("unique_id")["y"].diff(season_length).abs()
    scale = diff.groupby(tr["unique_id"]).mean()
    return scale.where(scale > 0)
