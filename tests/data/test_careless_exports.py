"""Careless exports of real shops (docs/benchmarks.md, "Careless exports and non-M5 shops"):
European CSVs (semicolons, decimal commas), numbers written for people, blank and ``,,,``
lines, wide macro tables. Each test failed before its fix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from trendcast.data.ingest import load_file, make_options
from trendcast.data.store import Store
from trendcast.errors import DataValidationError, InputFileError
from trendcast.services.ingest import ingest_file


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


EUROPEAN = "unique_id;ds;y;price\nA;2024-01-01;1;2,50\nA;2024-01-02;2;1.234,5\nB;2024-01-01;3;12\n"


def test_semicolon_file_is_read_and_the_separator_noted(tmp_path):
    df = load_file(write(tmp_path / "s.csv", "unique_id;ds;y\nA;2024-01-01;1\nA;2024-01-02;2\n"), "sales")
    assert df["y"].tolist() == [1.0, 2.0]
    assert any("semicolons" in n for n in df.attrs["notes"])


def test_tab_separated_txt_is_read(tmp_path):
    df = load_file(write(tmp_path / "s.txt", "unique_id\tds\ty\nA\t2024-01-01\t4\n"), "sales")
    assert df["y"].tolist() == [4.0]


def test_a_comma_inside_quotes_does_not_decide_the_separator(tmp_path):
    text = '"name, full";ds;value\n'
    from trendcast.data.readers import sniff_separator
    assert sniff_separator(text.encode()) == ";"
    assert sniff_separator(b"unique_id,ds,y\n") == ","
    assert sniff_separator(b"unique_id\n") == ","


def test_decimal_commas_are_refused_with_the_way_through(store, tmp_path):
    path = write(tmp_path / "eu.csv", EUROPEAN)
    with pytest.raises(DataValidationError, match=r"--decimal ,") as info:
        ingest_file(store, path, "sales")
    assert "row 1 (line 2), column 'price': got '2,50'" in str(info.value)
    assert store.count("sales") == 0
    report = ingest_file(store, path, "sales", options=make_options(decimal=","))
    stored = store.sales().sort_values(["unique_id", "ds"])
    assert stored["price"].tolist() == [2.5, 1234.5, 12.0]
    assert {w.table: w.inserted for w in report.writes}["sales"] == 3


@pytest.mark.parametrize(("decimal", "text", "value"), [
    (".", '"1,234.50"', 1234.5), (".", "$12.50", 12.5), (".", "-$3.00", -3.0),
    (".", "US$7", 7.0), (".", "¥8.5", 8.5), (",", "12,50 €", 12.5), (",", "1 234,5", 1234.5),
    (",", "1.234", 1234.0), (",", "7", 7.0), (",", "12,5元", 12.5),
    (".", "1.2M", 1_200_000.0), (".", "$2.5M", 2_500_000.0), (".", "RMB 12.5", 12.5), (".", "12.50 CNY", 12.5), (".", '"USD 1,234.50"', 1234.5), (",", "12,50 EUR", 12.5),
])
def test_numbers_written_for_people_with_decimal(tmp_path, decimal, text, value):
    sep = "," if decimal == "." else ";"
    path = write(tmp_path / "h.csv", f"name{sep}ds{sep}value\noil{sep}2024-01-01{sep}{text}\n")
    df = load_file(path, "macro", options=make_options(decimal=decimal))
    assert df["value"].tolist() == [value]


@pytest.mark.parametrize(("decimal", "text"), [
    (",", "1.5"), (",", "1.23,4"), (".", "1,23.4"), (".", "12,5"), (".", "1.234,5"), (",", "$-$1"),
])
def test_ambiguous_numbers_are_refused_not_guessed(tmp_path, decimal, text):
    sep = "," if decimal == "." else ";"
    quoted = f'"{text}"' if sep in text else text
    path = write(tmp_path / "h.csv", f"name{sep}ds{sep}value\noil{sep}2024-01-01{sep}{quoted}\n")
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'value'"):
        load_file(path, "macro", options=make_options(decimal=decimal))


def test_plain_numbers_are_unchanged_without_decimal_and_a_bad_decimal_is_refused(tmp_path):
    path = write(tmp_path / "p.csv", "unique_id,ds,y\nA,2024-01-01,1.5\nA,2024-01-02,1e3\n")
    assert load_file(path, "sales")["y"].tolist() == [1.5, 1000.0]
    with pytest.raises(DataValidationError, match=r"--decimal"):
        load_file(write(tmp_path / "t.csv", 'unique_id,ds,y\nA,2024-01-01,"1,234"\n'), "sales")
    with pytest.raises(InputFileError, match="--decimal"):
        make_options(decimal=";")


def test_blank_and_comma_only_lines_are_skipped_and_counted(store, tmp_path):
    text = "unique_id,ds,y\nA,2024-01-01,1\n\nA,2024-01-02,2\n,,\n , ,\n"
    report = ingest_file(store, write(tmp_path / "b.csv", text), "sales")
    assert store.sales()["y"].sort_values().tolist() == [1.0, 2.0]
    assert any("3 empty row(s) skipped" in n for n in report.notes)


def test_an_error_after_a_blank_line_names_the_files_own_line(tmp_path):
    text = "unique_id,ds,y\nA,2024-01-01,1\n\n,,\nA,2024-01-02,bad\n"
    with pytest.raises(DataValidationError, match=r"row 4 \(line 5\), column 'y': got 'bad'"):
        load_file(write(tmp_path / "b.csv", text), "sales")


def test_a_file_of_blank_lines_is_empty(tmp_path):
    with pytest.raises(InputFileError, match="empty"):
        load_file(write(tmp_path / "e.csv", "\n,,\n\n"), "sales")


def test_wide_macro_errors_name_the_files_row(tmp_path):
    text = "Store,Date,Temperature,Fuel_Price\n1,2010-02-05,42.3,2.5\n1,2010-02-12,38.5,2.5\n" \
           "1,2010-02-19,39.9,oops\n"
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'value': got 'oops'"):
        load_file(write(tmp_path / "f.csv", text), "macro",
                  options=make_options(mapping=["ds=Date", "name=Store"]))


def test_empty_rows_in_an_excel_sheet_are_skipped(tmp_path):
    path = tmp_path / "s.xlsx"
    frame = pd.DataFrame({"unique_id": ["A", None, "A"], "ds": ["2024-01-01", None, "2024-01-02"],
                          "y": [1, None, 2]})
    frame.to_excel(path, index=False)
    df = load_file(path, "sales")
    assert df["y"].tolist() == [1.0, 2.0]
    assert any("1 empty row(s) skipped" in n for n in df.attrs["notes"])


@pytest.mark.parametrize(("value", "hint"), [
    ("45820", "Excel serial day number"), ("2025/06/12", "--date-format %Y/%m/%d"),
    ("2025年6月12日", "--date-format %Y年%m月%d日"), ("12.06.2025", "--date-format %d.%m.%Y"),
    ("12/06/2025", "--date-format %d/%m/%Y or %m/%d/%Y"),
    ("2025/06/12 10:30", "--date-format '%Y/%m/%d %H:%M'"),  # quoted, as a shell needs it
    ("12/06/2025 10:30", "--date-format '%d/%m/%Y %H:%M' or '%m/%d/%Y %H:%M'"),
])
def test_date_errors_name_the_way_through(tmp_path, value, hint):
    path = write(tmp_path / "d.csv", f"unique_id,ds,y\nA,{value},1\n")
    with pytest.raises(DataValidationError, match="row 1 \\(line 2\\), column 'ds'") as info:
        load_file(path, "sales")
    assert hint in str(info.value)


@pytest.mark.parametrize(("values", "hint"), [
    # Favorita's holidays_events.csv: '4/14/12' can only be month first
    (["3/2/12", "4/1/12", "4/14/12"], "(pass --date-format %m/%d/%y: the column writes the month first, "
                                      "as '4/14/12' shows)"),
    (["03/02/2025", "25/12/2025"], "(pass --date-format %d/%m/%Y: the column writes the day first, "
                                   "as '25/12/2025' shows)"),
    (["13/2/12", "2/13/12"], "(the column writes the day first in some rows ('13/2/12') and the month "
                             "first in others ('2/13/12'); export the dates in one order)"),
    (["3/2/12", "4/1/12"], "e.g. --date-format %d/%m/%y or %m/%d/%y"),  # nothing tells: both
])
def test_the_column_tells_day_first_from_month_first(tmp_path, values, hint):
    """The hint offered both orders although a later value ruled one out."""
    rows = "".join(f"A,{v},1\n" for v in values)
    with pytest.raises(DataValidationError) as info:
        load_file(write(tmp_path / "d.csv", f"unique_id,ds,y\n{rows}"), "sales")
    assert hint in str(info.value)
    if "pass --date-format" in hint:  # and the format it names reads the file
        fmt = hint.split("--date-format ")[1].split(":")[0]
        df = load_file(write(tmp_path / "d.csv", f"unique_id,ds,y\n{rows}"), "sales",
                       options=make_options(date_format=fmt))
        assert len(df) == len(values)


@pytest.mark.parametrize(("value", "fmt"), [("2025/06/12", "%Y/%m/%d"), ("2025年6月12日", "%Y年%m月%d日"),
                                            ("12.06.2025", "%d.%m.%Y")])
def test_suggested_date_formats_read_the_dates(tmp_path, value, fmt):
    path = write(tmp_path / "d.csv", f"unique_id,ds,y\nA,{value},1\n")
    df = load_file(path, "sales", options=make_options(date_format=fmt))
    assert df["ds"].tolist() == [pd.Timestamp("2025-06-12")]


def test_column_names_in_other_case_are_matched_and_noted(tmp_path):
    df = load_file(write(tmp_path / "c.csv", " Unique_ID , DS ,Y\nA,2024-01-01,3\n"), "sales")
    assert df["y"].tolist() == [3.0]
    assert any("'Unique_ID' read as 'unique_id'" in n for n in df.attrs["notes"])
    with pytest.raises(DataValidationError, match="missing required column"):  # two candidates
        load_file(write(tmp_path / "d.csv", "Unique_id,UNIQUE_ID,ds,y\nA,B,2024-01-01,4\n"), "sales")


def test_blank_lines_before_the_header_are_skipped_and_lines_still_named(tmp_path):
    text = "\n\nunique_id;ds;y\nA;2024-01-01;1\nA;2024-01-02;x\n"
    with pytest.raises(DataValidationError, match=r"\(line 5\), column 'y': got 'x'"):
        load_file(write(tmp_path / "l.csv", text), "sales")
    ok = load_file(write(tmp_path / "m.csv", text.replace(";x", ";2")), "sales")
    assert ok["y"].tolist() == [1.0, 2.0]


def test_joined_keys_from_whole_numbers_written_as_floats_match(tmp_path):
    """A re-export that writes Store as 1.0 made series '1.0_1' beside '1_1'."""
    opts = make_options(mapping=["unique_id=Store+Dept", "ds=Date", "y=Sales"])
    a = load_file(write(tmp_path / "a.csv", "Store,Dept,Date,Sales\n1,1,2024-01-05,3\n"), "sales", options=opts)
    b = load_file(write(tmp_path / "b.csv", "Store,Dept,Date,Sales\n1.0,1.0,2024-01-12,3\n"), "sales",
                  options=opts)
    assert a["unique_id"].tolist() == b["unique_id"].tolist() == ["1_1"]
    c = load_file(write(tmp_path / "c.csv", "Store,Dept,Date,Sales\n1.5,1,2024-01-12,3\n"), "sales",
                  options=opts)
    assert c["unique_id"].tolist() == ["1.5_1"]  # not whole numbers: kept as written


def test_blank_lines_in_a_file_with_joined_keys(tmp_path):
    """Found on a Walmart export with blank lines: the kept rows' positions broke the
    joining of Store+Dept (pandas compares frame attributes when it concatenates)."""
    text = "Store,Dept,Date,Sales\n1,1,2024-01-05,3\n\n1,2,2024-01-05,4\n,,,\n"
    df = load_file(write(tmp_path / "k.csv", text), "sales",
                   options=make_options(mapping=["unique_id=Store+Dept", "ds=Date", "y=Sales"]))
    assert df["unique_id"].tolist() == ["1_1", "1_2"]


def test_gbk_file_whose_only_chinese_is_the_header(tmp_path):
    """charset-normalizer ranks Korean cp949 first for a few Chinese header words: the file
    was refused as not UTF-8 although GBK is an encoding trendcast reads."""
    rows = "".join(f"{s},{d},2012-09-{7 + 7 * (i // 3):02d},{100 + i}.5\n"
                   for i, (s, d) in enumerate([(1, 1), (1, 2), (2, 1)] * 3))
    path = write(tmp_path / "g.csv", "门店,部门,日期,销量\n" + rows, "gbk")
    df = load_file(path, "sales", options=make_options(mapping=["unique_id=门店+部门", "ds=日期", "y=销量"]))
    assert len(df) == 9 and any("GB18030" in n for n in df.attrs["notes"])


def test_every_row_with_an_unreadable_date_is_counted(tmp_path):
    """A week exported with day-first dates: each store's rows read as the same empty date
    and the same units, and were taken for one record exported seven times, so the error
    counted 2 rows of 14."""
    rows = "".join(f"{day}/08/2017,{store},5\n" for day in range(23, 30) for store in (1, 2))
    path = write(tmp_path / "week.csv", "date,store_nbr,transactions\n" + rows)
    with pytest.raises(DataValidationError, match=r"14 problem\(s\)") as err:
        load_file(path, "sales", options=make_options(mapping=["ds=date", "unique_id=store_nbr",
                                                               "y=transactions"]))
    assert "column 'ds': 14 row(s)" in str(err.value)
    assert "--date-format %d/%m/%Y" in str(err.value)


REPORT_ROWS = [["某某旗舰店 销售报表 2025年11月"], ["导出时间：2025-12-01 08:00"], [],
               ["商品编码", "日期", "销量", "单价"],
               ["SKU1", "2025-11-01", "2", "19.9"], ["SKU2", "2025-11-01", "1", "5"],
               ["SKU1", "2025-11-02", "3", "19.9"], ["合计", None, "6", None]]
REPORT_MAP = ["unique_id=商品编码", "ds=日期", "y=销量", "price=单价"]


def _report_csv(rows) -> str:
    return "\n".join(",".join(c or "" for c in (r + [None] * (4 - len(r)))) for r in rows) + "\n"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", "short.csv"])
def test_a_report_with_title_lines_and_a_total_line_is_read_and_noted(tmp_path, suffix):
    """Shop back ends export reports: a title and an export time above the header, a
    ``合计`` line below the data. Before: the title was read as the header ("got ''")."""
    path = tmp_path / f"report{suffix}"
    if suffix == ".xlsx":
        pd.DataFrame(REPORT_ROWS).to_excel(path, header=False, index=False)
    elif suffix == ".csv":  # as Excel saves it: every line as wide as the table
        write(path, _report_csv(REPORT_ROWS))
    else:  # title lines of one field (the parser took the first for the header)
        write(path, "\n".join(",".join(c or "" for c in r) for r in REPORT_ROWS) + "\n")
    df = load_file(path, "sales", options=make_options(mapping=REPORT_MAP))
    assert df["unique_id"].tolist() == ["SKU1", "SKU2", "SKU1"] and df["y"].sum() == 6
    notes = " | ".join(df.attrs["notes"])
    assert "2 title line(s) above the header skipped (line 1, 2)" in notes
    assert "1 total line(s) at the end skipped (line 8: '合计')" in notes


def test_a_total_line_inside_the_data_or_a_bad_row_after_titles_names_the_file_line(tmp_path):
    # a sum inside the data is left out and named by its file line (it was refused as an
    # empty date, tests/data/test_subtotal_lines.py); a bad row after it keeps its own line
    rows = REPORT_ROWS[:5] + [["合计", None, "2", None]] + REPORT_ROWS[5:7]
    df = load_file(write(tmp_path / "r.csv", _report_csv(rows)), "sales", options=make_options(mapping=REPORT_MAP))
    assert len(df) == 3 and any("1 subtotal line(s) skipped (line 6: '合计' in column '商品编码')" in n
                                for n in df.attrs["notes"])
    rows = REPORT_ROWS[:5] + [["合计", None, "2", None], ["SKU2", "2025-11-01", "x", "5"]]
    with pytest.raises(DataValidationError, match=r"row 6 \(line 7\), column 'y': got 'x'"):
        load_file(write(tmp_path / "r.csv", _report_csv(rows)), "sales",
                  options=make_options(mapping=REPORT_MAP))
    rows = REPORT_ROWS[:5] + [["SKU2", "2025-11-01", "x", "5"]]
    with pytest.raises(DataValidationError, match=r"row 5 \(line 6\), column 'y': got 'x'"):
        load_file(write(tmp_path / "r.csv", _report_csv(rows)), "sales",
                  options=make_options(mapping=REPORT_MAP))


@pytest.mark.parametrize(("kind", "text", "hint"), [
    ("sales", "unique_id,ds,y\nA,2025-11-01,2\nA,2025-11-01,3\n", "--map unique_id=SKU+Store"),
    ("orders", "order_id,unique_id,ts,quantity\n1,A,2025-11-01 10:00,1\n1,A,2025-11-01 10:00,2\n",
     "--map order_id=Order+Line"),
])
def test_a_repeated_key_says_what_it_usually_means_in_an_export(tmp_path, kind, text, hint):
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\)") as info:
        load_file(write(tmp_path / "d.csv", text), kind)
    assert hint in str(info.value)


def test_event_names_of_chinese_back_ends_and_analytics_tools_are_read(tmp_path):
    text = ("user_id,item_id,event_type,ts\n" + "".join(
        f"u1,A,{name},2025-11-01 10:0{i}:00\n" for i, name in
        enumerate(["浏览", "加购", "收藏", "购买", "view_item", "Add to Cart", "add-to-wishlist"])))
    df = load_file(write(tmp_path / "e.csv", text), "events")
    assert df["event_type"].tolist() == ["view", "cart", "fav", "buy", "view", "cart", "fav"]
    with pytest.raises(DataValidationError, match=r"got 'Begin Checkout'"):
        load_file(write(tmp_path / "b.csv", "user_id,item_id,event_type,ts\n"
                        "u1,A,Begin Checkout,2025-11-01 10:00:00\n"), "events")


def test_quantities_written_in_pieces_are_read_and_boxes_are_refused(tmp_path):
    text = "unique_id,ds,y\nA,2025-11-01,3件\nA,2025-11-02,2 pcs\nA,2025-11-03,1\n"
    df = load_file(write(tmp_path / "u.csv", text), "sales")
    assert df["y"].tolist() == [3.0, 2.0, 1.0]
    assert any("2 quantities written with a unit (e.g. '3件')" in n for n in df.attrs["notes"])
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'y': got '2箱'"):
        load_file(write(tmp_path / "b.csv", "unique_id,ds,y\nA,2025-11-01,2箱\n"), "sales")


def test_a_title_line_above_a_semicolon_header_does_not_hide_the_separator(tmp_path):
    text = "销售报表\nunique_id;ds;y;price\nA;2025-11-01;2;1,5\n合计;;2;\n"
    df = load_file(write(tmp_path / "t.csv", text), "sales", options=make_options(decimal=","))
    assert df["price"].tolist() == [1.5]
    assert any("semicolons" in n for n in df.attrs["notes"])


def test_an_id_given_as_a_json_bool_is_asked_as_text(tmp_path):
    path = write(tmp_path / "b.jsonl", '{"unique_id": "A", "ds": "2025-11-01", "y": 1}\n'
                                       '{"unique_id": true, "ds": "2025-11-02", "y": 2}\n')
    with pytest.raises(DataValidationError, match=r"row 2, column 'unique_id': got True, expected "
                                                  r"text, not true/false"):
        load_file(path, "sales")


MIXED = "unique_id,ds,y\nA,2025/06/12,1\nA,2025-06-13,2\nA,2025/06/14,3\n"


def test_a_column_that_mixes_date_layouts_is_read_with_both_and_the_hint_gives_them(tmp_path):
    path = write(tmp_path / "mixed.csv", MIXED)
    with pytest.raises(DataValidationError) as plain:
        load_file(path, "sales")
    assert "--date-format '%Y/%m/%d|%Y-%m-%d'" in str(plain.value)
    with pytest.raises(DataValidationError) as one:  # one layout given: the other is named
        load_file(path, "sales", options=make_options(date_format="%Y/%m/%d"))
    assert "row 2 (line 3)" in str(one.value) and "'%Y/%m/%d|%Y-%m-%d'" in str(one.value)
    df = load_file(path, "sales", options=make_options(date_format="%Y/%m/%d|%Y-%m-%d"))
    assert df["ds"].tolist() == list(pd.date_range("2025-06-12", periods=3))


def test_layouts_that_read_one_value_as_different_days_refuse_it(tmp_path):
    path = write(tmp_path / "dm.csv", "unique_id,ds,y\nA,13/04/2025,1\nA,03/04/2025,2\nA,12/12/2025,3\n")
    with pytest.raises(DataValidationError) as info:
        load_file(path, "sales", options=make_options(date_format="%d/%m/%Y|%m/%d/%Y"))
    text = str(info.value)
    assert "1 problem(s)" in text and "row 2 (line 3)" in text  # 03/04 only: 12/12 is one day
    assert "do not read as different days" in text


def test_each_layout_of_a_date_format_must_be_strftime(tmp_path):
    path = write(tmp_path / "mixed.csv", MIXED)
    for bad in ("%Y/%m/%d|yyyy-mm-dd", "|"):
        with pytest.raises(InputFileError, match="--date-format"):
            load_file(path, "sales", options=make_options(date_format=bad))


def test_order_times_in_two_layouts_are_localised_from_tz(tmp_path):
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,A,2025/06/12 23:30,1\n"
                                      "2,A,2025-06-12T10:00:00+00:00,1\n")
    df = load_file(path, "orders", options=make_options(
        date_format="%Y/%m/%d %H:%M|%Y-%m-%dT%H:%M:%S%z", tz="UTC", workspace_tz="Asia/Shanghai"))
    assert df["ts"].tolist() == [pd.Timestamp("2025-06-13 07:30"), pd.Timestamp("2025-06-12 18:00")]


def test_numbers_and_dates_typed_full_width_are_read_and_ids_kept_as_written(tmp_path):
    path = write(tmp_path / "fw.csv", "unique_id,ds,y,price\nＡ１,２０２５－１０－０１,３件,￥１，２９９．００\n"
                                       "A1,2025-10-02,１２,12\n")
    df = load_file(path, "sales", options=make_options(decimal="."))
    assert df["ds"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-10-02")]
    assert df["y"].tolist() == [3.0, 12.0] and df["price"].tolist() == [1299.0, 12.0]
    assert df["unique_id"].tolist() == ["Ａ１", "A1"]
    assert any("y: 2 value(s) typed in full-width" in n for n in df.attrs["notes"])
    bad = write(tmp_path / "bad.csv", "unique_id,ds,y\nA,2025-10-01,１二\n")
    with pytest.raises(DataValidationError, match="got '１二'"):  # the value as the file has it
        load_file(bad, "sales")


@pytest.mark.parametrize(("labels", "dates", "said"), [
    (["2025-W01", "2025W02", "2025-w03"], ["2024-12-30", "2025-01-06", "2025-01-13"], "ISO week"),
    (["2024Q4", "2025-Q1", "Q2 2025", "2025年第3季度", "2025年四季度", "2026年Q1"],
     ["2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01"], "quarter"),
    (["2025-01-05~2025-01-11", "2025/01/12 至 2025/01/18", "2025-01-19 - 2025-01-25"],
     ["2025-01-11", "2025-01-18", "2025-01-25"], "date range"),
])
def test_periods_written_as_labels_are_read_as_dates_and_noted(tmp_path, labels, dates, said):
    path = write(tmp_path / "p.csv", "unique_id,ds,y\n" + "".join(f"A,{v},1\n" for v in labels))
    df = load_file(path, "sales")
    assert df["ds"].tolist() == [pd.Timestamp(d) for d in dates]
    assert any(f"ds: {len(labels)} {said} label(s) read as dates" in n for n in df.attrs["notes"])


@pytest.mark.parametrize(("value", "hint"), [
    ("2025年第1周", "not a week number"), ("2025-W54", "--date-format"),
    ("2025-01-12~2025-01-06", "this one ends before it starts"),  # was: a --date-format that reads no range
    ("2025年1月", "--date-format %Y年%m月"), ("2025/01", "--date-format %Y/%m"),
    ("Jan 2025", "--date-format '%b %Y'"),
])
def test_period_labels_that_cannot_be_read_say_how(tmp_path, value, hint):
    with pytest.raises(DataValidationError) as info:
        load_file(write(tmp_path / "p.csv", f"unique_id,ds,y\nA,{value},1\n"), "sales")
    assert hint in str(info.value) and f"got '{value}'" in str(info.value)


def test_a_weekly_shop_of_week_ranges_is_stored_by_the_weeks_last_day(store, tmp_path):
    days = pd.date_range("2025-01-05", periods=10, freq="W-SUN")  # Sunday-to-Saturday weeks
    text = "".join(f"A,{d:%Y-%m-%d}~{d + pd.Timedelta(days=6):%Y-%m-%d},{i}\n" for i, d in enumerate(days))
    ingest_file(store, write(tmp_path / "w.csv", "unique_id,ds,y\n" + text), "sales")
    assert store.meta("freq") == "W-SAT"
    assert store.sales()["ds"].min() == pd.Timestamp("2025-01-11")


def test_a_wide_sales_table_of_days_across_is_read_as_rows(tmp_path):
    text = ("商品,名称,2025-10-01,2025-10-02,2025-10-03,总计\nA,杯子,1,,3,4\nB,盘子,2,0,1,3\n合计,,3,0,4,7\n")
    path = write(tmp_path / "wide.csv", text)
    with pytest.raises(DataValidationError, match=r"a wide sales table \(3 date columns, 2025-10-01 \.\.\. "
                                                  r"2025-10-03\) needs its product column: map it with "
                                                  r"--map unique_id=COLUMN \(its other columns are \['商品', '名称', '总计'\]\)"):
        load_file(path, "sales")
    df = load_file(path, "sales", options=make_options(mapping=["unique_id=商品"]))
    assert list(zip(df["unique_id"], df["ds"].dt.strftime("%m-%d"), df["y"], strict=True)) == [
        ("A", "10-01", 1.0), ("A", "10-03", 3.0), ("B", "10-01", 2.0), ("B", "10-02", 0.0), ("B", "10-03", 1.0)]
    notes = " | ".join(df.attrs["notes"])
    assert "wide sales table: 3 date column(s) (2025-10-01 ... 2025-10-03) read as unique_id/ds/y rows; " \
           "1 blank cell(s) are no sales row" in notes and "总计" in notes  # the total column is not stored
    bad = write(tmp_path / "bad.csv", "sku,2025-W01,2025-W02\nA,1,x\n")
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'y': got 'x'"):
        load_file(bad, "sales", options=make_options(mapping=["unique_id=sku"]))


def test_a_wide_excel_sheet_with_date_headers_and_day_first_headers(tmp_path):
    sheet = pd.DataFrame({"sku": ["A", "B"], pd.Timestamp("2025-10-01"): [1, 2],
                          pd.Timestamp("2025-10-02"): [3, 4]})
    path = tmp_path / "wide.xlsx"
    sheet.to_excel(path, index=False)
    df = load_file(path, "sales", options=make_options(mapping=["unique_id=sku"]))
    assert df["ds"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-10-02")] * 2
    assert df["y"].tolist() == [1.0, 3.0, 2.0, 4.0]
    day_first = write(tmp_path / "dm.csv", "sku,01/10/2025,02/10/2025\nA,1,2\n")
    df = load_file(day_first, "sales", options=make_options(mapping=["unique_id=sku"], date_format="%d/%m/%Y"))
    assert df["ds"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-10-02")]


def test_the_file_row_map_is_shared_not_copied_by_each_column_operation(tmp_path):
    import copy

    from trendcast.data.contract import FileRows
    from trendcast.data.readers import read_frame

    path = write(tmp_path / "b.csv", "unique_id,ds,y\nA,2025-10-01,1\n\nA,2025-10-02,x\n")
    raw = read_frame(path)
    rows = raw.attrs["_rows"]
    assert isinstance(rows, FileRows) and copy.deepcopy(rows) is rows
    assert raw["y"].astype(str).attrs["_rows"] is rows  # pandas' attrs copy keeps the same map
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'y': got 'x'"):
        load_file(path, "sales")


def test_an_xls_export_that_is_text_is_read_as_text_and_said(tmp_path):
    path = tmp_path / "订单报表.xls"
    path.write_bytes("商品\t日期\t数量\nA\t2025-10-01\t1\nA\t2025-10-02\t2\n".encode("gbk"))
    df = load_file(path, "sales", options=make_options(mapping=["unique_id=商品", "ds=日期", "y=数量"]))
    assert df["y"].tolist() == [1.0, 2.0]
    assert "订单报表.xls is text saved as .xls: read as text" in df.attrs["notes"]


def test_an_xls_export_that_is_an_html_table_is_read_with_its_title_and_total_lines(tmp_path):
    html = ("<html><head><meta charset='gbk'></head><body><table>"
            "<tr><td colspan=3>销量报表 2025-10</td></tr>"
            "<tr><th>商品</th><th>日期</th><th>数量</th></tr>"
            "<tr><td>007</td><td>2025-10-01</td><td> 1 </td></tr>"
            "<tr><td>007</td><td>2025-10-02</td><td>x</td></tr>"
            "<tr><td>合计</td><td></td><td>3</td></tr></table></body></html>")
    path = tmp_path / "report.xls"
    path.write_bytes(html.encode("gbk"))
    opts = make_options(mapping=["unique_id=商品", "ds=日期", "y=数量"])
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'y': got 'x'"):
        load_file(path, "sales", options=opts)
    path.write_bytes(('<?xml version="1.0" encoding="gbk"?>' + html.replace(">x<", ">2<")).encode("gbk"))
    df = load_file(path, "sales", options=opts)
    assert df["unique_id"].tolist() == ["007", "007"] and df["y"].tolist() == [1.0, 2.0]
    assert "report.xls is an HTML table saved as .xls: read as a table" in df.attrs["notes"]


def _merged_report(path, *, total: bool = False):
    """A back end's daily report: a title merged over the columns, the data from column B, each
    store's cell merged over its rows (and, with ``total``, an order total merged over its lines)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B1"] = "销售日报"
    ws.merge_cells("B1:E1")
    rows = [["门店", "日期", "商品", "销量"], ["北京店", "2025-10-01", "A", 3], [None, "2025-10-01", "B", 4],
            [None, "2025-10-02", "A", 5], ["上海店", "2025-10-01", "A", 1], [None, "2025-10-02", "A", 2]]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.cell(row=3 + i, column=2 + j, value=value)
    ws.merge_cells("B4:B6")
    ws.merge_cells("B7:B8")
    if total:
        ws["F3"], ws["F4"] = "订单金额", 120
        ws.merge_cells("F4:F5")
    wb.save(path)
    return path


