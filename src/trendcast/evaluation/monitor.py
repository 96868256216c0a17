"""Accuracy of stored forecasts once their actuals arrive (``trendcast monitor``).

:func:`score_rows` turns a forecast run's long rows and the sales that later arrived into one
row per model, series and date: the error terms every metric of
:mod:`trendcast.evaluation.metrics` is built from (absolute error, the series' MASE scale,
the mean pinball loss over the run's quantiles, whether the actual fell inside the outer
interval). :func:`summarise` pools them per any grouping (run, horizon step, product,
category, model, week) with the same definitions as the backtest leaderboard, so live
accuracy and backtest expectation are comparable:

- MAE = mean |y - f|; WAPE = sum |y - f| / sum |y|; bias = sum (f - y) / sum |y|;
- MASE = mean of |y - f| / scale over rows whose series has a scale (a constant history has none);
- WQL = 2 * sum(mean pinball loss over quantiles) / sum |y|;
- coverage = share of actuals inside the outermost quantiles (e.g. 0.1-0.9: an 80% band).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from trendcast.evaluation.metrics import pinball
from trendcast.models.validation import mase_scale

SCORE_COLUMNS = ["run_id", "model", "unique_id", "ds", "origin", "step", "y", "forecast", "scale",
                 "qloss", "covered"]


def score_rows(long: pd.DataFrame, actuals: pd.DataFrame, history: pd.DataFrame, *, run_id: str,
               season_length: int, last_date: pd.Timestamp,
               step: pd.DateOffset | pd.Timedelta | None = None,
               waiting: Collection[tuple[str, pd.Timestamp]] = ()) -> pd.DataFrame:
    """Score one forecast run.

    Args:
        long: the run's stored rows (``model, unique_id, ds, quantile, value``; quantile NaN
            is the point forecast).
        actuals: sales rows ``unique_id, ds, y`` covering the forecast dates.
        history: sales before the run's origin (at least a season), for the MASE scales.
        run_id: the run scored.
        season_length: seasonal period of the MASE scale.
        last_date: the last date with sales in the workspace; forecast dates after it are
            not scored yet, and dates up to it without a sales row count as zero sales
            (except ``waiting``).
        step: one period of the run (its frequency's offset: a month of a monthly run); by
            default the gap between its first two dates, which is a month only by chance.
        waiting: ``(unique_id, ds)`` without a sales row that are not zero sales but most
            likely a row an export left out: no actual yet, their ``y``, ``qloss`` and
            ``covered`` are NaN (stored so, and scored when the row arrives).
    """
    rows = long[long["ds"] <= last_date]
    if rows.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    rows = rows.assign(unique_id=rows["unique_id"].astype(str))
    point = rows[rows["quantile"].isna()][["model", "unique_id", "ds", "value"]].rename(
        columns={"value": "forecast"})
    act = actuals.assign(unique_id=actuals["unique_id"].astype(str))[["unique_id", "ds", "y"]]
    out = point.merge(act, on=["unique_id", "ds"], how="left")
    out["y"] = out["y"].fillna(0.0)
    # the run's origin per series: the day before its first forecast date (same for all models)
    first = long.assign(unique_id=long["unique_id"].astype(str)).groupby("unique_id")["ds"].min()
    step_len = step if step is not None else _step(long)
    out["origin"] = out["unique_id"].map(first) - step_len
    out = out.sort_values(["model", "unique_id", "ds"], ignore_index=True)
    out["step"] = out.groupby(["model", "unique_id"]).cumcount() + 1
    scale = mase_scale(history.assign(unique_id=history["unique_id"].astype(str)), season_length) \
        if len(history) else pd.Series(dtype=float)
    out["scale"] = out["unique_id"].map(scale).astype(float)
    quant = rows[rows["quantile"].notna()]
    out["qloss"] = np.nan
    out["covered"] = np.nan
    if len(quant):
        wide = quant.pivot_table(index=["model", "unique_id", "ds"], columns="quantile", values="value")
        levels = sorted(float(q) for q in wide.columns)
        aligned = wide.reindex(pd.MultiIndex.from_frame(out[["model", "unique_id", "ds"]]))
        y = out["y"].to_numpy(dtype=float)
        losses = np.column_stack([pinball(y, aligned[q].to_numpy(dtype=float), q) for q in levels])
        have = np.isfinite(losses).all(axis=1)
        out.loc[have, "qloss"] = losses[have].mean(axis=1)
        if levels[0] < 0.5 < levels[-1]:
            lo, hi = aligned[levels[0]].to_numpy(dtype=float), aligned[levels[-1]].to_numpy(dtype=float)
            inside = ((y >= lo) & (y <= hi)).astype(float)
            out["covered"] = np.where(np.isfinite(lo) & np.isfinite(hi), inside, np.nan)
    if len(waiting):
        held = pd.MultiIndex.from_frame(out[["unique_id", "ds"]]).isin(
            pd.MultiIndex.from_tuples([(str(u), pd.Timestamp(d)) for u, d in waiting]))
        out.loc[held, ["y", "qloss", "covered"]] = np.nan
    out.insert(0, "run_id", run_id)
    return out[SCORE_COLUMNS]


def _step(long: pd.DataFrame) -> pd.Timedelta | pd.DateOffset:
    """One period of the run's dates (a day for daily runs)."""
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(long["ds"].unique())))
    if len(dates) < 2:
        return pd.Timedelta(days=1)
    return pd.Timedelta(dates[1] - dates[0])


def summarise(scores: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Pooled accuracy per group of ``by`` columns (module docstring): ``n, MAE, WAPE,
    MASE, bias, WQL, coverage``."""
    cols = ["n", "MAE", "WAPE", "MASE", "bias", "WQL", "coverage"]
    if scores.empty:
        return pd.DataFrame(columns=[*by, *cols])
    frame = scores.assign(
        abs_err=(scores["y"] - scores["forecast"]).abs(),
        err=scores["forecast"] - scores["y"],
        abs_y=scores["y"].abs(),
        scaled=lambda d: (d["y"] - d["forecast"]).abs() / d["scale"].where(d["scale"] > 0))
    grouped = frame.groupby(list(by), dropna=False, sort=True)
    agg = grouped.agg(n=("abs_err", "size"), abs_err=("abs_err", "sum"), MAE=("abs_err", "mean"),
                      err=("err", "sum"), abs_y=("abs_y", "sum"), MASE=("scaled", "mean"),
                      qloss=("qloss", "sum"), qn=("qloss", "count"), coverage=("covered", "mean"))
    denom = agg["abs_y"].where(agg["abs_y"] > 0)
    agg["WAPE"] = agg["abs_err"] / denom
    agg["bias"] = agg["err"] / denom
    agg["WQL"] = (2 * agg["qloss"] / denom).where(agg["qn"] > 0)
    return agg.reset_index()[[*by, *cols]]


def freshest(scores: pd.DataFrame) -> pd.DataFrame:
    """One scored row per model, series and date: the one from the latest origin (the
    forecast a user acted on that day)."""
    if scores.empty:
        return scores
    ordered = scores.sort_values(["model", "unique_id", "ds", "origin"])
    return ordered.drop_duplicates(["model", "unique_id", "ds"], keep="last").reset_index(drop=True)
