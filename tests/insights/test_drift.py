"""Drift alerts: the CUSUM finds an injected shift, when it started, and stays quiet on a
stationary series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.insights.drift import DriftOptions, cusum, detect, standardised_errors


def _errors(shift_at: int | None, n: int = 200, size: float = -0.6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=n)
    level = np.full(n, 10.0)
    if shift_at is not None:
        level[shift_at:] *= 1 + size  # a quality incident: demand falls 60%
    y = rng.poisson(level).astype(float)
    scored = pd.DataFrame({"unique_id": "A", "ds": ds, "y": y, "forecast": 10.0,
                           "scale": 1.0, "category": "C"})
    # the backtest expected this series' errors to be what Poisson(10) noise gives: MASE 2.5
    return standardised_errors(scored, pd.Series({"A": 2.5})).assign(category="C")


def test_injected_shift_is_detected_soon_after_it_starts():
    alerts = detect(_errors(shift_at=120), level="product")
    first = alerts.sort_values("detected").iloc[0]
    assert first["name"] == "A" and first["direction"] == "down"
    assert pd.Timestamp("2024-04-25") <= first["started"] <= pd.Timestamp("2024-05-01")  # day 120: Apr 30
    assert (first["detected"] - pd.Timestamp("2024-04-30")).days <= 7
    assert first["size"] < -1


def test_stationary_series_raises_no_alert():
    for seed in range(5):
        assert detect(_errors(shift_at=None, seed=seed), level="product").empty
        assert detect(_errors(shift_at=None, seed=seed), level="category").empty


def test_cusum_restarts_after_an_alert_and_caps_single_outliers():
    assert cusum(np.r_[np.zeros(10), 100.0, np.zeros(10)], DriftOptions(cap=4.0)) == []
    # one alert per excursion: the second comes after the sum has drained back to 0
    alerts = cusum(np.r_[np.zeros(5), np.full(10, 2.0), np.zeros(40), np.full(10, 2.0)])
    assert [a[2] for a in alerts] == ["up", "up"] and alerts[0][0] == 5
