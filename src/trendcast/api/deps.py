"""Shared route dependencies: the workspace store, write locks, the job manager, principals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from trendcast.api.auth import require
from trendcast.api.jobs import JobManager
from trendcast.api.stores import WriteLocks, store_of
from trendcast.data.store import Store
from trendcast.services.keys import Principal


async def get_store(request: Request) -> Store:
    """The app's workspace; safe to use from any thread."""
    return store_of(request)


async def get_locks(request: Request) -> WriteLocks:
    return request.app.state.locks


async def get_jobs(request: Request) -> JobManager:
    store_of(request)  # 503 while stopping
    return request.app.state.jobs


StoreDep = Annotated[Store, Depends(get_store)]
LocksDep = Annotated[WriteLocks, Depends(get_locks)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
