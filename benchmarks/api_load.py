"""Load test of the REST API: concurrent reads while forecast jobs run in the same server.

Builds a demo-sized workspace (the simulated shop through ``services.ingest`` plus one
forecast run), starts ``trendcast serve`` on 127.0.0.1 as a separate process, then for
``--seconds`` seconds runs ``--readers`` threads issuing reads (series pages, one series'
history, runs, a run's forecasts for one product, jobs, health) while ``--jobs`` forecast jobs
are submitted at once. Reports request counts, read latency percentiles (overall and while
jobs were running), errors, 5xx responses and job completion times.

    python benchmarks/api_load.py --seconds 60 --jobs 10 --json api_load.json

Target: zero 5xx and p99 read latency under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd


@dataclass
class Sample:
    t: float  # seconds since the start of the load
    endpoint: str
    status: int
    ms: float


@dataclass
class Jobs:
    ids: list[str] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    submitted_at: float = 0.0
    all_final_at: float | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


def build_workspace(db: Path, *, products: int, seed: int) -> dict[str, Any]:
    """The simulated shop, ingested as `trendcast demo` does, plus one forecast run and keys."""
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    shop = simulate_shop(n_products=products, seed=seed)
    with open_store(db) as store:
        ingest_frames(store, {
            "products": shop.products, "sales": shop.sales, "orders": shop.orders,
            "events": shop.events, "reviews": shop.reviews, "calendar_events": shop.calendar,
            "macro": shop.macro,
        }, source="demo-shop")
        run = run_forecast(store, horizon=28, models=["SeasonalNaive"])
        ids = sorted(shop.sales["unique_id"].unique())
        return {"run_id": run.run_id, "ids": ids, "rows": int(store.count("sales")),
                "viewer": create_key(store, "viewer", "load test"),
                "analyst": create_key(store, "analyst", "load test")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "trendcast.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}:\n{log.read_text()}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server did not answer within 60 s; see {log}")


def reader(base: str, ws: dict[str, Any], stop: threading.Event, t0: float, seed: int,
           out: list[Sample]) -> None:
    rng = random.Random(seed)
    ids, run_id = ws["ids"], ws["run_id"]
    endpoints = [
        ("series page", lambda: f"/api/series?limit=50&offset={rng.randrange(0, len(ids), 10)}"),
        ("series history", lambda: f"/api/series/{rng.choice(ids)}"),
        ("runs", lambda: "/api/runs"),
        ("run forecasts", lambda: f"/api/runs/{run_id}/forecasts?id={rng.choice(ids)}"),
        ("jobs", lambda: "/api/jobs?limit=20"),
        ("health", lambda: "/api/health"),
    ]
    local: list[Sample] = []
    with httpx2.Client(base_url=base, headers={"X-API-Key": ws["analyst"]}, timeout=30) as client:
        while not stop.is_set():
            name, path = rng.choice(endpoints)
            start = time.perf_counter()
            try:
                status = client.get(path()).status_code
            except httpx2.HTTPError:
                status = 599  # no answer at all counts as a server error
            local.append(Sample(start - t0, name, status, (time.perf_counter() - start) * 1000))
    out.extend(local)


def submit_jobs(base: str, ws: dict[str, Any], n: int, models: list[str], t0: float, jobs: Jobs) -> None:
    """Submit ``n`` forecast jobs at the same moment (one thread each), then follow them."""
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def one() -> None:
        with httpx2.Client(base_url=base, headers={"X-API-Key": ws["analyst"]}, timeout=60) as c:
            barrier.wait()
            start = time.perf_counter()
            resp = c.post("/api/jobs/forecast", json={"horizon": 28, "models": models})
            with lock:
                jobs.submit_ms.append((time.perf_counter() - start) * 1000)
                if resp.status_code == 202:
                    jobs.ids.append(resp.json()["job_id"])
                else:
                    print(f"job submission failed: {resp.status_code} {resp.text}", file=sys.stderr)

    jobs.submitted_at = time.perf_counter() - t0
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with httpx2.Client(base_url=base, headers={"X-API-Key": ws["analyst"]}, timeout=60) as c:
        while True:
            records = [c.get(f"/api/jobs/{j}").json() for j in jobs.ids]
            if all(r["status"] in ("done", "failed", "cancelled") for r in records):
                jobs.records = records
                jobs.all_final_at = time.perf_counter() - t0
                return
            time.sleep(0.5)


def pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def summarise(samples: list[Sample], jobs: Jobs, seconds: float) -> dict[str, Any]:
    df = pd.DataFrame([s.__dict__ for s in samples])
    ms = df["ms"].to_numpy()
    busy_end = jobs.all_final_at if jobs.all_final_at is not None else seconds
    during = df[(df["t"] >= jobs.submitted_at) & (df["t"] <= busy_end)]["ms"].to_numpy()
    after = df[df["t"] > busy_end]["ms"].to_numpy()
    durations = []
    for r in jobs.records:
        if r.get("finished_at") and r.get("created_at"):
            durations.append((pd.Timestamp(r["finished_at"]) - pd.Timestamp(r["created_at"])).total_seconds())
    per_endpoint = {
        name: {"requests": int(len(g)), "p50_ms": pct(g["ms"].to_numpy(), 50),
               "p99_ms": pct(g["ms"].to_numpy(), 99)}
        for name, g in df.groupby("endpoint")
    }
    return {
        "requests": int(len(df)),
        "requests_per_s": round(len(df) / seconds, 1),
        "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "p99_ms": pct(ms, 99),
        "max_ms": round(float(ms.max()), 1) if len(ms) else None,
        "during_jobs": {"requests": int(len(during)), "p50_ms": pct(during, 50),
                        "p99_ms": pct(during, 99)},
        "after_jobs": {"requests": int(len(after)), "p50_ms": pct(after, 50), "p99_ms": pct(after, 99)},
        "errors": int((df["status"] >= 400).sum()),
        "error_rate": round(float((df["status"] >= 400).mean()), 5) if len(df) else None,
        "server_errors_5xx": int((df["status"] >= 500).sum()),
        "per_endpoint": per_endpoint,
        "jobs": {
            "submitted": len(jobs.ids),
            "done": sum(r["status"] == "done" for r in jobs.records),
            "failed": sum(r["status"] == "failed" for r in jobs.records),
            "submit_p99_ms": pct(np.array(jobs.submit_ms), 99),
            "completion_s_median": round(float(np.median(durations)), 1) if durations else None,
            "completion_s_max": round(float(np.max(durations)), 1) if durations else None,
            "all_done_after_s": None if jobs.all_final_at is None
            else round(jobs.all_final_at - jobs.submitted_at, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=10, help="forecast jobs submitted at once")
    parser.add_argument("--readers", type=int, default=4, help="concurrent reader threads")
    parser.add_argument("--workers", type=int, default=2, help="server job threads")
    parser.add_argument("--models", default="SeasonalNaive,SeasonalWindowAverage",
                        help="models of each forecast job")
    parser.add_argument("--products", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trendcast-load-") as folder:
        db = Path(folder) / "load.duckdb"
        t = time.perf_counter()
        ws = build_workspace(db, products=args.products, seed=args.seed)
        setup_s = time.perf_counter() - t
        print(f"workspace: {len(ws['ids'])} series, {ws['rows']:,} sales rows, run {ws['run_id']} "
              f"({setup_s:.0f}s)", file=sys.stderr)
        port = free_port()
        server = start_server(db, port, args.workers, Path(folder) / "server.log")
        base = f"http://127.0.0.1:{port}"
        samples: list[Sample] = []
        jobs = Jobs()
        stop = threading.Event()
        load_before = os.getloadavg()
        try:
            t0 = time.perf_counter()
            readers = [threading.Thread(target=reader, args=(base, ws, stop, t0, i, samples))
                       for i in range(args.readers)]
            for r in readers:
                r.start()
            submitter = threading.Thread(target=submit_jobs, args=(
                base, ws, args.jobs, args.models.split(","), t0, jobs))
            submitter.start()
            time.sleep(args.seconds)
            stop.set()
            for r in readers:
                r.join()
            submitter.join(timeout=600)
        finally:
            server.terminate()
            server.wait(timeout=60)
        log = (Path(folder) / "server.log").read_text()
    result = summarise(samples, jobs, args.seconds)
    result["setup"] = {"series": len(ws["ids"]), "sales_rows": ws["rows"], "readers": args.readers,
                       "server_job_workers": args.workers, "job_models": args.models.split(","),
                       "seconds": args.seconds, "cpus": os.cpu_count()}
    result["server_tracebacks"] = log.count("Traceback")
    # Other work on the machine shows in the latencies: record the 1/5/15-minute load.
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
