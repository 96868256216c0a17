from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom

from trendcast.errors import DataValidationError, ModelError
from trendcast.insights.inventory import (
    InventoryDefaults,
    critical_fractile,
    fit_nbinom_size,
    inventory_policy,
    sample_daily,
)
from trendcast.insights.inventory_sim import rule_of_thumb_level, simulate_order_up_to
from trendcast.schema import quantile_column

LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
# (mean per day, negative binomial size): slow, medium, fast, very overdispersed
SPECS = {"A": (0.3, 2.0), "B": (2.0, 3.0), "C": (20.0, 5.0), "D": (5.0, 0.5)}


def daily_means(mu: float, days: int = 28) -> np.ndarray:
    return mu * (1 + 0.3 * np.sin(np.arange(days)))


def nb_forecasts(specs: dict[str, tuple[float, float]] = SPECS, days: int = 28) -> pd.DataFrame:
    """Forecasts whose quantiles are exactly those of known daily negative binomials."""
    ds = pd.date_range("2025-01-01", periods=days)
    frames = []
    for uid, (mu, k) in specs.items():
        m = daily_means(mu, days)
        cols = {"unique_id": uid, "ds": ds, "M": m}
        for q in LEVELS:
            cols[quantile_column("M", q)] = nbinom.ppf(q, k, k / (k + m))
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def true_sum_quantile(mu: float, k: float, days: int, level: float, n: int = 50_000) -> float:
    m = daily_means(mu, days)
    draws = nbinom.rvs(k, k / (k + m[None, :]), size=(n, days), random_state=np.random.default_rng(3))
    return float(np.quantile(draws.sum(axis=1), level, method="inverted_cdf"))


def test_size_is_recovered_from_nb_quantiles():
    fc = nb_forecasts()
    values = np.stack([fc[quantile_column("M", q)].to_numpy() for q in LEVELS], axis=1)
    size = fit_nbinom_size(np.array(LEVELS), values.reshape(4, 28, 7)[:, :14],
                           fc["M"].to_numpy().reshape(4, 28)[:, :14])
    for k_true, k_fit in zip([s[1] for s in SPECS.values()], size, strict=True):
        assert k_true / 1.6 < k_fit < k_true * 1.6


@pytest.mark.parametrize("method", ["nbinom", "sample"])
def test_order_up_to_matches_the_true_sum_of_daily_demand(method):
    out = inventory_policy(nb_forecasts(), model="M", service_level=0.95, method=method).set_index("unique_id")
    for uid, (mu, k) in SPECS.items():
        truth = true_sum_quantile(mu, k, 14, 0.95)
        got = out.loc[uid, "order_up_to"]
        # the sampled method smears the 0/1 quantiles of slow movers (see the module docstring)
        tol = max(1.0, 0.04 * truth) if method == "nbinom" else max(3.0, 0.12 * truth)
        assert abs(got - truth) <= tol, (uid, got, truth)
        assert out.loc[uid, "demand_mean"] == pytest.approx(daily_means(mu)[:14].sum())
        assert out.loc[uid, "safety_stock"] == pytest.approx(got - out.loc[uid, "demand_mean"])
        assert out.loc[uid, "reorder_point"] == pytest.approx(true_sum_quantile(mu, k, 7, 0.95),
                                                               abs=max(1.0 if method == "nbinom" else 3.0,
                                                                       0.06 * truth))


def test_sampled_days_keep_the_point_forecast_as_mean():
    levels = np.array(LEVELS)
    x = np.zeros((1, 7))  # a slow mover: every quantile 0, mean 0.02
    draws = sample_daily(levels, x, np.array([0.02]), np.random.default_rng(0).random((1, 200_000)))
    assert draws.mean() == pytest.approx(0.02, rel=0.05)
    assert (draws > 0).mean() == pytest.approx(0.05, abs=0.003)


