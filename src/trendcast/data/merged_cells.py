"""Merged cells of a report sheet, read as the sheet shows them.

Back ends' Excel reports merge a store's or a category's cell over the rows it covers
(``北京店`` once, over three product lines). A reader sees one value for those rows; the
file holds it in the top cell only, so the rows below would read as empty. Ranges that span
several rows are filled down from their top cell, and said where (Excel's cell references);
ranges in one row (a title over the columns) are left alone. Whether a filled column may be
used at all is the ingest's call: a number merged over rows (a total over an order's lines)
cannot be shared between them (:func:`trendcast.data.ingest`).
"""

from __future__ import annotations

import re
import zipfile
from posixpath import join, normpath
from xml.etree import ElementTree

import pandas as pd

_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}

Range = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)


def column_letters(col: int) -> str:
    """0 -> 'A', 27 -> 'AB'."""
    out = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_range(r: Range) -> str:
    """Excel's reference of a range: (4, 1, 6, 1) -> 'B5:B7'."""
    return f"{column_letters(r[1])}{r[0] + 1}:{column_letters(r[3])}{r[2] + 1}"


def _sheet_part(zf: zipfile.ZipFile, sheet: str | int | None) -> str | None:
    """The zip member of the workbook's sheet ``sheet`` (a name or an index; None: the first)."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    sheets = book.findall("m:sheets/m:sheet", _NS)
    if isinstance(sheet, str):
        chosen = next((s for s in sheets if s.get("name") == sheet), None)
    else:
        index = sheet or 0
        chosen = sheets[index] if 0 <= index < len(sheets) else None
    if chosen is None:
        return None
    rid = chosen.get(f"{{{_NS['r']}}}id")
    target = next((r.get("Target") for r in rels.findall("p:Relationship", _NS) if r.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))


def xlsx_merged_ranges(path: str, sheet: str | int | None) -> list[Range]:
    """The merged ranges of an .xlsx sheet that span more than one row."""
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, sheet)
        if part is None or part not in zf.namelist():
            return []
        data = zf.read(part)
    at = data.rfind(b"<mergeCells")
    if at < 0:
        return []
    out = []
    for m in _MERGE.finditer(data, at):
        r0, c0 = int(m[2]) - 1, _column_number(m[1])
        r1, c1 = int(m[4]) - 1, _column_number(m[3])
        if r1 > r0:
            out.append((r0, c0, r1, c1))
    return sorted(out)


def span_grid(rows: list[list[tuple[str, int, int]]]) -> tuple[list[list[str]], list[Range]]:
    """An HTML table's rows of (text, rowspan, colspan) cells as a grid in which every cell
    sits in its column (cells under a rowspan and beside a colspan empty), and the ranges the
    rowspans cover (those spanning more than one row)."""
    grid: list[list[str]] = []
    ranges: list[Range] = []
    below: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for r, cells in enumerate(rows):
        row: list[str] = []
        col = 0
        for text, rowspan, colspan in cells:
            while below.get(col, 0) > 0:
                row.append("")
                col += 1
            row.extend([text] + [""] * (colspan - 1))
            if rowspan > 1:
                ranges.append((r, col, r + rowspan - 1, col + colspan - 1))
                for c in range(col, col + colspan):
                    below[c] = rowspan  # counted down below, this row included
            col += colspan
        for c in sorted(below):  # columns covered after the row's last cell
            if c >= len(row) and below[c] > 0:
                row.extend([""] * (c + 1 - len(row)))
        below = {c: n - 1 for c, n in below.items() if n > 1}
        grid.append(row)
    return grid, ranges


def fill_down(grid: pd.DataFrame, ranges: list[Range]) -> dict[object, list[str]]:
    """Fill each range's first column down from its top cell, in place (``grid``: the sheet's
    cells by position, row 0 = row 1, column 0 = column A); the ranges filled per column
    label. A range whose top cell is empty or outside the grid is left alone."""
    filled: dict[object, list[str]] = {}
    n_rows, n_cols = grid.shape
    for r in ranges:
        top, col, bottom = r[0], r[1], min(r[2], n_rows - 1)
        if top >= n_rows or col >= n_cols or bottom <= top:
            continue
        value = grid.iat[top, col]
        if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
            continue
        below = grid.iloc[top + 1: bottom + 1, col]
        grid.iloc[top + 1: bottom + 1, col] = below.where(below.notna(), value)
        filled.setdefault(grid.columns[col], []).append(cell_range(r))
    return filled


__all__ = ["Range", "cell_range", "column_letters", "fill_down", "span_grid", "xlsx_merged_ranges"]
