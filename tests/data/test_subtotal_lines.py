"""Subtotal lines inside a report's data (a back end's 小计 per group, Excel's "1 Total"): left
out with a note that names their lines, never stored as a product holding the group's sum.
Before, ``1_Subtotal`` and ``合计`` were stored as products with the shop's totals, and a
``小计`` line with an empty key part was refused as an empty key."""

from __future__ import annotations

import pandas as pd
import pytest

from trendcast.data.ingest import load_file, make_options
from trendcast.errors import DataValidationError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_subtotal_per_store_is_left_out_and_named(tmp_path):
    text = ("Store,Dept,Date,Sales\n"
            "1,1,2024-01-05,10\n1,2,2024-01-05,5\n1,Subtotal,2024-01-05,15\n"
            "2,1,2024-01-05,7\n2,小计,,7\n")
    opts = make_options(mapping=["unique_id=Store+Dept", "ds=Date", "y=Sales"])
    df = load_file(write(tmp_path / "r.csv", text), "sales", options=opts)
    assert sorted(df["unique_id"]) == ["1_1", "1_2", "2_1"] and df["y"].sum() == 22
    assert ("2 subtotal line(s) skipped (line 4, 6: 'Subtotal' in column 'Dept'): a report's sums, "
            "not products") in df.attrs["notes"]


@pytest.mark.parametrize("word", ["合计", "Total", "1 Total", "华东 小计", "Grand Total", "总计："])
def test_a_total_line_per_date_in_a_single_key_column(tmp_path, word):
    text = f"sku,date,qty\nA-1,2024-01-01,3\nB-2,2024-01-01,4\n{word},2024-01-01,7\nA-1,2024-01-02,1\n"
    df = load_file(write(tmp_path / "t.csv", text), "sales",
                   options=make_options(mapping=["unique_id=sku", "ds=date", "y=qty"]))
    assert set(df["unique_id"]) == {"A-1", "B-2"} and df["y"].sum() == 8
    assert any(n.startswith("1 subtotal line(s) skipped (line 4:") and "column 'sku'" in n
               for n in df.attrs["notes"])


def test_ids_that_only_contain_the_word_are_kept(tmp_path):
    text = "unique_id,ds,y\nTOTAL-5W30,2024-01-01,3\nsubtotals_box,2024-01-01,2\n合计器,2024-01-01,1\n"
    df = load_file(write(tmp_path / "k.csv", text), "sales")
    assert len(df) == 3 and not any("subtotal" in n for n in df.attrs["notes"])


def test_an_error_after_a_skipped_line_names_the_files_own_line(tmp_path):
    text = "Store,Dept,Date,Sales\n1,1,2024-01-05,10\n1,小计,,10\n2,1,2024-01-05,abc\n"
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'y': got 'abc'"):
        load_file(write(tmp_path / "e.csv", text), "sales",
                  options=make_options(mapping=["unique_id=Store+Dept", "ds=Date", "y=Sales"]))


def test_orders_with_a_daily_subtotal(tmp_path):
    text = ("order_id,unique_id,ts,quantity\n"
            "o1,A,2024-01-01 10:00,1\no2,B,2024-01-01 11:00,2\n小计,,,3\no3,A,2024-01-02 09:00,1\n")
    df = load_file(write(tmp_path / "o.csv", text), "orders")
    assert list(df["order_id"]) == ["o1", "o2", "o3"]
    assert any("1 subtotal line(s) skipped (line 4: '小计' in column 'order_id'): a report's sums, "
               "not orders" in n for n in df.attrs["notes"])
    assert pd.api.types.is_datetime64_any_dtype(df["ts"])
