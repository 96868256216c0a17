"""A self-contained HTML trend report: market overview, category trends, top movers, forecast
fan charts, sentiment alerts, inventory actions and explanations, in English or Chinese.

plotly.js is embedded in the file (no CDN), so the report opens offline; ``insights.pdf``
prints the same file to PDF. Every section but the overview and the fan charts is optional:
a section whose input is missing says why instead of disappearing silently.

The page is ``templates/report.html.j2``, rendered by a Jinja2 environment that autoescapes
every value; this module only prepares the data (tables as formatted text) and the charts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from trendcast.features.frequency import infer_freq, period_days, period_labels, period_name
from trendcast.insights.periods import (
    change,
    chart_history,
    period_totals,
    recent_window,
    unit_of,
    units_in,
    window_totals,
)
from trendcast.insights.report_notes import localize_note, localize_reason, localize_text
from trendcast.insights.report_text import METRIC_HEADERS, TEXT, trend_label
from trendcast.schema import quantile_column


@dataclass
class ReportSections:
    """Optional inputs of the report beyond the forecast run (None: the section says why)."""

    trends: pd.DataFrame | None = None  # product calls of insights.trends.detect_trends
    category_trends: pd.DataFrame | None = None  # the same at category level
    alerts: pd.DataFrame | None = None  # negative-sentiment alerts
    inventory: pd.DataFrame | None = None  # insights.inventory policy table
    explanations: list[Any] = field(default_factory=list)  # insights.explain.Explanation
    accuracy: pd.DataFrame | None = None  # live accuracy per category (services.monitor.accuracy)
    accuracy_model: str | None = None  # the model those scores are of
    accuracy_freq: str | None = None  # the periods they count: the workspace's (default the run's)
    drift: pd.DataFrame | None = None  # drift alerts (insights.drift.detect)
    scenario: pd.DataFrame | None = None  # a what-if plan against the baseline (insights.scenario.compare)
    scenario_info: dict[str, Any] = field(default_factory=dict)  # model, source, horizon, level
    missing: dict[str, str] = field(default_factory=dict)  # section -> why it is empty


def top_products(history: pd.DataFrame, n: int = 6, freq: str | None = None) -> list[str]:
    """Ids of the ``n`` best sellers over the recent window of ``freq`` (default the
    history's own; :func:`trendcast.insights.periods.recent_window`: the last 28 days, 4
    weeks, month or quarter)."""
    own = infer_freq(history)
    freq = freq or own
    totals = period_totals(history, freq)
    if totals.empty:
        return []
    first, last = recent_window(freq).bounds(totals.index.max())["recent"]
    labels = history["ds"]
    if period_days(freq) > period_days(own):  # a --freq run of finer sales: its periods
        labels = period_labels(history["ds"], freq)
    recent = history[((labels >= first) & (labels <= last)).to_numpy()]
    return list(recent.groupby("unique_id")["y"].sum().nlargest(n).index.astype(str))


# plotly writes month names in English ("Jan 2025"); a Chinese report gets numeric dates
_ZH_DATES = [{"dtickrange": [None, "M1"], "value": "%m-%d"},
             {"dtickrange": ["M1", "M12"], "value": "%Y-%m"},
             {"dtickrange": ["M12", None], "value": "%Y"}]


def _style(fig, lang: str):  # type: ignore[no-untyped-def]
    """The layout every report chart shares: sized by its container, dates readable in ``lang``."""
    fig.update_layout(autosize=True, font={"family": "Noto Sans CJK SC, Noto Sans SC, sans-serif"})
    if lang == "zh":
        fig.update_xaxes(tickformatstops=_ZH_DATES, hoverformat="%Y-%m-%d")
    return fig


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, uid: str, model: str,
              quantiles: list[float], *, lang: str = "en", title: str | None = None,
              freq: str | None = None, history_periods: int | None = None):  # type: ignore[no-untyped-def]
    """A plotly figure: recent history, the point forecast and its widest quantile band.

    ``freq`` is the run's: a ``--freq M`` run of daily sales shows the product's units per
    whole month, as it forecasts them. ``history_periods`` defaults to 180 days of a daily
    run, else :func:`~trendcast.insights.periods.chart_history` periods (3 years of months)."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    own = infer_freq(history)  # the stored frequency, read on every series (not one sparse one)
    freq = freq or own
    one = history[history["unique_id"] == uid].copy()
    one.attrs["freq"] = own
    totals = period_totals(one, freq)
    if history_periods is None:
        history_periods = 180 if period_name(freq) == "day" else chart_history(freq)
    hist = pd.DataFrame({"ds": totals.index, "y": totals.to_numpy()}).tail(history_periods)
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
    fig.update_layout(title=title or uid, height=310, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      yaxis_title=t["units"], legend={"orientation": "h"})
    return _style(fig, lang)


