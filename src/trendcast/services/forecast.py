"""Forecast and backtest use cases: snapshot the workspace, run the models, store the run.

A run reads its input once, in one short read (:meth:`Store.snapshot` to Parquet), computes
on the :class:`~trendcast.engine.runner.Runner` without holding the workspace, and writes its
forecasts, metrics and run row in one transaction at the end: other commands keep reading
(and, on PostgreSQL, writing) the workspace while it computes, and a failed run stores
nothing.
"""

from __future__ import annotations

import inspect
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.queries import no_sales
from trendcast.data.store import Store
from trendcast.engine.base import Engine
from trendcast.engine.runner import DEFAULT_PARTITION_SIZE, Runner, RunOutput
from trendcast.errors import DataValidationError, ModelError, NotFoundError
from trendcast.features.scenario import RESPONSES, Plan
from trendcast.features.series import fill_series
from trendcast.models.base import Forecaster, check_horizon, check_quantiles
from trendcast.schema import format_quantile
from trendcast.services.open_periods import week_label_of

Progress = Callable[[str, int, int], None]
DEFAULT_MODELS = ("SeasonalNaive", "AutoETS")
SCENARIO_MODELS = ("LightGBM",)  # a plan changes covariates: the default models take none
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
    scenario: pd.DataFrame | None = None  # baseline vs plan per model and product (compare)
    scenario_forecasts: pd.DataFrame | None = None  # the planned products' forecasts under the plan
    scenario_prices: pd.DataFrame | None = None  # their assumed and planned prices (base_price, plan_price)
    scenario_response: dict[str, Any] | None = None  # how the plan's effect was computed
    horizon: int | None = None  # the steps forecast (the default for the run's frequency when none was given)


def workspace_freq(store: Store) -> str:
    """The stored sales' frequency: the workspace's (set at the first ingest), else read from a
    few series (a workspace written before it was recorded); 'D' without sales."""
    from trendcast.features.frequency import infer_freq

    stored = store.meta("freq")
    if stored:
        return str(stored)
    ids = store.series_ids()[:3]
    return infer_freq(store.sales(ids, columns=["unique_id", "ds", "y"])) if ids else "D"


def resolve_horizon(store: Store, horizon: int | None, freq: str | None = None) -> int:
    """``horizon`` when given (checked), else the default for the run's frequency
    (:func:`~trendcast.features.frequency.default_horizon`): ``freq`` (a ``--freq`` name or
    alias) when the run aggregates, else the workspace's. A monthly shop forecasts 18 months,
    not 28."""
    from trendcast.features.frequency import coarser, default_horizon

    if horizon is not None:
        return check_horizon(horizon)
    return default_horizon(coarser(freq) if freq else workspace_freq(store))


def load_series(store: Store, ids: Sequence[str] | None = None, *,
                freq: str | None = None) -> pd.DataFrame:
    """Sales as a gap-free long frame; missing days inside a series count as zero sales, or
    as its recent level when they are rows an export most likely left out (:func:`fill_series`).

    ``freq`` (the whole catalogue's, when loading part of it) replaces the inferred one."""
    sales = store.sales(ids, columns=["unique_id", "ds", "y"])
    if sales.empty:
        raise no_sales(ids)
    return fill_series(sales, freq)


def _new_run_id(kind: str) -> str:
    return f"{kind[:2]}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def long_chunks(fc: pd.DataFrame, run_id: str, models: Sequence[str], qs: Sequence[float],
                rows: int = 250_000) -> Iterator[pd.DataFrame]:
    """:func:`to_long` of ``rows`` wide rows at a time (memory stays bounded by one chunk)."""
    for start in range(0, len(fc), rows):
        yield to_long(fc.iloc[start:start + rows], run_id, models, qs)


def to_long(fc: pd.DataFrame, run_id: str, models: Sequence[str], qs: Sequence[float]) -> pd.DataFrame:
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


def build_models(models: Sequence[str], model_params: Mapping[str, Any] | None,
                 horizon: int) -> list[Forecaster]:
    """Each named model built once, with the ``model_params`` its constructor takes."""
    from trendcast.models.registry import make_model

    kwargs = _model_kwargs(models, model_params or {}, horizon)
    return [make_model(name, **kwargs[name]) for name in models]


