from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError
from trendcast.features.calendar import event_features
from trendcast.models.boosting import LightGBMGlobal


def promo_shop(n_series: int = 6, n_days: int = 400, seed: int = 0) -> pd.DataFrame:
    """Sales that depend on price (elasticity -2) and on a festival flag (x3)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=n_days, freq="D")
    festival = ((ds.day == 11) | (ds.day == 18)).astype(float)
    frames = []
    for i in range(n_series):
        price = 10.0 * np.where(rng.random(n_days) < 0.2, 0.7, 1.0)
        lam = 8 * (price / 10.0) ** -2 * (1 + 2 * festival) * (1 + 0.2 * (ds.dayofweek >= 5))
        frames.append(pd.DataFrame({"unique_id": f"S{i}", "ds": ds, "y": rng.poisson(lam).astype(float),
                                    "price": price, "festival": festival,
                                    "category": "A" if i % 2 else "B"}))
    return pd.concat(frames, ignore_index=True)


def test_covariates_move_the_forecast_the_right_way():
    df = promo_shop()
    train = df[df["ds"] < "2024-01-15"]
    future = df[(df["ds"] >= "2024-01-15") & (df["ds"] < "2024-01-29")].drop(columns=["y", "category"])
    model = LightGBMGlobal(n_estimators=150, num_leaves=15, min_child_samples=20).fit(train)
    assert model.static_ == ["category"] and {"price", "festival"} <= set(model.dynamic_)
    base = model.predict(14, X_df=future.assign(price=10.0, festival=0.0))
    cheap = model.predict(14, X_df=future.assign(price=7.0, festival=0.0))
    fest = model.predict(14, X_df=future.assign(price=10.0, festival=1.0))
    assert cheap["LightGBM"].mean() > 1.4 * base["LightGBM"].mean()   # true ratio 2.04
    assert fest["LightGBM"].mean() > 2.0 * base["LightGBM"].mean()    # true ratio 3


def test_quantiles_are_counts_and_cover_held_out_sales():
    df = promo_shop(n_series=8, n_days=440)
    cut = pd.Timestamp("2024-01-15")
    train, test = df[df["ds"] < cut], df[(df["ds"] >= cut) & (df["ds"] < cut + pd.Timedelta(days=28))]
    model = LightGBMGlobal(n_estimators=150, num_leaves=15, min_child_samples=20).fit(train)
    fc = model.predict(28, X_df=test.drop(columns=["y", "category"]), quantiles=[0.1, 0.5, 0.9])
    merged = fc.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"])
    inside = merged["y"].between(merged["LightGBM-q-0.1"], merged["LightGBM-q-0.9"])
    assert 0.7 <= inside.mean() <= 0.97
    assert (merged["LightGBM-q-0.9"] == np.round(merged["LightGBM-q-0.9"])).all()


def test_missing_future_covariates_are_a_clear_error():
    df = promo_shop(n_series=2, n_days=200)
    model = LightGBMGlobal(n_estimators=20).fit(df)
    with pytest.raises(ModelError, match="pass their future values in X_df"):
        model.predict(7)
    fut = pd.DataFrame({"unique_id": ["S0"] * 7, "ds": pd.date_range(df["ds"].max() + pd.Timedelta(days=1), periods=7),
                        "price": 10.0})
    with pytest.raises(ModelError, match=r"lacks covariate column\(s\) \['festival'\]"):
        model.predict(7, X_df=fut)
    with pytest.raises(ModelError, match="no covariates for 7 forecast row"):
        model.predict(7, X_df=fut.assign(festival=0.0))


def test_event_features_flag_days_and_lookahead():
    events = pd.DataFrame({"ds": pd.to_datetime(["2024-11-11", "2024-11-01"]),
                           "kind": ["festival", "snap"]})
    feats = event_features(pd.date_range("2024-11-01", "2024-11-12"), events).set_index("ds")
    assert feats.loc["2024-11-11", "ev_festival"] == 1 and feats.loc["2024-11-11", "event_any"] == 1
    assert feats.loc["2024-11-01", "ev_snap"] == 1 and feats.loc["2024-11-01", "event_any"] == 0
    assert feats.loc["2024-11-08":"2024-11-10", "event_soon"].tolist() == [1.0, 1.0, 1.0]
    assert feats.loc["2024-11-07", "event_soon"] == 0 and feats.loc["2024-11-11", "event_soon"] == 0


def test_direct_variant_refuses_horizons_past_its_shortest_lag():
    from trendcast.models.boosting import LightGBMDirect

    df = promo_shop(n_series=2, n_days=200)
    model = LightGBMDirect(n_estimators=20).fit(df.drop(columns=["price", "festival"]))
    assert len(model.predict(28)) == 2 * 28
    with pytest.raises(ModelError, match="at most 28 steps"):
        model.predict(35)


def test_conformal_quantiles_option():
    df = promo_shop(n_series=4, n_days=300).drop(columns=["price", "festival"])
    model = LightGBMGlobal(n_estimators=40, quantile_method="conformal", conformal_windows=3,
                           conformal_h=14).fit(df)
    fc = model.predict(14, quantiles=[0.1, 0.5, 0.9])
    assert (fc["LightGBM-q-0.1"] <= fc["LightGBM-q-0.5"]).all()
    assert (fc["LightGBM-q-0.9"] > fc["LightGBM-q-0.1"]).mean() > 0.9
    with pytest.raises(ModelError, match="calibrated for 14 steps"):
        model.predict(21, quantiles=[0.9])
    with pytest.raises(ModelError, match="quantile_method"):
        LightGBMGlobal(quantile_method="bootstrap")
