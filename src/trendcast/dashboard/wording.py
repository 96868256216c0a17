"""Notes and settings that services write in English, as a page in the reader's language
shows them: notes through the report's patterns (:func:`~trendcast.insights.report_notes.
localize_note`: an unknown note is marked as the original English), settings' values through
a table of the phrases services use, dicts and lists spelled out instead of Python's repr."""

from __future__ import annotations

import math

from trendcast.insights.report_notes import localize_note

# The settings' values that are phrases (insights.inventory, services.inventory, insights.trends)
_ZH = {
    "independent days (spread of the sum understated if errors persist)":
        "各天相互独立（若误差持续，多天合计的波动会被低估）",
    "arrives within the lead time": "在补货周期内到货",
    "lead time and review take their share of a forecast period (its demand spread evenly over its days)":
        "补货周期和盘点周期按天折算为预测期（期内需求按天均摊）",
    "lead time and review take the share of each forecast period's demand that its covered days held a "
    "year before (evenly where there is no such history)":
        "补货周期和盘点周期取各预测期需求中相应天数上一年所占的份额（无上一年数据处按天均摊）",
    "lead time and review take their share of each forecast period's own days":
        "补货周期和盘点周期按各预测期自身的天数折算",
    "order-up-to level, safety stock and order quantity; reorder point and stock-out risk stay "
    "uncalibrated": "补货目标水平、安全库存和订货量；再订货点和缺货风险不校准",
    "calibrated on backtests": "按回测校准",
    "nbinom (uncalibrated)": "负二项分布（未校准）",
    "nbinom (uncalibrated, --no-calibrate)": "负二项分布（未校准，--no-calibrate）",
    "called steady; too_short flags series under min_weeks":
        "判为平稳；不足 min_weeks 周的序列标为 too_short",
    "daily": "日度", "weekly": "周度",
}
_KEYS_ZH = {"method": "方法", "windows": "回测窗口", "cases": "样本数", "products_calibrated": "已校准商品数",
            "coverage": "覆盖率", "uncalibrated_coverage": "未校准时的覆盖率", "target": "目标"}


def note_text(note: str, lang: str, about: str | None = None) -> str:
    """A service's note in ``lang``. ``about``: the product a page's notes are about; the
    report prints such notes after the product's id (``P1: ...``), which is how its patterns
    know them, and the page shows them without it."""
    if lang != "zh" or about is None:
        return localize_note(note, lang)
    said = localize_note(f"{about}: {note}", lang)
    head = f"{about}："
    return said.removeprefix(head) if said.startswith(head) else localize_note(note, lang)


def assumption_text(value: object, lang: str) -> str:
    """A setting's value as a page prints it: phrases in ``lang``, numbers rounded, a dict as
    ``key: value; ...`` and a list as ``a, b`` (never Python's repr); ``—`` for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, dict):
        sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
        return sep.join(f"{_KEYS_ZH.get(k, k) if lang == 'zh' else k}{colon}{assumption_text(v, lang)}"
                        for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(assumption_text(v, lang) for v in value) if value else "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return _ZH.get(text, text) if lang == "zh" else text


__all__ = ["assumption_text", "note_text"]
