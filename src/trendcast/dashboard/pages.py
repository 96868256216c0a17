"""HTML bodies of the core pages (overview, product, leaderboard, upload, forecast, login)."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from trendcast.dashboard import charts, queries
from trendcast.dashboard.i18n import tr
from trendcast.dashboard.layout import Column, chart, error_box, esc, fmt_number, notes_list, table
from trendcast.data.store import Store
from trendcast.services.ingest import TABLE_OF

FORM_MODELS = ("SeasonalNaive", "SeasonalWindowAverage", "AutoETS", "AutoTheta", "CrostonOptimized",
               "LightGBM", "auto")
DEFAULT_FORM_MODELS = ("SeasonalNaive",)


def product_link(uid: object) -> str:
    href = f"/products/{quote(str(uid), safe='')}"
    return f'<a href="{esc(href)}">{esc(uid)}</a>'


def _pct(recent: float, before: float) -> str:
    if before <= 0:
        return "—"
    change = recent / before - 1
    css = "up" if change > 0 else "down" if change < 0 else ""
    return f'<span class="{css}">{change:+.1%}</span>'


def login_body(lang: str, *, next_url: str, error: str | None = None) -> str:
    err = error_box(error) if error else ""
    return f"""<div class="login">{err}
<form method="post" action="/login" class="stack">
<input type="hidden" name="next" value="{esc(next_url)}">
<label for="key">{esc(tr(lang, "login_key"))}</label>
<input type="password" id="key" name="key" autocomplete="current-password" required autofocus>
<p class="muted">{esc(tr(lang, "login_help"))}</p>
<button type="submit" id="login-submit">{esc(tr(lang, "login_submit"))}</button>
</form></div>"""


def no_sales_body(lang: str) -> str:
    return (f'<section class="card"><p>{esc(tr(lang, "no_sales"))}</p>'
            f'<p><a href="/upload">{esc(tr(lang, "go_upload"))}</a></p></section>')


def overview_body(store: Store, lang: str) -> str:
    if not queries.has_sales(store):
        return no_sales_body(lang)
    ov = queries.overview(store)
    run_id = queries.latest_run_id(store, "forecast")
    fc_model, fc_totals = (queries.forecast_totals(store, run_id) if run_id else (None, None))
    kpis = [
        (tr(lang, "kpi_units_28"), fmt_number(ov.units_recent)),
        (tr(lang, "kpi_change"), _pct(ov.units_recent, ov.units_before)),
        (tr(lang, "kpi_products"), fmt_number(ov.n_products)),
        (tr(lang, "kpi_history"), f"{ov.start.date()} – {ov.end.date()}"),
        (tr(lang, "kpi_latest_run"), esc(run_id) if run_id else esc(tr(lang, "none_yet"))),
    ]
    # values above are escaped or built from numbers/dates only
    kpi_html = "".join(f'<div class="kpi"><div class="label">{esc(label)}</div>'
                       f'<div class="value{" small" if i == len(kpis) - 1 else ""}">{value}</div></div>'
                       for i, (label, value) in enumerate(kpis))
    fig = charts.totals_chart(ov.totals, lang, forecast=fc_totals, model=fc_model)
    movers = ov.movers.to_dict(orient="records")
    cols = [
        Column(tr(lang, "col_product"), lambda r: product_link(r["unique_id"])),
        Column(tr(lang, "col_title"), lambda r: esc(r["title"])),
        Column(tr(lang, "col_category"), lambda r: esc(r["category"])),
        Column(tr(lang, "col_recent"), lambda r: fmt_number(r["recent"]), numeric=True),
        Column(tr(lang, "col_before"), lambda r: fmt_number(r["before"]), numeric=True),
        Column(tr(lang, "col_change"), numeric=True,
               cell=lambda r: f"{fmt_number(r['change'])} ({_pct(r['recent'], r['before'])})"),
    ]
    up = [r for r in movers if r["direction"] == "up"]
    down = [r for r in movers if r["direction"] == "down"]
    return f"""<div class="kpis">{kpi_html}</div>
