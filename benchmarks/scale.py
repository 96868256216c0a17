"""Scale benchmark: series per second and peak memory of the local and Ray engines.

    python benchmarks/scale.py --sizes 3000 30000 100000 --engines local ray --json out.json

Data: M5 store CA_1 (../shared/data/m5_ca1: 3,049 real series with prices, hierarchy and
calendar events), cut to its last ``--days`` days and replicated with perturbations until
there are enough series. Replica 0 is the real store; replica r > 0 gets new ids
(``<id>_r<r>``), units drawn as Poisson(y * s) with a per-series scale s ~ LogNormal(0, 0.3)
(zeros stay zero, so intermittency is kept) and prices scaled by a per-series factor
~ N(1, 0.03). Each size is one DuckDB workspace, built once and reused, its sales clustered by
series id.

Job: the recommended configuration, ``MedianEnsemble(LightGBM, LightGBMDirect)`` with
negative-binomial quantiles 0.1/0.5/0.9 and known-future covariates, 28 days ahead, through
``run_forecast`` (fit, forecast, write every forecast to the workspace; ``collect=False``).
Global models train once, on a seeded sample of ``--train-series`` series when the catalogue
is larger, and each partition of ``--partition-size`` series is forecast with the same model.

Each (size, engine) runs in a fresh spawned process. Reported per run: wall seconds (engine
start excluded and reported apart), series per second, the driver's peak RSS (exact,
``VmHWM``) and the peak of the summed PSS of the driver and every process it started
(Ray's GCS, raylet and workers; sampled every 0.5 s, shared pages counted once). When both
engines ran on a size, their stored forecasts are compared value by value.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RECOMMENDED = {"models": ["MedianEnsemble"], "model_params": {"members": ["LightGBM", "LightGBMDirect"]},
               "quantiles": [0.1, 0.5, 0.9]}


# Data ---------------------------------------------------------------------------------------


def build_workspace(path: Path, n_series: int, m5: Path, days: int, seed: int = 0) -> dict[str, Any]:
    """A DuckDB workspace with ``n_series`` replicated, perturbed M5 CA_1 series (cached)."""
    from trendcast.data.m5 import read_m5
    from trendcast.data.store import open_store
    from trendcast.services.ingest import write_frames

    done = path.with_suffix(".ready.json")
    if path.exists() and done.exists():
        return json.loads(done.read_text())
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    data = read_m5(m5)
    sales = data.sales[data.sales["ds"] > data.sales["ds"].max() - pd.Timedelta(days=days)]
    sales = sales.sort_values(["unique_id", "ds"], ignore_index=True)
    ids = sales["unique_id"].unique()
    n_days = len(sales) // len(ids)
    y = sales["y"].to_numpy().reshape(len(ids), n_days)
    price = sales["price"].to_numpy().reshape(len(ids), n_days)
    ds = sales["ds"].to_numpy()[:n_days]
    products = data.products.set_index("unique_id").loc[ids].reset_index()
    rng = np.random.default_rng(seed)
    store = open_store(path)
    write_frames(store, {"calendar_events": data.calendar})
    made = 0
    replica = 0
    while made < n_series:
        take = min(len(ids), n_series - made)
        if replica == 0:
            yy, pp, suffix = y[:take], price[:take], ""
        else:
            scale = rng.lognormal(0.0, 0.3, size=(take, 1))
            yy = rng.poisson(y[:take] * scale).astype(float)
            pp = price[:take] * rng.normal(1.0, 0.03, size=(take, 1))
            suffix = f"_r{replica:03d}"
        new_ids = np.array([f"{i}{suffix}" for i in ids[:take]])
        store.append("products", products.iloc[:take].assign(unique_id=new_ids))
        store.append("sales", pd.DataFrame({
            "unique_id": np.repeat(new_ids, n_days), "ds": np.tile(ds, take), "y": yy.ravel(),
            "price": pp.ravel(), "promo": np.nan}))
        made += take
        replica += 1
    if replica > 1:
        # cluster the rows by series id, as an M5 or per-product ingest leaves them: DuckDB then
        # skips the row groups of other blocks when a partition is read (see docs/scale.md)
        rows = store.count("sales")
        store.close()
        import duckdb

        con = duckdb.connect(str(path))
        con.execute("CREATE TEMP TABLE sorted_sales AS SELECT * FROM sales ORDER BY unique_id, ds")
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM sales")
        con.execute("INSERT INTO sales SELECT * FROM sorted_sales")
        con.execute("COMMIT")
        con.close()
    else:
        rows = store.count("sales")
        store.close()
    info = {"series": n_series, "days": n_days, "rows": rows, "replicas": replica,
            "build_seconds": round(time.perf_counter() - t0, 1)}
    done.write_text(json.dumps(info))
    return info


# One timed run (child process) -------------------------------------------------------------


def _child(db: str, engine_name: str, jobs: int, partition_size: int, train_series: int | None,
           horizon: int, conn: Any) -> None:
    try:
        from trendcast.data.store import open_store
        from trendcast.engine import make_engine
        from trendcast.services.forecast import run_forecast

        phases: dict[str, float] = {}
        driver = _instrument_driver()
        t0 = time.perf_counter()
        engine = make_engine(engine_name, n_jobs=jobs)
        start = time.perf_counter() - t0

        def progress(label: str, done: int, total: int) -> None:
            phase = label.split(" ")[0]  # "fit" (global models) or "forecast" (partitions)
            phases[f"{phase}_done_s"] = round(time.perf_counter() - t1, 1)
            phases[f"{phase}_tasks"] = total
            phases[f"{phase}_done_cpu_s"] = round(_cpu_seconds() - c1, 1)

        store = open_store(db)
        t1, c1 = time.perf_counter(), _cpu_seconds()
        run = run_forecast(store, horizon=horizon, n_jobs=jobs, engine=engine,
                           partition_size=partition_size, train_series=train_series,
                           collect=False, progress=progress, **RECOMMENDED)
        seconds = time.perf_counter() - t1
        engine.close()
        store.close()
        conn.send({"ok": True, "run_id": run.run_id, "n_series": run.n_series, "seconds": seconds,
                   "engine_start_s": start, "phases": phases, "notes": run.notes,
                   "driver_s": {k: round(v, 1) for k, v in driver.items()},
                   "driver_maxrss_mb": _own_peak_rss_mb()})
    except Exception as exc:  # report to the parent rather than dying silently
        import traceback

        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})


def _own_peak_rss_mb() -> float:
    """This process's peak RSS since it was started (VmHWM). Not ``ru_maxrss``: Linux keeps that
    across fork + exec, so a spawned child would report the parent's RSS at spawn time (the
    parent that built a 100k-series workspace) instead of its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process, its threads and the local engine's live
    worker processes so far: with the local engine, all the work of the run; with Ray, the
    driver's share (Ray's workers are not its children)."""
    import psutil

    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            if "ray" in " ".join(child.cmdline()).lower():
                continue
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def _instrument_driver() -> dict[str, float]:
    """Seconds the driver spends on the serial part of a run, which more workers do not
    shorten: the snapshot of the workspace, reading each block from it, and the final write."""
    from trendcast.data.snapshot import Snapshot
    from trendcast.data.store import Store

    spent = {"snapshot": 0.0, "read": 0.0, "write": 0.0}

    def timed(owner: Any, name: str, key: str) -> None:
        real = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - t

        setattr(owner, name, wrapper)

    timed(Store, "snapshot", "snapshot")
    timed(Snapshot, "block", "read")
    timed(Store, "save_run", "write")
    return spent


def _family_pss_mb(pid: int) -> float:
    """Summed PSS (RSS when PSS is unreadable) of a process and all its descendants, in MB."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            info = p.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except psutil.Error:
            continue
    return total / 2**20


