"""The dashboard's pages over HTTP (no browser): sign-in, redirects, escaping, languages."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.dashboard.i18n import TEXT
from trendcast.dashboard.session import safe_next

PAGES = ["/", "/products/P000", "/trends", "/inventory", "/leaderboard", "/accuracy", "/upload",
         "/forecast"]
EVIL_TITLE = '<script>alert("x")</script> & "quoted"'


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace with sales, a product with a hostile title, one forecast run and keys."""
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path_factory.mktemp("dashboard") / "dash.duckdb"
    with open_store(db) as store:
        sales = make_sales(n_series=3, n_days=120)
        products = pd.DataFrame({"unique_id": ["P000", "P001", "P002"],
                                 "title": [EVIL_TITLE, "Teapot 茶壶", "Cup"],
                                 "category": ["Home", "Home", "Kitchen"]})
        ingest_frames(store, {"products": products, "sales": sales}, source="test")
        run = run_forecast(store, horizon=7, models=["SeasonalNaive"])
        keys = {role: create_key(store, role) for role in ("viewer", "analyst")}
    return db, keys, run.run_id


@pytest.fixture
def client(workspace):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app

    db, keys, run_id = workspace
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.keys, c.run_id = keys, run_id
        yield c


def _sign_in(client, role: str = "analyst") -> None:
    r = client.post("/login", data={"key": client.keys[role], "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_visitors_to_login(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2F")


def test_login_sets_a_strict_httponly_cookie_and_refuses_bad_keys(client):
    r = client.post("/login", data={"key": "tc_0123456789ab_wrongwrongwrongwrongwrong", "next": "/"})
    assert r.status_code == 401 and "not valid" in r.text
    assert "trendcast_key" not in client.cookies
    r = client.post("/login", data={"key": client.keys["viewer"], "next": "/trends"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/trends"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert client.get("/", follow_redirects=False).status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and 'trendcast_key=""' in r.headers["set-cookie"]


@pytest.mark.parametrize("target, expected", [
    ("/products/P1?lang=zh", "/products/P1?lang=zh"), ("//evil.example/x", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/"), ("/ok\r\nSet-Cookie: x", "/"),
])
def test_next_only_allows_local_paths(target, expected):
    assert safe_next(target) == expected


def test_every_label_exists_in_both_languages():
    assert set(TEXT["en"]) == set(TEXT["zh"])
    for key in TEXT["en"]:
        assert re.findall(r"{(\w+)", TEXT["en"][key]) == re.findall(r"{(\w+)", TEXT["zh"][key]), key


def test_product_page_escapes_data_and_draws_the_run(client):
    _sign_in(client)
    r = client.get("/products/P000")
    assert r.status_code == 200
    # Jinja2 autoescaping (markupsafe) writes quotes as &#34;
    assert EVIL_TITLE not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp;" in r.text
    assert "<script>alert" not in r.text
    assert client.run_id in r.text
    assert "script-src 'self';" in r.headers["content-security-policy"]  # no inline scripts run
    figures = re.findall(r'<script type="application/json" id="fig-\d+">(.*?)</script>', r.text, re.S)
    assert len(figures) == 1
    fig = json.loads(figures[0])
    assert [t.get("fill") for t in fig["data"]] == [None, "tonexty", None, None]  # band, history, forecast
    y = fig["data"][3]["y"]  # plotly >= 6 writes numbers as base64 typed arrays
    assert (len(base64.b64decode(y["bdata"])) // 8 if isinstance(y, dict) else len(y)) == 7
    assert client.get("/products/NOPE").status_code == 404


def test_language_from_query_is_remembered_and_the_switch_keeps_the_page(client):
    _sign_in(client)
    r = client.get("/products/P001?run=" + client.run_id + "&lang=zh")
    assert "历史与预测" in r.text and '<html lang="zh-CN">' in r.text
    assert "trendcast_lang=zh" in r.headers["set-cookie"]
    switch = re.search(r'id="lang-switch" href="([^"]+)"', r.text).group(1)
    assert switch == f"/products/P001?run={client.run_id}&amp;lang=en"
    assert "总览" in client.get("/leaderboard").text  # cookie remembered without ?lang
    assert "Overview" in client.get("/leaderboard?lang=en").text


def test_viewer_cannot_use_the_write_forms(client):
    _sign_in(client, "viewer")
    for path in ("/upload", "/forecast"):
        text = client.get(path).text
        assert "role viewer" in text and 'id="upload-form"' not in text and 'id="forecast-form"' not in text


def test_plotly_js_comes_from_the_installed_package(client):
    import plotly

    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert r.content == bundled.read_bytes()
    assert client.get("/static/dashboard.js").status_code == 200


def test_leaderboard_without_backtest_says_how_to_get_one(client):
    _sign_in(client)
    assert "trendcast backtest" in client.get("/leaderboard?lang=en").text


def test_inventory_page_uses_the_stock_file_and_reports_bad_input(client):
    pytest.importorskip("trendcast.services.inventory", reason="no inventory service in this installation")
    _sign_in(client)
    # The run forecasts 7 days; the default lead time + review (14 days) does not fit.
    assert "--horizon 14" in client.get("/inventory?lang=en").text
    stock = b"unique_id,on_hand\nP000,0\nP001,500\n"
    r = client.post("/inventory?lang=en", data={"lead_time": "3", "review": "4", "service_level": "0.9"},
                    files={"stock": ("my_stock.csv", stock, "text/csv")})
    assert r.status_code == 200 and "Order now" in r.text and 'class="error"' not in r.text
    rows = re.findall(r'<tr><td class=""><a href="/products/(P\d+)">', r.text)
    assert rows[0] == "P000"  # nothing on hand: the most urgent
    r = client.post("/inventory?lang=en", files={"stock": ("my_stock.csv", b"unique_id,on_hand\nP000,-1\n",
                                                            "text/csv")})
    assert "my_stock.csv: row 1" in r.text and "on_hand" in r.text
    assert "must be a number" in client.post("/inventory?lang=en", data={"review": "soon"}).text


def test_the_inventory_pages_notes_and_settings_read_in_chinese(client):
    """Before: the zh page printed the service's English notes, and a dict of settings as
    Python's repr ({'method': 'calibrated on backtests', ...})."""
    pytest.importorskip("trendcast.services.inventory", reason="no inventory service in this installation")
    _sign_in(client)
    r = client.post("/inventory?lang=zh", data={"lead_time": "3", "review": "4", "service_level": "0.9"})
    assert r.status_code == 200 and 'class="error"' not in r.text, r.text
    boxes = re.findall(r'<details class="notes".*?</details>', r.text, re.S)
    notes, settings = (re.sub(r"<[^>]+>", "\n", b) for b in boxes)
    assert "订货上限未经校准" in notes and "未提供库存文件" in notes
    assert "英文原文" not in notes and "used model" not in notes
    assert "在补货周期内到货" in settings and "{" not in settings and "[" not in settings
    en = client.post("/inventory?lang=en", data={"lead_time": "3", "review": "4", "service_level": "0.9"})
    assert "no stock file: order quantities" in en.text and "arrives within the lead time" in en.text


def test_the_product_pages_run_notes_read_in_chinese(tmp_path):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key
    from trendcast.services.versions import forecast_from_version, train_version

    db = tmp_path / "notes.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": make_sales(n_series=2, n_days=90)}, source="test")
        version = train_version(store, horizon=7, models=["SeasonalNaive"], validate=False).version_id
        forecast_from_version(store)
        key = create_key(store, "viewer")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        zh, en = (c.get(f"/products/P000?lang={lang}").text for lang in ("zh", "en"))
    assert f"forecast from saved model version {version}" in en
    assert f"使用已保存的模型版本 `{version}` 预测" in zh and "forecast from saved" not in zh


@pytest.mark.parametrize(("stock", "en", "zh"), [
    (b"unique_id,on_hand\nP000,-1\n", "my_stock.csv: row 1 (line 2), column &#39;on_hand&#39;: got &#39;-1&#39;",
     "my_stock.csv：第 1 行数据（文件第 2 行），列 &#39;on_hand&#39;：值为 &#39;-1&#39;，应为不小于 0 的数字"),
    (b"unique_id,qty\nP000,1\n", "my_stock.csv: missing column(s) [&#39;on_hand&#39;]",
     "my_stock.csv：缺少列 [&#39;on_hand&#39;]；库存文件的列为 unique_id,on_hand["),
    (b"unique_id,on_hand\nP000,1\nP000,2\n", "my_stock.csv: product &#39;P000&#39; appears more than once",
     "my_stock.csv：商品 &#39;P000&#39; 出现了不止一次；每个商品只给一行"),
])
def test_a_bad_stock_file_is_refused_in_the_pages_language(client, stock, en, zh):
    _sign_in(client)
    for lang, said, not_said in (("en", en, zh), ("zh", zh, en)):
        r = client.post(f"/inventory?lang={lang}", files={"stock": ("my_stock.csv", stock, "text/csv")})
        assert r.status_code == 200 and said in r.text and not_said not in r.text, r.text


def test_trends_page_reuses_the_calls_until_the_data_changes(client, monkeypatch):
    from trendcast.services import trends as trends_service

    calls = []
    real = trends_service.trend_calls

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(trends_service, "trend_calls", counting)
    _sign_in(client)
    first = client.get("/trends?lang=en")
    assert first.status_code == 200 and 'data-trend="' in first.text
    sections = re.findall(r'data-trend="(\w+)"', first.text)
    assert re.findall(r'data-trend="(\w+)"', client.get("/trends?lang=en").text) == sections
    assert len(calls) == 1  # the second visit came from the cache
    client.app.state.data_version.bump()  # what an upload or a finished job does
    client.get("/trends?lang=en")
    assert len(calls) == 2


def test_the_drivers_notes_read_in_chinese(client):
    """Before: the product's drivers card printed its notes in English on the zh page."""
    _sign_in(client)
    page = client.get("/products/P001/drivers?lang=zh&model=SeasonalNaive").text
    notes = re.findall(r"<li>(.*?)</li>", page.split('class="notes"', 1)[1])
    prose = [re.sub(r"`[^`]*`", "", n) for n in notes]  # commands stay as typed
    assert notes and all("英文原文" not in n and not re.search(r"[a-z]{4,} [a-z]{3,}", n) for n in prose), notes
    assert any("周期 7）" in n for n in notes), notes  # not "(7,)", Python's tuple
    assert any(n.startswith("各项影响为最近") for n in notes), notes
    en = client.get("/products/P001/drivers?lang=en&model=SeasonalNaive").text
    assert "effects are shares of the recent" in en
