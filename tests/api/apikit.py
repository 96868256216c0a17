"""Helpers for the API tests: an app on a temporary workspace, keys per role, CSV bytes."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd

from conftest import make_sales
from trendcast.data.store import open_store
from trendcast.services.keys import create_key


def make_keys(db: str | Path) -> dict[str, str]:
    """One key per role, created before the app opens the workspace."""
    with open_store(db) as store:
        return {role: create_key(store, role, f"test {role}") for role in ("viewer", "analyst", "admin")}


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def sales_csv(n_series: int = 4, n_days: int = 120, seed: int = 0) -> bytes:
    buf = io.StringIO()
    make_sales(n_series=n_series, n_days=n_days, seed=seed).to_csv(buf, index=False, date_format="%Y-%m-%d")
    return buf.getvalue().encode()


def seed_sales(db: str | Path, n_series: int = 4, n_days: int = 120) -> pd.DataFrame:
    from trendcast.services.ingest import ingest_frames

    df = make_sales(n_series=n_series, n_days=n_days)
    with open_store(db) as store:
        ingest_frames(store, {"sales": df}, source="test")
    return df


def wait_job(client, job_id: str, key: str, *, timeout: float = 60.0) -> dict:
    """Poll a job until it is final; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}", headers=auth(key)).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job}")
        time.sleep(0.05)
