"""External drivers (macro series) as covariates known at forecast time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError
from trendcast.features.exog import (
    add_covariates,
    driver_column,
    driver_columns,
    driver_features,
    future_covariates,
)
from trendcast.features.series import fill_series


def _monthly(name: str = "consumer_confidence", start: str = "2024-01-01",
             end: str = "2024-12-01") -> pd.DataFrame:
    months = pd.date_range(start, end, freq="MS")
    return pd.DataFrame({"name": name, "ds": months, "value": 100.0 + np.arange(len(months))})


def test_monthly_index_is_lagged_to_the_last_value_published_at_the_cutoff() -> None:
    # January's index (100) is published on 1 February, February's (101) on 1 March, ...
    # stored up to June (published 1 July): it stops before the forecast does, so it is lagged
    feats, notes = driver_features(_monthly(end="2024-06-01"), freq="D", start=pd.Timestamp("2024-03-01"),
                                   end=pd.Timestamp("2024-06-30"), horizon=28)
    val = feats.set_index("ds")["macro_consumer_confidence"]
    # 2024-03-29 is forecast from the cutoff 2024-03-01 at the latest: February's index was out
    assert val[pd.Timestamp("2024-03-29")] == 101.0
    # 2024-03-28 may be forecast from 2024-02-29, when only January's was out
    assert val[pd.Timestamp("2024-03-28")] == 100.0
    # past the end: still only what was out by each day's cutoff (2024-06-30: May's, not June's)
    assert val[pd.Timestamp("2024-07-28")] == 104.0
    assert feats["ds"].max() == pd.Timestamp("2024-07-28")
    assert any("lagged 28 period(s)" in n for n in notes)
    assert feats.attrs["drivers"]["macro_consumer_confidence"]["mode"] == "lagged"


@pytest.mark.parametrize("freq, horizon", [("D", 28), ("D", 7), ("W-SUN", 4), ("MS", 2)])
def test_no_value_is_used_before_it_was_published(freq: str, horizon: int) -> None:
    macro = _monthly(start="2023-01-01", end="2024-09-01")
    feats, _ = driver_features(macro, freq=freq, start=pd.Timestamp("2023-06-01"),
                               end=pd.Timestamp("2024-10-15"), horizon=horizon, publication_lag_days=5)
    published = dict(zip(macro["value"], macro["ds"] + pd.DateOffset(months=1) + pd.Timedelta(days=5),
                         strict=True))
    offset = pd.tseries.frequencies.to_offset(freq)
    for ds, value in feats.dropna()[["ds", "macro_consumer_confidence"]].itertuples(index=False):
        cutoff = ds - horizon * offset
        known_until = cutoff + offset - pd.Timedelta(days=1) if freq == "MS" else cutoff
        assert published[value] <= known_until, (ds, value)


def test_series_stored_past_the_horizon_is_used_as_given() -> None:
    feats, notes = driver_features(_monthly(end="2025-03-01"), freq="D", start=pd.Timestamp("2024-03-01"),
                                   end=pd.Timestamp("2024-12-31"), horizon=28)
    val = feats.set_index("ds")["macro_consumer_confidence"]
    assert val[pd.Timestamp("2024-03-15")] == 102.0  # March's own value
    assert val[pd.Timestamp("2025-01-20")] == 112.0  # January 2025: the plan for the horizon
    assert any("as given" in n for n in notes)


def test_series_specific_drivers_follow_their_series() -> None:
    macro = pd.concat([_monthly("cpi", end="2024-06-01").assign(unique_id="a"),
                       _monthly("cpi", end="2024-06-01").assign(unique_id="b", value=lambda d: d["value"] * 2)])
    feats, _ = driver_features(macro, freq="D", start=pd.Timestamp("2024-06-01"),
                               end=pd.Timestamp("2024-06-30"), horizon=7)
    day = feats[feats["ds"] == pd.Timestamp("2024-06-20")].set_index("unique_id")["macro_cpi"]
    assert day["a"] == 104.0 and day["b"] == 208.0


def test_driver_never_published_before_the_forecast_is_left_out_with_a_note() -> None:
    feats, notes = driver_features(_monthly(start="2025-01-01", end="2025-01-01"), freq="D",
                                   start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-12-31"),
                                   horizon=28)
    assert driver_columns(feats.columns) == []
    assert any("left out" in n for n in notes)


def test_bad_external_frames_are_refused() -> None:
    with pytest.raises(DataValidationError, match="missing \\['value'\\]"):
        driver_features(pd.DataFrame({"name": ["x"], "ds": [pd.Timestamp("2024-01-01")]}), freq="D",
                        start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-02-01"), horizon=7)
    clash = pd.concat([_monthly("CPI yoy"), _monthly("cpi-yoy")])
    with pytest.raises(DataValidationError, match="both become column 'macro_cpi_yoy'"):
        driver_features(clash, freq="D", start=pd.Timestamp("2024-03-01"),
                        end=pd.Timestamp("2024-06-01"), horizon=7)


def test_driver_column_names() -> None:
    assert driver_column("Consumer Confidence (index)") == "macro_consumer_confidence_index"
    assert driver_columns(["y", "macro_cpi", "promo"]) == ["macro_cpi"]


def test_add_covariates_and_future_covariates_carry_the_drivers() -> None:
    days = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    sales = pd.DataFrame({"unique_id": "p1", "ds": days, "y": 1.0, "price": 10.0, "promo": 0.0})
    series = fill_series(sales[["unique_id", "ds", "y"]], "D")
    calendar = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "name": pd.Series(dtype=object),
                             "kind": pd.Series(dtype=object)})
    products = pd.DataFrame({"unique_id": ["p1"], "category": ["c"], "department": ["d"]})
    exog = add_covariates(series, sales=sales, calendar=calendar, products=products, horizon=14,
                          macro=_monthly(end="2024-06-01"))
    assert "macro_consumer_confidence" in exog.columns
    # 2024-06-30 is 14 days past the cutoff 2024-06-16, when May's index (104) was the latest
    assert exog.loc[exog["ds"] == pd.Timestamp("2024-06-30"), "macro_consumer_confidence"].item() == 104.0
    future, notes = future_covariates(exog, 14, "D")
    assert len(future) == 14 and future["macro_consumer_confidence"].notna().all()
    assert future["macro_consumer_confidence"].iloc[-1] == 104.0  # June's is out only on 1 July
    assert any("external driver 'consumer_confidence'" in n for n in notes)
    plain = add_covariates(series, sales=sales, calendar=calendar, products=products, horizon=14)
    assert driver_columns(plain.columns) == []


def _weekly_two_stores():
    weeks = pd.date_range("2024-01-05", periods=30, freq="W-FRI")
    sales = pd.concat([pd.DataFrame({"unique_id": uid, "ds": weeks, "y": 1.0, "price": np.nan, "promo": 0.0})
                       for uid in ("1_1", "1_2", "2_1")], ignore_index=True)
    series = fill_series(sales[["unique_id", "ds", "y"]], "W-FRI")
    calendar = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "name": pd.Series(dtype=object),
                             "kind": pd.Series(dtype=object)})
    # a wide per-store table ingested with --map name=Store: Temperature:1, Temperature:2, ...
    macro = pd.concat([pd.DataFrame({"name": f"Temperature:{store}", "ds": weeks,
                                     "value": 10.0 * store + np.arange(len(weeks))})
                       for store in (1, 2)] + [pd.DataFrame({"name": "oil", "ds": weeks, "value": 50.0})])
    return sales, series, calendar, macro


def test_per_store_series_go_to_the_products_of_that_store_only() -> None:
    """Before: Temperature:1 and Temperature:2 were two columns every product saw (store 2's
    departments learned from store 1's weather; Walmart gave 405 such columns)."""
    sales, series, calendar, macro = _weekly_two_stores()
    products = pd.DataFrame({"unique_id": ["1_1", "1_2", "2_1"], "category": None,
                             "department": ["1", "2", "1"], "store": ["1", "1", "2"]})
    exog = add_covariates(series, sales=sales, calendar=calendar, products=products, horizon=4,
                          macro=macro)
    assert set(driver_columns(exog.columns)) == {"macro_oil", "macro_temperature"}
    last = exog[exog["ds"] == exog["ds"].max()].set_index("unique_id")["macro_temperature"]
    alone, _ = driver_features(macro[macro["name"] == "Temperature:1"], freq="W-FRI",
                               start=exog["ds"].min(), end=exog["ds"].max(), horizon=4)
    own = alone.set_index("ds")["macro_temperature_1"][exog["ds"].max()]
    assert last["1_1"] == last["1_2"] == own and last["2_1"] == own + 10.0
    future, notes = future_covariates(exog, 4, "W-FRI")
    assert future["macro_temperature"].notna().all() and future["macro_oil"].notna().all()
    assert any("given per product by its store" in n for n in notes)


def test_a_per_store_series_some_products_lack_is_left_out_with_a_note() -> None:
    sales, series, calendar, macro = _weekly_two_stores()
    products = pd.DataFrame({"unique_id": ["1_1", "1_2", "2_1"], "category": None, "department": None,
                             "store": ["1", "1", "3"]})
    exog = add_covariates(series, sales=sales, calendar=calendar, products=products, horizon=4,
                          macro=macro)
    assert driver_columns(exog.columns) == ["macro_oil"]
    assert any("left out here: 1 of 3 products have no store" in n for n in exog.attrs["driver_notes"])
    bare = pd.DataFrame({"unique_id": ["1_1", "1_2", "2_1"], "category": None, "department": None})
    exog = add_covariates(series, sales=sales, calendar=calendar, products=bare, horizon=4, macro=macro)
    assert "macro_temperature_1" in exog.columns  # nothing to match: global, and said so
    assert any("match no product's store" in n for n in exog.attrs["driver_notes"])