def test_stock_decides_order_quantity_and_risk():
    products = pd.DataFrame({"unique_id": ["A", "B", "C"], "on_hand": [0.0, 5.0, 10_000.0],
                             "on_order": [0.0, 3.0, 0.0]})
    out = inventory_policy(nb_forecasts({k: SPECS[k] for k in "ABC"}), model="M", products=products,
                           service_level=0.9).set_index("unique_id")
    b = out.loc["B"]
    assert b["inventory_position"] == 8
    assert b["order_qty"] == b["order_up_to"] - 8
    mu, k = SPECS["B"]
    m = daily_means(mu)[:7]
    draws = nbinom.rvs(k, k / (k + m[None, :]), size=(100_000, 7), random_state=np.random.default_rng(1))
    assert b["stockout_risk"] == pytest.approx((draws.sum(axis=1) > 8).mean(), abs=0.03)
    assert bool(b["reorder_now"]) is True
    c = out.loc["C"]
    assert c["order_qty"] == 0 and c["stockout_risk"] < 1e-6 and bool(c["reorder_now"]) is False
    assert out.loc["A", "stockout_risk"] == pytest.approx(1 - np.prod(
        (SPECS["A"][1] / (SPECS["A"][1] + daily_means(SPECS["A"][0])[:7])) ** SPECS["A"][1]), abs=0.05)
    # most urgent first
    assert list(out.index) == list(out.sort_values("stockout_risk", ascending=False).index)


def test_defaults_are_reported_and_the_fractile_is_used():
    products = pd.DataFrame({"unique_id": ["A", "B"], "price": [10.0, np.nan], "unit_cost": [np.nan, 4.0],
                             "lead_time_days": [3, np.nan], "on_hand": [2.0, np.nan]})
    out = inventory_policy(nb_forecasts({k: SPECS[k] for k in "AB"}), model="M",
                           products=products).set_index("unique_id")
    a, b = out.loc["A"], out.loc["B"]
    assert a["lead_time_days"] == 3 and b["lead_time_days"] == 7 and a["review_days"] == 7
    assert a["unit_cost"] == pytest.approx(6.0)  # 60% of price
    cu, co = 10 - 6, 6 * 0.25 * 7 / 365
    assert a["service_level"] == pytest.approx(cu / (cu + co))
    assert a["service_level_source"] == "fractile" and b["service_level_source"] == "default"
    assert b["service_level"] == 0.95
    assert "cost 60% of price" in a["notes"] and "lead time" not in a["notes"]
    assert "lead time 7 d" in b["notes"] and "no price" in b["notes"] and "on hand unknown" in b["notes"]
    assert np.isnan(b["order_qty"]) and np.isnan(b["stockout_risk"])
    assert "tail extrapolated" in a["notes"]  # 0.993 > top quantile 0.95
    assumptions = out.attrs["assumptions"]
    assert assumptions["holding_cost_rate"] == 0.25 and assumptions["method"] == "nbinom"


def test_critical_fractile_by_hand():
    frac = critical_fractile(np.array([10.0, 10.0, 5.0]), np.array([6.0, 6.0, 6.0]),
                             np.array([0.25, 36.5, 0.25]), np.array([7, 10, 7]))
    assert frac[0] == pytest.approx(4 / (4 + 6 * 0.25 * 7 / 365))
    assert frac[1] == pytest.approx(4 / (4 + 6.0))  # holding 36.5/year for 10 days = 6
    assert frac[2] == 0.0  # selling below cost


def test_errors_say_what_to_do():
    fc = nb_forecasts({"A": SPECS["A"]}, days=10)
    with pytest.raises(ModelError, match="--horizon 14"):
        inventory_policy(fc, model="M")
    with pytest.raises(ModelError, match="--quantiles"):
        inventory_policy(fc[["unique_id", "ds", "M"]], model="M",
                         defaults=InventoryDefaults(lead_time_days=3, review_days=3))
    with pytest.raises(DataValidationError, match="on_hand must be >= 0"):
        inventory_policy(nb_forecasts({"A": SPECS["A"]}), model="M",
                         products=pd.DataFrame({"unique_id": ["A"], "on_hand": [-1.0]}))
    with pytest.raises(DataValidationError, match="whole number"):
        inventory_policy(nb_forecasts({"A": SPECS["A"]}), model="M",
                         products=pd.DataFrame({"unique_id": ["A"], "review_days": [2.5]}))
    with pytest.raises(ModelError, match="strictly between"):
        inventory_policy(nb_forecasts({"A": SPECS["A"]}), model="M", service_level=1.0)


