"""Baselines (naive, window averages, linear trend) and the statistical models they anchor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.models import baseline, intermittent, statistical
from trendcast.models.registry import make_model
from trendcast.models.statistical import conformal_windows

QS = [0.1, 0.5, 0.9]


def frame(values: dict[str, np.ndarray], start: str = "2024-01-01") -> pd.DataFrame:
    """A long daily frame from {unique_id: values}."""
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y)),
                                    "y": np.asarray(y, dtype=float)})
                      for uid, y in values.items()], ignore_index=True)


def seasonal_series(n: int, seed: int = 0) -> pd.DataFrame:
    """Daily series with a yearly wave, a weekly wave and a little noise."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    y = (50 + 15 * np.sin(2 * np.pi * t / 365.25) + 6 * np.sin(2 * np.pi * t / 7)
         + rng.normal(0, 1, n))
    return frame({"S": y}, start="2022-01-01")


def by_id(fc: pd.DataFrame, col: str) -> dict[str, np.ndarray]:
    return {uid: g[col].to_numpy() for uid, g in fc.groupby("unique_id")}


# --- registry ---------------------------------------------------------------------------

def test_seasonal_naive_is_registered_once_as_a_baseline():
    assert "SeasonalNaive" in baseline.MODELS
    assert "SeasonalNaive" not in statistical.MODELS
    assert statistical.SeasonalNaive is baseline.SeasonalNaive


@pytest.mark.parametrize("name", sorted({**baseline.MODELS, **statistical.MODELS,
                                         **intermittent.MODELS}))
def test_services_can_build_every_model_with_n_jobs_and_alias(name):
    model = make_model(name, n_jobs=1, alias="x")
    assert model.alias == "x"


# --- naive and window averages ----------------------------------------------------------

def test_naive_repeats_the_last_value():
    df = make_sales(n_series=2, n_days=40)
    fc = make_model("Naive").fit(df).predict(5, quantiles=QS)
    for uid, got in by_id(fc, "Naive").items():
        np.testing.assert_array_equal(got, np.full(5, df.loc[df["unique_id"] == uid, "y"].iloc[-1]))
    width = by_id(fc, "Naive-q-0.9")["P000"] - by_id(fc, "Naive-q-0.1")["P000"]
    assert (np.diff(width) > 0).all()  # random-walk intervals widen with the horizon


def test_window_average_is_the_mean_of_the_last_28_days():
    df = make_sales(n_series=2, n_days=60)
    fc = make_model("WindowAverage").fit(df).predict(7)
    for uid, got in by_id(fc, "WindowAverage").items():
        last = df.loc[df["unique_id"] == uid, "y"].to_numpy()[-28:]
        np.testing.assert_allclose(got, np.full(7, last.mean()))


def test_seasonal_window_average_is_the_weekday_mean_of_the_last_four_weeks():
    df = make_sales(n_series=1, n_days=45)
    fc = make_model("SeasonalWindowAverage").fit(df).predict(10)
    weekday_means = df["y"].to_numpy()[-28:].reshape(4, 7).mean(axis=0)
    np.testing.assert_allclose(fc["SeasonalWindowAverage"], np.tile(weekday_means, 2)[:10])
    # same weekday, same forecast
    assert fc["ds"].iloc[0].dayofweek == (df["ds"].iloc[-1] + pd.Timedelta(days=1)).dayofweek


def test_conformal_windows_adapt_to_series_length():
    assert conformal_windows(n=200, h=7, min_train=28, max_windows=5) == (7, 5)
    assert conformal_windows(n=90, h=14, min_train=28, max_windows=5) == (14, 4)
    # too short for two 14-step windows after 28 training points: one-step errors
    assert conformal_windows(n=40, h=14, min_train=28, max_windows=5) == (1, 12)
    assert conformal_windows(n=30, h=14, min_train=28, max_windows=5) == (1, 2)


def test_window_average_quantiles_are_conformal_and_short_series_fall_back():
    long = make_sales(n_series=1, n_days=90)
    mid = make_sales(n_series=1, n_days=40, seed=1).assign(unique_id="MID")
    short = make_sales(n_series=1, n_days=20, seed=2).assign(unique_id="SHORT")
    model = make_model("WindowAverage").fit(pd.concat([long, mid, short], ignore_index=True))
    assert model.fallback_ == {"SHORT": "window average"}  # < 28 + 2 points
    fc = model.predict(14, quantiles=QS)
    assert not fc.isna().any().any()
    lo, hi = by_id(fc, "WindowAverage-q-0.1"), by_id(fc, "WindowAverage-q-0.9")
    point = by_id(fc, "WindowAverage")
    for uid in point:
        assert (lo[uid] <= point[uid]).all() and (point[uid] <= hi[uid]).all()
        assert (hi[uid] > lo[uid]).all()
    assert np.ptp(hi["MID"] - lo["MID"]) == 0  # one-step calibration: constant width
    np.testing.assert_allclose(point["SHORT"], short["y"].to_numpy().mean())  # the chain's window average


