"""Ingest use cases: files, M5 folders and in-memory frames into the store, all-or-nothing."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.data.aggregate import STEP, Freq, orders_to_sales, period_start
from trendcast.data.dates import sales_freq, weekday_name
from trendcast.data.ingest import IngestOptions, check_known_products, load_file
from trendcast.data.readers import DEFAULT_MAX_UNPACKED_MB
from trendcast.data.store import Store, WriteResult
from trendcast.data.tables import TABLES
from trendcast.data.validation import SPECS, row_label
from trendcast.errors import DataValidationError, InputFileError
from trendcast.features.frequency import describe, on_grid, period_labels
from trendcast.services.continuity import check_continuity, check_units, note_left_out
from trendcast.services.open_periods import (
    WEEK_LABEL_KEY,
    check_week_label,
    default_week_label,
    is_weekly,
    without_open_periods,
)

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


def file_columns(kind: str) -> list[tuple[str, bool]]:
    """The columns a file of ``kind`` is read into (what ``--map TARGET=COLUMN`` targets), each
    with whether it is required; calendar files may also give an ``end`` day, orders a
    ``status`` (lines that are not sales are left out)."""
    if kind not in TABLE_OF:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(TABLE_OF)}")
    columns = [(name, col.required) for name, col in SPECS[kind].columns.items()]
    extra = {"calendar": "end", "orders": "status"}.get(kind)
    return columns + [(extra, False)] if extra else columns


@dataclass
class IngestReport:
    """What one ingest stored."""

    source: str
    kind: str
    rows_read: int
    writes: list[WriteResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    batch_id: str | None = None  # undo it with `trendcast undo BATCH`

    def summary(self) -> str:
        parts = [
            f"{w.table}: {w.inserted:,} new, {w.updated:,} updated, {w.unchanged:,} unchanged"
            for w in self.writes
        ]
        batch = f" [batch {self.batch_id}]" if self.batch_id else " [nothing changed: no batch]"
        return f"{self.source} ({self.kind}, {self.rows_read:,} rows): " + "; ".join(parts) + batch


def known_products(store: Store) -> set[str]:
    """Product ids in the catalogue or with sales."""
    return store.product_ids()


def _new_products(store: Store, ids: pd.Series) -> pd.DataFrame:
    known = known_products(store)
    new = sorted(set(ids.astype(str)) - known)
    frame = pd.DataFrame({c: None for c in TABLES["products"].columns}, index=range(len(new)))
    frame["unique_id"] = new
    return frame


def _id_key(value: str) -> str:
    """What two spellings of one id share: full-width characters as ordinary ones, letter
    case and spaces ignored ('ＳＫＵ 001', 'sku001')."""
    return "".join(unicodedata.normalize("NFKC", value).casefold().split())


def lookalike_ids(store: Store, ids: pd.Series, notes: list[str], known: set[str] | None = None) -> None:
    """Note the file's product ids that differ from another (in the file or the workspace)
    only in letter case, full-width characters, spaces or a number's leading zeros (a file's
    '00123' beside a stored '123' that a spreadsheet cut): they are kept as written, so they
    are different products, which is rarely what the shop meant."""
    mine = set(ids.dropna().astype(str))
    every = mine | (known_products(store) if known is None else known)
    groups: dict[str, set[str]] = {}
    for value in every:
        key = _id_key(value)
        number = _number_key(key)  # full-width digits too, once normalised
        groups.setdefault(f"#{number}" if number is not None else key, set()).add(value)
    clashes = sorted(sorted(g) for g in groups.values() if len(g) > 1 and g & mine)
    if clashes:
        shown = "; ".join(" and ".join(repr(v) for v in g[:3]) for g in clashes[:3])
        notes.append(f"product ids that differ only in letter case, full-width characters, spaces or "
                     f"leading zeros "
                     f"({shown}{'; ...' if len(clashes) > 3 else ''}; {len(clashes):,} such group(s)): "
                     "stored as different products; if they are one, write them alike")


def _number_key(value: str) -> str | None:
    """The number a digits-only id writes ('00123', '123', '123.0' -> '123'), else None."""
    digits = value[:-2] if value.endswith(".0") else value
    return (digits.lstrip("0") or "0") if digits.isascii() and digits.isdigit() else None


def restore_id_forms(store: Store, ids: pd.Series, notes: list[str],
                     known: set[str] | None = None) -> pd.Series:
    """The file's product ids, with those a spreadsheet changed read as the id they were: a
    digits-only id that lost its leading zeros ('123' for a stored or file '00123') or gained
    a '.0' ('123.0' for '123') is read as the one other form of the same number, stored or in
    the file, when exactly one such form exists (noted). Kept as written, they would start new
    products while the real ones seemed to stop selling."""
    mine = {str(v) for v in pd.unique(ids.dropna())}
    stored = known_products(store) if known is None else known
    forms: dict[str, set[str]] = {}
    for value in mine | stored:
        key = _number_key(value)
        if key is not None and not value.endswith(".0"):
            forms.setdefault(key, set()).add(value)
    changed: dict[str, str] = {}
    for value in mine - stored:
        key = _number_key(value)
        if key is None or not (value.endswith(".0") or value == key):  # '00123' is as written
            continue
        other = forms.get(key, set()) - {value}
        if len(other) == 1:
            changed[value] = next(iter(other))
    if not changed:
        return ids
    pairs = sorted(changed.items(), key=lambda p: (len(p[0]), p[0]))
    shown = ", ".join(f"{a!r} as {b!r}" for a, b in pairs[:5]) + (", ..." if len(pairs) > 5 else "")
    notes.append(f"{len(changed):,} product id(s) read as the id they match but for the leading zeros "
                 f"or the '.0' a spreadsheet changes ({shown}); if they are other products, write "
                 "their ids differently")
    return ids.astype(str).map(lambda v: changed.get(v, v)).where(ids.notna(), ids)


def _period_edge(freq: str) -> str:
    """How ``freq`` dates its periods, in words: 'first day', 'last day', 'Friday'."""
    if freq.startswith("W-"):
        return weekday_name(freq)
    return "first day" if freq[1:2] == "S" else "last day"


def on_workspace_calendar(sales: pd.DataFrame, freq: str, source: str, notes: list[str],
                          week_label: str = "end") -> pd.DataFrame:
    """New sales on the workspace's calendar (its stored frequency): a file dated by the other
    end of the workspace's periods (month starts in a workspace of month ends; ISO weeks'
    Mondays in one of weeks ending Sunday, ``week_label`` ``end``) is the same periods, dated
    as the workspace dates them (noted); any other date off the calendar is refused with its
    row. Stored, ``1993-01-01`` beside ``1992-12-31`` would turn a monthly shop's forecast
    into a daily one of zeros."""
    if freq == "D":
        return sales
    ds = pd.to_datetime(sales["ds"]).reset_index(drop=True)
    ok = on_grid(ds, freq).to_numpy()
    if ok.all():
        return sales
    other: pd.Series | None = None
    if freq[:1] in ("M", "Q", "Y"):
        label = period_labels(ds, freq)
        offset = pd.tseries.frequencies.to_offset(freq)
        start = freq[1:2] == "S"
        other = (label + offset - pd.Timedelta(days=1)) if start else (label - offset + pd.Timedelta(days=1))
    elif freq.startswith("W-"):  # a week of the workspace runs 6 days before or after its label
        start = week_label == "start"
        other = ds
        label = ds + pd.Timedelta(days=-6 if start else 6)
        label = label.where(on_grid(label, freq), pd.NaT)
    if other is not None:
        fits = label.notna().to_numpy() & (ds == other).to_numpy()
        final = np.where(ok, ds.to_numpy(), label.to_numpy())
        keys = pd.DataFrame({"u": sales["unique_id"].to_numpy(), "p": final})
        if (ok | fits).all() and not keys.duplicated().any():
            moved = np.flatnonzero(~ok)
            first = moved[0]
            out = sales.copy()
            out.attrs.update(sales.attrs)
            out["ds"] = final
            kind = describe(freq).split(" (")[0]
            notes.append(f"ds: {len(moved):,} date(s) on the {'last' if start else 'first'} day of their "
                         f"period read as that period, dated by its {_period_edge(freq)} as this "
                         f"{kind} workspace dates its periods (e.g. {ds[first].date()} → "
                         f"{label[first].date()})")
            return out
    bad = np.flatnonzero(~ok)
    expected = (f"a date on the workspace's calendar: its sales are {describe(freq)}, each period "
                f"dated by its {_period_edge(freq)}")
    problems = []
    lines = []
    for pos in bad[:3]:
        row, where = row_label(sales, pos)
        got = ds[pos].date()
        problems.append({"file": source, "row": row, "column": "ds", "value": str(got),
                         "expected": expected})
        lines.append(f"  {source}: {where}, column 'ds': got '{got}', expected {expected}")
    raise DataValidationError("\n".join([
        f"{len(bad):,} problem(s) in sales data, nothing was stored:",
        f"- column 'ds': {len(bad):,} row(s): expected {expected}", *lines]), problems)


def _without_open_days(sales: pd.DataFrame, now: pd.Timestamp, notes: list[str]) -> pd.DataFrame:
    """Sales rows dated today or later (the workspace's wall clock) left out, with a note: an
    export made during the day holds the day so far, which every model would read as a slow
    day and monitoring would score as a miss; the export after the day ends brings it whole."""
    today = pd.Timestamp(now).normalize()
    open_ = pd.to_datetime(sales["ds"]) >= today
    if not open_.any():
        return sales
    days = pd.to_datetime(sales.loc[open_, "ds"])
    first, last = days.min().date(), days.max().date()
    span = f"{first}" if first == last else f"{first} to {last}"
    notes.append(f"{int(open_.sum()):,} sales row(s) dated {span} left out: the day has not ended "
                 f"yet ({now:%Y-%m-%d %H:%M}), so its sales so far would look like a slow day; "
                 "ingest them after the day ends")
    return sales[~open_].reset_index(drop=True)


def _record_week_label(store: Store, given: str | None, freq: str | None,
                       notes: list[str]) -> None:
    """Store the week label given, or the default once the workspace's sales are weekly, and
    say so: how a week's date is read decides which week is still running."""
    stored = store.meta(WEEK_LABEL_KEY)
    if given is not None and given != stored:
        store.meta_set(WEEK_LABEL_KEY, given)
        if stored is not None:
            notes.append(f"weekly sales of this workspace are now read as dated by the week's "
                         f"{'first' if given == 'start' else 'last'} day (--week-label {given}; "
                         f"was {stored})")
    elif stored is None and is_weekly(freq):
        label = default_week_label(freq)
        store.meta_set(WEEK_LABEL_KEY, label)
        if label == "start":
            notes.append("weekly sales dated on Mondays read as dated by the week's first day "
                         "(recorded as the workspace's week label): a week is stored once it has "
                         "ended; if they are dated by the week's last day, ingest with "
                         "--week-label end")
        else:
            notes.append(f"weekly sales dated on {describe(str(freq))[8:-1]} read as dated by the "
                         "week's last day (recorded as the workspace's week label); if they are "
                         "dated by the week's first day, ingest with --week-label start, which "
                         "leaves a week out until it has ended")


def _pending_key(freq: str) -> str:
    return f"orders_pending:{freq}"


def _set_pending(store: Store, freq: str, pending: str | None) -> None:
    if pending is None:
        store.meta_delete(_pending_key(freq))
    else:
        store.meta_set(_pending_key(freq), pending)


def _sales_from_orders(store: Store, orders: pd.DataFrame, freq: Freq, now: pd.Timestamp,
                       notes: list[str], cancelled: pd.DataFrame | None = None,
                       ) -> tuple[pd.DataFrame, str | None]:
    """Sales of the periods the file's orders fall in, from every order of those periods:
    the stored ones and the file's (which replace stored orders with the same key), so an
    export cut in the middle of a day, or split into two files, adds to the day instead of
    replacing it. Periods from the first one an earlier ingest left out are recomputed too.
    Periods that have not ended at ``now`` are left out (an export made during the day would
    store a partial day as a slow one) and noted; the first of them is returned, to be
    recomputed by the next ingest of orders. Stored lines in ``cancelled`` (order_id,
    unique_id) leave their periods' sales, which become zero where nothing else sold."""
    new = orders.assign(ts=pd.to_datetime(orders["ts"]))
    gone = (store.order_lines(cancelled) if cancelled is not None
            else new.iloc[:0][["order_id", "unique_id", "ts"]])
    step = STEP[freq]
    # the periods rebuilt: the file's own (and from the first one an earlier ingest left
    # out), and each period of a cancelled stored line; not the periods between them, which
    # keep their stored sales (and a missed export among them stays missing)
    ranges: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    if len(new):
        starts = period_start(new["ts"], freq)
        lo = starts.min()
        earlier = store.meta(_pending_key(freq))
        if earlier is not None:
            lo = min(lo, pd.Timestamp(earlier))
        ranges.append((lo, starts.max() + step))
    for p in sorted(set(period_start(pd.to_datetime(gone["ts"]), freq))):
        if not any(a <= p < b for a, b in ranges):
            ranges.append((p, p + step))
    if not ranges:
        return orders_to_sales(new, freq), None
    cols = [c for c in ("order_id", "unique_id", "ts", "quantity", "unit_price") if c in new.columns]
    parts = [store.orders_between(a, b) for a, b in ranges]
    stored = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    if len(stored):
        key = pd.MultiIndex.from_frame(stored[["order_id", "unique_id"]].astype(str))
        mine = pd.MultiIndex.from_frame(pd.concat([new[["order_id", "unique_id"]],
                                                   gone[["order_id", "unique_id"]]]).astype(str))
        stored = stored[~key.isin(mine)]
    combined = (pd.concat([stored[cols].astype(new[cols].dtypes.to_dict()), new[cols]], ignore_index=True)
                if len(stored) else new[cols])
    sales = orders_to_sales(combined, freq)
    inside = np.zeros(len(sales), dtype=bool)
    for a, b in ranges:
        inside |= ((sales["ds"] >= a) & (sales["ds"] < b)).to_numpy()
    sales = sales[inside].reset_index(drop=True)
    if len(gone):  # a product whose only order of a period was cancelled sold nothing then
        zero = pd.DataFrame({"unique_id": gone["unique_id"].astype(str).to_numpy(),
                             "ds": period_start(pd.to_datetime(gone["ts"]), freq).to_numpy()})
        have = pd.MultiIndex.from_frame(sales[["unique_id", "ds"]])
        zero = zero[~pd.MultiIndex.from_frame(zero).isin(have)].drop_duplicates()
        if len(zero):  # (price and promo left out of the zero rows: no all-NA concat)
            zero = zero.assign(y=0.0)
            sales = (zero.reindex(columns=sales.columns) if sales.empty else
                     pd.concat([sales, zero], ignore_index=True).sort_values(
                         ["unique_id", "ds"], ignore_index=True))
    period = "day" if freq == "D" else "week"
    if len(stored):
        notes.append(f"{len(stored):,} order(s) stored before, in the same {period}s, counted in "
                     "those periods' sales")
    open_ = sales["ds"] + STEP[freq] > now
    if not open_.any():
        return sales, None
    first = sales.loc[open_, "ds"].min()
    later = " and later" if sales.loc[open_, "ds"].nunique() > 1 else ""
    notes.append(f"sales of {first.date()}{later} left out: the {period} has not ended yet "
                 f"({now:%Y-%m-%d %H:%M}), so its orders so far would look like a slow {period}; "
                 "the next ingest of orders after it ends adds it from the stored orders")
    return sales[~open_].reset_index(drop=True), first.isoformat()


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
            freq = sales_freq(sales)
            if freq is not None:  # some series has two dates: decidable
                store.meta_setdefault("freq", freq)
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
    scrub: bool = False,
    actor: str | None = None,
    source: str | None = None,
    pseudonym_key: bytes | None = None,
    options: IngestOptions | None = None,
    parse: Callable[..., pd.DataFrame] | None = None,
    now: pd.Timestamp | None = None,
    week_label: str | None = None,
    allow_gaps: bool = False,
    check_gaps: bool = True,
) -> IngestReport:
    """Validate one file and store it, as one batch; on any problem nothing is stored.

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
        scrub: for reviews, replace phone numbers and e-mail addresses in the text.
        actor: who ingests (recorded with the batch: the OS user, an API key id).
        source: what the batch names as its file (default ``path``; an upload's own name).
        pseudonym_key: the workspace's pseudonym key (default: found by
            ``data.pseudonym.workspace_key``).
        options: every reading option (``data.ingest.make_options``: --map with A+B keys,
            --set, --drop, --tz, --date-format, --negatives, --rating-scale, --encoding,
            limits); the keyword arguments above override it when given.
        parse: runs ``data.ingest.load_file`` (the API passes one that parses in a worker
            process); default: in this process.
        now: the ingest time as the workspace's wall clock (default: now); reviews without a
            time get it, and sales (or aggregated orders) leave out the periods not ended by it.
        week_label: how weekly sales are dated, ``start`` (the week's first day) or ``end``
            (its last day); recorded as the workspace's (default: the recorded one, else
            ``start``, recorded when the first weekly sales arrive). See
            :mod:`trendcast.services.open_periods`.
        allow_gaps: store new sales that leave periods with no row for any product after the
            stored ones (a closed shop); otherwise refused as a missed export, unless the
            calendar or the history says such periods are usual
            (:mod:`trendcast.services.continuity`).
        check_gaps: False when the caller checks continuity itself, after several files
            (``update``: one of them may bring the missing period).
    """
    start = time.perf_counter()
    if kind not in TABLE_OF:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(TABLE_OF)}")
    check_week_label(week_label)
    opts, zone = _workspace_options(store, options, tz)
    now = pd.Timestamp.now(tz=zone).tz_localize(None).floor("s") if now is None else pd.Timestamp(now)
    df = (parse or load_file)(path, kind, fmt=fmt, mapping=mapping, sheet=sheet,
                              max_unpacked_mb=None if options else max_unpacked_mb,
                              options=opts, now=now)
    report = IngestReport(str(path), kind, len(df))
    report.notes.extend(df.attrs.get("notes", []))
    report.rows_read += df.attrs.get("lines_not_sold", 0)
    if df.attrs.get("ts_from_ingest"):
        df = _keep_stored_ts(store, df)
    dropped = df.attrs.get("exact_duplicates_dropped", 0)
    if dropped:
        report.rows_read += dropped
        report.notes.append(f"{dropped:,} exact duplicate row(s) (same values in every column) "
                            "kept once")
    frames: dict[str, pd.DataFrame] = {}
    if "unique_id" in df.columns:
        known = known_products(store)  # one read for both
        df = df.assign(unique_id=restore_id_forms(store, df["unique_id"], report.notes, known))
        lookalike_ids(store, df["unique_id"], report.notes, known)
    if kind in ("orders", "reviews"):
        if add_products:
            new = _new_products(store, df["unique_id"])
            if len(new):
                frames["products"] = new
                report.notes.append(f"registered {len(new):,} new product id(s)")
        else:
            check_known_products(df, known_products(store), column="unique_id",
                                 source=str(path))
    freq: str | None = None
    if kind == "sales":
        stored_freq = store.meta("freq")
        if stored_freq and len(df):
            df = on_workspace_calendar(df, str(stored_freq), str(path), report.notes,
                                       store.meta(WEEK_LABEL_KEY) or default_week_label(stored_freq))
        df = _without_open_days(df, now, report.notes)
        # the workspace's frequency; on its first sales, the one this file will give it
        freq = stored_freq or sales_freq(df)
        label = week_label or store.meta(WEEK_LABEL_KEY) or default_week_label(freq)
        df = without_open_periods(df, freq, label, now, report.notes)
    if kind in ("sales", "products"):
        df = _keep_stored_values(store, TABLE_OF[kind], df)
    if kind == "sales":
        new = _new_products(store, df["unique_id"])
        if len(new):
            frames["products"] = new
            report.notes.append(f"{len(new):,} series had no catalogue entry; added as products")
    if kind == "reviews" and scrub:
        df = _scrub(df, report)
    frames[TABLE_OF[kind]] = df
    _pseudonymise(store, frames, report, pseudonymise, pseudonym_key)
    pending: str | None = None
    cancelled = df.attrs.get("cancelled") if kind == "orders" else None
    cancelled = cancelled if cancelled is not None and len(cancelled) else None
    if kind == "orders" and aggregate:
        sales, pending = _sales_from_orders(store, df, aggregate, now, report.notes, cancelled)
        frames["sales"] = _keep_stored_values(store, "sales", sales.drop(columns=["promo"]))
        report.notes.append(
            f"aggregated into {sales['unique_id'].nunique():,} {'daily' if aggregate == 'D' else 'weekly'} "
            f"series ({len(sales):,} rows)"
        )
    builds_sales = check_gaps and "sales" in frames and (kind == "sales" or bool(aggregate))
    span = store.sales_span() if builds_sales else None
    with store.batch(kind, source or str(path), actor=actor) as batch:
        if cancelled is not None:
            gone = store.delete_keys("orders", cancelled, ("order_id", "unique_id"))
            if gone:
                report.notes.append(f"{gone:,} stored order line(s) removed: their orders are "
                                    "no longer sales (cancelled, closed or refunded)")
        report.writes = write_frames(store, frames)
        if builds_sales:
            check_continuity(store, span[1] if span else None, allow_gaps=allow_gaps,
                             notes=report.notes)
            check_units(store, span[1] if span else None, refuse=False, notes=report.notes)
            note_left_out(store, span[1] if span else None, report.notes)
        if kind == "orders" and aggregate:
            _set_pending(store, aggregate, pending)
            if aggregate == "W":  # weeks built from orders are dated by their Monday
                store.meta_setdefault(WEEK_LABEL_KEY, "start")
        if kind == "sales":
            _record_week_label(store, week_label, freq, report.notes)
    store.meta_setdefault("tz", zone)  # only once something was stored: a refused file leaves none
    if kind == "calendar":  # events of several regions below a country: which the models leave out
        report.notes += store.calendar().attrs.get("notes", [])
    report.batch_id = batch.batch_id if batch.changed else None
    report.seconds = time.perf_counter() - start
    return report


