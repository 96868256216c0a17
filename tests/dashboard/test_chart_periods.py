"""The dashboard's charts in the workspace's (or the run's) periods: the totals chart shows a
history length per frequency (a quarterly shop saw the 4 quarters of a 365-day window), the
accuracy chart pools a monthly shop's scores per month (not per calendar week), and a
``--freq M`` run's product and totals charts set months of history against its months."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from trendcast.dashboard.accuracy_page import accuracy_body
from trendcast.dashboard.pages import overview_body
from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_frames


def _sales(freq: str, n: int, start: str = "2015-01-01") -> pd.DataFrame:
    ds = pd.date_range(start, periods=n, freq=freq)
    t = np.arange(n, dtype=float)
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": (i + 1) * (20 + t % 5)})
                      for i, uid in enumerate(["A", "B"])], ignore_index=True)


def _figures(html: str) -> list[dict]:
    return [json.loads(f) for f in re.findall(
        r'<script type="application/json" id="fig-\d+">(.*?)</script>', html, re.S)]


def _history(fig: dict) -> pd.DatetimeIndex:
    trace = next(t for t in fig["data"] if t.get("name") == "history")
    return pd.DatetimeIndex(pd.to_datetime(trace["x"]))


@pytest.mark.parametrize(("freq", "n", "shown"), [("QS-JAN", 30, 20), ("MS", 60, 36), ("W-SUN", 200, 104),
                                                  ("D", 500, 365)])
def test_the_totals_chart_shows_a_history_length_per_frequency(tmp_path, freq, n, shown):
    with open_store(tmp_path / "shop.duckdb") as store:
        ingest_frames(store, {"sales": _sales(freq, n)}, source="test")
        x = _history(_figures(str(overview_body(store, "en")))[0])
    assert len(x) == shown  # 5 years of quarters (it was 4 points), 3 of months, 2 of weeks, a year


def test_a_monthly_shop_s_accuracy_chart_has_one_point_per_month(tmp_path):
    from trendcast.services.monitor import accuracy, score_pending
    from trendcast.services.versions import forecast_from_version, train_version

    sales = _sales("MS", 40, start="2021-01-01")  # to 2024-04-01
    with open_store(tmp_path / "monthly.duckdb") as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= "2024-01-01"]}, source="test")
        train_version(store, horizon=3, models=["SeasonalNaive"])
        forecast_from_version(store)
        store.upsert("sales", sales)  # February to April arrive
        assert score_pending(store) == 2 * 3
        pages = {lang: str(accuracy_body(store, lang)) for lang in ("en", "zh")}
        per = accuracy(store, level="period", score=False)  # as `monitor --level period` pools
    assert list(per["period"]) == list(pd.date_range("2024-02-01", periods=3, freq="MS"))
    fig = _figures(pages["en"])[0]
    x = pd.to_datetime(fig["data"][0]["x"])
    # the months as the shop dates them (a calendar week put February at Monday 29 January)
    assert list(x) == list(pd.date_range("2024-02-01", periods=3, freq="MS"))
    assert "WAPE and bias per month, by category" in pages["en"]
    assert "各类目每月 WAPE 与偏差" in pages["zh"]


def test_a_daily_shop_s_accuracy_chart_keeps_calendar_weeks(tmp_path):
    from trendcast.services.monitor import score_pending
    from trendcast.services.versions import forecast_from_version, train_version

    sales = _sales("D", 120, start="2024-01-01")
    with open_store(tmp_path / "daily.duckdb") as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= "2024-04-15"]}, source="test")
        train_version(store, horizon=14, models=["SeasonalNaive"])
        forecast_from_version(store)
        store.upsert("sales", sales)
        assert score_pending(store) > 0
        html = str(accuracy_body(store, "en"))
    x = pd.to_datetime(_figures(html)[0]["data"][0]["x"])
    assert (x.dayofweek == 0).all() and len(x) == 3  # Mondays of 16-21, 22-28 April, 29 April
    assert "WAPE and bias per week, by category" in html


def test_a_monthly_run_of_daily_sales_charts_months_and_explains_its_days(tmp_path):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.services.forecast import run_forecast
    from trendcast.services.keys import create_key

    db = tmp_path / "daily.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": _sales("D", 800, start="2023-01-01")}, source="test")  # to 2025-03-11
        run_forecast(store, horizon=2, models=["SeasonalNaive"], freq="W")
        key = create_key(store, "viewer")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        assert c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
        page = c.get("/products/A?lang=en").text
        overview = c.get("/?lang=en").text
    x = _history(_figures(page)[0])
    # whole weeks (ending Sundays), as the run forecasts them, not days
    assert (x.dayofweek == 6).all() and x[-1] == pd.Timestamp("2025-03-09")
    # explain refits on the stored days: the run's 2 weeks are 14 days (it explained 2 days)
    assert "days=14" in page and "splits its next 14 days into drivers" in page
    totals = _history(_figures(overview)[0])
    assert (totals.dayofweek == 6).all() and len(totals) == 104