def timed_run(db: Path, engine: str, jobs: int, partition_size: int, train_series: int | None,
              horizon: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(str(db), engine, jobs, partition_size, train_series,
                                            horizon, child))
    load_before = os.getloadavg()[0]
    proc.start()
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _family_pss_mb(proc.pid))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = parent.recv()
    stop.set()
    sampler.join()
    proc.join()
    result.update(engine=engine, peak_total_pss_mb=round(peak[0]), load_before=round(load_before, 1),
                  load_after=round(os.getloadavg()[0], 1))
    if result.get("ok"):
        result["series_per_s"] = round(result["n_series"] / result["seconds"], 2)
        result["seconds"] = round(result["seconds"], 1)
        result["engine_start_s"] = round(result["engine_start_s"], 1)
        result["driver_maxrss_mb"] = round(result["driver_maxrss_mb"])
    return result


def compare_runs(db: Path, a: str, b: str) -> dict[str, Any]:
    """Value-by-value comparison of two stored runs of the same workspace."""
    from trendcast.data.store import open_store

    with open_store(db, read_only=True) as store:
        x, y = store.run_forecasts(a), store.run_forecasts(b)
    keys = ["model", "unique_id", "ds", "quantile"]
    both = x.merge(y, on=keys, suffixes=("_a", "_b"))
    diff = (both["value_a"] - both["value_b"]).abs()
    differ = ~((both["value_a"] == both["value_b"]) | (both["value_a"].isna() & both["value_b"].isna()))
    return {"matched_values": len(both), "rows_per_run": {a: len(x), b: len(y)},
            "max_abs_diff": float(diff.max() if len(diff) else 0.0), "n_different": int(differ.sum())}


