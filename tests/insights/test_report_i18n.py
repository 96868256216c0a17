"""The Chinese report reads in Chinese (notes, units, headings), numbers read as people read
them (+42%, 1,234, keywords as a list), columns that need a stock file are left out with one
line on how to get them, and the page prints on A4 without the plotly toolbar."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import visible_words
from trendcast.insights.report import ReportSections, code_spans, write_report
from trendcast.insights.report_notes import known, localize_note

# One English note of each kind the report prints (services, insights, engine), as written there.
NOTES = [
    "1,234 missing dates inside series counted as zero sales",
    "12 missing dates inside series filled with zero sales",
    "3 negative sales (returns) counted as zero units sold",
    "forecast run fo-20260101-000000-abcdef, model AutoETS",
    "forecast: mean of 4 complete week(s) ahead against the median of the last 8 weeks",
    "forecast: no complete week after 2025-12-31 for any series; not used",
    "3 series have less than a year + 8 weeks of history: yoy_growth is NaN and, without an earlier "
    "year to compare, calls rest on the slope",
    "2 series have fewer than 12 complete weeks of sales (or none): called steady with confidence 0 "
    "(too_short)",
    "every series starts selling in the data's first week, so none can be told apart as new "
    "(emerging needs a first sale inside the data)",
    "forecast: mean of 2 complete month(s) ahead against the median of the last 2 months",
    "the run forecasts monthly (period starts) periods: the stored weekly (Fridays) sales are summed into "
    "its whole periods for the calls",
    "forecast: no complete quarter after 2025-12-31 for any series; not used",
    "forecast: mean of 1 complete quarter(s) ahead against the median of the last 1 quarter",
    "4 series have less than a year + 1 quarter of history: yoy_growth is NaN and, without an earlier "
    "year to compare, calls rest on the slope",
    "3 series have less than a year + 2 months of history: yoy_growth is NaN and, without an earlier "
    "year to compare, calls rest on the slope",
    "2 series have fewer than 3 complete quarters of sales (or none): called steady with confidence 0 "
    "(too_short)",
    "every series starts selling in the data's first month, so none can be told apart as new "
    "(emerging needs a first sale inside the data)",
    "trend detection reads daily, weekly, monthly or quarterly sales; these dates are mostly 365 days apart",
    "5 series have no rows in their last days (up to 2025-12-31); those days count as zero sales",
    "sentiment from star ratings: (rating - 1) / 4, 1-2 stars negative",
    "source auto: 80% of the reviews have stars, so sentiment comes from the star ratings "
    "(--source model|rating to choose)",
    "7 review(s) without rating: counted in volume, not in sentiment",
    "alerts active on or after 2025-06-01",
    "1 alert(s); reviews up to 2025-12-31",
    "no stock file: order quantities and stock-out risks need on-hand stock (--stock FILE with "
    "unique_id,on_hand)",
    "inventory: lead time 7 days and review period 7 days unless a stock file gives others "
    "(trendcast inventory --stock FILE)",
    "used model AutoETS of SeasonalNaive, AutoETS (choose with --model)",
    "future prices held at each product's last regular (non-promotion) price",
    "no promotions assumed in the forecast horizon",
    "P0023: effects are shares of the recent 28-day level 10.61 units/day; they add up to the "
    "forecast's change against it",
    "P0023: decomposition: MSTL with periods (7, 365) after masking 145 calendar-event days; trend "
    "continued at the last 28 days' slope (+0.006 units/day)",
    "P0023: festival effects are mean residuals on past days of the same event; 'other' is what "
    "AutoETS adds beyond these components",
    "P0030: on 2026-01-01 the history shows +15% for the event, but AutoETS's forecast does not "
    "carry it ('other' -47%)",
    "P0023: no past occurrence in the history to measure (counted as 0): Day off (substituted from "
    "01/04/2026)",
    "P1: a feature that does not change (the product group) can still move through its "
    "interactions with the others",
    "AutoETS: 3 series got the non-seasonal version of the model (shorter than two seasons) (P1, P2, P3)",
    "AutoETS: 2 series got the window average (too short for the model, or no finite forecast) (P1, P2)",
    "SeasonalNaive: 1 series got the zero forecast (no sales at all) (P3)",
    "4 series ended (no sales since 2025-10-01) and were not forecast: P1, P2, P3 ... (ended_after sets "
    "how long a silence ends a series)",
    "3 missing date(s) of 2 series that sell every period counted as their recent level (rows an export most "
    "likely left out)",
    "backtest: 7 period(s) in the windows read as a series' recent level have no actual row and are not scored",
    "6 series have periods without a row though they sold in every period before, and so long without "
    "a sale is improbable for them: the models read those periods as their recent level (7 2, 12 1, 3 1, 4 1, "
    "5 1 and 1 more; the latest 2017-08-04); if the export left their rows out, ingest them",
    "7 series have no rows for their last periods, filled with zero sales up to the catalogue's last date "
    "(P1 8, P2 3, P3 3, P4 2, P5 1 and 2 more); a product that stopped selling is left out by ended_after",
    "stored weekly (Sundays) sales aggregated to monthly (period starts) periods (units summed, prices "
    "averaged); the last, incomplete period after 2025-10-01 was left out; the first, incomplete period before "
    "2024-01-01 was left out",
    "stored daily sales aggregated to quarterly (period starts) periods (units summed, prices averaged)",
    "LightGBM trained on a seeded sample of 1,000 of 30,490 series (train_series) and forecast for all of them",
    "forecast from saved model version mv-20260101-000000-abcdef (trained on data to 2025-12-31; models "
    "moved forward to the latest data, not refitted)",
    "the calendar's last event is on 2026-01-31 but the forecast runs to 2026-02-28: holidays and festivals "
    "after it count as none (run `trendcast festivals --end ...`)",
    "cold start: 3 new product(s) (not launched yet, or launched fewer than 28 days before 2025-12-31) "
    "forecast by every model from their category's launch curve, price band and weekday profile, not from "
    "their own history: P1, P2, P3; learnt from 25 launches inside the data",
    "the products have no category",
    "cold start: 1 new product(s) (S13) keep the models' forecasts: no launch curve could be learnt (no "
    "product launched inside the data)",
    "cold start: 42 without sales (13, 14, 15) are not forecast: no launch curve could be learnt (no product "
    "launched inside the data)",
    "cold start: 1 new product(s) (S13) keep the models' forecasts; 2 without sales (S98, S99) are not "
    "forecast: no launch curve could be learnt (cold start: 4 product(s) launched inside the data "
    "(2024-01-01 + 28 days .. 2024-12-31); a launch curve needs at least 5)",
    "calendar: 172 event row(s) of 23 regions (Riobamba (12), Guaranda (12), Latacunga (12), Ambato (12), "
    "...) not used as flags for every product: a product is not in every region; events without a region "
    "or of a whole country are used",
    "order-up-to levels are uncalibrated (negative binomial of the forecast): no backtest of AutoETS with "
    "quantiles is stored; to calibrate them on past forecast errors, run `trendcast backtest --model "
    "AutoETS --windows 3 --horizon 28 --quantiles 0.05,0.1,0.25,0.5,0.75,0.9,0.95` and rerun inventory",
    "order-up-to levels for lead time 20 + review 10 days are uncalibrated (negative binomial of the "
    "forecast): backtest run(s) ba-1 (horizon 14) are shorter than lead time + review = 30 days and cannot "
    "calibrate; to calibrate them on past forecast errors, run `trendcast backtest --model AutoETS "
    "--windows 3 --horizon 30` and rerun inventory",
    "order-up-to levels are uncalibrated (negative binomial of the forecast): every backtest window of "
    "AutoETS ends on or after the forecast's first day 2025-12-01 (cutoffs 2025-11-05, 2025-12-03), so "
    "none can be used; to calibrate them on past forecast errors, run `trendcast backtest --model AutoETS "
    "--windows 3 --horizon 28` and rerun inventory",
    "order-up-to levels are uncalibrated: 3 backtest window(s) of AutoETS give too few review cases per "
    "sales-volume band for service level(s) 0.995 (up to 199 per band needed); run `trendcast backtest "
    "--model AutoETS --windows 8 --horizon 28` for more cases",
    "backtest cutoff(s) 2025-11-05, 2025-12-03 left out of the calibration: their windows end on or after "
    "the forecast's first day 2025-12-01",
    "order-up-to levels of 7 of 10 products calibrated on 3 backtest window(s) of AutoETS (cutoffs "
    "2025-10-08, 2025-11-05, 2025-12-03; 69 review cases): on those cases they cover 94.2% of review "
    "cycles without a stock-out for a target of 90.0% (the uncalibrated forecast 81.2%); fitted and "
    "checked on the same cases, so a little optimistic",
    "3 product(s) keep uncalibrated levels (policy 'nbinom'): too few backtest cases in their "
    "sales-volume band for their service level, or a service level outside (0, 1)",
    "not requested",
    "the workspace has no reviews (trendcast ingest FILE --kind reviews)",
    "weekly (Fridays) forecasts: lead time 9 d + review 7 d cover 2.29 period(s) of 7 days (a period's "
    "demand spread evenly over its days), likewise a stock file's days",
    "monthly (period starts) forecasts: lead time 7 d + review 7 d take their share of each period's own "
    "days, a period's demand weighted by the shop's daily sales on the same dates a year before (evenly "
    "where there are none); likewise a stock file's days",
    "weekly (Sundays) forecasts: lead time 3 d + review 7 d take their share of each period's own days, a "
    "period's demand weighted by the shop's daily sales on the same weekdays 52 weeks before (evenly "
    "where there are none); likewise a stock file's days",
    "quarterly (period starts) forecasts: lead time 7 d + review 7 d take their share of each period's own "
    "days, a period's demand spread evenly over its days; likewise a stock file's days",
    "order-up-to levels are uncalibrated: calibration on backtests is for daily and weekly runs",
    "order-up-to levels are uncalibrated: calibration on backtests is for daily and weekly runs, from the start "
    "of a week (the run's first is under way)",
    "order-up-to levels are uncalibrated (negative binomial of the forecast): no weekly (Fridays) backtest of "
    "LightGBM with quantiles is stored; to calibrate them on past forecast errors, run `trendcast backtest "
    "--model LightGBM --windows 3 --horizon 13 --quantiles 0.05,0.1,0.25,0.5,0.75,0.9,0.95` and rerun inventory",
    "order-up-to levels (lead time 3 + review 7 days) are uncalibrated: a weekly (Fridays) run is calibrated "
    "when lead time and review are whole periods of 7 days",
    "order-up-to levels are uncalibrated (negative binomial of the forecast): backtest run(s) ba-1 (horizon 1) "
    "are shorter than lead time + review = 2 periods and cannot calibrate; to calibrate them on past forecast "
    "errors, run `trendcast backtest --model AutoETS --windows 3 --horizon 13` and rerun inventory",
    "the run's first month (2012-10-01) is under way: sales to 2012-10-26 are in, so lead time and review "
    "count from 2012-10-27, with the share of that month still to come",
    "stock file columns read as: 商品编码 as unique_id, 库存数量 as on_hand, 在途数量 as on_order",
    "stock file column on_hand: 1 value(s) shown as '-' read as 0; 2 value(s) with thousands separators "
    "read (1,234 as 1234)",
    "stock file column on_order: 1 value(s) shown as '-' read as 0",
    "stock file column on_hand: 3 value(s) with thousands separators read (1,234 as 1234)",
    "2 subtotal line(s) of the stock file skipped (e.g. '华东 小计')",
    "external series CPI, Temperature given per product by its store (2 indicator(s) x 45 key(s), "
    "named INDICATOR:KEY)",
    "external series Size left out here: 12 of 3,331 products have no store among its keys",
    "1_1: Recommended chose MedianEnsemble(SeasonalNaive,LightGBMDrivers,LightGBMDirectDrivers), "
    "which learns from the workspace's external series; this explanation does not separate them: "
    "explain with --model LightGBMDrivers to see them as a driver",
    "external series named INDICATOR:KEY (CPI, Size) match no product's store, department, category, "
    "brand or id: each used as one series for every product (ingest the catalogue with --map "
    "store=... to give each product its own)",
    "LightGBM: fitted on sales clipped at zero (1,285 negative values, e.g. returns, that its loss "
    "cannot take)",
    # explanations of weekly, monthly and quarterly series count their periods
    "W1: effects are shares of the recent 28-week level 18202.15 units/week; they add up to the "
    "forecast's change against it",
    "M1: effects are shares of the recent 28-month level 310.50 units/month; they add up to the "
    "forecast's change against it",
    "W1: decomposition: STL with periods (52) after masking 28 calendar-event weeks; trend continued "
    "at the last 28 weeks' slope (-14.783 units/week)",
    "Q1: decomposition: STL with periods (4) after masking 3 calendar-event quarters; trend continued "
    "at the last 28 quarters' slope (+1.250 units/quarter)",
    "W1: decomposition: LOWESS trend, no season (a yearly season needs 105 weeks of history) after "
    "masking 6 calendar-event weeks; trend continued at the last 28 weeks' slope (+0.520 units/week)",
    "W1: festival effects are mean residuals on past weeks with the same event; 'other' is what "
    "SeasonalNaive adds beyond these components",
    "W1: effects are factors against the model's typical recent week for W1 (18787.80 units: the "
    "geometric mean of its in-sample predictions over the last 28 training weeks); they multiply to "
    "the forecast",
    "M1: effects are factors on the model's average prediction 93.20 units (an average product-month "
    "in training); they multiply to the forecast",
    # external drivers (features.exog.add_drivers) and Recommended's choice (models.ensemble)
    "external driver 'CPI' (macro_cpi) as given for the horizon (stored beyond it)",
    "external driver 'Size' (macro_size) lagged 8 period(s) so each value was published at the "
    "forecast's cutoff",
    "external series 'oil' left out: nothing of it was published before the forecast's first period",
    "Recommended: chose MedianEnsemble(LightGBM,LightGBMDirect) by validation WAPE over 2 window(s) of "
    "8 steps (MedianEnsemble(LightGBMDrivers,LightGBMDirectDrivers) 0.073, SeasonalNaive 0.094, "
    "LinearTrend 0.119)",
    "Recommended: too little history to compare members; used SeasonalNaive",
    "Recommended: left out AutoETS (a season of 52 periods makes it slow; run it with --model AutoETS "
    "to compare)",
    "Recommended: external drivers (cpi, fuel_price, size) not kept (MedianEnsemble(SeasonalNaive,"
    "LightGBMDrivers,LightGBMDirectDrivers) was best pooled but not better than MedianEnsemble("
    "LightGBM,LightGBMDirect) in every validation window): best validation WAPE with them 0.073 "
    "(MedianEnsemble(LightGBMDrivers,LightGBMDirectDrivers)), without 0.076 (MedianEnsemble(LightGBM,"
    "LightGBMDirect))",
    "Recommended: external drivers (oil) kept: best validation WAPE with them 0.070 (LightGBMDrivers), "
    "without 0.076 (LightGBM)",
    "Recommended: external drivers (oil) could not be compared on validation",
    "Recommended: quantiles of MedianEnsemble(LightGBM,LightGBMDirect) calibrated on the validation "
    "windows by scale_cell (cross-fitted validation loss: blend 0.0208 (bands off by 0.135), "
    "scale_cell 0.0214 (bands off by 0.049), conformal_ratio 0.0285)",
    # a run's note about one product (the report's explanations) reads with its id
    "P1: no promotions assumed in the forecast horizon",
    "P1: external driver 'Size' (macro_size) lagged 7 period(s) so each value was published at the "
    "forecast's cutoff",
]


@pytest.mark.parametrize("note", NOTES)
def test_every_known_note_reads_in_chinese(note):
    zh = localize_note(note, "zh")
    assert known(note), note
    page = str(code_spans(zh))
    assert visible_words(page, {"P0023", "P0030", "P1", "W1", "M1", "Q1"}) == [], zh
    assert localize_note(note, "en") == note  # the English report prints the note as written
    # the numbers of the note survive the translation
    for number in re.findall(r"\d[\d,.]*\d|\d", note.split(":")[-1]):
        if number not in ("1", "4", "0", "2"):  # small words ("1-2 stars", "/ 4") are rephrased
            assert number.replace("01/04/2026", "2026-01-04") in zh or number in zh.replace(" ", ""), (number, zh)


def test_an_unknown_note_is_kept_and_marked():
    assert localize_note("something new happened", "zh") == "（英文原文）something new happened"
    assert not known("something new happened")


def test_code_spans_escape_and_mark_commands():
    assert str(code_spans("run `a <b>` now")) == "run <code>a &lt;b&gt;</code> now"
    assert str(code_spans("one ` tick <i>")) == "one ` tick &lt;i&gt;"


def _inputs(keywords: object) -> dict:
    ds = pd.date_range("2024-01-01", periods=420, freq="D")
    ids = ["P1", "P2"]
    rng = np.random.default_rng(0)
    history = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": rng.poisson(50 + 30 * i, len(ds))
                                       .astype(float)}) for i, uid in enumerate(ids)], ignore_index=True)
    fds = pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=7, freq="D")
    forecast = pd.concat([pd.DataFrame({"unique_id": uid, "ds": fds, "Naive": 60.0, "Naive-q-0.1": 30.0,
                                        "Naive-q-0.9": 90.0}) for uid in ids], ignore_index=True)
    products = pd.DataFrame({"unique_id": ids, "title": ["茶杯", "茶壶"], "category": ["家居", "家居"]})
    sections = ReportSections(
        trends=pd.DataFrame({"unique_id": ids, "trend": ["rising", "declining"], "score": [2.0, 1.0],
                             "confidence": [0.875, 0.5], "reason": ["较去年 +42%", "下降"]}),
        category_trends=pd.DataFrame({"category": ["家居"], "trend": ["rising"], "confidence": [0.7],
                                      "yoy_growth": [0.42], "reason": ["上升"]}),
        alerts=pd.DataFrame({"unique_id": ["P1"], "start": [ds[-10]], "end": [ds[-1]], "share_recent": [0.71],
                             "p0": [0.03], "keywords_en": [["smells", "rubber"]], "keywords_zh": [keywords]}),
        inventory=pd.DataFrame({"unique_id": ids, "order_up_to": [1234.4, 5.25], "reorder_point": [600.0, 3.0],
                                "safety_stock": [20.5, 1.0], "order_qty": [np.nan, np.nan],
                                "stockout_risk": [np.nan, np.nan], "service_level": [0.95, 0.95],
                                "demand_mean": [6.0, 3.0]}),
    )
    board = pd.DataFrame({"model": ["Naive", "AutoETS"], "MASE": [0.9, 1.1], "coverage_80": [0.8, 0.7]})
    return {"history": history, "forecast": forecast, "model": "Naive", "quantiles": [0.1, 0.9],
            "run_id": "fo-1", "products": products, "leaderboard": board, "sections": sections,
            "notes": ["forecast run fo-1, model Naive", "no promotions assumed in the forecast horizon",
                      "no stock file: order quantities and stock-out risks need on-hand stock "
                      "(--stock FILE with unique_id,on_hand)"]}


@pytest.mark.parametrize("keywords", [["异味", "失望"], "['异味', '失望']", np.array(["异味", "失望"])])
def test_the_chinese_report_formats_numbers_and_words_for_its_reader(tmp_path, keywords):
    page = write_report(tmp_path, lang="zh", **_inputs(keywords)).read_text(encoding="utf-8")
    assert visible_words(page, {"P1", "P2", "fo"}) == []
    assert "预测 7 天" in page and "28 d" not in page
    assert "<td>+42%</td>" in page and "<td>0.42</td>" not in page  # growth vs last year
    assert "<td>88%</td>" in page and "<td>70%</td>" in page  # confidence as a percentage
    assert "<td>异味、失望</td>" in page and "[" not in re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    assert "<td>71%</td><td>3%</td>" in page  # negative shares
    # inventory: units with thousands separators, no empty stock columns, one line on how to get them
    assert "<td>1,234</td>" in page and "<td>5.2</td>" in page
    assert "建议订货（件）" not in page and "缺货风险</th>" not in page
    assert "<code>trendcast inventory --stock on_hand.csv</code>" in page
    assert page.count("建议订货量和缺货风险需要现有库存") == 1  # the note is not repeated below
    assert "<th>模型</th>" in page and "<th>80% 区间覆盖率</th>" in page
    assert "预测期内没有促销" in page


def test_the_english_report_keeps_its_words_and_shows_stock_columns_when_given(tmp_path):
    inputs = _inputs(["a"])
    inv = inputs["sections"].inventory
    inputs["sections"].inventory = inv.assign(order_qty=[12.0, 0.0], stockout_risk=[0.25, 0.01])
    page = write_report(tmp_path, lang="en", **inputs).read_text(encoding="utf-8")
    assert "horizon 7 days" in page and "<td>+42%</td>" in page
    assert "order now (units)" in page and "<td>25.0%</td>" in page
    assert "Order quantities and stock-out risks need" not in page
    assert "no promotions assumed in the forecast horizon" in page


def test_the_page_prints_on_a4_without_the_plotly_toolbar(tmp_path):
    page = write_report(tmp_path, lang="en", **_inputs(["a"])).read_text(encoding="utf-8")
    assert "@page{size:A4" in page
    assert '"displayModeBar": false' in page and '"displaylogo": false' in page
    assert "break-after:avoid" in page and "break-inside:avoid" in page
    assert "<thead>" in page  # a table split over two pages repeats its headings


def test_negative_numbers_get_a_minus_sign_but_dates_ranges_and_ids_keep_hyphens():
    from trendcast.insights.report import minus_signs

    assert minus_signs("近 8 周同比 -10%；斜率 -0.3%；预测 -0%") == "近 8 周同比 −10%；斜率 −0.3%；预测 0%"
    assert minus_signs("自 2025-10-16 起，1-2 星，fo-2026，P-1") == "自 2025-10-16 起，1-2 星，fo-2026，P-1"


def test_names_the_libraries_write_in_english_read_in_chinese():
    from trendcast.insights.report_notes import localize_text

    line = "节日/活动（元旦, Day off (substituted from 01/04/2026)） +9%"
    assert localize_text(line, "zh") == "节日/活动（元旦、调休（由 2026-01-04 调来）） +9%"
    assert localize_text(line, "en") == line


def test_changes_read_as_people_read_them():
    from trendcast.insights.report import _pct, _units

    assert [_pct(v) for v in (0.42, -0.08, -0.004, 0.0, float("nan"))] == ["+42%", "−8%", "0%", "0%", "–"]
    assert [_units(v) for v in (3029.4, 12345678.0, 22.7, 4.0, float("nan"))] == \
        ["3,029", "12,345,678", "22.7", "4", "–"]


@pytest.mark.parametrize("note", [
    "model shown: AutoETS: the lowest MASE (0.852) of this run's models in backtest ba-1 "
    "(--model to show another)",
    "model shown: LightGBM, as asked; the run's own choice is no backtest scored this run's models; "
    "AutoETS is the default model",
    "leaderboard: backtest ba-1; a model with no metrics there was not backtested",
    "forecast run fo-1, model AutoETS (no backtest scored this run's models and it has no AutoETS: "
    "its first model, SeasonalNaive)",
])
def test_run_choice_notes_read_in_chinese(note):
    from trendcast.insights.report_notes import localize_note

    zh = localize_note(note, "zh")
    assert "英文原文" not in zh and "backtest" not in zh and "model" not in zh.replace("`--model`", "")


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["horizon 7 weeks", "forecast units, next 7 weeks", "forecast vs the last 7 weeks",
            "All products: units per week"]),
    ("zh", ["预测 7 周", "未来 7 周预测销量", "预测较最近 7 周", "全部商品：每周销量"])])
def test_a_weekly_run_s_horizon_counts_weeks(tmp_path, lang, words):
    """A weekly run's report said 'horizon 8 days' and 'forecast units, next 8 days'."""
    page = write_report(tmp_path, lang=lang, freq="W-FRI", **_inputs(["a"])).read_text(encoding="utf-8")
    titles = [json.loads(f'"{t}"') for t in re.findall(r'"title":\{"text":"([^"]*)"', page)]  # plotly's
    for w in words:
        assert w in page or w in titles, w
    assert "7 days" not in page and "7 天" not in page
