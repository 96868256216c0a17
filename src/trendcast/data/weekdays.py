"""Dates written with their day of the week, as reports print them.

``2025-10-02(周四)``, ``2025/10/2 星期四``, ``Thu, 2 Oct 2025``: the day of the week is read
off and the date read as usual; then the two must agree, so a date whose weekday disagrees
(a day and month swapped by a tool, ``2025-02-10(周四)``) is refused with its row instead of
being stored on the wrong day.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trendcast.data.contract import Found, joined_text

_ZH_DAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EN_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_EN = (r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|"
       r"sat(?:urday)?|sun(?:day)?)\.?")
_ZH = r"(?:星期|周|礼拜)[一二三四五六日天]"
# the weekday with what sets it apart from the date: brackets, a comma, spaces
_WEEKDAY = re.compile(rf"\s*[,，]?\s*[(（]?\s*(?P<wd>{_ZH}|(?<![A-Za-z]){_EN}(?![A-Za-z]))"
                      r"\s*[)）]?\s*[,，]?\s*", re.IGNORECASE)
_LETTER = re.compile(r"[A-Za-z\u4e00-\u9fff]")
_ANY_WEEKDAY = re.compile(r"(?:星期|周|礼拜)[一二三四五六日天]|mon|tue|wed|thu|fri|sat|sun", re.IGNORECASE)
NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day_number(token: str) -> int:
    token = token.strip().lower().rstrip(".")
    if token[-1] in _ZH_DAYS:
        return _ZH_DAYS[token[-1]]
    return _EN_DAYS[token[:3]]


def strip_weekdays(values: pd.Series, name: str, notes: list[str]
                   ) -> tuple[pd.Series, pd.Series | None]:
    """``values`` without the day of the week written beside a date, and that day per row
    (0 = Monday; NaN where none is written), or None when no value has one; noted."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values, None
    # only values with a letter or a CJK character can carry a weekday (fast path for ISO dates)
    joined = joined_text(values)  # one look at the whole column: ISO dates have no letter
    if not _LETTER.search(joined) or not _ANY_WEEKDAY.search(joined):
        return values, None
    lettered = values.astype("string").str.contains(r"[^\d\s\-/.:+]", regex=True, na=False)
    matches = values[lettered.to_numpy(dtype=bool)].map(
        lambda v: _WEEKDAY.search(v) if isinstance(v, str) and any(c.isdigit() for c in v) else None)
    matches = matches.reindex(values.index)
    mask = matches.notna().to_numpy(dtype=bool)
    if not mask.any():
        return values, None
    stated = pd.Series(np.nan, index=values.index)
    cleaned = values.astype(object).copy()
    for i in np.flatnonzero(mask):
        m = matches.iloc[i]
        stated.iloc[i] = _day_number(m["wd"])
        cleaned.iloc[i] = f"{m.string[:m.start()].strip()} {m.string[m.end():].strip()}".strip()
    first = str(values[mask].iloc[0])
    notes.append(f"{name}: {int(mask.sum()):,} date(s) written with the day of the week (e.g. "
                 f"{first!r}) read without it, each checked against its date")
    return cleaned, stated


def check_weekdays(dates: pd.Series, stated: pd.Series | None, found: Found) -> None:
    """Rows whose date falls on another day of the week than the one written beside it."""
    if stated is None:
        return
    have = stated.notna().to_numpy() & dates.notna().to_numpy()
    actual = pd.to_datetime(dates).dt.dayofweek.to_numpy(dtype=float, na_value=np.nan)
    wrong = have & (actual != stated.to_numpy(dtype=float))
    found.add(wrong, "a date on the day of the week written beside it (they disagree: a day and "
                     "month swapped?)")


__all__ = ["NAMES_EN", "check_weekdays", "strip_weekdays"]


# Chinese Windows writes the half of the day before the time: 2025/11/11 下午 3:05:00.
_MERIDIEM = re.compile(r"(上午|下午|凌晨|早上|中午|晚上)\s*(\d{1,2}:\d{2}(?::\d{2})?)")
_HALF = {"上午": "AM", "凌晨": "AM", "早上": "AM", "下午": "PM", "晚上": "PM"}


def _meridiem(m: re.Match[str]) -> str:
    """The time on the 24-hour clock (下午 3:05:00 is 15:05:00)."""
    hour, rest = m[2].split(":", 1)
    h = int(hour)
    if not 1 <= h <= 12:  # 下午 15:05: already 24-hour
        return m[2]
    half = ("PM" if h in (12, 1, 2) else "AM") if m[1] == "中午" else _HALF[m[1]]  # 中午 12:30: noon
    h24 = (h % 12) + (12 if half == "PM" else 0)
    return f"{h24:02d}:{rest}"


def read_meridiem(values: pd.Series, name: str, notes: list[str]) -> pd.Series:
    """Times written with 上午/下午 (morning/afternoon) before them on the 24-hour clock
    (``2025/11/11 下午 3:05:00`` is ``2025/11/11 15:05:00``); noted."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values
    if not re.search("上午|下午|凌晨|早上|中午|晚上", joined_text(values)):
        return values
    text = values.astype("string")
    hit = text.str.contains(_MERIDIEM, regex=True, na=False).to_numpy(dtype=bool)
    if not hit.any():
        return values
    out = values.astype(object).copy()
    out[hit] = text[hit].str.replace(_MERIDIEM, _meridiem, regex=True).to_numpy(dtype=object)
    first = str(values[hit].iloc[0])
    notes.append(f"{name}: {int(hit.sum()):,} time(s) written with 上午/下午 (e.g. {first!r}) read on the "
                 "24-hour clock")
    return out
