"""Forecast and backtest runs partition by partition on an engine, streamed to the store.

The catalogue's series ids are sorted and cut into contiguous blocks of ``partition_size``.
The driver reads one block at a time from the store (its rows as stored, one query per
table), the engine runs it (:mod:`trendcast.engine.tasks`: gaps filled, covariates built,
models fitted or applied, all inside the task), and each finished block's forecasts are
appended to the run inside one transaction and dropped: memory is bounded by the blocks in
flight, the driver's share of the work is only reading and writing, and a failed run stores
nothing. Global models are fitted once first (on all series,
or on a seeded sample of ``train_series``). Backtests keep the scored rows (not the history)
for the leaderboard.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.engine import Engine, make_engine, resolve_jobs
from trendcast.engine.tasks import (
    BLOCK_TABLES,
    SHARED_TABLES,
    BacktestJob,
    FitItem,
    ForecastJob,
    ModelSpec,
    Prep,
    RawBlock,
    backtest_partition,
    fit_global,
    forecast_partition,
    strategy,
)
from trendcast.errors import ModelError, NotFoundError
from trendcast.models.base import Forecaster
from trendcast.models.registry import make_model
from trendcast.schema import quantile_column

Progress = Callable[[str, int, int], None]
TRAIN_SEED = 0


@dataclass
class RunOptions:
    """How a run is executed (not what it computes, except ``train_series``)."""

    engine: Engine | str | None = None
    n_jobs: int = 1
    partition_size: int | None = None
    train_series: int | None = None
    collect: bool = True
    progress: Progress | None = None


@dataclass
class _Tally:
    """What the run's notes need, gathered over partitions."""

    gaps: int = 0
    n_series: int = 0
    covariate_notes: list[str] = field(default_factory=list)
    fallback: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, pd.Series] = field(default_factory=dict)
    model_notes: dict[str, list[str]] = field(default_factory=dict)

    def add_notes(self, notes: Sequence[str]) -> None:
        self.covariate_notes += [n for n in notes if n not in self.covariate_notes]

    def add_counts(self, res: Any) -> None:
        self.gaps += res.gaps
        self.n_series += res.n_series

    def add_forecast(self, res: Any) -> None:
        self.add_notes(res.covariate_notes)
        for alias, ids in res.fallback.items():
            self.fallback.setdefault(alias, []).extend(ids)
        for alias, counts in res.choices.items():
            prev = self.choices.get(alias)
            self.choices[alias] = counts if prev is None else prev.add(counts, fill_value=0)
        for alias, notes in res.notes.items():
            have = self.model_notes.setdefault(alias, [])
            have += [n for n in notes if n not in have]

    def notes(self, specs: Sequence[ModelSpec]) -> list[str]:
        """In run_forecast's order: gaps, covariates, then per model fallback/choice/own notes."""
        out = [f"{self.gaps:,} missing dates inside series filled with zero sales"] if self.gaps else []
        out += self.covariate_notes
        for s in specs:
            fallback = sorted(set(self.fallback.get(s.alias, [])))
            if fallback:
                out.append(f"{s.alias}: {len(fallback)} series too short, seasonal naive used "
                           f"instead ({', '.join(fallback[:5])}{'...' if len(fallback) > 5 else ''})")
            counts = self.choices.get(s.alias)
            if counts is not None:
                counts = counts.astype(int).sort_values(ascending=False, kind="stable")
                out.append(f"{s.alias} chose per series by backtest: "
                           + ", ".join(f"{m} {n}" for m, n in counts.items()))
            out += self.model_notes.get(s.alias, [])
        return out


# Store side ----------------------------------------------------------------------------


def _where(ids: Sequence[str] | None) -> tuple[str, list[str]]:
    if not ids:
        return "", []
    return "WHERE unique_id IN (" + ",".join("?" * len(ids)) + ")", list(ids)


