"""Drift alerts: a product or category whose live forecast errors leave what its backtest
led us to expect, or whose buyers start complaining.

**Products: a window-limited log-likelihood-ratio test** (Lai, 1998) of "something went wrong
with this product" against "all is as the backtest expected", adding two kinds of evidence on
one scale, in nats:

*Sales errors.* For each product and day take the freshest stored forecast of that day and its
error ``e = y - f``; divide by the mean absolute error its validation backtest expects (the
series' scale times its validation MASE): ``u = e / expected_abs``. Under no drift ``u`` is
taken as Laplace(0, 1) (forecast errors have heavier tails than a normal's), under drift as
shifted by ``delta`` expected errors, down or up. The daily log-likelihood ratio is

    s_down = |u| - |u + delta|,   s_up = |u| - |u - delta|

bounded by ``delta`` a day, so one freak day cannot raise an alert. Days flagged ``skip``
(shopping festivals, their pre-sales and the week after: a year-old version misjudges them
by far more than its backtest spread) add nothing.

*Complaints* (products only, when reviews are stored). The daily count ``x`` of low-rated
reviews (1-2 stars; negative text sentiment for a review without stars) is Poisson with mean
``lambda`` under no drift: the product's own complaints per unit sold before the monitored
period, shrunk towards the shop's rate with ``prior`` pseudo-complaints, times its units sold
over the last 7 days (at least half its usual level, so a sales drop cannot shrink the
expectation to nothing). A quality problem multiplies the rate by ``lift``:

    c = x * log(lift) - (lift - 1) * lambda

Independent evidence adds up in log-likelihood ratios, so the down side's daily evidence is
``s_down + c``. An alert is raised on the first day the sum over the last ``window`` days of
``s_down + c`` or of ``c`` alone (a burst of complaints alerts whatever the sales did) or of
``s_up`` exceeds ``h``; a side alerts again only after its sums have fallen back to 0 or
below (the first alert's evidence has gone). The window bounds how long slow, harmless bias
(a trend the version has not learnt) can pile up: a product's alert is about the last week,
not the last months. With the defaults (``delta = 0.5``, ``window = 7``, ``h = 5``) a week
of sales errors alone gives at most 3.5 nats: **sales errors need complaints (or a category)
to alert**, because on the simulated shop the sales evidence of a version that is not
refitted raised several false alarms per 100 product-months at every setting that let it
alert alone (docs/benchmarks.md). One complaint above a quiet baseline gives about 3.4 nats
(``lift = 30``), so two within a week, or one with a week of falling sales, raise an alert.
Settings were chosen on the simulated shop's seed 11 only; seed 7 is reported with them.

Its start is the first day of the window's strongest stretch of evidence (the day after the
lowest running sum inside the window); ``signal`` says which evidence made it (``sales
errors``, ``complaints`` or ``sales errors + complaints``: each part that gave at least
``share`` of the stretch's positive evidence); ``size`` the mean of ``z = u / 1.25`` (in
expected standard errors; negative: below the forecast, as in a quality incident) from the
start to the alarm, ``ratio`` the mean absolute error over the expected one on those days,
``complaints`` and ``expected_complaints`` the low-rated reviews of the stretch and what the
baseline expected of them.

**Categories** are tested on sales errors only, on the sum of their products' errors over
the sum of their expected errors (``z``, roughly standard normal, clipped to ``cap``), with a
two-sided Gaussian CUSUM (Page, 1954): ``S+ = max(0, S+ + z - k)``, ``S- = max(0, S- - z -
k)``, alert when a sum exceeds ``category_h`` (``k = 0.5, h = 8``: the log-likelihood ratio of
a one-standard-error shift, about one false alarm in 9,500 days per side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SD_PER_MAE = 1.25  # sd / mean absolute deviation of a normal distribution (sqrt(pi / 2))
SALES, COMPLAINTS = "sales errors", "complaints"
ALERT_COLUMNS = ["level", "name", "signal", "started", "detected", "days", "size", "ratio",
                 "direction", "complaints", "expected_complaints"]


@dataclass(frozen=True)
class DriftOptions:
    """Test settings (module docstring). Products: ``delta`` (the sales shift looked for, in
    expected errors), ``window`` (days), ``h`` (nats), ``lift`` and ``prior`` of the
    complaints, ``share`` (the part of the evidence a signal must give to be named).
    Categories: ``k``, ``category_h`` and ``cap`` of the Gaussian CUSUM."""

    delta: float = 0.5
    window: int = 7
    h: float = 5.0
    lift: float = 30.0
    prior: float = 2.0
    share: float = 0.25
    k: float = 0.5
    category_h: float = 8.0
    cap: float = 4.0

    def __post_init__(self) -> None:
        if self.delta <= 0 or self.window < 1 or self.h <= 0 or self.lift <= 1 or self.category_h <= 0:
            raise ValueError(f"drift options out of range: {self}; need delta > 0, window >= 1, "
                             "h > 0, lift > 1 and category_h > 0")


def standardised_errors(freshest: pd.DataFrame, expected: pd.Series | None,
                        fallback: float = 1.0) -> pd.DataFrame:
    """``unique_id, ds, e, forecast, expected_abs, z`` from freshest scored rows (one model) and each
    series' expected MASE (validation; ``fallback`` where unknown)."""
    exp = (freshest["unique_id"].map(expected) if expected is not None
           else pd.Series(np.nan, index=freshest.index)).astype(float)
    exp = exp.where(np.isfinite(exp) & (exp > 0), fallback)
    scale = freshest["scale"].astype(float)
    # a series without a scale (constant history) is measured against its mean actual
    level = freshest.groupby("unique_id")["y"].transform(lambda y: max(float(np.abs(y).mean()), 1.0))
    scale = scale.where(np.isfinite(scale) & (scale > 0), level)
    expected_abs = exp * scale
    e = freshest["y"].astype(float) - freshest["forecast"].astype(float)
    return pd.DataFrame({"unique_id": freshest["unique_id"].astype(str), "ds": freshest["ds"],
                         "e": e, "forecast": freshest["forecast"].astype(float), "expected_abs": expected_abs,
                         "z": e / (SD_PER_MAE * expected_abs)})


