"""HTML bodies of the core pages (overview, product, leaderboard, upload, forecast, login)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from markupsafe import Markup

from trendcast.dashboard import charts, queries
from trendcast.dashboard.i18n import tr
from trendcast.dashboard.layout import Column, error_box
from trendcast.dashboard.templating import fmt_number, macro, render
from trendcast.dashboard.upload_form import upload_form
from trendcast.data.store import Store
from trendcast.features.frequency import default_horizon, is_coarser
from trendcast.insights.periods import change, unit_of
from trendcast.services import browse

FORM_MODELS = ("SeasonalNaive", "SeasonalWindowAverage", "AutoETS", "AutoTheta", "CrostonOptimized",
               "LightGBM", "auto")
DEFAULT_FORM_MODELS = ("SeasonalNaive",)


def product_link(uid: object) -> Markup:
    """A link to the product's page (a table cell)."""
    return macro("product_link")(uid)


def _share(recent: float, before: float) -> float | None:
    """Relative change, None when there is nothing before to compare with (no units, or a
    history shorter than the window)."""
    share = change(recent, before)
    return None if share != share else share


def _metric(col: str) -> Callable[[dict], str]:
    """A leaderboard cell: the metric with three decimals."""
    return lambda r: fmt_number(r[col], 3)


def login_body(lang: str, *, next_url: str, error: str | None = None) -> Markup:
    return render("login.html.j2", lang=lang, next_url=next_url, error=error)


def no_sales_body(lang: str) -> Markup:
    return render("no_sales.html.j2", lang=lang)


def overview_body(store: Store, lang: str) -> Markup:
    if not queries.has_sales(store):
        return no_sales_body(lang)
    ov = queries.overview(store)
    run_id = queries.latest_run_id(store, "forecast")
    fc_model, fc_totals = (queries.forecast_totals(store, run_id) if run_id else (None, None))
    # a --freq run's summed forecast is set against the history summed into its periods
    freq = (browse.get_run(store, run_id).freq if run_id else None) or ov.window.freq
    if not is_coarser(freq, ov.window.freq):
        freq = ov.window.freq
    totals = queries.in_run_periods(ov.totals, freq, ov.window.freq)
    fig = charts.totals_chart(totals, lang, forecast=fc_totals, model=fc_model, freq=freq)
    movers = ov.movers.to_dict(orient="records")
    change = macro("units_and_change")
    words = ov.window.words(lang)  # the recent window: last 28 days, 4 weeks, month, quarter
    cols = [
        Column(tr(lang, "col_product"), lambda r: product_link(r["unique_id"])),
        Column(tr(lang, "col_title"), lambda r: r["title"]),
        Column(tr(lang, "col_category"), lambda r: r["category"]),
        Column(tr(lang, "col_recent", **words), lambda r: fmt_number(r["recent"]), numeric=True),
        Column(tr(lang, "col_before_year" if ov.movers_basis == "year" else "col_before", **words),
               lambda r: fmt_number(r["before"]), numeric=True),
        Column(tr(lang, "col_change"), numeric=True,
               cell=lambda r: change(fmt_number(r["change"]), _share(r["recent"], r["before"]))),
    ]
    from trendcast.dashboard.accuracy_page import update_warning  # (it imports this module)

    return render("overview.html.j2", lang=lang, ov=ov, change=_share(ov.units_recent, ov.units_before),
                  run_id=run_id, figure=fig, columns=cols, update_warning=update_warning(store, lang),
                  units_label=tr(lang, "kpi_units_recent", **words),
                  change_label=tr(lang, "kpi_change", **words),
                  totals_title=tr(lang, "sales_totals_" + ov.window.unit.en),
                  movers_title=tr(lang, "top_movers_year" if ov.movers_basis == "year" else "top_movers",
                                  **words),
                  up=[r for r in movers if r["direction"] == "up"],
                  down=[r for r in movers if r["direction"] == "down"])


