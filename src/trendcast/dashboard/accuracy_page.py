"""The "accuracy over time" page: how stored forecasts fared once their sales arrived, per
category and week, against what the backtest led us to expect, with the drift alerts and the
saved model versions (which one is in use) and the last daily updates (a failed last one
flagged at the top, with the date of the data the forecasts shown were made from).

Reads the scores ``trendcast update`` and ``trendcast monitor`` store (``forecast_scores``);
like ``GET /api/accuracy`` the page never writes, so a forecast whose actuals have just
arrived shows up after the next update or monitor run.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
from markupsafe import Markup

from trendcast.dashboard import charts
from trendcast.dashboard.i18n import tr
from trendcast.dashboard.insight_pages import pct
from trendcast.dashboard.layout import Column
from trendcast.dashboard.pages import product_link
from trendcast.dashboard.queries import workspace_freq
from trendcast.dashboard.templating import fmt_number, render
from trendcast.data.store import Store
from trendcast.insights.periods import Unit, unit_of
from trendcast.services.monitor import accuracy, drift_alerts
from trendcast.services.update_log import last_forecast, recent_updates
from trendcast.services.update_messages import localize_update
from trendcast.services.versions import describe_versions

UNKNOWN = "—"  # products without a category


def accuracy_body(store: Store, lang: str, *, model: str | None = None) -> Markup:
    """Per category: pooled live WAPE, bias and coverage against the backtest's WAPE, a chart
    of WAPE and bias per week, and the drift alerts of ``model`` (default: the model with the
    most scored rows). An empty state when nothing has been scored yet."""
    versions = {**_versions(store, lang), **_updates(store, lang)}
    freq = workspace_freq(store)
    unit = unit_of(freq)  # scores count forecast periods: days, weeks, ...
    words = {"units": unit.plural if lang == "en" else unit.zh_count,
             "unit": unit.en if lang == "en" else unit.zh_each}
    overall = accuracy(store, level="category", score=False)
    if overall.empty:
        return render("accuracy.html.j2", lang=lang, empty=True,
                      empty_text=tr(lang, "acc_empty",
                                    periods=unit.plural if lang == "en" else unit.zh_name), **versions)
    counts = overall.groupby("model")["n"].sum().sort_values(ascending=False, kind="stable")
    models = list(counts.index.astype(str))
    chosen = model if model in models else models[0]
    mine = overall[overall["model"] == chosen].assign(
        category=lambda d: d["category"].fillna(UNKNOWN).astype(str))
    # a daily shop's points are calendar weeks (days are too noisy to read); a weekly or
    # coarser shop's are its own periods, dated as it dates them (a monthly shop: one per month)
    by = "week" if unit.en == "day" else "period"
    per = accuracy(store, level=f"category-{by}", model=chosen, score=False)
    per = per.rename(columns={by: "period"}).assign(
        category=per["category"].fillna(UNKNOWN).astype(str))
    figures = [{"category": cat, "figure": charts.accuracy_chart(
                    part.sort_values("period"), lang,
                    expected=_first(mine[mine["category"] == cat]["expected_WAPE"]))}
               for cat, part in per.groupby("category", sort=True)]
    cols = [Column(tr(lang, "col_category"), lambda r: r["category"]),
            Column(tr(lang, "acc_n", **words), lambda r: fmt_number(r["n"]), numeric=True),
            Column("WAPE", pct("WAPE"), numeric=True),
            Column(tr(lang, "acc_expected"), pct("expected_WAPE"), numeric=True),
            Column(tr(lang, "acc_bias"), lambda r: "" if pd.isna(r["bias"]) else f"{r['bias']:+.1%}",
                   numeric=True),
            Column(tr(lang, "acc_coverage"), pct("coverage"), numeric=True),
            Column("MASE", lambda r: fmt_number(r["MASE"], 2), numeric=True)]
    alerts = drift_alerts(store, model=chosen, score=False)
    alert_cols = [
        Column(tr(lang, "acc_alert_level"), lambda r: tr(lang, "level_" + r["level"])),
        Column(tr(lang, "acc_alert_name"),
               lambda r: product_link(r["name"]) if r["level"] == "product" else r["name"]),
        Column(tr(lang, "acc_alert_started"), lambda r: pd.Timestamp(r["started"]).strftime("%Y-%m-%d")),
        Column(tr(lang, "acc_alert_detected"), lambda r: pd.Timestamp(r["detected"]).strftime("%Y-%m-%d")),
        Column(tr(lang, "acc_alert_signal"), lambda r: tr(lang, "acc_sig_" + r["signal"])),
        Column(tr(lang, "acc_alert_direction"), lambda r: tr(lang, "acc_dir_" + r["direction"])),
        Column(tr(lang, "acc_alert_size"), lambda r: fmt_number(r["size"], 1), numeric=True),
        Column(tr(lang, "acc_alert_complaints"),
               lambda r: "" if r["level"] != "product" else
               f"{fmt_number(r['complaints'], 0)} ({fmt_number(r['expected_complaints'], 1)})", numeric=True),
    ]
    links = [("?" + urlencode({"model": m, "lang": lang}), m, m == chosen) for m in models]
    return render("accuracy.html.j2", lang=lang, empty=False, model=chosen, models=links,
                  intro=tr(lang, "acc_intro", model=chosen, **words),
                  waiting=_waiting(store, lang, unit),
                  columns=cols, rows=mine.sort_values("category").to_dict(orient="records"),
                  figures=figures, over_time=tr(lang, "acc_over_time", unit=_point_words(unit, lang)),
                  alert_columns=alert_cols, alerts=alerts.head(50).to_dict(orient="records"),
                  n_alerts=len(alerts), **versions)


def _waiting(store: Store, lang: str, unit: Unit) -> str | None:
    """The line on forecast dates that wait for a row an export most likely left out."""
    n = store.waiting_scores()
    if not n:
        return None
    if lang == "en":
        return tr(lang, "acc_waiting", n=fmt_number(n), what=f"product-{unit.en}(s)", each=f"every {unit.en}")
    return tr(lang, "acc_waiting", n=fmt_number(n), what=f"商品-{unit.zh_name}", each=unit.zh_each)


def _point_words(unit: Unit, lang: str) -> str:
    """What one point of the chart is: a week of a daily shop, else the shop's period."""
    if unit.en == "day":
        return "week" if lang == "en" else "每周"
    return unit.en if lang == "en" else unit.zh_each


