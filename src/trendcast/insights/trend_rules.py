"""The rules behind trend calls: thresholds, signals per series, class, confidence and score.

See :mod:`trendcast.insights.trends` for what each signal and rule means.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.insights import trend_signals as sig
from trendcast.insights.periods import UNITS

CLASSES = ("emerging", "rising", "seasonal_peak_ahead", "declining", "steady")


@dataclass(frozen=True, kw_only=True)
class TrendThresholds:
    """Thresholds of ``detect_trends`` (every one is reported in the output's assumptions).

    Defaults were chosen on the simulated shop with seed 7 only (``benchmarks/trends.py``
    reports other seeds).

    Attributes:
        window: recent weeks for the slope, the Mann-Kendall test and short-series confidence.
        yoy_weeks: weeks in ``yoy_growth`` (and the weeks that may contradict a yearly call);
            also the fewest weeks a year-over-year comparison needs.
        recent_weeks: weeks whose median is the recent level for peak and forecast ratios.
        ahead_weeks: weeks ahead looked at for a seasonal peak (and of the forecast).
        min_weeks: fewer complete weeks than this is too short for a call.
        alpha: significance level of the Mann-Kendall and year-over-year tests.
        min_growth: annual growth (0.2 = +20%) from which a series is rising.
        min_decline: annual fall (0.2 = -20%) from which a series is declining.
        min_slope_pct: %/week from which a series without a year of history rises or falls.
        emerging_max_age_weeks: a series is new for this many weeks after its first sale.
        emerging_min_slope_pct: %/week a new series must grow by to be emerging.
        seasonal_min_amplitude: yearly harmonic amplitude in log units (0.35: peak = 2x
            trough) for a series to count as seasonal.
        seasonal_min_r2: share of the detrended log-variance the yearly harmonic must explain.
        min_peak_ratio: next weeks over the recent level needed for ``seasonal_peak_ahead``.
        cp_penalty: ruptures penalty factor (x log n) on the noise-scaled square-root series.
        cp_min_ratio: level ratio across a change point (in the last year) that counts as a
            shift up (or 1 / it, down).
    """

    window: int = 26
    yoy_weeks: int = 8
    recent_weeks: int = 8
    ahead_weeks: int = 8
    min_weeks: int = 8
    alpha: float = 0.05
    min_growth: float = 0.2
    min_decline: float = 0.2
    min_slope_pct: float = 1.0
    emerging_max_age_weeks: int = 52
    emerging_min_slope_pct: float = 2.0
    seasonal_min_amplitude: float = 0.35
    seasonal_min_r2: float = 0.3
    min_peak_ratio: float = 1.3
    cp_penalty: float = 3.0
    cp_min_ratio: float = 1.25

    def __post_init__(self) -> None:
        lows = {"window": 4, "yoy_weeks": 1, "recent_weeks": 1, "ahead_weeks": 4, "min_weeks": 3,
                "emerging_max_age_weeks": 1}
        for name, low in lows.items():
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < low:
                raise ModelError(f"trend threshold {name}={value!r} must be a whole number >= {low}")
        for name in ("alpha", "min_decline"):
            if not 0 < getattr(self, name) < 1:
                raise ModelError(f"trend threshold {name}={getattr(self, name)!r} must be in (0, 1)")
        for name in ("min_growth", "min_slope_pct", "emerging_min_slope_pct", "cp_penalty",
                     "seasonal_min_amplitude", "seasonal_min_r2"):
            if not getattr(self, name) > 0:
                raise ModelError(f"trend threshold {name}={getattr(self, name)!r} must be > 0")
        if not (self.min_peak_ratio > 1 and self.cp_min_ratio > 1):
            raise ModelError("trend thresholds min_peak_ratio and cp_min_ratio must be > 1, got "
                             f"{self.min_peak_ratio!r} and {self.cp_min_ratio!r}")


@dataclass(frozen=True)
class Spans:
    """The thresholds counted in weeks, counted in the panel's columns.

    For weeks they are the thresholds themselves. Monthly and quarterly panels take the same
    time spans in their periods, rounded up (26 weeks are 6 months), with floors where a
    test or a fit needs more points than that leaves: a slope and its Mann-Kendall test over
    at least 6 periods, a call from 3, a yearly fit from a year and 4 periods, change points
    with segments of 2. Rates per week (``min_slope_pct``) become the rate that compounds to
    the same over a month or a quarter.
    """

    per_year: int
    window: int
    yoy: int
    recent: int
    ahead: int
    min_len: int
    emerging_age: int
    block: int
    cp_min_size: int
    cp_smooth: int
    fit_min: int
    fit_max: int
    min_slope_pct: float
    emerging_slope_pct: float


def spans(th: TrendThresholds, per_year: int = sig.WEEKS_PER_YEAR) -> Spans:
    """:class:`Spans` of ``th`` for a panel of ``per_year`` columns a year (52, 12 or 4)."""
    if per_year == sig.WEEKS_PER_YEAR:
        return Spans(per_year, th.window, th.yoy_weeks, th.recent_weeks, th.ahead_weeks, th.min_weeks,
                     th.emerging_max_age_weeks, 4, 8, 5, 60, 156, th.min_slope_pct,
                     th.emerging_min_slope_pct)

    def n(weeks: int, low: int = 1) -> int:
        return max(low, math.ceil(weeks * per_year / sig.WEEKS_PER_YEAR - 1e-9))

    def rate(pct_per_week: float) -> float:
        return 100 * ((1 + pct_per_week / 100) ** (sig.WEEKS_PER_YEAR / per_year) - 1)

    return Spans(per_year, n(th.window, 6), n(th.yoy_weeks), n(th.recent_weeks), n(th.ahead_weeks),
                 n(th.min_weeks, 3), n(th.emerging_max_age_weeks), 1, n(8, 2), 1, n(60, per_year + 4),
                 n(156), rate(th.min_slope_pct), rate(th.emerging_min_slope_pct))


@dataclass
class Signals:
    """Per-series signals, aligned with ``WeeklyPanel.ids``; counts are in the panel's
    columns (weeks, months or quarters)."""

    weeks: np.ndarray  # complete weeks since the first sale
    age_weeks: np.ndarray
    censored: np.ndarray  # first sale in the data's first week: the real age is unknown
    never_sold: np.ndarray
    level: np.ndarray  # mean weekly sales over the window
    slope_pct: np.ndarray
    mk_p: np.ndarray
    yoy8: np.ndarray
    annual: np.ndarray
    yoy_p: np.ndarray
    yoy_pairs: np.ndarray
    price_change: np.ndarray
    cp_col: np.ndarray
    cp_ratio: np.ndarray
    yearly: sig.YearlyFit
    seasonal: np.ndarray
    peak_ratio: np.ndarray
    fc_change: np.ndarray
    n_cols: int
    spans: Spans


def compute_signals(panel: sig.WeeklyPanel, th: TrendThresholds, forecast: pd.DataFrame | None,
                    notes: list[str]) -> Signals:
    """Every signal for every series of ``panel`` (``forecast``: ``unique_id, ds, y``)."""
    v = panel.values
    sp = spans(th, panel.per_year)
    win = v[:, -sp.window:]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows of too-short series
        level = np.nanmean(win, axis=1)
        slope_pct = np.where(level > 0, 100 * sig.theil_sen(win) / level, np.nan)
        recent = np.nanmedian(v[:, -sp.recent:], axis=1)
    annual, yoy_p, pairs = sig.yoy_sign_test(v, max_weeks=sp.per_year, min_pairs=sp.yoy,
                                             per_year=sp.per_year)
    cp_col, cp_ratio = sig.change_points(v, penalty=th.cp_penalty, min_size=sp.cp_min_size,
                                         smooth=sp.cp_smooth)
    year = sig.YEAR_WEEKS if sp.per_year == sig.WEEKS_PER_YEAR else sp.per_year
    yearly = sig.yearly_fit(v, recent_weeks=sp.recent, ahead_weeks=sp.ahead, min_weeks=sp.fit_min,
                            max_weeks=sp.fit_max, per_year=year)
    end = panel.week_end[-1]
    first = panel.first_sale.to_numpy()
    ended = (panel.last_row < end).to_numpy()
    if ended.any():
        notes.append(f"{int(ended.sum()):,} series have no rows in their last days (up to {end.date()}); "
                     "those days count as zero sales")
    first_week = pd.Timedelta(days=0 if panel.months else 6)
    censored = (panel.first_sale <= panel.first_date + first_week).to_numpy()
    if panel.months:  # whole months (quarters) since the first sale's
        sold = panel.first_sale.dt
        age = ((end.year - sold.year) * 12 + end.month - sold.month) / panel.months
    else:
        age = (end - panel.first_sale).dt.days / 7
    return Signals(
        weeks=(~np.isnan(v)).sum(axis=1), age_weeks=age.to_numpy(float),
        censored=censored, never_sold=pd.isna(first), level=level, slope_pct=slope_pct,
        mk_p=sig.mann_kendall(win)[1], yoy8=sig.ratio_growth(v, sp.yoy, lag=sp.per_year), annual=annual,
        yoy_p=yoy_p, yoy_pairs=pairs,
        price_change=(np.full(len(v), np.nan) if panel.price is None
                      else sig.yoy_mean_change(panel.price, pairs, per_year=sp.per_year)),
        cp_col=cp_col, cp_ratio=cp_ratio, yearly=yearly,
        seasonal=(yearly.amplitude >= th.seasonal_min_amplitude) & (yearly.r2 >= th.seasonal_min_r2),
        peak_ratio=sig.last_year_ahead(v, recent_weeks=sp.recent, ahead_weeks=sp.ahead, block=sp.block,
                                       per_year=sp.per_year),
        fc_change=(np.full(len(v), np.nan) if forecast is None
                   else _forecast_change(forecast, panel, recent, sp, notes)),
        n_cols=v.shape[1], spans=sp)


def _forecast_change(fc: pd.DataFrame, panel: sig.WeeklyPanel, recent: np.ndarray, sp: Spans,
                     notes: list[str]) -> np.ndarray:
    """Mean weekly point forecast over complete weeks after the history / recent level - 1
    (months or quarters for a monthly or quarterly panel)."""
    end = panel.week_end[-1]
    ds = pd.to_datetime(fc["ds"])
    if panel.months:
        steps = (((ds.dt.year - end.year) * 12 + ds.dt.month - end.month) // panel.months).to_numpy()
    else:
        steps = (ds - end).dt.days.to_numpy()
    ahead = fc[steps > 0].assign(week=(steps[steps > 0] - 1) // (1 if panel.months else 7))
    ahead = ahead[ahead["week"] < sp.ahead]
    per_week = ahead.groupby(["unique_id", "week"])["y"].agg(["sum", "count"])
    full = per_week[per_week["count"] == (7 if panel.step_days == 1 else 1)]
    mean = full.groupby(level="unique_id")["sum"].mean().reindex(panel.ids)
    unit = panel.unit
    if mean.isna().all():
        notes.append(f"forecast: no complete {unit} after {end.date()} for any series; not used")
        return np.full(len(panel.ids), np.nan)
    n_weeks = int(full.index.get_level_values("week").max()) + 1
    notes.append(f"forecast: mean of {n_weeks} complete {unit}(s) ahead against the median of the last "
                 f"{UNITS[unit].count(sp.recent, 'en')}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(recent > 0, mean.to_numpy(dtype=float) / recent - 1, np.nan)


@dataclass
class Calls:
    """Class, confidence and score per series, plus what the call rested on."""

    trend: np.ndarray
    confidence: np.ndarray
    score: np.ndarray
    basis: np.ndarray  # "yoy" (year-over-year test) or "slope" (recent slope only)
    too_short: np.ndarray
    contradicted: np.ndarray  # a rise/fall its recent weeks, level shift or forecast contradict
    forecast_disagrees: np.ndarray  # an emerging series whose forecast falls


def _vote(x: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """+1 / -1 / 0 per series, NaN where the signal ``x`` is missing."""
    return np.where(np.isnan(x), np.nan, np.where(up, 1.0, np.where(down, -1.0, 0.0)))


def _at_least(x: np.ndarray, bound: float) -> np.ndarray:
    return np.where(np.isnan(x), np.nan, (x >= bound).astype(float))


def _agreement(votes: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Share of the available votes equal to ``direction``; 0.5 when none is available."""
    available = ~np.isnan(votes)
    count = available.sum(axis=1)
    agree = ((votes == direction[:, None]) & available).sum(axis=1)
    return np.where(count > 0, agree / np.maximum(count, 1), 0.5)


def classify(s: Signals, th: TrendThresholds) -> Calls:
    """Apply the rules of :mod:`trendcast.insights.trends` to every series at once."""
    sp, year = s.spans, s.spans.per_year
    with np.errstate(invalid="ignore"):
        has_yoy = s.yoy_pairs >= sp.yoy
        growth = np.where(has_yoy, s.annual, (1 + s.slope_pct / 100) ** year - 1)
        p_main = np.nan_to_num(np.where(has_yoy, s.yoy_p, s.mk_p), nan=1.0)
        mk_p = np.nan_to_num(s.mk_p, nan=1.0)
        slope = np.nan_to_num(s.slope_pct)
        # Other evidence; a seasonal series' slope, level shifts and forecast follow its season.
        v_yoy8 = _vote(s.yoy8, s.yoy8 >= th.min_growth, s.yoy8 <= -th.min_decline)
        # As a vote, the slope counts at the weekly rate that compounds to min_growth a year.
        up_rate = 100 * ((1 + th.min_growth) ** (1 / year) - 1)
        down_rate = 100 * (1 - (1 - th.min_decline) ** (1 / year))
        v_slope = _vote(s.slope_pct, (slope >= up_rate) & (mk_p <= th.alpha),
                        (slope <= -down_rate) & (mk_p <= th.alpha))
        shift = np.where((s.cp_col >= 0) & (s.cp_col >= s.n_cols - year), s.cp_ratio, 1.0)
        v_cp = _vote(np.where(s.weeks >= sp.min_len, shift, np.nan), shift >= th.cp_min_ratio,
                     shift <= 1 / th.cp_min_ratio)
        v_fc = _vote(s.fc_change, s.fc_change >= th.min_growth, s.fc_change <= -th.min_decline)
        for votes in (v_slope, v_cp, v_fc):
            votes[s.seasonal] = np.nan
        rise = np.where(has_yoy, (growth >= th.min_growth) & (p_main <= th.alpha),
                        (slope >= sp.min_slope_pct) & (mk_p <= th.alpha))
        fall = np.where(has_yoy, (growth <= -th.min_decline) & (p_main <= th.alpha),
                        (slope <= -sp.min_slope_pct) & (mk_p <= th.alpha))
        # A call must agree with its own numbers: a rise whose recent weeks, level shift (in the
        # last year) or forecast point down is "mixed signals", and likewise for a fall.
        contradicted = ((rise & ((v_yoy8 == -1) | (v_cp == -1) | (v_fc == -1)))
                        | (fall & ((v_yoy8 == 1) | (v_cp == 1) | (v_fc == 1))))
        dead = (np.nan_to_num(s.level) == 0) & ~s.never_sold & (s.weeks > 0)
        emerging = ((s.age_weeks <= sp.emerging_age) & ~s.censored
                    & (slope >= sp.emerging_slope_pct) & (mk_p <= th.alpha))
        seen_up = ((np.nan_to_num(s.peak_ratio) >= th.min_peak_ratio)
                   | (np.nan_to_num(s.fc_change) >= th.min_peak_ratio - 1))
        peak = s.seasonal & (np.nan_to_num(s.yearly.ahead) > 1) & seen_up
    too_short = (s.weeks < sp.min_len) | s.never_sold
    trend = np.select([too_short, emerging, peak, dead | (fall & ~contradicted), rise & ~contradicted],
                      ["steady", "emerging", "seasonal_peak_ahead", "declining", "rising"], "steady")
    is_ = {c: trend == c for c in CLASSES}

    direction = np.select([is_["rising"] | is_["emerging"], is_["declining"]], [1.0, -1.0], 0.0)
    agree = _agreement(np.column_stack([v_yoy8, v_slope, v_cp, v_fc]), direction)
    peak_votes = np.column_stack([_at_least(s.peak_ratio, th.min_peak_ratio),
                                  _at_least(s.yearly.ahead, th.min_peak_ratio),
                                  _at_least(s.fc_change + 1, th.min_peak_ratio)])
    agree = np.where(is_["seasonal_peak_ahead"], _agreement(peak_votes, np.ones(len(trend))), agree)
    log_g = np.abs(np.log1p(np.clip(np.nan_to_num(growth), -0.99, None)))
    strength = np.select(
        [is_["emerging"], is_["seasonal_peak_ahead"], is_["steady"], dead],
        [1 - mk_p, np.clip(np.nan_to_num(s.yearly.r2) / 0.6, 0, 1),
         1 - np.clip(log_g / np.log1p(th.min_growth), 0, 1), np.ones(len(trend))],
        1 - p_main)
    confidence = (0.5 * strength + 0.5 * agree) * np.where(has_yoy | dead, 1.0, 0.8)
    # an emerging product whose forecast falls keeps its call (it rests on the sales so far),
    # at half the confidence, and its reason says the forecast disagrees
    disagrees = is_["emerging"] & (v_fc == -1)
    confidence = np.where(disagrees, 0.5 * confidence, confidence)
    confidence *= np.clip(s.weeks / sp.window, 0, 1)
    confidence = np.where(too_short, 0.0, np.clip(confidence, 0, 1))
    peak_size = np.log(np.clip(np.nan_to_num(np.fmax(s.peak_ratio, s.fc_change + 1), nan=1.0), 1, None))
    size = np.select([is_["emerging"], is_["seasonal_peak_ahead"], is_["steady"]],
                     [np.log1p(np.clip(slope, 0, None) / 100) * year, peak_size, np.ones(len(trend))],
                     np.where(dead, np.log(100), log_g))
    return Calls(trend=trend.astype(object), confidence=np.round(confidence, 3),
                 score=np.round(confidence * size, 4), basis=np.where(has_yoy, "yoy", "slope"),
                 too_short=too_short, contradicted=contradicted & is_["steady"],
                 forecast_disagrees=disagrees)
