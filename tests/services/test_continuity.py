"""A daily update whose files skip periods for the whole catalogue (a missed export) is refused:
stored, those periods would be zero sales of every product."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import DataValidationError
from trendcast.services.update import as_jobs, ingest_all, run_update
from trendcast.services.versions import train_version


def day_file(tmp_path, sales, *days: str):
    path = tmp_path / f"{days[0]}.csv"
    sales[sales["ds"].isin(pd.to_datetime(list(days)))].to_csv(path, index=False)
    return path


@pytest.fixture
def shop(store):
    sales = make_sales(n_series=3, n_days=120)[["unique_id", "ds", "y"]]
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    return store, sales


def test_a_missed_export_is_refused_and_nothing_is_stored(shop, tmp_path):
    store, sales = shop
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    before = (store.count("sales"), store.count("runs"))
    with pytest.raises(DataValidationError, match=r"no product has a sales row for 2024-04-23, "
                       r"2024-04-24 .*each of the 60 periods before had sales.*--allow-gaps"):
        run_update(store, [day_file(tmp_path, sales, "2024-04-25")], refit="never")
    assert (store.count("sales"), store.count("runs")) == before


def test_the_missing_days_file_with_todays_goes_through(shop, tmp_path):
    store, sales = shop
    files = [day_file(tmp_path, sales, "2024-04-25"), day_file(tmp_path, sales, "2024-04-23", "2024-04-24")]
    rows, notes = ingest_all(store, as_jobs(files))
    assert rows == 9 and not any("no product has" in n for n in notes)


def test_allow_gaps_stores_a_closed_shops_days_as_zero_with_a_note(shop, tmp_path):
    store, sales = shop
    rows, notes = ingest_all(store, as_jobs([day_file(tmp_path, sales, "2024-04-25")]), allow_gaps=True)
    assert rows == 3 and store.sales_span()[1] == pd.Timestamp("2024-04-25")
    assert any("2024-04-23, 2024-04-24" in n and "(--allow-gaps)" in n for n in notes)


def test_a_closing_day_in_the_calendar_is_not_a_missed_export(shop, tmp_path):
    store, sales = shop
    store.upsert("calendar_events", pd.DataFrame({"ds": pd.to_datetime(["2024-04-23", "2024-04-24"]),
                                           "name": ["Shop holiday", "Shop holiday 2"],
                                           "region": ["", ""]}))
    _, notes = ingest_all(store, as_jobs([day_file(tmp_path, sales, "2024-04-25")]))
    assert any("calendar: 2024-04-23 Shop holiday, 2024-04-24 Shop holiday 2" in n for n in notes)


def test_a_shop_with_empty_days_before_is_not_refused(shop, tmp_path):
    store, sales = shop
    closed = pd.to_datetime(["2024-04-07", "2024-04-14", "2024-04-21"])  # shut on Sundays
    store.delete_sales(["P000", "P001", "P002"])
    store.upsert("sales", sales[(sales["ds"] <= "2024-04-22") & ~sales["ds"].isin(closed)])
    _, notes = ingest_all(store, as_jobs([day_file(tmp_path, sales, "2024-04-25")]))
    assert any("3 of the 60 periods before had no sale either" in n for n in notes)


def test_one_empty_day_before_does_not_make_the_next_missed_export_usual(shop, tmp_path):
    """A day stored empty (last Christmas, a gap let through with --allow-gaps) must not wave
    every later missed export through; a calendar event does not count as one."""
    store, sales = shop
    store.delete_sales(["P000", "P001", "P002"])
    gone = pd.to_datetime(["2024-04-01", "2024-04-10", "2024-04-11"])
    store.upsert("sales", sales[(sales["ds"] <= "2024-04-22") & ~sales["ds"].isin(gone)])
    store.upsert("calendar_events", pd.DataFrame({"ds": gone[1:], "name": ["Closed", "Closed 2"],
                                                  "region": ["", ""]}))
    with pytest.raises(DataValidationError, match="59 of the 60 periods before had sales"):
        ingest_all(store, as_jobs([day_file(tmp_path, sales, "2024-04-25")]))


def test_a_missed_week_is_refused(store, tmp_path):
    weeks = pd.date_range("2023-01-06", periods=40, freq="W-FRI")
    sales = pd.DataFrame({"unique_id": "A", "ds": weeks, "y": 5.0})
    store.upsert("sales", sales.iloc[:30])
    with pytest.raises(DataValidationError, match=r"no product has a sales row for 2023-08-04 "):
        ingest_all(store, as_jobs([day_file(tmp_path, sales, f"{weeks[31]:%Y-%m-%d}")]))
    assert store.count("sales") == 30


def test_ingest_of_sales_or_of_orders_building_sales_is_checked_too(shop, tmp_path):
    from trendcast.services.ingest import ingest_file

    store, sales = shop
    with pytest.raises(DataValidationError, match="2024-04-23, 2024-04-24"):
        ingest_file(store, day_file(tmp_path, sales, "2024-04-25"), "sales")
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,unique_id,ts,quantity\n1,P000,2024-04-25 10:00,2\n")
    before = store.count("orders")
    with pytest.raises(DataValidationError, match="2024-04-23, 2024-04-24"):
        ingest_file(store, orders, "orders", aggregate="D")
    assert store.count("orders") == before and store.sales_span()[1] == pd.Timestamp("2024-04-22")
    ingest_file(store, orders, "orders")  # orders alone make no sales days: nothing to check
    report = ingest_file(store, orders, "orders", aggregate="D", allow_gaps=True)
    assert store.sales_span()[1] == pd.Timestamp("2024-04-25")
    assert any("(--allow-gaps)" in n for n in report.notes)


def test_a_first_file_with_weeks_no_product_has_is_stored_and_the_weeks_named(store, tmp_path):
    from trendcast.services.ingest import ingest_file

    weeks = pd.date_range("2023-01-06", periods=20, freq="W-FRI")
    sales = pd.concat([pd.DataFrame({"unique_id": u, "ds": weeks, "y": 5.0}) for u in "AB"])
    sales = sales[~sales["ds"].isin(weeks[[7, 12]])]
    path = tmp_path / "first.csv"
    sales.to_csv(path, index=False)
    report = ingest_file(store, path, "sales")
    assert store.count("sales") == 36
    assert any(n.startswith("no product has a sales row for 2 period(s) inside the file(s) "
                            "(2023-02-24, 2023-03-31)") for n in report.notes), report.notes
    again = ingest_file(store, path, "sales")  # a later file is checked against the stored ones
    assert not any("inside the file" in n for n in again.notes)


def test_a_product_left_out_of_the_days_file_is_named(store, tmp_path):
    """The day's file has every series but one that sold every day: it is stored as no row, and
    the ingest says the forecasts will read it at its level (fix the export now). A slow seller
    missing from the file is not named (a day without its sale is plausible)."""
    sales = make_sales(n_series=3, n_days=120)[["unique_id", "ds", "y"]]
    slow = pd.DataFrame({"unique_id": "SLOW", "ds": sales["ds"].drop_duplicates(), "y": 1.0})
    sales = pd.concat([sales, slow], ignore_index=True)
    ingest_all(store, as_jobs([day_file(tmp_path, sales, *sales.loc[sales["ds"] <= "2024-04-22", "ds"]
                                        .dt.strftime("%Y-%m-%d").unique())]))
    day = sales[(sales["ds"] == "2024-04-23") & ~sales["unique_id"].isin(["P001", "SLOW"])]
    path = tmp_path / "day.csv"
    day.to_csv(path, index=False)
    rows, notes = ingest_all(store, as_jobs([path]))
    assert rows == 2
    assert ("1 product(s) that sold in every period before have no row for 2024-04-23 though the rest of the "
            "shop has (P001): forecasts read those periods as their recent level; if the export left them "
            "out, ingest their rows") in notes


@pytest.fixture
def units_shop(store):
    """Eight products selling 5-40 a day, the workspace's frequency recorded (as ingest does)."""
    sales = make_sales(n_series=8, n_days=120)[["unique_id", "ds", "y"]]
    sales["y"] = sales["y"] * 3 + 5
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    store.meta_set("freq", "D")
    return store, sales


