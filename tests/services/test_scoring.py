"""Scoring stored forecasts as actuals arrive: runs at a coarser level than the stored sales
are scored against summed, complete periods; a day corrected after it was scored is scored
again (every backend)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.features.frequency import covered_until
from trendcast.services.forecast import run_forecast
from trendcast.services.monitor import complete_until, score_pending
from trendcast.services.versions import forecast_from_version, train_version


def test_a_weekly_run_on_daily_sales_is_scored_on_whole_weeks(store):
    sales = make_sales(n_series=2, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-03-31"])  # a Sunday
    store.meta_set("freq", "D")
    run_forecast(store, horizon=2, models=["SeasonalNaive"], freq="W")  # weeks ending 04-07, 04-14
    store.upsert("sales", sales[sales["ds"] <= "2024-04-10"])  # the second week is still running
    assert score_pending(store) == 2  # was: DataValidationError ('the sales mix frequencies')
    scored = store.scores()
    week = sales[(sales["ds"] >= "2024-04-01") & (sales["ds"] <= "2024-04-07")]
    assert scored.set_index("unique_id")["y"].to_dict() == week.groupby("unique_id")["y"].sum().to_dict()
    assert (scored["ds"] == pd.Timestamp("2024-04-07")).all()
    store.upsert("sales", sales)
    assert score_pending(store) == 2 and score_pending(store) == 0  # the second week, once


def test_a_day_corrected_after_it_was_scored_is_scored_again(store):
    sales = make_sales(n_series=2, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    forecast_from_version(store)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-15"])
    assert score_pending(store) == 2 * 7
    day = (sales["unique_id"] == "P000") & (sales["ds"] == "2024-04-10")
    store.upsert("sales", sales[day].assign(y=sales.loc[day, "y"] - 2))  # a late return
    assert score_pending(store) == 1
    scored = store.scores()
    row = scored[(scored["unique_id"] == "P000") & (scored["ds"] == pd.Timestamp("2024-04-10"))]
    assert len(row) == 1 and row["y"].iloc[0] == sales.loc[day, "y"].iloc[0] - 2
    assert len(scored) == 2 * 7 and score_pending(store) == 0


def test_a_row_left_out_of_an_export_waits_for_its_actual(store):
    """P002 sells every day (about 11 a day); the day's export leaves its row out while the
    other products have theirs: not a day without sales, so not a miss in the monitor."""
    sales = make_sales(n_series=3, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    forecast_from_version(store)
    left_out = (sales["unique_id"] == "P002") & (sales["ds"] == "2024-04-12")
    store.upsert("sales", sales[(sales["ds"] <= "2024-04-15") & ~left_out])
    assert score_pending(store) == 3 * 7 - 1  # was 21: the day scored as zero sales
    assert store.waiting_scores() == 1 and score_pending(store) == 0
    from trendcast.services.monitor import waiting_note
    assert waiting_note(store).startswith("1 product-date(s) the forecasts cover have no row")
    scored = store.scores()
    assert len(scored) == 20 and scored["y"].notna().all()
    assert not ((scored["unique_id"] == "P002") & (scored["ds"] == pd.Timestamp("2024-04-12"))).any()
    store.upsert("sales", sales[left_out])  # the row arrives
    assert score_pending(store) == 1 and store.waiting_scores() == 0
    scored = store.scores()
    row = scored[(scored["unique_id"] == "P002") & (scored["ds"] == pd.Timestamp("2024-04-12"))]
    assert row["y"].tolist() == sales.loc[left_out, "y"].tolist()


def test_a_product_without_rows_for_longer_is_scored_as_selling_nothing(store):
    """Four days without a row (more than an export's slip): the product stopped selling,
    and the monitor must see the misses, the first day's too (it waited while it could still
    have been a left-out row)."""
    sales = make_sales(n_series=3, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    forecast_from_version(store)
    stopped = (sales["unique_id"] == "P002") & (sales["ds"] >= "2024-04-12")
    store.upsert("sales", sales[(sales["ds"] <= "2024-04-12") & ~stopped])
    assert score_pending(store) == 3 * 4 - 1 and store.waiting_scores() == 1  # one day: maybe left out
    store.upsert("sales", sales[(sales["ds"] <= "2024-04-15") & ~stopped])
    # the fourth day without a row: it stopped; the day that waited is scored as zero sales too
    assert score_pending(store) == 3 * 3 + 1 and store.waiting_scores() == 0
    scored = store.scores()
    scored = scored[(scored["unique_id"] == "P002") & (scored["ds"] >= pd.Timestamp("2024-04-12"))]
    assert scored["y"].tolist() == [0.0] * 4


def test_complete_until_is_the_last_period_that_has_ended():
    assert complete_until(pd.Timestamp("2024-04-07"), "W-SUN") == pd.Timestamp("2024-04-07")
    assert complete_until(pd.Timestamp("2024-04-10"), "W-SUN") == pd.Timestamp("2024-04-07")
    assert complete_until(pd.Timestamp("2024-04-30"), "MS") == pd.Timestamp("2024-04-01")
    assert complete_until(pd.Timestamp("2024-04-29"), "MS") == pd.Timestamp("2024-03-01")
    assert complete_until(pd.Timestamp("2024-06-29"), "QS-JAN") == pd.Timestamp("2024-01-01")


def test_covered_until_is_the_day_before_the_next_stored_period():
    assert covered_until(pd.Timestamp("2024-06-01"), "MS") == pd.Timestamp("2024-06-30")
    # a month dated by its last day covers to that day (was 07-30: an incomplete quarter counted)
    assert covered_until(pd.Timestamp("2024-06-30"), "ME") == pd.Timestamp("2024-06-30")
    assert covered_until(pd.Timestamp("2024-05-31"), "ME", target="QS-JAN") == pd.Timestamp("2024-05-31")
    assert covered_until(pd.Timestamp("2024-04-01"), "W-MON") == pd.Timestamp("2024-04-07")
    # weeks dated by their Friday end: spread into months they cover to the Friday; summed
    # into other weeks, each counts in the week of its date
    assert covered_until(pd.Timestamp("2012-06-29"), "W-FRI", "end", target="MS") == pd.Timestamp("2012-06-29")
    assert covered_until(pd.Timestamp("2012-06-29"), "W-FRI", "end", target="W-SUN") == pd.Timestamp("2012-07-05")
    assert covered_until(pd.Timestamp("2024-04-01"), "D") == pd.Timestamp("2024-04-01")


def test_a_quarterly_run_on_monthly_sales_is_scored_once_its_third_month_is_stored(store):
    months = pd.date_range("2022-01-01", "2024-06-01", freq="MS")
    sales = pd.concat([pd.DataFrame({"unique_id": uid, "ds": months, "y": 10.0 + i + (months.month % 3)})
                       for i, uid in enumerate(["A", "B"])], ignore_index=True)
    store.upsert("sales", sales[sales["ds"] <= "2024-03-01"])  # March is stored whole
    store.meta_set("freq", "MS")
    run = run_forecast(store, horizon=1, models=["SeasonalNaive"], freq="Q")
    # the first quarter's three months are stored: it is history, the forecast is of April-June
    assert set(run.forecasts["ds"]) == {pd.Timestamp("2024-04-01")}
    assert score_pending(store) == 0
    store.upsert("sales", sales)  # April, May and June: the quarter is whole (was: not scored
    assert score_pending(store) == 2  # until July's month was stored)
    scored = store.scores().set_index("unique_id")["y"].to_dict()
    assert scored == sales[sales["ds"] >= "2024-04-01"].groupby("unique_id")["y"].sum().to_dict()


@pytest.mark.parametrize("freq", ["MS", "W-FRI", "QS-JAN"])
def test_a_coarse_runs_origin_is_one_period_back_and_its_mase_scale_spans_seasons(store, freq):
    """Before: a monthly run's origin was its first date less the gap to its second (Feb 1 -
    28 days = Jan 4), and its MASE scale came from a year of history, one seasonal difference
    or none (MASE 10.1 one month, 0.44 the next on wineind; NaN for weekly and quarterly)."""
    import numpy as np

    from trendcast.models.validation import mase_scale

    dates = pd.date_range("2016-01-01", periods=120 if freq != "QS-JAN" else 40, freq=freq)
    rng = np.random.default_rng(3)
    y = 100 + 20 * np.sin(2 * np.pi * np.arange(len(dates)) / 12) + rng.normal(0, 5, len(dates))
    sales = pd.DataFrame({"unique_id": "A", "ds": dates, "y": y.round(1)})
    cut = dates[-6]
    store.upsert("sales", sales[sales["ds"] <= cut])
    store.meta_set("freq", freq)
    run_forecast(store, horizon=3, models=["SeasonalNaive"])
    store.upsert("sales", sales)
    assert score_pending(store) == 3
    scored = store.scores()
    assert (scored["origin"] == cut).all()  # the last stored period before the run
    season = {"MS": 12, "W-FRI": 52, "QS-JAN": 4}[freq]
    history = sales[(sales["ds"] <= cut) & (sales["ds"] > cut - pd.Timedelta(days=3 * 366))]
    expected = mase_scale(history, season)["A"]
    assert np.isfinite(scored["scale"]).all()
    assert scored["scale"].iloc[0] == pytest.approx(expected, rel=0.25)  # several seasons' differences


def test_the_daily_update_says_what_waits_for_a_left_out_row(store, tmp_path):
    from trendcast.services.update import run_update

    sales = make_sales(n_series=3, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    store.meta_set("freq", "D")
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    forecast_from_version(store)
    days = sales[(sales["ds"] > "2024-04-08") & (sales["ds"] <= "2024-04-12")]
    path = tmp_path / "days.csv"
    days[~((days["unique_id"] == "P002") & (days["ds"] == "2024-04-12"))].to_csv(path, index=False)
    result = run_update(store, [path], refit="never")
    assert result.scored == 3 * 4 - 1
    assert any(n.startswith("1 product-date(s) the forecasts cover have no row") for n in result.notes)