def _versions(store: Store, lang: str) -> dict[str, object]:
    """The saved model versions, newest first, for the page's versions table."""
    rows = []
    for v in describe_versions(store):
        scores = v.get("scores") or []
        rows.append({**v, "wape": scores[0].get("WAPE") if scores else None,
                     "model_list": ", ".join(v.get("models") or [])})
    cols = [Column(tr(lang, "ver_id"), lambda r: r["version_id"]),
            Column(tr(lang, "ver_status"), lambda r: tr(lang, "ver_status_" + r["status"])),
            Column(tr(lang, "ver_models"), lambda r: r["model_list"]),
            Column(tr(lang, "ver_data_end"), lambda r: _day(r["data_end"])),
            Column(tr(lang, "ver_series"), lambda r: fmt_number(r["n_series"]), numeric=True),
            Column(tr(lang, "ver_wape"), pct("wape"), numeric=True),
            Column(tr(lang, "ver_loadable"), lambda r: tr(lang, "yes") if r["loadable"] == "yes"
                   else f"{tr(lang, 'no')}: {localize_update(r['loadable'].removeprefix('no: '), lang)}")]
    return {"version_columns": cols, "versions": rows}


def _updates(store: Store, lang: str, limit: int = 5) -> dict[str, object]:
    """The ``limit`` newest update records for the page's "Daily updates" card, and the
    warning when the newest one failed or never recorded its end (stale)."""
    rows = [_with_state(r) for r in recent_updates(store, limit)]
    cols = [Column(tr(lang, "upd_when"), lambda r: _minute(r["created_at"])),
            Column(tr(lang, "upd_who"), lambda r: r["key_id"] or ""),
            Column(tr(lang, "upd_status"), lambda r: tr(lang, "upd_status_" + r["state"])),
            Column(tr(lang, "upd_outcome"), lambda r: localize_update(
                _text(r["error"] if r["state"] == "failed" else r["label"]), lang))]
    return {"update_columns": cols, "updates": rows,
            "update_warning": _warning(store, lang, rows[0]) if rows else None}


def update_warning(store: Store, lang: str) -> str | None:
    """The warning the overview and accuracy pages show when the newest update failed or
    never recorded its end (None otherwise)."""
    rows = recent_updates(store, 1)
    return _warning(store, lang, _with_state(rows[0])) if rows else None


def _with_state(row: dict[str, object]) -> dict[str, object]:
    return {**row, "state": "stale" if row["stale"] else str(row["status"])}


def _warning(store: Store, lang: str, last: dict[str, object]) -> str | None:
    if last["state"] not in ("failed", "stale"):
        return None
    warning = (tr(lang, "upd_failed", error=localize_update(_text(last["error"]), lang))
               if last["state"] == "failed" else
               tr(lang, "upd_stale", when=_minute(last["created_at"]), who=last["key_id"] or ""))
    shown = last_forecast(store)
    return warning + " " + (tr(lang, "upd_no_forecast") if shown is None or shown["data_end"] is None
                            else tr(lang, "upd_forecasts_from", data_end=_day(shown["data_end"]),
                                    made=_minute(shown["created_at"])))


def _minute(value: object) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _day(value: object) -> str:
    return "" if value is None else pd.Timestamp(value).strftime("%Y-%m-%d")


def _first(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.iloc[0]) if len(values) else None
