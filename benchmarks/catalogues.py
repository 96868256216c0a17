"""Forecast any catalogue: real weekly, daily, monthly and quarterly data that is not M5.

    python benchmarks/catalogues.py --json cat.json                    # every section
    python benchmarks/catalogues.py --only walmart --negatives clip
    python benchmarks/catalogues.py --only favorita monthly seed cleaning
    python benchmarks/catalogues.py --only walmart favorita --models recommended --peers \
        --drivers --data /work/shared/data                              # external drivers offered

Every trendcast model runs through the one run path (``Runner.cross_validation`` on the
data as a ``FrameSource``: gaps, ended series, the fallback chain, covariates); the peers are
statsforecast's SeasonalNaive and AutoETS called directly on the same gap-filled frames.

- **walmart**: ../shared/data/walmart_recruiting, 3,331 Store_Dept weekly series as the files
  come (missing weeks stay gaps; negative weeks are returns: ``--negatives keep`` or
  ``clip``), Walmart's holiday weeks as calendar events. Rolling backtest over the last 39
  weeks of the training file, 3 windows of 13. WMAE as the Kaggle competition defines it
  (absolute errors weighted 5 in holiday weeks, 1 otherwise) and MASE (season 52).
- **favorita**: ../shared/data/favorita_store_transactions, daily transactions of 54 stores
  (late openings, missing days), Ecuador's holidays. 28-day backtest, 3 windows; MASE, WAPE
  and the 80% interval's coverage.
- **monthly / quarterly**: ../shared/data/monthly_quarterly (wineind and shampoo sales,
  monthly; ausbeer, quarterly); the last 12 months / 8 quarters held out, MASE.
- **seed**: the six-month table of seed 003 (sales 100 ... 150): LinearTrend's month 7.
- **cleaning**: the simulated shop's stock-outs (``demo_truth``): detection precision and
  recall (and the best recall at precision 0.8 knowing the true demand), and WAPE with and
  without cleaning on affected and unaffected products.

``--drivers`` offers each catalogue's external series to the models that take them (the
``*Drivers`` members of ``recommended``): Walmart's CPI, unemployment and fuel price per store
(cut at the training file's last week, so they are lagged to be known at each cutoff) and its
markdowns (planned promotions: kept for the weeks after, so they act as the plan of a
scenario); Favorita's daily WTI oil price (lagged).

``recommended`` is trendcast's ``--model recommended``: one configuration per catalogue,
chosen inside each training window by validation WAPE (it never sees the test window).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
QS = [0.1, 0.5, 0.9]
TRENDCAST = ("recommended", "SeasonalNaive", "AutoETS")


def _runner_cv(name: str, source: object, h: int, n_windows: int,
               n_jobs: int) -> tuple[pd.DataFrame, float, list[str]]:
    from trendcast.engine.runner import Runner
    from trendcast.models.registry import make_model

    model = make_model(name, horizon=h) if name == "recommended" else make_model(name)
    t0 = time.perf_counter()
    out = Runner([model], n_jobs=n_jobs).cross_validation(source, h, n_windows=n_windows, quantiles=QS)
    names = {model.alias: "fc", **{f"{model.alias}-q-{q}": f"q{q}" for q in QS}}
    cv = out.forecasts.rename(columns=names)
    cols = ["unique_id", "ds", "cutoff", "y", "fc", *[f"q{q}" for q in QS]]
    return cv[cols], time.perf_counter() - t0, out.notes


def _peer_cv(model: str, filled: pd.DataFrame, freq: str, season: int, h: int, n_windows: int,
             n_jobs: int) -> tuple[pd.DataFrame, float]:
    """statsforecast called directly (intervals 80%: q0.1 / q0.9)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    m = SeasonalNaive(season_length=season) if model == "SeasonalNaive" else AutoETS(season_length=season)
    t0 = time.perf_counter()
    # statsforecast needs every series to cover the windows: series too short for them are left
    # out of its cross-validation (they are few and the same for every peer)
    sizes = filled.groupby("unique_id").size()
    keep = sizes.index[sizes >= h * n_windows + season + 1]
    if keep.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "cutoff", "y", "fc", "q0.1", "q0.5", "q0.9"]), 0.0
    sf = StatsForecast(models=[m], freq=freq, n_jobs=n_jobs)
    cv = sf.cross_validation(df=filled[filled["unique_id"].isin(keep)], h=h, n_windows=n_windows,
                             step_size=h, level=[80])
    cv = cv.reset_index() if "unique_id" not in cv.columns else cv
    name = str(m)
    cv = cv.rename(columns={name: "fc", f"{name}-lo-80": "q0.1", f"{name}-hi-80": "q0.9"})
    cv["q0.5"] = cv["fc"]
    # periods a series has no row for that fill_series estimated (a left-out row of a series that
    # always sells) have no actual: not scored, as trendcast's backtests do not score them
    missing = filled.attrs.get("estimated_at") or frozenset()
    if missing:
        at = pd.MultiIndex.from_arrays([cv["unique_id"].astype(str), cv["ds"]])
        cv = cv[~at.isin(pd.MultiIndex.from_tuples(sorted(missing)))]
    return cv[["unique_id", "ds", "cutoff", "y", "fc", "q0.1", "q0.5", "q0.9"]], time.perf_counter() - t0


