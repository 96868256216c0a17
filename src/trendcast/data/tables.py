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


_PRODUCTS_V1 = {
    "unique_id": "VARCHAR NOT NULL",
    "title": "VARCHAR",
    "category": "VARCHAR",
    "department": "VARCHAR",
    "brand": "VARCHAR",
    "store": "VARCHAR",
    "launch_date": "DATE",
    "list_price": "DOUBLE",
}
# unit_cost (v7, optional): what one unit costs the shop; pricing's margin objective uses it.
PRODUCTS = Table("products", {**_PRODUCTS_V1, "unit_cost": "DOUBLE"}, ("unique_id",))
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
# Background jobs of the REST API (forecast, backtest, train, update) and a record of every
# update run elsewhere (command line, schedule; services.update_log): state, progress, outcome.
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
        "version_id": "VARCHAR",  # v9: the model version a train job saved
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

_V1_TABLES = (Table("products", _PRODUCTS_V1, ("unique_id",)),  # v1 as released: no unit_cost
              SALES, ORDERS, EVENTS, REVIEWS, CALENDAR, MACRO, RUNS, FORECASTS, METRICS)
TABLES: dict[str, Table] = {t.name: t for t in (*_V1_TABLES, API_KEYS, JOBS, STOCK, CLEANING)}
TABLES[PRODUCTS.name] = PRODUCTS


@dataclass(frozen=True)
class Only:
    """A migration statement for one backend (``duckdb`` or ``postgres``)."""

    dialect: str
    sql: str


# Every ingest and every `trendcast delete` is a batch (issue 13): one row here, and in the
# `batch_rows_<table>` table of each data table the key of every row the batch added and the
# previous values of every row it replaced or deleted, so `trendcast undo` can put them back.
BATCHES = Table(
    "batches",
    {
        "batch_id": "VARCHAR NOT NULL",
        "kind": "VARCHAR NOT NULL",
        "source": "VARCHAR",
        "actor": "VARCHAR",
        "created_at": "TIMESTAMP NOT NULL",
        "tables": "VARCHAR",
        "rows_added": "INTEGER",
        "rows_replaced": "INTEGER",
        "rows_deleted": "INTEGER",
        "status": "VARCHAR NOT NULL",
        "undone_at": "TIMESTAMP",
        "undone_by": "VARCHAR",
    },
    ("batch_id",),
)
TABLES[BATCHES.name] = BATCHES
# The data tables whose writes batches record (each has a batch_rows_<name> table).
BATCHED_TABLES = ("products", "sales", "orders", "events", "reviews", "calendar_events", "macro",
                  "stock_history")

# v5: ingest batches, so an ingest can be undone (issue 13). The batch_rows_<table> tables copy
# their table's columns as they are at v5 (CREATE TABLE AS, without NOT NULL: rows a batch
# added keep only their key); a later migration that adds a column to a data table adds it
# to its batch_rows_<table> too.
V5_BATCHES: list[str | Only] = [
    """CREATE TABLE IF NOT EXISTS batches (
  "batch_id" VARCHAR NOT NULL,
  "kind" VARCHAR NOT NULL,
  "source" VARCHAR,
  "actor" VARCHAR,
  "created_at" TIMESTAMP NOT NULL,
  "tables" VARCHAR,
  "rows_added" INTEGER,
  "rows_replaced" INTEGER,
  "rows_deleted" INTEGER,
  "status" VARCHAR NOT NULL,
  "undone_at" TIMESTAMP,
  "undone_by" VARCHAR
)""",
    *[f"CREATE TABLE IF NOT EXISTS batch_rows_{name} AS SELECT CAST(NULL AS VARCHAR) AS batch_id, "
      f"CAST(NULL AS VARCHAR) AS action, t.* FROM {name} AS t WHERE 1 = 0"
      for name in ("products", "sales", "orders", "events", "reviews", "calendar_events", "macro",
                   "stock_history")],
    Only("postgres", 'CREATE INDEX IF NOT EXISTS batches_key ON batches ("batch_id")'),
    *[Only("postgres", f'CREATE INDEX IF NOT EXISTS batch_rows_{name}_batch ON batch_rows_{name} '
                       '("batch_id")')
      for name in ("products", "sales", "orders", "events", "reviews", "calendar_events", "macro",
                   "stock_history")],
]
# Saved model versions (issue 15): one row per `trendcast train`; JSON text in spec, packages,
# requires, scores and notes. `status` is trained, promoted (at most one) or superseded. The
# artefact is a file (`location` file:<path>, DuckDB workspaces and a configured model_dir)
# or base64 chunks in model_artefacts (`location` table: PostgreSQL, in-memory DuckDB).
MODEL_VERSIONS = Table(
    "model_versions",
    {
        "version_id": "VARCHAR NOT NULL",
        "created_at": "TIMESTAMP NOT NULL",
        "status": "VARCHAR NOT NULL",
        "promoted_at": "TIMESTAMP",
        "models": "VARCHAR",
        "spec": "VARCHAR",
        "horizon": "INTEGER",
        "freq": "VARCHAR",
        "data_start": "TIMESTAMP",
        "data_end": "TIMESTAMP",
        "n_series": "INTEGER",
        "fingerprint": "VARCHAR",
        "packages": "VARCHAR",
        "requires": "VARCHAR",
        "format": "INTEGER",
        "scores": "VARCHAR",
        "validation_run": "VARCHAR",
        "location": "VARCHAR",
        "bytes": "INTEGER",
        "sha256": "VARCHAR",
        "notes": "VARCHAR",
    },
    ("version_id",),
)
MODEL_ARTEFACTS = Table(
    "model_artefacts",
    {"version_id": "VARCHAR NOT NULL", "part": "INTEGER NOT NULL", "data": "VARCHAR"},
    ("version_id", "part"),
)
# Each stored forecast scored against the actuals that arrived later (trendcast monitor): one
# row per run, model, series and date. `scale` is the series' MASE scale (in-sample seasonal
# naive MAE before the forecast), `qloss` the mean pinball loss over the run's quantiles,
# `covered` 1/0 when the actual fell inside the outermost interval (NULL: no interval).
FORECAST_SCORES = Table(
    "forecast_scores",
    {
        "run_id": "VARCHAR NOT NULL",
        "model": "VARCHAR NOT NULL",
        "unique_id": "VARCHAR NOT NULL",
        "ds": "TIMESTAMP NOT NULL",
        "origin": "TIMESTAMP",
        "step": "INTEGER",
        "y": "DOUBLE",
        "forecast": "DOUBLE",
        "scale": "DOUBLE",
        "qloss": "DOUBLE",
        "covered": "DOUBLE",
        "scored_at": "TIMESTAMP",
    },
    ("run_id", "model", "unique_id", "ds"),
)
for _table in (MODEL_VERSIONS, MODEL_ARTEFACTS, FORECAST_SCORES):
    TABLES[_table.name] = _table

