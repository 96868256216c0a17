"""Cleaning a model's inputs: stock-out days treated as missing demand, outliers replaced.

Raw sales are never changed: cleaning turns a gap-free series frame into the frame a model
fits on, and returns every change (``unique_id, ds, before, after, reason``) so a run can
store and show it.

- **Stock-outs** come from the stock history (days with nothing on hand) when a product has
  one, else they are inferred: a run of zero-sales days is a stock-out when it is too
  unlikely under the product's own demand around it. Each day of the run expects
  ``level x day factor`` units, where the level is the product's sales (per unit of day
  factor) in the ``window`` periods on each side of the run, the lower side counting (a
  stock-out sits between two selling stretches; a product that fades or starts selling does
  not), and the day factor is the rest of the catalogue's sales that day against its usual
  level (weekdays, festivals, the Spring Festival dip). The run's probability is the product
  of the days' negative binomial zero probabilities, with the product's own dispersion; below
  ``alpha`` it is a stock-out. Days the shop was closed (the rest of the catalogue sold under
  ``closed`` of its usual; closures in the calendar) carry no evidence and are never flagged;
  without enough other series for a day factor, the Spring Festival period counts as closed.
  Two passes: the second leaves the first pass's stock-outs out of the levels and the
  dispersion. A stock-out day's sales are the demand that was missed, so they are replaced
  by the local level x the day factor.
- **Outliers** are upward spikes beyond ``z`` robust standard deviations (MAD) of a centred
  rolling median, never on a known event day (a festival spike is demand the models should
  learn) nor next to one; they are replaced by the rolling median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import gamma

STOCKOUT, STOCKOUT_INFERRED, OUTLIER = "stock-out (stock history)", "stock-out (inferred)", "outlier"


@dataclass(frozen=True)
class CleaningOptions:
    """Thresholds of :func:`clean_series`."""

    stockouts: bool = True
    outliers: bool = True
    min_run: int = 3  # shortest zero run that can be an inferred stock-out (periods)
    alpha: float = 3e-5  # probability of the zero run below which it is a stock-out
    window: int = 28  # periods on each side that give the local demand
    min_catalogue: int = 10  # other series a day needs for the catalogue-wide day factor
    closed: float = 0.1  # day factor under which the shop counts as closed
    z: float = 6.0  # robust z-score of an outlier
    median_window: int = 15  # centred rolling median for outliers (periods)


def _runs(zero: np.ndarray) -> list[tuple[int, int]]:
    """(start, end exclusive) of each run of True."""
    edges = np.diff(np.concatenate([[0], zero.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _side(x: np.ndarray, use: np.ndarray, lo: int, hi: int) -> np.ndarray:
    lo, hi = max(lo, 0), max(min(hi, len(x)), 0)
    return x[lo:hi][use[lo:hi]]


def _size(y: np.ndarray, x: np.ndarray, factor: np.ndarray, use: np.ndarray, window: int) -> float:
    """The negative binomial size (1 / overdispersion) of the product's sales around their
    local level (method of moments; large for Poisson-like sales, small for lumpy ones)."""
    level = pd.Series(np.where(use, x, np.nan)).rolling(window, center=True, min_periods=7).mean()
    mu = level.to_numpy() * factor
    ok = use & np.isfinite(mu)
    if ok.sum() < 14 or mu[ok].sum() <= 0:
        return 1.0
    excess = float(np.sum((y[ok] - mu[ok]) ** 2) - np.sum(mu[ok]))
    return float(np.clip(np.sum(mu[ok] ** 2) / max(excess, 1e-9), 0.2, 1e3))


_LEVEL_QUANTILES = (np.arange(32) + 0.5) / 32


def _log_p_zero(units: float, exposure: float, run_factor: np.ndarray, size: float) -> float:
    """Log probability that the run's days all sell nothing, given a side of the run that sold
    ``units`` over ``exposure`` (sum of day factors): the level is uncertain (gamma posterior,
    widened by the overdispersion), each day's sales negative binomial around level x factor."""
    rate = units / exposure
    widen = 1.0 + rate * float(np.mean(run_factor)) / size
    levels = gamma.ppf(_LEVEL_QUANTILES, (units + 0.5) / widen, scale=widen / exposure)
    log_p = size * np.log(size / (size + levels[:, None] * run_factor[None, :])).sum(axis=1)
    top = log_p.max()
    return float(top + np.log(np.mean(np.exp(log_p - top))))