def _workspace_options(store: Store, options: IngestOptions | None,
                       tz: str | None) -> tuple[IngestOptions, str]:
    """The options with the workspace's time zone (the stored one, or on a new workspace
    --tz or the proposed default, ``Settings.tz``, which the first ingest stores) and its
    sales frequency."""
    opts = options or IngestOptions()
    file_tz = tz or opts.rules.tz
    zone = store.meta("tz") or file_tz or opts.rules.workspace_tz
    freq = store.meta("freq")  # a monthly workspace reads month labels as its months
    return replace(opts, rules=replace(opts.rules, workspace_tz=zone, tz=file_tz,
                                       workspace_freq=str(freq) if freq else None)), zone


def _keep_stored_ts(store: Store, df: pd.DataFrame) -> pd.DataFrame:
    """Reviews given the ingest time keep the time stored when they were first ingested."""
    if store.count("reviews") == 0:
        return df
    stored = store.stored_values("reviews", df, ["ts"])
    if stored.empty:
        return df
    merged = df.merge(stored.rename(columns={"ts": "_stored_ts"}), on="review_id", how="left")
    merged["ts"] = pd.to_datetime(merged["_stored_ts"]).fillna(merged["ts"]).astype("datetime64[ns]")
    out = merged.drop(columns=["_stored_ts"])
    out.attrs.update(df.attrs)
    return out


