"""The HTML report is rendered from autoescaped Jinja2 templates: hostile product data and
notes reach the page as text, in both languages, and every section still renders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from trendcast.insights.report import ReportSections, environment, write_report

EVIL = "<script>alert(1)</script>"
NOTE = "<b>x</b>"
MODEL = "Naive"


@dataclass
class FakeExplanation:
    unique_id: str
    model: str

    def sentences(self, lang: str, *, by: str, top: int) -> list[str]:
        return [f"{NOTE} drives {self.unique_id}"]


def _inputs() -> dict:
    ds = pd.date_range("2024-01-01", periods=400, freq="D")
    ids = [EVIL, "P1"]
    rng = np.random.default_rng(0)
    history = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": rng.poisson(5 + 3 * i, len(ds))
                                       .astype(float)}) for i, uid in enumerate(ids)], ignore_index=True)
    fds = pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=7, freq="D")
    forecast = pd.concat([pd.DataFrame({"unique_id": uid, "ds": fds, MODEL: 6.0, f"{MODEL}-q-0.1": 3.0,
                                        f"{MODEL}-q-0.9": 9.0}) for uid in ids], ignore_index=True)
    products = pd.DataFrame({"unique_id": ids, "title": [EVIL, f"Tea {NOTE}"], "category": [EVIL, "Home"]})
    sections = ReportSections(
        trends=pd.DataFrame({"unique_id": ids, "trend": ["rising", "declining"], "score": [2.0, 1.0],
                             "confidence": [0.9, 0.8], "reason": [NOTE, "slope"]}),
        category_trends=pd.DataFrame({"category": [EVIL], "trend": ["rising"], "confidence": [0.7],
                                      "yoy_growth": [0.1], "reason": [NOTE]}),
        alerts=pd.DataFrame({"unique_id": [EVIL], "start": [ds[-10]], "end": [ds[-1]], "share_recent": [0.8],
                             "p0": [0.1], "keywords_en": [NOTE], "keywords_zh": [NOTE]}),
        inventory=pd.DataFrame({"unique_id": ids, "order_up_to": [10.0, 5.0], "reorder_point": [6.0, 3.0],
                                "safety_stock": [2.0, 1.0], "order_qty": [np.nan, np.nan],
                                "stockout_risk": [np.nan, np.nan], "service_level": [0.95, 0.95],
                                "demand_mean": [6.0, 3.0]}),
        explanations=[FakeExplanation(EVIL, MODEL)],
        missing={"explanations": NOTE},
    )
    board = pd.DataFrame({"model": [EVIL, MODEL], "MASE": [0.9, 1.1]})
    return {"history": history, "forecast": forecast, "model": MODEL, "quantiles": [0.1, 0.9],
            "run_id": EVIL, "products": products, "leaderboard": board, "notes": [NOTE], "sections": sections}


def test_the_environment_autoescapes_and_is_built_once():
    env = environment()
    assert env is environment()
    assert env.autoescape is True
    assert "report.html.j2" in env.list_templates()


@pytest.mark.parametrize("lang, heading", [("en", "Sentiment alerts"), ("zh", "负面舆情预警")])
def test_hostile_products_and_notes_are_escaped_in_the_report(tmp_path, lang, heading):
    html = write_report(tmp_path, lang=lang, **_inputs()).read_text(encoding="utf-8")
    assert EVIL not in html and NOTE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert f'<html lang="{lang}">' in html and f"<h2>{heading}</h2>" in html
    # the id in the movers, alerts, inventory, explanations and leaderboard tables, the run id,
    # the category, the notes: all printed as text
    assert html.count("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>") >= 5
    assert "<h3>&lt;script&gt;alert(1)&lt;/script&gt; (Naive)</h3>" in html
    assert "<li>&lt;b&gt;x&lt;/b&gt;</li>" in html or "<li>（英文原文）&lt;b&gt;x&lt;/b&gt;</li>" in html
    assert "Plotly.newPlot" in html  # plotly's generated charts are still embedded


def test_a_section_without_input_says_why(tmp_path):
    inputs = _inputs() | {"sections": ReportSections(missing={"alerts": NOTE}), "leaderboard": None}
    html = write_report(tmp_path, **inputs).read_text(encoding="utf-8")
    assert "<p class='muted'>&lt;b&gt;x&lt;/b&gt;</p>" in html  # the alerts section's reason
    assert "<p class='muted'>Not available.</p>" in html  # a section without a reason
    assert "trendcast backtest" in html  # no leaderboard


def test_build_report_escapes_workspace_data(store, tmp_path):
    from conftest import make_sales
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.report import build_report

    sales = make_sales(n_series=2, n_days=120)
    sales["unique_id"] = sales["unique_id"].map({"P000": EVIL, "P001": "P1"})
    products = pd.DataFrame({"unique_id": [EVIL, "P1"], "title": [EVIL, NOTE], "category": ["Home", NOTE]})
    ingest_frames(store, {"products": products, "sales": sales}, source="test")
    run_forecast(store, horizon=7, models=["SeasonalNaive"], quantiles=[0.1, 0.9])
    html = build_report(store, tmp_path, explain=0, alerts_source="off").read_text(encoding="utf-8")
    assert EVIL not in html and NOTE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
