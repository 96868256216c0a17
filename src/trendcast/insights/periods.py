"""A shop's periods in the words people read, and the recent window its KPIs compare.

The report's and the dashboard's headline figures compare a recent window with the window
just before it and with the same window a year earlier. The window is a span of the shop's
own periods, about a month long, so every frequency reads as its planners count:

========= =================== ====================== ================================
frequency recent window       compared with          a year earlier
========= =================== ====================== ================================
daily     the last 28 days    the 28 days before     the same 28 days, 52 weeks back
weekly    the last 4 weeks    the 4 weeks before     the same 4 weeks, 52 weeks back
monthly   the last month      the month before       the same month last year
quarterly the last quarter    the quarter before     the same quarter last year
yearly    the last year       the year before        (none: that is the year before)
========= =================== ====================== ================================

Daily windows count 4 whole weeks (each weekday as often) and go back 364 days, so a year
ago falls on the same weekdays; weekly windows are the same 28 days in 4 rows. A month or a
quarter is the shortest whole period at least as long, and the unit such shops plan and
report in; a longer window of months (3 or 6) would blur the season the year-ago figure is
there to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.features.frequency import infer_freq, period_days, period_labels, period_name


@dataclass(frozen=True)
class Unit:
    """The words for one period of a series' frequency."""

    en: str  # "week"
    zh: str  # after a number: 天, 周, 个月, 个季度, 年
    zh_each: str  # 每天, 每周, ...
    zh_mean: str  # 日均, 周均, ...
    zh_this: str  # 当天, 本周, ... (the period a sentence is about)
    zh_count: str  # a count of them, as a heading: 天数, 周数, ...
    zh_name: str  # the period itself: 日, 周, 月, 季度, 年 (每周, 以月为单位)

    @property
    def plural(self) -> str:
        return f"{self.en}s"

    def count(self, n: int, lang: str) -> str:
        """``n`` periods: '7 weeks', '1 month', '7 周', '1 个月'."""
        if lang == "zh":
            return f"{n} {self.zh}"
        return f"{n} {self.en if n == 1 else self.plural}"


UNITS = {"day": Unit("day", "天", "每天", "日均", "当天", "天数", "日"),
         "week": Unit("week", "周", "每周", "周均", "本周", "周数", "周"),
         "month": Unit("month", "个月", "每月", "月均", "本月", "月数", "月"),
         "quarter": Unit("quarter", "个季度", "每季度", "季均", "本季度", "季度数", "季度"),
         "year": Unit("year", "年", "每年", "年均", "本年", "年数", "年")}


def unit_of(freq: str) -> Unit:
    """The words for one period of ``freq`` (a pandas alias)."""
    return UNITS[period_name(freq)]


# periods in the recent window, and periods back to the same window a year before
_WINDOWS = {"day": (28, 364), "week": (4, 52), "month": (1, 12), "quarter": (1, 4), "year": (1, None)}


@dataclass(frozen=True)
class RecentWindow:
    """The last ``periods`` periods of ``freq``; ``year_lag`` periods back is the same window
    a year earlier (None for yearly data, where that is the window just before)."""

    freq: str
    periods: int
    year_lag: int | None

    @property
    def unit(self) -> Unit:
        return unit_of(self.freq)

    def back(self, end: pd.Timestamp, k: int) -> pd.Timestamp:
        """The period ``k`` periods before the period dated ``end``."""
        end = pd.Timestamp(end)
        return end if k == 0 else pd.Timestamp(end - k * pd.tseries.frequencies.to_offset(self.freq))

    def bounds(self, end: pd.Timestamp) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        """The first and last period (both included) of the ``recent`` window ending at
        ``end``, the window ``before`` it and, unless yearly, the window a ``year`` earlier."""
        n = self.periods
        out = {"recent": (self.back(end, n - 1), pd.Timestamp(end)),
               "before": (self.back(end, 2 * n - 1), self.back(end, n))}
        if self.year_lag is not None:
            out["year"] = (self.back(end, self.year_lag + n - 1), self.back(end, self.year_lag))
        return out

    def words(self, lang: str) -> dict[str, str]:
        """How labels name the window: ``span`` ('28 days', '4 weeks', 'month'; zh '28 天',
        '1 个月'), ``short`` for a column heading ('28 d') and ``count`` for 'the 28 before'
        ('28', 'month')."""
        unit, n = self.unit, self.periods
        if lang == "zh":
            span = unit.count(n, "zh")
            return {"span": span, "short": span, "count": span}
        span = unit.count(n, "en") if n > 1 else unit.en
        return {"span": span, "short": f"{n} d" if unit.en == "day" else span,
                "count": str(n) if n > 1 else unit.en}


def recent_window(freq: str) -> RecentWindow:
    """The recent window of a shop whose sales are of ``freq`` (see the module's table)."""
    periods, lag = _WINDOWS[period_name(freq)]
    return RecentWindow(freq, periods, lag)