MERGED_MAP = ["unique_id=门店+商品", "ds=日期", "y=销量"]


def test_cells_merged_over_rows_read_as_the_sheet_shows_them(tmp_path):
    """Before: the blank column A was refused as a blank header, and the store's merged cell was
    empty on every row but its first."""
    path = _merged_report(tmp_path / "日报.xlsx")
    df = load_file(path, "sales", options=make_options(mapping=MERGED_MAP))
    assert df["unique_id"].tolist() == ["北京店_A", "北京店_B", "北京店_A", "上海店_A", "上海店_A"]
    assert df["y"].tolist() == [3, 4, 5, 1, 2]
    assert ("column '门店': 2 merged cell(s) over several rows (B4:B6, B7:B8) read as their value on "
            "every row they span") in df.attrs["notes"]


def test_a_number_merged_over_rows_is_refused_and_nothing_is_stored(store, tmp_path):
    path = _merged_report(tmp_path / "日报.xlsx", total=True)
    opts = make_options(mapping=[*MERGED_MAP, "amount=订单金额"])
    with pytest.raises(DataValidationError, match=r"日报.xlsx: column '订单金额' \(amount\) has cells merged "
                                                  r"over several rows \(F4:F5\): a number cannot be shared"):
        ingest_file(store, path, "sales", add_products=True, options=opts)
    assert store.count("sales") == 0
    df = load_file(path, "sales", options=make_options(mapping=MERGED_MAP))  # the column unused
    assert len(df) == 5 and not any("订单金额" in n and "merged" in n for n in df.attrs["notes"])


