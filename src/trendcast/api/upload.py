"""Receive one uploaded file from a multipart body, streamed to a temporary file.

The body is parsed as it arrives (python-multipart's streaming parser), so an upload larger
than the limit is refused as soon as the limit is passed, without reading the rest; a
``Content-Length`` already over the limit is refused before reading anything. The file's name
and declared type are checked (415) before its bytes are written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from trendcast.api.errors import ApiError
from trendcast.services.ingest_messages import localize_message

FIELD = "file"
OVERHEAD = 64 * 1024  # multipart headers and boundaries allowed beyond the file's own bytes
SUFFIXES = (".csv.gz", ".tsv.gz", ".txt.gz", ".json.gz", ".jsonl.gz", ".csv", ".tsv", ".txt",
            ".json", ".jsonl", ".parquet", ".xlsx", ".xls", ".xlsm", ".zip")
CONTENT_TYPES = frozenset({
    "", "application/octet-stream", "text/csv", "text/plain", "text/tab-separated-values",
    "text/x-csv", "application/csv", "application/x-csv", "application/json", "application/x-ndjson",
    "application/jsonl", "application/x-jsonlines", "application/gzip", "application/x-gzip",
    "application/zip", "application/x-zip-compressed", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.apache.parquet",
    "application/x-parquet", "application/parquet",
})
_UNSAFE = re.compile(r"[^\w.\- ]+")

# How the multipart body is described in the OpenAPI schema.
OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": [FIELD],
            "properties": {FIELD: {"type": "string", "format": "binary",
                                   "description": "The data file: " + ", ".join(SUFFIXES)}},
        }}},
    }
}


@dataclass
class ReceivedFile:
    """The uploaded file on disk, with the (sanitised) name and type the client gave."""

    path: Path
    filename: str
    content_type: str
    size: int
    fields: dict[str, list[str]] = field(default_factory=dict)  # the form's other parts


def safe_filename(name: str) -> str:
    """The base name without folders or unusual characters (kept for messages and suffix)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return _UNSAFE.sub("_", base)[-120:]


def suffix_of(name: str) -> str | None:
    lower = name.lower()
    return next((s for s in SUFFIXES if lower.endswith(s) and len(lower) > len(s)), None)


def _too_large(limit: int) -> ApiError:
    mb = limit / 1024 / 1024
    return ApiError(413, "too_large",
                    f"the upload is larger than the limit of {mb:g} MB; split the file or start "
                    "the server with a higher --max-upload-mb", field=FIELD)


class _Receiver:
    """Callbacks of the streaming parser: keeps the one file part, skips other parts."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.out: IO[bytes] | None = None
        self.file: ReceivedFile | None = None
        self.in_file = False
        self.other_bytes = 0
        self.ended = False
        self.fields: dict[str, list[str]] = {}
        self.field_name: str | None = None
        self.field_value = bytearray()

    def on_part_begin(self) -> None:
        self.headers = {}
        self.in_file = False
        self.field_name = None
        self.field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != FIELD:
            self.field_name = name  # an option (kind, map, date_format, ...) as a form field
            return
        if self.file is not None:
            raise ApiError(422, "invalid_input", "send one file per upload (one part named 'file')",
                           field=FIELD)
        if b"filename" not in options:
            raise ApiError(422, "invalid_input", "the 'file' part must be a file (with a filename), "
                           "e.g. curl -F file=@sales.csv", field=FIELD)
        filename = safe_filename(options[b"filename"].decode("utf-8", "replace"))
        suffix = suffix_of(filename)
        if suffix is None:
            raise ApiError(415, "unsupported_type",
                           f"file {filename!r}: trendcast reads {', '.join(SUFFIXES)}; rename or "
                           "convert the file (the name's ending picks the reader)", field=FIELD)
        ctype = parse_options_header(self.headers.get(b"content-type", b""))[0].decode("latin-1").lower()
        if ctype not in CONTENT_TYPES:
            raise ApiError(415, "unsupported_type",
                           f"file {filename!r} was sent as {ctype!r}, which is not a data file; send "
                           "CSV/TSV/JSON lines/Parquet/Excel (or application/octet-stream)", field=FIELD)
        path = self.folder / f"upload{suffix}"
        self.out = path.open("wb")
        self.file = ReceivedFile(path, filename, ctype, 0)
        self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if not self.in_file:
            self.other_bytes += n
            if self.other_bytes > OVERHEAD:
                raise ApiError(413, "too_large", "form fields besides 'file' exceed 64 KB; send only "
                               "the file and its options")
            if self.field_name is not None:
                self.field_value += data[start:end]
            return
        assert self.file is not None and self.out is not None
        self.file.size += n
        if self.file.size > self.limit:
            raise _too_large(self.limit)
        self.out.write(data[start:end])

    def on_part_end(self) -> None:
        if self.in_file and self.out is not None:
            self.out.close()
        elif self.field_name is not None:
            try:
                value = self.field_value.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(422, "invalid_input", f"form field {self.field_name!r} is not UTF-8 "
                               "text", field=self.field_name) from None
            self.fields.setdefault(self.field_name, []).append(value)
        self.in_file = False
        self.field_name = None

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.out is not None and not self.out.closed:
            self.out.close()


async def receive_file(request: Request, folder: Path, *, limit: int) -> ReceivedFile:
    """Stream the request's multipart 'file' part into ``folder``; raise ApiError on any problem."""
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data":
        shown = ctype.decode("latin-1") or "no Content-Type"
        raise ApiError(415, "unsupported_type",
                       f"uploads are multipart/form-data with a part named 'file', not {shown}; "
                       "e.g. curl -F file=@sales.csv")
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_multipart", "the multipart Content-Type has no boundary")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + OVERHEAD:
        raise _too_large(limit)
    receiver = _Receiver(folder, limit)
    callbacks: Any = {name: getattr(receiver, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value",
        "on_header_end", "on_headers_finished", "on_end")}
    received = 0
    try:
        parser = MultipartParser(boundary, callbacks)
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + OVERHEAD:
                raise _too_large(limit)
            parser.write(chunk)
            if receiver.ended:
                break
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, "bad_multipart", f"the multipart body is malformed ({exc})") from None
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "the client went away before the upload ended; "
                       "nothing was stored") from None
    finally:
        receiver.close()
    if receiver.file is None:
        raise ApiError(422, "invalid_input", "the request has no part named 'file'; send the data "
                       "file as multipart field 'file' (curl -F file=@sales.csv)", field=FIELD)
    if not receiver.ended:
        raise ApiError(400, "bad_multipart", "the multipart body ended before its closing boundary")
    receiver.file.fields = receiver.fields
    return receiver.file


