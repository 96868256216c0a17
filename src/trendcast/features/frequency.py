"""A catalogue's frequency, season length and calendar grid, from the dates of its series.

Frequencies are pandas aliases: ``D`` (daily), ``W-<DAY>`` (weekly, any anchor day), ``MS`` /
``ME`` (monthly, dated at the start or the end of the month), ``QS-<MON>`` / ``QE-<MON>``
(quarterly) and ``YS`` / ``YE`` (yearly). A catalogue's frequency is read from how its dates
sit on the calendar (all on the 1st, all on month ends, all on one weekday, ...) and from the
usual step inside its series, so missing periods inside a series are gaps, not another
frequency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.data.dates import (  # noqa: F401 (DateStats, date_stats, freq_from_stats re-exported)
    WEEKDAYS,
    DateStats,
    date_stats,
    freq_from_stats,
    weekday_name,
)
from trendcast.errors import DataValidationError

COARSER = {"W": "W-SUN", "M": "MS", "Q": "QS-JAN", "Y": "YS"}  # --freq names -> aliases


def infer_freq(df: pd.DataFrame) -> str:
    """The frequency of the series in ``df`` (``unique_id``, ``ds``): the run's, when the frame
    carries it in ``df.attrs["freq"]`` (a one-row series cannot show it), else read from the
    dates; 'D' when undecidable."""
    given = df.attrs.get("freq")
    if given:
        return str(given)
    return freq_from_stats(date_stats(df)) if len(df) else "D"


def default_season_length(freq: str) -> int:
    """7 for daily data, 52 for weekly, 12 for monthly, 4 for quarterly, else 1."""
    if freq == "D":
        return 7
    if freq.startswith("W"):
        return 52
    if freq.startswith(("MS", "ME", "M")) and not freq.startswith("MIN"):
        return 12
    if freq.startswith("Q"):
        return 4
    return 1


def period_days(freq: str) -> float:
    """The typical length of one period in days (for windows given in days)."""
    if freq == "D":
        return 1.0
    if freq.startswith("W"):
        return 7.0
    if freq.startswith("M"):
        return 30.4
    if freq.startswith("Q"):
        return 91.3
    if freq.startswith("Y"):
        return 365.25
    return float(pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).days or 1)


PERIOD_NAMES = ("day", "week", "month", "quarter", "year")

# a run's horizon when none is given: 28 days as ever; a coarser shop gets the M4 competition's
# horizon for its frequency (13 weeks, 18 months, 8 quarters, 6 years), not 28 of its periods
# (28 months are 2.3 years, 28 quarters 7)
DEFAULT_HORIZONS = {"day": 28, "week": 13, "month": 18, "quarter": 8, "year": 6}


def period_name(freq: str) -> str:
    """The name of one period of ``freq``: 'day', 'week', 'month', 'quarter' or 'year' (texts
    that count periods say what they count; a sub-daily alias reads as 'day')."""
    if freq.startswith("W"):
        return "week"
    if freq.startswith("M") and not freq.startswith("MIN"):
        return "month"
    if freq.startswith("Q"):
        return "quarter"
    if freq.startswith(("Y", "A")):
        return "year"
    return "day"


def default_horizon(freq: str | None) -> int:
    """The steps a run at ``freq`` forecasts when no horizon is given
    (:data:`DEFAULT_HORIZONS`: 28 for daily or unknown, 13 weekly, 18 monthly, 8 quarterly,
    6 yearly)."""
    return DEFAULT_HORIZONS[period_name(freq or "D")]


def describe(freq: str) -> str:
    """'daily', 'weekly (Fridays)', 'monthly (month starts)', ..."""
    if freq == "D":
        return "daily"
    if freq.startswith("W-"):
        day = f"{weekday_name(freq)}s" if freq[2:] in WEEKDAYS else freq[2:]
        return f"weekly ({day})"
    kind = {"M": "monthly", "Q": "quarterly", "Y": "yearly"}.get(freq[0], freq)
    edge = "starts" if freq[1:2] == "S" else "ends"
    return f"{kind} (period {edge})"


def on_grid(ds: pd.Series, freq: str) -> pd.Series:
    """Whether each date lies on the calendar grid of ``freq``."""
    if freq == "D":
        return ds == ds.dt.normalize()
    if freq.startswith("W-"):
        day = WEEKDAYS.index(freq[2:])
        return (ds.dt.dayofweek == day) & (ds == ds.dt.normalize())
    offset = pd.tseries.frequencies.to_offset(freq)
    days = pd.Series(pd.unique(ds))
    ok = {d: offset.is_on_offset(d) and d == d.normalize() for d in days}
    return ds.map(ok).astype(bool)


def check_frequency(df: pd.DataFrame, freq: str) -> None:
    """Every date must lie on ``freq``'s grid (gaps inside a series are fine; a daily series
    among weekly ones, or dates at odd offsets, are not: filling them would invent data)."""
    ds = pd.to_datetime(df["ds"]).reset_index(drop=True)
    ok = on_grid(ds, freq).to_numpy()
    if ok.all() and freq == "D":
        # on the daily grid, but a series whose dates are all k > 1 days apart (weekly, every
        # other day) or all on the 1st of a month is on a coarser calendar: zero-filling its
        # other days would invent sales. Sparse daily sellers have irregular steps.
        codes = pd.factorize(df["unique_id"].to_numpy(), use_na_sentinel=False)[0]
        days = ((ds - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=np.int64)
        order = np.lexsort((days, codes))
        codes_s, days_s = codes[order], days[order]
        n = np.bincount(codes_s)
        firsts = np.bincount(codes_s, weights=(ds.dt.day == 1).to_numpy()[order]) == n
        same = codes_s[1:] == codes_s[:-1]
        steps, owner = np.diff(days_s)[same], codes_s[1:][same]
        step_gcd = np.ones(len(n), dtype=np.int64)  # a series of one date: no step
        if len(steps):
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            step_gcd[owner[starts]] = np.gcd.reduceat(steps, starts)
        coarse = (n >= 4) & ((step_gcd > 1) | firsts)
        ok = ~coarse[codes]
    if ok.all():
        return
    bad = df.reset_index(drop=True).loc[~ok]
    ids = bad["unique_id"].astype(str).unique()
    row = bad.iloc[0]
    if freq[:1] in ("M", "Q", "Y") and _one_per_period(df, freq):
        days = pd.to_datetime(bad["ds"])
        inside = bad[~(days.dt.is_month_start | days.dt.is_month_end).to_numpy()]
        row = inside.iloc[0] if len(inside) else row
        raise DataValidationError(
            f"the sales are {describe(freq).split(' (')[0]} (one date per period) but dated inside "
            f"their periods, e.g. {row['unique_id']!r} at {pd.Timestamp(row['ds']).date()}, not "
            "all on the first or all on the last day: store each period's first day (a 2024-01 "
            "column reads as 2024-01-01 with --date-format %Y-%m), so periods are not mistaken "
            "for days")
    raise DataValidationError(
        f"the sales mix frequencies: the catalogue is {describe(freq)} ({freq!r}) but {len(ids)} "
        f"series ({', '.join(ids[:5])}) are on another calendar, e.g. {row['unique_id']!r} "
        f"at {pd.Timestamp(row['ds']).date()}; keep one frequency per workspace (aggregate with "
        "`trendcast ingest --kind orders --aggregate W`, forecast at a coarser level with "
        "`--freq W|M|Q`, or use separate --db files)"
    )


def _one_per_period(df: pd.DataFrame, freq: str) -> bool:
    """Whether no series has two dates in one period of ``freq``."""
    labels = period_labels(pd.to_datetime(df["ds"]).reset_index(drop=True), freq)
    keys = pd.DataFrame({"unique_id": df["unique_id"].to_numpy(), "p": labels.to_numpy()})
    return not keys.duplicated().any()


def period_labels(days: pd.Series | pd.DatetimeIndex, freq: str) -> pd.Series:
    """The period of ``freq`` each day belongs to, labelled as ``freq`` dates its periods: the
    period's end for end-anchored aliases (``W-FRI``: the Friday ending the week; ``ME``,
    ``QE-*``, ``YE-*``), its start for the others (``MS``, ``QS-*``, ``YS-*``)."""
    days = pd.Series(pd.to_datetime(days)).dt.normalize()
    if freq == "D" or days.empty:
        return days
    offset = pd.tseries.frequencies.to_offset(freq)
    lo, hi = days.min(), days.max()
    grid = pd.date_range(offset.rollback(lo) - offset, offset.rollforward(hi) + offset, freq=freq)
    values = grid.to_numpy()
    if freq.startswith("W") or freq[1:2] == "E":
        idx = np.searchsorted(values, days.to_numpy(), side="left")
    else:
        idx = np.searchsorted(values, days.to_numpy(), side="right") - 1
    return pd.Series(values[idx], index=days.index)


def week_start_offset(freq: str | None, week_label: str | None = None) -> int | None:
    """Days from a weekly row's date to the first day of its week: 0 for weeks dated by their
    first day (``week_label`` ``start``; by default weeks dated on Mondays), -6 for weeks
    dated by their last day (Walmart's Fridays); None when ``freq`` is not weekly."""
    if not freq or not str(freq).startswith("W"):
        return None
    label = week_label or ("start" if freq == "W-MON" else "end")
    return 0 if label == "start" else -6


def covered_until(last: pd.Timestamp, stored_freq: str | None,
                  week_label: str | None = None, *, target: str | None = None) -> pd.Timestamp:
    """The last day stored periods reach when ``last`` is the latest stored date of
    ``stored_freq``, for sums into ``target`` periods: the last period's last day (``last``
    itself for end-dated months, quarters and years; for weeks summed into months or coarser,
    which spread each week over its days, :func:`trendcast.features.series.resample_sales`,
    the week's last day by ``week_label``), else the day before the next period's date (a
    week summed into other weeks counts wholly in the week of its date). A quarter of monthly
    sales dated by month starts is whole once its third month is stored (the ingest stores a
    month dated by its start only after the month has ended), not only once the next is."""
    if not stored_freq or stored_freq == "D":
        return last
    start = week_start_offset(stored_freq, week_label)
    if start is not None and not (target or "").startswith("W"):
        return pd.Timestamp(last) + pd.Timedelta(days=start + 6)
    if start is None and stored_freq[1:2] == "E":  # ME, QE-DEC, YE-DEC: dated by their last day
        return pd.Timestamp(last)
    offset = pd.tseries.frequencies.to_offset(stored_freq)
    return pd.Timestamp(last + offset) - pd.Timedelta(days=1)


def coarser(freq: str) -> str:
    """The alias of a ``--freq`` name (W, M, Q, Y) or an alias given as is."""
    return COARSER.get(freq.upper(), freq)


def is_coarser(target: str, base: str) -> bool:
    """Whether periods of ``target`` are at least as long as those of ``base``."""
    return period_days(target) >= period_days(base)
