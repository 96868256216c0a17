"""Repair use cases: list ingest batches, undo one, delete rows (itself a batch that can be
undone). See ``data.batches`` for what is recorded and when an undo is refused."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trendcast.data.batches import ROW_SCOPE, UndoResult
from trendcast.data.store import Store
from trendcast.errors import InputFileError, NotFoundError
from trendcast.services.ingest import TABLE_OF


def cli_actor() -> str:
    """Who runs this command line: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or password database
        return "cli"


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(pd.Timestamp(value))[:19]


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def batch_record(row: dict[str, Any]) -> dict[str, Any]:
    """A batch row as JSON-ready values."""
    return {
        "batch_id": str(row["batch_id"]), "kind": str(row["kind"]),
        "source": None if pd.isna(row.get("source")) else str(row["source"]),
        "actor": None if pd.isna(row.get("actor")) else str(row["actor"]),
        "created_at": _iso(row["created_at"]),
        "tables": [t for t in str(row.get("tables") or "").split(",") if t],
        "rows_added": _int(row.get("rows_added")), "rows_replaced": _int(row.get("rows_replaced")),
        "rows_deleted": _int(row.get("rows_deleted")), "status": str(row["status"]),
        "undone_at": _iso(row.get("undone_at")),
        "undone_by": None if pd.isna(row.get("undone_by")) else str(row["undone_by"]),
    }


def list_batches(store: Store, *, limit: int | None = 50, offset: int = 0,
                 status: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Batches, newest first (one page), and the total count."""
    if status not in (None, "applied", "undone"):
        raise InputFileError(f"status {status!r}: choose applied or undone")
    total, rows = store.batch_rows(limit=limit, offset=offset, status=status)
    return total, [batch_record(r) for r in rows.to_dict(orient="records")]


def get_batch(store: Store, batch_id: str) -> dict[str, Any]:
    row = store.batch_row(batch_id)
    if row is None:
        raise NotFoundError(f"no batch {batch_id!r}; `trendcast batches` lists them")
    return batch_record(row)


@dataclass(frozen=True)
class UndoReport:
    """What an undo did."""

    batch: dict[str, Any]
    removed: dict[str, int]
    restored: dict[str, int]

    def summary(self) -> str:
        parts = [f"{t}: {n:,} row(s) removed" for t, n in self.removed.items()]
        parts += [f"{t}: {n:,} row(s) restored" for t, n in self.restored.items()]
        return f"undid batch {self.batch['batch_id']} ({self.batch['kind']}, " \
               f"{self.batch['source'] or '-'}): " + ("; ".join(parts) or "nothing to change")

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "removed": self.removed, "restored": self.restored}


def undo_batch(store: Store, batch_id: str, *, actor: str | None = None) -> UndoReport:
    """Undo a batch: remove what it added, restore what it replaced or deleted."""
    result: UndoResult = store.undo_batch(batch_id, actor=actor)
    return UndoReport(get_batch(store, batch_id), result.removed, result.restored)


@dataclass(frozen=True)
class DeleteReport:
    """What a deletion did: the batch that records it (None when nothing matched)."""

    kind: str
    table: str
    deleted: int
    batch_id: str | None

    def summary(self) -> str:
        if not self.deleted:
            return f"no {self.kind} rows matched; nothing was deleted"
        return (f"deleted {self.deleted:,} {self.kind} row(s) [batch {self.batch_id}]; "
                f"undo with `trendcast undo {self.batch_id}`")


def delete_rows(store: Store, kind: str = "sales", *, ids: list[str] | None = None,
                start: str | None = None, end: str | None = None,
                actor: str | None = None) -> DeleteReport:
    """Delete the rows of ``kind`` with the ids (product id; item id for events; name for
    calendar and macro) and dates from ``start`` to ``end`` (inclusive, YYYY-MM-DD)."""
    table = TABLE_OF.get(kind)
    if table is None or table not in ROW_SCOPE:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(TABLE_OF)}")
    if not ids and start is None and end is None:
        raise InputFileError("say which rows to delete: --id, --from and/or --to")
    what = [f"ids {', '.join(ids[:5])}{'...' if len(ids) > 5 else ''}" if ids else None,
            f"from {start}" if start else None, f"to {end}" if end else None]
    source = f"{kind} " + " ".join(w for w in what if w)
    batch_id, n = store.delete_rows(table, ids=ids or None, start=start, end=end, source=source,
                                    actor=actor)
    return DeleteReport(kind, table, n, batch_id)
