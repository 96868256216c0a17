"""Table definitions and schema migrations of the workspace database.

Each migration is a list of SQL statements that moves the schema one version up; a store
applies the ones it has not seen yet, inside one transaction, so an old workspace is migrated
rather than broken. Add a migration to change a table; never edit a released one.

The statements are written once, in the SQL both backends share; :func:`statements_for`
adapts the few type names PostgreSQL spells differently (``DOUBLE``) and picks the
statements that exist for one backend only (``Only``: indexes PostgreSQL needs, DuckDB's
zone maps make unnecessary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A table: its columns (name -> SQL type) and the key that identifies a row."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)

    def create_sql(self) -> str:
        cols = ",\n  ".join(f'"{c}" {t}' for c, t in self.columns.items())
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"


PRODUCTS = Table(
    "products",
    {
        "unique_id": "VARCHAR NOT NULL",
        "title": "VARCHAR",
        "category": "VARCHAR",
        "department": "VARCHAR",
        "brand": "VARCHAR",
        "store": "VARCHAR",
        "launch_date": "DATE",
        "list_price": "DOUBLE",
    },
    ("unique_id",),
)
SALES = Table(
    "sales",
    {
        "unique_id": "VARCHAR NOT NULL",
        "ds": "DATE NOT NULL",
        "y": "DOUBLE NOT NULL",
        "price": "DOUBLE",
        "promo": "DOUBLE",
    },
    ("unique_id", "ds"),
)
ORDERS = Table(
    "orders",
    {
        "order_id": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR NOT NULL",
        "user_id": "VARCHAR",
        "ts": "TIMESTAMP NOT NULL",
        "quantity": "DOUBLE NOT NULL",
        "unit_price": "DOUBLE",
    },
    ("order_id", "unique_id"),
)
EVENTS = Table(
    "events",
    {
        "user_id": "VARCHAR NOT NULL",
        "item_id": "VARCHAR NOT NULL",
        "category_id": "VARCHAR",
        "event_type": "VARCHAR NOT NULL",
        "ts": "TIMESTAMP NOT NULL",
    },
    ("user_id", "item_id", "event_type", "ts"),
)
REVIEWS = Table(
    "reviews",
    {
        "review_id": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR NOT NULL",
        "ts": "TIMESTAMP NOT NULL",
        "rating": "DOUBLE",
        "text": "VARCHAR",
        "language": "VARCHAR",
    },
    ("review_id",),
)
CALENDAR = Table(
    "calendar_events",
    {
        "ds": "DATE NOT NULL",
        "name": "VARCHAR NOT NULL",
        "kind": "VARCHAR",
        "region": "VARCHAR NOT NULL",
        "source": "VARCHAR",
    },
    ("ds", "name", "region"),
)
MACRO = Table(
    "macro",
    {"name": "VARCHAR NOT NULL", "ds": "DATE NOT NULL", "value": "DOUBLE"},
    ("name", "ds"),
)
RUNS = Table(
    "runs",
    {
        "run_id": "VARCHAR NOT NULL",
        "kind": "VARCHAR NOT NULL",
        "created_at": "TIMESTAMP NOT NULL",
        "models": "VARCHAR",
        "horizon": "INTEGER",
        "freq": "VARCHAR",
        "quantiles": "VARCHAR",
        "params": "VARCHAR",
        "n_series": "INTEGER",
        "notes": "VARCHAR",
    },
    ("run_id",),
)
# Forecasts and backtests in long form: one row per (run, model, series, date, cutoff,
# quantile); quantile NULL is the point forecast. Readers pivot to `<alias>-q-<level>` columns.
FORECASTS = Table(
    "forecasts",
    {
        "run_id": "VARCHAR NOT NULL",
        "model": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR NOT NULL",
        "ds": "TIMESTAMP NOT NULL",
        "cutoff": "TIMESTAMP",
        "quantile": "DOUBLE",
        "value": "DOUBLE",
    },
    ("run_id", "model", "unique_id", "ds", "cutoff", "quantile"),
)
METRICS = Table(
    "metrics",
    {
        "run_id": "VARCHAR NOT NULL",
        "model": "VARCHAR NOT NULL",
        "metric": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR",
        "value": "DOUBLE",
    },
    ("run_id", "model", "metric", "unique_id"),
)

# API keys: only a salted hash of each key's secret is kept; a key is `tc_<key_id>_<secret>`.
API_KEYS = Table(
    "api_keys",
    {
        "key_id": "VARCHAR NOT NULL",
        "name": "VARCHAR",
        "role": "VARCHAR NOT NULL",
        "salt": "VARCHAR NOT NULL",
        "secret_hash": "VARCHAR NOT NULL",
        "created_at": "TIMESTAMP NOT NULL",
        "revoked_at": "TIMESTAMP",
    },
    ("key_id",),
)
# Background jobs of the REST API (forecast, backtest): their state, progress and outcome.
JOBS = Table(
    "jobs",
    {
        "job_id": "VARCHAR NOT NULL",
        "kind": "VARCHAR NOT NULL",
        "status": "VARCHAR NOT NULL",
        "params": "VARCHAR",
        "progress": "DOUBLE",
        "label": "VARCHAR",
        "run_id": "VARCHAR",
        "error": "VARCHAR",
        "key_id": "VARCHAR",
        "created_at": "TIMESTAMP NOT NULL",
        "started_at": "TIMESTAMP",
        "finished_at": "TIMESTAMP",
    },
    ("job_id",),
)

# Stock on hand per product and day (ingest kind "stock"): days at zero are stock-outs.
STOCK = Table(
    "stock_history",
    {"unique_id": "VARCHAR NOT NULL", "ds": "DATE NOT NULL", "on_hand": "DOUBLE"},
    ("unique_id", "ds"),
)
# What cleaning changed in a run's model inputs (the stored sales are never changed).
CLEANING = Table(
    "cleaning",
    {
        "run_id": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR NOT NULL",
        "ds": "DATE NOT NULL",
        "before": "DOUBLE",
        "after": "DOUBLE",
        "reason": "VARCHAR",
    },
    ("run_id", "unique_id", "ds"),
)

_V1_TABLES = (PRODUCTS, SALES, ORDERS, EVENTS, REVIEWS, CALENDAR, MACRO, RUNS, FORECASTS, METRICS)
TABLES: dict[str, Table] = {t.name: t for t in (*_V1_TABLES, API_KEYS, JOBS, STOCK, CLEANING)}


@dataclass(frozen=True)
class Only:
    """A migration statement for one backend (``duckdb`` or ``postgres``)."""

    dialect: str
    sql: str


# Version N is reached by applying MIGRATIONS[N - 1]. Append, never edit.
MIGRATIONS: list[list[str | Only]] = [
    # v1: the data, runs and metrics tables.
    [t.create_sql() for t in _V1_TABLES],
    # v2: API keys and job records of the REST API (literal SQL, so later edits of the
    # Table specs above cannot change what this migration did).
    [
        """CREATE TABLE IF NOT EXISTS api_keys (
  "key_id" VARCHAR NOT NULL,
  "name" VARCHAR,
  "role" VARCHAR NOT NULL,
  "salt" VARCHAR NOT NULL,
  "secret_hash" VARCHAR NOT NULL,
  "created_at" TIMESTAMP NOT NULL,
  "revoked_at" TIMESTAMP
)""",
        """CREATE TABLE IF NOT EXISTS jobs (
  "job_id" VARCHAR NOT NULL,
  "kind" VARCHAR NOT NULL,
  "status" VARCHAR NOT NULL,
  "params" VARCHAR,
  "progress" DOUBLE,
  "label" VARCHAR,
  "run_id" VARCHAR,
  "error" VARCHAR,
  "key_id" VARCHAR,
  "created_at" TIMESTAMP NOT NULL,
  "started_at" TIMESTAMP,
  "finished_at" TIMESTAMP
)""",
    ],
    # v3: indexes for the lookups a shared PostgreSQL workspace serves (DuckDB prunes by
    # zone maps and needs none). Sales get a BRIN index: bulk loads arrive sorted by series,
    # and a B-tree would triple the time of a large ingest.
    [
        Only("postgres", 'CREATE INDEX IF NOT EXISTS sales_key ON sales USING brin ("unique_id", "ds")'),
        Only("postgres", 'CREATE INDEX IF NOT EXISTS forecasts_run ON forecasts ("run_id", "unique_id")'),
        Only("postgres", 'CREATE INDEX IF NOT EXISTS metrics_run ON metrics ("run_id")'),
        Only("postgres", 'CREATE INDEX IF NOT EXISTS reviews_product ON reviews ("unique_id", "ts")'),
        Only("postgres", 'CREATE INDEX IF NOT EXISTS jobs_key ON jobs ("job_id")'),
        Only("postgres", 'CREATE INDEX IF NOT EXISTS api_keys_key ON api_keys ("key_id")'),
    ],
    # v4: stock history (stock-outs for cleaning) and the changes cleaning made to a run's inputs
    [
        """CREATE TABLE IF NOT EXISTS stock_history (
  "unique_id" VARCHAR NOT NULL,
  "ds" DATE NOT NULL,
  "on_hand" DOUBLE
)""",
        """CREATE TABLE IF NOT EXISTS cleaning (
  "run_id" VARCHAR NOT NULL,
  "unique_id" VARCHAR NOT NULL,
  "ds" DATE NOT NULL,
  "before" DOUBLE,
  "after" DOUBLE,
  "reason" VARCHAR
)""",
        Only("postgres", 'CREATE INDEX IF NOT EXISTS cleaning_run ON cleaning ("run_id")'),
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)

_PG_TYPES = ((re.compile(r"\bDOUBLE\b(?! PRECISION)"), "DOUBLE PRECISION"),)


def sql_type(sql_type: str, dialect: str) -> str:
    """A column type as ``dialect`` spells it."""
    if dialect == "postgres":
        for pattern, repl in _PG_TYPES:
            sql_type = pattern.sub(repl, sql_type)
    return sql_type


def statements_for(dialect: str, version_from: int) -> list[str]:
    """The migration statements that take a ``dialect`` workspace from ``version_from`` to
    :data:`SCHEMA_VERSION`, in order."""
    out: list[str] = []
    for step in MIGRATIONS[version_from:]:
        for statement in step:
            if isinstance(statement, Only):
                if statement.dialect == dialect:
                    out.append(statement.sql)
            else:
                out.append(sql_type(statement, dialect))
    return out
