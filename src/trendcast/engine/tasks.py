"""What runs inside an engine task: fit a global model, forecast or backtest one partition.

Worker side only: no access to the workspace; a task gets its block's rows as stored and the
run's shared job (models, horizon, quantiles, fitted global models), builds the model frames
(:func:`prepare`) and runs the models.

How each model is split (:func:`strategy`):

- ``per_series``: baselines, statistical and intermittent models, a ``MedianEnsemble`` of
  them, and any model class that sets ``per_series = True``. Each series' forecast depends on
  that series only, so fitting partition by partition gives exactly the forecasts of one fit
  on the whole catalogue.
- ``global``: LightGBM (negative-binomial quantiles) and a ``MedianEnsemble`` with LightGBM
  members. The model learns across series, so it is fitted once (on all series, or on a
  seeded sample of ``train_series``) and each partition is forecast with ``for_series``:
  the same booster, each series' own recent history. For series in the training set this
  is exactly what the model forecasts for them.
- ``whole``: models that learn something across series that cannot be split (the global
  weights of ``WeightedEnsemble``, ``AutoSelect``'s fallback choice, LightGBM's conformal
  quantiles) and model families the engine does not know: one task on all series.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import pandas as pd

from trendcast.data.store import DuckDBStore
from trendcast.data.tables import TABLES
from trendcast.errors import TrendcastError
from trendcast.models.base import Forecaster
from trendcast.models.registry import make_model
from trendcast.models.statistical import clip_negative

Strategy = Literal["per_series", "global", "whole"]
PER_SERIES_FAMILIES = frozenset({"baseline", "statistical", "intermittent"})
KEY = ["unique_id", "ds"]
# What load_series and add_covariates read: per-series tables are copied for a block's ids,
# shared ones whole. A query on any other table inside a task fails loudly (see _StagedStore).
BLOCK_TABLES = ("sales", "products")
SHARED_TABLES = ("calendar_events",)


def strategy(model: Forecaster) -> Strategy:
    """How ``model`` is split across partitions (see the module docstring)."""
    if getattr(type(model), "per_series", False) or model.family in PER_SERIES_FAMILIES:
        return "per_series"
    if not hasattr(model, "for_series"):
        return "whole"
    if model.family == "ensemble":
        kinds = {strategy(make_model(m)) for m in model.params["members"]}
        if kinds == {"per_series"}:
            return "per_series"
        return "whole" if "whole" in kinds else "global"
    # LightGBM's conformal quantiles are calibrated on the training series only
    return "whole" if model.params.get("quantile_method") == "conformal" else "global"


@dataclass
class ModelSpec:
    """A registered model by name and constructor parameters, built inside the task."""

    name: str
    params: dict[str, Any]
    alias: str
    strategy: Strategy

    def build(self, n_jobs: int) -> Forecaster:
        return make_model(self.name, n_jobs=n_jobs, **self.params)


@dataclass
class RawBlock:
    """Some series as stored (the rows of ``BLOCK_TABLES`` for ``ids``): what the driver reads,
    one query per table; the task turns it into model frames with :func:`prepare`."""

    ids: list[str]
    tables: dict[str, pd.DataFrame]


@dataclass
class Prep:
    """How every block of a run becomes model frames."""

    freq: str  # the catalogue's
    horizon: int
    exog: bool  # covariates, when some model of the task uses them
    future: bool  # their values over the horizon (forecasts; backtests use the actual ones)
    shared: dict[str, pd.DataFrame]  # the SHARED_TABLES


class _StagedStore(DuckDBStore):
    """An in-memory workspace holding one block; refuses tables that were not copied in."""

    def __init__(self) -> None:
        super().__init__(":memory:")

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        staged = (*BLOCK_TABLES, *SHARED_TABLES)
        missing = [t for t in TABLES if t not in staged and re.search(rf"\b{t}\b", query)]
        if missing:
            raise TrendcastError(
                f"preparing a partition read table(s) {missing}, which trendcast.engine does not "
                "copy into partitions; add them to BLOCK_TABLES or SHARED_TABLES in "
                "trendcast/engine/tasks.py"
            )
        return super().sql(query, params)


@dataclass
class Partition:
    """Some series: the gap-free sales and, when a model uses them, covariates."""

    series: pd.DataFrame
    exog: pd.DataFrame | None = None
    future: pd.DataFrame | None = None  # covariates over the forecast horizon

    def data_for(self, model: Forecaster) -> pd.DataFrame:
        return self.exog if model.supports_exog and self.exog is not None else self.series

    def future_for(self, model: Forecaster) -> pd.DataFrame | None:
        return self.future if model.supports_exog and self.exog is not None else None


@dataclass
class Prepared:
    """A block's model frames and what the run's notes need from it."""

    part: Partition
    gaps: int = 0
    n_series: int = 0
    notes: list[str] = field(default_factory=list)


def prepare(block: RawBlock, prep: Prep) -> Prepared:
    """The block's model frames, built exactly as from the workspace: its rows are copied into
    an in-memory workspace and read with the same ``load_series`` and ``add_covariates``."""
    from trendcast.features.exog import add_covariates, future_covariates
    from trendcast.services.forecast import load_series

    store = _StagedStore()
    try:
        for name, frame in {**block.tables, **prep.shared}.items():
            store.append(name, frame)
        series = load_series(store, freq=prep.freq)
        out = Prepared(Partition(series), int(series.attrs.get("gaps_filled", 0)),
                       int(series["unique_id"].nunique()))
        if prep.exog:
            out.part.exog = add_covariates(store, series, horizon=prep.horizon)
            if prep.future:
                out.part.future, out.notes = future_covariates(out.part.exog, prep.horizon, prep.freq)
        return out
    finally:
        store.close()


@dataclass
class FitItem:
    """One global model to fit on the shared training partition (up to ``cutoff``)."""

    spec: ModelSpec
    n_jobs: int
    cutoff: pd.Timestamp | None = None


def fit_global(item: FitItem, train: tuple[RawBlock, Prep]) -> Forecaster:
    """Fit a global model once on the training block; partitions then forecast with its
    ``for_series``."""
    model = item.spec.build(item.n_jobs)
    data = prepare(*train).part.data_for(model)
    if item.cutoff is not None:
        data = data[data["ds"] <= item.cutoff]
    return model.fit(data)


@dataclass
class ForecastJob:
    """What every forecast task shares: models in run order, each with its fitted global
    model, or None to fit it on the partition."""

    horizon: int
    quantiles: list[float]
    models: list[tuple[ModelSpec, Forecaster | None]]
    n_jobs: int
    prep: Prep


@dataclass
class PartitionForecast:
    """One partition's wide forecasts and what the run's notes need."""

    forecasts: pd.DataFrame
    gaps: int = 0
    n_series: int = 0
    covariate_notes: list[str] = field(default_factory=list)
    fallback: dict[str, list[str]] = field(default_factory=dict)
    choices: dict[str, pd.Series] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


def forecast_partition(block: RawBlock, job: ForecastJob) -> PartitionForecast:
    """Forecast the block's series with every model of the job; columns as run_forecast."""
    prepared = prepare(block, job.prep)
    part = prepared.part
    merged: pd.DataFrame | None = None
    out = PartitionForecast(pd.DataFrame(), prepared.gaps, prepared.n_series, prepared.notes)
    for spec, fitted in job.models:
        if fitted is None:
            model = spec.build(job.n_jobs)
            model.fit(part.data_for(model))
        else:
            model = fitted.for_series(part.data_for(fitted))  # type: ignore[attr-defined]
        out.fallback[spec.alias] = list(getattr(model, "fallback_ids_", []))
        choice = getattr(model, "choice_", None)
        if choice is not None:
            out.choices[spec.alias] = choice["model"].value_counts()
        fc = model.predict(job.horizon, X_df=part.future_for(model), quantiles=job.quantiles)
        out.notes[spec.alias] = list(getattr(model, "notes_", []))  # some models note at predict
        fc = clip_negative(fc)
        merged = fc if merged is None else merged.merge(fc, on=KEY)
    assert merged is not None
    out.forecasts = merged
    return out


