"""A self-contained HTML report: history plus forecast fan charts for the top products.

plotly.js is embedded in the file (no CDN), so the report opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from trendcast.schema import quantile_column

TEXT = {
    "en": {
        "title": "trendcast forecast report",
        "run": "Forecast run",
        "top": "Top products by sales in the last 28 days",
        "history": "history",
        "forecast": "forecast",
        "band": "{lo:.0%}-{hi:.0%} interval",
        "leaderboard": "Backtest leaderboard (lower is better)",
        "notes": "Notes",
        "units": "units",
        "summary": "{n} series, history {start} .. {end}, horizon {h} {unit}",
    },
    "zh": {
        "title": "trendcast 销售预测报告",
        "run": "预测批次",
        "top": "近 28 天销量最高的商品",
        "history": "历史销量",
        "forecast": "预测",
        "band": "{lo:.0%}-{hi:.0%} 预测区间",
        "leaderboard": "回测排行榜（越低越好）",
        "notes": "说明",
        "units": "件",
        "summary": "{n} 个序列，历史 {start} 至 {end}，预测 {h} {unit}",
    },
}


def top_products(history: pd.DataFrame, n: int = 6, days: int = 28) -> list[str]:
    """Ids of the ``n`` best sellers over the last ``days`` of history."""
    recent = history[history["ds"] > history["ds"].max() - pd.Timedelta(days=days)]
    return list(recent.groupby("unique_id")["y"].sum().nlargest(n).index.astype(str))


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, uid: str, model: str,
              quantiles: list[float], *, lang: str = "en", title: str | None = None,
              history_days: int = 180):  # type: ignore[no-untyped-def]
    """A plotly figure: recent history, the point forecast and its widest quantile band."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    hist = history[history["unique_id"] == uid].sort_values("ds").tail(history_days)
    fc = forecast[forecast["unique_id"] == uid].sort_values("ds")
    fig = go.Figure()
    lo = [q for q in quantiles if q < 0.5]
    hi = [q for q in quantiles if q > 0.5]
    if lo and hi:
        qlo, qhi = min(lo), max(hi)
        fig.add_trace(go.Scatter(x=fc["ds"], y=fc[quantile_column(model, qhi)], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=fc["ds"], y=fc[quantile_column(model, qlo)], mode="lines",
                                 line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(31,119,180,0.25)",
                                 name=t["band"].format(lo=qlo, hi=qhi)))
    fig.add_trace(go.Scatter(x=hist["ds"], y=hist["y"], mode="lines", name=t["history"],
                             line={"color": "#444"}))
    fig.add_trace(go.Scatter(x=fc["ds"], y=fc[model], mode="lines",
                             name=f"{t['forecast']} ({model})", line={"color": "#1f77b4"}))
    fig.update_layout(title=title or uid, height=340, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      yaxis_title=t["units"], legend={"orientation": "h"})
    return fig


def write_report(
    out_dir: str | Path,
    *,
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    model: str,
    quantiles: list[float],
    run_id: str,
    products: pd.DataFrame | None = None,
    leaderboard: pd.DataFrame | None = None,
    notes: list[str] | None = None,
    lang: str = "en",
    n_products: int = 6,
) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path."""
    import plotly.io as pio

    if lang not in TEXT:
        raise ValueError(f"lang must be one of {sorted(TEXT)}, got {lang!r}")
    t = TEXT[lang]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    titles = {}
    if products is not None and not products.empty:
        titles = dict(zip(products["unique_id"].astype(str),
                          products["title"].fillna(products["unique_id"]).astype(str), strict=False))
    sections = []
    for i, uid in enumerate(top_products(history, n_products)):
        fig = fan_chart(history, forecast, uid, model, quantiles, lang=lang,
                        title=f"{uid} — {titles.get(uid, '')}".strip(" —"))
        sections.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0)))
    h = forecast.groupby("unique_id").size().max()
    summary = t["summary"].format(
        n=history["unique_id"].nunique(), start=history["ds"].min().date(),
        end=history["ds"].max().date(), h=int(h), unit="d")
    board = ""
    if leaderboard is not None and not leaderboard.empty:
        board = f"<h2>{t['leaderboard']}</h2>" + leaderboard.to_html(
            index=False, float_format=lambda v: f"{v:.3f}", border=0, classes="board")
    note_html = ""
    if notes:
        note_html = f"<h2>{t['notes']}</h2><ul>" + "".join(
            f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
    page = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{t['title']}</title>
<style>body{{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table.board{{border-collapse:collapse}}
.board td,.board th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}</style>
</head><body>
<h1>{t['title']}</h1>
<p>{t['run']}: <code>{html.escape(run_id)}</code> · {html.escape(summary)}</p>
{board}
<h2>{t['top']}</h2>
{''.join(sections)}
{note_html}
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
