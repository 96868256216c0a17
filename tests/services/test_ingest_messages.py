"""The ingest's notes and refusals in Chinese (services.ingest_messages).

Every message here is produced by the code (load_file / ingest_file on small careless files),
not copied: when a message changes and its pattern no longer knows it, a test fails. Each
pattern must be used by one of these messages, and a translation keeps the file name, values,
row and line numbers, column names and option spellings of the English.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from starlette.requests import Request

from trendcast.api import parsing
from trendcast.api.errors import ApiError
from trendcast.api.upload import receive_file, upload_lang, upload_options
from trendcast.data.ingest import load_file, make_options
from trendcast.data.readers import Limits
from trendcast.data.store import open_store
from trendcast.errors import TrendcastError
from trendcast.insights.report_notes import rules_used
from trendcast.services import ingest_messages
from trendcast.services.ingest import ingest_file
from trendcast.services.ingest_messages import known_message, localize_message, localize_notes
from trendcast.services.inventory import read_stock

NOW = pd.Timestamp("2024-03-20 15:00")  # a Wednesday
CASES: dict[str, Callable[[Path], list[str]]] = {}


def case(fn: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    CASES[fn.__name__] = fn
    return fn


def write(folder: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def refusal(fn: Callable[[], object]) -> str:
    try:
        fn()
    except TrendcastError as exc:
        return str(exc)
    raise AssertionError("the file was not refused")


def notes_of(folder: Path, name: str, text: str | bytes, kind: str, **kw) -> list[str]:
    return load_file(write(folder, name, text), kind, now=NOW, **kw).attrs["notes"]


def refused(folder: Path, name: str, text: str | bytes, kind: str, **kw) -> list[str]:
    return [refusal(lambda: load_file(write(folder, name, text), kind, now=NOW, **kw))]


def stored(folder: Path, files: list[tuple[str, str, dict]], *, refuse_last: bool = False) -> list[str]:
    """Ingest (name, text, options) files of sales/orders/... one after another into a new
    workspace: the notes of each, or the last one's refusal."""
    out: list[str] = []
    with open_store(folder / "ws.duckdb") as store:
        for i, (name, text, kw) in enumerate(files):
            kw = {"now": NOW, **kw}
            kind = kw.pop("kind", "sales")
            path = write(folder, name, text)
            if refuse_last and i == len(files) - 1:
                out.append(refusal(lambda: ingest_file(store, path, kind, **kw)))  # noqa: B023
            else:
                out += ingest_file(store, path, kind, **kw).notes
    return out


def _days(start: str, n: int, ids=("A", "B")) -> str:
    return "".join(f"{u},{d:%Y-%m-%d},{i % 5 + 1}\n" for i, d in
                   enumerate(pd.date_range(start, periods=n, freq="D")) for u in ids)


# ---- notes ---------------------------------------------------------------------------------

@case
def reviews_of_many_unknown_products(tmp: Path) -> list[str]:
    """Each unknown id named once with its rows, and how many more ids there are."""
    reviews = "unique_id,ts,rating,text\n" + "".join(
        f"{u},2024-03-01 10:00,5,ok\n" for u in ["书籍", "书籍", *(f"X{i:02d}" for i in range(11))])
    return stored(tmp, [("s.csv", "unique_id,ds,y\nA,2024-01-01,1\n", {}), ("r.csv", reviews, {"kind": "reviews"})],
                  refuse_last=True)


@case
def ratings_on_another_scale(tmp: Path) -> list[str]:
    """A 0/1 label on the default scale is told so; on its own scale it is stored as stars."""
    text = "review_id,unique_id,ts,rating,text\nr1,A,2024-03-01 10:00,0,差\nr2,A,2024-03-01 11:00,1,好\n"
    return (refused(tmp, "r.csv", text, "reviews")
            + notes_of(tmp, "r.csv", text, "reviews", options=make_options(rating_scale="0-1")))


@case
def taobao_behaviour_without_its_format(tmp: Path) -> list[str]:
    """UserBehavior.csv to a plain ingest: the refusal names --format taobao."""
    return refused(tmp, "UserBehavior.csv", "1,22,25,pv,1511544070\n1,23,25,buy,1511561733\n", "events")


@case
def amazon_reviews_without_their_format(tmp: Path) -> list[str]:
    """Amazon Review Data's JSON lines to a plain ingest: the refusal names the preset."""
    line = '{"overall": 4.0, "asin": "B01", "reviewText": "ok", "unixReviewTime": 1472688000}\n'
    return refused(tmp, "r.json", line, "reviews")


@case
def ids_a_spreadsheet_changed(tmp: Path) -> list[str]:
    """The re-export lost the stored ids' leading zeros; another wrote them as floats."""
    return stored(tmp, [("a.csv", "unique_id,ds,y\n00123,2024-02-01,1\n7,2024-02-01,2\n", {}),
                        ("b.csv", "unique_id,ds,y\n123,2024-02-02,1\n7.0,2024-02-02,2\n", {})])[-1:]


def _units_history() -> str:
    return "unique_id,ds,y\n" + "".join(f"{u},{d:%Y-%m-%d},{10 + i % 7}\n" for i, d in
                                       enumerate(pd.date_range("2024-01-01", periods=40)) for u in "ABCDEF")


@case
def a_days_file_in_cents(tmp: Path) -> list[str]:
    """A person's ingest stores it with a note; the daily update refuses it."""
    from trendcast.services.update import as_jobs, ingest_all

    cents = "unique_id,ds,y\n" + "".join(f"{u},2024-02-10,{1000 + i}\n" for i, u in enumerate("ABCDEF"))
    noted = stored(tmp, [("h.csv", _units_history(), {}), ("c.csv", cents, {})])[-1:]
    with open_store(tmp / "u.duckdb") as store:
        ingest_file(store, write(tmp, "h2.csv", _units_history()), "sales", now=NOW)
        path = write(tmp, "c2.csv", cents)
        refused_update = refusal(lambda: ingest_all(store, as_jobs([path]), now=NOW))
    return [*noted, refused_update]


