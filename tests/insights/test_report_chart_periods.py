"""A ``--freq`` run's per-product fan charts show the product's history in the run's periods
(they plotted daily units against a monthly forecast), and the report's explanations cover
the run's first week in the stored periods they refit on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.insights.periods import chart_history, stored_periods
from trendcast.insights.report import fan_chart


def _daily(end: str = "2025-06-15") -> pd.DataFrame:
    ds = pd.date_range("2023-01-01", end, freq="D")
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": (i + 1) * ds.day.astype(float)})
                      for i, uid in enumerate(["A", "B"])], ignore_index=True)


def _forecast(freq: str, start: str, n: int) -> pd.DataFrame:
    ds = pd.date_range(start, periods=n, freq=freq)
    return pd.DataFrame({"unique_id": "A", "ds": ds, "M": 500.0, "M-q-0.1": 400.0, "M-q-0.9": 600.0})


def _history_trace(fig):  # type: ignore[no-untyped-def]
    return next(tr for tr in fig.data if (tr.name or "").lower() == "history")


def test_a_monthly_run_s_fan_chart_shows_monthly_history():
    history = _daily()
    fig = fan_chart(history, _forecast("MS", "2025-06-01", 3), "A", "M", [0.1, 0.5, 0.9], freq="MS")
    hist = _history_trace(fig)
    x = pd.DatetimeIndex(hist.x)
    # whole months only: June 2025 is half stored, so the history ends in May
    assert (x.day == 1).all() and x[-1] == pd.Timestamp("2025-05-01")
    assert len(x) == min(29, chart_history("MS"))  # Jan 2023 .. May 2025, at most 3 years
    may = history[(history["unique_id"] == "A") & (history["ds"].dt.to_period("M") == "2025-05")]
    assert hist.y[-1] == may["y"].sum() == 31 * 32 / 2
    # a daily run of the same sales plots days, as before
    daily = _history_trace(fan_chart(history, _forecast("D", "2025-06-16", 28), "A", "M", [0.1, 0.9]))
    assert len(daily.x) == 180 and pd.Timestamp(daily.x[-1]) == pd.Timestamp("2025-06-15")


def test_a_quarterly_run_of_weekly_sales_shows_quarters():
    ds = pd.date_range("2019-01-06", periods=320, freq="W-SUN")
    history = pd.DataFrame({"unique_id": "A", "ds": ds, "y": np.arange(320, dtype=float)})
    fig = fan_chart(history, _forecast("QS-JAN", "2025-01-01", 2), "A", "M", [0.1, 0.9], freq="QS-JAN")
    x = pd.DatetimeIndex(_history_trace(fig).x)
    assert set(x.month) <= {1, 4, 7, 10} and (x.day == 1).all() and len(x) == chart_history("QS-JAN") == 20


def test_stored_periods_count_a_coarser_run_s_horizon_in_stored_periods():
    assert stored_periods(2, "W-SUN", "D") == 14
    assert stored_periods(1, "MS", "D") == 31
    assert stored_periods(6, "W-SUN", "W-SUN") == 6 and stored_periods(6, None, "D") == 6
    assert stored_periods(2, "QS-JAN", "MS") == 7  # 182.6 days / 30.4 rounded up


def test_a_freq_m_report_charts_every_history_in_months(tmp_path):
    import re

    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.report import build_report

    with open_store(tmp_path / "daily.duckdb") as store:
        ingest_frames(store, {"sales": _daily("2025-03-11")}, source="test")
        run_forecast(store, models=["SeasonalNaive"], freq="M")
        html = build_report(store, tmp_path / "out", explain=0, alerts_source="off").read_text(
            encoding="utf-8")
    histories = [pd.to_datetime(re.findall(r'"([0-9T:.-]+)"', x)) for x in
                 re.findall(r'"name":"history","x":\[(.*?)\]', html)]
    assert len(histories) == 3  # the market chart and the two products' fan charts
    for x in histories:
        assert (x.day == 1).all() and x[-1] == pd.Timestamp("2025-02-01")
