from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.models.base import quantiles_to_levels
from trendcast.models.registry import make_model
from trendcast.models.statistical import infer_freq


@pytest.mark.parametrize("h", [0, -3, 2.5])
def test_bad_horizon(h):
    model = make_model("SeasonalNaive").fit(make_sales(n_series=1, n_days=30))
    with pytest.raises(ModelError, match="horizon"):
        model.predict(h)


@pytest.mark.parametrize("qs", [[0.0, 0.5], [0.5, 1.2], [-0.1]])
def test_bad_quantiles(qs):
    model = make_model("SeasonalNaive").fit(make_sales(n_series=1, n_days=30))
    with pytest.raises(ModelError, match="between 0 and 1"):
        model.predict(7, quantiles=qs)


def test_seasonal_naive_repeats_last_week():
    df = make_sales(n_series=1, n_days=35)
    fc = make_model("SeasonalNaive").fit(df).predict(7)
    np.testing.assert_array_equal(fc["SeasonalNaive"].to_numpy(), df["y"].to_numpy()[-7:])


def test_short_series_go_down_the_fallback_chain_and_are_listed():
    long = make_sales(n_series=2, n_days=60)
    short = make_sales(n_series=1, n_days=10, seed=5).assign(unique_id="SHORT")  # < 2 weeks + 1
    one = make_sales(n_series=1, n_days=1, seed=6).assign(unique_id="ONE")
    zero = make_sales(n_series=1, n_days=5, seed=7).assign(unique_id="ZERO", y=0.0)
    model = make_model("AutoETS").fit(pd.concat([long, short, one, zero]))
    assert model.fallback_ == {"SHORT": "non-seasonal", "ONE": "naive", "ZERO": "zero"}
    fc = model.predict(7, quantiles=[0.1, 0.9])
    assert np.isfinite(fc.drop(columns=["unique_id", "ds"]).to_numpy()).all()
    by = fc.set_index("unique_id")
    expected = make_model("AutoETS", season_length=1).fit(short).predict(7)["AutoETS"].to_numpy()
    np.testing.assert_allclose(by.loc["SHORT", "AutoETS"].to_numpy(), expected)
    np.testing.assert_array_equal(by.loc["ONE", "AutoETS"].to_numpy(), one["y"].iloc[0])
    np.testing.assert_array_equal(by.loc["ZERO", ["AutoETS", "AutoETS-q-0.9"]].to_numpy(), 0.0)


def test_weekly_series_shorter_than_two_years_get_a_non_seasonal_forecast():
    weekly = pd.DataFrame({"unique_id": "W", "ds": pd.date_range("2024-01-05", periods=30, freq="W-FRI"),
                           "y": np.arange(30.0)})
    for name in ("AutoETS", "AutoARIMA", "SeasonalNaive"):
        model = make_model(name).fit(weekly)
        fc = model.predict(4, quantiles=[0.1, 0.9])
        assert model.fallback_ == {"W": "non-seasonal"}, name
        assert np.isfinite(fc.drop(columns=["unique_id", "ds"]).to_numpy()).all(), name


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown model 'Prophet'"):
        make_model("Prophet")


def test_freq_inference_and_levels():
    daily = make_sales(n_series=1, n_days=20)
    assert infer_freq(daily) == "D"
    weekly = daily.iloc[::7].copy()
    assert infer_freq(weekly).startswith("W-")
    assert quantiles_to_levels([0.1, 0.5, 0.9]) == [80]
    assert quantiles_to_levels([0.025, 0.25, 0.75, 0.975]) == [50, 95]