def complaint_expectation(complaints: pd.DataFrame, sales: pd.DataFrame, *, start: pd.Timestamp,
                          end: pd.Timestamp | None = None, prior: float = 2.0) -> pd.DataFrame:
    """Daily complaints and their no-drift expectation per product (module docstring).

    Args:
        complaints: ``unique_id, ds, complaints`` (low-rated reviews per product and day; days
            without a row had none).
        sales: ``unique_id, ds, y`` from before ``start`` (the baseline) through the
            monitored days.
        start: first monitored day; the rates come from the days before it.
        end: last monitored day (default: the last sales day).
        prior: pseudo-complaints pulling a product's rate towards the shop's.

    Returns:
        ``unique_id, ds, complaints, expected`` for every product with sales and day from
        ``start`` to ``end``.
    """
    cols = ["unique_id", "ds", "complaints", "expected"]
    if sales.empty:
        return pd.DataFrame(columns=cols)
    start = pd.Timestamp(start)
    sales = sales.assign(unique_id=sales["unique_id"].astype(str), ds=pd.to_datetime(sales["ds"]))
    end = pd.Timestamp(end) if end is not None else sales["ds"].max()
    comp = complaints.assign(unique_id=complaints["unique_id"].astype(str),
                             ds=pd.to_datetime(complaints["ds"]))
    before_units = sales[sales["ds"] < start].groupby("unique_id")["y"].agg(["sum", "size"])
    before_comp = comp[comp["ds"] < start].groupby("unique_id")["complaints"].sum()
    units = before_units["sum"].clip(lower=0.0)
    k = before_comp.reindex(units.index, fill_value=0.0)
    shop_rate = (float(k.sum()) + prior) / (float(units.sum()) + prior / 0.01)  # 1% prior if empty
    rate = (k + prior) / (units + prior / shop_rate)
    usual = (units / before_units["size"].clip(lower=1)).rename("usual")
    ids = sorted(set(sales.loc[sales["ds"] >= start, "unique_id"]))
    days = pd.date_range(start - pd.Timedelta(days=6), end, freq="D")
    grid = (sales[sales["unique_id"].isin(set(ids)) & (sales["ds"] >= days[0]) & (sales["ds"] <= end)]
            .pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
            .reindex(index=days, columns=ids).fillna(0.0))
    recent = grid.rolling(7, min_periods=1).mean().loc[start:]
    floor = 0.5 * usual.reindex(ids).fillna(0.0).to_numpy()
    exposure = np.maximum(recent.to_numpy(), floor[None, :])
    # a product first sold inside the monitored period gets the shop's rate
    lam = exposure * rate.reindex(ids).fillna(shop_rate).to_numpy()[None, :]
    out = pd.DataFrame({"unique_id": np.tile(np.asarray(ids, dtype=object), len(recent)),
                        "ds": np.repeat(recent.index.to_numpy(), len(ids)), "expected": lam.ravel()})
    out = out.merge(comp.groupby(["unique_id", "ds"], as_index=False)["complaints"].sum(),
                    on=["unique_id", "ds"], how="left")
    out["complaints"] = out["complaints"].fillna(0.0)
    return out[cols]


