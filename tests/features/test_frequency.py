"""Frequencies from the calendar (daily to yearly, any weekly anchor), gaps that stay gaps,
aggregation to coarser periods and calendar flags per period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.data.calendar import festival_calendar
from trendcast.errors import DataValidationError
from trendcast.features.exog import period_flags
from trendcast.features.frequency import check_frequency, default_season_length, infer_freq, period_labels
from trendcast.features.series import fill_series, resample_sales


def frame(dates, uid="a"):
    return pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(list(dates)), "y": 1.0})


@pytest.mark.parametrize(("alias", "expected", "season"), [
    ("D", "D", 7), ("W-FRI", "W-FRI", 52), ("W-SUN", "W-SUN", 52), ("MS", "MS", 12), ("ME", "ME", 12),
    ("QS-JAN", "QS-JAN", 4), ("QE-DEC", "QE-MAR", 4), ("YS-JAN", "YS-JAN", 1),
])
def test_every_frequency_is_read_from_the_calendar_even_with_gaps(alias, expected, season):
    dates = pd.date_range("2019-01-01", periods=30, freq=alias)
    gappy = dates.delete([3, 4, 5, 11, 20])  # missing periods inside the series
    df = pd.concat([frame(gappy, "a"), frame(dates[10:], "b")])  # b starts late
    assert infer_freq(df) == expected
    assert default_season_length(expected) == season
    check_frequency(df, expected)  # gaps are gaps, not another frequency
    filled = fill_series(df, expected)
    assert filled.attrs["gaps_filled"] == 5 and (filled.loc[filled["unique_id"] == "a", "y"] == 0).sum() == 5


def test_walmart_style_weekly_series_with_quarter_long_gaps_are_weekly():
    weeks = pd.date_range("2010-02-05", periods=143, freq="W-FRI")
    sparse = weeks[::13]  # 91 days apart: one sale a quarter
    df = pd.concat([frame(weeks, "1_1"), frame(sparse, "11_47")])
    assert infer_freq(df) == "W-FRI"
    check_frequency(df, "W-FRI")


def test_the_seeds_six_month_table_is_monthly():
    df = frame(pd.date_range("2024-01-01", periods=6, freq="MS")).assign(y=[100, 110, 120, 130, 140, 150])
    assert infer_freq(df) == "MS"


@pytest.mark.parametrize("other", [
    pd.date_range("2024-01-03", periods=10, freq="7D"),  # weekly among daily
    pd.date_range("2024-01-01", periods=10, freq="2D"),  # every other day
    pd.date_range("2024-01-01", periods=10, freq="MS"),  # monthly among daily
])
def test_a_series_on_another_calendar_is_refused_with_its_id(other):
    daily = frame(pd.date_range("2024-01-01", periods=300), "daily")
    with pytest.raises(DataValidationError, match=r"catalogue is daily .* 1 series \(odd\)"):
        check_frequency(pd.concat([daily, frame(other, "odd")]), "D")


def test_a_sparse_daily_seller_is_gaps_not_another_frequency():
    days = pd.date_range("2024-01-01", periods=200)
    rng = np.random.default_rng(0)
    sparse = days[np.sort(rng.choice(200, 40, replace=False))]
    check_frequency(pd.concat([frame(days, "fast"), frame(sparse, "slow")]), "D")


def test_period_labels_follow_the_alias():
    days = pd.Series(pd.to_datetime(["2024-11-09", "2024-11-11", "2024-11-30", "2024-12-01"]))
    assert period_labels(days, "W-FRI").dt.strftime("%m-%d").tolist() == ["11-15", "11-15", "12-06", "12-06"]
    assert period_labels(days, "MS").dt.strftime("%m-%d").tolist() == ["11-01", "11-01", "11-01", "12-01"]
    assert period_labels(days, "ME").dt.strftime("%m-%d").tolist() == ["11-30", "11-30", "11-30", "12-31"]
    assert period_labels(days, "QS-JAN").dt.strftime("%m-%d").tolist() == ["10-01"] * 4


def test_daily_sales_aggregate_to_months_and_a_double_11_month_carries_the_flag():
    days = pd.date_range("2024-09-01", "2024-12-31")
    sales = pd.DataFrame({"unique_id": "a", "ds": days, "y": 2.0, "price": np.where(days.month == 11, 8.0, 10.0),
                          "promo": 0.0})
    monthly = resample_sales(sales, "MS")
    assert monthly["ds"].dt.month.tolist() == [9, 10, 11, 12]
    assert monthly["y"].tolist() == [60.0, 62.0, 60.0, 62.0]
    assert monthly["price"].tolist() == [10.0, 10.0, 8.0, 10.0]
    flags = period_flags(pd.Timestamp("2024-09-01"), pd.Timestamp("2024-12-01"), "MS", 2,
                         festival_calendar("2024-08-01", "2025-03-31")).set_index("ds")
    assert flags.loc["2024-11-01", "fest_double_11"] == 1.0 and flags.loc["2024-10-01", "fest_double_11"] == 0.0
    assert flags.loc["2025-01-01":"2025-02-01", "fest_spring_festival_period"].max() == 1.0  # the horizon too


def test_a_frame_that_carries_the_run_frequency_is_not_second_guessed():
    one = pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2025-12-31")], "y": [3.0]})
    assert infer_freq(one) == "ME"  # a lone month end looks monthly ...
    one.attrs["freq"] = "D"
    assert infer_freq(one) == "D"  # ... but the run said daily


def test_monthly_sales_dated_mid_month_are_not_taken_for_daily_sales():
    """Before: dates on the 15th (or a leap year's 28 February as 'month end') made the
    catalogue daily, and every other day of the month was filled with zero sales."""
    months = pd.date_range("2022-01-01", periods=24, freq="MS") + pd.Timedelta(days=14)
    df = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 24), "ds": np.tile(months, 2), "y": 5.0})
    assert infer_freq(df) == "MS"
    with pytest.raises(DataValidationError, match="dated inside their periods.*--date-format %Y-%m"):
        fill_series(df)
    ends = pd.date_range("2023-01-31", periods=24, freq="ME").to_series()
    ends[ends == pd.Timestamp("2024-02-29")] = pd.Timestamp("2024-02-28")
    careless = pd.DataFrame({"unique_id": "a", "ds": ends.to_numpy(), "y": 1.0})
    with pytest.raises(DataValidationError, match="dated inside their periods, e.g. 'a' at 2024-02-28"):
        fill_series(careless)
    # a sparse daily seller among daily ones stays daily
    days = pd.DataFrame({"unique_id": ["x"] * 3 + ["slow"] * 4,
                         "ds": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03",
                                               "2024-02-10", "2024-03-20", "2024-05-02"]), "y": 1.0})
    assert infer_freq(days) == "D"
    # slow sellers of a daily shop, each more than four weeks apart but on any day, stay daily
    rng = np.random.default_rng(1)
    starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 27, 40), unit="D")
    sparse = pd.DataFrame({"unique_id": np.repeat([f"s{i}" for i in range(10)], 4),
                           "ds": [s + pd.Timedelta(days=35 * k) for s in starts[:10] for k in range(4)],
                           "y": 1.0})
    assert infer_freq(sparse) == "D"