def test_an_html_report_with_row_spans_keeps_its_columns(tmp_path):
    """Before: a cell spanning rows shifted the next rows' cells one column left."""
    html = ("<table><tr><th>门店</th><th>日期</th><th>销量</th></tr>"
            "<tr><td rowspan=2>北京店</td><td>2025-10-01</td><td>3</td></tr>"
            "<tr><td>2025-10-02</td><td>4</td></tr>"
            "<tr><td>上海店</td><td>2025-10-01</td><td>1</td></tr></table>")
    path = tmp_path / "report.xls"
    path.write_bytes(html.encode("utf-8"))
    df = load_file(path, "sales", options=make_options(mapping=["unique_id=门店", "ds=日期", "y=销量"]))
    assert list(zip(df["unique_id"], df["ds"].dt.day, df["y"], strict=True)) == \
        [("北京店", 1, 3), ("北京店", 2, 4), ("上海店", 1, 1)]


def test_a_binary_xls_workbook_is_read(tmp_path):
    import importlib.util

    spec = importlib.util.find_spec("statsmodels")
    if spec is None:
        pytest.skip("statsmodels (the insights extra) ships the real .xls used here")
    from pathlib import Path

    xls = (Path(spec.origin).parent / "tsa" / "statespace" / "tests" / "results" / "frbny_nowcast"
           / "Nowcasting" / "data" / "US" / "2016-06-29.xls")
    assert xls.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # a BIFF workbook, not text
    df = load_file(xls, "macro", options=make_options(mapping=["ds=Date"]))
    payems = df[df["name"] == "PAYEMS"].sort_values("ds")
    assert payems["ds"].iloc[0] == pd.Timestamp("1985-01-01") and payems["value"].iloc[0] == 96373


