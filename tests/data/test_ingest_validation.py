"""One test per kind of bad input, plus the file formats and atomicity/idempotency."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import DataValidationError, InputFileError
from trendcast.services.info import workspace_info
from trendcast.services.ingest import ingest_file


def write_csv(path, df):
    df.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


@pytest.fixture
def good_csv(tmp_path):
    return write_csv(tmp_path / "sales.csv", make_sales(n_series=5, n_days=150))


def test_good_file_twice_changes_nothing(store, good_csv):
    first = ingest_file(store, good_csv, "sales")
    assert first.writes[-1].inserted == 750
    info_before = workspace_info(store)
    second = ingest_file(store, good_csv, "sales")
    assert second.writes[-1].inserted == 0 and second.writes[-1].unchanged == 750
    assert workspace_info(store)["tables"] == info_before["tables"]


def test_unparseable_date_in_row_500_names_row_and_column_and_stores_nothing(store, good_csv, tmp_path):
    ingest_file(store, good_csv, "sales")
    before = store.read("sales")
    df = make_sales(n_series=5, n_days=150, seed=1)
    df["ds"] = df["ds"].dt.strftime("%Y-%m-%d")
    df.loc[499, "ds"] = "2024-02-30"  # data row 500
    bad = write_csv(tmp_path / "bad.csv", df)
    with pytest.raises(DataValidationError, match=r"bad\.csv: row 500 \(line 501\), column 'ds': got '2024-02-30'") as err:
        ingest_file(store, bad, "sales")
    assert err.value.problems[0]["row"] == 500 and err.value.problems[0]["column"] == "ds"
    pd.testing.assert_frame_equal(store.read("sales"), before)


def test_missing_required_column(store, tmp_path):
    path = write_csv(tmp_path / "s.csv", make_sales().drop(columns="y"))
    with pytest.raises(DataValidationError, match=r"(?s)missing required column\(s\) 'y'.*--map y="):
        ingest_file(store, path, "sales")


def test_non_numeric_quantity(store, tmp_path):
    df = make_sales().astype({"y": object})
    df.loc[6, "y"] = "seven"
    path = write_csv(tmp_path / "s.csv", df)
    with pytest.raises(DataValidationError, match=r"row 7 \(line 8\), column 'y': got 'seven', expected a number >= 0"):
        ingest_file(store, path, "sales")


def test_negative_quantity(store, tmp_path):
    df = make_sales()
    df.loc[2, "y"] = -3
    path = write_csv(tmp_path / "s.csv", df)
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'y': got '-3.0', expected a number >= 0"):
        ingest_file(store, path, "sales")


def test_exact_duplicate_rows_are_dropped_and_counted(store, tmp_path):
    df = make_sales()
    df = pd.concat([df, df.iloc[[10, 11]]], ignore_index=True)
    path = write_csv(tmp_path / "s.csv", df)
    report = ingest_file(store, path, "sales")
    assert store.count("sales") == len(df) - 2
    assert any("2 exact duplicate row(s)" in n for n in report.notes)


def test_duplicate_keys_name_both_rows(store, tmp_path):
    df = make_sales()
    df = pd.concat([df, df.iloc[[10]].assign(y=123.0)], ignore_index=True)
    path = write_csv(tmp_path / "s.csv", df)
    n = len(df)
    with pytest.raises(DataValidationError, match=rf"(?s)row {n} \(line {n + 1}\), column 'unique_id \+ ds'.*row 11 \(line 12\) has the same key"):
        ingest_file(store, path, "sales")


def test_unknown_products_in_reviews(store, tmp_path, good_csv):
    ingest_file(store, good_csv, "sales")
    reviews = pd.DataFrame({"unique_id": ["P000", "GHOST"], "ts": ["2024-03-01 10:00", "2024-03-02 11:00"],
                            "rating": [5, 1], "text": ["great", "bad"]})
    path = write_csv(tmp_path / "r.csv", reviews)
    with pytest.raises(DataValidationError, match=r"(?s)row 2 \(line 3\), column 'unique_id': got 'GHOST'.*--add-products"):
        ingest_file(store, path, "reviews")
    assert store.count("reviews") == 0
    report = ingest_file(store, path, "reviews", add_products=True)
    assert store.count("reviews") == 2 and any("registered 1 new product" in n for n in report.notes)


def test_unknown_products_are_named_once_each_with_their_rows(store, tmp_path, good_csv):
    """A review corpus mapped by category (online_shopping_10_cats: 62,774 rows, 10 categories)
    listed its first ten rows, all '书籍': the other nine names were never seen."""
    ingest_file(store, good_csv, "sales")
    ids = ["书籍"] * 3 + ["平板"] * 5 + ["P000"] + ["水果"] + [f"X{i:02d}" for i in range(10)]
    reviews = pd.DataFrame({"unique_id": ids, "ts": "2024-03-01 10:00", "rating": 5, "text": "ok"})
    with pytest.raises(DataValidationError) as info:
        ingest_file(store, write_csv(tmp_path / "r.csv", reviews), "reviews")
    lines = str(info.value).splitlines()
    assert lines[0] == "19 row(s) refer to 13 unknown product(s), nothing was stored:"
    assert lines[1].endswith("row 4 (line 5), column 'unique_id': got '平板', expected a product id the store knows")
    assert lines[2] == "  ... and 4 more row(s) with '平板'"
    assert lines[3].endswith("row 1 (line 2), column 'unique_id': got '书籍', expected a product id the store knows")
    assert lines[4] == "  ... and 2 more row(s) with '书籍'"
    assert "got '水果'" in lines[5] and "X00" in lines[6]
    assert "  ... and 3 more unknown product id(s)" in lines
    assert [p["value"] for p in info.value.problems][:2] == ["平板", "书籍"]
    assert store.count("reviews") == 0


def test_undecodable_text_names_row_and_column(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"unique_id,ts,text\nP1,2024-01-01,fine\nP1,2024-01-02,caf\xe9 latin-1\n")
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'text'.*not valid UTF-8"):
        ingest_file(store, path, "reviews", add_products=True)


def test_unparseable_timestamp_in_orders(store, tmp_path):
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "unique_id": ["A", "B"],
                           "ts": ["2024-01-01 09:00", "yesterday"], "quantity": [1, 2]})
    path = write_csv(tmp_path / "o.csv", orders)
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'ts': got 'yesterday'"):
        ingest_file(store, path, "orders", add_products=True)


def test_bad_event_type_lists_allowed_values(store, tmp_path):
    ev = pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "event_type": ["begin_checkout"],
                       "ts": ["2024-01-01 00:00:01"]})
    path = write_csv(tmp_path / "e.csv", ev)
    with pytest.raises(DataValidationError, match="one of view, cart, fav, buy"):
        ingest_file(store, path, "events")


def test_unsupported_file_type(store, tmp_path):
    path = tmp_path / "x.pdf"
    path.write_text("nope")
    with pytest.raises(InputFileError, match="unsupported file type"):
        ingest_file(store, path, "sales")


@pytest.mark.parametrize("suffix", ["csv.gz", "parquet", "xlsx", "tsv"])
def test_other_formats_load_the_same_rows(store, tmp_path, suffix):
    df = make_sales(n_series=2, n_days=30)
    path = tmp_path / f"sales.{suffix}"
    if suffix == "csv.gz":
        with gzip.open(path, "wt") as fh:
            df.to_csv(fh, index=False)
    elif suffix == "parquet":
        df.to_parquet(path)
    elif suffix == "xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False, sep="\t")
    ingest_file(store, path, "sales")
    stored = store.read("sales")
    assert len(stored) == 60
    np.testing.assert_allclose(stored["y"].to_numpy(), df.sort_values(["unique_id", "ds"])["y"].to_numpy())


@pytest.mark.parametrize("kind", ["gz", "zip"])
def test_archive_that_unpacks_past_the_limit_is_refused_and_stores_nothing(store, tmp_path, monkeypatch,
                                                                           good_csv, kind):
    import zipfile
    ingest_file(store, good_csv, "sales")
    before = store.read("sales")
    text = make_sales(n_series=1, n_days=10).to_csv(index=False)
    padded = text + "\n" * (3 * 1024 * 1024)  # ~3 MB that compresses to a few KB
    path = tmp_path / f"bomb.csv.{kind}"
    if kind == "gz":
        path.write_bytes(gzip.compress(padded.encode()))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("bomb.csv", padded)
    assert path.stat().st_size < 100_000
    with pytest.raises(InputFileError, match=r"bomb\.csv\..*unpacks to more than 1 MB.*TRENDCAST_MAX_UNPACKED_MB"):
        ingest_file(store, path, "sales", max_unpacked_mb=1)
    pd.testing.assert_frame_equal(store.read("sales"), before)


def test_multi_member_gzip_reads_every_member(store, tmp_path):
    df = make_sales(n_series=2, n_days=30)
    text = df.to_csv(index=False)
    head, rest = text.split("\n", 1)
    cut = rest.index("\n", len(rest) // 2) + 1
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(gzip.compress((head + "\n" + rest[:cut]).encode()) + gzip.compress(rest[cut:].encode()))
    ingest_file(store, path, "sales")
    assert store.count("sales") == 60


def test_column_mapping(store, tmp_path):
    df = make_sales(n_series=1, n_days=10).rename(columns={"unique_id": "sku", "ds": "date", "y": "units"})
    path = write_csv(tmp_path / "s.csv", df)
    ingest_file(store, path, "sales", mapping={"sku": "unique_id", "date": "ds", "units": "y"})
    assert store.count("sales") == 10
    with pytest.raises(DataValidationError, match="does not have"):
        ingest_file(store, path, "sales", mapping={"nope": "y"})


def test_orders_aggregate_into_daily_and_weekly_sales(store, tmp_path):
    orders = pd.DataFrame({
        "order_id": ["1", "2", "3", "4"], "unique_id": ["A", "A", "A", "B"],
        "ts": ["2024-01-01 10:00", "2024-01-01 18:30", "2024-01-03 09:00", "2024-01-02 12:00"],
        "quantity": [1, 2, 4, 1], "unit_price": [10, 10, 7, 3],
    })
    path = write_csv(tmp_path / "o.csv", orders)
    ingest_file(store, path, "orders", add_products=True, aggregate="D")
    sales = store.read("sales")
    a = sales[sales["unique_id"] == "A"].set_index("ds")["y"]
    assert a.to_dict() == {pd.Timestamp("2024-01-01"): 3.0, pd.Timestamp("2024-01-02"): 0.0,
                           pd.Timestamp("2024-01-03"): 4.0}
    assert sales.loc[sales["unique_id"] == "A", "price"].iloc[2] == 7.0

    from trendcast.data.aggregate import orders_to_sales
    weekly = orders_to_sales(orders.assign(ts=pd.to_datetime(orders["ts"]), quantity=orders["quantity"].astype(float)), "W")
    assert weekly.groupby("unique_id")["y"].sum().to_dict() == {"A": 7.0, "B": 1.0}
    assert (weekly["ds"].dt.dayofweek == 0).all()


def test_macro_wide_table_becomes_long(store, tmp_path):
    wide = pd.DataFrame({"ds": ["2024-01-01", "2024-02-01"], "cpi": [1.0, 1.1], "confidence": [90, 92]})
    path = write_csv(tmp_path / "m.csv", wide)
    ingest_file(store, path, "macro")
    stored = store.read("macro")
    assert set(stored["name"]) == {"cpi", "confidence"} and len(stored) == 4


def test_user_calendar_events(store, tmp_path):
    cal = pd.DataFrame({"ds": ["2024-09-09"], "name": ["Shop anniversary sale"]})
    path = write_csv(tmp_path / "c.csv", cal)
    ingest_file(store, path, "calendar")
    stored = store.read("calendar_events")
    assert stored.iloc[0]["name"] == "Shop anniversary sale" and stored.iloc[0]["kind"] == "custom"


def test_calendar_ranges_expand_and_bad_end_names_file_and_row(store, tmp_path):
    cal = pd.DataFrame({"ds": ["2024-09-09", "2024-10-01"], "name": ["Anniversary", "Golden week sale"],
                        "end": ["", "2024-10-07"]})
    path = write_csv(tmp_path / "c.csv", cal)
    ingest_file(store, path, "calendar")
    stored = store.read("calendar_events")
    assert (stored["name"] == "Golden week sale").sum() == 7 and len(stored) == 8
    bad = write_csv(tmp_path / "bad.csv", cal.assign(end=["", "2024-09-01"]))
    with pytest.raises(DataValidationError, match=r"bad\.csv: .*row 2, column 'end'"):
        ingest_file(store, bad, "calendar")
    assert store.count("calendar_events") == 8


def test_unreadable_dates_are_not_reported_as_repeated_keys(store, tmp_path):
    """Two rows of one product whose dates cannot be read share a missing key; the error is
    the dates, not a duplicate key, and nothing is stored."""
    path = tmp_path / "export.csv"
    path.write_text("unique_id,ds,y\nA1,03/11/2025,4\nA1,04/11/2025,5\nA1,2025-11-06,6\n")
    with pytest.raises(DataValidationError) as err:
        ingest_file(store, path, "sales")
    text = str(err.value)
    assert "row 1 (line 2), column 'ds'" in text and "row 2 (line 3), column 'ds'" in text
    assert "unique key" not in text
    assert store.count("sales") == 0


def _orders(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "unique_id", "ts", "quantity"]).assign(unit_price=10.0)


def _daily(store) -> dict[tuple[str, str], float]:
    sales = store.read("sales")
    return {(u, f"{d:%m-%d}"): y for u, d, y in zip(sales["unique_id"], sales["ds"], sales["y"], strict=True)}


def test_orders_of_one_day_in_two_files_add_up_and_a_reexport_counts_once(store, tmp_path):
    early = write_csv(tmp_path / "early.csv", _orders([("1", "A", "2024-01-01 03:00", 2),
                                                       ("2", "A", "2024-01-01 05:00", 1)]))
    late = write_csv(tmp_path / "late.csv", _orders([("2", "A", "2024-01-01 05:00", 1),  # again
                                                     ("3", "A", "2024-01-01 14:00", 5),
                                                     ("4", "A", "2024-01-02 03:00", 1)]))
    ingest_file(store, early, "orders", add_products=True, aggregate="D")
    assert _daily(store) == {("A", "01-01"): 3.0}
    report = ingest_file(store, late, "orders", aggregate="D")
    # was {01-01: 6}: the second file's orders replaced the day's sales
    assert _daily(store) == {("A", "01-01"): 8.0, ("A", "01-02"): 1.0}
    assert any("1 order(s) stored before" in n for n in report.notes)
    ingest_file(store, late, "orders", aggregate="D")  # the same file twice changes nothing
    assert _daily(store) == {("A", "01-01"): 8.0, ("A", "01-02"): 1.0}


@pytest.mark.parametrize("freq, first, second", [("D", "01-02", "01-03 06:00"),
                                                 ("W", "01-08", "01-15 06:00")])
def test_a_period_not_over_at_the_ingest_waits_for_the_next_one(store, tmp_path, freq, first, second):
    day = pd.Timedelta(days=1 if freq == "D" else 7)
    t0 = pd.Timestamp("2024-01-01 03:00")
    morning = write_csv(tmp_path / "m.csv", _orders([("1", "A", f"{t0}", 2),
                                                     ("2", "A", f"{t0 + day + pd.Timedelta(hours=2)}", 1)]))
    report = ingest_file(store, morning, "orders", add_products=True, aggregate=freq,
                         now=t0 + day + pd.Timedelta(hours=3))
    assert _daily(store) == {("A", "01-01"): 2.0}  # the open period is not stored as a slow one
    assert any(f"sales of 2024-{first} left out" in n for n in report.notes)
    # the next export has only another product's orders in that period: A's count too
    rest = write_csv(tmp_path / "r.csv", _orders([("3", "B", f"{t0 + day + pd.Timedelta(hours=10)}", 3)]))
    ingest_file(store, rest, "orders", add_products=True, aggregate=freq, now=pd.Timestamp(f"2024-{second}"))
    assert _daily(store) == {("A", "01-01"): 2.0, ("A", first): 1.0, ("B", first): 3.0}
    assert store.meta(f"orders_pending:{freq}") is None


def test_sales_of_a_day_not_over_are_left_out_until_it_is(store, tmp_path):
    sales = pd.DataFrame({"unique_id": ["A", "A", "B"], "ds": ["2024-03-04", "2024-03-05", "2024-03-05"],
                          "y": [7, 2, 1]})
    path = write_csv(tmp_path / "s.csv", sales)
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2024-03-05 10:30"))
    assert _daily(store) == {("A", "03-04"): 7.0}  # 2 units by 10:30 is not the day's sales
    assert any("2 sales row(s) dated 2024-03-05 left out: the day has not ended yet "
               "(2024-03-05 10:30)" in n for n in report.notes)
    report = ingest_file(store, path, "sales", now=pd.Timestamp("2024-03-06 06:00"))
    assert _daily(store) == {("A", "03-04"): 7.0, ("A", "03-05"): 2.0, ("B", "03-05"): 1.0}
    today = write_csv(tmp_path / "today.csv", sales.iloc[1:])
    report = ingest_file(store, today, "sales", now=pd.Timestamp("2024-03-05 10:30"))
    assert report.batch_id is None and store.count("sales") == 3
