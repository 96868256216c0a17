"""Order exports with a status column (docs/ingest.md, "Order statuses"): cancelled, closed,
refunded and unpaid lines are not sales; a later export that cancels a stored order takes it
out of the orders and of the sales built from them; an unmapped status column is refused."""

from __future__ import annotations

import pandas as pd
import pytest

from trendcast.data.ingest import load_file, make_options
from trendcast.data.order_status import find_status_column
from trendcast.errors import DataValidationError, InputFileError
from trendcast.services.ingest import ingest_file

HEAD = "订单编号,商品ID,付款时间,购买数量,单价,订单状态\n"
FIRST = HEAD + ("1001,A,2025-11-01 10:00:00,2,9.9,交易成功\n"
                "1002,A,2025-11-01 11:00:00,1,9.9,交易关闭\n"
                "1003,B,2025-11-01 12:00:00,3,5,已发货\n"
                "1004,B,2025-11-02 12:00:00,1,5,交易成功\n"
                "1005,C,2025-11-02 13:00:00,4,2,等待买家付款\n"
                "1006,A,2025-11-02 13:00:00,1,9.9,交易成功\n")
LATER = HEAD + ("1001,A,2025-11-01 10:00:00,2,9.9,退款成功\n"
                "1006,A,2025-11-02 13:00:00,1,9.9,交易关闭\n"
                "1007,A,2025-11-03 09:00:00,5,9.9,交易成功\n"
                "1008,B,2025-11-03 09:00:00,1,5,已作废\n")
MAP = ["order_id=订单编号", "unique_id=商品ID", "ts=付款时间", "quantity=购买数量", "unit_price=单价"]
NOW = pd.Timestamp("2025-11-10 08:00")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def sales(store) -> dict[tuple[str, str], float]:
    df = store.sales()
    return {(r.unique_id, f"{r.ds:%m-%d}"): r.y for r in df.itertuples()}


def test_an_unmapped_status_column_is_refused_naming_it(store, tmp_path):
    path = write(tmp_path / "o.csv", FIRST)
    with pytest.raises(InputFileError, match=r"column '订单状态' holds order statuses, 2 line\(s\) "
                                             r"not a sale \(e.g. '交易关闭'\).*--map status=订单状态"):
        ingest_file(store, path, "orders", add_products=True, aggregate="D", now=NOW,
                    options=make_options(mapping=MAP))
    assert store.count("orders") == 0 and store.count("sales") == 0
    # every line a sale: nothing to refuse
    only_sold = write(tmp_path / "p.csv", HEAD + "1,A,2025-11-01 10:00:00,2,9.9,交易成功\n")
    assert len(load_file(only_sold, "orders", options=make_options(mapping=MAP))) == 1


def test_lines_that_are_not_sales_are_left_out_and_a_later_cancellation_removes_them(store, tmp_path):
    opts = make_options(mapping=[*MAP, "status=订单状态"])
    first = ingest_file(store, write(tmp_path / "o1.csv", FIRST), "orders", add_products=True,
                        aggregate="D", now=NOW, options=opts)
    assert first.rows_read == 6
    assert sorted(store.orders_between("2000-01-01", "2100-01-01")["order_id"]) == ["1001", "1003", "1004", "1006"]
    assert sales(store) == {("A", "11-01"): 2, ("A", "11-02"): 1, ("B", "11-01"): 3,
                            ("B", "11-02"): 1}
    assert any("2 order line(s) with a status that is not a sale left out (交易关闭 1, 等待买家付款 1)"
               in n for n in first.notes)

    later = ingest_file(store, write(tmp_path / "o2.csv", LATER), "orders", add_products=True,
                        aggregate="D", now=NOW, options=opts)
    # 1001 refunded and 1006 closed after the first export: out of orders and of A's sales,
    # whose days become zero; 已作废 is a known cancellation too
    assert sorted(store.orders_between("2000-01-01", "2100-01-01")["order_id"]) == ["1003", "1004", "1007"]
    assert sales(store) == {("A", "11-01"): 0, ("A", "11-02"): 0, ("A", "11-03"): 5,
                            ("B", "11-01"): 3, ("B", "11-02"): 1, ("B", "11-03"): 0}
    assert any("2 stored order line(s) removed" in n for n in later.notes)

    store.undo_batch(later.batch_id)
    assert sorted(store.orders_between("2000-01-01", "2100-01-01")["order_id"]) == ["1001", "1003", "1004", "1006"]
    assert sales(store)[("A", "11-01")] == 2


