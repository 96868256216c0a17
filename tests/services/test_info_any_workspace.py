"""`trendcast info` works on every workspace (issue 13: it crashed without sales)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import make_sales
from trendcast.cli import app
from trendcast.data.store import open_store
from trendcast.services.info import workspace_info
from trendcast.services.ingest import ingest_frames

EVENTS = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["I1", "I2"], "category_id": ["c", None],
                       "event_type": ["view", "buy"],
                       "ts": pd.to_datetime(["2024-03-01 09:00", "2024-03-02 10:00"])})
REVIEWS = pd.DataFrame({"review_id": ["r1"], "unique_id": ["P000"], "ts": pd.to_datetime(["2024-03-01"]),
                        "rating": [None], "text": ["好"], "language": ["zh"]})


def _fill(store, what: str) -> None:
    if what == "events":
        ingest_frames(store, {"events": EVENTS}, source="t")
    elif what == "reviews":
        ingest_frames(store, {"products": pd.DataFrame({"unique_id": ["P000"]})}, source="t")
        ingest_frames(store, {"reviews": REVIEWS}, source="t")
    elif what == "products":
        ingest_frames(store, {"products": pd.DataFrame({"unique_id": ["P000"], "category": [None]})},
                      source="t")
    elif what == "sales":
        ingest_frames(store, {"sales": make_sales(n_series=2, n_days=10)}, source="t")


@pytest.mark.parametrize("what", ["empty", "events", "reviews", "products", "sales"])
def test_info_on_every_kind_of_workspace(workspace_url, what):
    with open_store(workspace_url) as store:
        _fill(store, what)
    with open_store(workspace_url, read_only=True) as store:
        info = workspace_info(store)
    json.dumps(info)  # JSON-ready
    sales = info["tables"]["sales"]
    assert sales["series"] == (2 if what == "sales" else 0)
    if what == "events":
        assert info["tables"]["events"]["rows"] == 2 and info["tables"]["events"]["users"] == 2
        assert info["tables"]["events"]["start"] == "2024-03-01 09:00:00"
    if what == "empty":
        assert all(t["rows"] == 0 for t in info["tables"].values()) and info["runs"] == []
    for args in (["info"], ["info", "--json"]):
        res = CliRunner().invoke(app, [*args, "--db", workspace_url])
        assert res.exit_code == 0, res.output


def test_info_shows_rows_outside_the_pandas_date_range(workspace_url):
    """A workspace holding a far-future row (stored by an older trendcast) still describes
    itself, so the row can be found and removed (`trendcast delete`)."""
    with open_store(workspace_url) as store:
        ingest_frames(store, {"sales": make_sales(n_series=1, n_days=5)}, source="t")
        store._run("INSERT INTO sales VALUES ('P9', DATE '9999-12-31', 1, NULL, NULL)")
    with open_store(workspace_url, read_only=True) as store:
        sales = workspace_info(store)["tables"]["sales"]
    assert (sales["start"], sales["end"]) == ("2024-01-01", "9999-12-31")
    res = CliRunner().invoke(app, ["info", "--db", workspace_url], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "9999-12-31" in res.stdout


@pytest.mark.parametrize("value", [None, float("nan"), pd.NaT, pd.NA])
def test_missing_time_stamps_of_any_kind_are_none(value):
    from trendcast.services.info import _iso

    assert _iso(value) is None
    assert _iso(pd.Timestamp("2024-03-01 09:00")) == "2024-03-01 09:00:00"


@pytest.mark.parametrize(("freq", "unit"), [("D", "days"), ("W-FRI", "weeks"), ("MS", "months")])
def test_series_lengths_are_counted_in_the_workspace_s_periods(db_path, freq, unit):
    """A weekly shop's series of 1-135 weeks were shown as '1-135 days each'."""
    dates = pd.date_range("2023-01-06" if freq == "W-FRI" else "2023-01-01", periods=12, freq=freq)
    sales = pd.concat([pd.DataFrame({"unique_id": "A", "ds": dates, "y": 1.0}),
                       pd.DataFrame({"unique_id": "B", "ds": dates[-5:], "y": 2.0})], ignore_index=True)
    with open_store(db_path) as store:
        ingest_frames(store, {"sales": sales}, source="t")
    with open_store(db_path, read_only=True) as store:
        sales_info = workspace_info(store)["tables"]["sales"]
    assert sales_info["period"] == unit[:-1] and sales_info["periods_per_series"] == {"min": 5, "max": 12}
    res = CliRunner().invoke(app, ["info", "--db", str(db_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and f"2 series, 5-12 {unit} each" in res.stdout, res.stdout
