"""The DuckDB backend: one workspace file, opened only while it is being used.

DuckDB lets one process write a file, or several processes read it, never both at once. So
this store holds the file only for the moment an operation needs it: each query or
transaction opens it (read-only for a read-only store), and it is closed again as soon as no
thread of this process uses it (after ``linger`` seconds, so a burst of queries opens it
once). A long forecast therefore holds the file for its first read and its last write, not
for its computation, and other processes wait for a free moment instead of failing: a
busy file is retried until ``lock_timeout`` seconds have passed.

Inside one process, threads share one open database (each uses its own cursor); a thread's
transaction pins its cursor until it ends.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from trendcast.data.store import Store, normalise_datetimes
from trendcast.data.tables import Table
from trendcast.errors import StoreError

DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_LINGER = 0.2
_LOCK_ERROR = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)
_CONFLICT = re.compile(r"Conflict on (update|tuple deletion)", re.IGNORECASE)


def _conflict_pause(attempt: int) -> None:
    """Wait before retrying a statement that met another transaction's uncommitted write."""
    time.sleep(min(0.005 * 2 ** attempt, 0.2))


class _File:
    """One database file of this process: open while some thread uses it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cond = threading.Condition()
        self.con: Any = None
        self.writable = False
        self.users = 0
        self.generation = 0

    def acquire(self, write: bool, timeout: float) -> Any:
        """A cursor on the open file (opening it, read-only unless ``write``)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            # a read-only open of this process must end before the file can be opened to write
            while self.con is not None and write and not self.writable:
                if self.users == 0:
                    self._close()
                    break
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    raise StoreError(f"workspace {self.path}: timed out after {timeout:.0f}s waiting "
                                     "for this process's readers to finish")
            if self.con is None:
                self.con = _connect(self.path, write, deadline, timeout)
                self.writable = write
                self.generation += 1
            self.users += 1
            con = self.con
        try:
            return con.cursor()
        except BaseException:
            self.release(None, 0.0)
            raise

    def release(self, cursor: Any, linger: float) -> None:
        if cursor is not None:
            with contextlib.suppress(Exception):
                cursor.close()
        with self.cond:
            self.users -= 1
            if self.users:
                return
            if linger <= 0:
                self._close()
                return
            generation = self.generation
        timer = threading.Timer(linger, self._close_if_idle, args=(generation,))
        timer.daemon = True
        timer.start()

    def _close_if_idle(self, generation: int) -> None:
        with self.cond:
            if self.users == 0 and self.generation == generation:
                self._close()

    def close_now(self) -> None:
        with self.cond:
            if self.users == 0:
                self._close()

    def _close(self) -> None:
        if self.con is not None:
            with contextlib.suppress(Exception):
                self.con.close()
        self.con = None
        self.writable = False
        self.cond.notify_all()


_FILES: dict[str, _File] = {}
_FILES_LOCK = threading.Lock()


def _file(path: str) -> _File:
    with _FILES_LOCK:
        found = _FILES.get(path)
        if found is None:
            found = _FILES[path] = _File(path)
        return found


def _connect(path: str, write: bool, deadline: float, timeout: float) -> Any:
    """Open the file, retrying while another process holds its lock."""
    import duckdb

    pause = 0.01
    while True:
        try:
            return duckdb.connect(path, read_only=not write)
        except duckdb.Error as exc:
            if not _LOCK_ERROR.search(str(exc)):
                raise StoreError(f"cannot open workspace {path}: {exc}. Is it a DuckDB file "
                                 "written by trendcast?") from exc
            if time.monotonic() >= deadline:
                holder = re.search(r"PID (\d+)", str(exc))
                who = f"process {holder.group(1)}" if holder else "another process"
                raise StoreError(
                    f"workspace {path} is busy: {who} has been writing to it for the last "
                    f"{timeout:.0f}s. Try again when it is done, raise TRENDCAST_LOCK_TIMEOUT, or "
                    "use a PostgreSQL workspace for many concurrent writers") from exc
            time.sleep(pause)
            pause = min(pause * 1.5, 0.1)


