"""What-if plans: parsing with file/row/column errors, and applying them to future covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError
from trendcast.features.exog import add_covariates, future_covariates
from trendcast.features.scenario import apply_plan, event_flags, parse_plan

PRODUCTS = pd.DataFrame({"unique_id": ["A", "B", "C"], "category": ["toys", "toys", "food"],
                         "department": ["x", "x", "y"]})
CALENDAR = pd.DataFrame({"ds": pd.to_datetime(["2024-11-11", "2025-01-01"]),
                         "name": ["Double 11", "New Year"], "kind": ["festival", "holiday"]})
FIRST, LAST = pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-14")


def _plan(**cols: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(cols)
    df.attrs["source"] = "plan.csv"
    return df


def _parse(df: pd.DataFrame):
    return parse_plan(df, products=PRODUCTS, calendar=CALENDAR, first=FIRST, last=LAST)


def test_category_rows_expand_to_products_and_days():
    plan = _parse(_plan(unique_id=["A", ""], category=["", "food"], start=["2025-03-01", "2025-03-03"],
                        end=["2025-03-02", ""], discount=["10", ""], promo=["1", "yes"]))
    days = plan.days.set_index(["unique_id", "ds"])
    assert len(days) == 3
    assert days.loc[("A", pd.Timestamp("2025-03-02")), "discount"] == 10
    assert days.loc[("C", pd.Timestamp("2025-03-03")), "promo"] == 1
    assert np.isnan(days.loc[("C", pd.Timestamp("2025-03-03")), "discount"])
    assert plan.ids == ["A", "C"]


@pytest.mark.parametrize("cols, column, row", [
    ({"unique_id": ["A", "Z"], "start": ["2025-03-01", "2025-03-01"], "promo": ["1", "1"]}, "unique_id", 2),
    ({"category": ["garden"], "start": ["2025-03-01"], "promo": ["1"]}, "category", 1),
    ({"unique_id": ["A"], "start": ["2025-04-01"], "promo": ["1"]}, "start", 1),
    ({"unique_id": ["A"], "start": ["2025-02-28"], "promo": ["1"]}, "start", 1),
    ({"unique_id": ["A"], "start": ["11/31/2025"], "promo": ["1"]}, "start", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "end": ["2025-03-02"], "promo": ["1"]}, "end", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "price": ["-3"]}, "price", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "discount": ["100"]}, "discount", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "price": ["3"], "discount": ["5"]}, "discount", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "promo": ["maybe"]}, "promo", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"], "event": ["Christmas"]}, "event", 1),
    ({"unique_id": ["A"], "start": ["2025-03-05"]}, "price/discount/promo/event", 1),
    ({"unique_id": ["A"], "category": ["toys"], "start": ["2025-03-05"], "promo": ["1"]},
     "unique_id/category", 1),
])
def test_bad_rows_are_refused_with_file_row_and_column(cols, column, row):
    with pytest.raises(DataValidationError, match=rf"plan\.csv: .*row {row}, column '{column}'") as exc:
        _parse(_plan(**cols))
    problem = exc.value.problems[0]
    assert (problem["file"], problem["row"], problem["column"]) == ("plan.csv", row, column)


def test_a_chinese_planners_plan_reads_as_written():
    """商品/开始/结束/折扣/促销 headers, 9折 (pay 90%: 10% off), 是/否 and 2025/3/5 dates:
    before, refused as unknown columns; now the same plan as the English one."""
    zh = _parse(_plan(商品=["A", "B"], 开始=["2025/3/5", "2025-03-08"], 结束=["2025/3/6", ""],
                      折扣=["9折", "8.5折"], 促销=["是", "否"]))
    en = _parse(_plan(unique_id=["A", "B"], start=["2025-03-05", "2025-03-08"], end=["2025-03-06", ""],
                      discount=["10", "15"], promo=["1", "0"]))
    pd.testing.assert_frame_equal(zh.days, en.days)


@pytest.mark.parametrize("value", ["03/04/2025", "4.3.2025", "05-06-2025"])
def test_a_date_whose_day_and_month_could_be_either_is_refused(value):
    """03/04/2025 is 4 March to a Chinese or European planner and 3 April to pandas: it was
    read month first without a word."""
    with pytest.raises(DataValidationError, match=r"row 1, column 'start': .*day and month could be either"):
        _parse(_plan(unique_id=["A"], start=[value], promo=["1"]))
    # a day above 12 says which is which
    assert _parse(_plan(unique_id=["A"], start=["13/03/2025"], promo=["1"])).days["ds"].tolist() == \
        [pd.Timestamp("2025-03-13")]


def test_a_discount_written_as_a_fraction_is_refused():
    with pytest.raises(DataValidationError, match=r"column 'discount': '0.1', expected a discount in percent"):
        _parse(_plan(unique_id=["A"], start=["2025-03-05"], discount=["0.1"]))


def test_overlapping_rows_and_unknown_columns_are_refused():
    with pytest.raises(DataValidationError, match=r"rows \[1, 2\] overlap"):
        _parse(_plan(unique_id=["A", ""], category=["", "toys"], start=["2025-03-01", "2025-03-01"],
                     end=["2025-03-03", "2025-03-01"], promo=["1", "0"]))
    with pytest.raises(DataValidationError, match=r"unknown or repeated plan column\(s\) \['budget'\]"):
        _parse(_plan(unique_id=["A"], start=["2025-03-01"], budget=["3"]))
    with pytest.raises(DataValidationError, match="no rows"):
        _parse(_plan(unique_id=[], start=[]))


def test_products_that_are_not_forecast_are_refused():
    with pytest.raises(DataValidationError, match="row 1, column 'unique_id'"):
        parse_plan(_plan(unique_id=["C"], start=["2025-03-01"], promo=["1"]), products=PRODUCTS,
                   calendar=CALENDAR, first=FIRST, last=LAST, series=["A", "B"])


def _future():
    days = pd.date_range("2025-02-01", "2025-02-28")
    sales = pd.DataFrame({"unique_id": np.repeat(["A", "B"], len(days)), "ds": np.tile(days, 2),
                          "y": 5.0, "price": np.tile(np.where(days.day > 25, 8.0, 10.0), 2),
                          "promo": np.tile((days.day > 25).astype(float), 2)})
    exog = add_covariates(sales[["unique_id", "ds", "y"]], sales=sales, calendar=CALENDAR,
                          products=PRODUCTS, horizon=14)
    return future_covariates(exog, 14, "D")[0]


def test_plan_replaces_assumed_prices_promotions_and_events():
    future = _future()
    assert (future["price"] == 10.0).all() and (future["promo"] == 0).all()
    plan = _parse(_plan(unique_id=["A", "B"], start=["2025-03-02", "2025-03-05"], end=["2025-03-03", ""],
                        discount=["20", ""], price=["", "7.5"], promo=["1", ""], event=["", "Double 11"]))
    out, notes = apply_plan(future, plan, CALENDAR)
    by = out.set_index(["unique_id", "ds"])
    assert by.loc[("A", pd.Timestamp("2025-03-02")), "price"] == pytest.approx(8.0)
    assert by.loc[("A", pd.Timestamp("2025-03-02")), "promo"] == 1
    assert by.loc[("A", pd.Timestamp("2025-03-04")), "price"] == 10.0  # outside the plan's days
    assert by.loc[("B", pd.Timestamp("2025-03-05")), "price"] == 7.5
    assert by.loc[("B", pd.Timestamp("2025-03-05")), "promo"] == 0  # the row leaves promo alone
    # Double 11 is a festival: its flags are raised on B's planned day only
    assert by.loc[("B", pd.Timestamp("2025-03-05")), "fest_double_11"] == 1
    assert by.loc[("A", pd.Timestamp("2025-03-05")), "fest_double_11"] == 0
    assert notes == []
    assert len(out) == len(future) and (out[["unique_id", "ds"]].values == future[["unique_id", "ds"]].values).all()


def test_event_the_history_never_saw_is_noted():
    future = _future().drop(columns=["ev_holiday"], errors="ignore")
    plan = _parse(_plan(unique_id=["A"], start=["2025-03-02"], event=["New Year"]))
    _, notes = apply_plan(future, plan, CALENDAR)
    assert any("New Year" in n and "ev_holiday" in n for n in notes)
    assert event_flags("New Year", CALENDAR) == {"ev_holiday": 1.0, "event_any": 1.0}


def test_a_plan_by_day_reaches_a_weekly_forecast_on_the_weeks_that_hold_its_days():
    """Before: plan days were matched to weekly rows by date, so a promotion from Monday to
    Wednesday (not the week's Friday label) changed nothing, and said nothing."""
    weeks = pd.to_datetime(["2025-03-07", "2025-03-14"])  # W-FRI labels: 1-7 and 8-14 March
    future = pd.DataFrame({"unique_id": ["A", "A", "B", "B"], "ds": list(weeks) * 2,
                           "price": [20.0, 20.0, 10.0, 10.0], "promo": 0.0})
    plan = _parse(_plan(unique_id=["A", "B", "B"], start=["2025-03-03", "2025-03-01", "2025-03-08"],
                        end=["2025-03-05", "2025-03-07", ""], promo=["1", "", ""],
                        price=["", "8", ""], discount=["", "", "70"]))
    out, _ = apply_plan(future, plan, CALENDAR, "W-FRI")
    by = out.set_index(["unique_id", "ds"])
    assert by.loc[("A", weeks[0]), "promo"] == pytest.approx(3 / 7)  # three of the week's days
    assert by.loc[("A", weeks[1]), "promo"] == 0
    assert by.loc[("A", weeks[0]), "price"] == 20.0
    assert by.loc[("B", weeks[0]), "price"] == pytest.approx(8.0)  # all seven days planned
    assert by.loc[("B", weeks[1]), "price"] == pytest.approx(10.0 * (1 - 0.70 / 7))  # one day at -70%
