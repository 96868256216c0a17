"""Every update leaves a row in ``jobs`` (services.update_log): done with its summary, failed
with its one-line error (a refused ingest, another update holding the lease), on every
backend; a row still running after the update lease is read as stale."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ConflictError, DataValidationError
from trendcast.services.update import LEASE_HOURS, run_update
from trendcast.services.update_log import (
    is_stale,
    last_forecast,
    one_line,
    recent_updates,
    recorded_update,
    start_record,
)
from trendcast.services.versions import train_version


@pytest.fixture
def shop(store):
    sales = make_sales(n_series=3, n_days=120)[["unique_id", "ds", "y"]]
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    return store, sales


def _rows(store) -> list[dict]:
    return store.job_rows(kind="update")[1]


def test_a_finished_update_is_recorded_done_with_its_summary(shop):
    store, _ = shop
    result = recorded_update(store, "cli:tom", lambda: run_update(store, [], refit="never"),
                             params={"refit": "never"})
    (row,) = _rows(store)
    assert (row["status"], row["key_id"], row["error"]) == ("done", "cli:tom", None)
    assert row["label"] == result.summary() and row["label"].startswith("update: 0 rows")
    assert (row["run_id"], row["version_id"]) == (result.forecast_run, result.version_id)
    assert row["finished_at"] >= row["started_at"] and float(row["progress"]) == 1.0
    assert store.run_row(result.forecast_run) is not None


def test_a_refused_ingest_is_recorded_failed_and_the_record_survives_the_rollback(shop, tmp_path):
    store, sales = shop
    path = tmp_path / "2024-04-25.csv"  # two days missing: a missed export
    sales[sales["ds"] == "2024-04-25"].to_csv(path, index=False)
    before = store.count("sales")
    with pytest.raises(DataValidationError, match="no product has a sales row for 2024-04-23") as err:
        recorded_update(store, "schedule", lambda: run_update(store, [path], refit="never"))
    assert store.count("sales") == before  # the ingest rolled back ...
    (row,) = _rows(store)  # ... but not the record
    assert (row["status"], row["key_id"], row["run_id"]) == ("failed", "schedule", None)
    assert row["error"] == one_line(err.value) and "\n" not in row["error"]
    assert "no product has a sales row for 2024-04-23" in row["error"]


def test_a_lease_conflict_is_recorded_failed(shop):
    store, _ = shop
    assert store.take_lease("update", "cron on shop-1", pd.Timedelta(hours=1)) is None
    with pytest.raises(ConflictError, match="another update has been running"):
        recorded_update(store, "cli:tom", lambda: run_update(store, [], refit="never"))
    (row,) = _rows(store)
    assert row["status"] == "failed" and row["error"].startswith("another update has been running since")
    assert "cron on shop-1" in row["error"]


def test_a_bug_is_recorded_with_its_type_and_raised_unchanged(store):
    def broken():
        raise KeyError("ds")

    with pytest.raises(KeyError):
        recorded_update(store, "cli:tom", broken)
    (row,) = _rows(store)
    assert row["status"] == "failed" and row["error"] == "KeyError: 'ds'"


def test_a_row_left_running_is_stale_once_the_lease_has_expired(store):
    job_id = start_record(store, "cli:tom")
    row = store.job_row(job_id)
    assert row["status"] == "running" and not is_stale(row)
    later = pd.Timestamp(row["started_at"]) + pd.Timedelta(hours=LEASE_HOURS + 0.1)
    assert is_stale(row, later)
    assert not is_stale({**row, "status": "done"}, later)
    assert not is_stale({**row, "kind": "train"}, later)
    old = pd.Timestamp.now() - pd.Timedelta(hours=LEASE_HOURS + 1)
    store.update_job(job_id, started_at=old, created_at=old)
    assert [r["stale"] for r in recent_updates(store)] == [True]


def test_recent_updates_lists_only_updates_newest_first(store):
    for i, who in enumerate(["cli:a", "schedule", "cli:b"]):
        job_id = start_record(store, who)
        store.update_job(job_id, created_at=pd.Timestamp("2024-05-01") + pd.Timedelta(hours=i))
    store.append("jobs", pd.DataFrame([{
        "job_id": "job-train", "kind": "train", "status": "done", "params": "{}", "progress": 1.0,
        "label": "done", "key_id": "abc", "created_at": pd.Timestamp("2024-06-01")}]))
    assert [r["key_id"] for r in recent_updates(store, limit=2)] == ["cli:b", "schedule"]


def test_last_forecast_names_the_last_day_of_its_data(shop):
    store, _ = shop
    assert last_forecast(store) is None
    run = run_update(store, [], refit="never").forecast_run
    shown = last_forecast(store)
    assert shown["run_id"] == run and shown["data_end"] == pd.Timestamp("2024-04-22")
