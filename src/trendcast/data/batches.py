"""Batches: every ingest and every row deletion is recorded so it can be undone.

A batch is one row of ``batches`` (id, kind, source, who, when, rows added / replaced /
deleted, status). While a batch is active on a thread (:meth:`BatchQueries.batch`), the
store's upserts note in ``batch_rows_<table>`` the key of each row they add and the previous
values of each row they replace; :meth:`BatchQueries.delete_rows` notes the rows it deletes.
:meth:`BatchQueries.undo_batch` then removes what the batch added and puts back what it
replaced or deleted, in one transaction.

Undo is refused when a later batch that is still applied changed a row of the same key (it
replaced or deleted a row this batch wrote, or wrote a row this batch deleted): undoing the
older batch would silently discard the later change. Undo the later batches first, newest
first; the error names them.
"""

from __future__ import annotations

import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from trendcast.data.queries import key_clauses
from trendcast.data.tables import BATCHED_TABLES, BATCHES, TABLES, Table
from trendcast.errors import ConflictError, DataValidationError, NotFoundError, StoreError

# Per data table: the column ``trendcast delete --id`` matches and the time column
# ``--from``/``--to`` bound (None: the table has no time column).
ROW_SCOPE: dict[str, tuple[str, str | None]] = {
    "sales": ("unique_id", "ds"),
    "products": ("unique_id", None),
    "orders": ("unique_id", "ts"),
    "events": ("item_id", "ts"),
    "reviews": ("unique_id", "ts"),
    "calendar_events": ("name", "ds"),
    "macro": ("name", "ds"),
    "stock_history": ("unique_id", "ds"),
}


def rows_table(table: str) -> str:
    """The table that keeps a data table's batch rows."""
    return f"batch_rows_{table}"


def new_batch_id() -> str:
    return f"b-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


@dataclass
class Batch:
    """An open batch: what its writes have done so far."""

    batch_id: str
    kind: str
    source: str
    actor: str | None
    created_at: pd.Timestamp
    added: int = 0
    replaced: int = 0
    deleted: int = 0
    tables: list[str] = field(default_factory=list)
    recorded: bool = False  # its row was written (a batch that changed nothing has none)

    @property
    def changed(self) -> bool:
        """Whether it wrote anything (then it is recorded when its transaction commits)."""
        return bool(self.added or self.replaced or self.deleted)

    def touched(self, table: str) -> None:
        if table not in self.tables:
            self.tables.append(table)

    def row(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "kind": self.kind, "source": self.source,
                "actor": self.actor, "created_at": self.created_at,
                "tables": ",".join(self.tables), "rows_added": self.added,
                "rows_replaced": self.replaced, "rows_deleted": self.deleted,
                "status": "applied", "undone_at": None, "undone_by": None}


@dataclass(frozen=True)
class UndoResult:
    """What undoing a batch did: rows removed and rows put back, per table."""

    batch_id: str
    removed: dict[str, int]
    restored: dict[str, int]

    @property
    def rows_removed(self) -> int:
        return sum(self.removed.values())

    @property
    def rows_restored(self) -> int:
        return sum(self.restored.values())


