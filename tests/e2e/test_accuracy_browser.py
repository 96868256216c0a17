"""The accuracy page in a real browser: a chart per category drawn by plotly under the
dashboard's CSP, with no script error."""

from __future__ import annotations

import pytest

from trendcast.dashboard import harness

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    if not harness.chromium_path().exists():
        pytest.skip(f"no Chromium at {harness.chromium_path()}: install it (apt-get install chromium)")


def test_accuracy_page_draws_a_chart_per_category(tmp_path):
    from playwright.sync_api import sync_playwright

    from dashboard.test_accuracy_page import _workspace
    from trendcast.api.app import create_app

    db = tmp_path / "scored.duckdb"
    key = _workspace(db, scored=True)["viewer"]
    problems: list[str] = []
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page(locale="en-US")
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        harness.sign_in(page, base, key)
        page.goto(f"{base}/accuracy")
        page.wait_for_function("document.querySelectorAll('main .chart .main-svg').length >= 2",
                               timeout=30_000)
        assert page.locator("section[data-category]").count() == 2
        assert page.locator("main .chart .scatterlayer .trace").count() == 6  # WAPE, bias, backtest x 2
        assert "Home" in page.inner_text("#accuracy-table")
    assert problems == [], problems
