"""Validate incoming frames and turn failures into messages people can act on.

Each kind of input (sales, products, orders, ...) has a :class:`FrameSpec`. Validation reads
every column through the value contract (:mod:`trendcast.data.contract`: finite numbers in
their bounds, dates in the supported window, one time-zone policy, ids without control
characters), checks required values and allowed values (pandera) and unique keys, and raises
one :class:`~trendcast.errors.DataValidationError` whose message groups the problems by kind,
with a count and the first rows of each, naming the file, row, column, value and what was
expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from trendcast.data.contract import (
    DEFAULT_RATING_SCALE,
    MAX_PRICE,
    MAX_QUANTITY,
    MAX_VALUE,
    Found,
    Rules,
    check_bounds,
    file_rows,
    to_datetime,
    to_number,
    to_text,
)
from trendcast.data.period_labels import read_period_labels
from trendcast.data.weekdays import check_weekdays, read_meridiem, strip_weekdays
from trendcast.errors import DataValidationError

Kind = Literal["id", "str", "date", "datetime", "number", "nonneg", "quantity", "price", "rating",
               "amount"]

EXPECTED: dict[str, str] = {
    "id": "a non-empty text value",
    "str": "a non-empty text value",
    "date": "a date like 2024-06-18",
    "datetime": "a date-time like 2024-06-18 20:15:00",
    "number": "a number",
    "nonneg": "a number >= 0",
    "quantity": "a number >= 0",
    "price": "a number >= 0",
    "amount": "a number (negative only for a return or a refund)",
    "rating": "a number (a rating)",
}
MAX_LISTED = 10  # example rows shown in a message, over all groups
PER_GROUP = 3  # example rows shown per kind of problem
MAX_PROBLEMS = 50  # problems kept in DataValidationError.problems


@dataclass(frozen=True)
class Col:
    """One column: its kind, whether it must be present, whether it may be empty."""

    kind: Kind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    default: object = None  # fills missing values after validation
    low_open: bool = False  # quantity must be > 0 (not >= 0)


@dataclass(frozen=True)
class FrameSpec:
    """The columns of one kind of input and the columns that must be unique together."""

    name: str
    columns: dict[str, Col]
    unique: tuple[str, ...] = field(default_factory=tuple)
    made_up: tuple[str, ...] = ()  # required columns ingest makes when a file has none


SPECS: dict[str, FrameSpec] = {
    "sales": FrameSpec(
        "sales",
        {
            "unique_id": Col("id"),
            "ds": Col("date"),
            "y": Col("quantity"),
            "price": Col("price", required=False, nullable=True),
            "promo": Col("nonneg", required=False, nullable=True),
            # what the row's units sold for (销售额, 支付金额): read as price = amount / y, not stored
            "amount": Col("amount", required=False, nullable=True),
        },
        ("unique_id", "ds"),
    ),
    "products": FrameSpec(
        "products",
        {
            "unique_id": Col("id"),
            "title": Col("str", required=False, nullable=True),
            "category": Col("str", required=False, nullable=True),
            "department": Col("str", required=False, nullable=True),
            "brand": Col("str", required=False, nullable=True),
            "store": Col("str", required=False, nullable=True),
            "launch_date": Col("date", required=False, nullable=True),
            "list_price": Col("price", required=False, nullable=True),
            "unit_cost": Col("price", required=False, nullable=True),
        },
        ("unique_id",),
    ),
    "orders": FrameSpec(
        "orders",
        {
            "order_id": Col("id"),
            "unique_id": Col("id"),
            "ts": Col("datetime"),
            "quantity": Col("quantity", low_open=True),
            "user_id": Col("id", required=False, nullable=True),
            "unit_price": Col("price", required=False, nullable=True),
            "amount": Col("amount", required=False, nullable=True),  # the line's total: / quantity
        },
        ("order_id", "unique_id"),
    ),
    "events": FrameSpec(
        "events",
        {
            "user_id": Col("id"),
            "item_id": Col("id"),
            "event_type": Col("id", allowed=("view", "cart", "fav", "buy")),
            "ts": Col("datetime"),
            "category_id": Col("id", required=False, nullable=True),
        },
        ("user_id", "item_id", "event_type", "ts"),
    ),
    "reviews": FrameSpec(
        "reviews",
        {
            "review_id": Col("id"),
            "unique_id": Col("id"),
            "ts": Col("datetime"),
            "text": Col("str", nullable=True),
            "rating": Col("rating", required=False, nullable=True),
            "language": Col("id", required=False, nullable=True),
        },
        ("review_id",),
        made_up=("review_id", "ts"),  # a hash of the review; the ingest time (said in the notes)
    ),
    "calendar": FrameSpec(
        "calendar",
        {
            "ds": Col("date"),
            "name": Col("id"),  # part of the key: no control characters
            "kind": Col("str", required=False, nullable=True),
            "region": Col("str", required=False, nullable=True, default=""),
            "source": Col("str", required=False, nullable=True),
        },
        ("ds", "name", "region"),
    ),
    "macro": FrameSpec(
        "macro",
        {"name": Col("id"), "ds": Col("date"), "value": Col("number", nullable=True)},
        ("name", "ds"),
    ),
    # units on hand at the end of each day: days at zero are stock-outs (cleaning)
    "stock": FrameSpec(
        "stock",
        {"unique_id": Col("id"), "ds": Col("date"), "on_hand": Col("quantity")},
        ("unique_id", "ds"),
    ),
}


def row_label(df: pd.DataFrame, index: object) -> tuple[int | None, str]:
    """1-based data row as a person counts it, and a label that adds the file line.

    ``index`` is a position in the frame (0-based); ``df.attrs['_rows']`` maps it to source
    rows when the frame was reshaped (wide macro, dropped duplicates).
    """
    if index is None or (isinstance(index, float) and np.isnan(index)):
        return None, "?"
    pos = int(index)  # type: ignore[call-overload]
    rows = df.attrs.get("_rows")
    row = (int(rows[pos]) if rows is not None else pos) + 1
    if df.attrs.get("header"):
        return row, f"row {row} (line {row + 1})"
    return row, f"row {row}"


class Problems:
    """Problems of one file, grouped by kind (column + what was expected)."""

    def __init__(self, df: pd.DataFrame, source: str) -> None:
        self.df = df
        self.source = source
        self.groups: dict[tuple[str, str], list] = {}  # key -> [rows flagged, [(pos, value, expected)]]

    def add(self, column: str, mask: np.ndarray, expected: str, *, values: pd.Series | None = None,
            group: str | None = None, detail: list[str] | None = None) -> None:
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        key = (column, group or expected)
        entry = self.groups.setdefault(key, [set(), []])
        new = ~np.isin(positions, list(entry[0])) if entry[0] else np.ones(len(positions), bool)
        if detail:
            detail = [d for d, keep in zip(detail, new, strict=False) if keep]
        positions = positions[new]  # a row two checks flag for the same thing counts once
        entry[0].update(positions.tolist())
        room = PER_GROUP * 4 - len(entry[1])
        for i, pos in enumerate(positions[:max(room, 0)]):
            value = values.iloc[pos] if values is not None else (
                self.df[column].iloc[pos] if column in self.df.columns else None)
            entry[1].append((int(pos), value, detail[i] if detail else expected))

    def add_found(self, column: str, found: Found, raw: pd.Series) -> None:
        for mask, expected in found.items:
            self.add(column, mask, expected, values=raw)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def error(self, spec_name: str) -> DataValidationError:
        total = sum(len(rows) for rows, _ in self.groups.values())
        lines = [f"{total:,} problem(s) in {spec_name} data, nothing was stored:"]
        problems: list[dict[str, object]] = []
        groups = sorted(self.groups.items(), key=lambda kv: min(p for p, _, _ in kv[1][1]))
        shown_total = 0
        for (column, label), (rows, examples) in groups:
            count = len(rows)
            lines.append(f"- column {column!r}: {count:,} row(s): expected {label}")
            rows_seen: set[str] = set()
            examples = [e for e in sorted(examples) if not (
                row_label(self.df, e[0])[1] in rows_seen or rows_seen.add(row_label(self.df, e[0])[1]))]
            room = max(1, min(PER_GROUP, MAX_LISTED - shown_total))
            for pos, value, expected in examples[:room]:
                row, where = row_label(self.df, pos)
                shown = "empty" if _missing(value) else repr(_plain(value))
                lines.append(f"  {self.source}: {where}, column {column!r}: got {shown}, "
                             f"expected {expected}")
                shown_total += 1
            if count > room:
                lines.append(f"  ... and {count - room:,} more like this")
            for pos, value, expected in examples:
                if len(problems) < MAX_PROBLEMS:
                    row, _ = row_label(self.df, pos)
                    problems.append({"file": self.source, "row": row, "column": column,
                                     "value": _plain(value), "expected": expected,
                                     "kind": label, "count": count})
        return DataValidationError("\n".join(lines), problems)


def _missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def check_required(df: pd.DataFrame, spec: FrameSpec, source: str) -> None:
    """Raise if required columns are missing, listing the columns the file does have."""
    missing = [c for c, col in spec.columns.items()
               if col.required and c not in df.columns and c not in spec.made_up]
    if missing:
        raise DataValidationError(
            f"{source}: missing required column(s) {', '.join(repr(m) for m in missing)} for "
            f"{spec.name}; the file has {list(df.columns)}. Rename them or map them with "
            f"--map {missing[0]}=<your column>",
            [{"file": source, "row": None, "column": m, "value": None,
              "expected": "column present"} for m in missing],
        )


def _parse(raw: pd.Series, name: str, col: Col, rules: Rules, problems: Problems,
           notes: list[str], found: Found) -> pd.Series:
    """One column through the value contract; problems recorded, bad cells missing."""
    if col.kind in ("id", "str"):
        out = to_text(raw, identifier=col.kind == "id", found=found)
    elif col.kind in ("date", "datetime"):
        values = _half_width(raw, name, notes)
        stated = None
        if not re.search(r"%[aA]", rules.date_format or ""):  # else the format reads the weekday
            values, stated = strip_weekdays(values, name, notes)
        values = read_meridiem(values, name, notes)
        if col.kind == "date" and not rules.date_format:
            values = read_period_labels(values, name, notes,
                                        months=(rules.workspace_freq or "").startswith("M"))
        out = to_datetime(values, rules, found, date_only=col.kind == "date")
        check_weekdays(out, stated, found)
    else:
        narrow = _half_width(raw, name, notes)
        if name == "promo":
            narrow = _flag_words(narrow, name, notes)
        if col.kind == "rating":
            narrow = _rating_words(narrow, name, notes, rules.rating_scale)
            narrow = _rating_fractions(narrow, name, notes, rules.rating_scale, found)
        if col.kind == "quantity":
            narrow = _lone_dashes(narrow, name, notes)
        if col.kind == "price" and col.nullable:
            narrow = _lone_dashes(narrow, name, notes, price=True)
        values = (_rating_units(narrow, name, notes) if col.kind == "rating" else
                  _rating_units(narrow, name, notes, _PIECE_UNIT, "quantities")
                  if col.kind == "quantity" else narrow)
        out = to_number(values, found, EXPECTED[col.kind], decimal=rules.decimal)
        if col.kind == "quantity":
            out = _negatives(out, name, col, rules, found, raw, problems, notes)
        elif col.kind == "price":
            check_bounds(out, 0, MAX_PRICE, found)
        elif col.kind == "amount":  # a refund's amount is negative: its sign is checked below
            check_bounds(out, -MAX_VALUE, MAX_VALUE, found, what="a finite number")
        elif col.kind == "nonneg":
            check_bounds(out, 0, MAX_VALUE, found)
        elif col.kind == "rating":
            out = _rating_scale(out, name, rules.rating_scale, found, notes)
        else:
            check_bounds(out, -MAX_VALUE, MAX_VALUE, found, what="a finite number")
    problems.add_found(name, found, raw)
    if found.items:
        bad = np.logical_or.reduce([m for m, _ in found.items])
        out = out.mask(bad)
    return out


def _rating_scale(out: pd.Series, name: str, scale: tuple[float, float], found: Found,
                  notes: list[str]) -> pd.Series:
    """Ratings checked against their scale and stored on the 1-5 scale every reader of the
    reviews assumes (sentiment from ratings, low-rating drift, the dashboard's stars): a 0/1
    label or a 1-10 score would otherwise read as stars. A column of 0s and 1s on the
    default scale is told it looks like a 0/1 label."""
    low, high = scale
    given = out.dropna()
    if scale == DEFAULT_RATING_SCALE and len(given) and given.isin([0.0, 1.0]).all() and (given == 0).any():
        found.add((out == 0).to_numpy(), "a rating on the scale (--rating-scale) >= 1; this column holds "
                                         "only 0 and 1: a 0/1 label reads with --rating-scale 0-1")
        return out
    check_bounds(out, low, high, found, what="a rating on the scale (--rating-scale)")
    if scale == DEFAULT_RATING_SCALE or given.empty:
        return out
    notes.append(f"{name}: ratings on the {low:g}-{high:g} scale stored on the 1-5 scale of stars "
                 f"(1 + 4 x (rating - {low:g}) / {high - low:g}: {low:g} is 1, {high:g} is 5)")
    return 1.0 + 4.0 * (out - low) / (high - low)


# Full-width forms of ASCII (U+FF01-U+FF5E) and the ideographic space, as a Chinese input
# method types them in numbers and dates: '１２' is 12, '２０２５－１０－０１' a date.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_HALF_WIDTH = {**{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}, 0x3000: 0x20}


def _half_width(raw: pd.Series, name: str, notes: list[str]) -> pd.Series:
    """Numbers and dates typed in full-width characters, as ordinary ones, noted (ids and
    text are kept as written: 'ＳＫＵ１' and 'SKU1' stay two products)."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    wide = raw.map(lambda v: isinstance(v, str) and _FULL_WIDTH.search(v) is not None)
    wide = wide.to_numpy(dtype=bool)
    if not wide.any():
        return raw
    first = str(raw[wide].iloc[0])
    notes.append(f"{name}: {int(wide.sum()):,} value(s) typed in full-width characters "
                 f"(e.g. {first!r}) read as ordinary digits and signs")
    return raw.where(~wide, raw[wide].map(lambda v: v.translate(_HALF_WIDTH)))


# A promotion flag as back ends and spreadsheets write it: 是/否 (参加活动: yes/no), Y/N, true.
FLAG_WORDS = {"是": 1.0, "否": 0.0, "y": 1.0, "n": 0.0, "yes": 1.0, "no": 0.0, "true": 1.0,
               "false": 0.0, "参加": 1.0, "未参加": 0.0, "有": 1.0, "无": 0.0}


def _flag_words(raw: pd.Series, name: str, notes: list[str]) -> pd.Series:
    """A yes/no column (是/否, Y/N, true/false, JSON booleans) as 1/0, noted."""
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object)
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    words = raw.map(lambda v: FLAG_WORDS.get(v.strip().lower()) if isinstance(v, str)
                    else float(v) if isinstance(v, bool) else None)
    hit = words.notna().to_numpy(dtype=bool)
    if not hit.any():
        return raw
    seen = sorted({str(v).strip() for v in raw[hit]})
    notes.append(f"{name}: {int(hit.sum()):,} yes/no value(s) ({', '.join(seen[:4])}) read as 1/0")
    return raw.where(~hit, words)


