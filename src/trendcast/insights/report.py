"""A self-contained HTML trend report: market overview, category trends, top movers, forecast
fan charts, sentiment alerts, inventory actions and explanations, in English or Chinese.

plotly.js is embedded in the file (no CDN), so the report opens offline; ``insights.pdf``
prints the same file to PDF. Every section but the overview and the fan charts is optional:
a section whose input is missing says why instead of disappearing silently.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trendcast.insights.report_text import TEXT, trend_label
from trendcast.schema import quantile_column


@dataclass
class ReportSections:
    """Optional inputs of the report beyond the forecast run (None: the section says why)."""

    trends: pd.DataFrame | None = None  # product calls of insights.trends.detect_trends
    category_trends: pd.DataFrame | None = None  # the same at category level
    alerts: pd.DataFrame | None = None  # negative-sentiment alerts
    inventory: pd.DataFrame | None = None  # insights.inventory policy table
    explanations: list[Any] = field(default_factory=list)  # insights.explain.Explanation
    missing: dict[str, str] = field(default_factory=dict)  # section -> why it is empty


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


def market_chart(history: pd.DataFrame, forecast: pd.DataFrame, model: str, *, lang: str = "en",
                 days: int = 365):  # type: ignore[no-untyped-def]
    """Total daily units over the last ``days`` and the summed point forecast."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    total = history.groupby("ds")["y"].sum().tail(days)
    fc_total = forecast.groupby("ds")[model].sum()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=total.index, y=total.to_numpy(), mode="lines", name=t["history"],
                             line={"color": "#444"}))
    fig.add_trace(go.Scatter(x=fc_total.index, y=fc_total.to_numpy(), mode="lines",
                             name=f"{t['forecast']} ({model})", line={"color": "#1f77b4"}))
    fig.update_layout(title=t["market_chart"], height=320, legend={"orientation": "h"},
                      margin={"l": 40, "r": 10, "t": 40, "b": 30}, yaxis_title=t["units"])
    return fig