def series_ids(store: Store, ids: Sequence[str] | None = None) -> list[str]:
    """Sorted ids of the stored series (of ``ids`` when given); NotFoundError when none."""
    where, params = _where(ids)
    found = store.sql(f"SELECT DISTINCT unique_id FROM sales {where} ORDER BY unique_id", params)
    if found.empty:
        raise NotFoundError(
            "the store has no sales" + (f" for {list(ids)[:5]}" if ids else "")
            + "; ingest some first (trendcast ingest FILE --kind sales, or trendcast demo)"
        )
    return found["unique_id"].astype(str).tolist()


def store_frequency(store: Store, ids: Sequence[str] | None = None) -> str:
    """The catalogue's frequency as ``infer_freq`` finds it (the modal step between dates of
    a series), computed in the database so no partition has to hold the whole catalogue."""
    where, params = _where(ids)
    modal = store.sql(
        "SELECT step, count(*) AS n FROM (SELECT datediff('day', lag(ds) OVER "
        f"(PARTITION BY unique_id ORDER BY ds), ds) AS step FROM sales {where}) "
        "WHERE step IS NOT NULL GROUP BY step ORDER BY n DESC, step LIMIT 1", params)
    if modal.empty:
        return "D"
    step = int(modal["step"].iloc[0])
    if step == 1:
        return "D"
    if step == 7:
        first = store.sql(f"SELECT ds FROM sales {where} ORDER BY unique_id, ds LIMIT 1", params)
        return "W-" + pd.Timestamp(first["ds"].iloc[0]).day_name()[:3].upper()
    return pd.tseries.frequencies.to_offset(pd.Timedelta(days=step)).freqstr