_RATING_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:颗星|星|分|stars?)\s*$", re.IGNORECASE)
# Taobao's review result instead of stars: the top, middle and bottom of the rating scale.
_RATING_WORDS = {"好评": 1.0, "中评": 0.5, "差评": 0.0}
_STARS = re.compile(r"★+☆*")  # ★★★★☆: four of five


# A rating with its scale: 4.5/5, 4 / 5, "5.0 out of 5 stars" (Amazon), 4分/5分.
_RATING_FRACTION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:分|星)?\s*(?:/|out of|of)\s*"
                              r"([0-9]+(?:\.[0-9]+)?)\s*(?:分|星|stars?)?\s*$", re.IGNORECASE)


def _rating_fractions(raw: pd.Series, name: str, notes: list[str], scale: tuple[float, float],
                      found: Found) -> pd.Series:
    """Ratings written with their scale (``4.5/5``, ``5.0 out of 5 stars``) as the number when
    the scale's top is the workspace's (noted); out of another top (``8/10`` on 1-5 stars) they
    are refused, naming --rating-scale."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    text = raw.map(lambda v: v if isinstance(v, str) else None)
    parts = text.str.extract(_RATING_FRACTION)
    hit = parts[0].notna().to_numpy()
    if not hit.any():
        return raw
    top = parts[1].astype(float)
    other = hit & (top != scale[1]).to_numpy()
    if other.any():
        first = str(text[other].iloc[0]).strip()
        found.add(other, f"a rating out of {scale[1]:g} ({first!r} is out of {top[other].iloc[0]:g}: pass "
                         f"--rating-scale 1-{top[other].iloc[0]:g} or 0-{top[other].iloc[0]:g})")
    same = hit & ~other
    if same.any():
        first = str(text[same].iloc[0]).strip()
        notes.append(f"{name}: {int(same.sum()):,} rating(s) written with their scale (e.g. {first!r}) "
                     "read as the number")
    return raw.where(~same, parts[0]).where(~other, None)


def _rating_words(raw: pd.Series, name: str, notes: list[str], scale: tuple[float, float]
                  ) -> pd.Series:
    """Ratings drawn as stars (★★★★☆: 4) and 好评/中评/差评 (the top, middle and bottom of
    the rating scale), as numbers, noted."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    stars = raw.map(lambda v: float(v.count("★")) if isinstance(v, str)
                    and _STARS.fullmatch(v.strip()) else None)
    if stars.notna().any():
        first = str(raw[stars.notna()].iloc[0]).strip()
        notes.append(f"{name}: {int(stars.notna().sum()):,} rating(s) drawn as stars (e.g. {first!r}) "
                     "read as the number of filled stars")
        raw = raw.where(stars.isna(), stars.map(lambda n: f"{n:g}", na_action="ignore"))
    share = raw.map(lambda v: _RATING_WORDS.get(v.strip()) if isinstance(v, str) else None)
    hit = share.notna()
    if not hit.any():
        return raw
    low, high = scale
    counts = raw[hit].map(str.strip).value_counts()
    notes.append(f"{name}: {int(hit.sum()):,} review result(s) read as ratings: "
                 + ", ".join(f"{w} as {low + _RATING_WORDS[w] * (high - low):g}" for w in _RATING_WORDS
                             if w in counts.index))
    return raw.where(~hit, share.map(lambda f: f"{low + f * (high - low):g}", na_action="ignore"))