@case
def a_forecast_date_waiting_for_a_left_out_row(tmp: Path) -> list[str]:
    """The daily update's note (services.monitor.waiting_note) after a store's row was left out."""
    from trendcast.services.monitor import score_pending, waiting_note
    from trendcast.services.versions import forecast_from_version, train_version

    days = pd.date_range("2024-01-01", periods=60)
    with open_store(tmp / "w.duckdb") as store:
        store.upsert("sales", pd.DataFrame([{"unique_id": u, "ds": d, "y": 900.0 + i % 7}
                                            for i, d in enumerate(days[:50]) for u in "ABC"]))
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
        forecast_from_version(store)
        store.upsert("sales", pd.DataFrame([{"unique_id": u, "ds": days[50], "y": 905.0} for u in "AC"]))
        score_pending(store)
        return [waiting_note(store)]


@case
def a_fast_seller_left_out_of_the_new_file(tmp: Path) -> list[str]:
    """Store B sold every day; the next day's file has A and C but not B."""
    history = "".join(f"{u},{d:%Y-%m-%d},{900 + i}\n" for i, d in enumerate(pd.date_range("2024-01-01", periods=30))
                      for u in ("A", "B", "C"))
    return stored(tmp, [("h.csv", "unique_id,ds,y\n" + history, {}),
                        ("d.csv", "unique_id,ds,y\nA,2024-01-31,950\nC,2024-01-31,940\n", {})])[-1:]


@case
def holidays_marked_transferred(tmp: Path) -> list[str]:
    """Favorita's holidays_events.csv: a transferred holiday's row is left out, named."""
    text = "ds,name,transferred\n2024-05-01,Labour,True\n2024-05-03,Labour,False\n"
    return (notes_of(tmp, "h.csv", text, "calendar")
            + refused(tmp, "h.csv", text.replace("False", "maybe"), "calendar"))


@case
def order_fields_on_the_first_line_only(tmp: Path) -> list[str]:
    """Shopify's export: Paid at on an order's first line only."""
    text = "Name,Paid at,Qty,Sku\n#1,2025-11-10 10:00:00,2,A\n#1,,1,B\n"
    return notes_of(tmp, "orders_export.csv", text, "orders", options=make_options(
        mapping=["order_id=Name", "ts=Paid at", "quantity=Qty", "unique_id=Sku"]))


@case
def blank_values_after_a_series_last_value(tmp: Path) -> list[str]:
    """R's ausbeer: an empty last quarter is a period not reported yet."""
    return notes_of(tmp, "q.csv", "unique_id,ds,y\nB,1956-01-01,284\nB,1956-04-01,\n", "sales")


@case
def holidays_of_several_regions(tmp: Path) -> list[str]:
    """Favorita's city and province holidays: left out of every product's flags, named."""
    text = ("ds,name,region\n2024-03-02,Fundacion de Manta,Manta\n2024-04-01,Provincializacion,Cotopaxi\n"
            "2024-05-01,Dia del Trabajo,Ecuador\n")
    return stored(tmp, [("h.csv", text, {"kind": "calendar"})])


@case
def wide_macro_without_its_date_column_mapped(tmp: Path) -> list[str]:
    """Walmart's features.csv as it comes: the refusal names the date column to map."""
    return refused(tmp, "f.csv", "Store,Date,Fuel_Price,CPI,IsHoliday\n1,2010-02-05,2.57,211.1,FALSE\n",
                   "macro")


@case
def day_and_month_order_told_by_the_column(tmp: Path) -> list[str]:
    """Favorita's holidays write '4/14/12' (month first): the hint names that order alone."""
    return (refused(tmp, "h.csv", "ds,name\n3/2/12,a\n4/14/12,b\n", "calendar")
            + refused(tmp, "m.csv", "ds,name\n13/2/12,a\n2/13/12,b\n", "calendar"))


@case
def gb18030_semicolons_blank_rows_and_extra_columns(tmp: Path) -> list[str]:
    text = "unique_id;ds;y;备注\n\nA;2024-01-01;1;周末促销活动的销量\n;;;\nB;2024-01-01;2;春节前备货的商品\n"
    return load_file(write(tmp, "s.csv", text, "gb18030"), "sales").attrs["notes"]


@case
def title_and_total_lines(tmp: Path) -> list[str]:
    return notes_of(tmp, "t.csv", "销售报表\n导出时间: 2024-01-02\nunique_id,ds,y\nA,2024-01-01,1\n合计,,1\n",
                    "sales")


@case
def subtotal_lines_inside_the_data(tmp: Path) -> list[str]:
    return (notes_of(tmp, "s.csv", "sku,ds,y\nA,2024-01-01,1\n华东 小计,2024-01-01,1\nB,2024-01-02,2\n",
                     "sales", mapping={"sku": "unique_id"})
            + notes_of(tmp, "o.csv", "order_id,unique_id,ts,quantity\no1,A,2024-01-01 10:00,1\n"
                       "Total,,,1\no2,A,2024-01-02 10:00,1\n", "orders"))


@case
def pasted_exports_and_column_case(tmp: Path) -> list[str]:
    return notes_of(tmp, "h.csv", "unique_id,DS,y\nA,2024-01-01,1\nunique_id,DS,y\nB,2024-01-01,2\n", "sales")


@case
def pieces_and_returns_kept(tmp: Path) -> list[str]:
    return notes_of(tmp, "n.csv", "unique_id,ds,y\nA,2024-01-01,-1\nB,2024-01-01,3件\nC,2024-01-01,-2\n"
                    "D,２０２４－０１－０１,１２\nE,2024-01-01, -  \n",
                    "sales", options=make_options(negatives="keep", encoding="utf-8"))


@case
def stock_backorders(tmp: Path) -> list[str]:
    text = "unique_id,ds,on_hand\nA,2024-01-01,-2\nB,2024-01-01,3\n"
    return (refused(tmp, "s.csv", text, "stock")
            + notes_of(tmp, "k.csv", text, "stock", options=make_options(negatives="keep")))


