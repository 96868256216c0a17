"""A plan's prices and promotions through an estimated price response: hand-worked factors,
scaled forecasts, and the promotion effect estimated with the elasticities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import two_speed_shop
from trendcast.features.elasticity import PriceResponse, price_response, product_elasticities
from trendcast.features.scenario import Plan, events_only, plan_factors, scale_forecast

DAYS = pd.date_range("2025-07-01", periods=3)


def _response(promo: float | None = 0.1) -> PriceResponse:
    return PriceResponse(pd.Series({"A": -2.0, "B": -0.5}), pooled=-1.0, promo=promo,
                         source=pd.Series({"A": "own", "B": "shrunk"}))


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    future = pd.DataFrame({"unique_id": np.repeat(["A", "B", "C"], 3), "ds": np.tile(DAYS, 3),
                           "price": 10.0, "promo": 0.0})
    planned = future.copy()
    planned.loc[planned["ds"] < DAYS[2], "price"] = 9.0  # 10% off on the first two days
    planned.loc[planned["ds"] == DAYS[0], "promo"] = 1.0  # a promotion on the first
    return future, planned


def test_factor_is_elasticity_times_log_price_ratio_plus_the_promotion_effect():
    future, planned = _frames()
    got = plan_factors(future, planned, _response(), ["A", "B", "C"]).set_index(["unique_id", "ds"])["factor"]
    # A: 0.9 ** -2 = 1.234568, x e^0.1 = 1.105171 on the promotion day -> 1.364409
    assert got[("A", DAYS[0])] == pytest.approx(0.9 ** -2 * np.exp(0.1))
    assert got[("A", DAYS[0])] == pytest.approx(1.364409, abs=1e-6)
    assert got[("A", DAYS[1])] == pytest.approx(1.234568, abs=1e-6)
    assert got[("A", DAYS[2])] == pytest.approx(1.0)
    assert got[("B", DAYS[1])] == pytest.approx(0.9 ** -0.5)
    # C has no estimate of its own: the pooled elasticity -1
    assert got[("C", DAYS[1])] == pytest.approx(1 / 0.9)
    # no promotion effect estimated: the price part alone
    alone = plan_factors(future, planned, _response(None), ["A"]).set_index("ds")["factor"]
    assert alone[DAYS[0]] == pytest.approx(0.9 ** -2)


def test_a_price_rise_lowers_demand_and_an_unknown_price_changes_nothing():
    future, planned = _frames()
    planned["price"] = 12.5
    planned.loc[planned["ds"] == DAYS[2], "price"] = np.nan
    planned["promo"] = 0.0
    got = plan_factors(future, planned, _response(), ["A"]).set_index("ds")["factor"]
    assert got[DAYS[0]] == pytest.approx(1.25 ** -2) and got[DAYS[0]] < 1
    assert got[DAYS[2]] == pytest.approx(1.0)


def test_scale_forecast_moves_the_point_and_every_quantile_by_the_same_factor():
    fc = pd.DataFrame({"unique_id": ["A", "A", "B"], "ds": [DAYS[0], DAYS[1], DAYS[0]],
                       "M": [10.0, 20.0, 5.0], "M-q-0.1": [6.0, 12.0, 2.0], "M-q-0.9": [14.0, 28.0, 8.0]})
    factors = pd.DataFrame({"unique_id": ["A"], "ds": [DAYS[0]], "factor": [1.5]})
    out = scale_forecast(fc, factors, "M", [0.1, 0.9])
    assert list(out.columns) == list(fc.columns)
    assert out.loc[0, ["M", "M-q-0.1", "M-q-0.9"]].tolist() == [15.0, 9.0, 21.0]
    pd.testing.assert_frame_equal(out.iloc[1:].reset_index(drop=True), fc.iloc[1:].reset_index(drop=True))


def test_events_only_keeps_the_events_and_drops_prices_and_promotions():
    days = pd.DataFrame({"unique_id": ["A", "A"], "ds": DAYS[:2], "price": [9.0, np.nan],
                         "discount": [np.nan, 10.0], "promo": [1.0, np.nan],
                         "event": ["Double 11", None], "row": [1, 2]})
    plan = Plan(days, pd.DataFrame(), "plan")
    only = events_only(plan)
    assert only is not None and len(only.days) == 1
    assert only.days[["price", "discount", "promo"]].isna().all().all()
    assert events_only(Plan(days.assign(event=None), pd.DataFrame(), "plan")) is None


def _promo_shop(effect: float) -> pd.DataFrame:
    """two_speed_shop plus promotions on 10% of days that lift demand by exp(effect) without
    changing the price."""
    df = two_speed_shop({"A": -0.5, "B": -2.5, "C": -1.5, "D": -1.0}, n_days=600, seed=4)
    rng = np.random.default_rng(5)
    promo = rng.random(len(df)) < 0.1
    lam = df["y"].to_numpy()  # a second draw at the lifted mean on the promotion days
    lifted = rng.poisson(np.where(promo, np.maximum(lam, 0.5) * np.exp(effect), lam))
    return df.assign(promo=promo.astype(float), y=np.where(promo, lifted, lam).astype(float))


def test_price_response_estimates_the_promotion_effect_with_the_elasticities():
    resp = price_response(_promo_shop(0.3))
    assert resp is not None and resp.promo is not None
    assert resp.promo == pytest.approx(0.3, abs=0.08)
    assert resp.elasticity["B"] == pytest.approx(-2.5, abs=0.25)
    assert set(resp.source) <= {"own", "shrunk", "pooled"} and resp.n_products == 4
    # the feature LightGBM uses is the same estimate
    est, pooled = product_elasticities(_promo_shop(0.3))
    pd.testing.assert_series_equal(est, resp.elasticity)
    assert pooled == resp.pooled


def test_no_promotions_no_promotion_effect():
    resp = price_response(two_speed_shop({"A": -0.5, "B": -2.5, "C": -1.5}))
    assert resp is not None and resp.promo is None
