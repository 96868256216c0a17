"""Order-up-to levels calibrated on the workspace's stored backtests (see
``trendcast.insights.inventory_calibration``): windows of backtest runs of the same model that
end before the forecast starts, fitted per lead time and review period, applied to the current
forecast. Where that is impossible the uncalibrated negative binomial levels stay, with a note
saying why and how to enable calibration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import ModelError
from trendcast.features.frequency import describe, period_days, period_labels
from trendcast.insights.inventory_calibration import (
    RECENT_DAYS,
    VOLUME_BANDS,
    ReviewCalibration,
    Window,
    calibrated_order_up_to,
    fit_review_calibration,
    volume_band,
    window_from_frames,
)
from trendcast.services.forecast import wide_forecasts

LEVEL_STEP = 0.005  # newsvendor service levels are calibrated rounded to half a percentage point


@dataclass
class Calibrated:
    """The policy table with calibrated levels where possible, and what was done."""

    table: pd.DataFrame
    summary: dict[str, object]
    notes: list[str] = field(default_factory=list)


def _enable_hint(model: str, span: int, windows: int = 3, freq: str = "D", resample: bool = False) -> str:
    least = 28 if freq == "D" else 13
    return (f"`trendcast backtest --model {model} --windows {windows} --horizon {max(least, span)} "
            + (f"--freq {freq[0]} " if resample else "")
            + "--quantiles 0.05,0.1,0.25,0.5,0.75,0.9,0.95`")


def _backtest_windows(store: Store, model: str, *, span: int, before: pd.Timestamp,
                      last_sale: pd.Timestamp | None, refused: list[str],
                      cache: dict[str, pd.DataFrame], freq: str = "D"
                      ) -> tuple[list[tuple[pd.Timestamp, str, pd.DataFrame]], list[str]]:
    """(cutoff, run id, wide forecasts) of every usable backtest window of ``model`` at the
    forecast's frequency ``freq`` (newest run first wins a cutoff two runs share), and the
    cutoffs left out because they end on or after ``before``. Runs too short for ``span``
    periods are named in ``refused``."""
    _, runs = store.run_rows(kind="backtest")
    found: dict[pd.Timestamp, tuple[str, pd.DataFrame]] = {}
    late: list[str] = []
    for run in runs:
        if model not in run["models"] or str(run.get("freq") or "D") != freq:
            continue
        if run["horizon"] is not None and run["horizon"] < span:
            refused.append(f"{run['run_id']} (horizon {run['horizon']})")
            continue
        if run["run_id"] not in cache:
            long = store.run_forecasts(run["run_id"])
            long = long[long["model"] == model]
            ok = len(long) and long["quantile"].nunique() >= 2 and long["cutoff"].notna().any()
            cache[run["run_id"]] = wide_forecasts(long) if ok else pd.DataFrame()
        wide = cache[run["run_id"]]
        if wide.empty:
            continue
        for cutoff, part in wide.groupby("cutoff"):
            end = part["ds"].max()
            if end >= before or (last_sale is not None and end > last_sale):
                late.append(str(pd.Timestamp(cutoff).date()))
                continue
            found.setdefault(pd.Timestamp(cutoff), (run["run_id"], part))
    return [(c, r, f) for c, (r, f) in sorted(found.items())], sorted(set(late))


def _targets(levels: np.ndarray) -> np.ndarray:
    return np.round(np.round(levels / LEVEL_STEP) * LEVEL_STEP, 6)


def _usable(cal: ReviewCalibration) -> ReviewCalibration:
    """Drop the (target, band) rows with too few cases for the conformal rank (their level would
    be the tail's end, not a calibration): those bands keep the uncalibrated levels."""
    t = cal.table
    enough = np.ceil(t["target"] * (t["n_cases"] + 1)) <= t["n_cases"]
    return ReviewCalibration(span=cal.span, edges=cal.edges, table=t[enough].reset_index(drop=True))


def calibrate_levels(store: Store, table: pd.DataFrame, forecasts: pd.DataFrame, *, model: str,
                     required: bool, freq: str = "D") -> Calibrated:
    """Replace ``order_up_to`` in ``table`` (an ``inventory_policy`` result for ``forecasts``)
    with levels calibrated on the stored backtests of ``model``.

    ``freq`` is the forecast's: a weekly run is calibrated on weekly backtests, its lead time
    and review in whole weeks (the table's days over 7; other products keep their levels).

    Products whose lead time + review period no backtest covers, whose volume band has too few
    backtest cases for their service level, or whose service level is not in (0, 1) keep the
    uncalibrated level; ``policy`` says which each row got. With ``required`` a workspace
    where nothing can be calibrated is an error rather than a note.
    """
    out = table.copy()
    order_up_to = out["order_up_to"].to_numpy(float).copy()
    policy = np.full(len(out), "nbinom", dtype=object)
    first_fc = pd.Timestamp(forecasts["ds"].min())
    step = 1 if freq == "D" else int(period_days(freq))
    offset = pd.tseries.frequencies.to_offset(freq)
    cutoff_now = first_fc - offset
    resample = freq != "D" and str(store.meta("freq") or "D") != freq
    span_info = store.sales_span()
    last_sale = pd.Timestamp(span_info[1]) if span_info else None
    notes: list[str] = []
    summary: dict[str, object] = {"method": "nbinom (uncalibrated)", "windows": [], "cases": 0}
    lead = out["lead_time_days"].to_numpy(int)
    review = out["review_days"].to_numpy(int)
    sl = out["service_level"].to_numpy(float)
    targets = _targets(sl)
    groups = sorted(set(zip(lead.tolist(), review.tolist(), strict=True)))
    ids = out["unique_id"].astype(str).to_numpy()
    sales: pd.DataFrame | None = None
    sales_from = pd.Timestamp.max
    fc = forecasts.sort_values(["unique_id", "ds"])
    coverage_rows: list[pd.DataFrame] = []
    used_windows: set[str] = set()
    cache: dict[str, pd.DataFrame] = {}
    for lt_days, rv_days in groups:
        rows = np.flatnonzero((lead == lt_days) & (review == rv_days))
        where = f" for lead time {lt_days} + review {rv_days} days" if len(groups) > 1 else ""
        if lt_days % step or rv_days % step:
            notes.append(f"order-up-to levels{where or f' (lead time {lt_days} + review {rv_days} days)'} "
                         f"are uncalibrated: a {describe(freq)} run is calibrated when lead time and "
                         f"review are whole periods of {step} days")
            continue
        lt, rv = lt_days // step, rv_days // step
        span = lt + rv
        refused: list[str] = []
        windows_src, late = _backtest_windows(store, model, span=span, before=first_fc,
                                              last_sale=last_sale, refused=refused, cache=cache,
                                              freq=freq)
        if not windows_src:
            if refused:
                why = (f"backtest run(s) {', '.join(refused)} are shorter than lead time + review = "
                       f"{span} {'days' if step == 1 else 'periods'} and cannot calibrate")
            elif late:
                why = (f"every backtest window of {model} ends on or after the forecast's first day "
                       f"{first_fc.date()} (cutoffs {', '.join(late)}), so none can be used")
            else:
                why = (f"no backtest of {model} with quantiles is stored" if step == 1 else
                       f"no {describe(freq)} backtest of {model} with quantiles is stored")
            notes.append(f"order-up-to levels{where} are uncalibrated (negative binomial of the "
                         f"forecast): {why}; to calibrate them on past forecast errors, run "
                         f"{_enable_hint(model, span, freq=freq, resample=resample)} and rerun inventory")
            continue
        if late:
            notes.append(f"backtest cutoff(s) {', '.join(late)} left out of the calibration: their "
                         f"windows end on or after the forecast's first day {first_fc.date()}")
        # only the days the windows and the current recent rate read
        start = min(c for c, _, _ in windows_src) - pd.Timedelta(days=RECENT_DAYS + step)
        if sales is None or start < sales_from:
            sales = store.sales(columns=["unique_id", "ds", "y"], start=start,
                                end=cutoff_now + pd.Timedelta(days=step - 1))
            if resample:  # daily sales of a weekly run: summed into its periods
                sales = (sales.assign(ds=period_labels(sales["ds"], freq).to_numpy())
                         .groupby(["unique_id", "ds"], as_index=False)["y"].sum())
            sales_from = start
        windows: list[Window] = []
        for cutoff, _, part in windows_src:
            # the window's full horizon: a series that ended inside it gives no case, and does
            # not cut every other series' window short
            full = int(part[part["ds"] > cutoff].groupby("unique_id").size().max())
            w, _ = window_from_frames(part, model, sales, cutoff=cutoff, freq=freq, days=full)
            if w.mean.shape[1] >= span and len(w.mean):
                windows.append(w)
                used_windows.add(str(cutoff.date()))
        level_ok = (sl[rows] > 0) & (sl[rows] < 1)
        want = sorted(set(targets[rows][level_ok & (targets[rows] > 0) & (targets[rows] < 1)]))
        if not windows or not want:
            continue
        edges = VOLUME_BANDS if step == 1 else tuple(e * step for e in VOLUME_BANDS)  # per period
        cal = _usable(fit_review_calibration(windows, targets=want, lead=lt, review=rv, edges=edges))
        if cal.table.empty:
            need = max(int(np.ceil(t / (1 - t))) for t in want)
            notes.append(f"order-up-to levels{where} are uncalibrated: {len(windows)} backtest "
                         f"window(s) of {model} give too few review cases per sales-volume band for "
                         f"service level(s) {', '.join(f'{t:g}' for t in want)} (up to {need} per "
                         f"band needed); run {_enable_hint(model, span, 8, freq, resample)}"
                         " for more cases")
            continue
        now, now_ids = window_from_frames(fc[fc["unique_id"].isin(ids[rows])], model, sales,
                                          cutoff=cutoff_now, days=span, with_actual=False, freq=freq)
        band = volume_band(now.recent_rate, cal.edges)
        position = pd.Series(np.arange(len(now_ids)), index=now_ids)
        for t in want:
            fitted = cal.table[np.isclose(cal.table["target"], t)]
            if fitted.empty:
                continue
            levels = calibrated_order_up_to(cal, now, target=t, starts=[0])[:, 0]
            sel = rows[np.isclose(targets[rows], t) & level_ok]
            pos = position.reindex(ids[sel]).to_numpy()
            known = ~np.isnan(pos)
            sel, pos = sel[known], pos[known].astype(int)
            ok = np.isin(band[pos], fitted["band"].to_numpy())  # bands with enough cases
            order_up_to[sel[ok]] = levels[pos[ok]]
            policy[sel[ok]] = "calibrated"
            coverage_rows.append(fitted.assign(lead=lt, review=rv))
    out["order_up_to"], out["policy"] = order_up_to, policy
    calibrated = out["policy"] == "calibrated"
    if coverage_rows:
        fitted = pd.concat(coverage_rows, ignore_index=True)
        cases = int(fitted.drop_duplicates(["lead", "review", "band"])["n_cases"].sum())
        weight = fitted["n_cases"] / fitted["n_cases"].sum()
        summary = {"method": "calibrated on backtests", "windows": sorted(used_windows),
                   "cases": cases, "products_calibrated": int(calibrated.sum()),
                   "coverage": round(float((fitted["coverage"] * weight).sum()), 4),
                   "uncalibrated_coverage": round(float((fitted["raw_coverage"] * weight).sum()), 4),
                   "target": round(float((fitted["target"] * weight).sum()), 4)}
        aim = "a target of" if fitted["target"].nunique() == 1 else "targets averaging"
        notes.append(
            f"order-up-to levels of {int(calibrated.sum())} of {len(out)} products calibrated on "
            f"{len(used_windows)} backtest window(s) of {model} (cutoffs {', '.join(sorted(used_windows))}; "
            f"{cases} review cases): on those cases they cover {summary['coverage']:.1%} of review "
            f"cycles without a stock-out for {aim} {summary['target']:.1%} (the uncalibrated "
            f"forecast {summary['uncalibrated_coverage']:.1%}); fitted and checked on the same "
            "cases, so a little optimistic")
        rest = int((~calibrated).sum())
        if rest:
            notes.append(f"{rest} product(s) keep uncalibrated levels (policy 'nbinom'): too few "
                         "backtest cases in their sales-volume band for their service level, or a "
                         "service level outside (0, 1)")
    elif required:
        why = "; ".join(notes) or ("the backtests have too few review cases for the products' "
                                   "sales-volume bands and service levels")
        raise ModelError(f"cannot calibrate the order-up-to levels: {why}")
    if calibrated.any():
        s = out["order_up_to"].to_numpy(float)
        out["safety_stock"] = s - out["demand_mean"].to_numpy(float)
        pos = out["inventory_position"].to_numpy(float)
        out["order_qty"] = np.where(np.isnan(pos), np.nan, np.maximum(s - np.nan_to_num(pos), 0.0))
    out.attrs = dict(table.attrs)
    return Calibrated(out, summary, notes)