class DuckDBStore(Store):
    """Store in one DuckDB file (or ``:memory:``)."""

    dialect: ClassVar[str] = "duckdb"

    def __init__(self, path: str | Path = "trendcast.duckdb", *, read_only: bool = False,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, linger: float = DEFAULT_LINGER) -> None:
        self.location = str(path)
        self.read_only = read_only
        self.lock_timeout = lock_timeout
        self.linger = linger
        self._local = threading.local()
        self._closed = False
        self._memory: Any = None
        if self.location == ":memory:":
            import duckdb

            if read_only:
                raise StoreError("an in-memory workspace cannot be opened read-only")
            self._memory = duckdb.connect(":memory:")
            self._file: _File | None = None
        else:
            resolved = Path(self.location).expanduser().resolve()
            if not resolved.parent.exists():
                raise StoreError(
                    f"cannot create workspace {self.location}: folder {resolved.parent} does not exist"
                )
            if read_only and not resolved.exists():
                raise StoreError(f"no workspace at {self.location}; ingest data first "
                                 "(trendcast ingest FILE, or trendcast demo)")
            self._file = _file(str(resolved))
        if read_only:
            self._migrate_if_needed()
        else:
            self._migrate()

    def _migrate_if_needed(self) -> None:
        """A read-only store on an old workspace migrates it once with a short write."""
        version = self._schema_version() or 0
        from trendcast.data.tables import SCHEMA_VERSION

        if version < SCHEMA_VERSION:
            writer = DuckDBStore(self.location, lock_timeout=self.lock_timeout, linger=0)
            writer.close()
        self._migrate()

    # Connections ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        pinned = getattr(self._local, "cursor", None)
        if pinned is not None:
            yield pinned
            return
        if self._closed:
            raise StoreError(f"workspace {self.location} is closed")
        if self._memory is not None:
            cursor = self._memory.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        assert self._file is not None
        cursor = self._file.acquire(not self.read_only, self.lock_timeout)
        try:
            yield cursor
        finally:
            self._file.release(cursor, self.linger)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "cursor", None) is not None:
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with self._cursor() as cursor:
            cursor.execute("BEGIN TRANSACTION")
            self._local.cursor, self._local.depth = cursor, 1
            try:
                yield
            except BaseException:
                self._local.cursor = None
                with contextlib.suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
            self._local.cursor = None
            cursor.execute("COMMIT")

    # Primitives -----------------------------------------------------------------------

    def _fetch(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self._cursor() as cursor:
            return normalise_datetimes(cursor.execute(query, list(params or [])).df())

    def _run(self, statement: str, params: Sequence[Any] | None = None) -> None:
        # A statement on its own (not inside this thread's transaction) that meets another
        # thread's uncommitted write of the same row ("Conflict on update!") is retried until
        # that transaction ends, up to the lock timeout; inside a transaction the conflict
        # aborts it, so it is raised (the caller's transaction rolls back).
        import duckdb

        alone = getattr(self._local, "cursor", None) is None
        deadline = time.monotonic() + self.lock_timeout
        attempt = 0
        while True:
            try:
                with self._cursor() as cursor:
                    cursor.execute(statement, list(params or []))
                return
            except duckdb.TransactionException as exc:
                if not alone or not _CONFLICT.search(str(exc)):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreError(f"workspace {self.location}: a write kept conflicting with "
                                     f"another transaction for {self.lock_timeout:.0f}s ({exc}); "
                                     "try again") from exc
                _conflict_pause(attempt)
                attempt += 1

    def _stage(self, spec: Table, df: pd.DataFrame, *, into: str | None = None) -> str:
        missing = [c for c in spec.columns if c not in df.columns]
        required = [c for c in missing if c in spec.key or "NOT NULL" in spec.columns[c]]
        if required:
            raise StoreError(f"rows for table {spec.name} lack required columns {required}")
        if missing:
            df = df.assign(**{c: None for c in missing})
        staged = into or f"_staged_{spec.name}"
        with self._cursor() as cursor:
            cursor.register("_incoming", df[list(spec.columns)])
            try:
                casts = ", ".join(f'CAST("{c}" AS {t.replace(" NOT NULL", "")}) AS "{c}"'
                                  for c, t in spec.columns.items())
                head = f"INSERT INTO {into}" if into else f"CREATE OR REPLACE TEMP TABLE {staged} AS"
                cursor.execute(f"{head} SELECT {casts} FROM _incoming")
            finally:
                cursor.unregister("_incoming")
        return staged

    def _copy_to_parquet(self, query: str, params: Sequence[Any] | None, path: Path) -> None:
        # COPY takes no parameters, so the prepared query's result is streamed to the file in
        # batches (memory stays bounded by one batch).
        import pyarrow.parquet as pq

        with self._cursor() as cursor:
            reader = cursor.sql(query, params=list(params or [])).to_arrow_reader(100_000)
            with pq.ParquetWriter(path, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch, row_group_size=100_000)

    def close(self) -> None:
        self._closed = True
        if self._memory is not None:
            with contextlib.suppress(Exception):
                self._memory.close()
        elif self._file is not None:
            self._file.close_now()
