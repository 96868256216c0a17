"""Accuracy monitoring and drift alerts over stored forecasts (``trendcast monitor``).

``score_pending`` scores every stored forecast run whose actuals have arrived and that is
not scored yet (``update`` calls it after each ingest; ``monitor`` and the API call it
lazily), storing one row per model, series and date in ``forecast_scores``. ``accuracy``
pools the scores (:mod:`trendcast.evaluation.monitor`) per run and model, horizon step,
product, category or week, next to what the backtest expected. ``drift_alerts`` runs the
tests of :mod:`trendcast.insights.drift` per product (sales errors and complaints: low-rated
reviews, one likelihood-ratio scale) and category (a CUSUM on sales errors).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.evaluation.monitor import freshest, score_rows, summarise
from trendcast.features.frequency import (
    covered_until,
    default_season_length,
    period_days,
    period_labels,
    week_start_offset,
)
from trendcast.features.series import fill_series, left_out_history_start, resample_sales
from trendcast.insights.drift import (
    ALERT_COLUMNS,
    DriftOptions,
    complaint_expectation,
    detect,
    standardised_errors,
)
from trendcast.services.open_periods import week_label_of

LEVELS = {"run": ["origin", "run_id", "model"], "step": ["model", "step"],
          "product": ["model", "unique_id"], "category": ["model", "category"],
          "week": ["model", "week"], "category-week": ["model", "category", "week"],
          "period": ["model", "period"], "category-period": ["model", "category", "period"]}


def score_pending(store: Store, *, history_days: int = 365) -> int:
    """Score the stored forecasts whose actuals have arrived, and again those whose actuals
    were corrected since (of the last ``history_days``); returns the rows scored. A date a
    series has no row for that is most likely a row an export left out (:func:`_left_out`) is
    stored without an actual and scored when the row arrives."""
    span = store.sales_span()
    if span is None or store.read_only:
        return 0
    last = pd.Timestamp(span[1])
    stored_freq = store.meta("freq")
    # a day whose sales were corrected after it was scored is scored again
    store.drop_stale_scores(since=last - pd.Timedelta(days=history_days), freq=stored_freq)
    _settle_waiting(store, last, str(stored_freq or "D"), since=last - pd.Timedelta(days=history_days))
    total = 0
    for run in store.forecast_runs_to_score():
        meta = store.run_row(run["run_id"]) or {}
        long = store.run_forecasts(run["run_id"])
        long = long[long["cutoff"].isna()]
        if long.empty:
            continue
        ids = sorted(long["unique_id"].astype(str).unique())
        first = pd.Timestamp(long["ds"].min())
        freq = str(meta.get("freq") or stored_freq or "D")
        coarse = stored_freq is not None and freq != stored_freq  # a run at a coarser level
        offset = pd.tseries.frequencies.to_offset(freq)
        origin = first - offset
        # the stored days the run's periods cover (a start-labelled period begins at its label)
        start = first if not coarse else min(first, origin + pd.Timedelta(days=1))
        actuals = store.sales(ids, columns=["unique_id", "ds", "y"], start=start, end=last)
        # the MASE scale's history: a year of a daily shop; three seasons of a coarser one (a
        # weekly, monthly or quarterly year holds one season, too few for a seasonal difference)
        season = default_season_length(freq)
        back = max(history_days, int(np.ceil(period_days(freq) * (3 * season + 1))))
        history = store.sales(ids, columns=["unique_id", "ds", "y"],
                              start=origin - pd.Timedelta(days=back), end=origin)
        until = last
        # periods without a row that a forecast reads as the series' level wait for the row
        waiting = frozenset() if coarse else _left_out(store, history, actuals, freq, last)
        if coarse:
            label = week_label_of(store)
            weeks = week_start_offset(stored_freq, label)
            actuals = resample_sales(actuals, freq, week_start=weeks) if len(actuals) else actuals
            history = resample_sales(history, freq, week_start=weeks) if len(history) else history
            until = complete_until(covered_until(last, stored_freq, label, target=freq), freq)
        if len(history):
            history = fill_series(history, freq)
        rows = score_rows(long, actuals, history, run_id=run["run_id"], season_length=season,
                          last_date=until, step=offset, waiting=waiting)
        rows["scored_at"] = pd.Timestamp.now()
        known = rows["y"].notna()
        total += store.save_scores(rows[known])
        store.save_scores(rows[~known])  # stored without an actual, scored once the row arrives
    return total


def waiting_note(store: Store, waiting: int | None = None) -> str | None:
    """The note on forecast dates waiting for a left-out row (None without any); ``waiting``:
    their number, when the caller has counted them."""
    waiting = store.waiting_scores() if waiting is None else waiting
    if not waiting:
        return None
    return (f"{waiting:,} product-date(s) the forecasts cover have no row though the product sold "
            "in every period before and the rest of the shop reported: most likely left out of an "
            "export, they are not scored until their rows arrive")


def _left_out(store: Store, history: pd.DataFrame, actuals: pd.DataFrame, freq: str,
              last: pd.Timestamp) -> frozenset[tuple[str, pd.Timestamp]]:
    """``(unique_id, ds)`` up to ``last`` that a series has no row for though it sold in every
    period of the season before and the rest of the shop reported (read by a forecast as its
    recent level, :func:`trendcast.features.series.fill_series`): most likely a row an export
    left out, so no actual to score yet; a zero once the run without rows grows too long."""
    start = left_out_history_start(pd.Timestamp(actuals["ds"].min() if len(actuals) else last), freq)
    recent = pd.concat([history[pd.to_datetime(history["ds"]) >= start], actuals], ignore_index=True)
    return _read_as_level(store, recent, freq, start, last)


def _read_as_level(store: Store, recent: pd.DataFrame, freq: str, start: pd.Timestamp,
                   last: pd.Timestamp) -> frozenset[tuple[str, pd.Timestamp]]:
    """``(unique_id, ds)`` of the periods up to ``last`` a forecast reads as the series' level
    (:func:`trendcast.features.series.fill_series`), from ``recent`` sales since ``start``."""
    if recent.empty:
        return frozenset()
    recent = recent.assign(unique_id=recent["unique_id"].astype(str), ds=pd.to_datetime(recent["ds"]))
    recent = recent.drop_duplicates(["unique_id", "ds"])
    filled = fill_series(recent, freq, end=last, catalogue_rows=store.rows_per_date(since=start))
    return frozenset((str(u), pd.Timestamp(d)) for u, d in filled.attrs["estimated_at"])


def _settle_waiting(store: Store, last: pd.Timestamp, freq: str, since: pd.Timestamp) -> None:
    """Score again the waiting dates that are no longer read as a left-out row: the product
    has gone too long without a row (it may have stopped selling: zero sales)."""
    keys = store.waiting_keys(since=since)
    if keys.empty:
        return
    start = left_out_history_start(keys["ds"].min(), freq)
    recent = store.sales(sorted(keys["unique_id"].unique()), columns=["unique_id", "ds", "y"], start=start)
    still = _read_as_level(store, recent, freq, start, last)
    settled = [(u, d) for u, d in zip(keys["unique_id"], keys["ds"], strict=True) if (u, d) not in still]
    if settled:
        store.drop_waiting(settled)


def complete_until(last: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The label of the last ``freq`` period whose days all lie on or before ``last`` (the
    last stored day): a period that is still running is not scored yet."""
    days = pd.Series(pd.date_range(last - pd.Timedelta(days=400), last + pd.Timedelta(days=1)))
    labels = period_labels(days, freq)
    if labels.iloc[-1] != labels.iloc[-2]:  # ``last`` ends its period
        return pd.Timestamp(labels.iloc[-2])
    running = labels.iloc[-2]
    return pd.Timestamp(labels[labels != running].iloc[-1])


