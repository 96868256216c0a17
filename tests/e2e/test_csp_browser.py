"""The pages that got a Content-Security-Policy in issue 13 still work in a real browser: the
self-hosted API docs and the HTML report (plotly inline) render with no CSP violation."""

from __future__ import annotations

import pytest

from conftest import make_sales
from trendcast.dashboard import harness

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    if not harness.chromium_path().exists():
        pytest.skip(f"no Chromium at {harness.chromium_path()}: install it (apt-get install chromium)")


def test_docs_and_report_render_under_their_csp(tmp_path):
    from playwright.sync_api import sync_playwright

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path / "w.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": make_sales(n_series=3, n_days=90)}, source="t")
        run_forecast(store, horizon=7, models=["SeasonalNaive"])
        key = create_key(store, "viewer")
    problems: list[str] = []
    requests: list[str] = []
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock-tag", timeout=30_000)  # swagger-ui drew the operations
        assert "jobs" in page.inner_text("#swagger-ui")
        page.set_extra_http_headers({"X-API-Key": key})
        page.goto(f"{base}/api/reports/en")
        page.wait_for_selector(".plotly .main-svg", timeout=30_000)  # plotly drew a chart
        assert page.locator(".plotly .main-svg").count() >= 1
    assert problems == [], problems  # a CSP violation is logged as a console error
    assert all(u.startswith(base) or u.startswith(("data:", "blob:")) for u in requests), requests