# v6: saved model versions and forecast accuracy as actuals arrive (issue 15). Literal SQL
# (the specs above may grow; this migration must not change).
V6_MODELS: list[str | Only] = [
    """CREATE TABLE IF NOT EXISTS model_versions (
  "version_id" VARCHAR NOT NULL,
  "created_at" TIMESTAMP NOT NULL,
  "status" VARCHAR NOT NULL,
  "promoted_at" TIMESTAMP,
  "models" VARCHAR,
  "spec" VARCHAR,
  "horizon" INTEGER,
  "freq" VARCHAR,
  "data_start" TIMESTAMP,
  "data_end" TIMESTAMP,
  "n_series" INTEGER,
  "fingerprint" VARCHAR,
  "packages" VARCHAR,
  "requires" VARCHAR,
  "format" INTEGER,
  "scores" VARCHAR,
  "validation_run" VARCHAR,
  "location" VARCHAR,
  "bytes" INTEGER,
  "sha256" VARCHAR,
  "notes" VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS model_artefacts (
  "version_id" VARCHAR NOT NULL,
  "part" INTEGER NOT NULL,
  "data" VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS forecast_scores (
  "run_id" VARCHAR NOT NULL,
  "model" VARCHAR NOT NULL,
  "unique_id" VARCHAR NOT NULL,
  "ds" TIMESTAMP NOT NULL,
  "origin" TIMESTAMP,
  "step" INTEGER,
  "y" DOUBLE,
  "forecast" DOUBLE,
  "scale" DOUBLE,
  "qloss" DOUBLE,
  "covered" DOUBLE,
  "scored_at" TIMESTAMP
)""",
    Only("postgres", 'CREATE INDEX IF NOT EXISTS model_versions_key ON model_versions ("version_id")'),
    Only("postgres", "CREATE INDEX IF NOT EXISTS model_artefacts_key ON model_artefacts "
                     '("version_id", "part")'),
    Only("postgres", "CREATE INDEX IF NOT EXISTS forecast_scores_run ON forecast_scores "
                     '("run_id", "unique_id")'),
]

# Review sentiment scores (issue 17): one row per review, text and sentiment-model version, so
# a second scoring of the same reviews embeds nothing. `text_hash` is the SHA-1 of the review
# text (an edited text is scored again), `model_version` the head's content hash.
REVIEW_SCORES = Table(
    "review_scores",
    {
        "review_id": "VARCHAR NOT NULL",
        "text_hash": "VARCHAR NOT NULL",
        "model_version": "VARCHAR NOT NULL",
        "sentiment": "DOUBLE",
        "scored_at": "TIMESTAMP",
    },
    ("review_id", "text_hash", "model_version"),
)
TABLES[REVIEW_SCORES.name] = REVIEW_SCORES

# v8: stored review sentiment (literal SQL, as above).
V8_REVIEW_SCORES: list[str | Only] = [
    """CREATE TABLE IF NOT EXISTS review_scores (
  "review_id" VARCHAR NOT NULL,
  "text_hash" VARCHAR NOT NULL,
  "model_version" VARCHAR NOT NULL,
  "sentiment" DOUBLE,
  "scored_at" TIMESTAMP
)""",
    Only("postgres", "CREATE INDEX IF NOT EXISTS review_scores_key ON review_scores "
                     '("model_version", "review_id")'),
]

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
    V5_BATCHES,
    V6_MODELS,
    # v7: an optional unit cost per product (issue 17: pricing for margin), in the catalogue
    # and in the copy of replaced catalogue rows that `trendcast undo` restores.
    [
        'ALTER TABLE products ADD COLUMN IF NOT EXISTS "unit_cost" DOUBLE',
        'ALTER TABLE batch_rows_products ADD COLUMN IF NOT EXISTS "unit_cost" DOUBLE',
    ],
    V8_REVIEW_SCORES,
    # v9: the model version a REST train job saved (GET /api/jobs/{job_id} names it).
    ['ALTER TABLE jobs ADD COLUMN IF NOT EXISTS "version_id" VARCHAR'],
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
