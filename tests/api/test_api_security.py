"""Issue 13's browser-facing defects: HTML without a CSP, swagger-ui from a public CDN, failed
keys not rate-limited."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from apikit import auth, make_keys, seed_sales
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.api.security import REPORT_CSP
from trendcast.data.store import open_store

BAD_KEY = "tc_000000000000_" + "x" * 32


@pytest.fixture
def workspace(tmp_path):
    db = tmp_path / "w.duckdb"
    keys = make_keys(db)
    seed_sales(db, n_series=3, n_days=90)
    return db, keys


def test_the_report_page_carries_a_csp_that_loads_and_sends_nothing(workspace):
    from trendcast.services.forecast import run_forecast

    db, keys = workspace
    with open_store(db) as store:
        run_forecast(store, horizon=7, models=["SeasonalNaive"])
    with TestClient(create_app(db)) as client:
        r = client.get("/api/reports/en", headers=auth(keys["viewer"]))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert csp == REPORT_CSP
        assert "connect-src 'none'" in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script[^>]+src=", r.text)  # nothing loaded from anywhere
        # the dashboard's pages keep their own (stricter) policy
        page = client.get("/login")
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_docs_are_served_from_this_server_with_a_csp(workspace):
    db, _ = workspace
    with TestClient(create_app(db)) as client:
        r = client.get("/docs")
        assert r.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
        assert "cdn" not in r.text.lower() and "https://" not in r.text
        csp = r.headers["content-security-policy"]
        inline = re.findall(r"<script>(.*?)</script>", r.text, flags=re.DOTALL)
        assert len(inline) == 1
        digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        for src in sources:
            asset = client.get(src)
            assert asset.status_code == 200 and len(asset.content) > 1000, src
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/redoc").status_code == 404  # ReDoc would need its CDN script


def test_docs_are_off_rather_than_from_a_cdn_without_the_assets(workspace, monkeypatch):
    from trendcast.api import security

    monkeypatch.setattr(security, "docs_assets", lambda: None)
    db, _ = workspace
    with TestClient(create_app(db)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_failed_keys_are_rate_limited_per_client(workspace):
    db, keys = workspace
    app = create_app(db)
    now = [1000.0]
    app.state.auth_limiter.clock = lambda: now[0]
    limit = app.state.auth_limiter.max_failures
    with TestClient(app) as client, TestClient(app, client=("10.0.0.2", 50000)) as other:
        for _ in range(limit):
            assert client.get("/api/runs", headers=auth(BAD_KEY)).status_code == 401
        r = client.get("/api/runs", headers=auth(BAD_KEY))
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # the blocked client is refused whatever it sends, until the window has passed
        assert client.get("/api/runs", headers=auth(keys["viewer"])).status_code == 429
        assert other.get("/api/runs", headers=auth(keys["viewer"])).status_code == 200
        # the dashboard's sign-in counts and refuses the same way
        assert client.post("/login", data={"key": BAD_KEY, "next": "/"}).status_code == 429
        now[0] += 61
        assert client.get("/api/runs", headers=auth(keys["viewer"])).status_code == 200
        for _ in range(limit):
            assert other.post("/login", data={"key": BAD_KEY, "next": "/"},
                              follow_redirects=False).status_code == 401
        assert other.get("/api/runs", headers=auth(BAD_KEY)).status_code == 429
        assert client.get("/api/health").status_code == 200  # no key, no limit