def test_long_ids_that_excel_rounded_to_scientific_notation_are_refused(tmp_path):
    path = write(tmp_path / "sci.csv", "unique_id,ds,y\n6.12346E+11,2025-10-01,1\nA1E5,2025-10-01,2\n"
                                        "612345678901,2025-10-01,3\n")
    with pytest.raises(DataValidationError) as info:
        load_file(path, "sales")
    text = str(info.value)
    assert "1 problem(s)" in text and "row 1 (line 2), column 'unique_id': got '6.12346E+11'" in text
    assert "format the id column as text" in text


def test_repeated_order_numbers_that_excel_rounded_say_so(tmp_path):
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1234567890123450000,A,2025-10-01 10:00,1\n"
                                      "1234567890123450000,A,2025-10-01 11:00,2\n2234567890123450000,B,2025-10-01 12:00,1\n")
    with pytest.raises(DataValidationError, match=r"order_id holds numbers of 19 digits ending in zeros "
                                                  r"\(1234567890123450000\): Excel keeps 15 digits"):
        load_file(path, "orders")


NBS = ("数据库：月度数据\n时间：最近13个月\n指标,2025年10月,2025年9月,2025年8月\n"
       "居民消费价格指数(上年同月=100),99.8,99.7,\n食品烟酒类居民消费价格指数(上年同月=100),98.1,97.9,97.5\n"
       "注：1、2025年起...\n数据来源：国家统计局\n")


def test_a_statistics_bureau_table_of_indicators_down_and_months_across_is_read(tmp_path):
    path = write(tmp_path / "月度数据.csv", NBS)
    with pytest.raises(DataValidationError, match=r"its columns look like dates \(2025年10月 \.\.\. 2025年8月\): "
                                                  r"a table of indicators down and dates across is read with "
                                                  r"--date-format %Y年%m月$"):
        load_file(path, "macro")
    df = load_file(path, "macro", options=make_options(date_format="%Y年%m月"))
    cpi = df[df["name"] == "居民消费价格指数(上年同月=100)"]
    assert cpi["ds"].tolist() == [pd.Timestamp("2025-10-01"), pd.Timestamp("2025-09-01")]  # 8月 blank
    assert cpi["value"].tolist() == [99.8, 99.7] and len(df) == 5
    notes = " | ".join(df.attrs["notes"])
    for said in ("2 title line(s) above the header skipped (line 1, 2)",
                 "2 note line(s) below the data skipped (line 6, 7)",
                 "column '指标' read as the indicator names (name)", "1 blank cell(s) are no macro row"):
        assert said in notes


def test_note_lines_below_the_data_are_skipped_but_a_data_row_is_not_taken_for_one(tmp_path):
    path = write(tmp_path / "n.csv", "unique_id,ds,y\nA,2025-10-01,1\nSource: shop back end\nNote: returns left out\n")
    df = load_file(path, "sales")
    assert len(df) == 1 and any("2 note line(s) below the data skipped (line 3, 4)" in n for n in df.attrs["notes"])
    bad = write(tmp_path / "b.csv", "unique_id,ds,y\nA,2025-10-01,1\nnotebook,,\n")
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'ds'"):
        load_file(bad, "sales")


def test_an_order_time_in_a_date_column_and_a_time_column_is_joined(tmp_path):
    opts = make_options(mapping=["order_id=订单编号", "unique_id=商品ID", "ts=付款日期+付款时间", "quantity=数量"])
    path = write(tmp_path / "o.csv", "订单编号,商品ID,付款日期,付款时间,数量\n1,A,2025-10-01,10:02:03,1\n")
    assert load_file(path, "orders", options=opts)["ts"].tolist() == [pd.Timestamp("2025-10-01 10:02:03")]
    sheet = pd.DataFrame({"订单编号": ["1"], "商品ID": ["A"], "付款日期": [pd.Timestamp("2025-10-01")],
                          "付款时间": ["10:02:03"], "数量": [1]})
    sheet.to_excel(tmp_path / "o.xlsx", index=False)  # a date cell reads as midnight
    df = load_file(tmp_path / "o.xlsx", "orders", options=opts)
    assert df["ts"].tolist() == [pd.Timestamp("2025-10-01 10:02:03")]


def test_a_year_column_and_a_month_column_make_a_month(tmp_path):
    path = write(tmp_path / "m.csv", "商品,年份,月份,销量\nA,2025,9,3\nA,2025,10,4\n")
    opts = dict(mapping=["unique_id=商品", "ds=年份+月份", "y=销量"])
    with pytest.raises(DataValidationError, match=r"--date-format '%Y %m'"):
        load_file(path, "sales", options=make_options(**opts))
    df = load_file(path, "sales", options=make_options(**opts, date_format="%Y %m"))
    assert df["ds"].tolist() == [pd.Timestamp("2025-09-01"), pd.Timestamp("2025-10-01")]