def category_chart(history: pd.DataFrame, products: pd.DataFrame, *, lang: str = "en",
                   weeks: int = 104):  # type: ignore[no-untyped-def]
    """Weekly units per category over the last ``weeks`` weeks."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    cats = products.set_index("unique_id")["category"].astype(str)
    df = history.assign(category=history["unique_id"].map(cats).fillna("?"))
    end = df["ds"].max()
    df = df[df["ds"] > end - pd.Timedelta(weeks=weeks)]
    week = end - pd.to_timedelta((end - df["ds"]).dt.days // 7 * 7, unit="D")
    weekly = df.assign(week=week).groupby(["category", "week"])["y"].sum().reset_index()
    fig = go.Figure()
    for cat, part in weekly.groupby("category"):
        fig.add_trace(go.Scatter(x=part["week"], y=part["y"], mode="lines", name=str(cat)))
    fig.update_layout(title=t["category_chart"], height=340, legend={"orientation": "h"},
                      margin={"l": 40, "r": 10, "t": 40, "b": 30}, yaxis_title=t["units_week"])
    return fig


def market_kpis(history: pd.DataFrame, forecast: pd.DataFrame, model: str) -> dict[str, float]:
    """Units in the last 28 days, change against the 28 before and a year before, and the
    forecast total against the same number of days just past."""
    daily = history.groupby("ds")["y"].sum().sort_index()
    end = daily.index.max()

    def window(stop: pd.Timestamp, n: int = 28) -> float:
        part = daily[(daily.index > stop - pd.Timedelta(days=n)) & (daily.index <= stop)]
        return float(part.sum()) if len(part) == n else float("nan")

    last = window(end)
    prev = window(end - pd.Timedelta(days=28))
    year = window(end - pd.Timedelta(days=364))
    fc_total = float(forecast.groupby("ds")[model].sum().sum())
    h = int(forecast["ds"].nunique())
    recent_h = window(end, h)
    return {"units_28d": last, "vs_prev": last / prev - 1 if prev else float("nan"),
            "vs_year": last / year - 1 if year else float("nan"), "forecast_total": fc_total,
            "forecast_days": h, "forecast_vs_recent": fc_total / recent_h - 1 if recent_h else float("nan")}


def _pct(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:+.0%}"


def _table(df: pd.DataFrame, columns: dict[str, str], *, floats: str = "{:.2f}") -> str:
    """An HTML table of ``columns`` (source -> heading) that exist in ``df``, escaped."""
    cols = [c for c in columns if c in df.columns]
    head = "".join(f"<th>{html.escape(columns[c])}</th>" for c in cols)
    rows = []
    for rec in df[cols].itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, float):
                text = "" if pd.isna(v) else floats.format(v)
            elif isinstance(v, pd.Timestamp):
                text = str(v.date())
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='board'><tr>{head}</tr>{''.join(rows)}</table>"


def _empty(t: dict[str, str], why: str | None) -> str:
    return f"<p class='muted'>{html.escape(why or t['none'])}</p>"


def _movers(t: dict[str, str], lang: str, calls: pd.DataFrame | None, titles: dict[str, str],
            why: str | None, n: int = 5) -> str:
    if calls is None or calls.empty:
        return _empty(t, why)
    parts = []
    key = "unique_id" if "unique_id" in calls.columns else calls.columns[0]
    for cls in ("rising", "emerging", "seasonal_peak_ahead", "declining"):
        part = calls[calls["trend"] == cls].sort_values("score", ascending=False).head(n)
        if part.empty:
            continue
        part = part.assign(title=part[key].astype(str).map(titles).fillna(""),
                           confidence=part["confidence"].astype(float))
        parts.append(f"<h3>{html.escape(trend_label(cls, lang))}</h3>" + _table(
            part, {key: t["product"], "title": t["title_col"], "confidence": t["confidence"],
                   "reason": t["reason"]}))
    return "".join(parts) or _empty(t, t["no_movers"])


def _alerts(t: dict[str, str], alerts: pd.DataFrame | None, why: str | None) -> str:
    if alerts is None:
        return _empty(t, why)
    if alerts.empty:
        return f"<p>{html.escape(t['no_alerts'])}</p>"
    latest = alerts.sort_values("end", ascending=False) if "end" in alerts.columns else alerts
    kw = "keywords_zh" if t is TEXT["zh"] else "keywords_en"
    return _table(latest.head(15), {"unique_id": t["product"], "start": t["alert_start"],
                                    "end": t["alert_end"], "share_recent": t["alert_share"],
                                    "p0": t["alert_base"], kw: t["alert_keywords"]})


def _inventory(t: dict[str, str], inv: pd.DataFrame | None, why: str | None) -> str:
    if inv is None or inv.empty:
        return _empty(t, why)
    if "stockout_risk" in inv.columns and inv["stockout_risk"].isna().all() and "demand_mean" in inv.columns:
        inv = inv.sort_values("demand_mean", ascending=False)  # no stock given: biggest sellers first
    if "service_level" in inv.columns:
        inv = inv.assign(service_level=inv["service_level"].map(lambda v: f"{v:.1%}" if pd.notna(v) else ""))
    cols = {"unique_id": t["product"], "order_up_to": t["order_up_to"],
            "reorder_point": t["reorder_point"], "safety_stock": t["safety_stock"],
            "order_qty": t["order_qty"], "stockout_risk": t["stockout_risk"],
            "service_level": t["service_level"]}
    return _table(inv.head(12), cols, floats="{:.1f}")


def _explanations(t: dict[str, str], lang: str, explanations: list[Any], why: str | None) -> str:
    if not explanations:
        return _empty(t, why)
    blocks = []
    for ex in explanations:
        lines = ex.sentences(lang, by="week", top=3)
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        blocks.append(f"<h3>{html.escape(ex.unique_id)} ({html.escape(ex.model)})</h3><ul>{items}</ul>")
    return "".join(blocks)


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
    sections: ReportSections | None = None,
) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path."""
    import plotly.io as pio

    if lang not in TEXT:
        raise ValueError(f"lang must be one of {sorted(TEXT)}, got {lang!r}")
    t = TEXT[lang]
    sec = sections or ReportSections()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    titles: dict[str, str] = {}
    if products is not None and not products.empty:
        titles = dict(zip(products["unique_id"].astype(str),
                          products["title"].fillna(products["unique_id"]).astype(str), strict=False))
    charts = [market_chart(history, forecast, model, lang=lang)]
    if products is not None and not products.empty and "category" in products.columns:
        charts.append(category_chart(history, products, lang=lang))
    fans = [fan_chart(history, forecast, uid, model, quantiles, lang=lang,
                      title=f"{uid} — {titles.get(uid, '')}".strip(" —"))
            for uid in top_products(history, n_products)]
    html_charts = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0),
                               config={"displaylogo": False})
                   for i, fig in enumerate(charts + fans)]
    overview_html, category_html = html_charts[0], "".join(html_charts[1:len(charts)])
    fan_html = "".join(html_charts[len(charts):])

    k = market_kpis(history, forecast, model)
    kpis = "".join(f"<div class='kpi'><b>{html.escape(v)}</b><span>{html.escape(label)}</span></div>"
                   for label, v in [
                       (t["kpi_units"], f"{k['units_28d']:,.0f}"), (t["kpi_prev"], _pct(k["vs_prev"])),
                       (t["kpi_year"], _pct(k["vs_year"])),
                       (t["kpi_forecast"].format(h=k["forecast_days"]), f"{k['forecast_total']:,.0f}"),
                       (t["kpi_fc_change"].format(h=k["forecast_days"]), _pct(k["forecast_vs_recent"]))])
    summary = t["summary"].format(
        n=history["unique_id"].nunique(), start=history["ds"].min().date(),
        end=history["ds"].max().date(), h=int(forecast.groupby("unique_id").size().max()), unit="d")
    cat_table = _empty(t, sec.missing.get("category_trends"))
    if sec.category_trends is not None and not sec.category_trends.empty:
        ct = sec.category_trends.assign(trend=sec.category_trends["trend"].map(
            lambda c: trend_label(c, lang)))
        key = ct.columns[0] if "unique_id" not in ct.columns else "unique_id"
        cat_table = _table(ct, {key: t["category"], "trend": t["trend"], "confidence": t["confidence"],
                                "yoy_growth": t["yoy"], "reason": t["reason"]})
    board = _empty(t, t["no_backtest"])
    if leaderboard is not None and not leaderboard.empty:
        board = leaderboard.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0,
                                    classes="board")
    all_notes = list(notes or []) + [f"{t['section_' + s]}: {why}" for s, why in sec.missing.items()]
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in all_notes)
    page = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{t['title']}</title>
