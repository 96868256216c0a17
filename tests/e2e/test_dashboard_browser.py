"""The dashboard in a real browser: the system Chromium (never downloaded) drives the real app
served by uvicorn on a free local port, over a fresh workspace filled through the upload page."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from trendcast.dashboard import harness

pytestmark = pytest.mark.slow  # ~20-30 s: browser start, two uploads, one forecast job

N_PRODUCTS = 24


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    """Skip before building anything when there is no browser to drive."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    path = harness.chromium_path()
    if not path.exists():
        pytest.skip(f"no Chromium at {path}: install it (apt-get install chromium) or set TRENDCAST_CHROMIUM")


@pytest.fixture
def shop_files(tmp_path):
    from trendcast.data.simulate import simulate_shop

    shop = simulate_shop(n_products=N_PRODUCTS)
    products, sales = tmp_path / "products.csv", tmp_path / "sales.csv"
    shop.products.to_csv(products, index=False)
    shop.sales.to_csv(sales, index=False)
    bad = tmp_path / "bad_sales.csv"
    bad.write_text("unique_id,ds,y\nP0001,2024-02-30,3\n", encoding="utf-8")
    return {"products": products, "sales": sales, "bad": bad, "top": _top_seller(shop.sales)}


def _top_seller(sales: pd.DataFrame) -> str:
    recent = sales[sales["ds"] > sales["ds"].max() - pd.Timedelta(days=28)]
    return str(recent.groupby("unique_id")["y"].sum().idxmax())


@pytest.fixture
def app_and_key(tmp_path):
    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key

    db = tmp_path / "ws.duckdb"
    with open_store(db) as store:
        key = create_key(store, "analyst")
    return create_app(db, workers=1), key


def _upload(page, base: str, path, kind: str) -> str:
    page.goto(f"{base}/upload")
    page.set_input_files("#upload-file", str(path))
    page.select_option("#upload-kind", kind)
    page.click("#upload-submit")
    page.wait_for_selector("#upload-result .ok, #upload-result .error", timeout=30_000)
    return page.inner_text("#upload-result")


def test_sign_in_upload_forecast_chart_and_language(app_and_key, shop_files, tmp_path):
    from playwright.sync_api import sync_playwright

    app, key = app_and_key
    console: list[str] = []
    with harness.serve(app) as base, sync_playwright() as p, harness.browser(p) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

        # Not signed in: every page sends you to the sign-in form, which refuses a wrong key.
        page.goto(f"{base}/products/P0001")
        assert page.url.startswith(f"{base}/login?next=")
        page.fill("#key", "tc_000000000000_not-a-real-secret-at-all")
        page.click("#login-submit")
        assert "not valid" in page.inner_text(".error")
        harness.sign_in(page, base, key)
        assert "Upload a sales file" in page.inner_text("main")  # empty workspace
        cookie = next(c for c in page.context.cookies() if c["name"] == "trendcast_key")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # Uploads: counts on success, the validator's message on a bad file.
        text = _upload(page, base, shop_files["products"], "products")
        assert f"products: {N_PRODUCTS} new" in text
        text = _upload(page, base, shop_files["sales"], "sales")
        assert re.search(r"sales: [\d,]+ new", text), text
        text = _upload(page, base, shop_files["bad"], "sales")
        assert "2024-02-30" in text and "ds" in text, text

        # A forecast job from the form: progress, then a link and a chart from the API.
        page.goto(f"{base}/forecast")
        page.fill("#horizon", "14")
        for box in page.query_selector_all("input[name=models]"):
            box.set_checked(box.get_attribute("value") == "SeasonalNaive")
        page.select_option("#show-product", shop_files["top"])
        page.click("#forecast-submit")
        page.wait_for_selector("#job-done, #job-result .error", timeout=45_000)
        assert page.query_selector("#job-result .error") is None, page.inner_text("#job-result")
        run_id = re.search(r"fo-[\w-]+", page.inner_text("#job-done")).group(0)
        page.wait_for_selector("#job-chart .main-svg")
        assert page.locator("#job-chart .scatterlayer .trace").count() >= 3

        # The product page shows that run's fan chart (band, history, forecast).
        page.click("#job-product-link")
        page.wait_for_selector("main .chart .main-svg")
        assert run_id in page.inner_text("#run-info")
        traces = page.locator("main .chart .scatterlayer .trace")
        assert traces.count() >= 4  # two band edges, history, point forecast
        assert page.locator("main .chart .scatterlayer .trace path.js-fill").count() >= 1  # the band

        # Chinese: the switch keeps the page, the choice sticks in a cookie.
        path = page.url.split(base, 1)[1].split("?")[0]
        page.click("#lang-switch")
        page.wait_for_selector("main .chart .main-svg")
        assert page.url.split(base, 1)[1].startswith(path)
        assert "历史与预测" in page.inner_text("main h2")
        assert page.get_attribute("html", "lang") == "zh-CN"
        page.screenshot(path=str(tmp_path / "product_zh.png"), full_page=True)
        page.goto(f"{base}/")
        assert "总览" in page.inner_text("header nav")
        page.wait_for_selector("main .chart .main-svg")

        # Accuracy over time, from the navigation: nothing is scored yet, and the page says so.
        page.click("header nav a[href='/accuracy']")
        assert "还没有已评分的预测" in page.inner_text("#accuracy-empty")
        assert page.get_attribute("header nav a[href='/accuracy']", "aria-current") == "page"

    # Chromium logs every 4xx answer: the wrong key's 401 and the bad upload's 422 are the
    # expected ones, each once; nothing else may be logged (no script errors, no 404s).
    expected = ["status of 401 (Unauthorized)", "status of 422 (Unprocessable"]
    assert sorted(next((e for e in expected if e in m), m) for m in console) == expected, console
    assert (tmp_path / "product_zh.png").stat().st_size > 10_000


def test_forecast_from_the_promoted_version_through_the_form(tmp_path):
    from playwright.sync_api import sync_playwright

    from conftest import make_sales
    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key
    from trendcast.services.versions import train_version

    db = tmp_path / "ws.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": make_sales(n_series=3, n_days=120)}, source="test")
        version = train_version(store, horizon=7, models=["SeasonalNaive", "AutoETS"]).version_id
        key = create_key(store, "analyst")
    console: list[str] = []
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page(locale="en-US")
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        harness.sign_in(page, base, key)
        page.goto(f"{base}/forecast")
        assert page.is_visible("#horizon")
        page.check("#source-promoted")
        assert not page.is_visible("#horizon")  # the version has its own settings
        page.click("#forecast-submit")
        page.wait_for_selector("#job-done, #job-result .error", timeout=45_000)
        assert page.query_selector("#job-result .error") is None, page.inner_text("#job-result")
        run_id = re.search(r"fo-[\w-]+", page.inner_text("#job-done")).group(0)
        page.wait_for_selector("#job-chart .main-svg")
    with open_store(db, read_only=True) as store:
        run = store.run_row(run_id)
    assert run["params"]["version"] == version and run["horizon"] == 7
    assert console == [], console
