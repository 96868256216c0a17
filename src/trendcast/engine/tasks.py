"""What runs inside an engine task: fit a global model, forecast or backtest one partition.

Frames only: a task gets its block's rows as stored (sales and catalogue frames) and the
run's shared job (models, horizon, quantiles, the calendar, fitted global models), builds
the model frames (:func:`prepare`) and runs the models. Nothing here touches a workspace.

How each model is split follows its :attr:`~trendcast.models.base.Forecaster.strategy`:
``per_series`` models are fitted partition by partition, ``global`` ones are fitted once
and applied to each partition with ``for_series``, ``whole`` ones run in one task on every
series.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import pandas as pd

from trendcast.features.cleaning import CleaningOptions, clean_series
from trendcast.features.elasticity import CONTROL_PREFIXES, ElasticityOptions, PriceResponse, price_response
from trendcast.features.exog import add_covariates, future_covariates
from trendcast.features.scenario import Plan, apply_plan, events_only, plan_factors, scale_forecast
from trendcast.features.series import fill_series, recent_rows, resample_sales
from trendcast.models.base import Forecaster
from trendcast.models.fallback import guard
from trendcast.models.statistical import clip_negative
from trendcast.models.validation import backtest, mase_scale, rmsse_scale

KEY = ["unique_id", "ds"]


@dataclass
class Block:
    """Some series as stored: their sales rows (``unique_id, ds, y[, price, promo]``, by
    series and date) and catalogue rows."""

    ids: list[str]
    sales: pd.DataFrame
    products: pd.DataFrame
    stock: pd.DataFrame | None = None  # stock on hand (unique_id, ds, on_hand), when kept


@dataclass
class Prep:
    """How every block of a run becomes model frames."""

    freq: str  # the run's: the catalogue's, or a coarser one it is aggregated to
    horizon: int
    exog: bool  # covariates, when some model of the task uses them
    future: bool  # their values over the horizon (forecasts; backtests use the actual ones)
    calendar: pd.DataFrame
    resample: bool = False  # aggregate the stored rows to ``freq`` first
    alive_from: pd.Timestamp | None = None  # series whose last date is earlier have ended
    until: pd.Timestamp | None = None  # drop aggregated periods after this (incomplete)
    clean: CleaningOptions | None = None  # clean each model's inputs (stock-outs, outliers)
    plan: Plan | None = None  # a what-if plan: its covariates replace the assumed future ones
    macro: pd.DataFrame | None = None  # external series (name, ds, value): driver covariates
    end: pd.Timestamp | None = None  # live series run to this date (no rows: zero sales)
    since: pd.Timestamp | None = None  # rows on or before it are left out (saved models' need)
    week_start: int | None = None  # stored weekly rows: days from a row's date to its week's start
    first: pd.Timestamp | None = None  # drop aggregated periods before this (incomplete)
    rows: pd.Series | None = None  # the whole catalogue's rows per period (a closed shop's are few)


@dataclass
class Partition:
    """Some series: the gap-free sales and, when a model uses them, covariates."""

    series: pd.DataFrame
    exog: pd.DataFrame | None = None
    future: pd.DataFrame | None = None  # covariates over the forecast horizon
    planned: pd.DataFrame | None = None  # the same under a what-if plan (planned series only)

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
    ended: list[str] = field(default_factory=list)  # series left out: no sales for too long
    tails: dict[str, int] = field(default_factory=dict)  # series -> zero periods added at its end
    estimated_at: frozenset[tuple[str, Any]] = frozenset()  # (unique_id, ds) of missing periods given a level

    @property
    def estimated(self) -> dict[str, int]:
        """Series -> its missing periods given its recent level."""
        return dict(Counter(u for u, _ in self.estimated_at))

    @property
    def estimated_last(self) -> pd.Timestamp | None:
        """The latest of those periods (None without any)."""
        return max((pd.Timestamp(d) for _, d in self.estimated_at), default=None)

    @property
    def empty(self) -> bool:
        return self.part.series.empty


class _Prepared(Forecaster):
    """A model fitted on a prepared copy of its inputs (:meth:`_prepare`); it forecasts and
    exposes the fitted model's ``fallback_``, ``choice_``, ``notes_`` as its own."""

    def __init__(self, model: Forecaster) -> None:
        super().__init__(alias=model.alias)
        self.model = model
        self.supports_exog = model.supports_exog  # type: ignore[misc]
        self.supports_quantiles = model.supports_quantiles  # type: ignore[misc]

    @property
    def strategy(self) -> Any:
        return self.model.strategy

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def fit(self, df: pd.DataFrame) -> Self:
        self.model_ = self.model.fit(self._prepare(df))
        self.is_fitted_ = True
        return self

    def for_series(self, df: pd.DataFrame) -> Self:
        new = copy.copy(self)
        new.model_ = self.model_.for_series(new._prepare(df))
        return new

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None, quantiles: Any = None) -> pd.DataFrame:
        return self.model_.predict(h, X_df=X_df, quantiles=quantiles)

    def __getattr__(self, name: str) -> Any:  # fallback_, choice_, notes_ of the fitted model
        if name.endswith("_") and not name.startswith("__") and "model_" in self.__dict__:
            return getattr(self.__dict__["model_"], name)
        raise AttributeError(name)


