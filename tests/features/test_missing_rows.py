"""Missing rows of a series: zero sales, or rows an export left out (features.series)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.features.series import fill_series

DAYS = pd.date_range("2017-05-01", "2017-08-10", freq="D")
WEEKLY = np.array([1700.0, 1800, 1750, 1820, 1900, 2000, 1500])  # Monday first


def stores(n: int = 6) -> pd.DataFrame:
    """Favorita-like daily transactions of ``n`` stores, every day."""
    return pd.concat([pd.DataFrame({"unique_id": f"S{i}", "ds": DAYS, "y": WEEKLY[DAYS.dayofweek] + 10 * i})
                      for i in range(n)], ignore_index=True)


def at(filled: pd.DataFrame, uid: str, day: str) -> float:
    return float(filled.loc[(filled["unique_id"] == uid) & (filled["ds"] == pd.Timestamp(day)), "y"].iloc[0])


def test_a_store_left_out_of_one_day_is_read_at_its_weekday_level():
    sales = stores()
    gap = (sales["unique_id"] == "S1") & (sales["ds"] == pd.Timestamp("2017-08-04"))  # a Friday
    filled = fill_series(sales[~gap], "D")
    assert at(filled, "S1", "2017-08-04") == WEEKLY[4] + 10
    assert filled.attrs["gaps_filled"] == 0 and filled.attrs["gaps_estimated"] == {"S1": 1}


def test_a_day_every_store_was_closed_and_a_long_closure_stay_zero_sales():
    sales = stores()
    christmas = sales["ds"] == pd.Timestamp("2017-07-25")  # no store has a row: the shop was closed
    renovation = (sales["unique_id"] == "S2") & sales["ds"].between("2017-07-01", "2017-07-04")  # 4 days
    filled = fill_series(sales[~christmas & ~renovation], "D")
    assert at(filled, "S0", "2017-07-25") == 0.0 and at(filled, "S2", "2017-07-02") == 0.0
    assert filled.attrs["gaps_filled"] == 6 * 1 + 4 and filled.attrs["gaps_estimated"] == {}


def test_a_slow_seller_missing_a_day_sold_nothing_that_day():
    sales = stores().assign(y=lambda d: np.where(d["unique_id"] == "S3", 2.0, d["y"]))  # p(0) = 0.14 a day
    gap = (sales["unique_id"] == "S3") & sales["ds"].isin(pd.to_datetime(["2017-08-01"]))
    filled = fill_series(sales[~gap], "D")
    assert at(filled, "S3", "2017-08-01") == 0.0 and filled.attrs["gaps_filled"] == 1
    # three days without a row: 0.14^3 = 0.0025, still plausible; five units a day are not
    gap3 = (sales["unique_id"] == "S3") & sales["ds"].between("2017-08-01", "2017-08-03")
    assert fill_series(sales[~gap3], "D").attrs["gaps_filled"] == 3
    fives = sales.assign(y=lambda d: np.where(d["unique_id"] == "S3", 5.0, d["y"]))
    assert fill_series(fives[~gap3], "D").attrs["gaps_estimated"] == {"S3": 3}


def test_a_series_that_missed_a_sale_day_before_the_gap_is_not_estimated():
    sales = stores()
    sales.loc[(sales["unique_id"] == "S4") & (sales["ds"] == pd.Timestamp("2017-07-30")), "y"] = 0.0
    gap = (sales["unique_id"] == "S4") & (sales["ds"] == pd.Timestamp("2017-08-04"))
    assert fill_series(sales[~gap], "D").attrs["gaps_filled"] == 1


def test_a_weekly_series_needs_a_whole_year_of_sales_before_its_missing_week():
    """Walmart's departments: one that sold every week for a year and misses a week is read at the
    mean of its last four weeks; one that also missed a week inside that year (a department
    without sales some weeks) keeps zero, as the gaps of its kind are (measured: estimating after
    only 26 weeks made seasonal naive's error on the changed rows worse, 609 -> 879)."""
    weeks = pd.date_range("2010-02-05", periods=80, freq="W-FRI")
    sales = pd.concat([pd.DataFrame({"unique_id": f"D{i}", "ds": weeks, "y": 1000.0 * (i + 1) + np.arange(80)})
                       for i in range(6)], ignore_index=True)
    gap = sales["unique_id"].isin(["D0", "D2"]) & (sales["ds"] == weeks[70])
    earlier = (sales["unique_id"] == "D2") & (sales["ds"] == weeks[40])  # 30 weeks before
    filled = fill_series(sales[~gap & ~earlier], "W-FRI")
    assert at(filled, "D0", str(weeks[70].date())) == 1000.0 + np.mean([66, 67, 68, 69])
    assert at(filled, "D2", str(weeks[70].date())) == 0.0 and filled.attrs["gaps_estimated"] == {"D0": 1}
    # and the last weeks of one series, up to the catalogue's end (a forecast)
    late = (sales["unique_id"] == "D1") & (sales["ds"] >= weeks[78])
    filled = fill_series(sales[~late], "W-FRI", end=weeks[-1])
    assert filled.attrs["tails_estimated"] == {"D1": 2} and filled.attrs["tails_filled"] == {}
    assert at(filled, "D1", str(weeks[79].date())) == 2000.0 + np.mean([74, 75, 76, 77])
