"""The value contract every ingested value meets, whatever the file format or entry point.

Readers hand over raw columns (text from CSV/TSV/Excel, Python values from JSON lines, typed
arrays from Parquet); the functions here turn one column into typed values and a list of
problems, with the same rules for every format:

- numbers are finite and inside documented bounds (:data:`MAX_QUANTITY`, :data:`MAX_PRICE`,
  :data:`MAX_VALUE`, the rating scale); booleans, lists and objects are not numbers;
- dates lie in the supported window :data:`DATE_MIN` .. :data:`DATE_MAX`; partial dates
  (``2024-01``, ``2024``) need an explicit ``--date-format``;
- one time-zone policy: every stored time is naive local time in the workspace's zone;
  times with an offset (text or Parquet) are converted to it, naive date-times are taken in
  ``--tz`` (default: the workspace's zone), Unix times are UTC instants converted to it;
- Unix times are read in one unit per column (seconds or milliseconds, from their digits);
  a column that mixes units is refused;
- ids carry no control characters (a NUL byte once merged two products); free text no NUL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.period_labels import DATE_RANGE, WEEK_NUMBER

DATE_MIN = pd.Timestamp("1900-01-01")  # long industry and macro series (ausbeer from 1956)
DATE_MAX = pd.Timestamp("2200-12-31 23:59:59.999999")
WINDOW = "a date between 1900-01-01 and 2200-12-31"
MAX_QUANTITY = 1e9  # units per row (sales y, order quantity, stock on hand)
MAX_PRICE = 1e9  # prices, in the shop's currency
MAX_VALUE = 1e15  # macro indicators
DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_RATING_SCALE = (1.0, 5.0)
NEGATIVES = ("reject", "keep", "clip", "zero")
DECIMALS = (".", ",")
# Cells of a number column that mean "no value" in common exports (R, Excel, databases).
MISSING_MARKERS = ("NA", "N/A", "#N/A", "NaN", "nan", "null", "NULL", "None")
# Unix times: digits -> unit. 9-10 digits are seconds (1973-2286), 12-13 milliseconds.
_EPOCH_UNITS = {9: "s", 10: "s", 12: "ms", 13: "ms"}
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds"}

_EPOCH = re.compile(r"^\d+(?:\.\d+)?$")
_FULL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})-(\d{1,2})|(\d{2})(\d{2}))(?:[T ]\S.*)?$")
_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{1,2})?$")
_GMT = re.compile(r"(?<=\d)\s*(?:GMT|UTC)(?:\s*([+-])(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)
_NO_YEAR = re.compile(r"\d{1,2}月\d{1,2}[日号]")  # 10月3日: a report's day without its year
_OFFSET = re.compile(r"[T ]\d{1,2}:\d{2}.*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_SCIENTIFIC_ID = re.compile(r"\d(?:\.\d+)?[eE]\+\d+")  # 6.12346E+11: a long id Excel rounded
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"\x00")  # free text keeps other control bytes (real reviews have them)


@dataclass(frozen=True)
class Rules:
    """How values are read for one file (the ingest options that touch values).

    Attributes:
        workspace_tz: the workspace's zone; stored times are naive local times in it.
        tz: the zone of naive date-times in the file (default: ``workspace_tz``).
        date_format: an explicit ``strftime`` format for every date column (``%m/%d/%y``);
            also what lets partial dates (``%Y-%m``) through.
        negatives: what to do with negative quantities: reject, keep, clip or zero
            (clip and zero both set them to 0).
        rating_scale: the lowest and highest rating.
        decimal: numbers written for people (``--decimal``): ``"."`` reads ``1,234.50`` and
            ``$12.50``, ``","`` reads ``1.234,50``, ``12,5`` and ``12,50 €``; None (default)
            reads plain numbers only.
        workspace_freq: the frequency of the workspace's stored sales (None before its first
            sales): a monthly one reads month labels (``2025年1月``) as months.
    """

    workspace_tz: str = DEFAULT_TZ
    tz: str | None = None
    date_format: str | None = None
    negatives: str = "reject"
    rating_scale: tuple[float, float] = DEFAULT_RATING_SCALE
    decimal: str | None = None
    workspace_freq: str | None = None

    @property
    def file_tz(self) -> str:
        return self.tz or self.workspace_tz


class FileRows(tuple):
    """A frame's ``attrs['_rows']``: the file row each frame row came from. pandas deep-copies
    ``attrs`` on every operation; this copy is the object itself, so a 400,000-row map costs
    nothing per column operation (a list cost seconds on a wide sheet)."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> FileRows:
        return self


