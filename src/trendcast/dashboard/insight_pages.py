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
from markupsafe import Markup

from trendcast.dashboard import charts
from trendcast.dashboard.i18n import TEXT, tr
from trendcast.dashboard.layout import Column
from trendcast.dashboard.pages import product_link
from trendcast.dashboard.templating import fmt_number, macro, quote_path, render
from trendcast.data.store import Store
from trendcast.errors import DataValidationError
from trendcast.insights.periods import unit_of

TREND_LEVELS = ("product", "brand", "category")
TREND_ORDER = ("emerging", "rising", "seasonal_peak_ahead", "declining", "steady")


def service(name: str) -> ModuleType | None:
    """``trendcast.services.<name>`` if this installation has it."""
    full = f"trendcast.services.{name}"
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def unavailable(lang: str, name: str) -> Markup:
    """What a page says when this installation lacks ``trendcast.services.<name>``."""
    return macro("unavailable")(lang, name)


def _label(lang: str, key: str) -> str:
    return TEXT[lang].get(key, key.rsplit("_", 1)[-1])


def pct(col: str) -> Callable[[dict], str]:
    """A cell renderer: the column as a percentage."""
    return lambda r: "" if pd.isna(r[col]) else f"{r[col]:.1%}"


def num(col: str, digits: int = 0) -> Callable[[dict], str]:
    """A cell renderer: the column as a number with thousands separators."""
    return lambda r: fmt_number(r[col], digits)


# Trends ---------------------------------------------------------------------------------------

def trends_body(store: Store, lang: str, *, level: str = "product", top: int | None = 20,
                cache: Any = None) -> Markup:
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
        titles = store.products(columns=["unique_id", "title"])
        calls = calls.merge(titles, on="unique_id", how="left")
    levels = [("?" + urlencode({"level": lv, "lang": lang}), tr(lang, "level_" + lv), lv == level)
              for lv in TREND_LEVELS]
    counts = calls["trend"].value_counts()
    present = [c for c in TREND_ORDER if c in counts.index]
    fig = charts.bar_chart([_label(lang, "trend_" + c) for c in present], [int(counts[c]) for c in present],
                           tr(lang, "trend_counts"), height=110 + 30 * len(present))
    first = (lambda r: product_link(r[key])) if level == "product" else (lambda r: r[key])
    cols = [Column(tr(lang, "col_product") if level == "product" else tr(lang, "level_" + level), first)]
    if level == "product":
        cols.append(Column(tr(lang, "col_title"), lambda r: r.get("title")))
    cols += [
        Column(tr(lang, "col_confidence"), lambda r: fmt_number(r["confidence"], 2), numeric=True),
        Column(tr(lang, "col_score"), lambda r: fmt_number(r["score"], 2), numeric=True),
        Column(tr(lang, "col_reason"), lambda r: r["reason"]),
    ]
    more_url = "?" + urlencode({"level": level, "all": 1, "lang": lang})
    sections = []
    for cls in present:
        rows = calls[calls["trend"] == cls].sort_values("rank").to_dict(orient="records")
        cut = top is not None and len(rows) > top
        sections.append({"trend": cls, "label": _label(lang, "trend_" + cls), "count": int(counts[cls]),
                         "rows": rows[:top] if cut else rows, "shown": top,
                         "more_url": more_url if cut else None})
    return render("trends.html.j2", lang=lang, levels=levels, figure=fig, columns=cols, sections=sections,
                  notes=calls.attrs.get("notes", []), assumptions=calls.attrs.get("assumptions", {}))


# Drivers of one product's forecast -------------------------------------------------------------

def drivers_placeholder(uid: str, lang: str, *, model: str | None, days: int,
                        freq: str = "D") -> Markup:
    """The product page's drivers section: a button that loads :func:`drivers_fragment` for
    the next ``days`` periods of ``freq`` (the workspace's: days, weeks, ...)."""
    if service("explain") is None or model is None:
        return Markup()
    query = urlencode({"model": model, "days": days, "lang": lang})
    url = f"/products/{quote_path(uid)}/drivers?{query}"
    return render("drivers_placeholder.html.j2", lang=lang, model=model,
                  span=unit_of(freq).count(days, lang), url=url)


