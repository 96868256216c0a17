"""Ingest use cases: files, M5 folders and in-memory frames into the store, all-or-nothing."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trendcast.data.aggregate import Freq, orders_to_sales
from trendcast.data.ingest import check_known_products, load_file
from trendcast.data.readers import DEFAULT_MAX_UNPACKED_MB
from trendcast.data.store import Store, WriteResult
from trendcast.data.tables import TABLES
from trendcast.errors import InputFileError

# Ingest kind -> table it lands in.
TABLE_OF = {
    "sales": "sales",
    "products": "products",
    "orders": "orders",
    "events": "events",
    "reviews": "reviews",
    "calendar": "calendar_events",
    "macro": "macro",
    "stock": "stock_history",
}


@dataclass
class IngestReport:
    """What one ingest stored."""

    source: str
    kind: str
    rows_read: int
    writes: list[WriteResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{w.table}: {w.inserted:,} new, {w.updated:,} updated, {w.unchanged:,} unchanged"
            for w in self.writes
        ]
        return f"{self.source} ({self.kind}, {self.rows_read:,} rows): " + "; ".join(parts)


def known_products(store: Store) -> set[str]:
    """Product ids in the catalogue or with sales."""
    return store.product_ids()


def _new_products(store: Store, ids: pd.Series) -> pd.DataFrame:
    known = known_products(store)
    new = sorted(set(ids.astype(str)) - known)
    frame = pd.DataFrame({c: None for c in TABLES["products"].columns}, index=range(len(new)))
    frame["unique_id"] = new
    return frame


def _keep_stored_values(store: Store, table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Columns a file does not have keep their stored values instead of becoming empty."""
    spec = TABLES[table]
    absent = [c for c in spec.value_columns if c not in df.columns]
    for c in absent:
        df[c] = None
    if not absent or store.count(table) == 0:
        return df
    stored = store.stored_values(table, df, absent)
    if stored.empty:
        return df
    merged = df.drop(columns=absent).merge(stored, on=list(spec.key), how="left")
    return merged[list(spec.columns)]


def write_frames(store: Store, frames: Mapping[str, pd.DataFrame]) -> list[WriteResult]:
    """Upsert validated frames (table name -> frame) in one transaction; the first sales whose
    frequency can be read set the workspace's (``trendcast info`` shows it)."""
    results = []
    with store.transaction():
        for table, frame in frames.items():
            results.append(store.upsert(table, frame))
        sales = frames.get("sales")
        if sales is not None and len(sales) and store.meta("freq") is None:
            from trendcast.data.dates import date_stats, freq_from_stats

            ids = pd.unique(sales["unique_id"])[:200]  # a sample decides, without sorting millions
            stats = date_stats(sales[sales["unique_id"].isin(ids)])
            if stats.day_step_gcd is not None:  # some series has two dates: decidable
                store.meta_setdefault("freq", freq_from_stats(stats))
    return results


def ingest_file(
    store: Store,
    path: str | Path,
    kind: str,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    tz: str | None = None,
    sheet: str | int | None = None,
    add_products: bool = False,
    aggregate: Freq | None = None,
    pseudonymise: bool = True,
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
) -> IngestReport:
    """Validate one file and store it; on any problem nothing is stored.

    Args:
        store: the workspace.
        path: the file.
        kind: sales, products, orders, events, reviews, calendar or macro.
        fmt: a preset layout (``taobao``, ``amazon-reviews``).
        mapping: {file column: trendcast column}.
        tz: time zone of Unix timestamps.
        sheet: Excel sheet.
        add_products: register unknown product ids of orders/reviews as new products.
        aggregate: for orders, also write daily ('D') or weekly ('W') sales series.
        pseudonymise: replace the user ids of orders and events by workspace pseudonyms
            (see ``data.pseudonym``); False keeps the raw ids.
        max_unpacked_mb: largest size a .gz or .zip may unpack to (``Settings``).
    """
    start = time.perf_counter()
    if kind not in TABLE_OF:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(TABLE_OF)}")
    df = load_file(path, kind, fmt=fmt, mapping=mapping, tz=tz, sheet=sheet,
                   max_unpacked_mb=max_unpacked_mb)
    report = IngestReport(str(path), kind, len(df))
    dropped = df.attrs.get("exact_duplicates_dropped", 0)
    if dropped:
        report.rows_read += dropped
        report.notes.append(f"{dropped:,} exact duplicate row(s) (same values in every column) "
                            "kept once")
    frames: dict[str, pd.DataFrame] = {}
    if kind in ("orders", "reviews"):
        if add_products:
            new = _new_products(store, df["unique_id"])
            if len(new):
                frames["products"] = new
                report.notes.append(f"registered {len(new):,} new product id(s)")
        else:
            check_known_products(df, known_products(store), column="unique_id",
                                 source=str(path))
    if kind in ("sales", "products"):
        df = _keep_stored_values(store, TABLE_OF[kind], df)
    if kind == "sales":
        new = _new_products(store, df["unique_id"])
        if len(new):
            frames["products"] = new
            report.notes.append(f"{len(new):,} series had no catalogue entry; added as products")
    frames[TABLE_OF[kind]] = df
    _pseudonymise(store, frames, report, pseudonymise)
    if kind == "orders" and aggregate:
        sales = orders_to_sales(df, aggregate)
        frames["sales"] = _keep_stored_values(store, "sales", sales.drop(columns=["promo"]))
        report.notes.append(
            f"aggregated into {sales['unique_id'].nunique():,} {'daily' if aggregate == 'D' else 'weekly'} "
            f"series ({len(sales):,} rows)"
        )
    report.writes = write_frames(store, frames)
    report.seconds = time.perf_counter() - start
    return report


