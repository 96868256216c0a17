"""Periods written as labels instead of dates, as weekly, monthly and quarterly reports write them.

A back end's weekly or quarterly report dates its rows by the period: ISO weeks (``2025-W01``),
quarters (``2025Q1``, ``Q1 2025``, ``2025年第1季度``) or the period's first and last day
(``2025-01-06~2025-01-12``, ``2025-01-06 至 2025-01-12``). No strftime format reads them, so
they are read here, before the date contract, into one date each, and said in a note:

- an ISO week is its Monday (a week dated by its start, as trendcast dates weeks on Mondays);
- a quarter is its first day (quarterly data dated by the quarter's start);
- a range is its last day: a week of any anchor day is then dated by its end, as trendcast
  reads weeks dated on another weekday than Monday; a month range by the month's last day.

A week number without a standard (``2025年第1周``) is not read: which days it holds depends on
the back end's week rule, and the date contract's refusal says so.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?([1-7]))?$", re.IGNORECASE)
_QUARTER_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_QUARTERS = (
    re.compile(r"^(?P<y>\d{4})\s*[-/ ]?\s*Q(?P<q>[1-4])$", re.IGNORECASE),
    re.compile(r"^Q(?P<q>[1-4])\s*[-/ ]?\s*(?P<y>\d{4})$", re.IGNORECASE),
    re.compile(r"^(?P<y>\d{4})\s*年\s*(?:第\s*(?P<q>[1-4一二三四])\s*季度?|(?P<q3>[1-4一二三四])\s*季度"
               r"|Q(?P<q2>[1-4]))$", re.IGNORECASE),
)
_DAY = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
_RANGE = re.compile(rf"^({_DAY})\s*(?:~|～|至|到|—|–|\s-\s)\s*({_DAY})$")
DATE_RANGE = _RANGE  # two days joined as a range: read when the second is 0-366 days after the first
_CANDIDATE = r"[WwQq季~～至到—–]|\s-\s"  # what every label has and plain dates do not
WEEK_NUMBER = re.compile(r"^\d{4}\s*年?\s*-?\s*第\s*\d{1,2}\s*周$")
MAX_RANGE_DAYS = 366


def _iso_week(text: str) -> date | None:
    m = _ISO_WEEK.match(text)
    if not m:
        return None
    try:
        return date.fromisocalendar(int(m[1]), int(m[2]), int(m[3] or 1))
    except ValueError:  # week 54, year 0: left for the date contract to refuse
        return None


def _quarter(text: str) -> date | None:
    for pattern in _QUARTERS:
        m = pattern.match(text)
        if m:
            groups = m.groupdict()
            q = _QUARTER_NUMBERS[groups.get("q") or groups.get("q2") or groups["q3"]]
            return date(int(m["y"]), 3 * q - 2, 1)
    return None


_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?$")
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH_WORD = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{4})$")
_MONTH_CANDIDATE = r"|^\s*\d{4}\s*(?:[-/.]|年)\s*\d{1,2}\s*月?\s*$|^\s*[A-Za-z]{3,9}\.?\s+\d{4}\s*$"


def _month(text: str) -> date | None:
    """'2025-01', '2025/1', '2025年1月', 'Jan 2025': the month's first day."""
    m = _MONTH.match(text)
    if m:
        year, month = int(m[1]), int(m[2])
    else:
        w = _MONTH_WORD.match(text)
        if not w or w[1][:3].lower() not in _MONTH_NAMES:
            return None
        year, month = int(w[2]), _MONTH_NAMES[w[1][:3].lower()]
    return date(year, month, 1) if 1 <= month <= 12 else None


def _day(text: str) -> date | None:
    try:
        y, mo, d = (int(p) for p in re.split(r"[-/.]", text))
        return date(y, mo, d)
    except ValueError:
        return None


def _range_end(text: str) -> date | None:
    m = _RANGE.match(text)
    if not m:
        return None
    start, end = _day(m[1]), _day(m[2])
    if start is None or end is None or not 0 <= (end - start).days <= MAX_RANGE_DAYS:
        return None
    return end


# (what a label is, how it is read, what the note says it became)
_KINDS = (("ISO week", _iso_week, "the week's Monday"),
          ("quarter", _quarter, "the quarter's first day"),
          ("date range", _range_end, "the range's last day"))


def read_period_labels(raw: pd.Series, name: str, notes: list[str], *,
                       months: bool = False) -> pd.Series:
    """``raw`` with the period labels among its text cells replaced by ISO dates, each kind
    found said in ``notes``; other cells are left for the date contract. ``months``: also
    month labels (``2025-01``, ``2025年1月``), for a workspace whose sales are monthly (in
    a daily one a month is not a day: those need ``--date-format``)."""
    if raw.dtype != object and not pd.api.types.is_string_dtype(raw):
        return raw
    candidate = _CANDIDATE + (_MONTH_CANDIDATE if months else "")
    maybe = raw.astype("string").str.contains(candidate, regex=True).fillna(False)
    if not maybe.any():  # the usual column of dates: one vectorised look
        return raw
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else None).where(maybe)
    out = raw.copy()
    done = pd.Series(False, index=raw.index)
    kinds = _KINDS + ((("month", _month, "the month's first day"),) if months else ())
    for what, read, becomes in kinds:
        dates = text.where(~done).map(lambda v, read=read: read(v) if isinstance(v, str) and v
                                      else None)
        hit = dates.notna()
        if not hit.any():
            continue
        first = hit.idxmax()
        notes.append(f"{name}: {int(hit.sum()):,} {what} label(s) read as dates, {becomes} "
                     f"(e.g. {text[first]!r} as {dates[first]:%Y-%m-%d})")
        out = out.where(~hit, dates.map(lambda d: d.isoformat() if d else None))
        done |= hit
    return out


__all__ = ["DATE_RANGE", "WEEK_NUMBER", "read_period_labels"]
