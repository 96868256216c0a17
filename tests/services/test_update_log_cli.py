"""`trendcast update` (cron) and `serve --schedule` record each update in ``jobs``: done with
its summary, or failed with the message the command line prints (exit code 2 as before) or
the schedule prints (and carries on)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_cli import tc

from conftest import make_sales
from trendcast import cli
from trendcast.data.store import open_store
from trendcast.services.batches import cli_actor
from trendcast.services.versions import train_version


@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop.duckdb"
    sales = make_sales(n_series=3, n_days=120)[["unique_id", "ds", "y"]]
    with open_store(path) as store:
        store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    return path, sales


def _updates(db) -> list[dict]:
    with open_store(db, read_only=True) as store:
        return store.job_rows(kind="update")[1]  # newest first


def test_a_command_line_update_is_recorded_done_then_failed(shop, tmp_path):
    db, sales = shop
    day = tmp_path / "2024-04-23.csv"
    sales[sales["ds"] == "2024-04-23"].to_csv(day, index=False)
    ok = tc("update", str(day), "--refit", "never", "--jobs", "1", "--db", str(db))
    (done,) = _updates(db)
    assert (done["status"], done["key_id"]) == ("done", cli_actor())
    assert done["label"].startswith("update: 3 rows from 1 file(s)")
    assert done["label"] in " ".join(ok.stdout.split())
    missed = tmp_path / "2024-04-26.csv"  # 24 and 25 missing: refused
    sales[sales["ds"] == "2024-04-26"].to_csv(missed, index=False)
    bad = tc("update", str(missed), "--refit", "never", "--jobs", "1", "--db", str(db), check=False)
    said = " ".join(bad.stderr.split())
    assert bad.returncode == 2 and "error: no product has a sales row for 2024-04-24" in said
    failed, again = _updates(db)
    assert again["job_id"] == done["job_id"]
    assert (failed["status"], failed["key_id"], failed["run_id"]) == ("failed", cli_actor(), None)
    assert failed["error"].startswith("no product has a sales row for 2024-04-24")
    assert f"error: {failed['error']}" in said  # the record says what the command printed
    assert '"files": ["' in failed["params"] and "2024-04-26.csv" in failed["params"]
    job_file = tmp_path / "daily.toml"
    job_file.write_text('[[file]]\npath = "today.csv"\n')  # the export is not there at 06:00
    bad = tc("update", "--job-file", str(job_file), "--jobs", "1", "--db", str(db), check=False)
    missing = _updates(db)[0]
    assert bad.returncode == 2 and missing["status"] == "failed" and "no file matches" in missing["error"]
    assert f"error: {missing['error']}" in " ".join(bad.stderr.split())


def test_scheduled_updates_are_recorded_as_schedule(shop, tmp_path, capsys):
    db, _ = shop
    cli._scheduled_update(str(db), None)
    with open_store(db) as store:
        assert store.take_lease("update", "cron elsewhere", pd.Timedelta(hours=1)) is None
    cli._scheduled_update(str(db), None)  # another update holds the lease: printed, recorded
    with open_store(db) as store:
        store.release_lease("update", "cron elsewhere")
    job_file = tmp_path / "daily.toml"
    job_file.write_text('[[file]]\npath = "today.csv"\n')  # not there at 06:00
    cli._scheduled_update(str(db), None, job_file)
    printed = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    missing, conflict, done = _updates(db)
    assert {r["key_id"] for r in (missing, conflict, done)} == {"schedule"}
    assert done["status"] == "done" and done["label"].startswith("update: 0 rows from 0 file(s)")
    assert conflict["status"] == "failed" and conflict["error"].startswith("another update has been running")
    assert missing["status"] == "failed" and "no file matches" in missing["error"]
    assert "daily.toml" in missing["params"]
    assert f"scheduled update failed: {conflict['error']}" in printed
    assert f"scheduled update failed: {missing['error']}" in printed
