"""Forecast, backtest, train and update jobs: submit, follow, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from trendcast.api.deps import Analyst, JobsDep, StoreDep
from trendcast.api.errors import ApiError
from trendcast.api.schemas import (
    BacktestJobIn,
    ForecastJobIn,
    Job,
    JobPage,
    JobStatus,
    TrainJobIn,
    UpdateJobIn,
)
from trendcast.data.store import Store
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.services.forecast import check_plan, validate_ids

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(max_length=64, description="A job id from POST /api/jobs/...")]


def _check_data(store: Store, ids: list[str] | None) -> None:
    """Refuse a job that cannot start: no sales, or ids without sales (422 now, not a failed job)."""
    if not store.has_sales():
        raise ApiError(409, "no_sales", "the workspace has no sales; upload some first "
                       "(POST /api/uploads?kind=sales)")
    if ids:
        try:
            validate_ids(store, ids)
        except DataValidationError as exc:
            raise ApiError(422, "invalid_input", f"{exc}; GET /api/series lists the series",
                           field="ids") from None


def _check_plan(store: Store, body: ForecastJobIn) -> None:
    """Refuse a plan that names unknown products or days outside the horizon (422 now)."""
    if body.scenario is None:
        return
    from trendcast.api.jobs import plan_frame
    from trendcast.models.registry import model_class

    if not any(getattr(model_class(m), "supports_exog", False) for m in body.models if m != "auto"):
        raise ApiError(422, "invalid_input", f"none of {body.models} takes covariates, so a plan "
                       "cannot change the forecast; add LightGBM (or Chronos2) to models", field="models")
    check_plan(store, plan_frame([r.model_dump() for r in body.scenario]), body.horizon, body.ids)


def _check_version(store: Store, version: str) -> None:
    """Refuse a forecast from a version that does not exist (404) or that the installed
    packages cannot load (409), before queueing it."""
    from trendcast.api.routes.models import missing_version
    from trendcast.models.persistence import IncompatibleVersionError
    from trendcast.services.versions import PROMOTED, check_loadable

    try:
        check_loadable(store.model_version(None if version == PROMOTED else version))
    except NotFoundError:
        raise missing_version(version, "from_model") from None
    except IncompatibleVersionError as exc:
        raise ApiError(409, "incompatible_version", f"{exc}", field="from_model") from None


@router.post("/forecast", response_model=Job, status_code=202)
async def forecast(body: ForecastJobIn, store: StoreDep, jobs: JobsDep, principal: Analyst) -> Job:
    """Start a forecast in the background; follow it with GET /api/jobs/{job_id}. A
    ``scenario`` plan is checked first (422 naming its row and column). With ``from_model``
    the saved version forecasts the latest data without refitting (404 for an unknown
    version, 409 for one the installed packages cannot load)."""
    await run_in_threadpool(_check_data, store, body.ids)
    if body.from_model is not None:
        await run_in_threadpool(_check_version, store, body.from_model)
        params = body.model_dump(include={"from_model", *body.model_fields_set})
    else:
        await run_in_threadpool(_check_plan, store, body)
        params = body.model_dump()
    job = await run_in_threadpool(jobs.submit, "forecast", params, key_id=principal.key_id)
    return Job(**job)


@router.post("/update", response_model=Job, status_code=202)
async def update(body: UpdateJobIn, store: StoreDep, jobs: JobsDep, principal: Analyst) -> Job:
    """Run the daily job on the stored data (POST /api/uploads the new sales first): score
    past forecasts, refit as ``refit`` says (a refit is promoted only if not worse), forecast
    from the promoted version. The finished job's ``label`` is the one-line summary. One
    update runs at a time per workspace: a second one fails with the running one named."""
    await run_in_threadpool(_check_data, store, None)
    job = await run_in_threadpool(jobs.submit, "update", body.model_dump(), key_id=principal.key_id)
    return Job(**job)


@router.post("/train", response_model=Job, status_code=202)
async def train(body: TrainJobIn, store: StoreDep, jobs: JobsDep, principal: Analyst) -> Job:
    """Fit a configuration on every stored series and save it as a model version (GET
    /api/models); the job's ``version_id`` names it and its ``run_id`` is the validation run."""
    await run_in_threadpool(_check_data, store, None)
    job = await run_in_threadpool(jobs.submit, "train", body.model_dump(), key_id=principal.key_id)
    return Job(**job)


@router.post("/backtest", response_model=Job, status_code=202)
async def backtest(body: BacktestJobIn, store: StoreDep, jobs: JobsDep, principal: Analyst) -> Job:
    """Start a rolling-origin backtest in the background; its run holds the leaderboard."""
    await run_in_threadpool(_check_data, store, body.ids)
    job = await run_in_threadpool(jobs.submit, "backtest", body.model_dump(), key_id=principal.key_id)
    return Job(**job)


@router.get("", response_model=JobPage)
def list_jobs(
    jobs: JobsDep,
    _: Analyst,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobPage:
    """Jobs, newest first."""
    total, items = jobs.list_jobs(status=status, limit=limit, offset=offset)
    return JobPage(total=total, limit=limit, offset=offset, items=[Job(**j) for j in items])


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: JobId, jobs: JobsDep, _: Analyst) -> Job:
    """A job's status (queued, running, done, failed, cancelled), progress, run id or error."""
    return Job(**jobs.get(job_id))


@router.post("/{job_id}/cancel", response_model=Job)
def cancel_job(job_id: JobId, jobs: JobsDep, _: Analyst) -> Job:
    """Cancel: a queued job at once; a running one at its next step, storing nothing."""
    return Job(**jobs.cancel(job_id))