def drivers_fragment(store: Store, uid: str, lang: str, *, model: str, days: int) -> Markup:
    """Drivers of ``model``'s next ``days`` periods for ``uid``, per week of a daily series,
    else per period (HTML fragment)."""
    mod = service("explain")
    if mod is None:
        return unavailable(lang, "explain")
    from trendcast.insights.explain import driver_label

    ex = mod.explain_forecast(store, uid, model=model, days=days)
    periods = ex.periods("week")
    periods["abs"] = periods["effect"].abs()
    periods = periods.sort_values(["period", "abs"], ascending=[True, False])
    cols = [
        # a daily series' rows are 7-day blocks from their first day; a coarser one's, its periods
        Column(tr(lang, "col_period" if ex.freq == "D" else f"col_period_{ex.unit.en}"),
               lambda r: pd.Timestamp(r["period"]).strftime("%Y-%m-%d")),
        Column(tr(lang, "col_driver"), lambda r: driver_label(r["driver"], lang, ex.freq)),
        Column(tr(lang, "col_effect"), lambda r: "" if pd.isna(r["effect"]) else f"{r['effect']:+.1%}",
               numeric=True),
        Column(tr(lang, "col_detail"), lambda r: r[f"detail_{lang}"]),
    ]
    first = periods[periods["period"] == periods["period"].min()]
    fig = charts.bar_chart([driver_label(d, lang, ex.freq) for d in first["driver"]],
                           [float(v) * 100 for v in first["effect"].fillna(0.0)],
                           f'{tr(lang, "col_effect")} (%)', height=110 + 28 * len(first))
    return render("drivers.html.j2", lang=lang, method=ex.method, sentences=ex.sentences(lang, by="week"),
                  figure=fig, columns=cols, rows=periods.to_dict(orient="records"), notes=ex.notes,
                  product=ex.unique_id)


# Inventory -----------------------------------------------------------------------------------

def _periods_note(lang: str, freq: str | None) -> str:
    """What a run of weeks (months, ...) does with the form's days: the lead time and review
    period stay in days and take their share of the periods (``insights.inventory``); "" for
    a daily run."""
    if not freq or freq == "D":
        return ""
    unit = unit_of(freq)
    units = unit.plural if lang == "en" else unit.zh_name
    return tr(lang, "inv_periods", units=units, unit=unit.en if lang == "en" else unit.zh) + " "


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


def sort_by_urgency(table: pd.DataFrame) -> pd.DataFrame:
    """Inventory rows most urgent first: with stock on hand, the highest stock-out risk (then
    the fewest days of cover); without it, the largest expected daily sales value."""
    if table["on_hand"].notna().any():
        return table.sort_values(["stockout_risk", "days_of_cover", "unique_id"],
                                 ascending=[False, True, True], na_position="last", kind="stable")
    value = table["demand_mean"] * table["price"].fillna(1.0)
    return table.assign(_v=value).sort_values(["_v", "unique_id"], ascending=[False, True],
                                              na_position="last", kind="stable").drop(columns="_v")


def inventory_body(store: Store, lang: str, form: InventoryForm | None = None, *,
                   stock: pd.DataFrame | None = None, error: str | None = None, top: int = 100) -> Markup:
    """Order-up-to levels (and, with a stock file, what to order now), most urgent first."""
    mod = service("inventory")
    if mod is None:
        return unavailable(lang, "inventory")
    from trendcast.dashboard.queries import latest_run_id

    form = form or InventoryForm()
    run_id = latest_run_id(store, "forecast")
    if run_id is None:
        return macro("muted")(tr(lang, "no_forecast"))
    from trendcast.services.browse import get_run

    run = get_run(store, run_id)
    models = run.models
    if error:
        return render("inventory.html.j2", lang=lang, form=form, models=models, error=error)
    result = mod.inventory_actions(store, run_id=run_id, model=form.model, lead_time=form.lead_time,
                                   review=form.review, service_level=form.service_level, stock=stock)
    titles = store.products(columns=["unique_id", "title"])
    table_df = result.table.merge(titles, on="unique_id", how="left")
    cols = [Column(tr(lang, "col_product"), lambda r: product_link(r["unique_id"])),
            Column(tr(lang, "col_title"), lambda r: r.get("title")),
            Column(tr(lang, "col_price"), num("price", 2), numeric=True),
            Column(tr(lang, "col_service"), pct("service_level"), numeric=True),
            Column(tr(lang, "col_demand"), num("demand_mean", 1), numeric=True),
            Column(tr(lang, "col_safety"), num("safety_stock"), numeric=True),
            Column(tr(lang, "col_reorder_point"), num("reorder_point"), numeric=True),
            Column(tr(lang, "col_order_up_to"), num("order_up_to"), numeric=True)]
    urgent = bool(table_df["on_hand"].notna().any())
    table_df = sort_by_urgency(table_df)
    if urgent:
        cols += [Column(tr(lang, "col_on_hand"), num("on_hand"), numeric=True),
                 Column(tr(lang, "col_order_qty"), num("order_qty"), numeric=True),
                 Column(tr(lang, "col_risk"), pct("stockout_risk"), numeric=True),
                 Column(tr(lang, "col_cover"), num("days_of_cover", 1), numeric=True)]
    rows = table_df.head(top).to_dict(orient="records")
    intro = (tr(lang, "inv_run", run_id=result.run_id, model=result.model) + " "
             + _periods_note(lang, run.freq) + tr(lang, "inv_sorted_risk" if urgent else "inv_sorted_value")
             + " " + tr(lang, "showing_rows", k=len(rows), n=len(table_df)))
    return render("inventory.html.j2", lang=lang, form=form, models=models, error=None, intro=intro,
                  columns=cols, rows=rows, notes=result.notes, assumptions=result.assumptions)