class Clipped(_Prepared):
    """A model that cannot take negative sales (returns), fitted on a copy clipped at zero;
    its forecasts are compared with the real values in backtests."""

    def __init__(self, model: Forecaster, negatives: int) -> None:
        super().__init__(model)
        self.negatives = negatives

    @property
    def note(self) -> str:
        return (f"{self.alias}: fitted on sales clipped at zero ({self.negatives:,} negative "
                "values, e.g. returns, that its loss cannot take)")

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(y=df["y"].clip(lower=0))


class Cleaned(_Prepared):
    """A model fitted on cleaned inputs (:func:`trendcast.features.cleaning.clean_series`):
    whatever it is fitted on is cleaned first, so a backtest cleans only the history before
    each cutoff and scores against the real sales. ``changes_`` lists what was changed."""

    def __init__(self, model: Forecaster, options: CleaningOptions, calendar: pd.DataFrame,
                 stock: pd.DataFrame | None, drivers: pd.DataFrame | None = None) -> None:
        super().__init__(model)
        self.options = options
        self.calendar = calendar
        self.stock = stock
        self.drivers = drivers

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        cleaned, self.changes_ = clean_series(df, calendar=self.calendar, stock=self.stock,
                                              drivers=self.drivers, options=self.options)
        return cleaned


