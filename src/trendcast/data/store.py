"""The workspace store: one interface, a DuckDB file by default or PostgreSQL by URL.

Every layer above reads and writes through the typed methods of :class:`Store` (defined in
:mod:`trendcast.data.queries`); SQL text lives in this package only. A backend implements
a handful of primitives: run a query, stage a frame in a temporary table, export a query to
Parquet, and pin a connection for a transaction. Writes are upserts keyed by each table's
key: writing the same rows twice changes nothing, and a changed value replaces the stored
one. Wrap several writes in :meth:`Store.transaction` to make them all-or-nothing.

Queries are written once with ``?`` placeholders, in the SQL both DuckDB and PostgreSQL
understand; subqueries always carry an alias and only standard aggregates are used.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from trendcast.data.batches import BatchQueries
from trendcast.data.model_queries import ModelQueries
from trendcast.data.queries import StoreQueries
from trendcast.data.tables import SCHEMA_VERSION, TABLES, Table, statements_for
from trendcast.errors import NotFoundError, StoreError

META_TABLE = "trendcast_meta"


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


def table_spec(name: str) -> Table:
    """The table called ``name``; NotFoundError naming the tables otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise NotFoundError(
            f"no table named {name!r}; tables are: {', '.join(sorted(TABLES))}"
        ) from None


def normalise_datetimes(df: pd.DataFrame) -> pd.DataFrame:
    """Backends return datetime64[us]; the rest of trendcast uses nanoseconds."""
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]) and df[col].dtype != "datetime64[ns]":
            df[col] = df[col].astype("datetime64[ns]")
    return df


