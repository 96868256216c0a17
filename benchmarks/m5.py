"""M5 accuracy benchmark on one store: WRMSSE (store, category, department, item), SPL,
wall time and peak memory, trendcast's models beside the libraries used directly.

    python benchmarks/m5.py --data ../shared/data/m5_ca1 --store CA_1 --json out.json
    python benchmarks/m5.py --data ../shared/data/m5_ca1 --only trendcast.Fracast --json fm.json
    python benchmarks/m5.py --data ../shared/data/m5_ca1 --validate --json fm.json --only \
        trendcast.Fracast "trendcast.MedianEnsemble(LightGBM,LightGBMDirect,Fracast)"

Protocol: train on d_1..d_1941, forecast d_1942..d_1969 (the official 28-day test). Known
future covariates are the ones M5 allows: sell prices and the calendar (events, SNAP days).
trendcast's recommended configuration ("best") is chosen among its candidates by the mean
WRMSSE of two backtest windows that end before d_1942 (cutoffs d_1885 and d_1913); the test
window is never looked at for that choice. Foundation and deep models and the ensembles that
include them (FOUNDATION, COMBOS) run only when named in ``--only``; ``--validate`` scores them
on the same two windows. Each model runs in its own forked process, so its
peak memory (max RSS, which includes the loaded data) is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.m5 import find_m5_files, read_m5  # noqa: E402
from trendcast.evaluation.wrmsse import aggregate_to_level, level_weights, spl, wrmsse  # noqa: E402
from trendcast.features.calendar import event_features  # noqa: E402
from trendcast.models.base import interval_column  # noqa: E402
from trendcast.models.calibration import QuantileCalibration, choose_calibration  # noqa: E402
from trendcast.models.registry import make_model  # noqa: E402
from trendcast.models.statistical import clip_negative  # noqa: E402
from trendcast.schema import quantile_column  # noqa: E402

H = 28
M5_QUANTILES = (0.005, 0.025, 0.165, 0.25, 0.5, 0.75, 0.835, 0.975, 0.995)
# forecast also the 80% band's ends, for its coverage (SPL scores the nine M5 levels only)
FORECAST_QUANTILES = tuple(sorted({*M5_QUANTILES, 0.1, 0.9}))


# Data ------------------------------------------------------------------------------------

def load(data: Path, store: str) -> dict[str, pd.DataFrame]:
    """Train frame with covariates, products, test actuals and future covariates."""
    m5 = read_m5(data)
    products = m5.products[m5.products["store"] == store].reset_index(drop=True)
    if products.empty:
        raise SystemExit(f"store {store!r} is not in {data}; stores: {sorted(m5.products['store'].unique())}")
    ids = set(products["unique_id"])
    sales = m5.sales[m5.sales["unique_id"].isin(ids)].reset_index(drop=True)
    files = find_m5_files(data)
    test_path = sorted(Path(data).glob("sales_test_evaluation*.csv*"))
    if not test_path:
        raise SystemExit(f"{data}: no sales_test_evaluation*.csv with the d_1942..d_1969 actuals")
    raw = pd.read_csv(test_path[0])
    raw = raw[raw["store_id"] == store]
    days = [c for c in raw.columns if c.startswith("d_")]
    cal = pd.read_csv(files["calendar"], parse_dates=["date"]).set_index("d")
    dates = cal.loc[days, "date"].to_numpy()
    test = pd.DataFrame({
        "unique_id": np.repeat((raw["item_id"] + "_" + raw["store_id"]).to_numpy(), len(days)),
        "ds": np.tile(dates, len(raw)),
        "y": raw[days].to_numpy(dtype=float).ravel(),
    })
    # daily prices over the test window from the weekly price file
    prices = pd.read_csv(files["prices"])
    prices = prices[prices["store_id"] == store]
    weeks = cal.loc[days, ["date", "wm_yr_wk"]]
    fut_prices = weeks.merge(prices, on="wm_yr_wk")
    fut_prices["unique_id"] = fut_prices["item_id"] + "_" + fut_prices["store_id"]
    fut_prices = fut_prices.rename(columns={"date": "ds", "sell_price": "price"})
    feats = event_features(pd.date_range(sales["ds"].min(), test["ds"].max()), m5.calendar)
    train = sales.drop(columns="promo").merge(feats, on="ds", how="left")  # M5 has no promo data
    train = train.merge(products[["unique_id", "category", "department"]], on="unique_id")
    future = test[["unique_id", "ds"]].merge(fut_prices[["unique_id", "ds", "price"]],
                                             on=["unique_id", "ds"], how="left")
    future = future.merge(feats, on="ds", how="left")
    return {"train": train, "products": products, "test": test, "future": future}


def window(d: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """A backtest window inside the training data: train up to cutoff, the next H days as test."""
    tr = d["train"]
    end = cutoff + pd.Timedelta(days=H)
    test = tr[(tr["ds"] > cutoff) & (tr["ds"] <= end)]
    future = test.drop(columns=["y", "category", "department", "promo"], errors="ignore")
    return {"train": tr[tr["ds"] <= cutoff], "products": d["products"],
            "test": test[["unique_id", "ds", "y"]], "future": future}


# Models ------------------------------------------------------------------------------------

JOBS = {"n": 2}  # threads per model (--jobs)


def sf_model(kind: str) -> Callable[[dict], pd.DataFrame]:
    """statsforecast used directly, as a peer."""
    def run(d: dict) -> pd.DataFrame:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoETS, SeasonalNaive

        model = SeasonalNaive(season_length=7) if kind == "SeasonalNaive" else AutoETS(season_length=7)
        sf = StatsForecast(models=[model], freq="D", n_jobs=JOBS["n"])
        levels = sorted({round(abs(1 - 2 * q) * 100, 6) for q in FORECAST_QUANTILES if q != 0.5})
        levels = [int(lv) if float(lv).is_integer() else lv for lv in levels]
        fc = sf.forecast(df=d["train"][["unique_id", "ds", "y"]], h=H, level=levels)
        name = str(model)
        out = fc[["unique_id", "ds"]].copy()
        out["yhat"] = fc[name].clip(lower=0).to_numpy()
        for q in FORECAST_QUANTILES:
            out[quantile_column("yhat", q)] = fc[interval_column(name, q)].clip(lower=0).to_numpy()
        return out
    return run


def mlf_plain(d: dict) -> pd.DataFrame:
    """A plain mlforecast LightGBM (tweedie, lags 7/14/28, no covariates), as a peer."""
    import lightgbm as lgb
    from mlforecast import MLForecast

    mlf = MLForecast(models={"yhat": lgb.LGBMRegressor(objective="tweedie", n_estimators=200,
                                                       verbose=-1, n_jobs=2, random_state=0)},
                     freq="D", lags=[7, 14, 28], date_features=["dayofweek", "month"],
                     num_threads=2)
    mlf.fit(d["train"][["unique_id", "ds", "y"]])
    fc = mlf.predict(H)
    fc["yhat"] = fc["yhat"].clip(lower=0)
    return fc


def tc_model(name: str, **params) -> Callable[[dict], pd.DataFrame]:
    """A trendcast model through its public interface."""
    def run(d: dict) -> pd.DataFrame:
        model = make_model(name, alias="yhat", n_jobs=JOBS["n"], **params)
        train = d["train"]
        if not model.supports_exog:
            train = train[["unique_id", "ds", "y"]]
        model.fit(train)
        fc = model.predict(H, X_df=d["future"], quantiles=list(FORECAST_QUANTILES))
        return clip_negative(fc)  # as trendcast's services do: sales are never negative
    return run


PEERS: dict[str, tuple[str, Callable[[dict], pd.DataFrame]]] = {
    "statsforecast.SeasonalNaive": ("baseline", sf_model("SeasonalNaive")),
    "statsforecast.AutoETS": ("statistical", sf_model("AutoETS")),
    "mlforecast.LightGBM": ("boosting", mlf_plain),
}

CANDIDATES: dict[str, tuple[str, Callable[[dict], pd.DataFrame]]] = {
    "trendcast.SeasonalWindowAverage": ("baseline", tc_model("SeasonalWindowAverage")),
    "trendcast.LightGBM": ("boosting", tc_model("LightGBM")),
    "trendcast.LightGBMDirect": ("boosting", tc_model("LightGBMDirect")),
    "trendcast.MedianEnsemble(LightGBM,LightGBMDirect)": (
        "ensemble", tc_model("MedianEnsemble", members=("LightGBM", "LightGBMDirect"))),
}
# In validation an ensemble's forecast is recomputed from its members' cached forecasts
# (the same numbers: the median of two is their mean, point and quantiles); on the test it
# runs for real, unless --forecast-cache is given (then from its members' forecasts too).
VALIDATION_FROM_MEMBERS = {
    "trendcast.MedianEnsemble(LightGBM,LightGBMDirect)": ("trendcast.LightGBM",
                                                         "trendcast.LightGBMDirect"),
}
EXTRA: dict[str, tuple[str, Callable[[dict], pd.DataFrame]]] = {
    "trendcast.SeasonalNaive": ("baseline", tc_model("SeasonalNaive")),
    "trendcast.CrostonOptimized": ("intermittent", tc_model("CrostonOptimized")),
}


# Foundation and deep models (run them with --only; not part of the choice of "best") -----------

# Fracast's head predicts 0.1..0.9; the M5 levels 0.005/0.025/0.975/0.995 need its tails
# extrapolated (two-piece normal, trendcast.models.quantile_map), an assumption stated in the docs.
FRACAST_TUNE = {"fine_tune_steps": 150, "fine_tune_lr": 1e-4, "fine_tune_batch_size": 16,
                "fine_tune_horizon": H}
# local weights folders (no network here); a model without one is skipped
WEIGHT_PATHS: dict[str, str | None] = {"trendcast.ChronosBolt": None, "trendcast.Chronos2": None,
                                       "trendcast.TimesFM": None}


def tc_pretrained(name: str, **params) -> Callable[[dict], pd.DataFrame]:
    """A trendcast foundation model; its fine-tuning report (if any) rides in ``fc.attrs``."""
    def run(d: dict) -> pd.DataFrame:
        model = make_model(name, alias="yhat", n_jobs=2, tails="normal", **params)
        train = d["train"] if model.supports_exog else d["train"][["unique_id", "ds", "y"]]
        model.fit(train)
        fc = clip_negative(model.predict(H, X_df=d["future"], quantiles=list(M5_QUANTILES)))
        if model.fine_tune_report_:
            fc.attrs["fine_tune"] = model.fine_tune_report_
        return fc
    return run


def with_weights(name: str, model: str) -> Callable[[dict], pd.DataFrame]:
    def run(d: dict) -> pd.DataFrame:
        return tc_pretrained(model, model_path=WEIGHT_PATHS[name])(d)
    return run


FOUNDATION: dict[str, tuple[str, Callable[[dict], pd.DataFrame]]] = {
    "trendcast.Fracast": ("foundation", tc_pretrained("Fracast")),
    "trendcast.Fracast(fine-tuned)": ("foundation", tc_pretrained("Fracast", **FRACAST_TUNE)),
    "trendcast.NHITS": ("deep", tc_model("NHITS")),
    "trendcast.PatchTST": ("deep", tc_model("PatchTST")),
    "trendcast.ChronosBolt": ("foundation", with_weights("trendcast.ChronosBolt", "ChronosBolt")),
    "trendcast.Chronos2": ("foundation", with_weights("trendcast.Chronos2", "Chronos2")),
    "trendcast.TimesFM": ("foundation", with_weights("trendcast.TimesFM", "TimesFM")),
}
# Ensembles with a foundation model: point and each quantile are the median over the members'
# forecasts, which is what trendcast's MedianEnsemble computes. Each member runs once (in its
# own process) and its forecast is reused, so an ensemble's seconds are the sum of its members'
# seconds and its peak MB the largest member's.
COMBOS: dict[str, tuple[str, ...]] = {
    "trendcast.MedianEnsemble(LightGBM,LightGBMDirect,Fracast)": (
        "trendcast.LightGBM", "trendcast.LightGBMDirect", "trendcast.Fracast"),
    "trendcast.MedianEnsemble(LightGBM,LightGBMDirect,Fracast(fine-tuned))": (
        "trendcast.LightGBM", "trendcast.LightGBMDirect", "trendcast.Fracast(fine-tuned)"),
    "trendcast.MedianEnsemble(LightGBMDirect,Fracast(fine-tuned))": (
        "trendcast.LightGBMDirect", "trendcast.Fracast(fine-tuned)"),
}


def median_of(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Column-wise median of the members' forecasts (point and every shared quantile)."""
    frames = [p.set_index(["unique_id", "ds"]).sort_index() for p in parts]
    cols = [c for c in frames[0].columns if all(c in f.columns for f in frames)]
    stacked = np.stack([f[cols].to_numpy(dtype=float) for f in frames])
    return pd.DataFrame(np.median(stacked, axis=0), index=frames[0].index, columns=cols).reset_index()


