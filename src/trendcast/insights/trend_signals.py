"""Trend signals on weekly (or monthly, quarterly) sums, computed for many series at once.

Sales (daily or weekly, long format) become a products x weeks matrix of weekly sums whose
last week ends on the last date of the data; weeks before a product's first sale are NaN.
Monthly and quarterly sales keep their own periods: a products x months (quarters) matrix
on the calendar's months (quarters). On that matrix, all vectorised over series: Theil-Sen
slopes, the Mann-Kendall test, year-over-year growth, a yearly-seasonality fit and last
year's same-season profile. Change points use ``ruptures`` once per series (its C
implementation of Pelt, fast).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trendcast.errors import DataValidationError, TrendcastError

WEEKS_PER_YEAR = 52
YEAR_WEEKS = 365.25 / 7  # weeks in a year, for the yearly harmonic (lags use 52)


@dataclass(frozen=True)
class WeeklyPanel:
    """Weekly sums: ``values[i, j]`` is series ``ids[i]`` in the week ending ``week_end[j]``.

    Weeks run oldest to newest; NaN marks weeks before the series' first sale. A week is
    only used when it lies entirely after the first sale (no partial launch week). Monthly
    and quarterly input keeps its periods (``per_year`` 12 or 4): a column is then a month
    (quarter), ``week_end[j]`` the date the data gives it (its first or last day).
    """

    ids: np.ndarray
    values: np.ndarray
    week_end: pd.DatetimeIndex
    first_sale: pd.Series  # per id; NaT when a series never sold
    last_row: pd.Series  # per id: last date with a row in the input
    step_days: int  # 1 for daily input, 7 for weekly
    first_date: pd.Timestamp  # first date of the whole input
    price: np.ndarray | None = None  # mean price of the rows in each week, when prices are given
    per_year: int = WEEKS_PER_YEAR  # columns a year: 52 (weeks), 12 (months) or 4 (quarters)

    @property
    def months(self) -> int:
        """Months in one column: 1 or 3; 0 for weeks."""
        return {12: 1, 4: 3}.get(self.per_year, 0)

    @property
    def unit(self) -> str:
        """What one column is: 'week', 'month' or 'quarter'."""
        return {0: "week", 1: "month", 3: "quarter"}[self.months]

    def shift(self, date: pd.Timestamp, periods: float) -> pd.Timestamp:
        """``date`` moved by ``periods`` columns (weeks, months or quarters)."""
        if not self.months:
            return date + pd.Timedelta(days=round(7 * periods))
        moved = date + pd.DateOffset(months=self.months * round(periods))
        return moved + pd.offsets.MonthEnd(0) if date.is_month_end else moved


def weekly_panel(history: pd.DataFrame, *, id_col: str = "unique_id", time_col: str = "ds",
                 target_col: str = "y", price_col: str | None = None) -> WeeklyPanel:
    """Sum long daily or weekly sales into a series x weeks matrix (see :class:`WeeklyPanel`);
    monthly or quarterly sales into a series x months (quarters) one.

    Days without a row inside a series (and after its last row, up to the end of the data)
    count as zero sales, as in ``services.forecast.load_series``. With ``price_col``, the
    mean price of each week's rows is kept too (NaN where a week has no priced row).

    Raises:
        DataValidationError: missing columns, no rows, unparseable dates or quantities, or a
            frequency other than daily, weekly, monthly or quarterly.
    """
    missing = [c for c in (id_col, time_col, target_col) if c not in history.columns]
    if missing:
        raise DataValidationError(f"sales frame has no column(s) {missing}; it needs {id_col}, {time_col}, "
                                  f"{target_col} (long format, one row per series and date)")
    if history.empty:
        raise DataValidationError("sales frame is empty; pass at least one series with dates and sales")
    ds = pd.to_datetime(history[time_col], errors="coerce")
    y = pd.to_numeric(history[target_col], errors="coerce")
    bad = ds.isna() | y.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(f"sales row {row}: {time_col}={history[time_col].iloc[row]!r}, "
                                  f"{target_col}={history[target_col].iloc[row]!r}; expected a date and "
                                  "a number; drop or fix such rows first")
    if (y < 0).any():
        row = int(np.flatnonzero((y < 0).to_numpy())[0])
        raise DataValidationError(f"sales row {row}: {target_col}={y.iloc[row]!r} is negative; trend "
                                  "detection needs units sold >= 0 (net returns out first)")
    if ds.dt.tz is not None:
        ds = ds.dt.tz_localize(None)
    codes, ids = pd.factorize(history[id_col].astype(str), sort=True)
    ids = np.asarray(ids, dtype=object)
    day = ds.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)  # days since 1970
    sales = y.to_numpy(dtype=float)
    step = _step_days(codes, day, ids)
    amount = None
    if price_col is not None:
        amount = pd.to_numeric(history[price_col], errors="coerce").to_numpy(dtype=float)
    if step > 7:
        return _period_panel(ds.dt.normalize(), codes, ids, sales, amount, months=1 if step < 60 else 3)
    n = len(ids)
    first_day, end_day = int(day.min()), int(day.max())
    big = np.iinfo(np.int64).max
    first_sale = np.full(n, big)
    np.minimum.at(first_sale, codes[sales > 0], day[sales > 0])
    first_row = np.full(n, big)
    np.minimum.at(first_row, codes, day)
    last_row = np.full(n, first_day)
    np.maximum.at(last_row, codes, day)
    never = first_sale == big
    age_days = end_day - np.where(never, first_row, first_sale)
    # Index of the oldest usable week, counted back from the last week (0 = the last week).
    k_max = (age_days - 6) // 7 if step == 1 else age_days // 7
    k = (end_day - day) // 7
    n_weeks = int(max(k_max.max(), 0)) + 1
    use = k <= k_max[codes]
    cell = codes[use] * n_weeks + (n_weeks - 1 - k[use])
    values = np.bincount(cell, weights=sales[use], minlength=n * n_weeks).reshape(n, n_weeks).astype(float)
    before = (n_weeks - 1 - np.arange(n_weeks))[None, :] > k_max[:, None]
    values[before] = np.nan
    end = pd.Timestamp(np.datetime64(end_day, "D"))
    week_end = pd.DatetimeIndex(end - pd.to_timedelta(7 * np.arange(n_weeks)[::-1], unit="D"))
    price = None
    if amount is not None:
        priced = use & ~np.isnan(amount)
        priced_cell = codes[priced] * n_weeks + (n_weeks - 1 - k[priced])
        total = np.bincount(priced_cell, weights=amount[priced], minlength=n * n_weeks).reshape(n, n_weeks)
        count = np.bincount(priced_cell, minlength=n * n_weeks).reshape(n, n_weeks)
        with np.errstate(invalid="ignore", divide="ignore"):
            price = np.where(count > 0, total / count, np.nan)

    def dates(days: np.ndarray) -> pd.Series:
        return pd.Series(days.astype("datetime64[D]").astype("datetime64[ns]"), index=ids)

    return WeeklyPanel(ids, values, week_end, dates(first_sale).where(~never), dates(last_row), step,
                       pd.Timestamp(np.datetime64(first_day, "D")), price)


def _period_panel(ds: pd.Series, codes: np.ndarray, ids: np.ndarray, sales: np.ndarray,
                  amount: np.ndarray | None, *, months: int) -> WeeklyPanel:
    """Monthly (``months`` 1) or quarterly (3) sums on the calendar's periods: periods before
    a series' first sale are NaN, periods without a row after it count as zero."""
    n = len(ids)
    month = (ds.dt.year * 12 + ds.dt.month - 1).to_numpy(dtype=np.int64)
    col_of = (month - int(month.min()) % months) // months  # quarters on the data's own grid
    col = col_of - int(col_of.min())
    n_cols = int(col.max()) + 1
    big = np.iinfo(np.int64).max
    first_col = np.full(n, big)
    np.minimum.at(first_col, codes[sales > 0], col[sales > 0])
    first_row = np.full(n, big)
    np.minimum.at(first_row, codes, col)
    never = first_col == big
    start = np.where(never, first_row, first_col)
    cell = codes * n_cols + col
    values = np.bincount(cell, weights=sales, minlength=n * n_cols).reshape(n, n_cols).astype(float)
    values[np.arange(n_cols)[None, :] < start[:, None]] = np.nan
    price = None
    if amount is not None:
        priced = ~np.isnan(amount)
        total = np.bincount(cell[priced], weights=amount[priced], minlength=n * n_cols).reshape(n, n_cols)
        count = np.bincount(cell[priced], minlength=n * n_cols).reshape(n, n_cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            price = np.where(count > 0, total / count, np.nan)
    end = pd.Timestamp(ds.max())
    panel = WeeklyPanel(ids, values, pd.DatetimeIndex([end]), pd.Series(dtype="datetime64[ns]"),
                        pd.Series(dtype="datetime64[ns]"), 0, pd.Timestamp(ds.min()), price,
                        per_year=12 // months)
    labels = pd.DatetimeIndex([panel.shift(end, -k) for k in range(n_cols - 1, -1, -1)])
    first_sale = pd.Series(labels[np.clip(first_col, 0, n_cols - 1)], index=ids).where(~never)
    last = np.full(n, 0)
    np.maximum.at(last, codes, col)
    return dataclasses.replace(panel, week_end=labels, first_sale=first_sale,
                               last_row=pd.Series(labels[last], index=ids), step_days=months * 30)


def _step_days(codes: np.ndarray, day: np.ndarray, ids: np.ndarray) -> int:
    """Most common gap in days between consecutive dates of a series: 1 or 7, or about a
    month (28-31) or a quarter (89-92).

    Raises on a series with two rows for one day (summing them would count sales twice).
    """
    order = np.lexsort((day, codes))
    same = np.diff(codes[order]) == 0
    gaps = np.diff(day[order])
    twice = np.flatnonzero(same & (gaps == 0))
    if twice.size:
        at = order[twice[0] + 1]
        raise DataValidationError(f"sales have {twice.size:,} duplicate (series, day) rows, e.g. "
                                  f"{ids[codes[at]]!r} on {np.datetime64(int(day[at]), 'D')}; keep one row "
                                  "per series and day (sum or drop the duplicates first)")
    gaps = gaps[same]
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return 1
    step = int(np.bincount(np.minimum(gaps, 10_000)).argmax())
    if step not in (1, 7) and not 28 <= step <= 31 and not 89 <= step <= 92:
        raise DataValidationError(f"trend detection reads daily, weekly, monthly or quarterly sales; "
                                  f"these dates are mostly {step} days apart")
    return step


def theil_sen(values: np.ndarray) -> np.ndarray:
    """Theil-Sen slope per row (median of pairwise slopes, as ``scipy.stats.theilslopes``).

    NaN entries are skipped; rows with fewer than 3 numbers get NaN.
    """
    i, j = np.triu_indices(values.shape[1], k=1)
    slopes = (values[:, j] - values[:, i]) / (j - i)
    enough = np.sum(~np.isnan(values), axis=1) >= 3
    out = np.full(len(values), np.nan)
    if enough.any():
        out[enough] = np.nanmedian(slopes[enough], axis=1)
    return out


def mann_kendall(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test per row against time: (S statistic, two-sided p-value).

    The variance has the usual correction for tied values and no continuity correction, so
    the p-value equals ``scipy.stats.kendalltau(time, y, method="asymptotic")``. NaN entries
    are skipped; rows with fewer than 3 numbers or all values tied get p = NaN.
    """
    s, var, n = _mk_parts(values)
    return s, _mk_pvalue(s, var, (n >= 3) & (var > 0))


def yoy_sign_test(values: np.ndarray, *, max_weeks: int = WEEKS_PER_YEAR, min_pairs: int = 8,
                  per_year: int = WEEKS_PER_YEAR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year-over-year growth and its seasonal Mann-Kendall test, per row.

    Each of the last ``m`` weeks is compared with the same week a year before (``m`` is
    ``max_weeks``, or fewer when the series is younger), so a yearly pattern cannot look like
    a trend. This is the seasonal Kendall test (Hirsch et al. 1982) on two years: S is the
    number of weeks above last year minus those below, its variance the number of untied
    pairs. Returns (growth = sum of the m weeks / sum of the same weeks a year before - 1,
    two-sided p-value, m); NaN and m = 0 with fewer than ``min_pairs`` pairs. Columns are
    months or quarters when ``per_year`` is 12 or 4 (and ``max_weeks`` counts those).
    """
    n, n_weeks = values.shape
    m_cols = min(max_weeks, n_weeks - per_year)
    nan = np.full(n, np.nan)
    if m_cols < min_pairs:
        return nan, nan.copy(), np.zeros(n, dtype=int)
    now = values[:, n_weeks - m_cols:]
    before = values[:, n_weeks - m_cols - per_year:n_weeks - per_year]
    pair = ~np.isnan(now) & ~np.isnan(before)
    m = pair.sum(axis=1)
    s = np.where(pair, np.sign(now - before), 0.0).sum(axis=1)
    untied = (pair & (now != before)).sum(axis=1)
    now_sum = np.where(pair, now, 0.0).sum(axis=1)
    before_sum = np.where(pair, before, 0.0).sum(axis=1)
    ok = m >= min_pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(ok & (before_sum > 0), now_sum / before_sum - 1, np.nan)
    p = _mk_pvalue(s, untied.astype(float), ok & (untied > 0))
    p = np.where(ok & (untied == 0), 1.0, p)  # every week equal to last year's: no trend
    return growth, p, np.where(ok, m, 0)


def _mk_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall S, its tie-corrected variance and the count of numbers, per row."""
    i, j = np.triu_indices(values.shape[1], k=1)
    s = np.nansum(np.sign(values[:, j] - values[:, i]), axis=1)
    valid = ~np.isnan(values)
    n = valid.sum(axis=1).astype(float)
    same = (values[:, :, None] == values[:, None, :]).sum(axis=2).astype(float)  # tie size per value
    ties = np.where(valid, (same - 1) * (2 * same + 5), 0.0).sum(axis=1)
    return s, (n * (n - 1) * (2 * n + 5) - ties) / 18, n


def _mk_pvalue(s: np.ndarray, var: np.ndarray, ok: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = s / np.sqrt(var)
    return np.where(ok, 2 * stats.norm.sf(np.abs(z)), np.nan)


def yoy_mean_change(values: np.ndarray, weeks: np.ndarray, per_year: int = WEEKS_PER_YEAR) -> np.ndarray:
    """Mean of each row's last ``weeks[i]`` columns over the same columns a year before, - 1.

    For prices: the relative price change over the weeks the year-over-year test compared.
    """
    n, n_weeks = values.shape
    m_cols = min(per_year, n_weeks - per_year)
    if m_cols < 1:
        return np.full(n, np.nan)
    now = values[:, n_weeks - m_cols:]
    before = values[:, n_weeks - m_cols - per_year:n_weeks - per_year]
    keep = np.arange(m_cols)[None, :] >= m_cols - np.asarray(weeks)[:, None]
    keep &= ~np.isnan(now) & ~np.isnan(before)
    with np.errstate(invalid="ignore", divide="ignore"):
        now_mean = np.where(keep, now, 0.0).sum(axis=1) / keep.sum(axis=1)
        before_mean = np.where(keep, before, 0.0).sum(axis=1) / keep.sum(axis=1)
        return np.where(keep.any(axis=1) & (before_mean > 0), now_mean / before_mean - 1, np.nan)


def ratio_growth(values: np.ndarray, weeks: int, lag: int = WEEKS_PER_YEAR) -> np.ndarray:
    """Sum of the last ``weeks`` over the same weeks ``lag`` weeks earlier, minus 1, per row.

    NaN when either period is not fully observed or the earlier period sold nothing.
    """
    n_weeks = values.shape[1]
    if n_weeks < weeks + lag:
        return np.full(len(values), np.nan)
    now = values[:, n_weeks - weeks:]
    before = values[:, n_weeks - weeks - lag:n_weeks - lag]
    now_sum, before_sum = now.sum(axis=1), before.sum(axis=1)  # NaN if any week is missing
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before_sum > 0, now_sum / before_sum - 1, np.nan)


@dataclass(frozen=True)
class YearlyFit:
    """Per-row fit of ``log1p(weekly) ~ a + b t + yearly harmonic`` over the last up to 3 years.

    ``amplitude`` is the harmonic's half peak-to-trough range in log units (0.7 means the
    peak is e^1.4 = 4x the trough); ``r2`` is the share of the variance left after the linear
    trend that the yearly harmonic explains; ``ahead`` is the harmonic's factor of the next
    ``ahead_weeks`` over the last ``recent_weeks``; ``peak_in`` is the number of weeks from the
    last week to the harmonic's next peak. All NaN for rows with fewer than ``min_weeks``.
    """

    amplitude: np.ndarray
    r2: np.ndarray
    ahead: np.ndarray
    peak_in: np.ndarray


def yearly_fit(values: np.ndarray, *, recent_weeks: int, ahead_weeks: int, min_weeks: int = 60,
               max_weeks: int = 156, per_year: float = YEAR_WEEKS) -> YearlyFit:
    """Fit a linear trend plus one yearly harmonic per row (see :class:`YearlyFit`).

    Rows are fitted in batches of equal length (one least-squares solve per batch). The
    columns are weeks, or months (``per_year`` 12) or quarters (4), as every count here.
    """
    n, n_weeks = values.shape
    amplitude, r2, ahead, peak_in = (np.full(n, np.nan) for _ in range(4))
    cols = min(n_weeks, max_weeks)
    z = np.log1p(values[:, n_weeks - cols:])
    t = np.arange(cols, dtype=float) - (cols - 1)  # 0 = the last week
    angle = 2 * np.pi * t / per_year
    design = np.column_stack([np.ones(cols), t / per_year, np.cos(angle), np.sin(angle)])
    recent = 2 * np.pi * np.arange(-recent_weeks + 1, 1) / per_year
    future = 2 * np.pi * np.arange(1, ahead_weeks + 1) / per_year
    lengths = (~np.isnan(z)).sum(axis=1)
    for length in np.unique(lengths[lengths >= min_weeks]):
        rows = np.flatnonzero(lengths == length)
        x = design[cols - length:]
        target = z[rows][:, cols - length:].T  # (length, rows); NaN only before the start
        coef = np.linalg.lstsq(x, target, rcond=None)[0]
        trend_only = target - x[:, :2] @ np.linalg.lstsq(x[:, :2], target, rcond=None)[0]
        sse_trend = (trend_only ** 2).sum(axis=0)
        sse = ((target - x @ coef) ** 2).sum(axis=0)
        r2[rows] = np.where(sse_trend > 0, 1 - sse / np.where(sse_trend > 0, sse_trend, 1), 0.0)
        cos_c, sin_c = coef[2], coef[3]
        amplitude[rows] = np.hypot(cos_c, sin_c)
        ahead[rows] = _season(future, cos_c, sin_c) / _season(recent, cos_c, sin_c)
        peak_in[rows] = (np.arctan2(sin_c, cos_c) * per_year / (2 * np.pi)) % per_year
    return YearlyFit(amplitude, r2, ahead, peak_in)


def _season(angles: np.ndarray, cos_c: np.ndarray, sin_c: np.ndarray) -> np.ndarray:
    """Mean yearly factor exp(harmonic) over ``angles``, per fitted row."""
    return np.exp(np.outer(np.cos(angles), cos_c) + np.outer(np.sin(angles), sin_c)).mean(axis=0)


def last_year_ahead(values: np.ndarray, *, recent_weeks: int, ahead_weeks: int, block: int = 4,
                    per_year: int = WEEKS_PER_YEAR) -> np.ndarray:
    """Last year's same-season profile: best ``block``-week mean in the ``ahead_weeks`` after
    this date a year ago, over the median of the ``recent_weeks`` up to it, per row (in
    months or quarters when ``per_year`` is 12 or 4)."""
    n_weeks = values.shape[1]
    anchor = n_weeks - 1 - per_year  # this week, one year ago
    if anchor - recent_weeks + 1 < 0 or anchor + ahead_weeks >= n_weeks:
        return np.full(len(values), np.nan)
    before = np.median(values[:, anchor - recent_weeks + 1:anchor + 1], axis=1)
    after = values[:, anchor + 1:anchor + 1 + ahead_weeks]
    best = np.lib.stride_tricks.sliding_window_view(after, block, axis=1).mean(axis=2).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, best / before, np.nan)


def change_points(values: np.ndarray, *, penalty: float = 3.0, min_size: int = 8, smooth: int = 5
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Last change point in the level of each row and the level ratio after / before it.

    Each row (NaN before its start dropped) is put on a square-root scale, passed through a
    centred running median of ``smooth`` weeks (so one festival week is not a new level),
    divided by its noise scale (median absolute week-to-week difference), and segmented with
    ruptures' Pelt search on the l2 cost (``KernelCPD(kernel="linear")``, the C
    implementation) with penalty ``penalty * log(n)`` and segments of at least ``min_size``
    weeks. Returns the column index of the first week after the last change (-1 when there
    is none) and mean(after) / mean(before) of the adjacent segments of the weekly sums (NaN
    when there is none, inf when nothing sold before).
    """
    try:
        import ruptures as rpt
    except ImportError as exc:  # an optional extra: say how to get it
        raise TrendcastError("change points need the ruptures package; install trendcast[insights]"
                             ) from exc
    n_weeks = values.shape[1]
    where = np.full(len(values), -1)
    ratio = np.full(len(values), np.nan)
    smoothed = pd.DataFrame(np.sqrt(values).T).rolling(smooth, center=True, min_periods=1).median()
    smoothed = smoothed.to_numpy().T
    for r, row in enumerate(values):
        keep = ~np.isnan(row)
        y = row[keep]
        if len(y) < 2 * min_size:
            continue
        scale = np.median(np.abs(np.diff(np.sqrt(y)))) / (0.6745 * np.sqrt(2))
        if not scale > 0:
            scale = max(float(np.std(np.sqrt(y))), 1e-9)
        bkps = rpt.KernelCPD(kernel="linear", min_size=min_size).fit(
            (smoothed[r, keep] / scale)[:, None]).predict(pen=penalty * np.log(len(y)))
        bkps = [int(b) for b in bkps]
        if len(bkps) < 2:
            continue
        last, prev = bkps[-2], (bkps[-3] if len(bkps) > 2 else 0)
        before, after = y[prev:last].mean(), y[last:].mean()
        where[r] = n_weeks - len(y) + last
        ratio[r] = after / before if before > 0 else np.inf
    return where, ratio
