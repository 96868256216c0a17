"""The daily job: ingest new data, score past forecasts, refit when it pays, forecast.

``run_update`` (``trendcast update FILES... --refit auto|always|never``):

1. ingests every file as one batch: a bad row in any file stores nothing, and nothing else
   runs. Files may be of several kinds, each with its own reading options (a job file,
   :mod:`trendcast.services.jobfile`); the catalogue is ingested first. New sales that skip
   periods for the whole catalogue (a missed export) are refused
   (:mod:`trendcast.services.continuity`);
2. scores the stored forecasts whose actuals have just arrived (``forecast_scores``);
3. decides whether to refit the promoted version: ``always``, ``never``, or ``auto``. Auto
   refits when products the version has never seen make up more than ``new_share`` of the
   catalogue; otherwise never while the version is younger than its horizon (the refit's
   validation forecast would start before the version's data ended, so the check in 4 could
   not promote it on equal terms), and then when the version is older than ``max_age``
   periods of data or when drift alerts (see :mod:`trendcast.insights.drift`) were raised
   since it was trained for at least ``drift_share`` of its products or for any category
   (after a refit that was kept aside, only alerts raised after that refit's data count);
4. a refit trains a new version on all the data and scores its validation forecast (fitted
   on the data before the last ``horizon`` periods, from that origin); the promoted version
   is scored from its own origin: the end of its data, or the window's origin when its data
   ended before (moved forward without refitting). Both are scored on the same dates, those
   after both forecasts' data. The refit is promoted only if its WAPE is not worse;
5. forecasts from the promoted version and stores the run.

Without a promoted version the first ``update`` trains one (unless ``--refit never``).

One update runs at a time per workspace, whichever process or server thread starts it: an
update takes the workspace's ``update`` lease first and gives it back at its end; a second
one started meanwhile stops before ingesting anything (ConflictError naming the running
one). A lease left by a crashed process expires after ``LEASE_HOURS``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.ingest import IngestOptions
from trendcast.data.store import Store
from trendcast.engine.base import Engine
from trendcast.engine.runner import FrameSource
from trendcast.engine.tasks import unwrap
from trendcast.errors import ConflictError, ModelError, NotFoundError
from trendcast.features.frequency import period_days
from trendcast.services.continuity import check_continuity, check_units, note_left_out
from trendcast.services.jobfile import FileJob, in_kind_order
from trendcast.services.monitor import drift_alerts, score_pending, waiting_note
from trendcast.services.open_periods import week_label_of
from trendcast.services.versions import (
    _runner,
    forecast_from_version,
    load_version,
    train_version,
)

Progress = Callable[[str, int, int], None]
REFIT_POLICIES = ("auto", "always", "never")
LEASE_HOURS = 6.0  # when the lease of an update that never gave it back (a crash) expires


@dataclass(frozen=True)
class RefitPolicy:
    """When ``--refit auto`` refits (module docstring)."""

    max_age: int = 56  # periods of data since the version's last training date
    drift_share: float = 0.05  # share of the version's products with a drift alert
    new_share: float = 0.10  # share of the catalogue the version has never seen
    tolerance: float = 0.0  # a refit is promoted when WAPE_new <= WAPE_old * (1 + tolerance)


@dataclass
class UpdateResult:
    """What one update did; ``summary()`` is its one line."""

    files: list[str]
    rows: int
    scored: int
    refit: bool
    reason: str
    version_id: str
    forecast_run: str
    promoted: bool = False
    new_version: str | None = None
    wape_new: float | None = None
    wape_old: float | None = None
    alerts: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        refit = "no refit" if not self.refit else (
            f"refit {self.new_version} {'promoted' if self.promoted else 'kept aside'}"
            + (f" (WAPE {self.wape_new:.3f} vs {self.wape_old:.3f})"
               if self.wape_new is not None and self.wape_old is not None else ""))
        return (f"update: {self.rows:,} rows from {len(self.files)} file(s); {self.scored:,} forecasts "
                f"scored; {self.alerts} drift alert(s); {refit} ({self.reason}); forecast "
                f"{self.forecast_run} from {self.version_id}; {self.seconds:.1f}s, "
                f"{self.cpu_seconds:.1f} CPU s")


def cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ingest_all(store: Store, files: Sequence[FileJob], *, actor: str | None = None,
               allow_gaps: bool = False, now: pd.Timestamp | None = None) -> tuple[int, list[str]]:
    """Ingest every file, each with its own kind and options, in one batch (all or nothing);
    returns rows read and notes. Periods the files skip for the whole catalogue (a missed
    export, :mod:`trendcast.services.continuity`) stop it, unless ``allow_gaps``, the calendar
    or the shop's history says they are usual. ``now``: the workspace's wall clock (tests)."""
    from trendcast.services.ingest import ingest_file

    rows, notes = 0, []
    if not files:
        return 0, []
    span = store.sales_span()
    with store.batch("update", ", ".join(str(f.path) for f in files), actor=actor):
        for job in files:
            # continuity is checked once all the files are in (one may bring the missing day)
            report = ingest_file(store, job.path, job.kind, actor=actor, now=now,
                                 check_gaps=False, **job.ingest_kwargs())
            rows += report.rows_read
            name = job.path.name
            notes += [f"{name}: {n}" for n in report.notes]
            # a re-export that overlaps what is stored replaces values: say how many
            notes += [f"{name}: {w.updated:,} stored {w.table} row(s) had other values "
                      "and were replaced by the file's" for w in report.writes if w.updated]
        check_continuity(store, span[1] if span else None, allow_gaps=allow_gaps, notes=notes)
        # the unattended job stops a file in another unit; a person's ingest stores it, noted
        check_units(store, span[1] if span else None, refuse=True, notes=notes)
        note_left_out(store, span[1] if span else None, notes)
    return rows, notes


def as_jobs(paths: Sequence[str | Path | FileJob], kind: str = "sales",
            options: IngestOptions | None = None) -> list[FileJob]:
    """Plain paths as files of ``kind`` read with ``options``; :class:`FileJob` kept as they
    are; all in the order they are ingested (the catalogue first)."""
    return in_kind_order([p if isinstance(p, FileJob) else
                          FileJob(Path(p), kind, options or IngestOptions()) for p in paths])


def decide(store: Store, row: dict[str, Any], policy: RefitPolicy, refit: str) -> tuple[bool, str, int]:
    """Whether to refit the version ``row``, why, and how many drift alerts count."""
    if refit == "always":
        return True, "policy always", 0
    if refit == "never":
        return False, "policy never", 0
    span = store.sales_span()
    assert span is not None
    end = pd.Timestamp(row["data_end"])
    age = (pd.Timestamp(span[1]) - end).days / period_days(str(row.get("freq") or "D"))
    known = set((row.get("spec") or {}).get("series", []))
    current = store.series_ids()
    if known and current:
        new = len(set(current) - known) / len(current)
        if new > policy.new_share:
            return True, f"{new:.0%} of the catalogue is new to the version (max {policy.new_share:.0%})", 0
    horizon = int(row.get("horizon") or 0)
    if age < horizon:
        return False, (f"version is {_periods(age)} old, younger than its horizon ({horizon}): "
                       "a refit could not be compared with it on equal terms"), 0
    if age >= policy.max_age:
        return True, f"version is {_periods(age)} old (max {policy.max_age})", 0
    # a refit kept aside (trained on later data than the promoted version, not better on
    # the latest window) has answered the alerts raised before its data ended: only later
    # ones count, so one drift does not trigger a refit every week
    answered = [pd.Timestamp(v["data_end"]) for v in store.model_versions()
                if v.get("status") == "trained" and pd.Timestamp(v["data_end"]) > end]
    since = max([end, *answered])
    try:
        alerts = drift_alerts(store, since=since + pd.Timedelta(days=1), score=False)
    except (NotFoundError, ModelError):
        alerts = pd.DataFrame(columns=["level", "name"])
    products = alerts[alerts["level"] == "product"]["name"].nunique()
    categories = alerts[alerts["level"] == "category"]["name"].nunique()
    n_series = max(int(row.get("n_series") or 1), 1)
    if categories or products / n_series >= policy.drift_share:
        return True, (f"drift since {since.date()}: {categories} categor(y/ies), {products} product(s)"), \
            int(products + categories)
    return False, f"version {_periods(age)} old, no drift beyond the thresholds", int(products + categories)


def _periods(age: float) -> str:
    """'1 period', '3 periods' (a version's age in the workspace's periods)."""
    return f"{age:.0f} period{'' if round(age) == 1 else 's'}"


def refit_models(names: Sequence[str], params: dict[str, Any], fitted: Mapping[str, Any],
                 reselect: bool) -> tuple[list[str], dict[str, Any]]:
    """Models and parameters of a refit. A ``recommended`` version is refitted on the member
    it chose (one validation window, for its calibration) unless ``reselect``: choosing again
    backtests every candidate, which the daily job should not pay for every week."""
    names = list(names)
    if reselect or len(names) != 1 or names[0].lower() != "recommended" or len(fitted) != 1:
        if reselect:
            params.pop("members", None)
            params.pop("n_windows", None)
        return names, params
    chosen = getattr(unwrap(next(iter(fitted.values()))), "chosen_name_", None)
    if chosen is None:  # saved before the choice was recorded
        return names, params
    return names, {**params, "members": [chosen], "n_windows": 1}


def wape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Sum of absolute errors over sum of absolute actuals (NaN without actuals)."""
    denom = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum() / denom) if denom else float("nan")