def file_rows(values: Any) -> FileRows:
    """``values`` (positions) as a :class:`FileRows`."""
    return FileRows(int(v) for v in np.asarray(values).ravel())


@dataclass
class Found:
    """Problems found in one column: boolean masks (by row position) and what was expected."""

    items: list[tuple[np.ndarray, str]] = field(default_factory=list)

    def add(self, mask: np.ndarray | pd.Series, expected: str) -> None:
        m = np.asarray(mask, dtype=bool)
        if m.any():
            self.items.append((m, expected))


def _is_nested(v: Any) -> bool:
    return isinstance(v, list | dict | tuple | set | np.ndarray)


def _types(values: pd.Series) -> pd.Series:
    return values.map(lambda v: type(v).__name__, na_action="ignore")


def _given(values: pd.Series) -> np.ndarray:
    """Cells that hold something (not missing, not blank text)."""
    present = values.notna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        blank = values.map(lambda v: isinstance(v, str) and not v.strip())
        present &= ~blank.to_numpy(dtype=bool)
    return present


def _object_checks(values: pd.Series, found: Found, *, allow_bool: bool = False,
                   what: str = "a number") -> pd.Series:
    """Flag lists/objects, bytes and booleans held by a column of Python values (``what`` the
    column holds, for the message); return the remaining values (flagged ones missing)."""
    if values.dtype != object:
        return values
    kinds = _types(values)
    nested = values.map(_is_nested).astype(bool)
    found.add(nested, "a single value, not a list or object")
    raw_bytes = kinds.isin(["bytes", "bytearray", "memoryview"]).to_numpy()
    found.add(raw_bytes, "text, not binary bytes")
    bad = nested.to_numpy() | raw_bytes
    if not allow_bool:
        is_bool = kinds.isin(["bool", "bool_"]).to_numpy()
        found.add(is_bool, f"{what}, not true/false")
        bad |= is_bool
    return values.mask(bad)


def _id_text(value: object) -> str:
    """An id given as a number: ``1.0`` (a JSON or Parquet float of a whole number, as pandas
    writes an integer column with gaps) is the id ``1``."""
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def to_text(values: pd.Series, *, identifier: bool, found: Found) -> pd.Series:
    """Text values, stripped, blank as missing; flags nested values and control characters."""
    if values.dtype == bool or pd.api.types.is_bool_dtype(values):
        found.add(values.notna(), "text, not true/false")
        return pd.Series(np.nan, index=values.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.astype("string")
    elif values.dtype == object:
        kinds = _types(values)
        values = _object_checks(values, found, what="text") if not kinds.eq("str").all() \
            else values
        show = _id_text if identifier else str
        text = values.map(lambda v: v if isinstance(v, str) else show(v), na_action="ignore")
        text = text.astype("string")
    elif identifier and pd.api.types.is_float_dtype(values):
        text = values.map(_id_text, na_action="ignore").astype("string")
    else:
        text = values.astype("string")
    text = text.str.strip()
    if identifier:
        rounded = text.str.fullmatch(_SCIENTIFIC_ID).fillna(False).to_numpy(dtype=bool)
        found.add(rounded, "an id as the export wrote it, not a number in scientific notation: "
                           "Excel rounds long number ids (6.12346E+11), so products can merge; "
                           "format the id column as text before saving, or export it again")
        text = text.mask(rounded)
    pattern = _ID_CONTROL if identifier else _TEXT_CONTROL
    control = text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)
    found.add(control, "text without control characters (NUL, tab, line breaks)" if identifier
              else "text without NUL bytes (\\x00)")
    text = text.mask(control | (text == "").fillna(False).to_numpy(dtype=bool))
    return text.astype(object).where(text.notna(), np.nan)


def joined_text(text: pd.Series) -> str:
    """A text column's values in one string (NUL between them): one look with ``in`` or a
    regex says whether any value has a character, much faster than a look per value."""
    return "\x00".join(text.dropna().astype(str).tolist())