class Store(StoreQueries, BatchQueries, ModelQueries):
    """Repository over the workspace database (see the module docstring)."""

    location: str
    read_only: bool = False
    dialect: ClassVar[str]
    pseudonym_keys: Any = None  # where the pseudonym key lives (data.pseudonym.KeySource)

    # Primitives each backend implements ------------------------------------------------

    @abstractmethod
    def _fetch(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query (``?`` placeholders) and return a frame."""

    @abstractmethod
    def _run(self, statement: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement that returns nothing."""

    @abstractmethod
    def _stage(self, spec: Table, df: pd.DataFrame, *, into: str | None = None) -> str:
        """Load ``df`` (cast to ``spec``'s columns) into a new temporary table of the current
        transaction, or into the existing table ``into``; returns the table's name."""

    @abstractmethod
    def _copy_to_parquet(self, query: str, params: Sequence[Any] | None, path: Path) -> None:
        """Write the result of a read query to a Parquet file."""

    @abstractmethod
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All reads and writes inside see one snapshot and commit together or not at all.
        Nested calls join the outer one."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    # Schema ---------------------------------------------------------------------------

    def _schema_version(self) -> int | None:
        """The stored schema version; None for an empty database."""
        has_meta = self._fetch(
            "SELECT count(*) AS n FROM information_schema.tables "
            "WHERE table_name = ? AND table_schema = current_schema()", [META_TABLE])
        if not int(has_meta["n"].iloc[0]):
            return None
        row = self._fetch(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")
        return int(row["value"].iloc[0]) if len(row) else 0

    @property
    def schema_version(self) -> int:
        """Schema version of the open workspace."""
        return self._schema_version() or 0

    def _migrate(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION` in one transaction (a no-op when it is)."""
        current = self._schema_version() or 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"workspace {self.location} has schema version {current}, newer than this "
                f"trendcast understands ({SCHEMA_VERSION}); upgrade trendcast"
            )
        if current == SCHEMA_VERSION:
            return
        if self.read_only:
            raise StoreError(
                f"workspace {self.location} needs a schema migration ({current} -> "
                f"{SCHEMA_VERSION}); open it once without read_only"
            )
        with self.transaction():
            self._lock_for_write(META_TABLE)
            again = self._schema_version() or 0  # another process may have migrated meanwhile
            if again >= SCHEMA_VERSION:
                return
            self._run(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            for statement in statements_for(self.dialect, again):
                self._run(statement)
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    # Generic writes -------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"workspace {self.location} was opened read-only; this command "
                             "only reads")

    def append(self, table: str, df: pd.DataFrame) -> int:
        """Insert rows that are known to be new (run outputs); returns the row count."""
        self._writable()
        spec = table_spec(table)
        if df.empty:
            return 0
        with self.transaction():
            self._stage(spec, df, into=spec.name)
        return len(df)

    def upsert(self, table: str, df: pd.DataFrame) -> WriteResult:
        """Insert rows, replacing those whose key exists with different values."""
        self._writable()
        spec = table_spec(table)
        if df.empty:
            return WriteResult(spec.name, 0, 0, 0)
        # '=' on NOT NULL keys lets both backends hash-join (PostgreSQL cannot for
        # IS NOT DISTINCT FROM, and would compare every row with every row)
        key_match = " AND ".join(
            f't."{k}" = s."{k}"' if "NOT NULL" in spec.columns[k] else f't."{k}" IS NOT DISTINCT FROM s."{k}"'
            for k in spec.key)
        differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in spec.value_columns)
        with self.transaction():
            self._lock_for_write(spec.name)
            if not self._count(f"SELECT count(*) AS n FROM (SELECT 1 AS one FROM {spec.name} LIMIT 1) AS t"):
                self._stage(spec, df, into=spec.name)  # nothing to match: load straight in
                self._batch_loaded(spec, len(df))
                return WriteResult(spec.name, len(df), 0, 0)
            staged = self._stage(spec, df)
            # one join counts the incoming rows whose key is stored and those whose values
            # differ; the writes that follow run only when there is something to write (a
            # re-sent file costs one join). The first key column is NOT NULL in every table.
            first = spec.key[0]
            changed = f't."{first}" IS NOT NULL AND ({differs})' if differs else "FALSE"
            counts = self._fetch(
                f'SELECT count(t."{first}") AS matched, sum(CASE WHEN {changed} THEN 1 ELSE 0 END) '
                f"AS changed FROM {staged} s LEFT JOIN {spec.name} t ON {key_match}").iloc[0]
            n_matched = 0 if pd.isna(counts["matched"]) else int(counts["matched"])
            n_changed = 0 if pd.isna(counts["changed"]) else int(counts["changed"])
            if n_changed:
                self._run("DROP TABLE IF EXISTS _changed")
                self._run(f"CREATE TEMP TABLE _changed AS SELECT s.* FROM {staged} s "
                          f"JOIN {spec.name} t ON {key_match} WHERE {differs}")
                self._batch_replacing(spec, "_changed", key_match, n_changed)
                self._run(f"DELETE FROM {spec.name} t USING _changed s WHERE {key_match}")
                self._run(f"INSERT INTO {spec.name} SELECT * FROM _changed")
                self._run("DROP TABLE _changed")
            if n_matched < len(df):
                self._batch_adding(spec, staged, key_match, len(df) - n_matched)
                self._run(f"INSERT INTO {spec.name} SELECT * FROM {staged} s "
                          f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {key_match})")
            self._run(f"DROP TABLE {staged}")
        return WriteResult(spec.name, len(df) - n_matched, n_changed, n_matched - n_changed)

    def _count(self, query: str, params: Sequence[Any] | None = None) -> int:
        frame = self._fetch(query, params)
        value = frame.iloc[0, 0] if len(frame) else 0
        return 0 if pd.isna(value) else int(value)

    def _set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._run(f"DELETE FROM {META_TABLE} WHERE key = ?", [key])
            self._run(f"INSERT INTO {META_TABLE} VALUES (?, ?)", [key, value])

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_postgres_url(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path | None = None, *, read_only: bool = False,
               settings: Any = None) -> Store:
    """Open the workspace at ``location``: a DuckDB path, ``:memory:`` or a postgresql:// URL.

    Without a location, ``settings.db`` (``TRENDCAST_DB``, else ``./trendcast.duckdb``) is
    used. ``read_only`` opens for reading: on DuckDB, other processes may then read the file
    at the same time (see docs/architecture.md for what runs concurrently)."""
    if location is None:
        if settings is None:
            from trendcast.config import Settings

            settings = Settings()
        location = settings.db
    text = str(location)
    lock_timeout = getattr(settings, "lock_timeout", None)
    store: Store
    if is_postgres_url(text):
        from trendcast.data.postgres_store import PostgresStore

        store = PostgresStore(text, read_only=read_only)
    else:
        from trendcast.data.duckdb_store import DuckDBStore

        store = (DuckDBStore(text, read_only=read_only) if lock_timeout is None
                 else DuckDBStore(text, read_only=read_only, lock_timeout=float(lock_timeout)))
    model_dir = getattr(settings, "model_dir", None)
    if model_dir is not None:
        store.model_dir = Path(model_dir)
    try:
        _attach_pseudonym_key(store, settings)
    except BaseException:
        store.close()
        raise
    return store


def _attach_pseudonym_key(store: Store, settings: Any) -> None:
    """Tell the store where its pseudonym key lives (``TRENDCAST_PSEUDONYM_KEY``, a key file),
    and move a key an older trendcast kept in the database out of it (``data.pseudonym``)."""
    from trendcast.data.pseudonym import LEGACY_SALT_KEY, KeySource, move_legacy_salt

    if settings is None:
        from trendcast.config import Settings

        settings = Settings()
    store.pseudonym_keys = KeySource.from_settings(settings)
    if store.meta(LEGACY_SALT_KEY) is None:
        return
    if not store.read_only:
        move_legacy_salt(store)
    elif store.dialect == "duckdb":  # a short write, as a read-only open migrates the schema
        from trendcast.data.duckdb_store import DuckDBStore

        writer = DuckDBStore(store.location, linger=0)
        try:
            writer.pseudonym_keys = store.pseudonym_keys
            move_legacy_salt(writer)
        finally:
            writer.close()
