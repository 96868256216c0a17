"""Periods a day's files skipped: a missed export would read as zero sales of everything.

Sales files list the days they cover; a day no file brings is filled with zero sales at
forecast time (the right reading of a product that sold nothing). When the whole catalogue has
no row for the periods between the stored sales and a new file (the export of those days
never came), every product gets a run of zero days: the models read a collapse, monitoring
scores yesterday's forecasts as misses, and drift alerts refit the models on it.
:func:`skipped_periods` finds such periods; :func:`check_continuity` (``ingest`` of sales or
of orders building sales, an upload, ``update``'s files together) refuses them unless told
(``--allow-gaps``), or unless the calendar or the history says a shop-wide empty period is
nothing unusual (a holiday; a shop that has had days without any sale).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import DataValidationError
from trendcast.features.frequency import infer_freq, period_days
from trendcast.features.series import fill_series, left_out_history_start

LOOKBACK = 60  # periods of history that say whether a shop-wide empty period is usual
MIN_HISTORY = 14  # fewer periods than this say nothing
USUAL_EMPTY = 3  # empty periods (not calendar events) in the lookback that make one usual


@dataclass(frozen=True)
class Skipped:
    """Periods after ``stored_end`` (up to the new sales' end) without a sales row of any
    product; ``empty_before``: periods of the ``history`` before without a sale, calendar
    events left out (a closure on Christmas Day does not make a missed export usual)."""

    periods: list[pd.Timestamp]
    stored_end: pd.Timestamp
    new_start: pd.Timestamp
    new_end: pd.Timestamp
    freq: str
    history: int
    empty_before: int
    holidays: list[str]

    @property
    def usual(self) -> bool:
        """Nothing unusual: a short history, a shop with empty periods (``USUAL_EMPTY`` of the
        lookback: a few slow products, a weekly closing day), or every skipped period a stored
        calendar event (a shop closed on Christmas Day). One empty period before (last
        year's Christmas, a gap stored with --allow-gaps) does not make the next usual."""
        return (self.history < MIN_HISTORY or self.empty_before >= USUAL_EMPTY
                or len(self.holidays) == len(self.periods))

    def describe(self) -> str:
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in self.periods[:5])
        more = f" and {len(self.periods) - 5} more" if len(self.periods) > 5 else ""
        return (f"no product has a sales row for {shown}{more} (the stored sales end "
                f"{self.stored_end:%Y-%m-%d}; the new ones run {self.new_start:%Y-%m-%d} to "
                f"{self.new_end:%Y-%m-%d})")


def skipped_periods(store: Store, stored_end: pd.Timestamp | None) -> Skipped | None:
    """The periods after ``stored_end`` (the last sales date before the new files), up to the
    last new sales date, that no product has a row for; None when there are none."""
    if stored_end is None:
        return None
    stored_end = pd.Timestamp(stored_end)
    known = store.meta("freq")
    # the lookback and the new periods are all it needs: not the whole history's totals
    since = stored_end - pd.Timedelta(days=(LOOKBACK + 2) * period_days(known)) if known else None
    totals = store.sales_totals(since)
    if totals.empty:
        return None
    totals["ds"] = pd.to_datetime(totals["ds"])
    new = totals[totals["ds"] > stored_end]
    if new.empty:
        return None
    freq = known or infer_freq(totals.assign(unique_id="*"))
    grid = pd.date_range(stored_end, new["ds"].max(), freq=freq)
    present = set(totals["ds"])
    missing = [d for d in grid if d > stored_end and d not in present]
    if not missing:
        return None
    old = totals[totals["ds"] <= stored_end]
    recent = pd.date_range(end=stored_end, periods=LOOKBACK, freq=freq)
    recent = recent[recent >= old["ds"].min()]
    sold = set(old.loc[old["y"] > 0, "ds"])
    # every stored event, a city's too: a shop closed on a local holiday is no missed export
    events = store.read("calendar_events") if freq == "D" else pd.DataFrame()
    event_days: dict[pd.Timestamp, str] = {}
    if not events.empty:
        event_days = dict(zip(pd.to_datetime(events["ds"]), events["name"].astype(str), strict=True))
    empty = sum(d not in sold and d not in event_days for d in recent)
    return Skipped(missing, stored_end, new["ds"].min(), new["ds"].max(), freq, len(recent),
                   empty, [f"{d:%Y-%m-%d} {event_days[d]}" for d in missing if d in event_days])


def check_continuity(store: Store, stored_end: pd.Timestamp | None, *, allow_gaps: bool,
                     notes: list[str]) -> None:
    """Refuse (DataValidationError, inside the writing transaction: nothing is stored) new
    sales that skip periods for the whole catalogue after ``stored_end``, unless
    ``allow_gaps`` or the periods are usual (:attr:`Skipped.usual`); else note them."""
    if stored_end is None:
        _first_file_gaps(store, notes)
        return
    skipped = skipped_periods(store, stored_end)
    if skipped is None:
        return
    if not (allow_gaps or skipped.usual):
        raise DataValidationError(
            f"{skipped.describe()}, though "
            + (f"each of the {skipped.history}" if not skipped.empty_before else
               f"{skipped.history - skipped.empty_before} of the {skipped.history}")
            + " periods before had sales: "
            "the export of those periods looks missing, and storing this would make them periods "
            "of zero sales for every product. Nothing was stored: ingest the missing periods' "
            "file first (or give it to the same update), or, if the shop sold nothing then "
            "(closed), pass --allow-gaps (API: allow_gaps=true)")
    why = ("--allow-gaps" if allow_gaps else
           f"calendar: {', '.join(skipped.holidays)}" if len(skipped.holidays) == len(skipped.periods)
           else f"{skipped.empty_before} of the {skipped.history} periods before had no sale "
           "either" if skipped.empty_before >= USUAL_EMPTY else "too little history to tell")
    notes.append(f"{skipped.describe()}: read as zero sales of every product ({why})")


def _first_file_gaps(store: Store, notes: list[str]) -> None:
    """The first sales stored: periods inside them without a row of any product are noted,
    not refused (no history says whether the shop closes): a closed day, or a missed part of
    the export that will read as zero sales of everything."""
    freq = store.meta("freq")  # set by the first sales whose frequency can be read
    totals = store.sales_totals(None) if freq else pd.DataFrame()
    if len(totals) < 3:
        return
    totals["ds"] = pd.to_datetime(totals["ds"])
    grid = pd.date_range(totals["ds"].min(), totals["ds"].max(), freq=freq)
    present = set(totals["ds"])
    missing = [d for d in grid if d not in present]
    if not missing:
        return
    shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing[:5])
    more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
    notes.append(f"no product has a sales row for {len(missing):,} period(s) inside the file(s) "
                 f"({shown}{more}): read as zero sales of every product (a closed shop); if the "
                 "shop was open, that part of the export is missing: undo this batch and ingest "
                 "a file that has it")


