"""Ingest batches: list them, undo one (remove what it added, restore what it replaced)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from trendcast.api.deps import Analyst, LocksDep, StoreDep, Viewer
from trendcast.api.schemas import Batch, BatchPage, UndoOut
from trendcast.services.batches import get_batch, list_batches, undo_batch

router = APIRouter(prefix="/batches", tags=["data"])

BatchId = Annotated[str, Path(max_length=64, description="A batch id from GET /api/batches.")]


@router.get("", response_model=BatchPage)
def list_all(
    store: StoreDep,
    _: Viewer,
    status: Annotated[Literal["applied", "undone"] | None, Query(description="Only these.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BatchPage:
    """Every upload, ingest and deletion, newest first."""
    total, items = list_batches(store, limit=limit, offset=offset, status=status)
    return BatchPage(total=total, limit=limit, offset=offset, items=[Batch(**b) for b in items])


@router.get("/{batch_id}", response_model=Batch)
def get_one(batch_id: BatchId, store: StoreDep, _: Viewer) -> Batch:
    """One batch."""
    return Batch(**get_batch(store, batch_id))


@router.delete("/{batch_id}", response_model=UndoOut, responses={
    409: {"description": "Already undone, or a later batch changed the same rows (undo it first)"}})
def undo(batch_id: BatchId, request: Request, store: StoreDep, locks: LocksDep,
         principal: Analyst) -> UndoOut:
    """Undo a batch: remove the rows it added and restore the rows it replaced or deleted."""
    with locks.ingest:
        result = undo_batch(store, batch_id, actor=f"key:{principal.key_id}")
    request.app.state.data_version.bump()
    return UndoOut(batch=Batch(**result.batch), removed=result.removed, restored=result.restored)
