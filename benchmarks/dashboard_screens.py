"""Screenshots of the dashboard in English and Chinese, and how long each page takes to show.

    python benchmarks/dashboard_screens.py --out DIR [--db WORKSPACE] [--products 60]

Without ``--db`` a workspace is built in DIR from the simulated shop (catalogue, sales,
reviews, festivals), with a forecast run (SeasonalNaive + AutoETS, quantiles 0.1/0.5/0.9,
28 days) and a backtest (SeasonalNaive + SeasonalWindowAverage, 2 windows of 28 days). With
``--db`` an existing workspace is used as it is (``trendcast demo`` makes one).

The real app is served by uvicorn on a free 127.0.0.1 port and the system Chromium
(``TRENDCAST_CHROMIUM``, default /usr/bin/chromium; never downloaded) signs in with a fresh
analyst key and opens each page in each language. "seconds" is from navigation to the page's
charts being drawn (plotly's ``.main-svg``), or to the page's load event for pages without a
chart; it includes the server's work. On the product page the "explain this forecast" button
is clicked too (it refits the run's first model on that product and decomposes the forecast).
Console errors are listed; the script fails if any.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.dashboard import harness  # noqa: E402

PAGES = [("overview", "/", True), ("product", "/products/{uid}", True), ("trends", "/trends", True),
         ("leaderboard", "/leaderboard", True), ("inventory", "/inventory", False),
         ("forecast", "/forecast", False),
         ("upload", "/upload", False)]


def build_workspace(db: Path, n_products: int) -> dict[str, float]:
    """The simulated shop, a forecast run and a backtest in ``db``; returns step timings."""
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_backtest, run_forecast
    from trendcast.services.ingest import ingest_frames

    timings = {}
    start = time.perf_counter()
    shop = simulate_shop(n_products=n_products)
    with open_store(db) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales, "reviews": shop.reviews,
                              "calendar_events": shop.calendar}, source="simulated shop")
        timings["ingest"] = time.perf_counter() - start
        start = time.perf_counter()
        run_forecast(store, horizon=28, models=["SeasonalNaive", "AutoETS"], n_jobs=2)
        timings["forecast"] = time.perf_counter() - start
        start = time.perf_counter()
        run_backtest(store, horizon=28, n_windows=2, models=["SeasonalNaive", "SeasonalWindowAverage"])
        timings["backtest"] = time.perf_counter() - start
    return timings


def top_product(db: Path) -> str:
    from trendcast.dashboard.pages import top_products
    from trendcast.data.store import open_store

    with open_store(db) as store:
        top = top_products(store, 1)
    if not top:
        raise SystemExit(f"{db} has no sales; build a workspace first (omit --db)")
    return top[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder for the PNG files.")
    parser.add_argument("--db", type=Path, help="An existing workspace (default: build one in --out).")
    parser.add_argument("--products", type=int, default=60, help="Products of the simulated shop.")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    if not harness.chromium_path().exists():
        raise SystemExit(f"no Chromium at {harness.chromium_path()}; set TRENDCAST_CHROMIUM")
    from playwright.sync_api import sync_playwright

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key

    args.out.mkdir(parents=True, exist_ok=True)
    db = args.db
    if db is None:
        db = args.out / "screens.duckdb"
        if db.exists():
            db.unlink()
        steps = build_workspace(db, args.products)
        print("workspace: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
    with open_store(db) as store:
        key = create_key(store, "analyst", name="dashboard_screens")
    uid = top_product(db)
    errors: list[str] = []
    rows = []
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        harness.sign_in(page, base, key)
        for lang in ("en", "zh"):
            for name, path, has_chart in PAGES:
                start = time.perf_counter()
                page.goto(f"{base}{path.format(uid=uid)}?lang={lang}")
                if has_chart:
                    page.wait_for_selector(".main-svg", timeout=120_000)
                seconds = time.perf_counter() - start
                png = args.out / f"{name}_{lang}.png"
                page.screenshot(path=str(png), full_page=True)
                rows.append((name, lang, seconds, png.name))
                if name == "product" and page.query_selector("#drivers-load"):
                    start = time.perf_counter()
                    page.click("#drivers-load")
                    page.wait_for_selector("#drivers-body .main-svg, #drivers-body .error", timeout=300_000)
                    seconds = time.perf_counter() - start
                    png = args.out / f"product_drivers_{lang}.png"
                    page.screenshot(path=str(png), full_page=True)
                    rows.append(("product: explain this forecast", lang, seconds, png.name))
    print(f"\nproduct page: {uid}\n")
    print("| page | lang | seconds to charts drawn | file |\n|---|---|---|---|")
    for name, lang, seconds, png in rows:
        print(f"| {name} | {lang} | {seconds:.2f} | {png} |")
    if errors:
        print("\nconsole errors:\n" + "\n".join(errors))
        raise SystemExit(1)
    print("\nno console errors")


if __name__ == "__main__":
    main()
