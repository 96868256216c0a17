"""Calendar covariates: one flag per kind of event (holiday, festival, presale, snap, ...),
one flag per major shopping festival (their effects differ too much to share a flag: Double
11 lifts demand several-fold while the Spring Festival period depresses it), whether any event
falls on the day, and whether one comes within the next three days (shoppers buy ahead of
festivals)."""

from __future__ import annotations

import re

import pandas as pd

# Named events that get their own flag ``fest_<slug>`` when the calendar holds them.
MAJOR_FESTIVALS = ("Double 11", "618", "Double 12", "Spring Festival period", "Black Friday")


def _slug(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(kind).lower()).strip("_") or "custom"


def event_features(dates: pd.DatetimeIndex | pd.Series, events: pd.DataFrame,
                   *, lookahead: int = 3) -> pd.DataFrame:
    """A frame ``ds, event_any, event_soon, ev_<kind>...`` for every date in ``dates``.

    Args:
        dates: the days to describe (history and forecast horizon).
        events: calendar rows with ``ds`` and ``kind`` (the store's calendar_events table).
        lookahead: days ahead that count as "soon".
    """
    days = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates)).dt.normalize().unique()).sort_values()
    out = pd.DataFrame(index=days)
    if events is not None and not events.empty:
        ev = events.assign(ds=pd.to_datetime(events["ds"]).dt.normalize(),
                           kind=events["kind"].fillna("custom").map(_slug))
        flags = pd.crosstab(ev["ds"], ev["kind"]).clip(upper=1)
        flags.columns = [f"ev_{c}" for c in flags.columns]
        out = out.join(flags).fillna(0.0)
        major = ev[ev["name"].isin(MAJOR_FESTIVALS)] if "name" in ev.columns else ev.iloc[:0]
        if not major.empty:
            named = pd.crosstab(major["ds"], major["name"].map(_slug)).clip(upper=1)
            named.columns = [f"fest_{c}" for c in named.columns]
            out = out.join(named).fillna(0.0)
        non_snap = [c for c in out.columns if c.startswith("ev_") and c != "ev_snap"]
        out["event_any"] = out[non_snap].max(axis=1) if non_snap else 0.0
    else:
        out["event_any"] = 0.0
    # next `lookahead` days, excluding today; computed on a full daily range so gaps in
    # `dates` do not shift the window
    full = pd.date_range(days.min(), days.max() + pd.Timedelta(days=lookahead), freq="D")
    anyday = out["event_any"].reindex(full, fill_value=0.0)
    soon = anyday[::-1].rolling(lookahead, min_periods=1).max()[::-1].shift(-1).fillna(0.0)
    out["event_soon"] = soon.reindex(days).to_numpy()
    out = out.astype(float)
    out.index.name = "ds"
    return out.reset_index()