def _stock(block: Block, prep: Prep) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The block's stock history and its price and promo by day, when cleaning uses them
    (daily runs only: both are per day; the drivers reach cleaning even for a model that is
    fitted on the sales alone)."""
    if prep.clean is None or prep.resample:
        return None, None
    cols = [c for c in ("price", "promo") if c in block.sales.columns]
    return block.stock, (block.sales[["unique_id", "ds", *cols]] if cols else None)


def ready(model: Forecaster, data: pd.DataFrame, prep: Prep | None = None,
          stock: pd.DataFrame | None = None, drivers: pd.DataFrame | None = None) -> Forecaster:
    """``model``, wrapped in :class:`Clipped` when ``data`` has negative sales it cannot take,
    and in :class:`Cleaned` when the run cleans its inputs."""
    if not model.supports_negative and "y" in data.columns:
        negatives = int((data["y"] < 0).sum())
        if negatives:
            model = Clipped(model, negatives)
    if prep is not None and prep.clean is not None:
        model = Cleaned(model, prep.clean, prep.calendar, stock, drivers)
    return model


def prepare(block: Block, prep: Prep) -> Prepared:
    """The block's model frames: rows aggregated to the run's frequency (when coarser),
    ended series left out, the history cut to ``prep.since``, gaps filled, covariates from
    the block's own sales and catalogue rows and the run's calendar."""
    sales = (resample_sales(block.sales, prep.freq, week_start=prep.week_start) if prep.resample
             else block.sales)
    if prep.until is not None:
        sales = sales[sales["ds"] <= prep.until]
    if prep.first is not None:
        sales = sales[sales["ds"] >= prep.first]
    ended: list[str] = []
    if prep.alive_from is not None and len(sales):
        last = sales.groupby("unique_id")["ds"].max()
        ended = sorted(map(str, last.index[last < prep.alive_from]))
        if ended:
            sales = sales[~sales["unique_id"].astype(str).isin(ended)]
    if prep.since is not None:
        sales = recent_rows(sales, prep.since)
    if sales.empty:
        empty = pd.DataFrame({"unique_id": pd.Series(dtype=object), "ds": pd.Series(dtype="datetime64[ns]"),
                              "y": pd.Series(dtype=float)})
        return Prepared(Partition(empty), ended=ended)
    series = fill_series(sales, prep.freq, end=prep.end, catalogue_rows=prep.rows, inside=not prep.resample)
    out = Prepared(Partition(series), int(series.attrs.get("gaps_filled", 0)),
                   int(series["unique_id"].nunique()), ended=ended,
                   tails=dict(series.attrs.get("tails_filled", {})),
                   estimated_at=series.attrs.get("estimated_at", frozenset()))
    if prep.exog:
        out.part.exog = add_covariates(series, sales=sales, calendar=prep.calendar,
                                       products=block.products, horizon=prep.horizon,
                                       macro=prep.macro)
        if prep.future:
            out.part.future, out.notes = future_covariates(out.part.exog, prep.horizon, prep.freq)
            if prep.plan is not None:
                out.part.planned, said = _planned(out.part.future, prep.plan, prep.calendar,
                                                  prep.freq)
                out.notes += [n for n in said if n not in out.notes]
    return out


def _planned(future: pd.DataFrame, plan: Plan, calendar: pd.DataFrame, freq: str = "D"
             ) -> tuple[pd.DataFrame | None, list[str]]:
    """The block's future covariates with the plan applied (None: no planned series here).
    Every series is kept: a global model predicts the whole block at once."""
    if not future["unique_id"].isin(set(plan.ids)).any():
        return None, []
    return apply_plan(future, plan, calendar, freq)


RESPONSE_GROUPS = ("department", "category")  # pooling levels of the elasticities, narrowest first


def estimate_response(block: Block, prep: Prep, history_days: int | None = 730,
                      options: ElasticityOptions | None = None) -> PriceResponse | None:
    """Each product's price elasticity and the shop-wide promotion effect, estimated on the
    block's daily rows (the last ``history_days``) with the run's calendar flags as controls
    (:func:`trendcast.features.elasticity.price_response`); None when the sales have no
    prices or no product has enough price changes."""
    prepared = prepare(block, Prep(prep.freq, prep.horizon, True, False, prep.calendar,
                                   alive_from=prep.alive_from, rows=prep.rows))
    frame = prepared.part.exog
    if prepared.empty or frame is None or "price" not in frame.columns:
        return None
    if history_days:
        frame = frame[frame["ds"] > frame["ds"].max() - pd.Timedelta(days=int(history_days))]
    controls = [c for c in frame.columns if c.startswith(CONTROL_PREFIXES)]
    return price_response(frame, groups=RESPONSE_GROUPS, controls=controls,
                          options=options or ElasticityOptions())


def unwrap(model: Forecaster) -> Forecaster:
    """The fitted model inside the :class:`Clipped` / :class:`Cleaned` wrappers (a saved
    version keeps the model; :func:`forward_ready` clips and cleans the new history)."""
    while isinstance(model, Clipped | Cleaned):
        model = model.model_
    return model


def forward_ready(fitted: Forecaster, data: pd.DataFrame, prep: Prep, stock: pd.DataFrame | None = None,
                  drivers: pd.DataFrame | None = None) -> tuple[Forecaster, pd.DataFrame | None, str | None]:
    """``fitted.forward`` on ``data`` clipped and cleaned as :func:`ready` would for a fit;
    returns the model, what cleaning changed and a note on clipping."""
    note = changes = None
    if not fitted.supports_negative and "y" in data.columns:
        negatives = int((data["y"] < 0).sum())
        if negatives:
            data = data.assign(y=data["y"].clip(lower=0))
            note = (f"{fitted.alias}: forecast from sales clipped at zero ({negatives:,} negative "
                    "values, e.g. returns, that its loss cannot take)")
    if prep.clean is not None:
        data, changes = clean_series(data, calendar=prep.calendar, stock=stock, drivers=drivers,
                                     options=prep.clean)
    return fitted.forward(data), changes, note


@dataclass
class TrainJob:
    """What every training task shares: the models to fit on each partition and freeze."""

    models: list[Forecaster]
    n_jobs: int
    prep: Prep


@dataclass
class PartitionFit:
    """One partition's frozen fitted models (by alias) and what the notes need."""

    models: dict[str, Forecaster]
    gaps: int = 0
    n_series: int = 0
    ended: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    tails: dict[str, int] = field(default_factory=dict)
    estimated: dict[str, int] = field(default_factory=dict)
    estimated_last: pd.Timestamp | None = None