def test_simulator_by_hand():
    # S=6, L=1, R=2, start with 6 on hand. Day by day (arrive, order on review days, serve):
    # d0 order 0, sell 3 -> 3 | d1 sell 0 -> 3 | d2 order 3, sell 3 of 4 (1 lost) -> 0
    # d3 +3, sell 2 -> 1 | d4 order 5, sell 1 of 5 (4 lost) -> 0 | d5 +5, sell 1 -> 4
    res = simulate_order_up_to(np.array([[3, 0, 4, 2, 5, 1]]), np.array([6.0]), lead_time=1, review=2)
    row = res.items.iloc[0]
    assert row["demand"] == 15 and row["sold"] == 10 and row["lost"] == 5
    assert row["fill_rate"] == pytest.approx(10 / 15)
    assert row["mean_on_hand"] == pytest.approx((3 + 3 + 0 + 1 + 0 + 4) / 6)
    assert row["stockout_days"] == 2 and row["orders"] == 2
    assert row["cycles"] == 3 and row["short_cycles"] == 2  # cycles d0-1 fine, d2-3 and d4-5 short
    s = res.summary()
    assert s["fill_rate"] == pytest.approx(10 / 15) and s["lost_units"] == 5
    assert s["cycle_service"] == pytest.approx(1 / 3)


def test_simulator_lead_time_zero_and_per_day_levels():
    demand = np.array([[2, 2, 2, 2], [0, 0, 0, 0]])
    res = simulate_order_up_to(demand, np.array([[2, 2, 5, 5], [1, 1, 1, 1]]), lead_time=0, review=2)
    a, b = res.items.iloc[0], res.items.iloc[1]
    assert a["lost"] == 2 and a["sold"] == 6  # day 1 runs out; day 2 fills up to 5
    assert b["fill_rate"] != b["fill_rate"] and b["mean_on_hand"] == 1  # no demand: NaN fill rate
    assert res.summary(np.array([True, False]))["n_items"] == 1
    with pytest.raises(DataValidationError, match="shape"):
        simulate_order_up_to(demand, np.array([1.0, 2.0, 3.0]), lead_time=1, review=1)


def test_rule_of_thumb_by_hand():
    history = np.array([[1.0, 3.0] * 14, [0.0] * 28])
    level = rule_of_thumb_level(history, lead_time=7, review=7, service_level=0.9)
    sd = np.std([1.0, 3.0] * 14, ddof=1)
    assert level[0] == np.ceil(2 * 14 + 1.2815515655446004 * sd * np.sqrt(14))
    assert level[1] == 0


# The service and the command line ---------------------------------------------------------

@pytest.fixture
def shop_store(store):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=6, start="2025-06-01", end="2025-12-31", seed=3)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                          "calendar_events": shop.calendar}, source="test")
    run_forecast(store, horizon=14, models=["SeasonalNaive"], quantiles=list(LEVELS))
    return store, shop


def test_service_uses_the_latest_run_prices_and_stock(shop_store, tmp_path):
    from trendcast.services.inventory import inventory_actions

    store, shop = shop_store
    ids = sorted(shop.products["unique_id"])
    path = tmp_path / "stock.csv"
    pd.DataFrame({"unique_id": ids[:3] + ["NOPE"], "on_hand": [0, 5, 1000, 1],
                  "lead_time_days": [3, None, None, None], "shelf": ["a", "b", "c", "d"]}).to_csv(path, index=False)
    result = inventory_actions(store, stock=path)
    t = result.table.set_index("unique_id")
    assert result.model == "SeasonalNaive" and len(t) == 6
    last_price = shop.sales.sort_values("ds").groupby("unique_id")["price"].last()
    assert t.loc[ids[0], "price"] == pytest.approx(last_price[ids[0]])
    assert t.loc[ids[0], "lead_time_days"] == 3 and t.loc[ids[1], "lead_time_days"] == 7
    assert t.loc[ids[2], "order_qty"] == 0 and np.isnan(t.loc[ids[4], "order_qty"])
    assert any("NOPE" in n for n in result.notes) and any("shelf" in n for n in result.notes)
    payload = result.as_dict(top=2)
    json.dumps(payload)  # JSON-safe (no NaN)
    assert len(payload["products"]) == 2 and payload["assumptions"]["lead_time_days"] == 7


def test_service_errors(shop_store, tmp_path):
    from trendcast.services.forecast import run_forecast
    from trendcast.services.inventory import inventory_actions

    store, _ = shop_store
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,on_hand\nP0001,-3\n")
    with pytest.raises(DataValidationError, match="row 1 \\(line 2\\), column 'on_hand'"):
        inventory_actions(store, stock=bad)
    with pytest.raises(ModelError, match="--horizon 30"):
        inventory_actions(store, lead_time=20, review=10)
    run_forecast(store, horizon=14, models=["SeasonalNaive"], quantiles=[])
    with pytest.raises(ModelError, match="trendcast forecast --quantiles"):
        inventory_actions(store)