def market_chart(history: pd.DataFrame, forecast: pd.DataFrame, model: str, *, lang: str = "en",
                 days: int = 365, freq: str = "D"):  # type: ignore[no-untyped-def]
    """Total units per period (of ``freq``: a ``--freq`` run's daily sales summed into its
    whole periods) over the last ``days`` periods and the summed point forecast."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    total = period_totals(history, freq).tail(days)
    fc_total = forecast.groupby("ds")[model].sum()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=total.index, y=total.to_numpy(), mode="lines", name=t["history"],
                             line={"color": "#444"}))
    fig.add_trace(go.Scatter(x=fc_total.index, y=fc_total.to_numpy(), mode="lines",
                             name=f"{t['forecast']} ({model})", line={"color": "#1f77b4"}))
    title = t["market_chart"].format(period=t[f"per_{period_name(freq)}"])
    fig.update_layout(title=title, height=320, legend={"orientation": "h"},
                      margin={"l": 40, "r": 10, "t": 40, "b": 30}, yaxis_title=t["units"])
    return _style(fig, lang)


def category_chart(history: pd.DataFrame, products: pd.DataFrame, *, lang: str = "en",
                   weeks: int = 104):  # type: ignore[no-untyped-def]
    """Units per category over the last ``weeks`` weeks: per week (daily sales summed into
    7-day blocks), or per period of monthly and coarser sales."""
    import plotly.graph_objects as go

    t = TEXT[lang]
    cats = products.set_index("unique_id")["category"].astype(str)
    df = history.assign(category=history["unique_id"].map(cats).fillna("?"))
    end = df["ds"].max()
    df = df[df["ds"] > end - pd.Timedelta(weeks=weeks)]
    name = period_name(infer_freq(history))
    if name == "day":
        name = "week"
        df = df.assign(ds=end - pd.to_timedelta((end - df["ds"]).dt.days // 7 * 7, unit="D"))
    per = df.groupby(["category", "ds"])["y"].sum().reset_index()
    fig = go.Figure()
    for cat, part in per.groupby("category"):
        fig.add_trace(go.Scatter(x=part["ds"], y=part["y"], mode="lines", name=str(cat)))
    period = t[f"per_{name}"]
    fig.update_layout(title=t["category_chart"].format(period=period), height=340,
                      legend={"orientation": "h"}, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      yaxis_title=t["units_per"].format(period=period))
    return _style(fig, lang)


def market_kpis(history: pd.DataFrame, forecast: pd.DataFrame, model: str,
                freq: str | None = None) -> dict[str, Any]:
    """Units in the recent window of ``freq`` (the run's; default the history's own), their
    change against the window before and the same window a year earlier, and the forecast
    total (of ``model``'s point forecast) against the same number of periods just past;
    ``repeats_history`` when that total is the past periods' units exactly.

    The window is :func:`trendcast.insights.periods.recent_window`'s: the last 28 days of a
    daily run, 4 weeks of a weekly one, the last month of a monthly one and the last quarter
    of a quarterly one (a ``--freq`` run of finer sales counts its own whole periods)."""
    freq = freq or infer_freq(history)
    totals = period_totals(history, freq)
    kpis = window_totals(totals, freq) if len(totals) else None
    fc_total = float(forecast.groupby("ds")[model].sum().sum())
    h = int(forecast["ds"].nunique())
    recent_h = float("nan")
    if kpis is not None and h > 0:
        recent_h = units_in(totals, kpis.window.back(kpis.end, h - 1), kpis.end)
    # a seasonal window average over whole seasons sums to exactly the periods just past: the
    # KPI is then a copy of history, which the report says rather than presenting it as a forecast
    repeats = bool(recent_h == recent_h and abs(fc_total - recent_h) <= 1e-6 * max(abs(recent_h), 1.0))
    nan = float("nan")
    return {"window": recent_window(freq), "units_recent": kpis.recent if kpis else nan,
            "vs_prev": kpis.vs_before if kpis else nan, "vs_year": kpis.vs_year if kpis else nan,
            "forecast_total": fc_total, "forecast_periods": h,
            "forecast_vs_recent": change(fc_total, recent_h), "repeats_history": repeats}


@cache
def environment() -> Environment:
    """The report's Jinja2 environment, built on first use (autoescaping on: every template is
    HTML, so product titles, ids, reasons and notes are escaped wherever they are printed)."""
    env = Environment(loader=PackageLoader("trendcast.insights", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["codes"] = code_spans
    return env


def code_spans(text: object) -> Markup:
    """``text`` escaped, with each `backticked` part set as <code> (commands a reader types)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: print it as it is
        return Markup(escape(str(text)))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p)
                           for i, p in enumerate(parts))