def run_wape(store: Store, run_id: str, since: pd.Timestamp | None = None) -> float:
    """WAPE of a stored backtest run's first model (point forecasts) on dates after ``since``."""
    rows = store.run_forecasts(run_id)
    if not len(rows):
        return float("nan")
    rows = rows[(rows["model"] == rows["model"].iloc[0]) & rows["quantile"].isna()]
    rows = rows.assign(unique_id=rows["unique_id"].astype(str), ds=pd.to_datetime(rows["ds"]))
    if since is not None:
        rows = rows[rows["ds"] > since]
    first = None if since is None else since + pd.Timedelta(days=1)
    sales = store.sales(columns=["unique_id", "ds", "y"], start=first)  # only the scored dates
    merged = rows.merge(sales.assign(unique_id=sales["unique_id"].astype(str)),
                        on=["unique_id", "ds"], how="left")
    return wape(merged["value"].to_numpy(dtype=float), merged["y"].fillna(0.0).to_numpy(dtype=float))


def window_origin(store: Store, row: dict[str, Any], horizon: int) -> pd.Timestamp:
    """The origin of the latest backtest window: ``horizon`` periods before the last date."""
    span = store.sales_span()
    assert span is not None
    return pd.Timestamp(span[1]) - pd.Timedelta(days=horizon * period_days(str(row.get("freq") or "D")))