def test_unknown_statuses_count_as_sales_and_are_named(tmp_path):
    path = write(tmp_path / "o.csv", HEAD + "1,A,2025-11-01 10:00:00,2,9.9,挂起\n"
                                           "2,A,2025-11-01 10:00:00,1,9.9,Cancelled\n")
    df = load_file(path, "orders", options=make_options(mapping=[*MAP, "status=订单状态"]))
    assert df["order_id"].tolist() == ["1"] and "status" not in df.columns
    assert any("counted as sales: '挂起' 1" in n for n in df.attrs["notes"])
    assert df.attrs["cancelled"].to_dict("records") == [{"order_id": "2", "unique_id": "A"}]


def test_a_bad_value_in_a_kept_line_names_its_file_line(tmp_path):
    """Left-out lines shift the frame: errors still name the file's own line."""
    path = write(tmp_path / "o.csv", HEAD + "1,A,2025-11-01 10:00:00,2,9.9,交易关闭\n"
                                           "2,A,2025-11-01 10:00:00,x,9.9,交易成功\n")
    with pytest.raises(Exception, match=r"row 2 \(line 3\), column 'quantity': got 'x'"):
        load_file(path, "orders", options=make_options(mapping=[*MAP, "status=订单状态"]))


def test_taobao_s_joined_states_are_read_part_by_part(tmp_path):
    path = write(tmp_path / "o.csv", HEAD + "1,A,2025-11-01 10:00:00,2,9.9,买家已付款，等待卖家发货\n"
                                           "2,A,2025-11-01 11:00:00,1,9.9,卖家已发货，等待买家确认\n"
                                           "3,B,2025-11-01 12:00:00,1,9.9,交易关闭\n")
    assert find_status_column(pd.read_csv(path), set()) == ("订单状态", "交易关闭", 1)
    df = load_file(path, "orders", options=make_options(mapping=[*MAP, "status=订单状态"]))
    assert df["order_id"].tolist() == ["1", "2"]
    assert not any("not known" in n for n in df.attrs["notes"])


def test_status_like_columns_are_told_from_other_text():
    frame = pd.DataFrame({"note": ["gift", "closed", "paid"] * 3,  # under 80% statuses
                          "financial_status": ["paid", "refunded", "paid"] * 3})
    assert find_status_column(frame, set()) == ("financial_status", "refunded", 3)
    assert find_status_column(frame[["note"]], set()) is None


def test_a_refused_file_removes_no_stored_line(store, tmp_path):
    """The removal of cancelled lines is part of the file's batch: when the file is refused
    (here as a missed export: its new day leaves 15 days without any sale), nothing of it
    happened."""
    days = "".join(f"{1000 + d},A,2025-10-{d:02d} 10:00:00,1,9.9,交易成功\n" for d in range(1, 31))
    opts = make_options(mapping=[*MAP, "status=订单状态"])
    ingest_file(store, write(tmp_path / "o1.csv", HEAD + days), "orders", add_products=True,
                aggregate="D", now=NOW, options=opts)
    late = HEAD + "1001,A,2025-10-01 10:00:00,1,9.9,退款成功\n2000,A,2025-11-15 10:00:00,1,9.9,交易成功\n"
    with pytest.raises(Exception, match="looks missing"):
        ingest_file(store, write(tmp_path / "o2.csv", late), "orders", add_products=True,
                    aggregate="D", now=pd.Timestamp("2025-11-20"), options=opts)
    assert len(store.orders_between("2000-01-01", "2100-01-01")) == 30
    assert sales(store)[("A", "10-01")] == 1


REFUNDS = ("订单编号,商品ID,付款时间,购买数量,单价,订单状态,退款状态\n"
           "2001,A,2025-11-01 10:00:00,2,9.9,交易成功,没有申请退款\n"
           "2001,B,2025-11-01 10:00:00,1,5,交易成功,退款成功\n"  # one line of the order refunded
           "2002,A,2025-11-01 11:00:00,1,9.9,交易成功,退款关闭\n"  # refund withdrawn: a sale
           "2003,B,2025-11-01 12:00:00,3,5,交易关闭,\n"
           "2004,C,2025-11-01 13:00:00,1,2,卖家已发货,买家已经申请退款，等待卖家同意\n")


def test_a_line_refund_column_beside_the_order_status_is_refused_until_both_are_read(store, tmp_path):
    path = write(tmp_path / "r.csv", REFUNDS)
    with pytest.raises(InputFileError, match=r"column '退款状态' also holds order statuses, 1 line\(s\) "
                                             r"not a sale \(e.g. '退款成功'\).*--map status=订单状态\+退款状态"):
        ingest_file(store, path, "orders", add_products=True, aggregate="D", now=NOW,
                    options=make_options(mapping=[*MAP, "status=订单状态"]))
    assert store.count("orders") == 0
    with pytest.raises(InputFileError, match=r"column '订单状态' also holds.*--map status=退款状态\+订单状态"):
        load_file(path, "orders", options=make_options(mapping=[*MAP, "status=退款状态"]))
    result = ingest_file(store, path, "orders", add_products=True, aggregate="D", now=NOW,
                         options=make_options(mapping=[*MAP, "status=订单状态+退款状态"]))
    kept = store.orders_between("2000-01-01", "2100-01-01")
    assert sorted(zip(kept["order_id"], kept["unique_id"], strict=True)) == [
        ("2001", "A"), ("2002", "A"), ("2004", "C")]  # a pending refund is a sale until it succeeds
    assert sales(store) == {("A", "11-01"): 3, ("C", "11-01"): 1}
    assert any("2 order line(s) with a status that is not a sale left out (交易成功，退款成功 1, 交易关闭 1)"
               in n for n in result.notes)
    assert not any("not known to trendcast" in n for n in result.notes)


