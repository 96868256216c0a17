"""The report's "accuracy as sales arrived" section: live accuracy per category against the
backtest's expectation and the drift alerts, or one sentence when nothing is scored."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.insights.report import ReportSections, write_report


def _inputs(sections: ReportSections) -> dict:
    history = make_sales(n_series=2, n_days=60)[["unique_id", "ds", "y"]]
    fds = pd.date_range(history["ds"].max() + pd.Timedelta(days=1), periods=7)
    forecast = pd.concat([pd.DataFrame({"unique_id": u, "ds": fds, "Naive": 5.0}) for u in ("P000", "P001")])
    return {"history": history, "forecast": forecast, "model": "Naive", "quantiles": [], "run_id": "r1",
            "sections": sections}


def _section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


@pytest.mark.parametrize("lang, heading, expected, alert", [
    ("en", "Accuracy as sales arrived", "backtest WAPE", "sales below forecast"),
    ("zh", "实际销量到达后的预测准确度", "回测 WAPE", "销量低于预测")])
def test_the_section_shows_accuracy_per_category_and_alerts(tmp_path, lang, heading, expected, alert):
    acc = pd.DataFrame({"model": "Naive", "category": ["Home", "<b>Toys</b>"], "n": [140, 70],
                        "WAPE": [0.25, 0.5], "bias": [-0.1, 0.2], "coverage": [0.8, 0.6],
                        "expected_WAPE": [0.2, 0.3], "MASE": [0.9, 1.2], "MAE": [1.0, 2.0]})
    drift = pd.DataFrame({"level": ["product"], "name": ["P000"], "started": [pd.Timestamp("2024-03-01")],
                          "detected": [pd.Timestamp("2024-03-05")], "days": [5], "size": [-2.4],
                          "ratio": [2.0], "direction": ["down"]})
    sections = ReportSections(accuracy=acc, accuracy_model="Naive", drift=drift)
    html = write_report(tmp_path, lang=lang, **_inputs(sections)).read_text(encoding="utf-8")
    part = _section(html, heading)
    assert f"<th>{expected}</th>" in part
    rows = re.findall(r"<tr>(<td>.*?)</tr>", part)
    assert rows[0] == ("<td>&lt;b&gt;Toys&lt;/b&gt;</td><td>70</td><td>50.0%</td><td>30.0%</td>"
                       "<td>+20.0%</td><td>60.0%</td>")
    assert rows[1].startswith("<td>Home</td><td>140</td><td>25.0%</td><td>20.0%</td><td>−10.0%</td>")
    assert f"<td>{alert}</td>" in part and "<td>2024-03-01</td><td>2024-03-05</td>" in part
    assert "<b>Toys</b>" not in html


def test_the_section_is_one_sentence_when_nothing_is_scored(tmp_path):
    html = write_report(tmp_path, **_inputs(ReportSections())).read_text(encoding="utf-8")
    part = _section(html, "Accuracy as sales arrived")
    assert part.strip().startswith("<p class='muted'>No past forecast has been scored")
    assert "<table" not in part


def test_build_report_reads_the_stored_scores(store, tmp_path):
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.monitor import score_pending
    from trendcast.services.report import build_report
    from trendcast.services.versions import forecast_from_version, train_version

    sales = make_sales(n_series=3, n_days=120)
    products = pd.DataFrame({"unique_id": ["P000", "P001", "P002"], "category": ["Home", "Home", "Toys"]})
    ingest_frames(store, {"products": products, "sales": sales[sales["ds"] <= "2024-04-15"]}, source="t")
    train_version(store, horizon=7, models=["SeasonalNaive"])
    forecast_from_version(store)
    empty = build_report(store, tmp_path / "a", explain=0, alerts_source="off").read_text(encoding="utf-8")
    assert "No past forecast has been scored" in _section(empty, "Accuracy as sales arrived")
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    assert score_pending(store) == 21
    forecast_from_version(store)
    html = build_report(store, tmp_path / "b", explain=0, alerts_source="off").read_text(encoding="utf-8")
    part = _section(html, "Accuracy as sales arrived")
    assert "Past forecasts of SeasonalNaive scored" in part
    assert re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td>", part) == [("Home", "14"), ("Toys", "7")]
    assert "No drift alerts" in part or "<th>detected</th>" in part
