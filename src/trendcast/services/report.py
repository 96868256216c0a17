"""Report use case: the trend report of the latest (or a given) forecast run, as HTML and PDF.

Each optional section (trends, sentiment alerts, inventory, explanations) is computed from
the workspace; when one cannot be (no reviews, no quantiles, ...) the report says why in that
section and in its notes, and the others still render.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError, TrendcastError
from trendcast.insights.periods import stored_periods
from trendcast.insights.report import ReportSections, top_products, write_report
from trendcast.services.forecast import load_series, read_run
from trendcast.services.run_choice import representative_model

Progress = Callable[[str, int, int], None]


def build_report(store: Store, out_dir: str | Path, *, run_id: str | None = None,
                 lang: str = "en", model: str | None = None, n_products: int = 6,
                 pdf: bool = False, explain: int = 3, alerts_source: str = "auto",
                 progress: Progress | None = None, browser: str | None = None) -> Path:
    """Write report.html (and report.pdf with ``pdf``) for a forecast run; returns the HTML path.

    Args:
        store: the workspace.
        out_dir: folder for the files.
        run_id: forecast run (default the latest).
        lang: ``en`` or ``zh``.
        model: model of the run to chart (default the run's representative model,
            :func:`trendcast.services.run_choice.representative_model`).
        n_products: fan charts for this many best sellers.
        pdf: also print the page to PDF with a headless Chromium.
        explain: explain the forecasts of this many top sellers (0: none).
        alerts_source: ``auto`` (stars when most reviews have them, else the text), ``model``
            (review text through the sentiment model), ``rating`` (stars) or ``off``.
        progress: ``(label, done, total)`` callback.
        browser: the Chromium that prints the PDF (``Settings.chromium``; default: the PATH's).
    """
    tick = progress or (lambda label, done, total: None)
    steps = 6 + int(pdf)
    tick("reading the run", 0, steps)
    run = read_run(store, run_id, kind="forecast")
    choice = representative_model(store, run.run_id)
    notes = list(run.notes)
    if model is None:
        model = choice.model
        notes.append(f"model shown: {choice.reason} (--model to show another)")
    elif model not in run.models:
        raise NotFoundError(f"run {run.run_id} has no model {model!r}; it has {run.models}")
    else:
        notes.append(f"model shown: {model}, as asked; the run's own choice is {choice.reason}")
    meta = store.run_row(run.run_id)
    assert meta is not None
    quantiles = meta["quantiles"]
    ids = sorted(run.forecasts["unique_id"].unique())
    history = load_series(store, ids)
    # the leaderboard of the backtest behind the choice; it always has a row for the shown model
    board = None if choice.leaderboard is None else _with_model(choice.leaderboard, model)
    if board is not None and choice.backtest_id:
        notes.append(f"leaderboard: backtest {choice.backtest_id}; a model with no metrics there was "
                     "not backtested")
    products = store.products()
    sections = ReportSections()

    tick("trend calls", 1, steps)
    _trends(store, run.run_id, lang, sections, notes)
    tick("sentiment alerts", 2, steps)
    _alerts(store, alerts_source, sections, notes)
    tick("inventory actions", 3, steps)
    _inventory(store, run.run_id, model, sections, notes)
    _accuracy(store, model, sections)
    _scenario(meta, model, sections)
    tick("explanations", 4, steps)
    if explain > 0:
        # the run's first week (or its whole horizon when shorter), in the stored periods the
        # explanation refits on (a --freq W run's 2 weeks are 14 days of a daily shop)
        periods = min(7, stored_periods(int(meta.get("horizon") or 7), meta.get("freq"),
                                        str(store.meta("freq") or "D")))
        _explanations(store, top_products(history, explain, meta.get("freq") or None), model,
                      sections, notes, periods)
    else:
        sections.missing["explanations"] = "not requested"
    tick("writing the report", 5, steps)
    path = write_report(out_dir, history=history, forecast=run.forecasts, model=model,
                        quantiles=quantiles, run_id=run.run_id, products=products,
                        leaderboard=board, notes=notes, lang=lang, n_products=n_products,
                        sections=sections, freq=meta.get("freq") or "D")
    if pdf:
        from trendcast.insights.pdf import html_to_pdf

        tick("printing the PDF", 6, steps)
        html_to_pdf(path, browser=browser)
    tick("done", steps, steps)
    return path


def _scenario(meta: dict, model: str, sections: ReportSections) -> None:
    """The run's what-if plan beside its baseline, for the shown model when the plan changes it
    (else the first model it changes); nothing when the run has no plan."""
    from trendcast.insights.scenario import interval_levels

    params = meta.get("params") or {}
    sc = params.get("scenario") if isinstance(params, dict) else None
    if not sc:
        return
    table = pd.DataFrame(sc["compare"])
    shown = model if model in sc["models"] else sc["models"][0]
    level = interval_levels(meta["quantiles"] or [])
    sections.scenario = table[table["model"] == shown].reset_index(drop=True)
    sections.scenario_info = {"model": shown, "h": meta["horizon"], "source": f"`{sc['source']}`",
                              "level": f"{level[1] - level[0]:.0%}" if level else "–"}


def _with_model(board: pd.DataFrame, model: str) -> pd.DataFrame:
    if model in set(board["model"]):
        return board
    return pd.concat([board, pd.DataFrame({"model": [model]})], ignore_index=True)


def _trends(store: Store, run_id: str, lang: str, sections: ReportSections, notes: list[str]) -> None:
    from trendcast.services.trends import trend_calls

    try:
        sections.trends = trend_calls(store, level="product", run_id=run_id, lang=lang)  # type: ignore[arg-type]
    except TrendcastError as exc:  # monthly sales: trend calls read days or weeks; the rest stands
        sections.missing["trends"] = sections.missing["category_trends"] = str(exc)
        return
    notes.extend(sections.trends.attrs.get("notes", []))
    products = store.products(columns=["unique_id", "category"])
    if products["category"].notna().any():
        sections.category_trends = trend_calls(store, level="category", run_id=run_id, lang=lang)  # type: ignore[arg-type]
    else:
        sections.missing["category_trends"] = "the products have no category"


def _alerts(store: Store, source: str, sections: ReportSections, notes: list[str]) -> None:
    if source == "off":
        sections.missing["alerts"] = "not requested"
        return
    if store.count("reviews") == 0:
        sections.missing["alerts"] = "the workspace has no reviews (trendcast ingest FILE --kind reviews)"
        return
    from trendcast.services.sentiment import sentiment_alerts

    result = sentiment_alerts(store, source=source)  # type: ignore[arg-type]
    sections.alerts = result.alerts
    notes.extend(result.notes)


def _inventory(store: Store, run_id: str, model: str, sections: ReportSections, notes: list[str]) -> None:
    from trendcast.services.inventory import inventory_actions

    try:
        result = inventory_actions(store, run_id=run_id, model=model)
    except TrendcastError as exc:  # e.g. a run without quantiles: say so in the section
        sections.missing["inventory"] = str(exc)
        return
    sections.inventory = result.table
    notes.extend(result.notes)
    lead, review = result.assumptions.get("lead_time_days"), result.assumptions.get("review_days")
    notes.append(f"inventory: lead time {lead} days and review period {review} days unless a stock "
                 "file gives others (trendcast inventory --stock FILE)")


def _accuracy(store: Store, model: str, sections: ReportSections) -> None:
    """Live accuracy per category and drift alerts of ``model`` (else the model with the most
    scored days). Reads the stored scores only (the report never writes): nothing scored yet
    leaves the section to say so in one sentence."""
    from trendcast.services.monitor import accuracy, drift_alerts

    try:
        board = accuracy(store, level="category", score=False)
        if board.empty:
            return
        counts = board.groupby("model")["n"].sum().sort_values(ascending=False, kind="stable")
        chosen = model if model in counts.index else str(counts.index[0])
        sections.accuracy = board[board["model"] == chosen].reset_index(drop=True)
        sections.accuracy_model = chosen
        sections.accuracy_freq = str(store.meta("freq") or "D")
        sections.drift = drift_alerts(store, model=chosen, score=False)
    except TrendcastError as exc:
        sections.missing["accuracy"] = str(exc)


def _explanations(store: Store, ids: list[str], model: str, sections: ReportSections,
                  notes: list[str], periods: int = 7) -> None:
    from trendcast.services.explain import explain_many

    base = model.split("(")[0]
    try:
        sections.explanations = explain_many(store, ids, model=base, days=periods)
    except TrendcastError as exc:
        sections.missing["explanations"] = str(exc)
        return
    # an explanation refits the run's model: the notes the run already printed (prices held,
    # drivers lagged, returns clipped) are not repeated once per product
    printed = set(notes)
    for ex in sections.explanations:
        notes.extend(f"{ex.unique_id}: {n}" for n in ex.notes if n not in printed)