@case
def returns_clipped(tmp: Path) -> list[str]:
    return notes_of(tmp, "c.csv", "unique_id,ds,y\nA,2024-01-01,-1\n", "sales",
                    options=make_options(negatives="clip"))


@case
def reviews_without_time_and_ids_rated_in_stars(tmp: Path) -> list[str]:
    return notes_of(tmp, "r.csv", "unique_id,text,rating\nA,很好,5星\n", "reviews")


@case
def wide_macro_table(tmp: Path) -> list[str]:
    return notes_of(tmp, "m.csv", "ds,oil,cpi,Store\n2024-01-01,1,2,1\n", "macro", mapping={"Store": "name"})


@case
def order_statuses(tmp: Path) -> list[str]:
    text = ("order_id,unique_id,ts,quantity,订单状态\n1,A,2024-01-01 10:00,1,交易成功\n"
            "2,A,2024-01-01 11:00,1,交易关闭\n3,A,2024-01-01 12:00,1,等待发票\n")
    return notes_of(tmp, "o.csv", text, "orders", mapping={"订单状态": "status"})


@case
def a_day_not_ended_duplicates_and_new_products(tmp: Path) -> list[str]:
    text = "unique_id,ds,y\nA,2024-03-19,1\nA,2024-03-19,1\nA,2024-03-20,4\n"
    return stored(tmp, [("d.csv", text, {})])


@case
def weekly_sales_open_week_and_week_labels(tmp: Path) -> list[str]:
    mondays = pd.date_range("2024-02-19", periods=5, freq="W-MON")  # the last one runs on 2024-03-18..24
    text = "unique_id,ds,y\n" + "".join(f"A,{d:%Y-%m-%d},{i + 1}\n" for i, d in enumerate(mondays))
    return stored(tmp, [("w.csv", text, {}), ("w2.csv", text, {"week_label": "end"})])


@case
def weekly_sales_dated_on_fridays(tmp: Path) -> list[str]:
    fridays = pd.date_range("2024-02-02", periods=4, freq="W-FRI")
    text = "unique_id,ds,y\n" + "".join(f"A,{d:%Y-%m-%d},{i + 1}\n" for i, d in enumerate(fridays))
    return stored(tmp, [("f.csv", text, {})])


@case
def months_dated_by_the_other_end_of_the_period(tmp: Path) -> list[str]:
    ends = "unique_id,ds,y\nA,2023-10-31,1\nA,2023-11-30,2\nA,2023-12-31,3\n"
    (tmp / "x").mkdir()
    return [*stored(tmp, [("e.csv", ends, {}), ("s.csv", "unique_id,ds,y\nA,2024-01-01,4\n", {})]),
            *stored(tmp / "x", [("e.csv", ends, {}), ("b.csv", "unique_id,ds,y\nA,2024-01-15,4\n", {})],
                    refuse_last=True)]


@case
def month_labels_in_a_monthly_workspace(tmp: Path) -> list[str]:
    return stored(tmp, [("e.csv", "unique_id,ds,y\nA,2023-11-01,1\nA,2023-12-01,2\n", {}),
                        ("m.csv", "unique_id,ds,y\nA,2024年1月,3\n", {})])


@case
def product_ids_written_two_ways(tmp: Path) -> list[str]:
    return stored(tmp, [("a.csv", "unique_id,ds,y\nSKU001,2024-02-01,1\n", {}),
                        ("b.csv", "unique_id,ds,y\nsku001,2024-02-02,1\nＳＫＵ００１,2024-02-02,1\n", {})])


@case
def monthly_sales_month_not_ended(tmp: Path) -> list[str]:
    text = "unique_id,ds,y\nA,2024-01-01,3\nA,2024-02-01,4\nA,2024-03-01,5\n"
    return stored(tmp, [("mo.csv", text, {})])


@case
def orders_aggregated_twice_then_one_cancelled(tmp: Path) -> list[str]:
    first = ("order_id,unique_id,ts,quantity,user_id\n1,A,2024-03-18 10:00,1,u1\n2,A,2024-03-19 11:00,2,u2\n"
             "3,B,2024-03-20 09:00,1,u3\n")
    second = ("order_id,unique_id,ts,quantity,user_id,status\n1,A,2024-03-18 10:00,1,u1,cancelled\n"
              "4,B,2024-03-19 12:00,1,u4,paid\n")
    orders = {"kind": "orders", "aggregate": "D", "add_products": True}
    return stored(tmp, [("o1.csv", first, orders),
                        ("o2.csv", second, {**orders, "mapping": {"status": "status"},
                                            "pseudonymise": False})])


@case
def reviews_scrubbed(tmp: Path) -> list[str]:
    text = "review_id,unique_id,ts,text\n1,A,2024-01-01 10:00,call 13800138000 or a@b.com\n"
    return stored(tmp, [("r.csv", text, {"kind": "reviews", "add_products": True, "scrub": True})])


@case
def a_first_file_with_days_no_product_sold(tmp: Path) -> list[str]:
    days = _days("2024-01-01", 40)
    gone = [f"2024-01-{d:02d}" for d in (5, 9, 10, 11, 12, 13, 20)]
    kept = "".join(line + "\n" for line in days.splitlines() if line.split(",")[1] not in gone)
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    return [*stored(tmp / "a", [("a.csv", "unique_id,ds,y\n" + kept, {})]),
            *stored(tmp / "b", [("b.csv", "unique_id,ds,y\n" + _days("2024-01-01", 3)
                                 + _days("2024-01-05", 3), {})])]


