"""plotly figures for the pages, returned as JSON for ``Plotly.newPlot`` in the browser."""

from __future__ import annotations

import pandas as pd

from trendcast.dashboard.i18n import tr
from trendcast.insights.periods import chart_start
from trendcast.schema import format_quantile, quantile_column

FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', " \
       "'Microsoft YaHei', 'Source Han Sans SC', sans-serif"
BAND_COLOURS = ("rgba(31,119,180,0.18)", "rgba(31,119,180,0.30)", "rgba(31,119,180,0.42)")


def _units(fig, text: str) -> None:  # type: ignore[no-untyped-def]
    """The unit above the y axis, horizontal (a rotated axis title turns CJK glyphs sideways)."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=1.0, xanchor="right", yanchor="bottom",
                       xshift=-8, yshift=6, showarrow=False)


def _layout(fig, *, height: int = 360) -> None:  # type: ignore[no-untyped-def]
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 30, "b": 40},
                      font={"family": FONT}, legend={"orientation": "h", "y": -0.15},
                      template="plotly_white", hovermode="x unified")


def totals_chart(totals: pd.DataFrame, lang: str, *, forecast: pd.DataFrame | None = None,
                 model: str | None = None, freq: str = "D") -> str:
    """Units per period (of ``freq``, the workspace's) over all products, the last
    :func:`~trendcast.insights.periods.chart_history` periods (a year of days, five years of
    quarters), plus the latest run's summed point forecast."""
    import plotly.graph_objects as go

    hist = totals[totals["ds"] > chart_start(totals["ds"].max(), freq)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=hist["ds"], y=hist["y"], mode="lines", name=tr(lang, "history"),
                             line={"color": "#444", "width": 1.2}))
    if forecast is not None and not forecast.empty:
        fig.add_trace(go.Scatter(x=forecast["ds"], y=forecast["y"], mode="lines",
                                 name=tr(lang, "total_forecast", model=model),
                                 line={"color": "#1f77b4", "width": 2}))
    _units(fig, tr(lang, "units"))
    _layout(fig)
    return fig.to_json()


def band_pairs(quantiles: list[float]) -> list[tuple[float, float]]:
    """Symmetric (lo, hi) quantile pairs around the median, widest first."""
    lows = sorted(q for q in quantiles if q < 0.5)
    highs = set(quantiles)
    return [(lo, round(1 - lo, 10)) for lo in lows if round(1 - lo, 10) in highs]


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame | None, model: str | None,
              quantiles: list[float], lang: str, *, history_days: int | None = None) -> str:
    """Recent history, the point forecast and nested quantile bands (widest palest).

    ``history_days`` defaults to five times the horizon, at least 90 days, so a short
    forecast is not squeezed against a long history.
    """
    import plotly.graph_objects as go

    if history_days is None:
        horizon = 0 if forecast is None else len(forecast)
        history_days = max(90, 5 * horizon)

    fig = go.Figure()
    if forecast is not None and model is not None:
        pairs = [(lo, hi) for lo, hi in band_pairs(quantiles)
                 if quantile_column(model, lo) in forecast.columns
                 and quantile_column(model, hi) in forecast.columns]
        for i, (lo, hi) in enumerate(pairs):
            fig.add_trace(go.Scatter(x=forecast["ds"], y=forecast[quantile_column(model, hi)],
                                     mode="lines", line={"width": 0}, showlegend=False,
                                     hoverinfo="skip"))
            fig.add_trace(go.Scatter(
                x=forecast["ds"], y=forecast[quantile_column(model, lo)], mode="lines",
                line={"width": 0}, fill="tonexty",
                fillcolor=BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)],
                name=tr(lang, "band", lo=format_quantile(lo), hi=format_quantile(hi))))
    hist = history.sort_values("ds").tail(history_days)
    fig.add_trace(go.Scatter(x=hist["ds"], y=hist["y"], mode="lines", name=tr(lang, "history"),
                             line={"color": "#444", "width": 1.2}))
    if forecast is not None and model is not None and model in forecast.columns:
        fig.add_trace(go.Scatter(x=forecast["ds"], y=forecast[model], mode="lines",
                                 name=f"{tr(lang, 'forecast')} ({model})",
                                 line={"color": "#1f77b4", "width": 2}))
    _units(fig, tr(lang, "units"))
    _layout(fig, height=400)
    return fig.to_json()


def bar_chart(labels: list[str], values: list[float], title: str, *, height: int = 300) -> str:
    """A horizontal bar chart (leaderboard, drivers)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker={"color": "#1f77b4"}))
    fig.update_layout(xaxis_title=title, yaxis={"autorange": "reversed"})
    _layout(fig, height=height)
    fig.update_layout(hovermode="closest")
    return fig.to_json()


def accuracy_chart(scores: pd.DataFrame, lang: str, *, expected: float | None = None) -> str:
    """Live WAPE and bias per period (``period, WAPE, bias``: a week of a daily shop, else the
    shop's own period) of one category, with the backtest's WAPE as a dashed line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=scores["period"], y=scores["WAPE"], mode="lines+markers", name="WAPE",
                             line={"color": "#1f77b4", "width": 2}))
    fig.add_trace(go.Scatter(x=scores["period"], y=scores["bias"], mode="lines+markers",
                             name=tr(lang, "acc_bias"), line={"color": "#d62728", "width": 1.2}))
    if expected is not None and len(scores):
        fig.add_trace(go.Scatter(x=[scores["period"].min(), scores["period"].max()], y=[expected, expected],
                                 mode="lines", name=tr(lang, "acc_expected"),
                                 line={"color": "#444", "width": 1.2, "dash": "dash"}))
    _layout(fig, height=280)
    fig.update_layout(yaxis={"tickformat": ".0%"})
    return fig.to_json()