def window_wape(store: Store, row: dict[str, Any], models: dict[str, Any], horizon: int, *,
                n_jobs: int = 1, engine: Engine | str | None = None,
                since: pd.Timestamp | None = None, origin: pd.Timestamp | None = None) -> float:
    """WAPE of a saved version's first model over the last ``horizon`` periods (only the dates
    after ``since``, when given), forecast from ``origin`` (default: the window's origin;
    moved forward there without refitting) and compared with what then sold."""
    cutoff = window_origin(store, row, horizon) if origin is None else pd.Timestamp(origin)
    spec = row.get("spec") or {}
    sales = store.sales()
    source = FrameSource(sales[sales["ds"] <= cutoff], store.products(), store.calendar())
    runner = _runner(list(models.values()), engine=engine, n_jobs=n_jobs, partition_size=None,
                     train_series=None, progress=None, freq=spec.get("freq"),
                     ended=spec.get("ended", "skip"), ended_after=spec.get("ended_after"),
                     clean=bool(spec.get("clean")), week_label=week_label_of(store))
    out = runner.forecast(source, horizon, quantiles=[], fitted=models)
    alias = out.aliases[0]
    actual = sales[(sales["ds"] > cutoff)][["unique_id", "ds", "y"]]
    fc = out.forecasts[["unique_id", "ds", alias]]
    fc = fc[fc["ds"] <= sales["ds"].max()]  # from a later origin the horizon runs past the data
    if since is not None:
        fc = fc[fc["ds"] > since]
    merged = fc.merge(actual, on=["unique_id", "ds"], how="left")
    return wape(merged[alias].to_numpy(dtype=float), merged["y"].fillna(0.0).to_numpy(dtype=float))


def run_update(
    store: Store,
    paths: Sequence[str | Path | FileJob],
    *,
    refit: str = "auto",
    kind: str = "sales",
    policy: RefitPolicy = RefitPolicy(),
    n_jobs: int = 1,
    progress: Progress | None = None,
    engine: Engine | str | None = None,
    partition_size: int | None = None,
    options: IngestOptions | None = None,
    actor: str | None = None,
    allow_gaps: bool = False,
    first_models: Sequence[str] = ("recommended",),
    horizon: int | None = None,
    reselect: bool = False,
) -> UpdateResult:
    """The daily job (module docstring). ``paths`` are files of ``kind`` read with ``options``,
    or :class:`FileJob` with their own (a job file, :mod:`trendcast.services.jobfile`).
    ``first_models`` and ``horizon`` (None: the default for the workspace's frequency) configure
    the version trained when the workspace has none; a promoted version forecasts and refits
    with its own horizon; ``reselect`` lets a refit of a
    ``recommended`` version choose its member again (by default it keeps the choice)."""
    if refit not in REFIT_POLICIES:
        raise ModelError(f"--refit takes {', '.join(REFIT_POLICIES)}, got {refit!r}")
    with one_update_at_a_time(store):
        return _update(store, as_jobs(paths, kind, options), refit=refit, policy=policy,
                       n_jobs=n_jobs, progress=progress, engine=engine,
                       partition_size=partition_size, actor=actor, allow_gaps=allow_gaps,
                       first_models=first_models,
                       horizon=horizon, reselect=reselect)