# Quantities counted in pieces, written with the unit (``3件``, ``2 pcs``); units that hold
# several pieces (箱 a box, 打 a dozen) are not read: they are refused like other text.
_PIECE_UNIT = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(?:件|个|只|pcs?|pieces?|units?)\s*$",
                         re.IGNORECASE)


# A quantity of zero as Excel's accounting format shows it (and a CSV saved "as displayed"
# writes it): a lone dash, often padded with spaces.
DASH_ZERO = re.compile(r"^\s*[-–—－]\s*$")


def _lone_dashes(raw: pd.Series, name: str, notes: list[str], *, price: bool = False) -> pd.Series:
    """Values written as a lone dash (Excel's accounting format of 0), noted: a quantity is 0,
    a price is none (a price of 0 is no price a model can use; the column may be empty)."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    text = raw.map(lambda v: v if isinstance(v, str) else None)
    dash = text.str.match(DASH_ZERO, na=False).to_numpy(dtype=bool)
    if not dash.any():
        return raw
    what = "price(s) written as a lone dash read as no price" if price else \
        "quantity(ies) written as a lone dash read as 0"
    notes.append(f"{name}: {int(dash.sum()):,} {what} (Excel's accounting format shows 0 as '-')")
    return raw.where(~dash, None if price else "0")


def _rating_units(raw: pd.Series, name: str, notes: list[str],
                  pattern: re.Pattern[str] = _RATING_UNIT, what: str = "rating(s)") -> pd.Series:
    """Ratings written with their unit (``5星``, ``4.5 stars``), or quantities in pieces
    (``3件``) with ``pattern``, as plain numbers, noted; anything else is left for the number
    check to read or refuse."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    text = raw.map(lambda v: v if isinstance(v, str) else None)
    number = text.str.extract(pattern, expand=False)
    found = number.notna()
    if not found.any():
        return raw
    first = str(text[found].iloc[0])
    notes.append(f"{name}: {int(found.sum()):,} {what} written with a unit (e.g. {first!r}) "
                 "read as the number")
    return raw.where(~found, number)


