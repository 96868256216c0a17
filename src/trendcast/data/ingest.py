"""Turn files of each kind (sales, products, orders, events, reviews, calendar, macro) into
validated frames ready for the store.

Steps: read (``readers``) -> rename by the user's column mapping or a preset -> normalise
(event-type aliases, Unix timestamps, review ids, language, wide macro tables) -> validate
(``validation``). Nothing here touches the store; ``services.ingest`` writes the result.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.data.contract import (
    DECIMALS,
    DEFAULT_RATING_SCALE,
    DEFAULT_TZ,
    MISSING_MARKERS,
    NEGATIVES,
    Found,
    Rules,
    date_layout,
    file_rows,
    joined_text,
    shell_format,
    split_formats,
    to_datetime,
)
from trendcast.data.order_status import find_status_column, split_by_status
from trendcast.data.period_labels import read_period_labels
from trendcast.data.readers import (
    SEPARATORS,
    TOTAL_WORDS,
    Limits,
    max_unpacked_bytes,
    read_frame,
    sheet_with,
)
from trendcast.data.validation import FLAG_WORDS, SPECS, row_label, validate
from trendcast.errors import DataValidationError, InputFileError

KINDS = ("sales", "products", "orders", "events", "reviews", "calendar", "macro", "stock")

# Event names as shops and analytics tools write them (lower case, spaces and dashes as "_"):
# Taobao's pv/cart/fav/buy, GA4's view_item/add_to_cart/add_to_wishlist/purchase, Shopify's
# product_viewed/product_added_to_cart, and Chinese back ends' 浏览/加购/收藏/购买.
EVENT_ALIASES = {
    "pv": "view", "view": "view", "click": "view", "browse": "view", "view_item": "view",
    "product_viewed": "view", "page_view": "view", "浏览": "view", "点击": "view", "查看": "view",
    "cart": "cart", "addtocart": "cart", "add_to_cart": "cart", "product_added_to_cart": "cart",
    "加购": "cart", "加入购物车": "cart", "购物车": "cart",
    "fav": "fav", "favorite": "fav", "favourite": "fav", "collect": "fav",
    "add_to_wishlist": "fav", "wishlist": "fav", "收藏": "fav", "关注": "fav",
    "buy": "buy", "purchase": "buy", "order": "buy", "transaction": "buy",
    "checkout_completed": "buy", "购买": "buy", "下单": "buy", "成交": "buy", "支付": "buy",
}
_EVENT_SEPARATORS = re.compile(r"[\s\-]+")


def event_alias(value: object) -> object:
    """trendcast's name of a behaviour event as written by a shop (:data:`EVENT_ALIASES`);
    anything else unchanged."""
    if not isinstance(value, str):
        return value
    return EVENT_ALIASES.get(_EVENT_SEPARATORS.sub("_", value.strip().lower()), value)


@dataclass(frozen=True)
class Preset:
    """A known file layout: its kind, column names and how to normalise it."""

    kind: str
    header: bool = True
    names: tuple[str, ...] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None


PRESETS: dict[str, Preset] = {
    # Alibaba Tianchi UserBehavior: no header; Unix seconds (stored in the workspace's zone,
    # China time by default).
    "taobao": Preset(
        "events",
        header=False,
        names=("user_id", "item_id", "category_id", "event_type", "ts"),
    ),
    # Amazon Review Data (2018) JSON lines.
    "amazon-reviews": Preset(
        "reviews",
        rename={"asin": "unique_id", "unixReviewTime": "ts", "overall": "rating",
                "reviewText": "text"},
        language="en",
    ),
}


@dataclass(frozen=True)
class IngestOptions:
    """How to read one file: the same options on ``trendcast ingest`` and ``POST /api/uploads``.

    Attributes:
        fmt: a preset layout (``taobao``, ``amazon-reviews``).
        mapping: (target, source) pairs from ``--map TARGET=SOURCE``; a source ``A+B`` joins
            columns A and B with ``_`` into one key (``--map unique_id=Store+Dept``).
        constants: (column, value) pairs from ``--set COLUMN=VALUE``: a column with one value.
        drop: columns to leave out (``--drop``), e.g. a flag column in a wide macro table.
        rules: how values are read (time zones, date format, negatives, rating scale).
        encoding: the text encoding (default: detected).
        sheet: Excel sheet.
        limits: what reading may cost.
        columns: the names of a file without a header line, in order (``--columns``).
    """

    fmt: str | None = None
    mapping: tuple[tuple[str, str], ...] = ()
    constants: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()
    rules: Rules = field(default_factory=Rules)
    encoding: str | None = None
    sheet: str | int | None = None
    limits: Limits = field(default_factory=Limits)
    columns: tuple[str, ...] = ()


def _pairs(values: list[str] | None, option: str, example: str) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in values or []:
        if "=" not in pair:
            raise InputFileError(f"{option} {pair!r}: expected NAME=VALUE, for example {option} {example}")
        left, right = (p.strip() for p in pair.split("=", 1))
        if not left or not right:
            raise InputFileError(f"{option} {pair!r}: both sides of '=' are needed, for example "
                                 f"{option} {example}")
        out.append((left, right))
    targets = [t for t, _ in out]
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise InputFileError(f"{option} names {repeated} more than once")
    return tuple(out)


def make_options(
    *,
    fmt: str | None = None,
    mapping: list[str] | None = None,
    constants: list[str] | None = None,
    drop: list[str] | None = None,
    tz: str | None = None,
    workspace_tz: str = DEFAULT_TZ,
    date_format: str | None = None,
    negatives: str | None = None,
    rating_scale: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    limits: Limits | None = None,
    decimal: str | None = None,
    columns: str | None = None,
) -> IngestOptions:
    """Check option strings as a user types them and build :class:`IngestOptions`."""
    names = tuple(c.strip() for c in (columns or "").split(",")) if columns else ()
    if names and (not all(names) or len(set(names)) < len(names)):
        raise InputFileError(f"--columns {columns!r}: name every column once, in order, separated by "
                             "commas, e.g. --columns text,rating")
    if names and fmt:
        raise InputFileError(f"--columns with --format {fmt}: the format names its own columns")
    for zone, option in ((tz, "--tz"), (workspace_tz, "the workspace time zone")):
        if zone is not None:
            _check_zone(zone, option)
    if negatives is not None and negatives not in NEGATIVES:
        raise InputFileError(f"--negatives {negatives!r}: choose one of {', '.join(NEGATIVES)}")
    if decimal is not None and decimal not in DECIMALS:
        raise InputFileError(f"--decimal {decimal!r}: choose '.' (1,234.50) or ',' (1.234,50)")
    if date_format is not None and (not split_formats(date_format) or any(
            "%" not in f for f in split_formats(date_format))):
        raise InputFileError(f"--date-format {date_format!r}: expected a strftime format such as "
                             "%m/%d/%y, %d-%b-%y or %Y-%m")
    scale = DEFAULT_RATING_SCALE
    if rating_scale:
        try:
            low, high = (float(x) for x in rating_scale.replace(",", "-").split("-", 1))
        except ValueError:
            raise InputFileError(f"--rating-scale {rating_scale!r}: expected LOW-HIGH, e.g. 1-5 "
                                 "or 0-10") from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise InputFileError(f"--rating-scale {rating_scale!r}: LOW must be below HIGH")
        scale = (low, high)
    rules = Rules(workspace_tz=workspace_tz, tz=tz, date_format=date_format or None,
                  negatives=negatives or "reject", rating_scale=scale, decimal=decimal or None)
    return IngestOptions(
        fmt=fmt or None,
        mapping=_pairs(mapping, "--map", "y=units_sold"),
        constants=_pairs(constants, "--set", "kind=holiday"),
        drop=tuple(d.strip() for d in drop or [] if d.strip()),
        rules=rules, encoding=encoding or None, sheet=sheet, limits=limits or Limits(),
        columns=names,
    )


def _check_zone(zone: str, option: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputFileError(f"{option} {zone!r} is not a time zone; use an IANA name such as "
                             "Asia/Shanghai, Europe/Berlin or UTC") from None


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Parse ``--map target=source`` options into {source: target}."""
    return {source: target for target, source in _pairs(pairs, "--map", "y=units_sold")}


