"""Many processes on one workspace: readers during a long forecast on DuckDB; the API, an
analyst's uploads and a CLI ingest at once on PostgreSQL."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.data.store import open_store

CLI = [sys.executable, "-m", "trendcast.cli"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TRENDCAST_LOCK_TIMEOUT": "120"})


@pytest.fixture
def shop_db(tmp_path) -> Path:
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=60, seed=3)
    db = tmp_path / "shop.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                              "calendar_events": shop.calendar}, source="test")
        run_forecast(store, horizon=7, models=["SeasonalNaive"])
    return db


@pytest.mark.slow  # ~1 min: a whole forecast runs while the readers are timed
def test_readers_run_while_a_forecast_computes_on_duckdb(shop_db, tmp_path):
    forecast = subprocess.Popen([*CLI, "forecast", "--model", "AutoETS", "--model", "AutoARIMA",
                                 "--jobs", "1", "--db", str(shop_db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TRENDCAST_LOCK_TIMEOUT": "120"})
    try:
        time.sleep(6)  # started, snapshot taken, fitting
        assert forecast.poll() is None, forecast.communicate()
        info = _cli("info", "--json", "--db", str(shop_db))
        assert info.returncode == 0, info.stderr
        report = _cli("report", "--no-pdf", "--explain", "0", "--alerts", "off", "--out",
                      str(tmp_path / "out"), "--db", str(shop_db))
        assert report.returncode == 0, report.stderr
        assert (tmp_path / "out" / "report.html").exists()
        still_running = forecast.poll() is None
        out, err = forecast.communicate(timeout=600)
    finally:
        if forecast.poll() is None:
            forecast.kill()
    assert forecast.returncode == 0, err
    assert still_running, "the forecast finished before the readers: make it longer"
    with open_store(shop_db, read_only=True) as store:
        _, runs = store.run_rows(kind="forecast")
        assert [r["models"] for r in runs][0] == ["AutoETS", "AutoARIMA"]


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, date_format="%Y-%m-%d")
    return buf.getvalue().encode()


def test_api_reads_uploads_and_a_cli_ingest_at_once_on_postgres(pg_url, tmp_path):
    from fastapi.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.services.keys import create_key

    def auth(key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    base = make_sales(n_series=4, n_days=60)
    with open_store(pg_url) as store:
        keys = {role: create_key(store, role) for role in ("viewer", "analyst")}
        store.upsert("sales", base)
    uploads = [make_sales(n_series=3, n_days=60, seed=10 + i).assign(
        unique_id=lambda d, i=i: "U" + str(i) + "_" + d["unique_id"]) for i in range(6)]
    cli_file = tmp_path / "cli.csv"
    cli_rows = make_sales(n_series=20, n_days=200, seed=99).assign(unique_id=lambda d: "C" + d["unique_id"])
    cli_rows.to_csv(cli_file, index=False, date_format="%Y-%m-%d")
    statuses: list[int] = []
    stop = threading.Event()
    with TestClient(create_app(pg_url)) as client:
        def read() -> None:
            while not stop.is_set():
                for path in ("/api/series?limit=5", "/api/runs", "/api/health"):
                    statuses.append(client.get(path, headers=auth(keys["viewer"])).status_code)

        def upload() -> None:
            for i, frame in enumerate(uploads):
                # every upload also re-sends the base rows: overlapping writes of the same keys
                content = _csv(pd.concat([frame, base]))
                resp = client.post("/api/uploads?kind=sales", headers=auth(keys["analyst"]),
                                   files={"file": (f"u{i}.csv", content, "text/csv")})
                statuses.append(resp.status_code)

        readers = [threading.Thread(target=read) for _ in range(2)]
        writer = threading.Thread(target=upload)
        for t in [*readers, writer]:
            t.start()
        cli = _cli("ingest", str(cli_file), "--db", pg_url)
        writer.join()
        stop.set()
        for t in readers:
            t.join()
    assert cli.returncode == 0, cli.stderr
    assert statuses and not [s for s in statuses if s >= 500]
    assert {s for s in statuses} <= {200, 201}
    with open_store(pg_url) as store:
        stored = store.sales()
    expected = pd.concat([base, *uploads, cli_rows])
    assert len(stored) == len(expected.drop_duplicates(["unique_id", "ds"]))
    assert not stored.duplicated(["unique_id", "ds"]).any()
