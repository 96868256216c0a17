"""The FastAPI application: ``create_app(db)`` opens the workspace and wires the routers, the
job pool, the JSON error handlers and (when present) the web dashboard. The app factory is
an entry point: it builds the one ``Settings`` of the app (unless given one) and passes it
down."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from trendcast.api.auth import KeyCache
from trendcast.api.cache import DataVersion, ResultCache
from trendcast.api.errors import install_error_handlers
from trendcast.api.jobs import JobManager
from trendcast.api.routes import (
    accuracy,
    batches,
    data,
    insights,
    jobs,
    keys,
    models,
    reports,
    system,
    uploads,
)
from trendcast.api.schemas import ErrorBody
from trendcast.api.security import SecurityHeaders, install_docs
from trendcast.api.stores import WriteLocks
from trendcast.config import Settings
from trendcast.data.store import open_store
from trendcast.services.ratelimit import FailureLimiter
from trendcast.version import __version__

log = logging.getLogger("trendcast.api")

DESCRIPTION = """\
Forecast e-commerce sales and trends over HTTP: upload data, run forecasts and backtests in
the background, read series, runs, leaderboards and reports.

Every endpoint but `/api/health` needs an API key (`trendcast keys create --role analyst`),
sent as `X-API-Key: <key>`, `Authorization: Bearer <key>`, or the `trendcast_key` cookie set
by `POST /api/session`. Roles: viewer (read) < analyst (upload, jobs) < admin (keys).
Every error is JSON: `{"error": {"code", "message", "field"?}}`.
"""


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Malformed request", 401: "Missing or invalid API key", 403: "Role too low",
            404: "Unknown endpoint or id", 409: "Conflicts with the current state",
            413: "Upload over the size limit", 415: "Unsupported file or content type",
            422: "Invalid input (the message says what to fix)",
            429: "Too many invalid API keys from this client; retry after Retry-After seconds",
            503: "Workspace unavailable or server shutting down"}
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


def create_app(db: str | Path | None = None, *, max_upload_mb: int = 50, workers: int = 2,
               settings: Settings | None = None) -> FastAPI:
    """Build the API over the workspace at ``db`` (a DuckDB file or a postgresql:// URL).

    Args:
        db: the workspace (default ``settings.db``); opened now, closed when the app shuts down.
        max_upload_mb: largest accepted upload, in MB (413 beyond it).
        workers: threads running forecast and backtest jobs.
        settings: the app's settings (default: built from the environment).
    """
    settings = settings or Settings()
    db = str(db) if db is not None else settings.db
    if max_upload_mb < 1:
        raise ValueError(f"max_upload_mb must be >= 1, got {max_upload_mb}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    locks = WriteLocks()
    version = DataVersion()

    def start(app: FastAPI) -> None:
        """Open the workspace and the job pool (again, after a lifespan shutdown)."""
        if getattr(app.state, "store", None) is not None:
            return
        store = open_store(db, settings=settings)
        app.state.store = store
        app.state.jobs = JobManager(store, locks.jobs, workers=workers, on_done=version.bump)

    def stop(app: FastAPI) -> None:
        """Stop the jobs (cooperatively) and close the workspace."""
        store, job_manager = app.state.store, app.state.jobs
        if store is None:
            return
        app.state.store = app.state.jobs = None
        job_manager.shutdown()
        store.close()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start(app)
        yield
        await anyio.to_thread.run_sync(stop, app)

    # /docs is served from this server's files (api.security), never from a CDN; no ReDoc
    app = FastAPI(title="trendcast", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeaders)  # a CSP on every HTML response
    app.state.db = str(db)
    app.state.settings = settings
    app.state.locks = locks
    app.state.max_upload_bytes = max_upload_mb * 1024 * 1024
    app.state.data_version = version
    app.state.results = ResultCache(version)
    app.state.key_cache = KeyCache()
    app.state.auth_limiter = FailureLimiter(settings.auth_max_failures, settings.auth_failure_window)
    start(app)  # usable at once; errors opening the workspace surface here
    install_error_handlers(app)

    api = APIRouter(prefix="/api", responses=_errors(400, 404, 422))
    protected = _errors(401, 403, 429)
    api.include_router(system.router, responses=_errors(401))
    api.include_router(uploads.router, responses={**protected, **_errors(413, 415)})
    api.include_router(batches.router, responses={**protected, **_errors(409)})
    api.include_router(jobs.router, responses={**protected, **_errors(409, 503)})
    api.include_router(data.router, responses=protected)
    api.include_router(reports.router, responses=protected)
    api.include_router(keys.router, responses=protected)
    api.include_router(insights.router, responses=protected)
    api.include_router(accuracy.router, responses=protected)
    api.include_router(models.router, responses={**protected, **_errors(409)})
    app.include_router(api)
    install_docs(app)
    _include_dashboard(app)
    return app


def _include_dashboard(app: FastAPI) -> None:
    """Serve the web dashboard when the package has one (the API works without it)."""
    dashboard: Any = None
    try:
        from trendcast.dashboard import routes as dashboard
    except ImportError as exc:
        # Only a missing dashboard is tolerated; an import error inside it is a bug to see.
        if getattr(exc, "name", None) not in ("trendcast.dashboard", "trendcast.dashboard.routes"):
            raise
        log.warning("no dashboard (%s): serving the API only", exc)
        dashboard = None
    router = getattr(dashboard, "router", None)
    if isinstance(router, APIRouter):
        app.include_router(router)
    static = Path(__file__).resolve().parents[1] / "dashboard" / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
