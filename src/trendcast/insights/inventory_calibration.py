"""Review-period demand calibrated on backtest windows: the order-up-to level of a periodic
review policy from a forecast, corrected where the forecast's own distribution is wrong.

``inventory_policy`` sums independent daily negative binomials, which understates the spread of
a 14-day total when forecast errors persist, and trusts the forecast's mean even where the last
28 days' average predicts the total better (fast movers on M5). Here, per sales-volume band
(the daily rate over the 28 days before the forecast):

- the mean of the L+R-day total is a blend ``w x forecast total + (1 - w) x recent rate x (L+R)``;
- its distribution is a negative binomial with that mean and c times the extra-Poisson variance
  of the sum of the forecast's independent daily negative binomials (size fitted to the
  forecast quantiles per item); c > 1 widens what independence understates;
- the quantile level is chosen by split conformal calibration on backtest windows: with the
  score ``F(Y - 1)`` of each window's realised total Y (Y <= F^-1(level) exactly when
  F(Y - 1) < level), the level is just above the ceil(target x (n + 1))-th smallest score, so
  the share of validation review cycles without a stock-out is at least the target;
- of the blend weights and widenings c tried, the pair with the least mean stock at its
  calibrated level wins (the pair is chosen on the same cases, so a little optimism remains;
  docs/benchmarks.md checks the coverage on the test).

The windows must end before the period the policy is used on (nothing is chosen on the test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError
from trendcast.insights.inventory import fit_nbinom_size

VOLUME_BANDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # upper edges of the daily-rate bands (last band open)
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # weight of the forecast in the mean
WIDENINGS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # multipliers of the sum's extra-Poisson variance
MAX_LEVEL = 1 - 1e-6


@dataclass(frozen=True)
class Window:
    """One forecast made at a cutoff, and what is known at that cutoff.

    Attributes:
        mean: point forecasts, shape (items, days), day 0 = the day after the cutoff.
        quantiles: forecast quantiles, shape (items, days, len(levels)).
        levels: quantile levels, increasing.
        recent_rate: mean daily sales over the 28 days up to the cutoff, shape (items,).
        actual: realised sales over the forecast days (items, days); None when unknown.
    """

    mean: np.ndarray
    quantiles: np.ndarray
    levels: np.ndarray
    recent_rate: np.ndarray
    actual: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, days = self.mean.shape
        if self.quantiles.shape != (n, days, len(self.levels)):
            raise DataValidationError(f"quantiles must have shape {(n, days, len(self.levels))}; "
                                      f"got {self.quantiles.shape}")
        if self.recent_rate.shape != (n,):
            raise DataValidationError(f"recent_rate needs one value per item ({n}); "
                                      f"got {self.recent_rate.shape}")
        if self.actual is not None and self.actual.shape != (n, days):
            raise DataValidationError(f"actual must have shape {(n, days)}; got {self.actual.shape}")
        for name in ("mean", "quantiles", "recent_rate"):
            if np.isnan(getattr(self, name)).any():
                raise DataValidationError(f"window {name} has missing values; refill or drop those items")


@dataclass(frozen=True)
class _Sums:
    """L+R-day totals of every (item, review) case of a window."""

    forecast: np.ndarray  # forecast total
    recent: np.ndarray  # recent rate x span
    size: np.ndarray  # negative binomial size of the total
    band: np.ndarray
    actual: np.ndarray | None


def volume_band(rate: np.ndarray, edges: Sequence[float] = VOLUME_BANDS) -> np.ndarray:
    """Band index per item from its recent daily sales rate (0 = slowest)."""
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(rate, dtype=float), side="right")


def _window_sums(w: Window, starts: Sequence[int], span: int, edges: Sequence[float]) -> _Sums:
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("forecast", "recent", "size", "band", "actual")}
    for t in starts:
        if t + span > w.mean.shape[1]:
            raise DataValidationError(f"a review at day {t} needs {t + span} forecast days; "
                                      f"the window has {w.mean.shape[1]}")
        m = w.mean[:, t:t + span]
        k = fit_nbinom_size(w.levels, w.quantiles[:, t:t + span], m)
        total, square = m.sum(axis=1), (m**2).sum(axis=1)
        # sum of independent daily NB(m, k): variance total + square / k, as an NB of that size
        size = np.where(square > 0, total**2 / np.where(square > 0, square / k, 1.0), k * span)
        out["forecast"].append(total)
        out["recent"].append(w.recent_rate * span)
        out["size"].append(size)
        out["band"].append(volume_band(w.recent_rate, edges))
        if w.actual is not None:
            out["actual"].append(w.actual[:, t:t + span].sum(axis=1))
    cat = {k: np.concatenate(v) if v else None for k, v in out.items()}
    return _Sums(cat["forecast"], cat["recent"], cat["size"], cat["band"], cat["actual"])


def _nb(mean: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.maximum(mean, 1e-12)
    return size, size / (size + mean)


def _lower_pit(mean: np.ndarray, size: np.ndarray, y: np.ndarray) -> np.ndarray:
    """F(y - 1) under NB(mean, size): 0 when y = 0; 1 when the mean is 0 and y > 0."""
    from scipy.stats import nbinom

    n, p = _nb(mean, size)
    pit = np.where(y > 0, nbinom.cdf(y - 1, n, p), 0.0)
    return np.where((mean <= 0) & (y > 0), 1.0, pit)


def _quantile(mean: np.ndarray, size: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    from scipy.stats import nbinom

    n, p = _nb(mean, size)
    return np.where(mean > 0, nbinom.ppf(np.minimum(level, MAX_LEVEL), n, p), 0.0)


def conformal_level(scores: np.ndarray, target: float) -> float:
    """The least level whose quantiles cover at least ``target`` of future cases, from the
    scores ``F(Y - 1)`` of calibration cases (split conformal, finite-sample corrected)."""
    s = np.sort(np.asarray(scores, dtype=float))
    rank = int(np.ceil(target * (len(s) + 1)))
    if rank > len(s):
        return MAX_LEVEL  # too few cases for this target: the most the tail allows
    return float(min(np.nextafter(s[rank - 1], 2.0), MAX_LEVEL))


@dataclass(frozen=True)
class ReviewCalibration:
    """Per volume band and target service level: blend weight, widening and quantile level.

    ``table`` has one row per (target, band): weight, widening, level, n_cases, validation
    coverage and mean stock of the chosen pair, and the mean stock the uncalibrated forecast
    (weight 1, level = target) would have needed with its validation coverage.
    """

    span: int
    edges: tuple[float, ...]
    table: pd.DataFrame = field(repr=False)

    def parameters(self, target: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights, widenings, levels) per band for ``target``; bands without cases use the
        forecast as is (weight 1, widening 1, level = target)."""
        rows = self.table[np.isclose(self.table["target"], target)]
        if rows.empty:
            raise DataValidationError(f"no calibration for target {target}; calibrated targets: "
                                      f"{sorted(self.table['target'].unique())}")
        weights, widen = np.ones(len(self.edges) + 1), np.ones(len(self.edges) + 1)
        levels = np.full(len(self.edges) + 1, float(target))
        band = rows["band"].to_numpy(int)
        weights[band], widen[band] = rows["weight"].to_numpy(), rows["widening"].to_numpy()
        levels[band] = rows["level"].to_numpy()
        return weights, widen, levels