def _negatives(out: pd.Series, name: str, col: Col, rules: Rules, found: Found, raw: pd.Series,
               problems: Problems, notes: list[str]) -> pd.Series:
    """Quantities: bounds, and negative values by the --negatives policy."""
    v = out.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        negative = v < 0
    policy = rules.negatives
    if policy == "reject" or not negative.any():
        check_bounds(out, 0, MAX_QUANTITY, found, low_open=col.low_open,
                     hint=("" if not negative.any() else
                           " (backorders? pass --negatives zero to read them as out of stock)"
                           if name == "on_hand" else " (returns? pass --negatives keep, clip or zero)"))
        return out
    rows = np.flatnonzero(negative)
    examples = ", ".join(f"{row_label(problems.df, p)[1]}: {v[p]:g}" for p in rows[:3])
    if policy == "keep":
        check_bounds(out, -MAX_QUANTITY, MAX_QUANTITY, found)
        zero = (v == 0) if col.low_open else np.zeros(len(v), dtype=bool)
        found.add(zero, "a number other than 0")
        what = "backorders" if name == "on_hand" else "returns"
        notes.append(f"{name}: {len(rows):,} negative value(s) kept as {what} (--negatives keep), "
                     f"e.g. {examples}")
        return out
    clipped = out.where(~negative, 0.0)
    check_bounds(clipped, 0, MAX_QUANTITY, found)
    notes.append(f"{name}: {len(rows):,} negative value(s) set to 0 (--negatives {policy}), "
                 f"e.g. {examples}")
    return clipped


