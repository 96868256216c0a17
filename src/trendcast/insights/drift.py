"""Drift alerts: a product or category whose live forecast errors leave what its backtest
led us to expect, or whose buyers start complaining.

Two signals, each a tabular CUSUM (Page, 1954) of log-likelihood-ratio-like daily increments:

**Sales errors.** For each product and day, take the freshest stored forecast of that day (the
latest origin) and its error ``e = y - f``; divide by what the validation backtest expects of
that series, the series' scale times its validation MASE times 1.25 (the ratio of the
standard deviation to the mean absolute deviation of a normal error), so that
``z = e / (1.25 * MASE_val * scale)`` is roughly standard under no drift. ``z`` is clipped to
``[-cap, cap]`` (one freak day cannot raise an alert alone). Days flagged ``skip`` (shopping
festivals, their pre-sales and the week after: a year-old version misjudges them by far more
than its backtest spread) add nothing. Then

    S+_t = max(0, S+_{t-1} + z_t - k),   S-_t = max(0, S-_{t-1} - z_t - k + c_t)

**Complaints** (``c_t``, products only, when reviews are stored). The daily count ``x_t`` of
low-rated reviews (1-2 stars; negative text sentiment for a review without stars) is Poisson
with mean ``lambda_t`` under no drift: the product's own complaints per unit sold before the
monitored period, shrunk towards the shop's rate with ``prior`` pseudo-complaints (a product
with few reviews is judged like the shop), times its units sold over the last 7 days (at
least half its usual level, so a sales drop cannot shrink the expectation to nothing). A
quality problem multiplies the rate by ``lift``; the Poisson log-likelihood ratio of that is

    c_t = x_t * log(lift) - (lift - 1) * lambda_t

and is added to the down side: complaints and falling sales are evidence of the same thing,
and independent evidence adds up in log-likelihood ratios.

An alert is raised on the first day a sum exceeds ``h``. Its start is the first day of the
excursion (the day after the sum was last 0); ``signal`` says which evidence made it
(``sales errors``, ``complaints`` or ``sales errors + complaints``: each part that gave at
least a quarter of the excursion's positive evidence); ``size`` the mean of ``z`` from the
start to the alarm (in expected errors: +2 means sales ran two expected errors above the
forecast every day; negative: below, as in a quality incident), ``ratio`` the mean absolute
error over the expected one on those days, ``complaints`` and ``expected_complaints`` the
low-rated reviews of the excursion and what the baseline expected of them. One excursion gives
one alert: a side alerts again only after its sum has come back to 0.
Defaults ``k = 0.5``, ``h = 8`` (sales): for Gaussian errors about one false alarm in 9,500
days per series (both sides), and a shift of two standard errors detected in about 6 days;
``lift = 20``: one low-rated review above a quiet baseline adds about 3, so two or three
within days, or one with falling sales, raise an alert. Measured on the simulated shop
(docs/benchmarks.md); settings were explored on seed 11 only.
Categories are tested on sales errors only, on the sum of their products' errors over the sum
of their expected errors.
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
    """CUSUM settings (module docstring): ``k``, ``h``, ``cap`` of the sales errors;
    ``lift`` and ``prior`` of the complaints; ``share``: the part of an excursion's positive
    evidence a signal must give to be named in the alert."""

    k: float = 0.5
    h: float = 8.0
    cap: float = 4.0
    lift: float = 20.0
    prior: float = 2.0
    share: float = 0.25


def standardised_errors(freshest: pd.DataFrame, expected: pd.Series | None,
                        fallback: float = 1.0) -> pd.DataFrame:
    """``unique_id, ds, z, e, expected_abs`` from freshest scored rows (one model) and each
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
                         "e": e, "expected_abs": expected_abs,
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
    """Alerts of the two-sided sales-error CUSUM over ``z`` (NaN: a skipped day)."""
    value = np.clip(z, -options.cap, options.cap)
    skip = ~np.isfinite(value)
    up = np.where(skip, 0.0, value - options.k)
    down = np.where(skip, 0.0, -value - options.k)
    return page(up, down, options.h)


def _signal(sales: float, complaints: float, share: float) -> str:
    total = max(sales, 0.0) + max(complaints, 0.0)
    named = [name for name, part in ((SALES, sales), (COMPLAINTS, complaints))
             if total > 0 and part >= share * total]
    return " + ".join(named) or SALES


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
        frame = errors.dropna(subset=["category"]).assign(abs_e=lambda d: d["e"].abs())
        frame = frame[~frame["skip"].astype(bool)]
        sums = frame.groupby(["category", "ds"]).agg(e=("e", "sum"), abs_e=("abs_e", "sum"),
                                                     expected_abs=("expected_abs", "sum"),
                                                     n=("e", "size")).reset_index()
        # a sum of n independent errors spreads by sqrt(n), not n
        spread = sums["expected_abs"] / np.sqrt(sums["n"].clip(lower=1))
        series = sums.assign(name=sums["category"], z=sums["e"] / (SD_PER_MAE * spread), skip=False)
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
    log_lift = float(np.log(options.lift))
    for name, part in series.sort_values(["name", "ds"]).groupby("name", sort=True):
        z = np.clip(part["z"].to_numpy(dtype=float), -options.cap, options.cap)
        z[part["skip"].fillna(False).to_numpy(dtype=bool)] = np.nan
        sales_up = np.where(np.isfinite(z), z - options.k, 0.0)
        sales_down = np.where(np.isfinite(z), -z - options.k, 0.0)
        x, lam = part["complaints"].to_numpy(dtype=float), part["expected"].to_numpy(dtype=float)
        comp = x * log_lift - (options.lift - 1) * lam if level == "product" else np.zeros(len(z))
        dates = part["ds"].to_numpy()
        ratio = (part["abs_e"] / part["expected_abs"]).to_numpy(dtype=float)
        for start, alarm, side in page(sales_up, sales_down + comp, options.h):
            span = slice(start, alarm + 1)
            signal = SALES if side == "up" else _signal(float(sales_down[span].sum()),
                                                        float(comp[span].sum()), options.share)
            size, err = _nanmean(z[span]), _nanmean(ratio[span])
            rows.append({"level": level, "name": str(name), "signal": signal,
                         "started": pd.Timestamp(dates[start]), "detected": pd.Timestamp(dates[alarm]),
                         "days": alarm - start + 1, "size": size, "ratio": err, "direction": side,
                         "complaints": float(x[span].sum()), "expected_complaints": float(lam[span].sum())})
    out = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    if since is not None and len(out):
        out = out[out["detected"] >= pd.Timestamp(since)]
    return out.sort_values(["detected", "name"], ascending=[False, True], ignore_index=True)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