def to_number(values: pd.Series, found: Found, expected: str = "a number", *,
              decimal: str | None = None) -> pd.Series:
    """Floats; flags booleans, nested values, unparseable text and non-finite numbers.

    ``decimal`` ('.' or ',') also reads numbers written for people: thousands separators and
    a currency sign (:func:`_human_numbers`)."""
    if pd.api.types.is_bool_dtype(values):
        found.add(values.notna(), "a number, not true/false")
        return pd.Series(np.nan, index=values.index, dtype=float)
    if pd.api.types.is_numeric_dtype(values):
        out = values.astype(float)
    else:
        clean = _object_checks(values.astype(object), found) if values.dtype == object else values
        text = clean.map(lambda v: v if isinstance(v, str) else repr(v) if isinstance(v, float)
                         else str(v), na_action="ignore")
        text = text.astype("string").str.strip()
        text = text.mask(text.isin(MISSING_MARKERS) | (text == ""))
        # (2): accounting's negative 2 (a return in a finance export), read as -2
        if "(" in joined_text(text):
            text = text.str.replace(r"^\(\s*([^()\s-][^()]*?)\s*\)$", r"-\1", regex=True)
        typed = text if decimal is None else _human_numbers(text, decimal)
        if decimal is not None:
            _one_currency(text, found, expected)
        out = pd.to_numeric(typed, errors="coerce").astype(float)
        unparsed = out.isna().to_numpy() & text.notna().to_numpy()
        overflow = np.zeros(len(out), dtype=bool)  # '1e999': a number, but not a finite one
        overflow[unparsed] = [_overflows(t) for t in text[unparsed]]
        human = np.zeros(len(out), dtype=bool)
        if decimal is None and unparsed.any():
            human[unparsed] = [_looks_human(t) for t in text[unparsed]]
        found.add(unparsed & ~overflow & ~human, expected)
        found.add(human, f"{expected} (it has thousands separators, a decimal comma or a currency "
                         "sign: pass --decimal . for 1,234.50 or --decimal , for 1.234,50)")
        found.add(overflow, "a finite number (not inf or NaN)")
    finite = np.isfinite(out.to_numpy(dtype=float, na_value=np.nan))
    found.add(out.notna().to_numpy() & ~finite, "a finite number (not inf or NaN)")
    return out.where(finite | out.isna(), np.nan)


_CURRENCY = "$€£¥￥₹₩"
_CODES = "RMB|CNY|USD|EUR|GBP|JPY|HKD|TWD|KRW|INR|AUD|CAD|SGD|CHF"  # written before or after
_SIGNED_MONEY = re.compile(rf"^([+-]?)\s*(?:(?:{_CODES})\s*|[A-Z]{{0,2}}[{_CURRENCY}])?\s*([+-]?)(.*?)\s*"
                           rf"(?:[{_CURRENCY}]|元|(?:{_CODES}))?$")
_MONEY_MARK = re.compile(rf"[A-Z]{{0,2}}[{_CURRENCY}]|元|\b(?:{_CODES})\b")
# one currency, however written
_SAME_MONEY = {"￥": "¥", "元": "¥", "RMB": "¥", "CNY": "¥", "JPY": "¥", "USD": "$", "US$": "$", "EUR": "€",
               "GBP": "£", "INR": "₹", "KRW": "₩"}
_GROUPED = {".": re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$", re.ASCII),
            ",": re.compile(r"^(?:\d{1,3}(?:[. \u00a0\u202f']\d{3})+|\d+)(?:,\d+)?$", re.ASCII)}


_SCALED = re.compile(r"^(.*?\d)\s*(万|亿|k|K|M)\s*(元)?$")
_SCALE = {"万": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000, "M": 1_000_000}


