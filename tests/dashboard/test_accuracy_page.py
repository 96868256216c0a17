"""The "accuracy over time" page: a chart per category once forecasts are scored, an empty
state before, in both languages, linked from the navigation."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from conftest import make_sales

CATEGORIES = {"P000": "Home", "P001": "Home", "P002": "Kitchen <b>"}


def _workspace(db, *, scored: bool) -> dict[str, str]:
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key
    from trendcast.services.monitor import score_pending
    from trendcast.services.versions import forecast_from_version, train_version

    sales = make_sales(n_series=3, n_days=120)
    products = pd.DataFrame({"unique_id": list(CATEGORIES), "title": list(CATEGORIES),
                             "category": list(CATEGORIES.values())})
    with open_store(db) as store:
        ingest_frames(store, {"products": products, "sales": sales[sales["ds"] <= "2024-04-08"]},
                      source="test")
        train_version(store, horizon=7, models=["SeasonalNaive"])
        if scored:
            for end in ("2024-04-15", "2024-04-22"):  # two weeks of forecasts, then their sales
                forecast_from_version(store)
                store.upsert("sales", sales[sales["ds"] <= end])
            assert score_pending(store) == 2 * 3 * 7
        return {"viewer": create_key(store, "viewer")}


@pytest.fixture(scope="module", params=["scored", "empty"])
def client(request, tmp_path_factory):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app

    db = tmp_path_factory.mktemp("accuracy") / f"{request.param}.duckdb"
    keys = _workspace(db, scored=request.param == "scored")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        r = c.post("/login", data={"key": keys["viewer"], "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        c.scored = request.param == "scored"
        yield c


def _figures(html: str) -> list[dict]:
    return [json.loads(f) for f in re.findall(r'<script type="application/json" id="fig-\d+">(.*?)</script>',
                                              html, re.S)]


@pytest.mark.parametrize("lang, title, nav", [("en", "Accuracy over time", "Accuracy"),
                                              ("zh", "预测准确度变化", "预测准确度")])
def test_the_page_charts_each_category_or_says_nothing_is_scored(client, lang, title, nav):
    r = client.get(f"/accuracy?lang={lang}")
    assert r.status_code == 200
    assert f"<h1>{title}</h1>" in r.text
    assert f'<a href="/accuracy" aria-current=page>{nav}</a>' in r.text
    figures = _figures(r.text)
    if not client.scored:
        assert 'id="accuracy-empty"' in r.text and "trendcast update" in r.text and figures == []
        return
    assert 'id="accuracy-empty"' not in r.text
    # one chart per category, hostile category names printed as text
    assert re.findall(r'data-category="([^"]+)"', r.text) == ["Home", "Kitchen &lt;b&gt;"]
    assert "Kitchen <b>" not in r.text
    assert len(figures) == 2
    for fig in figures:
        names = [t["name"] for t in fig["data"]]
        assert names[0] == "WAPE" and len(names) == 3  # WAPE, bias, backtest WAPE (dashed)
        assert fig["data"][2]["line"]["dash"] == "dash"
    # the table: one row per category, scored days = products x days
    table = r.text.split('id="accuracy-table"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="num">([\d,]+)</td>', table)
    assert cells[:2] == ["28", "14"]
    assert "SeasonalNaive" in r.text


def test_an_unknown_model_falls_back_to_a_scored_one(client):
    r = client.get("/accuracy?model=Nope&lang=en")
    assert r.status_code == 200
    scores = r.text.split('id="model-versions"', 1)[0]  # the versions table names it either way
    assert ("SeasonalNaive" in scores) == client.scored


@pytest.mark.parametrize("lang, status", [("en", "promoted (in use)"), ("zh", "已启用（使用中）")])
def test_the_page_lists_the_saved_versions_and_which_is_in_use(client, lang, status):
    from trendcast.data.store import open_store

    r = client.get(f"/accuracy?lang={lang}")
    table = r.text.split('id="model-versions"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]  # after the header
    assert len(rows) == 1
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)
    with open_store(client.app.state.store.location, read_only=True) as store:
        version = store.model_version(None)
    assert cells[0] == version["version_id"] and cells[1] == status
    assert cells[2] == "SeasonalNaive" and cells[3] == "2024-04-08" and cells[4] == "3"
    assert re.fullmatch(r"\d+\.\d%", cells[5]) and cells[6] == ("yes" if lang == "en" else "是")


def test_a_workspace_without_versions_says_how_to_save_one(tmp_path):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path / "plain.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": make_sales(n_series=2, n_days=60)}, source="test")
        key = create_key(store, "viewer")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        r = c.get("/accuracy?lang=en")
        assert r.status_code == 200 and 'id="model-versions"' not in r.text
        assert "No saved model version yet" in r.text


@pytest.mark.parametrize("lang, failed, status, data_to", [
    ("en", "The last update failed: another update has been running", "failed",
     "The forecasts shown are from data up to 2024-04-08"),
    ("zh", "最近一次更新失败：另一次更新自", "失败", "当前显示的预测基于截至 2024-04-08 的数据")])
def test_the_daily_updates_card_lists_the_last_ones_and_flags_a_failure(tmp_path, lang, failed,
                                                                        status, data_to):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key
    from trendcast.services.update import run_update
    from trendcast.services.update_log import recorded_update
    from trendcast.services.update_messages import localize_update
    from trendcast.services.versions import train_version

    db = tmp_path / "updates.duckdb"
    sales = make_sales(n_series=3, n_days=120)
    with open_store(db) as store:
        ingest_frames(store, {"sales": sales[sales["ds"] <= "2024-04-08"]}, source="test")
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
        ok = recorded_update(store, "cli:tom", lambda: run_update(store, [], refit="never"))
        key = create_key(store, "viewer")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        page = c.get(f"/accuracy?lang={lang}").text
        assert 'role="alert"' not in page  # the last update went well
        assert 'role="alert"' not in c.get(f"/?lang={lang}").text
        card = page.split('id="updates"', 1)[1].split("</table>", 1)[0]
        assert "cli:tom" in card
        assert (ok.summary() if lang == "en" else localize_update(ok.summary(), "zh")) in card
        if lang == "zh":
            assert "更新：读入 0 个文件共 0 行" in card and "策略为 never" in card
    with open_store(db) as store:
        assert store.take_lease("update", "cron <elsewhere>", pd.Timedelta(hours=1)) is None
        with pytest.raises(Exception, match="another update"):
            recorded_update(store, "schedule", lambda: run_update(store, [], refit="never"))
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        page = c.get(f"/accuracy?lang={lang}").text
        landing = c.get(f"/?lang={lang}").text  # the overview, where a planner lands, says it too
    assert landing.split('role="alert">', 1)[1].split("</p>", 1)[0].startswith(failed)
    alert = page.split('role="alert">', 1)[1].split("</p>", 1)[0]
    assert alert.startswith(failed) and data_to in alert
    assert "cron &lt;elsewhere&gt;" in alert and "<elsewhere>" not in page  # escaped
    card = page.split('id="updates"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", card, re.S)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows]
    assert [(c[1], c[2]) for c in cells] == [("schedule", status), ("cli:tom", "done" if lang == "en" else "完成")]
    assert cells[0][3].startswith("another update has been running" if lang == "en" else "另一次更新自")


@pytest.mark.parametrize("lang, said", [
    ("en", "1 product-day(s) the forecasts cover have no sales row though the product sold in every day"),
    ("zh", "预测范围内有 1 个商品-日没有销量行，但该商品此前每天都有销量")])
def test_the_page_says_how_many_product_days_wait_for_a_left_out_row(tmp_path, lang, said):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key
    from trendcast.services.monitor import score_pending
    from trendcast.services.versions import forecast_from_version, train_version

    sales = make_sales(n_series=3, n_days=120)
    db = tmp_path / "w.duckdb"
    with open_store(db) as store:
        store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
        forecast_from_version(store)
        left_out = (sales["unique_id"] == "P002") & (sales["ds"] == "2024-04-12")
        store.upsert("sales", sales[(sales["ds"] <= "2024-04-15") & ~left_out])
        assert score_pending(store) == 20
        key = create_key(store, "viewer")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        text = c.get(f"/accuracy?lang={lang}").text
        assert 'id="accuracy-waiting"' in text and said in text
