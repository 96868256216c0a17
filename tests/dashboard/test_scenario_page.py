"""The dashboard's what-if page: the plan form (analysts), a run's plan beside its baseline,
in English and Chinese."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from trendcast.dashboard.i18n import TEXT
from trendcast.dashboard.templating import fmt_number


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path_factory.mktemp("scenario") / "dash.duckdb"
    shop = simulate_shop(n_products=5, start="2024-09-01", end="2025-06-30", seed=5)
    with open_store(db) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                              "calendar_events": shop.calendar}, source="test")
        plan = pd.DataFrame({"unique_id": ["P0001", "P0002"], "start": ["2025-07-01", "2025-07-02"],
                             "end": ["2025-07-03", ""], "discount": ["20", ""], "promo": ["1", "1"]})
        with_plan = run_forecast(store, horizon=7, models=["LightGBM", "SeasonalNaive"], scenario=plan)
        plain = run_forecast(store, horizon=7, models=["SeasonalNaive"])
        keys = {role: create_key(store, role) for role in ("viewer", "analyst")}
    return db, keys, with_plan, plain.run_id


@pytest.fixture
def client(workspace):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app

    db, keys, _, _ = workspace
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.keys = keys
        yield c


def _sign_in(client, role: str) -> None:
    r = client.post("/login", data={"key": client.keys[role], "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _cells(html: str) -> list[list[str]]:
    table = re.search(r'id="scenario-table">(.*?)</section>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows if "<td" in r]


def test_the_page_shows_a_runs_plan_beside_its_baseline(client, workspace):
    _, _, run, _ = workspace
    _sign_in(client, "analyst")
    r = client.get(f"/scenario?run={run.run_id}&lang=en")
    assert r.status_code == 200
    assert 'id="scenario-form"' in r.text and "unique_id,category,start,end,price,discount,promo,event" in r.text
    rows = _cells(r.text)
    assert [row[0] for row in rows] == ["P0001", "P0002", "Total"]
    table = run.scenario.set_index("unique_id")
    p1 = table.loc["P0001"]
    assert rows[0][2] == (f"{fmt_number(p1['plan_units'])} [{fmt_number(p1['plan_units_lo'])}–"
                          f"{fmt_number(p1['plan_units_hi'])}]")
    assert "[" in rows[0][1] and rows[0][7].endswith("%")
    assert "SeasonalNaive: no covariates" in r.text
    assert client.get("/scenario").status_code == 200  # the latest run has no plan: says so
    zh = client.get(f"/scenario?run={run.run_id}&lang=zh").text
    assert "销量（计划）" in zh and "<td class=\"\">合计</td>" in zh and "不使用协变量" in zh


def test_a_run_without_plan_and_a_viewer(client, workspace):
    _, _, _, plain = workspace
    _sign_in(client, "viewer")
    r = client.get("/scenario?lang=en")
    assert f"Run {plain} was made without a plan" in r.text
    assert 'id="scenario-form"' not in r.text and "role viewer" in r.text
    assert client.get("/scenario?run=nope&lang=en").status_code == 200  # an unknown run says so
    assert "/scenario" in client.get("/").text  # in the navigation


def test_scenario_labels_exist_in_both_languages_with_the_same_placeholders():
    keys = [k for k in TEXT["en"] if k.startswith(("scenario", "col_units", "col_revenue", "col_margin"))]
    assert len(keys) >= 12
    for key in keys:
        assert re.findall(r"{(\w+)", TEXT["en"][key]) == re.findall(r"{(\w+)", TEXT["zh"][key]), key
