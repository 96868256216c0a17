"""Background forecast, backtest, train and update jobs: worker threads, job records in the
``jobs`` table, progress from the runner's callbacks, cooperative cancellation and a prompt
shutdown.

Cancelling a running job sets a flag; the job's progress callback raises ``JobCancelled`` at
the runner's next progress report, before the run is saved, so no half-done run is stored.
A job whose last step already started finishes as ``done``. All writes to ``jobs`` go
through one lock, so this server's updates of a job's row never conflict with each other
(and the DuckDB store retries a write that meets another transaction's).

Progress is real: a job's series are cut into about ``PROGRESS_STEPS`` partitions, and each
finished partition updates the record (``forecast SeasonalNaive, AutoETS (3/10)``, 0.3).

Shutting down (SIGTERM to ``trendcast serve``) takes at most ``grace`` seconds: queued jobs
are cancelled at once, running ones are asked to stop, and those still computing when the
grace period ends are recorded as cancelled and left behind: the worker threads are daemon
threads, so they do not keep the process alive, and the workspace is closed under them, so
they cannot store a run afterwards.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from trendcast.api.errors import ApiError
from trendcast.data.store import Store
from trendcast.errors import NotFoundError, TrendcastError
from trendcast.services.forecast import Progress, run_backtest, run_forecast
from trendcast.services.update import run_update
from trendcast.services.update_log import OTHER_PROCESSES, is_stale, job_row
from trendcast.services.versions import PROMOTED, forecast_from_version, train_version

log = logging.getLogger("trendcast.api.jobs")

KINDS = ("forecast", "backtest", "train", "update")
FINAL = ("done", "failed", "cancelled")
PROGRESS_STEPS = 10  # partitions a job's series are cut into, so progress moves while it computes
MAX_PARTITION = 1000
DEFAULT_GRACE = 3.0


class JobCancelled(Exception):
    """Raised in a job's progress callback after a cancel request."""


def partition_size(n_series: int, steps: int = PROGRESS_STEPS) -> int:
    """Series per partition so that a job of ``n_series`` reports about ``steps`` times."""
    return max(1, min(MAX_PARTITION, math.ceil(max(n_series, 1) / steps)))


def _size(store: Store, p: dict[str, Any]) -> int:
    return partition_size(len(store.series_ids(p.get("ids"))))


def _forecast(store: Store, p: dict[str, Any], progress: Progress) -> str:
    if p.get("from_model"):
        version = None if p["from_model"] == PROMOTED else p["from_model"]
        return forecast_from_version(store, version, horizon=p.get("horizon"),
                                     quantiles=p.get("quantiles"), n_jobs=1, progress=progress,
                                     partition_size=_size(store, p), collect=False).run_id
    plan = plan_frame(p["scenario"]) if p.get("scenario") else None
    return run_forecast(store, horizon=p.get("horizon"), models=p["models"], quantiles=p["quantiles"],
                        ids=p.get("ids"), n_jobs=1, progress=progress,
                        partition_size=_size(store, p), scenario=plan,
                        cost_share=p.get("cost_share", 0.6),
                        scenario_response=p.get("scenario_response", "elasticity")).run_id