def _with_periods(scores: pd.DataFrame, freq: str) -> pd.DataFrame:
    """``week``: the calendar week (its Monday) of each scored date; ``period``: its period of
    ``freq`` (the workspace's), dated as the workspace dates them, so a monthly shop's scores
    pool per month rather than per the week its month's first day falls in."""
    ds = pd.to_datetime(scores["ds"])
    return scores.assign(week=ds.dt.to_period("W-SUN").dt.start_time,
                         period=period_labels(ds, freq).to_numpy())


def accuracy(store: Store, *, level: str = "run", model: str | None = None,
             ids: Sequence[str] | None = None, score: bool = True) -> pd.DataFrame:
    """Live accuracy pooled per ``level`` (run, step, product, category, week,
    category-week, period, category-period: ``period`` is the workspace's own, a month of a
    monthly shop), with the backtest's expectation (``expected_WAPE``, ``expected_MASE``) of
    each model from the latest backtest before the forecast."""
    if level not in LEVELS:
        raise NotFoundError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if score:
        score_pending(store)
    scores = store.scores(ids=ids)
    if model is not None:
        scores = scores[scores["model"] == model]
    if len(scores):
        scores = _with_periods(scores, str(store.meta("freq") or "D"))
    else:
        empty = pd.Series(dtype="datetime64[ns]")
        scores = scores.assign(week=empty, period=empty)
    board = summarise(scores, LEVELS[level])
    expected = expectations(store)
    if len(board) and len(expected):
        board = board.merge(expected, on="model", how="left")
    else:
        board = board.assign(expected_WAPE=np.nan, expected_MASE=np.nan)
    return board


