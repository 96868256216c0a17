"""Trend calls use case: stored sales, products and the latest forecast run -> ranked calls."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.features.frequency import describe, infer_freq, period_days
from trendcast.insights.periods import series_in_periods
from trendcast.insights.trends import Level, detect_trends
from trendcast.services.forecast import load_series, read_run
from trendcast.services.run_choice import representative_model


def trend_calls(store: Store, *, level: Level = "product", run_id: str | None = None,
                lang: Literal["en", "zh"] = "en") -> pd.DataFrame:
    """Call every product (or brand / category) rising, declining, emerging,
    seasonal_peak_ahead or steady from the stored sales and a forecast run.

    Args:
        store: the workspace.
        level: ``product``, ``brand`` or ``category``.
        run_id: forecast run whose representative model's point forecast is used
            (:func:`trendcast.services.run_choice.representative_model`); default the latest
            run, and history alone when no forecast run is stored (the notes say so).
        lang: language of the reasons, ``en`` or ``zh``.

    Returns:
        The table of :func:`trendcast.insights.trends.detect_trends`; ``attrs["notes"]`` also
        names the forecast run and model used.

    Raises:
        NotFoundError: no sales stored, or no run ``run_id``.
    """
    history = load_series(store)
    notes = [f"{history.attrs['gaps_filled']:,} missing dates inside series counted as zero sales"
             ] if history.attrs.get("gaps_filled") else []
    given = history.attrs.get("gaps_estimated") or {}
    if given:
        notes.append(f"{sum(given.values()):,} missing date(s) of {len(given):,} series that sell every "
                     "period counted as their recent level (rows an export most likely left out)")
    returns = int((history["y"] < 0).sum())
    if returns:  # net returns (kept with --negatives keep): trends read units sold
        history = history.assign(y=history["y"].clip(lower=0))
        notes.append(f"{returns:,} negative sales (returns) counted as zero units sold")
    prices = store.sales(columns=["unique_id", "ds", "price"], priced=True)
    if not prices.empty:
        history = history.merge(prices, on=["unique_id", "ds"], how="left")
    products = store.products() if level != "product" else None
    forecast, column = None, None
    try:
        run = read_run(store, run_id, kind="forecast")
    except NotFoundError:
        if run_id is not None:
            raise
        notes.append("no forecast run stored: calls use the history only (run `trendcast forecast` "
                     "to add the forecast's view)")
    else:
        choice = representative_model(store, run.run_id)
        forecast, column = run.forecasts, choice.model
        notes.append(f"forecast run {run.run_id}, model {column} ({choice.reason})")
        history = _in_run_periods(store, run.run_id, history, notes)
    calls = detect_trends(history, forecast, products=products, level=level, forecast_col=column,
                          lang=lang)
    calls.attrs["notes"] = notes + calls.attrs.get("notes", [])
    calls.attrs["assumptions"] = {**calls.attrs.get("assumptions", {}),
                                  "forecast_run": None if forecast is None else run.run_id}
    return calls


def _in_run_periods(store: Store, run_id: str, history: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The history in the periods of a run coarser than the stored sales (``--freq M`` of
    weekly sales), so the calls and the run's forecast count the same periods."""
    row = store.run_row(run_id) or {}
    freq, own = row.get("freq"), infer_freq(history)
    if not freq or period_days(str(freq)) <= period_days(own):
        return history
    out = series_in_periods(history, str(freq))
    notes.append(f"the run forecasts {describe(str(freq))} periods: the stored {describe(own)} sales "
                 "are summed into its whole periods for the calls")
    return out


def calls_records(calls: pd.DataFrame, *, top: int | None = None) -> list[dict[str, object]]:
    """Calls as JSON-ready dicts: dates as ISO strings, NaN and inf as None; ``top`` per class."""
    if top is not None:
        calls = calls[calls["rank"] <= top]
    frame = calls.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(frame[col]):
            frame[col] = frame[col].replace([np.inf, -np.inf], np.nan)
    return json.loads(frame.to_json(orient="records", force_ascii=False))
