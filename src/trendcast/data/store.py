"""The workspace store: a small repository interface and its DuckDB implementation.

Every layer above reads and writes through :class:`Store`, so a PostgreSQL backend only has
to implement the same few methods. Writes are upserts keyed by each table's key: writing the
same rows twice changes nothing, and a changed value replaces the stored one. Wrap several
writes in :meth:`Store.transaction` to make them all-or-nothing.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trendcast.data.tables import MIGRATIONS, SCHEMA_VERSION, TABLES, Table
from trendcast.errors import NotFoundError, StoreError


@dataclass(frozen=True)
class WriteResult:
    """What a write did: rows new to the table, rows whose values changed, rows unchanged."""

    table: str
    inserted: int
    updated: int
    unchanged: int

    @property
    def received(self) -> int:
        return self.inserted + self.updated + self.unchanged


class Store(ABC):
    """Repository interface over the workspace database."""

    location: str

    @abstractmethod
    def upsert(self, table: str, df: pd.DataFrame) -> WriteResult:
        """Insert rows, replacing those whose key exists with different values."""

    @abstractmethod
    def append(self, table: str, df: pd.DataFrame) -> int:
        """Insert rows that are known to be new (run outputs); returns the row count."""

    @abstractmethod
    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a frame."""

    @abstractmethod
    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, DELETE)."""

    @abstractmethod
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all. Nested calls join the outer one."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """Schema version of the open workspace."""

    # Generic helpers built on the primitives above -------------------------------------

    def read(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        params: Sequence[Any] | None = None,
        order_by: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Read a table (optionally some columns, a WHERE clause with ``?`` parameters)."""
        spec = _table(table)
        cols = ", ".join(f'"{c}"' for c in (columns or spec.columns))
        query = f"SELECT {cols} FROM {spec.name}"
        if where:
            query += f" WHERE {where}"
        order = order_by if order_by is not None else spec.key
        if order:
            query += " ORDER BY " + ", ".join(f'"{c}"' for c in order)
        return self.sql(query, params)

    def count(self, table: str) -> int:
        """Number of rows in a table."""
        _table(table)
        return int(self.sql(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise NotFoundError(
            f"no table named {name!r}; tables are: {', '.join(sorted(TABLES))}"
        ) from None


def _normalise_datetimes(df: pd.DataFrame) -> pd.DataFrame:
    """DuckDB returns datetime64[us]; the rest of trendcast uses nanoseconds."""
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]) and df[col].dtype != "datetime64[ns]":
            df[col] = df[col].astype("datetime64[ns]")
    return df


