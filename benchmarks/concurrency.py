"""Many users on one workspace at once.

    python benchmarks/concurrency.py --pg postgresql://tc@127.0.0.1:5432/postgres --seconds 60
    python benchmarks/concurrency.py --duckdb-only

PostgreSQL: a real ``trendcast serve`` process on a fresh schema seeded with the simulated
shop; for ``--seconds``, reader threads call the API (series, runs, a product's history and
forecast), an analyst uploads sales files through ``POST /api/uploads`` (new products plus
rows that overlap the shop's, so the same keys are written twice), a forecast job runs
through the API, and ``trendcast ingest`` processes load other files from the command line,
all into the same workspace. At the end every expected row is counted: none lost, none
duplicated; the report gives 5xx and error counts and read latency percentiles.

DuckDB: a ``trendcast forecast`` process (AutoETS and AutoARIMA, one core) while
``trendcast info`` and ``trendcast report`` run from other processes; each reader's wall time
and whether the forecast was still computing when it finished.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CLI = [sys.executable, "-m", "trendcast.cli"]


def _sales(prefix: str, n_series: int, n_days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=n_days, freq="D")
    return pd.DataFrame({"unique_id": np.repeat([f"{prefix}{i:04d}" for i in range(n_series)], n_days),
                         "ds": np.tile(ds, n_series),
                         "y": rng.poisson(5, n_series * n_days).astype(float)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str, n_products: int) -> tuple[pd.DataFrame, str]:
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    shop = simulate_shop(n_products=n_products, seed=7)
    with open_store(url) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                              "calendar_events": shop.calendar}, source="bench")
        key = create_key(store, "analyst", "bench")
    return shop.sales[["unique_id", "ds", "y"]], key


def postgres(base: str, seconds: float, readers: int) -> dict:
    import httpx2 as httpx

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    shop_sales, key = _seed(url, 120)
    port = _free_port()
    server = subprocess.Popen([*CLI, "serve", "--db", url, "--port", str(port), "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    api = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": key}
    for _ in range(200):
        try:
            if httpx.get(f"{api}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    stop = threading.Event()
    latencies: list[float] = []
    statuses: list[int] = []
    errors: list[str] = []
    expected = [shop_sales]
    product = shop_sales["unique_id"].iloc[0]

    def reader() -> None:
        with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
            paths = ["/api/series?limit=20", "/api/runs", f"/api/series/{product}", "/api/health"]
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    resp = client.get(paths[i % len(paths)])
                    statuses.append(resp.status_code)
                    latencies.append(time.perf_counter() - t)
                except httpx.HTTPError as exc:
                    errors.append(f"read: {exc}")
                i += 1

    def uploader() -> None:
        with httpx.Client(base_url=api, headers=headers, timeout=120) as client:
            k = 0
            while not stop.is_set():
                new = _sales(f"U{k}_", 20, 90, seed=k)
                overlap = shop_sales.sample(2000, random_state=k)  # the same keys, the same values
                buf = io.StringIO()
                pd.concat([new, overlap]).to_csv(buf, index=False, date_format="%Y-%m-%d")
                resp = client.post("/api/uploads?kind=sales",
                                   files={"file": (f"u{k}.csv", buf.getvalue().encode(), "text/csv")})
                statuses.append(resp.status_code)
                if resp.status_code == 201:
                    expected.append(new)
                else:
                    errors.append(f"upload {k}: {resp.status_code} {resp.text[:200]}")
                k += 1

    def cli_ingests(folder: Path) -> None:
        k = 0
        while not stop.is_set():
            frame = _sales(f"C{k}_", 40, 120, seed=1000 + k)
            path = folder / f"c{k}.csv"
            frame.to_csv(path, index=False, date_format="%Y-%m-%d")
            done = subprocess.run([*CLI, "ingest", str(path), "--db", url], capture_output=True, text=True)
            if done.returncode == 0:
                expected.append(frame)
            else:
                errors.append(f"cli ingest {k}: {done.stderr[-300:]}")
            k += 1

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        threads = [threading.Thread(target=reader) for _ in range(readers)]
        threads += [threading.Thread(target=uploader),
                    threading.Thread(target=cli_ingests, args=(Path(tmp),))]
        for t in threads:
            t.start()
        job = httpx.post(f"{api}/api/jobs/forecast", headers=headers, timeout=30,
                         json={"horizon": 14, "models": ["SeasonalNaive", "AutoETS"]}).json()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
    job_state = httpx.get(f"{api}/api/jobs/{job['job_id']}", headers=headers, timeout=30).json()
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
    from trendcast.data.store import open_store

    with open_store(url) as store:
        stored = store.sales(columns=["unique_id", "ds", "y"])
    want = pd.concat(expected).drop_duplicates(["unique_id", "ds"])
    merged = want.merge(stored, on=["unique_id", "ds"], how="left", indicator=True)
    lat = np.array(latencies) * 1000
    return {
        "backend": "postgres", "seconds": round(time.perf_counter() - t0, 1), "readers": readers,
        "reads": len(latencies), "uploads_ok": sum(1 for s in statuses if s == 201),
        "cli_ingests_ok": sum(1 for f in expected[1:] if f["unique_id"].iloc[0].startswith("C")),
        "status_5xx": sum(1 for s in statuses if s >= 500), "errors": errors[:5], "n_errors": len(errors),
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "rows_expected": len(want), "rows_stored": len(stored),
        "rows_lost": int((merged["_merge"] == "left_only").sum()),
        "rows_duplicated": int(stored.duplicated(["unique_id", "ds"]).sum()),
        "forecast_job": job_state.get("status"), "load": os.getloadavg()[0],
    }


def duckdb_readers(workdir: Path) -> dict:
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames

    db = workdir / "shop.duckdb"
    shop = simulate_shop(n_products=120, seed=7)
    with open_store(db) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                              "calendar_events": shop.calendar}, source="bench")
        run_forecast(store, horizon=7, models=["SeasonalNaive"])
    t0 = time.perf_counter()
    forecast = subprocess.Popen([*CLI, "forecast", "--model", "AutoETS", "--model", "AutoARIMA", "--jobs",
                                 "1", "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(5)
    rows = []
    for name, args in [("info", ["info", "--json"]),
                       ("report", ["report", "--no-pdf", "--explain", "0", "--alerts", "off", "--out",
                                   str(workdir / "out")]),
                       ("trends", ["trends", "--top", "5"]), ("info", ["info"])]:
        t = time.perf_counter()
        done = subprocess.run([*CLI, *args, "--db", str(db)], capture_output=True, text=True)
        rows.append({"command": name, "exit": done.returncode, "seconds": round(time.perf_counter() - t, 1),
                     "forecast_still_running": forecast.poll() is None,
                     "error": done.stderr[-200:] if done.returncode else ""})
    forecast.communicate()
    return {"backend": "duckdb", "forecast_exit": forecast.returncode,
            "forecast_seconds": round(time.perf_counter() - t0, 1), "readers": rows,
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL base URL (a fresh schema is used)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--duckdb-only", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        results["duckdb"] = duckdb_readers(Path(tmp))
    if args.pg and not args.duckdb_only:
        results["postgres"] = postgres(args.pg, args.seconds, args.readers)
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