def _price_response_on(built: Sequence[Forecaster], model_params: Mapping[str, Any] | None) -> None:
    """What-if runs whose plan goes through the models' own response (``scenario_response=
    "model"``) give LightGBM each product's price response as a feature (``price_elasticity``,
    off in plain forecasts) unless ``model_params`` say otherwise (docs/benchmarks.md)."""
    if model_params and "price_elasticity" in model_params:
        return
    for model in built:
        if "price_elasticity" in model.params:
            model.params["price_elasticity"] = True


def _runner(built: list[Forecaster], *, engine: Engine | str | None, n_jobs: int,
            partition_size: int | None, train_series: int | None,
            progress: Progress | None, **options: Any) -> Runner:
    return Runner(built, engine=engine, n_jobs=n_jobs,
                  partition_size=partition_size or DEFAULT_PARTITION_SIZE,
                  train_series=train_series, progress=progress, **options)


def _run_row(run_id: str, kind: str, out: RunOutput, horizon: int, qs: Sequence[float],
             params: dict[str, Any], n_series: int) -> dict[str, Any]:
    return {
        "run_id": run_id, "kind": kind, "created_at": pd.Timestamp.now(),
        "models": json.dumps(out.aliases), "horizon": horizon, "freq": out.freq,
        "quantiles": json.dumps(list(qs)), "params": json.dumps({**params, **out.execution}),
        "n_series": n_series, "notes": json.dumps(out.notes, ensure_ascii=False),
    }


def run_forecast(
    store: Store,
    *,
    horizon: int | None = None,
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
    freq: str | None = None,
    ended: str = "skip",
    ended_after: int | None = None,
    clean: bool = False,
    cold_start: bool = True,
    scenario: str | Path | pd.DataFrame | None = None,
    cost_share: float = 0.6,
    scenario_response: str = "elasticity",
) -> RunResult:
    """Fit each model on the stored sales, forecast ``horizon`` steps, store the run.

    ``horizon`` None forecasts the default for the run's frequency (:func:`resolve_horizon`:
    28 days, 13 weeks, 18 months, 8 quarters).

    ``model_params`` (e.g. ``{"model_path": DIR}``) go to every model whose constructor takes
    them; models trained for a fixed horizon (``horizon`` parameter) get the run's horizon.
    ``engine`` (``"local"``, ``"ray"`` or one from :func:`trendcast.engine.make_engine`),
    ``partition_size`` (series per partition, default 1,000) and ``train_series`` (fit global
    models on a seeded sample) say how the :class:`Runner` executes. ``collect=False`` leaves
    ``forecasts`` empty (read them back with :func:`read_run`). ``freq`` forecasts at a
    coarser frequency than the stored one (``W``, ``M``, ``Q``); ``ended`` / ``ended_after``
    say what happens to series that stopped selling (see :class:`Runner`); ``clean`` fits the
    models on cleaned inputs and stores every change with the run (``Store.run_cleaning``).
    ``cold_start`` forecasts new catalogue products from their category's launch curve
    (:mod:`trendcast.services.coldstart`; listed in the notes and ``params["cold_start"]``).
    ``scenario`` (a plan file or frame, :mod:`trendcast.features.scenario`) forecasts the
    planned products a second time with the plan's prices, promotions and events, from the
    same fitted models, and compares the two (``RunResult.scenario``, also kept in the run's
    ``params["scenario"]``); ``cost_share`` prices the margin where ``unit_cost`` is unknown.
    ``scenario_response`` says how the plan's prices and promotions move the forecast:
    ``"elasticity"`` (default: each model's baseline times the change the products' estimated
    price elasticities and the shop's promotion effect give; the baseline is then the plain
    forecast) or ``"model"`` (each model's own response to the planned covariates, with
    LightGBM's per-product price features on). The notes and ``params["scenario"]["response"]``
    say which was used and with what estimates.
    """
    horizon = resolve_horizon(store, horizon, freq)
    qs = check_quantiles(quantiles)
    built = build_models(models, model_params, horizon)
    if scenario is not None:
        if freq:
            raise DataValidationError("a scenario plan is given by day: drop --freq (or plan on "
                                      "the stored frequency)")
        if not any(m.supports_exog for m in built):
            raise ModelError(f"none of {list(models)} takes covariates, so a plan cannot change "
                             "the forecast; add --model LightGBM (or Chronos2)")
        if not 0 <= cost_share < 1:
            raise DataValidationError(f"cost share must be in [0, 1), got {cost_share}")
        if scenario_response not in RESPONSES:
            raise DataValidationError(f"scenario response must be one of {list(RESPONSES)}, "
                                      f"got {scenario_response!r}")
        if scenario_response == "model":
            _price_response_on(built, model_params)
    params = {"n_jobs": n_jobs, **({"model_params": dict(model_params)} if model_params else {}),
              **({"freq": freq} if freq else {}), "ended": ended,
              **({"ended_after": ended_after} if ended_after else {}), "clean": clean}
    runner = _runner(built, engine=engine, n_jobs=n_jobs, partition_size=partition_size,
                     train_series=train_series, progress=progress, freq=freq, ended=ended,
                     ended_after=ended_after, clean=clean, week_label=week_label_of(store))
    with tempfile.TemporaryDirectory(prefix="trendcast-run-") as tmp:
        snap = store.snapshot(tmp, ids)
        plan = None if scenario is None else read_plan(store, scenario, snap, horizon)
        out = runner.forecast(snap, horizon, quantiles=qs, plan=plan, response=scenario_response)
    compared = None
    if plan is not None and out.scenario is not None:
        from trendcast.insights.scenario import compare

        with_plan = out.scenario_models
        compared, said = compare(out.forecasts, out.scenario, out.plan_prices, with_plan, qs,
                                 products=store.products(), cost_share=cost_share)
        out.notes += said
        params["scenario"] = {"source": plan.source, "models": with_plan, "cost_share": cost_share,
                              "plan": _records(plan.rows), "compare": _records(compared),
                              "price_response": [m.alias for m in built
                                                 if m.params.get("price_elasticity")],
                              "response": out.response}
    if cold_start:
        from trendcast.services.coldstart import apply_cold_start

        cold = apply_cold_start(store, out, horizon, qs, ids=ids)
        if cold:
            params["cold_start"] = cold
    run_id = _new_run_id("forecast")
    store.save_run(_run_row(run_id, "forecast", out, horizon, qs, params, out.n_series),
                   long_chunks(out.forecasts, run_id, out.aliases, qs), cleaning=out.cleaning)
    wide = out.forecasts if collect else pd.DataFrame()
    return RunResult(run_id, "forecast", out.aliases, wide, notes=out.notes, n_series=out.n_series,
                     scenario=compared, scenario_forecasts=out.scenario,
                     scenario_prices=out.plan_prices, scenario_response=out.response,
                     horizon=horizon)


