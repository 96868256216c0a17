"""`inventory_actions` with order-up-to levels calibrated on the workspace's stored backtests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError

LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
MODEL = "SeasonalNaive"


def _shop(store, end: str = "2025-12-31"):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=10, start="2025-05-01", end="2025-12-31", seed=5)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales[shop.sales["ds"] <= end],
                          "calendar_events": shop.calendar}, source="test")
    return shop


@pytest.fixture
def shop_store(store):
    from trendcast.services.forecast import run_forecast

    _shop(store)
    run_forecast(store, horizon=28, models=[MODEL], quantiles=LEVELS)
    return store


def test_without_a_backtest_levels_stay_uncalibrated_and_the_note_says_how(shop_store):
    from trendcast.services.inventory import inventory_actions

    result = inventory_actions(shop_store, service_level=0.9)
    assert (result.table["policy"] == "nbinom").all()
    assert result.assumptions["calibration"]["cases"] == 0
    assert any("uncalibrated" in n and f"trendcast backtest --model {MODEL} --windows 3 --horizon 28"
               in n for n in result.notes)
    off = inventory_actions(shop_store, service_level=0.9, calibrate=False)
    assert np.array_equal(off.table["order_up_to"], result.table["order_up_to"])
    with pytest.raises(ModelError, match="no backtest of SeasonalNaive"):
        inventory_actions(shop_store, service_level=0.9, calibrate=True)


def test_a_backtest_calibrates_the_levels_and_says_on_what(shop_store):
    from trendcast.services.forecast import run_backtest
    from trendcast.services.inventory import inventory_actions

    run_backtest(shop_store, horizon=28, n_windows=3, models=[MODEL], quantiles=LEVELS)
    stock = pd.DataFrame({"unique_id": sorted(shop_store.series_ids()), "on_hand": 3.0})
    raw = inventory_actions(shop_store, service_level=0.9, stock=stock, calibrate=False)
    cal = inventory_actions(shop_store, service_level=0.9, stock=stock)
    summary = cal.assumptions["calibration"]
    assert summary["method"] == "calibrated on backtests" and len(summary["windows"]) == 3
    assert summary["cases"] > 0 and 0.9 <= summary["coverage"] <= 1
    assert summary["products_calibrated"] == (cal.table["policy"] == "calibrated").sum() > 0
    assert any("calibrated on 3 backtest window(s)" in n and "cover" in n for n in cal.notes)
    t, r = cal.table.set_index("unique_id"), raw.table.set_index("unique_id").loc[cal.table["unique_id"]]
    # the calibrated rows are the ones that changed; the rest equal the uncalibrated policy
    changed = ~np.isclose(t["order_up_to"], r["order_up_to"])
    assert changed.any() and not (changed & (t["policy"] == "nbinom")).any()
    assert np.allclose(t["safety_stock"], t["order_up_to"] - t["demand_mean"])
    assert np.allclose(t["order_qty"], np.maximum(t["order_up_to"] - 3.0, 0))
    assert np.allclose(t["reorder_point"], r["reorder_point"])  # the lead-time quantile is not calibrated
    assert cal.as_dict()["products"][0]["policy"] in ("calibrated", "nbinom")


def test_newsvendor_levels_are_calibrated_at_their_rounded_values(shop_store):
    from trendcast.services.forecast import run_backtest
    from trendcast.services.inventory import inventory_actions

    run_backtest(shop_store, horizon=28, n_windows=3, models=[MODEL], quantiles=LEVELS)
    # a dear stock: the critical fractile falls to about 0.63
    result = inventory_actions(shop_store, holding_cost_rate=20.0)
    assert result.table["service_level_source"].eq("fractile").all()
    assert (result.table["policy"] == "calibrated").any()
    levels = sorted(set(np.round(result.table["service_level"] / 0.005) * 0.005))
    assert result.assumptions["calibration"]["target"] == pytest.approx(np.mean(levels), abs=0.01)
    # the usual fractile (capped at 0.995) needs ~199 cases per band: 90 cases are too few, said so
    usual = inventory_actions(shop_store)
    assert usual.table["service_level"].min() > 0.99 and (usual.table["policy"] == "nbinom").all()
    assert any("too few review cases" in n and "--windows 8" in n for n in usual.notes)
    with pytest.raises(ModelError, match="too few review cases"):
        inventory_actions(shop_store, calibrate=True)


def test_a_backtest_shorter_than_lead_plus_review_cannot_calibrate(shop_store):
    from trendcast.services.forecast import run_backtest
    from trendcast.services.inventory import inventory_actions

    run_backtest(shop_store, horizon=7, n_windows=2, models=[MODEL], quantiles=LEVELS)
    result = inventory_actions(shop_store, service_level=0.9, lead_time=7, review=7)
    assert (result.table["policy"] == "nbinom").all()
    assert any("horizon 7" in n and "shorter than lead time + review = 14" in n for n in result.notes)
    with pytest.raises(ModelError, match="shorter than lead time"):
        inventory_actions(shop_store, service_level=0.9, calibrate=True)


def test_windows_ending_on_or_after_the_forecast_start_are_not_used(store):
    from trendcast.services.forecast import run_backtest, run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.inventory import inventory_actions

    shop = _shop(store, end="2025-11-30")
    old = run_forecast(store, horizon=28, models=[MODEL], quantiles=LEVELS)  # starts 2025-12-01
    ingest_frames(store, {"sales": shop.sales[shop.sales["ds"] > "2025-11-30"]}, source="test")
    # cutoffs 2025-11-05 and 2025-12-03: both windows end after the old run's first day
    run_backtest(store, horizon=28, n_windows=2, models=[MODEL], quantiles=LEVELS)
    late = inventory_actions(store, run_id=old.run_id, service_level=0.8)
    assert (late.table["policy"] == "nbinom").all()
    assert any("ends on or after the forecast's first day 2025-12-01" in n for n in late.notes)
    with pytest.raises(ModelError, match="ends on or after the forecast's first day"):
        inventory_actions(store, run_id=old.run_id, service_level=0.8, calibrate=True)
    # cutoffs 2025-10-08, 2025-11-05, 2025-12-03: only the first window ends before 2025-12-01
    run_backtest(store, horizon=28, n_windows=3, models=[MODEL], quantiles=LEVELS)
    result = inventory_actions(store, run_id=old.run_id, service_level=0.8)
    assert result.assumptions["calibration"]["windows"] == ["2025-10-08"]
    assert any("2025-11-05, 2025-12-03 left out" in n for n in result.notes)
    assert (result.table["policy"] == "calibrated").any()
    # the latest data's forecast may use all three
    run_forecast(store, horizon=28, models=[MODEL], quantiles=LEVELS)
    assert len(inventory_actions(store, service_level=0.8).assumptions["calibration"]["windows"]) == 3


def test_cli_calibrate_flags(shop_store):
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.services.forecast import run_backtest

    run_backtest(shop_store, horizon=28, n_windows=3, models=[MODEL], quantiles=LEVELS)
    location = str(shop_store.location)
    shop_store.close()
    runner = CliRunner()
    base = ["inventory", "--db", location, "--service-level", "0.9", "--json"]
    on = runner.invoke(app, base)
    assert on.exit_code == 0, on.output
    assert json.loads(on.stdout)["assumptions"]["calibration"]["method"] == "calibrated on backtests"
    off = runner.invoke(app, [*base, "--no-calibrate"])
    assert off.exit_code == 0, off.output
    payload = json.loads(off.stdout)
    assert payload["assumptions"]["calibration"]["method"].endswith("--no-calibrate)")
    assert {p["policy"] for p in payload["products"]} == {"nbinom"}
    table = runner.invoke(app, ["inventory", "--db", location, "--service-level", "0.9", "--calibrate"])
    assert table.exit_code == 0, table.output
    assert "calibrated on 3 backtest window(s)" in " ".join(table.stdout.split())


def _weekly_store(store):
    """60 weekly (Friday) series of overdispersed demand, one of which ends 3 weeks before the
    others (a backtest window then holds 1 of its 4 weeks)."""
    from trendcast.services.ingest import ingest_frames

    rng = np.random.default_rng(3)
    weeks = pd.date_range("2023-01-06", "2025-06-27", freq="W-FRI")
    rows = []
    for i in range(60):
        level = rng.gamma(2.0, 20.0)
        y = rng.negative_binomial(3, 3 / (3 + level * rng.gamma(4.0, 0.25, len(weeks))))
        rows.append(pd.DataFrame({"unique_id": f"P{i:02d}", "ds": weeks, "y": y.astype(float)}))
    sales = pd.concat(rows, ignore_index=True)
    sales = sales[(sales["unique_id"] != "P00") | (sales["ds"] <= weeks[-4])]
    ingest_frames(store, {"sales": sales}, source="test")


def test_a_weekly_run_is_calibrated_on_weekly_backtests_in_whole_weeks(store):
    """Walmart-like weekly sales: lead time and review of whole weeks are calibrated on weekly
    backtests (before: 'calibration is for daily runs only', LightGBM's levels covered 0.60 of
    Walmart's next two weeks at 0.90, docs/benchmarks.md); a series that ended inside a window
    does not cut the others' windows short."""
    from trendcast.services.forecast import run_backtest, run_forecast
    from trendcast.services.inventory import inventory_actions

    _weekly_store(store)
    run_forecast(store, horizon=4, models=[MODEL], quantiles=LEVELS)
    first = inventory_actions(store, service_level=0.9, lead_time=7, review=7)
    assert (first.table["policy"] == "nbinom").all()
    assert any("no weekly (Fridays) backtest of SeasonalNaive with quantiles is stored" in n
               and "--horizon 13" in n for n in first.notes), first.notes
    run_backtest(store, horizon=4, n_windows=6, models=[MODEL], quantiles=LEVELS)
    cal = inventory_actions(store, service_level=0.9, lead_time=7, review=7)
    summary = cal.assumptions["calibration"]
    assert summary["method"] == "calibrated on backtests" and len(summary["windows"]) == 6
    # 59 full series (+ P00 in the windows it covers) x 6 windows x 3 reviews of 2 weeks
    assert summary["cases"] >= 59 * 6 * 3 and 0.9 <= summary["coverage"] <= 1
    assert (cal.table["policy"] == "calibrated").sum() >= 50
    # lead time or review not whole weeks: the weekly periods cannot count the review cycles
    odd = inventory_actions(store, service_level=0.9, lead_time=3, review=7)
    assert (odd.table["policy"] == "nbinom").all()
    assert ("order-up-to levels (lead time 3 + review 7 days) are uncalibrated: a weekly (Fridays) run is "
            "calibrated when lead time and review are whole periods of 7 days") in odd.notes
    with pytest.raises(ModelError, match="whole periods of 7 days"):
        inventory_actions(store, service_level=0.9, lead_time=3, review=7, calibrate=True)
