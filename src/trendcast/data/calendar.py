"""Holidays and shopping festivals as plain data frames.

Every calendar frame has the columns ``ds, name, kind, region, source``: one row per day an
event is on, so multi-day events (pre-sale windows, the Spring Festival period) are easy to
join onto daily sales. ``kind`` is "holiday", "festival", "presale" or a user-chosen label.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError

CALENDAR_COLUMNS = ("ds", "name", "kind", "region", "source")

# Logistics in China mostly stop around Chinese New Year, so online sales dip for about a week
# on either side of it.
SPRING_FESTIVAL_PERIOD = "Spring Festival period"
_SPRING_FESTIVAL_HALF_WIDTH = 7

# (name, kind, region, first (month, day), last (month, day)); fixed-date events only.
_FIXED_EVENTS: tuple[tuple[str, str, str, tuple[int, int], tuple[int, int]], ...] = (
    ("618", "festival", "CN", (6, 18), (6, 18)),
    ("618 presale", "presale", "CN", (6, 1), (6, 17)),
    ("Double 11", "festival", "CN", (11, 11), (11, 11)),
    ("Double 11 presale", "presale", "CN", (10, 20), (11, 10)),
    ("Double 12", "festival", "CN", (12, 12), (12, 12)),
)

DateLike = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64


def festival_calendar(
    start: DateLike, end: DateLike, *, include_public_holidays: bool = True,
    country: str = "CN", subdiv: str | None = None,
) -> pd.DataFrame:
    """Public holidays and e-commerce festivals between two dates (inclusive).

    China (the default) gets its public holidays, the Spring Festival period and the
    shopping festivals (618, Double 11, Double 12 and their pre-sales); every country gets
    its public holidays from the ``holidays`` package (with ``subdiv``, e.g. a state) and
    Black Friday and Cyber Monday.

    Args:
        start: First day, anything ``pd.Timestamp`` accepts.
        end: Last day (inclusive).
        include_public_holidays: Add public holidays from the ``holidays`` package.
        country: ISO 3166 code (``CN``, ``US``, ``EC``, ``DE``, ...).
        subdiv: A subdivision the ``holidays`` package knows (``CA`` for California, ...).

    Returns:
        Frame with columns ``ds, name, kind, region, source``, one row per (ds, name),
        sorted by ds and name.

    Raises:
        DataValidationError: A date cannot be parsed or ``start`` is after ``end``.
    """
    first = _to_day(start, "start")
    last = _to_day(end, "end")
    if first > last:
        raise DataValidationError(
            f"festival_calendar: start {first.date()} is after end {last.date()}; "
            "pass start <= end.",
            [{"file": None, "row": None, "column": "start", "value": str(start),
              "expected": f"<= {last.date()}"}],
        )
    years = list(range(first.year, last.year + 1))
    country = country.upper()
    records: list[tuple[pd.Timestamp, str, str, str, str]] = []
    if country != "CN":
        if include_public_holidays:
            region = country if subdiv is None else f"{country}-{subdiv.upper()}"
            for day, names in _country_holidays(country, subdiv, years).items():
                records.extend((day, name, "holiday", region, "holidays") for name in names)
        for year in years:
            black_friday = _black_friday(year)
            records.append((black_friday, "Black Friday", "festival", "US", "trendcast"))
            records.append((black_friday + pd.Timedelta(days=3), "Cyber Monday", "festival", "US",
                            "trendcast"))
        frame = _frame(records)
        frame = frame[(frame["ds"] >= first) & (frame["ds"] <= last)]
        return _tidy(frame, ["ds", "name"])
    cn = _china_holidays(years, subdiv)
    if include_public_holidays:
        for day, names in cn.items():
            records.extend((day, name, "holiday", "CN", "holidays") for name in names)
    for new_year in _chinese_new_years(cn):
        offsets = range(-_SPRING_FESTIVAL_HALF_WIDTH, _SPRING_FESTIVAL_HALF_WIDTH + 1)
        records.extend(
            (new_year + pd.Timedelta(days=k), SPRING_FESTIVAL_PERIOD, "festival", "CN",
             "trendcast")
            for k in offsets
        )
    for year in years:
        for name, kind, region, (m0, d0), (m1, d1) in _FIXED_EVENTS:
            for day in pd.date_range(pd.Timestamp(year, m0, d0), pd.Timestamp(year, m1, d1)):
                records.append((day, name, kind, region, "trendcast"))
        black_friday = _black_friday(year)
        records.append((black_friday, "Black Friday", "festival", "US", "trendcast"))
        records.append((black_friday + pd.Timedelta(days=3), "Cyber Monday", "festival", "US",
                        "trendcast"))
    frame = _frame(records)
    frame = frame[(frame["ds"] >= first) & (frame["ds"] <= last)]
    return _tidy(frame, ["ds", "name"])


def user_events(df: pd.DataFrame, *, source: str = "user") -> pd.DataFrame:
    """Normalise a user-supplied events table into the calendar columns.

    Args:
        df: Columns ``ds`` and ``name`` (required), ``kind`` (default "custom"), ``region``
            (default "") and ``end`` (optional last day; the event is expanded to one row
            per day from ``ds`` to ``end``).
        source: Value of the ``source`` column.

    Returns:
        Frame with columns ``ds, name, kind, region, source`` sorted by ds and name.

    Raises:
        DataValidationError: A required column is missing, a date is bad, a name is empty or
            ``end`` is before ``ds``. Row numbers are 1-based data rows.
    """
    missing = [c for c in ("ds", "name") if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"events table is missing column(s) {missing}; it needs 'ds' and 'name'.",
            [{"file": None, "row": None, "column": c, "value": None, "expected": "column"}
             for c in missing],
        )
    data = df.reset_index(drop=True)
    start = _parse_dates(data["ds"], "ds")
    end = _parse_dates(data["end"], "end", allow_missing=True) if "end" in data else start
    end = end.fillna(start)
    names = data["name"]
    bad_name = names.isna() | (names.astype(str).str.strip() == "")
    if bad_name.any():
        _raise_row(int(np.flatnonzero(bad_name.to_numpy())[0]), "name", names, "a non-empty name")
    backwards = (end < start).to_numpy()
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        raise DataValidationError(
            f"events row {row + 1}, column 'end': {end.iloc[row].date()} is before ds "
            f"{start.iloc[row].date()}; end must be on or after ds.",
            [{"file": None, "row": row + 1, "column": "end", "value": str(end.iloc[row]),
              "expected": f">= {start.iloc[row].date()}"}],
        )
    kind = _text_column(data, "kind", "custom")
    region = _text_column(data, "region", "")
    # Expand ranges without a Python loop: repeat each row once per day, then add 0..n-1 days.
    n_days = ((end - start).dt.days + 1).to_numpy(dtype=np.int64)
    rows = np.repeat(np.arange(len(data)), n_days)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    out = pd.DataFrame(
        {
            "ds": start.to_numpy()[rows] + within.astype("timedelta64[D]"),
            "name": names.astype(str).str.strip().to_numpy()[rows],
            "kind": kind[rows],
            "region": region[rows],
            "source": source,
        }
    )
    return _tidy(out, ["ds", "name", "region"])


def merge_calendars(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate calendar frames, drop duplicate (ds, name, region) rows and sort.

    The first occurrence wins, so pass the frame whose ``kind``/``source`` should be kept first.
    """
    for i, frame in enumerate(frames):
        lacking = [c for c in CALENDAR_COLUMNS if c not in frame.columns]
        if lacking:
            raise DataValidationError(
                f"calendar frame {i + 1} is missing column(s) {lacking}; expected "
                f"{list(CALENDAR_COLUMNS)}.",
            )
    parts = [f.loc[:, list(CALENDAR_COLUMNS)] for f in frames if len(f)]
    if not parts:
        return _frame([])
    merged = pd.concat(parts, ignore_index=True)
    merged["ds"] = pd.to_datetime(merged["ds"]).dt.normalize()
    return _tidy(merged, ["ds", "name", "region"])


