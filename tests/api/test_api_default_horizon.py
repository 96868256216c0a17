"""Jobs sent without a horizon forecast the workspace's default: 18 months for a monthly
shop, 8 quarters for a quarterly one, 28 days for a daily one (it was 28 at every frequency)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apikit import auth, make_keys, wait_job
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_frames


@pytest.mark.parametrize(("freq", "n", "expected"), [("MS", 40, 18), ("QS-JAN", 24, 8), ("D", 120, 28)])
def test_a_forecast_job_without_horizon_forecasts_the_workspace_s_default(tmp_path, freq, n, expected):
    db = str(tmp_path / "shop.duckdb")
    keys = make_keys(db)
    ds = pd.date_range("2016-01-01", periods=n, freq=freq)
    sales = pd.DataFrame({"unique_id": "A", "ds": ds, "y": 10 + np.arange(n) % 5})
    with open_store(db) as store:
        ingest_frames(store, {"sales": sales}, source="test")
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        resp = client.post("/api/jobs/forecast", json={"models": ["SeasonalNaive"]}, headers=h)
        assert resp.status_code == 202, resp.text
        job = wait_job(client, resp.json()["job_id"], keys["analyst"])
        assert job["status"] == "done", job
        run = client.get(f"/api/runs/{job['run_id']}", headers=h).json()
        assert run["horizon"] == expected
        fc = client.get(f"/api/runs/{job['run_id']}/forecasts", headers=h).json()
        rows = fc["items"] if isinstance(fc, dict) and "items" in fc else fc
        assert len({r["ds"] for r in rows}) == expected
