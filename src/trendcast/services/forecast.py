"""Forecast and backtest use cases: read sales, run models, store the run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.evaluation.backtest import backtest
from trendcast.evaluation.metrics import score
from trendcast.models.base import check_horizon, check_quantiles
from trendcast.models.registry import make_model
from trendcast.models.statistical import clip_negative, default_season_length, infer_freq
from trendcast.schema import format_quantile

Progress = Callable[[str, int, int], None]
DEFAULT_MODELS = ("SeasonalNaive", "AutoETS")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class RunResult:
    """A stored forecast or backtest run."""

    run_id: str
    kind: str
    models: list[str]
    forecasts: pd.DataFrame
    metrics: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def load_series(store: Store, ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Sales as a gap-free long frame; missing days inside a series count as zero sales."""
    from utilsforecast.preprocessing import fill_gaps

    where, params = None, None
    if ids:
        where = "unique_id IN (" + ",".join("?" * len(ids)) + ")"
        params = list(ids)
    df = store.read("sales", columns=["unique_id", "ds", "y"], where=where, params=params)
    if df.empty:
        raise NotFoundError(
            "the store has no sales" + (f" for {list(ids)[:5]}" if ids else "")
            + "; ingest some first (trendcast ingest FILE --kind sales, or trendcast demo)"
        )
    freq = infer_freq(df)
    check_frequency(df, freq)
    filled = fill_gaps(df, freq=freq, start="per_serie", end="per_serie")
    filled["y"] = filled["y"].fillna(0.0)
    filled.attrs["gaps_filled"] = int(len(filled) - len(df))
    filled.attrs["freq"] = freq
    return filled