<h2>{esc(tr(lang, "sales_totals"))}</h2>
<section class="card">{chart(fig, label=tr(lang, "sales_totals"))}</section>
<h2>{esc(tr(lang, "top_movers"))}</h2>
<section class="card scroll" id="risers"><h3>{esc(tr(lang, "risers"))}</h3>{table(cols, up)}</section>
<section class="card scroll" id="fallers"><h3>{esc(tr(lang, "fallers"))}</h3>{table(cols, down)}</section>"""


def product_body(view: queries.ProductView, lang: str, *, model: str | None = None,
                 drivers_html: str = "") -> str:
    info = {k: (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
            for k, v in view.info.items()}
    facts = tr(lang, "product_facts", category=info.get("category") or "—",
               department=info.get("department") or "—", brand=info.get("brand") or "—",
               price=fmt_number(info.get("list_price"), 2) or "—")
    title = info.get("title") or ""
    parts = [f'<p class="product-title">{esc(title)}</p><p class="muted">{esc(facts)}</p>']
    run = view.run
    if run is not None and view.forecast is not None:
        chosen = model if model in run.models else run.models[0]
        options = "".join(f'<option value="{esc(m)}"{" selected" if m == chosen else ""}>{esc(m)}</option>'
                          for m in run.models)
        picker = (f'<form method="get" class="inline">'
                  f'<input type="hidden" name="run" value="{esc(run.run_id)}">'
                  f'<label>{esc(tr(lang, "model"))} <select name="model">{options}</select></label> '
                  f'<button type="submit">{esc(tr(lang, "show"))}</button></form>')
        fig = charts.fan_chart(view.history, view.forecast, chosen, run.quantiles, lang)
        parts.append(f'<h2>{esc(tr(lang, "history_forecast"))}</h2><section class="card">'
                     f'<p class="muted" id="run-info">'
                     f'{esc(tr(lang, "forecast_from", run_id=run.run_id, model=chosen))}</p>{picker}'
                     f'{chart(fig, label=tr(lang, "history_forecast"))}'
                     f'{notes_list(run.notes, lang)}</section>')
    else:
        fig = charts.fan_chart(view.history, None, None, [], lang)
        parts.append(f'<h2>{esc(tr(lang, "history_forecast"))}</h2><section class="card">'
                     f'<p class="muted">{esc(tr(lang, "no_forecast"))}</p>'
                     f'{chart(fig, label=tr(lang, "history"))}</section>')
    parts.append(drivers_html)
    parts.append(f'<h2>{esc(tr(lang, "reviews"))}</h2>')
    reviews = view.reviews
    if reviews is None or reviews.empty:
        parts.append(f'<p class="muted">{esc(tr(lang, "no_reviews"))}</p>')
    else:
        cols = [
            Column(tr(lang, "col_date"), lambda r: esc(pd.Timestamp(r["ts"]).strftime("%Y-%m-%d"))),
            Column(tr(lang, "col_rating"), lambda r: fmt_number(r["rating"], 0), numeric=True),
            Column(tr(lang, "col_text"), lambda r: esc(r["text"])),
            Column(tr(lang, "col_language"), lambda r: esc(r["language"])),
        ]
        rows = reviews.to_dict(orient="records")
        parts.append(f'<section class="card" id="reviews">{table(cols, rows)}</section>')
    return "\n".join(parts)


def leaderboard_body(store: Store, lang: str) -> str:
    found = queries.leaderboard(store)
    if found is None:
        return f'<p class="muted">{esc(tr(lang, "no_backtest"))}</p>'
    run, board = found
    metrics = [c for c in board.columns if c != "model"]
    cols = [Column(tr(lang, "col_model"), lambda r: esc(r["model"]))] + [
        Column(m, lambda r, m=m: fmt_number(r[m], 3), numeric=True) for m in metrics]
    fig_html = ""
    if "MASE" in board.columns and len(board):
        fig = charts.bar_chart(list(board["model"]), [float(v) for v in board["MASE"]], "MASE",
                               height=120 + 28 * len(board))
        fig_html = f'<section class="card">{chart(fig, label="MASE")}</section>'
    intro = tr(lang, "leaderboard_run", run_id=run.run_id, horizon=run.horizon,
               windows=run.params.get("n_windows", "?"), n=run.n_series)
    return (f'<p class="muted">{esc(intro)}</p><section class="card scroll" id="leaderboard">'
            f'{table(cols, board.to_dict(orient="records"))}</section>'
            f'{fig_html}{notes_list(run.notes, lang)}')


def upload_body(lang: str, *, can_write: bool, role: str) -> str:
    if not can_write:
        return error_box(tr(lang, "needs_analyst", role=role))
    options = "".join(f'<option value="{esc(kind)}">{esc(tr(lang, "kind_" + kind))}</option>'
                      for kind in TABLE_OF)
    return f"""<section class="card"><p class="muted">{esc(tr(lang, "upload_help"))}</p>