def units_in(totals: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> float:
    """Units of ``totals`` (per period, indexed by date) from period ``first`` to ``last``;
    NaN when the history starts after ``first`` (a part of a window is not a window). A period
    without a row inside the history sold nothing."""
    if totals.empty or totals.index.min() > first or totals.index.max() < last:
        return float("nan")
    index = totals.index
    return float(totals[(index >= first) & (index <= last)].sum())


@dataclass(frozen=True)
class WindowTotals:
    """Units in the recent window, the window before and the one a year earlier (NaN where
    the history does not reach)."""

    window: RecentWindow
    end: pd.Timestamp
    recent: float
    before: float
    year_ago: float

    @property
    def vs_before(self) -> float:
        return change(self.recent, self.before)

    @property
    def vs_year(self) -> float:
        return change(self.recent, self.year_ago)


def change(now: float, then: float) -> float:
    """``now`` against ``then`` (+0.3 is 30% more); NaN when ``then`` is unknown or not positive."""
    return now / then - 1 if then == then and then > 0 and now == now else float("nan")


def window_totals(totals: pd.Series, freq: str, end: pd.Timestamp | None = None) -> WindowTotals:
    """The recent window of ``freq`` ending at ``end`` (default: the last period of
    ``totals``, units per period of ``freq`` indexed by its dates) and the windows it is
    compared with."""
    window = recent_window(freq)
    totals = totals.sort_index()
    end = pd.Timestamp(totals.index.max() if end is None else end)
    b = window.bounds(end)
    year = units_in(totals, *b["year"]) if "year" in b else float("nan")
    return WindowTotals(window, end, units_in(totals, *b["recent"]), units_in(totals, *b["before"]), year)


def period_totals(history: pd.DataFrame, freq: str | None = None) -> pd.Series:
    """Units of all series per period (``history``: ``unique_id, ds, y``), indexed by date.

    ``freq`` coarser than the history's own (a ``--freq M`` run of daily sales) sums the
    history into its periods and leaves out a first or last period the history covers only
    in part, so a window never counts half a month as a month."""
    totals = history.groupby("ds")["y"].sum().sort_index()
    own = infer_freq(history)
    if freq is None or totals.empty or period_days(freq) <= period_days(own):
        return totals
    labels = pd.DatetimeIndex(period_labels(pd.Series(totals.index), freq).to_numpy())
    summed = totals.groupby(labels).sum()
    first_day, last_day = _own_days(totals.index, own)
    starts, ends = period_bounds(summed.index, freq)
    whole = (starts >= first_day) & (ends <= last_day)
    return summed[np.asarray(whole)]


def series_in_periods(history: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Each series of ``history`` (``unique_id, ds, y`` and an optional ``price``) summed
    into the periods of a coarser ``freq`` (prices averaged), whole periods only, as
    :func:`period_totals` counts them: what a ``--freq M`` run of weekly sales reads."""
    own = infer_freq(history)
    if history.empty or period_days(freq) <= period_days(own):
        return history
    days = pd.DatetimeIndex(pd.to_datetime(history["ds"]).unique())
    first_day, last_day = _own_days(days, own)
    frame = history.assign(ds=period_labels(pd.to_datetime(history["ds"]), freq).to_numpy())
    agg = {"y": ("y", "sum")} | ({"price": ("price", "mean")} if "price" in frame.columns else {})
    out = frame.groupby(["unique_id", "ds"], as_index=False).agg(**agg)
    starts, ends = period_bounds(pd.DatetimeIndex(out["ds"]), freq)
    out = out[np.asarray((starts >= first_day) & (ends <= last_day))].reset_index(drop=True)
    out.attrs["freq"] = freq
    return out


def _own_days(index: pd.DatetimeIndex, freq: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last day stored periods of ``freq`` cover."""
    starts, ends = period_bounds(pd.DatetimeIndex([index.min(), index.max()]), freq)
    return pd.Timestamp(starts[0]), pd.Timestamp(ends[-1])


def period_bounds(labels: pd.DatetimeIndex, freq: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """The first and last day of the periods dated ``labels``, as :func:`period_labels` dates
    them (weeks and *E aliases by their last day, MS/QS/YS by their first)."""
    if freq == "D":
        return labels, labels
    offset = pd.tseries.frequencies.to_offset(freq)
    day = pd.Timedelta(days=1)
    if freq.startswith("W") or freq[1:2] == "E":
        return pd.DatetimeIndex(labels - offset + day), labels
    return labels, pd.DatetimeIndex(labels + offset - day)


# the history a chart shows, in periods of the shop's (or the run's) frequency: a year of days
# (the weekly rhythm and the seasons both show), two years of weeks (as the report's category
# chart), three years of months, five of quarters, ten years. A year of a quarterly shop was 4
# points; each span shows its season at least twice without squeezing the forecast to the edge.
_CHART_HISTORY = {"day": 365, "week": 104, "month": 36, "quarter": 20, "year": 10}


def chart_history(freq: str) -> int:
    """Periods of ``freq`` a chart of the history shows (see :data:`_CHART_HISTORY`)."""
    return _CHART_HISTORY[period_name(freq)]


def chart_start(end: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The first date after which a chart's history ends at ``end`` shows
    :func:`chart_history` periods of ``freq`` (dates after it are shown)."""
    return pd.Timestamp(end - chart_history(freq) * pd.tseries.frequencies.to_offset(freq))


def stored_periods(n: int, run_freq: str | None, stored_freq: str) -> int:
    """``n`` periods of a run at ``run_freq`` counted in the stored ``stored_freq``'s periods
    (rounded up), for what works on the stored sales (explain refits on them): 2 weeks of a
    ``--freq W`` run of daily sales are 14 days, not 2."""
    if not run_freq or period_days(run_freq) <= period_days(stored_freq):
        return n
    return int(np.ceil(n * period_days(run_freq) / period_days(stored_freq)))
