"""Stored sales rows -> the gap-free long frame models train on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.features.frequency import check_frequency, infer_freq, period_labels


def resample_sales(sales: pd.DataFrame, freq: str, *, week_start: int | None = None
                   ) -> pd.DataFrame:
    """Stored sales rows at a coarser ``freq``: units summed, price averaged over the days
    that had one, promotion the share of promoted days; one row per series and period.

    ``week_start`` (stored weekly rows: days from a row's date to its week's first day, see
    :func:`trendcast.features.frequency.week_start_offset`) spreads each week's units evenly
    over its seven days first, so a week across two months counts in both, by its days: a
    month is not a month of four or five whole weeks."""
    if week_start is not None and not str(freq).startswith("W"):
        sales = _spread_weeks(sales, week_start)
    frame = sales.assign(ds=period_labels(sales["ds"], freq).to_numpy())
    agg: dict[str, tuple[str, str]] = {"y": ("y", "sum")}
    for col in ("price", "promo"):
        if col in frame.columns:
            agg[col] = (col, "mean")
    out = frame.groupby(["unique_id", "ds"], as_index=False, sort=True).agg(**agg)
    return out


def _spread_weeks(sales: pd.DataFrame, week_start: int) -> pd.DataFrame:
    """Weekly rows as daily ones: a seventh of the units on each day of the week, price and
    promotion as they are."""
    if sales.empty:
        return sales
    days = np.arange(week_start, week_start + 7)
    out = sales.iloc[np.repeat(np.arange(len(sales)), 7)].reset_index(drop=True)
    out["ds"] = out["ds"].to_numpy() + np.tile(days, len(sales)).astype("timedelta64[D]")
    out["y"] = out["y"] / 7.0
    return out


def recent_rows(frame: pd.DataFrame, since: pd.Timestamp) -> pd.DataFrame:
    """The rows after ``since``; a series that sold on or before it keeps its rows from its
    last sale up to then, so a model that starts series at their first sale still sees that
    the series had sold (a product selling again after a long dry spell is not a launch)."""
    old = frame["ds"] <= since
    last_sale = frame.loc[old & (frame["y"] > 0)].groupby("unique_id")["ds"].max()
    if last_sale.empty:
        return frame.loc[~old]
    start = frame["unique_id"].map(last_sale)
    return frame.loc[~old | (start.notna() & (frame["ds"] >= start))]


def fill_series(sales: pd.DataFrame, freq: str | None = None, *,
                end: pd.Timestamp | None = None) -> pd.DataFrame:
    """``unique_id, ds, y`` with every period between a series' first and last date; missing
    periods count as zero sales. ``freq`` (the whole catalogue's, when this is part of it)
    replaces the inferred one. ``end`` (the catalogue's last date, for a forecast) extends
    every series that stops earlier to it with zero sales, so its forecast starts where the
    others' do, not inside the past, unless so many periods without a sale are improbable for
    the series (:func:`_estimate_missing_tails`). ``attrs`` keep ``gaps_filled`` (periods
    missing inside series), ``tails_filled`` (series id -> zero periods added after its last
    row up to ``end``), ``tails_estimated`` (the same, for periods given the series' recent
    level) and ``freq``."""
    from utilsforecast.preprocessing import fill_gaps

    df = sales[["unique_id", "ds", "y"]]
    freq = freq or infer_freq(df)
    check_frequency(df, freq)
    filled = fill_gaps(df, freq=freq, start="per_serie", end="per_serie")
    inside = int(len(filled) - len(df))
    tails: dict[str, int] = {}
    if end is not None and len(df) and pd.Timestamp(df["ds"].max()) <= pd.Timestamp(end):
        short = filled.groupby("unique_id")["ds"].transform("max") < pd.Timestamp(end)
        if short.any():
            extended = fill_gaps(filled[short], freq=freq, start="per_serie", end=pd.Timestamp(end))
            added = extended.groupby("unique_id").size() - filled[short].groupby("unique_id").size()
            tails = {str(k): int(v) for k, v in added.items() if v > 0}
            filled = pd.concat([filled[~short], extended], ignore_index=True).sort_values(
                ["unique_id", "ds"], ignore_index=True)
    estimated: dict[str, int] = {}
    if tails:
        filled, estimated = _estimate_missing_tails(filled, df, tails, freq)
        tails = {u: k for u, k in tails.items() if u not in estimated}
    filled["y"] = filled["y"].fillna(0.0)
    filled.attrs["gaps_filled"] = inside
    filled.attrs["tails_filled"] = tails
    filled.attrs["tails_estimated"] = estimated
    filled.attrs["freq"] = freq
    return filled


TAIL_RUN = 8  # periods with a sale, each, before the missing ones: a series that always sells
TAIL_MAX = 3  # most missing periods read as left out of an export (longer: the series may have stopped)
TAIL_ALPHA = 1e-3  # below this Poisson probability of no sale in the missing periods, they are estimated


def _estimate_missing_tails(filled: pd.DataFrame, rows: pd.DataFrame, tails: dict[str, int],
                            freq: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The periods added after a series' last row when they are most likely rows the export
    left out, not periods without sales: at most ``TAIL_MAX`` of them, the series sold in
    each of its last ``TAIL_RUN`` periods, and that many periods without a sale have a Poisson probability under
    ``TAIL_ALPHA`` at its recent rate. They get the series' recent level: for daily series
    the mean of the same weekday in the last four weeks it reported, else the mean of its last
    four periods. (Before, a store missing from one day's file was read as selling nothing
    that day: seasonal naive forecast zero every week on that weekday.)"""
    last = rows.groupby("unique_id")["ds"].max()
    by_id = {str(k): g for k, g in rows.sort_values("ds").groupby("unique_id")}
    step = 7 if str(freq).upper().startswith("D") else 1
    offset = pd.tseries.frequencies.to_offset(freq)
    y = filled["y"].to_numpy(dtype=float).copy()
    estimated: dict[str, int] = {}
    ids = filled["unique_id"].astype(str).to_numpy()
    for uid, k in tails.items():
        own = by_id.get(uid)
        if own is None or len(own) < TAIL_RUN or k > TAIL_MAX:
            continue
        recent = own.tail(TAIL_RUN)
        expected = pd.date_range(end=recent["ds"].iloc[-1], periods=TAIL_RUN, freq=offset)
        if (not recent["ds"].reset_index(drop=True).equals(pd.Series(expected))
                or not (recent["y"] > 0).all() or -k * float(recent["y"].mean()) >= np.log(TAIL_ALPHA)):
            continue
        values = own.set_index("ds")["y"]
        at = np.flatnonzero((ids == uid) & (filled["ds"].to_numpy() > np.datetime64(last.loc[own["unique_id"].iloc[0]])))
        for i in at:
            day = pd.Timestamp(filled["ds"].iloc[i])
            back = [day - j * step * offset for j in range(1, 9)]
            seen = values.reindex(back).dropna().head(4)
            y[i] = float(seen.mean()) if len(seen) else float(recent["y"].tail(4).mean())
        estimated[uid] = k
    return filled.assign(y=y), estimated