def _cols(columns: Sequence[str], alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _key_match(spec: Table, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in spec.key)


def _as_date(value: Any, what: str) -> date:
    """A ``YYYY-MM-DD`` bound as a date (any year, so rows outside pandas' range can be
    removed too)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataValidationError(f"{what}: got {value!r}, expected a date like 2024-06-18") from None


class BatchQueries(ABC):
    """Batch recording, listing, undo and row deletion over the backend primitives."""

    location: str

    @abstractmethod
    def _fetch(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame: ...

    @abstractmethod
    def _run(self, statement: str, params: Sequence[Any] | None = None) -> None: ...

    @abstractmethod
    def _stage(self, spec: Table, df: pd.DataFrame, *, into: str | None = None) -> str: ...

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    @abstractmethod
    def _count(self, query: str, params: Sequence[Any] | None = None) -> int: ...

    @abstractmethod
    def _writable(self) -> None: ...

    @abstractmethod
    def _lock_for_write(self, table: str) -> None: ...

    # The active batch of this thread ----------------------------------------------------

    def _batch_state(self) -> Any:
        local = getattr(self, "_local", None)
        if local is None:  # pragma: no cover - every backend has one
            raise StoreError("this store keeps no per-thread state; batches need it")
        return local

    def active_batch(self) -> Batch | None:
        """The batch this thread is writing in, if any."""
        return getattr(self._batch_state(), "batch", None)

    @contextlib.contextmanager
    def batch(self, kind: str, source: str, *, actor: str | None = None) -> Iterator[Batch]:
        """Record every upsert (and :meth:`delete_rows`) inside as one batch, in one
        transaction: all of it is stored, with its batch row, or nothing. A batch that
        changed nothing (a file sent again) leaves no row: there is nothing to undo, and the
        workspace stays exactly as it was. Nested calls join the outer batch."""
        self._writable()
        outer = self.active_batch()
        if outer is not None:
            yield outer
            return
        state = self._batch_state()
        current = Batch(new_batch_id(), kind, source, actor, pd.Timestamp.now())
        with self.transaction():
            state.batch = current
            try:
                yield current
            finally:
                state.batch = None
            if current.changed:
                self._stage(BATCHES, pd.DataFrame([current.row()]), into=BATCHES.name)
                current.recorded = True

    def _recording(self, table: str) -> Batch | None:
        found = self.active_batch()
        if found is not None and table not in BATCHED_TABLES:
            raise StoreError(f"table {table} is not recorded by batches; write it outside one")
        return found

    # Hooks the store's upsert calls (inside its transaction) ------------------------------

    def _batch_loaded(self, spec: Table, n: int) -> None:
        """``n`` rows were loaded into the empty table ``spec``: all of them are new."""
        current = self._recording(spec.name)
        if current is None or not n:
            return
        keys = _cols(spec.key)
        self._run(f"INSERT INTO {rows_table(spec.name)} (batch_id, action, {keys}) "
                  f"SELECT ?, 'added', {keys} FROM {spec.name}", [current.batch_id])
        current.added += n
        current.touched(spec.name)

    def _batch_adding(self, spec: Table, staged: str, key_match: str, n: int) -> None:
        """The rows of ``staged`` whose key is not stored are about to be inserted."""
        current = self._recording(spec.name)
        if current is None or not n:
            return
        self._run(f"INSERT INTO {rows_table(spec.name)} (batch_id, action, {_cols(spec.key)}) "
                  f"SELECT ?, 'added', {_cols(spec.key, 's')} FROM {staged} s "
                  f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {key_match})",
                  [current.batch_id])
        current.added += n
        current.touched(spec.name)

    def _batch_replacing(self, spec: Table, changed: str, key_match: str, n: int) -> None:
        """The stored rows matching ``changed`` are about to be replaced: keep their values
        (the first ones, when this batch already replaced a row or added it)."""
        current = self._recording(spec.name)
        if current is None or not n:
            return
        cols = list(spec.columns)
        rows = rows_table(spec.name)
        self._run(f"INSERT INTO {rows} (batch_id, action, {_cols(cols)}) "
                  f"SELECT ?, 'replaced', {_cols(cols, 't')} FROM {spec.name} t "
                  f"JOIN {changed} s ON {key_match} WHERE NOT EXISTS (SELECT 1 FROM {rows} r "
                  f"WHERE r.batch_id = ? AND {_key_match(spec, 'r', 't')})",
                  [current.batch_id, current.batch_id])
        current.replaced += n
        current.touched(spec.name)

    # Reading -----------------------------------------------------------------------------

    def batch_rows(self, *, limit: int | None = None, offset: int = 0,
                   status: str | None = None) -> tuple[int, pd.DataFrame]:
        """Batches (with ``status``: applied or undone), newest first; and the total count."""
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        total = self._count(f"SELECT count(*) AS n FROM batches {where}", params)
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self._fetch(f"SELECT * FROM batches {where} ORDER BY created_at DESC, batch_id DESC"
                           f"{page}", params)
        return total, rows

    def batch_row(self, batch_id: str) -> dict[str, Any] | None:
        """One batch's row; None if there is none."""
        rows = self._fetch("SELECT * FROM batches WHERE batch_id = ?", [batch_id])
        return rows.iloc[0].to_dict() if len(rows) else None

    # Undo ----------------------------------------------------------------------------------

    def _later_conflicts(self, row: dict[str, Any]) -> list[str]:
        """Applied batches after ``row`` that changed a row of the same key as it did."""
        created = pd.Timestamp(row["created_at"]).to_pydatetime()
        batch_id = str(row["batch_id"])
        later = ("SELECT batch_id FROM batches WHERE status = 'applied' AND batch_id <> ? AND "
                 "(created_at > ? OR (created_at = ? AND batch_id > ?))")
        found: set[str] = set()
        for table in BATCHED_TABLES:
            spec = TABLES[table]
            rows = rows_table(table)
            hits = self._fetch(
                f"SELECT DISTINCT o.batch_id FROM {rows} o JOIN {rows} m ON {_key_match(spec, 'o', 'm')} "
                f"WHERE m.batch_id = ? AND o.batch_id IN ({later})",
                [batch_id, batch_id, created, created, batch_id])
            found.update(hits["batch_id"].astype(str))
        return sorted(found, reverse=True)

    def undo_batch(self, batch_id: str, *, actor: str | None = None) -> UndoResult:
        """Remove the rows a batch added and put back the rows it replaced or deleted.

        NotFoundError for an unknown id; ConflictError when it was undone already, or when a
        later applied batch changed a row of the same key (undo those first)."""
        self._writable()
        with self.transaction():
            self._lock_for_write(BATCHES.name)
            for table in BATCHED_TABLES:
                self._lock_for_write(table)
            row = self.batch_row(batch_id)
            if row is None:
                raise NotFoundError(f"no batch {batch_id!r}; `trendcast batches` lists them")
            if row["status"] != "applied":
                raise ConflictError(f"batch {batch_id} was already undone (at {row['undone_at']}); "
                                    "nothing to do")
            later = self._later_conflicts(row)
            if later:
                shown = ", ".join(later[:10]) + (f" and {len(later) - 10} more" if len(later) > 10 else "")
                raise ConflictError(
                    f"batch {batch_id} cannot be undone: later batch(es) {shown} changed rows it "
                    f"wrote; undo them first, newest first (trendcast undo {later[0]}), "
                    "or remove single rows with `trendcast delete`")
            removed: dict[str, int] = {}
            restored: dict[str, int] = {}
            for table in BATCHED_TABLES:
                spec = TABLES[table]
                rows = rows_table(table)
                n_remove = self._count(f"SELECT count(*) AS n FROM {rows} WHERE batch_id = ? "
                                       "AND action IN ('added', 'replaced')", [batch_id])
                n_restore = self._count(f"SELECT count(*) AS n FROM {rows} WHERE batch_id = ? "
                                        "AND action IN ('replaced', 'deleted')", [batch_id])
                if n_remove:
                    self._run(f"DELETE FROM {table} t USING {rows} r WHERE r.batch_id = ? AND "
                              f"r.action IN ('added', 'replaced') AND {_key_match(spec, 't', 'r')}",
                              [batch_id])
                    added = self._count(f"SELECT count(*) AS n FROM {rows} WHERE batch_id = ? "
                                        "AND action = 'added'", [batch_id])
                    if added:
                        removed[table] = added
                if n_restore:
                    cols = _cols(list(spec.columns))
                    self._run(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {rows} "
                              "WHERE batch_id = ? AND action IN ('replaced', 'deleted')", [batch_id])
                    restored[table] = n_restore
                if n_remove or n_restore:
                    self._run(f"DELETE FROM {rows} WHERE batch_id = ?", [batch_id])
            self._run("UPDATE batches SET status = 'undone', undone_at = ?, undone_by = ? "
                      "WHERE batch_id = ?", [datetime.now(), actor, batch_id])
        return UndoResult(batch_id, removed, restored)

    # Deleting rows -------------------------------------------------------------------------

    def delete_keys(self, table: str, keys: pd.DataFrame, columns: Sequence[str], *,
                    source: str = "", actor: str | None = None, kind: str = "delete") -> int:
        """Delete the rows of ``table`` whose ``columns`` match a row of ``keys`` (an order
        line cancelled after an earlier export), recorded like :meth:`delete_rows` in the
        active batch or one of its own; returns the rows deleted."""
        self._writable()
        if table not in ROW_SCOPE:
            raise NotFoundError(f"rows of {table!r} cannot be deleted; tables: {', '.join(ROW_SCOPE)}")
        if not len(keys):
            return 0
        return self._delete_where(table, list(key_clauses(keys, columns)), source, actor, kind)[1]

    def _delete_where(self, table: str, clauses: list[tuple[str, list[Any]]], source: str,
                      actor: str | None, kind: str) -> tuple[str | None, int]:
        """Delete the rows matching any of ``clauses`` (``WHERE`` text, parameters), each
        noted in the batch's ``batch_rows_<table>`` so that undo puts it back; returns (batch
        id, rows deleted), the batch id None when nothing matched."""
        cols = _cols(list(TABLES[table].columns))
        total = 0
        with self.batch(kind, source, actor=actor) as current, self.transaction():
            self._lock_for_write(table)
            for clause, params in clauses:
                n = self._count(f"SELECT count(*) AS n FROM {table} WHERE {clause}", params)
                if n:
                    self._run(f"INSERT INTO {rows_table(table)} (batch_id, action, {cols}) "
                              f"SELECT ?, 'deleted', {cols} FROM {table} WHERE {clause}",
                              [current.batch_id, *params])
                    self._run(f"DELETE FROM {table} WHERE {clause}", params)
                    total += n
            if total:
                current.deleted += total
                current.touched(table)
        return (current.batch_id if total else None), total

    def delete_rows(self, table: str, *, ids: Sequence[str] | None = None, start: Any = None,
                    end: Any = None, source: str = "", actor: str | None = None,
                    kind: str = "delete") -> tuple[str | None, int]:
        """Delete the rows of ``table`` with ids in ``ids`` and time within ``start`` to
        ``end`` (dates, both inclusive; None leaves a side open) as a batch of its own (or
        inside the active one), so it can be undone. Returns (batch id, rows deleted); no
        batch is recorded when nothing matched (batch id None)."""
        self._writable()
        if table not in ROW_SCOPE:
            raise NotFoundError(f"rows of {table!r} cannot be deleted; tables: {', '.join(ROW_SCOPE)}")
        id_col, time_col = ROW_SCOPE[table]
        if ids is None and start is None and end is None:
            raise DataValidationError("say which rows to delete: ids, a start or an end date (or all three)")
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if ids is not None:
            if not len(ids):
                return None, 0
            where.append(f'"{id_col}" IN ({", ".join("?" * len(ids))})')
            params += [str(i) for i in ids]
        if (start is not None or end is not None) and time_col is None:
            raise DataValidationError(f"{table} has no dates: delete its rows by id only")
        timestamp = time_col is not None and "TIMESTAMP" in TABLES[table].columns[time_col]
        if start is not None:
            first = _as_date(start, "start")
            where.append(f'"{time_col}" >= ?')
            params.append(datetime.combine(first, datetime.min.time()) if timestamp else first)
        if end is not None:
            last = _as_date(end, "end")
            if timestamp:
                where.append(f'"{time_col}" < ?')
                params.append(datetime.combine(last, datetime.min.time()) + timedelta(days=1))
            else:
                where.append(f'"{time_col}" <= ?')
                params.append(last)
        return self._delete_where(table, [(" AND ".join(where), params)], source, actor, kind)
