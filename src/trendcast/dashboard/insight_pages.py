"""Pages and sections built on the optional insight services (trends, forecast drivers,
inventory). A page whose service this installation lacks says so instead of showing nothing."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from trendcast.dashboard import charts
from trendcast.dashboard.i18n import TEXT, tr
from trendcast.dashboard.layout import Column, chart, error_box, esc, fmt_number, notes_list, table
from trendcast.dashboard.pages import product_link
from trendcast.data.store import Store
from trendcast.errors import DataValidationError

TREND_LEVELS = ("product", "brand", "category")
TREND_ORDER = ("emerging", "rising", "seasonal_peak_ahead", "declining", "steady")


def service(name: str) -> ModuleType | None:
    """``trendcast.services.<name>`` if this installation has it."""
    full = f"trendcast.services.{name}"
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def unavailable(lang: str, name: str) -> str:
    return f'<p class="muted">{esc(tr(lang, "unavailable", module=f"trendcast.services.{name}"))}</p>'


def _label(lang: str, key: str) -> str:
    return TEXT[lang].get(key, key.rsplit("_", 1)[-1])


def _current(yes: bool) -> str:
    return " aria-current=page" if yes else ""


def _selected(yes: bool) -> str:
    return " selected" if yes else ""


def pct(col: str) -> Callable[[dict], str]:
    """A cell renderer: the column as a percentage."""
    return lambda r: "" if pd.isna(r[col]) else f"{r[col]:.1%}"


def num(col: str, digits: int = 0) -> Callable[[dict], str]:
    """A cell renderer: the column as a number with thousands separators."""
    return lambda r: fmt_number(r[col], digits)


def _assumptions(values: dict[str, object], lang: str) -> str:
    if not values:
        return ""
    items = "".join(f"<li><code>{esc(k)}</code> = {esc(v)}</li>" for k, v in values.items())
    summary = esc(tr(lang, "assumptions"))
    return f'<details class="notes"><summary>{summary}</summary><ul>{items}</ul></details>'


# Trends ---------------------------------------------------------------------------------------

def trends_body(store: Store, lang: str, *, level: str = "product", top: int | None = 20,
                cache: Any = None) -> str:
    """Trend calls per class, best ranked first (``top`` rows per class, None for all).

    ``cache`` (the app's :class:`trendcast.api.cache.ResultCache`) keeps the calls until the
    workspace's data changes; it is shared with ``GET /api/trends``."""
    mod = service("trends")
    if mod is None:
        return unavailable(lang, "trends")
    from trendcast.dashboard.pages import no_sales_body
    from trendcast.dashboard.queries import has_sales

    if not has_sales(store):
        return no_sales_body(lang)
    level = level if level in TREND_LEVELS else "product"
    def compute() -> Any:
        return mod.trend_calls(store, level=level, lang=lang)

    calls = compute() if cache is None else cache.get(("trends", level, lang, None), compute)
    key = "unique_id" if level == "product" else level
    if level == "product":
        titles = store.read("products", columns=["unique_id", "title"])
        calls = calls.merge(titles, on="unique_id", how="left")
    links = " · ".join(
        f'<a href="?{esc(urlencode({"level": lv, "lang": lang}))}"{_current(lv == level)}>'
        f'{esc(tr(lang, "level_" + lv))}</a>' for lv in TREND_LEVELS)
    counts = calls["trend"].value_counts()
    present = [c for c in TREND_ORDER if c in counts.index]
    fig = charts.bar_chart([_label(lang, "trend_" + c) for c in present], [int(counts[c]) for c in present],
                           tr(lang, "trend_counts"), height=110 + 30 * len(present))
    first = (lambda r: product_link(r[key])) if level == "product" else (lambda r: esc(r[key]))
    cols = [Column(tr(lang, "col_product") if level == "product" else tr(lang, "level_" + level), first)]
    if level == "product":
        cols.append(Column(tr(lang, "col_title"), lambda r: esc(r.get("title"))))
    cols += [
        Column(tr(lang, "col_confidence"), lambda r: fmt_number(r["confidence"], 2), numeric=True),
        Column(tr(lang, "col_score"), lambda r: fmt_number(r["score"], 2), numeric=True),
        Column(tr(lang, "col_reason"), lambda r: esc(r["reason"])),
    ]
    sections = []
    for cls in present:
        rows = calls[calls["trend"] == cls].sort_values("rank").to_dict(orient="records")
        more = ""
        if top is not None and len(rows) > top:
            url = "?" + urlencode({"level": level, "all": 1, "lang": lang})
            more = (f'<p class="muted">{esc(tr(lang, "shown_of", k=top, n=len(rows)))} '
                    f'<a href="{esc(url)}">{esc(tr(lang, "show_all"))}</a></p>')
            rows = rows[:top]
        sections.append(f'<h2>{esc(_label(lang, "trend_" + cls))} ({int(counts[cls])})</h2>'
                        f'<section class="card scroll" data-trend="{esc(cls)}">'
                        f'{table(cols, rows)}{more}</section>')
    return (f'<p>{esc(tr(lang, "trend_level"))}: {links}</p>'
            f'<section class="card">{chart(fig, label=tr(lang, "trend_counts"))}</section>'
            + "".join(sections) + notes_list(calls.attrs.get("notes", []), lang)
            + _assumptions(calls.attrs.get("assumptions", {}), lang))


# Drivers of one product's forecast -------------------------------------------------------------

def drivers_placeholder(uid: str, lang: str, *, model: str | None, days: int) -> str:
    """The product page's drivers section: a button that loads :func:`drivers_fragment`."""
    if service("explain") is None or model is None:
        return ""
    from urllib.parse import quote

    query = urlencode({"model": model, "days": days, "lang": lang})
    url = f"/products/{quote(uid, safe='')}/drivers?{query}"
    return (f'<h2>{esc(tr(lang, "drivers"))}</h2><section class="card" id="drivers">'
            f'<p class="muted">{esc(tr(lang, "explain_help", model=model, days=days))}</p>'
            f'<button type="button" id="drivers-load" data-url="{esc(url)}">{esc(tr(lang, "explain_button"))}'
            f'</button><div id="drivers-body" aria-live="polite"></div></section>')


def drivers_fragment(store: Store, uid: str, lang: str, *, model: str, days: int) -> str:
    """Drivers of ``model``'s next ``days`` days for ``uid``, per week (HTML fragment)."""
    mod = service("explain")
    if mod is None:
        return unavailable(lang, "explain")
    from trendcast.insights.explain import LABELS

    ex = mod.explain_forecast(store, uid, model=model, days=days)
    periods = ex.periods("week")
    periods["abs"] = periods["effect"].abs()
    periods = periods.sort_values(["period", "abs"], ascending=[True, False])
    cols = [
        Column(tr(lang, "col_period"), lambda r: esc(pd.Timestamp(r["period"]).strftime("%Y-%m-%d"))),
        Column(tr(lang, "col_driver"), lambda r: esc(LABELS[lang].get(r["driver"], r["driver"]))),
        Column(tr(lang, "col_effect"), lambda r: "" if pd.isna(r["effect"]) else f"{r['effect']:+.1%}",
               numeric=True),
        Column(tr(lang, "col_detail"), lambda r: esc(r[f"detail_{lang}"])),
    ]
    first = periods[periods["period"] == periods["period"].min()]
    fig = charts.bar_chart([LABELS[lang].get(d, d) for d in first["driver"]],
                           [float(v) * 100 for v in first["effect"].fillna(0.0)],
                           f'{tr(lang, "col_effect")} (%)', height=110 + 28 * len(first))
    sentences = "".join(f"<li>{esc(s)}</li>" for s in ex.sentences(lang, by="week"))
    return (f'<p class="muted">{esc(tr(lang, "drivers_method_" + ex.method))}</p><ul id="drivers-sentences">'
            f'{sentences}</ul>{chart(fig, label=tr(lang, "drivers"))}'
            f'<div class="scroll">{table(cols, periods.to_dict(orient="records"))}</div>'
            f'{notes_list(ex.notes, lang)}')


# Inventory -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InventoryForm:
    """The inventory page's inputs (the service's defaults unless the user changed them)."""

    lead_time: int = 7
    review: int = 7
    service_level: float | None = None
    model: str | None = None


def parse_inventory_form(lang: str, lead_time: str, review: str, service_level: str,
                         model: str) -> InventoryForm:
    """Form text -> numbers; DataValidationError naming the field and value otherwise."""
    def number(key: str, text: str, kind: type) -> float | int:
        try:
            return kind(text.strip())
        except ValueError:
            raise DataValidationError(tr(lang, "inv_bad_number", field=tr(lang, key), value=text)) from None

    level = service_level.strip()
    return InventoryForm(lead_time=int(number("inv_lead", lead_time, int)),
                         review=int(number("inv_review", review, int)),
                         service_level=float(number("inv_service", level, float)) if level else None,
                         model=model.strip() or None)


def _inventory_form(lang: str, form: InventoryForm, models: list[str]) -> str:
    auto = f'<option value="">{esc(tr(lang, "inv_model_auto"))}</option>'
    options = auto + "".join(f'<option value="{esc(m)}"{_selected(m == form.model)}>{esc(m)}</option>'
                             for m in models)
    level = "" if form.service_level is None else f"{form.service_level:g}"
    return f"""<section class="card"><form method="post" action="/inventory" enctype="multipart/form-data"
 class="stack" id="inventory-form">
<div class="two"><div><label for="lead_time">{esc(tr(lang, "inv_lead"))}</label>
<input type="number" id="lead_time" name="lead_time" min="0" max="365" value="{form.lead_time}"
 required></div>
<div><label for="review">{esc(tr(lang, "inv_review"))}</label>
<input type="number" id="review" name="review" min="1" max="365" value="{form.review}" required></div>
<div><label for="service_level">{esc(tr(lang, "inv_service"))}</label>
<input type="text" id="service_level" name="service_level" value="{esc(level)}" inputmode="decimal"></div>
<div><label for="model">{esc(tr(lang, "inv_model"))}</label>
<select id="model" name="model">{options}</select></div>
</div>
<label for="stock">{esc(tr(lang, "inv_stock"))}</label><input type="file" id="stock" name="stock">
<div><button type="submit">{esc(tr(lang, "inv_submit"))}</button></div></form></section>"""


def inventory_body(store: Store, lang: str, form: InventoryForm | None = None, *,
                   stock: pd.DataFrame | None = None, error: str | None = None, top: int = 100) -> str:
    """Order-up-to levels (and, with a stock file, what to order now), most urgent first."""
    mod = service("inventory")
    if mod is None:
        return unavailable(lang, "inventory")
    from trendcast.dashboard.queries import latest_run_id

    form = form or InventoryForm()
    run_id = latest_run_id(store, "forecast")
    if run_id is None:
        return f'<p class="muted">{esc(tr(lang, "no_forecast"))}</p>'
    from trendcast.services.browse import get_run

    head = _inventory_form(lang, form, get_run(store, run_id).models)
    if error:
        return head + error_box(error)
    result = mod.inventory_actions(store, run_id=run_id, model=form.model, lead_time=form.lead_time,
                                   review=form.review, service_level=form.service_level, stock=stock)
    titles = store.read("products", columns=["unique_id", "title"])
    table_df = result.table.merge(titles, on="unique_id", how="left")
    cols = [Column(tr(lang, "col_product"), lambda r: product_link(r["unique_id"])),
            Column(tr(lang, "col_title"), lambda r: esc(r.get("title"))),
            Column(tr(lang, "col_price"), num("price", 2), numeric=True),
            Column(tr(lang, "col_service"), pct("service_level"), numeric=True),
            Column(tr(lang, "col_demand"), num("demand_mean", 1), numeric=True),
            Column(tr(lang, "col_safety"), num("safety_stock"), numeric=True),
            Column(tr(lang, "col_reorder_point"), num("reorder_point"), numeric=True),
            Column(tr(lang, "col_order_up_to"), num("order_up_to"), numeric=True)]
    if table_df["on_hand"].notna().any():
        cols += [Column(tr(lang, "col_on_hand"), num("on_hand"), numeric=True),
                 Column(tr(lang, "col_order_qty"), num("order_qty"), numeric=True),
                 Column(tr(lang, "col_risk"), pct("stockout_risk"), numeric=True),
                 Column(tr(lang, "col_cover"), num("days_of_cover", 1), numeric=True)]
    rows = table_df.head(top).to_dict(orient="records")
    intro = (tr(lang, "inv_run", run_id=result.run_id, model=result.model) + " "
             + tr(lang, "showing_rows", k=len(rows), n=len(table_df)))
    return (head + f'<p class="muted" id="inventory-run">{esc(intro)}</p>'
            f'<section class="card scroll" id="inventory">{table(cols, rows)}</section>'
            + notes_list(result.notes, lang, expanded=True) + _assumptions(result.assumptions, lang))