def fit_review_calibration(windows: Sequence[Window], *, targets: Sequence[float], lead: int,
                           review: int, edges: Sequence[float] = VOLUME_BANDS,
                           weights: Sequence[float] = BLEND_WEIGHTS,
                           widenings: Sequence[float] = WIDENINGS) -> ReviewCalibration:
    """Choose blend weight, widening and quantile level per band and target on backtest windows.

    Each window contributes one case per item and review day 0, R, 2R, ... whose L+R days fit
    in its forecast.
    """
    if not windows:
        raise DataValidationError("calibration needs at least one backtest window")
    if any(w.actual is None for w in windows):
        raise DataValidationError("every calibration window needs its realised sales (actual)")
    for t in targets:
        if not 0 < t < 1:
            raise DataValidationError(f"target service levels must lie in (0, 1); got {t}")
    span = lead + review
    parts = [_window_sums(w, range(0, w.mean.shape[1] - span + 1, review), span, edges) for w in windows]
    fc, recent, size, band, y = (np.concatenate([getattr(p, k) for p in parts])
                                 for k in ("forecast", "recent", "size", "band", "actual"))
    rows = []
    for b in np.unique(band):
        inb = band == b
        pits = {(w, c): _lower_pit(w * fc[inb] + (1 - w) * recent[inb], size[inb] / c, y[inb])
                for w in weights for c in widenings}
        for t in targets:
            cands = []
            for (w, c), pit in pits.items():
                level = conformal_level(pit, t)
                stock = _quantile(w * fc[inb] + (1 - w) * recent[inb], size[inb] / c, level)
                cover = float((y[inb] <= stock).mean())
                # pairs that reach the target first (the tail may not reach it), then the least
                # stock; on a tie the larger forecast weight, then the least widening
                cands.append((cover < t, -cover if cover < t else 0.0, float(stock.mean()), -w, c,
                              level, cover))
            _, _, stock_mean, neg_w, c, level, coverage = min(cands)
            base = _quantile(fc[inb], size[inb], t)
            rows.append({"target": float(t), "band": int(b), "n_cases": int(inb.sum()),
                         "weight": -neg_w + 0.0, "widening": c, "level": level, "coverage": coverage,
                         "mean_stock": stock_mean,
                         "raw_coverage": float((y[inb] <= base).mean()),
                         "raw_mean_stock": float(base.mean())})
    return ReviewCalibration(span=span, edges=tuple(float(e) for e in edges), table=pd.DataFrame(rows))


