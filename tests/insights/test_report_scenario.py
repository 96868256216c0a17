"""The report's what-if section: shown only when the run has a plan, fully Chinese in zh."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report_i18n import _inputs

from conftest import visible_words
from trendcast.insights.report import write_report
from trendcast.insights.report_notes import known, localize_note
from trendcast.insights.scenario import compare


def _compare() -> tuple[pd.DataFrame, list[str]]:
    days = pd.date_range("2025-03-01", periods=3)
    base = pd.DataFrame({"unique_id": np.repeat(["P1", "P2"], 3), "ds": np.tile(days, 2), "LightGBM": 10.0,
                         "LightGBM-q-0.1": 6.0, "LightGBM-q-0.9": 14.0})
    plan = base.assign(LightGBM=12.0, **{"LightGBM-q-0.1": 8.0, "LightGBM-q-0.9": 17.0})
    prices = base[["unique_id", "ds"]].assign(base_price=5.0, plan_price=4.5)
    products = pd.DataFrame({"unique_id": ["P1", "P2"], "unit_cost": [3.0, np.nan]})
    return compare(base, plan, prices, ["LightGBM"], [0.1, 0.5, 0.9], products=products)


def test_compare_adds_up_units_revenue_margin_and_intervals():
    table, notes = _compare()
    p1 = table.set_index("unique_id").loc["P1"]
    assert p1["base_units"] == 30 and p1["plan_units"] == 36
    assert p1["base_revenue"] == 150 and p1["plan_revenue"] == pytest.approx(162)
    assert p1["base_margin"] == 60 and p1["plan_margin"] == pytest.approx(36 * 1.5)
    assert (p1["plan_units_lo"], p1["plan_units_hi"]) == (24, 51)
    assert p1["units_change"] == pytest.approx(0.2)
    p2 = table.set_index("unique_id").loc["P2"]  # no unit_cost: 60% of the assumed price
    assert p2["base_margin"] == pytest.approx(30 * 2.0)
    total = table.set_index("unique_id").loc["TOTAL"]
    assert total["plan_units"] == 72 and total["base_margin"] == pytest.approx(120)
    assert any("unit cost assumed 60% of the regular price for 1 of 2" in n for n in notes)
    assert all(known(n) for n in notes), notes


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_section_appears_with_a_plan_only(tmp_path, lang):
    inputs = _inputs(["异味"])
    page = write_report(tmp_path / "a", lang=lang, **inputs).read_text(encoding="utf-8")
    assert "What-if plan" not in page and "计划与基线" not in page
    table, notes = _compare()
    inputs["sections"].scenario = table
    inputs["sections"].scenario_info = {"model": "LightGBM", "h": 3, "source": "`plan.csv`", "level": "80%"}
    inputs["notes"] = inputs["notes"] + notes + [
        "SeasonalNaive take(s) no covariates: the plan cannot change its forecast, so it has no "
        "scenario (use LightGBM or Chronos2 for scenarios)"]
    page = write_report(tmp_path / "b", lang=lang, **inputs).read_text(encoding="utf-8")
    if lang == "zh":
        assert "促销/价格计划与基线对比" in page and "<td>合计</td>" in page and "<th>销量（计划）</th>" in page
        assert visible_words(page, {"P1", "P2", "fo"}) == []
        assert "英文原文" not in page
    else:
        assert "What-if plan against the baseline" in page and "<td>TOTAL</td>" in page
    assert "<td>36.0 [24–51]</td>" in page and "<td>+20%</td>" in page


def test_scenario_notes_are_translated():
    for note in ["the sales have no prices: revenue and margin are not known",
                 "event 'New Year': its flag(s) ['ev_holiday'] never occur in the history, so the model "
                 "cannot use them",
                 "intervals are 80% (0.1 and 0.9 quantiles); horizon totals add each period's bounds, which "
                 "over-states their width"]:
        assert "英文原文" not in localize_note(note, "zh"), note
