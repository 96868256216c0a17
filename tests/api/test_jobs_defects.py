"""Regressions of issue 13's job defects: a cancel that met another transaction's write gave
a 500; SIGTERM waited for queued jobs; progress stayed "starting" 0.0 while a job computed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from apikit import auth, make_keys, seed_sales, wait_job
from fastapi.testclient import TestClient

from trendcast.api import jobs as jobs_module
from trendcast.api.app import create_app
from trendcast.api.jobs import JobManager, partition_size
from trendcast.data.store import open_store

FAST = {"horizon": 7, "models": ["SeasonalNaive", "Naive"], "quantiles": [0.1, 0.9]}


def _gate(monkeypatch, kind: str, *, at_call: int = 1):
    """Hold a job at its ``at_call``-th progress report until released."""
    reached, release = threading.Event(), threading.Event()
    real = jobs_module.RUNNERS[kind]

    def gated(store, params, progress):
        calls = 0

        def held(label, done, total):
            nonlocal calls
            calls += 1
            if calls == at_call:
                reached.set()
                assert release.wait(60), "the test never released the job"
            progress(label, done, total)
        return real(store, params, held)

    monkeypatch.setitem(jobs_module.RUNNERS, kind, gated)
    return reached, release


def test_cancel_waits_for_a_conflicting_write_instead_of_answering_500(tmp_path, monkeypatch):
    """A transaction of another thread holds an uncommitted update of the job's row (as a
    job saving its results did): DuckDB raises "Conflict on update!" for the cancel's update,
    which is now retried until that transaction ends."""
    from trendcast.data import duckdb_store

    db = tmp_path / "w.duckdb"
    keys = make_keys(db)
    seed_sales(db)
    reached, release = _gate(monkeypatch, "forecast")
    app = create_app(db, workers=1)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            h = auth(keys["analyst"])
            job_id = client.post("/api/jobs/forecast", json=FAST, headers=h).json()["job_id"]
            assert reached.wait(60)
            store = app.state.store
            held, conflicted = threading.Event(), threading.Event()
            real_pause = duckdb_store._conflict_pause

            def pause(attempt: int) -> None:
                conflicted.set()
                real_pause(attempt)

            monkeypatch.setattr(duckdb_store, "_conflict_pause", pause)

            def other_writer() -> None:
                with store.transaction():
                    store.update_job(job_id, label="another writer")
                    held.set()
                    conflicted.wait(60)  # commit once the cancel has met the conflict

            writer = threading.Thread(target=other_writer)
            writer.start()
            assert held.wait(60)
            resp = client.post(f"/api/jobs/{job_id}/cancel", headers=h)
            writer.join()
            assert conflicted.is_set()  # the cancel really met the other transaction
            assert resp.status_code == 200, resp.text
            assert "cancel requested" in resp.json()["label"]
            release.set()
            assert wait_job(client, job_id, keys["analyst"])["status"] == "cancelled"
    finally:
        release.set()


def test_a_running_job_reports_progress_per_partition(workspace_url, monkeypatch):
    keys = make_keys(workspace_url)
    seed_sales(workspace_url, n_series=4)
    reached, release = _gate(monkeypatch, "forecast", at_call=2)
    try:
        with TestClient(create_app(workspace_url, workers=1)) as client:
            h = auth(keys["analyst"])
            job_id = client.post("/api/jobs/forecast", json=FAST, headers=h).json()["job_id"]
            assert reached.wait(60)
            job = client.get(f"/api/jobs/{job_id}", headers=h).json()
            assert job["status"] == "running"
            # 4 series in 4 partitions: the first one is done
            assert job["progress"] == 0.25 and job["label"].endswith("(1/4)"), job
            assert job["label"].startswith("forecast")
            release.set()
            assert wait_job(client, job_id, keys["analyst"])["progress"] == 1.0
    finally:
        release.set()
    assert partition_size(4) == 1 and partition_size(10_000) == 1000 and partition_size(95) == 10


def test_shutdown_cancels_queued_jobs_and_does_not_wait_for_a_running_one(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    seed_sales(db)
    started, never = threading.Event(), threading.Event()

    def stuck(store, params, progress):  # computes without a progress report
        started.set()
        never.wait(120)
        return "never-stored"

    monkeypatch.setitem(jobs_module.RUNNERS, "forecast", stuck)
    store = open_store(db)
    manager = JobManager(store, threading.Lock(), workers=1)
    try:
        running = manager.submit("forecast", FAST)["job_id"]
        assert started.wait(60)
        queued = [manager.submit("forecast", FAST)["job_id"] for _ in range(2)]
        stopper = threading.Thread(target=manager.shutdown, kwargs={"grace": 0.1})
        stopper.start()
        stopper.join(60)  # a hang guard, not a timing: before the fix this waited for `never`
        assert not stopper.is_alive(), "shutdown waited for the running job"
        for job_id in queued:
            job = manager.get(job_id)
            assert job["status"] == "cancelled" and job["started_at"] is None
            assert "before it started" in job["label"]
        job = manager.get(running)
        assert job["status"] == "cancelled" and "shut down" in job["label"]
        never.set()  # the abandoned job ends later: its record stays cancelled
        for thread in manager._threads:
            thread.join(60)
        assert manager.get(running)["status"] == "cancelled"
    finally:
        never.set()
        store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method: str, url: str, key: str | None = None, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **({"X-API-Key": key} if key else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_serve_stops_promptly_on_sigterm_with_jobs_queued(tmp_path):
    """`trendcast serve` with one long job running and two queued: SIGTERM ends the process
    and records every job as cancelled."""
    db = tmp_path / "w.duckdb"
    keys = make_keys(db)
    seed_sales(db, n_series=40, n_days=400)
    port = _free_port()
    env = {**os.environ, "TRENDCAST_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "trendcast.cli", "serve", "--port", str(port),
                             "--workers", "1", "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base, key = f"http://127.0.0.1:{port}", keys["analyst"]
    try:
        for _ in range(600):
            try:
                _call("GET", f"{base}/api/health")
                break
            except OSError:
                time.sleep(0.1)
        slow = {"horizon": 28, "models": ["AutoARIMA"], "quantiles": [0.1, 0.9]}
        ids = [_call("POST", f"{base}/api/jobs/forecast", key, slow)["job_id"] for _ in range(3)]
        for _ in range(600):
            if _call("GET", f"{base}/api/jobs/{ids[0]}", key)["status"] == "running":
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # a hang guard (it waited 110 s and more before the fix)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    with open_store(db, read_only=True) as store:
        statuses = [store.job_row(j)["status"] for j in ids]
        assert statuses == ["cancelled"] * 3, (statuses, output)
        assert store.count("runs") == 0
