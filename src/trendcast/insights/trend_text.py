"""Short plain-language reasons for trend calls, in English or Chinese, counting the
calls' periods (weeks, or months and quarters for monthly and quarterly sales)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from trendcast.insights.periods import UNITS

FOLD = 10  # a forecast at least this many times the recent level is said as a multiple, not +5391567%
PRICE_NOTE = 0.05  # a year-over-year price change at least this large is named in the reason

TEXT = {
    "en": {
        "short": "too short: {weeks} complete {u}(s) of sales, {need} needed for a call",
        "never": "no sales at all in the data",
        "dead": "no sales in the last {window} {us}",
        "new": "new: first sale {first} ({age} {us} ago), growing {slope:+.1f}%/{u} ({p})",
        "yoy": "{annual:+.0%} on the same {m} {us} a year ago ({p})",
        "yoy8": "last {k} {us} {yoy8:+.0%} on a year ago",
        "price": "price {price:+.0%} over the same {us}",
        "slope": "{slope:+.1f}%/{u} over {n} {us} ({p})",
        "no_yoy": "no year-ago comparison yet",
        "cp": "level x{ratio:.2f} since {date}",
        "season": "yearly pattern explains {r2:.0%} of the variation",
        "last_year": "last year the next {ahead} {us} reached {ratio:.1f}x the {ur} before",
        "peak": "next peak around {date}",
        "forecast": "forecast {fc:+.0%} on the recent level",
        "forecast_x": "forecast {x:,.0f}x the recent level",
        "fc_disagrees": "but the forecast is {fc:+.0%} on the recent level: the call rests on the sales "
                        "so far, the forecast does not carry the growth on (half confidence)",
        "steady": "no clear trend",
        "mixed": "mixed signals",
        "mk": "MK",
        "sk": "seasonal Kendall",
        "sep": "; ",
        "colon": ": ",
    },
    "zh": {
        "short": "数据太短：仅 {weeks} 个完整{name}，至少需要 {need} {us}",
        "never": "数据中没有任何销量",
        "dead": "近 {window} {us}无销量",
        "new": "新品：{first} 首次销售（{age} {us}前），{each}增长 {slope:+.1f}%（{p}）",
        "yoy": "较去年同期 {m} {us} {annual:+.0%}（{p}）",
        "yoy8": "近 {k} {us}同比 {yoy8:+.0%}",
        "price": "同期价格 {price:+.0%}",
        "slope": "近 {n} {us}{each} {slope:+.1f}%（{p}）",
        "no_yoy": "尚无去年同期可比",
        "cp": "自 {date} 起水平为之前的 {ratio:.2f} 倍",
        "season": "年度季节性解释了 {r2:.0%} 的波动",
        "last_year": "去年此后 {ahead} {us}达到此前的 {ratio:.1f} 倍",
        "peak": "下次高峰约在 {date}",
        "forecast": "预测较近期水平 {fc:+.0%}",
        "forecast_x": "预测为近期水平的 {x:,.0f} 倍",
        "fc_disagrees": "但预测较近期水平 {fc:+.0%}：判断依据是迄今的销量，预测并未延续增长（置信度减半）",
        "steady": "无明显趋势",
        "mixed": "信号不一致",
        "mk": "MK 检验",
        "sk": "季节性 Kendall 检验",
        "sep": "；",
        "colon": "：",
    },
}


def reasons(table: pd.DataFrame, th: Any, lang: str, year_ago: pd.Timestamp, *, never_sold: np.ndarray,
            contradicted: np.ndarray, unit: str = "week") -> list[str]:
    """One reason per row of the calls table built by ``trends._table``: ``th`` holds its
    counts (``trend_rules.Spans``), ``unit`` names its periods, ``year_ago`` is the date a
    year before the data's end."""
    u = UNITS[unit]
    words = ({"{u}": u.en, "{us}": u.plural, "{ur}": u.en if th.recent == 1 else u.plural} if lang == "en"
             else {"{us}": u.zh, "{each}": u.zh_each, "{name}": u.zh_name})
    t = {}
    for key, template in TEXT[lang].items():
        for token, word in words.items():
            template = template.replace(token, word)
        t[key] = template
    rows = table.to_dict(orient="records")
    out = [_reason(r, th, t, year_ago, bool(n), bool(c)) for r, n, c in zip(rows, never_sold, contradicted,
                                                                            strict=True)]
    if lang == "en":  # "last 1 quarters" -> "last 1 quarter"
        one = re.compile(rf"\b1 {u.plural}\b")
        out = [one.sub(f"1 {u.en}", r) for r in out]
    return out


