"""A store that request and job threads can share: one DuckDB cursor per thread.

DuckDB connections are not thread-safe, but cursors of one open database are, one per thread,
each with its own transactions; DuckDB's MVCC keeps readers on a consistent snapshot while a
job or an upload writes. Writes that could touch the same rows (uploads, keys, job records)
are serialised by the callers with the locks in ``WriteLocks``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from trendcast.data.store import DuckDBStore, Store, WriteResult
from trendcast.errors import StoreError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


@dataclass
class WriteLocks:
    """One lock per kind of write that may conflict with a concurrent one."""

    ingest: threading.Lock = field(default_factory=threading.Lock)
    keys: threading.Lock = field(default_factory=threading.Lock)
    jobs: threading.Lock = field(default_factory=threading.Lock)


class ThreadLocalStore(Store):
    """Delegates every call to the calling thread's own cursor on ``base``."""

    def __init__(self, base: DuckDBStore) -> None:
        self.location = base.location
        self._base = base
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cursors: dict[int, tuple[threading.Thread, DuckDBStore]] = {}
        self._closed = False

    def _store(self) -> DuckDBStore:
        if self._closed:
            raise StoreError(f"workspace {self.location} is closed (the server is shutting down)")
        store = getattr(self._local, "store", None)
        if store is not None:
            return store
        me = threading.current_thread()
        with self._lock:
            if self._closed:
                raise StoreError(f"workspace {self.location} is closed (the server is shutting down)")
            # Worker threads come and go (anyio retires idle ones): close cursors of dead threads.
            for ident, (thread, old) in list(self._cursors.items()):
                if not thread.is_alive() or ident == me.ident:
                    old.close()
                    del self._cursors[ident]
            store = self._base.cursor()
            self._cursors[me.ident or 0] = (me, store)
        self._local.store = store
        return store

    @property
    def open_cursors(self) -> int:
        """Cursors currently open (one per live thread that used the store)."""
        return len(self._cursors)

    def upsert(self, table: str, df: pd.DataFrame) -> WriteResult:
        return self._store().upsert(table, df)

    def append(self, table: str, df: pd.DataFrame) -> int:
        return self._store().append(table, df)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self._store().sql(query, params)

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        self._store().execute(statement, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._store().transaction():
            yield

    @property
    def schema_version(self) -> int:
        return self._store().schema_version

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for _, store in self._cursors.values():
                store.close()
            self._cursors.clear()
        self._base.close()


def store_of(request: HTTPConnection) -> Store:
    """The app's open workspace, or 503 while the server is stopping."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        from trendcast.api.errors import ApiError

        raise ApiError(503, "unavailable", "the server is starting or stopping; retry in a moment")
    return store
