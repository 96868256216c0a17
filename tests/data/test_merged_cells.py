"""Merged cells as a report sheet shows them (data.merged_cells)."""

from __future__ import annotations

import pandas as pd

from trendcast.data.merged_cells import cell_range, column_letters, fill_down, span_grid


def test_cell_references_are_excels():
    assert [column_letters(c) for c in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    assert cell_range((4, 1, 6, 1)) == "B5:B7"


def test_row_spans_keep_every_cell_in_its_column_and_col_spans_leave_their_columns_empty():
    rows = [[("门店", 1, 1), ("日期", 1, 1), ("销量", 1, 1)],
            [("北京店", 3, 1), ("d1", 1, 1), ("3", 1, 1)],
            [("d2", 1, 1), ("4", 1, 1)],
            [("合计", 1, 2)],  # a total across two columns, its units cell missing
            [("上海店", 1, 1), ("d1", 2, 2)],  # a block over two rows and two columns
            [("广州店", 1, 1)]]
    grid, ranges = span_grid(rows)
    assert grid == [["门店", "日期", "销量"], ["北京店", "d1", "3"], ["", "d2", "4"], ["", "合计", ""],
                    ["上海店", "d1", ""], ["广州店", "", ""]]
    assert ranges == [(1, 0, 3, 0), (4, 1, 5, 2)]
    frame = pd.DataFrame(grid).replace("", None)
    filled = fill_down(frame, ranges)
    assert frame[0].tolist() == ["门店", "北京店", "北京店", "北京店", "上海店", "广州店"]
    assert frame[1].tolist()[4:] == ["d1", "d1"] and frame[2].isna().tolist()[4:] == [True, True]
    assert filled == {0: ["A2:A4"], 1: ["B5:C6"]}


def test_a_range_with_an_empty_top_cell_or_outside_the_sheet_is_left_alone():
    frame = pd.DataFrame({0: [None, None, "x"], 1: ["a", None, None]})
    assert fill_down(frame, [(0, 0, 1, 0), (1, 5, 2, 5), (5, 1, 7, 1)]) == {}
    assert frame[0].isna().tolist() == [True, True, False]