def expectations(store: Store) -> pd.DataFrame:
    """Per model, the WAPE and MASE of its latest backtest (a version's validation window
    or a `trendcast backtest` run): ``model, expected_WAPE, expected_MASE``."""
    _, runs = store.run_rows(kind="backtest", limit=20)
    seen: dict[str, dict[str, Any]] = {}
    for run in runs:  # newest first
        metrics = store.run_metrics(run["run_id"])
        for name, part in metrics.groupby("model"):
            if name in seen:
                continue
            values = part.set_index("metric")["value"]
            seen[str(name)] = {"model": str(name), "expected_WAPE": values.get("WAPE", np.nan),
                               "expected_MASE": values.get("MASE", np.nan)}
    return pd.DataFrame(list(seen.values()), columns=["model", "expected_WAPE", "expected_MASE"])


def series_expectations(store: Store, model: str) -> tuple[pd.Series | None, float]:
    """Each series' validation MASE for ``model`` (the promoted version's validation run, else
    the latest backtest) and the model's overall MASE as the fallback."""
    run_id = None
    with contextlib.suppress(NotFoundError):
        run_id = store.model_version(None).get("validation_run")
    if run_id is None:
        latest = store.latest_run_row("backtest")
        run_id = latest["run_id"] if latest else None
    if run_id is None:
        return None, 1.0
    metrics = store.run_metrics(run_id, overall=False)
    mine = metrics[(metrics["model"] == model) & (metrics["metric"] == "MASE")]
    overall = mine[mine["unique_id"].isna()]["value"]
    per = mine[mine["unique_id"].notna()].set_index("unique_id")["value"]
    fallback = float(overall.iloc[0]) if len(overall) and np.isfinite(overall.iloc[0]) else 1.0
    return (per if len(per) else None), fallback


FESTIVAL_KINDS = ("festival", "presale")
AFTER_FESTIVAL_DAYS = 7  # a state-space model carries a festival's error for about a week


def festival_days(store: Store, *, after: int = AFTER_FESTIVAL_DAYS) -> pd.DatetimeIndex:
    """Days of the stored calendar's festivals and pre-sales and the ``after`` days that
    follow each: the days the sales-error test skips."""
    cal = store.calendar()
    if cal.empty or "kind" not in cal:
        return pd.DatetimeIndex([])
    days = pd.to_datetime(cal.loc[cal["kind"].astype(str).str.lower().isin(FESTIVAL_KINDS), "ds"])
    return pd.DatetimeIndex(sorted({d + pd.Timedelta(days=k) for d in days.unique()
                                    for k in range(after + 1)}))