def plan_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A plan sent as JSON rows, as the plan reader takes it (errors name "scenario" rows)."""
    frame = pd.DataFrame(rows).astype(object)
    if "promo" in frame.columns:
        frame["promo"] = frame["promo"].map(lambda v: None if v is None else ("1" if v else "0"))
    frame.attrs["source"] = "scenario"
    return frame


def _backtest(store: Store, p: dict[str, Any], progress: Progress) -> str:
    return run_backtest(store, horizon=p.get("horizon"), n_windows=p["windows"], step=p.get("step"),
                        models=p["models"], quantiles=p["quantiles"], ids=p.get("ids"), n_jobs=1,
                        progress=progress, partition_size=_size(store, p)).run_id


def _train(store: Store, p: dict[str, Any], progress: Progress) -> dict[str, str | None]:
    info = train_version(store, horizon=p.get("horizon"), models=p["models"], quantiles=p["quantiles"],
                         n_jobs=1, progress=progress, partition_size=_size(store, p),
                         clean=p.get("clean", False), validate=p.get("validation", True),
                         promote=p.get("promote"))
    return {"run_id": info.validation_run, "version_id": info.version_id}


def _update(store: Store, p: dict[str, Any], progress: Progress) -> dict[str, str | None]:
    result = run_update(store, [], refit=p.get("refit", "auto"), reselect=p.get("reselect", False),
                        horizon=p.get("horizon"), n_jobs=1, progress=progress,
                        partition_size=_size(store, p))
    return {"run_id": result.forecast_run, "version_id": result.version_id, "label": result.summary()}


# A runner returns the stored run's id, or the fields it sets on the job's record.
RUNNERS: dict[str, Callable[[Store, dict[str, Any], Progress], str | dict[str, str | None]]] = {
    "forecast": _forecast, "backtest": _backtest, "train": _train, "update": _update,
}


def _clean(value: Any) -> Any:
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _now() -> Any:
    return pd.Timestamp.now().to_pydatetime()


class JobManager:
    """Runs jobs on ``workers`` daemon threads and keeps their records in the store."""

    def __init__(self, store: Store, lock: threading.Lock, *, workers: int = 2,
                 on_done: Callable[[], None] | None = None, grace: float = DEFAULT_GRACE) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._store = store
        self._lock = lock
        self._grace = grace
        self._queue: queue.Queue[tuple[str, str, dict[str, Any]] | None] = queue.Queue()
        self._cancel: dict[str, threading.Event] = {}  # jobs of this manager not yet final
        self._closed = False
        self._on_done = on_done  # called after a job stored its run
        self._recover()
        self._threads = [threading.Thread(target=self._work, name=f"trendcast-job-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def _recover(self) -> None:
        """Jobs left queued or running by a previous server process will never finish; updates
        run by a command line (:data:`~trendcast.services.update_log.OTHER_PROCESSES`) may
        still be running and are left alone."""
        with self._lock:
            self._store.update_jobs_with_status(
                ("queued", "running"), except_key_like=OTHER_PROCESSES, status="failed",
                finished_at=pd.Timestamp.now(),
                error="the server stopped before this job finished; submit it again")

    # Records ------------------------------------------------------------------------

    def _set(self, job_id: str, *, only_if_status: tuple[str, ...] | None = None,
             **fields: Any) -> None:
        with self._lock:
            self._store.update_job(job_id, only_if_status=only_if_status, **fields)

    @staticmethod
    def _record(row: dict[str, Any]) -> dict[str, Any]:
        job = {k: _clean(v) for k, v in row.items()}
        job["params"] = json.loads(job["params"] or "{}")
        job["progress"] = float(job["progress"] or 0.0)
        job["stale"] = is_stale(row)
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        """A job's record; NotFoundError if there is none."""
        row = self._store.job_row(job_id)
        if row is None:
            raise NotFoundError(f"no job {job_id!r}; GET /api/jobs lists them")
        return self._record(row)

    def list_jobs(self, *, status: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Jobs, newest first."""
        total, rows = self._store.job_rows(status=status, limit=limit, offset=offset)
        return total, [self._record(r) for r in rows]

    # Lifecycle ----------------------------------------------------------------------

    def submit(self, kind: str, params: dict[str, Any], *, key_id: str | None = None) -> dict[str, Any]:
        """Queue a job; returns its record (status queued)."""
        if kind not in RUNNERS:
            raise ValueError(f"unknown job kind {kind!r}; choose one of {', '.join(RUNNERS)}")
        if self._closed:
            raise ApiError(503, "shutting_down", "the server is shutting down; submit the job again later")
        row = job_row(kind, "queued", params, key_id)
        job_id = str(row.loc[0, "job_id"])
        with self._lock:
            self._store.append("jobs", row)
            self._cancel[job_id] = threading.Event()
        self._queue.put((job_id, kind, params))
        return self.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job now, or ask a running one to stop at its next progress report."""
        with self._lock:
            job = self.get(job_id)
            status = job["status"]
            if status in FINAL:
                raise ApiError(409, "job_finished", f"job {job_id} is already {status}; nothing to cancel",
                               field="job_id")
            event = self._cancel.get(job_id)
            if event is not None:
                event.set()
            if status == "queued":
                self._store.update_job(job_id, status="cancelled", label="cancelled before it started",
                                       finished_at=pd.Timestamp.now(), only_if_status=("queued",))
            else:
                self._store.update_job(job_id, label="cancel requested; stopping at the next step",
                                       only_if_status=("running",))
        return self.get(job_id)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._run(*item)
            except Exception:  # a job thread must survive anything a job does
                if not self._closed:
                    log.exception("job %s: unexpected error in the job runner", item[0])

    def _run(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        cancel = self._cancel.get(job_id) or threading.Event()
        try:
            with self._lock:
                if self._closed or self.get(job_id)["status"] != "queued":  # cancelled meanwhile
                    return
                self._store.update_job(job_id, status="running", progress=0.0,
                                       label="reading the workspace", started_at=pd.Timestamp.now())

            def progress(label: str, done: int, total: int) -> None:
                if cancel.is_set():
                    raise JobCancelled(job_id)
                share = min(max(done / total, 0.0), 1.0) if total else 0.0
                self._set(job_id, progress=share, label=f"{label} ({done}/{total})" if total else label,
                          only_if_status=("running",))

            self._execute(job_id, kind, params, progress)
        finally:
            with self._lock:
                self._cancel.pop(job_id, None)

    def _execute(self, job_id: str, kind: str, params: dict[str, Any], progress: Progress) -> None:
        running = ("running",)  # a job the shutdown already recorded as cancelled stays so
        try:
            result = RUNNERS[kind](self._store, params, progress)
        except JobCancelled:
            said = ("cancelled at its next step; the steps it had finished (scores, a refit) stay"
                    if kind == "update" else "cancelled; nothing was stored")
            self._set(job_id, status="cancelled", label=said, finished_at=_now(), only_if_status=running)
        except TrendcastError as exc:
            if self._closed:  # the server stopped under it: already recorded as cancelled
                return
            self._set(job_id, status="failed", label="failed", error=str(exc), finished_at=_now(),
                      only_if_status=running)
        except Exception as exc:  # a bug: keep the server up, record and log it
            log.exception("job %s failed unexpectedly", job_id)
            self._set(job_id, status="failed", label="failed", finished_at=_now(),
                      error=f"internal error ({type(exc).__name__}: {exc}); the server log has details",
                      only_if_status=running)
        else:
            if self._on_done is not None:
                self._on_done()
            stored = {"label": "done", **(result if isinstance(result, dict) else {"run_id": result})}
            self._set(job_id, status="done", progress=1.0, **stored, finished_at=_now(),
                      only_if_status=running)

    def shutdown(self, *, grace: float | None = None) -> None:
        """Stop within ``grace`` seconds: refuse new jobs, cancel queued ones at once, ask
        running ones to stop, and record those still running after ``grace`` as cancelled."""
        grace = self._grace if grace is None else grace
        with self._lock:
            self._closed = True
            mine = list(self._cancel)
            for event in self._cancel.values():
                event.set()
        while True:  # the queue's jobs never start
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._set(item[0], status="cancelled", finished_at=_now(), only_if_status=("queued",),
                          label="cancelled: the server shut down before it started")
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + max(grace, 0.0)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for job_id in mine:  # still running (or queued, if a worker never took it)
            self._set(job_id, status="cancelled", finished_at=_now(),
                      only_if_status=("queued", "running"),
                      label="cancelled: the server shut down")