# Running -------------------------------------------------------------------------------------

def _child(fn, d, conn) -> None:  # type: ignore[no-untyped-def]
    try:
        start = time.perf_counter()
        fc = fn(d)
        secs = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(("ok", fc, secs, peak))
    except Exception as exc:  # report any failure to the parent, which prints it
        conn.send(("error", f"{type(exc).__name__}: {exc}", 0.0, 0.0))
    finally:
        conn.close()


def run_isolated(fn: Callable[[dict], pd.DataFrame], d: dict) -> tuple[pd.DataFrame, float, float]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, d, child))
    proc.start()
    status, payload, secs, peak = parent.recv()
    proc.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload, secs, peak


def _cached(folder: Path, name: str, key: object) -> Path:
    tag = "test" if key == "test" else pd.Timestamp(key).strftime("%Y%m%d")
    return folder / f"{name.replace('/', '_')}__{tag}.parquet"


AGG_LEVELS = ("store", "store_cat", "store_dept")
# Models that forecast each series on its own: for SPL they forecast the aggregate series
# (store, categories, departments) themselves, as M5 scores each level's own quantiles.
PER_SERIES = {"statsforecast.SeasonalNaive", "statsforecast.AutoETS", "trendcast.SeasonalNaive",
              "trendcast.SeasonalWindowAverage", "trendcast.CrostonOptimized"}
