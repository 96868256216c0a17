"""Background forecast and backtest jobs: a thread pool, job records in the ``jobs`` table,
progress from the services' callbacks, and cooperative cancellation.

Cancelling a running job sets a flag; the job's progress callback raises ``JobCancelled`` at
the service's next progress report, before the run is saved, so no half-done run is stored.
A job whose last step already started finishes as ``done``. All writes to ``jobs`` go
through one lock, so concurrent updates of a job's row never conflict.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from trendcast.api.errors import ApiError
from trendcast.data.store import Store
from trendcast.errors import NotFoundError, TrendcastError
from trendcast.services.forecast import Progress, run_backtest, run_forecast

log = logging.getLogger("trendcast.api.jobs")

KINDS = ("forecast", "backtest")
FINAL = ("done", "failed", "cancelled")


class JobCancelled(Exception):
    """Raised in a job's progress callback after a cancel request."""


def _forecast(store: Store, p: dict[str, Any], progress: Progress) -> str:
    return run_forecast(store, horizon=p["horizon"], models=p["models"], quantiles=p["quantiles"],
                        ids=p.get("ids"), n_jobs=1, progress=progress).run_id


def _backtest(store: Store, p: dict[str, Any], progress: Progress) -> str:
    return run_backtest(store, horizon=p["horizon"], n_windows=p["windows"], step=p.get("step"),
                        models=p["models"], quantiles=p["quantiles"], ids=p.get("ids"), n_jobs=1,
                        progress=progress).run_id


RUNNERS: dict[str, Callable[[Store, dict[str, Any], Progress], str]] = {
    "forecast": _forecast, "backtest": _backtest,
}


def _clean(value: Any) -> Any:
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


class JobManager:
    """Runs jobs on ``workers`` threads and keeps their records in the store."""

    def __init__(self, store: Store, lock: threading.Lock, *, workers: int = 2,
                 on_done: Callable[[], None] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._store = store
        self._lock = lock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trendcast-job")
        self._cancel: dict[str, threading.Event] = {}
        self._closed = False
        self._on_done = on_done  # called after a job stored its run
        self._recover()

    def _recover(self) -> None:
        """Jobs left queued or running by a previous server process will never finish."""
        with self._lock:
            self._store.update_jobs_with_status(
                ("queued", "running"), status="failed", finished_at=pd.Timestamp.now(),
                error="the server stopped before this job finished; submit it again")

    # Records ------------------------------------------------------------------------

    def _set(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            self._store.update_job(job_id, **fields)

    @staticmethod
    def _record(row: dict[str, Any]) -> dict[str, Any]:
        job = {k: _clean(v) for k, v in row.items()}
        job["params"] = json.loads(job["params"] or "{}")
        job["progress"] = float(job["progress"] or 0.0)
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
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        row = pd.DataFrame([{
            "job_id": job_id, "kind": kind, "status": "queued", "params": json.dumps(params),
            "progress": 0.0, "label": "queued", "run_id": None, "error": None, "key_id": key_id,
            "created_at": pd.Timestamp.now(), "started_at": None, "finished_at": None,
        }])
        with self._lock:
            self._store.append("jobs", row)
            self._cancel[job_id] = threading.Event()
        self._pool.submit(self._run, job_id, kind, params)
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
                                       finished_at=pd.Timestamp.now())
            else:
                self._store.update_job(job_id, label="cancel requested; stopping at the next step")
        return self.get(job_id)

    def _run(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        cancel = self._cancel.get(job_id) or threading.Event()
        try:
            with self._lock:
                if self.get(job_id)["status"] != "queued":  # cancelled while waiting
                    return
                self._store.update_job(job_id, status="running", label="starting",
                                       started_at=pd.Timestamp.now())

            def progress(label: str, done: int, total: int) -> None:
                if cancel.is_set():
                    raise JobCancelled(job_id)
                share = min(max(done / total, 0.0), 1.0) if total else 0.0
                self._set(job_id, progress=share, label=label)

            self._execute(job_id, kind, params, progress)
        finally:
            with self._lock:
                self._cancel.pop(job_id, None)

    def _execute(self, job_id: str, kind: str, params: dict[str, Any], progress: Progress) -> None:
        now = lambda: pd.Timestamp.now().to_pydatetime()  # noqa: E731
        try:
            run_id = RUNNERS[kind](self._store, params, progress)
        except JobCancelled:
            self._set(job_id, status="cancelled", label="cancelled; nothing was stored",
                      finished_at=now())
        except TrendcastError as exc:
            self._set(job_id, status="failed", label="failed", error=str(exc), finished_at=now())
        except Exception as exc:  # a bug: keep the server up, record and log it
            log.exception("job %s failed unexpectedly", job_id)
            self._set(job_id, status="failed", label="failed", finished_at=now(),
                      error=f"internal error ({type(exc).__name__}: {exc}); the server log has details")
        else:
            if self._on_done is not None:
                self._on_done()
            self._set(job_id, status="done", progress=1.0, label="done", run_id=run_id,
                      finished_at=now())

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs, ask running ones to stop, wait for the threads."""
        with self._lock:
            self._closed = True
            for event in self._cancel.values():
                event.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        with self._lock:
            self._store.update_jobs_with_status(
                ("queued", "running"), status="cancelled", label="cancelled: the server shut down",
                finished_at=pd.Timestamp.now())
