"""Upload a data file: stream it to a temporary file, then validate and store it atomically."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from trendcast.api.deps import Analyst, LocksDep, StoreDep
from trendcast.api.errors import ApiError, domain_error
from trendcast.api.parsing import parse_in_worker
from trendcast.api.schemas import TableWrite, UploadFormat, UploadKind, UploadResult
from trendcast.api.upload import (
    OPENAPI_BODY,
    localized,
    receive_file,
    upload_lang,
    upload_options,
    with_options,
)
from trendcast.data.readers import Limits
from trendcast.errors import TrendcastError
from trendcast.services.ingest import ingest_file
from trendcast.services.ingest_messages import localize_notes

router = APIRouter(tags=["data"])


@router.post("/uploads", response_model=UploadResult, status_code=201, openapi_extra=OPENAPI_BODY,
             responses={413: {"description": "File over the upload limit"},
                        415: {"description": "Not a data file type trendcast reads"}})
async def upload(
    request: Request,
    store: StoreDep,
    locks: LocksDep,
    principal: Analyst,
    kind: Annotated[UploadKind | None, Query(
        description="What the file holds (here or as a form field).")] = None,
    fmt: Annotated[UploadFormat | None, Query(alias="format", description="A known layout.")] = None,
    add_products: Annotated[bool, Query(description="Register unknown product ids "
                                                    "(orders, reviews).")] = False,
    aggregate: Annotated[Literal["D", "W"] | None, Query(
        description="For orders: also build daily (D) or weekly (W) sales series.")] = None,
    keep_user_ids: Annotated[bool, Query(description="Store user ids as given instead of "
                                                     "workspace pseudonyms.")] = False,
    allow_gaps: Annotated[bool, Query(description="Store new sales that leave periods without a "
                                                  "row for any product (a closed shop); "
                                                  "otherwise refused as a missed export.")] = False,
    week_label: Annotated[Literal["start", "end"] | None, Query(
        description="Weekly sales: dated by the week's first day (start) or last day (end); the "
                    "workspace keeps it (default: the kept one, else start for weeks "
                    "dated on Mondays, end for other weekdays).")] = None,
    mapping: Annotated[list[str] | None, Query(
        alias="map", description="TARGET=SOURCE (repeatable); SOURCE A+B joins columns into one "
                                 "key, e.g. unique_id=Store+Dept.")] = None,
    constants: Annotated[list[str] | None, Query(
        alias="set", description="COLUMN=VALUE: a column with one value (repeatable).")] = None,
    drop: Annotated[list[str] | None, Query(description="A column to leave out (repeatable).")] = None,
    tz: Annotated[str | None, Query(description="Zone of naive date-times in the file (default: "
                                                "the workspace's).")] = None,
    date_format: Annotated[str | None, Query(description="strftime format of the dates, e.g. "
                                                         "%m/%d/%y; several joined by | for "
                                                         "a column that mixes layouts.")] = None,
    negatives: Annotated[Literal["reject", "keep", "clip", "zero"] | None, Query(
        description="Negative quantities: reject (default), keep, clip or zero.")] = None,
    rating_scale: Annotated[str | None, Query(description="Lowest-highest rating, default "
                                                          "1-5.")] = None,
    encoding: Annotated[str | None, Query(description="Text encoding (default: detected).")] = None,
    sheet: Annotated[str | None, Query(description="Excel sheet name.")] = None,
    decimal: Annotated[Literal[".", ","] | None, Query(
        description="Numbers written for people: '.' reads 1,234.50 and $12.50, ',' reads "
                    "1.234,50 and 12,5 (default: plain numbers only).")] = None,
    scrub: Annotated[bool, Query(description="For reviews: replace phone numbers and e-mail "
                                             "addresses in the text.")] = False,
    lang: Annotated[Literal["en", "zh"] | None, Query(
        description="Language of the answer's message and notes (here or as a form field; "
                    "default: Accept-Language's choice of en and zh, else en); zh keeps the "
                    "English in `message_en` / `notes_en`.")] = None,
) -> UploadResult:
    """Validate a file and store it. Any bad row stores nothing; the answer names the file,
    row and column. Re-uploading the same file changes nothing (keyed upserts). Every option
    of `trendcast ingest` is accepted as a query parameter or as a form field beside `file`
    (kind, format, map, set, drop, tz, date_format, negatives, rating_scale, encoding, sheet,
    decimal, add_products, aggregate, week_label, allow_gaps, keep_user_ids, scrub). The file is parsed in
    a worker process; a file over a reading limit (unpacked size, rows, columns, field length)
    is answered 413. An error whose message says to set an option lists it in the body's
    `options` (a missed export: allow_gaps; day-first dates: date_format). With `lang=zh`
    the message and notes are in Chinese, the English kept in `message_en` / `notes_en`."""
    limit = request.app.state.max_upload_bytes
    settings = request.app.state.settings
    folder = Path(tempfile.mkdtemp(prefix="trendcast-upload-"))
    answer = "en"  # the language of the answer; a form field may set it once the body is read
    try:
        answer = upload_lang(lang, {}, request.headers.get("accept-language"))
        received = await receive_file(request, folder, limit=limit)
        answer = upload_lang(lang, received.fields, request.headers.get("accept-language"))
        query = {"kind": kind.value if kind else None, "format": fmt.value if fmt else None,
                 "add_products": add_products, "aggregate": aggregate,
                 "keep_user_ids": keep_user_ids, "week_label": week_label,
                 "allow_gaps": allow_gaps, "map": mapping,
                 "set": constants, "drop": drop,
                 "tz": tz, "date_format": date_format, "negatives": negatives,
                 "rating_scale": rating_scale, "encoding": encoding, "sheet": sheet,
                 "decimal": decimal, "scrub": scrub}
        asked = upload_options(query, received.fields, workspace_tz=settings.tz,
                               limits=Limits.from_settings(settings, upload_bytes=limit))

        def work() -> UploadResult:
            with locks.ingest:
                report = ingest_file(store, received.path, asked.kind,
                                     add_products=asked.add_products,
                                     aggregate=asked.aggregate,  # type: ignore[arg-type]
                                     pseudonymise=not asked.keep_user_ids, scrub=asked.scrub,
                                     options=asked.options, parse=parse_in_worker,
                                     actor=f"key:{principal.key_id}",
                                     source=f"upload {received.filename}",
                                     week_label=asked.week_label,
                                     allow_gaps=asked.allow_gaps)
                if any(w.inserted or w.updated for w in report.writes):
                    request.app.state.data_version.bump()
            return UploadResult(
                file=received.filename, kind=UploadKind(asked.kind), rows_read=report.rows_read,
                seconds=report.seconds,
                tables=[TableWrite(table=w.table, inserted=w.inserted, updated=w.updated,
                                   unchanged=w.unchanged) for w in report.writes],
                notes=localize_notes(report.notes, answer), batch_id=report.batch_id,
                notes_en=report.notes if answer != "en" else None,
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
            raise with_options(err) from None
    except ApiError as err:
        # options are read from the English message; the reader gets it in the page's language
        raise localized(err, answer) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
