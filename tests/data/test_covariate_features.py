"""Calendar and price covariates: named festival flags and the future regular price."""

from __future__ import annotations

import pandas as pd

from trendcast.features.calendar import event_features
from trendcast.features.exog import future_covariates


def test_major_festivals_get_their_own_flags_apart_from_their_kind():
    events = pd.DataFrame({
        "ds": pd.to_datetime(["2024-11-11", "2024-02-10", "2024-05-01"]),
        "name": ["Double 11", "Spring Festival period", "Labour Day"],
        "kind": ["festival", "festival", "holiday"],
    })
    feats = event_features(pd.date_range("2024-01-01", "2024-12-31"), events).set_index("ds")
    assert feats.loc["2024-11-11", "fest_double_11"] == 1.0
    assert feats.loc["2024-02-10", "fest_double_11"] == 0.0
    assert feats.loc["2024-02-10", "fest_spring_festival_period"] == 1.0
    assert feats.loc["2024-11-11", "ev_festival"] == 1.0  # the kind flag stays
    assert "fest_labour_day" not in feats.columns  # only the major shopping festivals
    assert feats.loc["2024-05-01", "event_any"] == 1.0
    assert feats["fest_double_11"].sum() == 1.0


def test_future_price_is_the_last_regular_price_not_a_promotion_price():
    df = pd.DataFrame({
        "unique_id": ["A"] * 4 + ["B"] * 2,
        "ds": list(pd.date_range("2024-01-01", periods=4)) + list(pd.date_range("2024-01-01", periods=2)),
        "y": [1.0] * 6,
        "price": [10.0, 10.0, 7.0, 7.0, 5.0, 4.0],
        "promo": [0.0, 0.0, 1.0, 1.0, 1.0, 1.0],  # A ends on a promotion; B never had a regular day
    })
    future, notes = future_covariates(df, 3, "D")
    prices = future.groupby("unique_id")["price"].first()
    assert prices["A"] == 10.0
    assert prices["B"] == 4.0  # no regular price known: the last one
    assert (future["promo"] == 0).all()
    assert any("regular" in n for n in notes)