def test_an_amount_column_gives_the_price_per_unit_and_is_not_stored(store, tmp_path):
    path = write(tmp_path / "s.csv", "商品,日期,支付件数,支付金额,单价\nA,2025-10-01,2,119.8,\nA,2025-10-02,0,0,\n"
                                      "A,2025-10-03,3,150,49.9\nB,2025-10-01,1,\"1,299.00\",\n")
    opts = make_options(mapping=["unique_id=商品", "ds=日期", "y=支付件数", "amount=支付金额", "price=单价"],
                        decimal=".")
    df = load_file(path, "sales", options=opts)
    assert "amount" not in df.columns
    assert df["price"].tolist()[:1] == [59.9] and np.isnan(df["price"].iloc[1])
    assert df["price"].tolist()[2:] == [49.9, 1299.0]  # the file's own price is kept
    assert any(n.startswith("price: 2 read as amount / y") for n in df.attrs["notes"])
    orders = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity,实付金额\n1,A,2025-10-01 10:00,4,99.6\n")
    got = load_file(orders, "orders", options=make_options(mapping=["amount=实付金额"]))
    assert got["unit_price"].tolist() == [24.9]
    ingest_file(store, orders, "orders", add_products=True, options=make_options(mapping=["amount=实付金额"]))
    assert store.orders_between("2000-01-01", "2100-01-01")["unit_price"].tolist() == [24.9]


def test_a_refund_amount_on_a_returns_row_gives_its_price_and_a_wrong_sign_is_refused(tmp_path):
    path = write(tmp_path / "s.csv", "unique_id,ds,y,amount\nA,2025-10-01,2,119.8\nA,2025-10-02,-1,-59.9\n"
                                      "A,2025-10-03,0,-10\n")
    df = load_file(path, "sales", options=make_options(negatives="keep"))
    assert df["y"].tolist() == [2, -1, 0]
    assert df["price"].tolist()[:2] == [59.9, 59.9] and np.isnan(df["price"].iloc[2])  # a refund only
    clipped = load_file(path, "sales", options=make_options(negatives="clip"))
    assert clipped["y"].tolist() == [2, 0, 0] and clipped["price"].notna().sum() == 1
    bad = write(tmp_path / "b.csv", "unique_id,ds,y,amount\nA,2025-10-01,2,-119.8\nA,2025-10-02,-1,59.9\n")
    with pytest.raises(DataValidationError) as err:
        load_file(bad, "sales", options=make_options(negatives="keep"))
    assert [(p["row"], p["column"]) for p in err.value.problems] == [(1, "amount"), (2, "amount")]
    assert "row 1 (line 2), column 'amount': got '-119.8'" in str(err.value)


@pytest.mark.parametrize("written", ["2025-10-02 星期四", "2025-10-02(周四)", "2025-10-02（礼拜四）",
                                     "Thu 2025-10-02", "2025-10-02, Thursday", "周四 2025/10/02"])
def test_dates_written_with_their_day_of_the_week_are_read_and_checked(tmp_path, written):
    opts = make_options(date_format="%Y/%m/%d") if "/" in written else None
    df = load_file(write(tmp_path / "d.csv", f'unique_id,ds,y\nA,"{written}",1\n'), "sales", options=opts)
    assert df["ds"].tolist() == [pd.Timestamp("2025-10-02")]
    assert any("1 date(s) written with the day of the week" in n for n in df.attrs["notes"])


def test_a_date_whose_weekday_disagrees_is_refused_with_its_row(tmp_path):
    """2025-02-10 is a Monday: written beside 周四 it is 10 February read month first."""
    path = write(tmp_path / "d.csv", "unique_id,ds,y\nA,2025-10-02(周四),1\nA,2025-02-10(周四),2\n")
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'ds': got '2025-02-10\(周四\)', "
                                                  r"expected a date on the day of the week written beside it"):
        load_file(path, "sales")
    # a --date-format that reads the weekday itself is left to do so
    own = write(tmp_path / "a.csv", "unique_id,ds,y\nA,\"Thu, 02 Oct 2025\",1\n")
    df = load_file(own, "sales", options=make_options(date_format="%a, %d %b %Y"))
    assert df["ds"].tolist() == [pd.Timestamp("2025-10-02")]
    assert not any("day of the week" in n for n in df.attrs["notes"])


def test_a_day_without_its_year_and_text_after_a_date_get_no_wrong_format_hint(tmp_path):
    """Before: both were told to pass --date-format %Y-%m-%d or %m/%d/%Y, which reads neither."""
    path = write(tmp_path / "d.csv", "unique_id,ds,y\nA,10月3日,1\nA,2025/10/04 (x),1\n")
    with pytest.raises(DataValidationError) as info:
        load_file(path, "sales")
    text = str(info.value)
    assert "got '10月3日', expected a date like 2024-06-18, not a day without its year" in text
    assert "got '2025/10/04 (x)', expected a date like 2024-06-18 (the text after the date is not a time" in text
    assert "--date-format" not in text


def test_ids_written_as_excel_text_are_stored_as_the_text_inside(store, tmp_path):
    """Before: ="6901234567890" (how back ends keep a long number as text in Excel) was stored
    as the id ="6901234567890", so the catalogue's 6901234567890 never met its sales."""
    sales = write(tmp_path / "s.csv", 'unique_id,ds,y\n="6901234567890",="2025-10-01",1\n'
                                      '"=""6901234567890""",2025-10-02,2\n\'0123,2025-10-02,3\n')
    products = write(tmp_path / "p.csv", "unique_id,title\n6901234567890,茶壶\n0123,杯子\n")
    ingest_file(store, products, "products")
    ingest_file(store, sales, "sales")
    assert sorted(store.series_ids()) == ["0123", "6901234567890"]
    assert store.count("products") == 2  # no product added for a wrapped id
    notes = load_file(sales, "sales").attrs["notes"]
    assert "column 'unique_id': 3 value(s) written as Excel text ('=\"6901234567890\"') read as the text inside" \
        in notes
    # a formula that is not text, and a quote inside a title, stay as written
    other = load_file(write(tmp_path / "o.csv", "unique_id,title\nA,=SUM(1)\nB,'好'\n"), "products")
    assert other["title"].tolist() == ["=SUM(1)", "'好'"]


def test_a_promotion_flag_written_as_yes_or_no_is_read_as_1_or_0(tmp_path):
    """Before: 是/否 (参加活动) in the promo column was refused as not a number."""
    path = write(tmp_path / "s.csv", "unique_id,ds,y,promo\nA,2025-10-01,1,是\nA,2025-10-02,1,否\n"
                                      "A,2025-10-03,1,Y\nA,2025-10-04,1,1\nA,2025-10-05,1,\n")
    df = load_file(path, "sales")
    assert df["promo"].tolist()[:4] == [1.0, 0.0, 1.0, 1.0] and np.isnan(df["promo"].iloc[4])
    assert "promo: 3 yes/no value(s) (Y, 否, 是) read as 1/0" in df.attrs["notes"]
    with pytest.raises(DataValidationError, match="got '也许'"):  # anything else is still refused
        load_file(write(tmp_path / "b.csv", "unique_id,ds,y,promo\nA,2025-10-01,1,也许\n"), "sales")


def test_a_number_in_parentheses_is_accountings_negative(tmp_path):
    """(2) in a finance export is -2: a return, refused or kept by --negatives like -2."""
    path = write(tmp_path / "s.csv", "unique_id,ds,y,price\nA,2025-10-01,3,59.9\nA,2025-10-02,(2),\"(¥1,299.00)\"\n")
    with pytest.raises(DataValidationError, match=r"got '\(2\)', expected a number >= 0 \(returns\? pass "):
        load_file(path, "sales", options=make_options(decimal="."))
    with pytest.raises(DataValidationError, match=r"column 'price': got '\(¥1,299.00\)', expected a number >= 0"):
        load_file(path, "sales", options=make_options(decimal=".", negatives="keep"))
    kept = write(tmp_path / "k.csv", "unique_id,ds,y\nA,2025-10-01,3\nA,2025-10-02,( 2 )\nA,2025-10-03,()\n")
    with pytest.raises(DataValidationError, match=r"got '\(\)'"):  # nothing inside: not a number
        load_file(kept, "sales", options=make_options(negatives="keep"))
    df = load_file(write(tmp_path / "g.csv", "unique_id,ds,y\nA,2025-10-01,3\nA,2025-10-02,( 2 )\n"), "sales",
                   options=make_options(negatives="keep"))
    assert df["y"].tolist() == [3.0, -2.0]


def test_product_ids_written_two_ways_are_named(store, tmp_path):
    """SKU001 from one export and sku001 from another are two products as written: said."""
    ingest_file(store, write(tmp_path / "a.csv", "unique_id,ds,y\nSKU001,2025-10-01,1\nB7,2025-10-01,1\n"),
                "sales")
    report = ingest_file(store, write(tmp_path / "b.csv", "unique_id,ds,y\nsku001,2025-10-02,1\n"
                                                            "b 7,2025-10-02,1\nC,2025-10-02,1\n"), "sales")
    assert ("product ids that differ only in letter case, full-width characters, spaces or leading zeros "
            "('B7' and 'b 7'; "
            "'SKU001' and 'sku001'; 2 such group(s)): stored as different products") in " ".join(report.notes)
    assert len(store.series_ids()) == 5  # kept as written
    quiet = ingest_file(store, write(tmp_path / "c.csv", "unique_id,ds,y\nC,2025-10-03,1\n"), "sales")
    assert not any("letter case" in n for n in quiet.notes)