def _cpu(ph: dict[str, Any]) -> str:
    if "forecast_done_cpu_s" not in ph:
        return ""
    fit = ph.get("fit_done_cpu_s", 0.0)
    return f"{fit:.0f} / {ph['forecast_done_cpu_s'] - fit:.0f}"


def markdown(results: dict[str, Any]) -> str:
    """The docs table of a results file (``--table``)."""
    lines = ["| series | engine | wall s (fit / forecast) | series/s | engine start s | driver snapshot / "
             "read / write s | CPU s (fit / forecast) | driver peak RSS MB | total peak PSS MB | load avg "
             "| same as local |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    eq = results.get("equality", {})
    for r in results["runs"]:
        if not r.get("ok"):
            lines.append(f"| {r['size']:,} | {r['engine']} | failed: {r['error']} |||||||||")
            continue
        ph, drv = r["phases"], r.get("driver_s", {})
        fit = ph.get("fit_done_s", 0.0)
        same = ""
        if r["engine"] == "ray" and str(r["size"]) in eq:
            e = eq[str(r["size"])]
            same = (f"{e['matched_values']:,} values, {e['n_different']} differ "
                    f"(max abs diff {e['max_abs_diff']:g})")
        lines.append(
            f"| {r['size']:,} | {r['engine']} | {r['seconds']:.0f} ({fit:.0f} / {r['seconds'] - fit:.0f}) "
            f"| {r['series_per_s']:.2f} | {r['engine_start_s']:.1f} | {drv.get('snapshot', 0):.1f} / "
            f"{drv.get('read', 0):.1f} / {drv.get('write', 0):.1f} | {_cpu(ph)} | {r['driver_maxrss_mb']:,} "
            f"| {r['peak_total_pss_mb']:,} | {r['load_before']}-{r['load_after']} | {same} |")
    return "\n".join(lines)


def extrapolate(results: dict[str, Any], n: int = 1_000_000, fit_cores: int = 16,
                fit_efficiency: float = 0.7, workers: tuple[int, ...] = (4, 8, 16, 32, 64)) -> str:
    """Run time of ``n`` series on a Ray cluster from the largest measured size (``--table``).

    T = start + fit + max(n * d, n * c / W): the global model is fitted once, on
    ``train_series`` series, on one node; the partitions are spread over W worker CPUs at c
    CPU seconds per series, but the driver reads, ships and writes every block itself (d
    seconds per series), so W beyond c / d does not help. c is bracketed: low = the local
    run's CPU seconds per series in the partition phase (driver work taken out), high = the
    Ray run's partition-phase wall time x its CPUs per series (worker start-up, imports,
    serialisation and idle CPUs included)."""
    runs = {(r["engine"], r["size"]): r for r in results["runs"] if r.get("ok")}
    size = max((s for e, s in runs if e == "local" and ("ray", s) in runs), default=None)
    if size is None:
        return "(needs a local and a ray run of the same size)"
    loc, rr = runs[("local", size)], runs[("ray", size)]
    train = min(size, results["config"]["train_series"] or size)
    lp, rp = loc["phases"], rr["phases"]
    fit_cpu = lp["fit_done_cpu_s"] / train
    c_lo = (lp["forecast_done_cpu_s"] - lp["fit_done_cpu_s"]
            - loc["driver_s"]["read"] - loc["driver_s"]["write"] - loc["driver_s"]["snapshot"]) / size
    c_hi = (rp["forecast_done_s"] - rp["fit_done_s"]) * results["config"]["jobs"] / size
    d = (rp["forecast_done_cpu_s"] - rp["fit_done_cpu_s"]) / size  # Ray driver CPU, partition phase
    big_train = min(n, results["config"]["train_series"] or n)
    fit_s = fit_cpu * big_train / (fit_cores * fit_efficiency)
    start = rr["engine_start_s"]
    lines = [f"constants from {size:,} series: fit {fit_cpu * 1000:.0f} CPU ms per training series; "
             f"partitions c = {c_lo * 1000:.1f}-{c_hi * 1000:.1f} CPU ms per series; Ray driver "
             f"d = {d * 1000:.2f} CPU ms per series",
             f"- fit on {big_train:,} series, {fit_cores} cores at {fit_efficiency:.0%} efficiency: "
             f"{fit_s / 60:.1f} min",
             f"- driver floor for {n:,} series: {n * d / 60:.1f} min; the partition phase stops "
             f"shrinking beyond {c_lo / d:.0f}-{c_hi / d:.0f} worker CPUs"]
    for w in workers:
        lo, hi = max(n * d, n * c_lo / w), max(n * d, n * c_hi / w)
        lines.append(f"- {w} worker CPUs: partitions {lo / 60:.0f}-{hi / 60:.0f} min, total "
                     f"{(start + fit_s + lo) / 60:.0f}-{(start + fit_s + hi) / 60:.0f} min")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000, 100000])
    ap.add_argument("--engines", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    ap.add_argument("--m5", type=Path, default=ROOT.parent / "shared" / "data" / "m5_ca1")
    ap.add_argument("--days", type=int, default=1100, help="History kept per series.")
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--jobs", type=int, default=2, help="Cores (local) / local Ray CPUs.")
    ap.add_argument("--partition-size", type=int, default=500)
    ap.add_argument("--train-series", type=int, default=5000,
                    help="Global models train on a seeded sample of this many series (0: all).")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/trendcast_scale"))
    ap.add_argument("--json", type=Path, help="Write the results here.")
    ap.add_argument("--table", type=Path,
                    help="Print the markdown table and the 1M-series extrapolation of a results file.")
    args = ap.parse_args()
    if args.table:
        results = json.loads(args.table.read_text())
        print(markdown(results))
        print()
        print(extrapolate(results))
        return
    if not args.m5.exists():
        sys.exit(f"M5 data not found at {args.m5}; pass --m5 FOLDER")
    args.workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "config": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                   "job": RECOMMENDED, "cpu_count": os.cpu_count()},
        "runs": []}
    for n in args.sizes:
        db = args.workdir / f"m5x_{n}_{args.days}d.duckdb"
        data = build_workspace(db, n, args.m5, args.days)
        print(f"== {n:,} series: {data}", flush=True)
        ids: dict[str, str] = {}
        for engine in args.engines:
            res = timed_run(db, engine, args.jobs, args.partition_size, args.train_series or None,
                            args.horizon)
            res.update(size=n, data=data)
            out["runs"].append(res)
            print(json.dumps({k: v for k, v in res.items() if k not in ("trace", "data")}), flush=True)
            if res.get("ok"):
                ids[engine] = res["run_id"]
        if len(ids) == 2:
            cmp = compare_runs(db, ids["local"], ids["ray"])
            out.setdefault("equality", {})[str(n)] = cmp
            print(f"local vs ray: {cmp}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