@case
def periods_written_as_labels_and_review_results(tmp: Path) -> list[str]:
    return [*notes_of(tmp, "w.csv", "unique_id,ds,y\nA,2025-W01,1\nA,2025-W02,2\n", "sales"),
            *notes_of(tmp, "q.csv", "unique_id,ds,y\nA,2025年第1季度,1\nA,2025Q2,2\n", "sales"),
            *notes_of(tmp, "r.csv", "unique_id,ds,y\nA,2025-01-06~2025-01-12,1\n", "sales"),
            *notes_of(tmp, "v.csv", "review_id,unique_id,ts,rating,text\n1,A,2025-01-01 10:00,好评,ok\n"
                      "2,A,2025-01-01 11:00,差评,no\n3,A,2025-01-01 12:00,★★★☆☆,so so\n", "reviews"),
            *refused(tmp, "n.csv", "unique_id,ds,y\nA,2025年第1周,1\n", "sales"),
            *refused(tmp, "e.csv", "unique_id,ds,y\n6.12346E+11,2025-01-01,1\n", "sales"),
            *refused(tmp, "o.csv", "order_id,unique_id,ts,quantity\n1234567890123450000,A,2025-01-01 10:00,1\n"
                     "1234567890123450000,A,2025-01-01 11:00,2\n", "orders"),
            *notes_of(tmp, "wide.csv", "sku,2025-10-01,2025-10-02\nA,1,\n", "sales",
                      options=make_options(mapping=["unique_id=sku"])),
            *refused(tmp, "wide.csv", "sku,2025-10-01,2025-10-02\nA,1,\n", "sales"),
            *notes_of(tmp, "nbs.csv", NBS, "macro", options=make_options(date_format="%Y年%m月")),
            *refused(tmp, "nbs.csv", NBS, "macro"),
            *refused(tmp, "m.csv", "sku,2025年10月,2025年9月\nA,1,2\n", "sales"),
            *notes_of(tmp, "a.csv", "unique_id,ds,y,支付金额\nA,2025-10-01,2,119.8\nA,2025-10-02,0,\n"
                      "A,2025-10-03,0,5\n", "sales", options=make_options(mapping=["amount=支付金额"])),
            *notes_of(tmp, "r.csv", "unique_id,ds,y,amount\nA,2025-10-01,2,119.8\nA,2025-10-02,-1,-59.9\n",
                      "sales", options=make_options(negatives="keep")),
            *refused(tmp, "r.csv", "unique_id,ds,y,amount\nA,2025-10-01,2,-119.8\nA,2025-10-02,-1,59.9\n"
                     "A,2025-10-03,1,x\n", "sales", options=make_options(negatives="keep")),
            *refused(tmp, "t.csv", "unique_id,ts,text\nA,2025/06/12 10:30,ok\nA,2025-06-12 10:30:00,ok\n",
                     "reviews", options=make_options(date_format="%Y/%m/%d %H:%M")),
            *notes_of(tmp, "span.xls", MERGED, "sales", options=MERGED_MAP),
            *refused(tmp, "span.xls", MERGED_TOTAL, "sales", options=MERGED_MAP),
            *notes_of(tmp, "wd.csv", "unique_id,ds,y\nA,2025-10-02(周四),1\n", "sales"),
            *notes_of(tmp, "f.csv", 'unique_id,ds,y\n="6901234567890",2025-10-02,1\n', "sales"),
            *notes_of(tmp, "p.csv", "unique_id,ds,y,promo\nA,2025-10-02,1,是\nA,2025-10-03,1,否\n", "sales"),
            *notes_of(tmp, "p.jsonl", '{"unique_id": "A", "ds": "2025-10-02", "y": 1, "promo": true}\n', "sales"),
            *refused(tmp, "wd.csv", "unique_id,ds,y\nA,2025-02-10(周四),1\nA,10月3日,1\n"
                     "A,2025/10/04 (x),1\nA,2025-01-12~2025-01-06,1\n", "sales")]


# An HTML report saved as .xls: the first cell of its first data row spans two rows.
MERGED = ("<table><tr><th>门店</th><th>日期</th><th>销量</th></tr>"
          "<tr><td rowspan=2>店</td><td>2025-10-01</td><td>3</td></tr>"
          "<tr><td>2025-10-02</td><td>4</td></tr></table>")
# ... and one whose units cell spans two rows: an order's total over its lines
MERGED_TOTAL = ("<table><tr><th>门店</th><th>日期</th><th>销量</th></tr>"
                "<tr><td>店</td><td>2025-10-01</td><td rowspan=2>7</td></tr>"
                "<tr><td>店</td><td>2025-10-02</td></tr></table>")
MERGED_MAP = make_options(mapping=["unique_id=门店", "ds=日期", "y=销量"])


NBS = ("数据库：月度数据\n时间：最近13个月\n指标,2025年10月,2025年9月\n居民消费价格指数(上年同月=100),99.8,99.7\n"
       "注：1、2025年起...\n数据来源：国家统计局\n")


@case
def xls_exports_that_are_text_or_html(tmp: Path) -> list[str]:
    return [*notes_of(tmp, "t.xls", "unique_id\tds\ty\nA\t2025-01-01\t1\n", "sales"),
            *notes_of(tmp, "h.xls", "<table><tr><td>unique_id</td><td>ds</td><td>y</td></tr>"
                      "<tr><td>A</td><td>2025-01-01</td><td>1</td></tr></table>", "sales"),
            *refused(tmp, "e.xls", "<html><body><p>nothing</p><table></table></body></html>", "sales")]


@case
def times_written_with_shangwu_xiawu(tmp: Path) -> list[str]:
    return notes_of(tmp, "o.csv", "order_id,unique_id,ts,quantity\no1,A,2025/11/11 下午 3:05:00,1\n", "orders",
                    options=make_options(date_format="%Y/%m/%d %H:%M:%S"))


@case
def ratings_written_with_their_scale(tmp: Path) -> list[str]:
    return [*notes_of(tmp, "r.csv", "unique_id,ts,rating,text\nA,2025-01-01 10:00,5.0 out of 5 stars,ok\n"
                      "A,2025-01-02 10:00,4.5/5,ok\n", "reviews"),
            *refused(tmp, "r10.csv", "unique_id,ts,rating,text\nA,2025-01-01 10:00,8/10,ok\n", "reviews")]


