"""Saved model versions through the REST API: train jobs, forecasts from a version without
refitting, list / show / promote / delete, on every backend."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from apikit import auth, make_keys, seed_sales, wait_job
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.data.store import open_store
from trendcast.services.forecast import read_run
from trendcast.services.versions import forecast_from_version

TRAIN = {"horizon": 7, "models": ["SeasonalNaive", "AutoETS"], "quantiles": [0.1, 0.9]}


@pytest.fixture
def workspace(workspace_url):
    keys = make_keys(workspace_url)
    seed_sales(workspace_url, n_series=3, n_days=120)
    return workspace_url, keys


def _train(client, key: str, **body) -> dict:
    resp = client.post("/api/jobs/train", json={**TRAIN, **body}, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job = wait_job(client, resp.json()["job_id"], key)
    assert job["status"] == "done", job
    return job


def test_train_then_forecast_from_the_promoted_version_without_refitting(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        job = _train(client, keys["analyst"])
        assert job["kind"] == "train" and job["version_id"].startswith("v-") and job["run_id"]
        versions = client.get("/api/models", headers=auth(keys["viewer"])).json()
        assert versions["total"] == 1
        v = versions["items"][0]
        assert (v["version_id"], v["status"], v["loadable"]) == (job["version_id"], "promoted", "yes")
        assert v["models"] == ["SeasonalNaive", "AutoETS"] and v["series_known"] == 3
        assert v["validation_run"] == job["run_id"] and {s["model"] for s in v["scores"]} == set(v["models"])
        assert "series" not in v["settings"] and v["settings"]["quantiles"] == [0.1, 0.9]
        board = client.get(f"/api/runs/{job['run_id']}/leaderboard", headers=auth(keys["viewer"]))
        assert board.status_code == 200
        shown = client.get("/api/models/promoted", headers=auth(keys["viewer"])).json()
        assert shown["version_id"] == job["version_id"]

        # no horizon given: the version's own (7 steps); no models given: the version's
        resp = client.post("/api/jobs/forecast", json={"from_model": "promoted"}, headers=auth(keys["analyst"]))
        assert resp.status_code == 202, resp.text
        fc_job = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert fc_job["status"] == "done", fc_job
        run = client.get(f"/api/runs/{fc_job['run_id']}", headers=auth(keys["viewer"])).json()
        assert run["params"]["version"] == job["version_id"] and run["horizon"] == 7
        assert any("forecast from saved model version" in n for n in run["notes"])
    with open_store(db) as store:
        via_api = read_run(store, fc_job["run_id"]).forecasts
        direct = forecast_from_version(store, job["version_id"]).forecasts
    cols = ["unique_id", "ds", "SeasonalNaive", "AutoETS", "AutoETS-q-0.1", "AutoETS-q-0.9"]
    assert len(via_api) == 3 * 7
    pd.testing.assert_frame_equal(via_api[cols].sort_values(["unique_id", "ds"]).reset_index(drop=True),
                                  direct[cols].sort_values(["unique_id", "ds"]).reset_index(drop=True),
                                  check_dtype=False)


def test_from_model_requests_that_cannot_work_are_refused_before_queueing(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        resp = client.post("/api/jobs/forecast", json={"from_model": "promoted"}, headers=h)
        assert resp.status_code == 404 and "POST /api/jobs/train" in resp.json()["error"]["message"]
        job = _train(client, keys["analyst"])
        resp = client.post("/api/jobs/forecast", json={"from_model": "v-nope"}, headers=h)
        assert resp.status_code == 404 and "GET /api/models" in resp.json()["error"]["message"]
        for extra in ({"models": ["Naive"]}, {"ids": ["P000"]}):
            resp = client.post("/api/jobs/forecast", json={"from_model": job["version_id"], **extra}, headers=h)
            assert resp.status_code == 422 and "leave out" in resp.json()["error"]["message"]
        assert client.get("/api/jobs", headers=h).json()["total"] == 1  # only the train job
    with open_store(db) as store:  # a version saved with another statsforecast
        rows = store.read("model_versions")
        packages = json.loads(rows.loc[0, "packages"])
        packages["statsforecast"] = "1.0.0"
        store.upsert("model_versions", rows.assign(packages=json.dumps(packages)))
    with TestClient(create_app(db)) as client:
        resp = client.post("/api/jobs/forecast", json={"from_model": job["version_id"]},
                           headers=auth(keys["analyst"]))
        body = resp.json()["error"]
        assert resp.status_code == 409 and body["code"] == "incompatible_version"
        assert "statsforecast 1.0.0" in body["message"]
        shown = client.get(f"/api/models/{job['version_id']}", headers=auth(keys["viewer"])).json()
        assert shown["loadable"].startswith("no:")


def test_promote_and_delete_versions_by_role(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        first = _train(client, keys["analyst"])["version_id"]
        second = _train(client, keys["analyst"], promote=False, validation=False)["version_id"]
        status = {v["version_id"]: v["status"] for v in
                  client.get("/api/models", headers=auth(keys["viewer"])).json()["items"]}
        assert status == {first: "promoted", second: "trained"}
        assert client.post(f"/api/models/{second}/promote", headers=auth(keys["viewer"])).status_code == 403
        resp = client.post(f"/api/models/{second}/promote", headers=auth(keys["analyst"]))
        assert resp.status_code == 200 and resp.json()["status"] == "promoted"
        status = {v["version_id"]: v["status"] for v in
                  client.get("/api/models", headers=auth(keys["viewer"])).json()["items"]}
        assert status == {first: "superseded", second: "promoted"}

        resp = client.delete(f"/api/models/{second}", headers=auth(keys["admin"]))
        assert resp.status_code == 409 and "promote another" in resp.json()["error"]["message"]
        assert client.delete(f"/api/models/{first}", headers=auth(keys["analyst"])).status_code == 403
        resp = client.delete(f"/api/models/{first}", headers=auth(keys["admin"]))
        assert resp.status_code == 200 and resp.json()["version_id"] == first
        assert client.get(f"/api/models/{first}", headers=auth(keys["viewer"])).status_code == 404
        assert client.post("/api/models/v-nope/promote", headers=auth(keys["analyst"])).status_code == 404
        assert [v["version_id"] for v in client.get("/api/models", headers=auth(keys["viewer"])).json()["items"]] \
            == [second]


def test_a_cancelled_train_job_saves_no_version(workspace, monkeypatch):
    import threading

    from trendcast.api import jobs as jobs_module

    db, keys = workspace
    reached, release = threading.Event(), threading.Event()
    real = jobs_module.RUNNERS["train"]

    def gated(store, params, progress):
        def held(label, done, total):
            reached.set()
            assert release.wait(30)
            progress(label, done, total)
        return real(store, params, held)

    monkeypatch.setitem(jobs_module.RUNNERS, "train", gated)
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        job_id = client.post("/api/jobs/train", json=TRAIN, headers=h).json()["job_id"]
        assert reached.wait(30)
        client.post(f"/api/jobs/{job_id}/cancel", headers=h)
        release.set()
        job = wait_job(client, job_id, keys["analyst"])
        assert job["status"] == "cancelled" and job["version_id"] is None
        assert client.get("/api/models", headers=auth(keys["viewer"])).json()["total"] == 0


def test_update_job_forecasts_from_the_promoted_version_and_runs_one_at_a_time(workspace_url):
    keys = make_keys(workspace_url)
    seed_sales(workspace_url, n_series=3, n_days=120)
    with TestClient(create_app(workspace_url)) as client:
        h = auth(keys["analyst"])
        version = _train(client, keys["analyst"])["version_id"]
        resp = client.post("/api/jobs/update", json={"refit": "never"}, headers=h)
        assert resp.status_code == 202, resp.text
        job = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert job["status"] == "done", job
        assert job["label"].startswith("update: 0 rows") and f"from {version}" in job["label"]
        assert job["version_id"] == version
        run = client.get(f"/api/runs/{job['run_id']}", headers=auth(keys["viewer"])).json()
        assert run["params"]["version"] == version
        assert client.post("/api/jobs/update", json={"refit": "sometimes"}, headers=h).status_code == 422

        with open_store(workspace_url) as store:  # another process's update is running
            assert store.take_lease("update", "cron on shop-1", pd.Timedelta(hours=1)) is None
        job = wait_job(client, client.post("/api/jobs/update", json={}, headers=h).json()["job_id"],
                       keys["analyst"])
        assert job["status"] == "failed" and "another update has been running" in job["error"]
        assert "cron on shop-1" in job["error"]
