"""What-if scenarios through the API: a plan in POST /api/jobs/forecast, checked before the job
starts, and GET /api/runs/{run_id}/scenario."""

from __future__ import annotations

import pytest
from apikit import auth, make_keys, wait_job
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.data.store import open_store


@pytest.fixture
def shop(workspace_url):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.ingest import ingest_frames

    data = simulate_shop(n_products=6, start="2024-09-01", end="2025-06-30", seed=5)
    with open_store(workspace_url) as store:
        ingest_frames(store, {"products": data.products, "sales": data.sales,
                              "calendar_events": data.calendar}, source="shop")
    return workspace_url, make_keys(workspace_url), data


def test_a_bad_plan_is_refused_with_its_row_and_column(shop):
    db, keys, _ = shop
    body = {"horizon": 7, "models": ["LightGBM"],
            "scenario": [{"unique_id": "P0001", "start": "2025-07-01", "promo": True},
                         {"unique_id": "P0099", "start": "2025-07-02", "promo": True},
                         {"unique_id": "P0002", "start": "2025-07-20", "discount": 10}]}
    with TestClient(create_app(db)) as client:
        resp = client.post("/api/jobs/forecast", json=body, headers=auth(keys["analyst"]))
        assert resp.status_code == 422, resp.text
        problems = resp.json()["error"]["problems"]
        assert [(p["file"], p["row"], p["column"]) for p in problems] == [
            ("scenario", 2, "unique_id"), ("scenario", 3, "start")]
        no_cov = client.post("/api/jobs/forecast", headers=auth(keys["analyst"]),
                             json={**body, "models": ["SeasonalNaive"], "scenario": body["scenario"][:1]})
        assert no_cov.status_code == 422 and "takes covariates" in no_cov.text
        bad = client.post("/api/jobs/forecast", headers=auth(keys["analyst"]),
                          json={**body, "scenario": body["scenario"][:1], "scenario_response": "tree"})
        assert bad.status_code == 422 and "scenario_response" in bad.text
        assert client.get("/api/jobs", headers=auth(keys["analyst"])).json()["total"] == 0


def test_scenario_run_compares_plan_and_baseline(shop):
    db, keys, data = shop
    cat = str(data.products["category"].iloc[0])
    body = {"horizon": 7, "models": ["LightGBM", "SeasonalNaive"], "quantiles": [0.1, 0.5, 0.9],
            "scenario": [{"category": cat, "start": "2025-07-01", "end": "2025-07-03",
                          "discount": 25, "promo": True}]}
    with TestClient(create_app(db)) as client:
        resp = client.post("/api/jobs/forecast", json=body, headers=auth(keys["analyst"]))
        assert resp.status_code == 202, resp.text
        job = wait_job(client, resp.json()["job_id"], keys["analyst"], timeout=180)
        assert job["status"] == "done", job
        sc = client.get(f"/api/runs/{job['run_id']}/scenario", headers=auth(keys["viewer"]))
        assert sc.status_code == 200, sc.text
        doc = sc.json()
        assert doc["models"] == ["LightGBM"] and doc["unchanged"] == ["SeasonalNaive"]
        assert any(n.startswith("what-if (LightGBM): the plan's prices and promotions move") for n in doc["notes"])
        planned = set(data.products.loc[data.products["category"] == cat, "unique_id"])
        assert {r["unique_id"] for r in doc["rows"]} == planned | {"TOTAL"}
        total = next(r for r in doc["rows"] if r["unique_id"] == "TOTAL")["values"]
        assert total["base_units_lo"] <= total["base_units"] <= total["base_units_hi"]
        assert total["plan_revenue"] is not None and total["units_change"] is not None
        assert doc["plan"][0]["category"] == cat
        assert any("no covariates" in n for n in doc["notes"])

        plain = client.post("/api/jobs/forecast", json={"horizon": 7, "models": ["SeasonalNaive"]},
                            headers=auth(keys["analyst"]))
        run = wait_job(client, plain.json()["job_id"], keys["analyst"])["run_id"]
        missing = client.get(f"/api/runs/{run}/scenario", headers=auth(keys["viewer"]))
        assert missing.status_code == 404 and "without a plan" in missing.text


def test_a_plan_row_as_a_planner_writes_it_is_the_same_row():
    """The dashboard's plan box sends the pasted header's names: 商品, 开始, 折扣 (9折), 促销 (是)
    were refused as extra fields; they are read as the --scenario file reads them."""
    from pydantic import ValidationError

    from trendcast.api.schemas import PlanRowIn

    zh = PlanRowIn.model_validate({"商品": "P0001", "开始": "2025-07-01", "结束": "2025-07-03", "折扣": "9折",
                                   "促销": "是", "活动": "Double 11"})
    en = PlanRowIn.model_validate({"unique_id": "P0001", "start": "2025-07-01", "end": "2025-07-03",
                                   "discount": 10, "promo": True, "event": "Double 11"})
    assert zh == en
    assert PlanRowIn.model_validate({"sku": "P1", "from": "2025-07-01", "promo": "no"}).promo is False
    with pytest.raises(ValidationError, match="budget"):
        PlanRowIn.model_validate({"unique_id": "P1", "start": "2025-07-01", "budget": 3})