@case
def a_file_without_a_header_line(tmp: Path) -> list[str]:
    return [*refused(tmp, "cells.csv", "Good case, Excellent value.\t1\nNo way to plug it in.\t0\n", "reviews",
                     options=make_options(constants=["unique_id=phones"])),
            refusal(lambda: make_options(columns="text,,rating")),
            refusal(lambda: make_options(columns="text,rating", fmt="taobao"))]


@case
def a_header_on_two_lines(tmp: Path) -> list[str]:
    return notes_of(tmp, "h2.csv", "商品,日期,销售,\n,,数量,金额\nA,2024-01-01,1,9.9\n", "sales",
                    mapping={"商品": "unique_id", "日期": "ds", "数量": "y"})


@case
def a_workbook_whose_data_is_on_its_second_sheet(tmp: Path) -> list[str]:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["数据见第二个工作表"])
    book.create_sheet("sales 2024").append(["unique_id", "ds", "y"])
    book.save(tmp / "two.xlsx")
    return [refusal(lambda: load_file(tmp / "two.xlsx", "sales", now=NOW))]


@case
def a_closed_shop_with_allow_gaps(tmp: Path) -> list[str]:
    return stored(tmp, [("a.csv", "unique_id,ds,y\n" + _days("2024-01-01", 30), {}),
                        ("b.csv", "unique_id,ds,y\n" + _days("2024-02-03", 2), {"allow_gaps": True})])


@case
def a_gap_after_a_short_history(tmp: Path) -> list[str]:
    return stored(tmp, [("a.csv", "unique_id,ds,y\n" + _days("2024-01-01", 5), {}),
                        ("b.csv", "unique_id,ds,y\n" + _days("2024-01-08", 2), {})])


# ---- refusals ------------------------------------------------------------------------------

@case
def a_missed_export(tmp: Path) -> list[str]:
    return stored(tmp, [("a.csv", "unique_id,ds,y\n" + _days("2024-01-01", 30), {}),
                        ("b.csv", "unique_id,ds,y\n" + _days("2024-02-03", 2), {})], refuse_last=True)


@case
def prices_shown_as_a_dash(tmp: Path) -> list[str]:
    return notes_of(tmp, "p.csv", "unique_id,ds,y,price\nA,2025-11-10,3,12.5\nA,2025-11-11,0, - \n", "sales")


@case
def a_calendar_of_every_day(tmp: Path) -> list[str]:
    """M5's calendar.csv: event_name_1 blank on days without one."""
    text = "date,event_name_1\n2016-02-06,\n2016-02-07,SuperBowl\n2016-02-08,\n"
    return notes_of(tmp, "calendar.csv", text, "calendar", options=make_options(
        mapping=["ds=date", "name=event_name_1"]))


@case
def m5_sales_table_as_a_file(tmp: Path) -> list[str]:
    """M5's sales table given to a plain ingest: 1,947 columns, the folder's --format named."""
    head = "id,item_id,dept_id,cat_id,store_id,state_id," + ",".join(f"d_{i}" for i in range(1, 1942))
    return refused(tmp, "sales_train_evaluation.csv", head + "\n" + "x," * 1946 + "1\n", "sales")


@case
def prices_in_two_currencies(tmp: Path) -> list[str]:
    text = "unique_id,ds,y,price\nA,2025-11-10,3,USD 12.50\nA,2025-11-11,3,EUR 10\nA,2025-11-12,1,USD 9\n"
    return refused(tmp, "p.csv", text, "sales", options=make_options(decimal="."))


@case
def day_first_dates_decimal_commas_and_repeated_keys(tmp: Path) -> list[str]:
    text = ("unique_id,ds,y,price\nA,01/03/2024,1,\"2,5\"\nA,2024-01-02,x,3\nA,2024-01-02,1,3\n"
            "A,2024-01-03,,3\nA,2024-01-04,2,3\n")
    return refused(tmp, "eu.csv", text, "sales")


@case
def many_bad_quantities(tmp: Path) -> list[str]:
    text = "unique_id,ds,y\n" + "".join(f"A,2024-01-{d:02d},-{d}\n" for d in range(1, 16)) + "A,2024-02-01,2e9\n"
    return refused(tmp, "q.csv", text, "sales")


@case
def bad_ids_and_dates_of_every_kind(tmp: Path) -> list[str]:
    text = ('unique_id,ds,y\n,2024-01-01,1\n"A\tB",2024-01-01,1\nA,2024-02-30,1\nA,1860-01-01,1\n'
            "A,1700000000,1\nA,2024-01,1\nA,45820,1\nA,2024-01-05,inf\n")
    return refused(tmp, "ids.csv", text, "sales")


@case
def a_date_format_that_does_not_fit(tmp: Path) -> list[str]:
    return refused(tmp, "df.csv", "unique_id,ds,y\nA,01.01.24,1\n", "sales",
                   options=make_options(date_format="%d.%m.%Y"))


@case
def two_date_layouts_in_one_column(tmp: Path) -> list[str]:
    text = "unique_id,ds,y\nA,2024/01/01,1\nA,2024-01-02,1\nA,03/04/2024,1\n"
    return [*refused(tmp, "mix.csv", text, "sales", options=make_options(date_format="%Y/%m/%d")),
            *refused(tmp, "mix2.csv", text, "sales",
                     options=make_options(date_format="%Y/%m/%d|%Y-%m-%d|%d/%m/%Y|%m/%d/%Y"))]


@case
def order_times_of_every_kind(tmp: Path) -> list[str]:
    text = ("order_id,unique_id,ts,quantity\n1,A,2024-02-30 10:00,1\n2,A,1700000000,0\n3,A,1700000000000,1\n"
            "4,A,12345678901,1\n5,A,2024-01-01 10:00,1\n5,A,2024-01-01 11:00,1\n")
    return refused(tmp, "ts.csv", text, "orders")


