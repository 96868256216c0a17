"""Calibrated quantiles from backtest windows: several methods, the one with the lowest
cross-fitted scaled pinball loss wins.

Notation per forecast row: ``p`` the point forecast, ``m`` the member's median (``p`` when it
has none), ``q`` the member's quantile at a level, ``q_ref`` a reference model's. A *cell* is
a horizon group (the steps split into ``horizon_groups`` equal runs) crossed with a
forecast-volume band (``p`` cut at its quantiles in the fitting rows into ``volume_bands``).

- ``member``: the member's quantiles, unchanged.
- ``scale``: ``m + s (q - m)``, one factor ``s`` per level, set so that a share ``level`` of
  the validation actuals lies below (split-conformal scaling; ``s`` bounded to 0.25-4).
- ``scale_cell``: the same, one factor per level and cell.
- ``conformal_cell``: ``p + r``, ``r`` the level's quantile of the residuals ``y - p`` in
  the cell (needs no member quantiles).
- ``conformal_ratio``: ``p (1 + r)``, ``r`` the level's quantile of ``(y - p) / p`` per horizon
  group; pools series of very different sizes (aggregates).
- ``blend``: ``w q + (1 - w) q_ref``, one weight per level from 0, 0.1, ..., 1.

The choice is cross-fitted: with two or more backtest cutoffs each cutoff's rows are scored by
a calibration fitted on the other cutoffs' rows (with one cutoff, two halves of the series
swap roles), so no row scores a calibration fitted on itself. The loss is the pinball loss
averaged over levels, weighted per series (default: every row alike, divided by the sum of
``|y|``, i.e. half the WQL; pass M5 weights / scales to get SPL). Coverage is a constraint:
only methods whose central bands (50/80/95%...) cover within ``coverage_tolerance`` of nominal
on average compete (all of them when none does); the lowest loss among them wins (ties: the
earlier method), and is then refitted on every row. Levels are made monotone by
sorting, and quantiles of non-negative data are clipped at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.schema import quantile_column

METHODS: tuple[str, ...] = ("member", "scale", "scale_cell", "conformal_cell", "conformal_ratio",
                            "blend")
_NEEDS_MEMBER = {"member", "scale", "scale_cell", "blend"}
_FINE = tuple(np.round(np.arange(0.005, 0.9951, 0.005), 3))  # conformal levels, interpolated
_MIN_CELL = 50  # fewer rows than this in a cell: the level's overall parameter is used
_BLEND_GRID = np.round(np.arange(0.0, 1.0001, 0.1), 2)


@dataclass
class QuantileCalibration:
    """A fitted calibration: ``method`` and what it learned; ``scores`` the cross-fitted loss
    of every method tried; ``apply`` calibrates a forecast frame."""

    method: str
    params: dict[str, Any]
    scores: dict[str, float] = field(default_factory=dict)
    reference: str | None = None
    nonnegative: bool = True
    coverage_error: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        ranking = ", ".join(f"{k} {v:.4f}" + (f" (bands off by {self.coverage_error[k]:.3f})"
                                              if k in self.coverage_error else "")
                            for k, v in sorted(self.scores.items(), key=lambda kv: kv[1]))
        return f"{self.method} (cross-fitted validation loss: {ranking})"

    def apply(self, fc: pd.DataFrame, alias: str, quantiles: Sequence[float], *,
              reference: str | None = None) -> dict[float, np.ndarray]:
        """Calibrated values of ``quantiles`` for the rows of ``fc`` (``unique_id, ds``,
        ``alias``, and the member's/reference's quantile columns the method needs)."""
        qs = sorted(float(q) for q in quantiles)
        data = _Data.from_frame(fc, alias, qs, reference if self.method == "blend" else None,
                                need_member=self.method in _NEEDS_MEMBER)
        pred = _predict(self.method, self.params, data, np.ones(len(fc), bool), qs)
        return _finish(pred, qs, self.nonnegative)


@dataclass
class _Data:
    y: np.ndarray | None
    p: np.ndarray
    m: np.ndarray
    member: dict[float, np.ndarray]
    ref: dict[float, np.ndarray]
    step: np.ndarray
    ids: np.ndarray

    @classmethod
    def from_frame(cls, fc: pd.DataFrame, alias: str, qs: Sequence[float], reference: str | None,
                   *, need_member: bool) -> _Data:
        if alias not in fc.columns:
            raise ModelError(f"calibration: no forecast column {alias!r}")
        member = {q: fc[quantile_column(alias, q)].to_numpy(dtype=float) for q in qs
                  if quantile_column(alias, q) in fc.columns}
        if need_member and len(member) < len(qs):
            missing = [q for q in qs if q not in member]
            raise ModelError(f"calibration: {alias} has no quantile column(s) for {missing}")
        ref: dict[float, np.ndarray] = {}
        if reference is not None:
            ref = {q: fc[quantile_column(reference, q)].to_numpy(dtype=float) for q in qs
                   if quantile_column(reference, q) in fc.columns}
            if len(ref) < len(qs):
                raise ModelError(f"calibration: reference {reference} lacks quantile columns")
        p = fc[alias].to_numpy(dtype=float)
        mid = quantile_column(alias, 0.5)
        m = fc[mid].to_numpy(dtype=float) if mid in fc.columns else p
        keys = ["unique_id", "cutoff"] if "cutoff" in fc.columns else ["unique_id"]
        step = fc.groupby(keys, sort=False)["ds"].rank(method="dense").to_numpy(dtype=int)
        y = fc["y"].to_numpy(dtype=float) if "y" in fc.columns else None
        return cls(y, p, m, member, ref, step, fc["unique_id"].astype(str).to_numpy())


def choose_calibration(
    cv: pd.DataFrame,
    alias: str,
    quantiles: Sequence[float],
    *,
    reference: str | None = None,
    weights: pd.Series | None = None,
    methods: Sequence[str] = METHODS,
    horizon_groups: int = 4,
    volume_bands: int = 5,
    coverage_tolerance: float = 0.05,
) -> QuantileCalibration:
    """Fit each method on backtest rows, score it cross-fitted, keep the best (refitted on all).

    Args:
        cv: backtest frame ``unique_id, ds, cutoff, y, <alias>`` with ``<alias>-q-<level>``
            columns (and the reference's), one row per series, cutoff and date.
        alias: the forecast column whose quantiles are calibrated.
        quantiles: levels to score the methods on (the member's columns at these levels are
            used when a method needs them; 0.5 is scored like any level).
        reference: a second model's alias for ``blend`` (left out when None).
        weights: loss weight per ``unique_id`` (M5: dollar weight / scale); default 1.
        methods: methods to try, in tie-breaking order. Methods whose inputs are missing
            (member quantiles, reference) are left out.
        horizon_groups, volume_bands: the cells of ``scale_cell`` and ``conformal_cell``.
        coverage_tolerance: methods whose central bands (e.g. 50/80/95%) miss their nominal
            coverage by more than this on average, cross-fitted, are passed over unless
            every method does.
    """
    qs = sorted({float(q) for q in quantiles})
    if not qs or not all(0 < q < 1 for q in qs):
        raise ModelError(f"calibration: quantile levels must lie in (0, 1); got {qs}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ModelError(f"calibration: unknown method(s) {unknown}; known: {list(METHODS)}")
    if cv.empty or "y" not in cv.columns:
        raise ModelError("calibration needs backtest rows with actuals `y`")
    has_member = all(quantile_column(alias, q) in cv.columns for q in qs)
    has_ref = reference is not None and all(quantile_column(reference, q) in cv.columns for q in qs)
    tried = [m for m in methods if (has_member or m not in _NEEDS_MEMBER) and (has_ref or m != "blend")]
    if not tried:
        raise ModelError(f"calibration: no method can run on {alias}'s backtest (no quantiles?)")
    data = _Data.from_frame(cv, alias, qs, reference if has_ref else None, need_member=False)
    assert data.y is not None
    w = (np.ones(len(cv)) if weights is None
         else pd.Series(data.ids).map(weights.rename(index=str)).fillna(0.0).to_numpy(dtype=float))
    # WQL / 2 by default; with weights, the mean over each series' rows (SPL when they are M5's)
    per_series = len(cv) / max(1, len(cv.drop_duplicates(["unique_id", "cutoff"] if "cutoff" in cv
                                                         else ["unique_id"])))
    n_cutoffs = cv["cutoff"].nunique() if "cutoff" in cv.columns else 1
    norm = float(np.abs(data.y).sum()) if weights is None else per_series * n_cutoffs
    folds = _folds(cv, data.ids)
    nonneg = bool(np.nanmin(data.y) >= 0)
    shape = {"horizon_groups": int(horizon_groups), "volume_bands": int(volume_bands),
             "horizon": int(data.step.max())}
    bands = _bands(qs)
    scores: dict[str, float] = {}
    cover_error: dict[str, float] = {}
    for method in tried:
        loss, inside = 0.0, {b: 0 for b in bands}
        for fold in np.unique(folds):
            test = folds == fold
            params = _fit(method, data, ~test, qs, shape)
            pred = _finish(_predict(method, params, data, test, qs), qs, nonneg)
            loss += _loss(data.y[test], pred, qs, w[test])
            for lo, hi in bands:
                inside[(lo, hi)] += int(((data.y[test] >= pred[lo]) & (data.y[test] <= pred[hi])).sum())
        scores[method] = loss / (norm or 1.0)
        if bands:
            cover_error[method] = float(np.mean([abs(n / len(cv) - (hi - lo))
                                                 for (lo, hi), n in inside.items()]))
    # coverage is a constraint, loss the criterion: among the methods whose bands cover within
    # ``coverage_tolerance`` of nominal (mean over the central bands), the lowest loss wins;
    # when none does, the lowest loss overall
    ok = [m for m in tried if cover_error.get(m, 0.0) <= coverage_tolerance] or tried
    best = min(ok, key=lambda k: (scores[k], tried.index(k)))
    params = _fit(best, data, np.ones(len(cv), bool), qs, shape)
    return QuantileCalibration(best, params, scores, reference if best == "blend" else None, nonneg,
                               cover_error)


def _bands(qs: list[float]) -> list[tuple[float, float]]:
    """The symmetric central bands the levels give (0.1 and 0.9 -> the 80% band)."""
    return [(lo, hi) for lo in qs for hi in qs if lo < 0.5 and abs(hi - (1 - lo)) < 1e-9]


# -- internals ----------------------------------------------------------------------------------

def _folds(cv: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    if "cutoff" in cv.columns and cv["cutoff"].nunique() > 1:
        return pd.factorize(cv["cutoff"], sort=True)[0]
    codes, uniq = pd.factorize(ids, sort=True)
    if len(uniq) < 2:
        raise ModelError("calibration needs two backtest cutoffs or at least two series to cross-fit")
    return codes % 2


def _loss(y: np.ndarray, pred: dict[float, np.ndarray], qs: list[float], w: np.ndarray) -> float:
    total = np.zeros(len(y))
    for q in qs:
        diff = y - pred[q]
        total += np.maximum(q * diff, (q - 1) * diff)
    return float(np.sum(w * total / len(qs)))


def _groups(data: _Data, rows: np.ndarray, shape: dict[str, int]) -> np.ndarray:
    g = (data.step[rows] - 1) * shape["horizon_groups"] // max(shape["horizon"], 1)
    return np.clip(g, 0, shape["horizon_groups"] - 1)


def _cells(data: _Data, rows: np.ndarray, shape: dict[str, int], edges: np.ndarray) -> np.ndarray:
    band = np.searchsorted(edges, data.p[rows], side="right")
    return _groups(data, rows, shape) * (len(edges) + 1) + band


def _edges(p: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.array([])
    return np.unique(np.quantile(p, np.linspace(0, 1, n + 1)[1:-1]))


def calibration_factors(cv: pd.DataFrame, alias: str, levels: Sequence[float]) -> dict[float, float]:
    """The ``scale`` rule on a whole validation frame: for each level ``q`` (not 0.5) the factor
    by which the distance between ``alias``'s ``q`` quantile and its median must be scaled so
    that a share ``q`` of ``cv["y"]`` lies below it; bounded to 0.25-4. Levels the member did
    not produce, or with fewer than 20 usable rows, are left out (factor 1)."""
    y = cv["y"].to_numpy(dtype=float)
    mid_col = quantile_column(alias, 0.5)
    median = cv[mid_col if mid_col in cv.columns else alias].to_numpy(dtype=float)
    out: dict[float, float] = {}
    for q in levels:
        col = quantile_column(alias, q)
        if q == 0.5 or col not in cv.columns:
            continue
        s = _scale_factor(y, median, cv[col].to_numpy(dtype=float) - median, q)
        if s is not None:
            out[float(q)] = s
    return out


def _scale_factor(y: np.ndarray, m: np.ndarray, d: np.ndarray, q: float) -> float | None:
    ok = np.isfinite(d) & np.isfinite(y) & (np.abs(d) > 1e-12) & ((d > 0) == (q > 0.5))
    if ok.sum() < 20:
        return None
    ratio = (y[ok] - m[ok]) / d[ok]  # above the median y <= m + s d <=> ratio <= s; below, flipped
    return float(np.clip(np.quantile(ratio, q if q > 0.5 else 1 - q), 0.25, 4.0))


def _fit(method: str, data: _Data, rows: np.ndarray, qs: list[float], shape: dict[str, int]) -> dict:
    assert data.y is not None
    y, p, m = data.y[rows], data.p[rows], data.m[rows]
    shape = {**shape, "edges": _edges(p, shape["volume_bands"])}
    if method == "member":
        return shape
    if method in ("scale", "scale_cell"):
        glob = {}
        for q in qs:
            if q != 0.5:
                s = _scale_factor(y, m, data.member[q][rows] - m, q)
                glob[q] = 1.0 if s is None else s
        out = {**shape, "factors": glob}
        if method == "scale_cell":
            cells = _cells(data, rows, shape, shape["edges"])
            per: dict[int, dict[float, float]] = {}
            for c in np.unique(cells):
                inc = cells == c
                if inc.sum() < _MIN_CELL:
                    continue
                per[int(c)] = {}
                for q in glob:
                    s = _scale_factor(y[inc], m[inc], data.member[q][rows][inc] - m[inc], q)
                    per[int(c)][q] = glob[q] if s is None else s
            out["cell_factors"] = per
        return out
    if method == "conformal_cell":
        levels = sorted({*qs, *_FINE})
        resid = y - p
        glob = np.quantile(resid, levels)
        cells = _cells(data, rows, shape, shape["edges"])
        per_cell = {int(c): np.quantile(resid[cells == c], levels) for c in np.unique(cells)
                    if (cells == c).sum() >= _MIN_CELL}
        return {**shape, "levels": levels, "global": glob, "cells": per_cell}
    if method == "conformal_ratio":
        levels = sorted({*qs, *_FINE})
        ok = p > 1e-9
        ratio = (y[ok] - p[ok]) / p[ok]
        if not ok.any():
            raise ModelError("calibration: conformal_ratio needs positive point forecasts")
        groups = _groups(data, rows, shape)[ok]
        per = {int(g): np.quantile(ratio[groups == g], levels) for g in np.unique(groups)
               if (groups == g).sum() >= 20}
        return {**shape, "levels": levels, "global": np.quantile(ratio, levels), "groups": per}
    if method == "blend":
        weights = {}
        for q in qs:
            a, b = data.member[q][rows], data.ref[q][rows]
            losses = []
            for wgt in _BLEND_GRID:
                diff = y - (wgt * a + (1 - wgt) * b)
                losses.append(np.maximum(q * diff, (q - 1) * diff).sum())
            weights[q] = float(_BLEND_GRID[int(np.argmin(losses))])
        return {**shape, "weights": weights}
    raise ModelError(f"calibration: unknown method {method!r}")


def _interp_side(table: dict[float, float], q: float, default: float) -> float:
    """A per-level parameter at ``q``: interpolated between the fitted levels on its side of
    the median (nearest beyond them); ``default`` when that side has none."""
    side = sorted((lvl, v) for lvl, v in table.items() if (lvl > 0.5) == (q > 0.5) and lvl != 0.5)
    if q == 0.5 or not side:
        return table.get(0.5, default) if q == 0.5 else default
    levels, values = zip(*side, strict=True)
    return float(np.interp(q, levels, values))


def _predict(method: str, params: dict, data: _Data, rows: np.ndarray,
             qs: list[float]) -> dict[float, np.ndarray]:
    p, m = data.p[rows], data.m[rows]
    if method == "member":
        return {q: data.member[q][rows] for q in qs}
    if method in ("scale", "scale_cell"):
        out = {}
        cells = _cells(data, rows, params, params["edges"]) if method == "scale_cell" else None
        for q in qs:
            d = data.member[q][rows] - m
            s = np.full(len(d), _interp_side(params["factors"], q, 1.0))
            if cells is not None:
                for c, table in params["cell_factors"].items():
                    s[cells == c] = _interp_side(table, q, _interp_side(params["factors"], q, 1.0))
            out[q] = m + s * d if q != 0.5 else m
        return out
    if method == "conformal_cell":
        levels = params["levels"]
        cells = _cells(data, rows, params, params["edges"])
        table = np.tile(params["global"], (len(p), 1))
        for c, row in params["cells"].items():
            table[cells == c] = row
        return {q: p + _interp_rows(table, levels, q) for q in qs}
    if method == "conformal_ratio":
        levels = params["levels"]
        groups = _groups(data, rows, params)
        table = np.tile(params["global"], (len(p), 1))
        for g, row in params["groups"].items():
            table[groups == g] = row
        return {q: p * (1 + _interp_rows(table, levels, q)) for q in qs}
    if method == "blend":
        return {q: (w := _interp_side(params["weights"], q, 1.0)) * data.member[q][rows]
                + (1 - w) * data.ref[q][rows] for q in qs}
    raise ModelError(f"calibration: unknown method {method!r}")


def _interp_rows(table: np.ndarray, levels: Sequence[float], q: float) -> np.ndarray:
    """Row-wise linear interpolation of ``table`` (rows x levels) at level ``q``."""
    lv = np.asarray(levels)
    j = int(np.clip(np.searchsorted(lv, q), 1, len(lv) - 1))
    lo, hi = lv[j - 1], lv[j]
    t = float(np.clip((q - lo) / (hi - lo), 0.0, 1.0)) if hi > lo else 0.0
    return table[:, j - 1] * (1 - t) + table[:, j] * t


def _finish(pred: dict[float, np.ndarray], qs: list[float], nonnegative: bool) -> dict[float, np.ndarray]:
    """Monotone in the level (rows sorted) and, for non-negative data, clipped at 0."""
    if not qs:
        return pred
    stacked = np.sort(np.column_stack([pred[q] for q in qs]), axis=1)
    if nonnegative:
        stacked = np.maximum(stacked, 0.0)
    return {q: stacked[:, i] for i, q in enumerate(qs)}
