"""Forecast and backtest use cases: read sales, run models, store the run."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.engine.base import Engine
from trendcast.errors import DataValidationError, ModelError, NotFoundError
from trendcast.models.base import check_horizon, check_quantiles
from trendcast.models.statistical import infer_freq
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
    n_series: int | None = None


def load_series(store: Store, ids: Sequence[str] | None = None, *,
                freq: str | None = None) -> pd.DataFrame:
    """Sales as a gap-free long frame; missing days inside a series count as zero sales.

    ``freq`` (the whole catalogue's, when loading part of it) replaces the inferred one."""
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
    freq = freq or infer_freq(df)
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


def run_forecast(
    store: Store,
    *,
    horizon: int,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    ids: Sequence[str] | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    model_params: Mapping[str, Any] | None = None,
    engine: Engine | str | None = None,
    partition_size: int | None = None,
    train_series: int | None = None,
    collect: bool = True,
) -> RunResult:
    """Fit each model on the stored sales, forecast ``horizon`` steps, store the run.

    ``model_params`` (e.g. ``{"model_path": DIR}``) go to every model whose constructor takes
    them; models trained for a fixed horizon (``horizon`` parameter) get the run's horizon.

    The run executes on ``engine`` (``"local"``, ``"ray"`` or one from
    :func:`trendcast.engine.make_engine`; default ``TRENDCAST_ENGINE``, else local),
    ``partition_size`` series at a time (default ``TRENDCAST_PARTITION_SIZE``, 1,000), each
    partition's forecasts stored as it finishes (see :mod:`trendcast.services.partitioned`).
    Global models (LightGBM) train once, on a seeded sample of ``train_series`` series when
    set. ``collect=False`` leaves ``forecasts`` empty (read them back with :func:`read_run`) so
    memory does not grow with the catalogue.
    """
    from trendcast.services.partitioned import RunOptions, forecast_run

    horizon = check_horizon(horizon)
    qs = check_quantiles(quantiles)
    kwargs = _model_kwargs(models, model_params or {}, horizon)
    run_id = _new_run_id("forecast")
    params = {"n_jobs": n_jobs, **({"model_params": dict(model_params)} if model_params else {})}
    opts = RunOptions(engine, n_jobs, partition_size, train_series, collect, progress)
    aliases, wide, notes, n_series = forecast_run(
        store, run_id=run_id, horizon=horizon, qs=qs, models=models, kwargs=kwargs, ids=ids,
        opts=opts, params=params)
    return RunResult(run_id, "forecast", aliases, wide, notes=notes, n_series=n_series)


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
    model_params: Mapping[str, Any] | None = None,
    engine: Engine | str | None = None,
    partition_size: int | None = None,
    train_series: int | None = None,
) -> RunResult:
    """Rolling-origin backtest of each model; stores forecasts and a metrics leaderboard.

    Cutoffs are the catalogue's; ``engine``, ``partition_size``, ``train_series`` and
    ``model_params`` as in :func:`run_forecast`. The scored rows are returned (the
    leaderboard is computed from them), the sales history is not kept.
    """
    from trendcast.services.partitioned import RunOptions, backtest_run

    horizon = check_horizon(horizon)
    qs = check_quantiles(quantiles)
    kwargs = _model_kwargs(models, model_params or {}, horizon)
    run_id = _new_run_id("backtest")
    params = {"n_windows": n_windows, "step": step or horizon,
              **({"model_params": dict(model_params)} if model_params else {})}
    opts = RunOptions(engine, n_jobs, partition_size, train_series, True, progress)
    aliases, merged, board, notes = backtest_run(
        store, run_id=run_id, horizon=horizon, n_windows=n_windows, step=step, qs=qs,
        models=models, kwargs=kwargs, ids=ids, opts=opts, params=params)
    return RunResult(run_id, "backtest", aliases, merged, board, notes,
                     n_series=int(merged["unique_id"].nunique()))


def _model_kwargs(models: Sequence[str], params: Mapping[str, Any],
                  horizon: int) -> dict[str, dict[str, Any]]:
    """Per model, the ``params`` its constructor takes (plus ``horizon`` where it takes one);
    a parameter no model takes is an error rather than silently ignored."""
    from trendcast.models.registry import MODELS

    lookup = {k.lower(): v for k, v in MODELS.items()}
    out: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name in models:
        cls = lookup.get(name.lower())
        taken = {k: v for k, v in params.items() if cls is not None and _accepts(cls, k)}
        if cls is not None and _accepts(cls, "horizon") and "horizon" not in taken:
            taken["horizon"] = horizon
        used.update(k for k in params if k in taken)
        out[name] = taken
    takers = [name for name in models if "model_path" in out[name]]
    if len(takers) > 1:
        raise ModelError(f"--model-path names the weights of one model at a time, but {takers} all "
                         "take one; run them separately")
    unused = sorted(set(params) - used)
    if unused:
        raise ModelError(f"no model of {list(models)} takes {unused}; e.g. --model-path is for "
                         "Fracast, ChronosBolt, Chronos2 and TimesFM")
    return out


def _accepts(cls: type, key: str) -> bool:
    """Whether ``cls(key=...)`` is a declared parameter of the model (not swallowed by the base)."""
    from trendcast.models.base import Forecaster

    for klass in cls.__mro__:
        if klass is Forecaster or klass is object:
            return False
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if key in params:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return False
    return False


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
