"""One orchestrator over frames: fit models on a catalogue, forecast it, cross-validate it.

In the manner of statsforecast's ``StatsForecast`` and mlforecast's ``MLForecast``::

    runner = Runner([make_model("SeasonalNaive"), make_model("LightGBM")], n_jobs=2)
    out = runner.forecast(FrameSource(sales, products, calendar), h=28, quantiles=[0.1, 0.9])
    cv = runner.cross_validation(source, h=28, n_windows=2)

Data comes from a :class:`SeriesSource`: frames in memory (:class:`FrameSource`) or a run's
snapshot of the workspace (:class:`trendcast.data.snapshot.Snapshot`), read block by block.
The catalogue's sorted ids are cut into contiguous blocks of ``partition_size``; the engine
runs each block (:mod:`trendcast.engine.tasks`): gaps filled, covariates built, models
fitted or applied. How a model is split follows its declared
:attr:`~trendcast.models.base.Forecaster.strategy`; global models are fitted once first (on
every series, or on a seeded sample of ``train_series``). ``forecast`` and
``cross_validation`` share one internal ``_run``; each model is built once, by the caller,
and cloned per task. The runner reads and writes no workspace: services do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from trendcast.engine import Engine, make_engine, resolve_jobs
from trendcast.engine.tasks import (
    BacktestJob,
    Block,
    FitItem,
    ForecastJob,
    Prep,
    TrainJob,
    backtest_partition,
    estimate_response,
    fit_global,
    fit_partition,
    forecast_partition,
    prepare,
    unwrap,
)
from trendcast.errors import ModelError
from trendcast.features.cleaning import CleaningOptions
from trendcast.features.elasticity import ElasticityOptions, PriceResponse
from trendcast.features.frequency import (
    coarser,
    covered_until,
    default_season_length,
    describe,
    is_coarser,
    period_labels,
    week_start_offset,
)
from trendcast.features.scenario import RESPONSES, Plan, events_only, response_note, scenario_notes
from trendcast.models.base import Forecaster, check_horizon, check_quantiles
from trendcast.models.validation import cutoffs_between
from trendcast.schema import quantile_column

Progress = Callable[[str, int, int], None]
TRAIN_SEED = 0
DEFAULT_PARTITION_SIZE = 1000
RESPONSE_SERIES = 1000  # a plan's price response: its products plus a sample of others, this many
# chosen on simulated shops 11 and 13 (benchmarks/scenario_methods.py, docs/benchmarks.md)
RESPONSE_HISTORY_DAYS = 730
RESPONSE_OPTIONS = ElasticityOptions()


class SeriesSource(Protocol):
    """Where a run's series come from."""

    @property
    def ids(self) -> list[str]:
        """Sorted series ids."""
        ...

    @property
    def freq(self) -> str:
        """The catalogue's frequency (pandas alias)."""
        ...

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last date over every series."""
        ...

    def block(self, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
        """``{"sales": rows of ids by series and date, "products": their catalogue rows}``."""
        ...

    def calendar(self) -> pd.DataFrame:
        """Calendar events (``ds, name, kind, region, source``)."""
        ...

    def rows_per_period(self) -> pd.Series:
        """The number of sales rows on each date (a closed shop's dates have few)."""
        ...


class FrameSource:
    """Frames in memory as a :class:`SeriesSource`: stored-shape sales rows (``unique_id,
    ds, y`` and optionally ``price, promo``), catalogue rows and calendar events."""

    def __init__(self, sales: pd.DataFrame, products: pd.DataFrame | None = None,
                 calendar: pd.DataFrame | None = None, *, freq: str | None = None,
                 stock: pd.DataFrame | None = None, macro: pd.DataFrame | None = None) -> None:
        from trendcast.features.frequency import infer_freq

        missing = [c for c in ("unique_id", "ds", "y") if c not in sales.columns]
        if missing:
            raise ModelError(f"sales frame lacks columns {missing}")
        frame = sales.assign(unique_id=sales["unique_id"].astype(str))
        for col in ("price", "promo"):
            if col not in frame.columns:
                frame[col] = np.nan
        self._sales = frame.sort_values(["unique_id", "ds"], ignore_index=True)
        self._products = (products if products is not None
                          else pd.DataFrame({"unique_id": pd.Series(dtype=object),
                                             "category": pd.Series(dtype=object),
                                             "department": pd.Series(dtype=object)}))
        from trendcast.data.calendar import shop_wide

        self._calendar = shop_wide(calendar) if calendar is not None else pd.DataFrame(
            {"ds": pd.Series(dtype="datetime64[ns]"), "name": pd.Series(dtype=object),
             "kind": pd.Series(dtype=object)})
        self._freq = freq or infer_freq(self._sales)
        self._stock = stock
        self._macro = macro
        self._rows: pd.Series | None = None

    @property
    def ids(self) -> list[str]:
        return sorted(self._sales["unique_id"].unique().tolist())

    @property
    def freq(self) -> str:
        return self._freq

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return pd.Timestamp(self._sales["ds"].min()), pd.Timestamp(self._sales["ds"].max())

    def block(self, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
        keep = set(ids)
        out = {"sales": self._sales[self._sales["unique_id"].isin(keep)].reset_index(drop=True),
               "products": self._products[self._products["unique_id"].astype(str).isin(keep)]}
        if self._stock is not None:
            out["stock_history"] = self._stock[self._stock["unique_id"].astype(str).isin(keep)]
        return out

    def calendar(self) -> pd.DataFrame:
        """The events that apply to every product (:func:`trendcast.data.calendar.shop_wide`)."""
        return self._calendar

    def rows_per_period(self) -> pd.Series:
        """The number of sales rows on each date (counted once)."""
        if self._rows is None:
            self._rows = self._sales.groupby("ds").size()
        return self._rows

    def macro(self) -> pd.DataFrame | None:
        """External series (``name, ds, value`` [, ``unique_id``]), or None."""
        return self._macro


@dataclass
class RunOutput:
    """What a run computed: aliases in run order, the wide forecasts (``unique_id, ds
    [, cutoff, y], <alias>, <alias>-q-<q>``), notes, the number of series, how it ran."""

    aliases: list[str]
    forecasts: pd.DataFrame
    notes: list[str]
    n_series: int
    freq: str
    execution: dict[str, Any]
    cutoffs: list[pd.Timestamp] = field(default_factory=list)
    season_length: int = 1
    scales: tuple[pd.Series, pd.Series] | None = None  # MASE and RMSSE scales (backtests)
    cleaning: pd.DataFrame | None = None  # what cleaning changed (unique_id, ds, before, after, reason)
    scenario: pd.DataFrame | None = None  # planned series under a what-if plan (covariate models)
    plan_prices: pd.DataFrame | None = None  # their assumed and planned prices (base_price, plan_price)
    scenario_models: list[str] = field(default_factory=list)  # the models the plan can change
    response: dict[str, Any] | None = None  # how the plan's effect was computed (run params)


@dataclass
class Fitted:
    """A model fitted on a catalogue, with the frames it saw (for explanations)."""

    model: Forecaster
    history: pd.DataFrame  # gap-free series (with covariates when the model uses them)
    future: pd.DataFrame | None  # covariates over the horizon
    notes: list[str]
    freq: str


@dataclass
class Trained:
    """Every model of a run fitted on the whole catalogue and frozen (a saved version's
    content): ``models`` by alias, forecast later with ``Runner.forecast(..., fitted=)``."""

    models: dict[str, Forecaster]
    freq: str
    n_series: int
    notes: list[str]
    span: tuple[pd.Timestamp, pd.Timestamp]
    series: list[str] = field(default_factory=list)  # the series the models were fitted on


@dataclass
class _Tally:
    """What the run's notes need, gathered over partitions."""

    gaps: int = 0
    n_series: int = 0
    covariate_notes: list[str] = field(default_factory=list)
    fallback: dict[str, dict[str, str]] = field(default_factory=dict)
    choices: dict[str, pd.Series] = field(default_factory=dict)
    model_notes: dict[str, list[str]] = field(default_factory=dict)
    crossed: dict[str, int] = field(default_factory=dict)
    ended: list[str] = field(default_factory=list)
    changes: list[pd.DataFrame] = field(default_factory=list)
    tails: dict[str, int] = field(default_factory=dict)
    estimated: dict[str, int] = field(default_factory=dict)
    estimated_last: pd.Timestamp | None = None

    def add_notes(self, notes: Sequence[str]) -> None:
        self.covariate_notes += [n for n in notes if n not in self.covariate_notes]

    def add_counts(self, res: Any) -> None:
        self.gaps += res.gaps
        self.n_series += res.n_series
        self.ended += getattr(res, "ended", [])
        self.tails.update(getattr(res, "tails", {}))
        self.estimated.update(getattr(res, "estimated", {}))
        last = getattr(res, "estimated_last", None)
        if last is not None and (self.estimated_last is None or last > self.estimated_last):
            self.estimated_last = last

    def add_forecast(self, res: Any) -> None:
        self.add_notes(res.covariate_notes)
        for alias, tiers in res.fallback.items():
            self.fallback.setdefault(alias, {}).update(tiers)
        for alias, n in res.crossed.items():
            self.crossed[alias] = self.crossed.get(alias, 0) + n
        self.changes += [c for c in res.changes if len(c)]
        for alias, counts in res.choices.items():
            prev = self.choices.get(alias)
            self.choices[alias] = counts if prev is None else prev.add(counts, fill_value=0)
        for alias, notes in res.notes.items():
            have = self.model_notes.setdefault(alias, [])
            have += [n for n in notes if n not in have]

    def notes(self, aliases: Sequence[str], ended_since: pd.Timestamp | None = None) -> list[str]:
        """Gaps, ended series, covariates, then per model its fallbacks, choice and own notes."""
        out = [f"{self.gaps:,} missing dates inside series filled with zero sales"] if self.gaps else []
        if self.ended:
            ended = sorted(self.ended)
            since = f" since {ended_since.date()}" if ended_since is not None else ""
            out.append(f"{len(ended):,} series ended (no sales{since}) and were not forecast: "
                       f"{_some(ended)} (ended_after sets how long a silence ends a series)")
        if self.tails:
            out.append(f"{len(self.tails):,} series have no rows for their last periods, filled with "
                       f"zero sales up to the catalogue's last date ({_most(self.tails)}); a product "
                       "that stopped selling is left out by ended_after")
        if self.estimated:
            out.append(f"{len(self.estimated):,} series have periods without a row though they sold in "
                       "every period before, and so long without a sale is improbable for them: the "
                       f"models read those periods as their recent level ({_most(self.estimated)}"
                       + (f"; the latest {self.estimated_last:%Y-%m-%d}" if self.estimated_last is not None
                          else "") + "); if "
                       "the export left their rows out, ingest them")
        out += self.covariate_notes
        for alias in aliases:
            tiers = self.fallback.get(alias, {})
            for tier in ("non-seasonal", "window average", "naive", "zero"):
                ids = sorted(u for u, t in tiers.items() if t == tier)
                if ids:
                    out.append(f"{alias}: {len(ids)} series got the {_TIER_TEXT[tier]} ({_some(ids)})")
            if self.crossed.get(alias):
                out.append(f"{alias}: quantiles crossed on {self.crossed[alias]:,} rows and were sorted")
            counts = self.choices.get(alias)
            if counts is not None:
                counts = counts.astype(int).sort_values(ascending=False, kind="stable")
                out.append(f"{alias} chose per series by backtest: "
                           + ", ".join(f"{m} {n}" for m, n in counts.items()))
            out += self.model_notes.get(alias, [])
        return out


_TIER_TEXT = {
    "non-seasonal": "non-seasonal version of the model (shorter than two seasons)",
    "window average": "window average (too short for the model, or no finite forecast)",
    "naive": "last value (a single observation)",
    "zero": "zero forecast (no sales at all)",
}


def _rows(data: SeriesSource, resample: bool = False) -> pd.Series | None:
    """The catalogue's rows per stored period, for telling a closed shop's periods (None for
    runs at a coarser frequency: they estimate no period inside a series)."""
    return None if resample else data.rows_per_period()


def _most(counts: dict[str, int], n: int = 5) -> str:
    """``id count`` of the ``n`` series with the most periods, and how many more series."""
    longest = sorted(counts, key=lambda u: (-counts[u], u))
    shown = ", ".join(f"{u} {counts[u]:,}" for u in longest[:n])
    return shown + (f" and {len(longest) - n:,} more" if len(longest) > n else "")


def _some(ids: Sequence[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + ("..." if len(ids) > n else "")


def history_since(models: Iterable[Forecaster], end: pd.Timestamp, freq: str,
                  alive_from: pd.Timestamp | None) -> pd.Timestamp | None:
    """The date after which fitted ``models`` moved forward to data ending at ``end`` read
    the history: the longest span any of them reads (:meth:`Forecaster.forward_history`),
    never past the first live date. None (all of it) when one reads everything, and when
    ended series are forecast from their own last dates (``alive_from`` None)."""
    if alive_from is None:
        return None
    spans = [unwrap(model).forward_history() for model in models]
    if not spans or None in spans:
        return None
    step = pd.tseries.frequencies.to_offset(freq)
    longest = max(span for span in spans if span is not None)
    return min(pd.Timestamp(end) - longest * step, pd.Timestamp(alive_from) - step)


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


def _changes(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Cleaning changes of every model and partition, one row per series and date."""
    columns = ["unique_id", "ds", "before", "after", "reason"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    return out.drop_duplicates(["unique_id", "ds"]).sort_values(["unique_id", "ds"], ignore_index=True)


def _cleaning_note(changes: pd.DataFrame) -> str:
    if changes.empty:
        return "cleaning: no stock-out days or outliers found; the models saw the sales as stored"
    counts = changes["reason"].value_counts()
    parts = [f"{n:,} {reason} day(s)" for reason, n in counts.items()]
    return (f"cleaning: {', '.join(parts)} on {changes['unique_id'].nunique():,} series replaced in "
            "the models' inputs (stock-outs by the demand around them, outliers by the rolling "
            "median); the stored sales are unchanged and `trendcast clean --run RUN` lists each change")


def _drivers(data: SeriesSource) -> pd.DataFrame | None:
    """The source's external series (``name, ds, value``), when it keeps any."""
    read = getattr(data, "macro", None)
    return None if read is None else read()


def _calendar_notes(calendar: pd.DataFrame, end: pd.Timestamp, h: int, freq: str) -> list[str]:
    """A warning when the calendar stops before the forecast does (its flags are then 0)."""
    last_day = pd.Timestamp(end) + h * pd.tseries.frequencies.to_offset(freq)
    if calendar.empty:
        return ["the workspace has no calendar events: holidays and festivals are not known to the "
                "models (run `trendcast festivals`, with --country for a shop outside China)"]
    covered = pd.Timestamp(calendar["ds"].max())
    if covered < last_day:
        return [f"the calendar's last event is on {covered.date()} but the forecast runs to "
                f"{last_day.date()}: holidays and festivals after it count as none (run "
                "`trendcast festivals --end ...`)"]
    return []


def _with_zero_rows(wide: pd.DataFrame, ended: list[str], data: SeriesSource, freq: str,
                    h: int) -> pd.DataFrame:
    """``wide`` plus zero forecasts from the catalogue's end for the ``ended`` series."""
    end = period_labels(pd.Series([data.span[1]]), freq).iloc[0]
    dates = pd.date_range(pd.Timestamp(end), periods=h + 1, freq=freq)[1:]
    zeros = pd.DataFrame({"unique_id": np.repeat(ended, h), "ds": np.tile(dates, len(ended))})
    for col in wide.columns[2:]:
        zeros[col] = 0.0
    return pd.concat([wide, zeros], ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)


def _load(source: SeriesSource, ids: Sequence[str]) -> Block:
    frames = source.block(ids)
    return Block(list(ids), frames["sales"], frames["products"], frames.get("stock_history"))


def _blocks(source: SeriesSource, blocks: Sequence[Sequence[str]]) -> Iterator[Block]:
    for ids in blocks:  # lazily: the engine asks for the next block when one is done
        yield _load(source, ids)


def _columns(frame: pd.DataFrame, aliases: Sequence[str], qs: Sequence[float],
             middle: Sequence[str] = ()) -> list[str]:
    """Keys, the first model, ``middle`` (cutoff, y), the other models."""
    cols = ["unique_id", "ds"]
    for i, alias in enumerate(aliases):
        cols += [c for c in [alias, *(quantile_column(alias, q) for q in qs)] if c in frame.columns]
        if i == 0:
            cols += [c for c in middle if c in frame.columns]
    return cols


def _gather(frames: list[pd.DataFrame], aliases: Sequence[str], qs: Sequence[float], *,
            keys: list[str], middle: Sequence[str] = ()) -> pd.DataFrame:
    """Partition frames (one group of models each) -> one wide frame in run order."""
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
    return merged[_columns(merged, aliases, qs, middle)]


class Runner:
    """Fits ``models`` on a catalogue and forecasts or cross-validates it on an engine.

    Args:
        models: model objects (built once, e.g. with ``make_model``); cloned per task.
        engine: ``"local"`` (default), ``"ray"``, or an engine from
            :func:`trendcast.engine.make_engine` (then the caller closes it).
        n_jobs: cores to use (< 1: all).
        partition_size: series per partition.
        train_series: fit global models on a seeded sample of this many series.
        progress: called with ``(label, done, total)``.
        freq: run at this frequency instead of the catalogue's: a coarser one (``W``, ``M``,
            ``Q``, ``Y`` or a pandas alias such as ``W-FRI``); sales are summed, prices
            averaged and calendar flags carried by the periods that contain them.
        ended: what a forecast does with a series whose last date lies more than
            ``ended_after`` periods (default: the horizon) before the catalogue's last date:
            ``skip`` it (default), forecast ``zero`` from the catalogue's end, or ``forecast``
            it from its own last date anyway. Every such series is listed in the notes.
        clean: fit every model on cleaned inputs (:mod:`trendcast.features.cleaning`:
            stock-out days treated as missing demand, outliers replaced; ``True`` for the
            default thresholds). Raw sales are never changed; ``RunOutput.cleaning`` lists
            every change of a forecast.
        week_label: whether stored weekly rows are dated by their week's first day
            (``start``) or last day (``end``); default: ``start`` for weeks dated on Mondays.
            With ``freq`` monthly or coarser, each week is spread over its seven days.
    """

    def __init__(self, models: Sequence[Forecaster], *, engine: Engine | str | None = None,
                 n_jobs: int = 1, partition_size: int = DEFAULT_PARTITION_SIZE,
                 train_series: int | None = None, progress: Progress | None = None,
                 freq: str | None = None, ended: str = "skip", ended_after: int | None = None,
                 clean: CleaningOptions | bool | None = None, week_label: str | None = None) -> None:
        if not models:
            raise ModelError("a run needs at least one model")
        aliases = [m.alias for m in models]
        dupes = sorted({a for a in aliases if aliases.count(a) > 1})
        if dupes:
            raise ModelError(f"models must have distinct aliases, got {dupes} twice")
        self.models = list(models)
        self.engine = engine
        self.n_jobs = n_jobs
        self.partition_size = partition_size
        self.train_series = train_series
        self.progress = progress
        if ended not in ("skip", "zero", "forecast"):
            raise ModelError(f"ended must be 'skip', 'zero' or 'forecast', got {ended!r}")
        if ended_after is not None and ended_after < 1:
            raise ModelError(f"ended_after must be >= 1 period, got {ended_after}")
        self.freq = freq
        self.ended = ended
        self.ended_after = ended_after
        self.clean = CleaningOptions() if clean is True else (clean or None)
        self.week_label = week_label

    @property
    def aliases(self) -> list[str]:
        return [m.alias for m in self.models]

    # Public API -----------------------------------------------------------------------

    def forecast(self, data: SeriesSource, h: int, *,
                 quantiles: Sequence[float] | None = None,
                 fitted: dict[str, Forecaster] | None = None,
                 plan: Plan | None = None, response: str = "elasticity") -> RunOutput:
        """Forecast ``h`` steps past each series' end.

        ``fitted`` (a :class:`Trained`'s models, e.g. a saved version) forecasts without
        fitting: each model is moved forward to the source's latest history
        (:meth:`Forecaster.forward`), partition by partition. ``plan``
        (:func:`~trendcast.features.scenario.parse_plan`) also forecasts its products with the
        plan's prices, promotions and events in place of the assumed ones, from the same fitted
        models (``RunOutput.scenario``); models without covariates are named in the notes.
        ``response`` says how the plan's prices and promotions move a forecast: ``"elasticity"``
        (default) scales each model's baseline by the products' estimated price elasticities and
        the shop's promotion effect (:mod:`trendcast.features.scenario`; the model's own
        response when none can be estimated, said in the notes), ``"model"`` leaves them to the
        model's own response to the planned covariates."""
        if response not in RESPONSES:
            raise ModelError(f"response must be one of {list(RESPONSES)}, got {response!r}")
        if fitted is not None:
            missing = [a for a in self.aliases if a not in fitted]
            if missing:
                raise ModelError(f"no fitted model for {missing}; the version holds {sorted(fitted)}")
        return self._run(data, check_horizon(h), check_quantiles(quantiles), cutoffs=None,
                         fitted=fitted, plan=plan, response=response)

    def train(self, data: SeriesSource, h: int) -> Trained:
        """Fit every model on every live series as :meth:`forecast` would and freeze it:
        global models once, per-series models partition by partition (then merged), the
        others on every series in one task."""
        h = check_horizon(h)
        engine, own = self._open()
        try:
            ids = data.ids
            if not ids:
                raise ModelError("the source has no series")
            freq, resample = self.run_freq(data)
            until = self._last_complete(data, freq) if resample else None
            first = self._first(data, freq, resample)
            alive_from = self._alive_from(data, freq, h)
            calendar = data.calendar()
            models: dict[str, Forecaster] = {}
            notes: list[str] = []
            glob = self._fit_globals(engine, data, ids, freq, h, calendar, [None], resample)
            for alias, by_cut in glob.items():
                models[alias] = unwrap(by_cut[None]).freeze()
            cpus = resolve_jobs(self.n_jobs)
            split = [m for m in self.models if m.strategy == "per_series"]
            groups = [(split, plan_partitions(ids, self.partition_size), 1)] if split else []
            groups += [([m], [ids], cpus) for m in self.models if m.strategy == "whole"]
            tally = _Tally()
            for k, (group, parts, task_cpus) in enumerate(groups):
                prep = Prep(freq, h, any(m.supports_exog for m in group), False, calendar,
                            resample, alive_from, until, self.clean, macro=_drivers(data),
                            end=self._live_end(data, freq, alive_from),
                            week_start=self._week_start(data), first=first, rows=_rows(data, resample))
                job = TrainJob(group, engine.task_jobs(task_cpus, len(parts)), prep)
                names = ", ".join(m.alias for m in group)
                pieces: dict[str, list[Forecaster]] = {m.alias: [] for m in group}
                for _, res in engine.map_partitions(fit_partition, _blocks(data, parts), shared=job,
                                                    total=len(parts), cpus=task_cpus,
                                                    progress=self._tick(f"train {names}")):
                    if k == 0:
                        tally.add_counts(res)
                    for alias, model in res.models.items():
                        pieces[alias].append(model)
                    for said in res.notes.values():
                        notes += [f for f in said if f not in notes]
                for alias, found in pieces.items():
                    if not found:
                        raise ModelError(f"{alias}: no series left to train on")
                    models[alias] = found[0].merge(found[1:])
            if not groups:
                tally.n_series = len(ids)
            notes = tally.notes([], alive_from) + notes + self._sample_note(len(ids))
            if any(m.supports_exog for m in self.models):
                notes += list(calendar.attrs.get("notes", []))
            return Trained({a: models[a] for a in self.aliases}, freq, tally.n_series, notes,
                           (pd.Timestamp(data.span[0]), pd.Timestamp(data.span[1])), list(ids))
        finally:
            if own:
                engine.close()

    def cross_validation(self, data: SeriesSource, h: int, *, n_windows: int = 1,
                         step: int | None = None, quantiles: Sequence[float] | None = None,
                         cutoffs: Sequence[pd.Timestamp] | None = None) -> RunOutput:
        """Rolling-origin backtest: refit at each cutoff (the catalogue's last ``n_windows``
        origins, ``step`` periods apart, unless ``cutoffs`` are given) and forecast ``h``
        steps; rows carry ``cutoff`` and the actual ``y``."""
        h = check_horizon(h)
        freq, _ = self.run_freq(data)
        first, last = data.span
        if freq != data.freq:
            first = period_labels(pd.Series([first]), freq).iloc[0]
            last = self._last_complete(data, freq)
        cuts = list(cutoffs) if cutoffs is not None else cutoffs_between(
            pd.Timestamp(first), pd.Timestamp(last), freq, h, n_windows, step)
        return self._run(data, h, check_quantiles(quantiles), cutoffs=cuts)

    def fit(self, data: SeriesSource, h: int, *, ids: Sequence[str] | None = None) -> Fitted:
        """Fit the first model as a forecast would (on every series for a model that uses
        covariates, else on ``ids``) and keep the frames it saw."""
        model = self.models[0]
        h = check_horizon(h)
        on = data.ids if ids is None or model.supports_exog else sorted(ids)
        prep = Prep(data.freq, h, model.supports_exog, True, data.calendar(), macro=_drivers(data),
                    rows=_rows(data))
        prepared = prepare(_load(data, on), prep)
        frame = prepared.part.data_for(model)
        notes = list(prepared.notes)
        negatives = int((frame["y"] < 0).sum()) if not model.supports_negative else 0
        if negatives:  # returns: clipped as a forecast clips them (its loss cannot take them)
            frame = frame.assign(y=frame["y"].clip(lower=0))
            notes.append(f"{model.alias}: fitted on sales clipped at zero ({negatives:,} negative "
                         "values, e.g. returns, that its loss cannot take)")
        fitted = model.clone(n_jobs=resolve_jobs(self.n_jobs)).fit(frame)
        return Fitted(fitted, frame, prepared.part.future_for(model), notes, data.freq)

    # The one run path -----------------------------------------------------------------

    def _open(self) -> tuple[Engine, bool]:
        if self.engine is None or isinstance(self.engine, str):
            return make_engine(self.engine, n_jobs=self.n_jobs), True
        return self.engine, False

    def _tick(self, label: str) -> Callable[[int, int | None], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda done, total: progress(label, done, total or done)

    def run_freq(self, data: SeriesSource) -> tuple[str, bool]:
        """The run's frequency and whether the stored rows are aggregated to it."""
        base = data.freq
        if self.freq is None:
            return base, False
        target = coarser(self.freq)
        try:
            pd.tseries.frequencies.to_offset(target)
        except ValueError:
            raise ModelError(f"unknown frequency {self.freq!r}; use W, M, Q or Y") from None
        if target == base:
            return base, False
        if not is_coarser(target, base):
            raise ModelError(f"cannot forecast {describe(target)} from {describe(base)} sales: "
                             "--freq aggregates to a coarser frequency only (W, M, Q, Y)")
        return target, True

    def _first(self, data: SeriesSource, freq: str, resample: bool) -> pd.Timestamp | None:
        """The label of the first period of ``freq`` that the data covers from its first day
        (None when not aggregating, or when the first period is whole): a catalogue whose
        first stored day falls inside a month does not make that month a low one."""
        if not resample:
            return None
        first = pd.Timestamp(data.span[0]) + pd.Timedelta(days=self._week_start(data) or 0)
        label = pd.Timestamp(period_labels(pd.Series([first]), freq).iloc[0])
        offset = pd.tseries.frequencies.to_offset(freq)
        starts_labelled = not (freq.startswith("W") or freq[1:2] == "E")
        period_start = label if starts_labelled else label - offset + pd.Timedelta(days=1)
        return None if first <= period_start else pd.Timestamp(label + offset)

    def _week_start(self, data: SeriesSource) -> int | None:
        """Days from a stored weekly row's date to its week's first day (None: not weekly)."""
        return week_start_offset(data.freq, self.week_label)

    def _last_complete(self, data: SeriesSource, freq: str) -> pd.Timestamp:
        """The label of the last period of ``freq`` that the data covers to its last day."""
        end = covered_until(pd.Timestamp(data.span[1]), data.freq, self.week_label, target=freq)
        label = pd.Timestamp(period_labels(pd.Series([end]), freq).iloc[0])
        offset = pd.tseries.frequencies.to_offset(freq)
        starts_labelled = not (freq.startswith("W") or freq[1:2] == "E")
        period_end = (label + offset - pd.Timedelta(days=1)) if starts_labelled else label
        return label if end >= period_end else pd.Timestamp(label - offset)

    def _live_end(self, data: SeriesSource, freq: str,
                  alive_from: pd.Timestamp | None) -> pd.Timestamp | None:
        """Where a forecast's live series run to (the catalogue's last date, or its last
        complete period): a series with no rows since then sold nothing (None: each series
        from its own last date, as ``--ended forecast`` asks, and in backtests)."""
        if alive_from is None:
            return None
        return self._end(data, freq)

    def saved_since(self, saved: Mapping[str, Forecaster], end: pd.Timestamp, freq: str,
                    h: int) -> pd.Timestamp | None:
        """Where saved models moved forward to data ending at ``end`` start reading
        (:func:`history_since`, with this runner's live-series rule); None when cleaning,
        which reads the whole history."""
        if self.clean is not None:
            return None
        return history_since(saved.values(), end, freq, self._alive_after(pd.Timestamp(end), freq, h))

    def _alive_after(self, end: pd.Timestamp, freq: str, h: int) -> pd.Timestamp | None:
        """Series whose last date is earlier have ended (None: ``--ended forecast``)."""
        if self.ended == "forecast":
            return None
        return end - (self.ended_after or h) * pd.tseries.frequencies.to_offset(freq)

    def _end(self, data: SeriesSource, freq: str) -> pd.Timestamp:
        """The catalogue's last date, or its last complete period at a coarser ``freq``."""
        return pd.Timestamp(self._last_complete(data, freq) if freq != data.freq else data.span[1])

    def _alive_from(self, data: SeriesSource, freq: str, h: int) -> pd.Timestamp | None:
        return self._alive_after(self._end(data, freq), freq, h)

    def _run(self, data: SeriesSource, h: int, qs: list[float], *,
             cutoffs: list[pd.Timestamp] | None,
             fitted: dict[str, Forecaster] | None = None, plan: Plan | None = None,
             response: str = "elasticity") -> RunOutput:
        backtesting = cutoffs is not None
        engine, own = self._open()
        try:
            ids = data.ids
            freq, resample = self.run_freq(data)
            if not ids:
                raise ModelError("the source has no series")
            until = self._last_complete(data, freq) if resample else None
            first = self._first(data, freq, resample)
            alive_from = None if backtesting else self._alive_from(data, freq, h)
            blocks = plan_partitions(ids, self.partition_size)
            season = default_season_length(freq)
            calendar = data.calendar()
            saved = fitted
            if saved is None:
                fitted = self._fit_globals(engine, data, ids, freq, h, calendar,
                                           cutoffs if backtesting else [None], resample)
            else:  # a saved version: every model moves forward partition by partition
                fitted = {alias: {None: model} for alias, model in saved.items()}
            since = None if saved is None or backtesting else self.saved_since(
                saved, self._end(data, freq), freq, h)
            cpus = resolve_jobs(self.n_jobs)
            split = [m for m in self.models if m.strategy != "whole" or saved is not None]
            groups = [(split, blocks, 1)] if split else []
            groups += [([m], [ids], cpus) for m in self.models
                       if m.strategy == "whole" and saved is None]
            effect: PriceResponse | None = None
            effect_notes: list[str] = []
            if plan is not None and not backtesting and response == "elasticity":
                effect, effect_notes = self._price_response(data, ids, plan, freq, resample, h,
                                                            calendar, alive_from)
            tally = _Tally()
            frames: list[pd.DataFrame] = []
            planned: list[pd.DataFrame] = []
            prices: list[pd.DataFrame] = []
            mase: list[pd.Series] = []
            rmsse: list[pd.Series] = []
            window_notes: list[str] = []
            unscored = 0
            for k, (group, parts, task_cpus) in enumerate(groups):
                prep = Prep(freq, h, any(m.supports_exog for m in group), not backtesting, calendar,
                            resample, alive_from, until, self.clean, plan, macro=_drivers(data),
                            end=self._live_end(data, freq, alive_from), since=since,
                            week_start=self._week_start(data), first=first, rows=_rows(data, resample))
                jobs = engine.task_jobs(task_cpus, len(parts))
                names = ", ".join(m.alias for m in group)
                if backtesting:
                    job: Any = BacktestJob(h, qs, cutoffs, [(m, fitted.get(m.alias)) for m in group],
                                           jobs, season, prep)
                    task: Any = backtest_partition
                    label = f"backtest {names}"
                else:
                    job = ForecastJob(h, qs, [(m, fitted.get(m.alias, {}).get(None)) for m in group],
                                      jobs, prep, forward=saved is not None, response=effect)
                    task, label = forecast_partition, f"forecast {names}"
                for _, res in engine.map_partitions(task, _blocks(data, parts), shared=job,
                                                    total=len(parts), cpus=task_cpus,
                                                    progress=self._tick(label)):
                    if k == 0:
                        tally.add_counts(res)
                    if backtesting:
                        if k == 0:
                            mase.append(res.mase_scale)
                            rmsse.append(res.rmsse_scale)
                            unscored += res.unscored
                        window_notes += [n for n in res.notes if n not in window_notes]
                        if not res.cv.empty:
                            frames.append(res.cv)
                    else:
                        tally.add_forecast(res)
                        frames.append(res.forecasts)
                        if res.scenario is not None:
                            planned.append(res.scenario)
                        if res.prices is not None and k == 0:
                            prices.append(res.prices)
                    del res
            execution = {"engine": engine.name, "partition_size": self.partition_size,
                         "partitions": len(blocks), "train_series": self.train_series}
            notes = (tally.notes([] if backtesting else self.aliases, alive_from)
                     + self._sample_note(len(ids))
                     + (self._whole_note(len(blocks)) if saved is None else []))
            notes += window_notes
            if unscored:
                notes.append(f"backtest: {unscored:,} period(s) in the windows read as a series' recent "
                             "level have no actual row and are not scored")
            if since is not None:
                notes.append(f"history read after {since.date()}: the longest span the saved "
                             "models read (lags, dispersion window, seasons)")
            if any(m.supports_exog for m in self.models):
                notes += list(calendar.attrs.get("notes", []))
                if not backtesting:
                    notes += _calendar_notes(calendar, data.span[1], h, freq)
            if resample:
                notes.insert(0, f"stored {describe(data.freq)} sales aggregated to {describe(freq)} "
                                "periods (units summed, prices averaged)"
                             + (f"; the last, incomplete period after {until.date()} was left out"
                                if until is not None and until < period_labels(
                                    pd.Series([data.span[1]]), freq).iloc[0] else "")
                             + (f"; the first, incomplete period before {first.date()} was left out"
                                if first is not None else ""))
            if backtesting:
                if not frames:
                    raise ModelError("the backtest produced no forecasts: no series has history "
                                     f"before the first cutoff {cutoffs[0].date()}")
                wide = _gather(frames, self.aliases, qs, keys=["unique_id", "ds", "cutoff"],
                               middle=["cutoff", "y"])
                return RunOutput(self.aliases, wide, notes, len(ids), freq, execution, list(cutoffs),
                                 season, (pd.concat(mase), pd.concat(rmsse)))
            if not frames:
                raise ModelError("no series left to forecast: every series ended more than "
                                 f"{self.ended_after or h} periods before the last date; pass "
                                 "ended='forecast' (--ended forecast) to forecast them anyway")
            wide = _gather(frames, self.aliases, qs, keys=["unique_id", "ds"])
            if self.ended == "zero" and tally.ended:
                wide = _with_zero_rows(wide, sorted(tally.ended), data, freq, h)
            cleaning = _changes(tally.changes)
            if self.clean is not None:
                notes.append(_cleaning_note(cleaning))
            out = RunOutput(self.aliases, wide, notes, tally.n_series, freq, execution,
                            season_length=season, cleaning=cleaning)
            if plan is not None:
                self._add_scenario(out, plan, planned, prices, qs)
                self._describe_response(out, plan, effect, effect_notes, response)
            return out
        finally:
            if own:
                engine.close()

    def _add_scenario(self, out: RunOutput, plan: Plan, planned: list[pd.DataFrame],
                      prices: list[pd.DataFrame], qs: list[float]) -> None:
        with_exog = [m.alias for m in self.models if m.supports_exog]
        out.notes += scenario_notes([m.alias for m in self.models if not m.supports_exog])
        if not with_exog:
            return
        if not planned:
            out.notes.append("the plan's products were not forecast (ended series?): no scenario")
            return
        out.scenario = _gather(planned, with_exog, qs, keys=["unique_id", "ds"])
        out.plan_prices = (pd.concat(prices, ignore_index=True) if prices else None)
        out.scenario_models = with_exog

    def _price_response(self, data: SeriesSource, ids: Sequence[str], plan: Plan, freq: str,
                        resample: bool, h: int, calendar: pd.DataFrame,
                        alive_from: pd.Timestamp | None) -> tuple[PriceResponse | None, list[str]]:
        """The price response a plan's prices and promotions act through, estimated on the
        planned products plus a seeded sample of the others (``RESPONSE_SERIES`` in all, for
        the department / category means), or None with the reason."""
        if not any(m.supports_exog for m in self.models):
            return None, []
        if freq != "D" or resample:
            return None, [f"what-if: price elasticities are estimated on daily sales, these are "
                          f"{describe(freq)}: the plan's prices and promotions go through each "
                          "model's own response to the planned covariates"]
        wanted = set(plan.ids)
        planned = [i for i in ids if i in wanted]
        others = [i for i in ids if i not in wanted]
        room = max(RESPONSE_SERIES - len(planned), 0)
        sample = others if len(others) <= room else training_ids(others, room) if room else []
        on = sorted(planned + sample)
        prep = Prep(freq, h, True, False, calendar, alive_from=alive_from, rows=_rows(data, resample))
        found = estimate_response(_load(data, on), prep, RESPONSE_HISTORY_DAYS, RESPONSE_OPTIONS)
        if found is None:
            return None, ["what-if: no product has enough price changes (4) to estimate a price "
                          "elasticity, or the sales have no prices: the plan's prices and promotions "
                          "go through each model's own response to the planned covariates"]
        if found.promo is None and plan.days["promo"].fillna(0).ne(0).any():
            return None, ["what-if: the plan sets promotions but no promotion effect can be "
                          "estimated (no promo column, or too few products with promotions): the "
                          "plan goes through each model's own response to the planned covariates"]
        return found, []

    def _describe_response(self, out: RunOutput, plan: Plan, effect: PriceResponse | None,
                           notes: list[str], response: str) -> None:
        """The note (and run params) saying how the plan's effect was computed."""
        if not out.scenario_models:
            return
        models = out.scenario_models
        if effect is None:
            out.notes += notes or [f"what-if ({', '.join(models)}): the plan's prices, promotions and "
                                   "events go through each model's own response to the planned "
                                   f"covariates (response={response!r})"]
            out.response = {"method": "model", "reason": notes[0] if notes else "asked for"}
            return
        ids = plan.ids
        out.notes.append(response_note(effect, ids, models, RESPONSE_HISTORY_DAYS,
                                       events_only(plan) is not None))
        out.response = {"method": "elasticity", "promo_effect": effect.promo,
                        "pooled_elasticity": effect.pooled, "history_days": RESPONSE_HISTORY_DAYS,
                        "n_products": effect.n_products,
                        "elasticity": {i: float(e) for i, e in zip(ids, effect.of(ids), strict=True)},
                        "source": {i: str(effect.source.get(i, "pooled")) for i in ids}}

    def _fit_globals(self, engine: Engine, data: SeriesSource, ids: Sequence[str], freq: str,
                     h: int, calendar: pd.DataFrame, cutoffs: Sequence[pd.Timestamp | None],
                     resample: bool = False) -> dict[str, dict[Any, Forecaster]]:
        """Fit each global model once per cutoff (None: on all data) on the training series."""
        glob = [m for m in self.models if m.strategy == "global"]
        if not glob:
            return {}
        train = (_load(data, training_ids(ids, self.train_series)),
                 Prep(freq, h, any(m.supports_exog for m in glob), False, calendar, resample,
                      until=self._last_complete(data, freq) if resample else None, clean=self.clean,
                      macro=_drivers(data), week_start=self._week_start(data),
                      first=self._first(data, freq, resample), rows=_rows(data, resample)))
        cpus = resolve_jobs(self.n_jobs)
        items = [FitItem(m, engine.task_jobs(cpus), c) for m in glob for c in cutoffs]
        fitted: dict[str, dict[Any, Forecaster]] = {m.alias: {} for m in glob}
        for index, model in engine.map_partitions(fit_global, items, shared=train, total=len(items),
                                                  progress=self._tick("fit global models"), cpus=cpus):
            fitted[items[index].model.alias][items[index].cutoff] = model
        return fitted

    def _sample_note(self, n_ids: int) -> list[str]:
        glob = [m.alias for m in self.models if m.strategy == "global"]
        if not glob or not self.train_series or n_ids <= self.train_series:
            return []
        return [f"{', '.join(glob)} trained on a seeded sample of {self.train_series:,} of {n_ids:,} "
                "series (train_series) and forecast for all of them"]

    def _whole_note(self, n_parts: int) -> list[str]:
        whole = [m.alias for m in self.models if m.strategy == "whole"]
        if not whole or n_parts < 2:
            return []
        return [f"{', '.join(whole)} learn(s) across series and ran on all series in one task, "
                "not partition by partition"]