def _human_number(value: str, decimal: str) -> str:
    """A number written for people as plain number text; what does not fit the convention
    exactly (``1.5`` under a decimal comma, ``1,23.4``) becomes unreadable, never a guess.
    Chinese reports' 万 and 亿 (``1.2万`` is 12000), ``k`` (``1.5k``) and ``M`` (``2.5M``)
    scale the number."""
    scaled = _SCALED.match(value.strip())
    if scaled:
        from decimal import Decimal, InvalidOperation

        base = _human_number(scaled[1] + (scaled[3] or ""), decimal)
        try:
            return format(Decimal(base) * _SCALE[scaled[2]], "f") if base != "not a number" else base
        except InvalidOperation:
            return "not a number"
    m = _SIGNED_MONEY.match(value)
    if not m or (m.group(1) and m.group(2)) or not _GROUPED[decimal].match(m.group(3)):
        return "not a number"
    sign, body = m.group(1) or m.group(2), m.group(3)
    if decimal == ".":
        return sign + body.replace(",", "")
    for sep in ". \u00a0\u202f'":
        body = body.replace(sep, "")
    return sign + body.replace(",", ".")


def _one_currency(text: pd.Series, found: Found, expected: str) -> None:
    """Amounts in two currencies (``USD 12``, ``EUR 10`` in one price column) are no one number
    column: the rows of every currency but the most common are flagged, naming both."""
    if not _MONEY_MARK.search(joined_text(text)):
        return
    values = pd.Series(text.dropna().unique(), dtype="string")  # prices repeat: each once
    first = values.str.extract(f"({_MONEY_MARK.pattern})", expand=False)
    found_in = dict(zip(values, first.map(lambda m: _SAME_MONEY.get(m, m), na_action="ignore"), strict=True))
    money = text.map(found_in)
    counts = money.dropna().value_counts()
    if len(counts) < 2:
        return
    main = str(counts.index[0])
    other = money.notna() & (money != main)
    also = ", ".join(map(str, counts.index[1:]))
    found.add(other.fillna(False).to_numpy(dtype=bool),
              f"{expected} in the column's one currency ({main}; it also has {also}): convert the "
              "amounts to one currency first")


def _human_numbers(text: pd.Series, decimal: str) -> pd.Series:
    return text.astype(object).map(lambda v: _human_number(v, decimal), na_action="ignore")


def _looks_human(value: str) -> bool:
    """Whether ``value`` reads as a number under one of the ``--decimal`` conventions."""
    return any(_human_number(value, d) != "not a number" for d in DECIMALS)


def _overflows(text: str) -> bool:
    try:
        return bool(np.isinf(float(text)))
    except (TypeError, ValueError):
        return False


def check_bounds(values: pd.Series, low: float, high: float, found: Found, *,
                 low_open: bool = False, what: str = "a number", hint: str = "") -> None:
    """Values below ``low`` (``hint`` added to that message) or above ``high``."""
    v = values.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        below = v <= low if low_open else v < low
        above = v > high
    lo = f"> {low:g}" if low_open else f">= {low:g}"
    found.add(below, f"{what} {lo}{hint}")
    found.add(above, f"{what} <= {high:g}" + (f" and {lo}" if "scale" in what else
                                              " (the documented upper bound)"))


def _epoch(text: pd.Series, given: np.ndarray, found: Found) -> pd.Series | None:
    """Unix times in seconds or milliseconds -> UTC stamps; None when the column is not
    Unix times. One unit per column; other digit counts are refused."""
    is_num = text.str.fullmatch(_EPOCH).fillna(False).to_numpy(dtype=bool)
    if not is_num[given].any():
        return None
    digits = text.str.split(".", n=1).str[0].str.len().fillna(0).astype(int).to_numpy()
    numeric_given = given & is_num
    units = pd.Series(digits).map(_EPOCH_UNITS).to_numpy(dtype=object)
    odd = numeric_given & pd.isna(units)
    found.add(odd, "Unix time in seconds (10 digits) or milliseconds (13 digits)")
    known = numeric_given & ~pd.isna(units)
    if not known.any():
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    seen = pd.Series(units[known]).value_counts()
    unit = str(seen.index[0])
    if len(seen) > 1:
        other = known & (units != unit)
        found.add(other, f"Unix time in {_UNIT_NAMES[unit]} like the rest of the column "
                         "(one unit per file; it mixes seconds and milliseconds)")
        known &= units == unit
    numbers = pd.to_numeric(text.where(known), errors="coerce")
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")


