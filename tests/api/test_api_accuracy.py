"""GET /api/accuracy: live accuracy of stored forecasts (every backend)."""

from __future__ import annotations

from apikit import auth, make_keys
from fastapi.testclient import TestClient

from conftest import make_sales
from trendcast.api.app import create_app
from trendcast.data.store import open_store
from trendcast.services.monitor import score_pending
from trendcast.services.versions import forecast_from_version, train_version


def test_accuracy_per_run_and_step(workspace_url):
    keys = make_keys(workspace_url)
    sales = make_sales(n_series=3, n_days=120)
    with open_store(workspace_url) as store:
        store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
        train_version(store, horizon=7, models=["SeasonalNaive"])
        forecast_from_version(store)
        store.upsert("sales", sales)
        assert score_pending(store) == 3 * 7
    with TestClient(create_app(workspace_url)) as client:
        body = client.get("/api/accuracy", headers=auth(keys["viewer"])).json()
        assert body["level"] == "run" and len(body["items"]) == 1
        row = body["items"][0]
        assert row["model"] == "SeasonalNaive" and row["n"] == 21 and row["WAPE"] > 0
        assert row["expected_WAPE"] is not None and isinstance(body["alerts"], list)
        steps = client.get("/api/accuracy?level=step&alerts=false", headers=auth(keys["viewer"])).json()
        assert [r["step"] for r in steps["items"]] == list(range(1, 8))
        assert client.get("/api/accuracy?level=nope", headers=auth(keys["viewer"])).status_code == 422
        assert client.get("/api/accuracy").status_code == 401