def _required_and_allowed(frame: pd.DataFrame, spec: FrameSpec, present: list[str],
                          problems: Problems, given: dict[str, np.ndarray]) -> None:
    """Missing required values and values outside an allowed set (pandera)."""
    import pandera.errors as pa_errors
    import pandera.pandas as pa

    columns = {}
    for name in present:
        col = spec.columns[name]
        checks = [pa.Check.isin(list(col.allowed))] if col.allowed else []
        columns[name] = pa.Column(None, checks=checks, nullable=col.nullable)
    try:
        pa.DataFrameSchema(columns, strict=False).validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for (name, check), group in cases.groupby(["column", "check"], sort=False):
            col = spec.columns[str(name)]
            mask = np.zeros(len(frame), dtype=bool)
            mask[group["index"].to_numpy(dtype=np.int64)] = True
            if check == "not_nullable":
                mask &= ~given[str(name)]  # a present but bad cell was reported by the contract
                expected = EXPECTED[col.kind] if col.kind in ("id", "str") else \
                    f"{EXPECTED[col.kind]}, not empty"
            elif str(check).startswith("isin") and col.allowed:
                expected = "one of " + ", ".join(col.allowed)
            else:
                expected = str(check)
            problems.add(str(name), mask, expected)


# What a repeated key usually means in a shop's export, and the way through.
DUPLICATE_HINTS = {
    "sales": "; a file of order lines: ingest it as orders (--kind orders, with its order "
             "id) and --aggregate D; sales per store or channel: put it in the key, e.g. "
             "--map unique_id=SKU+Store",
    "orders": "; an order with the same product on two lines (sizes, colours): put the line "
              "or variant in a key, e.g. --map order_id=Order+Line or --map unique_id=Product+SKU",
}