def note_left_out(store: Store, stored_end: pd.Timestamp | None, notes: list[str]) -> None:
    """Name the products the new sales leave without a row where a forecast will read their
    recent level (:func:`trendcast.features.series.fill_series`: they sold in every period of
    the season before, and the rest of the shop reported): most likely rows the export left
    out, worth fixing at the source now rather than at forecast time."""
    freq = store.meta("freq")
    span = store.sales_span()
    if stored_end is None or freq is None or span is None or span[1] <= pd.Timestamp(stored_end):
        return
    start = left_out_history_start(pd.Timestamp(stored_end), str(freq))
    recent = store.sales(columns=["unique_id", "ds", "y"], start=start)
    if recent.empty:
        return
    recent = recent.assign(ds=pd.to_datetime(recent["ds"]))
    filled = fill_series(recent, freq, end=pd.Timestamp(span[1]))
    found = sorted((str(u), pd.Timestamp(d)) for u, d in filled.attrs["estimated_at"]
                   if pd.Timestamp(d) > pd.Timestamp(stored_end))
    if not found:
        return
    ids = list(dict.fromkeys(u for u, _ in found))
    days = sorted({d for _, d in found})
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10:,} more" if len(ids) > 10 else "")
    dates = ", ".join(f"{d:%Y-%m-%d}" for d in days[:5]) + (" ..." if len(days) > 5 else "")
    notes.append(f"{len(ids):,} product(s) that sold in every period before have no row for {dates} "
                 f"though the rest of the shop has ({shown}): forecasts read those periods as their "
                 "recent level; if the export left them out, ingest their rows")


JUMP = 20.0  # new sales this many times (or a JUMP-th of) a product's recent level: another unit
JUMP_SHARE = 0.8  # of the products that sold in both, this share jumped the same way
JUMP_MIN_PRODUCTS = 5  # fewer products than this say nothing about the file
RECENT_DAYS = 28  # days before the new sales whose mean is a product's recent level