# -- the ingest options of an upload: query parameters or form fields, as on `trendcast ingest` --

LIST_OPTIONS = ("map", "set", "drop")
SCALAR_OPTIONS = ("kind", "format", "tz", "date_format", "negatives", "rating_scale", "encoding",
                  "sheet", "aggregate", "decimal", "week_label", "columns")
FLAG_OPTIONS = ("add_products", "keep_user_ids", "scrub", "allow_gaps")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass
class UploadOptions:
    """Everything an upload asks for besides the file."""

    kind: str
    options: Any  # trendcast.data.ingest.IngestOptions
    add_products: bool = False
    aggregate: str | None = None
    week_label: str | None = None
    keep_user_ids: bool = False
    scrub: bool = False
    allow_gaps: bool = False


def upload_options(query: dict[str, Any], fields: dict[str, list[str]], *, workspace_tz: str,
                   limits: Any) -> UploadOptions:
    """Merge query parameters and form fields (lists: both; single values: the query's, else
    the form's) and check them as ``trendcast ingest`` checks its options."""
    from trendcast.data.ingest import KINDS, PRESETS, make_options
    from trendcast.errors import InputFileError

    known = set(LIST_OPTIONS) | set(SCALAR_OPTIONS) | set(FLAG_OPTIONS)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(422, "invalid_input", f"unknown form field(s) {unknown}; the options are "
                       f"{', '.join(sorted(known))} (as on `trendcast ingest`)", field=unknown[0])

    def one(name: str) -> str | None:
        if query.get(name) is not None:
            return str(query[name])
        values = fields.get(name) or []
        if len(values) > 1:
            raise ApiError(422, "invalid_input", f"form field {name!r} given {len(values)} times; "
                           "give it once", field=name)
        return values[0] if values else None

    def flag(name: str) -> bool:
        if query.get(name):
            return True
        values = fields.get(name) or []
        if len(values) > 1:
            raise ApiError(422, "invalid_input", f"form field {name!r} given {len(values)} times; "
                           "give it once", field=name)
        value = values[0] if values else None
        if value is None:
            return False
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise ApiError(422, "invalid_input", f"{name}={value!r}: expected true or false", field=name)

    fmt = one("format")
    if fmt is not None and fmt not in PRESETS:
        raise ApiError(422, "invalid_input", f"format {fmt!r}: known layouts are "
                       f"{', '.join(sorted(PRESETS))}", field="format")
    kind = one("kind") or (PRESETS[fmt].kind if fmt else None)
    if kind is None:
        raise ApiError(422, "invalid_input", "say what the file holds: kind=sales (or products, "
                       "orders, events, reviews, calendar, macro, stock), as a query parameter or "
                       "form field", field="kind")
    if kind not in KINDS:
        raise ApiError(422, "invalid_input", f"kind {kind!r}: choose one of {', '.join(KINDS)}",
                       field="kind")
    aggregate = one("aggregate")
    if aggregate not in (None, "D", "W"):
        raise ApiError(422, "invalid_input", f"aggregate={aggregate!r}: D or W", field="aggregate")
    week_label = one("week_label")
    if week_label not in (None, "start", "end"):
        raise ApiError(422, "invalid_input", f"week_label={week_label!r}: start (weeks dated by "
                       "their first day) or end (by their last day)", field="week_label")
    lists = {n: [*(query.get(n) or []), *(fields.get(n) or [])] for n in LIST_OPTIONS}
    try:
        options = make_options(
            fmt=fmt, mapping=lists["map"], constants=lists["set"], drop=lists["drop"],
            tz=one("tz"), workspace_tz=workspace_tz, date_format=one("date_format"),
            negatives=one("negatives"), rating_scale=one("rating_scale"),
            encoding=one("encoding"), sheet=one("sheet"), limits=limits, decimal=one("decimal"),
            columns=one("columns"))
    except InputFileError as exc:
        raise with_options(ApiError(422, "invalid_input", str(exc)), at_fault=True) from None
    return UploadOptions(kind=kind, options=options, add_products=flag("add_products"),
                         aggregate=aggregate, week_label=week_label,
                         keep_user_ids=flag("keep_user_ids"),
                         scrub=flag("scrub"), allow_gaps=flag("allow_gaps"))