_ROUNDED = re.compile(r"\d{16,}")  # Excel keeps 15 significant digits of a number


def _rounded_hint(keys: pd.DataFrame) -> str | None:
    """When the repeated keys hold numbers of 16+ digits ending in zeros (Taobao's 19-digit
    order numbers after Excel), the hint that says so, naming the column."""
    for col in keys.columns:
        text = keys[col].astype(str)
        long = text.str.fullmatch(_ROUNDED) & text.str.endswith("0")
        if len(text) and long.mean() >= 0.5:
            return (f"; {col} holds numbers of {len(text[long].iloc[0])} digits ending in zeros "
                    f"({text[long].iloc[0]}): Excel keeps 15 digits and rounds the rest, so "
                    "different ones became one; format the column as text before saving, or "
                    "export it again")
    return None


def _duplicates(raw: pd.DataFrame, parsed: pd.DataFrame, spec: FrameSpec,
                problems: Problems) -> None:
    """Rows whose key repeats an earlier row's key (one problem per repeated row). A key
    with a missing or unreadable part is reported as that cell's problem, not as a repeat."""
    key = [c for c in spec.unique if c in parsed.columns]
    if not key:
        return
    complete = parsed[key].notna().all(axis=1).to_numpy()
    dup = parsed.duplicated(key, keep="first").to_numpy() & complete
    if not dup.any():
        return
    first = parsed[complete].drop_duplicates(key, keep="first").reset_index()
    positions = np.flatnonzero(dup)[: PER_GROUP * 4]
    firsts = parsed.iloc[positions][key].merge(first, on=key, how="left")["index"].to_numpy()
    values = pd.Series([", ".join(f"{c}={raw[c].iloc[p]!s}" for c in key) for p in positions],
                       index=positions)
    column = " + ".join(key)
    details = [f"a unique key; {row_label(raw, f)[1]} has the same key" for f in firsts]
    full = pd.Series(None, index=range(len(parsed)), dtype=object)
    full.iloc[positions] = values.to_numpy()
    problems.add(column, dup, "a unique key (another row has the same key"
                 + (_rounded_hint(parsed.loc[dup, key]) or DUPLICATE_HINTS.get(spec.name, ""))
                 + ")", values=full,
                 detail=details + [""] * max(0, int(dup.sum()) - len(details)))