def date_range_of(store: Store, ids: Sequence[str] | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last sales date of the catalogue (gap filling never extends a series)."""
    where, params = _where(ids)
    row = store.sql(f"SELECT min(ds) AS lo, max(ds) AS hi FROM sales {where}", params).iloc[0]
    return pd.Timestamp(row["lo"]), pd.Timestamp(row["hi"])


def plan_partitions(ids: Sequence[str], size: int) -> list[list[str]]:
    """Contiguous blocks of at most ``size`` sorted ids."""
    if size < 1:
        raise ModelError(f"partition_size must be >= 1, got {size}")
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def training_ids(ids: Sequence[str], train_series: int | None) -> list[str]:
    """All ids, or a seeded sample of ``train_series`` of them (sorted) for global models."""
    if train_series is not None and train_series < 1:
        raise ModelError(f"train_series must be >= 1 or None, got {train_series}")
    if not train_series or len(ids) <= train_series:
        return list(ids)
    pick = np.sort(np.random.default_rng(TRAIN_SEED).choice(len(ids), train_series, replace=False))
    return [ids[i] for i in pick]


def read_block(store: Store, ids: Sequence[str]) -> RawBlock:
    """The rows of ``ids`` in the per-series tables, as stored (one query per table)."""
    where, params = _where(ids)
    return RawBlock(list(ids), {t: store.sql(f"SELECT * FROM {t} {where}", params) for t in BLOCK_TABLES})


def _blocks(store: Store, blocks: Sequence[Sequence[str]]) -> Iterator[RawBlock]:
    for ids in blocks:  # lazily: the engine asks for the next block when one is done
        yield read_block(store, ids)


def _prep(store: Store, freq: str, *, horizon: int, exog: bool, future: bool) -> Prep:
    return Prep(freq, horizon, exog, future, {t: store.read(t) for t in SHARED_TABLES})


# Runs ---------------------------------------------------------------------------------


def model_specs(models: Sequence[str], kwargs: Mapping[str, Mapping[str, Any]]) -> list[ModelSpec]:
    """Each model by name with its parameters, its output alias and how it is split."""
    specs = []
    for name in models:
        params = dict(kwargs.get(name, {}))
        probe = make_model(name, **params)
        specs.append(ModelSpec(name, params, probe.alias, strategy(probe)))
    return specs


def _open_engine(opts: RunOptions) -> tuple[Engine, bool]:
    if opts.engine is None or isinstance(opts.engine, str):
        return make_engine(opts.engine, n_jobs=opts.n_jobs), True
    return opts.engine, False


def _uses_exog(specs: Sequence[ModelSpec]) -> bool:
    return any(s.build(1).supports_exog for s in specs)


def _tick(progress: Progress | None, label: str) -> Callable[[int, int | None], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(label, done, total or done)


def _fit_globals(store: Store, engine: Engine, specs: Sequence[ModelSpec], ids: Sequence[str],
                 freq: str, opts: RunOptions, *, horizon: int,
                 cutoffs: Sequence[pd.Timestamp | None]) -> dict[str, dict[Any, Forecaster]]:
    """Fit each global model once per cutoff (None: on all data) on the training series."""
    glob = [s for s in specs if s.strategy == "global"]
    if not glob:
        return {}
    train = (read_block(store, training_ids(ids, opts.train_series)),
             _prep(store, freq, horizon=horizon, exog=_uses_exog(glob), future=False))
    cpus = resolve_jobs(opts.n_jobs)
    items = [FitItem(s, engine.task_jobs(cpus), c) for s in glob for c in cutoffs]
    fitted: dict[str, dict[Any, Forecaster]] = {s.alias: {} for s in glob}
    for index, model in engine.map_partitions(fit_global, items, shared=train, total=len(items),
                                              progress=_tick(opts.progress, "fit global models"),
                                              cpus=cpus):
        fitted[items[index].spec.alias][items[index].cutoff] = model
    return fitted


def _sample_note(specs: Sequence[ModelSpec], n_ids: int, opts: RunOptions) -> list[str]:
    glob = [s.alias for s in specs if s.strategy == "global"]
    if not glob or not opts.train_series or n_ids <= opts.train_series:
        return []
    return [f"{', '.join(glob)} trained on a seeded sample of {opts.train_series:,} of {n_ids:,} "
            "series (train_series) and forecast for all of them"]


def _whole_notes(specs: Sequence[ModelSpec], n_parts: int) -> list[str]:
    whole = [s.alias for s in specs if s.strategy == "whole"]
    if not whole or n_parts < 2:
        return []
    return [f"{', '.join(whole)} learn(s) across series and ran on all series in one task, "
            "not partition by partition"]


def _columns(frame: pd.DataFrame, aliases: Sequence[str], qs: Sequence[float],
             middle: Sequence[str] = ()) -> list[str]:
    """run_forecast's column order: keys, first model, ``middle`` (cutoff, y), other models."""
    cols = ["unique_id", "ds"]
    for i, alias in enumerate(aliases):
        cols += [c for c in [alias, *(quantile_column(alias, q) for q in qs)] if c in frame.columns]
        if i == 0:
            cols += [c for c in middle if c in frame.columns]
    return cols


def _run_row(store: Store, *, run_id: str, kind: str, aliases: Sequence[str], horizon: int,
             freq: str, qs: Sequence[float], params: dict, n_series: int, notes: list[str]) -> None:
    store.append("runs", pd.DataFrame([{
        "run_id": run_id, "kind": kind, "created_at": pd.Timestamp.now(),
        "models": json.dumps(list(aliases)), "horizon": horizon, "freq": freq,
        "quantiles": json.dumps(list(qs)), "params": json.dumps(params),
        "n_series": n_series, "notes": json.dumps(notes, ensure_ascii=False),
    }]))


def _exec_params(engine: Engine, opts: RunOptions, size: int, n_parts: int) -> dict[str, Any]:
    return {"engine": engine.name, "partition_size": size, "partitions": n_parts,
            "train_series": opts.train_series}


def forecast_run(store: Store, *, run_id: str, horizon: int, qs: list[float], models: Sequence[str],
                 kwargs: Mapping[str, Mapping[str, Any]], ids: Sequence[str] | None,
                 opts: RunOptions, params: dict[str, Any]) -> tuple[list[str], pd.DataFrame,
                                                                    list[str], int]:
    """Forecast every series partition by partition, appending each to run ``run_id``.

    Returns the aliases, the wide forecasts (empty unless ``opts.collect``), notes and the
    number of series."""
    from trendcast.config import Settings
    from trendcast.services.forecast import _to_long

    engine, own = _open_engine(opts)
    try:
        all_ids = series_ids(store, ids)
        freq = store_frequency(store, all_ids if ids else None)
        specs = model_specs(models, kwargs)
        aliases = [s.alias for s in specs]
        size = opts.partition_size or Settings().partition_size
        blocks = plan_partitions(all_ids, size)
        tally = _Tally()
        frames: list[pd.DataFrame] = []
        with store.transaction():
            fitted = _fit_globals(store, engine, specs, all_ids, freq, opts, horizon=horizon,
                                  cutoffs=[None])
            split = [s for s in specs if s.strategy != "whole"]
            groups = [(split, blocks, engine.task_jobs(1), 1)] if split else []
            cpus = resolve_jobs(opts.n_jobs)
            groups += [([s], [all_ids], engine.task_jobs(cpus), cpus)
                       for s in specs if s.strategy == "whole"]
            for k, (group, parts, jobs, task_cpus) in enumerate(groups):
                prep = _prep(store, freq, horizon=horizon, exog=_uses_exog(group), future=True)
                job = ForecastJob(horizon, qs, [(s, fitted.get(s.alias, {}).get(None)) for s in group],
                                  jobs, prep)
                label = f"forecast {', '.join(s.alias for s in group)}"
                for _, res in engine.map_partitions(forecast_partition, _blocks(store, parts), shared=job,
                                                    total=len(parts), cpus=task_cpus,
                                                    progress=_tick(opts.progress, label)):
                    tally.add_forecast(res)
                    if k == 0:
                        tally.add_counts(res)
                    store.append("forecasts", _to_long(res.forecasts, run_id, [s.alias for s in group], qs))
                    if opts.collect:
                        frames.append(res.forecasts)
                    del res
            notes = (tally.notes(specs) + _sample_note(specs, len(all_ids), opts)
                     + _whole_notes(specs, len(blocks)))
            run_params = {**params, **_exec_params(engine, opts, size, len(blocks))}
            _run_row(store, run_id=run_id, kind="forecast", aliases=aliases, horizon=horizon,
                     freq=freq, qs=qs, params=run_params, n_series=tally.n_series, notes=notes)
        wide = _gather(frames, specs, qs, keys=["unique_id", "ds"]) if opts.collect else pd.DataFrame()
        return aliases, wide, notes, tally.n_series
    finally:
        if own:
            engine.close()


def _gather(frames: list[pd.DataFrame], specs: Sequence[ModelSpec], qs: Sequence[float], *,
            keys: list[str], middle: Sequence[str] = ()) -> pd.DataFrame:
    """Partition frames (one group of models each) -> one wide frame in run_forecast's order."""
    groups: dict[tuple[str, ...], list[pd.DataFrame]] = {}
    for f in frames:
        groups.setdefault(tuple(c for c in f.columns if c not in keys), []).append(f)
    merged: pd.DataFrame | None = None
    for parts in groups.values():
        block = pd.concat(parts, ignore_index=True)
        if merged is None:
            merged = block
        else:
            extra = [c for c in middle if c in block.columns and c not in keys]
            merged = merged.merge(block.drop(columns=extra), on=keys)
    assert merged is not None
    merged = merged.sort_values(["cutoff", "unique_id", "ds"] if "cutoff" in keys
                                else ["unique_id", "ds"], ignore_index=True)
    return merged[_columns(merged, [s.alias for s in specs], qs, middle)]


def backtest_run(store: Store, *, run_id: str, horizon: int, n_windows: int, step: int | None,
                 qs: list[float], models: Sequence[str], kwargs: Mapping[str, Mapping[str, Any]],
                 ids: Sequence[str] | None, opts: RunOptions,
                 params: dict[str, Any]) -> tuple[list[str], pd.DataFrame, pd.DataFrame, list[str]]:
    """Backtest every series partition by partition, appending each to run ``run_id``.

    Returns the aliases, the scored rows (all kept: the leaderboard needs them), the
    leaderboard and the notes."""
    from trendcast.config import Settings
    from trendcast.evaluation.backtest import cutoffs_between
    from trendcast.evaluation.metrics import score
    from trendcast.models.statistical import default_season_length
    from trendcast.services.forecast import _to_long

    engine, own = _open_engine(opts)
    try:
        all_ids = series_ids(store, ids)
        subset = all_ids if ids else None
        freq = store_frequency(store, subset)
        cuts = cutoffs_between(*date_range_of(store, subset), freq, horizon, n_windows, step)
        specs = model_specs(models, kwargs)
        aliases = [s.alias for s in specs]
        season = default_season_length(freq)
        size = opts.partition_size or Settings().partition_size
        blocks = plan_partitions(all_ids, size)
        tally = _Tally()
        frames: list[pd.DataFrame] = []
        mase: list[pd.Series] = []
        rmsse: list[pd.Series] = []
        with store.transaction():
            fitted = _fit_globals(store, engine, specs, all_ids, freq, opts, horizon=horizon,
                                  cutoffs=cuts)
            split = [s for s in specs if s.strategy != "whole"]
            groups = [(split, blocks, engine.task_jobs(1), 1)] if split else []
            cpus = resolve_jobs(opts.n_jobs)
            groups += [([s], [all_ids], engine.task_jobs(cpus), cpus)
                       for s in specs if s.strategy == "whole"]
            for k, (group, parts, jobs, task_cpus) in enumerate(groups):
                prep = _prep(store, freq, horizon=horizon, exog=_uses_exog(group), future=False)
                job = BacktestJob(horizon, qs, cuts, [(s, fitted.get(s.alias)) for s in group],
                                  jobs, season, prep)
                label = f"backtest {', '.join(s.alias for s in group)}"
                for _, res in engine.map_partitions(backtest_partition, _blocks(store, parts), shared=job,
                                                    total=len(parts), cpus=task_cpus,
                                                    progress=_tick(opts.progress, label)):
                    if k == 0:
                        tally.add_counts(res)
                        mase.append(res.mase_scale)
                        rmsse.append(res.rmsse_scale)
                    if not res.cv.empty:
                        store.append("forecasts", _to_long(res.cv, run_id, [s.alias for s in group], qs))
                        frames.append(res.cv)
                    del res
            if not frames:
                raise ModelError("the backtest produced no forecasts: no series has history "
                                 f"before the first cutoff {cuts[0].date()}")
            merged = _gather(frames, specs, qs, keys=["unique_id", "ds", "cutoff"], middle=["cutoff", "y"])
            del frames
            board = score(merged, aliases, train=None, season_length=season, quantiles=qs,
                          scales=(pd.concat(mase), pd.concat(rmsse)))
            board = board.sort_values("MASE", ignore_index=True)
            metrics = board.melt(id_vars="model", var_name="metric", value_name="value")
            metrics.insert(0, "run_id", run_id)
            metrics["unique_id"] = None
            store.append("metrics", metrics)
            notes = (tally.notes([]) + _sample_note(specs, len(all_ids), opts)
                     + _whole_notes(specs, len(blocks)))
            run_params = {**params, **_exec_params(engine, opts, size, len(blocks))}
            _run_row(store, run_id=run_id, kind="backtest", aliases=aliases, horizon=horizon,
                     freq=freq, qs=qs, params=run_params, n_series=len(all_ids), notes=notes)
        return aliases, merged, board, notes
    finally:
        if own:
            engine.close()