def test_new_sales_off_the_workspaces_calendar_are_relabelled_or_refused(store, tmp_path):
    """Before: January as 1993-01-01 (a month label) in a workspace of month ends was stored
    beside 1992-12-31, and the next forecast was daily: 4,563 days filled with zero sales."""
    from trendcast.services.forecast import run_forecast

    months = pd.date_range("1990-01-31", "1992-12-31", freq="ME")
    base = "unique_id,ds,y\n" + "".join(f"A,{d.date()},{100 + i % 12}\n" for i, d in enumerate(months))
    ingest_file(store, write(tmp_path / "base.csv", base), "sales")
    report = ingest_file(store, write(tmp_path / "jan.csv", "unique_id,ds,y\nA,1993-01-01,105\n"), "sales")
    assert store.sales_span()[1] == pd.Timestamp("1993-01-31")
    assert any("read as that period, dated by its last day" in n for n in report.notes)
    run = run_forecast(store, horizon=2, models=["SeasonalNaive"])
    assert sorted(run.forecasts["ds"].unique()) == [pd.Timestamp("1993-02-28"), pd.Timestamp("1993-03-31")]
    before = store.count("sales")
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'ds': got '1993-02-15', expected a "
                                                  r"date on the workspace's calendar: its sales are monthly"):
        ingest_file(store, write(tmp_path / "feb.csv", "unique_id,ds,y\nA,1993-02-28,1\nA,1993-02-15,2\n"),
                    "sales")
    assert store.count("sales") == before  # nothing stored
    with friday_weeks(tmp_path) as ws, pytest.raises(
            DataValidationError, match="weekly \\(Fridays\\), each period dated by its Friday"):
        ingest_file(ws, write(tmp_path / "w2.csv", "unique_id,ds,y\nA,2024-03-13,1\n"), "sales",
                    now=pd.Timestamp("2024-06-01"))


def test_a_time_zone_written_as_gmt_plus_hours_is_its_offset(tmp_path):
    """Before: '2025-10-01 10:00:00 GMT+8' was refused as not a date-time."""
    path = write(tmp_path / "o.csv", "order_id,unique_id,ts,quantity\n1,A,2025-10-01 10:00:00 GMT+8,1\n"
                                      "2,A,2025-10-01 02:00:00 UTC,1\n3,A,2025-09-30 21:30 UTC-05:30,1\n")
    df = load_file(path, "orders", options=make_options(workspace_tz="Asia/Shanghai"))
    assert df["ts"].tolist() == [pd.Timestamp("2025-10-01 10:00")] * 2 + [pd.Timestamp("2025-10-01 11:00")]


@contextlib.contextmanager
def friday_weeks(tmp_path) -> Iterator[Store]:
    """A workspace of weekly sales dated by their Friday (ten weeks from 2024-01-05)."""
    from trendcast.data.store import open_store

    with open_store(tmp_path / "fridays.duckdb") as ws:
        fridays = pd.date_range("2024-01-05", periods=10, freq="W-FRI")
        ingest_file(ws, write(tmp_path / "fridays.csv", "unique_id,ds,y\n"
                              + "".join(f"A,{d.date()},1\n" for d in fridays)),
                    "sales", now=pd.Timestamp("2024-06-01"))
        yield ws


@pytest.mark.parametrize("label", ["1993年1月", "1993-01", "1993/1", "Jan 1993"])
def test_a_monthly_workspace_reads_month_labels_as_its_months(store, tmp_path, label):
    """Before: every month label needed --date-format, also in a workspace of months."""
    months = pd.date_range("1991-01-31", "1992-12-31", freq="ME")
    base = "unique_id,ds,y\n" + "".join(f"A,{d.date()},{100 + i % 12}\n" for i, d in enumerate(months))
    ingest_file(store, write(tmp_path / "base.csv", base), "sales")
    report = ingest_file(store, write(tmp_path / "jan.csv", f"unique_id,ds,y\nA,{label},105\n"), "sales")
    assert store.sales_span()[1] == pd.Timestamp("1993-01-31")  # dated as the workspace dates months
    assert any("1 month label(s) read as dates, the month's first day" in n for n in report.notes)


def test_a_daily_workspace_still_refuses_month_labels(store, tmp_path):
    days = "unique_id,ds,y\n" + "".join(f"A,2024-01-{d:02d},1\n" for d in range(1, 29))
    ingest_file(store, write(tmp_path / "d.csv", days), "sales", now=pd.Timestamp("2024-03-01"))
    with pytest.raises(DataValidationError, match="got '2024-02'"):
        ingest_file(store, write(tmp_path / "m.csv", "unique_id,ds,y\nA,2024-02,1\n"), "sales",
                    now=pd.Timestamp("2024-03-01"))


def test_weeks_dated_by_their_other_end_are_the_workspaces_weeks(store, tmp_path):
    """ISO weeks (their Mondays) into a workspace of weeks ending Sunday: the same weeks; into
    one of weeks ending Friday (Saturday to Friday) they are other weeks: refused."""
    sundays = pd.date_range("2024-01-07", periods=10, freq="W-SUN")
    base = "unique_id,ds,y\n" + "".join(f"A,{d.date()},{i}\n" for i, d in enumerate(sundays))
    ingest_file(store, write(tmp_path / "s.csv", base), "sales", now=pd.Timestamp("2024-06-01"))
    report = ingest_file(store, write(tmp_path / "iso.csv", "unique_id,ds,y\nA,2024-W11,5\n"), "sales",
                         now=pd.Timestamp("2024-06-01"))
    assert store.sales_span()[1] == pd.Timestamp("2024-03-17")  # the Sunday ending ISO week 11
    assert any("dated by its Sunday as this weekly workspace" in n for n in report.notes)
    with friday_weeks(tmp_path) as ws:
        with pytest.raises(DataValidationError, match="each period dated by its Friday"):
            ingest_file(ws, write(tmp_path / "i2.csv", "unique_id,ds,y\nA,2024-W11,5\n"), "sales",
                        now=pd.Timestamp("2024-06-01"))
        ingest_file(ws, write(tmp_path / "sat.csv", "unique_id,ds,y\nA,2024-03-09,5\n"), "sales",
                    now=pd.Timestamp("2024-06-01"))  # a Saturday: the first day of a Friday week
        assert ws.sales_span()[1] == pd.Timestamp("2024-03-15")


def test_a_wide_macro_table_without_its_date_mapped_is_told_which_column(tmp_path):
    """Walmart's features.csv and Favorita's oil.csv as they come were refused with "missing
    'name', 'ds', 'value'" and a hint to map name, which cannot read them."""
    text = "Store,Date,Fuel_Price,CPI,IsHoliday\n1,2010-02-05,2.57,211.1,FALSE\n1,2010-02-12,2.55,NA,TRUE\n"
    with pytest.raises(DataValidationError, match=r"dates in column 'Date' \(Store, Fuel_Price, CPI, "
                                                  r"IsHoliday as indicators\): --map ds=Date, and --map name"):
        load_file(write(tmp_path / "f.csv", text), "macro")
    df = load_file(write(tmp_path / "f.csv", text), "macro",
                   options=make_options(mapping=["ds=Date", "name=Store"], drop=["IsHoliday"]))
    assert sorted(df["name"].unique()) == ["CPI:1", "Fuel_Price:1"]
    with pytest.raises(DataValidationError, match="missing required column"):  # no dates: as before
        load_file(write(tmp_path / "g.csv", "a,b\nx,1\n"), "macro")


def test_holidays_marked_transferred_are_left_out_of_the_calendar(tmp_path):
    """Favorita's holidays_events.csv marks 12 holidays transferred (observed on another day,
    its own row): they were stored as events on a working day, with only "extra column(s) not
    stored: transferred" said."""
    text = ("date,description,transferred\n2012-10-09,Independencia de Guayaquil,TRUE\n"
            "2012-10-12,Traslado Independencia de Guayaquil,FALSE\n2024-13-01,Bad,FALSE\n")
    options = make_options(mapping=["ds=date", "name=description"])
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'ds'"):  # lines kept
        load_file(write(tmp_path / "h.csv", text), "calendar", options=options)
    df = load_file(write(tmp_path / "h.csv", text.replace("2024-13-01", "2024-12-01")), "calendar",
                   options=options)
    assert df["name"].tolist() == ["Traslado Independencia de Guayaquil", "Bad"]
    assert "transferred" not in df.columns
    assert any("1 holiday row(s) marked transferred left out" in n and "row 1 (line 2), "
               "'Independencia de Guayaquil'" in n for n in df.attrs["notes"])
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'transferred': got 'maybe'"):
        load_file(write(tmp_path / "h.csv", text.replace("FALSE", "maybe", 1)), "calendar", options=options)


def test_a_quantity_written_as_a_dash_is_zero_and_a_dash_price_is_no_price(tmp_path):
    """Excel's accounting format shows 0 as '-', and a CSV saved as displayed keeps it: a
    quantity of '-' was refused; it is 0 (noted). A price of '-' was refused too; a price of 0 is
    no price a model can use, so it is read as none (noted)."""
    text = 'unique_id,ds,y,price\nA,2024-01-01," -   ",5\nA,2024-01-02,—,5\nA,2024-01-03,(3),5\nB,2024-01-01,2,5\n'
    df = load_file(write(tmp_path / "a.csv", text), "sales", options=make_options(negatives="keep"))
    assert df.sort_values(["unique_id", "ds"])["y"].tolist() == [0.0, 0.0, -3.0, 2.0]
    assert "y: 2 quantity(ies) written as a lone dash read as 0 (Excel's accounting format shows 0 as '-')" \
        in df.attrs["notes"]
    priced = load_file(write(tmp_path / "p.csv", "unique_id,ds,y,price\nA,2024-01-01,1,-\nA,2024-01-02,1,5\n"),
                       "sales")
    assert priced["price"].isna().tolist() == [True, False]
    assert "price: 1 price(s) written as a lone dash read as no price (Excel's accounting format shows 0 as " \
           "'-')" in priced.attrs["notes"]


