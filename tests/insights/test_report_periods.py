"""The report's headline figures count the shop's own periods: a weekly shop's KPIs compare
the last 4 weeks, a monthly shop's the last month, with the window before and a year earlier
(they counted daily rows and showed "–" on every weekly or coarser run), and its trend calls
count months (they read days or weeks only, so a monthly report had no trend sections)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from trendcast.data.store import open_store
from trendcast.insights.report import _pct, _units, market_kpis

KPI = re.compile(r"<div class='kpi'><b>(.*?)</b><span>(.*?)</span></div>")


def _shop(freq: str, n: int) -> dict[str, pd.DataFrame]:
    """Two products on ``freq``'s calendar with a trend and a yearly wave (whole units)."""
    ds = pd.date_range("2021-01-03", periods=n, freq=freq)
    season = 52 if freq.startswith("W") else 12
    t = np.arange(n)
    sales = pd.concat([pd.DataFrame({
        "unique_id": uid, "ds": ds,
        "y": np.round(100 * (i + 1) + 2 * t + 30 * np.sin(2 * np.pi * t / season))})
        for i, uid in enumerate(["A", "B"])], ignore_index=True)
    products = pd.DataFrame({"unique_id": ["A", "B"], "title": ["a", "b"], "category": ["x", "y"]})
    return {"sales": sales, "products": products}


def _expected(sales: pd.DataFrame, n: int, lag: int, h: int) -> list[float]:
    """Units of the last ``n`` periods, their change against the ``n`` before and the ``n``
    ``lag`` periods back, and the units of the last ``h`` periods."""
    totals = sales.groupby("ds")["y"].sum().sort_index().to_numpy()
    recent = totals[-n:].sum()
    return [recent, recent / totals[-2 * n:-n].sum() - 1, recent / totals[-lag - n:-lag].sum() - 1,
            totals[-h:].sum()]


@pytest.mark.parametrize(("freq", "n_periods", "window", "lag", "h", "en", "zh"), [
    ("W-SUN", 110, 4, 52, 6,
     ["units, last 4 weeks", "vs the 4 weeks before", "vs the same 4 weeks last year",
      "forecast units, next 6 weeks", "forecast vs the last 6 weeks"],
     ["近 4 周销量", "较前 4 周", "较去年同期 4 周", "未来 6 周预测销量", "预测较最近 6 周"]),
    ("MS", 30, 1, 12, 3,
     ["units, last month", "vs the month before", "vs the same month last year",
      "forecast units, next 3 months", "forecast vs the last 3 months"],
     ["近 1 个月销量", "较前 1 个月", "较去年同期 1 个月", "未来 3 个月预测销量", "预测较最近 3 个月"]),
])
def test_a_weekly_or_monthly_report_s_kpis_count_its_periods(tmp_path, freq, n_periods, window, lag, h,
                                                             en, zh):
    from trendcast.services.forecast import read_run, run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.report import build_report

    shop = _shop(freq, n_periods)
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frames(store, shop, source="test")
        run_forecast(store, horizon=h, models=["SeasonalNaive"])
        pages = {lang: build_report(store, tmp_path / lang, lang=lang, explain=0, alerts_source="off")
                 .read_text(encoding="utf-8") for lang in ("en", "zh")}
        total = read_run(store, None, kind="forecast").forecasts["SeasonalNaive"].sum()
    recent, vs_before, vs_year, last_h = _expected(shop["sales"], window, lag, h)
    for lang, labels in (("en", en), ("zh", zh)):
        kpis = KPI.findall(pages[lang])
        assert [label for _, label in kpis] == labels, lang
        values = [value for value, _ in kpis]
        assert "–" not in values, (lang, kpis)
        assert values == [_units(recent), _pct(vs_before), _pct(vs_year), _units(total),
                          _pct(total / last_h - 1)]
    unit = "week" if freq.startswith("W") else "month"
    assert f"Forecasts of the best sellers (last {'4 weeks' if window == 4 else 'month'})" in pages["en"]
    assert "28 days" not in pages["en"] and "28 天" not in pages["zh"]
    assert "英文原文" not in pages["zh"]
    if unit == "month":  # trend calls count months (they refused monthly sales: "aggregate to weeks")
        assert "trend detection reads" not in pages["en"] and "趋势识别只读取" not in pages["zh"]
        assert "months a year ago" in pages["en"] and "较去年同期 12 个月" in pages["zh"]
        assert "/week" not in pages["en"] and "周同比" not in pages["zh"]
    titles = [json.loads(f'"{t}"') for t in re.findall(r'"title":\{"text":"([^"]*)"', pages["en"])]
    assert f"Units per {unit} by category" in titles and f"All products: units per {unit}" in titles


def test_a_monthly_run_of_daily_sales_counts_whole_months():
    """A --freq M run of daily sales: the KPIs sum the days into months and leave out the
    month the sales stop in (half a June is not a June)."""
    ds = pd.date_range("2023-01-01", "2025-06-15", freq="D")
    history = pd.DataFrame({"unique_id": "A", "ds": ds, "y": ds.day.astype(float)})  # 1, 2, ... per month
    fds = pd.date_range("2025-06-01", periods=3, freq="MS")
    forecast = pd.DataFrame({"unique_id": "A", "ds": fds, "M": 500.0})
    k = market_kpis(history, forecast, "M", "MS")
    march, april, may = 31 * 32 / 2, 30 * 31 / 2, 31 * 32 / 2  # 1 + 2 + ... + 31
    assert k["units_recent"] == may
    assert k["vs_prev"] == pytest.approx(may / april - 1)
    assert k["vs_year"] == pytest.approx(0.0)  # May 2024 had the same 31 days
    assert k["forecast_vs_recent"] == pytest.approx(1500 / (march + april + may) - 1)
    # the market chart sums the days into the months the forecast counts (it plotted days)
    from trendcast.insights.report import market_chart

    x = market_chart(history, forecast, "M", freq="MS").data[0].x
    assert len(x) == 29 and pd.Timestamp(x[-1]) == pd.Timestamp("2025-05-01")  # Jan 2023 - May 2025
    # the same sales as a daily run: the last 28 days, unchanged
    daily = market_kpis(history, forecast.assign(ds=pd.date_range("2025-06-16", periods=3)), "M")
    assert daily["units_recent"] == history["y"].tail(28).sum() and daily["window"].periods == 28


def test_a_monthly_run_of_a_weekly_shop_counts_its_scores_in_weeks(tmp_path):
    """The live scores are the weekly forecasts' (the workspace's periods); a --freq M run's
    report called them "scored months" and "the freshest forecast of each month"."""
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.monitor import score_pending
    from trendcast.services.report import build_report

    sales = _shop("W-SUN", 120)["sales"]
    cut = sales["ds"].sort_values().unique()[-6]
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= cut]}, source="test")
        run_forecast(store, horizon=4, models=["SeasonalNaive"])
        ingest_frames(store, {"sales": sales[sales["ds"] > cut]}, source="test")
        score_pending(store)
        run_forecast(store, horizon=3, models=["SeasonalNaive"], freq="M")
        page = build_report(store, tmp_path / "r", explain=0, alerts_source="off", pdf=False
                            ).read_text(encoding="utf-8")
    assert "scored weeks" in page and "the freshest forecast of each week" in page
    assert "scored months" not in page