def read_plan(store: Store, plan: str | Path | pd.DataFrame, source: Any, horizon: int) -> Plan:
    """A plan file or frame checked against the catalogue, calendar and horizon of
    ``source`` (a run's snapshot): :func:`trendcast.features.scenario.parse_plan`."""
    from trendcast.data.readers import read_frame
    from trendcast.features.scenario import parse_plan

    raw = plan if isinstance(plan, pd.DataFrame) else read_frame(plan)
    last_day = pd.Timestamp(source.span[1])
    step = pd.tseries.frequencies.to_offset(source.freq)
    first = last_day + step
    last = last_day + horizon * step
    if source.freq != "D":  # a period's label may be its last day: allow the days it covers
        first = last_day + pd.Timedelta(days=1)
    return parse_plan(raw, products=store.products(), calendar=source.calendar(), first=first,
                      last=last, series=source.ids)


class _StoreSpan:
    """What :func:`read_plan` needs of a run's source, read from the workspace (a check
    before a job starts; the run checks again on its own snapshot)."""

    def __init__(self, store: Store, ids: Sequence[str] | None) -> None:
        from trendcast.features.frequency import infer_freq

        span = store.sales_span(ids)
        if span is None:
            raise no_sales(ids)
        self.span = span
        self.ids = store.series_ids(ids)
        self.freq = infer_freq(store.sales(self.ids[:3], columns=["unique_id", "ds", "y"]))
        self._store = store

    def calendar(self) -> pd.DataFrame:
        return self._store.calendar()


def check_plan(store: Store, plan: str | Path | pd.DataFrame, horizon: int | None,
               ids: Sequence[str] | None = None) -> Plan:
    """The plan checked against the workspace as a forecast of ``horizon`` (None: the
    workspace's default) would check it (:func:`read_plan`): a refusal with file, row and
    column before any work starts."""
    return read_plan(store, plan, _StoreSpan(store, ids), resolve_horizon(store, horizon))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (NaN as None)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            for r in clean.to_dict(orient="records")]