def validate(df: pd.DataFrame, kind: str, *, source: str | None = None,
             rules: Rules | None = None) -> pd.DataFrame:
    """Parse and check a frame of ``kind``; return it typed, or raise DataValidationError.

    The returned frame's ``attrs['notes']`` lists what was changed on the way (negatives
    kept or clipped); ``attrs['exact_duplicates_dropped']`` counts repeated rows kept once.
    """
    spec = SPECS[kind]
    rules = rules or Rules()
    source = source or str(df.attrs.get("source", "<frame>"))
    check_required(df, spec, source)
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        rows = df.index.to_numpy()
        attrs = dict(df.attrs)
        df = df.reset_index(drop=True)
        df.attrs.update(attrs)
        if "_rows" in attrs and attrs["_rows"] is not None:
            rows = np.asarray(attrs["_rows"])[rows]
        df.attrs["_rows"] = file_rows(rows)
    present = [c for c in spec.columns if c in df.columns]
    problems = Problems(df, source)
    notes: list[str] = list(df.attrs.get("notes", []))
    frame = pd.DataFrame(index=df.index)
    given: dict[str, np.ndarray] = {}
    for name in present:
        found = Found()
        frame[name] = _parse(df[name], name, spec.columns[name], rules, problems, notes, found)
        # cells the contract already reported are not reported again as empty
        given[name] = (np.logical_or.reduce([m for m, _ in found.items]) if found.items
                       else np.zeros(len(df), dtype=bool))
    # Rows identical in every column are one record exported twice: keep the first, say so.
    # A row with an unreadable cell repeats another only if the file's text does too (its
    # bad cell parsed to empty, like other bad cells): so the count of bad rows is the file's.
    exact = frame.duplicated(keep="first").to_numpy() if spec.unique else None
    if exact is not None and exact.any() and given:
        flagged = np.logical_or.reduce(list(given.values()))
        exact &= ~flagged | df[present].astype(str).duplicated(keep="first").to_numpy()
    n_exact = int(exact.sum()) if exact is not None else 0
    if n_exact:
        keep = ~exact
        kept_rows = np.flatnonzero(keep)
        frame = frame[keep].reset_index(drop=True)
        given = {k: v[keep] for k, v in given.items()}
        attrs = dict(df.attrs)
        rows = attrs.get("_rows")
        df = df[keep].reset_index(drop=True)
        df.attrs.update(attrs)
        df.attrs["_rows"] = file_rows(np.asarray(rows)[kept_rows] if rows is not None else kept_rows)
        old = problems
        problems = Problems(df, source)
        problems.groups = _reindex_groups(old.groups, kept_rows)
    _required_and_allowed(frame, spec, present, problems, given)
    _amount_signs(frame, spec, problems)
    _duplicates(df, frame, spec, problems)
    if problems:
        raise problems.error(spec.name)
    out = frame
    for name in present:
        col = spec.columns[name]
        if col.kind in ("date", "datetime"):
            out[name] = out[name].astype("datetime64[ns]")
        elif col.kind in ("id", "str"):
            out[name] = out[name].astype(object)
        if col.default is not None:
            out[name] = out[name].fillna(col.default)
    for name, col in spec.columns.items():
        if name not in present and col.default is not None:
            out[name] = col.default
    out = _price_from_amount(out.reset_index(drop=True), spec.name, notes)
    # each row's place in the file, for checks after validation that name rows (row_label);
    # valid for this frame's positions only (a filtered copy must not use them)
    out.attrs["_rows"] = df.attrs.get("_rows")
    out.attrs["header"] = df.attrs.get("header")
    out.attrs["exact_duplicates_dropped"] = n_exact
    out.attrs["notes"] = notes
    return out


