"""The REST API end to end with TestClient on a temporary workspace: auth and roles, uploads,
reads, pagination and JSON errors. Jobs are in test_api_jobs.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from apikit import auth, make_keys, sales_csv, seed_sales
from fastapi.testclient import TestClient

from conftest import make_sales
from trendcast.api.app import create_app
from trendcast.data.tables import SCHEMA_VERSION


@pytest.fixture
def env(workspace_url):
    db = workspace_url
    keys = make_keys(db)
    with TestClient(create_app(db, max_upload_mb=1)) as client:
        yield client, keys, db


def error_of(resp) -> dict:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def upload(client, key, content: bytes, *, name="sales.csv", ctype="text/csv", query="kind=sales"):
    return client.post(f"/api/uploads?{query}", files={"file": (name, content, ctype)}, headers=auth(key))


# Auth ----------------------------------------------------------------------------------


def test_health_needs_no_key(env):
    client, _, _ = env
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["schema_version"] == SCHEMA_VERSION and body["version"]


def test_missing_invalid_and_revoked_keys_are_401(env):
    client, keys, _ = env
    resp = client.get("/api/series")
    assert resp.status_code == 401 and "API key" in error_of(resp)["message"]
    assert resp.headers["www-authenticate"] == "Bearer"
    forged = keys["viewer"][:-4] + "abcd"
    assert client.get("/api/series", headers=auth(forged)).status_code == 401
    assert error_of(client.get("/api/series", headers=auth("nonsense")))["code"] == "invalid_key"
    key_id = keys["viewer"].split("_")[1]
    assert client.delete(f"/api/keys/{key_id}", headers=auth(keys["admin"])).json()["active"] is False
    resp = client.get("/api/series", headers=auth(keys["viewer"]))
    assert resp.status_code == 401 and "revoked" in error_of(resp)["message"]


def test_roles_are_ordered(env):
    client, keys, _ = env
    for role in ("viewer", "analyst", "admin"):
        assert client.get("/api/series", headers=auth(keys[role])).status_code == 200, role
    resp = upload(client, keys["viewer"], sales_csv())
    assert resp.status_code == 403
    err = error_of(resp)
    assert err["code"] == "forbidden" and "analyst" in err["message"] and "viewer" in err["message"]
    assert client.post("/api/jobs/forecast", json={}, headers=auth(keys["viewer"])).status_code == 403
    assert client.get("/api/keys", headers=auth(keys["analyst"])).status_code == 403
    assert client.get("/api/keys", headers=auth(keys["admin"])).status_code == 200


def test_bearer_and_cookie_sign_in(env):
    client, keys, _ = env
    bearer = {"Authorization": f"Bearer {keys['viewer']}"}
    assert client.get("/api/session", headers=bearer).json()["role"] == "viewer"
    resp = client.post("/api/session", json={"key": keys["analyst"]})
    assert resp.status_code == 200 and resp.json()["role"] == "analyst"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("trendcast_key=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/session").json()["role"] == "analyst"  # the client keeps the cookie
    assert client.delete("/api/session").status_code == 204
    client.cookies.clear()
    assert client.get("/api/session").status_code == 401
    resp = client.post("/api/session", json={"key": "tc_000000000000_" + "x" * 43})
    assert resp.status_code == 401 and error_of(resp)["field"] == "key"


def test_keys_are_stored_hashed(env):
    client, keys, db = env
    created = client.post("/api/keys", json={"role": "viewer", "name": "bot"}, headers=auth(keys["admin"]))
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert client.get("/api/series", headers=auth(new_key)).status_code == 200
    listed = client.get("/api/keys", headers=auth(keys["admin"])).json()
    assert {k["name"] for k in listed} >= {"bot", "test admin"}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    rows = client.app.state.store.read("api_keys")
    secrets = [k.split("_", 2)[2] for k in [*keys.values(), new_key]]
    dump = rows.astype(str).to_csv()
    assert len(rows) == 4 and not any(s in dump for s in secrets)
    # Not in the database file either (checkpoint first so everything is on disk).
    if not str(db).startswith("postgresql://"):
        client.app.state.store._run("CHECKPOINT")
        raw = Path(db).read_bytes()
        assert not any(s.encode() in raw for s in secrets)
    assert error_of(client.post("/api/keys", json={"role": "root"}, headers=auth(keys["admin"])))["field"] == "role"


# Uploads --------------------------------------------------------------------------------


def test_upload_happy_path_and_idempotent(env):
    client, keys, _ = env
    resp = upload(client, keys["analyst"], sales_csv())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    sales = next(t for t in body["tables"] if t["table"] == "sales")
    assert body["file"] == "sales.csv" and body["rows_read"] == 480
    assert (sales["inserted"], sales["updated"], sales["unchanged"]) == (480, 0, 0)
    again = upload(client, keys["analyst"], sales_csv()).json()
    sales = next(t for t in again["tables"] if t["table"] == "sales")
    assert (sales["inserted"], sales["updated"], sales["unchanged"]) == (0, 0, 480)
    assert client.get("/api/series", headers=auth(keys["viewer"])).json()["total"] == 4


def test_malformed_csv_is_422_with_row_and_column_and_nothing_is_lost(env):
    client, keys, _ = env
    assert upload(client, keys["analyst"], sales_csv(n_series=5, n_days=150)).status_code == 201
    before = client.app.state.store.read("sales")
    df = make_sales(n_series=5, n_days=150, seed=3)
    df["ds"] = df["ds"].dt.strftime("%Y-%m-%d")
    df.loc[499, "ds"] = "2024-02-30"  # data row 500; the other rows would all change y
    resp = upload(client, keys["analyst"], df.to_csv(index=False).encode(), name="bad.csv")
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "invalid_data" and err["field"] == "ds"
    assert "bad.csv: row 500 (line 501), column 'ds': got '2024-02-30'" in err["message"]
    assert "trendcast-upload" not in err["message"]  # the client's file name, not the temp copy
    assert err["problems"][0]["row"] == 500 and err["problems"][0]["file"] == "bad.csv"
    after = client.app.state.store.read("sales")
    assert after.equals(before)


def test_oversized_upload_is_413_and_stores_nothing(env):
    client, keys, _ = env
    big = sales_csv(n_series=40, n_days=1000)
    assert len(big) > 1024 * 1024
    resp = upload(client, keys["analyst"], big)
    assert resp.status_code == 413
    assert "limit of 1 MB" in error_of(resp)["message"]

    # Without Content-Length (chunked), the stream is cut once the limit is passed.
    boundary = "xyzBOUNDARY"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    sent = []

    def body():
        yield head
        for i in range(0, len(big), 64 * 1024):
            sent.append(i)
            yield big[i:i + 64 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = client.post("/api/uploads?kind=sales", content=body(), headers={
        **auth(keys["analyst"]), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 413
    assert client.app.state.store.count("sales") == 0


def test_compressed_upload_that_unpacks_too_far_is_413_and_stores_nothing(env, monkeypatch):
    import gzip
    client, keys, _ = env
    monkeypatch.setattr(client.app.state.settings, "max_unpacked_mb", 2)  # TRENDCAST_MAX_UNPACKED_MB
    bomb = gzip.compress(sales_csv() + b"\n" * (5 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024  # under the upload limit, over the unpacked one
    resp = upload(client, keys["analyst"], bomb, name="sales.csv.gz", ctype="application/gzip")
    assert resp.status_code == 413
    message = error_of(resp)["message"]
    assert "sales.csv.gz" in message and "unpacks to more than 2 MB" in message
    assert client.app.state.store.count("sales") == 0


def test_wrong_types_are_415(env):
    client, keys, _ = env
    resp = upload(client, keys["analyst"], b"%PDF-1.4", name="report.pdf", ctype="application/pdf")
    assert resp.status_code == 415 and ".csv" in error_of(resp)["message"]
    resp = upload(client, keys["analyst"], sales_csv(), name="sales.csv", ctype="image/png")
    assert resp.status_code == 415 and "image/png" in error_of(resp)["message"]
    resp = client.post("/api/uploads?kind=sales", json={"rows": []}, headers=auth(keys["analyst"]))
    assert resp.status_code == 415 and "multipart/form-data" in error_of(resp)["message"]
    assert client.app.state.store.count("sales") == 0


def test_upload_input_errors_are_4xx_json(env):
    client, keys, _ = env
    resp = client.post("/api/uploads?kind=sales", files={"other": ("a.csv", b"x", "text/csv")},
                       headers=auth(keys["analyst"]))
    assert resp.status_code == 422 and error_of(resp)["field"] == "file"
    resp = upload(client, keys["analyst"], sales_csv(), query="kind=invoices")
    assert resp.status_code == 422 and error_of(resp)["field"] == "kind"
    resp = upload(client, keys["analyst"], sales_csv(), query="kind=sales&format=taobao")
    assert resp.status_code == 422 and "taobao" in error_of(resp)["message"]
    resp = upload(client, keys["analyst"], b"\xff\xfe\x00garbage", name="x.parquet",
                  ctype="application/octet-stream")
    assert resp.status_code == 422
    resp = client.post("/api/uploads?kind=sales", content=b"--b\r\nnonsense",
                       headers={**auth(keys["analyst"]), "Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code in (400, 422) and error_of(resp)


def test_uploaded_orders_and_events_are_pseudonymised(env):
    client, keys, _ = env
    upload(client, keys["analyst"], sales_csv(n_series=2))
    events = b"user_id,item_id,event_type,ts\nalice,P000,view,2024-03-01 10:00:00\nbob,P001,buy,2024-03-01 11:00:00\n"
    assert upload(client, keys["analyst"], events, name="ev.csv", query="kind=events").status_code == 201
    users = set(client.app.state.store.events()["user_id"])
    assert len(users) == 2 and not users & {"alice", "bob"}
    kept = upload(client, keys["analyst"], events.replace(b"alice", b"carol"), name="ev2.csv",
                  query="kind=events&keep_user_ids=true")
    assert kept.status_code == 201 and any("kept as given" in n for n in kept.json()["notes"])
    users_now = set(client.app.state.store.events()["user_id"])
    assert users_now == users | {"carol", "bob"}


# Reads ----------------------------------------------------------------------------------


def test_pagination_and_filters(tmp_path):
    db = tmp_path / "p.duckdb"
    keys = make_keys(db)
    seed_sales(db, n_series=7, n_days=30)
    with TestClient(create_app(db)) as client:
        h = auth(keys["viewer"])
        first = client.get("/api/series?limit=3", headers=h).json()
        assert first["total"] == 7 and [s["unique_id"] for s in first["items"]] == ["P000", "P001", "P002"]
        last = client.get("/api/series?limit=3&offset=6", headers=h).json()
        assert [s["unique_id"] for s in last["items"]] == ["P006"] and last["offset"] == 6
        assert client.get("/api/series?offset=100", headers=h).json()["items"] == []
        assert client.get("/api/series?q=p00", headers=h).json()["total"] == 7
        assert client.get("/api/series?q=P004", headers=h).json()["total"] == 1
        assert client.get("/api/series?q=%25", headers=h).json()["total"] == 0  # % is literal
        hist = client.get("/api/series/P003", headers=h).json()
        assert len(hist["history"]) == 30 and hist["history"][0]["ds"] == "2024-01-01"
        for bad in ("limit=0", "limit=1001", "offset=-1", "limit=ten"):
            resp = client.get(f"/api/series?{bad}", headers=h)
            assert resp.status_code == 422, bad
            assert error_of(resp)["field"] == bad.split("=")[0]
        assert client.get("/api/runs?kind=nonsense", headers=h).status_code == 422
        assert client.get("/api/runs", headers=h).json() == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_unknown_ids_and_routes_are_404_json(env):
    client, keys, _ = env
    h = auth(keys["admin"])
    for path in ("/api/series/NOPE", "/api/runs/nope", "/api/runs/nope/forecasts",
                 "/api/runs/nope/leaderboard", "/api/jobs/nope", "/api/leaderboard", "/api/nothing",
                 "/api/reports/en"):
        resp = client.get(path, headers=h)
        assert resp.status_code == 404, path
        assert error_of(resp)["code"] == "not_found", path
    assert client.delete("/api/keys/nope", headers=h).status_code == 404
    assert client.post("/api/jobs/nope/cancel", headers=h).status_code == 404
    resp = client.put("/api/series", headers=h)
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"
    assert client.get("/api/reports/fr", headers=h).status_code == 422


def test_forecast_reads_of_a_stored_run(tmp_path):
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_backtest, run_forecast

    db = tmp_path / "r.duckdb"
    keys = make_keys(db)
    seed_sales(db, n_series=3, n_days=60)
    with open_store(db) as store:
        fc = run_forecast(store, horizon=5, models=["Naive"], quantiles=[0.1, 0.9])
        bt = run_backtest(store, horizon=5, n_windows=2, models=["Naive", "SeasonalNaive"])
    with TestClient(create_app(db)) as client:
        h = auth(keys["viewer"])
        body = client.get(f"/api/runs/{fc.run_id}/forecasts?id=P002&id=P000", headers=h).json()
        assert body["total_series"] == 2 and len(body["items"]) == 10
        assert {r["unique_id"] for r in body["items"]} == {"P000", "P002"}
        assert set(body["items"][0]["values"]) == {"Naive", "Naive-q-0.1", "Naive-q-0.9"}
        page = client.get(f"/api/runs/{fc.run_id}/forecasts?limit=1&offset=1", headers=h).json()
        assert page["total_series"] == 3 and {r["unique_id"] for r in page["items"]} == {"P001"}
        resp = client.get(f"/api/runs/{fc.run_id}/forecasts?id=ZZZ", headers=h)
        assert resp.status_code == 404 and "ZZZ" in error_of(resp)["message"]
        cv = client.get(f"/api/runs/{bt.run_id}/forecasts?id=P000", headers=h).json()
        assert len(cv["items"]) == 10 and all(r["cutoff"] for r in cv["items"])
        board = client.get("/api/leaderboard", headers=h).json()
        assert board["run"]["run_id"] == bt.run_id
        assert {r["model"] for r in board["rows"]} == {"Naive", "SeasonalNaive"}
        assert "MASE" in board["rows"][0]["metrics"]
        resp = client.get(f"/api/runs/{fc.run_id}/leaderboard", headers=h)
        assert resp.status_code == 404 and "forecast run" in error_of(resp)["message"]
        runs = client.get("/api/runs?kind=forecast", headers=h).json()
        assert runs["total"] == 1 and runs["items"][0]["models"] == ["Naive"]
        html = client.get("/api/reports/en", headers=h)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert fc.run_id in html.text
        assert client.get(f"/api/reports/zh?run_id={bt.run_id}", headers=h).status_code == 404


def test_v1_workspace_opened_by_the_api_is_migrated(tmp_path):
    from trendcast.data.tables import MIGRATIONS

    db = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for statement in MIGRATIONS[0]:
        con.execute(statement)
    con.execute("INSERT INTO trendcast_meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO sales VALUES ('A', DATE '2024-01-01', 3, NULL, NULL)")
    con.close()
    with TestClient(create_app(db)) as client:
        assert client.get("/api/health").json()["schema_version"] == SCHEMA_VERSION
        assert client.app.state.store.count("sales") == 1
        assert client.app.state.store.count("api_keys") == 0