def _pseudonymise(store: Store, frames: dict[str, pd.DataFrame], report: IngestReport,
                  enabled: bool) -> None:
    """Replace user ids in ``frames`` in place (orders, events) and say so in the notes."""
    from trendcast.data.pseudonym import USER_COLUMNS, pseudonymise_frame, workspace_salt

    tables = [t for t in frames if t in USER_COLUMNS]
    if not tables:
        return
    if not enabled:
        report.notes.append(f"user ids of {', '.join(tables)} kept as given (pseudonymisation off)")
        return
    salt = workspace_salt(store)
    for table in tables:
        frames[table], n = pseudonymise_frame(table, frames[table], salt)
        if n:
            report.notes.append(f"{table}: user ids of {n:,} row(s) replaced by workspace pseudonyms "
                                "(keep them with --keep-user-ids / pseudonymise=False)")


def ingest_m5(store: Store, folder: str | Path) -> IngestReport:
    """Load an M5 folder: product hierarchy, daily sales with prices, events and SNAP days."""
    from trendcast.data.m5 import read_m5

    start = time.perf_counter()
    data = read_m5(folder)
    report = IngestReport(str(folder), "m5", len(data.sales))
    report.writes = write_frames(
        store,
        {"products": data.products, "sales": data.sales, "calendar_events": data.calendar},
    )
    report.seconds = time.perf_counter() - start
    return report


def ingest_frames(store: Store, frames: Mapping[str, pd.DataFrame], *, source: str,
                  pseudonymise: bool = True) -> IngestReport:
    """Validate and store frames built in code (the simulated shop), in one transaction.

    User ids of orders and events are replaced by workspace pseudonyms unless
    ``pseudonymise`` is False.
    """
    from trendcast.data.validation import validate

    start = time.perf_counter()
    kind_of = {table: kind for kind, table in TABLE_OF.items()}
    validated = {}
    rows = 0
    for table, frame in frames.items():
        validated[table] = validate(frame, kind_of[table], source=f"{source}:{table}")
        rows += len(frame)
    report = IngestReport(source, "+".join(kind_of[t] for t in frames), rows)
    _pseudonymise(store, validated, report, pseudonymise)
    report.writes = write_frames(store, validated)
    report.seconds = time.perf_counter() - start
    return report


def ingest_festivals(store: Store, *, start: str | None = None, end: str | None = None,
                     country: str = "CN", subdiv: str | None = None) -> IngestReport:
    """Store the holiday and festival calendar of ``country`` (and ``subdiv``); the range
    defaults to the sales history plus one year."""
    from trendcast.data.calendar import festival_calendar
    from trendcast.errors import NotFoundError

    if start is None or end is None:
        span = store.sales_span()
        if span is None:
            raise NotFoundError("no sales to take dates from; pass --start and --end")
        start = start or str(span[0].date())
        end = end or str((span[1] + pd.DateOffset(years=1)).date())
    return ingest_frames(store, {"calendar_events": festival_calendar(start, end, country=country,
                                                                      subdiv=subdiv)},
                         source=f"festivals {country}{'-' + subdiv if subdiv else ''} {start}..{end}")
