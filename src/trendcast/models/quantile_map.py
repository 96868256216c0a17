"""From a model's native quantile grid to the quantiles a caller asks for.

Pretrained and deep models predict a fixed grid of quantile levels (0.1, ..., 0.9 for
Fracast and Chronos-Bolt). :func:`map_quantiles` turns that grid into any requested levels:

- The native values are sorted along the quantile axis first (quantile heads can cross;
  sorting, the "rearrangement" of Chernozhukov et al. 2010, never increases the quantile loss).
- A level on the grid is taken as is; a level between two grid levels is linearly
  interpolated between them (the piecewise-linear quantile function of the grid).
- A level outside the grid (0.005 when the grid ends at 0.1) depends on ``tails``:
  ``"error"`` (the default of every model) raises a ModelError naming the grid;
  ``"normal"`` extrapolates a two-piece normal: below the median the spread is
  ``(q_0.5 - q_lo) / z(1 - lo)`` from the lowest grid level ``lo``, above it
  ``(q_hi - q_0.5) / z(hi)`` from the highest ``hi``, and ``q_tau = q_0.5 + spread * z(tau)``.
  That keeps each half of the model's own skew, stays monotone, and assumes a
  normal-shaped tail beyond the grid, which is an assumption, not something the model said.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trendcast.errors import ModelError

TAILS = ("error", "normal")
POINTS = ("mean", "median")


def check_point(point: str) -> str:
    """``point`` must be one of :data:`POINTS`."""
    if point not in POINTS:
        raise ModelError(f"point must be one of {POINTS}, got {point!r}")
    return point


def grid_mean(values: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """The mean implied by a quantile grid: each (sorted) quantile weighs the probability
    mass around its level, ``(tau_{k+1} - tau_{k-1}) / 2`` with 0 and 1 as outer bounds,
    normalised (the trapezoid rule Chronos-2 uses; for 0.1, ..., 0.9 it is the plain average).
    Mass beyond the outer levels is not modelled, so a long right tail is under-weighted."""
    grid_arr = np.asarray(grid, dtype=float)
    order = np.argsort(grid_arr)
    grid_arr = grid_arr[order]
    vals = np.sort(np.asarray(values, dtype=float)[..., order], axis=-1)
    bounds = np.concatenate([[0.0], grid_arr, [1.0]])
    mass = (bounds[2:] - bounds[:-2]) / 2
    return vals @ (mass / mass.sum())


def check_tails(tails: str) -> str:
    """``tails`` must be one of :data:`TAILS`."""
    if tails not in TAILS:
        raise ModelError(f"tails must be one of {TAILS}, got {tails!r}")
    return tails


def map_quantiles(values: np.ndarray, grid: Sequence[float], wanted: Sequence[float], *,
                  tails: str = "error", model: str = "model") -> np.ndarray:
    """Values at levels ``wanted`` from ``values[..., len(grid)]`` at levels ``grid``.

    Returns an array shaped ``values.shape[:-1] + (len(wanted),)``.
    """
    check_tails(tails)
    grid_arr = np.asarray(grid, dtype=float)
    order = np.argsort(grid_arr)
    grid_arr = grid_arr[order]
    vals = np.sort(np.asarray(values, dtype=float)[..., order], axis=-1)
    lo, hi = float(grid_arr[0]), float(grid_arr[-1])
    outside = [q for q in wanted if q < lo - 1e-9 or q > hi + 1e-9]
    if outside and tails == "error":
        raise ModelError(
            f"{model} predicts quantiles {lo:g}..{hi:g} (grid {', '.join(f'{g:g}' for g in grid_arr)}); "
            f"asked for {', '.join(f'{q:g}' for q in outside)} outside it. Ask for levels inside the "
            f"grid, or pass tails='normal' to extrapolate a two-piece normal tail (an assumption)"
        )
    out = np.empty(vals.shape[:-1] + (len(wanted),), dtype=float)
    median = _interpolate(vals, grid_arr, 0.5) if lo <= 0.5 <= hi else None
    for i, q in enumerate(wanted):
        if lo - 1e-9 <= q <= hi + 1e-9:
            out[..., i] = _interpolate(vals, grid_arr, min(max(q, lo), hi))
            continue
        if median is None:
            raise ModelError(f"{model}: cannot extrapolate tails from a grid without the median")
        from scipy.stats import norm

        if q < lo:
            spread = (median - vals[..., 0]) / norm.ppf(1 - lo)
        else:
            spread = (vals[..., -1] - median) / norm.ppf(hi)
        out[..., i] = median + spread * norm.ppf(q)
    return out


def _interpolate(vals: np.ndarray, grid: np.ndarray, q: float) -> np.ndarray:
    j = int(np.searchsorted(grid, q - 1e-9))
    if j < len(grid) and abs(grid[j] - q) < 1e-9:
        return vals[..., j]
    left, right = j - 1, j
    w = (q - grid[left]) / (grid[right] - grid[left])
    return vals[..., left] * (1 - w) + vals[..., right] * w
