"""Every error the API returns is JSON: ``{"error": {"code", "message", "field"?}}``.

Domain errors (``trendcast.errors``) become HTTP codes here; FastAPI's validation errors and
Starlette's 404/405 are rewritten into the same body, so a client parses one shape.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trendcast.errors import (
    ConflictError,
    DataValidationError,
    InputFileError,
    LimitError,
    ModelError,
    NotFoundError,
    StoreError,
    TrendcastError,
)
from trendcast.services.ratelimit import TooManyFailures

log = logging.getLogger("trendcast.api")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type",
          422: "invalid_input", 429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """An error with its HTTP status, a stable code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
        self.extra = extra or {}


def error_response(status: int, code: str, message: str, *, field: str | None = None,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The JSON error body with ``status``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return str(value)


def problems_of(exc: DataValidationError, replace: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The validator's problems as JSON (file, row, column, value, expected)."""
    out = []
    for p in exc.problems[:50]:
        item = {k: _jsonable(v) for k, v in p.items()}
        for old, new in (replace or {}).items():
            if isinstance(item.get("file"), str):
                item["file"] = item["file"].replace(old, new)
        out.append(item)
    return out


def domain_error(exc: TrendcastError) -> ApiError:
    """The HTTP form of a domain error."""
    message = str(exc)
    if isinstance(exc, DataValidationError):
        problems = problems_of(exc)
        field = str(problems[0]["column"]) if problems and problems[0].get("column") else None
        return ApiError(422, "invalid_data", message, field=field, extra={"problems": problems or None})
    if isinstance(exc, LimitError):
        return ApiError(413, "too_large", message)
    if isinstance(exc, InputFileError):
        return ApiError(422, "bad_file", message)
    if isinstance(exc, ModelError):
        return ApiError(422, "invalid_model_input", message)
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", message)
    if isinstance(exc, TooManyFailures):
        return ApiError(429, "too_many_requests", message,
                        headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ConflictError):
        return ApiError(409, "conflict", message)
    if isinstance(exc, StoreError):
        return ApiError(503, "store_unavailable", message)
    return ApiError(400, "bad_request", message)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "cookie", "body"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "not valid JSON")
        return error_response(422, "invalid_json", f"the request body is not valid JSON ({reason}); "
                              "send a JSON object with Content-Type: application/json", field="body")
    lines = []
    for err in errors[:10]:
        loc = list(err.get("loc", ()))
        where = loc[0] if loc else "request"
        got = err.get("input")
        shown = "" if got is None or isinstance(got, dict) else f" (got {str(got)[:80]!r})"
        lines.append(f"{where} {_field(loc)!r}: {err.get('msg', 'invalid')}{shown}")
    first = errors[0] if errors else {}
    return error_response(
        422, "invalid_input", "; ".join(lines) or "invalid request",
        field=_field(first.get("loc", ())) if first else None,
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    message = str(exc.detail)
    if status == 400 and message == "There was an error parsing the body":
        message = "the request body could not be parsed; send UTF-8 JSON with Content-Type: application/json"
    elif status == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}; the API is described at /docs"
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = _documented_methods(request) or headers.get("Allow", "?")
        headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    return error_response(status, _CODES.get(status, "error"), message, headers=headers or None)


def _documented_methods(request: Request) -> str | None:
    """Every method the schema documents for the request's path (routes of one path may be
    spread over several routers, and the router's 405 names only the first one's)."""
    app = request.app
    patterns = getattr(app.state, "path_methods", None)
    if patterns is None:
        patterns = []
        for template, ops in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            patterns.append((re.compile(f"^{regex}$"), ", ".join(sorted(m.upper() for m in ops))))
        app.state.path_methods = patterns
    return next((methods for regex, methods in patterns if regex.match(request.url.path)), None)


async def _api(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers,
                          **exc.extra)


async def _domain(request: Request, exc: TrendcastError) -> JSONResponse:
    return await _api(request, domain_error(exc))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error",
                          f"internal error ({type(exc).__name__}); the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one JSON body."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api)  # type: ignore[arg-type]
    app.add_exception_handler(TrendcastError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