def run_backtest(
    store: Store,
    *,
    horizon: int | None = None,
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
    freq: str | None = None,
    clean: bool = False,
) -> RunResult:
    """Rolling-origin backtest of each model; stores forecasts and a metrics leaderboard.

    Cutoffs are the catalogue's; ``engine``, ``partition_size``, ``train_series`` and
    ``model_params`` as in :func:`run_forecast`; ``horizon`` None: the default for the run's
    frequency (:func:`resolve_horizon`). The scored rows are returned (the leaderboard is
    computed from them), the sales history is not kept.
    """
    from trendcast.evaluation.metrics import score

    horizon = resolve_horizon(store, horizon, freq)
    qs = check_quantiles(quantiles)
    built = build_models(models, model_params, horizon)
    params = {"n_windows": n_windows, "step": step or horizon,
              **({"model_params": dict(model_params)} if model_params else {}),
              **({"freq": freq} if freq else {}), "clean": clean}
    runner = _runner(built, engine=engine, n_jobs=n_jobs, partition_size=partition_size,
                     train_series=train_series, progress=progress, freq=freq, clean=clean,
                     week_label=week_label_of(store))
    with tempfile.TemporaryDirectory(prefix="trendcast-run-") as tmp:
        out = runner.cross_validation(store.snapshot(tmp, ids), horizon, n_windows=n_windows,
                                      step=step, quantiles=qs)
    merged = out.forecasts
    board = score(merged, out.aliases, train=None, season_length=out.season_length, quantiles=qs,
                  scales=out.scales)
    board = board.sort_values("MASE", ignore_index=True)
    run_id = _new_run_id("backtest")
    metrics = board.melt(id_vars="model", var_name="metric", value_name="value")
    metrics.insert(0, "run_id", run_id)
    metrics["unique_id"] = None
    store.save_run(_run_row(run_id, "backtest", out, horizon, qs, params, out.n_series),
                   long_chunks(merged, run_id, out.aliases, qs), metrics)
    return RunResult(run_id, "backtest", out.aliases, merged, board, out.notes,
                     n_series=int(merged["unique_id"].nunique()), horizon=horizon)


def _model_kwargs(models: Sequence[str], params: Mapping[str, Any],
                  horizon: int) -> dict[str, dict[str, Any]]:
    """Per model, the ``params`` its constructor takes (plus ``horizon`` where it takes one);
    a parameter no model takes is an error rather than silently ignored."""
    from trendcast.models.registry import model_class

    out: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name in models:
        try:
            cls: type | None = model_class(name)
        except ModelError:
            cls = None
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


def wide_forecasts(long: pd.DataFrame) -> pd.DataFrame:
    """Long stored rows -> ``unique_id, ds[, cutoff], <model>, <model>-q-<q>`` (one row per
    series, date and cutoff, sorted)."""
    labels = {q: format_quantile(q) for q in long["quantile"].dropna().unique()}
    column = [m if pd.isna(q) else f"{m}-q-{labels[q]}"
              for m, q in zip(long["model"].tolist(), long["quantile"].tolist(), strict=True)]
    index = ["unique_id", "ds"] + (["cutoff"] if long["cutoff"].notna().any() else [])
    # rows are unique per (series, date, cutoff, model, quantile): a plain pivot will do
    wide = long.assign(column=column).pivot(index=index, columns="column", values="value")
    wide = wide.reset_index()
    wide.columns.name = None
    return wide


def read_run(store: Store, run_id: str | None = None, *, kind: str = "forecast") -> RunResult:
    """A stored run (the latest of ``kind`` when ``run_id`` is None) as a wide frame."""
    meta = store.latest_run_row(kind) if run_id is None else store.run_row(run_id)
    if meta is None:
        if run_id is None:
            raise NotFoundError(f"no {kind} run stored yet; run `trendcast {kind}` first")
        raise NotFoundError(f"no run {run_id!r}; `trendcast info` lists the stored runs")
    long = store.run_forecasts(meta["run_id"])
    wide = wide_forecasts(long) if len(long) else pd.DataFrame(columns=["unique_id", "ds"])
    metrics = store.run_metrics(meta["run_id"])
    board = None
    if not metrics.empty:
        board = metrics.pivot_table(index="model", columns="metric", values="value").reset_index()
        board.columns.name = None
    return RunResult(meta["run_id"], str(meta["kind"]), meta["models"], wide, board, meta["notes"])


def validate_ids(store: Store, ids: Sequence[str]) -> None:
    """Raise for product ids with no sales."""
    known = set(store.series_ids(ids))
    missing = [i for i in ids if i not in known]
    if missing:
        raise DataValidationError(f"no sales for product id(s) {missing[:10]}")
