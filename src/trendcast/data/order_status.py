"""Order statuses: which order lines are sales.

Shop exports list every order, the cancelled, closed, refunded and unpaid ones too, with a
status column (Taobao's 订单状态 交易关闭 / 交易成功, Shopify's financial status ``refunded``
/ ``paid``). Ingested as they are, cancelled orders count as demand. With ``--map
status=COLUMN`` the lines whose status is not a sale (:data:`NOT_SOLD`) are left out, and a
stored line with the same order and product is removed (the order was cancelled after an
earlier export). A file with such a column left unmapped is refused, naming it
(:func:`find_status_column`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.data.contract import Found, file_rows, to_text

# Written in lower case with "_" for spaces and dashes; Chinese as exported.
NOT_SOLD = frozenset({
    "cancelled", "canceled", "cancel", "voided", "void", "refunded", "refund", "fully_refunded",
    "closed", "trade_closed", "trade_closed_by_taobao", "failed", "payment_failed", "declined",
    "expired", "rejected", "unpaid", "pending_payment", "awaiting_payment", "wait_buyer_pay",
    # WooCommerce's and Amazon's "pending": placed, payment not yet taken (a later export says)
    "pending", "checkout_draft", "draft",
    "交易关闭", "已关闭", "关闭", "已取消", "取消", "订单取消", "交易取消", "退款成功", "已退款",
    "全额退款", "交易失败", "待付款", "等待买家付款", "未付款", "已作废", "作废",
})
SOLD = frozenset({
    "paid", "completed", "complete", "fulfilled", "shipped", "delivered", "processing",
    "success", "successful", "finished", "trade_finished", "trade_success",
    "wait_seller_send_goods", "wait_buyer_confirm_goods", "partially_refunded",
    "partially_fulfilled", "partially_paid", "unfulfilled", "authorized", "on_hold", "open",
    "unshipped", "shipping", "partially_shipped", "shipped_delivered_to_buyer",  # Amazon's
    "交易成功", "已完成", "完成", "已付款", "买家已付款", "已发货", "卖家已发货", "等待卖家发货",
    "等待买家确认收货", "等待买家确认", "待发货", "待收货", "已签收", "已收货", "部分退款", "部分发货",
    "卖家部分发货", "待评价",
    # a line's refund status (Taobao's 退款状态): a sale until the refund succeeds
    "没有申请退款", "无退款", "退款关闭", "卖家拒绝退款", "退款中", "买家已经申请退款", "等待卖家同意",
    "等待买家退货", "买家已经退货", "等待卖家确认收货", "售后关闭",
})
_SEPARATORS = re.compile(r"[\s\-]+")


_PARTS = re.compile(r"\s*[，,、;；/]\s*")


def _word(value: object) -> str:
    return _SEPARATORS.sub("_", str(value).strip().lower())


def _state(value: object) -> str | None:
    """``"not"`` (not a sale), ``"sold"``, ``"unknown"``, or None for a missing cell. Taobao
    joins two states (``买家已付款，等待卖家发货``): any part that is not a sale decides."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    parts = [_word(p) for p in _PARTS.split(str(value).strip()) if p.strip()] or [""]
    if any(p in NOT_SOLD for p in parts):
        return "not"
    return "sold" if all(p in SOLD for p in parts) else "unknown"


@dataclass
class StatusSplit:
    """The order lines that are sales, and the keys of those that are not."""

    kept: pd.DataFrame
    cancelled: pd.DataFrame  # order_id, unique_id (text, as stored)
    notes: list[str]


def split_by_status(df: pd.DataFrame) -> StatusSplit:
    """Leave out the lines whose ``status`` is not a sale; unknown statuses count as sales
    and are named in the notes. ``df`` is the frame before validation (raw cells); the kept
    frame has no ``status`` column and keeps ``attrs`` with ``_rows`` filtered."""
    states = df["status"].map(_state)
    out = (states == "not").to_numpy()
    notes: list[str] = []
    if out.any():
        counts = df.loc[out, "status"].astype(str).str.strip().value_counts()
        notes.append(f"{int(out.sum()):,} order line(s) with a status that is not a sale left out ("
                     + ", ".join(f"{k} {v:,}" for k, v in counts.head(6).items())
                     + ")")
    unknown = states == "unknown"
    if unknown.any():
        counts = df.loc[unknown, "status"].astype(str).str.strip().value_counts()
        notes.append("status(es) not known to trendcast counted as sales: "
                     + ", ".join(f"{k!r} {v:,}" for k, v in counts.head(6).items())
                     + " (if they are not sales, leave those lines out of the file)")
    attrs = dict(df.attrs)
    rows = attrs.get("_rows")
    positions = np.flatnonzero(~out)
    kept = df.iloc[positions].drop(columns=["status"]).reset_index(drop=True)
    kept.attrs.update(attrs)
    kept.attrs["_rows"] = file_rows(np.asarray(rows)[positions] if rows is not None else positions)
    gone = df.iloc[np.flatnonzero(out)]
    cancelled = pd.DataFrame({
        col: to_text(gone[col], identifier=True, found=Found()).astype(object).to_numpy()
        for col in ("order_id", "unique_id") if col in gone.columns})
    cancelled = cancelled.dropna().drop_duplicates().reset_index(drop=True)
    return StatusSplit(kept, cancelled, notes)


def find_status_column(df: pd.DataFrame, used: set[str]) -> tuple[str, str, int] | None:
    """A column outside ``used`` whose text is order statuses, some of them not sales:
    (column, a not-sale value, how many lines have one), else None."""
    for col in df.columns:
        if col in used or str(col).startswith("_") or df[col].dtype != object:
            continue
        values = df[col].dropna()
        values = values[values.map(lambda v: isinstance(v, str))]
        if not len(values):
            continue
        states = values.map(_state)
        if states.isin(["not", "sold"]).mean() < 0.8:
            continue
        out = states == "not"
        if out.any():
            return str(col), str(values[out].iloc[0]).strip(), int(out.sum())
    return None


__all__ = ["NOT_SOLD", "SOLD", "StatusSplit", "find_status_column", "split_by_status"]