def test_cli_inventory_json(shop_store, db_path):
    store, shop = shop_store
    location = store.location
    store.close()
    proc = subprocess.run([sys.executable, "-m", "trendcast.cli", "inventory", "--db", location,
                           "--service-level", "0.9", "--top", "3", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert len(payload["products"]) == 3
    assert all(p["service_level"] == 0.9 for p in payload["products"])
    assert any("no stock file" in n for n in payload["notes"])


def test_weekly_forecasts_sum_weeks_not_one_week_per_day():
    """Before: each forecast row counted as a day, so a 7 + 7 day interval summed 14 weeks of a
    weekly forecast (about 7 times the stock)."""
    daily = nb_forecasts({"A": (2.0, 3.0)}, days=28)
    weekly = daily.assign(ds=pd.date_range("2025-01-03", periods=28, freq="W-FRI"))
    as_days = inventory_policy(daily, model="M", service_level=0.9)
    as_weeks = inventory_policy(weekly, model="M", service_level=0.9, period_days=7)
    # two weekly rows (lead 1 week + review 1 week), not fourteen
    assert as_weeks["demand_mean"].item() == pytest.approx(daily["M"].iloc[:2].sum())
    assert as_days["demand_mean"].item() == pytest.approx(daily["M"].iloc[:14].sum())
    assert as_weeks["lead_time_days"].item() == 7 and as_weeks["review_days"].item() == 7
    # a 10-day lead time is one week and 3/7 of the next, and the horizon is asked in periods
    longer = inventory_policy(weekly, model="M", service_level=0.9, period_days=7,
                              defaults=InventoryDefaults(lead_time_days=10, review_days=7))
    m = daily["M"].to_numpy()
    assert longer["demand_mean"].item() == pytest.approx(m[0] + m[1] + 3 / 7 * m[2])
    assert longer["demand_lead_mean"].item() == pytest.approx(m[0] + 3 / 7 * m[1])
    with pytest.raises(ModelError, match="needs 30 forecast periods"):
        inventory_policy(weekly, model="M", service_level=0.9, period_days=7,
                         defaults=InventoryDefaults(lead_time_days=140, review_days=70))


def test_a_quarterly_forecast_gives_a_two_week_interval_its_share_of_the_quarter():
    """Before: 7 + 7 days of a quarterly forecast were rounded up to two whole quarters, about
    13 times the demand of 14 days."""
    mu, k = 900.0, 50.0
    fc = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2025-01-01", periods=4, freq="QS"), "M": mu})
    for q in LEVELS:
        fc[quantile_column("M", q)] = nbinom.ppf(q, k, k / (k + mu))
    days = 365.25 / 4
    w = 14 / days
    for method in ("nbinom", "sample"):
        out = inventory_policy(fc, model="M", service_level=0.95, period_days=days, method=method,
                               n_samples=20_000)
        assert out["demand_mean"].item() == pytest.approx(w * mu)
        assert out["demand_lead_mean"].item() == pytest.approx(w * mu / 2)
        # the part of a quarter is its thinned count: variance w m + (w m)^2 / k (about 21 units
        # here), not w^2 (m + m^2 / k) (20 units), nor two whole quarters' (2 x 900 +- 180)
        size = out["nb_size"].item() if method == "nbinom" else k
        sd = np.sqrt(w * mu + (w * mu) ** 2 / size)
        assert out["demand_std"].item() == pytest.approx(sd, rel=0.05)
        assert out["order_up_to"].item() == pytest.approx(w * mu + 1.645 * sd, rel=0.05)
        assert out["order_up_to"].item() < 200


def test_service_reads_the_runs_frequency(store):
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.inventory import inventory_actions

    weeks = pd.date_range("2024-01-05", periods=80, freq="W-FRI")
    rng = np.random.default_rng(0)
    sales = pd.concat([pd.DataFrame({"unique_id": uid, "ds": weeks, "y": rng.poisson(70, len(weeks)).astype(float),
                                     "price": 5.0, "promo": 0.0}) for uid in ("a", "b")], ignore_index=True)
    ingest_frames(store, {"sales": sales}, source="test")
    run_forecast(store, horizon=16, models=["SeasonalNaive"], quantiles=list(LEVELS))
    result = inventory_actions(store, service_level=0.9)
    # a 14-day interval of about 70 units a week holds about 140 units, not 14 weeks' 980
    assert result.table["demand_mean"].between(100, 200).all()
    assert any("weekly" in n and "cover 2.00 period(s) of 7 days" in n for n in result.notes)
    # a weekly run is calibrated on weekly backtests: without one, --calibrate is an error saying so
    with pytest.raises(ModelError, match=r"no weekly \(Fridays\) backtest of SeasonalNaive"):
        inventory_actions(store, service_level=0.9, calibrate=True)
    # a monthly run cannot be: a review cycle of days is no whole number of months
    run_forecast(store, horizon=4, models=["SeasonalNaive"], quantiles=list(LEVELS), freq="M")
    with pytest.raises(ModelError, match="needs a daily or weekly forecast run"):
        inventory_actions(store, service_level=0.9, calibrate=True)


def test_an_interval_that_starts_inside_the_first_period_takes_the_rest_of_it():
    """A monthly run whose month is under way (sales to Feb 14 are in): 10 + 7 days from Feb 15
    are Feb 15-28 and Mar 1-3, not February's first half again."""
    from trendcast.insights.inventory import PeriodCalendar

    fc = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2025-02-01", periods=3, freq="MS"),
                       "M": [280.0, 310.0, 300.0]})
    for q in LEVELS:
        fc[quantile_column("M", q)] = nbinom.ppf(q, 50, 50 / (50 + fc["M"]))
    out = inventory_policy(fc, model="M", service_level=0.9, calendar=PeriodCalendar(
        "MS", start=pd.Timestamp("2025-02-15")), defaults=InventoryDefaults(lead_time_days=10, review_days=7))
    # Feb 15-28 (14 of 28 days) and Mar 1-3 (3 of 31); the lead time Feb 15-24
    assert out["demand_mean"].item() == pytest.approx(280 * 14 / 28 + 310 * 3 / 31)
    assert out["demand_lead_mean"].item() == pytest.approx(280 * 10 / 28)