# The amount a row's units sold for, and what it gives: (quantity column, price column).
_AMOUNT = {"sales": ("y", "price"), "orders": ("quantity", "unit_price")}


def _amount_signs(frame: pd.DataFrame, spec: FrameSpec, problems: Problems) -> None:
    """A negative amount is a refund: on a returns row (negative units, kept with --negatives
    keep) or a row without units (a refund only); on a sale it is an error, as is a positive
    amount on a return."""
    if "amount" not in frame.columns or spec.name not in _AMOUNT:
        return
    qty = _AMOUNT[spec.name][0]
    units = frame[qty].to_numpy(dtype=float, na_value=np.nan)
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        problems.add("amount", (amount < 0) & (units > 0),
                     f"a number >= 0 ({qty} is positive: a sale; only a return or a refund has a "
                     "negative amount)")
        problems.add("amount", (amount > 0) & (units < 0),
                     f"a number <= 0 ({qty} is negative, a return: its amount is the refund)")


def _price_from_amount(df: pd.DataFrame, kind: str, notes: list[str]) -> pd.DataFrame:
    """A mapped ``amount`` (a back end's 支付金额 / 销售额: what the units sold for) as the
    price per unit where the file gives none: amount / quantity on rows that sold; the amount
    itself is not stored."""
    if "amount" not in df.columns:
        return df
    qty, price = _AMOUNT[kind]
    units = df[qty].to_numpy(dtype=float)
    amount = df["amount"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):  # a return: -amount / -units
        each = np.where(units != 0, amount / units, np.nan)
    given = df[price].to_numpy(dtype=float, na_value=np.nan) if price in df.columns else \
        np.full(len(df), np.nan)
    fill = np.isnan(given) & ~np.isnan(each)
    out = df.drop(columns=["amount"])
    out[price] = np.where(fill, np.round(each, 6), given)
    if fill.any():
        i = int(np.flatnonzero(fill)[0])
        notes.append(f"{price}: {int(fill.sum()):,} read as amount / {qty} (what the units sold for, "
                     f"per unit), e.g. {amount[i]:g} / {units[i]:g} = {each[i]:.4g}"
                     + (f"; {int((~np.isnan(amount) & (units == 0)).sum()):,} row(s) without units "
                        "sold have no price" if (~np.isnan(amount) & (units == 0)).any() else ""))
    if np.isnan(out[price].to_numpy(dtype=float)).all():
        out = out.drop(columns=[price])
    return out


def _reindex_groups(groups: dict, kept_rows: np.ndarray) -> dict:
    """Problem positions after dropping exact duplicate rows (a dropped row's problems are
    the same as its first copy's, so they are dropped too)."""
    new_pos = {int(old): new for new, old in enumerate(kept_rows)}
    out: dict = {}
    for key, (rows, examples) in groups.items():
        kept = [(new_pos[p], v, e) for p, v, e in examples if p in new_pos]
        if kept:
            out[key] = [{new_pos[p] for p in rows if p in new_pos}, kept]
    return out


row_label = row_label  # for checks after validation that name a file's rows

__all__ = ["EXPECTED", "SPECS", "Col", "FrameSpec", "Problems", "check_required", "row_label",
           "validate"]