def fit_partition(block: Block, job: TrainJob) -> PartitionFit:
    """Fit each model of the job on the block's series as a forecast would, and freeze it."""
    prepared = prepare(block, job.prep)
    out = PartitionFit({}, prepared.gaps, prepared.n_series, prepared.ended, tails=prepared.tails,
                       estimated=prepared.estimated, estimated_last=prepared.estimated_last)
    if prepared.empty:
        return out
    for proto in job.models:
        data = prepared.part.data_for(proto)
        model = ready(proto.clone(n_jobs=job.n_jobs), data, job.prep, *_stock(block, job.prep)).fit(data)
        out.notes[proto.alias] = list(getattr(model, "notes_", []))
        out.models[proto.alias] = unwrap(model).freeze()
    return out


@dataclass
class FitItem:
    """One global model to fit on the shared training block (up to ``cutoff``)."""

    model: Forecaster
    n_jobs: int
    cutoff: pd.Timestamp | None = None


def fit_global(item: FitItem, train: tuple[Block, Prep]) -> Forecaster:
    """Fit a global model once on the training block; partitions then forecast with its
    ``for_series``."""
    model = item.model.clone(n_jobs=item.n_jobs)
    data = prepare(*train).part.data_for(model)
    if item.cutoff is not None:
        data = data[data["ds"] <= item.cutoff]
    block, prep = train
    return ready(model, data, prep, *_stock(block, prep)).fit(data)


@dataclass
class ForecastJob:
    """What every forecast task shares: models in run order, each with its fitted global
    model, or None to fit it on the partition."""

    horizon: int
    quantiles: list[float]
    models: list[tuple[Forecaster, Forecaster | None]]
    n_jobs: int
    prep: Prep
    forward: bool = False  # the fitted models are a saved version: apply them to new history
    response: PriceResponse | None = None  # a plan's prices and promotions act through it


@dataclass
class PartitionForecast:
    """One partition's wide forecasts and what the run's notes need."""

    forecasts: pd.DataFrame
    gaps: int = 0
    n_series: int = 0
    covariate_notes: list[str] = field(default_factory=list)
    fallback: dict[str, dict[str, str]] = field(default_factory=dict)  # alias -> id -> tier
    choices: dict[str, pd.Series] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    crossed: dict[str, int] = field(default_factory=dict)  # alias -> rows with quantiles sorted
    ended: list[str] = field(default_factory=list)
    changes: list[pd.DataFrame] = field(default_factory=list)  # what cleaning changed
    scenario: pd.DataFrame | None = None  # planned series under the plan (models with covariates)
    prices: pd.DataFrame | None = None  # their assumed and planned prices (unique_id, ds, base, plan)
    tails: dict[str, int] = field(default_factory=dict)  # series -> zero periods added at its end
    estimated: dict[str, int] = field(default_factory=dict)  # series -> missing periods given its level
    estimated_last: pd.Timestamp | None = None  # the latest of those periods


