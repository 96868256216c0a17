"""The app's workspace and the locks that serialise conflicting writes of this process.

Stores are safe to share between request and job threads: the DuckDB store gives each
operation its own cursor (and a transaction its thread's), the PostgreSQL store a pooled
connection. Writes that could touch the same rows from two threads of this server (uploads,
keys, job records) are serialised with the locks in ``WriteLocks``; across processes the
backends serialise them (DuckDB admits one writer, PostgreSQL upserts lock per table).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trendcast.data.store import Store

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


@dataclass
class WriteLocks:
    """One lock per kind of write that may conflict with a concurrent one."""

    ingest: threading.Lock = field(default_factory=threading.Lock)
    keys: threading.Lock = field(default_factory=threading.Lock)
    jobs: threading.Lock = field(default_factory=threading.Lock)
    models: threading.Lock = field(default_factory=threading.Lock)


def store_of(request: HTTPConnection) -> Store:
    """The app's open workspace, or 503 while the server is stopping."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        from trendcast.api.errors import ApiError

        raise ApiError(503, "unavailable", "the server is starting or stopping; retry in a moment")
    return store