@case
def a_time_that_daylight_saving_skips(tmp: Path) -> list[str]:
    text = "order_id,unique_id,ts,quantity\n1,A,2024-03-10 02:30,-1\n2,A,2024-03-10 03:30,0\n"
    return refused(tmp, "dst.csv", text, "orders", options=make_options(tz="America/New_York", negatives="keep"))


@case
def ratings_events_macro_and_products(tmp: Path) -> list[str]:
    return [*refused(tmp, "rv.csv", "review_id,unique_id,ts,text,rating\n1,A,2024-01-01 10:00,x,good\n"
                     "2,A,2024-01-01 10:00,y,7\n", "reviews"),
            *refused(tmp, "ev.csv", "user_id,item_id,event_type,ts\nu,A,zzz,2024-01-01 10:00\n", "events"),
            *refused(tmp, "mc.csv", "name,ds,value\noil,2024-01-01,abc\n", "macro"),
            *refused(tmp, "pr.csv", "unique_id,title\nA,x\nA,y\n", "products"),
            *refused(tmp, "cal.csv", "ds,name,end\n2024-01-01,long,2026-01-01\n", "calendar")]


@case
def json_values_that_are_not_values(tmp: Path) -> list[str]:
    rows = [{"unique_id": True, "ds": "2024-01-01", "y": [1, 2]}, {"unique_id": False, "ds": "2024-01-02", "y": True}]
    reviews = [{"review_id": "1", "unique_id": "A", "ts": "2024-01-01 10:00", "text": "a\u0000b"}]
    return [*refused(tmp, "j.jsonl", "\n".join(json.dumps(r) for r in rows), "sales"),
            *refused(tmp, "r.jsonl", "\n".join(json.dumps(r) for r in reviews), "reviews")]


@case
def parquet_bytes_and_number_dates(tmp: Path) -> list[str]:
    pd.DataFrame({"unique_id": [True], "ds": [20240101], "y": [b"\x01"]}).to_parquet(tmp / "p.parquet")
    return [refusal(lambda: load_file(tmp / "p.parquet", "sales"))]


@case
def unknown_products(tmp: Path) -> list[str]:
    return stored(tmp, [("o.csv", "order_id,unique_id,ts,quantity\n1,X,2024-01-01 10:00,1\n", {"kind": "orders"})],
                  refuse_last=True)


@case
def missing_columns_and_mapping_mistakes(tmp: Path) -> list[str]:
    sales = "sku,date,qty\nA,2024-01-01,1\n"
    reviews = "unique_id,text,date\nA,x,2024-01-01\n"
    return [*refused(tmp, "mc.csv", sales, "sales"),
            *refused(tmp, "rv.csv", reviews, "reviews", options=make_options(mapping=["ds=date"])),
            *refused(tmp, "rv.csv", reviews, "reviews"),
            *refused(tmp, "d.csv", sales, "sales", options=make_options(drop=["Store"])),
            *refused(tmp, "m.csv", sales, "sales", options=make_options(mapping=["unique_id=SKU"])),
            *refused(tmp, "m.csv", sales, "sales", options=make_options(mapping=["unique_id=Store+sku"])),
            *refused(tmp, "m.csv", "unique_id,sku,ds,y\nA,A,2024-01-01,1\n", "sales",
                     options=make_options(mapping=["unique_id=sku"])),
            *refused(tmp, "s.csv", "unique_id,ds,y\nA,2024-01-01,1\n", "sales",
                     options=make_options(constants=["y=1"])),
            *refused(tmp, "o.csv", "ds\n2024-01-01\n", "macro"),
            *refused(tmp, "os.csv", "order_id,unique_id,ts,quantity,订单状态\n1,A,2024-01-01 10:00,1,交易成功\n"
                     "2,A,2024-01-01 11:00,1,交易关闭\n", "orders"),
            *refused(tmp, "rs.csv", "order_id,unique_id,ts,quantity,订单状态,退款状态\n"
                     "1,A,2024-01-01 10:00,1,交易成功,退款成功\n2,A,2024-01-01 11:00,1,交易成功,\n",
                     "orders", options=make_options(mapping=["status=订单状态"]))]


@case
def options_typed_wrong(tmp: Path) -> list[str]:
    return [refusal(lambda: make_options(date_format="dd/mm/yyyy")),
            refusal(lambda: make_options(mapping=["ds"])),
            refusal(lambda: make_options(constants=["kind="])),
            refusal(lambda: make_options(tz="Beijing"))]


@case
def header_lines_that_are_not_headers(tmp: Path) -> list[str]:
    return [*refused(tmp, "h.csv", 'unique_id,\ufeffds,"y\tz",y,y,\nA,2024-01-01,1,1,1,\n', "sales"),
            *refused(tmp, "e.csv", "\n\n", "sales")]


@case
def files_that_are_not_text(tmp: Path) -> list[str]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", "x\n")
        zf.writestr("b.csv", "y\n")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("sales.xlsx", b"PK")
    locked = io.BytesIO()
    with zipfile.ZipFile(locked, "w") as zf:
        zf.writestr("a.csv", "x\n")
    locked = bytearray(locked.getvalue())
    central = locked.find(b"PK\x01\x02") + 8  # the entry's flags in the central directory
    locked[central] |= 0x1  # "encrypted", as a zip saved with a password says
    return [*refused(tmp, "bad.csv", "unique_id,ds,y\nA,2024-01-01,\xff1\n".encode("latin-1"), "sales",
                     options=make_options(encoding="utf-8")),
            *refused(tmp, "nul.csv", b"unique_id,ds,y\nA\x00,2024-01-01,1\n", "sales"),
            *refused(tmp, "x.xlsx", b"not a workbook", "sales"),
            *refused(tmp, "two.zip", buf.getvalue(), "sales"),
            *refused(tmp, "in.zip", inner.getvalue(), "sales"),
            *refused(tmp, "lock.zip", bytes(locked), "sales")]