def product_body(view: queries.ProductView, lang: str, *, model: str | None = None,
                 drivers_html: str = "") -> Markup:
    """One product: facts, history and forecast, ``drivers_html`` (Markup) and reviews."""
    info = {k: (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
            for k, v in view.info.items()}
    facts = tr(lang, "product_facts", category=info.get("category") or "—",
               department=info.get("department") or "—", brand=info.get("brand") or "—",
               price=fmt_number(info.get("list_price"), 2) or "—")
    run, chosen = view.run, None
    if run is not None and view.forecast is not None:
        default = view.choice.model if view.choice is not None else run.models[0]
        chosen = model if model in run.models else default
        fig = charts.fan_chart(view.history, view.forecast, chosen, run.quantiles, lang)
    else:
        run = None
        fig = charts.fan_chart(view.history, None, None, [], lang)
    reviews = view.reviews
    rows = [] if reviews is None or reviews.empty else reviews.to_dict(orient="records")
    cols = [
        Column(tr(lang, "col_date"), lambda r: pd.Timestamp(r["ts"]).strftime("%Y-%m-%d")),
        Column(tr(lang, "col_rating"), lambda r: fmt_number(r["rating"], 0), numeric=True),
        Column(tr(lang, "col_text"), lambda r: r["text"]),
        Column(tr(lang, "col_language"), lambda r: r["language"]),
    ]
    why_model = None
    if run is not None and view.choice is not None:
        c = view.choice
        why_model = (tr(lang, "model_rule_" + c.rule, model=c.model, backtest=c.backtest_id,
                        mase=fmt_number(c.mase, 3)) if chosen == c.model
                     else tr(lang, "model_asked", model=c.model))
    return render("product.html.j2", lang=lang, title=info.get("title") or "", facts=facts, run=run,
                  chosen=chosen, runs=view.runs, why_model=why_model, figure=fig, drivers=drivers_html,
                  reviews=rows, review_columns=cols)


def leaderboard_body(store: Store, lang: str) -> Markup:
    found = queries.leaderboard(store)
    if found is None:
        return render("leaderboard.html.j2", lang=lang, run=None)
    run, board = found
    metrics = [c for c in board.columns if c != "model"]
    cols = [Column(tr(lang, "col_model"), lambda r: r["model"])]
    cols += [Column(m, _metric(m), numeric=True) for m in metrics]
    fig = None
    if "MASE" in board.columns and len(board):
        fig = charts.bar_chart(list(board["model"]), [float(v) for v in board["MASE"]], "MASE",
                               height=120 + 28 * len(board))
    # the backtest's horizon counts the periods it was run at (the workspace's, or its --freq)
    freq = run.freq or queries.workspace_freq(store)
    span = unit_of(freq).count(int(run.horizon), lang) if run.horizon is not None else "?"
    return render("leaderboard.html.j2", lang=lang, run=run, columns=cols,
                  rows=board.to_dict(orient="records"), figure=fig, span=span)


def upload_body(lang: str, *, can_write: bool, role: str) -> Markup:
    if not can_write:
        return error_box(tr(lang, "needs_analyst", role=role))
    return upload_form(lang)


def horizon_field(lang: str, freq: str) -> dict[str, Any]:
    """A form's horizon: its label in the workspace's periods ("Horizon (weeks)", 预测周数)
    and its first value, what a run without a horizon forecasts
    (:func:`~trendcast.features.frequency.default_horizon`)."""
    unit = unit_of(freq)
    return {"label": tr(lang, "horizon", units=unit.plural if lang == "en" else unit.zh_count),
            "value": default_horizon(freq)}


def forecast_body(lang: str, *, can_write: bool, role: str, products: list[tuple[str, str]],
                  models: list[str], promoted: dict[str, Any] | None = None,
                  freq: str = "D") -> Markup:
    """The forecast form: fit models now, or (when a version is promoted) forecast from it;
    the horizon counts periods of ``freq`` (the workspace's)."""
    if not can_write:
        return error_box(tr(lang, "needs_analyst", role=role))
    shown = None if promoted is None else {
        "version_id": promoted["version_id"], "models": ", ".join(promoted.get("models") or []),
        "end": pd.Timestamp(promoted["data_end"]).strftime("%Y-%m-%d")}
    return render("forecast.html.j2", lang=lang, models=models, checked=DEFAULT_FORM_MODELS,
                  products=products, promoted=shown, horizon=horizon_field(lang, freq))


def promoted_version(store: Store) -> dict[str, Any] | None:
    """The promoted model version's row, or None when there is none."""
    from trendcast.errors import NotFoundError

    try:
        return store.model_version(None)
    except NotFoundError:
        return None


def top_products(store: Store, n: int = 50) -> list[tuple[str, str]]:
    """(id, title) of the best sellers of the last 28 days, best first (the forecast page's
    choice of product to show)."""
    if not queries.has_sales(store):
        return []
    top = store.top_sellers(28, n)
    return [(str(r.unique_id), "" if pd.isna(r.title) else str(r.title)) for r in top.itertuples()]


SCENARIO_EXAMPLE = "unique_id,category,start,end,price,discount,promo,event\n"


def scenario_body(store: Store, lang: str, *, can_write: bool, role: str, models: list[str],
                  run_id: str | None = None) -> Markup:
    """The what-if form (analysts) and a run's plan beside its baseline (default: the latest
    forecast run)."""
    from trendcast.errors import NotFoundError
    from trendcast.insights.scenario import interval_levels
    from trendcast.services import browse

    result = None
    message = None
    freq = queries.workspace_freq(store)
    try:
        info, sc = browse.run_scenario(store, run_id)
    except NotFoundError:
        latest = run_id or queries.latest_run_id(store, "forecast")
        message = tr(lang, "scenario_none", run_id=latest) if latest else tr(lang, "scenario_no_run")
    else:
        table = pd.DataFrame(sc["compare"])
        model = sc["models"][0]
        level = interval_levels(info.quantiles or [])
        rows = table[table["model"] == model].to_dict(orient="records")
        total = tr(lang, "scenario_total")
        cols = [Column(tr(lang, "col_product"),
                       lambda r: total if r["unique_id"] == "TOTAL" else product_link(r["unique_id"]))]
        for m in ("units", "revenue", "margin"):
            for side in ("base", "plan"):
                cols.append(Column(tr(lang, f"col_{m}_{side}"), _band(f"{side}_{m}"), numeric=True))
        cols += [Column(tr(lang, f"col_{m}_change"), _change(f"{m}_change"), numeric=True)
                 for m in ("units", "margin")]
        unchanged = [m for m in info.models if m not in sc["models"]]
        span = unit_of(info.freq or freq).count(int(info.horizon or 0), lang)
        result = {"title": tr(lang, "scenario_run", run_id=info.run_id, model=model, span=span,
                              source=sc["source"], level=f"{level[1] - level[0]:.0%}" if level else "–"),
                  "unchanged": (tr(lang, "scenario_unchanged", models=", ".join(unchanged))
                                if unchanged else None),
                  "columns": cols, "rows": rows}
    return render("scenario.html.j2", lang=lang, can_write=can_write, horizon=horizon_field(lang, freq),
                  needs=None if can_write else tr(lang, "needs_analyst", role=role), models=models,
                  checked=("LightGBM",), example=SCENARIO_EXAMPLE, result=result, message=message)


def _band(col: str) -> Callable[[dict], str]:
    """A horizon total with its interval: ``123 [90–160]``."""
    def cell(r: dict) -> str:
        v, lo, hi = r.get(col), r.get(f"{col}_lo"), r.get(f"{col}_hi")
        if v is None or pd.isna(v):
            return ""
        band = "" if lo is None or hi is None or pd.isna(lo) else f" [{fmt_number(lo)}–{fmt_number(hi)}]"
        return f"{fmt_number(v)}{band}"
    return cell


def _change(col: str) -> Callable[[dict], str]:
    def cell(r: dict) -> str:
        v = r.get(col)
        return "" if v is None or pd.isna(v) else f"{float(v):+.1%}"
    return cell