def check_frequency(df: pd.DataFrame, freq: str) -> None:
    """Every series must step by whole multiples of ``freq`` (gaps are fine, a daily series
    among weekly ones or dates at odd offsets are not: filling them would invent data)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    step = pd.Timedelta(days=7) if freq.startswith("W") else pd.Timedelta(offset)
    ordered = df.sort_values(["unique_id", "ds"])
    diffs = ordered.groupby("unique_id")["ds"].diff().dropna()
    uid = ordered.loc[diffs.index, "unique_id"]
    typical = diffs.groupby(uid).agg(lambda d: d.mode().iloc[0])
    odd_series = set(typical.index[typical != step])
    bad = diffs[(diffs % step != pd.Timedelta(0)) | (diffs < step) | uid.isin(odd_series)]
    if bad.empty:
        return
    ids = ordered.loc[bad.index, "unique_id"].unique()
    row = ordered.loc[bad.index[0]]
    raise DataValidationError(
        f"the sales mix frequencies: most series are {freq!r} but {len(ids)} series "
        f"({', '.join(map(str, ids[:5]))}) have dates {bad.iloc[0]} apart, e.g. "
        f"{row['unique_id']!r} at {row['ds'].date()}; keep one frequency per workspace "
        "(aggregate with `trendcast ingest --kind orders --aggregate W`, or use separate --db files)"
    )


def _new_run_id(kind: str) -> str:
    return f"{kind[:2]}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def _to_long(fc: pd.DataFrame, run_id: str, models: Sequence[str], qs: Sequence[float]) -> pd.DataFrame:
    """Wide forecast columns -> (run_id, model, unique_id, ds, cutoff, quantile, value) rows."""
    parts = []
    cutoff = fc["cutoff"] if "cutoff" in fc.columns else pd.Series(pd.NaT, index=fc.index)
    for m in models:
        cols = [(None, m)] + [(q, f"{m}-q-{format_quantile(q)}") for q in qs]
        for q, col in cols:
            if col not in fc.columns:
                continue
            parts.append(pd.DataFrame({
                "run_id": run_id, "model": m, "unique_id": fc["unique_id"].to_numpy(),
                "ds": fc["ds"].to_numpy(), "cutoff": cutoff.to_numpy(),
                "quantile": np.nan if q is None else q, "value": fc[col].to_numpy(dtype=float),
            }))
    return pd.concat(parts, ignore_index=True)


def _save_run(store: Store, *, run_id: str, kind: str, models: Sequence[str], horizon: int,
              freq: str, qs: Sequence[float], params: dict, n_series: int, notes: list[str],
              long: pd.DataFrame, metrics: pd.DataFrame | None = None) -> None:
    run = pd.DataFrame([{
        "run_id": run_id, "kind": kind, "created_at": pd.Timestamp.now(),
        "models": json.dumps(list(models)), "horizon": horizon, "freq": freq,
        "quantiles": json.dumps(list(qs)), "params": json.dumps(params),
        "n_series": n_series, "notes": json.dumps(notes, ensure_ascii=False),
    }])
    with store.transaction():
        store.append("runs", run)
        store.append("forecasts", long)
        if metrics is not None and not metrics.empty:
            store.append("metrics", metrics)


def run_forecast(
    store: Store,
    *,
    horizon: int,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    ids: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> RunResult:
    """Fit each model on the stored sales, forecast ``horizon`` steps, store the run."""
    horizon = check_horizon(horizon)
    qs = check_quantiles(quantiles)
    df = load_series(store, ids)
    notes = _gap_notes(df)
    exog_df, X_df = _covariates(store, df, horizon, models, notes)
    merged: pd.DataFrame | None = None
    aliases: list[str] = []
    for i, name in enumerate(models):
        model = make_model(name, n_jobs=n_jobs)
        aliases.append(model.alias)
        use_exog = model.supports_exog and exog_df is not None
        model.fit(exog_df if use_exog else df)
        fallback = getattr(model, "fallback_ids_", [])
        if fallback:
            notes.append(f"{model.alias}: {len(fallback)} series too short, seasonal naive used "
                         f"instead ({', '.join(fallback[:5])}{'...' if len(fallback) > 5 else ''})")
        choice = getattr(model, "choice_", None)
        if choice is not None:
            counts = choice["model"].value_counts()
            notes.append(f"{model.alias} chose per series by backtest: "
                         + ", ".join(f"{m} {n}" for m, n in counts.items()))
        fc = clip_negative(model.predict(horizon, X_df=X_df if use_exog else None, quantiles=qs))
        merged = fc if merged is None else merged.merge(fc, on=["unique_id", "ds"])
        if progress:
            progress(f"forecast {name}", i + 1, len(models))
    assert merged is not None
    run_id = _new_run_id("forecast")
    long = _to_long(merged, run_id, aliases, qs)
    _save_run(store, run_id=run_id, kind="forecast", models=aliases, horizon=horizon,
              freq=df.attrs["freq"], qs=qs, params={"n_jobs": n_jobs}, n_series=df["unique_id"].nunique(),
              notes=notes, long=long)
    return RunResult(run_id, "forecast", aliases, merged, notes=notes)


def run_backtest(
    store: Store,
    *,
    horizon: int,
    n_windows: int = 2,
    step: int | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    ids: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> RunResult:
    """Rolling-origin backtest of each model; stores forecasts and a metrics leaderboard."""
    horizon = check_horizon(horizon)
    qs = check_quantiles(quantiles)
    df = load_series(store, ids)
    notes = _gap_notes(df)
    # Backtests feed each window the covariates that actually happened, so the notes about
    # assumed future prices do not apply here: build the covariates once, keep no notes.
    exog_df = _covariates(store, df, horizon, models, [])[0]
    merged: pd.DataFrame | None = None
    total = len(models) * n_windows
    done = 0
    aliases: list[str] = []
    for name in models:
        def tick(i: int, n: int, name: str = name) -> None:
            nonlocal done
            done += 1
            if progress:
                progress(f"backtest {name} window {i}/{n}", done, total)

        probe = make_model(name, n_jobs=n_jobs)
        aliases.append(probe.alias)
        data = exog_df if probe.supports_exog and exog_df is not None else df
        cv = backtest(lambda name=name: make_model(name, n_jobs=n_jobs), data, h=horizon,
                      n_windows=n_windows, step=step, quantiles=qs, on_window=tick)
        cv = clip_negative(cv)
        merged = cv if merged is None else merged.merge(
            cv.drop(columns="y"), on=["unique_id", "ds", "cutoff"])
    assert merged is not None
    first_cut = merged["cutoff"].min()
    freq = df.attrs["freq"]
    leaderboard = score(merged, aliases, train=df[df["ds"] <= first_cut],
                        season_length=default_season_length(freq), quantiles=qs)
    leaderboard = leaderboard.sort_values("MASE", ignore_index=True)
    run_id = _new_run_id("backtest")
    metrics = leaderboard.melt(id_vars="model", var_name="metric", value_name="value")
    metrics.insert(0, "run_id", run_id)
    metrics["unique_id"] = None
    _save_run(store, run_id=run_id, kind="backtest", models=aliases, horizon=horizon, freq=freq,
              qs=qs, params={"n_windows": n_windows, "step": step or horizon},
              n_series=df["unique_id"].nunique(), notes=notes,
              long=_to_long(merged, run_id, aliases, qs), metrics=metrics)
    return RunResult(run_id, "backtest", aliases, merged, leaderboard, notes)


def _covariates(store: Store, df: pd.DataFrame, horizon: int, models: Sequence[str],
                notes: list[str]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Training frame with covariates and their future values, when a model uses them."""
    from trendcast.features.exog import add_covariates, future_covariates

    if not any(make_model(m).supports_exog for m in models):
        return None, None
    exog = add_covariates(store, df, horizon=horizon)
    future, future_notes = future_covariates(exog, horizon, df.attrs["freq"])
    notes.extend(future_notes)
    return exog, future


