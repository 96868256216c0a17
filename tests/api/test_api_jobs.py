"""Background jobs through the API: run to done, concurrent jobs, cooperative cancellation."""

from __future__ import annotations

import threading

import pytest
from apikit import auth, make_keys, seed_sales, wait_job
from fastapi.testclient import TestClient

from trendcast.api import jobs as jobs_module
from trendcast.api.app import create_app
from trendcast.data.store import open_store

FAST = {"horizon": 7, "models": ["SeasonalNaive", "Naive"], "quantiles": [0.1, 0.9]}


@pytest.fixture
def workspace(workspace_url):
    db = workspace_url
    keys = make_keys(db)
    seed_sales(db, n_series=4, n_days=120)
    return db, keys


@pytest.fixture
def gate(monkeypatch):
    """Holds a job at its first progress report until released (to cancel it mid-run)."""
    reached, release = threading.Event(), threading.Event()

    def wrap(kind: str) -> None:
        real = jobs_module.RUNNERS[kind]

        def gated(store, params, progress):
            def held(label, done, total):
                reached.set()
                assert release.wait(30), "the test never released the job"
                progress(label, done, total)
            return real(store, params, held)

        monkeypatch.setitem(jobs_module.RUNNERS, kind, gated)

    yield wrap, reached, release
    release.set()


