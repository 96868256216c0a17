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


def test_a_row_left_out_is_waiting_not_a_miss(workspace_url):
    """API and CLI say how many product-dates wait for a row an export left out."""
    import json

    from typer.testing import CliRunner

    from trendcast.cli import app

    keys = make_keys(workspace_url)
    sales = make_sales(n_series=3, n_days=120)
    left_out = (sales["unique_id"] == "P002") & (sales["ds"] == "2024-04-26")
    with open_store(workspace_url) as store:
        store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
        forecast_from_version(store)
        store.upsert("sales", sales[~left_out])
        assert score_pending(store) == 3 * 7 - 1
    with TestClient(create_app(workspace_url)) as client:
        body = client.get("/api/accuracy", headers=auth(keys["viewer"])).json()
        assert body["waiting"] == 1 and body["items"][0]["n"] == 20
    res = CliRunner().invoke(app, ["monitor", "--db", workspace_url, "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["waiting"] == 1
    res = CliRunner().invoke(app, ["monitor", "--db", workspace_url], env={"COLUMNS": "200"})
    assert "note: 1 product-date(s) the forecasts cover have no row" in res.output