<form id="upload-form" class="stack">
<label for="upload-file">{esc(tr(lang, "upload_file"))}</label>
<input type="file" id="upload-file" name="file" required>
<label for="upload-kind">{esc(tr(lang, "upload_kind"))}</label>
<select id="upload-kind" name="kind">{options}</select>
<div><button type="submit" id="upload-submit">{esc(tr(lang, "upload_submit"))}</button></div>
</form>
<div id="upload-result" aria-live="polite"></div></section>"""


def forecast_body(lang: str, *, can_write: bool, role: str, products: list[tuple[str, str]],
                  models: list[str]) -> str:
    if not can_write:
        return error_box(tr(lang, "needs_analyst", role=role))
    boxes = "".join(
        f'<label><input type="checkbox" name="models" value="{esc(m)}"'
        f'{" checked" if m in DEFAULT_FORM_MODELS else ""}> {esc(m)}</label>' for m in models)
    options = "".join(f'<option value="{esc(uid)}">{esc(uid)}{" — " + esc(title) if title else ""}</option>'
                      for uid, title in products)
    return f"""<section class="card"><form id="forecast-form" class="stack">
<label for="horizon">{esc(tr(lang, "horizon"))}</label>
<input type="number" id="horizon" name="horizon" min="1" max="730" value="28" required>
<fieldset><legend>{esc(tr(lang, "models"))}</legend>{boxes}</fieldset>
<label for="quantiles">{esc(tr(lang, "quantiles"))}</label>
<input type="text" id="quantiles" name="quantiles" value="0.1,0.5,0.9" pattern="[0-9., ]*">
<label for="show-product">{esc(tr(lang, "col_product"))}</label>
<select id="show-product" name="product">{options}</select>
<div><button type="submit" id="forecast-submit">{esc(tr(lang, "forecast_submit"))}</button></div>
</form></section>
<section class="card" id="job" hidden><h2>{esc(tr(lang, "job_status"))}</h2>
<progress id="job-progress" max="1" value="0"></progress>
<p id="job-label" aria-live="polite"></p>
<div id="job-result"></div>
<div class="chart" id="job-chart"></div></section>"""


def top_products(store: Store, n: int = 50) -> list[tuple[str, str]]:
    """(id, title) of the best sellers of the last 28 days, best first (the forecast page's
    choice of product to show)."""
    if not queries.has_sales(store):
        return []
    top = store.sql(
        "SELECT s.unique_id, any_value(p.title) AS title, sum(s.y) AS y FROM sales s "
        "LEFT JOIN products p USING (unique_id) WHERE s.ds > (SELECT max(ds) FROM sales) - INTERVAL 28 DAY "
        "GROUP BY s.unique_id ORDER BY y DESC, s.unique_id LIMIT ?", [n])
    return [(str(r.unique_id), "" if pd.isna(r.title) else str(r.title)) for r in top.itertuples()]