def complaint_counts(store: Store, *, max_rating: float = 2.0) -> pd.DataFrame:
    """Complaints per product and day: ``unique_id, ds, complaints``, the reviews rated at most
    ``max_rating`` stars plus, for reviews without a rating, those the packaged sentiment
    model reads as negative."""
    days = store.review_days(max_rating=max_rating)
    cols = ["unique_id", "ds", "complaints"]
    if days.empty:
        return pd.DataFrame(columns=cols)
    out = days.assign(ds=pd.to_datetime(days["ds"]), complaints=days["low"].astype(float))[cols]
    if float(days["unrated"].sum()) > 0:
        from trendcast.services.sentiment import negative_texts

        unrated = store.unrated_reviews()
        if len(unrated):
            neg = unrated.assign(ds=pd.to_datetime(unrated["ts"]).dt.tz_localize(None).dt.normalize(),
                                 complaints=negative_texts(unrated["text"].astype(str)).astype(float))
            out = pd.concat([out, neg[cols]]).groupby(["unique_id", "ds"], as_index=False)["complaints"].sum()
    return out


def drift_alerts(store: Store, *, model: str | None = None, level: str = "both",
                 since: Any = None, options: DriftOptions | None = None,
                 score: bool = True, complaints: bool = True, skip_festivals: bool = True) -> pd.DataFrame:
    """Drift alerts per product and/or category (``level``: product, category, both) for
    ``model`` (default: the first model of the latest forecast run): ``model`` and
    :data:`trendcast.insights.drift.ALERT_COLUMNS`. Product alerts also weigh the
    ``complaints`` (low-rated reviews) when the workspace has reviews; ``skip_festivals``: the
    sales-error test skips the calendar's festivals, pre-sales and the week after each."""
    options = options or DriftOptions()
    if score:
        score_pending(store)
    scores = store.scores()
    if scores.empty:
        return pd.DataFrame(columns=["model", *ALERT_COLUMNS])
    if model is None:
        latest = store.latest_run_row("forecast")
        models = latest["models"] if latest else []
        model = models[0] if models and models[0] in set(scores["model"]) else str(scores["model"].iloc[-1])
    mine = freshest(scores[scores["model"] == model])
    expected, fallback = series_expectations(store, model)
    errors = standardised_errors(mine, expected, fallback)
    errors["category"] = mine["category"].to_numpy()
    errors["ds"] = pd.to_datetime(errors["ds"])
    errors["skip"] = errors["ds"].isin(festival_days(store)) if skip_festivals else False
    parts = []
    if level in ("product", "both"):
        found = _complaints(store, errors, options) if complaints else None
        parts.append(detect(errors, level="product", options=options, since=since, complaints=found))
    if level in ("category", "both"):
        parts.append(detect(errors, level="category", options=options, since=since))
    kept = [p for p in parts if len(p)]
    out = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=ALERT_COLUMNS)
    out.insert(0, "model", model)
    return out


def _complaints(store: Store, errors: pd.DataFrame, options: DriftOptions,
                baseline_days: int = 365) -> pd.DataFrame | None:
    """Complaints and their expectation over the monitored days (from the first scored day),
    the baseline being the ``baseline_days`` before it; None when there are no reviews."""
    counts = complaint_counts(store)
    if counts.empty:
        return None
    start, end = errors["ds"].min(), errors["ds"].max()
    ids = sorted(errors["unique_id"].unique())
    sales = store.sales(ids, columns=["unique_id", "ds", "y"], start=start - pd.Timedelta(days=baseline_days),
                        end=end)
    found = complaint_expectation(counts[counts["unique_id"].isin(set(ids))], sales, start=start, end=end,
                                  prior=options.prior)
    first = errors.groupby("unique_id")["ds"].min()
    return found[found["ds"] >= found["unique_id"].map(first)]


def drift_line(alert: dict[str, Any]) -> str:
    """One alert of :func:`drift_alerts` in words: level, name, which signal, start, size."""
    head = (f"drift ({alert['signal']}): {alert['level']} {alert['name']} ({alert['model']}) since "
            f"{pd.Timestamp(alert['started']):%Y-%m-%d}, detected {pd.Timestamp(alert['detected']):%Y-%m-%d}")
    parts = []
    if np.isfinite(alert["size"]):
        side = "above" if alert["direction"] == "up" else "below"
        parts.append(f"sales {side} forecast by {abs(alert['size']):.1f} expected errors a day, "
                     f"errors {alert['ratio']:.1f}x the backtest's")
    if "complaints" in alert["signal"]:
        parts.append(f"{alert['complaints']:.0f} low-rated review(s) where "
                     f"{alert['expected_complaints']:.1f} were expected")
    return head + ": " + "; ".join(parts)
