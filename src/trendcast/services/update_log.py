"""A record of every daily update in the ``jobs`` table (kind ``update``), whichever path runs
it, so ``GET /api/jobs`` and the dashboard show the updates of cron and of the schedule too.

:func:`recorded_update` wraps one update: a row ``running`` at its start, then ``done`` (label
= the one-line summary, ``run_id`` = the forecast run, ``version_id``) or ``failed`` (``error``
= the exception's message on one line). The failure is recorded before it propagates, and
also when it comes before the update lease is taken (another update running). The row is
written outside the update's ingest transaction, so a refused ingest rolls back its rows but
not the record. ``POST /api/jobs/update`` keeps the job manager's own row instead.

Who started an update is its ``key_id``: an API key id (the server's job manager),
``cli:<OS user>`` (a command line, cron or a person; ``cli`` when the user is unknown) or
``schedule`` (``trendcast serve --schedule``, inside the server process). A server at its
start fails the queued and running rows of the server processes (API jobs and scheduled
updates: whoever ran them has stopped) but not command-line rows (:data:`OTHER_PROCESSES`):
the command may still be running. A command line that crashed leaves its row ``running``;
an update row still running after the update lease has expired (``LEASE_HOURS``) is read as
stale (:func:`is_stale`), since another update may have started by then.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import TrendcastError
from trendcast.features.frequency import period_days
from trendcast.services.update import LEASE_HOURS, UpdateResult

log = logging.getLogger("trendcast.services.update_log")

SCHEDULE = "schedule"  # key_id of the updates `trendcast serve --schedule` runs
# key_id patterns (SQL LIKE) of rows written by processes other than the server: a server's
# start-up recovery leaves them alone (API key ids are hex, so they never match)
OTHER_PROCESSES = ("cli", "cli:%")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type for a bug or an empty message)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl+C) before it finished; the steps it had finished stay"
    if isinstance(exc, TrendcastError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def job_row(kind: str, status: str, params: dict[str, Any] | None, key_id: str | None, *,
            started: bool = False) -> pd.DataFrame:
    """A new row of ``jobs`` (the API's job manager queues its jobs with it too)."""
    now = pd.Timestamp.now()
    return pd.DataFrame([{
        "job_id": f"job-{uuid.uuid4().hex[:12]}", "kind": kind, "status": status,
        "params": json.dumps(params or {}), "progress": 0.0, "label": status, "run_id": None,
        "error": None, "key_id": key_id, "created_at": now, "started_at": now if started else None,
        "finished_at": None, "version_id": None,
    }])


def start_record(store: Store, by: str, params: dict[str, Any] | None = None) -> str:
    """Append a ``running`` update row started by ``by``; returns its job id."""
    row = job_row("update", "running", params, by, started=True)
    store.append("jobs", row)
    return str(row.loc[0, "job_id"])


def _finish(store: Store, job_id: str, **fields: Any) -> None:
    try:
        store.update_job(job_id, finished_at=pd.Timestamp.now(), only_if_status=("running",), **fields)
    except Exception:  # the update's own outcome (its result or its error) matters more
        log.exception("could not record the end of update %s", job_id)


def recorded_update(store: Store, by: str, run: Callable[[], UpdateResult], *,
                    params: dict[str, Any] | None = None) -> UpdateResult:
    """Run ``run`` (one update) with its record in ``jobs`` (module docstring); its result or
    its exception, unchanged."""
    job_id = start_record(store, by, params)
    try:
        result = run()
    except BaseException as exc:  # recorded, then raised as before (Ctrl+C too)
        _finish(store, job_id, status="failed", label="failed", error=one_line(exc))
        raise
    _finish(store, job_id, status="done", progress=1.0, label=result.summary(),
            run_id=result.forecast_run, version_id=result.version_id)
    return result


def is_stale(row: dict[str, Any], now: pd.Timestamp | None = None) -> bool:
    """Whether a job row is an update still marked running after the update lease expired
    (its process most likely crashed)."""
    if row.get("kind") != "update" or row.get("status") != "running":
        return False
    started = row.get("started_at")
    started = row.get("created_at") if started is None or pd.isna(started) else started
    if started is None or pd.isna(started):
        return False
    now = pd.Timestamp.now() if now is None else now
    return now - pd.Timestamp(started) > pd.Timedelta(hours=LEASE_HOURS)


def recent_updates(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """The ``limit`` newest update records, newest first, each with ``stale`` set."""
    _, rows = store.job_rows(kind="update", limit=limit)
    now = pd.Timestamp.now()
    return [{**r, "stale": is_stale(r, now)} for r in rows]


def last_forecast(store: Store) -> dict[str, Any] | None:
    """The newest forecast run: its id, when it was made and the last period of its data
    (the period before its first forecast date); None without one."""
    row = store.latest_run_row("forecast")
    if row is None:
        return None
    first = store.run_first_day(row["run_id"])
    return {"run_id": row["run_id"], "created_at": row["created_at"],
            "data_end": None if first is None else _period_before(first, str(row.get("freq") or "D"))}


def _period_before(day: pd.Timestamp, freq: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(day - pd.tseries.frequencies.to_offset(freq))
    except ValueError:  # not a pandas frequency: its typical length
        return day - pd.Timedelta(days=period_days(freq))