def test_a_workbook_with_a_notes_sheet_first_names_the_sheet_that_has_the_data(tmp_path):
    """A 说明 (notes) sheet in front of the data: the error listed the notes sheet's one
    'column'; it now names the sheet that has the columns and --sheet."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["本报表由系统导出，数据见第二个工作表"])
    data = book.create_sheet("销售 明细")
    data.append(["商品", "日期", "销量"])
    data.append(["A", "2024-01-01", 3])
    path = tmp_path / "two.xlsx"
    book.save(path)
    opts = make_options(mapping=["unique_id=商品", "ds=日期", "y=销量"])
    with pytest.raises(InputFileError, match=r"the first sheet '说明' has no column\(s\) '商品', '日期', '销量'; "
                                             r"sheet '销售 明细' has them: pass --sheet '销售 明细'"):
        load_file(path, "sales", options=opts)
    assert load_file(path, "sales", options=make_options(mapping=["unique_id=商品", "ds=日期", "y=销量"],
                                                         sheet="销售 明细"))["y"].tolist() == [3.0]
    # no other sheet has the columns: the usual error
    with pytest.raises(DataValidationError, match="missing required column"):
        load_file(path, "orders")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_on_two_lines_is_read_as_one(tmp_path, suffix):
    """Grouped columns: a group name over two columns (merged in Excel, left of a blank cell in
    CSV) and their names below. Before: "header, column 4: got ''"."""
    rows = [["商品", "日期", "销售", None, "退货", None], [None, None, "数量", "金额", "数量", "金额"],
            ["A", "2024-01-01", "3", "29.7", "1", "9.9"], ["B", "2024-01-01", "x", "0", "0", "0"]]
    path = tmp_path / f"h{suffix}"
    if suffix == ".csv":
        write(path, "\n".join(",".join(c or "" for c in r) for r in rows) + "\n")
    else:
        from openpyxl import Workbook

        book = Workbook()
        for r in rows:
            book.active.append(r)
        book.active.merge_cells("C1:D1")
        book.active.merge_cells("E1:F1")
        book.save(path)
    opts = make_options(mapping=["unique_id=商品", "ds=日期", "y=销售 数量"])
    # the names below repeat (数量 under 销售 and under 退货): each is named with its group; a
    # bad row after the two header lines names its own file line
    with pytest.raises(DataValidationError, match=r"\(line 4\), column 'y': got 'x'"):
        load_file(path, "sales", options=opts)
    rows[3][2] = "2"
    if suffix == ".csv":
        write(path, "\n".join(",".join(c or "" for c in r) for r in rows) + "\n")
    else:
        from openpyxl import load_workbook

        book = load_workbook(path)
        book.active["C4"] = "2"
        book.save(path)
    df = load_file(path, "sales", options=opts)
    assert df.sort_values("unique_id")["y"].tolist() == [3.0, 2.0]
    assert "header written on two lines (line 1, 2) read as one: the names on line 2, under their group's " \
           "where one repeats" in df.attrs["notes"]
    assert any("销售 金额" in n and "退货 数量" in n for n in df.attrs["notes"])  # extra columns named


def test_a_blank_header_cell_above_data_is_still_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"header, column 1: got ''"):
        load_file(write(tmp_path / "i.csv", ",unique_id,ds,y\n0,A,2024-01-01,1\n1,B,2024-01-01,2\n"), "sales")


def test_a_text_row_under_a_header_with_a_blank_cell_is_not_taken_for_a_second_header_line(tmp_path):
    text = "review_id,unique_id,text,\nr1,A,great,extra\nr2,B,fine,more\n"
    with pytest.raises(DataValidationError, match=r"header, column 4: got ''"):
        load_file(write(tmp_path / "r.csv", text), "reviews")


def test_a_file_without_a_header_line_is_named_with_columns(tmp_path):
    """The UCI/Amazon sentiment files: `text<TAB>label`, no header. Before, the first review was
    read as a column name and the error listed it; now the error says the first line looks like
    data and names --columns, and with it the file reads (a comma in a review's text does not
    make it a comma file)."""
    text = "Good case, Excellent value.\t1\nSo there is no way for me to plug it in here.\t0\nGreat, great.\t1\n"
    path = write(tmp_path / "cells.txt", text)
    with pytest.raises(InputFileError, match=r"the first line looks like data, not a header \('1' is a "
                                             r"column name\): .* name its 2 columns in order with --columns, "
                                             r"e.g. --columns text,rating"):
        load_file(path, "reviews", options=make_options(constants=["unique_id=phones"]))
    df = load_file(path, "reviews", options=make_options(columns="text,rating", constants=["unique_id=phones"],
                                                         rating_scale="0-1"))
    assert df["text"].tolist()[0] == "Good case, Excellent value." and df["rating"].tolist() == [5.0, 1.0, 5.0]
    # errors count rows as the file does: no header line
    bad = write(tmp_path / "bad.txt", "fine\t1\nbad\tx\n")
    with pytest.raises(DataValidationError, match=r"bad\.txt: row 2, column 'rating': got 'x'"):
        load_file(bad, "reviews", options=make_options(columns="text,rating", constants=["unique_id=p"]))


@pytest.mark.parametrize(("value", "fmt", "message"), [
    ("text,,rating", None, "name every column once"),
    ("text,text", None, "name every column once"),
    ("text,rating", "taobao", "the format names its own columns"),
])
def test_columns_option_is_checked(value, fmt, message):
    with pytest.raises(InputFileError, match=message):
        make_options(columns=value, fmt=fmt)


def test_a_header_of_names_is_not_taken_for_data(tmp_path):
    # a sales file whose header is fine but lacks a column: the usual error, no --columns hint
    with pytest.raises(DataValidationError, match="missing required column") as err:
        load_file(write(tmp_path / "s.csv", "unique_id,ds\nA,2024-01-01\n"), "sales")
    assert "--columns" not in str(err.value)


def test_numbers_in_wan_and_k_are_read_with_decimal(tmp_path):
    """Chinese reports write 1.2万 (12,000) and ¥1.5万; dashboards 3k. Read with --decimal .
    (numbers written for people); without it the hint names --decimal. Never a guess: 1.2万万
    and 万 alone are refused."""
    path = write(tmp_path / "w.csv", "unique_id,ds,y,price\nA,2025-01-01,1.2万,¥1.5万\nA,2025-01-02,9800,3k\n"
                                     "A,2025-01-03,0.5亿,10\n")
    with pytest.raises(DataValidationError, match=r"got '1\.2万', .*a currency sign: pass --decimal \."):
        load_file(path, "sales")
    df = load_file(path, "sales", options=make_options(decimal="."))
    assert df["y"].tolist() == [12000.0, 9800.0, 50_000_000.0] and df["price"].tolist() == [15000.0, 3000.0, 10.0]
    bad = write(tmp_path / "b.csv", "unique_id,ds,y\nA,2025-01-01,1.2万万\nA,2025-01-02,万\n")
    with pytest.raises(DataValidationError, match=r"2 row\(s\)"):
        load_file(bad, "sales", options=make_options(decimal="."))


def test_times_written_with_shangwu_xiawu_read_on_the_24_hour_clock(tmp_path):
    """Chinese Windows writes 2025/11/11 下午 3:05:00. Before: "the text after the date is not a
    time of day"; now the hint names the layout, and with it the times are right."""
    text = ("order_id,unique_id,ts,quantity\no1,A,2025/11/11 下午 3:05:00,1\no2,A,2025/11/11 上午 9:05:00,2\n"
            "o3,A,2025/11/11 中午 12:30:00,1\no4,A,2025/11/11 上午 12:10:00,1\no5,A,2025/11/11 下午 15:20:00,1\n")
    path = write(tmp_path / "o.csv", text)
    with pytest.raises(DataValidationError, match=r"--date-format '%Y/%m/%d %H:%M:%S'"):
        load_file(path, "orders")
    df = load_file(path, "orders", options=make_options(date_format="%Y/%m/%d %H:%M:%S"))
    assert df.sort_values("order_id")["ts"].dt.strftime("%H:%M").tolist() == ["15:05", "09:05", "12:30", "00:10",
                                                                              "15:20"]
    assert any("5 time(s) written with 上午/下午" in n for n in df.attrs["notes"])


def test_a_blank_value_after_a_series_last_value_is_a_period_not_reported_yet(store, tmp_path):
    """R's ausbeer ends with an empty 2008 Q4; a sheet keeps a row for the month under way."""
    text = ("unique_id,ds,y\nbeer,1956-01-01,284\nbeer,1956-04-01,213\nwine,1956-01-01,5\n"
            "beer,1956-07-01,\nwine,1956-04-01,NA\nwine,1956-07-01,\n")
    report = ingest_file(store, write(tmp_path / "q.csv", text), "sales")
    sales = store.sales()
    assert sorted(zip(sales["unique_id"], sales["ds"].dt.year, sales["y"], strict=True)) == [
        ("beer", 1956, 213.0), ("beer", 1956, 284.0), ("wine", 1956, 5.0)]
    assert ("3 row(s) with no value in column 'y' after their series' last value left out (line 5, 6, 7): "
            "periods not reported yet; a blank between two values is refused") in report.notes
    # a blank between two values, or a series with no value at all, is still refused
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'y': got empty"):
        load_file(write(tmp_path / "m.csv", "unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,\nA,2024-01-03,2\n"),
                  "sales")
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'y': got empty"):
        load_file(write(tmp_path / "n.csv", "unique_id,ds,y\nA,2024-01-01,\nA,2024-01-02,\n"), "sales")