@case
def rows_that_do_not_fit_the_header(tmp: Path) -> list[str]:
    return [*refused(tmp, "f.csv", "unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,1,5\n", "sales"),
            *refused(tmp, "q.csv", 'unique_id,ds,y\n"A,2024-01-01,1\nB,2024-01-01,1\n', "sales"),
            *refused(tmp, "q2.csv", 'unique_id,ds,y\n"A" x,2024-01-01,1\n', "sales"),
            *refused(tmp, "q3.csv", 'unique_id,ds,y\n"A\nB" x,2024-01-01,1\n', "sales")]


@case
def json_lines_that_are_not_objects(tmp: Path) -> list[str]:
    return [*refused(tmp, "l.jsonl", '{"a": 1}\n[1]\n', "sales"),
            *refused(tmp, "b.jsonl", '{"a": 1}\n{x\n', "sales"),
            *refused(tmp, "k.jsonl", '{"a": 1, "a": 2}\n', "sales"),
            *refused(tmp, "k.json", '[{"a": 1, "a": 2}]', "sales"),
            *refused(tmp, "t.json", '[{"a": 1', "sales"),
            *refused(tmp, "e.jsonl", "{}\n", "sales")]


@case
def calendar_events_ending_before_they_start(tmp: Path) -> list[str]:
    return [*refused(tmp, "c.csv", "ds,name,end\n2024-01-05,sale,2024-01-01\n", "calendar"),
            *refused(tmp, "n.csv", "ds,name,end\n2024-01-05, ,2024-01-06\n", "calendar")]


@case
def files_over_the_reading_limits(tmp: Path) -> list[str]:
    small = make_options(limits=Limits(max_rows=1, max_columns=3, max_field_chars=3))
    pd.DataFrame({"unique_id": ["A", "B"], "ds": ["2024-01-01"] * 2, "y": [1, 2]}).to_parquet(tmp / "r.parquet")
    pd.DataFrame({c: [1] for c in "abcd"}).to_parquet(tmp / "c.parquet")
    zeros = tmp / "z.csv.gz"
    zeros.write_bytes(gzip.compress(b"unique_id,ds,y\n" + b"0" * 200_000))
    plain = tmp / "p.csv.gz"
    plain.write_bytes(gzip.compress(b"unique_id,ds,y\n" + b"0" * (3 * 2**20)))
    return [*refused(tmp, "rows.csv", "unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,1\nA,2024-01-03,1\n", "sales",
                     options=small),
            *refused(tmp, "cols.csv", "unique_id,ds,y,x\nA,2024-01-01,1,1\n", "sales", options=small),
            *refused(tmp, "long.csv", "unique_id,ds,y\nABCDE,2024-01-01,1\n", "sales", options=small),
            *refused(tmp, "rows.jsonl", '{"a": 1}\n{"a": 2}\n', "sales", options=small),
            *refused(tmp, "keys.jsonl", '{"a": 1, "b": 2, "c": 3, "d": 4}\n', "sales", options=small),
            refusal(lambda: load_file(tmp / "r.parquet", "sales", options=small)),
            refusal(lambda: load_file(tmp / "c.parquet", "sales", options=small)),
            refusal(lambda: load_file(zeros, "sales", options=make_options(
                limits=Limits(max_ratio=2, ratio_floor_bytes=0)))),
            refusal(lambda: load_file(plain, "sales", options=make_options(
                limits=Limits(max_unpacked_bytes=2**20))))]