<style>body{{font-family:system-ui,'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',
sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}}
table.board{{border-collapse:collapse;margin:.5em 0 1em}}
.board td,.board th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;font-size:14px;
white-space:nowrap}}.board td:last-child{{white-space:normal}}
.kpis{{display:flex;gap:12px;flex-wrap:wrap}}.kpi{{border:1px solid #ddd;border-radius:6px;padding:8px 14px}}
.kpi b{{display:block;font-size:22px}}.kpi span{{color:#666;font-size:13px}}.muted{{color:#777}}
h2{{border-bottom:2px solid #1f77b4;padding-bottom:4px;margin-top:1.6em}}
@media print{{h2{{break-before:auto}} .plotly-graph-div{{break-inside:avoid}}}}</style>
</head><body>
<h1>{t['title']}</h1>
<p>{t['run']}: <code>{html.escape(run_id)}</code> · {html.escape(summary)}</p>
<h2>{t['section_overview']}</h2>
<div class="kpis">{kpis}</div>
{overview_html}
<h2>{t['section_category_trends']}</h2>
{cat_table}
{category_html}
<h2>{t['section_movers']}</h2>
{_movers(t, lang, sec.trends, titles, sec.missing.get("trends"))}
<h2>{t['section_forecasts']}</h2>
{fan_html}
<h2>{t['section_alerts']}</h2>
{_alerts(t, sec.alerts, sec.missing.get("alerts"))}
<h2>{t['section_inventory']}</h2>
{_inventory(t, sec.inventory, sec.missing.get("inventory"))}
<h2>{t['section_explanations']}</h2>
{_explanations(t, lang, sec.explanations, sec.missing.get("explanations"))}
<h2>{t['leaderboard']}</h2>
{board}
<h2>{t['notes']}</h2><ul>{note_html}</ul>
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
