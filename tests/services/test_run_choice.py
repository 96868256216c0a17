"""One truth per run: the report, the dashboard and the API show the same model for a run,
chosen by one rule; product pages show the run with the best backtested model; KPIs come from
that model's forecast."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.data.store import open_store
from trendcast.insights.report import market_kpis
from trendcast.services.ingest import ingest_frames
from trendcast.services.keys import create_key
from trendcast.services.run_choice import DEFAULT_MODEL, product_run, representative_model

H = 28
MODELS = ["SeasonalWindowAverage", "LightGBM", "SeasonalNaive"]  # the winner is neither end


def _run_row(run_id: str, kind: str, models: list[str], when: str) -> dict:
    return {"run_id": run_id, "kind": kind, "created_at": pd.Timestamp(when), "models": json.dumps(models),
            "horizon": H, "freq": "D", "quantiles": "[]", "params": "{}", "n_series": 3, "notes": "[]"}


def _forecasts(run_id: str, sales: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Point forecasts: SeasonalWindowAverage repeats the last four weeks (its total equals
    them), LightGBM is 30% above them, SeasonalNaive 10% below, AutoETS flat at the mean."""
    rows = []
    for uid, part in sales.groupby("unique_id"):
        last = part.sort_values("ds").tail(H)
        days = pd.date_range(last["ds"].max() + pd.Timedelta(days=1), periods=H, freq="D")
        base = last["y"].to_numpy(float)
        values = {"SeasonalWindowAverage": base, "LightGBM": base * 1.3, "SeasonalNaive": base * 0.9,
                  "AutoETS": np.full(H, base.mean())}
        for m in models:
            rows.append(pd.DataFrame({"run_id": run_id, "model": m, "unique_id": uid, "ds": days,
                                      "cutoff": pd.NaT, "quantile": np.nan, "value": values[m]}))
    return pd.concat(rows, ignore_index=True)


def _metrics(run_id: str, mase: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"run_id": run_id, "model": list(mase), "metric": "MASE",
                         "value": list(mase.values()), "unique_id": None})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    db = tmp_path_factory.mktemp("truth") / "truth.duckdb"
    sales = make_sales(n_series=3, n_days=200)
    products = pd.DataFrame({"unique_id": sorted(sales["unique_id"].unique()), "title": "t",
                             "category": "Home"})
    with open_store(db) as store:
        ingest_frames(store, {"products": products, "sales": sales}, source="test")
        store.save_run(_run_row("bt-1", "backtest", MODELS + ["AutoETS"], "2025-01-01 09:00"),
                       _forecasts("bt-1", sales, ["SeasonalNaive"]).iloc[:0],
                       _metrics("bt-1", {"SeasonalWindowAverage": 1.1, "LightGBM": 0.8,
                                         "SeasonalNaive": 1.3, "AutoETS": 0.9}))
        store.save_run(_run_row("fc-good", "forecast", MODELS, "2025-01-01 10:00"),
                       _forecasts("fc-good", sales, MODELS))
        # a later dashboard job with the form's default model only
        store.save_run(_run_row("fc-job", "forecast", ["SeasonalNaive"], "2025-01-02 10:00"),
                       _forecasts("fc-job", sales, ["SeasonalNaive"]))
        keys = {"viewer": create_key(store, "viewer")}
    return db, sales, keys


@pytest.fixture(scope="module")
def client(workspace):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app

    db, _, keys = workspace
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        assert c.post("/login", data={"key": keys["viewer"], "next": "/"},
                      follow_redirects=False).status_code == 303
        yield c


def test_the_rule_picks_the_backtest_winner_among_the_runs_models(workspace):
    db, _, _ = workspace
    with open_store(db, read_only=True) as store:
        good = representative_model(store, "fc-good")
        job = representative_model(store, "fc-job")
    assert (good.model, good.rule, good.backtest_id) == ("LightGBM", "backtest", "bt-1")
    assert "0.800" in good.reason and good.mase == pytest.approx(0.8)
    assert set(good.leaderboard["model"]) >= {"LightGBM"}
    assert (job.model, job.rule) == ("SeasonalNaive", "backtest")