def _stockouts(y: np.ndarray, known: np.ndarray, closed: np.ndarray, factor: np.ndarray,
               opts: CleaningOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stock-out days (known and inferred), their source (2 known, 1 inferred, 0 none) and the
    demand to put there (see the module docstring)."""
    open_ = ~closed
    x = np.where(open_, y / np.where(open_, factor, 1.0), 0.0)  # sales per unit of day factor
    inferred = np.zeros(len(y), dtype=bool)
    cut = np.log(opts.alpha)
    if opts.stockouts:
        for _ in range(2):
            use = open_ & ~known & ~inferred
            size = _size(y, x, factor, use, opts.window)
            found = np.zeros(len(y), dtype=bool)
            for start, end in _runs((y == 0) & ~known):
                days = open_[start:end]
                if days.sum() < opts.min_run:
                    continue
                run_factor = factor[start:end][days]
                sides = [(float(y[lo:hi][use[lo:hi]].sum()), float(factor[lo:hi][use[lo:hi]].sum()),
                          int(use[lo:hi].sum()))
                         for lo, hi in ((max(start - opts.window, 0), start), (end, end + opts.window))]
                sides = [(u, e) for u, e, n in sides if n >= opts.min_run and e > 0]
                if not sides:
                    continue
                # screen with the plug-in level (its probability is the lower one), then the
                # side that makes the run least surprising decides
                rate = min(u / e for u, e in sides)
                if size * np.log(size / (size + rate * run_factor)).sum() >= cut:
                    continue
                if max(_log_p_zero(u, e, run_factor, size) for u, e in sides) < cut:
                    found[start:end] = days
            inferred = found
    flagged = known | inferred
    use = open_ & ~flagged
    demand = np.zeros(len(y))
    for start, end in _runs(flagged):
        around = np.concatenate([_side(x, use, start - opts.window, start),
                                 _side(x, use, end, end + opts.window)])
        demand[start:end] = (float(np.mean(around)) if len(around) else 0.0) * factor[start:end]
    return flagged, np.where(known, 2, np.where(inferred, 1, 0)), demand


def _day_factors(frame: pd.DataFrame, opts: CleaningOptions) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``frame``: the rest of the catalogue's sales that period against their usual
    level (centred rolling median over ``2 * window + 1`` periods), and whether enough other
    series (``min_catalogue``) sold then for it to mean anything (else 1)."""
    wide = frame.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum",
                             dropna=False, observed=True)
    present = wide.notna().to_numpy()
    values = wide.clip(lower=0).fillna(0.0).to_numpy()
    other = values.sum(axis=1, keepdims=True) - values
    others = present.sum(axis=1, keepdims=True) - present
    base = pd.DataFrame(other).rolling(2 * opts.window + 1, center=True, min_periods=opts.window).median()
    base = base.to_numpy()
    ok = (others >= opts.min_catalogue) & np.isfinite(base) & (base > 0)
    factor = np.where(ok, other / np.where(ok, base, 1.0), 1.0)
    rows = wide.index.get_indexer(frame["ds"])
    cols = wide.columns.get_indexer(frame["unique_id"])
    return np.clip(factor[rows, cols], 0.0, 10.0), ok[rows, cols]