class _FailingPool:
    """A worker pool whose one job fails as ``error`` (a file too big for the worker)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def submit(self, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_exception(self.error)
        return done

    def shutdown(self, **kwargs) -> None:
        pass


@case
def files_the_upload_worker_cannot_read(tmp: Path) -> list[str]:
    out = []
    for error in (MemoryError(), BrokenProcessPool()):
        with patch.object(parsing, "_pool", lambda e=error: _FailingPool(e)):
            out.append(refusal(lambda: parsing.parse_in_worker(tmp / "s.csv", "sales")))  # noqa: B023
    return out


def api_refusal(fn: Callable[[], object]) -> str:
    try:
        fn()
    except ApiError as exc:
        return exc.message
    raise AssertionError("the upload was not refused")


def multipart(*parts: tuple[str, str | None, str | None, bytes], end: bool = True) -> bytes:
    """A multipart body of (name, filename, content type, bytes) parts, boundary 'xx'."""
    out = b""
    for name, filename, ctype, data in parts:
        out += f'--xx\r\nContent-Disposition: form-data; name="{name}"'.encode()
        out += f'; filename="{filename}"'.encode() if filename is not None else b""
        out += f"\r\nContent-Type: {ctype}".encode() if ctype else b""
        out += b"\r\n\r\n" + data + b"\r\n"
    return out + (b"--xx--\r\n" if end else b"")


def received(tmp: Path, body: bytes, *, ctype: str = "multipart/form-data; boundary=xx",
             length: int | None = None, limit: int = 1000) -> str:
    """The refusal of ``api.upload.receive_file`` for a request of ``body``."""
    headers = [(b"content-type", ctype.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    chunks = [body]

    async def receive() -> dict:
        return {"type": "http.request", "body": chunks.pop() if chunks else b"", "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/api/uploads", "query_string": b"",
                       "headers": headers}, receive)
    folder = tmp / f"up{len(list(tmp.iterdir()))}"
    folder.mkdir()
    return api_refusal(lambda: asyncio.run(receive_file(request, folder, limit=limit)))


@case
def uploads_refused_before_the_file_is_read(tmp: Path) -> list[str]:
    sales = ("file", "s.csv", "text/csv", b"unique_id,ds,y\n")
    return [received(tmp, b"x", ctype="text/csv"),
            received(tmp, b"x", ctype="multipart/form-data"),
            received(tmp, multipart(sales), length=10**9),
            received(tmp, multipart(("file", "s.csv", "text/csv", b"x" * 2000))),
            received(tmp, multipart(("note", None, None, b"x" * 70_000), sales), limit=10**6),
            received(tmp, multipart(sales, sales)),
            received(tmp, multipart(("file", None, None, b"x"))),
            received(tmp, multipart(("file", "s.pdf", "application/pdf", b"x"))),
            received(tmp, multipart(("file", "s.csv", "image/png", b"x"))),
            received(tmp, multipart(("kind", None, None, b"\xff"), sales)),
            received(tmp, b"--xx\r\nContent-Disposition: form-data; name=\"file\"\r\nbad\r\n"),
            received(tmp, multipart(sales, end=False)),
            received(tmp, multipart(("kind", None, None, b"sales")))]


def asked(**fields: str | list[str]) -> str:
    form = {k: v if isinstance(v, list) else [v] for k, v in fields.items()}
    return api_refusal(lambda: upload_options({}, form, workspace_tz="UTC", limits=Limits()))


@case
def upload_options_typed_wrong(tmp: Path) -> list[str]:
    return [asked(kind="sales", colour="red"),
            asked(kind=["sales", "orders"]),
            asked(kind="sales", scrub="maybe"),
            asked(format="shopify2"),
            asked(),
            asked(kind="sale"),
            asked(kind="orders", aggregate="M"),
            asked(kind="sales", week_label="middle"),
            api_refusal(lambda: upload_lang(None, {"lang": ["fr"]}, None))]


@case
def stock_files_on_the_inventory_page(tmp: Path) -> list[str]:
    return [refusal(lambda: read_stock(write(tmp, "s1.csv", "unique_id,on_hand\nA,x\n"))),
            refusal(lambda: read_stock(write(tmp, "s2.csv", "unique_id,qty\nA,1\n"))),
            refusal(lambda: read_stock(write(tmp, "s3.csv", "unique_id,on_hand\nA,1\nA,2\n")))]


@pytest.fixture(scope="module")
def messages(tmp_path_factory) -> dict[str, list[str]]:
    out = {}
    for name, make in CASES.items():
        folder = tmp_path_factory.mktemp(name)
        out[name] = make(folder)
        assert out[name], name
    return out


# ---- what a translation keeps ----------------------------------------------------------------

_QUOTED = re.compile(r"(?<!\w)'[^'\n]*'(?!\w)")
_OPTION = re.compile(r"--[a-z][a-z-]+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
# English that only prose has: a line that keeps one of these words was not translated
_PROSE = re.compile(r"\b(the|and|of|with|expected|got|row|line|column|file|files|not|are|is|was|for|in|"
                    r"stored|skipped|left|out|read|an|like|has|have|pass|ingest|or|to)\b")


def kept(en: str) -> list[str]:
    """What a translation must carry over as written."""
    paths = re.findall(r"/\S+?\.(?:csv|jsonl?|parquet|xlsx?|zip)\b", en)
    return paths + _QUOTED.findall(en) + _OPTION.findall(en) + _NUMBER.findall(en)


def prose_left(zh: str) -> list[str]:
    text = re.sub(r"/\S+?\.(?:csv|jsonl?|parquet|xlsx?|zip)\b", " ", zh)
    text = re.sub(r"`[^`]*`", " ", _QUOTED.sub(" ", text))  # a command is written as typed
    text = re.sub(r"--[a-z][a-z-]+(?: \S+)?|\[[^\]]*\]|\([^)]*\)|\b\w+=\S+", " ", text)
    return _PROSE.findall(text)


@pytest.mark.parametrize("name", list(CASES))
def test_every_message_of_a_careless_export_reads_in_chinese(messages, name):
    for en in messages[name]:
        zh = localize_message(en, "zh")
        assert known_message(en), en
        assert localize_message(en, "en") == en
        assert zh.count("\n") == en.count("\n")
        for line in zh.split("\n"):
            assert re.search(r"[\u4e00-\u9fff]", line), (line, en)
        assert prose_left(zh) == [], (zh, en)
        for token in kept(en):
            assert token in zh, (token, zh)


def test_every_pattern_is_used_by_a_message_the_code_writes(messages):
    with rules_used() as used:
        for found in messages.values():
            for en in found:
                localize_message(en, "zh")
    patterns = {p.pattern for p, _ in ingest_messages._LINES + ingest_messages._EXPECTED}
    assert sorted(patterns - used) == []


def test_a_refusal_is_translated_line_by_line_keeping_what_it_names(messages):
    en = messages["day_first_dates_decimal_commas_and_repeated_keys"][0]
    zh = localize_message(en, "zh").split("\n")
    assert zh[0] == "销量数据中有 5 个问题，未保存任何数据："
    path = next(p for p in kept(en) if p.endswith("eu.csv"))
    assert f"  {path}：第 1 行数据（文件第 2 行），列 'ds'：值为 '01/03/2024'，应为形如 2024-06-18 的日期" \
           "（其他写法请用 --date-format，例如 --date-format %d/%m/%Y 或 %m/%d/%Y）" in zh
    assert any(line.startswith(f"  {path}：第 1 行数据（文件第 2 行），列 'price'：值为 '2,5'，应为不小于 0 的数字"
                               "（它带千位分隔符、小数逗号或货币符号") and "--decimal ," in line for line in zh)
    assert any("列 'y'：值为空，应为不小于 0 的数字，不能为空" in line for line in zh), zh


def test_an_unknown_line_stays_in_english_between_translated_ones():
    en = "1 problem(s) in sales data, nothing was stored:\nsomething new happened: 'x'\n  ... and 3 more like this"
    zh = localize_message(en, "zh").split("\n")
    assert zh == ["销量数据中有 1 个问题，未保存任何数据：", "something new happened: 'x'", "  ……另有 3 行同类问题"]
    assert not known_message(en)
    # an expected value no pattern knows leaves its whole line in English, not half translated
    odd = "  f.csv: row 1 (line 2), column 'y': got 'x', expected a teapot"
    assert localize_message(odd, "zh") == odd
    assert localize_notes(["registered 2 new product id(s)", "new note"], "zh") == ["登记了 2 个新的商品编号",
                                                                                    "new note"]
