"""Where a catalogue's dates sit on the calendar, and the frequency that follows from it.

Kept in the data layer so that a snapshot can compute the statistics in SQL and name its
frequency; :mod:`trendcast.features.frequency` builds the rest of the calendar logic on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from math import gcd

import numpy as np
import pandas as pd


def _month_index(ds: pd.Series) -> pd.Series:
    return ds.dt.year * 12 + ds.dt.month - 1


def _series_steps(df: pd.DataFrame, values: pd.Series) -> np.ndarray:
    """Positive differences of ``values`` between consecutive dates of each series."""
    order = np.lexsort((df["ds"].to_numpy(), df["unique_id"].astype(str).to_numpy()))
    ids = df["unique_id"].astype(str).to_numpy()[order]
    vals = values.to_numpy()[order]
    same = ids[1:] == ids[:-1]
    steps = (vals[1:] - vals[:-1])[same]
    return steps[steps > 0]


def _modal(steps: np.ndarray) -> int | None:
    if not len(steps):
        return None
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


@dataclass(frozen=True)
class DateStats:
    """What decides a catalogue's frequency: where its dates sit on the calendar and the
    usual steps inside its series (from frames here, or computed in SQL over a snapshot)."""

    n: int
    has_time: bool  # some date has a time of day
    all_first: bool  # every date is the 1st of a month
    all_month_end: bool  # every date is the last day of a month
    first_month: int  # month of one date (the anchor of quarterly or yearly data)
    months: int  # distinct months of the year
    month_mod3: int  # distinct (month - 1) % 3
    weekdays: int  # distinct weekdays
    weekday: int  # weekday of one date (0 = Monday)
    modal_month_step: int | None  # most common step between a series' dates, in months
    day_step_gcd: int | None  # greatest common divisor of the steps, in days
    min_day_step: int | None = None  # shortest step between two dates of a series, in days
    month_days: int = 31  # distinct days of the month


def date_stats(df: pd.DataFrame) -> DateStats:
    """:class:`DateStats` of the ``unique_id, ds`` rows of ``df``."""
    ds = pd.to_datetime(df["ds"])
    months = _month_index(ds)
    day_steps = _series_steps(df, (ds - pd.Timestamp("1970-01-01")).dt.days)
    return DateStats(
        n=len(ds), has_time=bool((ds != ds.dt.normalize()).any()),
        all_first=bool((ds.dt.day == 1).all()), all_month_end=bool(ds.dt.is_month_end.all()),
        first_month=int(ds.dt.month.iloc[0]) if len(ds) else 1, months=int(ds.dt.month.nunique()),
        month_mod3=int(((ds.dt.month - 1) % 3).nunique()), weekdays=int(ds.dt.dayofweek.nunique()),
        weekday=int(ds.dt.dayofweek.iloc[0]) if len(ds) else 0,
        modal_month_step=_modal(_series_steps(df, months)),
        day_step_gcd=int(reduce(gcd, day_steps.tolist())) if len(day_steps) else None,
        min_day_step=int(day_steps.min()) if len(day_steps) else None,
        month_days=int(ds.dt.day.nunique()),
    )


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # pandas' weekly anchors, Monday = 0
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_name(freq: str) -> str:
    """The day a weekly ``freq`` dates its weeks by: 'W-FRI' -> 'Friday'."""
    return WEEKDAY_NAMES[WEEKDAYS.index(freq[2:])]


def freq_from_stats(st: DateStats) -> str:
    """The frequency :class:`DateStats` describe; 'D' when undecidable."""
    if st.n == 0 or st.has_time:
        return "D"  # times of day: daily at the coarsest
    if st.all_first or st.all_month_end:
        edge = "S" if st.all_first else "E"
        modal = st.modal_month_step or 1
        # the anchor month: any month of the grid names the same quarters (or years)
        month = pd.Timestamp(2000, st.first_month, 1).strftime("%b").upper()
        if modal % 12 == 0 and st.months == 1:
            return f"Y{edge}-{month}"
        if modal % 3 == 0 and st.month_mod3 == 1:
            return f"Q{edge}-{month}"
        return f"M{edge}"
    if st.weekdays == 1 and st.day_step_gcd is not None and st.day_step_gcd % 7 == 0:
        return "W-" + WEEKDAYS[st.weekday]
    if st.min_day_step is not None and st.min_day_step >= 28 and st.modal_month_step \
            and st.month_days <= 7:
        # no series has two dates within four weeks, and the dates keep to a few days of the
        # month (the 15th, the last working day, a 28 February taken for the month's end):
        # monthly (or rarer) sales dated inside their months, not sparse daily sales (those
        # fall on any day). Daily would fill the other days with zeros; named monthly, the
        # grid check refuses the dates with a way through.
        modal = st.modal_month_step
        return "YS" if modal % 12 == 0 else "QS" if modal % 3 == 0 else "MS"
    return "D"




def sales_freq(sales: pd.DataFrame, sample: int = 200) -> str | None:
    """The frequency the first sales stored give the workspace, read from the dates of a
    sample of ``sample`` series (a sample decides, without sorting millions of rows); None
    when no sampled series has two dates (undecidable: the next ingest decides)."""
    if sales.empty:
        return None
    ids = pd.unique(sales["unique_id"])[:sample]
    stats = date_stats(sales[sales["unique_id"].isin(ids)])
    return freq_from_stats(stats) if stats.day_step_gcd is not None else None