@contextlib.contextmanager
def one_update_at_a_time(store: Store) -> Iterator[None]:
    """Hold the workspace's ``update`` lease (module docstring); ConflictError when another
    update holds it."""
    holder = f"{socket.gethostname()} pid {os.getpid()} thread {threading.get_ident()} {uuid.uuid4().hex[:6]}"
    held = store.take_lease("update", holder, pd.Timedelta(hours=LEASE_HOURS))
    if held is not None:
        raise ConflictError(
            f"another update has been running since {held['since']} ({held['holder']}); this one "
            "stopped before changing anything: run it again when that one has finished. If no "
            f"update is running (one crashed), its lease expires at {held['expires']}")
    try:
        yield
    finally:
        store.release_lease("update", holder)


def _update(store: Store, files: Sequence[FileJob], *, refit: str,
            policy: RefitPolicy, n_jobs: int, progress: Progress | None, engine: Engine | str | None,
            partition_size: int | None, actor: str | None, allow_gaps: bool,
            first_models: Sequence[str], horizon: int | None, reselect: bool) -> UpdateResult:
    start, cpu0 = time.perf_counter(), cpu_seconds()
    tick = progress or (lambda label, done, total: None)
    if refit == "never":  # nothing to forecast with: stop before the files are stored
        try:
            store.model_version()
        except NotFoundError as exc:
            raise NotFoundError(f"{exc}; --refit never does not train the first one (use "
                                "--refit auto); nothing was stored") from None
    tick("ingest", 0, 4)
    rows, notes = ingest_all(store, files, actor=actor, allow_gaps=allow_gaps)
    tick("score past forecasts", 1, 4)
    scored = score_pending(store)
    waiting = waiting_note(store)
    if waiting:  # said in the cron log, where the daily job is read
        notes = [*notes, waiting]
    try:
        row, models = load_version(store)
    except NotFoundError:
        if refit == "never":
            raise
        row, models = {}, {}
    tick("refit decision", 2, 4)
    result = UpdateResult([str(f.path) for f in files], rows, scored, False, "", "", "", notes=notes)
    if not row:
        info = train_version(store, horizon=horizon, models=first_models, n_jobs=n_jobs,
                             progress=progress, engine=engine, partition_size=partition_size,
                             promote=True)
        result.refit, result.reason, result.promoted = True, "no promoted version yet", True
        result.new_version = info.version_id
    else:
        do, result.reason, result.alerts = decide(store, row, policy, refit)
        if do:
            spec = row.get("spec") or {}
            h = int(row["horizon"])
            names, params = refit_models(spec.get("models") or row["models"],
                                         dict(spec.get("model_params") or {}), models, reselect)
            if params.get("members") and not reselect:
                result.notes.append(f"refit keeps the version's choice {params['members'][0]} "
                                    "(--reselect chooses again)")
            info = train_version(
                store, horizon=h, models=names,
                quantiles=spec.get("quantiles", (0.1, 0.5, 0.9)), n_jobs=n_jobs, progress=progress,
                model_params=params or None, engine=engine,
                partition_size=partition_size, train_series=spec.get("train_series"),
                freq=spec.get("freq"), ended=spec.get("ended", "skip"),
                ended_after=spec.get("ended_after"), clean=bool(spec.get("clean")), promote=False)
            result.refit, result.new_version = True, info.version_id
            if info.validation_run is not None:
                # each from its own origin (the promoted version's is the end of its data when
                # that lies inside the window), both on the dates after both forecasts' data
                since = max(pd.Timestamp(row["data_end"]), window_origin(store, row, h))
                result.wape_new = run_wape(store, info.validation_run, since)
                result.wape_old = window_wape(store, row, models, h, n_jobs=n_jobs, engine=engine,
                                              since=since, origin=since)
                if not np.isfinite(result.wape_new):
                    result.notes.append("no sales since the promoted version was trained: the refit "
                                        "is kept aside")
            ok = (result.wape_new is not None and result.wape_old is not None
                  and np.isfinite(result.wape_new)
                  and (not np.isfinite(result.wape_old)
                       or result.wape_new <= result.wape_old * (1 + policy.tolerance)))
            if ok:
                store.promote_model_version(info.version_id)
                result.promoted = True
    tick("forecast", 3, 4)
    # the version loaded above, unless a refit (or another user) has promoted another since
    same = bool(row) and store.model_version(None)["version_id"] == row["version_id"]
    run = forecast_from_version(store, n_jobs=n_jobs, progress=progress, engine=engine,
                                partition_size=partition_size, collect=False,
                                loaded=(row, models) if same else None)
    result.forecast_run = run.run_id
    result.version_id = store.model_version(None)["version_id"]
    result.notes += run.notes
    tick("done", 4, 4)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = cpu_seconds() - cpu0
    return result
