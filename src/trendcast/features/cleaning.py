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
  level (weekdays, festivals, the Spring Festival dip), times the product's own price and
  promo effect (a Poisson regression on its price against its usual price and its promo
  flag, when the frame or ``drivers`` has them). The run's probability is the product of the
  days' negative binomial zero probabilities, with the product's own dispersion; below
  ``alpha`` it is a stock-out. Stock-outs recur on the products whose supply fails, so on a
  product that has one (recorded, or a run below ``alpha``) its other runs need only
  ``alpha_repeat``. Days the shop was closed (the rest of the catalogue sold under
  ``closed`` of its usual; closures in the calendar) carry no evidence and are never flagged;
  without enough other series for a day factor, the Spring Festival period counts as closed.
  Two passes: the second leaves the first pass's stock-outs out of the levels and the
  dispersion. A stock-out day's sales are the demand that was missed, so they are replaced
  by the local level x the day factor (with the product's own price and promo effect).
- **Outliers** are upward spikes beyond ``z`` standard deviations of a centred rolling median
  (net of the product's own price and promo effect, then times it), the deviation being the
  larger of the robust one (MAD) and the negative binomial count noise at that level; never
  on a known event day (a festival spike is demand the models should learn) nor next to one;
  they are replaced by that expected value.
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
    alpha: float = 1e-5  # probability of the zero run below which it is a stock-out
    alpha_repeat: float = 1e-3  # the same, on a product that already has a stock-out
    own_drivers: bool = True  # the product's own price and promo in its expected demand
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


def _drivers(frame: pd.DataFrame, idx: np.ndarray, window: int) -> np.ndarray | None:
    """The product's own demand drivers, one column each: its price against its usual price
    (log of price over the centred rolling median of ``2 * window + 1`` periods) and its promo
    flag, where the frame has them and they vary; None when none do."""
    cols = []
    if "price" in frame.columns and pd.api.types.is_numeric_dtype(frame["price"]):
        price = pd.Series(frame["price"].to_numpy(dtype=float)[idx]).where(lambda v: v > 0)
        usual = price.rolling(2 * window + 1, center=True, min_periods=7).median()
        cols.append(np.log(price / usual).fillna(0.0).clip(-1.5, 1.5).to_numpy())
    if "promo" in frame.columns and pd.api.types.is_numeric_dtype(frame["promo"]):
        cols.append(np.nan_to_num(frame["promo"].to_numpy(dtype=float)[idx]).clip(0.0, 1.0))
    cols = [c for c in cols if np.ptp(c) > 0]
    return np.column_stack(cols) if cols else None


def _own_effect(y: np.ndarray, factor: np.ndarray, use: np.ndarray, drivers: np.ndarray | None,
                window: int) -> np.ndarray:
    """The multiplier of the product's expected sales from its own price and promo
    (``exp(drivers @ beta)``): a Poisson regression on the days in ``use``, offset by the
    local level x the day factor, refitted once with the level net of the effect."""
    if drivers is None or use.sum() < 28:
        return np.ones(len(y))
    # an intercept, so the drivers' effect is not pulled towards the level they are offset by
    X, beta = np.column_stack([np.ones(len(y)), drivers])[use], np.zeros(drivers.shape[1] + 1)
    for _ in range(2):
        own = np.exp(drivers @ beta[1:])
        x = np.where(use, y / np.maximum(factor * own, 1e-9), np.nan)
        level = pd.Series(x).rolling(2 * window + 1, center=True, min_periods=7).mean().to_numpy()
        offset = (level * factor)[use]
        ok = np.isfinite(offset) & (offset > 0)
        if ok.sum() < 28 or y[use][ok].sum() <= 0:
            return np.ones(len(y))
        Xo, yo, oo = X[ok], y[use][ok], offset[ok]
        beta[0] = 0.0
        ridge = np.diag([0.0, *np.ones(len(beta) - 1)])  # lightly, for a driver that hardly varies
        for _ in range(8):  # Newton steps
            mu = oo * np.exp(Xo @ beta)
            hess = Xo.T @ (Xo * mu[:, None]) + ridge + 1e-9 * np.eye(len(beta))
            beta = np.clip(beta + np.linalg.solve(hess, Xo.T @ (yo - mu) - ridge @ beta), -5.0, 5.0)
    return np.exp(np.clip(drivers @ beta[1:], -3.0, 3.0))


def _run_log_p(y: np.ndarray, factor: np.ndarray, open_: np.ndarray, use: np.ndarray, size: float,
               start: int, end: int, cut: float, opts: CleaningOptions) -> float:
    """Log probability of the zero run ``start:end`` without a stock-out (0.0 when it cannot
    be judged or is screened out as above ``cut``); the side of the run that makes it least
    surprising decides."""
    days = open_[start:end]
    if days.sum() < opts.min_run:
        return 0.0
    run_factor = factor[start:end][days]
    counted = [(float(y[lo:hi][use[lo:hi]].sum()), float(factor[lo:hi][use[lo:hi]].sum()),
                int(use[lo:hi].sum()))
               for lo, hi in ((max(start - opts.window, 0), start), (end, end + opts.window))]
    sides = [(u, e) for u, e, n in counted if n >= opts.min_run and e > 0]
    if not sides:
        return 0.0
    # screen with the plug-in level (its probability is the lower one)
    rate = min(u / e for u, e in sides)
    if size * np.log(size / (size + rate * run_factor)).sum() >= cut:
        return 0.0
    return max(_log_p_zero(u, e, run_factor, size) for u, e in sides)


def _stockouts(y: np.ndarray, known: np.ndarray, closed: np.ndarray, shop_factor: np.ndarray,
               opts: CleaningOptions, drivers: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Stock-out days (known and inferred), their source (2 known, 1 inferred, 0 none), the
    demand to put there (see the module docstring), the multiplier of its own price and promo
    effect and its dispersion (negative binomial size)."""
    open_ = ~closed
    own = _own_effect(y, shop_factor, open_ & ~known, drivers, opts.window)
    factor = shop_factor * own
    x = np.where(open_, y / np.where(open_, factor, 1.0), 0.0)  # sales per unit of day factor
    inferred = np.zeros(len(y), dtype=bool)
    cut, cut_repeat = np.log(opts.alpha), np.log(max(opts.alpha_repeat, opts.alpha))
    if opts.stockouts:
        for _ in range(2):
            use = open_ & ~known & ~inferred
            size = _size(y, x, factor, use, opts.window)
            runs = _runs((y == 0) & ~known)
            log_p = np.array([_run_log_p(y, factor, open_, use, size, s, e, cut_repeat, opts)
                              for s, e in runs])
            # stock-outs recur on the products whose supply fails: once a product has one
            # (recorded, or a run below alpha), its other runs need only alpha_repeat
            repeat = known.any() or bool((log_p < cut).any())
            found = np.zeros(len(y), dtype=bool)
            for (start, end), lp in zip(runs, log_p, strict=True):
                if lp < (cut_repeat if repeat else cut):
                    found[start:end] = open_[start:end]
            inferred = found
            own = _own_effect(y, shop_factor, open_ & ~known & ~inferred, drivers, opts.window)
            factor = shop_factor * own
            x = np.where(open_, y / np.where(open_, factor, 1.0), 0.0)
    flagged = known | inferred
    use = open_ & ~flagged
    demand = np.zeros(len(y))
    for start, end in _runs(flagged):
        around = np.concatenate([_side(x, use, start - opts.window, start),
                                 _side(x, use, end, end + opts.window)])
        demand[start:end] = (float(np.mean(around)) if len(around) else 0.0) * factor[start:end]
    size = _size(y, x, factor, use, opts.window)
    return flagged, np.where(known, 2, np.where(inferred, 1, 0)), demand, own, size


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
                 stock: pd.DataFrame | None = None, drivers: pd.DataFrame | None = None,
                 options: CleaningOptions = CleaningOptions()) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: B008
    """The cleaned copy of ``series`` (``unique_id, ds, y`` and any covariates, gap-free)
    and the changes (``unique_id, ds, before, after, reason``). ``drivers`` (``unique_id, ds``
    and ``price`` / ``promo``) gives the products' own demand drivers when ``series`` does
    not carry them; the cleaned frame keeps only the columns of ``series``."""
    frame = series.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    driving = frame
    extra = [] if drivers is None else [c for c in ("price", "promo")
                                        if c in drivers.columns and c not in frame.columns]
    if drivers is not None and extra:
        driving = frame[["unique_id", "ds"]].merge(
            drivers[["unique_id", "ds", *extra]].drop_duplicates(["unique_id", "ds"]),
            on=["unique_id", "ds"], how="left")
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
        own_drivers = _drivers(driving, idx, options.window) if options.own_drivers else None
        flagged, source, demand, own, size = _stockouts(y, known, closed, factor[idx], options,
                                                        own_drivers)
        reasons_i = np.where(source >= 2, STOCKOUT, np.where(source == 1, STOCKOUT_INFERRED, ""))
        fixed = np.where(flagged, demand, y)
        if options.outliers and len(y) >= options.median_window:
            spike, median = _outliers(fixed, ds, events, flagged, options, own, size)
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
              opts: CleaningOptions, own: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Upward spikes and what to put there. The expected value is the centred rolling median of
    the sales net of the product's own price and promo effect (``own``), times that effect (a
    price cut's peak is demand); the scale is the larger of the robust spread (MAD) and the
    count noise a negative binomial of the product's dispersion has at that value, so a slow
    mover's ordinary 9 after a run of 1s and 2s is not an outlier."""
    net = pd.Series(y / own)
    median = net.rolling(opts.median_window, center=True, min_periods=opts.median_window // 2).median()
    mad = (net - median).abs().rolling(opts.median_window * 4, center=True,
                                      min_periods=opts.median_window).median()
    expected = (median * own).to_numpy()
    # the noise at the mean, not the median: counts are skewed, a median of 2 hides a mean of 3
    mean = (net.rolling(opts.median_window, center=True, min_periods=opts.median_window // 2).mean()
            * own).to_numpy()
    level = np.fmax(expected, mean)
    noise = np.sqrt(level * (1 + level / size))
    scale = np.fmax(np.fmax(1.4826 * mad.to_numpy() * own, noise), 1.0)
    z = (y - expected) / scale
    near_event = np.isin(ds, events)
    spike = (z > opts.z) & ~near_event & ~skip & median.notna().to_numpy()
    return spike, np.where(np.isfinite(expected), expected, y)


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
