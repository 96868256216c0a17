"""Cleaning a model's inputs: stock-out days treated as missing demand, outliers replaced.

Raw sales are never changed: cleaning turns a gap-free series frame into the frame a model
fits on, and returns every change (``unique_id, ds, before, after, reason``) so a run can
store and show it.

- **Stock-outs** come from the stock history (days with nothing on hand) when a product has
  one, else they are inferred: a run of zero-sales days so long that the product's own record
  around it makes it implausible (``p0 ** k < alpha``, with ``p0`` the share of zero days in
  the four weeks on each side, smoothed, and ``k`` the run's length), for products selling at
  least ``min_level`` units a day there. A stock-out day's sales are the demand that was
  missed, so they are replaced by that local demand.
- **Outliers** are upward spikes beyond ``z`` robust standard deviations (MAD) of a centred
  rolling median, never on a known event day (a festival spike is demand the models should
  learn) nor next to one; they are replaced by the rolling median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STOCKOUT, STOCKOUT_INFERRED, OUTLIER = "stock-out (stock history)", "stock-out (inferred)", "outlier"


@dataclass(frozen=True)
class CleaningOptions:
    """Thresholds of :func:`clean_series`."""

    stockouts: bool = True
    outliers: bool = True
    min_run: int = 3  # shortest zero run that can be an inferred stock-out (periods)
    alpha: float = 3e-5  # probability (p0 ** k) below which a zero run is a stock-out
    min_level: float = 0.5  # local demand a product needs for inference (units per period)
    window: int = 28  # periods on each side that give the local demand
    z: float = 6.0  # robust z-score of an outlier
    median_window: int = 15  # centred rolling median for outliers (periods)


def _runs(zero: np.ndarray) -> list[tuple[int, int]]:
    """(start, end exclusive) of each run of True."""
    edges = np.diff(np.concatenate([[0], zero.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _around(y: np.ndarray, flagged: np.ndarray, start: int, end: int, window: int) -> np.ndarray:
    """Values in the ``window`` periods on each side of ``[start, end)``, flagged days left out."""
    lo, hi = max(0, start - window), end + window
    values = np.concatenate([y[lo:start], y[end:hi]])
    keep = ~np.concatenate([flagged[lo:start], flagged[end:hi]])
    return values[keep]


def _stockouts(y: np.ndarray, known: np.ndarray, event: np.ndarray,
               opts: CleaningOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stock-out days (known and inferred), their source (2 known, 1 inferred, 0 none) and the
    demand to put there. A zero run that touches a closure (``event``: the Spring Festival's
    standstill, a declared closure) is not inferred to be a stock-out."""
    inferred = np.zeros(len(y), dtype=bool)
    if opts.stockouts:
        for start, end in _runs((y == 0) & ~known):
            k = end - start
            if event[start:end].any():
                continue
            around = _around(y, known, start, end, opts.window)
            if k < opts.min_run or len(around) < opts.min_run:
                continue
            level = float(np.mean(around))
            # how often this product sells nothing on a day, near the run (overdispersion and
            # weekly patterns included): a run of k such days has probability ~ p0 ** k
            p0 = (float(np.sum(around == 0)) + 0.5) / (len(around) + 1.0)
            if level >= opts.min_level and p0 ** k < opts.alpha:
                inferred[start:end] = True
    flagged = known | inferred
    demand = np.zeros(len(y))
    for start, end in _runs(flagged):
        around = _around(y, flagged, start, end, opts.window)
        demand[start:end] = float(np.mean(around)) if len(around) else 0.0
    return flagged, np.where(known, 2, np.where(inferred, 1, 0)), demand


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
    for _, idx in frame.groupby("unique_id", sort=False).indices.items():
        ds = frame["ds"].to_numpy()[idx]
        y = y_new[idx]
        known = np.isin(ds, out_days.get(frame["unique_id"].iloc[idx[0]], np.array([], dtype=ds.dtype)))
        flagged, source, demand = _stockouts(y, known, np.isin(ds, dips), options)
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
    ``closure``): zero sales then are no sign of a stock-out. Public holidays are not among
    them: online shops sell through them."""
    if calendar is None or calendar.empty:
        return np.array([], dtype="datetime64[ns]")
    kind = calendar["kind"].fillna("") if "kind" in calendar.columns else pd.Series("", index=calendar.index)
    name = calendar["name"].fillna("") if "name" in calendar.columns else pd.Series("", index=calendar.index)
    dips = calendar[(kind == "closure") | name.str.contains("Spring Festival", regex=False)]
    return pd.to_datetime(dips["ds"]).dt.normalize().unique().to_numpy(dtype="datetime64[ns]")


def _known_stockouts(stock: pd.DataFrame | None) -> dict[str, np.ndarray]:
    if stock is None or stock.empty:
        return {}
    out = stock[stock["on_hand"].fillna(1) <= 0]
    return {str(uid): pd.to_datetime(g["ds"]).to_numpy(dtype="datetime64[ns]")
            for uid, g in out.groupby("unique_id")}
