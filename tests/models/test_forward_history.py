"""A saved model moved forward reads only the latest ``forward_history()`` periods: cutting
the older history away must not change its forecast (so the daily update can skip it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.features.series import recent_rows
from trendcast.models.registry import make_model

QS = [0.1, 0.5, 0.9]


def _long_history(n_days: int = 520) -> pd.DataFrame:
    """Four products over ``n_days``: a steady seller whose price changes (with a gap in
    its prices across the cut), two weekly-seasonal ones, and one that stopped selling for
    most of a year and sells again in the last weeks."""
    rng = np.random.default_rng(3)
    ds = pd.date_range("2023-01-01", periods=n_days, freq="D")
    t = np.arange(n_days)
    steady = rng.poisson(6, n_days).astype(float)
    price = np.where(t < n_days - 200, 4.0, 3.5)
    price[n_days - 280:n_days - 150] = np.nan  # no price recorded for 130 days
    weekly = rng.poisson(8 * (1 + 0.5 * np.sin(2 * np.pi * t / 7))).astype(float)
    dry = rng.poisson(3, n_days).astype(float)
    dry[60:n_days - 20] = 0.0
    other = rng.poisson(4 * (1 + 0.5 * np.cos(2 * np.pi * t / 7))).astype(float)
    frames = [pd.DataFrame({"unique_id": uid, "ds": ds, "y": y, "price": p})
              for uid, y, p in (("A", steady, price), ("B", weekly, 2.0), ("C", dry, 5.0),
                                ("D", other, 1.5))]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("name", ["LightGBM", "LightGBMDirect", "SeasonalNaive",
                                  "MedianEnsemble(SeasonalNaive,LightGBM)"])
def test_forward_reads_no_further_back_than_it_says(name):
    sales = _long_history()
    trained_to = sales["ds"].max() - pd.Timedelta(days=21)
    # D is new to the model: its dispersion comes from the history it is moved forward on
    model = make_model(name).fit(sales[(sales["ds"] <= trained_to) & (sales["unique_id"] != "D")]).freeze()
    span = model.forward_history()
    assert span is not None and span < 400  # much less than the 520 days held
    since = sales["ds"].max() - pd.Timedelta(days=span)
    cut = recent_rows(sales, since)
    assert len(cut) < 0.8 * len(sales)
    future = None
    if model.supports_exog:
        last = sales.groupby("unique_id")["price"].last()
        future = pd.concat([pd.DataFrame({"unique_id": uid, "price": p, "ds": pd.date_range(
            sales["ds"].max() + pd.Timedelta(days=1), periods=28, freq="D")})
            for uid, p in last.items()], ignore_index=True)
    whole = model.forward(sales).predict(28, X_df=future, quantiles=QS)
    part = model.forward(cut).predict(28, X_df=future, quantiles=QS)
    alias = model.alias
    # SeasonalNaive's interval width comes from the history it reads: points only with it
    cols = [alias] if "SeasonalNaive" in name else [c for c in whole.columns if c.startswith(alias)]
    pd.testing.assert_frame_equal(whole[["unique_id", "ds", *cols]], part[["unique_id", "ds", *cols]])
    assert np.isfinite(whole[alias]).all() and set(whole["unique_id"]) == {"A", "B", "C", "D"}


def test_a_model_that_reads_the_whole_history_says_so():
    sales = _long_history(200)
    assert make_model("AutoETS").fit(sales).freeze().forward_history() is None
    assert make_model("MedianEnsemble(AutoETS,LightGBM)").fit(sales).forward_history() is None


def test_lightgbm_keeps_the_fitted_dispersion_of_its_own_series_and_fits_new_ones():
    sales = _long_history(300)
    model = make_model("LightGBM").fit(sales[~sales["unique_id"].isin(["B", "D"])])
    assert set(model.dispersion_.index) == {"A", "C"}
    moved = model.for_series(sales[sales["unique_id"] != "D"])
    pd.testing.assert_series_equal(moved.dispersion_[["A", "C"]], model.dispersion_[["A", "C"]],
                                   check_names=False)
    assert "B" in moved.dispersion_.index and np.isfinite(moved.dispersion_["B"])


def test_recent_rows_keep_a_dry_spell_from_the_last_sale():
    ds = pd.date_range("2024-01-01", periods=10, freq="D")
    frame = pd.DataFrame({"unique_id": ["old"] * 10 + ["new"] * 10 + ["never"] * 10,
                          "ds": list(ds) * 3,
                          "y": [0, 2, 0, 0, 0, 0, 0, 0, 0, 1] + [0] * 8 + [3, 1] + [0] * 10})
    got = recent_rows(frame, ds[5])
    # "old" sold on day 2, before the cut: its rows from that sale on stay, so a model that
    # starts series at their first sale does not take it for a launch on day 10
    assert got[got["unique_id"] == "old"]["ds"].min() == ds[1]
    assert got[got["unique_id"] == "new"]["ds"].min() == ds[6]
    assert got[got["unique_id"] == "never"]["ds"].min() == ds[6]
