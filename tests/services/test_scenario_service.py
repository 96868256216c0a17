"""`run_forecast(..., scenario=plan)`: the plan's covariates through the one run path, baseline
and scenario side by side, refusals with file, row and column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError, ModelError
from trendcast.services.forecast import run_forecast

LAST = pd.Timestamp("2025-06-30")


@pytest.fixture
def shop_store(store):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=12, start="2024-01-01", end="2025-06-30", seed=3)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                          "calendar_events": shop.calendar}, source="shop")
    store.shop = shop  # type: ignore[attr-defined]
    return store


def _top(shop) -> str:
    recent = shop.sales[shop.sales["ds"] > LAST - pd.Timedelta(days=28)]
    return str(recent.groupby("unique_id")["y"].sum().idxmax())


def test_plan_changes_the_covariate_model_only_and_compares_side_by_side(shop_store, tmp_path):
    shop = shop_store.shop
    uid = _top(shop)
    plan = tmp_path / "plan.csv"
    plan.write_text(f"unique_id,start,end,discount,promo\n{uid},2025-07-01,2025-07-07,30,1\n")
    res = run_forecast(shop_store, horizon=14, models=["SeasonalNaive", "LightGBM"],
                       quantiles=[0.1, 0.5, 0.9], scenario=plan)
    assert any("SeasonalNaive take(s) no covariates" in n for n in res.notes)
    table = res.scenario.set_index("unique_id")
    assert list(res.scenario["model"].unique()) == ["LightGBM"]
    assert set(table.index) == {uid, "TOTAL"}
    sf = res.scenario_forecasts
    assert set(sf["unique_id"]) == {uid} and len(sf) == 14
    # prices: 30% off the assumed price on the planned days, the assumed price after
    prices = res.scenario_prices.set_index("ds")
    on = prices.index <= pd.Timestamp("2025-07-07")
    assert np.allclose(prices.loc[on, "plan_price"], prices.loc[on, "base_price"] * 0.7)
    assert np.allclose(prices.loc[~on, "plan_price"], prices.loc[~on, "base_price"])
    # the baseline is the run's own forecast: units, revenue and margin add up from it
    base = res.forecasts[res.forecasts["unique_id"] == uid].set_index("ds")
    cost = float(shop.products.set_index("unique_id").loc[uid, "unit_cost"])
    row = table.loc[uid]
    assert row["base_units"] == pytest.approx(base["LightGBM"].sum())
    assert row["base_revenue"] == pytest.approx((base["LightGBM"] * prices["base_price"]).sum())
    assert row["plan_margin"] == pytest.approx(
        (sf.set_index("ds")["LightGBM"] * (prices["plan_price"] - cost)).sum())
    assert row["base_units_lo"] <= row["base_units"] <= row["base_units_hi"]
    assert row["plan_units"] > row["base_units"]  # 30% off plus a promotion sells more
    assert row["units_change"] == pytest.approx(row["plan_units"] / row["base_units"] - 1)
    # the run keeps the plan and the comparison
    stored = shop_store.run_row(res.run_id)
    params = stored["params"] if isinstance(stored["params"], dict) else json.loads(stored["params"])
    assert params["scenario"]["models"] == ["LightGBM"]
    assert params["scenario"]["plan"][0]["unique_id"] == uid
    assert len(params["scenario"]["compare"]) == 2
    # the report of this run has the what-if section, in Chinese too
    from trendcast.services.report import build_report

    html = build_report(shop_store, tmp_path / "en", explain=0, alerts_source="off").read_text(encoding="utf-8")
    assert "What-if plan against the baseline" in html and f"<td>{uid}</td>" in html
    zh = build_report(shop_store, tmp_path / "zh", lang="zh", explain=0,
                      alerts_source="off").read_text(encoding="utf-8")
    assert "促销/价格计划与基线对比" in zh and "英文原文" not in zh


def _params(store, run_id):
    stored = store.run_row(run_id)
    return stored["params"] if isinstance(stored["params"], dict) else json.loads(stored["params"])


def test_baseline_is_the_plain_forecast_and_plain_forecasts_are_unchanged(shop_store, tmp_path):
    uid = _top(shop_store.shop)
    plan = pd.DataFrame({"unique_id": [uid], "start": ["2025-07-02"], "promo": ["1"], "price": ["1.0"]})
    with_plan = run_forecast(shop_store, horizon=7, models=["LightGBM"], scenario=plan)
    plain = run_forecast(shop_store, horizon=7, models=["LightGBM"])
    # the default response estimates elasticities beside the model: the baseline is the plain
    # forecast, and the plain forecast keeps the price features off
    pd.testing.assert_frame_equal(with_plan.forecasts, plain.forecasts)
    params = _params(shop_store, with_plan.run_id)
    assert params["scenario"]["price_response"] == []
    assert params["scenario"]["response"]["method"] == "elasticity"
    assert uid in params["scenario"]["response"]["elasticity"]
    # the model's own response: LightGBM with its per-product price features, as before
    own = run_forecast(shop_store, horizon=7, models=["LightGBM"], scenario=plan, scenario_response="model")
    featured = run_forecast(shop_store, horizon=7, models=["LightGBM"],
                            model_params={"price_elasticity": True})
    pd.testing.assert_frame_equal(own.forecasts, featured.forecasts)
    params = _params(shop_store, own.run_id)
    assert params["scenario"]["price_response"] == ["LightGBM"]
    assert params["scenario"]["response"]["method"] == "model"
    assert any("own response to the planned covariates (response='model')" in n for n in own.notes)
    assert not plain.forecasts.equals(featured.forecasts)
    from trendcast.services.report import build_report

    html = build_report(shop_store, tmp_path, explain=0, alerts_source="off").read_text(encoding="utf-8")
    assert "What-if plan" not in html  # the latest run has no plan
    with pytest.raises(DataValidationError, match="scenario response must be one of"):
        run_forecast(shop_store, horizon=7, models=["LightGBM"], scenario=plan, scenario_response="tree")


def _factor(res, uid: str, discount: float, promo: bool) -> float:
    said = res.scenario_response
    return (1 - discount) ** said["elasticity"][uid] * (np.exp(said["promo_effect"]) if promo else 1.0)


def test_scenario_is_the_baseline_times_the_estimated_price_and_promotion_response(shop_store):
    uid = _top(shop_store.shop)
    plan = pd.DataFrame({"unique_id": [uid], "start": ["2025-07-01"], "end": ["2025-07-04"],
                         "discount": ["20"], "promo": ["1"]})
    res = run_forecast(shop_store, horizon=7, models=["LightGBM"], quantiles=[0.1, 0.9], scenario=plan)
    said = res.scenario_response
    assert said["method"] == "elasticity" and said["source"][uid] in ("own", "shrunk", "pooled")
    assert -6 <= said["elasticity"][uid] <= 1 and said["promo_effect"] is not None
    base = res.forecasts[res.forecasts["unique_id"] == uid].set_index("ds")
    sc = res.scenario_forecasts.set_index("ds")
    on = sc.index <= pd.Timestamp("2025-07-04")
    factor = _factor(res, uid, 0.2, promo=True)
    for col in ("LightGBM", "LightGBM-q-0.1", "LightGBM-q-0.9"):
        assert np.allclose(sc.loc[on, col], base.loc[on, col] * factor)
        assert np.allclose(sc.loc[~on, col], base.loc[~on, col])
    note = next(n for n in res.notes if n.startswith("what-if (LightGBM)"))
    assert "exp(elasticity x log(planned / assumed price)" in note and "1 planned product(s)" in note
    assert f"{said['promo_effect']:+.3f}" in note


def test_events_go_through_the_model_and_prices_scale_its_forecast(shop_store):
    shop = shop_store.shop
    uid = _top(shop)
    event = str(shop.calendar["name"].iloc[0])
    rows = {"unique_id": [uid], "start": ["2025-07-03"], "event": [event]}
    only = run_forecast(shop_store, horizon=7, models=["LightGBM"], scenario=pd.DataFrame(rows))
    both = run_forecast(shop_store, horizon=7, models=["LightGBM"],
                        scenario=pd.DataFrame({**rows, "discount": ["10"]}))
    ratio = (both.scenario_forecasts.set_index("ds")["LightGBM"]
             / only.scenario_forecasts.set_index("ds")["LightGBM"])
    day = pd.Timestamp("2025-07-03")
    assert ratio[day] == pytest.approx(_factor(both, uid, 0.1, promo=False))
    assert np.allclose(ratio.drop(day), 1.0)
    assert any("events go through each model's own response" in n for n in both.notes)


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
def test_recommended_responds_to_a_plan_through_its_chosen_configuration(shop_store):
    uid = _top(shop_store.shop)
    plan = pd.DataFrame({"unique_id": [uid], "start": ["2025-07-01"], "end": ["2025-07-07"],
                         "discount": ["10"], "promo": ["1"]})
    res = run_forecast(shop_store, horizon=7, models=["recommended"], quantiles=[0.1, 0.9], scenario=plan)
    assert res.models == ["Recommended"]
    base = res.forecasts[res.forecasts["unique_id"] == uid].set_index("ds")["Recommended"]
    sc = res.scenario_forecasts.set_index("ds")["Recommended"]
    factor = _factor(res, uid, 0.1, promo=True)
    assert factor > 1
    # whichever member was chosen (seasonal naive takes no covariates), the plan moves it
    assert np.allclose(sc, base * factor) and sc.sum() > base.sum()
    assert any(n.startswith("what-if (Recommended)") for n in res.notes)


def test_without_prices_the_plan_goes_through_the_model_and_the_notes_say_why(store):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=6, start="2024-06-01", end="2025-06-30", seed=3)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales.drop(columns="price"),
                          "calendar_events": shop.calendar}, source="shop")
    uid = _top(shop)
    plan = pd.DataFrame({"unique_id": [uid], "start": ["2025-07-01"], "promo": ["1"]})
    res = run_forecast(store, horizon=7, models=["LightGBM"], scenario=plan)
    assert res.scenario_response["method"] == "model"
    assert any(n.startswith("what-if: no product has enough price changes") for n in res.notes)
    assert res.scenario_forecasts is not None and len(res.scenario_forecasts) == 7


def test_bad_plans_are_refused_before_anything_is_stored(shop_store, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("unique_id,start,promo\nP0001,2025-07-01,1\nP9999,2025-07-01,1\nP0002,2025-09-01,1\n")
    with pytest.raises(DataValidationError, match=r"plan\.csv: .*row 2, column 'unique_id'.*row 3, column 'start'"):
        run_forecast(shop_store, horizon=14, models=["LightGBM"], scenario=plan)
    assert shop_store.latest_run_row("forecast") is None
    with pytest.raises(ModelError, match="none of .* takes covariates"):
        run_forecast(shop_store, horizon=14, models=["SeasonalNaive"], scenario=plan)


def test_cli_prints_baseline_and_plan_side_by_side_and_refuses_a_bad_plan(tmp_path):
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames

    db = tmp_path / "cli.duckdb"
    shop = simulate_shop(n_products=4, start="2024-09-01", end="2025-06-30", seed=5)
    with open_store(db) as s:
        ingest_frames(s, {"products": shop.products, "sales": shop.sales,
                          "calendar_events": shop.calendar}, source="shop")
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,start,promo\nP0001,2026-07-01,1\n")
    runner = CliRunner()
    res = runner.invoke(app, ["forecast", "--db", str(db), "--horizon", "7", "--jobs", "1",
                              "--scenario", str(bad)])
    assert isinstance(res.exception, DataValidationError)  # `main` prints it as one line, exit 2
    assert "bad.csv" in str(res.exception) and "row 1, column 'start'" in str(res.exception)
    good = tmp_path / "plan.csv"
    good.write_text("unique_id,start,end,discount,promo\nP0002,2025-07-01,2025-07-04,15,1\n")
    res = runner.invoke(app, ["forecast", "--db", str(db), "--horizon", "7", "--jobs", "1",
                              "--scenario", str(good), "--model", "LightGBM", "--model", "SeasonalNaive"])
    assert res.exit_code == 0, res.output
    assert "scenario vs baseline, LightGBM" in res.output and "TOTAL" in res.output and "P0002" in res.output
    assert "SeasonalNaive take(s) no covariates" in res.output
    res = runner.invoke(app, ["forecast", "--db", str(db), "--horizon", "7", "--jobs", "1",
                              "--scenario", str(good), "--json"])
    doc = json.loads(res.output)
    assert {r["unique_id"] for r in doc["scenario"]} == {"P0002", "TOTAL"}
    res = runner.invoke(app, ["forecast", "--db", str(db), "--horizon", "7", "--jobs", "1",
                              "--scenario", str(good), "--scenario-response", "model", "--json"])
    assert res.exit_code == 0, res.output
    assert any("own response to the planned covariates" in n for n in json.loads(res.output)["notes"])
