"""Drift alerts: a product or category whose live forecast errors leave what its backtest
led us to expect.

The test is a two-sided tabular CUSUM (Page, 1954) on standardised errors. For each product
and day, take the freshest stored forecast of that day (the latest origin) and its error
``e = y - f``; divide by what the validation backtest expects of that series, the series'
scale times its validation MASE times 1.25 (the ratio of the standard deviation to the mean
absolute deviation of a normal error), so that ``z = e / (1.25 * MASE_val * scale)`` is
roughly standard under no drift. ``z`` is clipped to ``[-cap, cap]`` (one freak day cannot
raise an alert alone), then

    S+_t = max(0, S+_{t-1} + z_t - k),   S-_t = max(0, S-_{t-1} - z_t - k)

and an alert is raised on the first day either sum exceeds ``h``. Its start is the first day
of the excursion (the day after the sum was last 0), its size the mean of ``z`` from the
start to the alarm (in units of the expected error: +2 means sales ran two expected errors
above the forecast every day; negative: below, as in a quality incident), its ratio the
mean absolute error over the expected one on those days. One excursion gives one alert: a
side alerts again only after its sum has come back to 0. Defaults ``k = 0.5``, ``h = 8``:
for Gaussian errors about one false alarm in 9,500 days per series (both sides; 0.3 per 100
product-months), and a shift of two standard errors (a 60% demand drop on a product selling
10 a day) detected in about 6 days.
Categories are tested the same way on the sum of their products' errors over the sum of
their expected errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SD_PER_MAE = 1.25  # sd / mean absolute deviation of a normal distribution (sqrt(pi / 2))


@dataclass(frozen=True)
class DriftOptions:
    """CUSUM settings (module docstring)."""

    k: float = 0.5
    h: float = 8.0
    cap: float = 4.0


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


def cusum(z: np.ndarray, options: DriftOptions = DriftOptions()) -> list[tuple[int, int, str]]:
    """Alerts of a two-sided CUSUM over ``z``: ``(start index, alarm index, "up"|"down")``;
    one alert per excursion (a side alerts again only after its sum has returned to 0)."""
    sums = {"up": 0.0, "down": 0.0}
    starts = {"up": 0, "down": 0}
    alarmed = {"up": False, "down": False}
    alerts = []
    for t, value in enumerate(np.clip(np.nan_to_num(z, nan=0.0), -options.cap, options.cap)):
        for side, step in (("up", value), ("down", -value)):
            if sums[side] == 0.0:
                starts[side] = t
                alarmed[side] = False
            sums[side] = max(0.0, sums[side] + step - options.k)
            if sums[side] > options.h and not alarmed[side]:
                alerts.append((starts[side], t, side))
                alarmed[side] = True
    return alerts


def detect(errors: pd.DataFrame, *, level: str = "product", options: DriftOptions = DriftOptions(),
           since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Alerts over ``errors`` (:func:`standardised_errors`, optionally with a ``category``
    column for ``level="category"``): ``level, name, started, detected, days, size, ratio,
    direction``, newest first. ``since`` keeps alerts detected on or after it."""
    cols = ["level", "name", "started", "detected", "days", "size", "ratio", "direction"]
    if errors.empty:
        return pd.DataFrame(columns=cols)
    if level == "category":
        frame = errors.dropna(subset=["category"]).assign(abs_e=lambda d: d["e"].abs())
        sums = frame.groupby(["category", "ds"]).agg(e=("e", "sum"), abs_e=("abs_e", "sum"),
                                                     expected_abs=("expected_abs", "sum"),
                                                     n=("e", "size")).reset_index()
        # a sum of n independent errors spreads by sqrt(n), not n
        spread = sums["expected_abs"] / np.sqrt(sums["n"].clip(lower=1))
        series = sums.assign(name=sums["category"], z=sums["e"] / (SD_PER_MAE * spread))
    else:
        series = errors.assign(name=errors["unique_id"], abs_e=errors["e"].abs())
    rows = []
    for name, part in series.sort_values(["name", "ds"]).groupby("name", sort=True):
        z = part["z"].to_numpy(dtype=float)
        dates = part["ds"].to_numpy()
        ratio = (part["e"].abs() / part["expected_abs"]).to_numpy(dtype=float) \
            if "abs_e" not in part else (part["abs_e"] / part["expected_abs"]).to_numpy(dtype=float)
        for start, alarm, side in cusum(z, options):
            rows.append({"level": level, "name": str(name), "started": pd.Timestamp(dates[start]),
                         "detected": pd.Timestamp(dates[alarm]), "days": alarm - start + 1,
                         "size": float(np.mean(np.clip(z[start:alarm + 1], -options.cap, options.cap))),
                         "ratio": float(np.nanmean(ratio[start:alarm + 1])), "direction": side})
    out = pd.DataFrame(rows, columns=cols)
    if since is not None and len(out):
        out = out[out["detected"] >= pd.Timestamp(since)]
    return out.sort_values(["detected", "name"], ascending=[False, True], ignore_index=True)
