"""Forecast accuracy metrics over a backtest frame (``unique_id, ds, cutoff, y, <models>``).

Metrics are pooled over every series, date and cutoff, so large sellers weigh as they do in
revenue (WAPE, WQL) while MASE scales each series by its own in-sample seasonal naive error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trendcast.models.validation import mase_scale, rmsse_scale
from trendcast.schema import quantile_column

__all__ = ["mase_scale", "pinball", "rmsse_scale", "score", "score_by"]


def pinball(y: np.ndarray, q_pred: np.ndarray, q: float) -> np.ndarray:
    """Quantile (pinball) loss per point."""
    diff = y - q_pred
    return np.maximum(q * diff, (q - 1) * diff)


def score(
    cv: pd.DataFrame,
    models: Sequence[str],
    *,
    train: pd.DataFrame | None,
    season_length: int,
    quantiles: Sequence[float] = (),
    scales: tuple[pd.Series, pd.Series] | None = None,
) -> pd.DataFrame:
    """One row per model: MAE, RMSE, MASE, RMSSE, WAPE, sMAPE, WQL and interval coverage
    (``coverage_<k>``: the share of actuals inside the outermost band and every symmetric band
    the quantiles give, e.g. 50, 80 and 95%).

    RMSSE is the mean over series (and cutoffs) of each series' root mean squared scaled
    error; sMAPE counts 0 where both actual and forecast are 0.

    Args:
        cv: backtest frame with actuals ``y`` and one column per model (and quantiles).
        models: model aliases to score.
        train: history before the first cutoff, for the MASE scale.
        season_length: seasonal period for MASE.
        quantiles: quantile levels present as ``<model>-q-<level>`` columns.
        scales: ``(mase_scale, rmsse_scale)`` per series, computed beforehand (partition by
            partition for a large catalogue); ``train`` is then not needed.
    """
    if scales is None:
        if train is None:
            raise ValueError("score needs the training history `train` or precomputed `scales`")
        scales = (mase_scale(train, season_length), rmsse_scale(train))
    scale = scales[0]
    rmsse = cv["unique_id"].map(scales[1]).to_numpy(dtype=float)
    y = cv["y"].to_numpy(dtype=float)
    denom = cv["unique_id"].map(scale).to_numpy(dtype=float)
    abs_y = np.abs(y).sum()
    qs = sorted(quantiles)
    rows = []
    for m in models:
        pred = cv[m].to_numpy(dtype=float)
        err = y - pred
        ok = np.isfinite(denom)
        sm_den = np.abs(y) + np.abs(pred)
        sm = np.where(sm_den > 0, 2 * np.abs(err) / np.where(sm_den > 0, sm_den, 1), 0.0)
        row: dict[str, float | str] = {
            "model": m,
            "MAE": float(np.mean(np.abs(err))),
            "RMSE": float(np.sqrt(np.mean(err**2))),
            "MASE": float(np.mean(np.abs(err[ok]) / denom[ok])) if ok.any() else np.nan,
            "RMSSE": _rmsse(cv, err, rmsse),
            "WAPE": float(np.abs(err).sum() / abs_y) if abs_y else np.nan,
            "sMAPE": float(np.mean(sm)),
        }
        qcols = [quantile_column(m, q) for q in qs]
        if qs and all(c in cv.columns for c in qcols):
            losses = [pinball(y, cv[c].to_numpy(dtype=float), q).sum()
                      for c, q in zip(qcols, qs, strict=True)]
            row["WQL"] = float(2 * np.mean(losses) / abs_y) if abs_y else np.nan
            for lo, hi in _bands(qs):
                inside = ((y >= cv[quantile_column(m, lo)].to_numpy())
                          & (y <= cv[quantile_column(m, hi)].to_numpy()))
                row[f"coverage_{round((hi - lo) * 100):d}"] = float(inside.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _bands(qs: list[float]) -> list[tuple[float, float]]:
    """Central bands to report coverage for: the outermost pair around the median, and every
    symmetric pair (0.25/0.75 -> 50%, 0.1/0.9 -> 80%, 0.025/0.975 -> 95%), widest first."""
    out = []
    if qs and qs[0] < 0.5 < qs[-1]:
        out.append((qs[0], qs[-1]))
    for lo in qs:
        hi = next((h for h in qs if abs(h - (1 - lo)) < 1e-9), None)
        if lo < 0.5 and hi is not None and (lo, hi) not in out:
            out.append((lo, hi))
    return sorted(out, key=lambda b: b[0])


def _rmsse(cv: pd.DataFrame, err: np.ndarray, scale: np.ndarray) -> float:
    ok = np.isfinite(scale)
    if not ok.any():
        return float("nan")
    keys = cv.loc[ok, ["unique_id"] + (["cutoff"] if "cutoff" in cv.columns else [])]
    sq = pd.Series(err[ok] ** 2 / scale[ok], index=keys.index)
    per = sq.groupby([keys[c] for c in keys.columns]).mean()
    return float(np.sqrt(per).mean())


def score_by(
    cv: pd.DataFrame,
    models: Sequence[str],
    *,
    by: str | pd.Series,
    train: pd.DataFrame,
    season_length: int,
    quantiles: Sequence[float] = (),
) -> pd.DataFrame:
    """:func:`score` per group: per series (``by="unique_id"``) or per hierarchy level value
    (``by`` a Series mapping unique_id to, say, category). Errors of a group are scored on the
    group's items, not on the aggregated series."""
    keys = cv["unique_id"] if isinstance(by, str) and by == "unique_id" else cv["unique_id"].map(by)
    rows = []
    for key, part in cv.groupby(keys.to_numpy()):
        ids = set(part["unique_id"])
        res = score(part, models, train=train[train["unique_id"].isin(ids)],
                    season_length=season_length, quantiles=quantiles)
        res.insert(0, "group", key)
        rows.append(res)
    return pd.concat(rows, ignore_index=True)