def page(up: np.ndarray, down: np.ndarray, h: float) -> list[tuple[int, int, str]]:
    """Alerts of two one-sided CUSUMs over daily increments ``up`` and ``down``: ``(start
    index, alarm index, "up"|"down")``; one alert per excursion (a side alerts again only
    after its sum has returned to 0)."""
    sums = {"up": 0.0, "down": 0.0}
    starts = {"up": 0, "down": 0}
    alarmed = {"up": False, "down": False}
    alerts = []
    for t in range(len(up)):
        for side, step in (("up", up[t]), ("down", down[t])):
            if sums[side] == 0.0:
                starts[side] = t
                alarmed[side] = False
            sums[side] = max(0.0, sums[side] + step)
            if sums[side] > h and not alarmed[side]:
                alerts.append((starts[side], t, side))
                alarmed[side] = True
    return alerts


def cusum(z: np.ndarray, options: DriftOptions = DriftOptions()) -> list[tuple[int, int, str]]:
    """Alerts of the two-sided Gaussian CUSUM over ``z`` (NaN: a skipped day) with ``k``,
    ``category_h`` and ``cap`` (the category test)."""
    value = np.clip(z, -options.cap, options.cap)
    skip = ~np.isfinite(value)
    up = np.where(skip, 0.0, value - options.k)
    down = np.where(skip, 0.0, -value - options.k)
    return page(up, down, options.category_h)