@pytest.mark.parametrize("factor, said", [(100, "the new sales are 1"), (0.01, "the new sales are 1/")])
def test_a_days_file_in_another_unit_stops_the_update_and_stores_nothing(units_shop, tmp_path, factor, said):
    """Cents for currency units (x100), or the reverse: stored, every product jumps."""
    store, sales = units_shop
    day = sales[sales["ds"] == "2024-04-23"].assign(y=lambda d: d["y"] * factor)
    path = tmp_path / "day.csv"
    day.to_csv(path, index=False)
    before = store.count("sales")
    with pytest.raises(DataValidationError, match=said + r".* 8 of the 8 products that sold in both moved "
                       r"20-fold or more the same way .*another unit .*Nothing was stored.*`trendcast ingest`"):
        ingest_all(store, as_jobs([path]))
    assert store.count("sales") == before


def test_a_person_ingesting_it_gets_a_note_and_the_usual_days_pass(units_shop, tmp_path):
    from trendcast.services.ingest import ingest_file

    store, sales = units_shop
    usual = tmp_path / "usual.csv"
    sales[sales["ds"] == "2024-04-23"].assign(y=lambda d: d["y"] * 3).to_csv(usual, index=False)  # a busy day
    assert not any("another unit" in n for n in ingest_all(store, as_jobs([usual]))[1])
    cents = tmp_path / "cents.csv"
    sales[sales["ds"] == "2024-04-24"].assign(y=lambda d: d["y"] * 100).to_csv(cents, index=False)
    report = ingest_file(store, cents, "sales")
    assert any(n.startswith("the new sales are") and "If so, undo this batch" in n for n in report.notes)
    assert store.count("sales") == 8 * (113 + 2)  # stored: a person asked for it


def test_a_jump_on_a_calendar_event_is_noted_not_refused(units_shop, tmp_path):
    """Double 11 may sell 20 times a normal day: the calendar says why."""
    store, sales = units_shop
    store.upsert("calendar_events", pd.DataFrame({"ds": [pd.Timestamp("2024-04-23")], "name": ["Mega Sale"],
                                                  "kind": ["festival"], "region": [""], "source": ["test"]}))
    path = tmp_path / "day.csv"
    sales[sales["ds"] == "2024-04-23"].assign(y=lambda d: d["y"] * 30).to_csv(path, index=False)
    notes = ingest_all(store, as_jobs([path]))[1]
    assert any("(calendar: 2024-04-23 Mega Sale)" in n for n in notes)
