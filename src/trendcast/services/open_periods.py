"""Sales periods that have not ended at the ingest, left out of a coarse-frequency file.

A weekly, monthly, quarterly or yearly export made before its running period ends holds that
period so far under the period's label; stored, every model would read it as a slow period
and monitoring would score it as a miss. Periods labelled by their start are open while
``start + one period > today``; periods labelled by their end are dated after today while
they run, which the day rule of the ingest already leaves out.

Weekly labels are one weekday, and whether it is the week's first or last day cannot be read
from the dates (Walmart dates its weeks by the Friday ending them; ``--aggregate W`` and ISO
weeks by their Monday). The workspace records the reading as its ``week_label`` (``start`` or
``end``): given with ``--week-label``, else :func:`default_week_label` when the first weekly
sales arrive: weeks dated on a Monday start on it, weeks dated on any other day end on it
(pandas' ``W-<DAY>`` convention, which trendcast's own weekly resampling and driver alignment
follow). A wrong reading either way is told in the note that records it; read as starts,
end-dated weeks are not lost (the last one waits, and the same export ingested again with
``--week-label end``, or after the week, stores it).
"""

from __future__ import annotations

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import InputFileError
from trendcast.features.frequency import period_name

WEEK_LABELS = ("start", "end")
WEEK_LABEL_KEY = "week_label"  # the workspace setting (trendcast_meta)
_MONTHS = {"M": 1, "Q": 3, "Y": 12}


def check_week_label(value: str | None) -> str | None:
    """``value`` if it is a week label (or None); else a typed error naming the choices."""
    if value is not None and value not in WEEK_LABELS:
        raise InputFileError(f"week label {value!r}: choose start (weeks dated by their first "
                             "day) or end (dated by their last day, as Walmart's Fridays)")
    return value


def week_label_of(store: Store) -> str | None:
    """The workspace's week label (None: not recorded; the run takes the default)."""
    value = store.meta(WEEK_LABEL_KEY)
    return str(value) if value else None


def default_week_label(freq: str | None) -> str:
    """``start`` for weeks dated on a Monday (ISO weeks, ``--aggregate W``), ``end`` for weeks
    dated on any other day (pandas' ``W-<DAY>``: Walmart's Fridays, weeks ending Sunday)."""
    return "start" if freq == "W-MON" else "end"


def is_weekly(freq: str | None) -> bool:
    return bool(freq) and str(freq).startswith("W")


def period_step(freq: str | None, week_label: str) -> pd.DateOffset | None:
    """One period of ``freq`` when its labels are period starts (a label ``d`` covers
    ``[d, d + step)``); None when a label is the period's last day (daily sales, ``ME``,
    ``QE-*``, ``YE-*``, end-labelled weeks) or the frequency is unknown."""
    if not freq or freq == "D":
        return None
    if is_weekly(freq):
        return pd.DateOffset(days=7) if week_label == "start" else None
    if freq[0] in _MONTHS and freq[1:2] == "S":
        return pd.DateOffset(months=_MONTHS[freq[0]])
    return None


def without_open_periods(sales: pd.DataFrame, freq: str | None, week_label: str,
                         now: pd.Timestamp, notes: list[str]) -> pd.DataFrame:
    """``sales`` without the rows whose start-labelled period of ``freq`` has not ended at
    ``now`` (the workspace's wall clock), said in ``notes``; unchanged when labels are period
    ends or days."""
    step = period_step(freq, week_label)
    if step is None or sales.empty:
        return sales
    today = pd.Timestamp(now).normalize()
    ds = pd.to_datetime(sales["ds"])
    labels = pd.Series(pd.unique(ds))
    open_labels = labels[(labels + step) > today]
    if open_labels.empty:
        return sales
    open_ = ds.isin(open_labels).to_numpy()
    assert freq is not None
    name = period_name(freq)
    first, last = open_labels.min().date(), open_labels.max().date()
    span, names = (f"{first}", name) if first == last else (f"{first} to {last}", f"{name}s")
    how = ""
    if is_weekly(freq):
        how = (" (weeks are read as dated by their first day, this workspace's week label; if "
               "the file dates them by their last day, ingest it again with --week-label end, "
               "which the workspace keeps)")
    # (an end-dated running week is dated after today: the day rule has left it out already)
    notes.append(f"{int(open_.sum()):,} sales row(s) of the {names} starting {span} left out: the "
                 f"{name} has not ended yet ({now:%Y-%m-%d %H:%M}), so its sales so far would "
                 f"look like a slow {name}; ingest them after the {name} ends{how}")
    return sales[~open_].reset_index(drop=True)