# Region names that mean "the whole country" besides the countries themselves.
_EVERYWHERE = frozenset({"", "national", "nationwide", "all", "country", "全国", "全部", "中国"})


def shop_wide(calendar: pd.DataFrame) -> pd.DataFrame:
    """The events that apply to every product of a catalogue, for the models' shared flags.

    An event applies everywhere when its region is empty or a whole country (an ISO code or
    a country's name: ``CN``, ``US``, ``Ecuador``, ``全国``). A region below a country (a
    state, a city) is the shop's own when the calendar names only one such region (M5 CA_1's
    SNAP days in ``US-CA``, ``trendcast festivals --subdiv``). When it names several, no
    product is in all of them (Favorita's holidays of 23 cities and provinces, which flagged
    every store): their events are left out, and ``attrs["notes"]`` says how many and where.
    """
    if calendar.empty or "region" not in calendar.columns:
        return calendar
    region = calendar["region"].fillna("").astype(str).str.strip()
    local = ~region.map({r: _is_everywhere(r) for r in region.unique()})
    places = sorted(region[local].unique())
    if len(places) <= 1:
        return calendar
    out = calendar[~local].reset_index(drop=True)
    counts = region[local].value_counts()
    named = ", ".join(f"{p} ({counts[p]:,})" for p in counts.index[:4])
    out.attrs["notes"] = [
        f"calendar: {int(local.sum()):,} event row(s) of {len(places):,} regions ({named}"
        f"{', ...' if len(places) > 4 else ''}) not used as flags for every product: a "
        "product is not in every region; events without a region or of a whole country are "
        "used"]
    return out


