"""Stored sales rows -> the gap-free long frame models train on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.features.frequency import (
    check_frequency,
    default_season_length,
    infer_freq,
    period_days,
    period_labels,
)


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
                end: pd.Timestamp | None = None, catalogue_rows: pd.Series | None = None,
                inside: bool = True) -> pd.DataFrame:
    """``unique_id, ds, y`` with every period between a series' first and last date; missing
    periods count as zero sales, unless the series sells every period and that long without
    a sale is improbable for it: then they are rows an export left out, read as its recent
    level (:func:`_estimate_missing`). ``freq`` (the whole catalogue's, when this is part of
    it) replaces the inferred one. ``end`` (the catalogue's last date, for a forecast) extends
    every series that stops earlier to it the same way, so its forecast starts where the
    others' do, not inside the past. ``catalogue_rows`` (the whole catalogue's rows per
    period, when ``sales`` is part of it; default: counted in ``sales``) tells a closed shop's
    periods; ``inside=False`` estimates no period inside a series (periods aggregated from
    rows). ``attrs`` keep ``gaps_filled`` (zero periods inside series), ``gaps_estimated``
    (series id -> periods inside it given its level), ``tails_filled`` / ``tails_estimated``
    (the same, for periods added after its last row up to ``end``), ``estimated_at``
    (``(unique_id, ds)`` of the estimated periods: no actuals to score a backtest on) and
    ``freq``."""
    from utilsforecast.preprocessing import fill_gaps

    df = sales[["unique_id", "ds", "y"]]
    freq = freq or infer_freq(df)
    check_frequency(df, freq)
    filled = fill_gaps(df, freq=freq, start="per_serie", end="per_serie")
    inside = int(len(filled) - len(df))
    if end is not None and len(df) and pd.Timestamp(df["ds"].max()) <= pd.Timestamp(end):
        short = filled.groupby("unique_id")["ds"].transform("max") < pd.Timestamp(end)
        if short.any():
            extended = fill_gaps(filled[short], freq=freq, start="per_serie", end=pd.Timestamp(end))
            filled = pd.concat([filled[~short], extended], ignore_index=True).sort_values(
                ["unique_id", "ds"], ignore_index=True)
    missing = filled["y"].isna().to_numpy()
    tail = np.zeros(len(filled), dtype=bool)
    y, given = filled["y"].to_numpy(dtype=float), np.zeros(len(filled), dtype=bool)
    if missing.any():  # (a complete catalogue, M5's, skips the work)
        tail = (filled["ds"] > _last_observed(filled)).to_numpy()
        rows = catalogue_rows if catalogue_rows is not None else df.groupby("ds").size()
        y, given = _estimate_missing(filled, freq, tail, rows if inside else None)
    filled["y"] = np.where(np.isnan(y), 0.0, y)
    ids = filled["unique_id"].to_numpy()[missing].astype(str)  # the missing periods' series
    given, tail = given[missing], tail[missing]
    filled.attrs["gaps_filled"] = inside - int((given & ~tail).sum())
    filled.attrs["gaps_estimated"] = _counts(ids[given & ~tail])
    filled.attrs["tails_filled"] = _counts(ids[tail & ~given])
    filled.attrs["tails_estimated"] = _counts(ids[given & tail])
    filled.attrs["estimated_at"] = frozenset(zip(ids[given], filled["ds"].to_numpy()[missing][given],
                                                 strict=True))
    filled.attrs["freq"] = freq
    return filled


def _last_observed(filled: pd.DataFrame) -> pd.Series:
    """Per row, its series' last date with a row (not a filled one)."""
    return filled["ds"].where(filled["y"].notna()).groupby(filled["unique_id"]).transform("max")