def forecast_partition(block: Block, job: ForecastJob) -> PartitionForecast:
    """Forecast the block's series with every model of the job (columns in run order).

    Every live series gets finite forecasts and ordered quantiles from every model: what a
    model leaves missing or infinite goes down the fallback chain (:func:`fallback.guard`)."""
    prepared = prepare(block, job.prep)
    part = prepared.part
    merged: pd.DataFrame | None = None
    out = PartitionForecast(pd.DataFrame(), prepared.gaps, prepared.n_series, prepared.notes,
                            ended=prepared.ended, tails=prepared.tails, estimated=prepared.estimated,
                            estimated_last=prepared.estimated_last)
    if prepared.empty:
        return out
    for proto, fitted in job.models:
        clipped = None
        if fitted is None:
            data = part.data_for(proto)
            model = ready(proto.clone(n_jobs=job.n_jobs), data, job.prep, *_stock(block, job.prep))
            model.fit(data)
        elif job.forward:
            model, changes, clipped = forward_ready(fitted, part.data_for(fitted), job.prep,
                                                    *_stock(block, job.prep))
            if changes is not None and len(changes):
                out.changes.append(changes)
        else:
            model = fitted.for_series(part.data_for(fitted))
        if isinstance(model, Cleaned):
            out.changes.append(model.changes_)
        tiers = dict(getattr(model, "fallback_", {}))
        choice = getattr(model, "choice_", None)
        if choice is not None:
            out.choices[proto.alias] = choice["model"].value_counts()
        fc = model.predict(job.horizon, X_df=part.future_for(model), quantiles=job.quantiles)
        out.notes[proto.alias] = list(getattr(model, "notes_", []))  # some models note at predict
        if isinstance(model, Clipped):
            out.notes[proto.alias].append(model.note)
        if job.forward and clipped:
            out.notes[proto.alias].append(clipped)
        fc, guarded, out.crossed[proto.alias] = guard(fc, part.series, job.horizon, job.prep.freq,
                                                      job.quantiles, proto.alias)
        out.fallback[proto.alias] = {**tiers, **guarded}
        fc = clip_negative(fc)
        merged = fc if merged is None else merged.merge(fc, on=KEY)
        if part.planned is not None and model.supports_exog and part.exog is not None:
            sc = _scenario(model, part, job, proto.alias, fc)
            out.scenario = sc if out.scenario is None else out.scenario.merge(sc, on=KEY)
    assert merged is not None
    out.forecasts = merged
    if part.planned is not None and out.scenario is not None:
        out.prices = _plan_prices(part, job.prep.plan.ids if job.prep.plan else [])
    return out


def _scenario(model: Forecaster, part: Partition, job: ForecastJob, alias: str,
              baseline: pd.DataFrame) -> pd.DataFrame:
    """The fitted ``model``'s forecast of the planned series under the plan (the same model,
    fitted once). With an estimated price response (``job.response``) the plan's prices and
    promotions scale the model's ``baseline`` forecast (or, when the plan sets events, its
    forecast with those events) by :func:`~trendcast.features.scenario.plan_factors`; without
    one the model forecasts from the planned covariates itself."""
    assert part.planned is not None and job.prep.plan is not None
    plan = job.prep.plan
    ids = set(plan.ids)
    series = part.series[part.series["unique_id"].isin(ids)]

    def predict(X_df: pd.DataFrame) -> pd.DataFrame:
        fc = model.predict(job.horizon, X_df=X_df, quantiles=job.quantiles)
        fc = fc[fc["unique_id"].isin(ids)].reset_index(drop=True)
        fc, _, _ = guard(fc, series, job.horizon, job.prep.freq, job.quantiles, alias)
        return clip_negative(fc)

    if job.response is None:
        return predict(part.planned)
    assert part.future is not None
    events = events_only(plan)
    if events is not None and part.future["unique_id"].isin(set(events.ids)).any():
        base = predict(apply_plan(part.future, events, job.prep.calendar)[0])
    else:
        base = baseline[baseline["unique_id"].isin(ids)].reset_index(drop=True)
    factors = plan_factors(part.future, part.planned, job.response, sorted(ids))
    return scale_forecast(base, factors, alias, job.quantiles)


def _plan_prices(part: Partition, ids_planned: list[str]) -> pd.DataFrame:
    assert part.future is not None and part.planned is not None
    cols = KEY + (["price"] if "price" in part.future.columns else [])
    ids = set(ids_planned)
    base = part.future.loc[part.future["unique_id"].isin(ids), cols]
    base = base.rename(columns={"price": "base_price"})
    plan = part.planned.loc[part.planned["unique_id"].isin(ids), cols].rename(columns={"price": "plan_price"})
    out = base.merge(plan, on=KEY, how="inner")
    for col in ("base_price", "plan_price"):
        if col not in out.columns:
            out[col] = float("nan")
    return out