def _seasonal_scale(y: pd.Series, season: int) -> float:
    values = y.to_numpy(dtype=float)
    if len(values) <= season:
        return np.nan
    return float(np.mean(np.abs(values[season:] - values[:-season])))


def _mase(cv: pd.DataFrame, history: pd.DataFrame, season: int) -> float:
    """Mean over series and windows of MAE / in-sample seasonal-naive MAE before the cutoff."""
    out = []
    for cutoff, part in cv.groupby("cutoff"):
        train = history[history["ds"] <= cutoff].sort_values(["unique_id", "ds"])
        scale = train.groupby("unique_id")["y"].apply(_seasonal_scale, season=season)
        mae = (part["y"] - part["fc"]).abs().groupby(part["unique_id"]).mean()
        ratio = (mae / scale.reindex(mae.index)).replace([np.inf, -np.inf], np.nan).dropna()
        out.append(ratio)
    return float(pd.concat(out).mean())


def _coverage(cv: pd.DataFrame) -> float:
    return float(((cv["y"] >= cv["q0.1"]) & (cv["y"] <= cv["q0.9"])).mean())


def _wape(cv: pd.DataFrame) -> float:
    return float((cv["y"] - cv["fc"]).abs().sum() / cv["y"].abs().sum())


def _row(name: str, cv: pd.DataFrame, seconds: float, **extra: float) -> dict:
    return {"model": name, "series": int(cv["unique_id"].nunique()), "rows": len(cv),
            "seconds": round(seconds, 1), **{k: round(v, 4) for k, v in extra.items()}}


# Walmart -------------------------------------------------------------------------------------


def walmart_drivers(folder: Path, train_end: pd.Timestamp, ids: pd.Series) -> pd.DataFrame:
    """Walmart's external series per Store_Dept series (``unique_id, name, ds, value``): CPI,
    unemployment and fuel price up to the training file's last week (what was published by
    then), markdowns 1-5 for every week of ``features.csv`` (planned promotions; blank = none)."""
    feats = pd.read_csv(folder / "features.csv", parse_dates=["Date"])
    macro_cols, plan_cols = ["CPI", "Unemployment", "Fuel_Price"], [f"MarkDown{k}" for k in range(1, 6)]
    feats[plan_cols] = feats[plan_cols].fillna(0.0)
    long = feats.melt(id_vars=["Store", "Date"], value_vars=macro_cols + plan_cols,
                      var_name="name", value_name="value").dropna(subset=["value"])
    long = long[(long["Date"] <= train_end) | long["name"].isin(plan_cols)]
    series = pd.DataFrame({"unique_id": ids.unique()})
    series["Store"] = series["unique_id"].str.split("_").str[0].astype(int)
    out = series.merge(long, on="Store").rename(columns={"Date": "ds"})
    return out[["unique_id", "name", "ds", "value"]]


def favorita_drivers(folder: Path) -> pd.DataFrame:
    """Favorita's daily WTI oil price (``name, ds, value``; blank days left out)."""
    oil = pd.read_csv(folder / "oil.csv", parse_dates=["date"]).dropna(subset=["dcoilwtico"])
    return pd.DataFrame({"name": "oil_wti", "ds": oil["date"], "value": oil["dcoilwtico"].astype(float)})


