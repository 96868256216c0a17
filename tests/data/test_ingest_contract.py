"""Issue 13: one value contract for every format, ways through for real exports, and limits.

One regression test per defect; every test that touches the store runs on DuckDB and
PostgreSQL and checks that a refused file stores nothing.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from trendcast.data.ingest import load_file, make_options
from trendcast.data.readers import Limits
from trendcast.errors import DataValidationError, InputFileError, LimitError
from trendcast.services.ingest import ingest_file


def write(path, text: str | bytes):
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def refused(store, path, kind="sales", error=DataValidationError, match=None, **opts):
    """Ingest ``path`` expecting ``error``; the store must be unchanged."""
    before = {t: store.count(t) for t in ("sales", "products", "orders", "reviews", "macro",
                                          "events", "calendar_events")}
    with pytest.raises(error, match=match) as info:
        ingest_file(store, path, kind, options=make_options(**opts) if opts else None)
    after = {t: store.count(t) for t in before}
    assert after == before
    return info.value


SALES = "unique_id,ds,y,price\nA,2024-01-01,1,2.5\nA,2024-01-02,2,2.5\n"


# -- item 1: the value contract ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["inf", "Infinity", "1e999", "-inf"])
@pytest.mark.parametrize("column", ["y", "price"])
def test_non_finite_numbers_in_sales_are_refused(store, tmp_path, bad, column):
    text = SALES.replace(",1,2.5", f",{bad},2.5") if column == "y" else SALES.replace("1,2.5", f"1,{bad}")
    err = refused(store, write(tmp_path / "s.csv", text), match=rf"row 1 \(line 2\), column '{column}'")
    assert err.problems[0]["column"] == column


def test_non_finite_in_orders_ratings_and_macro_are_refused(store, tmp_path):
    refused(store, write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,A,2024-01-01 10:00,1e999\n"),
            "orders", match="finite")
    refused(store, write(tmp_path / "m.csv", "name,ds,value\noil,2024-01-01,Infinity\n"), "macro",
            match="finite")
    rows = [{"review_id": "r1", "unique_id": "A", "ts": "2024-01-01", "text": "ok", "rating": float("inf")}]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))  # json writes Infinity
    refused(store, path, "reviews", match="finite")


def test_json_nan_and_huge_literals_are_refused(store, tmp_path):
    path = write(tmp_path / "s.jsonl", '{"unique_id": "A", "ds": "2024-01-01", "y": 1e999}\n')
    refused(store, path, match=r"row 1, column 'y'.*finite")


@pytest.mark.parametrize("rating, message", [(True, "not true/false"), (500, r"<= 5"), (0, ">= 1")])
def test_ratings_must_be_numbers_on_the_scale(store, tmp_path, rating, message):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"review_id": "r1", "unique_id": "A", "ts": "2024-01-01",
                                "text": "x", "rating": rating}))
    refused(store, path, "reviews", match=message)


def test_rating_scale_option_widens_the_scale(store, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"review_id": "r1", "unique_id": "A", "ts": "2024-01-01",
                                "text": "x", "rating": 9}))
    df = load_file(path, "reviews", options=make_options(rating_scale="0-10"))
    assert df["rating"].tolist() == pytest.approx([4.6])  # stored as stars: 1 + 4 x 9 / 10


@pytest.mark.parametrize("day", ["2262-04-11", "1899-12-31", "2201-01-01", "9999-12-31", "1700-01-01"])
def test_dates_outside_the_supported_window_are_refused(store, tmp_path, day):
    path = write(tmp_path / "p.csv", f"unique_id,ds,y\nP0001,{day},1\n")
    refused(store, path, match=r"row 1 \(line 2\), column 'ds'.*between 1900-01-01 and 2200-12-31")


def test_parquet_timestamps_outside_the_window_are_refused(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "far.parquet"
    table = pa.table({"unique_id": ["A"], "ds": pa.array([pd.Timestamp("3000-01-01").to_pydatetime()],
                                                         pa.timestamp("us")), "y": [1.0]})
    pq.write_table(table, path)
    refused(store, path, match="between 1900-01-01 and 2200-12-31")


def test_aware_times_convert_to_the_workspace_zone_and_naive_stay_local(store, tmp_path):
    text = ("order_id,unique_id,ts,quantity\n1,A,2024-02-01T23:30:00+08:00,1\n"
            "2,A,2024-02-01T15:30:00Z,1\n3,A,2024-02-01 07:00:00,1\n")
    ingest_file(store, write(tmp_path / "o.csv", text), "orders", add_products=True)
    ts = store.read("orders").sort_values("order_id")["ts"].astype(str).tolist()
    assert ts == ["2024-02-01 23:30:00", "2024-02-01 23:30:00", "2024-02-01 07:00:00"]
    assert store.meta("tz") == "Asia/Shanghai"


def test_csv_and_parquet_agree_on_zones(tmp_path):
    stamps = pd.to_datetime(["2024-02-01T23:30:00+08:00", "2024-02-01T00:30:00+08:00"], utc=True)
    frame = pd.DataFrame({"order_id": ["1", "2"], "unique_id": "A", "ts": stamps, "quantity": 1.0})
    frame.to_parquet(tmp_path / "o.parquet")
    frame.assign(ts=["2024-02-01T23:30:00+08:00", "2024-02-01T00:30:00+08:00"]).to_csv(
        tmp_path / "o.csv", index=False)
    a = load_file(tmp_path / "o.parquet", "orders")["ts"]
    b = load_file(tmp_path / "o.csv", "orders")["ts"]
    assert a.tolist() == b.tolist()
    assert str(a.iloc[1]) == "2024-02-01 00:30:00"  # not moved to the previous day (UTC)


def test_zone_suffixed_sales_dates_are_read_not_a_crash(tmp_path):
    path = write(tmp_path / "s.csv", "unique_id,ds,y\nA,2024-02-01T23:30:00+08:00,1\nA,2024-02-02,1\n")
    df = load_file(path, "sales")
    assert df["ds"].astype(str).tolist() == ["2024-02-01", "2024-02-02"]


def test_tz_option_reads_naive_times_in_another_zone(tmp_path):
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,A,2024-02-01 10:00:00,1\n")
    df = load_file(path, "orders", options=make_options(tz="UTC", workspace_tz="Asia/Shanghai"))
    assert str(df["ts"].iloc[0]) == "2024-02-01 18:00:00"


def test_unix_seconds_and_milliseconds_in_one_file_are_refused(store, tmp_path):
    text = "order_id,unique_id,ts,quantity\n1,A,1706745600,1\n2,A,1706745600000,1\n"
    refused(store, write(tmp_path / "o.csv", text), "orders", match=r"row 2 .*mixes seconds and milliseconds")


def test_unix_seconds_are_converted_to_the_workspace_zone(tmp_path):
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,A,1706745600,1\n2,A,1706745601,1\n")
    df = load_file(path, "orders")
    assert str(df["ts"].iloc[0]) == "2024-02-01 08:00:00"  # 00:00 UTC in China time


def test_fourteen_digit_unix_review_time_is_a_clear_error(store, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"asin": "B1", "unixReviewTime": 14726880000000, "overall": 5.0,
                                "reviewText": "ok"}))
    refused(store, path, "reviews", match=r"column 'ts'.*seconds \(10 digits\) or milliseconds",
            fmt="amazon-reviews")


@pytest.mark.parametrize("value", ["2024-01", "2024"])
def test_partial_dates_are_refused_unless_a_date_format_says_so(store, tmp_path, value):
    path = write(tmp_path / "s.csv", f"unique_id,ds,y\nA,{value},1\n")
    refused(store, path, match="partial date.*--date-format")
    fmt = "%Y-%m" if "-" in value else "%Y"
    df = load_file(path, "sales", options=make_options(date_format=fmt))
    assert str(df["ds"].iloc[0].date()) == "2024-01-01"


@pytest.mark.parametrize("header, match", [
    ("unique_id,ds,y,y", "column 4: got 'y', expected a name used once"),
    ("unique_id,ds,y, y", "column 4: got ' y', expected a name used once"),
    ("unique_id,ds,\ufeffy", "byte-order mark"),
    ("unique_id,ds,y,", "column 4: got '', expected a column name"),
    ("unique_id,,ds,y", "column 2"),
])
def test_bad_headers_are_refused(store, tmp_path, header, match):
    width = header.count(",") + 1
    rows = "\n".join(",".join(["A", "2024-01-01"] + ["1"] * (width - 2)) for _ in range(1))
    refused(store, write(tmp_path / "s.csv", header + "\n" + rows + "\n"), match=match)


def test_trailing_separator_does_not_shift_columns(store, tmp_path):
    path = write(tmp_path / "p.csv", "unique_id,title,category\nFZ-T0,Hat,Apparel\nFZ-T1,Shirt,Apparel,\n")
    refused(store, path, "products", match=r"row 2 \(line 3\): 4 fields where the header has 3")


def test_nul_byte_in_an_id_is_refused_not_truncated(store, tmp_path):
    path = write(tmp_path / "p.csv", "unique_id,title\nFZ\x00X,Hat\nFZ,Cap\n")
    refused(store, path, "products", match=r"row 1 \(line 2\), column 'unique_id': a NUL byte")


def test_control_characters_in_ids_are_refused(store, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"unique_id": "FZ\x07X", "title": "Hat"}))
    refused(store, path, "products", match="control characters")


@pytest.mark.parametrize("value", [["FZ-A"], {"id": "FZ-A"}])
def test_nested_json_values_are_refused_with_row_and_column(store, tmp_path, value):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"unique_id": "ok", "title": "x"}) + "\n"
                    + json.dumps({"unique_id": value, "title": "x"}) + "\n")
    refused(store, path, "products", match=r"row 2, column 'unique_id'.*not a list or object")


def test_json_repeated_keys_are_refused(store, tmp_path):
    path = write(tmp_path / "s.jsonl", '{"unique_id": "A", "ds": "2024-01-01", "y": 1, "y": 2}\n')
    refused(store, path, match="appears twice")


@pytest.mark.parametrize("ds", [pa_type for pa_type in ("int64", "float64", "binary")])
def test_parquet_dates_of_the_wrong_type_are_clear_errors(store, tmp_path, ds):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = {"int64": pa.array([20240101]), "float64": pa.array([1.5]),
              "binary": pa.array([b"2024"], pa.binary())}[ds]
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"unique_id": ["A"], "ds": values, "y": [1.0]}), path)
    refused(store, path, match="column 'ds'")


def test_parquet_list_values_are_clear_errors(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"unique_id": ["A"], "ds": ["2024-01-01"], "y": [[1.0, 2.0]]}), path)
    refused(store, path, match=r"column 'y'.*not a list")


def test_encrypted_zip_is_a_clear_error(store, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("s.csv", SALES)
    raw = bytearray(buf.getvalue())
    raw[6] |= 0x1  # local header: encrypted
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 8] |= 0x1  # central directory: encrypted
    refused(store, write(tmp_path / "s.zip", bytes(raw)), error=InputFileError, match="encrypted")


def test_truncated_xlsx_is_a_clear_error(store, tmp_path):
    path = tmp_path / "s.xlsx"
    pd.DataFrame({"unique_id": ["A"] * 50, "ds": "2024-01-01", "y": 1}).to_excel(path, index=False)
    path.write_bytes(path.read_bytes()[:1500])
    refused(store, path, error=InputFileError, match="xlsx")


def test_mangled_macro_file_is_a_clear_error(store, tmp_path):
    refused(store, write(tmp_path / "m.csv", "ds\n2024-01-01\n"), "macro", match="one column per indicator")
    refused(store, write(tmp_path / "m.csv", "ds,oil\n2024-01-01,abc\n"), "macro", match="column 'value'")


def test_calendar_spanning_centuries_is_a_clear_error(store, tmp_path):
    path = write(tmp_path / "c.csv", "ds,name,end\n1700-01-01,Long,2260-01-01\n")
    refused(store, path, "calendar", match="between 1900-01-01 and 2200-12-31")
    path = write(tmp_path / "c.csv", "ds,name,end\n2000-01-01,Long,2150-01-01\n")
    refused(store, path, "calendar", match="at most a year")


def test_errors_are_grouped_by_kind_with_counts(store, tmp_path):
    rows = ["unique_id,ds,y"] + [f"A,2024-01-{d:02d},-1" for d in range(1, 21)] + ["B,bad,1", "C,2024-02-30,x"]
    err = refused(store, write(tmp_path / "s.csv", "\n".join(rows) + "\n"))
    message = str(err)
    assert message.startswith("23 problem(s)")
    assert "column 'y': 20 row(s): expected a number >= 0 (returns?" in message  # one group
    assert "... and 17 more like this" in message
    # the other kinds are shown too, though they come after 20 negatives
    assert "row 21 (line 22), column 'ds': got 'bad'" in message
    assert "row 22 (line 23), column 'ds': got '2024-02-30'" in message
    assert "row 22 (line 23), column 'y': got 'x', expected a number >= 0" in message


# -- item 2: ways through for real exports -------------------------------------------------------


def test_date_format_reads_non_iso_dates(store, tmp_path):
    path = write(tmp_path / "c.csv", "date,type,description\n3/2/12,Holiday,Fundacion\n")
    refused(store, path, "calendar", match="--date-format", mapping=["ds=date", "name=description"])
    report = ingest_file(store, path, "calendar", options=make_options(
        mapping=["ds=date", "name=description", "kind=type"], date_format="%m/%d/%y"))
    assert store.read("calendar_events")["ds"].astype(str).tolist() == ["2012-03-02"]
    assert report.writes[-1].inserted == 1


def test_composite_key_and_constant_columns(store, tmp_path):
    path = write(tmp_path / "t.csv", "Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,10.5,FALSE\n"
                                     "1,2,2010-02-05,3,FALSE\n")
    report = ingest_file(store, path, "sales", options=make_options(
        mapping=["unique_id=Store+Dept", "ds=Date", "y=Weekly_Sales"], constants=["promo=0"]))
    sales = store.read("sales").sort_values("unique_id")
    assert sales["unique_id"].tolist() == ["1_1", "1_2"] and sales["promo"].tolist() == [0.0, 0.0]
    assert any("extra column(s) not stored: IsHoliday" in n for n in report.notes)
    assert not any("Store" in n and "extra" in n for n in report.notes)


def test_map_to_a_column_the_file_already_has_is_refused(store, tmp_path):
    path = write(tmp_path / "s.csv", "unique_id,ds,y,units\nA,2024-01-01,1,2\n")
    refused(store, path, match="already has a column 'y'", mapping=["y=units"])


@pytest.mark.parametrize("policy, stored", [("keep", -3.0), ("clip", 0.0), ("zero", 0.0)])
def test_negatives_policy(store, tmp_path, policy, stored):
    path = write(tmp_path / "s.csv", "unique_id,ds,y\nA,2024-01-01,-3\nA,2024-01-02,4\n")
    err = refused(store, path, match="--negatives keep, clip or zero")
    assert err.problems[0]["row"] == 1
    report = ingest_file(store, path, "sales", options=make_options(negatives=policy))
    assert store.read("sales").sort_values("ds")["y"].tolist() == [stored, 4.0]
    note = next(n for n in report.notes if "negative" in n)
    assert "1 negative value(s)" in note and "row 1 (line 2): -3" in note


def test_wide_macro_table(store, tmp_path):
    path = write(tmp_path / "oil.csv", "date,dcoilwtico\n2013-01-01,\n2013-01-02,93.14\n")
    ingest_file(store, path, "macro", options=make_options(mapping=["ds=date"]))
    macro = store.read("macro").sort_values("ds")
    assert macro["name"].tolist() == ["dcoilwtico"] * 2
    assert macro["value"].iloc[1] == pytest.approx(93.14) and np.isnan(macro["value"].iloc[0])


def test_wide_macro_with_a_key_column_and_missing_markers(store, tmp_path):
    path = write(tmp_path / "f.csv", "Store,Date,Temperature,CPI,IsHoliday\n1,2010-02-05,42.3,NA,FALSE\n"
                                     "2,2010-02-05,40,211.1,FALSE\n")
    ingest_file(store, path, "macro", options=make_options(mapping=["ds=Date", "name=Store"],
                                                           drop=["IsHoliday"]))
    names = sorted(store.read("macro")["name"])
    assert names == ["CPI:1", "CPI:2", "Temperature:1", "Temperature:2"]


def test_reviews_without_ids_or_timestamps(store, tmp_path):
    path = write(tmp_path / "r.csv", "cat,label,review\n书籍,1,好书\n书籍,1,好书\n平板,0,很差\n")
    opts = make_options(mapping=["unique_id=cat", "text=review"])
    first = ingest_file(store, path, "reviews", add_products=True, options=opts)
    assert store.count("reviews") == 3  # identical reviews are numbered, not merged
    assert any("ingest time" in n for n in first.notes)
    stored = store.read("reviews").sort_values("review_id")
    again = ingest_file(store, path, "reviews", add_products=True, options=opts)
    assert again.writes[-1].inserted == 0 and again.writes[-1].updated == 0
    pd.testing.assert_frame_equal(store.read("reviews").sort_values("review_id"), stored)


@pytest.mark.parametrize("encoding, shown", [("utf-8-sig", "UTF-8 with BOM"), ("utf-16", "UTF-16"),
                                             ("gbk", "GB18030"), ("gb18030", "GB18030")])
def test_encodings_are_detected_and_reported(tmp_path, encoding, shown):
    text = "unique_id,title\n" + "".join(f"P{i},商品标题很长的中文名称第{i}号\n" for i in range(40))
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode(encoding))
    df = load_file(path, "products")
    assert df["title"].iloc[3] == "商品标题很长的中文名称第3号"
    assert any(shown in n for n in df.attrs["notes"])


def test_unknown_products_mention_add_products(store, tmp_path):
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,GHOST,2024-01-01 10:00,1\n")
    refused(store, path, "orders", match="--add-products")


# -- item 3: limits --------------------------------------------------------------------------------


def test_gzip_bomb_is_refused_by_ratio_while_streaming(tmp_path):
    body = SALES.encode() + b"A,2024-01-03,1,2.5\n" * 2_000_000
    path = write(tmp_path / "s.csv.gz", gzip.compress(body, 9))
    with pytest.raises(LimitError, match="zip bomb"):
        load_file(path, "sales", options=make_options(limits=Limits(ratio_floor_bytes=1 << 20)))


def test_zip_bomb_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s.csv", SALES + "A,2024-01-03,1,2.5\n" * 2_000_000)
    path = write(tmp_path / "s.zip", buf.getvalue())
    with pytest.raises(LimitError, match="unpacks to more than"):
        load_file(path, "sales", options=make_options(limits=Limits(ratio_floor_bytes=1 << 20)))


def test_one_line_with_a_million_columns_is_refused_fast(tmp_path):
    path = write(tmp_path / "s.csv", "," * 1_000_000 + "\n1\n")
    with pytest.raises(LimitError, match="1,000,001 fields"):
        load_file(path, "sales")
    path = write(tmp_path / "s.csv", "unique_id,ds,y\n" + "," * 1_000_000 + "\n")
    with pytest.raises(DataValidationError, match="1000001 fields where the header has 3"):
        load_file(path, "sales")


def test_rows_and_field_length_limits(tmp_path):
    path = write(tmp_path / "s.csv", "unique_id,ds,y\n" + "A,2024-01-01,1\n" * 50)
    with pytest.raises(LimitError, match="at most 10 rows"):
        load_file(path, "sales", options=make_options(limits=Limits(max_rows=10)))
    path = write(tmp_path / "p.csv", "unique_id,title\nA," + "x" * 5000 + "\n")
    with pytest.raises(LimitError, match=r"row 1 \(line 2\), column 'title'.*at most 1,000"):
        load_file(path, "products", options=make_options(limits=Limits(max_field_chars=1000)))


def test_parquet_over_the_row_limit_is_refused_from_its_metadata(tmp_path):
    path = tmp_path / "s.parquet"
    pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2024-01-01", periods=100),
                  "y": 1.0}).to_parquet(path)
    with pytest.raises(LimitError, match="100 rows"):
        load_file(path, "sales", options=make_options(limits=Limits(max_rows=50)))


def test_unknown_options_are_clear_errors():
    with pytest.raises(InputFileError, match="--negatives"):
        make_options(negatives="drop")
    with pytest.raises(InputFileError, match="not a time zone"):
        make_options(tz="Mars/Olympus")
    with pytest.raises(InputFileError, match="strftime"):
        make_options(date_format="mm/dd/yy")


def test_overflowing_numbers_are_named_non_finite_and_a_row_counts_once(store, tmp_path):
    err = refused(store, write(tmp_path / "o.csv", "unique_id,ds,y\nA,2024-01-01,1e999\nA,2024-01-02,-1e999\n"),
                  match="finite", negatives="keep")
    assert "expected a number >= 0" not in str(err)
    # one row outside the date window is one problem, however many checks look at it
    err = refused(store, write(tmp_path / "d.csv", "unique_id,ds,y\nP0001,2262-04-11,1\n"))
    assert str(err).startswith("1 problem(s)") and "1 row(s)" in str(err)


def test_problems_in_exact_duplicate_rows_are_counted_once(store, tmp_path):
    text = "unique_id,ds,y\nA,2024-01-01,1\nA,2262-01-01,1\nA,2262-01-01,1\nB,2024-13-01,2\n"
    err = refused(store, write(tmp_path / "dup.csv", text))
    assert str(err).startswith("2 problem(s)"), str(err)