@dataclass
class BacktestJob:
    """What every backtest task shares; global models come fitted once per cutoff."""

    horizon: int
    quantiles: list[float]
    cutoffs: list[pd.Timestamp]
    models: list[tuple[Forecaster, dict[pd.Timestamp, Forecaster] | None]]
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
    notes: list[str] = field(default_factory=list)  # per window: what self-choosing models chose
    unscored: int = 0  # periods in the windows without an actual row (estimated), not scored


class _ForSeries(Forecaster):
    """A global model fitted once, applied to the series a backtest window trains on."""

    def __init__(self, fitted: Forecaster) -> None:
        super().__init__(alias=fitted.alias)
        self.fitted = fitted
        self.supports_exog = fitted.supports_exog  # type: ignore[misc]

    def fit(self, df: pd.DataFrame) -> Self:
        self.model_ = self.fitted.for_series(df)
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Any = None) -> pd.DataFrame:
        return self.model_.predict(h, X_df=X_df, quantiles=quantiles)


def backtest_partition(block: Block, job: BacktestJob) -> PartitionBacktest:
    """Backtest the block's series at the catalogue's cutoffs."""
    prepared = prepare(block, job.prep)
    part = prepared.part
    first = part.series[part.series["ds"] <= job.cutoffs[0]]
    scales = (mase_scale(first, job.season_length), rmsse_scale(first), prepared.gaps,
              prepared.n_series)
    merged: pd.DataFrame | None = None
    notes: list[str] = []
    for proto, fitted in job.models:
        data = part.data_for(proto)
        # a cutoff before every series of this partition starts has nothing to train on
        cuts = [c for c in job.cutoffs if (data["ds"] <= c).any()]
        if not cuts:
            return PartitionBacktest(pd.DataFrame(), *scales)
        if fitted is None:
            stock, drivers = _stock(block, job.prep)
            cv = backtest(lambda proto=proto, data=data, stock=stock, drivers=drivers: ready(
                              proto.clone(n_jobs=job.n_jobs), data, job.prep, stock, drivers),
                          data, h=job.horizon, quantiles=job.quantiles, cutoffs=cuts,
                          on_fit=lambda cut, model: notes.extend(_choice_notes(cut, model)))
        else:
            cv = pd.concat([backtest(lambda m=fitted[c]: _ForSeries(m), data, h=job.horizon,
                                     quantiles=job.quantiles, cutoffs=[c]) for c in cuts],
                           ignore_index=True)
        cv = clip_negative(cv)
        merged = cv if merged is None else merged.merge(
            cv.drop(columns="y"), on=[*KEY, "cutoff"])
    assert merged is not None
    kept, unscored = _without(merged, prepared.estimated_at)
    return PartitionBacktest(kept, *scales, notes=notes, unscored=unscored)


def _without(cv: pd.DataFrame, rows: frozenset[tuple[str, Any]]) -> tuple[pd.DataFrame, int]:
    """The backtest's rows but those of periods with no actual row (estimated: a missing row
    of a series that always sells), and how many such periods the windows held: they are
    not scored."""
    if not rows or cv.empty:
        return cv, 0
    keys = pd.MultiIndex.from_tuples(sorted(rows), names=KEY)
    at = pd.MultiIndex.from_arrays([cv["unique_id"].astype(str), cv["ds"]], names=KEY)
    gone = at.isin(keys)
    return cv[~gone].reset_index(drop=True), int(at[gone].nunique())


def _choice_notes(cutoff: pd.Timestamp, model: Forecaster) -> list[str]:
    """What a model that chooses among members (``Recommended``) chose at a backtest origin."""
    inner = unwrap(model)
    if getattr(inner, "chosen_", None) is None:
        return []
    return [f"window from {pd.Timestamp(cutoff).date()}: {n}" for n in getattr(inner, "notes_", [])
            if any(word in n for word in (" chose ", " left out ", " external drivers "))]


def frames_of(models: Sequence[Forecaster]) -> bool:
    """Whether some model of ``models`` uses covariates."""
    return any(m.supports_exog for m in models)