def test_window_hyperparameters_are_checked():
    with pytest.raises(ModelError, match="window"):
        make_model("WindowAverage", window=0)
    with pytest.raises(ModelError, match="n_seasons"):
        make_model("SeasonalWindowAverage", n_seasons=0)
    with pytest.raises(ModelError, match="window"):
        make_model("LinearTrend", window=1)


# --- linear trend -----------------------------------------------------------------------

def test_linear_trend_recovers_noiseless_lines_exactly():
    lines = {"A": (3.0, 0.5, 30), "B": (100.0, -2.0, 50), "C": (7.0, 0.0, 12)}
    df = frame({uid: a + b * np.arange(n) for uid, (a, b, n) in lines.items()})
    model = make_model("LinearTrend").fit(df)
    np.testing.assert_allclose(model.coef_, [[a, b] for a, b, _ in lines.values()], atol=1e-9)
    fc = model.predict(6, quantiles=QS)
    for uid, (a, b, n) in lines.items():
        rows = fc[fc["unique_id"] == uid]
        np.testing.assert_allclose(rows["LinearTrend"], a + b * np.arange(n, n + 6), atol=1e-9)
        np.testing.assert_allclose(rows["LinearTrend-q-0.9"], rows["LinearTrend"], atol=1e-9)
        assert rows["ds"].iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=n)


def test_linear_trend_window_fits_only_the_recent_points():
    y = np.concatenate([np.full(40, 10.0), 10.0 + 1.5 * np.arange(1, 21)])  # flat, then rising
    model = make_model("LinearTrend", window=20).fit(frame({"A": y}))
    np.testing.assert_allclose(model.coef_[0, 1], 1.5, atol=1e-9)
    np.testing.assert_allclose(model.predict(1)["LinearTrend"], [10.0 + 1.5 * 21], atol=1e-9)


def test_linear_trend_gaussian_quantiles_widen_with_the_horizon():
    rng = np.random.default_rng(1)
    df = frame({"A": 20 + 0.3 * np.arange(60) + rng.normal(0, 2, 60)})
    fc = make_model("LinearTrend").fit(df).predict(10, quantiles=QS)
    point, hi, lo = fc["LinearTrend"], fc["LinearTrend-q-0.9"], fc["LinearTrend-q-0.1"]
    assert (hi > point).all() and (lo < point).all()
    np.testing.assert_allclose(fc["LinearTrend-q-0.5"], point)
    np.testing.assert_allclose(hi - point, point - lo)  # symmetric
    assert (np.diff(hi - lo) > 0).all()  # parameter uncertainty grows with distance


# --- statistical models on a 2-year daily series ----------------------------------------

@pytest.fixture(scope="module")
def two_years() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = seasonal_series(2 * 365 + 42)
    return df.iloc[:-28], df.iloc[-28:]


@pytest.mark.parametrize("name", ["AutoARIMA", "AutoTheta", "MSTL"])
def test_statistical_models_run_on_two_years_of_daily_data(name, two_years):
    train, _ = two_years
    fc = make_model(name, n_jobs=1).fit(train).predict(28, quantiles=QS)
    assert len(fc) == 28 and not fc.isna().any().any()
    lo, mid, hi = (fc[f"{name}-q-{q}"].to_numpy() for q in QS)
    assert (lo < mid).all() and (mid < hi).all()


def test_mstl_uses_the_yearly_season_only_when_two_years_are_there(two_years):
    train, _ = two_years
    model = make_model("MSTL").fit(train)
    assert model._variant(len(train), 28, False) == (("seasons", (7, 365)),)
    assert model._variant(400, 28, False) == (("seasons", (7,)),)


def test_mstl_beats_seasonal_naive_on_a_clean_seasonal_series(two_years):
    train, test = two_years
    mae = {}
    for name in ("MSTL", "SeasonalNaive"):
        fc = make_model(name).fit(train).predict(28)
        mae[name] = np.abs(fc[name].to_numpy() - test["y"].to_numpy()).mean()
    assert mae["MSTL"] < 0.5 * mae["SeasonalNaive"], mae