def sales_llr(u: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Daily Laplace log-likelihood ratios (down, up) of a shift by ``delta`` for errors ``u``
    in expected absolute errors; NaN (a skipped day) gives 0."""
    ok = np.isfinite(u)
    v = np.where(ok, u, 0.0)
    return (np.where(ok, np.abs(v) - np.abs(v + delta), 0.0),
            np.where(ok, np.abs(v) - np.abs(v - delta), 0.0))


def window_sums(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``x`` over the last ``window`` days (fewer at the start), for every day."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    t = np.arange(1, len(x) + 1)
    return c[t] - c[np.maximum(t - window, 0)]


def window_alarms(stat: np.ndarray, h: float) -> list[int]:
    """Days a window statistic exceeds ``h``; after an alarm the next needs the statistic to
    have fallen to 0 or below first (the evidence of the first has gone)."""
    alarms, armed = [], True
    for t in np.flatnonzero((stat > h) | (stat <= 0)):
        if stat[t] <= 0:
            armed = True
        elif armed:
            alarms.append(int(t))
            armed = False
    return alarms


def stretch_start(x: np.ndarray, alarm: int, window: int) -> int:
    """First day of the strongest stretch of evidence ``x`` inside the window ending at
    ``alarm``: the day after the lowest running sum."""
    lo = max(alarm - window + 1, 0)
    running = np.concatenate([[0.0], np.cumsum(x[lo:alarm + 1])])
    return lo + int(np.argmin(running[:-1]))


def _signal(sales: float, complaints: float, share: float) -> str:
    total = max(sales, 0.0) + max(complaints, 0.0)
    named = [name for name, part in ((SALES, sales), (COMPLAINTS, complaints))
             if total > 0 and part >= share * total]
    return " + ".join(named) or SALES


def _category_series(errors: pd.DataFrame) -> pd.DataFrame:
    frame = errors.dropna(subset=["category"]).assign(abs_e=lambda d: d["e"].abs())
    frame = frame[~frame["skip"].astype(bool)]
    sums = frame.groupby(["category", "ds"]).agg(e=("e", "sum"), abs_e=("abs_e", "sum"),
                                                 expected_abs=("expected_abs", "sum"),
                                                 n=("e", "size")).reset_index()
    # a sum of n independent errors spreads by sqrt(n), not n
    spread = sums["expected_abs"] / np.sqrt(sums["n"].clip(lower=1))
    return sums.assign(name=sums["category"], z=sums["e"] / (SD_PER_MAE * spread), skip=False,
                       complaints=0.0, expected=0.0)


def _product_alerts(part: pd.DataFrame, options: DriftOptions) -> list[tuple[int, int, str, np.ndarray]]:
    """``(start, alarm, side, sales evidence)`` of one product's window test."""
    z = part["z"].to_numpy(dtype=float).copy()
    z[part["skip"].fillna(False).to_numpy(dtype=bool)] = np.nan
    down, up = sales_llr(z * SD_PER_MAE, options.delta)
    x, lam = part["complaints"].to_numpy(dtype=float), part["expected"].to_numpy(dtype=float)
    comp = x * np.log(options.lift) - (options.lift - 1) * lam
    w = options.window
    found = [(stretch_start(up, t, w), t, "up", up) for t in window_alarms(window_sums(up, w), options.h)]
    both = np.maximum(window_sums(down + comp, w), window_sums(comp, w))
    for t in window_alarms(both, options.h):
        combined = window_sums(down + comp, w)[t] > options.h
        found.append((stretch_start(down + comp if combined else comp, t, w), t, "down", down))
    return found


def detect(errors: pd.DataFrame, *, level: str = "product", options: DriftOptions = DriftOptions(),
           since: pd.Timestamp | None = None, complaints: pd.DataFrame | None = None) -> pd.DataFrame:
    """Alerts over ``errors`` (:func:`standardised_errors`, optionally with a ``category``
    column for ``level="category"`` and a boolean ``skip`` column for days the sales test
    ignores) and, for products, ``complaints`` (:func:`complaint_expectation`):
    ``ALERT_COLUMNS``, newest first. ``since`` keeps alerts detected on or after it."""
    if errors.empty and (complaints is None or complaints.empty):
        return pd.DataFrame(columns=ALERT_COLUMNS)
    errors = errors if "skip" in errors else errors.assign(skip=False)
    if level == "category":
        series = _category_series(errors)
    else:
        series = errors.assign(name=errors["unique_id"].astype(str), abs_e=errors["e"].abs())
        if complaints is not None and len(complaints):
            comp = complaints.assign(name=complaints["unique_id"].astype(str),
                                     ds=pd.to_datetime(complaints["ds"]))[["name", "ds", "complaints",
                                                                          "expected"]]
            series = series.assign(ds=pd.to_datetime(series["ds"])).merge(comp, on=["name", "ds"],
                                                                          how="outer")
    if "complaints" not in series:
        series = series.assign(complaints=0.0, expected=0.0)
    series = series.assign(complaints=series["complaints"].fillna(0.0),
                           expected=series["expected"].fillna(0.0))
    rows = []
    for name, part in series.sort_values(["name", "ds"]).groupby("name", sort=True):
        z = np.clip(part["z"].to_numpy(dtype=float), -options.cap, options.cap)
        x, lam = part["complaints"].to_numpy(dtype=float), part["expected"].to_numpy(dtype=float)
        comp = x * np.log(options.lift) - (options.lift - 1) * lam
        if level == "category":
            found = [(a, t, side, None) for a, t, side in cusum(z, options)]
        else:
            found = _product_alerts(part, options)
        dates = part["ds"].to_numpy()
        ratio = (part["abs_e"] / part["expected_abs"]).to_numpy(dtype=float)
        for start, alarm, side, sales in found:
            span = slice(start, alarm + 1)
            signal = SALES if side == "up" or sales is None else _signal(
                float(sales[span].sum()), float(comp[span].sum()), options.share)
            rows.append({"level": level, "name": str(name), "signal": signal,
                         "started": pd.Timestamp(dates[start]), "detected": pd.Timestamp(dates[alarm]),
                         "days": alarm - start + 1, "size": _nanmean(z[span]), "ratio": _nanmean(ratio[span]),
                         "direction": side, "complaints": float(x[span].sum()),
                         "expected_complaints": float(lam[span].sum())})
    out = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    if since is not None and len(out):
        out = out[out["detected"] >= pd.Timestamp(since)]
    return out.sort_values(["detected", "name"], ascending=[False, True], ignore_index=True)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