@dataclass
class BacktestJob:
    """What every backtest task shares; global models come fitted once per cutoff."""

    horizon: int
    quantiles: list[float]
    cutoffs: list[pd.Timestamp]
    models: list[tuple[ModelSpec, dict[pd.Timestamp, Forecaster] | None]]
    n_jobs: int
    season_length: int
    prep: Prep


@dataclass
class PartitionBacktest:
    """One partition's backtest rows and its series' metric scales."""

    cv: pd.DataFrame
    mase_scale: pd.Series
    rmsse_scale: pd.Series
    gaps: int = 0
    n_series: int = 0


class _ForSeries(Forecaster):
    """A global model fitted once, applied to the series a backtest window trains on."""

    def __init__(self, fitted: Forecaster) -> None:
        super().__init__(alias=fitted.alias)
        self.fitted = fitted
        self.supports_exog = fitted.supports_exog  # type: ignore[misc]

    def fit(self, df: pd.DataFrame) -> Self:
        self.model_ = self.fitted.for_series(df)  # type: ignore[attr-defined]
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Any = None) -> pd.DataFrame:
        return self.model_.predict(h, X_df=X_df, quantiles=quantiles)


def backtest_partition(block: RawBlock, job: BacktestJob) -> PartitionBacktest:
    """Backtest the block's series at the catalogue's cutoffs; frame as run_backtest."""
    from trendcast.evaluation.backtest import backtest
    from trendcast.evaluation.metrics import mase_scale, rmsse_scale

    prepared = prepare(block, job.prep)
    part = prepared.part
    first = part.series[part.series["ds"] <= job.cutoffs[0]]
    scales = (mase_scale(first, job.season_length), rmsse_scale(first), prepared.gaps,
              prepared.n_series)
    merged: pd.DataFrame | None = None
    for spec, fitted in job.models:
        probe = spec.build(job.n_jobs)
        data = part.data_for(probe)
        # a cutoff before every series of this partition starts has nothing to train on
        cuts = [c for c in job.cutoffs if (data["ds"] <= c).any()]
        if not cuts:
            return PartitionBacktest(pd.DataFrame(), *scales)
        if fitted is None:
            cv = backtest(lambda spec=spec: spec.build(job.n_jobs), data, h=job.horizon,
                          quantiles=job.quantiles, cutoffs=cuts)
        else:
            cv = pd.concat([backtest(lambda m=fitted[c]: _ForSeries(m), data, h=job.horizon,
                                     quantiles=job.quantiles, cutoffs=[c]) for c in cuts],
                           ignore_index=True)
        cv = clip_negative(cv)
        merged = cv if merged is None else merged.merge(
            cv.drop(columns="y"), on=[*KEY, "cutoff"])
    assert merged is not None
    return PartitionBacktest(merged, *scales)