def test_a_monthly_run_of_daily_sales_splits_its_month_as_the_year_before(store):
    """A --freq M run of daily sales: the first 14 days of a November holding Double 11 held
    most of the month a year before, and their demand is read so, not as 14/30 of the month."""
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.inventory import inventory_actions

    days = pd.date_range("2023-11-01", "2025-10-31")
    rng = np.random.default_rng(1)
    level = np.where((days.month == 11) & (days.day == 11), 600.0, 20.0)
    sales = pd.concat([pd.DataFrame({"unique_id": uid, "ds": days, "y": rng.poisson(level).astype(float)})
                       for uid in ("a", "b")], ignore_index=True)
    ingest_frames(store, {"sales": sales}, source="test")
    run = run_forecast(store, horizon=3, models=["SeasonalNaive"], quantiles=list(LEVELS), freq="M")
    november = run.forecasts[run.forecasts["ds"] == "2025-11-01"].set_index("unique_id")["SeasonalNaive"]
    year_before = sales[sales["ds"].between("2024-11-01", "2024-11-30")]
    share = (year_before[year_before["ds"] <= "2024-11-14"]["y"].sum() / year_before["y"].sum())
    assert share > 0.6  # not 14/30
    result = inventory_actions(store, service_level=0.9, lead_time=7, review=7)
    t = result.table.set_index("unique_id")
    assert t["demand_mean"].to_numpy() == pytest.approx((share * november).reindex(t.index).to_numpy())
    assert any("weighted by the shop's daily sales on the same dates a year before" in n
               for n in result.notes)


def test_a_monthly_run_whose_month_is_under_way_counts_from_the_day_after_the_sales(store):
    """Weekly sales to Friday 2025-10-24, forecast by month: the run's first month is October.
    Before, the 14 days counted from Oct 1 (already sold) and the note said to rerun the
    forecast, which gives the same run; now they count from Oct 25."""
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.inventory import inventory_actions

    weeks = pd.date_range("2023-01-06", "2025-10-24", freq="W-FRI")
    sales = pd.DataFrame({"unique_id": "a", "ds": weeks, "y": 70.0})
    ingest_frames(store, {"sales": sales}, source="test")
    run = run_forecast(store, horizon=3, models=["Naive"], quantiles=list(LEVELS), freq="M")
    october = run.forecasts.set_index("ds")["Naive"]
    assert october.index[0] == pd.Timestamp("2025-10-01")
    result = inventory_actions(store, service_level=0.9, lead_time=7, review=7)
    t = result.table.set_index("unique_id")
    # Oct 25-31 (7 of 31 days), Nov 1-7 (7 of 30)
    expected = october.iloc[0] * 7 / 31 + october.iloc[1] * 7 / 30
    assert t.loc["a", "demand_mean"] == pytest.approx(expected)
    assert any(n.startswith("the run's first month (2025-10-01) is under way: sales to 2025-10-24 are in")
               for n in result.notes)
    assert not any("rerun `trendcast forecast`" in n for n in result.notes)


