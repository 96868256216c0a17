"""Drift alerts: the window log-likelihood-ratio test finds an injected shift and when it
started, adds sales and complaint evidence on one scale, lets a complaint burst alert on its
own, and stays quiet on stationary series and on slow bias; categories use a CUSUM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.insights.drift import (
    DriftOptions,
    complaint_expectation,
    cusum,
    detect,
    standardised_errors,
)


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


SALES_ALONE = DriftOptions(delta=1.0, h=6.0)  # a week of errors can give 7 nats > h = 6


def test_injected_shift_is_detected_soon_after_it_starts():
    alerts = detect(_errors(shift_at=120), level="product", options=SALES_ALONE)
    first = alerts.sort_values("detected").iloc[0]
    assert first["name"] == "A" and first["direction"] == "down"
    assert pd.Timestamp("2024-04-25") <= first["started"] <= pd.Timestamp("2024-05-01")  # day 120: Apr 30
    assert (first["detected"] - pd.Timestamp("2024-04-30")).days <= 7
    assert first["size"] < -1
    category = detect(_errors(shift_at=120), level="category").sort_values("detected").iloc[0]
    assert category["direction"] == "down" and (category["detected"] - pd.Timestamp("2024-04-30")).days <= 7


def test_with_the_defaults_sales_errors_alone_do_not_alert_on_a_product():
    # delta * window = 3.5 nats at most, under h = 5: sales errors need complaints (docstring)
    assert detect(_errors(shift_at=120), level="product").empty
    huge = _quiet_errors().assign(z=-50.0)  # every day at the cap of delta nats
    assert detect(huge).empty and len(detect(huge, options=SALES_ALONE)) >= 1


def test_stationary_series_raises_no_alert():
    for seed in range(5):
        assert detect(_errors(shift_at=None, seed=seed), level="product", options=SALES_ALONE).empty
        assert detect(_errors(shift_at=None, seed=seed), level="category").empty


def test_slow_bias_does_not_pile_up_beyond_the_window():
    # errors 0.6 expected errors low for 300 days: 0.5 nats a day with delta=1, 3.5 a week
    slow = _quiet_errors(n=300).assign(z=-0.6)
    assert detect(slow, options=SALES_ALONE).empty
    assert detect(slow, options=DriftOptions(delta=1.0, window=60))["direction"].eq("down").any()


def test_options_out_of_range_are_refused():
    with pytest.raises(ValueError, match="lift > 1"):
        DriftOptions(lift=1.0)
    with pytest.raises(ValueError, match="window >= 1"):
        DriftOptions(window=0)


def test_category_cusum_restarts_after_an_alert_and_caps_single_outliers():
    assert cusum(np.r_[np.zeros(10), 100.0, np.zeros(10)], DriftOptions(cap=4.0)) == []
    # one alert per excursion: the second comes after the sum has drained back to 0
    alerts = cusum(np.r_[np.zeros(5), np.full(10, 2.0), np.zeros(40), np.full(10, 2.0)])
    assert [a[2] for a in alerts] == ["up", "up"] and alerts[0][0] == 5


# Complaints: low-rated reviews against the product's own baseline ----------------------------

def _complaints(burst_at: int | None, *, n: int = 365, base: float = 0.01, burst: float = 0.5,
                seed: int = 0, uid: str = "A") -> pd.DataFrame:
    """A product selling 10 a day whose baseline is one complaint per 1,000 units; from
    ``burst_at`` buyers complain at ``burst`` a day."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=n)
    rate = np.full(n, base)
    if burst_at is not None:
        rate[burst_at:] = burst
    return pd.DataFrame({"unique_id": uid, "ds": ds, "complaints": rng.poisson(rate).astype(float)})


def _flat_sales(n: int = 365 + 365, uid: str = "A") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2023-01-01", periods=n), "y": 10.0})


def _quiet_errors(n: int = 365, seed: int = 1, uid: str = "A") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=n), "e": 0.0,
                         "expected_abs": 1.0, "z": rng.normal(0, 0.5, n), "category": "C"})


def test_complaint_expectation_uses_the_products_own_rate_shrunk_to_the_shops():
    history = pd.concat([_complaints(None, n=365, seed=s, uid=u).assign(ds=lambda d, s=s: d["ds"]
                         - pd.Timedelta(days=365)) for s, u in ((0, "A"), (1, "B"))])
    history.loc[history["unique_id"] == "A", "complaints"] = 0.0
    history.loc[(history["unique_id"] == "A") & (history.index < 30), "complaints"] = 1.0  # 30 in a year
    sales = pd.concat([_flat_sales(uid="A"), _flat_sales(uid="B"),
                       pd.DataFrame({"unique_id": "N", "ds": pd.date_range("2024-01-01", periods=365),
                                     "y": 10.0})])
    found = complaint_expectation(history, sales, start=pd.Timestamp("2024-01-01"), prior=2.0)
    per_day = found.groupby("unique_id")["expected"].mean()
    # A: 30 complaints over 3,650 units (+2 pseudo-complaints at the shop's rate) -> ~0.08 a day
    assert 0.07 < per_day["A"] < 0.09
    assert per_day["B"] < 0.03 and per_day["N"] > 0  # a new product is judged at the shop's rate
    assert found["ds"].min() == pd.Timestamp("2024-01-01")