def _is_everywhere(region: str) -> bool:
    return region.casefold() in _EVERYWHERE or _plain(region) in _country_names()


def _plain(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@lru_cache(maxsize=1)
def _country_names() -> frozenset[str]:
    """ISO codes (2 and 3 letters) and English names of the countries ``holidays`` knows."""
    from holidays.registry import COUNTRIES

    names: set[str] = set()
    for module, (cls, code, alpha3, *_rest) in COUNTRIES.items():
        names |= {_plain(module), _plain(cls), code.casefold(), alpha3.casefold()}
    return frozenset(names)


# -- helpers -------------------------------------------------------------------------------


def _to_day(value: Any, label: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"{label} {value!r} is not a date; use e.g. '2024-01-31'.",
            [{"file": None, "row": None, "column": label, "value": str(value),
              "expected": "date"}],
        ) from exc
    if pd.isna(stamp):
        raise DataValidationError(f"{label} is missing; pass a date such as '2024-01-31'.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def _china_holidays(years: list[int], subdiv: str | None = None) -> dict[pd.Timestamp, list[str]]:
    return _country_holidays("CN", subdiv, years)


def _country_holidays(country: str, subdiv: str | None,
                      years: list[int]) -> dict[pd.Timestamp, list[str]]:
    import holidays

    try:
        found = holidays.country_holidays(country, subdiv=subdiv, years=years, language="en_US")
    except NotImplementedError:
        raise DataValidationError(
            f"no holiday calendar for country {country!r}"
            + (f" and subdivision {subdiv!r}" if subdiv else "")
            + "; use an ISO 3166 code the `holidays` package knows (CN, US, EC, DE, ...)") from None
    except (ValueError, TypeError):  # no English names, or an old `holidays` release
        found = holidays.country_holidays(country, subdiv=subdiv, years=years)
    # Several holidays can share a day; get_list splits them instead of "a; b".
    return {pd.Timestamp(day): found.get_list(day) for day in sorted(found)}


def _chinese_new_years(cn: dict[pd.Timestamp, list[str]]) -> list[pd.Timestamp]:
    """First day of the lunar year, per year: the earliest non-eve, non-observed CNY holiday."""
    firsts: dict[int, pd.Timestamp] = {}
    for day, names in cn.items():
        for name in names:
            lower = name.lower()
            is_new_year = any(k in lower for k in ("spring festival", "chinese new year", "春节"))
            if is_new_year and not any(k in lower for k in ("eve", "observed", "除夕", "观察")):
                firsts.setdefault(day.year, day)  # days are sorted, so the first one wins
    return sorted(firsts.values())


def _black_friday(year: int) -> pd.Timestamp:
    """Friday after the fourth Thursday of November."""
    nov1 = pd.Timestamp(year, 11, 1)
    first_thursday = 1 + (3 - nov1.dayofweek) % 7
    return pd.Timestamp(year, 11, first_thursday + 21 + 1)


def _frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(CALENDAR_COLUMNS))
    frame["ds"] = pd.to_datetime(frame["ds"]).astype("datetime64[ns]")
    for col in CALENDAR_COLUMNS[1:]:
        frame[col] = frame[col].astype(object)
    return frame


def _tidy(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    out = frame.drop_duplicates(subset=key, keep="first")
    out = out.sort_values(["ds", "name", "region"], kind="stable").reset_index(drop=True)
    out["ds"] = out["ds"].astype("datetime64[ns]")
    return out.loc[:, list(CALENDAR_COLUMNS)]


def _parse_dates(values: pd.Series, column: str, *, allow_missing: bool = False) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        # format="mixed" parses each cell on its own, so one odd-but-valid format does not
        # turn every other row into NaT.
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    given = values.notna() & (values.astype(str).str.strip() != "")
    bad = parsed.isna() & (given | (not allow_missing))
    if bad.any():
        _raise_row(int(np.flatnonzero(bad.to_numpy())[0]), column, values, "a date (YYYY-MM-DD)")
    return parsed.dt.normalize().astype("datetime64[ns]")


def _raise_row(row: int, column: str, values: pd.Series, expected: str) -> None:
    value = values.iloc[row]
    raise DataValidationError(
        f"events row {row + 1}, column '{column}': {value!r} is not {expected}; "
        f"fix that cell.",
        [{"file": None, "row": row + 1, "column": column, "value": str(value),
          "expected": expected}],
    )


def _text_column(data: pd.DataFrame, column: str, default: str) -> np.ndarray:
    if column not in data:
        return np.full(len(data), default, dtype=object)
    col = data[column].astype(object).where(data[column].notna(), default)
    return col.astype(str).str.strip().to_numpy(dtype=object)