def _gap_notes(df: pd.DataFrame) -> list[str]:
    gaps = df.attrs.get("gaps_filled", 0)
    return [f"{gaps:,} missing dates inside series filled with zero sales"] if gaps else []


def read_run(store: Store, run_id: str | None = None, *, kind: str = "forecast") -> RunResult:
    """A stored run (the latest of ``kind`` when ``run_id`` is None) as a wide frame."""
    if run_id is None:
        runs = store.sql("SELECT run_id FROM runs WHERE kind = ? ORDER BY created_at DESC LIMIT 1",
                         [kind])
        if runs.empty:
            raise NotFoundError(f"no {kind} run stored yet; run `trendcast {kind}` first")
        run_id = str(runs["run_id"].iloc[0])
    meta = store.read("runs", where="run_id = ?", params=[run_id])
    if meta.empty:
        raise NotFoundError(f"no run {run_id!r}; `trendcast info` lists the stored runs")
    long = store.read("forecasts", where="run_id = ?", params=[run_id], order_by=[])
    long["column"] = np.where(long["quantile"].isna(), long["model"],
                              long["model"] + "-q-" + long["quantile"].map(
                                  lambda q: "" if pd.isna(q) else format_quantile(q)))
    index = ["unique_id", "ds"] + (["cutoff"] if long["cutoff"].notna().any() else [])
    wide = long.pivot_table(index=index, columns="column", values="value", aggfunc="first")
    wide = wide.reset_index()
    wide.columns.name = None
    metrics = store.read("metrics", where="run_id = ?", params=[run_id], order_by=[])
    board = None
    if not metrics.empty:
        board = metrics.pivot_table(index="model", columns="metric", values="value").reset_index()
        board.columns.name = None
    row = meta.iloc[0]
    return RunResult(run_id, str(row["kind"]), json.loads(row["models"]), wide, board,
                     json.loads(row["notes"] or "[]"))


def validate_ids(store: Store, ids: Sequence[str]) -> None:
    """Raise for product ids with no sales."""
    known = set(store.sql("SELECT DISTINCT unique_id FROM sales")["unique_id"])
    missing = [i for i in ids if i not in known]
    if missing:
        raise DataValidationError(f"no sales for product id(s) {missing[:10]}")