@dataclass(frozen=True)
class Jump:
    """New sales in another unit than the stored ones, most likely: ``jumped`` of the ``n``
    products that sold both before and in the new periods moved by ``ratio`` (the median)."""

    ratio: float
    jumped: int
    n: int
    example: tuple[str, float, float]  # product, new value, recent mean
    events: list[str]

    def describe(self) -> str:
        uid, new, before = self.example
        way = f"{self.ratio:,.0f}x" if self.ratio >= 1 else f"1/{1 / self.ratio:,.0f} of"
        return (f"the new sales are {way} the same products' recent level: {self.jumped:,} of the "
                f"{self.n:,} products that sold in both moved {JUMP:g}-fold or more the same way "
                f"(e.g. {uid}: {new:,.2f} against a mean of {before:,.2f} per period)")


def unit_jump(store: Store, stored_end: pd.Timestamp | None) -> Jump | None:
    """New sales (after ``stored_end``) in another unit than the stored ones, most likely
    (cents for currency units, revenue for units, cases for pieces): at least ``JUMP_SHARE``
    of at least ``JUMP_MIN_PRODUCTS`` products that sold both in their last ``RECENT_DAYS``
    days and in the new periods moved ``JUMP``-fold or more the same way. On real shops no
    day comes near (Favorita, Walmart, M5, the simulated shop: at most 3% of products)."""
    freq = store.meta("freq")
    if stored_end is None or freq is None:
        return None
    stored_end = pd.Timestamp(stored_end)
    step = period_days(str(freq))
    periods = max(4, round(RECENT_DAYS / step))
    start = (stored_end - pd.Timedelta(days=periods * step) + pd.Timedelta(days=1)).floor("D")
    rows = store.sales(columns=["unique_id", "ds", "y"], start=start)
    if rows.empty:
        return None
    rows = rows.assign(unique_id=rows["unique_id"].astype(str), ds=pd.to_datetime(rows["ds"]))
    old, new = rows[rows["ds"] <= stored_end], rows[rows["ds"] > stored_end]
    if old.empty or new.empty:
        return None
    before = old.groupby("unique_id")["y"].sum() / periods  # periods without a row sold nothing
    now = new[new["y"] > 0].groupby("unique_id")["y"].mean()
    both = pd.DataFrame({"now": now, "before": before}).dropna()
    both = both[both["before"] > 0]
    if len(both) < JUMP_MIN_PRODUCTS:
        return None
    ratio = both["now"] / both["before"]
    for jumped in (ratio >= JUMP, ratio <= 1 / JUMP):
        if jumped.sum() >= JUMP_SHARE * len(both):
            top = both[jumped].assign(r=ratio[jumped]).sort_values("before", ascending=False).iloc[0]
            days = set(new["ds"])
            events = store.read("calendar_events")
            named = [] if events.empty else sorted(
                f"{d:%Y-%m-%d} {n}" for d, n in zip(pd.to_datetime(events["ds"]), events["name"].astype(str),
                                                    strict=True) if d in days)
            return Jump(float(ratio[jumped].median()), int(jumped.sum()), len(both),
                        (str(top.name), float(top["now"]), float(top["before"])), named)
    return None


def check_units(store: Store, stored_end: pd.Timestamp | None, *, refuse: bool, notes: list[str]) -> None:
    """New sales that most likely came in another unit (:func:`unit_jump`): refused
    (DataValidationError, inside the writing transaction: nothing is stored) when ``refuse``
    (the unattended daily job, ``update``) and no stored calendar event falls on the new
    periods; else noted with the way back (``trendcast undo``)."""
    jump = unit_jump(store, stored_end)
    if jump is None:
        return
    if refuse and not jump.events:
        raise DataValidationError(
            f"{jump.describe()}: another unit (cents, revenue instead of units, cases)? Stored, the "
            "forecasts would read a jump of every product. Nothing was stored: export the file in "
            "the stored unit; if the values are right, store it with `trendcast ingest` (it keeps "
            "them, with a note) and run the update again")
    why = f" (calendar: {', '.join(jump.events[:3])})" if jump.events else ""
    notes.append(f"{jump.describe()}{why}: another unit (cents, revenue instead of units, cases)? If "
                 "so, undo this batch (`trendcast undo BATCH`) and ingest the file in the stored unit")