def to_datetime(values: pd.Series, rules: Rules, found: Found, *, date_only: bool) -> pd.Series:
    """Naive datetime64[ns] in the workspace's zone (dates normalised for ``date_only``)."""
    ws = rules.workspace_tz
    expected = "a date like 2024-06-18" if date_only else "a date-time like 2024-06-18 20:15:00"
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = _in_window(values.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), found)
        out = out.dt.tz_convert(ws).dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(values):
        out = _in_window(values, found)
        if not date_only and rules.file_tz != ws:
            out = _localise(out, rules.file_tz, ws, found)
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        if date_only or pd.api.types.is_bool_dtype(values):
            found.add(values.notna(), f"{expected} (the column holds {values.dtype} numbers, "
                                      "not dates)")
            return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        return to_datetime(values.map(lambda v: f"{v:.0f}" if float(v).is_integer() else repr(v),
                                      na_action="ignore").astype(object), rules, found,
                           date_only=date_only)
    else:
        out = _text_dates(values, rules, found, date_only=date_only, expected=expected)
    out = out.astype("datetime64[ns]")
    return out.dt.normalize() if date_only else out


def _in_window(values: pd.Series, found: Found) -> pd.Series:
    """Stamps outside the supported window flagged and made missing (in their own unit, so
    year 3000 in a Parquet file does not overflow nanoseconds)."""
    tz = getattr(values.dtype, "tz", None)
    low = DATE_MIN.tz_localize("UTC") if tz is not None else DATE_MIN
    high = DATE_MAX.tz_localize("UTC") if tz is not None else DATE_MAX
    outside = ((values < low) | (values > high)).fillna(False).to_numpy(dtype=bool)
    found.add(outside, WINDOW)
    kept = values.mask(outside)
    if tz is not None:
        return kept.astype("datetime64[ns, UTC]")
    return kept.astype("datetime64[ns]")


def _localise(naive: pd.Series, tz: str, ws: str, found: Found) -> pd.Series:
    aware = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    lost = (aware.isna() & naive.notna()).to_numpy()
    found.add(lost, f"a local time that exists once in {tz} (daylight-saving change)")
    return aware.dt.tz_convert(ws).dt.tz_localize(None)


