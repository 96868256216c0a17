"""Trend calls agree with their own numbers: no rise with a falling level or forecast, and an
emerging product whose forecast falls says so."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.insights.trends import detect_trends

END = pd.Timestamp("2025-12-31")
DAYS = pd.date_range("2023-01-01", END, freq="D")


def _series(uid: str, level: np.ndarray, days: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weekly = 1 + 0.2 * np.where(days.dayofweek >= 5, 1.0, -0.4)
    return pd.DataFrame({"unique_id": uid, "ds": days, "y": rng.poisson(level * weekly).astype(float)})


def _forecast(history: pd.DataFrame, factor: float, weeks: int = 8) -> pd.DataFrame:
    """A flat forecast at ``factor`` x each series' last 8 weeks' daily mean."""
    parts = []
    for uid, part in history.groupby("unique_id"):
        level = part.sort_values("ds")["y"].tail(56).mean()
        days = pd.date_range(part["ds"].max() + pd.Timedelta(days=1), periods=7 * weeks, freq="D")
        parts.append(pd.DataFrame({"unique_id": uid, "ds": days, "M": factor * level}))
    return pd.concat(parts, ignore_index=True)


def test_a_rise_whose_level_dropped_this_year_is_mixed_not_rising() -> None:
    # doubled in January 2025, then fell to x0.67 in September: still above a year ago
    level = np.where(DAYS < "2025-01-01", 20.0, np.where(DAYS < "2025-09-15", 45.0, 30.0))
    calls = detect_trends(_series("dropped", level, DAYS)).set_index("unique_id")
    row = calls.loc["dropped"]
    assert row["annual_growth"] > 0.2 and row["yoy_growth"] > 0  # the old rule called it rising
    assert row["change_ratio"] < 0.8
    assert row["trend"] == "steady" and row["reason"].startswith("mixed signals")
    assert "level x0.6" in row["reason"]


def test_a_rise_whose_forecast_falls_is_mixed() -> None:
    years = np.arange(len(DAYS)) / 365.25
    history = _series("rising", 20 * 1.6 ** years, DAYS)
    alone = detect_trends(history).set_index("unique_id").loc["rising"]
    assert alone["trend"] == "rising"
    with_fc = detect_trends(history, _forecast(history, 0.5), forecast_col="M").set_index("unique_id")
    row = with_fc.loc["rising"]
    assert row["forecast_change"] < -0.4
    assert row["trend"] == "steady" and row["reason"].startswith("mixed signals")
    rising_fc = detect_trends(history, _forecast(history, 1.3), forecast_col="M").set_index("unique_id")
    assert rising_fc.loc["rising", "trend"] == "rising"  # a forecast that agrees keeps the call


def test_an_emerging_product_whose_forecast_falls_says_so_at_half_confidence() -> None:
    days = DAYS[-200:]
    old = _series("old", np.full(len(DAYS), 20.0), DAYS, seed=1)  # the data start well before
    history = pd.concat([old, _series("new", 0.5 * np.exp(np.arange(200) / 40), days)], ignore_index=True)
    alone = detect_trends(history).set_index("unique_id").loc["new"]
    assert alone["trend"] == "emerging" and not alone["forecast_disagrees"]
    row = detect_trends(history, _forecast(history, 0.34), forecast_col="M").set_index("unique_id").loc["new"]
    assert row["trend"] == "emerging" and row["forecast_disagrees"]
    assert row["confidence"] <= 0.5 * alone["confidence"] + 1e-9
    assert "but the forecast is -" in row["reason"] and "half confidence" in row["reason"]
    zh = detect_trends(history, _forecast(history, 0.34), forecast_col="M", lang="zh").set_index("unique_id")
    assert "但预测较近期水平" in zh.loc["new", "reason"]
    agrees = detect_trends(history, _forecast(history, 1.5), forecast_col="M").set_index("unique_id")
    assert not agrees.loc["new", "forecast_disagrees"]
