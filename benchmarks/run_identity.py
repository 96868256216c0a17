"""Forecasts of the recommended configuration through the service path, saved or compared.

Used to check that a refactor of the run path (or a second storage backend) changes no
forecast: save the forecasts of one version, then compare another version's to them.

    python benchmarks/run_identity.py --save /tmp/ref                 # demo shop + M5 CA_1
    python benchmarks/run_identity.py --compare /tmp/ref [--db postgresql://...]

Cases: the simulated demo shop (SeasonalNaive, AutoETS, the recommended
MedianEnsemble(LightGBM, LightGBMDirect); forecast and a 1-window backtest) and M5 CA_1
(the recommended configuration, 28 days). ``--db`` names the workspace to use (a DuckDB
folder is made per case by default; a postgresql:// URL gets a fresh schema per case).
Prints the largest absolute difference per case and the service's wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

RECOMMENDED = {"models": ["MedianEnsemble"], "model_params": {"members": ["LightGBM", "LightGBMDirect"]}}
M5 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m5_ca1"


def _open(db: str | None, case: str, tmp: Path):  # noqa: ANN202 - returns a Store
    from trendcast.data.store import open_store

    if db is None:
        return open_store(tmp / f"{case}.duckdb")
    if db.startswith(("postgresql://", "postgres://")):
        import uuid

        sep = "&" if "?" in db else "?"
        return open_store(f"{db}{sep}schema=identity_{case}_{uuid.uuid4().hex[:6]}")
    return open_store(Path(db) / f"{case}.duckdb")


def _frame(fc: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("unique_id", "ds", "cutoff") if c in fc.columns]
    return fc.sort_values(keys, ignore_index=True)


def run_cases(db: str | None, only: list[str]) -> dict[str, tuple[pd.DataFrame, float]]:
    from trendcast.services.forecast import run_backtest, run_forecast
    from trendcast.services.ingest import ingest_frames, ingest_m5

    out: dict[str, tuple[pd.DataFrame, float]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if "demo" in only:
            from trendcast.data.simulate import simulate_shop

            shop = simulate_shop(n_products=240, seed=7)
            with _open(db, "demo", tmp) as store:
                ingest_frames(store, {
                    "products": shop.products, "sales": shop.sales, "calendar_events": shop.calendar,
                }, source="demo-shop")
                t0 = time.perf_counter()
                fc = run_forecast(store, horizon=28, n_jobs=2)
                out["demo-default"] = (_frame(fc.forecasts), time.perf_counter() - t0)
                t0 = time.perf_counter()
                fc = run_forecast(store, horizon=28, n_jobs=2, **RECOMMENDED)
                out["demo-recommended"] = (_frame(fc.forecasts), time.perf_counter() - t0)
                t0 = time.perf_counter()
                bt = run_backtest(store, horizon=28, n_windows=1, n_jobs=2)
                out["demo-backtest"] = (_frame(bt.forecasts), time.perf_counter() - t0)
        if "m5" in only:
            with _open(db, "m5", tmp) as store:
                t0 = time.perf_counter()
                ingest_m5(store, M5)
                print(f"m5 ingest {time.perf_counter() - t0:.1f}s", flush=True)
                t0 = time.perf_counter()
                fc = run_forecast(store, horizon=28, n_jobs=2, **RECOMMENDED)
                out["m5-recommended"] = (_frame(fc.forecasts), time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="folder to write the reference forecasts to")
    group.add_argument("--compare", type=Path, help="folder holding reference forecasts")
    parser.add_argument("--db", help="workspace folder or postgresql:// URL (default: temporary DuckDB)")
    parser.add_argument("--only", nargs="+", default=["demo", "m5"], choices=["demo", "m5"])
    parser.add_argument("--tol", type=float, default=1e-9)
    args = parser.parse_args()
    results = run_cases(args.db, args.only)
    worst = 0.0
    for case, (frame, seconds) in results.items():
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(args.save / f"{case}.parquet")
            print(f"{case}: {len(frame):,} rows saved, {seconds:.1f}s")
            continue
        ref = pd.read_parquet(args.compare / f"{case}.parquet")
        if list(ref.columns) != list(frame.columns) or len(ref) != len(frame):
            print(f"{case}: DIFFERENT SHAPE {ref.shape} {list(ref.columns)} vs {frame.shape} "
                  f"{list(frame.columns)}")
            worst = np.inf
            continue
        num = [c for c in ref.columns if pd.api.types.is_float_dtype(ref[c])]
        same_keys = all(ref[c].equals(frame[c]) for c in ref.columns if c not in num)
        diff = float(np.nanmax(np.abs(ref[num].to_numpy() - frame[num].to_numpy()))) if num else 0.0
        nan_same = bool((ref[num].isna().to_numpy() == frame[num].isna().to_numpy()).all())
        worst = max(worst, diff if same_keys and nan_same else np.inf)
        print(f"{case}: {len(frame):,} rows, keys equal {same_keys}, NaNs equal {nan_same}, "
              f"max |diff| {diff:.3g}, {seconds:.1f}s")
    if args.compare:
        ok = worst <= args.tol
        print(f"{'IDENTICAL' if ok else 'DIFFERENT'} (worst {worst:.3g}, tolerance {args.tol:g})")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