REFERENCE = "trendcast.SeasonalWindowAverage"  # blended into the quantiles by `blend`


def aggregate_forecasts(name: str, d: dict) -> dict[str, pd.DataFrame]:
    """A per-series model's own quantile forecasts of each aggregate series, per level."""
    ys = d["train"][["unique_id", "ds", "y"]]
    parts = {lv: aggregate_to_level(ys, d["products"], lv, ["y"]) for lv in AGG_LEVELS}
    train = pd.concat(parts.values(), ignore_index=True)
    fc, _, _ = run_isolated(every_model(name), {"train": train, "future": None})
    return {lv: fc[fc["unique_id"].isin(set(part["unique_id"]))] for lv, part in parts.items()}


def every_model(name: str) -> Callable[[dict], pd.DataFrame]:
    return {**PEERS, **CANDIDATES, **EXTRA, **FOUNDATION}[name][1]


def _quantiles(frame: pd.DataFrame) -> list[str]:
    return ["yhat", *[quantile_column("yhat", q) for q in FORECAST_QUANTILES
                      if quantile_column("yhat", q) in frame.columns]]


def validation_frame(windows: list[tuple[pd.Timestamp, dict, pd.DataFrame, pd.DataFrame | None]],
                     level: str) -> pd.DataFrame:
    """Backtest frame (``unique_id, ds, cutoff, y, yhat, yhat-q-*``, reference as ``ref``) of
    the item forecasts of each validation window, summed to ``level``."""
    frames = []
    for cut, w, fc, ref in windows:
        cols = _quantiles(fc)
        part = fc[["unique_id", "ds", *cols]]
        if ref is not None and level == "item":
            rq = _quantiles(ref)
            part = part.merge(ref[["unique_id", "ds", *rq]].rename(
                columns={c: c.replace("yhat", "ref", 1) for c in rq}), on=["unique_id", "ds"])
        if level != "item":
            part = aggregate_to_level(part, w["products"], level, cols)
        y = w["test"] if level == "item" else aggregate_to_level(w["test"], w["products"], level, ["y"])
        frames.append(part.merge(y, on=["unique_id", "ds"]).assign(cutoff=cut))
    return pd.concat(frames, ignore_index=True)