def _counts(ids: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(ids, return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


RUN_BEFORE = 8  # fewest periods with a sale, each, before the missing ones (at least a season)
MISSING_MAX = 3  # most missing periods read as left out of an export (longer: it may have stopped)
MISSING_ALPHA = 1e-3  # below this Poisson probability of no sale in those periods, they are estimated
OPEN_SHARE = 0.5  # rows of the catalogue on a day, against its usual count, below which it was closed


def _estimate_missing(filled: pd.DataFrame, freq: str, tail: np.ndarray,
                      rows: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """``y`` with the missing periods (NaN) that are most likely rows an export left out given
    the series' recent level, and which rows those are. A run of missing periods qualifies
    when it is at most ``MISSING_MAX`` long; the series sold in each of the periods of the
    season before it (at least ``RUN_BEFORE``: a weekly series a whole year, so that a
    department without sales some weeks of each year is not taken for one that always sells);
    no sale for that long has a Poisson probability under ``MISSING_ALPHA`` at its rate there;
    and, inside a series (``~tail``), the catalogue reported at least ``OPEN_SHARE`` of its
    usual rows (``rows``: per period; None: no period inside a series qualifies) on each of
    those periods (else the shop was closed: a zero). The level: for daily series the mean of
    the same weekday in the four weeks before that reported, else the mean of the last four
    periods. (Before, a store missing from one day's file was read as selling nothing:
    seasonal naive forecast zero every week on that weekday.)"""
    y = filled["y"].to_numpy(dtype=float).copy()
    given = np.zeros(len(y), dtype=bool)
    missing = np.isnan(y)
    if not missing.any():
        return y, given
    codes = filled["unique_id"].astype("category").cat.codes.to_numpy()
    new_series = np.r_[True, codes[1:] != codes[:-1]]
    starts = np.flatnonzero(missing & (new_series | ~np.r_[False, missing[:-1]]))
    if not len(starts):
        return y, given
    sold = np.where(missing, 0.0, y)
    good = (~missing & (sold > 0)).astype(int)
    series_start = np.maximum.accumulate(np.where(new_series, np.arange(len(y)), 0))
    csum_good, csum_y = np.r_[0, np.cumsum(good)], np.r_[0, np.cumsum(sold)]
    run = max(RUN_BEFORE, default_season_length(str(freq)))
    lo = starts - run
    ok = lo >= series_start[starts]
    lo = np.maximum(lo, 0)
    ok &= (csum_good[starts] - csum_good[lo]) == run
    rate = (csum_y[starts] - csum_y[lo]) / run
    run_id = np.cumsum(missing & (new_series | ~np.r_[False, missing[:-1]]))
    lengths = np.bincount(run_id[missing])[run_id[starts]]
    ok &= (lengths <= MISSING_MAX) & (-lengths * rate < np.log(MISSING_ALPHA))
    if not ok.any():
        return y, given
    ds = filled["ds"].to_numpy()
    is_open = _open_periods(rows) if rows is not None else pd.Series(dtype=bool)
    step = 7 if str(freq).upper().startswith("D") else 1
    for s, k in zip(starts[ok], lengths[ok], strict=True):
        at = np.arange(s, s + k)
        if not tail[s] and not is_open.reindex(ds[at], fill_value=False).all():
            continue
        first = series_start[s]
        for i in at:
            back = i - step * np.arange(1, 9)
            back = back[back >= first]
            seen = [y[j] for j in back if not missing[j]][:4]
            y[i] = float(np.mean(seen)) if seen else float(np.mean(sold[s - 4:s]))
        given[at] = True
    return y, given


def left_out_history_start(first: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The first day of the sales :func:`fill_series` needs to tell whether periods from
    ``first`` on are rows an export left out: the run of sales before them (a season at
    least) and a few periods more."""
    run = max(RUN_BEFORE, default_season_length(str(freq))) + 4
    return (pd.Timestamp(first) - pd.Timedelta(days=run * period_days(str(freq)))).normalize()


def _open_periods(rows: pd.Series) -> pd.Series:
    """Per period of ``rows`` (the catalogue's rows per period), whether it reported at least
    ``OPEN_SHARE`` of its usual number (the median over the 28 periods before)."""
    rows = rows.sort_index()
    usual = rows.shift(1).rolling(28, min_periods=1).median()
    return rows >= OPEN_SHARE * usual.fillna(0)