def test_stock_file_ids_with_leading_zeros_stay_text(tmp_path):
    """Before: pandas read '007' as 7, so the product's stock was 'left out' as unknown."""
    from trendcast.services.inventory import read_stock

    path = tmp_path / "stock.csv"
    path.write_text("unique_id;on_hand\n007;5\n\n0100;2,0\n")
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'on_hand': got '2,0'"):
        read_stock(path)
    path.write_text("unique_id;on_hand\n007;5\n\n0100;2\n")
    assert read_stock(path)["unique_id"].tolist() == ["007", "0100"]


def test_stock_ids_a_spreadsheet_changed_match_the_products(store, tmp_path):
    """A stock sheet that dropped the SKUs' leading zeros ('7' for '007') left the products'
    stock unknown ("stock rows have no forecast ... left out")."""
    from conftest import make_sales
    from trendcast.services.forecast import run_forecast
    from trendcast.services.inventory import inventory_actions

    sales = make_sales(n_series=2, n_days=60)
    store.upsert("sales", sales.assign(unique_id=sales["unique_id"].map({"P000": "007", "P001": "010"})))
    run_forecast(store, horizon=14, models=["SeasonalNaive"], quantiles=list(LEVELS))
    path = tmp_path / "stock.csv"
    path.write_text("unique_id,on_hand\n7,5\n10.0,40\n")
    result = inventory_actions(store, stock=path)
    assert result.table.set_index("unique_id")["on_hand"].to_dict() == {"007": 5.0, "010": 40.0}
    assert not any("left out" in n for n in result.notes)
    assert any("'7' as '007'" in n and "'10.0' as '010'" in n for n in result.notes)


def test_a_warehouse_export_is_read_as_a_stock_file(tmp_path):
    """An ERP's stock export: its own headers, thousands separators, zeros shown as '-', a
    subtotal line per warehouse. Before: "missing column(s) ['unique_id', 'on_hand']"."""
    from trendcast.services.inventory import read_stock

    path = tmp_path / "stock.csv"
    path.write_text('商品编码,库存数量,在途数量,仓库\n007,"1,234",-,华东\n008,12,5,华东\n华东 小计,"1,246",5,\n'
                    '009,x,0,华南\n', encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"row 4 \(line 5\), column 'on_hand': got 'x'"):
        read_stock(path)
    path.write_text(path.read_text(encoding="utf-8").replace("009,x", "009,3"), encoding="utf-8")
    frame = read_stock(path)
    assert frame.to_dict(orient="list") == {"unique_id": ["007", "008", "009"], "on_hand": [1234.0, 12.0, 3.0],
                                            "on_order": [0.0, 5.0, 0.0]}
    assert frame.attrs["ignored_columns"] == ["仓库"]
    assert frame.attrs["notes"] == [
        "stock file columns read as: 商品编码 as unique_id, 库存数量 as on_hand, 在途数量 as on_order",
        "1 subtotal line(s) of the stock file skipped (e.g. '华东 小计')",
        "stock file column on_hand: 1 value(s) with thousands separators read (1,234 as 1234)",
        "stock file column on_order: 1 value(s) shown as '-' read as 0"]
    # a file with both names keeps trendcast's own
    path.write_text("unique_id,sku,on_hand\nA,x1,1\n", encoding="utf-8")
    assert read_stock(path).attrs["ignored_columns"] == ["sku"]


def test_a_stock_file_without_on_hand_is_told_every_optional_column(tmp_path):
    """Before: the hint listed STOCK_COLUMNS[2:], which left out lead_time_days and
    review_days and named on_hand twice."""
    from trendcast.services.inventory import read_stock

    path = tmp_path / "stock.csv"
    path.write_text("unique_id,qty\nA,1\n")
    with pytest.raises(DataValidationError) as err:
        read_stock(path)
    assert str(err.value).endswith("missing column(s) ['on_hand']; a stock file has unique_id,on_hand"
                                   "[,lead_time_days,review_days,unit_cost,holding_cost_rate,on_order]")
