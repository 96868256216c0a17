"""Saved model versions: list, show, promote, delete (what `trendcast models` does).

A version is trained by POST /api/jobs/train (or `trendcast train`) and used by POST
/api/jobs/forecast with ``from_model`` and by the scheduled `update`. ``promoted`` names the
promoted version wherever a version id is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request

from trendcast.api.deps import Admin, Analyst, LocksDep, StoreDep, Viewer
from trendcast.api.errors import ApiError
from trendcast.api.routes.insights import jsonable
from trendcast.api.schemas import ModelVersion, ModelVersionPage
from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.services.versions import (
    PROMOTED,
    delete_version,
    describe_version,
    describe_versions,
    promote_version,
)

router = APIRouter(prefix="/models", tags=["models"])

VersionId = Annotated[str, Path(max_length=64, description="A version id from GET /api/models, "
                                                           "or 'promoted'.")]
T = TypeVar("T")


def missing_version(version: str, field: str) -> ApiError:
    """The 404 for a version id (or ``promoted``) that names no stored version."""
    if version == PROMOTED:
        return ApiError(404, "not_found", "no promoted model version; train one with POST "
                        "/api/jobs/train (the first is promoted) or promote one with POST "
                        "/api/models/{version}/promote", field=field)
    return ApiError(404, "not_found", f"no model version {version!r}; GET /api/models lists them",
                    field=field)


def _found(version: str, call: Callable[[], T]) -> T:
    """``call()``, its NotFoundError said the API's way (the store's message names the CLI)."""
    try:
        return call()
    except NotFoundError:
        raise missing_version(version, "version") from None


def _id(store: Store, version: str) -> str:
    """The version id ``version`` names (``promoted``: the promoted one's)."""
    if version != PROMOTED:
        return version
    return _found(version, lambda: store.model_version(None))["version_id"]


def _or_promoted(version: str) -> str | None:
    return None if version == PROMOTED else version


def _version(row: dict[str, Any]) -> ModelVersion:
    return ModelVersion(**jsonable([row])[0])


@router.get("", response_model=ModelVersionPage)
def list_all(store: StoreDep, _: Viewer) -> ModelVersionPage:
    """Every saved version, newest first; the promoted one is what forecasts ``from_model``
    and the scheduled update use."""
    items = describe_versions(store)
    return ModelVersionPage(total=len(items), items=[_version(i) for i in items])


@router.get("/{version}", response_model=ModelVersion)
def get_one(version: VersionId, store: StoreDep, _: Viewer) -> ModelVersion:
    """A version's metadata: models, settings, data window, fingerprint, packages,
    validation scores and whether the installed packages can load it."""
    return _version(_found(version, lambda: describe_version(store, _or_promoted(version))))


@router.post("/{version}/promote", response_model=ModelVersion)
def promote(version: VersionId, request: Request, store: StoreDep, locks: LocksDep,
            _: Analyst) -> ModelVersion:
    """Make the version the one forecasts ``from_model`` and the scheduled update use (the
    one promoted before becomes superseded)."""
    with locks.models:
        version_id = _id(store, version)
        _found(version, lambda: promote_version(store, version_id))
    request.app.state.data_version.bump()
    return _version(describe_version(store, version_id))


@router.delete("/{version}", response_model=ModelVersion, responses={
    409: {"description": "The promoted version: promote another one first"}})
def delete(version: VersionId, request: Request, store: StoreDep, locks: LocksDep,
           _: Admin) -> ModelVersion:
    """Delete a version and its artefact (admin). The promoted version is refused: the
    scheduled update forecasts from it."""
    with locks.models:
        row = _found(version, lambda: describe_version(store, _or_promoted(version)))
        if row["status"] == "promoted":
            raise ApiError(409, "promoted_version", f"{row['version_id']} is the promoted version, which "
                           "forecasts from_model and the scheduled update use; promote another "
                           "version first (POST /api/models/{version}/promote)", field="version")
        _found(version, lambda: delete_version(store, row["version_id"]))
    request.app.state.data_version.bump()
    return _version(row)
