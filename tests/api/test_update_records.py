"""Updates run outside the server (a command line, cron) show in GET /api/jobs with who ran
them; a server starting up fails its own unfinished jobs but not a command line's update, which
reads as stale once the update lease has expired."""

from __future__ import annotations

import pandas as pd
from apikit import auth, make_keys, seed_sales
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.data.store import open_store
from trendcast.services.update import LEASE_HOURS, run_update
from trendcast.services.update_log import recorded_update, start_record
from trendcast.services.versions import train_version


def _running(store, job_id: str, key_id: str | None, *, hours_ago: float = 0.0) -> None:
    at = pd.Timestamp.now() - pd.Timedelta(hours=hours_ago)
    store.append("jobs", pd.DataFrame([{
        "job_id": job_id, "kind": "update", "status": "running", "params": "{}", "progress": 0.0,
        "label": "running", "key_id": key_id, "created_at": at, "started_at": at}]))


def test_get_jobs_lists_a_command_line_update_with_who_ran_it(workspace_url):
    keys = make_keys(workspace_url)
    seed_sales(workspace_url, n_series=3, n_days=120)
    with open_store(workspace_url) as store:
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
        result = recorded_update(store, "cli:tom", lambda: run_update(store, [], refit="never"))
    with TestClient(create_app(workspace_url, workers=1)) as client:
        page = client.get("/api/jobs", headers=auth(keys["analyst"])).json()
        (job,) = [j for j in page["items"] if j["kind"] == "update"]
        assert (job["status"], job["key_id"], job["stale"]) == ("done", "cli:tom", False)
        assert job["label"] == result.summary() and job["run_id"] == result.forecast_run
        assert job["version_id"] == result.version_id
        assert client.get(f"/api/jobs/{job['job_id']}", headers=auth(keys["analyst"])).json() == job


def test_start_up_recovery_leaves_command_line_updates_alone(workspace_url):
    keys = make_keys(workspace_url)
    with open_store(workspace_url) as store:
        api_key = store.read("api_keys")["key_id"].iloc[0]
        _running(store, "job-api", api_key)  # the previous server's job: it will never finish
        _running(store, "job-schedule", "schedule")  # ran inside the previous server process
        _running(store, "job-nokey", None)
        cli_job = start_record(store, "cli:tom")  # cron's update, still running now
        _running(store, "job-cli-crashed", "cli", hours_ago=LEASE_HOURS + 1)
    with TestClient(create_app(workspace_url, workers=1)) as client:
        jobs = {j["job_id"]: j for j in client.get("/api/jobs", headers=auth(keys["analyst"])).json()["items"]}
    for failed in ("job-api", "job-schedule", "job-nokey"):
        assert jobs[failed]["status"] == "failed" and "server stopped" in jobs[failed]["error"]
    assert (jobs[cli_job]["status"], jobs[cli_job]["stale"], jobs[cli_job]["error"]) == ("running", False, None)
    crashed = jobs["job-cli-crashed"]
    assert (crashed["status"], crashed["stale"]) == ("running", True)