@dataclass(frozen=True)
class Table:
    """A table for ``report_macros.html.j2``: headings and rows of cell text (no markup)."""

    headers: list[str]
    rows: list[list[str]]


def _pct(v: float) -> str:
    """A change as people read it: +42%, −8% (a true minus sign), – when unknown."""
    if v is None or pd.isna(v):
        return "–"
    return "0%" if round(float(v) * 100) == 0 else f"{float(v):+.0%}".replace("-", "−")


_MINUS = re.compile(r"(?<![\w.])-(?=\d)")


def minus_signs(text: str) -> str:
    """Negative numbers in running text with a true minus sign, as the report's own figures
    (−8%); dates (2025-10-16), ranges (7-14) and ids (fo-2026...) keep their hyphens."""
    return _MINUS.sub("−", text).replace("−0%", "0%")


def _share_text(v: object) -> str:
    """A share or probability as a whole percentage: 88%."""
    return "–" if v is None or pd.isna(v) else f"{float(v):.0%}"  # type: ignore[call-overload]


def _units(v: object) -> str:
    """A quantity of units with thousands separators: whole units from 100 up, else one decimal."""
    if v is None or pd.isna(v):  # type: ignore[call-overload]
        return "–"
    x = float(v)  # type: ignore[arg-type]
    return f"{x:,.0f}" if abs(x) >= 100 or x == int(x) else f"{x:,.1f}"