def test_expectation_follows_volume_but_not_below_half_the_usual_level():
    sales = _flat_sales()
    sales.loc[sales["ds"] >= "2024-06-01", "y"] = 0.0  # sold out from June
    sales.loc[sales["ds"].between("2024-03-01", "2024-03-31"), "y"] = 40.0
    history = pd.DataFrame({"unique_id": ["A"], "ds": [pd.Timestamp("2023-06-01")], "complaints": [3.0]})
    found = complaint_expectation(history, sales, start=pd.Timestamp("2024-01-01")).set_index("ds")
    usual = found.loc["2024-02-01", "expected"]
    assert found.loc["2024-03-20", "expected"] == pytest.approx(4 * usual)
    assert found.loc["2024-07-01", "expected"] == pytest.approx(usual / 2)


def test_complaint_burst_raises_a_complaints_alert_within_days():
    sales = _flat_sales()
    history = _complaints(None, seed=3).assign(ds=lambda d: d["ds"] - pd.Timedelta(days=365))
    live = _complaints(200, seed=4)
    found = complaint_expectation(pd.concat([history, live]), sales, start=pd.Timestamp("2024-01-01"))
    alerts = detect(_quiet_errors(), complaints=found).sort_values("detected")
    onset = pd.Timestamp("2024-01-01") + pd.Timedelta(days=200)
    assert len(alerts) and (alerts["started"] >= onset - pd.Timedelta(days=7)).all()
    alert = alerts.iloc[0]
    assert alert["signal"] == "complaints" and alert["direction"] == "down"
    assert onset - pd.Timedelta(days=7) <= alert["started"] <= alert["detected"]
    assert (alert["detected"] - onset).days <= 7
    assert alert["complaints"] > 3 * alert["expected_complaints"]


def test_stationary_complaints_raise_under_one_alarm_per_100_product_months():
    sales = pd.concat([_flat_sales(uid=f"P{i}") for i in range(20)])
    alarms = 0
    for seed in range(3):
        history = pd.concat([_complaints(None, seed=100 * seed + i, uid=f"P{i}")
                             .assign(ds=lambda d: d["ds"] - pd.Timedelta(days=365)) for i in range(20)])
        live = pd.concat([_complaints(None, seed=100 * seed + 50 + i, uid=f"P{i}") for i in range(20)])
        errors = pd.concat([_quiet_errors(seed=i, uid=f"P{i}") for i in range(20)])
        found = complaint_expectation(pd.concat([history, live]), sales, start=pd.Timestamp("2024-01-01"))
        alarms += len(detect(errors, complaints=found))  # 20 product-years at the baseline rate
    # 720 product-months at 0.3 complaints a product-month (a complaint-prone product)
    assert alarms <= 7, alarms


def test_sales_drop_with_one_complaint_names_both_signals():
    sales = _flat_sales()
    live = _complaints(None, base=0.0)
    live.loc[[201, 207], "complaints"] = 1.0  # two unhappy buyers a week apart as sales fall
    history = _complaints(None, seed=5).assign(ds=lambda d: d["ds"] - pd.Timedelta(days=365))
    found = complaint_expectation(pd.concat([history, live]), sales, start=pd.Timestamp("2024-01-01"))
    errors = _errors(shift_at=200, n=365).assign(category="C")
    alerts = detect(errors, complaints=found)
    assert len(alerts) == 1
    first = alerts.iloc[0]
    assert first["signal"] == "sales errors + complaints" and first["complaints"] == 2
    assert first["direction"] == "down" and (first["detected"] - pd.Timestamp("2024-07-19")).days <= 7
    assert detect(errors).empty  # the sales drop alone: not enough with the defaults
    assert detect(errors.assign(z=np.nan), complaints=found).empty  # two a week apart alone: not enough


def test_complaint_burst_alerts_even_when_sales_run_above_the_forecast():
    # sales evidence against a drop (z = +2 every day) must not cancel a burst of complaints
    sales = _flat_sales()
    history = _complaints(None, seed=3).assign(ds=lambda d: d["ds"] - pd.Timedelta(days=365))
    found = complaint_expectation(pd.concat([history, _complaints(200, seed=4)]), sales,
                                  start=pd.Timestamp("2024-01-01"))
    busy = _quiet_errors().assign(z=2.0)
    downs = detect(busy, complaints=found).query("direction == 'down'").sort_values("detected")
    assert len(downs) and (downs["signal"] == "complaints").all()
    assert (downs.iloc[0]["detected"] - pd.Timestamp("2024-07-19")).days <= 7


def test_skipped_days_add_no_sales_evidence():
    errors = _quiet_errors().assign(z=0.0)
    errors.loc[100:115, "z"] = -3.0  # a festival the old version misjudged
    assert len(detect(errors, options=SALES_ALONE)) == 1
    assert detect(errors.assign(skip=errors.index.to_series().between(100, 115)), options=SALES_ALONE).empty
