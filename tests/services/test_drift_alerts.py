"""Drift alerts through the store (every backend): a burst of 1-2 star reviews on one product
raises a "complaints" alert that `monitor`, the API and `update --refit auto` see; reviews
without stars count by their text's sentiment."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.services.monitor import complaint_counts, drift_alerts, drift_line, score_pending
from trendcast.services.update import RefitPolicy, decide
from trendcast.services.versions import forecast_from_version, train_version


def _reviews(rows: list[tuple[str, str, float | None, str]]) -> pd.DataFrame:
    return pd.DataFrame({"review_id": [f"R{i:04d}" for i in range(len(rows))],
                         "unique_id": [r[0] for r in rows], "ts": pd.to_datetime([r[1] for r in rows]),
                         "rating": [r[2] for r in rows], "text": [r[3] for r in rows], "language": "en"})


@pytest.fixture
def monitored(store):
    sales = make_sales(n_series=3, n_days=150)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    train_version(store, horizon=28, models=["SeasonalNaive"])
    forecast_from_version(store)
    rows = [(f"P00{i}", f"2024-{m:02d}-{d:02d} 10:00", 5.0, "great") for i in range(3)
            for m in (1, 2, 3, 4) for d in (3, 10, 17, 24)]
    rows += [("P000", "2024-02-14 09:00", 2.0, "meh")]  # its usual: one complaint in four months
    rows += [("P000", f"2024-05-{d:02d} 12:00", 1.0, "broke after a day") for d in (3, 4, 5, 6, 8)]
    store.upsert("reviews", _reviews(rows))
    store.upsert("sales", sales[sales["ds"] <= "2024-05-20"])
    score_pending(store)
    return store


def test_complaint_burst_raises_a_complaints_alert(monitored):
    alerts = drift_alerts(monitored, level="product", score=False)
    mine = alerts[alerts["name"] == "P000"]
    assert len(mine) == 1 and set(alerts["name"]) == {"P000"}
    alert = mine.iloc[0]
    assert "complaints" in alert["signal"] and alert["direction"] == "down"
    assert pd.Timestamp("2024-05-01") <= alert["started"] <= pd.Timestamp("2024-05-03")
    # two complaints on consecutive days against one in four months: about 6.7 nats > h = 5
    assert alert["detected"] <= pd.Timestamp("2024-05-05") and alert["complaints"] >= 2
    assert "low-rated review(s)" in drift_line(alert.to_dict())
    # without the reviews the sales errors alone see nothing
    assert drift_alerts(monitored, level="product", score=False, complaints=False).empty


def test_drift_alerts_feed_the_refit_decision(monitored):
    row = monitored.model_version(None)
    do, reason, counted = decide(monitored, row, RefitPolicy(), "auto")
    assert do and "drift" in reason and counted == 1


def test_reviews_without_stars_count_by_their_text(store, monkeypatch):
    import trendcast.services.sentiment as sentiment

    monkeypatch.setattr(sentiment, "negative_texts",
                        lambda texts: texts.str.contains("broke").to_numpy())
    store.upsert("reviews", _reviews([("A", "2024-05-03 10:00", 1.0, "bad"),
                                      ("A", "2024-05-03 11:00", None, "it broke"),
                                      ("A", "2024-05-03 12:00", None, "lovely"),
                                      ("A", "2024-05-04 12:00", 4.0, "fine"),
                                      ("B", "2024-05-04 12:00", None, "broke twice")]))
    counts = complaint_counts(store).set_index(["unique_id", "ds"])["complaints"]
    assert counts[("A", pd.Timestamp("2024-05-03"))] == 2
    assert counts[("A", pd.Timestamp("2024-05-04"))] == 0
    assert counts[("B", pd.Timestamp("2024-05-04"))] == 1