def _words(v: object, lang: str) -> str:
    """Keywords as a list a reader reads ("失望、异味"), never Python's ``['a', 'b']``."""
    import ast

    import numpy as np

    if isinstance(v, str) and v.startswith("[") and v.endswith("]"):
        try:
            v = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            return v
    if isinstance(v, list | tuple | np.ndarray):
        return ("、" if lang == "zh" else ", ").join(str(w) for w in v)
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _text(v: object, floats: str, na: str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return na if pd.isna(v) else floats.format(v)
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return "" if v is None else str(v)


def _table(df: pd.DataFrame, columns: dict[str, str], *, floats: str = "{:,.2f}", na: str = "") -> Table:
    """The ``columns`` (source -> heading) that exist in ``df``, formatted as text."""
    cols = [c for c in columns if c in df.columns]
    rows = [[_text(v, floats, na) for v in rec] for rec in df[cols].itertuples(index=False)]
    return Table([columns[c] for c in cols], rows)


def _movers(t: dict[str, str], lang: str, calls: pd.DataFrame | None, titles: dict[str, str],
            n: int = 5) -> list[tuple[str, Table]] | None:
    """(trend label, table) per moving class; None when there are no calls at all."""
    if calls is None or calls.empty:
        return None
    parts = []
    key = "unique_id" if "unique_id" in calls.columns else calls.columns[0]
    for cls in ("rising", "emerging", "seasonal_peak_ahead", "declining"):
        part = calls[calls["trend"] == cls].sort_values("score", ascending=False).head(n)
        if part.empty:
            continue
        part = part.assign(title=part[key].astype(str).map(titles).fillna(""),
                           confidence=part["confidence"].map(_share_text),
                           reason=part["reason"].astype(str).map(minus_signs))
        parts.append((trend_label(cls, lang), _table(
            part, {key: t["product"], "title": t["title_col"], "confidence": t["confidence"],
                   "reason": t["reason"]})))
    return parts


def _category_trends(t: dict[str, str], lang: str, trends: pd.DataFrame | None) -> Table | None:
    if trends is None or trends.empty:
        return None
    ct = trends.assign(trend=trends["trend"].map(lambda c: trend_label(c, lang)))
    if "confidence" in ct.columns:
        ct["confidence"] = ct["confidence"].map(_share_text)
    if "yoy_growth" in ct.columns:
        ct["yoy_growth"] = ct["yoy_growth"].map(_pct)
    if "reason" in ct.columns:
        ct["reason"] = ct["reason"].astype(str).map(minus_signs)
    key = ct.columns[0] if "unique_id" not in ct.columns else "unique_id"
    return _table(ct, {key: t["category"], "trend": t["trend"], "confidence": t["confidence"],
                       "yoy_growth": t["yoy"], "reason": t["reason"]})


def _alerts(t: dict[str, str], lang: str, alerts: pd.DataFrame | None) -> Table | None:
    if alerts is None:
        return None
    latest = alerts.sort_values("end", ascending=False) if "end" in alerts.columns else alerts
    kw = "keywords_zh" if lang == "zh" else "keywords_en"
    latest = latest.head(15).copy()
    for col in ("share_recent", "p0"):
        if col in latest.columns:
            latest[col] = latest[col].map(_share_text)
    if kw in latest.columns:
        latest[kw] = latest[kw].map(lambda v: _words(v, lang))
    return _table(latest, {"unique_id": t["product"], "start": t["alert_start"],
                                    "end": t["alert_end"], "share_recent": t["alert_share"],
                                    "p0": t["alert_base"], kw: t["alert_keywords"]})


def _inventory(t: dict[str, str], inv: pd.DataFrame | None) -> tuple[Table | None, str | None]:
    """The policy table, and (without on-hand stock) one line on how to get the columns that
    need it; columns without a single value are left out rather than printed empty."""
    if inv is None or inv.empty:
        return None, None
    needs_stock = [c for c in ("order_qty", "stockout_risk") if c in inv.columns]
    no_stock = bool(needs_stock) and all(inv[c].isna().all() for c in needs_stock)
    if no_stock and "demand_mean" in inv.columns:
        inv = inv.sort_values("demand_mean", ascending=False)  # no stock given: biggest sellers first
    inv = inv.head(12).copy()
    for col in ("order_up_to", "reorder_point", "safety_stock", "order_qty"):
        if col in inv.columns:
            inv[col] = inv[col].map(lambda v: "" if pd.isna(v) else _units(v))
    for col in ("stockout_risk", "service_level"):
        if col in inv.columns:
            inv[col] = inv[col].map(lambda v: "" if pd.isna(v) else f"{float(v):.1%}")
    cols = {"unique_id": t["product"], "order_up_to": t["order_up_to"],
            "reorder_point": t["reorder_point"], "safety_stock": t["safety_stock"],
            "order_qty": t["order_qty"], "stockout_risk": t["stockout_risk"],
            "service_level": t["service_level"]}
    cols = {c: h for c, h in cols.items() if c in inv.columns and (inv[c] != "").any()}
    return _table(inv, cols), (t["stock_hint"] if no_stock else None)


def _explanations(lang: str, explanations: list[Any]) -> list[dict[str, Any]]:
    return [{"unique_id": ex.unique_id, "model": ex.model,
             "lines": [minus_signs(localize_text(s, lang)) for s in ex.sentences(lang, by="week", top=3)]}
            for ex in explanations]


def _share(v: Any, signed: bool = False) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{float(v):+.1%}" if signed else f"{float(v):.1%}"


def _scenario(t: dict[str, str], sc: pd.DataFrame | None, info: dict[str, Any]
              ) -> tuple[Table | None, str | None]:
    """Baseline and plan side by side for one model (None: the run has no plan)."""
    if sc is None or sc.empty:
        return None, None

    def band(r: dict[str, Any], col: str) -> str:
        v, lo, hi = r.get(col), r.get(f"{col}_lo"), r.get(f"{col}_hi")
        if v is None or pd.isna(v):
            return ""
        inner = f" [{lo:,.0f}–{hi:,.0f}]" if lo is not None and hi is not None and pd.notna(lo) else ""
        return f"{v:,.1f}{inner}"

    rows = []
    for r in sc.to_dict(orient="records"):
        uid = t["sc_total"] if r["unique_id"] == "TOTAL" else str(r["unique_id"])
        rows.append([uid] + [band(r, f"{side}_{m}") for m in ("units", "revenue", "margin")
                             for side in ("base", "plan")]
                    + [_pct(r.get("units_change")), _pct(r.get("margin_change"))])
    heads = [t["product"]] + [t[f"sc_{m}_{side}"] for m in ("units", "revenue", "margin")
                              for side in ("base", "plan")] + [t["sc_units_change"], t["sc_margin_change"]]
    intro = t["scenario_intro"].format(**info)
    return Table(heads, rows), intro


def _accuracy(t: dict[str, str], acc: pd.DataFrame | None) -> Table | None:
    """Live accuracy per category: scored days, WAPE against the backtest's, bias, coverage."""
    if acc is None or acc.empty:
        return None
    rows = [[str(r["category"]) if pd.notna(r["category"]) else "–", f"{int(r['n']):,}",
             _share(r["WAPE"]), _share(r.get("expected_WAPE")),
             _share(r["bias"], signed=True).replace("-", "−"), _share(r["coverage"])]
            for r in acc.sort_values("category", na_position="last").to_dict(orient="records")]
    return Table([t["category"], t["acc_n"], t["acc_wape"], t["acc_expected"], t["acc_bias"],
                  t["acc_coverage"]], rows)


def _drift(t: dict[str, str], alerts: pd.DataFrame | None, n: int = 15) -> Table | None:
    if alerts is None:
        return None
    rows = [[t.get("level_" + str(r["level"]), str(r["level"])), str(r["name"]),
             str(pd.Timestamp(r["started"]).date()), str(pd.Timestamp(r["detected"]).date()),
             t["dir_" + str(r["direction"])], f"{float(r['size']):+.1f}".replace("-", "−")]
            for r in alerts.head(n).to_dict(orient="records")]
    return Table([t["drift_level"], t["drift_name"], t["drift_started"], t["drift_detected"],
                  t["drift_direction"], t["drift_size"]], rows)


def _leaderboard(board: pd.DataFrame | None, lang: str) -> Table | None:
    """Metric columns keep their names (MASE, WAPE: what the docs explain); the others get
    the reader's words."""
    if board is None or board.empty:
        return None
    heads = METRIC_HEADERS[lang]

    def head(c: object) -> str:
        c = str(c)
        if c.startswith("coverage_"):
            return heads["coverage"].format(level=c.removeprefix("coverage_"))
        return heads.get(c, c)

    return _table(board, {str(c): head(c) for c in board.columns}, floats="{:,.3f}", na="–")


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
    freq: str = "D",
) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path; ``freq`` is the run's
    frequency (the horizon counts its periods)."""
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
    charts = [market_chart(history, forecast, model, lang=lang, freq=freq)]
    if products is not None and not products.empty and "category" in products.columns:
        charts.append(category_chart(history, products, lang=lang))
    fans = [fan_chart(history, forecast, uid, model, quantiles, lang=lang, freq=freq,
                      title=f"{uid} — {titles.get(uid, '')}".strip(" —"))
            for uid in top_products(history, n_products, freq)]
    # plotly's own markup (plotly.js once, then a div and a script per figure)
    # no mode bar: its icons would be printed in the PDF, and a report is read, not explored
    html_charts = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), default_width="100%",
                               config={"displaylogo": False, "displayModeBar": False, "responsive": True})
                   for i, fig in enumerate(charts + fans)]

    k = market_kpis(history, forecast, model, freq)
    unit = t[f"{period_name(freq)}s"]  # the horizon counts the run's periods
    words = k["window"].words(lang)  # the recent window: last 28 days, 4 weeks, month, quarter
    kpis = [(t["kpi_units"].format(**words), _units(k["units_recent"])),
            (t["kpi_prev"].format(**words), _pct(k["vs_prev"]))]
    if k["window"].year_lag is not None:  # a yearly run's year before is the window before
        kpis.append((t["kpi_year"].format(**words), _pct(k["vs_year"])))
    h = k["forecast_periods"]
    kpis += [(t["kpi_forecast"].format(h=h, unit=unit), _units(k["forecast_total"])),
             (t["kpi_fc_change"].format(h=h, unit=unit), _pct(k["forecast_vs_recent"]))]
    # the texts that count periods, in the run's (a copy: TEXT is shared)
    # the live scores count the workspace's periods, also when the run is coarser (--freq M)
    one = unit_of(sec.accuracy_freq or freq)
    t = {**t, "section_forecasts": t["section_forecasts"].format(**words),
         "acc_n": t["acc_n"].format(units=one.plural if lang == "en" else one.zh_count),
         "no_scores": t["no_scores"].format(units=one.plural)}
    summary = t["summary"].format(
        n=history["unique_id"].nunique(), start=history["ds"].min().date(),
        end=history["ds"].max().date(), h=int(forecast.groupby("unique_id").size().max()), unit=unit)
    all_notes = [minus_signs(localize_note(n, lang)) for n in notes or []]
    all_notes += [localize_reason(t["section_" + s], why, lang) for s, why in sec.missing.items()]
    why = {s: localize_note(r, lang) for s, r in sec.missing.items()}
    inventory, stock_hint = _inventory(t, sec.inventory)
    scenario, scenario_intro = _scenario(t, sec.scenario, {**sec.scenario_info, "unit": unit})
    if stock_hint:  # the inventory section already says how to get the stock columns
        all_notes = [n for n, raw in zip(all_notes, notes or [], strict=False)
                     if not raw.startswith("no stock file:")] + all_notes[len(notes or []):]
    if k["repeats_history"]:
        n = unit_of(freq).count(h, lang)
        all_notes.append(
            f"{model}：其 {n}预测总量等于最近 {n}的销量；"
            "该模型重复近期历史，因此上方的预测数字按构造不变"
            if lang == "zh" else
            f"{model}: its {h}-{unit_of(freq).en} forecast total equals the units of the last {n}; the "
            "model repeats recent history, so the forecast figures above show no change by construction")
    page = environment().get_template("report.html.j2").render(
        lang=lang, t=t, run_id=run_id, summary=summary, kpis=kpis, why=why,
        overview_html=html_charts[0], category_html="".join(html_charts[1:len(charts)]),
        fan_html="".join(html_charts[len(charts):]),
        category_trends=_category_trends(t, lang, sec.category_trends),
        movers=_movers(t, lang, sec.trends, titles), alerts=_alerts(t, lang, sec.alerts),
        inventory=inventory, stock_hint=stock_hint, explanations=_explanations(lang, sec.explanations),
        accuracy=_accuracy(t, sec.accuracy), drift=_drift(t, sec.drift),
        accuracy_intro=t["accuracy_intro"].format(
            model=sec.accuracy_model or model,
            each=one.en if lang == "en" else one.zh_each),
        leaderboard=_leaderboard(leaderboard, lang), notes=all_notes,
        scenario=scenario, scenario_intro=scenario_intro)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