class DuckDBStore(Store):
    """Store in one DuckDB file (or ``:memory:``)."""

    def __init__(self, path: str | Path = "trendcast.duckdb", *, read_only: bool = False) -> None:
        import duckdb

        self.location = str(path)
        if self.location != ":memory:":
            parent = Path(self.location).expanduser().resolve().parent
            if not parent.exists():
                raise StoreError(
                    f"cannot create workspace {self.location}: folder {parent} does not exist"
                )
        try:
            self._con = duckdb.connect(self.location, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open workspace {self.location}: {exc}. Is another trendcast process "
                "writing to it, or is it not a DuckDB file?"
            ) from exc
        self._depth = 0
        self._read_only = read_only
        self._migrate()

    # Schema -------------------------------------------------------------------------

    def _migrate(self) -> None:
        con = self._con
        has_meta = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'trendcast_meta'"
        ).fetchone()
        current = 0
        if has_meta and has_meta[0]:
            row = con.execute(
                "SELECT value FROM trendcast_meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"workspace {self.location} has schema version {current}, newer than this "
                f"trendcast understands ({SCHEMA_VERSION}); upgrade trendcast"
            )
        if current == SCHEMA_VERSION:
            return
        if self._read_only:
            raise StoreError(
                f"workspace {self.location} needs a schema migration ({current} -> "
                f"{SCHEMA_VERSION}); open it once without read_only"
            )
        with self.transaction():
            con.execute(
                "CREATE TABLE IF NOT EXISTS trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
            )
            for statements in MIGRATIONS[current:]:
                for statement in statements:
                    con.execute(statement)
            con.execute(
                "INSERT OR REPLACE INTO trendcast_meta VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )

    @property
    def schema_version(self) -> int:
        row = self._con.execute(
            "SELECT value FROM trendcast_meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    # Primitives ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._con.execute("ROLLBACK")
            raise
        self._depth = 0
        self._con.execute("COMMIT")

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return _normalise_datetimes(self._con.execute(query, params or []).df())

    def execute(self, statement: str, params: Sequence[Any] | None = None) -> None:
        self._con.execute(statement, params or [])

    def _stage(self, spec: Table, df: pd.DataFrame) -> str:
        missing = [c for c in spec.columns if c not in df.columns]
        required = [c for c in missing if c in spec.key or "NOT NULL" in spec.columns[c]]
        if required:
            raise StoreError(f"rows for table {spec.name} lack required columns {required}")
        if missing:
            df = df.assign(**{c: None for c in missing})
        staged = f"_staged_{spec.name}"
        self._con.register("_incoming", df[list(spec.columns)])
        try:
            casts = ", ".join(
                f'CAST("{c}" AS {t.replace(" NOT NULL", "")}) AS "{c}"'
                for c, t in spec.columns.items()
            )
            self._con.execute(f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT {casts} FROM _incoming")
        finally:
            self._con.unregister("_incoming")
        return staged

    def append(self, table: str, df: pd.DataFrame) -> int:
        spec = _table(table)
        if df.empty:
            return 0
        with self.transaction():
            staged = self._stage(spec, df)
            self._con.execute(f"INSERT INTO {spec.name} SELECT * FROM {staged}")
            self._con.execute(f"DROP TABLE {staged}")
        return len(df)

    def upsert(self, table: str, df: pd.DataFrame) -> WriteResult:
        spec = _table(table)
        if df.empty:
            return WriteResult(spec.name, 0, 0, 0)
        key_match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in spec.key)
        differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in spec.value_columns)
        with self.transaction():
            staged = self._stage(spec, df)
            con = self._con
            matched = con.execute(
                f"SELECT count(*) FROM {staged} s JOIN {spec.name} t ON {key_match}"
            ).fetchone()
            n_matched = int(matched[0]) if matched else 0
            n_changed = 0
            if n_matched and differs:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT s.* FROM {staged} s "
                    f"JOIN {spec.name} t ON {key_match} WHERE {differs}"
                )
                changed = con.execute("SELECT count(*) FROM _changed").fetchone()
                n_changed = int(changed[0]) if changed else 0
                if n_changed:
                    con.execute(
                        f"DELETE FROM {spec.name} t USING _changed s WHERE {key_match}"
                    )
                con.execute("DROP TABLE _changed")
            if n_matched:
                con.execute(
                    f"INSERT INTO {spec.name} SELECT * FROM {staged} s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {key_match})"
                )
            else:
                con.execute(f"INSERT INTO {spec.name} SELECT * FROM {staged}")
            con.execute(f"DROP TABLE {staged}")
        return WriteResult(spec.name, len(df) - n_matched, n_changed, n_matched - n_changed)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._con.close()

    def cursor(self) -> DuckDBStore:
        """Another store on the same open database, for another thread.

        A DuckDB connection must not be shared between threads; cursors of one connection
        may each be used by one thread, with their own transactions.
        """
        sibling = object.__new__(DuckDBStore)
        sibling.location = self.location
        sibling._con = self._con.cursor()
        sibling._depth = 0
        sibling._read_only = self._read_only
        return sibling


def open_store(location: str | Path | None = None, *, read_only: bool = False) -> Store:
    """Open the workspace at ``location``: a DuckDB path, ``:memory:`` or a postgresql:// URL.

    Without a location, ``TRENDCAST_DB`` or ``./trendcast.duckdb`` is used.
    """
    if location is None:
        from trendcast.config import Settings

        location = Settings().db
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(
            "the PostgreSQL backend is not available in this version of trendcast; "
            "use a DuckDB path (the default) for now"
        )
    return DuckDBStore(text, read_only=read_only)