def test_report_dashboard_and_api_show_the_same_model_for_a_run(workspace, client, tmp_path):
    from trendcast.services.report import build_report

    db, sales, keys = workspace
    with open_store(db, read_only=True) as store:
        html = build_report(store, tmp_path, run_id="fc-good", explain=0, alerts_source="off",
                            n_products=1).read_text(encoding="utf-8")
    assert "forecast (LightGBM)" in html and "forecast (SeasonalWindowAverage)" not in html
    # the forecast KPI is the LightGBM total: 30% above the last 28 days, not a copy of them
    last28 = sales[sales["ds"] > sales["ds"].max() - pd.Timedelta(days=H)]["y"].sum()
    assert f"{1.3 * last28:,.0f}" in html and "+30%" in html
    assert "model shown: LightGBM: the lowest MASE (0.800)" in html
    page = client.get("/products/P000").text
    assert re.search(r'id="run-info">Forecast run fc-good, model LightGBM<', page), page[:2000]
    api = client.get("/api/runs/fc-good", headers={"X-API-Key": keys["viewer"]}).json()
    assert api["chosen"]["model"] == "LightGBM" and api["chosen"]["rule"] == "backtest"
    listed = client.get("/api/runs/fc-good/forecasts?id=P000",
                        headers={"X-API-Key": keys["viewer"]}).json()
    assert listed["run"]["chosen"]["model"] == "LightGBM"


def test_a_dashboard_job_does_not_hide_the_better_run_and_other_runs_can_be_picked(workspace, client):
    db, _, _ = workspace
    with open_store(db, read_only=True) as store:
        picked = product_run(store, "P001")
    assert picked.run_id == "fc-good" and "LightGBM" in picked.reason
    assert [r.run_id for r in picked.runs] == ["fc-job", "fc-good"]  # newest first, both offered
    page = client.get("/products/P001").text
    assert 'id="run-info">Forecast run fc-good' in page
    assert '<option value="fc-job">' in page and '<option value="fc-good" selected>' in page
    other = client.get("/products/P001?run=fc-job").text
    assert 'id="run-info">Forecast run fc-job, model SeasonalNaive<' in other


def test_without_a_backtest_the_default_model_then_the_first_and_the_board_lists_it(tmp_path):
    sales = make_sales(n_series=2, n_days=60)
    with open_store(tmp_path / "nobt.duckdb") as store:
        ingest_frames(store, {"sales": sales}, source="test")
        store.save_run(_run_row("a", "forecast", ["SeasonalNaive", "AutoETS"], "2025-01-01"),
                       _forecasts("a", sales, ["SeasonalNaive", "AutoETS"]))
        store.save_run(_run_row("b", "forecast", ["SeasonalNaive", "LightGBM"], "2025-01-02"),
                       _forecasts("b", sales, ["SeasonalNaive", "LightGBM"]))
        a, b = representative_model(store, "a"), representative_model(store, "b")
        assert (a.model, a.rule, a.leaderboard) == (DEFAULT_MODEL, "default", None)
        assert (b.model, b.rule) == ("SeasonalNaive", "first")
        assert product_run(store, "P000").run_id == "b"  # nothing backtested: the newest
        # a backtest of other models: its board is shown, with a row for the unscored model
        store.save_run(_run_row("bt", "backtest", ["AutoTheta"], "2025-01-03"),
                       _forecasts("bt", sales, ["AutoETS"]).iloc[:0], _metrics("bt", {"AutoTheta": 0.7}))
        b = representative_model(store, "b")
        assert b.rule == "first" and b.backtest_id == "bt"
        row = b.leaderboard.set_index("model").loc["SeasonalNaive"]
        assert pd.isna(row["MASE"])


def test_kpis_come_from_the_forecast_and_a_copy_of_history_is_flagged(workspace):
    _, sales, _ = workspace
    fc = _forecasts("x", sales, MODELS + ["AutoETS"])
    wide = fc.pivot_table(index=["unique_id", "ds"], columns="model", values="value").reset_index()
    last28 = sales[sales["ds"] > sales["ds"].max() - pd.Timedelta(days=H)]["y"].sum()
    copy = market_kpis(sales, wide, "SeasonalWindowAverage")
    assert copy["forecast_total"] == pytest.approx(last28) and copy["repeats_history"]
    real = market_kpis(sales, wide, "LightGBM")
    assert real["forecast_total"] == pytest.approx(1.3 * last28) and not real["repeats_history"]
    assert real["forecast_vs_recent"] == pytest.approx(0.3)
    flat = market_kpis(sales, wide, "AutoETS")
    assert flat["forecast_total"] == pytest.approx(wide["AutoETS"].sum())