def _scrub(df: pd.DataFrame, report: IngestReport) -> pd.DataFrame:
    """Review texts with phone numbers and e-mail addresses replaced; the count in the notes."""
    from trendcast.data.pseudonym import scrub_contacts

    if "text" not in df.columns:
        return df
    texts, counts = scrub_contacts(df["text"])
    df = df.assign(text=texts)
    report.notes.append(f"scrubbed {counts['email']:,} e-mail address(es) and {counts['phone']:,} "
                        f"phone number(s) from {counts['rows']:,} review(s)")
    return df


def _pseudonymise(store: Store, frames: dict[str, pd.DataFrame], report: IngestReport,
                  enabled: bool, key: bytes | None = None) -> None:
    """Replace user ids in ``frames`` in place (orders, events) and say so in the notes."""
    from trendcast.data.pseudonym import USER_COLUMNS, pseudonymise_frame, workspace_key

    tables = [t for t in frames if t in USER_COLUMNS]
    if not tables:
        return
    if not enabled:
        report.notes.append(f"user ids of {', '.join(tables)} kept as given (pseudonymisation off)")
        return
    key = key or workspace_key(store)
    for table in tables:
        frames[table], n = pseudonymise_frame(table, frames[table], key)
        if n:
            report.notes.append(f"{table}: user ids of {n:,} row(s) replaced by workspace pseudonyms "
                                "(keep them with --keep-user-ids / pseudonymise=False)")


def ingest_m5(store: Store, folder: str | Path, *, actor: str | None = None) -> IngestReport:
    """Load an M5 folder: product hierarchy, daily sales with prices, events and SNAP days
    (one batch)."""
    from trendcast.data.m5 import read_m5

    start = time.perf_counter()
    data = read_m5(folder)
    report = IngestReport(str(folder), "m5", len(data.sales))
    with store.batch("m5", str(folder), actor=actor) as batch:
        report.writes = write_frames(
            store,
            {"products": data.products, "sales": data.sales, "calendar_events": data.calendar},
        )
    report.batch_id = batch.batch_id if batch.changed else None
    report.seconds = time.perf_counter() - start
    return report


def ingest_frames(store: Store, frames: Mapping[str, pd.DataFrame], *, source: str,
                  pseudonymise: bool = True, actor: str | None = None) -> IngestReport:
    """Validate and store frames built in code (the simulated shop), in one transaction and
    one batch.

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
    with store.batch(report.kind, source, actor=actor) as batch:
        report.writes = write_frames(store, validated)
    report.batch_id = batch.batch_id if batch.changed else None
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