def _text_dates(values: pd.Series, rules: Rules, found: Found, *, date_only: bool,
                expected: str) -> pd.Series:
    from datetime import date, datetime

    if values.dtype == object:
        values = _object_checks(values, found)
        values = values.map(lambda v: v.isoformat() if isinstance(v, datetime | date) else
                            (f"{v:.0f}" if isinstance(v, float) and v.is_integer() else str(v))
                            if not isinstance(v, str) else v, na_action="ignore")
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    # a zone written as GMT+8 / UTC-05:30 is the offset +08:00 / -05:30
    if re.search("GMT|UTC", joined_text(text), re.IGNORECASE):
        text = text.str.replace(_GMT, lambda m: f"{m[1] or '+'}{int(m[2] or 0):02d}:{m[3] or '00'}",
                                regex=True)
    given = text.notna().to_numpy()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = given.copy()
    if not date_only and rules.date_format is None:
        stamps = _epoch(text, given, found)
        if stamps is not None:
            is_num = text.str.fullmatch(_EPOCH).fillna(False).to_numpy(dtype=bool)
            mixed = given & ~is_num
            found.add(mixed, f"{expected} or a Unix time, one kind per column (this column "
                             "mixes Unix times and dates)")
            local = _in_window(stamps, found).dt.tz_convert(rules.workspace_tz).dt.tz_localize(None)
            return local.astype("datetime64[ns]")
    elif date_only and rules.date_format is None:
        digits = text.str.fullmatch(r"\d{9,}").fillna(False).to_numpy(dtype=bool)
        found.add(digits, f"{expected} (a number is not a date)")
        todo &= ~digits
    if rules.date_format:
        return _formatted_dates(text, todo, rules, found, date_only=date_only)
    partial = todo & text.str.fullmatch(_PARTIAL_DATE).fillna(False).to_numpy(dtype=bool)
    found.add(partial, f"{expected}; a partial date (year or month only) needs --date-format, "
                       "e.g. --date-format %Y-%m")
    todo &= ~partial
    serial = todo & text.str.fullmatch(r"[1-9]\d{4}(?:\.\d+)?").fillna(False).to_numpy(dtype=bool)
    found.add(serial, f"{expected}, not a number: this looks like an Excel serial day number "
                      "(45820 is 2025-06-12); format the column as dates before saving the file")
    todo &= ~serial
    full = text.str.match(_FULL_DATE).fillna(False).to_numpy(dtype=bool)
    weeks = todo & ~full & text.str.fullmatch(WEEK_NUMBER).fillna(False).to_numpy(dtype=bool)
    found.add(weeks, f"{expected}, not a week number: which days a week number holds depends on "
                     "the back end's week rule; export the week's first or last day, a range "
                     "(2025-01-06~2025-01-12) or ISO weeks (2025-W02)")
    todo &= ~weeks
    ranges = _matching(text, todo & ~full, DATE_RANGE)
    found.add(ranges, f"{expected} or a range from a first to a last day at most a year later "
                      "(this one ends before it starts or spans more)")
    todo &= ~ranges
    no_year = _matching(text, todo & ~full, _NO_YEAR, whole=True)
    found.add(no_year, f"{expected}, not a day without its year: export the dates with their year")
    todo &= ~no_year
    if (todo & ~full).any():
        first = str(text[todo & ~full].iloc[0])
        suggestion = _suggest_format(first)
        if suggestion is None:
            found.add(todo & ~full, f"{expected} (the text after the date is not a time of day)")
        elif " or " in suggestion and (order := _day_month_order(text[todo & ~full], suggestion)):
            found.add(todo & ~full, f"{expected} ({order})")
        else:
            iso = _layout_of(str(text[todo & full].iloc[0])) if (todo & full).any() else None
            if iso is not None and " or " not in suggestion and _layout_of(first) is not None:
                # ISO dates beside one other layout that cannot be misread: read both. Beside
                # day/month dates the ISO ones may be days already swapped (a tool that read
                # 02/01 month first); which order is right is the user's call, as before.
                suggestion = f"{suggestion}|{iso}"
            found.add(todo & ~full, f"{expected} (or pass --date-format for another layout, "
                                    f"e.g. --date-format {shell_format(suggestion)})")
    todo &= full
    with_offset = todo & text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    naive = todo & ~with_offset
    if naive.any():
        parsed = pd.to_datetime(text.where(naive), format="ISO8601", errors="coerce")
        parsed = _window_naive(parsed, found)
        if not date_only and rules.file_tz != rules.workspace_tz:
            parsed = _localise(parsed, rules.file_tz, rules.workspace_tz, found)
        out = out.where(~naive, parsed)
    if with_offset.any():
        parsed = pd.to_datetime(text.where(with_offset), format="ISO8601", errors="coerce", utc=True)
        parsed = _in_window(parsed, found).dt.tz_convert(rules.workspace_tz).dt.tz_localize(None)
        out = out.where(~with_offset, parsed.astype("datetime64[ns]"))
    failed = todo & out.isna().to_numpy()
    if failed.any():
        years = pd.to_numeric(text.str.slice(0, 4), errors="coerce").to_numpy(dtype=float,
                                                                              na_value=np.nan)
        with np.errstate(invalid="ignore"):
            outside = failed & ((years < DATE_MIN.year) | (years > DATE_MAX.year))
        found.add(outside, WINDOW)
        found.add(failed & ~outside, expected)
    return out


def _matching(text: pd.Series, among: np.ndarray, pattern: re.Pattern[str], *,
              whole: bool = False) -> np.ndarray:
    """Which of the ``among`` values match ``pattern`` (all of it with ``whole``): a look at
    the few values not yet read, not at the whole column."""
    out = np.zeros(len(text), dtype=bool)
    if among.any():
        part = text[among]
        hit = part.str.fullmatch(pattern) if whole else part.str.match(pattern)
        out[np.flatnonzero(among)] = hit.fillna(False).to_numpy(dtype=bool)
    return out


def split_formats(date_format: str) -> list[str]:
    """The layouts of a ``--date-format``: one strftime format, or several joined by ``|``
    for a column that mixes layouts (``'%Y/%m/%d|%Y-%m-%d'``)."""
    return [f.strip() for f in date_format.split("|") if f.strip()]