def clean_series(series: pd.DataFrame, *, calendar: pd.DataFrame | None = None,
                 stock: pd.DataFrame | None = None,
                 options: CleaningOptions = CleaningOptions()) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: B008
    """The cleaned copy of ``series`` (``unique_id, ds, y`` and any covariates, gap-free)
    and the changes (``unique_id, ds, before, after, reason``)."""
    frame = series.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    events = _event_days(calendar)
    dips = _dip_days(calendar)
    out_days = _known_stockouts(stock)
    y_new = frame["y"].to_numpy(dtype=float).copy()
    reasons = np.full(len(frame), "", dtype=object)
    factor, has_factor = _day_factors(frame, options) if len(frame) else (np.ones(0), np.zeros(0, bool))
    closures = _closure_days(calendar)
    for _, idx in frame.groupby("unique_id", sort=False).indices.items():
        ds = frame["ds"].to_numpy()[idx]
        y = y_new[idx]
        known = np.isin(ds, out_days.get(frame["unique_id"].iloc[idx[0]], np.array([], dtype=ds.dtype)))
        closed = (np.isin(ds, closures) | (has_factor[idx] & (factor[idx] < options.closed))
                  | (~has_factor[idx] & np.isin(ds, dips)))
        flagged, source, demand = _stockouts(y, known, closed, factor[idx], options)
        reasons_i = np.where(source >= 2, STOCKOUT, np.where(source == 1, STOCKOUT_INFERRED, ""))
        fixed = np.where(flagged, demand, y)
        if options.outliers and len(y) >= options.median_window:
            spike, median = _outliers(fixed, ds, events, flagged, options)
            fixed = np.where(spike, median, fixed)
            reasons_i = np.where(spike, OUTLIER, reasons_i)
        y_new[idx] = fixed
        reasons[idx] = reasons_i
    changed = reasons != ""
    changes = pd.DataFrame({"unique_id": frame.loc[changed, "unique_id"].to_numpy(),
                            "ds": frame.loc[changed, "ds"].to_numpy(),
                            "before": frame.loc[changed, "y"].to_numpy(dtype=float),
                            "after": y_new[changed], "reason": reasons[changed]})
    cleaned = frame.assign(y=y_new)
    cleaned.attrs = dict(series.attrs)
    return cleaned, changes


def _outliers(y: np.ndarray, ds: np.ndarray, events: np.ndarray, skip: np.ndarray,
              opts: CleaningOptions) -> tuple[np.ndarray, np.ndarray]:
    values = pd.Series(y)
    median = values.rolling(opts.median_window, center=True, min_periods=opts.median_window // 2).median()
    mad = (values - median).abs().rolling(opts.median_window * 4, center=True,
                                         min_periods=opts.median_window).median()
    scale = 1.4826 * mad.clip(lower=1.0)
    z = (values - median) / scale
    near_event = np.isin(ds, events)
    spike = (z > opts.z).to_numpy() & ~near_event & ~skip & median.notna().to_numpy()
    return spike, median.fillna(values).to_numpy()


def _event_days(calendar: pd.DataFrame | None) -> np.ndarray:
    """Event days and the days next to them (shoppers buy ahead and catch up)."""
    if calendar is None or calendar.empty:
        return np.array([], dtype="datetime64[ns]")
    days = pd.to_datetime(calendar["ds"]).dt.normalize().unique()
    near = pd.DatetimeIndex(days).union(pd.DatetimeIndex(days) - pd.Timedelta(days=1)).union(
        pd.DatetimeIndex(days) + pd.Timedelta(days=1))
    return near.to_numpy(dtype="datetime64[ns]")


def _dip_days(calendar: pd.DataFrame | None) -> np.ndarray:
    """Days when logistics stop or the shop closes (the Spring Festival period, events of kind
    ``closure``): zero sales then are no sign of a stock-out, for a series without enough
    other series to show how the shop sold those days. Public holidays are not among them:
    online shops sell through them."""
    if calendar is None or calendar.empty:
        return np.array([], dtype="datetime64[ns]")
    kind = calendar["kind"].fillna("") if "kind" in calendar.columns else pd.Series("", index=calendar.index)
    name = calendar["name"].fillna("") if "name" in calendar.columns else pd.Series("", index=calendar.index)
    dips = calendar[(kind == "closure") | name.str.contains("Spring Festival", regex=False)]
    return pd.to_datetime(dips["ds"]).dt.normalize().unique().to_numpy(dtype="datetime64[ns]")


def _closure_days(calendar: pd.DataFrame | None) -> np.ndarray:
    """Days the calendar declares closed (events of kind ``closure``)."""
    if calendar is None or calendar.empty or "kind" not in calendar.columns:
        return np.array([], dtype="datetime64[ns]")
    days = calendar.loc[calendar["kind"].fillna("") == "closure", "ds"]
    return pd.to_datetime(days).dt.normalize().unique().to_numpy(dtype="datetime64[ns]")


def _known_stockouts(stock: pd.DataFrame | None) -> dict[str, np.ndarray]:
    if stock is None or stock.empty:
        return {}
    out = stock[stock["on_hand"].fillna(1) <= 0]
    return {str(uid): pd.to_datetime(g["ds"]).to_numpy(dtype="datetime64[ns]")
            for uid, g in out.groupby("unique_id")}