def fit_calibration(windows: list) -> dict[str, QuantileCalibration]:
    """Per M5 level, the calibration method with the lowest cross-fitted validation SPL (the
    two windows swap roles: each is scored by a calibration fitted on the other); at the item
    level only among the methods whose 50/67/95/99% bands cover within 5 points of nominal."""
    cut, w, _, _ = windows[-1]
    lw = level_weights(w["train"][["unique_id", "ds", "y", "price"]], w["test"], w["products"])
    out = {}
    for level in ("item", *AGG_LEVELS):
        cv = validation_frame(windows, level)
        weights = lw[lw["level"] == level].set_index("unique_id")["loss_weight"]
        ref = "ref" if level == "item" and "ref" in cv.columns else None
        # coverage constrains the item level's choice (3,049 series x 28 days per window); an
        # aggregate level has 1-7 series, too few rows for a coverage test: SPL alone decides
        out[level] = choose_calibration(cv, "yhat", M5_QUANTILES, reference=ref, weights=weights,
                                        volume_bands=5 if level == "item" else 1,
                                        coverage_tolerance=0.05 if level == "item" else 1.0)
    return out


def calibrated(fc: pd.DataFrame, ref: pd.DataFrame | None, cals: dict[str, QuantileCalibration],
               products: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Item forecasts with calibrated quantiles, and each aggregate level's own (its summed
    point forecast and summed member quantiles, calibrated on that level's validation)."""
    def apply(frame: pd.DataFrame, cal: QuantileCalibration) -> pd.DataFrame:
        frame = frame.sort_values(["unique_id", "ds"], ignore_index=True)
        values = cal.apply(frame, "yhat", FORECAST_QUANTILES, reference="ref")
        out = frame[["unique_id", "ds", "yhat"]].copy()
        for q, v in values.items():
            out[quantile_column("yhat", q)] = v
        return out

    item = fc[["unique_id", "ds", *_quantiles(fc)]]
    if ref is not None:
        rq = _quantiles(ref)
        item = item.merge(ref[["unique_id", "ds", *rq]].rename(
            columns={c: c.replace("yhat", "ref", 1) for c in rq}), on=["unique_id", "ds"])
    levels = {lv: apply(aggregate_to_level(fc, products, lv, _quantiles(fc)), cals[lv])
              for lv in AGG_LEVELS}
    return apply(item, cals["item"]), levels


def coverage(test: pd.DataFrame, fc: pd.DataFrame) -> dict[str, float]:
    """Share of item-day actuals inside the 50%, 80% and 95% bands."""
    m = test.merge(fc, on=["unique_id", "ds"])
    out = {}
    for lo, hi, name in ((0.25, 0.75, "50"), (0.1, 0.9, "80"), (0.025, 0.975, "95")):
        a, b = quantile_column("yhat", lo), quantile_column("yhat", hi)
        if a in m.columns and b in m.columns:
            out[f"coverage_{name}"] = round(float(((m["y"] >= m[a]) & (m["y"] <= m[b])).mean()), 4)
    return out


def score(d: dict, fc: pd.DataFrame, *, levels: dict[str, pd.DataFrame] | None = None) -> dict:
    """WRMSSE, and SPL on each level's own quantiles (``levels``) when given, else on summed
    item quantiles (marked ``spl_summed``, the over-wide approximation)."""
    train = d["train"][["unique_id", "ds", "y", "price"]]
    acc = wrmsse(train, d["test"], fc, d["products"], model="yhat")
    out = {"wrmsse": round(acc.total, 4), "levels": {k: round(v, 4) for k, v in acc.levels.items()}}
    if all(quantile_column("yhat", q) in fc.columns for q in M5_QUANTILES):
        unc = spl(train, d["test"], fc, d["products"], model="yhat", quantiles=M5_QUANTILES,
                  level_forecasts=levels, sum_item_quantiles=levels is None)
        out["spl" if levels is not None else "spl_summed"] = round(unc.total, 4)
        out["spl_levels"] = {k: round(v, 4) for k, v in unc.levels.items()}
        out.update(coverage(d["test"], fc))
    else:
        out["spl"] = None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", default="CA_1")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip", nargs="*", default=[], help="model names to skip")
    parser.add_argument("--validation-cache", type=Path, default=None,
                        help="JSON file of validation scores: read if present, else written")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these models (no choice of best); --json is then merged into")
    parser.add_argument("--validate", action="store_true",
                        help="with --only, also score the chosen foundation/deep models on the two "
                             "validation windows (as the candidates are)")
    parser.add_argument("--jobs", type=int, default=2, help="threads per model (1 on a busy machine)")
    parser.add_argument("--forecast-cache", type=Path, default=None,
                        help="folder of parquet forecasts per model and window: read if present, "
                             "else written (ensembles of cached members are then their median)")
    parser.add_argument("--chronos-bolt-path", default=None, help="local Chronos-Bolt weights folder")
    parser.add_argument("--chronos2-path", default=None, help="local Chronos-2 weights folder")
    parser.add_argument("--timesfm-path", default=None, help="local TimesFM 2.5 (200M) weights folder")
    opts = parser.parse_args()
    JOBS["n"] = opts.jobs
    WEIGHT_PATHS.update({"trendcast.ChronosBolt": opts.chronos_bolt_path,
                         "trendcast.Chronos2": opts.chronos2_path, "trendcast.TimesFM": opts.timesfm_path})
    every = {**PEERS, **CANDIDATES, **EXTRA, **FOUNDATION,
             **{name: ("ensemble", None) for name in COMBOS}}
    unknown = sorted(set(opts.only or []) - set(every))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; known: {sorted(every)}")

    t0 = time.perf_counter()
    d = load(opts.data, opts.store)
    print(f"loaded {d['train']['unique_id'].nunique()} series in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)

    # 1. choose trendcast's configuration on windows before the test
    last = d["train"]["ds"].max()
    cutoffs = [last - pd.Timedelta(days=2 * H), last - pd.Timedelta(days=H)]
    validation: dict[str, list[float]] = {}
    if opts.validation_cache and opts.validation_cache.exists():
        validation = json.loads(opts.validation_cache.read_text())
        print(f"validation scores read from {opts.validation_cache}", file=sys.stderr)
    memo: dict[tuple[str, object], tuple[pd.DataFrame, float, float]] = {}

    def forecast(name: str, w: dict, key: object) -> tuple[pd.DataFrame, float, float]:
        """A model's forecast on window ``w`` (run once per key; ensembles from their members)."""
        if (name, key) not in memo:
            if name in COMBOS:
                runs = [forecast(m, w, key) for m in COMBOS[name]]
                memo[(name, key)] = (median_of([r[0] for r in runs]), sum(r[1] for r in runs),
                                     max(r[2] for r in runs))
            elif opts.forecast_cache and _cached(opts.forecast_cache, name, key).exists():
                fc = pd.read_parquet(_cached(opts.forecast_cache, name, key))
                memo[(name, key)] = (fc, float("nan"), float("nan"))
            elif name in VALIDATION_FROM_MEMBERS and (key != "test" or opts.forecast_cache):
                runs = [forecast(m, w, key) for m in VALIDATION_FROM_MEMBERS[name]]
                memo[(name, key)] = (median_of([r[0] for r in runs]), sum(r[1] for r in runs),
                                     max(r[2] for r in runs))
            else:
                memo[(name, key)] = run_isolated(every[name][1], w)
                if opts.forecast_cache:
                    opts.forecast_cache.mkdir(parents=True, exist_ok=True)
                    memo[(name, key)][0].to_parquet(_cached(opts.forecast_cache, name, key))
        return memo[(name, key)]

    wanted = set(opts.only or [])
    extra = [k for k in (*FOUNDATION, *COMBOS) if opts.validate and k in wanted]
    for name in [*CANDIDATES, *extra]:
        if name in opts.skip or name in validation or (opts.only is not None and name not in opts.only):
            continue
        if name in WEIGHT_PATHS and not WEIGHT_PATHS[name]:
            continue
        for cut in cutoffs:
            w = window(d, cut)
            fc = forecast(name, w, cut)[0]
            validation.setdefault(name, []).append(
                wrmsse(w["train"][["unique_id", "ds", "y", "price"]], w["test"], fc,
                       w["products"], model="yhat").total)
        print(f"validation {name}: {np.round(validation[name], 4).tolist()}", file=sys.stderr)
    if opts.validation_cache:
        opts.validation_cache.write_text(json.dumps({k: v for k, v in validation.items()
                                                     if k in CANDIDATES}, indent=2))
    chosen = {k: v for k, v in validation.items() if k in CANDIDATES}
    best = min(chosen, key=lambda k: float(np.mean(chosen[k]))) if chosen else None

    # 1b. each LightGBM candidate's quantiles: the calibration method with the lowest
    # cross-fitted SPL on the validation windows, per level (needs its validation forecasts)
    calibrations: dict[str, dict[str, QuantileCalibration]] = {}
    for name in CANDIDATES:
        if name in PER_SERIES or name in opts.skip or (opts.only is not None and name not in opts.only):
            continue
        windows = []
        for cut in cutoffs:
            w = window(d, cut)
            fc = forecast(name, w, cut)[0]
            if not all(quantile_column("yhat", q) in fc.columns for q in M5_QUANTILES):
                break
            windows.append((cut, w, fc, forecast(REFERENCE, w, cut)[0]))
        else:
            calibrations[name] = fit_calibration(windows)
            print(f"calibration {name}: " + "; ".join(
                f"{lv} {c.describe()}" for lv, c in calibrations[name].items()), file=sys.stderr)

    # 2. the official test for every model
    results: dict[str, object] = {}
    for name, (family, _) in every.items():
        if name in opts.skip or (opts.only is not None and name not in opts.only):
            continue
        if opts.only is None and (name in FOUNDATION or name in COMBOS):
            continue
        if name in WEIGHT_PATHS and not WEIGHT_PATHS[name]:
            results[name] = {"family": family, "skipped": "no local weights (pass --chronos-bolt-path / "
                             "--chronos2-path / --timesfm-path; this machine has no network to "
                             "download them)"}
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
            continue
        fc, secs, peak = forecast(name, d, "test")
        cached = not np.isfinite(secs)  # read from --forecast-cache: no timing of its own
        entry = {"family": family, **score(d, fc), "seconds": None if cached else round(secs, 1),
                 "peak_mb": None if cached or not np.isfinite(peak) else round(peak)}
        if name in PER_SERIES and "spl_summed" in entry:  # each level forecast by the model itself
            own = score(d, fc, levels=aggregate_forecasts(name, d))
            entry.update(spl=own["spl"], spl_levels=own["spl_levels"], spl_aggregates="own forecasts")
        if name in calibrations:
            item, levels = calibrated(fc, forecast(REFERENCE, d, "test")[0], calibrations[name],
                                      d["products"])
            cal = score(d, item, levels=levels)
            entry.update(spl=cal["spl"], spl_levels=cal["spl_levels"],
                         spl_aggregates="summed point, calibrated on validation",
                         calibration={lv: {"method": c.method,
                                           "validation_spl": {k: round(v, 4) for k, v in c.scores.items()}}
                                      for lv, c in calibrations[name].items()},
                         coverage_raw={k: v for k, v in entry.items() if k.startswith("coverage_")},
                         **{k: v for k, v in cal.items() if k.startswith("coverage_")})
        if name in COMBOS:
            entry["members"] = list(COMBOS[name])
        if fc.attrs.get("fine_tune"):
            entry["fine_tune"] = fc.attrs["fine_tune"]
        if name in validation:
            entry["validation_wrmsse"] = [round(v, 4) for v in validation[name]]
        results[name] = entry
        print(f"{name}: {json.dumps(entry)}", file=sys.stderr)
    if opts.only is None or set(chosen) == set(CANDIDATES):  # every candidate validated
        results["best"] = best
    if opts.only is not None and opts.json and opts.json.exists():  # --only: merged into it
        results = {**json.loads(opts.json.read_text()), **results}
    text = json.dumps(results, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text)


if __name__ == "__main__":
    main()
