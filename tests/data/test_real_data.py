"""Loading the real data sets in ../shared/data (skipped when the folder is absent)."""

from __future__ import annotations

import pytest

from conftest import SHARED_DATA, m5_folder
from trendcast.services.info import workspace_info
from trendcast.services.ingest import ingest_file, ingest_m5


@pytest.mark.slow  # ~1 min per backend: the whole M5 CA_1 file
def test_m5_ca1_loads_3049_series_of_1941_days_with_prices_and_calendar(store):
    report = ingest_m5(store, m5_folder())
    info = workspace_info(store)["tables"]
    assert info["sales"]["series"] == 3049
    assert info["sales"]["days_per_series"] == {"min": 1941, "max": 1941}
    assert info["sales"]["start"].startswith("2011-01-29") and info["sales"]["end"].startswith("2016-05-22")
    assert info["sales"]["rows_with_price"] > 4_000_000
    assert info["products"]["rows"] == 3049 and info["products"]["categories"] == 3
    assert info["calendar_events"]["rows"] > 100
    total = store.sales_totals()["y"].sum()
    assert total == 7_832_248  # PROVENANCE.md: total units d_1..d_1941
    names = set(store.read("calendar_events")["name"])
    assert {"SuperBowl", "SNAP_CA", "Christmas"} <= names
    # a second ingest changes nothing
    again = ingest_m5(store, m5_folder())
    assert all(w.inserted == 0 and w.updated == 0 for w in again.writes)
    assert report.rows_read == 3049 * 1941


def test_taobao_behaviour_sample(store):
    path = SHARED_DATA / "taobao_user_behavior_sample" / "UserBehavior_head.csv"
    if not path.exists():
        pytest.skip(f"{path} not found")
    ingest_file(store, path, "events", fmt="taobao")
    ev = store.read("events")
    assert len(ev) == 84_475
    assert ev["event_type"].value_counts().to_dict() == {"view": 75_872, "cart": 4_497, "fav": 2_356, "buy": 1_750}
    inside = ev["ts"].between("2017-11-25", "2017-12-04")
    assert inside.sum() == 84_440  # PROVENANCE.md: rows in the official window, China time


def test_amazon_reviews(store):
    path = SHARED_DATA / "amazon_reviews_en" / "AMAZON_FASHION_5.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    report = ingest_file(store, path, "reviews", fmt="amazon-reviews", add_products=True)
    rv = store.read("reviews")
    assert report.rows_read == 3176
    assert len(rv) == 3086  # 90 lines repeat a review (same reviewer, product, time, text, rating)
    assert any("90 exact duplicate row(s)" in n for n in report.notes)
    assert rv["unique_id"].nunique() == 31
    assert (rv["language"] == "en").all()
    assert rv["rating"].between(1, 5).all()
