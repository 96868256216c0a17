"""Trend calls: which products (or brands, categories) are rising, declining, emerging,
heading into a seasonal peak, or steady, each with a confidence, a score and a short reason.

Signals per series, on weekly sums whose last week ends on the last date of the data (see
:mod:`trendcast.insights.trend_signals`); monthly and quarterly sales keep their months
(quarters), the thresholds below count the same spans in them (26 weeks are 6 months;
``trend_rules.Spans`` gives every count and floor), and the output's columns that count
weeks are named for months (quarters): ``slope_pct_per_month``, ``age_months``, ...

- ``slope_pct_per_week``: Theil-Sen slope over the last ``window`` weeks / their mean level;
  ``mk_pvalue``: the Mann-Kendall test of the same weeks against time.
- ``yoy_growth``: the last ``yoy_weeks`` weeks over the same weeks a year before, minus 1
  (NaN without a year + ``yoy_weeks`` of history; the notes say how many).
- ``annual_growth`` / ``yoy_pvalue`` / ``annual_weeks``: the last up to 52 weeks against the
  same weeks a year before, with the seasonal Kendall (sign) test of those pairs, so a yearly
  pattern or a festival cannot fake a trend; ``price_change``: mean price over the same weeks
  against a year before, when the history has a ``price`` column (product level).
- ``change_point`` / ``change_ratio``: start of the last level shift (ruptures, Pelt on an
  l2 cost) and mean weekly sales after / before it.
- ``seasonal`` / ``seasonality``: a yearly harmonic fitted to log weekly sales with a linear
  trend explains ``seasonality`` of the detrended variance and has amplitude >=
  ``seasonal_min_amplitude``; ``next_peak``: the harmonic's next peak. ``peak_ahead_ratio``:
  last year's best 4 weeks in the ``ahead_weeks`` after this date over the median of the
  ``recent_weeks`` before it.
- ``forecast_change``: mean weekly point forecast over the median of the last ``recent_weeks``.

Rules (the first that applies):

1. fewer than ``min_weeks`` complete weeks since the first sale: ``steady``, confidence 0,
   ``too_short`` True.
2. ``emerging``: first sale at most ``emerging_max_age_weeks`` ago (and not in the data's
   first week, where the real age is unknown), slope >= ``emerging_min_slope_pct`` %/week
   with MK p <= ``alpha``.
3. ``seasonal_peak_ahead``: a seasonal series whose yearly fit puts the next weeks above the
   recent ones, and last year's profile or the forecast shows >= ``min_peak_ratio`` x the
   recent level.
4. ``declining`` / ``rising``: with a year-over-year comparison (``basis`` "yoy"), annual
   growth <= -``min_decline`` / >= ``min_growth`` with the sign test p <= ``alpha``, unless
   the last ``yoy_weeks`` weeks point the other way (then ``steady``, "mixed signals");
   without one (``basis`` "slope"), the slope beyond -+``min_slope_pct`` %/week with MK p <=
   ``alpha``. A series with no sales over the whole window is declining.
5. otherwise ``steady``.

Confidence = (0.5 x strength + 0.5 x agreement), x 0.8 when there is no year-over-year
comparison, x weeks / ``window`` when the series is younger than the window, 0 when too
short. Strength is 1 - the p-value behind a trend call (MK for emerging), the yearly fit's
explained share / 0.6 (at most 1) for a seasonal peak, and for steady 1 - |log(1 + growth)| /
log(1 + ``min_growth``) (at least 0). Agreement is the share of the other available signals
pointing the same way (for trends: recent YoY beyond the growth thresholds, slope with MK p
<= ``alpha`` beyond the weekly rate that compounds to them, change point in the last year
beyond ``cp_min_ratio``, forecast beyond the growth thresholds; for a peak: last year's
profile, the yearly fit and the forecast at ``min_peak_ratio``); 0.5 when none is available.
``score`` = confidence x effect size (|log(1 + growth)|; log peak ratio; yearly log growth at
the recent slope for emerging; log 100 for a series that stopped selling; 1 for steady) ranks
calls within a class.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.insights import trend_signals as sig
from trendcast.insights.periods import UNITS
from trendcast.insights.trend_rules import CLASSES, Calls, Signals, TrendThresholds, classify, compute_signals
from trendcast.insights.trend_text import reasons

__all__ = ["CLASSES", "TRUTH_TO_CALL", "TrendThresholds", "detect_trends", "evaluate_against_truth"]

Level = Literal["product", "brand", "category"]
# Truth classes of the simulated shop -> the call that is right for them.
TRUTH_TO_CALL = {"rising": "rising", "declining": "declining", "emerging": "emerging",
                 "seasonal": "seasonal_peak_ahead", "steady": "steady", "intermittent": "steady"}


def detect_trends(
    history: pd.DataFrame,
    forecast: pd.DataFrame | None = None,
    *,
    products: pd.DataFrame | None = None,
    level: Level = "product",
    forecast_col: str | None = None,
    lang: Literal["en", "zh"] = "en",
    thresholds: TrendThresholds | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Call every series rising, declining, emerging, seasonal_peak_ahead or steady, ranked.

    Args:
        history: long sales ``unique_id, ds, y`` (daily, weekly, monthly or quarterly; an
            optional ``price``).
        forecast: optional point forecast ``unique_id, ds, <model>`` for dates after history.
        products: catalogue with ``unique_id`` and ``brand`` / ``category`` (for those levels).
        level: ``product``, or ``brand`` / ``category`` to sum products into groups first.
        forecast_col: the forecast's point column (default: its only one, else the last).
        lang: language of ``reason``: ``en`` or ``zh``.
        thresholds: a :class:`TrendThresholds`; ``overrides`` replace single fields of it,
            e.g. ``detect_trends(df, window=13, min_growth=0.3)``.

    Returns:
        One row per series (key column ``unique_id``, ``brand`` or ``category``) with
        ``trend, rank, confidence, score, reason`` and the signals of the module doc, ordered
        by class (emerging, rising, seasonal_peak_ahead, declining, steady) then rank (1 =
        highest score). ``attrs["notes"]`` lists what was assumed or missing,
        ``attrs["assumptions"]`` every threshold and setting used.

    Raises:
        DataValidationError: missing columns, bad dates or numbers, a frequency other than
            daily, weekly, monthly or quarterly, or a group level without a products frame.
        ModelError: an unknown level, language or threshold, or a threshold out of range.
    """
    th = _thresholds(thresholds, overrides)
    if lang not in ("en", "zh"):
        raise ModelError(f"lang={lang!r}: choose 'en' or 'zh'")
    if level not in ("product", "brand", "category"):
        raise ModelError(f"level={level!r}: choose product, brand or category")
    notes: list[str] = []
    has_price = level == "product" and "price" in history.columns
    frame = _at_level(history, products, level, notes, keep_price=has_price)
    panel = sig.weekly_panel(frame, price_col="price" if has_price else None)
    fc = None
    if forecast is not None:
        col = _point_column(forecast, forecast_col, notes)
        fc = _at_level(forecast, products, level, [], value_col=col)
    signals = compute_signals(panel, th, fc, notes)
    calls = classify(signals, th)
    key = "unique_id" if level == "product" else level
    table = _table(panel, signals, calls, th, key, lang)
    table.attrs["notes"] = notes + _coverage_notes(signals, level, panel.unit)
    table.attrs["assumptions"] = {
        "level": level, "lang": lang, **dataclasses.asdict(th),
        "history_end": str(panel.week_end[-1].date()),
        "weeks_end_on": panel.week_end[-1].day_name(),
        "input": ("daily" if panel.step_days == 1 else "weekly") if not panel.months
        else panel.unit + "ly",
        # monthly and quarterly sales: what the thresholds in weeks became in their periods
        **({} if not panel.months else {f"{panel.unit}s": dataclasses.asdict(signals.spans)}),
        "forecast_col": fc.attrs["value_col"] if fc is not None else None,
        "intermittent_or_short": "called steady; too_short flags series under min_weeks",
    }
    return table