def load_file(
    path: str | Path,
    kind: str,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    tz: str | None = None,
    sheet: str | int | None = None,
    max_unpacked_mb: int | None = None,
    options: IngestOptions | None = None,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Read, normalise and validate one file of ``kind``; raise on any bad row.

    The frame's ``attrs['notes']`` says what was detected or changed (encoding, extra
    columns, negatives, generated review ids, ingest-time timestamps).

    Args:
        path: the file (CSV, CSV.gz, TSV, JSON lines, Parquet or Excel).
        kind: one of ``KINDS``.
        fmt: a preset layout name (``taobao``, ``amazon-reviews``), or None.
        mapping: {column in file: trendcast column}, applied before validation.
        tz: the zone of naive date-times in the file (default: the workspace's).
        sheet: Excel sheet.
        max_unpacked_mb: largest size a .gz or .zip may unpack to.
        options: every option at once (the ones above override it when given).
        now: the ingest time (workspace-local), for reviews without timestamps.
    """
    opts = options or IngestOptions()
    if fmt or mapping or tz or sheet is not None or max_unpacked_mb is not None:
        extra = tuple((t, s) for s, t in (mapping or {}).items())
        limits = opts.limits if max_unpacked_mb is None else replace(
            opts.limits, max_unpacked_bytes=max_unpacked_bytes(max_unpacked_mb))
        opts = replace(opts, fmt=fmt or opts.fmt, mapping=opts.mapping + extra,
                       rules=replace(opts.rules, tz=tz or opts.rules.tz),
                       sheet=sheet if sheet is not None else opts.sheet, limits=limits)
    fmt = opts.fmt
    preset = PRESETS.get(fmt or "")
    if fmt and preset is None:
        raise InputFileError(
            f"unknown format {fmt!r}; known: {', '.join(sorted(PRESETS))}, m5 (a folder)"
        )
    if preset and preset.kind != kind:
        raise InputFileError(f"format {fmt!r} holds {preset.kind}, not {kind}")
    if kind not in KINDS:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    raw = read_frame(
        path,
        header=preset.header if preset else not opts.columns,
        names=preset.names if preset else (opts.columns or None),
        sheet=opts.sheet,
        limits=opts.limits,
        encoding=opts.encoding,
    )
    source = str(path)
    if len(raw.attrs.get("sheets") or []) > 1:
        _data_on_another_sheet(path, raw, kind, opts)
    if not preset and not opts.columns:
        _header_that_is_data(source, raw, kind, opts)
        _columns_of_a_preset(source, raw, kind, opts)
    notes: list[str] = []
    if raw.attrs.get("encoding"):
        notes.append(f"read as {raw.attrs['encoding']} text"
                     + (" (detected)" if not opts.encoding else " (--encoding)"))
    if raw.attrs.get("disguised"):
        notes.append(raw.attrs["disguised"])
    if raw.attrs.get("separator"):
        notes.append(f"columns separated by {SEPARATORS[raw.attrs['separator']]} (detected from "
                     "the header line)")
    if raw.attrs.get("empty_rows"):
        notes.append(f"{raw.attrs['empty_rows']:,} empty row(s) skipped")
    for key, what in (("title_lines", "title line(s) above the header"),
                      ("total_lines", "total line(s) at the end"),
                      ("note_lines", "note line(s) below the data")):
        lines = raw.attrs.get(key)
        if lines:
            word = f": {raw.attrs['total_word']!r}" if key == "total_lines" else ""
            notes.append(f"{len(lines):,} {what} skipped (line "
                         f"{', '.join(str(n) for n in lines)}{word})")
    if raw.attrs.get("header_lines_joined"):
        first, second = raw.attrs["header_lines_joined"]
        notes.append(f"header written on two lines (line {first}, {second}) read as one: the names on "
                     f"line {second}, under their group's where one repeats")
    if raw.attrs.get("header_lines"):
        lines = raw.attrs["header_lines"]
        shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
        notes.append(f"{len(lines):,} repeated header line(s) skipped (line {shown}): the file "
                     "looks like exports pasted one below the other")
    raw = _text_formulas(raw, notes)
    _check_targets(raw, kind, opts, source)
    _merged_columns(raw.attrs.get("merged") or {}, kind, preset, opts, source, notes)
    raw = _apply_columns(raw, preset, opts, source)
    mapping = dict(opts.mapping)
    raw = _drop_sum_lines(raw, kind, mapping, notes)
    raw = _drop_unreported_tail(raw, kind, mapping, notes)
    raw = _order_fields_from_another_line(raw, kind, mapping, notes)
    raw = _drop_days_without_event(raw, kind, mapping, notes)
    raw = _match_case(raw, kind, notes)
    raw.attrs["notes"] = notes
    rules = opts.rules
    raw = normalise(raw, kind, rules=rules, language=preset.language if preset else None,
                    now=now, notes=notes)
    spec = SPECS[kind]
    used = set(spec.columns) | {"end"}
    used |= set(raw.attrs.get("_keys", []))
    cancelled = _order_status(raw, kind, used, source, notes, dict(opts.mapping).get("status"))
    not_sold = 0
    if cancelled is not None:
        not_sold = len(raw) - len(cancelled[0])
        raw = cancelled[0]
    extra = [c for c in raw.columns if c not in used and not str(c).startswith("_")]
    if extra:
        notes.append(f"extra column(s) not stored: {', '.join(map(str, extra[:20]))}"
                     + (f" and {len(extra) - 20} more" if len(extra) > 20 else "")
                     + " (map one with --map TARGET=COLUMN)")
    out = validate(raw, kind, source=source, rules=rules)
    out.attrs["notes"] = notes + [n for n in out.attrs.get("notes", []) if n not in notes]
    out.attrs["ts_from_ingest"] = bool(raw.attrs.get("ts_from_ingest"))
    if cancelled is not None:
        out.attrs["cancelled"] = cancelled[1]
        out.attrs["lines_not_sold"] = not_sold
    return out


# Keys whose cell names a report's summing line instead of a product, order or user: the
# words of a total line (合计, Subtotal, Grand Total), Excel's subtotals ("1 Total") and a
# group's sum in a Chinese back end ("北京 小计").
_SUM_SUFFIX = re.compile(r"^\S.*\s(total|subtotal)$|^.*(小计|合计|总计)$", re.IGNORECASE)
_KEY_TARGETS = ("unique_id", "order_id", "item_id", "user_id")
_SUM_HINT = re.compile(r"total|sum|合计|小计|总计|汇总", re.IGNORECASE)  # cheap first look


def is_sum_word(value: object) -> bool:
    """Whether a key cell names a report's summing line (``合计``, ``1 Total``, ``华东 小计``)."""
    text = str(value).strip().rstrip(":：").strip()
    return text.lower() in TOTAL_WORDS or bool(_SUM_SUFFIX.match(text))


def _drop_sum_lines(raw: pd.DataFrame, kind: str, mapping: Mapping[str, str],
                    notes: list[str]) -> pd.DataFrame:
    """Lines whose key (or a part of a joined key) is a summing word (``小计``, ``Subtotal``,
    Excel's ``1 Total``) left out, with a note that names their lines: a report's sums inside
    the data, which would otherwise be stored as a product (``1_Subtotal``) holding the
    group's total, or be refused as an empty key. The file's own rows of the others keep
    their line numbers."""
    if kind not in ("sales", "orders", "products", "reviews", "events") or raw.empty:
        return raw
    # the parts of a joined key first: the note names the file's column that holds the word
    columns = [c for c in (*raw.attrs.get("_keys", []), *_KEY_TARGETS) if c in raw.columns]
    hit = np.zeros(len(raw), dtype=bool)
    first: tuple[str, str] | None = None
    for col in dict.fromkeys(columns):
        values = raw[col].astype("string").str.strip()
        unique = pd.Series(values.dropna().unique(), dtype="string")  # ids repeat: each once
        maybe = unique[unique.str.contains(_SUM_HINT, regex=True).fillna(False).to_numpy(dtype=bool)]
        words = [v for v in maybe if is_sum_word(v)]
        if not words:
            continue
        mask = values.isin(words).fillna(False).to_numpy(dtype=bool)
        if first is None:
            first = (mapping.get(col, col), str(values.iloc[int(np.flatnonzero(mask)[0])]))
        hit |= mask
    if not hit.any() or first is None:
        return raw
    shown = _file_lines(raw, np.flatnonzero(hit))
    noun = {"sales": "products", "products": "products", "orders": "orders", "reviews": "reviews",
            "events": "events"}[kind]
    notes.append(f"{int(hit.sum()):,} subtotal line(s) skipped (line {shown}: {first[1]!r} in column "
                 f"{first[0]!r}): a report's sums, not {noun}")
    return _keep_rows(raw, hit)


def _keep_rows(raw: pd.DataFrame, drop: np.ndarray) -> pd.DataFrame:
    """``raw`` without the rows ``drop`` marks; the kept rows keep their file positions."""
    rows = raw.attrs.get("_rows")
    kept = np.flatnonzero(~drop)
    out = raw.iloc[kept].reset_index(drop=True)
    out.attrs.update(raw.attrs)
    out.attrs["_rows"] = file_rows(np.asarray(rows)[kept] if rows is not None else kept)
    return out


def _file_lines(raw: pd.DataFrame, positions: np.ndarray, most: int = 5) -> str:
    """The file lines of the rows at ``positions`` (the first ``most``, then "...")."""
    lines = [row_label(raw, int(pos))[0] for pos in positions[:most]]
    if raw.attrs.get("header"):
        lines = [n + 1 for n in lines if n is not None]
    return ", ".join(str(n) for n in lines) + (", ..." if len(positions) > most else "")


def _blank(values: pd.Series, markers: tuple[str, ...] = ()) -> np.ndarray:
    """Cells with nothing in them (missing, spaces, or one of ``markers`` such as ``NA``)."""
    text = values.astype("string").str.strip()
    return (values.isna() | text.isin(markers) | (text == "")).fillna(True).to_numpy(dtype=bool)


def _drop_unreported_tail(raw: pd.DataFrame, kind: str, mapping: Mapping[str, str],
                          notes: list[str]) -> pd.DataFrame:
    """Sales rows with a blank value after the last value of their series (in file order) left
    out, with a note that names their lines: a period not reported yet (R's ``ausbeer`` ends
    with an empty 2008 Q4; a sheet's row for the month under way). Storing nothing for them
    loses nothing; a blank between two values is still refused (zero, or a missed count?)."""
    if kind != "sales" or raw.empty or "y" not in raw.columns:
        return raw
    blank = _blank(raw["y"], MISSING_MARKERS)
    if not blank.any():
        return raw
    order = np.arange(len(raw))
    keys = (raw["unique_id"].astype("string").fillna("").to_numpy() if "unique_id" in raw.columns
            else np.zeros(len(raw), dtype=int))
    last = pd.Series(np.where(blank, -1, order)).groupby(keys).transform("max").to_numpy()
    tail = blank & (order > last) & (last >= 0)  # a series without any value is still refused
    if not tail.any():
        return raw
    shown = _file_lines(raw, np.flatnonzero(tail))
    notes.append(f"{int(tail.sum()):,} row(s) with no value in column {mapping.get('y', 'y')!r} after their "
                 f"series' last value left out (line {shown}): periods not reported yet; a blank "
                 "between two values is refused")
    return _keep_rows(raw, tail)


def _drop_days_without_event(raw: pd.DataFrame, kind: str, mapping: Mapping[str, str],
                             notes: list[str]) -> pd.DataFrame:
    """A calendar of every day (M5's calendar.csv, a date table) whose event name is blank on
    the days without one: those rows are no event, left out with a note. A file whose names
    are all blank (a wrong column mapped) is still refused."""
    if kind != "calendar" or raw.empty or "name" not in raw.columns:
        return raw
    blank = _blank(raw["name"])
    if not blank.any() or blank.all():
        return raw
    column = mapping.get("name", "name")
    notes.append(f"{int(blank.sum()):,} day(s) without an event name (column {column!r}) left out: a "
                 f"calendar of every day, {int((~blank).sum()):,} with an event")
    return _keep_rows(raw, blank)


_ORDER_FIELDS = ("ts", "user_id", "status")  # one value per order, whatever its lines


def _order_fields_from_another_line(raw: pd.DataFrame, kind: str, mapping: Mapping[str, str],
                                    notes: list[str]) -> pd.DataFrame:
    """Order lines whose order-level fields (time, buyer, status) are blank while another line
    of the same order gives them (Shopify's export writes ``Paid at`` and ``Financial Status``
    on an order's first line only) take them from that line, with a note. A field an order
    gives two different values of, or none, stays as it is (refused when it is required)."""
    if kind != "orders" or raw.empty or "order_id" not in raw.columns:
        return raw
    order = raw["order_id"].astype("string").str.strip()
    filled: list[str] = []
    touched = np.zeros(len(raw), dtype=bool)
    out = raw
    for col in _ORDER_FIELDS:
        if col not in raw.columns:
            continue
        blank = _blank(raw[col])
        if not blank.any() or blank.all():
            continue
        given = pd.DataFrame({"order": order[~blank], "value": raw[col][~blank],
                              "text": raw[col][~blank].astype("string").str.strip()}).dropna(subset=["order"])
        one = given.groupby("order")["text"].nunique()
        value = given.drop_duplicates("order").set_index("order")["value"][one[one == 1].index]
        fill = blank & order.isin(value.index).fillna(False).to_numpy(dtype=bool)
        if not fill.any():
            continue
        if out is raw:
            out = raw.copy()
            out.attrs.update(raw.attrs)
        column = out[col].astype(object)
        column[fill] = order[fill].map(value).to_numpy()
        out[col] = column
        touched |= fill
        filled.append(f"{col} ({mapping.get(col, col)!r})" if mapping.get(col, col) != col else col)
    if filled:
        first = int(np.flatnonzero(touched)[0])
        line = _file_lines(raw, np.array([first]))
        notes.append(f"{', '.join(filled)} blank on {int(touched.sum()):,} order line(s) whose order gives "
                     f"them on another line (e.g. line {line}, order {str(order.iloc[first])!r}): taken "
                     "from that line, as an export that writes an order's fields on its first line only")
    return out


def _missing_columns(raw: pd.DataFrame, kind: str, opts: IngestOptions) -> list[str]:
    """The columns the ingest needs (--map sources, the kind's required ones not mapped or
    set) that the frame lacks, case and spaces aside."""
    have = {str(c).strip().lower() for c in raw.columns}
    sources = [part.strip() for _, expr in opts.mapping for part in expr.split("+")]
    targets = {t for t, _ in opts.mapping} | {n for n, _ in opts.constants}
    required = [c for c, col in SPECS[kind].columns.items()
                if col.required and c not in targets and c not in SPECS[kind].made_up]
    return [c for c in dict.fromkeys(sources + required) if c.strip().lower() not in have]


_NUMBER_CELL = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")
_DATE_CELL = re.compile(r"^\d{4}[-/.年]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _cell_class(value: object) -> str:
    text = str(value).strip()
    return "number" if _NUMBER_CELL.match(text) else "date" if _DATE_CELL.match(text) else "text"


def _header_that_is_data(source: str, raw: pd.DataFrame, kind: str, opts: IngestOptions) -> None:
    """A file without a header line, whose first row was read as the names: refused when the
    ingest lacks columns it needs, saying so and naming --columns. The first row is taken for
    data when each of its cells is of the kind its column holds (a number over numbers, text
    over text) and one of them is a number or a date; a wide table's dates over numbers are
    names. A first row of text only is data when a cell reads as a sentence (a review).
    (Before, the error listed the first review's text as a column.)"""
    if raw.empty or not _missing_columns(raw, kind, opts):
        return
    head = [_cell_class(c) for c in raw.columns]
    if all(h == "text" for h in head):  # only a sentence tells text data from text names
        said = next((str(c) for c in raw.columns if _reads_as_sentence(c)), None)
        if said is not None:
            _refuse_first_line(source, raw, kind, said, "unique_id,text" if kind == "reviews" else None)
        return
    for name, cls in zip(raw.columns, head, strict=True):
        values = raw[name].dropna().head(20)
        if values.empty or values.map(_cell_class).value_counts().idxmax() != cls:
            return
    shown = next(str(c) for c, h in zip(raw.columns, head, strict=True) if h != "text")
    if _reads_as_taobao(raw):
        raise InputFileError(
            f"{source}: the first line looks like data, not a header ({shown!r} is a column name): the file "
            "reads as Taobao user behaviour (user, item, category, pv/cart/fav/buy, Unix time): pass "
            "--format taobao")
    _refuse_first_line(source, raw, kind, shown)


_TAOBAO_BEHAVIOURS = frozenset({"pv", "cart", "fav", "buy"})


def _columns_of_a_preset(source: str, raw: pd.DataFrame, kind: str, opts: IngestOptions) -> None:
    """A file with a preset's own column names (Amazon's asin, reviewText, ...) given without
    --format and lacking the columns the ingest needs: refused naming the format."""
    if opts.mapping or not _missing_columns(raw, kind, opts):
        return
    have = {str(c) for c in raw.columns}
    for name, preset in PRESETS.items():
        if preset.rename and set(preset.rename) <= have:
            raise InputFileError(
                f"{source}: the columns are those of the {name} layout ({', '.join(preset.rename)}): "
                f"pass --format {name}")


def _reads_as_taobao(raw: pd.DataFrame) -> bool:
    """Five columns whose fourth holds Taobao's behaviour codes (its name too: the first row)."""
    if raw.shape[1] != 5:
        return False
    codes = {str(raw.columns[3]).strip(), *raw.iloc[:50, 3].astype(str).str.strip()}
    return codes <= _TAOBAO_BEHAVIOURS


# a review's sentence, not a column's name: CJK sentence punctuation, or words ending with a stop
_SENTENCE = re.compile(r"[，。！？；]|\S+\s+\S+\s+\S+.*[.!?]\s*$")


def _reads_as_sentence(name: object) -> bool:
    text = str(name).strip()
    return len(text) >= 8 and bool(_SENTENCE.search(text))


def _refuse_first_line(source: str, raw: pd.DataFrame, kind: str, shown: str,
                       example: str | None = None) -> None:
    example = example or {"reviews": "text,rating", "sales": "unique_id,ds,y",
               "orders": "order_id,unique_id,ts,quantity", "events": "user_id,item_id,event_type,ts",
               "products": "unique_id,title,category", "calendar": "ds,name",
               "macro": "ds,name,value"}.get(kind, "a,b,c")
    raise InputFileError(
        f"{source}: the first line looks like data, not a header ({shown!r} is a column name): if the "
        f"file has no header line, name its {raw.shape[1]} columns in order with --columns, e.g. "
        f"--columns {example}")


def _data_on_another_sheet(path: str | Path, raw: pd.DataFrame, kind: str, opts: IngestOptions) -> None:
    """A workbook read at its first sheet (no --sheet) that lacks the columns the ingest needs
    while another sheet has them (a 说明 or summary sheet in front of the data): refused,
    naming that sheet and --sheet. Otherwise the usual column errors follow."""
    missing = _missing_columns(raw, kind, opts)
    if not missing:
        return
    sheets = raw.attrs["sheets"]
    found = sheet_with(path, missing, sheets[1:])
    if found is not None:
        typed = found if re.fullmatch(r"[\w.-]+", found) else shlex.quote(found)
        raise InputFileError(
            f"{path}: the first sheet {sheets[0]!r} has no column(s) {', '.join(map(repr, missing))}; "
            f"sheet {found!r} has them: pass --sheet {typed}")


def _order_status(raw: pd.DataFrame, kind: str, used: set[str], source: str,
                  notes: list[str], mapped: str | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Orders with a mapped ``status`` (``mapped``: its --map source): the lines that are
    sales, and the keys of those that are not (:mod:`trendcast.data.order_status`). A status
    column left unmapped is refused, also beside a mapped one (Taobao's 退款状态, a line's
    refund, beside the order's 订单状态)."""
    if kind != "orders":
        return None
    found = find_status_column(raw, used | {"status"})
    if found:
        col, value, n = found
        if "status" not in raw.columns:
            raise InputFileError(
                f"{source}: column {col!r} holds order statuses, {n:,} line(s) not a sale (e.g. "
                f"{value!r}): they would count as sales. Map it with --map status={col} to leave "
                f"them out, or --drop {col} if every line is a sale")
        raise InputFileError(
            f"{source}: column {col!r} also holds order statuses, {n:,} line(s) not a sale (e.g. "
            f"{value!r}): they would count as sales. Read both with --map status={mapped or 'STATUS'}"
            f"+{col} (a line is left out when either says it is not a sale), or --drop {col}")
    if "status" not in raw.columns:
        return None
    split = split_by_status(raw)
    notes.extend(split.notes)
    return split.kept, split.cancelled


# Columns a kind reads beyond its stored ones: a calendar range's last day, a review's
# headline and reviewer (part of its id), an order line's status.
EXTRA_TARGETS = {"calendar": {"end"}, "reviews": {"summary", "reviewerID", "user_id"},
                 "orders": {"status"}}
# What users often mean by a column name that the kind does not have.
LIKELY = {"ds": ("ts",), "ts": ("ds",), "date": ("ds", "ts"), "time": ("ts", "ds"),
          "y": ("quantity",), "quantity": ("y",), "qty": ("y", "quantity"), "units": ("y", "quantity"),
          "sales": ("y",), "price": ("unit_price", "list_price"), "unit_price": ("price",),
          "product_id": ("unique_id", "item_id"), "sku": ("unique_id", "item_id"),
          "item_id": ("unique_id",), "unique_id": ("item_id",), "review": ("text",),
          "content": ("text",), "comment": ("text",), "stars": ("rating",), "score": ("rating",)}


def _check_targets(raw: pd.DataFrame, kind: str, opts: IngestOptions, source: str) -> None:
    """A ``--map``/``--set`` target the kind does not have would be dropped as an extra
    column, and the column it was meant for left out or filled by a default (a review's time
    set to the ingest time): refuse it and name the likely column."""
    if kind == "macro" and "value" not in raw.columns:
        return  # a wide macro table: every column but ds and name is an indicator
    known = list(SPECS[kind].columns)
    allowed = set(known) | EXTRA_TARGETS.get(kind, set())
    for option, pairs in (("--map", opts.mapping), ("--set", opts.constants)):
        for target, value in pairs:
            if target in allowed:
                continue
            likely = [c for c in LIKELY.get(target.lower(), ()) if c in known]
            likely = likely or difflib.get_close_matches(target.lower(), known, n=1, cutoff=0.6)
            hint = f"; did you mean {option} {likely[0]}={value}?" if likely else ""
            raise InputFileError(
                f"{source}: {option} {target}={value}: {kind} files have no column {target!r} "
                f"(their columns are {', '.join(known)}){hint}")


# Kinds of value a merged cell cannot give each row it spans: a number merged over rows (an
# order's total over its lines, a day's sales over its products) belongs to none of them.
_AMOUNTS = ("quantity", "price", "amount", "nonneg", "number", "rating")


def _merged_columns(merged: Mapping[str, list[str]], kind: str, preset: Preset | None,
                    opts: IngestOptions, source: str, notes: list[str]) -> None:
    """Columns whose cells were merged over several rows (filled down by the reader): noted
    where they give a key, a name or a date; refused where they give a number."""
    spec = SPECS.get(kind)
    for column, refs in merged.items():
        targets = {column} | {(preset.rename if preset else {}).get(column, column)}
        targets |= {t for t, expr in opts.mapping
                    if expr == column or column in (p.strip() for p in expr.split("+"))}
        used = sorted(t for t in targets if spec and t in spec.columns)
        if not used:
            continue  # a column the ingest does not read
        numbers = [t for t in used if spec and spec.columns[t].kind in _AMOUNTS]
        shown = ", ".join(refs[:3]) + (", ..." if len(refs) > 3 else "")
        if numbers:
            raise DataValidationError(
                f"{source}: column {column!r} ({numbers[0]}) has cells merged over several rows "
                f"({shown}): a number cannot be shared between the rows it spans (a total over "
                "an order's lines?); unmerge the cells and give each row its own value")
        notes.append(f"column {column!r}: {len(refs):,} merged cell(s) over several rows "
                     f"({shown}) read as their value on every row they span")


def _apply_columns(raw: pd.DataFrame, preset: Preset | None, opts: IngestOptions,
                   source: str) -> pd.DataFrame:
    """Presets' renames, then --map (with A+B keys), --set and --drop."""
    attrs = dict(raw.attrs)
    columns = list(raw.columns)
    unknown = [c for c in opts.drop if c not in columns]
    if unknown:
        raise InputFileError(f"{source}: --drop names column(s) {unknown} that the file does not "
                             f"have; its columns are {columns}")
    raw = raw.drop(columns=list(opts.drop))
    if preset and preset.rename:
        raw = raw.rename(columns={k: v for k, v in preset.rename.items() if k in raw.columns})
    out = raw.copy()
    mapped_sources: set[str] = set()
    used: set[str] = set()
    targets = [t for t, _ in opts.mapping]
    for target, expr in opts.mapping:
        if expr in raw.columns:
            out[target] = raw[expr]
            mapped_sources.add(expr)
            continue
        parts = [p.strip() for p in expr.split("+")]
        missing = [p for p in parts if p not in raw.columns]
        if len(parts) < 2 or missing:
            raise DataValidationError(
                f"{source}: --map {target}={expr} names column(s) {missing or [expr]} that the "
                f"file does not have; its columns are {list(raw.columns)}"
                + ("; join columns into one key with +, e.g. --map unique_id=Store+Dept"
                   if len(parts) < 2 else ""))
        used.update(parts)
        texts = [_key_text(raw[p]) for p in parts]
        if target == "status":  # an order's status and its line's refund status: both read
            joined = texts[0]
            for t in texts[1:]:
                joined = joined.where(t.isna(), (joined + "，" + t).fillna(t))
            out[target] = joined.astype(object).where(joined.notna(), None)
            continue
        glue = "_"
        if target in ("ts", "ds"):  # a date and a time in two columns (an Excel date cell
            glue = " "              # reads as midnight: its time is the other column's)
            texts = [t.str.replace(r" 00:00:00$", "", regex=True) for t in texts[:-1]] + texts[-1:]
        joined = texts[0]
        for t in texts[1:]:
            joined = joined + glue + t
        out[target] = joined.where(pd.concat(texts, axis=1).notna().all(axis=1)).astype(object)
    # A renamed column leaves; the file's own column of a mapped name would be ambiguous.
    for target, expr in opts.mapping:
        if target in raw.columns and target not in mapped_sources and target != expr:
            raise DataValidationError(
                f"{source}: --map {target}={expr}, but the file already has a column {target!r}; "
                f"rename or --drop one of them")
    gone = [s for s in mapped_sources if s not in targets]
    out = out.drop(columns=gone)
    for name, value in opts.constants:
        if name in out.columns:
            raise DataValidationError(f"{source}: --set {name}={value}, but the file already has "
                                      f"a column {name!r}; --drop it first or leave out --set")
        out[name] = value
    out.attrs.update(attrs)
    out.attrs["_keys"] = sorted(used)
    return out


# ="6901234567890": a back end's CSV cell written as an Excel formula, so Excel keeps a long
# number as text; '0123: Excel's text prefix. Both are the text inside.
_FORMULA = re.compile(r'^\s*=\s*"(.*)"\s*$', re.S)
_PREFIXED = re.compile(r"^\s*'(\d[\d\-]*)\s*$")


def _text_formulas(raw: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Cells written as Excel text formulas (``="6901234567890"``) or with Excel's text
    prefix (``'0123``) read as the text inside, per column, said in the notes; otherwise an
    id would be stored as ``="6901234567890"`` and never meet the same product elsewhere."""
    changed: dict[str, tuple[int, str]] = {}
    out = raw
    for column in raw.columns:
        values = raw[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        seen = "\x00" + joined_text(values)
        if '="' not in seen.replace(" ", "") and "\x00'" not in seen.replace("\x00 ", "\x00"):
            continue  # one look at the whole column: no formula, no text prefix
        text = values.astype("string")
        lead = text.str.lstrip().str[:1]
        maybe = lead.isin(["=", "'"]).fillna(False).to_numpy(dtype=bool)
        if not maybe.any():
            continue
        inner = text[maybe].str.extract(_FORMULA, expand=False)
        inner = inner.fillna(text[maybe].str.extract(_PREFIXED, expand=False))
        hit = inner.notna()
        if not hit.any():
            continue
        if out is raw:
            out = raw.copy()
            out.attrs.update(raw.attrs)
        rows = hit[hit].index
        out.loc[rows, column] = inner[hit].astype(object)
        changed[str(column)] = (int(hit.sum()), str(values.loc[rows[0]]))
    for column, (n, example) in changed.items():
        notes.append(f"column {column!r}: {n:,} value(s) written as Excel text ({example!r}) read as "
                     "the text inside")
    return out


def _match_case(raw: pd.DataFrame, kind: str, notes: list[str]) -> pd.DataFrame:
    """A column named like one of trendcast's but in other case (``Unique_ID``, ``DS``) is
    read as it, when exactly one column matches; said in the notes."""
    columns = [str(c) for c in raw.columns]
    renames = {}
    for name in SPECS[kind].columns:
        if name in columns:
            continue
        same = [c for c in columns if c.lower() == name and c not in SPECS[kind].columns]
        if len(same) == 1:
            renames[same[0]] = name
    if not renames:
        return raw
    notes.append("column(s) " + ", ".join(f"{k!r} read as {v!r}" for k, v in renames.items()))
    attrs = dict(raw.attrs)
    out = raw.rename(columns=renames)
    out.attrs.update(attrs)
    return out


def _key_text(values: pd.Series) -> pd.Series:
    """A key part as text: 1.0 from a numeric column stays '1', and so does the text '1.0'
    of a column of whole numbers (a re-export written by another tool), so CSV, Excel and
    Parquet copies of one file give the same keys."""
    if pd.api.types.is_float_dtype(values) and values.dropna().map(float.is_integer).all():
        values = values.astype("Int64")
    text = values.astype("string").str.strip()
    whole = text.dropna()
    if len(whole) and whole.str.fullmatch(r"-?\d+(?:\.0+)?").all():
        text = text.str.replace(r"\.0+$", "", regex=True)
    return text.mask(text == "")


def normalise(df: pd.DataFrame, kind: str, *, rules: Rules | None = None,
              language: str | None = None, now: pd.Timestamp | None = None,
              notes: list[str] | None = None) -> pd.DataFrame:
    """Kind-specific clean-ups that come before validation (row order is kept)."""
    rules = rules or Rules()
    notes = notes if notes is not None else []
    attrs = dict(df.attrs)
    df = df.copy()
    source = str(attrs.get("source", "<frame>"))
    if kind == "macro" and "value" not in df.columns and "ds" not in df.columns:
        _refuse_unmapped_wide_macro(df, source)
    if kind == "macro" and "value" not in df.columns and "ds" in df.columns:
        df = _macro_wide_to_long(df, source, notes)
        # each long row names the file row it came from (through rows the reader skipped)
        base = attrs.get("_rows")
        attrs["_rows"] = file_rows(np.asarray(base)[df.index.to_numpy()] if base is not None
                                   else df.index.to_numpy())
        df = df.reset_index(drop=True)
    across = kind in _ACROSS and "ds" not in df.columns and _ACROSS[kind][1] not in df.columns
    if across:
        wide = _across_to_long(df, kind, source, notes, rules)
        if wide is not None:
            base = attrs.get("_rows")
            attrs["_rows"] = file_rows(np.asarray(base)[wide.index.to_numpy()] if base is not None
                                       else wide.index.to_numpy())
            df = wide.reset_index(drop=True)
    if kind == "events" and "event_type" in df.columns:
        df["event_type"] = df["event_type"].map(event_alias)
    if kind == "reviews":
        if "text" in df.columns and "summary" in df.columns:
            # Amazon keeps a headline apart from the body; both carry sentiment.
            summary = df["summary"].map(lambda v: v if isinstance(v, str) else "")
            body = df["text"].map(lambda v: v if isinstance(v, str) else "")
            nested = df["text"].map(lambda v: not isinstance(v, str) and v is not None
                                    and not (isinstance(v, float) and np.isnan(v)))
            df["text"] = (summary + ". " + body).str.strip(". ").where(~nested, df["text"])
            df = df.drop(columns=["summary"])
        if "ts" not in df.columns and "unique_id" in df.columns:
            _refuse_unused_times(df, source)
            stamp = now if now is not None else pd.Timestamp.now(tz=rules.workspace_tz).tz_localize(None)
            df["ts"] = stamp.floor("s")
            attrs["ts_from_ingest"] = True
            notes.append(f"no review timestamps in the file: ts set to the ingest time "
                         f"{stamp:%Y-%m-%d %H:%M:%S} ({rules.workspace_tz}); re-ingesting keeps it")
        if "review_id" not in df.columns and "unique_id" in df.columns:
            df["review_id"] = _review_ids(df, with_time=not attrs.get("ts_from_ingest"))
            notes.append("no review ids in the file: made from a stable hash of product, time, "
                         "text, rating and reviewer (identical reviews numbered in file order; "
                         "one reviewer's identical review at one time is one review)")
        if "language" not in df.columns and "text" in df.columns:
            df["language"] = language or detect_language(df["text"])
    if kind == "calendar" and "transferred" in df.columns:
        df = _transferred_left_out(df, source, notes)
        attrs["_rows"] = df.attrs["_rows"]
    if kind == "calendar" and "end" in df.columns:
        df = _calendar_ranges(df, rules, source)
        attrs["header"] = False  # rows were expanded: positions no longer match file lines
    if kind == "calendar" and {"ds", "name"} <= set(df.columns):  # else the refusal lists the file's own
        for col, default in (("kind", "custom"), ("region", ""), ("source", "user")):
            if col not in df.columns:
                df[col] = default
        df["region"] = df["region"].where(df["region"].notna(), "")
    df.attrs.update(attrs)
    return df


MAX_EVENT_DAYS = 366
_TIME_LIKE = re.compile(r"^\s*(?:\d{1,4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,4}"
                        r"|\d{1,2}[- ][A-Za-z]{3,9}[- ]\d{2,4}|[A-Za-z]{3,9} \d{1,2}, \d{4})")


def _refuse_unused_times(df: pd.DataFrame, source: str) -> None:
    """Reviews without ``ts`` get the ingest time; a column of dates left unmapped would
    then be dropped while every review is dated today: refuse and name it."""
    for col in df.columns:
        if col in SPECS["reviews"].columns or str(col).startswith("_"):
            continue
        values = df[col].dropna()
        values = values[values.map(lambda v: isinstance(v, str))].head(200)
        if len(values) and values.str.match(_TIME_LIKE).mean() >= 0.9:
            raise InputFileError(
                f"{source}: reviews have no 'ts' column, but column {col!r} holds dates (e.g. "
                f"{values.iloc[0]!r}): map it with --map ts={col}, or --drop {col} to date "
                f"every review at the ingest time")


def _calendar_ranges(df: pd.DataFrame, rules: Rules, source: str) -> pd.DataFrame:
    """Events with an ``end`` day: dates checked by the contract, then one row per day."""
    from trendcast.data.calendar import user_events
    from trendcast.data.validation import Problems

    problems = Problems(df.reset_index(drop=True), source)
    frame = df.reset_index(drop=True).copy()
    for col in ("ds", "end"):
        found = Found()
        frame[col] = to_datetime(frame[col], rules, found, date_only=True)
        problems.add_found(col, found, df[col].reset_index(drop=True))
    days = (frame["end"] - frame["ds"]).dt.days.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        problems.add("end", days >= MAX_EVENT_DAYS,
                     f"an end within {MAX_EVENT_DAYS} days of ds (one event lasts at most a year)")
    if problems:
        raise problems.error("calendar")
    try:
        return user_events(frame, source="user")
    except DataValidationError as exc:
        raise DataValidationError(f"{source}: {exc}", exc.problems) from None


def _transferred_left_out(df: pd.DataFrame, source: str, notes: list[str]) -> pd.DataFrame:
    """A holiday table's rows marked ``transferred`` (Favorita's holidays_events.csv: the
    holiday was observed on another day, which has its own row) are no event on their date:
    left out and named; the column is not stored. A value other than yes/no (true/false,
    1/0, 是/否) or blank is refused with its row."""
    def flag(v: object) -> float | None:
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            return 0.0
        if isinstance(v, bool | np.bool_):
            return float(v)
        text = str(v).strip().lower()
        return FLAG_WORDS.get(text, {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}.get(text))

    flags = df["transferred"].map(flag)
    bad = np.flatnonzero(flags.isna().to_numpy())
    if bad.size:
        where = row_label(df, int(bad[0]))[1]
        raise DataValidationError(
            f"{source}: {where}, column 'transferred': got {df['transferred'].iloc[bad[0]]!r}, expected "
            f"true or false (a transferred holiday is observed on another day); {bad.size:,} such row(s)",
            [{"file": source, "row": row_label(df, int(bad[0]))[0], "column": "transferred",
              "value": df["transferred"].iloc[bad[0]], "expected": "true or false"}])
    moved = (flags == 1.0).to_numpy()
    base = df.attrs.get("_rows")
    positions = np.asarray(base) if base is not None else np.arange(len(df))
    if moved.any():
        at = int(np.flatnonzero(moved)[0])
        named = f", {df['name'].iloc[at]!r}" if "name" in df.columns else ""
        notes.append(f"transferred: {int(moved.sum()):,} holiday row(s) marked transferred left out: the "
                     f"holiday was observed on another day, its own row (e.g. {row_label(df, at)[1]}{named})")
    out = df[~moved].drop(columns="transferred").reset_index(drop=True)
    out.attrs = {**df.attrs, "_rows": file_rows(positions[~moved])}
    return out


def _refuse_unmapped_wide_macro(df: pd.DataFrame, source: str) -> None:
    """A macro file with neither ``ds`` nor ``value`` whose columns hold dates: it is a wide
    table (one column per indicator, as Walmart's features.csv) that needs its date column
    mapped; say which column that is. Other files get the usual missing-column message."""
    dated = [c for c in df.columns if not str(c).startswith("_")
             and pd.to_datetime(df[c].dropna().astype(str).head(20), errors="coerce", format="ISO8601")
             .notna().all() and df[c].notna().any() and not pd.api.types.is_numeric_dtype(df[c])]
    if len(dated) != 1:
        return
    others = [str(c) for c in df.columns if c != dated[0] and not str(c).startswith("_")]
    raise DataValidationError(
        f"{source}: a macro file needs 'name', 'ds' and 'value' columns, or 'ds' and one column per "
        f"indicator; this one looks like the second kind with its dates in column '{dated[0]}' "
        f"({', '.join(others[:8])}{', ...' if len(others) > 8 else ''} as indicators): "
        f"--map ds={dated[0]}, and --map name=COLUMN for a key column such as a store, --drop COLUMN "
        "for one that is not an indicator",
        [{"file": source, "row": None, "column": "ds", "value": None, "expected": "column present"}])


def _macro_wide_to_long(df: pd.DataFrame, source: str, notes: list[str]) -> pd.DataFrame:
    """A table with `ds` and one column per indicator becomes (name, ds, value) rows; a
    `name` column (e.g. --map name=Store) becomes a prefix: ``Temperature:1``."""
    keyed = "name" in df.columns
    values = [c for c in df.columns if c not in ("ds", "name") and not str(c).startswith("_")]
    if not values:
        raise DataValidationError(
            f"{source}: a macro file needs 'name', 'ds' and 'value' columns, or 'ds' and one "
            f"column per indicator (e.g. date,dcoilwtico with --map ds=date); it has "
            f"{list(df.columns)}")
    frame = df.reset_index(drop=True)
    parts = []
    for col in values:
        names = (pd.Series(str(col), index=frame.index, dtype=object) if not keyed else
                 _key_text(frame["name"]).map(lambda k, c=str(col): f"{c}:{k}", na_action="ignore")
                 .astype(object))
        parts.append(pd.DataFrame({"name": names, "ds": frame["ds"], "value": frame[col]},
                                  index=frame.index))
    long = pd.concat(parts)
    long = long.sort_index(kind="stable")
    notes.append(f"wide macro table: {len(values)} indicator column(s) "
                 f"({', '.join(map(str, values[:10]))}) read as name/ds/value rows"
                 + (", named INDICATOR:KEY" if keyed else ""))
    return long


def _date_header(name: object, rules: Rules) -> bool:
    """Whether a column's name is a date or a period label (a wide table's column)."""
    text = str(name).strip()
    if rules.date_format:
        return any(not pd.isna(pd.to_datetime(text, format=f, errors="coerce"))
                   for f in split_formats(rules.date_format))
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}(?: 00:00:00)?", text):
        return not pd.isna(pd.to_datetime(text, errors="coerce"))
    return read_period_labels(pd.Series([text], dtype=object), "", []).iloc[0] != text


# A table with dates across: its key column and value column by kind, and what the key is.
_ACROSS = {"sales": ("unique_id", "y", "product"), "macro": ("name", "value", "indicator")}


def _across_to_long(df: pd.DataFrame, kind: str, source: str, notes: list[str],
                    rules: Rules) -> pd.DataFrame | None:
    """A table with one column per date (a spreadsheet's layout: products down and days
    across for sales; 国家统计局's indicators down and months across for macro) as key/ds/value
    rows; blank cells are no row. None when the table has fewer than two date columns."""
    key, value, what = _ACROSS[kind]
    columns = [c for c in df.columns if not str(c).startswith("_")]
    dates = [c for c in columns if _date_header(c, rules)]
    if len(dates) < 2:
        layouts = {date_layout(str(c)) for c in columns} - {None}
        looks = [c for c in columns if date_layout(str(c))]
        named = key in df.columns or (kind == "macro" and len(columns) - len(looks) == 1)
        if len(looks) >= 2 and len(layouts) == 1:
            raise DataValidationError(
                f"{source}: its columns look like dates ({looks[0]} ... {looks[-1]}): a table of "
                f"{what}s down and dates across is read with --date-format {shell_format(layouts.pop())}"
                + ("" if named else f" and --map {key}=<its {what} column>"))
        return None
    others = [c for c in columns if c not in dates]
    if key not in df.columns and kind == "macro" and len(others) == 1:
        df = df.rename(columns={others[0]: key})
        notes.append(f"column {others[0]!r} read as the indicator names (name)")
    if key not in df.columns:
        raise DataValidationError(
            f"{source}: a wide {kind} table ({len(dates)} date columns, {dates[0]} ... "
            f"{dates[-1]}) needs its {what} column: map it with --map {key}=COLUMN"
            + (f" (its other columns are {others})" if others else ""))
    keep = [c for c in df.columns if c not in dates]
    frame = df.reset_index(drop=True)
    long = frame.melt(id_vars=keep, value_vars=dates, var_name="ds", value_name=value,
                      ignore_index=False)
    long["ds"] = long["ds"].map(lambda c: str(c).strip().removesuffix(" 00:00:00"))
    blank = long[value].isna() | long[value].map(lambda v: isinstance(v, str) and not v.strip())
    long = long[~blank].sort_index(kind="stable")
    notes.append(f"wide {kind} table: {len(dates)} date column(s) ({dates[0]} ... {dates[-1]}) "
                 f"read as {key}/ds/{value} rows" + (f"; {int(blank.sum()):,} blank cell(s) are no "
                                                     f"{kind} row" if blank.any() else ""))
    return long


def _review_ids(df: pd.DataFrame, *, with_time: bool) -> pd.Series:
    """Stable ids from the review's content; identical reviews get 1, 2, ... in file order,
    except when a reviewer and a time say who wrote it when: then an identical row is the
    same review exported twice (Amazon's All_Beauty 5-core file repeats 1,051 of 5,269), one
    id, kept once by the exact-duplicate rule."""
    def text(col: str) -> pd.Series:
        return df[col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                           else str(v))

    parts = text("unique_id")
    cols = ["ts"] if with_time else []
    reviewers = [c for c in ("reviewerID", "user_id") if c in df.columns]
    cols += reviewers + [c for c in ("rating", "text") if c in df.columns]
    for col in cols:
        parts = parts + "\x1f" + text(col)
    nth = parts.groupby(parts, sort=False).cumcount()
    if with_time and reviewers:
        known = np.logical_or.reduce([text(c).ne("").to_numpy() for c in reviewers])
        nth = nth.where(~known, 0)
    parts = parts + "\x1f" + nth.astype(str)
    return parts.map(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest()[:16])


def detect_language(text: pd.Series) -> pd.Series:
    """'zh' where a text holds CJK characters, else 'en'."""
    has_cjk = text.fillna("").astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True)
    return pd.Series(np.where(has_cjk, "zh", "en"), index=text.index, dtype=object)


def check_known_products(df: pd.DataFrame, known: set[str], *, column: str, source: str) -> None:
    """Reject rows whose product id the store does not know, naming each unknown id once
    (its first row and how many rows name it), the ten most frequent first."""
    unknown = ~df[column].isin(known)
    if not unknown.any():
        return
    idx = np.flatnonzero(unknown.to_numpy())
    stated = df.attrs.get("header")  # a file's frame says; else a file name suggests one
    header = bool(stated) if stated is not None else source.endswith(
        (".csv", ".csv.gz", ".tsv", ".txt", ".xlsx", ".xls"))
    values = df[column].iloc[idx].reset_index(drop=True)
    per_id = (pd.DataFrame({"value": values, "pos": idx}).groupby("value", sort=False)["pos"]
              .agg(["size", "first"]).sort_values(["size", "first"], ascending=[False, True]))
    counts = per_id["size"]
    lines = []
    problems = []
    for value, (count, i) in per_id.head(10).iterrows():
        if df.attrs.get("_rows") is not None and stated is not None:
            row, where = row_label(df, i)  # rows as the file counts them (skipped lines aside)
            row = int(row or 0)
        else:
            row = int(df.index[i]) + 1
            where = f"row {row} (line {row + 1})" if header else f"row {row}"
        lines.append(f"{source}: {where}, column {column!r}: got {value!r}, "
                     "expected a product id the store knows")
        if count > 1:
            lines.append(f"  ... and {count - 1:,} more row(s) with {value!r}")
        problems.append({"file": source, "row": row, "column": column,
                         "value": value, "expected": "a known product id", "count": int(count)})
    if len(counts) > 10:
        lines.append(f"  ... and {len(counts) - 10:,} more unknown product id(s)")
    raise DataValidationError(
        f"{len(idx)} row(s) refer to {len(counts):,} unknown product(s), nothing was stored:\n"
        + "\n".join(lines)
        + "\nIngest the product catalogue (or sales) first, or pass --add-products to register "
        "them as new products.",
        problems,
    )


__all__ = ["KINDS", "PRESETS", "SPECS", "IngestOptions", "check_known_products", "event_alias", "load_file",
           "make_options", "normalise", "parse_mapping"]