def _formatted_dates(text: pd.Series, todo: np.ndarray, rules: Rules, found: Found, *,
                     date_only: bool) -> pd.Series:
    """Dates read with ``--date-format``: each value by the first of its layouts that reads
    it; a value two layouts read as different days is refused as ambiguous."""
    given = rules.date_format or ""
    formats = split_formats(given)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    read = np.zeros(len(text), dtype=bool)
    local = np.zeros(len(text), dtype=bool)  # read by a layout without a zone: in --tz
    clash = np.zeros(len(text), dtype=bool)
    for fmt in formats:
        aware = "%z" in fmt or "%Z" in fmt
        parsed = pd.to_datetime(text.where(todo), format=fmt, errors="coerce", utc=aware)
        if aware:
            parsed = parsed.dt.tz_convert(rules.workspace_tz).dt.tz_localize(None)
        parsed = parsed.astype("datetime64[ns]")
        ok = todo & parsed.notna().to_numpy()
        clash |= ok & read & (parsed != out).to_numpy()
        new = ok & ~read
        out = out.where(~new, parsed)
        local |= new & (not aware)
        read |= new
    if len(formats) > 1:
        found.add(clash, f"a date that the layouts of {given} do not read as different days "
                         "(--date-format): give only the layout this file uses")
        out = out.mask(clash)
    bad = todo & ~read
    found.add(bad, _format_problem(given, text, bad))
    out = _in_window(out, found)
    if not date_only and rules.file_tz != rules.workspace_tz and local.any():
        out = out.where(~local, _localise(out.where(local), rules.file_tz, rules.workspace_tz,
                                          found))
    return out


def _format_problem(given: str, text: pd.Series, bad: np.ndarray) -> str:
    """What a value that ``--date-format`` does not read should be; when it is written in
    another known layout, how to give both."""
    problem = f"a date in the format {given} (--date-format)"
    if not bad.any():
        return problem
    other = _layout_of(str(text[bad].iloc[0]))
    if other is None or other in split_formats(given):
        return problem
    both = shell_format(" or ".join(f"{given}|{f}" for f in other.split(" or ")))
    return (f"a date in the format {given} (--date-format; the column also has another layout: "
            f"to read both, --date-format {both})")


_LAYOUTS = (  # (pattern, the --date-format to suggest)
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}"), "%Y/%m/%d"),
    (re.compile(r"^\d{4}\.\d{1,2}\.\d{1,2}"), "%Y.%m.%d"),
    (re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日"), "%Y年%m月%d日"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}"), "%d.%m.%Y"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}"), "%d-%m-%Y or %m-%d-%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}"), "%d/%m/%Y or %m/%d/%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$"), "%d/%m/%y or %m/%d/%y"),
    (re.compile(r"^\d{1,2}-[A-Za-z]{3}-\d{2}$"), "%d-%b-%y"),
    (re.compile(r"^\d{1,2}-[A-Za-z]{3}-\d{4}"), "%d-%b-%Y"),
    (re.compile(r"^\d{1,2} [A-Za-z]{3} \d{4}"), "%d %b %Y"),
    (re.compile(r"^[A-Za-z]{3} \d{1,2}, \d{4}"), "%b %d, %Y"),
    (re.compile(r"^[A-Za-z]{4,9} \d{1,2}, \d{4}"), "%B %d, %Y"),
    (re.compile(r"^\d{1,2} [A-Za-z]{4,9} \d{4}"), "%d %B %Y"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}"), "%Y-%m-%d"),  # reached only from _layout_of
    (re.compile(r"^\d{4}年\d{1,2}月$"), "%Y年%m月"),  # months
    (re.compile(r"^\d{4} \d{1,2}$"), "%Y %m"),  # a year column and a month column: --map ds=年+月
    (re.compile(r"^\d{4}年 \d{1,2}月$"), "%Y年 %m月"),
    (re.compile(r"^\d{4}/\d{1,2}$"), "%Y/%m"),
    (re.compile(r"^\d{4}\.\d{1,2}$"), "%Y.%m"),
    (re.compile(r"^\d{4}-\d{1,2}$"), "%Y-%m"),
    (re.compile(r"^[A-Za-z]{3} \d{4}$"), "%b %Y"),
    (re.compile(r"^[A-Za-z]{4,9} \d{4}$"), "%B %Y"),
    (re.compile(r"^[A-Za-z]{3}-\d{2}$"), "%b-%y"),
)


