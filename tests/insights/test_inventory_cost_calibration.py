"""Cost accounting of the stock simulation and the review-period calibration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import nbinom

from trendcast.errors import DataValidationError
from trendcast.insights.inventory_calibration import (
    MAX_LEVEL,
    Window,
    calibrated_order_up_to,
    conformal_level,
    fit_review_calibration,
    volume_band,
)
from trendcast.insights.inventory_sim import CostAssumptions, simulate_order_up_to

LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])


# Costs -------------------------------------------------------------------------------------

def test_costs_of_a_hand_worked_case():
    # S = 4, L = 1, R = 2, demand 3, 0, 5, 2; start with 4 on hand.
    # day 0: review, order 4 - 4 = 0; sell 3 -> 1 held.  day 1: sell 0 -> 1 held.
    # day 2: review, order 4 - 1 = 3 (arrives day 3); demand 5, sell 1, lose 4 -> 0 held.
    # day 3: 3 arrive; sell 2 -> 1 held.  Held unit-days 1 + 1 + 0 + 1 = 3; lost 4.
    # price 10, unit cost 60% = 6, holding 36.5%/year -> 6 x 0.365 / 365 = 0.006 per unit-day;
    # a lost sale costs the margin 10 - 6 = 4.
    res = simulate_order_up_to(np.array([[3.0, 0.0, 5.0, 2.0]]), np.array([4.0]), lead_time=1, review=2)
    costs = CostAssumptions(holding_rate=0.365, cost_share=0.6)
    item = res.with_costs(np.array([10.0]), costs).items.iloc[0]
    assert item["held_unit_days"] == 3 and item["lost"] == 4 and item["sold"] == 6
    assert item["holding_cost"] == pytest.approx(0.018)
    assert item["lost_sales_cost"] == pytest.approx(16.0)
    assert item["total_cost"] == pytest.approx(16.018)


def test_cost_summary_sums_over_the_masked_items():
    demand = np.array([[3.0, 0.0, 5.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    res = simulate_order_up_to(demand, np.array([4.0, 2.0]), lead_time=1, review=2)
    priced = res.with_costs(np.array([10.0, 2.0]), CostAssumptions(holding_rate=0.365, cost_share=0.6))
    both, first = priced.summary(), priced.summary(np.array([True, False]))
    assert first["total_cost"] == pytest.approx(16.018)
    items = priced.items
    assert both["holding_cost"] == pytest.approx(items["holding_cost"].sum())
    assert both["total_cost"] == pytest.approx(both["holding_cost"] + both["lost_sales_cost"])
    assert "total_cost" not in res.summary()  # no prices, no costs


def test_cost_inputs_are_checked():
    res = simulate_order_up_to(np.ones((2, 4)), np.array([2.0, 2.0]), lead_time=1, review=2)
    with pytest.raises(DataValidationError, match="one value per item"):
        res.with_costs(np.array([1.0]))
    with pytest.raises(DataValidationError, match="sell price >= 0"):
        res.with_costs(np.array([1.0, np.nan]))
    with pytest.raises(DataValidationError, match="cost_share"):
        CostAssumptions(cost_share=1.5)
    with pytest.raises(DataValidationError, match="holding_rate"):
        CostAssumptions(holding_rate=-0.1)


# Calibration -------------------------------------------------------------------------------

def test_conformal_level_by_hand():
    scores = np.arange(1, 10) / 10  # 0.1 .. 0.9, n = 9
    # rank ceil(0.8 x 10) = 8 -> just above the 8th smallest score, 0.8
    level = conformal_level(scores, 0.8)
    assert 0.8 < level < 0.8 + 1e-12
    assert conformal_level(scores, 0.95) == MAX_LEVEL  # rank 10 > 9 cases


def test_volume_bands():
    assert volume_band(np.array([0.0, 0.2, 0.7, 1.0, 9.0]), (0.2, 0.5, 1.0)).tolist() == [0, 1, 2, 3, 3]


def synthetic_window(rng: np.random.Generator, n: int, *, bias: float, days: int = 28) -> Window:
    """Forecast: daily NB(mu, k=5) quantiles around a mean that is ``bias`` x the true rate
    with item noise, while the recent rate is the true one; the truth has a persistent item
    level (a month-long error the daily model cannot see)."""
    rate = np.where(np.arange(n) < n // 2, 0.3, rng.uniform(2.0, 8.0, n))
    noise = rng.lognormal(0.0, 0.4, n)
    mean = np.repeat((rate * bias * noise)[:, None], days, axis=1)
    q = nbinom.ppf(LEVELS[None, None, :], 5.0, 5.0 / (5.0 + mean[:, :, None]))
    level = rng.gamma(4.0, 1 / 4.0, size=(n, 1))  # persistent multiplicative error, mean 1
    actual = rng.poisson(rate[:, None] * level * np.ones((1, days))).astype(float)
    return Window(mean=mean, quantiles=q, levels=LEVELS, recent_rate=rate, actual=actual)


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
def test_calibration_reaches_the_target_where_the_raw_forecast_does_not():
    rng = np.random.default_rng(0)
    train = [synthetic_window(rng, 300, bias=0.8) for _ in range(3)]
    cal = fit_review_calibration(train, targets=[0.9], lead=7, review=7, edges=(1.0,))
    test = synthetic_window(rng, 1000, bias=0.8)
    got = calibrated_order_up_to(cal, test, target=0.9, starts=[0, 7, 14])
    truth = np.stack([test.actual[:, t:t + 14].sum(axis=1) for t in (0, 7, 14)], axis=1)
    fast = test.recent_rate > 1
    coverage = (truth <= got)[fast].mean()
    assert coverage == pytest.approx(0.9, abs=0.03)
    row = cal.table[(cal.table["band"] == 1)].iloc[0]
    assert row["raw_coverage"] < 0.75  # the biased, too-narrow forecast alone
    # the forecast is 20% low and the recent rate is right: the blend leans on the recent rate
    assert row["weight"] < 0.5
    assert got.shape == (1000, 3)


def test_calibration_errors():
    rng = np.random.default_rng(1)
    w = synthetic_window(rng, 10, bias=1.0)
    with pytest.raises(DataValidationError, match="realised sales"):
        fit_review_calibration([Window(w.mean, w.quantiles, w.levels, w.recent_rate)], targets=[0.9],
                               lead=7, review=7)
    with pytest.raises(DataValidationError, match="at least one"):
        fit_review_calibration([], targets=[0.9], lead=7, review=7)
    cal = fit_review_calibration([w], targets=[0.9], lead=7, review=7)
    with pytest.raises(DataValidationError, match="no calibration for target 0.95"):
        calibrated_order_up_to(cal, w, target=0.95, starts=[0])
    with pytest.raises(DataValidationError, match="needs 35 forecast days"):
        calibrated_order_up_to(cal, w, target=0.9, starts=[21])
    with pytest.raises(DataValidationError, match="quantiles must have shape"):
        Window(w.mean, w.quantiles[:, :, :3], w.levels, w.recent_rate)


def test_a_band_without_cases_uses_the_forecast_as_is():
    rng = np.random.default_rng(2)
    w = synthetic_window(rng, 40, bias=1.0)
    slow = w.recent_rate < 1
    only_slow = Window(w.mean[slow], w.quantiles[slow], w.levels, w.recent_rate[slow], w.actual[slow])
    cal = fit_review_calibration([only_slow], targets=[0.9], lead=7, review=7, edges=(1.0,))
    assert cal.table["band"].tolist() == [0]
    weights, widen, levels = cal.parameters(0.9)
    assert (weights[1], widen[1], levels[1]) == (1.0, 1.0, 0.9)
    got = calibrated_order_up_to(cal, w, target=0.9, starts=[0])[:, 0]
    # fast items: the 0.9 quantile of NB(sum of the forecast, size of the independent sum)
    m = w.mean[~slow, :14]
    total = m.sum(axis=1)
    from trendcast.insights.inventory import fit_nbinom_size

    k = fit_nbinom_size(LEVELS, w.quantiles[~slow, :14], m)
    size = total**2 / ((m**2).sum(axis=1) / k)
    assert np.array_equal(got[~slow], nbinom.ppf(0.9, size, size / (size + total)))


def test_window_from_frames_by_hand():
    import pandas as pd

    from trendcast.insights.inventory_calibration import window_from_frames

    cutoff = pd.Timestamp("2025-03-31")
    days = pd.date_range("2025-04-01", periods=3)
    fc = pd.DataFrame({"unique_id": np.repeat(["A", "B", "C"], 3), "ds": np.tile(days, 3),
                       "m": [1.0, 2, 3, 4, 5, 6, 7, np.nan, 9],
                       "m-q-0.1": 0.0, "m-q-0.9": 10.0})
    # A sold 28 units on its last day before the cutoff and 5 on the second forecast day; B sold
    # nothing (no rows): a recent rate of 0 and zero actuals; C has a missing forecast: left out
    sales = pd.DataFrame({"unique_id": ["A", "A", "A"], "ds": pd.to_datetime(
        ["2025-03-03", "2025-03-31", "2025-04-02"]), "y": [100.0, 28.0, 5.0]})
    w, ids = window_from_frames(fc, "m", sales, cutoff=cutoff)
    assert list(ids) == ["A", "B"] and w.mean.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert w.levels.tolist() == [0.1, 0.9] and w.quantiles[1, 2].tolist() == [0.0, 10.0]
    # 2025-03-03 is 29 days before the cutoff: outside the 28-day recent window
    assert w.recent_rate.tolist() == [1.0, 0.0]
    assert w.actual.tolist() == [[0, 5, 0], [0, 0, 0]]
    now, _ = window_from_frames(fc[fc["unique_id"] == "A"], "m", sales, cutoff=cutoff, days=2,
                                with_actual=False)
    assert now.actual is None and now.mean.tolist() == [[1, 2]]
    with pytest.raises(DataValidationError, match="at least two quantile"):
        window_from_frames(fc.drop(columns="m-q-0.9"), "m", sales, cutoff=cutoff)