def _thresholds(thresholds: TrendThresholds | None, overrides: dict[str, Any]) -> TrendThresholds:
    names = {f.name for f in dataclasses.fields(TrendThresholds)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ModelError(f"unknown trend threshold(s) {unknown}; known: {', '.join(sorted(names))}")
    return dataclasses.replace(thresholds or TrendThresholds(), **overrides)


def _point_column(forecast: pd.DataFrame, col: str | None, notes: list[str]) -> str:
    if col is not None:
        if col not in forecast.columns:
            raise DataValidationError(f"forecast has no column {col!r}; it has {list(forecast.columns)}")
        return col
    points = [c for c in forecast.columns if c not in ("unique_id", "ds", "cutoff", "y")
              and not any(tag in c for tag in ("-q-", "-lo-", "-hi-"))]
    if not points:
        raise DataValidationError(f"forecast has no point column (columns {list(forecast.columns)}); "
                                  "pass a frame with unique_id, ds and one model column")
    if len(points) > 1:
        notes.append(f"forecast: used the point column {points[-1]!r} (the last of {points}); "
                     "pass forecast_col to choose another")
    return points[-1]


def _at_level(frame: pd.DataFrame, products: pd.DataFrame | None, level: str, notes: list[str], *,
              value_col: str = "y", keep_price: bool = False) -> pd.DataFrame:
    """``unique_id, ds, y`` (and ``price``) at the requested level; groups summed per date."""
    missing = [c for c in ("unique_id", "ds", value_col) if c not in frame.columns]
    if missing:
        raise DataValidationError(f"frame has no column(s) {missing}; expected unique_id, ds, {value_col}")
    out = pd.DataFrame({"unique_id": frame["unique_id"].astype(str), "ds": frame["ds"],
                        "y": frame[value_col]})
    if keep_price:
        out["price"] = frame["price"].to_numpy()
    out.attrs["value_col"] = value_col
    if level == "product":
        return out
    if products is None or level not in products.columns or "unique_id" not in products.columns:
        raise DataValidationError(f"level={level!r} needs a products frame with unique_id and {level} "
                                  "columns (trendcast ingest products.csv --kind products)")
    catalogue = products.assign(unique_id=products["unique_id"].astype(str)).drop_duplicates("unique_id")
    mapped = out["unique_id"].map(catalogue.set_index("unique_id")[level])
    unknown = mapped.isna() | (mapped.astype(str).str.strip() == "")
    if unknown.any():
        n = out.loc[unknown, "unique_id"].nunique()
        notes.append(f"{n:,} product(s) without a {level} are summed into the group 'unknown'")
    out["unique_id"] = mapped.where(~unknown, "unknown").astype(str)
    summed = out.groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    summed.attrs["value_col"] = value_col
    return summed


def _table(panel: sig.WeeklyPanel, s: Signals, c: Calls, th: TrendThresholds, key: str,
           lang: str) -> pd.DataFrame:
    end = panel.week_end[-1]
    # a change point is dated by the first day of its week, or by its month's (quarter's) date
    week_start = panel.week_end - pd.Timedelta(days=0 if panel.months else 6)
    cp = pd.Series(week_start[np.clip(s.cp_col, 0, None)]).where(s.cp_col >= 0)
    next_peak = pd.Series([panel.shift(end, p) for p in np.nan_to_num(s.yearly.peak_in)],
                          dtype="datetime64[ns]").where(s.seasonal)
    out = pd.DataFrame({
        key: panel.ids, "trend": c.trend, "confidence": c.confidence, "score": c.score,
        "slope_pct_per_week": np.round(s.slope_pct, 3), "mk_pvalue": s.mk_p,
        "yoy_growth": np.round(s.yoy8, 4), "annual_growth": np.round(s.annual, 4),
        "yoy_pvalue": s.yoy_p, "annual_weeks": s.yoy_pairs, "price_change": np.round(s.price_change, 4),
        "change_point": cp.to_numpy(), "change_ratio": np.round(s.cp_ratio, 3),
        "seasonal": s.seasonal, "seasonality": np.round(s.yearly.r2, 3),
        "peak_ahead_ratio": np.round(s.peak_ratio, 3), "next_peak": next_peak.to_numpy(),
        "forecast_change": np.round(s.fc_change, 4), "first_sale": panel.first_sale.to_numpy(),
        "age_weeks": np.floor(s.age_weeks), "weeks": s.weeks, "level": np.round(s.level, 3),
        "basis": c.basis, "too_short": c.too_short, "forecast_disagrees": c.forecast_disagrees,
    })
    out["reason"] = reasons(out, s.spans, lang, panel.shift(end, -s.spans.per_year),
                            never_sold=s.never_sold, contradicted=c.contradicted, unit=panel.unit)
    order = out["trend"].map({k: i for i, k in enumerate(CLASSES)})
    out = out.assign(_order=order).sort_values(["_order", "score", key], ascending=[True, False, True],
                                               ignore_index=True)
    out["rank"] = out.groupby("trend").cumcount() + 1
    first = [key, "trend", "rank", "confidence", "score", "reason"]
    out = out[first + [col for col in out.columns if col not in first and col != "_order"]]
    if panel.months:  # the columns that count weeks count months (quarters): say so
        unit = panel.unit
        out = out.rename(columns={"slope_pct_per_week": f"slope_pct_per_{unit}", "weeks": f"{unit}s",
                                  "annual_weeks": f"annual_{unit}s", "age_weeks": f"age_{unit}s"})
    return out


def _coverage_notes(s: Signals, level: str, unit: str) -> list[str]:
    notes = []
    sp = s.spans
    no_yoy = int((s.weeks < sp.per_year + sp.yoy).sum())
    if no_yoy:
        notes.append(f"{no_yoy:,} series have less than a year + {UNITS[unit].count(sp.yoy, 'en')} of "
                     "history: yoy_growth is NaN and, without an earlier year to compare, calls rest on "
                     "the slope")
    short = int(((s.weeks < sp.min_len) | s.never_sold).sum())
    if short:
        notes.append(f"{short:,} series have fewer than {sp.min_len} complete {unit}s of sales (or none): "
                     "called steady with confidence 0 (too_short)")
    if level == "product" and len(s.censored) > 1 and s.censored.all():
        notes.append(f"every series starts selling in the data's first {unit}, so none can be told "
                     "apart as new (emerging needs a first sale inside the data)")
    return notes


def evaluate_against_truth(calls: pd.DataFrame, truth: pd.DataFrame, *,
                           intermittent: Literal["steady", "exclude"] = "steady") -> pd.DataFrame:
    """Precision and recall per class of product calls against known trend classes.

    Args:
        calls: output of :func:`detect_trends` at product level.
        truth: ``unique_id, trend_class`` with the simulated shop's classes (rising,
            declining, seasonal, steady, intermittent, emerging); ``seasonal`` counts as
            ``seasonal_peak_ahead`` (see ``TRUTH_TO_CALL``), whatever the timing of its peak.
        intermittent: ``steady`` (sparse sales without a trend should be called steady) or
            ``exclude`` (leave those products out).

    Returns:
        One row per call class with ``precision, recall, f1, support`` (true count),
        ``called`` and ``correct``, then ``seasonal (flag)``: truth seasonal against the
        ``seasonal`` column, a yearly pattern found whatever the timing of the peak.
    """
    for frame, cols in ((calls, ("unique_id", "trend")), (truth, ("unique_id", "trend_class"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataValidationError(f"evaluate_against_truth: missing column(s) {missing}")
    if intermittent not in ("steady", "exclude"):
        raise ModelError(f"intermittent={intermittent!r}: choose 'steady' or 'exclude'")
    unknown = sorted(set(truth["trend_class"]) - set(TRUTH_TO_CALL))
    if unknown:
        raise DataValidationError(f"unknown truth class(es) {unknown}; expected some of "
                                  f"{sorted(TRUTH_TO_CALL)}")
    merged = truth[["unique_id", "trend_class"]].merge(calls, on="unique_id", validate="1:1")
    if merged.empty:
        raise DataValidationError("calls and truth have no unique_id in common; pass product-level calls")
    if intermittent == "exclude":
        merged = merged[merged["trend_class"] != "intermittent"]
    expected = merged["trend_class"].map(TRUTH_TO_CALL)
    rows = [_scores(cls, expected == cls, merged["trend"] == cls) for cls in CLASSES]
    if "seasonal" in merged.columns:
        rows.append(_scores("seasonal (flag)", merged["trend_class"] == "seasonal",
                            merged["seasonal"].astype(bool)))
    return pd.DataFrame(rows)


def _scores(name: str, actual: pd.Series, called: pd.Series) -> dict[str, object]:
    correct = int((actual & called).sum())
    n_called, n_actual = int(called.sum()), int(actual.sum())
    precision = correct / n_called if n_called else np.nan
    recall = correct / n_actual if n_actual else np.nan
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else np.nan
    return {"trend": name, "precision": precision, "recall": recall, "f1": f1, "support": n_actual,
            "called": n_called, "correct": correct}