@pytest.mark.parametrize(("text", "shown"), [
    ("P1,This phone is great and the battery lasts all day.\nP2,Broke after two days!\n",
     "This phone is great and the battery lasts all day."),
    ("手机A,质量很好，物流也快，下次还会买\n手机B,太差了，用了两天就坏了\n", "质量很好，物流也快，下次还会买"),
])
def test_a_headerless_file_of_text_only_is_named_by_its_sentence(tmp_path, text, shown):
    """No number or date in the first row: a review's sentence still tells it is data."""
    path = write(tmp_path / "r.csv", text)
    with pytest.raises(InputFileError) as err:
        load_file(path, "reviews")
    assert str(err.value) == (
        f"{path}: the first line looks like data, not a header ({shown!r} is a column name): if the file has "
        "no header line, name its 2 columns in order with --columns, e.g. --columns unique_id,text")
    df = load_file(path, "reviews", options=make_options(columns="unique_id,text"))
    assert df["text"].tolist()[0] == shown
    # names that are words, not sentences, keep the ordinary error
    with pytest.raises(DataValidationError, match="missing required column") as plain:
        load_file(write(tmp_path / "h.csv", "Product Name,Review Body\nP1,nice\n"), "reviews")
    assert "--columns" not in str(plain.value)


def test_taobao_user_behaviour_without_its_format_is_named(tmp_path):
    """Tianchi's UserBehavior.csv given to a plain ingest: the refusal names --format taobao
    (before, it suggested `--columns unique_id,ds,y` for a five-column file of events)."""
    text = "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,cart,1511561733\n2,2576651,149192,buy,1511572885\n"
    path = write(tmp_path / "UserBehavior.csv", text)
    for kind in ("sales", "events"):
        with pytest.raises(InputFileError) as err:
            load_file(path, kind)
        assert str(err.value) == (
            f"{path}: the first line looks like data, not a header ('1' is a column name): the file reads as "
            "Taobao user behaviour (user, item, category, pv/cart/fav/buy, Unix time): pass --format taobao")
    df = load_file(path, "events", options=make_options(fmt="taobao"))
    assert df["event_type"].tolist() == ["view", "cart", "buy"]
    # another behaviour word in the fourth column keeps the --columns hint
    other = write(tmp_path / "o.csv", text.replace("cart", "share"))
    with pytest.raises(InputFileError, match="name its 5 columns in order with --columns"):
        load_file(other, "events")


def test_amazon_review_data_without_its_format_is_named(tmp_path):
    """Amazon Review Data's JSON lines given to a plain ingest: the refusal names the preset
    (before: missing 'unique_id', 'text' with --map unique_id=<your column>); a mapping of the
    user's own is left to its usual errors."""
    line = ('{"overall": 5.0, "reviewerID": "A1", "asin": "B01", "reviewText": "Works well.", '
            '"unixReviewTime": 1472688000}\n')
    path = write(tmp_path / "All_Beauty_5.json", line + line.replace('"A1"', '"A2"').replace("5.0", "4.0"))
    for kind in ("reviews", "sales"):
        with pytest.raises(InputFileError) as err:
            load_file(path, kind)
        assert str(err.value) == (f"{path}: the columns are those of the amazon-reviews layout (asin, "
                                  "unixReviewTime, overall, reviewText): pass --format amazon-reviews")
    assert load_file(path, "reviews", fmt="amazon-reviews")["rating"].tolist() == [5.0, 4.0]
    mapped = make_options(mapping=["unique_id=asin", "text=reviewText", "rating=overall", "ts=unixReviewTime"])
    assert load_file(path, "reviews", options=mapped)["unique_id"].tolist() == ["B01", "B01"]


def test_a_sheet_of_months_across_written_2025_01_is_named_with_its_date_format(tmp_path):
    """Products down, `2025-01 ... 2025-03` across, a 合计 column and line: the hint names
    `--date-format %Y-%m` (it named no layout), and with it the sheet reads, sums left out."""
    path = write(tmp_path / "wide.csv", "sku,2025-01,2025-02,2025-03,合计\nA,10,12,14,36\nB,5,6,7,18\n合计,15,18,21,54\n")
    with pytest.raises(DataValidationError, match=r"its columns look like dates \(2025-01 \.\.\. 2025-03\): a table "
                                                  r"of products down and dates across is read with --date-format "
                                                  r"%Y-%m and --map unique_id=<its product column>$"):
        load_file(path, "sales")
    df = load_file(path, "sales", options=make_options(date_format="%Y-%m", mapping=["unique_id=sku"]))
    assert df.groupby("unique_id")["y"].sum().to_dict() == {"A": 36.0, "B": 18.0}
    assert df["ds"].min() == pd.Timestamp("2025-01-01") and df["ds"].max() == pd.Timestamp("2025-03-01")


def test_amounts_in_two_currencies_are_refused_naming_both(tmp_path):
    """A cross-border shop's price column: USD and EUR read as numbers would be summed and
    averaged as one currency. RMB, CNY, ¥ and 元 are one."""
    path = write(tmp_path / "p.csv", "unique_id,ds,y,price\nA,2025-11-10,3,USD 12.50\nA,2025-11-11,3,EUR 10\n"
                                     "A,2025-11-12,1,$9\n")
    with pytest.raises(DataValidationError, match=r"row 2 \(line 3\), column 'price': got 'EUR 10', expected a "
                                                  r"number >= 0 in the column's one currency \(\$; it also has €\)"):
        load_file(path, "sales", options=make_options(decimal="."))
    one = write(tmp_path / "q.csv", "unique_id,ds,y,price\nA,2025-11-10,3,RMB 12.5\nA,2025-11-11,3,¥10\n"
                                    "A,2025-11-12,1,9元\nA,2025-11-13,1,8\n")
    assert load_file(one, "sales", options=make_options(decimal="."))["price"].tolist() == [12.5, 10.0, 9.0, 8.0]


def test_a_calendar_of_every_day_keeps_its_event_days(store, tmp_path):
    """M5's calendar.csv (a date table: event_name_1 blank on most days): its 162 event days are
    stored and the others left out, noted. Before: 1,807 rows refused, "name: got empty"."""
    path = write(tmp_path / "calendar.csv", "date,event_name_1,event_type_1,event_name_2\n2016-02-06,,,\n"
                                            "2016-02-07,SuperBowl,Sporting,\n2016-02-08,,,\n")
    report = ingest_file(store, path, "calendar", options=make_options(
        mapping=["ds=date", "name=event_name_1", "kind=event_type_1"], drop=["event_name_2"]))
    cal = store.read("calendar_events")
    assert cal[["name", "kind"]].values.tolist() == [["SuperBowl", "Sporting"]]
    assert ("2 day(s) without an event name (column 'event_name_1') left out: a calendar of every day, 1 "
            "with an event") in report.notes
    # every name blank: a wrong column, refused
    with pytest.raises(DataValidationError, match="column 'name'"):
        load_file(path, "calendar", options=make_options(mapping=["ds=date", "name=event_name_2"]))


def test_ids_a_spreadsheet_changed_are_read_as_the_stored_ones(store, tmp_path):
    """A re-export through a spreadsheet drops the leading zeros of numeric SKUs (or writes
    them as floats): kept as written they started new products while the stored ones seemed
    to stop selling."""
    first = "unique_id,ds,y\n00123,2024-02-01,1\n00456,2024-02-01,2\n7,2024-02-01,3\nA01,2024-02-01,4\n"
    ingest_file(store, write(tmp_path / "a.csv", first), "sales")
    again = "unique_id,ds,y\n123,2024-02-02,5\n456.0,2024-02-02,6\n7.0,2024-02-02,7\nA1,2024-02-02,8\n"
    report = ingest_file(store, write(tmp_path / "b.csv", again), "sales")
    assert set(store.product_ids()) == {"00123", "00456", "7", "A01", "A1"}  # A1 is not a number
    day = store.sales(columns=["unique_id", "ds", "y"], start="2024-02-02").set_index("unique_id")["y"]
    assert day.to_dict() == {"00123": 5.0, "00456": 6.0, "7": 7.0, "A1": 8.0}
    assert any("3 product id(s) read as the id they match but for the leading zeros" in n
               and "'123' as '00123'" in n and "'7.0' as '7'" in n for n in report.notes)


def test_id_forms_are_kept_when_they_are_new_or_the_match_is_not_one(store, tmp_path):
    ingest_file(store, write(tmp_path / "a.csv", "unique_id,ds,y\n0123,2024-02-01,1\n00123,2024-02-01,2\n"),
                "sales")
    # '123' could be either stored id; '0456' is written with its zeros; '789' matches nothing
    report = ingest_file(store, write(tmp_path / "b.csv", "unique_id,ds,y\n123,2024-02-02,1\n"
                                                           "0456,2024-02-02,2\n789,2024-02-02,3\n"), "sales")
    assert set(store.product_ids()) == {"0123", "00123", "123", "0456", "789"}
    assert not any("read as the id they match" in n for n in report.notes)


def test_a_file_with_the_zeros_a_stored_id_lost_is_named(store, tmp_path):
    """The catalogue went through a spreadsheet ('123'); the sales system writes '00123'."""
    ingest_file(store, write(tmp_path / "a.csv", "unique_id,ds,y\n123,2024-02-01,1\n"), "sales")
    report = ingest_file(store, write(tmp_path / "b.csv", "unique_id,ds,y\n00123,2024-02-02,1\n"), "sales")
    assert set(store.product_ids()) == {"123", "00123"}  # kept as written, and said
    assert any("spaces or leading zeros ('00123' and '123'; 1 such group(s))" in n for n in report.notes)
    wide = ingest_file(store, write(tmp_path / "c.csv", "unique_id,ds,y\n１２３,2024-02-03,1\n"), "sales")
    assert "１２３" in store.product_ids()  # full-width: kept as written (not restored), and named
    assert any("'00123' and '123' and '１２３'" in n for n in wide.notes)


def test_a_file_that_writes_one_id_with_and_without_its_zeros_is_read_as_one(store, tmp_path):
    """A sheet someone retyped: '00123' in some rows, '123' in others; the first ingest."""
    text = "unique_id,ds,y\n00123,2024-02-01,1\n123,2024-02-02,2\n"
    report = ingest_file(store, write(tmp_path / "a.csv", text), "sales")
    assert set(store.product_ids()) == {"00123"} and any("'123' as '00123'" in n for n in report.notes)