def calibrated_order_up_to(calibration: ReviewCalibration, window: Window, *, target: float,
                           starts: Sequence[int]) -> np.ndarray:
    """Order-up-to levels (items, len(starts)) for reviews at ``starts`` of ``window``'s
    forecast, with the calibrated weight and level of each item's band."""
    sums = _window_sums(window, starts, calibration.span, calibration.edges)
    weights, widen, levels = calibration.parameters(target)
    w, c, lv = weights[sums.band], widen[sums.band], levels[sums.band]
    stock = _quantile(w * sums.forecast + (1 - w) * sums.recent, sums.size / c, lv)
    return stock.reshape(len(starts), -1).T


RECENT_DAYS = 28  # days of sales up to a cutoff that give an item's recent daily rate


def recent_periods(freq: str) -> int:
    """Periods of sales up to a cutoff that give an item's recent rate: 28 days, 4 weeks."""
    from trendcast.features.frequency import period_days

    return RECENT_DAYS if freq == "D" else max(1, round(RECENT_DAYS / period_days(freq)))


def window_from_frames(forecasts: pd.DataFrame, model: str, sales: pd.DataFrame, *,
                       cutoff: pd.Timestamp, days: int | None = None,
                       with_actual: bool = True, freq: str = "D") -> tuple[Window, pd.Index]:
    """A :class:`Window` from one forecast made at ``cutoff`` and the sales frame.

    Args:
        forecasts: ``unique_id, ds, <model>, <model>-q-<level>...`` for the days after
            ``cutoff``; items with fewer than ``days`` forecast days or with a missing value are
            left out.
        model: the model whose columns to use.
        sales: long ``unique_id, ds, y``; days without a row count as zero sales.
        cutoff: the last day known when the forecast was made.
        days: forecast days to keep (default the shortest item's horizon).
        with_actual: also take the realised sales of the forecast days.
        freq: the forecast's periods (``D``; a weekly run's ``W-...``): ``days`` and the
            window's steps are then periods, ``sales`` dated by their labels, and the recent
            rate is per period over :func:`recent_periods`.

    Returns:
        The window and its items, in the window's order.
    """
    qcols = sorted((c for c in forecasts.columns if c.startswith(f"{model}-q-")),
                   key=lambda c: float(c.rsplit("-q-", 1)[1]))
    if len(qcols) < 2:
        raise DataValidationError(f"{model} needs at least two quantile columns; got {qcols}")
    fc = forecasts[forecasts["ds"] > cutoff].sort_values(["unique_id", "ds"])
    # items with a missing value (a model that failed on them) give no case
    missing = fc.loc[fc[[model, *qcols]].isna().any(axis=1), "unique_id"].unique()
    fc = fc[~fc["unique_id"].isin(missing)]
    counts = fc.groupby("unique_id").size()
    days = int(counts.min()) if days is None and len(counts) else int(days or 0)
    ids = pd.Index(counts.index[counts >= days].astype(str), name="unique_id")
    fc = fc[fc["unique_id"].isin(ids) & (fc.groupby("unique_id").cumcount() < days)]
    n = len(ids)
    levels = np.array([float(c.rsplit("-q-", 1)[1]) for c in qcols])
    mean = fc[model].to_numpy(dtype=float).reshape(n, days)
    quantiles = fc[qcols].to_numpy(dtype=float).reshape(n, days, len(qcols))
    recent = recent_periods(freq)
    step = pd.tseries.frequencies.to_offset(freq)
    first = cutoff - (recent - 1) * step
    last = cutoff + days * step
    grid = pd.date_range(first, last, freq=freq)
    part = sales[sales["unique_id"].isin(ids) & sales["ds"].between(first, last)]
    y = (part.groupby(["unique_id", "ds"])["y"].sum().unstack("ds")
         .reindex(index=ids, columns=grid).fillna(0.0).to_numpy(dtype=float)) if len(part) else \
        np.zeros((n, len(grid)))
    actual = y[:, recent:recent + days] if with_actual else None
    return Window(mean=mean, quantiles=quantiles, levels=levels,
                  recent_rate=y[:, :recent].mean(axis=1), actual=actual), ids