def _mention(name: str) -> re.Pattern[str]:
    # Shared messages name options as the CLI spells them (--allow-gaps), some also as the API
    # does (allow_gaps=true). The bare API form is only matched for names with "_": a plain
    # word such as kind= or map= also appears in examples of other options (--set kind=holiday).
    forms = [re.escape("--" + name.replace("_", "-")) + r"(?![\w-])"]
    if "_" in name:
        forms.append(re.escape(name) + "=")
    return re.compile(r"(?<![\w-])(?:" + "|".join(forms) + ")")


_MENTIONS = {name: _mention(name) for name in (*LIST_OPTIONS, *SCALAR_OPTIONS, *FLAG_OPTIONS)}


def options_named(message: str) -> list[str]:
    """The upload options ``message`` tells the user to set (``--date-format``,
    ``allow_gaps=true``), in the order it names them: a client can point at their fields."""
    found = {name: m.start() for name, p in _MENTIONS.items() if (m := p.search(message))}
    return sorted(found, key=found.__getitem__)


def with_options(err: ApiError, *, at_fault: bool = False) -> ApiError:
    """``err`` with the options its message names (the error body's ``options``);
    ``at_fault``: the message is about an option's value, so the first is the field at fault
    (when the error names none)."""
    named = options_named(err.message)
    if named:
        err.extra["options"] = named
        if at_fault:
            err.field = err.field or named[0]
    return err


# -- the language of an upload's answer --

LANGS = ("en", "zh")


def _preferred(accept_language: str | None) -> str | None:
    """The first of :data:`LANGS` an Accept-Language header prefers (``zh-CN,zh;q=0.9``)."""
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, tag.strip().split("-")[0].lower()))
    return next((lang for q, _, lang in sorted(ranked) if q < 0 and lang in LANGS), None)


def upload_lang(query: str | None, fields: dict[str, list[str]], accept_language: str | None) -> str:
    """The language of an upload's message and notes: ``lang`` as a query parameter or form
    field (taken out of ``fields``), else the one Accept-Language prefers, else English."""
    values = fields.pop("lang", [])
    if len(values) > 1:
        raise ApiError(422, "invalid_input", f"form field 'lang' given {len(values)} times; give it "
                       "once", field="lang")
    given = query or (values[0].strip().lower() if values else None)
    if given is not None and given not in LANGS:
        raise ApiError(422, "invalid_input", f"lang={given!r}: choose one of {', '.join(LANGS)}",
                       field="lang")
    return given or _preferred(accept_language) or "en"


def localized(err: ApiError, lang: str) -> ApiError:
    """``err`` with its message in ``lang``, the English one kept as the body's ``message_en``
    (English: unchanged). Lines no pattern knows stay English."""
    if lang != "en" and "message_en" not in err.extra:
        err.extra["message_en"] = err.message
        err.message = localize_message(err.message, lang)
    return err