def _ok(x: Any) -> bool:
    return x is not None and x is not pd.NaT and not (isinstance(x, float) and math.isnan(x))


def _p(p: float, test: str) -> str:
    if not _ok(p):
        return f"{test} p n/a"
    return f"{test} p<0.001" if p < 0.001 else f"{test} p={p:.3f}"


def _date(x: Any) -> str:
    return str(pd.Timestamp(x).date())


def _reason(r: dict[str, Any], th: Any, t: dict[str, str], year_ago: pd.Timestamp, never_sold: bool,
            contradicted: bool) -> str:
    if never_sold:
        return t["never"]
    if r["too_short"]:
        return t["short"].format(weeks=r["weeks"], need=th.min_len)
    if r["trend"] == "declining" and r["level"] == 0:
        return t["dead"].format(window=min(th.window, r["weeks"]))
    slope = None
    if _ok(r["slope_pct_per_week"]):
        slope = t["slope"].format(slope=r["slope_pct_per_week"], n=min(th.window, r["weeks"]),
                                  p=_p(r["mk_pvalue"], t["mk"]))
    parts: list[str] = []
    if r["trend"] == "emerging":
        parts.append(t["new"].format(first=_date(r["first_sale"]), age=int(r["age_weeks"]),
                                     slope=r["slope_pct_per_week"], p=_p(r["mk_pvalue"], t["mk"])))
    elif r["trend"] == "seasonal_peak_ahead":
        parts.append(t["season"].format(r2=r["seasonality"]))
        if _ok(r["peak_ahead_ratio"]):
            parts.append(t["last_year"].format(ahead=th.ahead, ratio=r["peak_ahead_ratio"]))
        parts.append(t["peak"].format(date=_date(r["next_peak"])))
    else:
        parts.extend(_trend_parts(r, th, t, slope, year_ago))
        if r["trend"] == "steady":
            parts[0] = (t["mixed"] if contradicted else t["steady"]) + t["colon"] + parts[0]
        if r["seasonal"] and _ok(r["next_peak"]):
            parts.append(t["season"].format(r2=r["seasonality"]))
            parts.append(t["peak"].format(date=_date(r["next_peak"])))
    if _ok(r["forecast_change"]):
        key = "fc_disagrees" if r.get("forecast_disagrees") else "forecast"
        if key == "forecast" and r["forecast_change"] >= FOLD - 1:  # on a level near zero
            parts.append(t["forecast_x"].format(x=r["forecast_change"] + 1))
        else:
            parts.append(t[key].format(fc=r["forecast_change"]))
    return t["sep"].join(parts)


def _trend_parts(r: dict[str, Any], th: Any, t: dict[str, str], slope: str | None,
                 year_ago: pd.Timestamp) -> list[str]:
    parts = []
    if r["basis"] == "yoy" and _ok(r["annual_growth"]):
        parts.append(t["yoy"].format(annual=r["annual_growth"], m=r["annual_weeks"],
                                     p=_p(r["yoy_pvalue"], t["sk"])))
        if _ok(r["yoy_growth"]):
            parts.append(t["yoy8"].format(k=th.yoy, yoy8=r["yoy_growth"]))
        if _ok(r["price_change"]) and abs(r["price_change"]) >= PRICE_NOTE:
            parts.append(t["price"].format(price=r["price_change"]))
        if slope and not r["seasonal"]:
            parts.append(slope)
    else:
        parts.extend([slope, t["no_yoy"]] if slope else [t["no_yoy"]])
    if _ok(r["change_point"]) and r["change_point"] >= year_ago and not r["seasonal"]:
        parts.append(t["cp"].format(ratio=r["change_ratio"], date=_date(r["change_point"])))
    return parts
