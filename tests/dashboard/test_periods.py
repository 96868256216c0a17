"""The dashboard of a weekly (monthly, quarterly) workspace counts its own periods: the
overview's KPIs and movers compare the report's recent window, and every text that counts
forecast steps says weeks, months or quarters (it said days throughout)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from trendcast.dashboard import queries
from trendcast.dashboard.accuracy_page import accuracy_body
from trendcast.dashboard.insight_pages import drivers_placeholder, inventory_body
from trendcast.dashboard.pages import forecast_body, leaderboard_body, overview_body
from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_frames


def _sales(freq: str, n: int) -> pd.DataFrame:
    ds = pd.date_range("2021-01-03", periods=n, freq=freq)
    t = np.arange(n, dtype=float)
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": (i + 1) * (10 + t)})
                      for i, uid in enumerate(["A", "B", "C"])], ignore_index=True)


@pytest.mark.parametrize(("freq", "n", "window", "lag", "en", "zh"), [
    ("D", 500, 28, 364,
     ["Units, last 28 days", "vs. previous 28 days", "Daily units sold, all products",
      "Top movers (last 28 days vs. the same 28 days a year before)", "Same 28 d last year", "Last 28 d"],
     ["近 28 天销量", "较前 28 天", "全部商品每日销量", "变化最大的商品（近 28 天对比去年同期 28 天）"]),
    ("W-SUN", 110, 4, 52,
     ["Units, last 4 weeks", "vs. previous 4 weeks", "Weekly units sold, all products",
      "Top movers (last 4 weeks vs. the same 4 weeks a year before)", "Same 4 weeks last year",
      "Last 4 weeks"],
     ["近 4 周销量", "较前 4 周", "全部商品每周销量", "变化最大的商品（近 4 周对比去年同期 4 周）", "去年同期 4 周"]),
    ("QS-JAN", 12, 1, 4,
     ["Units, last quarter", "vs. previous quarter", "Quarterly units sold, all products",
      "Top movers (last quarter vs. the same quarter a year before)", "Same quarter last year"],
     ["近 1 个季度销量", "较前 1 个季度", "全部商品每季度销量"]),
])
def test_the_overview_compares_the_workspace_s_own_periods(tmp_path, freq, n, window, lag, en, zh):
    sales = _sales(freq, n)
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frames(store, {"sales": sales}, source="test")
        ov = queries.overview(store)
        pages = {lang: str(overview_body(store, lang)) for lang in ("en", "zh")}
    totals = sales.groupby("ds")["y"].sum().sort_index().to_numpy()
    # the KPIs are the window's units and the window before (a quarterly workspace's "before"
    # was empty: 28 days before the last quarter hold no quarter's date)
    assert ov.units_recent == totals[-window:].sum() and ov.units_before == totals[-2 * window:-window].sum()
    assert ov.movers_basis == "year"
    movers = ov.movers.set_index("unique_id")
    assert movers.loc["C", "recent"] == 3 * (10 + np.arange(n)[-window:]).sum()
    assert movers.loc["C", "before"] == 3 * (10 + np.arange(n)[-lag - window:-lag]).sum()
    share = f"{totals[-window:].sum() / totals[-2 * window:-window].sum() - 1:+.1%}"
    for lang, words in (("en", en), ("zh", zh)):
        assert share in pages[lang]
        for w in words:
            assert w in pages[lang], (lang, w)
    if freq != "D":
        assert "28 d" not in pages["en"] and "28 天" not in pages["zh"]


def test_a_short_history_has_no_change_rather_than_one_against_part_of_a_window(tmp_path):
    with open_store(tmp_path / "short.duckdb") as store:
        ingest_frames(store, {"sales": _sales("W-SUN", 6)}, source="test")
        ov = queries.overview(store)
        html = str(overview_body(store, "en"))
    assert ov.units_recent > 0 and np.isnan(ov.units_before)  # 2 weeks are not the 4 before
    assert ov.movers_basis == "previous" and "vs. previous 4 weeks</div><div class=\"value\">—" in html


def test_forecast_steps_are_counted_in_weeks_on_every_page(tmp_path):
    from trendcast.services.forecast import run_backtest, run_forecast

    with open_store(tmp_path / "weekly.duckdb") as store:
        ingest_frames(store, {"sales": _sales("W-SUN", 110)}, source="test")
        run_forecast(store, horizon=6, models=["SeasonalNaive"], quantiles=[0.1, 0.5, 0.9])
        run_backtest(store, horizon=4, n_windows=1, models=["SeasonalNaive"])
        pages = {lang: {"forecast": str(forecast_body(lang, can_write=True, role="analyst", products=[],
                                                      models=["SeasonalNaive"], freq=queries.workspace_freq(store))),
                        "drivers": str(drivers_placeholder("A", lang, model="SeasonalNaive", days=6,
                                                           freq=queries.workspace_freq(store))),
                        "leaderboard": str(leaderboard_body(store, lang)),
                        "inventory": str(inventory_body(store, lang)),
                        "accuracy": str(accuracy_body(store, lang))}
                 for lang in ("en", "zh")}
    en, zh = pages["en"], pages["zh"]
    assert "Horizon (weeks)" in en["forecast"] and 'value="13"' in en["forecast"]  # not 28 weeks
    assert "预测周数" in zh["forecast"]
    assert "splits its next 6 weeks into drivers" in en["drivers"] and "未来 6 周的预测" in zh["drivers"]
    assert "horizon 4 weeks," in en["leaderboard"] and "预测 4 周，" in zh["leaderboard"]
    # the form's lead time and review stay in days; the page says how a weekly run counts them
    assert "Lead time (days)" in en["inventory"] and "补货提前期（天）" in zh["inventory"]
    assert ("The run forecasts weeks: lead time and review period are given in days and take their "
            "share of a week's demand (the notes below say how a week is split into days).") \
        in html.unescape(en["inventory"])
    assert "该批次以周为单位预测" in zh["inventory"] and "折算为一周需求中相应的份额" in zh["inventory"]
    assert "cover 2.00 period(s) of 7 days" in en["inventory"]
    assert "合 2.00 个预测期" in zh["inventory"] and "英文原文" not in zh["inventory"]
    assert "once the sales of forecast weeks arrive" in en["accuracy"]
    assert "预测各周的实际销量" in zh["accuracy"]
    for lang in ("en", "zh"):
        text = " ".join(pages[lang].values())
        assert " days into" not in text and "Horizon (days)" not in text and "预测天数" not in text


def test_the_accuracy_page_counts_scored_weeks(tmp_path):
    from trendcast.services.monitor import score_pending
    from trendcast.services.versions import forecast_from_version, train_version

    sales = _sales("W-SUN", 110)
    last = sales["ds"].max()
    with open_store(tmp_path / "scored.duckdb") as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= last - pd.Timedelta(weeks=2)]}, source="test")
        train_version(store, horizon=2, models=["SeasonalNaive"])
        forecast_from_version(store)
        store.upsert("sales", sales)  # the two forecast weeks' sales arrive
        assert score_pending(store) == 3 * 2
        en, zh = str(accuracy_body(store, "en")), str(accuracy_body(store, "zh"))
    assert "Scored weeks" in en and "the freshest forecast of each week" in en and "Scored days" not in en
    assert "已评分周数" in zh and "每周取最新的一次预测" in zh and "已评分天数" not in zh


def test_a_daily_workspace_s_forms_read_as_before():
    assert "Horizon (days)" in str(forecast_body("en", can_write=True, role="analyst", products=[],
                                                 models=["SeasonalNaive"]))
    assert 'value="28"' in str(forecast_body("zh", can_write=True, role="analyst", products=[],
                                             models=["SeasonalNaive"]))
    assert "splits its next 7 days into drivers" in str(drivers_placeholder("A", "en", model="M", days=7))
    assert "未来 7 天的预测" in str(drivers_placeholder("A", "zh", model="M", days=7))