_CLOCK = re.compile(r"^([ T]+)\d{1,2}:\d{2}(:\d{2})?(\s*[AaPp][Mm])?$")


def _clock_format(rest: str) -> str | None:
    """The strftime of a time of day after the date (`` 14:02``, `` 2:02 PM``), '' for none,
    None for anything else."""
    if not rest.strip():
        return ""
    m = _CLOCK.match(rest)
    if not m:
        return None
    sep = "T" if "T" in m.group(1) else " "
    hour = "%I" if m.group(3) else "%H"
    seconds = ":%S" if m.group(2) else ""
    return f"{sep}{hour}:%M{seconds}" + (" %p" if m.group(3) else "")


def shell_format(layouts: str) -> str:
    """A suggested ``--date-format`` (or ``A or B``) as typed in a shell: a layout with a
    space or ``|`` in quotes (``'%Y/%m/%d %H:%M'``)."""
    def one(fmt: str) -> str:
        return f"'{fmt}'" if (" " in fmt or "|" in fmt) and not fmt.startswith("'") else fmt
    return " or ".join(one(f) for f in layouts.split(" or "))


def _suggest_format(value: str) -> str | None:
    """A ``--date-format`` that reads ``value`` with its time of day (both orders when day
    and month could swap); None when a known date is followed by something other than a time
    of day (no format would read it)."""
    for pattern, fmt in _LAYOUTS:
        m = pattern.match(value)
        if m:
            clock = _clock_format(value[m.end():])
            if clock is None:
                return None
            return " or ".join(f + clock for f in fmt.split(" or ")) if clock else fmt
    return "%m/%d/%Y"


def _day_month_order(values: pd.Series, suggestion: str) -> str | None:
    """Which of the two orders in ``suggestion`` (day/month or month/day) reads every one of
    ``values``, said with a value only it reads; that the column mixes both orders when
    neither reads them all; None when both read them all (the file cannot tell)."""
    unique = pd.Series(values.unique())
    read = {fmt: pd.to_datetime(unique, format=fmt, errors="coerce").notna()
            for fmt in suggestion.split(" or ")}
    (a, ok_a), (b, ok_b) = read.items()
    if ok_a.all() and ok_b.all():
        return None

    def first(fmt: str) -> str:
        return "month" if fmt.index("%m") < fmt.index("%d") else "day"

    for fmt, ok, other in ((a, ok_a, ok_b), (b, ok_b, ok_a)):
        if ok.all():
            return (f"pass --date-format {shell_format(fmt)}: the column writes the {first(fmt)} first, "
                    f"as '{unique[~other].iloc[0]}' shows")
    if (~ok_a & ~ok_b).any():
        return None  # something else is wrong with some values: the usual hint
    return (f"the column writes the {first(a)} first in some rows ('{unique[~ok_b].iloc[0]}') and the "
            f"{first(b)} first in others ('{unique[~ok_a].iloc[0]}'); export the dates in one order")


def date_layout(value: str) -> str | None:
    """The ``--date-format`` that reads ``value`` (``2025年10月``: ``%Y年%m月``), None when its
    layout is not a known one; both orders when day and month could swap."""
    return _layout_of(value.strip())


def _layout_of(value: str) -> str | None:
    """The ``--date-format`` that reads ``value`` exactly (both orders when day and month
    could swap), None when its layout or time of day is not a known one."""
    for pattern, fmt in _LAYOUTS:
        m = pattern.match(value)
        if m:
            clock = _clock_format(value[m.end():])
            if clock is None:
                return None
            return " or ".join(f + clock for f in fmt.split(" or "))
    return None


def _window_naive(parsed: pd.Series, found: Found) -> pd.Series:
    return _in_window(parsed, found)


__all__ = ["DATE_MAX", "DATE_MIN", "DECIMALS", "DEFAULT_RATING_SCALE", "DEFAULT_TZ", "MAX_PRICE",
           "MAX_QUANTITY", "MAX_VALUE", "NEGATIVES", "WINDOW", "FileRows", "Found", "Rules", "check_bounds",
           "date_layout", "file_rows", "joined_text", "shell_format",
           "split_formats", "to_datetime", "to_number", "to_text"]
