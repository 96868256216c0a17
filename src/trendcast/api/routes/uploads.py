"""Upload a data file: stream it to a temporary file, then validate and store it atomically."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from trendcast.api.deps import Analyst, LocksDep, StoreDep
from trendcast.api.errors import domain_error
from trendcast.api.schemas import TableWrite, UploadFormat, UploadKind, UploadResult
from trendcast.api.upload import OPENAPI_BODY, receive_file
from trendcast.errors import TrendcastError
from trendcast.services.ingest import ingest_file

router = APIRouter(tags=["data"])


@router.post("/uploads", response_model=UploadResult, status_code=201, openapi_extra=OPENAPI_BODY,
             responses={413: {"description": "File over the upload limit"},
                        415: {"description": "Not a data file type trendcast reads"}})
async def upload(
    request: Request,
    store: StoreDep,
    locks: LocksDep,
    principal: Analyst,
    kind: Annotated[UploadKind, Query(description="What the file holds.")],
    fmt: Annotated[UploadFormat | None, Query(alias="format", description="A known layout.")] = None,
    add_products: Annotated[bool, Query(description="Register unknown product ids "
                                                    "(orders, reviews).")] = False,
    aggregate: Annotated[Literal["D", "W"] | None, Query(
        description="For orders: also build daily (D) or weekly (W) sales series.")] = None,
    keep_user_ids: Annotated[bool, Query(description="Store user ids as given instead of "
                                                     "workspace pseudonyms.")] = False,
) -> UploadResult:
    """Validate a file and store it. Any bad row stores nothing; the answer names the file,
    row and column. Re-uploading the same file changes nothing (keyed upserts)."""
    limit = request.app.state.max_upload_bytes
    folder = Path(tempfile.mkdtemp(prefix="trendcast-upload-"))
    try:
        received = await receive_file(request, folder, limit=limit)

        def work() -> UploadResult:
            with locks.ingest:
                report = ingest_file(store, received.path, kind.value,
                                     fmt=fmt.value if fmt else None, add_products=add_products,
                                     aggregate=aggregate, pseudonymise=not keep_user_ids,
                                     max_unpacked_mb=request.app.state.settings.max_unpacked_mb)
                if any(w.inserted or w.updated for w in report.writes):
                    request.app.state.data_version.bump()
            return UploadResult(
                file=received.filename, kind=kind, rows_read=report.rows_read, seconds=report.seconds,
                tables=[TableWrite(table=w.table, inserted=w.inserted, updated=w.updated,
                                   unchanged=w.unchanged) for w in report.writes],
                notes=report.notes,
            )

        try:
            return await run_in_threadpool(work)
        except TrendcastError as exc:
            err = domain_error(exc)
            # Name the file as the client knows it, not the temporary copy.
            tmp = str(received.path)
            err.message = err.message.replace(tmp, received.filename)
            problems = err.extra.get("problems") or []
            for p in problems:
                if isinstance(p.get("file"), str):
                    p["file"] = p["file"].replace(tmp, received.filename)
            if fmt and "format" in err.message:
                err.field = err.field or "format"
            raise err from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