def walmart(negatives: str, n_jobs: int, trendcast: tuple[str, ...] = TRENDCAST,
            drivers: bool = False) -> dict:
    from trendcast.data.calendar import festival_calendar
    from trendcast.engine.runner import FrameSource
    from trendcast.features.series import fill_series

    folder = DATA / "walmart_recruiting"
    raw = pd.read_csv(folder / "train.csv.zip")
    raw["unique_id"] = raw["Store"].astype(str) + "_" + raw["Dept"].astype(str)
    raw["ds"] = pd.to_datetime(raw["Date"])
    y = raw["Weekly_Sales"].astype(float)
    n_negative = int((y < 0).sum())
    raw["y"] = y.clip(lower=0) if negatives == "clip" else y
    sales = raw[["unique_id", "ds", "y"]]
    holiday_weeks = raw.loc[raw["IsHoliday"], "ds"].drop_duplicates()
    # the Kaggle holiday flag marks the week ending that Friday: every day of it is in the event
    days = pd.concat([pd.Series(pd.date_range(d - pd.Timedelta(days=6), d)) for d in holiday_weeks])
    calendar = pd.concat([
        festival_calendar(sales["ds"].min(), sales["ds"].max() + pd.Timedelta(days=120), country="US"),
        pd.DataFrame({"ds": days, "name": "Walmart holiday week", "kind": "holiday", "region": "US",
                      "source": "walmart"})], ignore_index=True)
    macro = walmart_drivers(folder, sales["ds"].max(), sales["unique_id"]) if drivers else None
    source = FrameSource(sales, calendar=calendar, macro=macro)
    h, windows, season = 13, 3, 52
    weights = raw.set_index(["unique_id", "ds"])["IsHoliday"]
    filled = fill_series(sales, source.freq)
    cvs, secs, notes = _all_cv(source, filled, source.freq, season, h, windows, n_jobs, trendcast)

    def score(cv: pd.DataFrame) -> dict[str, float]:
        return {"WMAE": _wmae(cv, weights), "MASE": _mase(cv, filled, season), "coverage80": _coverage(cv)}

    return {"freq": source.freq, "series": len(source.ids), "negative_weeks": n_negative,
            "negatives": negatives, "drivers": drivers, "h": h, "windows": windows,
            **_score_all(cvs, secs, score),
            "notes": notes}


PEERS = ("SeasonalNaive", "AutoETS")


