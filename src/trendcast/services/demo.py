"""The demo job: simulate a shop, ingest it, forecast, backtest and write a report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from trendcast.data.store import Store
from trendcast.services.forecast import Progress, run_backtest, run_forecast
from trendcast.services.ingest import ingest_frames
from trendcast.services.report import build_report


@dataclass
class DemoResult:
    """Where the demo put things and how long each step took (seconds)."""

    report: Path
    forecast_run: str
    backtest_run: str
    timings: dict[str, float] = field(default_factory=dict)
    leaderboard: object = None


def run_demo(
    store: Store,
    out_dir: str | Path,
    *,
    n_products: int = 240,
    seed: int = 7,
    horizon: int = 28,
    n_windows: int = 1,
    lang: str = "en",
    n_jobs: int = 1,
    progress: Progress | None = None,
    browser: str | None = None,
) -> DemoResult:
    """Run the whole job on the built-in simulated shop."""
    from trendcast.data.simulate import simulate_shop

    timings: dict[str, float] = {}
    out = Path(out_dir)
    t0 = time.perf_counter()
    shop = simulate_shop(n_products=n_products, seed=seed)
    timings["simulate"] = time.perf_counter() - t0
    truth_dir = out / "demo_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    shop.truth.products.to_csv(truth_dir / "products.csv", index=False)
    shop.truth.incidents.to_csv(truth_dir / "incidents.csv", index=False)
    shop.truth.stockouts.to_csv(truth_dir / "stockouts.csv", index=False)
    if progress:
        progress("simulate shop", 1, 5)

    t0 = time.perf_counter()
    ingest_frames(store, {
        "products": shop.products, "sales": shop.sales, "orders": shop.orders,
        "events": shop.events, "reviews": shop.reviews, "calendar_events": shop.calendar,
        "macro": shop.macro,
    }, source="demo-shop")
    timings["ingest"] = time.perf_counter() - t0
    if progress:
        progress("ingest", 2, 5)

    t0 = time.perf_counter()
    fc = run_forecast(store, horizon=horizon, n_jobs=n_jobs)
    timings["forecast"] = time.perf_counter() - t0
    if progress:
        progress("forecast", 3, 5)

    t0 = time.perf_counter()
    bt = run_backtest(store, horizon=horizon, n_windows=n_windows, n_jobs=n_jobs)
    timings["backtest"] = time.perf_counter() - t0
    if progress:
        progress("backtest", 4, 5)

    t0 = time.perf_counter()
    from trendcast.insights.pdf import find_browser

    # the PDF needs a Chromium; without one the demo still writes the HTML and says so
    report = build_report(store, out, run_id=fc.run_id, lang=lang, pdf=find_browser(browser) is not None,
                          browser=browser)
    timings["report"] = time.perf_counter() - t0
    if progress:
        progress("report", 5, 5)
    return DemoResult(report, fc.run_id, bt.run_id, timings, bt.metrics)
