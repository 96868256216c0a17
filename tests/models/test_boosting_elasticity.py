from __future__ import annotations

import pandas as pd
import pytest

from conftest import two_speed_shop
from trendcast.models.boosting import ELASTICITY_FEATURES, LightGBMGlobal


def _uplift(model: LightGBMGlobal, future: pd.DataFrame, cut: float) -> pd.Series:
    base = model.predict(14, X_df=future).set_index("unique_id")["LightGBM"]
    plan = model.predict(14, X_df=future.assign(price=future["price"] * (1 - cut)))
    plan = plan.set_index("unique_id")["LightGBM"]
    return plan.groupby(level=0).sum() / base.groupby(level=0).sum() - 1


def test_two_product_shop_forecast_uplift_follows_each_elasticity():
    # same base demand, elasticities -0.5 and -2.5: only the price response tells them apart
    df = two_speed_shop({"low": -0.5, "high": -2.5}, n_days=600, seed=1)
    train = df[df["ds"] < "2024-08-01"]
    last = train.groupby("unique_id")["price"].last()
    future = df[(df["ds"] >= "2024-08-01") & (df["ds"] < "2024-08-15")].drop(columns="y")
    future = future.assign(price=future["unique_id"].map(last))
    params = dict(n_estimators=150, num_leaves=15, min_child_samples=20, static_features=(),
                  price_elasticity=True)
    model = LightGBMGlobal(**params).fit(train)
    assert set(ELASTICITY_FEATURES) <= set(model.dynamic_)
    est, _ = model.elasticity_
    assert est["low"] == pytest.approx(-0.5, abs=0.2) and est["high"] == pytest.approx(-2.5, abs=0.3)
    up = _uplift(model, future, 0.10)
    # true uplift of a 10% cut: 0.9 ** -0.5 - 1 = +5.4%, 0.9 ** -2.5 - 1 = +30.1%
    assert up["high"] > up["low"] + 0.10
    assert up["high"] > 0.15 and up["low"] < 0.15


def test_disabled_or_without_price_variation_the_features_are_absent():
    df = two_speed_shop({"a": -1.0, "b": -2.0}, flat=("a", "b"))
    params = dict(n_estimators=20, num_leaves=7, min_child_samples=20, static_features=())
    model = LightGBMGlobal(price_elasticity=True, **params).fit(df)
    assert model.elasticity_ is None and not set(ELASTICITY_FEATURES) & set(model.dynamic_)
    varied = two_speed_shop({"a": -1.0, "b": -2.0})
    off = LightGBMGlobal(**params).fit(varied)  # off by default
    assert off.elasticity_ is None and not set(ELASTICITY_FEATURES) & set(off.dynamic_)


def test_for_series_and_in_sample_features_carry_the_fitted_elasticity():
    df = two_speed_shop({"low": -0.5, "high": -2.5}, n_days=300, seed=2)
    params = dict(n_estimators=30, num_leaves=7, min_child_samples=20, static_features=(),
                  price_elasticity=True)
    model = LightGBMGlobal(**params).fit(df)
    feats = model.features_in_sample(df, last=5)
    est, _ = model.elasticity_
    assert feats.groupby("unique_id")["price_elasticity"].first().to_dict() == pytest.approx(
        est.to_dict())
    part = model.for_series(df[df["unique_id"] == "high"])
    fut = df[df["unique_id"] == "high"].tail(7).assign(ds=lambda d: d["ds"] + pd.Timedelta(days=7))
    a = part.predict(7, X_df=fut.drop(columns="y"))["LightGBM"].to_numpy()
    b = model.predict(7, X_df=pd.concat([fut, fut.assign(unique_id="low")]).drop(columns="y"))
    assert a == pytest.approx(b[b["unique_id"] == "high"]["LightGBM"].to_numpy(), rel=1e-6)


def test_demand_may_only_rise_with_price_effect():
    df = two_speed_shop({"low": -0.5, "high": -2.5}, n_days=300, seed=3)
    params = dict(n_estimators=30, num_leaves=7, min_child_samples=20, static_features=(),
                  price_elasticity=True)
    model = LightGBMGlobal(**params).fit(df)
    order = list(model.mlf_.ts.features_order_)
    got = model.mlf_.models_["LightGBM"].get_params()["monotone_constraints"]
    assert got == [int(c == "price_effect") for c in order] and sum(got) == 1