def _all_cv(source: object, filled: pd.DataFrame, freq: str, season: int, h: int, windows: int,
            n_jobs: int, trendcast: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """Cross-validation of trendcast's models through the run path and of the peers called
    directly: frames, seconds and run notes by row label."""
    cvs, secs, notes = {}, {}, {}
    for name in trendcast:
        label = f"trendcast {name}"
        cvs[label], secs[label], notes[name] = _runner_cv(name, source, h, windows, n_jobs)
        print(label, f"{secs[label]:.0f} s", flush=True)
    for peer in PEERS:
        label = f"statsforecast {peer}({season})"
        cvs[label], secs[label] = _peer_cv(peer, filled, freq, season, h, windows, n_jobs)
        print(label, f"{secs[label]:.0f} s", flush=True)
    return cvs, secs, notes


def _score_all(cvs: dict, secs: dict, score: object) -> dict:
    """Each model scored on its own rows, and every model on the rows all of them forecast
    (statsforecast leaves out series too short for its windows; trendcast forecasts them)."""
    key = ["unique_id", "ds", "cutoff"]
    common = None
    for cv in cvs.values():
        keys = cv[key].drop_duplicates()
        common = keys if common is None else common.merge(keys, on=key)
    rows, rows_common = [], []
    for label, cv in cvs.items():
        rows.append(_row(label, cv, secs[label], **score(cv)))
        shared = cv.merge(common, on=key)
        rows_common.append(_row(label, shared, secs[label], **score(shared)))
        print(rows[-1], rows_common[-1], flush=True)
    return {"rows": rows, "rows_common": rows_common}


def _wmae(cv: pd.DataFrame, holiday: pd.Series) -> float:
    w = np.where(cv.set_index(["unique_id", "ds"]).index.map(holiday).fillna(False).astype(bool), 5.0, 1.0)
    return float((w * (cv["y"] - cv["fc"]).abs()).sum() / w.sum())


# Favorita ------------------------------------------------------------------------------------


def favorita(n_jobs: int, trendcast: tuple[str, ...] = TRENDCAST, drivers: bool = False) -> dict:
    from trendcast.data.calendar import festival_calendar
    from trendcast.engine.runner import FrameSource
    from trendcast.features.series import fill_series

    raw = pd.read_csv(DATA / "favorita_store_transactions" / "transactions.csv")
    sales = pd.DataFrame({"unique_id": "store_" + raw["store_nbr"].astype(str),
                          "ds": pd.to_datetime(raw["date"]), "y": raw["transactions"].astype(float)})
    calendar = festival_calendar(sales["ds"].min(), sales["ds"].max() + pd.Timedelta(days=60), country="EC")
    macro = favorita_drivers(DATA / "favorita_store_transactions") if drivers else None
    source = FrameSource(sales, calendar=calendar, macro=macro)
    h, windows, season = 28, 3, 7
    filled = fill_series(sales, "D")
    cvs, secs, notes = _all_cv(source, filled, "D", season, h, windows, n_jobs, trendcast)

    def score(cv: pd.DataFrame) -> dict[str, float]:
        return {"MASE": _mase(cv, filled, season), "WAPE": _wape(cv), "coverage80": _coverage(cv)}

    return {"series": len(source.ids), "h": h, "windows": windows, "drivers": drivers,
            **_score_all(cvs, secs, score), "notes": notes}


# Monthly and quarterly -----------------------------------------------------------------------


def periodic(n_jobs: int) -> dict:
    from trendcast.engine.runner import FrameSource
    from trendcast.features.frequency import default_season_length

    out = {}
    for file, h in (("monthly.csv", 12), ("quarterly.csv", 8)):
        df = pd.read_csv(DATA / "monthly_quarterly" / file, parse_dates=["ds"])
        df = df.dropna(subset=["y"])  # ausbeer's last quarter is blank in the file: ingest refuses it
        source = FrameSource(df)
        season = default_season_length(source.freq)
        rows = []
        for uid, series in df.groupby("unique_id"):
            one = FrameSource(series)
            for name in (*TRENDCAST, "LinearTrend", "AutoARIMA"):
                cv, secs, _ = _runner_cv(name, one, h, 1, n_jobs)
                rows.append({"series": uid, **_row(f"trendcast {name}", cv, secs,
                                                   MASE=_mase(cv, series, season))})
            for peer in ("SeasonalNaive", "AutoETS"):
                cv, secs = _peer_cv(peer, series, source.freq, season, h, 1, n_jobs)
                if cv.empty:
                    rows.append({"series": uid, "model": f"statsforecast {peer}({season})",
                                 "note": "too short for the peer's seasonal model"})
                    continue
                rows.append({"series": uid, **_row(f"statsforecast {peer}({season})", cv, secs,
                                                   MASE=_mase(cv, series, season))})
            for r in rows[-7:]:
                print(r, flush=True)
        out[file] = {"freq": source.freq, "h": h, "rows": rows}
    return out


def seed_table() -> dict:
    from trendcast.engine.runner import FrameSource, Runner
    from trendcast.models.registry import make_model

    df = pd.DataFrame({"unique_id": "shop", "ds": pd.date_range("2024-01-01", periods=6, freq="MS"),
                       "y": [100.0, 110, 120, 130, 140, 150]})
    out = {}
    for name in ("LinearTrend", "recommended", "AutoETS", "SeasonalNaive"):
        model = make_model(name, horizon=1) if name == "recommended" else make_model(name)
        res = Runner([model]).forecast(FrameSource(df), 1, quantiles=QS)
        out[name] = {"month_7": round(float(res.forecasts[model.alias].iloc[0]), 2), "notes": res.notes}
    return out


SECTIONS = ("walmart", "favorita", "monthly", "seed", "cleaning")


def main() -> None:
    global DATA, PEERS  # noqa: PLW0603 - the loaders read the folder and peers given here
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--negatives", choices=["keep", "clip"], default="keep")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(TRENDCAST),
                        help="trendcast models for the walmart and favorita sections")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS),
                        help="statsforecast peers for walmart and favorita (none: --peers alone)")
    parser.add_argument("--drivers", action="store_true",
                        help="offer the catalogues' external series (CPI, fuel, markdowns; oil)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the shared data sets")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    DATA, PEERS = args.data, tuple(args.peers)
    warnings.filterwarnings("ignore")
    results: dict = {"load_before": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if "seed" in args.only:
        results["seed"] = seed_table()
        print(results["seed"], flush=True)
    if "monthly" in args.only:
        results["periodic"] = periodic(args.jobs)
    if "favorita" in args.only:
        results["favorita"] = favorita(args.jobs, tuple(args.models), args.drivers)
    if "walmart" in args.only:
        results["walmart"] = walmart(args.negatives, args.jobs, tuple(args.models), args.drivers)
    if "cleaning" in args.only:
        from cleaning_bench import cleaning  # noqa: PLC0415 - beside this script

        results["cleaning"] = cleaning(args.jobs)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["load_after"] = os.getloadavg()[0]
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
