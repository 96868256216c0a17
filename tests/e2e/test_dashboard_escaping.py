"""Pages served by the app print hostile product data and notes as text (Jinja2
autoescaping), in both languages, and charts stay inert JSON blocks."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pandas as pd
import pytest

from conftest import make_sales

EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = "<img src=x onerror=alert(1)>"  # an id without "/", so its product page can be opened
NOTE = "<b>x</b>"
NOTE_ESCAPED = "&lt;b&gt;x&lt;/b&gt;"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Sales of three products with hostile ids and titles, one forecast run, a viewer key."""
    from trendcast.data.store import open_store
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path_factory.mktemp("escaping") / "ws.duckdb"
    sales = make_sales(n_series=3, n_days=120)
    sales["unique_id"] = sales["unique_id"].map({"P000": EVIL, "P001": IMG, "P002": "P2"})
    rising = (sales["unique_id"] == EVIL) & (sales["ds"] > sales["ds"].max() - pd.Timedelta(days=28))
    sales.loc[rising, "y"] += 50  # the hostile id is surely among the overview's movers
    products = pd.DataFrame({"unique_id": [EVIL, IMG, "P2"], "title": [EVIL, IMG, EVIL],
                             "category": [NOTE, "Home", "Home"]})
    with open_store(db) as store:
        ingest_frames(store, {"products": products, "sales": sales}, source="test")
        run_forecast(store, horizon=14, models=["SeasonalNaive"])  # covers lead time + review
        key = create_key(store, "viewer")
    return db, key


@pytest.fixture
def client(workspace, monkeypatch):
    """A signed-in client whose runs carry a hostile note."""
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.services import browse

    real = browse.get_run

    def with_note(*args, **kwargs):
        run = real(*args, **kwargs)
        run.notes = [*run.notes, NOTE]
        return run

    monkeypatch.setattr(browse, "get_run", with_note)
    db, key = workspace
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        r = c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        yield c


def _assert_inert(text: str) -> None:
    assert EVIL not in text and IMG not in text and NOTE not in text
    for block in re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', text, re.S):
        assert "<" not in block and ">" not in block
        json.loads(block)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_escapes_hostile_ids_titles_and_categories(client, lang):
    r = client.get(f"/?lang={lang}")
    assert r.status_code == 200
    _assert_inert(r.text)
    link = f'<a href="/products/{quote(EVIL, safe="")}">{EVIL_ESCAPED}</a>'
    assert link in r.text  # the id as link text, percent-encoded in the href
    assert f'<td class="">{EVIL_ESCAPED}</td>' in r.text and f'<td class="">{NOTE_ESCAPED}</td>' in r.text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_product_page_escapes_the_id_the_title_and_run_notes(client, lang):
    r = client.get(f"/products/{quote(IMG, safe='')}?lang={lang}")
    assert r.status_code == 200
    _assert_inert(r.text)
    img = "&lt;img src=x onerror=alert(1)&gt;"
    assert f'<p class="product-title">{img}</p>' in r.text
    assert f"<h1>{img}" in r.text or f"{img}</h1>" in r.text  # the page title names the id
    # the run's notes (an unknown one is marked as the original English on the zh page)
    assert f"<li>{'' if lang == 'en' else '（英文原文）'}{NOTE_ESCAPED}</li>" in r.text
    assert 'data-url="/products/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/drivers?' in r.text \
        or "drivers-load" not in r.text  # only with the explain service
    r = client.get(f"/products/P2?lang={lang}")
    assert f'<p class="product-title">{EVIL_ESCAPED}</p>' in r.text
    _assert_inert(r.text)


def test_unknown_product_message_is_escaped(client):
    r = client.get(f"/products/{quote(IMG + 'nope', safe='')}")
    assert r.status_code == 404
    assert IMG not in r.text and '<p class="error" role="alert">' in r.text


@pytest.mark.parametrize("path", ["/trends?lang=en", "/inventory?lang=zh"])
def test_trends_and_inventory_pages_escape_ids_and_titles(client, path):
    pytest.importorskip(f"trendcast.services.{path[1:].split('?')[0]}", reason="service not installed")
    r = client.get(path)
    assert r.status_code == 200 and 'class="error"' not in r.text
    _assert_inert(r.text)
    assert f'<td class="">{EVIL_ESCAPED}</td>' in r.text  # P2's title
