"""The typed methods of :class:`trendcast.data.store.Store`: every question the layers above
ask the workspace, each one query written once in the SQL both backends share.

Frames come back with the tables' column names, dates as ``datetime64[ns]``, and in a
stated order, so callers never depend on a backend's row order.
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from trendcast.data.tables import TABLES
from trendcast.errors import NotFoundError

if TYPE_CHECKING:
    from trendcast.data.snapshot import Snapshot

SALES_COLUMNS = ("unique_id", "ds", "y", "price", "promo")
TIME_COLUMN = {
    "sales": "ds", "orders": "ts", "events": "ts", "reviews": "ts", "calendar_events": "ds",
    "macro": "ds", "runs": "created_at", "forecasts": "ds", "stock_history": "ds",
}
NO_SALES_HINT = "; ingest some first (trendcast ingest FILE --kind sales, or trendcast demo)"


def no_sales(ids: Sequence[str] | None = None) -> NotFoundError:
    """The one "the store has no sales" error."""
    return NotFoundError("the store has no sales" + (f" for {list(ids)[:5]}" if ids else "")
                         + NO_SALES_HINT)


def marks(values: Sequence[Any]) -> str:
    """``?, ?, ?`` for an IN list of ``values``."""
    return ", ".join("?" * len(values))


KEYS_PER_STATEMENT = 400


def key_clauses(keys: pd.DataFrame, columns: Sequence[str]) -> Iterable[tuple[str, list[Any]]]:
    """``WHERE`` clauses (with their parameters) matching the rows of ``keys`` on
    ``columns``, a few hundred keys per clause (both backends, no temporary table)."""
    cols = _quoted(list(columns)).split(", ")
    one = "(" + " AND ".join(f"{c} = ?" for c in cols) + ")"
    rows = keys[list(columns)].astype(str).drop_duplicates().itertuples(index=False, name=None)
    batch: list[tuple[str, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == KEYS_PER_STATEMENT:
            yield " OR ".join([one] * len(batch)), [v for r in batch for v in r]
            batch = []
    if batch:
        yield " OR ".join([one] * len(batch)), [v for r in batch for v in r]


def _quoted(columns: Sequence[str]) -> str:
    for c in columns:
        if not c.replace("_", "").isalnum():
            raise NotFoundError(f"no column named {c!r}")
    return ", ".join(f'"{c}"' for c in columns)


def _ids_clause(ids: Sequence[str] | None, column: str = "unique_id") -> tuple[str, list[Any]]:
    if ids is None:
        return "TRUE", []
    if not len(ids):
        return "FALSE", []
    return f"{column} IN ({marks(ids)})", [str(i) for i in ids]


def _json(text: Any, default: Any) -> Any:
    return default if text is None or (isinstance(text, float) and text != text) else json.loads(text)


class StoreQueries(ABC):
    """Typed reads and writes over the backend primitives of ``Store``."""

    location: str

    @abstractmethod
    def _fetch(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    @abstractmethod
    def _run(self, statement: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def _copy_to_parquet(self, query: str, params: Sequence[Any] | None, path: Path) -> None: ...

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    @abstractmethod
    def _count(self, query: str, params: Sequence[Any] | None = None) -> int: ...

    @abstractmethod
    def _writable(self) -> None: ...

    @abstractmethod
    def append(self, table: str, df: pd.DataFrame) -> int: ...

    # Whole tables ----------------------------------------------------------------------

    def read(self, table: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A whole table (optionally some columns), ordered by its key."""
        spec = TABLES.get(table)
        if spec is None:
            raise NotFoundError(f"no table named {table!r}; tables are: {', '.join(sorted(TABLES))}")
        cols = _quoted(columns or list(spec.columns))
        order = f" ORDER BY {_quoted(spec.key)}" if spec.key else ""
        return self._fetch(f"SELECT {cols} FROM {spec.name}{order}")

    def count(self, table: str) -> int:
        """Number of rows in a table."""
        if table not in TABLES:
            raise NotFoundError(f"no table named {table!r}; tables are: {', '.join(sorted(TABLES))}")
        return self._count(f"SELECT count(*) AS n FROM {table}")

    def calendar(self) -> pd.DataFrame:
        """The stored calendar events that apply to every product, by date, name and region
        (:func:`trendcast.data.calendar.shop_wide`; ``attrs["notes"]`` names those left out)."""
        from trendcast.data.calendar import shop_wide

        return shop_wide(self.read("calendar_events"))

    def macro(self) -> pd.DataFrame:
        """The stored external series (``name, ds, value``), by name and date."""
        return self.read("macro")

    # Sales and catalogue ---------------------------------------------------------------

    def sales(self, ids: Sequence[str] | None = None, *, columns: Sequence[str] = SALES_COLUMNS,
              start: Any = None, end: Any = None, priced: bool = False) -> pd.DataFrame:
        """Sales rows (of ``ids``; from ``start``/to ``end`` inclusive; only rows with a price
        when ``priced``), ordered by series and date."""
        where, params = _ids_clause(ids)
        if start is not None:
            where += " AND ds >= ?"
            params.append(pd.Timestamp(start).date())
        if end is not None:
            where += " AND ds <= ?"
            params.append(pd.Timestamp(end).date())
        if priced:
            where += " AND price IS NOT NULL"
        return self._fetch(f"SELECT {_quoted(columns)} FROM sales WHERE {where} ORDER BY unique_id, ds",
                           params)

    def delete_sales(self, ids: Sequence[str], *, start: Any = None, end: Any = None) -> int:
        """Delete the sales rows of ``ids`` (from ``start``/to ``end`` inclusive); returns the
        number of rows deleted."""
        self._writable()
        where, params = _ids_clause(ids)
        if start is not None:
            where += " AND ds >= ?"
            params.append(pd.Timestamp(start).date())
        if end is not None:
            where += " AND ds <= ?"
            params.append(pd.Timestamp(end).date())
        with self.transaction():
            self._lock_for_write("sales")
            n = self._count(f"SELECT count(*) AS n FROM sales WHERE {where}", params)
            self._run(f"DELETE FROM sales WHERE {where}", params)
        return n

    def has_sales(self) -> bool:
        """Whether any sales are stored."""
        return self._count("SELECT count(*) AS n FROM (SELECT 1 AS one FROM sales LIMIT 1) AS s") > 0

    def series_ids(self, ids: Sequence[str] | None = None) -> list[str]:
        """Sorted ids of the series with sales (of ``ids`` when given)."""
        where, params = _ids_clause(ids)
        found = self._fetch(f"SELECT DISTINCT unique_id FROM sales WHERE {where} ORDER BY unique_id",
                            params)
        return found["unique_id"].astype(str).tolist()

    def require_series(self, ids: Sequence[str] | None = None) -> list[str]:
        """:meth:`series_ids`, raising the "no sales" error when there are none."""
        found = self.series_ids(ids)
        if not found:
            raise no_sales(ids)
        return found

    def sales_span(self, ids: Sequence[str] | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last sales date (of ``ids``); None without sales."""
        where, params = _ids_clause(ids)
        row = self._fetch(f"SELECT min(ds) AS lo, max(ds) AS hi FROM sales WHERE {where}", params).iloc[0]
        if pd.isna(row["lo"]):
            return None
        return pd.Timestamp(row["lo"]).as_unit("ns"), pd.Timestamp(row["hi"]).as_unit("ns")

    def series_stats(self) -> pd.DataFrame:
        """One row per series with sales: id, title, category, rows, first and last day, total
        units, in id order."""
        return self._fetch(
            'SELECT s.unique_id, min(p.title) AS title, min(p.category) AS category, '
            'count(*) AS "rows", min(s.ds) AS start, max(s.ds) AS "end", sum(s.y) AS total_sales '
            "FROM sales s LEFT JOIN products p ON p.unique_id = s.unique_id "
            "GROUP BY s.unique_id ORDER BY s.unique_id")

    def sales_totals(self, since: Any = None) -> pd.DataFrame:
        """Units summed over products per date (``ds, y``), by date; from ``since`` on."""
        if since is None:
            return self._fetch("SELECT ds, sum(y) AS y FROM sales GROUP BY ds ORDER BY ds")
        return self._fetch("SELECT ds, sum(y) AS y FROM sales WHERE ds >= ? GROUP BY ds ORDER BY ds",
                           [pd.Timestamp(since).date()])

    def rows_per_date(self, since: Any = None) -> pd.Series:
        """The number of sales rows on each date (from ``since`` on), indexed by date: a
        closed shop's dates have few."""
        where, params = ("WHERE ds >= ? ", [pd.Timestamp(since).to_pydatetime()]) if since is not None \
            else ("", [])
        found = self._fetch(f"SELECT ds, count(*) AS n FROM sales {where}GROUP BY ds ORDER BY ds", params)
        return pd.Series(found["n"].to_numpy(dtype=int), index=pd.DatetimeIndex(found["ds"]), name="n")

    def window_sales(self, recent_from: Any, before_from: Any, before_to: Any = None) -> pd.DataFrame:
        """Per product with sales in either window: title, category, units since
        ``recent_from`` (``recent``) and in ``[before_from, before_to)`` (``before``;
        ``before_to`` defaults to ``recent_from``)."""
        recent, before = pd.Timestamp(recent_from).date(), pd.Timestamp(before_from).date()
        until = recent if before_to is None else pd.Timestamp(before_to).date()
        return self._fetch(
            "SELECT s.unique_id, min(p.title) AS title, min(p.category) AS category, "
            "sum(CASE WHEN s.ds >= ? THEN s.y ELSE 0 END) AS recent, "
            "sum(CASE WHEN s.ds < ? THEN s.y ELSE 0 END) AS before "
            "FROM sales s LEFT JOIN products p ON p.unique_id = s.unique_id "
            "WHERE s.ds >= ? OR (s.ds >= ? AND s.ds < ?) GROUP BY s.unique_id ORDER BY s.unique_id",
            [recent, until, recent, before, until])

    def top_sellers(self, days: int, limit: int) -> pd.DataFrame:
        """The ``limit`` best-selling products (``unique_id, title, y``) over the last ``days``
        days of sales, best first (ties by id)."""
        span = self.sales_span()
        if span is None:
            return pd.DataFrame(columns=["unique_id", "title", "y"])
        since = (span[1] - pd.Timedelta(days=days)).date()
        return self._fetch(
            "SELECT s.unique_id, min(p.title) AS title, sum(s.y) AS y FROM sales s "
            "LEFT JOIN products p ON p.unique_id = s.unique_id WHERE s.ds > ? "
            f"GROUP BY s.unique_id ORDER BY y DESC, s.unique_id LIMIT {int(limit)}", [since])

    def last_prices(self) -> pd.DataFrame:
        """Each product's most recent stored price (``unique_id, price``), by id."""
        return self._fetch(
            "SELECT unique_id, price FROM (SELECT unique_id, price, row_number() OVER "
            "(PARTITION BY unique_id ORDER BY ds DESC) AS rn FROM sales WHERE price IS NOT NULL) "
            "AS p WHERE rn = 1 ORDER BY unique_id")

    def products(self, ids: Sequence[str] | None = None, *,
                 columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Catalogue rows (of ``ids``), by id."""
        where, params = _ids_clause(ids)
        cols = _quoted(columns or list(TABLES["products"].columns))
        return self._fetch(f"SELECT {cols} FROM products WHERE {where} ORDER BY unique_id", params)

    def product_ids(self) -> set[str]:
        """Ids in the catalogue or with sales."""
        ids = self._fetch("SELECT unique_id FROM products UNION SELECT DISTINCT unique_id FROM sales")
        return set(ids["unique_id"].astype(str))

    def stored_values(self, table: str, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """The stored ``columns`` of ``table`` for the rows whose key is in ``keys``."""
        spec = TABLES[table]
        key = list(spec.key)
        stored = self._fetch(f"SELECT {_quoted([*key, *columns])} FROM {spec.name}")
        return stored.merge(keys[key].drop_duplicates(), on=key)

    def reviews(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Reviews (of ``ids``), by product, time and review id."""
        where, params = _ids_clause(ids)
        return self._fetch("SELECT * FROM reviews WHERE " + where
                           + " ORDER BY unique_id, ts, review_id", params)

    def review_days(self, *, max_rating: float = 2.0) -> pd.DataFrame:
        """Reviews per product and day: ``unique_id, ds, reviews, low`` (rated at most
        ``max_rating``), ``unrated`` (no rating), by product and day."""
        return self._fetch(
            "SELECT unique_id, CAST(ts AS DATE) AS ds, count(*) AS reviews, "
            "sum(CASE WHEN rating <= ? THEN 1 ELSE 0 END) AS low, "
            "sum(CASE WHEN rating IS NULL THEN 1 ELSE 0 END) AS unrated FROM reviews "
            "GROUP BY unique_id, CAST(ts AS DATE) ORDER BY unique_id, ds", [float(max_rating)])

    def unrated_reviews(self) -> pd.DataFrame:
        """Reviews without a rating but with text: ``unique_id, ts, text``, by product and time."""
        return self._fetch("SELECT unique_id, ts, text FROM reviews WHERE rating IS NULL AND text IS NOT "
                           "NULL ORDER BY unique_id, ts, review_id")

    def latest_reviews(self, unique_id: str, limit: int) -> pd.DataFrame:
        """A product's ``limit`` newest reviews (ts, rating, text, language)."""
        return self._fetch("SELECT ts, rating, text, language FROM reviews WHERE unique_id = ? "
                           "ORDER BY ts DESC LIMIT ?", [unique_id, int(limit)])

    def review_scores(self, model_version: str, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored sentiment of one model version (of the reviews of products ``ids``):
        ``review_id, text_hash, sentiment``, by review id and text hash."""
        if ids is None:
            return self._fetch("SELECT review_id, text_hash, sentiment FROM review_scores "
                               "WHERE model_version = ? ORDER BY review_id, text_hash", [model_version])
        where, params = _ids_clause(ids, "r.unique_id")
        return self._fetch(
            "SELECT s.review_id, s.text_hash, s.sentiment FROM review_scores s JOIN reviews r "
            f"ON r.review_id = s.review_id WHERE s.model_version = ? AND {where} "
            "ORDER BY s.review_id, s.text_hash", [model_version, *params])

    def save_review_scores(self, scores: pd.DataFrame) -> int:
        """Store review sentiment (``review_id, text_hash, model_version, sentiment[,
        scored_at]``); returns the rows written.

        A (review, text, version) already stored is skipped, so saving twice stores one row;
        a review stored with another text under the same version (the text was edited) loses
        its old row.
        """
        self._writable()
        cols = list(TABLES["review_scores"].columns)
        if scores.empty:
            return 0
        missing = sorted(set(cols) - {"scored_at"} - set(scores.columns))
        if missing:
            raise ValueError(f"review scores need the columns {missing}")
        rows = scores.assign(scored_at=scores.get("scored_at", pd.Timestamp.now()))[cols]
        rows = rows.drop_duplicates(["review_id", "text_hash", "model_version"])
        written = 0
        with self.transaction():
            self._lock_for_write("review_scores")
            for version, part in rows.groupby("model_version", sort=True):
                have = self.review_scores(str(version))
                key = part["review_id"].astype(str) + "\x1f" + part["text_hash"].astype(str)
                part = part[~key.isin(set(have["review_id"].astype(str) + "\x1f" + have["text_hash"]))]
                stale = sorted(set(part["review_id"].astype(str)) & set(have["review_id"].astype(str)))
                for start in range(0, len(stale), 500):
                    chunk = stale[start:start + 500]
                    self._run(f"DELETE FROM review_scores WHERE model_version = ? AND review_id IN "
                              f"({marks(chunk)})", [str(version), *chunk])
                written += self.append("review_scores", part) if len(part) else 0
        return written

    def events(self) -> pd.DataFrame:
        """Behaviour events as stored (no order promised beyond the key's)."""
        return self._fetch("SELECT * FROM events")

    # Workspace summary -----------------------------------------------------------------

    def table_summary(self) -> dict[str, dict[str, Any]]:
        """Per table: rows, and the first and last time stamp where the table has one (as
        text, so that a date outside pandas' range, 1677-2262, is shown rather than fatal)."""
        out: dict[str, dict[str, Any]] = {}
        for name in TABLES:
            entry: dict[str, Any] = {"rows": self.count(name)}
            col = TIME_COLUMN.get(name)
            if col and entry["rows"]:
                row = self._fetch(f"SELECT CAST(min({col}) AS VARCHAR) AS lo, "
                                  f"CAST(max({col}) AS VARCHAR) AS hi FROM {name}").iloc[0]
                entry["start"], entry["end"] = row["lo"], row["hi"]
            out[name] = entry
        return out

    def sales_summary(self) -> dict[str, Any]:
        """Series count, min/max rows per series, rows with a price."""
        row = self._fetch(
            "SELECT count(*) AS series, min(n) AS min_days, max(n) AS max_days, "
            "sum(n_price) AS priced_rows FROM (SELECT unique_id, count(*) AS n, count(price) AS n_price "
            "FROM sales GROUP BY unique_id) AS per").iloc[0]
        return {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}

    def distinct_count(self, table: str, column: str) -> int:
        """Distinct non-null values of one column."""
        if table not in TABLES or column not in TABLES[table].columns:
            raise NotFoundError(f"no column {table}.{column}")
        return self._count(f'SELECT count(DISTINCT "{column}") AS n FROM {table}')

    # Runs ------------------------------------------------------------------------------

    def save_run(self, run: dict[str, Any], forecasts: pd.DataFrame | Iterable[pd.DataFrame],
                 metrics: pd.DataFrame | None = None, cleaning: pd.DataFrame | None = None) -> None:
        """Store a run's row, its forecasts (long rows; a frame or chunks of them), metrics and
        the changes cleaning made to its inputs, in one transaction."""
        self._writable()
        chunks = [forecasts] if isinstance(forecasts, pd.DataFrame) else forecasts
        with self.transaction():
            for chunk in chunks:
                self.append("forecasts", chunk)
            if cleaning is not None and len(cleaning):
                self.append("cleaning", cleaning.assign(run_id=run["run_id"]))
            if metrics is not None and len(metrics):
                self.append("metrics", metrics)
            self.append("runs", pd.DataFrame([run]))

    def orders_between(self, start: Any, end: Any) -> pd.DataFrame:
        """Stored orders with ``start <= ts < end``, ordered by their key."""
        cols = _quoted(list(TABLES["orders"].columns))
        return self._fetch(f"SELECT {cols} FROM orders WHERE ts >= ? AND ts < ? "
                           'ORDER BY "order_id", "unique_id"',
                           [pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()])

    def order_lines(self, keys: pd.DataFrame) -> pd.DataFrame:
        """Stored orders whose (``order_id``, ``unique_id``) is a row of ``keys``."""
        cols = _quoted(list(TABLES["orders"].columns))
        parts = [self._fetch(f"SELECT {cols} FROM orders WHERE {clause}", params)
                 for clause, params in key_clauses(keys, ("order_id", "unique_id"))]
        parts = [p for p in parts if len(p)]
        if not parts:
            return self._fetch(f"SELECT {cols} FROM orders WHERE FALSE")
        return pd.concat(parts, ignore_index=True)

    def prunable_runs(self, before: Any, *, dropping: Sequence[str] = ()) -> pd.DataFrame:
        """Runs created before ``before`` that retention may delete (``run_id, kind,
        created_at``, oldest first). Never: the newest run of each kind, the validation run of
        a stored model version (other than the versions ``dropping``), or a forecast run with
        days after the last sales date (its actuals have not all arrived, so it is not fully
        scored yet)."""
        dropping = [str(v) for v in dropping]
        other = f"AND version_id NOT IN ({marks(dropping)}) " if dropping else ""
        return self._fetch(
            "SELECT r.run_id, r.kind, r.created_at FROM runs r WHERE r.created_at < ? "
            "AND r.run_id NOT IN (SELECT run_id FROM (SELECT run_id, row_number() OVER "
            "(PARTITION BY kind ORDER BY created_at DESC, run_id) AS k FROM runs) newest WHERE k = 1) "
            "AND r.run_id NOT IN (SELECT validation_run FROM model_versions "
            f"WHERE validation_run IS NOT NULL {other}) "
            "AND NOT EXISTS (SELECT 1 FROM forecasts f WHERE f.run_id = r.run_id "
            "AND r.kind = 'forecast' AND f.ds > (SELECT max(ds) FROM sales)) "
            "ORDER BY r.created_at, r.run_id", [pd.Timestamp(before).to_pydatetime(), *dropping])

    _RUN_TABLES = ("forecasts", "metrics", "cleaning", "runs")

    def count_run_rows(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Rows of these runs per table (forecasts, metrics, cleaning, runs)."""
        counts = dict.fromkeys(self._RUN_TABLES, 0)
        ids = [str(r) for r in run_ids]
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            for table in counts:
                counts[table] += self._count(f"SELECT count(*) FROM {table} WHERE run_id IN ({marks(part)})",
                                             part)
        return counts

    def delete_runs(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Delete runs with their forecasts, metrics and cleaning changes, in one transaction
        (their accuracy scores stay); the rows deleted per table."""
        self._writable()
        ids = [str(r) for r in run_ids]
        with self.transaction():
            counts = self.count_run_rows(ids)
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                for table in self._RUN_TABLES:
                    self._run(f"DELETE FROM {table} WHERE run_id IN ({marks(part)})", part)
        return counts

    def count_scores_before(self, before: Any) -> int:
        """Accuracy scores of forecast days before ``before``."""
        return self._count("SELECT count(*) FROM forecast_scores WHERE ds < ?",
                           [pd.Timestamp(before).to_pydatetime()])

    def delete_scores_before(self, before: Any) -> int:
        """Delete the accuracy scores of forecast days before ``before``; how many."""
        self._writable()
        with self.transaction():
            n = self.count_scores_before(before)
            self._run("DELETE FROM forecast_scores WHERE ds < ?", [pd.Timestamp(before).to_pydatetime()])
        return n

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        """A run's row with JSON fields decoded; None if there is none."""
        rows = self._fetch("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return _run_record(rows.iloc[0]) if len(rows) else None

    def latest_run_row(self, kind: str, *, covering: str | None = None) -> dict[str, Any] | None:
        """The newest run of ``kind`` (that has forecasts for product ``covering``)."""
        if covering is None:
            rows = self._fetch("SELECT * FROM runs WHERE kind = ? ORDER BY created_at DESC, run_id "
                               "LIMIT 1", [kind])
        else:
            rows = self._fetch(
                "SELECT * FROM runs r WHERE r.kind = ? AND EXISTS (SELECT 1 FROM forecasts f "
                "WHERE f.run_id = r.run_id AND f.unique_id = ?) ORDER BY r.created_at DESC, r.run_id "
                "LIMIT 1", [kind, covering])
        return _run_record(rows.iloc[0]) if len(rows) else None

    def run_first_day(self, run_id: str) -> pd.Timestamp | None:
        """The first date a run forecasts (None for a run without forecasts)."""
        value = self._fetch("SELECT min(ds) AS first FROM forecasts WHERE run_id = ?", [run_id]).iloc[0, 0]
        return None if value is None or pd.isna(value) else pd.Timestamp(value)

    def run_rows(self, *, kind: str | None = None, limit: int | None = None,
                 offset: int = 0, newest_first: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Runs (of ``kind``), newest first, one page; and the total count."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        total = self._count(f"SELECT count(*) AS n FROM runs {where}", params)
        order = "created_at DESC, run_id" if newest_first else "created_at, run_id"
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self._fetch(f"SELECT * FROM runs {where} ORDER BY {order}{page}", params)
        return total, [_run_record(r) for _, r in rows.iterrows()]

    def runs_covering(self, unique_id: str, *, kind: str = "forecast",
                      limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` newest runs of ``kind`` that have forecasts for product ``unique_id``."""
        rows = self._fetch(
            "SELECT * FROM runs r WHERE r.kind = ? AND EXISTS (SELECT 1 FROM forecasts f "
            "WHERE f.run_id = r.run_id AND f.unique_id = ?) ORDER BY r.created_at DESC, r.run_id "
            f"LIMIT {int(limit)}", [kind, unique_id])
        return [_run_record(r) for _, r in rows.iterrows()]

    def run_series(self, run_id: str) -> list[str]:
        """Sorted ids of the series a run has forecasts for."""
        found = self._fetch("SELECT DISTINCT unique_id FROM forecasts WHERE run_id = ? "
                            "ORDER BY unique_id", [run_id])
        return found["unique_id"].astype(str).tolist()

    def run_covers(self, run_id: str, unique_id: str) -> bool:
        """Whether a run has forecasts for one product."""
        return self._count("SELECT count(*) AS n FROM (SELECT 1 AS one FROM forecasts WHERE run_id = ? "
                           "AND unique_id = ? LIMIT 1) AS f", [run_id, unique_id]) > 0

    def run_forecasts(self, run_id: str, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """A run's long forecast rows (model, unique_id, ds, cutoff, quantile, value), by
        series, cutoff, date, model and quantile (point first)."""
        where, params = _ids_clause(ids)
        return self._fetch(
            "SELECT model, unique_id, ds, cutoff, quantile, value FROM forecasts "
            f"WHERE run_id = ? AND {where} "
            "ORDER BY unique_id, cutoff NULLS FIRST, ds, model, quantile NULLS FIRST", [run_id, *params])

    def run_cleaning(self, run_id: str) -> pd.DataFrame:
        """What cleaning changed in a run's inputs (unique_id, ds, before, after, reason)."""
        return self._fetch('SELECT unique_id, ds, "before", "after", reason FROM cleaning '
                           "WHERE run_id = ? ORDER BY unique_id, ds", [run_id])

    def forecast_totals(self, run_id: str, model: str) -> pd.DataFrame:
        """A model's point forecasts of a run summed over products per date (``ds, y``)."""
        return self._fetch(
            "SELECT ds, sum(value) AS y FROM forecasts WHERE run_id = ? AND model = ? "
            "AND quantile IS NULL GROUP BY ds ORDER BY ds", [run_id, model])

    def run_metrics(self, run_id: str, *, overall: bool = True) -> pd.DataFrame:
        """A run's metrics (model, metric, value[, unique_id]); only the catalogue-wide ones
        when ``overall``."""
        if overall:
            return self._fetch("SELECT model, metric, value FROM metrics WHERE run_id = ? "
                               "AND unique_id IS NULL ORDER BY model, metric", [run_id])
        return self._fetch("SELECT * FROM metrics WHERE run_id = ? ORDER BY model, metric, unique_id",
                           [run_id])

    # API keys --------------------------------------------------------------------------

    def backtest_metrics(self, limit: int = 50) -> pd.DataFrame:
        """Catalogue-wide metrics of the ``limit`` newest backtests: ``run_id, model, metric,
        value``, newest backtest first (then model, metric)."""
        return self._fetch(
            "SELECT m.run_id, m.model, m.metric, m.value FROM metrics m JOIN "
            "(SELECT run_id, created_at FROM runs WHERE kind = 'backtest' "
            f"ORDER BY created_at DESC, run_id LIMIT {int(limit)}) r ON r.run_id = m.run_id "
            "WHERE m.unique_id IS NULL ORDER BY r.created_at DESC, m.run_id, m.model, m.metric")

    def key_rows(self) -> pd.DataFrame:
        """Every key's id, name, role, creation and revocation time, oldest first."""
        return self._fetch("SELECT key_id, name, role, created_at, revoked_at FROM api_keys "
                           "ORDER BY created_at, key_id")

    def key_row(self, key_id: str) -> dict[str, Any] | None:
        """One key's stored row (with its salt and hash); None if there is none."""
        rows = self._fetch("SELECT * FROM api_keys WHERE key_id = ?", [key_id])
        return rows.iloc[0].to_dict() if len(rows) else None

    def revoke_key(self, key_id: str, at: Any) -> None:
        """Mark a key revoked at ``at`` (once)."""
        self._writable()
        self._run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                  [pd.Timestamp(at).to_pydatetime(), key_id])

    # Jobs ------------------------------------------------------------------------------

    def job_row(self, job_id: str) -> dict[str, Any] | None:
        rows = self._fetch("SELECT * FROM jobs WHERE job_id = ?", [job_id])
        return rows.iloc[0].to_dict() if len(rows) else None

    def job_rows(self, *, status: str | None = None, kind: str | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Jobs (with ``status``, of ``kind``), newest first, one page; and the total count."""
        conditions = [(c, v) for c, v in (("status = ?", status), ("kind = ?", kind)) if v]
        where = ("WHERE " + " AND ".join(c for c, _ in conditions)) if conditions else ""
        params = [v for _, v in conditions]
        total = self._count(f"SELECT count(*) AS n FROM jobs {where}", params)
        rows = self._fetch(f"SELECT * FROM jobs {where} ORDER BY created_at DESC, job_id "
                           f"LIMIT {int(limit)} OFFSET {int(offset)}", params)
        return total, rows.to_dict(orient="records")

    def update_job(self, job_id: str, *, only_if_status: Sequence[str] | None = None,
                   **fields: Any) -> None:
        """Set some fields of a job's row (when its status is one of ``only_if_status``)."""
        self._update_jobs(fields, "job_id = ?", [job_id], only_if_status)

    def update_jobs_with_status(self, statuses: Sequence[str], *, except_key_like: Sequence[str] = (),
                                **fields: Any) -> None:
        """Set some fields of every job whose status is one of ``statuses``, except those whose
        ``key_id`` matches one of the SQL LIKE patterns ``except_key_like``."""
        where = " AND ".join(["TRUE", *(["NOT coalesce(key_id LIKE ?, FALSE)"] * len(except_key_like))])
        self._update_jobs(fields, where, list(except_key_like), statuses)

    def _update_jobs(self, fields: dict[str, Any], where: str, params: list[Any],
                     statuses: Sequence[str] | None) -> None:
        self._writable()
        allowed = TABLES["jobs"].value_columns
        bad = [k for k in fields if k not in allowed]
        if bad:
            raise NotFoundError(f"jobs has no column(s) {bad}")
        sets = ", ".join(f'"{k}" = ?' for k in fields)
        values = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in fields.values()]
        if statuses:
            where += f" AND status IN ({marks(statuses)})"
            params = [*params, *statuses]
        self._run(f"UPDATE jobs SET {sets} WHERE {where}", [*values, *params])

    # Workspace metadata ----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A workspace setting (``trendcast_meta``); None when unset."""
        found = self._fetch("SELECT value FROM trendcast_meta WHERE key = ?", [key])
        return None if found.empty else str(found["value"].iloc[0])

    def meta_setdefault(self, key: str, value: str) -> str:
        """The setting ``key``, stored as ``value`` first when unset (atomically)."""
        self._writable()
        with self.transaction():
            self._lock_for_write("trendcast_meta")
            found = self.meta(key)
            if found is not None:
                return found
            self._run("INSERT INTO trendcast_meta VALUES (?, ?)", [key, value])
            return value

    def meta_set(self, key: str, value: str) -> None:
        """Store the setting ``key`` (replacing its value)."""
        self._writable()
        with self.transaction():
            self._lock_for_write("trendcast_meta")
            self._run("DELETE FROM trendcast_meta WHERE key = ?", [key])
            self._run("INSERT INTO trendcast_meta VALUES (?, ?)", [key, value])

    def meta_delete(self, key: str) -> None:
        """Remove the setting ``key`` (if set)."""
        self._writable()
        self._run("DELETE FROM trendcast_meta WHERE key = ?", [key])

    def take_lease(self, name: str, holder: str, ttl: pd.Timedelta) -> dict[str, Any] | None:
        """Take the lease ``name`` for ``holder`` until ``ttl`` from now, atomically; None when
        taken. When another holder has it and it has not expired, nothing changes and its
        record (``holder``, ``since``, ``expires``: ISO times) comes back instead."""
        self._writable()
        key, now = f"lease:{name}", pd.Timestamp.now()
        with self.transaction():
            self._lock_for_write("trendcast_meta")
            found = self.meta(key)
            if found is not None:
                held = json.loads(found)
                if held.get("holder") != holder and pd.Timestamp(held["expires"]) > now:
                    return dict(held)
            record = {"holder": holder, "since": now.isoformat(timespec="seconds"),
                      "expires": (now + ttl).isoformat(timespec="seconds")}
            self._run("DELETE FROM trendcast_meta WHERE key = ?", [key])
            self._run("INSERT INTO trendcast_meta VALUES (?, ?)", [key, json.dumps(record)])
        return None

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease ``name`` back, if ``holder`` still has it."""
        self._writable()
        key = f"lease:{name}"
        with self.transaction():
            self._lock_for_write("trendcast_meta")
            found = self.meta(key)
            if found is not None and json.loads(found).get("holder") == holder:
                self._run("DELETE FROM trendcast_meta WHERE key = ?", [key])

    def _lock_for_write(self, table: str) -> None:  # noqa: B027 - a hook, empty on DuckDB
        """Serialise writers of ``table`` until the transaction ends (PostgreSQL); DuckDB
        admits one writing process at a time anyway."""

    # Snapshots for runs ----------------------------------------------------------------

    def snapshot(self, folder: str | Path, ids: Sequence[str] | None = None, *,
                 since: pd.Timestamp | None = None) -> Snapshot:
        """Copy what a forecast run reads (sales of ``ids`` or all, the catalogue, the
        calendar) to Parquet files in ``folder``, from one consistent read, so the run can
        compute without holding the workspace. ``since``: only the sales after it, plus each
        series' last row and its rows from its last sale on or before it (what
        :func:`trendcast.features.series.recent_rows` and the ended-series check read).
        NotFoundError without sales."""
        from trendcast.data.snapshot import Snapshot

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        where, params = _ids_clause(ids)
        if since is None:
            sales_sql = f"SELECT {_quoted(SALES_COLUMNS)} FROM sales WHERE {where} ORDER BY unique_id, ds"
            sales_params = params
        else:
            cut = pd.Timestamp(since).to_pydatetime()
            cols = ", ".join(f"s.{c}" for c in _quoted(SALES_COLUMNS).split(", "))
            sales_sql = (f"SELECT {cols} FROM sales s JOIN (SELECT unique_id, max(ds) AS last_ds, "
                         "max(CASE WHEN y > 0 AND ds <= ? THEN ds END) AS last_sale FROM sales "
                         f"WHERE {where} GROUP BY unique_id) m ON s.unique_id = m.unique_id "
                         "WHERE s.ds > ? OR s.ds >= m.last_sale OR s.ds = m.last_ds "
                         "ORDER BY s.unique_id, s.ds")
            sales_params = [cut, *params, cut]
        with self.transaction():
            self._copy_to_parquet(sales_sql, sales_params, folder / "sales.parquet")
            self._copy_to_parquet(f"SELECT * FROM products WHERE {where} ORDER BY unique_id", params,
                                  folder / "products.parquet")
            self._copy_to_parquet("SELECT * FROM calendar_events ORDER BY ds, name, region", [],
                                  folder / "calendar_events.parquet")
            self._copy_to_parquet(f"SELECT * FROM stock_history WHERE {where} ORDER BY unique_id, ds",
                                  params, folder / "stock_history.parquet")
            self._copy_to_parquet("SELECT * FROM macro ORDER BY name, ds", [], folder / "macro.parquet")
        snap = Snapshot(folder)
        if not snap.ids:
            raise no_sales(ids)
        return snap


def _run_record(row: pd.Series) -> dict[str, Any]:
    out = row.to_dict()
    out["models"] = _json(out.get("models"), [])
    out["quantiles"] = _json(out.get("quantiles"), [])
    out["params"] = _json(out.get("params"), {})
    out["notes"] = _json(out.get("notes"), [])
    for k in ("horizon", "n_series"):
        out[k] = None if pd.isna(out.get(k)) else int(out[k])
    out["freq"] = None if pd.isna(out.get("freq")) else str(out["freq"])
    return out