def test_forecast_and_backtest_jobs_run_to_done_and_their_runs_are_readable(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        resp = client.post("/api/jobs/forecast", json={**FAST, "ids": ["P000", "P002"]}, headers=h)
        assert resp.status_code == 202 and resp.json()["status"] in ("queued", "running")
        job = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert job["status"] == "done" and job["progress"] == 1.0 and job["error"] is None
        assert job["started_at"] and job["finished_at"]
        fc = client.get(f"/api/runs/{job['run_id']}/forecasts", headers=auth(keys["viewer"])).json()
        assert fc["total_series"] == 2 and len(fc["items"]) == 14
        assert "SeasonalNaive-q-0.9" in fc["items"][0]["values"]

        resp = client.post("/api/jobs/backtest", json={**FAST, "windows": 2, "step": 7}, headers=h)
        bt = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert bt["status"] == "done" and bt["params"]["windows"] == 2
        board = client.get(f"/api/runs/{bt['run_id']}/leaderboard", headers=auth(keys["viewer"])).json()
        assert {r["model"] for r in board["rows"]} == {"SeasonalNaive", "Naive"}
        listed = client.get("/api/jobs", headers=h).json()
        assert listed["total"] == 2 and listed["items"][0]["job_id"] == bt["job_id"]  # newest first
        assert client.get("/api/jobs?status=done&limit=1", headers=h).json()["total"] == 2


def test_bad_job_requests_are_rejected_before_queueing(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        cases = [({"horizon": 0}, "horizon"), ({"models": ["Prophet"]}, "models"),
                 ({"quantiles": [1.5]}, "quantiles"), ({"horizon": 7, "colour": "red"}, "colour"),
                 ({"ids": ["NOPE"]}, "ids"), ({"models": ["Naive", "naive"]}, "models")]
        for body, field in cases:
            resp = client.post("/api/jobs/forecast", json=body, headers=h)
            assert resp.status_code == 422, body
            assert resp.json()["error"]["field"] == field, (body, resp.json())
        assert client.post("/api/jobs/backtest", json={"windows": 0}, headers=h).status_code == 422
        assert client.get("/api/jobs", headers=h).json()["total"] == 0


def test_a_job_that_fails_records_the_error(workspace):
    db, keys = workspace
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        # 120 days cannot hold 20 windows of 28 days: the service refuses, the job fails cleanly.
        resp = client.post("/api/jobs/backtest", json={**FAST, "horizon": 28, "windows": 20}, headers=h)
        job = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert job["status"] == "failed" and job["error"] and job["run_id"] is None
        assert "internal error" not in job["error"]
        assert client.post(f"/api/jobs/{job['job_id']}/cancel", headers=h).status_code == 409


def test_jobs_without_sales_are_refused(tmp_path):
    db = tmp_path / "empty.duckdb"
    keys = make_keys(db)
    with TestClient(create_app(db)) as client:
        resp = client.post("/api/jobs/forecast", json=FAST, headers=auth(keys["analyst"]))
        assert resp.status_code == 409 and "no sales" in resp.json()["error"]["message"]


def test_cancel_a_running_job_stores_nothing(workspace, gate):
    db, keys = workspace
    wrap, reached, release = gate
    wrap("backtest")
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        job_id = client.post("/api/jobs/backtest", json={**FAST, "windows": 3}, headers=h).json()["job_id"]
        assert reached.wait(30)
        assert client.get(f"/api/jobs/{job_id}", headers=h).json()["status"] == "running"
        resp = client.post(f"/api/jobs/{job_id}/cancel", headers=h)
        assert resp.status_code == 200 and "cancel requested" in resp.json()["label"]
        release.set()
        job = wait_job(client, job_id, keys["analyst"])
        assert job["status"] == "cancelled" and job["run_id"] is None
        store = client.app.state.store
        assert store.count("runs") == 0 and store.count("forecasts") == 0 and store.count("metrics") == 0


def test_cancel_a_queued_job(workspace, gate):
    db, keys = workspace
    wrap, reached, release = gate
    wrap("forecast")
    with TestClient(create_app(db, workers=1)) as client:
        h = auth(keys["analyst"])
        first = client.post("/api/jobs/forecast", json=FAST, headers=h).json()["job_id"]
        assert reached.wait(30)
        second = client.post("/api/jobs/forecast", json=FAST, headers=h).json()["job_id"]
        assert client.get(f"/api/jobs/{second}", headers=h).json()["status"] == "queued"
        cancelled = client.post(f"/api/jobs/{second}/cancel", headers=h).json()
        assert cancelled["status"] == "cancelled"
        release.set()
        assert wait_job(client, first, keys["analyst"])["status"] == "done"
        job = wait_job(client, second, keys["analyst"])
        assert job["status"] == "cancelled" and job["started_at"] is None
        assert client.app.state.store.count("runs") == 1


def test_concurrent_jobs_and_reads(workspace):
    db, keys = workspace
    with TestClient(create_app(db, workers=2)) as client:
        h = auth(keys["analyst"])
        ids = [client.post(f"/api/jobs/{kind}", json={**FAST, "windows": 2} if kind == "backtest" else FAST,
                           headers=h).json()["job_id"]
               for kind in ("forecast", "backtest", "forecast", "backtest", "forecast")]
        while True:  # reads keep working while jobs write
            assert client.get("/api/series?limit=2", headers=h).status_code == 200
            assert client.get("/api/runs", headers=h).status_code == 200
            states = {client.get(f"/api/jobs/{j}", headers=h).json()["status"] for j in ids}
            if states <= {"done", "failed", "cancelled"}:
                break
        finals = [wait_job(client, j, keys["analyst"]) for j in ids]
        assert [j["status"] for j in finals] == ["done"] * 5, finals
        run_ids = {j["run_id"] for j in finals}
        assert len(run_ids) == 5
        runs = client.get("/api/runs?limit=10", headers=h).json()
        assert {r["run_id"] for r in runs["items"]} == run_ids


def test_threads_sharing_a_store_each_have_their_own_transactions(tmp_path, sales_df):
    store = open_store(tmp_path / "t.duckdb")
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for j in range(5):
                with store.transaction():
                    store.append("forecasts", sales_df.head(20).assign(
                        run_id=f"r{i}-{j}", model="M", value=1.0, cutoff=None, quantile=None)
                        [["run_id", "model", "unique_id", "ds", "cutoff", "quantile", "value"]])
                    store.count("forecasts")
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count("forecasts") == 4 * 5 * 20
    with pytest.raises(RuntimeError), store.transaction():  # a rollback on one thread only
        store.append("forecasts", sales_df.head(3).assign(
            run_id="x", model="M", value=1.0, cutoff=None, quantile=None)
            [["run_id", "model", "unique_id", "ds", "cutoff", "quantile", "value"]])
        raise RuntimeError("boom")
    assert store.count("forecasts") == 400
    store.close()
