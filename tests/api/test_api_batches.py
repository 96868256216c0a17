"""Uploads are batches: listed by GET /api/batches and undone by DELETE /api/batches/{id}."""

from __future__ import annotations

import pytest
from apikit import auth, make_keys, sales_csv
from fastapi.testclient import TestClient

from trendcast.api.app import create_app


@pytest.fixture
def env(workspace_url):
    keys = make_keys(workspace_url)
    with TestClient(create_app(workspace_url)) as client:
        yield client, keys


def _upload(client, key: str, content: bytes):
    return client.post("/api/uploads?kind=sales", files={"file": ("sales.csv", content, "text/csv")},
                       headers=auth(key))


def test_an_upload_is_a_batch_that_delete_undoes(env):
    client, keys = env
    first = _upload(client, keys["analyst"], sales_csv(n_series=2, n_days=30))
    assert first.status_code == 201, first.text
    batch_id = first.json()["batch_id"]
    assert batch_id.startswith("b-")
    changed = sales_csv(n_series=3, n_days=30, seed=1)  # new values for P000/P001, a new P002
    second = _upload(client, keys["analyst"], changed).json()["batch_id"]
    page = client.get("/api/batches", headers=auth(keys["viewer"])).json()
    assert page["total"] == 2 and [b["batch_id"] for b in page["items"]] == [second, batch_id]
    newest = page["items"][0]
    key_id = keys["analyst"].split("_")[1]
    assert newest["actor"] == f"key:{key_id}" and newest["kind"] == "sales"
    assert newest["source"] == "upload sales.csv"
    assert newest["rows_added"] == 31 and newest["rows_replaced"] > 0 and newest["status"] == "applied"

    before_series = client.get("/api/series?limit=10", headers=auth(keys["viewer"])).json()["total"]
    assert before_series == 3
    # the older batch's rows were replaced by the newer one: refused, 409, nothing changed
    resp = client.delete(f"/api/batches/{batch_id}", headers=auth(keys["analyst"]))
    assert resp.status_code == 409 and second in resp.json()["error"]["message"]
    assert client.delete(f"/api/batches/{second}", headers=auth(keys["viewer"])).status_code == 403
    resp = client.delete(f"/api/batches/{second}", headers=auth(keys["analyst"]))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["removed"]["sales"] == 30 and body["removed"]["products"] == 1
    assert body["restored"]["sales"] == newest["rows_replaced"]
    assert body["batch"]["status"] == "undone" and body["batch"]["undone_by"] == f"key:{key_id}"
    # the cached answers were dropped: the series list is the first upload's again
    assert client.get("/api/series?limit=10", headers=auth(keys["viewer"])).json()["total"] == 2
    assert client.delete(f"/api/batches/{second}", headers=auth(keys["analyst"])).status_code == 409
    assert client.delete(f"/api/batches/{batch_id}", headers=auth(keys["analyst"])).status_code == 200
    assert client.get("/api/series?limit=10", headers=auth(keys["viewer"])).json()["total"] == 0
    resp = client.get(f"/api/batches/{batch_id}", headers=auth(keys["viewer"]))
    assert resp.json()["status"] == "undone"
    assert client.get("/api/batches?status=applied", headers=auth(keys["viewer"])).json()["total"] == 0
    resp = client.delete("/api/batches/b-nope", headers=auth(keys["analyst"]))
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_sending_the_same_file_again_makes_no_batch(env):
    client, keys = env
    content = sales_csv(n_series=2, n_days=10)
    assert _upload(client, keys["analyst"], content).json()["batch_id"]
    again = _upload(client, keys["analyst"], content).json()
    assert again["batch_id"] is None
    assert client.get("/api/batches", headers=auth(keys["viewer"])).json()["total"] == 1