SHOPIFY = ("Name,Email,Financial Status,Paid at,Lineitem quantity,Lineitem price,Lineitem sku\n"
           "#1001,a@x.com,paid,2025-11-10 10:23:45 +0800,2,12.50,MUG-R\n"
           "#1001,a@x.com,,,1,15.00,MUG-B\n"
           "#1002,b@x.com,refunded,2025-11-11 09:00:00 +0800,3,15.00,MUG-B\n"
           "#1002,b@x.com,,,1,12.50,MUG-R\n")
SHOPIFY_MAP = ["order_id=Name", "unique_id=Lineitem sku", "ts=Paid at", "quantity=Lineitem quantity",
               "unit_price=Lineitem price", "status=Financial Status", "user_id=Email"]


def test_an_orders_fields_written_on_its_first_line_only_reach_its_other_lines(tmp_path):
    """Shopify's export: `Paid at` and `Financial Status` on an order's first line only. Before,
    the second line was refused ("ts: got empty"); its status would have counted a refunded
    order's other lines as sales."""
    df = load_file(write(tmp_path / "orders_export.csv", SHOPIFY), "orders",
                   options=make_options(mapping=SHOPIFY_MAP))
    assert sorted(zip(df["order_id"], df["unique_id"], df["ts"].astype(str), strict=True)) == [
        ("#1001", "MUG-B", "2025-11-10 10:23:45"), ("#1001", "MUG-R", "2025-11-10 10:23:45")]
    assert ("ts ('Paid at'), status ('Financial Status') blank on 2 order line(s) whose order gives them on "
            "another line (e.g. line 3, order '#1001'): taken from that line, as an export that writes an "
            "order's fields on its first line only") in df.attrs["notes"]
    assert any("left out (refunded 2)" in n for n in df.attrs["notes"]), df.attrs["notes"]


def test_an_order_with_two_times_or_none_is_not_filled(tmp_path):
    # order #1001 gives two times: its third line's blank stays blank (refused); #1003 gives none
    two = SHOPIFY.replace("#1001,a@x.com,,,1", "#1001,a@x.com,,2025-11-10 11:00:00 +0800,1").replace(
        "#1002,b@x.com,,,1,12.50,MUG-R", "#1001,a@x.com,,,1,12.50,MUG-X\n#1003,c@x.com,paid,,1,12.50,MUG-R")
    with pytest.raises(DataValidationError) as err:
        load_file(write(tmp_path / "o.csv", two), "orders", options=make_options(mapping=SHOPIFY_MAP))
    empty = [(p["row"], p["column"]) for p in err.value.problems if pd.isna(p["value"])]
    assert empty == [(4, "ts"), (5, "ts")], err.value.problems


def test_amazon_and_woocommerce_statuses(tmp_path):
    """Amazon's All Orders report (`Shipped - Delivered to Buyer`, `Pending`) and WooCommerce
    (`pending` = payment not taken, `on-hold`): read without an unknown-status note."""
    text = ("amazon-order-id\tpurchase-date\torder-status\tsku\tquantity\n"
            "111-1\t2025-11-10T10:23:45+00:00\tShipped - Delivered to Buyer\tA\t1\n"
            "111-2\t2025-11-10T11:00:00+00:00\tPending\tA\t2\n"
            "111-3\t2025-11-10T12:00:00+00:00\tUnshipped\tB\t1\n"
            "111-4\t2025-11-10T13:00:00+00:00\tCancelled\tB\t4\n"
            "111-5\t2025-11-10T14:00:00+00:00\tShipping\tB\t1\n")
    df = load_file(write(tmp_path / "all_orders.txt", text), "orders", options=make_options(mapping=[
        "order_id=amazon-order-id", "ts=purchase-date", "status=order-status", "unique_id=sku"]))
    assert sorted(df["order_id"]) == ["111-1", "111-3", "111-5"]
    assert "2 order line(s) with a status that is not a sale left out (Pending 1, Cancelled 1)" in df.attrs["notes"]
    assert not any("unknown" in n or "not known" in n for n in df.attrs["notes"]), df.attrs["notes"]
