"""Top movers compare like with like: the same 28 days a year before when there is a year of
history (a December is not compared with a November sales peak), else the 28 days before."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.dashboard import queries
from trendcast.dashboard.pages import overview_body
from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_frames


def _sales(start: str) -> pd.DataFrame:
    days = pd.date_range(start, "2024-12-31", freq="D")
    nov = (days.month == 11).astype(float)
    levels = {"SEASON": 10 + 40 * nov,  # a November peak every year, otherwise flat
              "GROW": np.where(days >= "2024-06-01", 20.0, 10.0),  # doubled this year
              "FLAT": np.full(len(days), 10.0)}
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": days, "y": y}) for uid, y in levels.items()],
                     ignore_index=True)


def test_movers_are_year_on_year_when_a_year_of_history_exists(tmp_path):
    with open_store(tmp_path / "yoy.duckdb") as store:
        ingest_frames(store, {"sales": _sales("2023-01-01")}, source="test")
        ov = queries.overview(store)
        html = str(overview_body(store, "en"))
        zh = str(overview_body(store, "zh"))
    assert ov.movers_basis == "year"
    movers = ov.movers.set_index("unique_id")
    assert "SEASON" not in movers.index  # same as a year ago: no movement, only its season
    assert movers.loc["GROW", "direction"] == "up"
    assert movers.loc["GROW", "before"] == 280 and movers.loc["GROW", "recent"] == 560
    assert "vs. the same 28 days a year before" in html and "Same 28 d last year" in html
    assert "去年同期" in zh


def test_short_history_falls_back_to_the_28_days_before_and_says_so(tmp_path):
    with open_store(tmp_path / "short.duckdb") as store:
        ingest_frames(store, {"sales": _sales("2024-06-01")}, source="test")
        ov = queries.overview(store)
        html = str(overview_body(store, "en"))
    assert ov.movers_basis == "previous"
    movers = ov.movers.set_index("unique_id")
    assert movers.loc["SEASON", "direction"] == "down"  # after its November peak
    assert "last 28 days vs. the 28 before" in html


def test_inventory_rows_most_urgent_first():
    """With stock on hand the highest stock-out risk leads (ties: fewest days of cover);
    without it, the largest expected daily sales value, never the product id."""
    import pandas as pd

    from trendcast.dashboard.insight_pages import sort_by_urgency

    with_stock = pd.DataFrame({"unique_id": ["A", "B", "C", "D"], "on_hand": [5.0, 1.0, 9.0, 2.0],
                               "stockout_risk": [0.1, 0.9, 0.1, 0.9], "days_of_cover": [3.0, 0.5, 9.0, 0.2],
                               "demand_mean": [1.0, 1.0, 1.0, 1.0], "price": [1.0, 1.0, 1.0, 1.0]})
    assert list(sort_by_urgency(with_stock)["unique_id"]) == ["D", "B", "A", "C"]
    no_stock = with_stock.assign(on_hand=float("nan"), demand_mean=[1.0, 2.0, 3.0, 1.0],
                                 price=[10.0, 1.0, 2.0, None])
    assert list(sort_by_urgency(no_stock)["unique_id"]) == ["A", "C", "B", "D"]
