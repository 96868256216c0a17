"""The PostgreSQL backend: a shared workspace that many processes read and write at once.

``postgresql://user:password@host:port/database?schema=NAME`` opens the workspace in schema
``NAME`` (default ``public``; created when missing), so one database can hold several
workspaces. psycopg 3 with a connection pool; every result travels as CSV through ``COPY``
and is parsed by Arrow (fast for large reads), and frames are loaded with ``COPY FROM``.
Upserts take a transaction-scoped advisory lock per table, so concurrent ingests of the
same rows neither lose nor duplicate any; readers never wait for them.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from trendcast.data.store import Store, normalise_datetimes
from trendcast.data.tables import Table, sql_type
from trendcast.errors import StoreError

CONNECT_TIMEOUT_S = 5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# PostgreSQL type OIDs -> how the CSV column is parsed.
_BOOL, _INTS, _FLOATS = 16, {20, 21, 23}, {700, 701, 1700}
_DATE, _TIMESTAMP = 1082, 1114


def _split_url(url: str) -> tuple[str, str, dict[str, str]]:
    """(libpq URL without trendcast's own ``schema`` parameter, schema, connection facts)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    schema = query.pop("schema", "public") or "public"
    if not _IDENT.match(schema):
        raise StoreError(f"schema {schema!r} in the workspace URL is not a plain SQL name "
                         "(letters, digits, underscores)")
    clean = urlunsplit(parts._replace(query=urlencode(query)))
    facts = {"host": parts.hostname or "localhost", "port": str(parts.port or 5432),
             "database": (parts.path or "/").lstrip("/") or (parts.username or "postgres"),
             "user": parts.username or ""}
    return clean, schema, facts


def _pg(query: str) -> str:
    """``?`` placeholders -> psycopg's ``%s`` (literal ``%`` doubled)."""
    return query.replace("%", "%%").replace("?", "%s")


def _arrow_type(oid: int) -> Any:
    import pyarrow as pa

    if oid == _BOOL:
        return pa.bool_()
    if oid in _INTS:
        return pa.int64()
    if oid in _FLOATS:
        return pa.float64()
    if oid == _DATE:
        return pa.date32()
    if oid == _TIMESTAMP:
        return pa.timestamp("us")
    return pa.string()


def _to_arrow(spec: Table, df: pd.DataFrame) -> Any:
    """``df``'s columns cast to the table's types, as an Arrow table."""
    import pyarrow as pa

    arrays = []
    for col, typ in spec.columns.items():
        values = df[col] if col in df.columns else pd.Series([None] * len(df), index=df.index)
        base = typ.replace(" NOT NULL", "")
        if base == "VARCHAR":
            try:  # the common case: strings and missing values
                arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers or dates as text, as DuckDB casts
                arrays.append(pa.array([None if v is None or (isinstance(v, float) and v != v)
                                        or v is pd.NA or v is pd.NaT else str(v)
                                        for v in values.astype(object)], type=pa.string()))
        elif base == "DOUBLE":
            arrays.append(pa.array(pd.to_numeric(values, errors="raise").astype(float),
                                   type=pa.float64(), from_pandas=True))
        elif base == "INTEGER":
            arrays.append(pa.array(pd.to_numeric(values).astype("Int64"), type=pa.int64()))
        elif base == "DATE":
            stamps = pd.to_datetime(values).dt.floor("D").astype("datetime64[ns]")
            arrays.append(pa.array(stamps, from_pandas=True).cast(pa.date32()))
        elif base == "TIMESTAMP":
            stamps = pd.to_datetime(values).astype("datetime64[ns]")
            arrays.append(pa.array(stamps, from_pandas=True).cast(pa.timestamp("us")))
        else:  # pragma: no cover - every table type is listed above
            raise StoreError(f"no PostgreSQL loader for type {typ} of {spec.name}.{col}")
    return pa.Table.from_arrays(arrays, names=list(spec.columns))


class PostgresStore(Store):
    """Store in a PostgreSQL schema (see the module docstring)."""

    dialect: ClassVar[str] = "postgres"

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = 8,
                 connect_timeout: int = CONNECT_TIMEOUT_S) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise StoreError("a postgresql:// workspace needs psycopg: "
                             "pip install 'trendcast[postgres]'") from exc
        conninfo, self.schema, self._facts = _split_url(url)
        self.location = self._describe()
        self.read_only = read_only
        self._local = threading.local()
        self._closed = False
        try:
            with psycopg.connect(conninfo, connect_timeout=connect_timeout, autocommit=True) as conn:
                if not read_only:
                    with contextlib.suppress(psycopg.errors.UniqueViolation,
                                             psycopg.errors.InsufficientPrivilege):
                        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        except psycopg.Error as exc:
            raise StoreError(self._cannot_connect(exc)) from exc

        def configure(conn: Any) -> None:
            conn.execute(f'SET search_path TO "{self.schema}"')
            # large uploads are staged in temporary tables: keep them in memory
            conn.execute("SET temp_buffers = '256MB'")
            if read_only:
                conn.execute("SET default_transaction_read_only = on")

        self._pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=False,
                                    kwargs={"autocommit": True, "connect_timeout": connect_timeout},
                                    configure=configure, timeout=60, name=f"trendcast-{self.schema}")
        try:
            self._pool.open(wait=True, timeout=connect_timeout * 2)
        except Exception as exc:
            self._pool.close()
            raise StoreError(self._cannot_connect(exc)) from exc
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    def _describe(self) -> str:
        f = self._facts
        who = f"{f['user']}@" if f["user"] else ""
        return f"postgresql://{who}{f['host']}:{f['port']}/{f['database']} (schema {self.schema})"

    def _cannot_connect(self, exc: BaseException) -> str:
        f = self._facts
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"cannot open the PostgreSQL workspace at host {f['host']}, port {f['port']}, "
                f"database {f['database']!r}" + (f" as user {f['user']!r}" if f["user"] else "")
                + f": {reason}. Check the URL, the password and that the server is running; "
                "nothing was written")

    # Connections ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            yield pinned
            return
        if self._closed:
            raise StoreError(f"workspace {self.location} is closed")
        import psycopg

        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise StoreError(self._cannot_connect(exc)) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with self._conn() as conn, conn.transaction():
            self._local.conn, self._local.depth = conn, 1
            try:
                yield
            finally:
                self._local.conn = None

    def _lock_for_write(self, table: str) -> None:
        self._fetch("SELECT pg_advisory_xact_lock(hashtext(?)) IS NULL AS locked",
                    [f"{self.schema}.{table}"])

    # Primitives -----------------------------------------------------------------------

    def _fetch(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return normalise_datetimes(self._fetch_arrow(query, params).to_pandas(date_as_object=False))

    def _fetch_arrow(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """The result as an Arrow table, typed from the query's result description."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        sql = _pg(query)
        args = list(params or [])
        buf = io.BytesIO()
        with self._conn() as conn:
            cur = conn.cursor()
            cur.execute(f"SELECT * FROM ({sql}) AS _q LIMIT 0", args)
            names = [d.name for d in cur.description]
            types = [_arrow_type(d.type_code) for d in cur.description]
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", args) as copy:
                for data in copy:
                    buf.write(data)
        if not buf.tell():
            return pa.Table.from_arrays([pa.array([], type=t) for t in types], names=names)
        buf.seek(0)
        return pacsv.read_csv(
            buf,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types=dict(zip(names, types, strict=True)), null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=False,
                true_values=["t"], false_values=["f"]),
        )

    def _run(self, statement: str, params: Sequence[Any] | None = None) -> None:
        with self._conn() as conn:
            conn.execute(_pg(statement), list(params or []))

    def _stage(self, spec: Table, df: pd.DataFrame, *, into: str | None = None) -> str:
        import pyarrow.csv as pacsv

        missing = [c for c in spec.columns if c not in df.columns]
        required = [c for c in missing if c in spec.key or "NOT NULL" in spec.columns[c]]
        if required:
            raise StoreError(f"rows for table {spec.name} lack required columns {required}")
        staged = into or f"_staged_{spec.name}"
        cols = ", ".join(f'"{c}" {sql_type(t.replace(" NOT NULL", ""), "postgres")}'
                         for c, t in spec.columns.items())
        buf = io.BytesIO()
        pacsv.write_csv(_to_arrow(spec, df), buf, pacsv.WriteOptions(
            include_header=False, quoting_style="needed"))
        with self._conn() as conn:
            if into is None:
                conn.execute(f"DROP TABLE IF EXISTS {staged}")
                conn.execute(f"CREATE TEMP TABLE {staged} ({cols})")
            with conn.cursor().copy(f"COPY {staged} FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getbuffer())
        return staged

    def _copy_to_parquet(self, query: str, params: Sequence[Any] | None, path: Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(self._fetch_arrow(query, params), path, row_group_size=100_000)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()
