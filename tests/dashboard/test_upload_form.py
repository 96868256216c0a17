"""The upload page offers the ingest options a shop's own export needs, in English and Chinese;
the browser side (what is sent, the hints on a refusal) is tests/e2e/test_upload_form_browser.py."""

from __future__ import annotations

import re

import pytest

from trendcast.dashboard.upload_form import KINDS, OPTIONS
from trendcast.services.ingest import file_columns


@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key

    db = tmp_path / "form.duckdb"
    with open_store(db) as store:
        key = create_key(store, "analyst")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        assert c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
        yield c


def _wrapper(html: str, field_id: str) -> str:
    """The opening tag of the element that says which kinds the field ``field_id`` is for."""
    at = html.index(f'id="{field_id}"')
    return re.findall(r"<div [^>]*data-kinds=[^>]*>", html[:at])[-1]


@pytest.mark.parametrize("lang, words", [
    ("en", ["Your column names", "Date format", "%d/%m/%Y (18/06/2024)", "keep them as returns",
            "The shop was closed on the missing days", "with a decimal comma: 1.234,50",
            "<code>ds</code> date", "Weekly sales are dated by"]),
    ("zh", ["你的文件中的列名", "日期格式", "%d/%m/%Y（18/06/2024）", "保留为退货",
            "缺失的日期店铺停业", "小数点为逗号：1.234,50", "<code>ds</code> 日期", "周销量的日期表示"]),
])
def test_the_page_renders_the_option_fields_in_both_languages(client, lang, words):
    r = client.get(f"/upload?lang={lang}")
    assert r.status_code == 200
    html = r.text
    for word in words:
        assert word in html, word
    assert '<details id="upload-options">' in html  # closed until asked for
    for opt in OPTIONS:
        assert f'id="opt-{opt.name}" data-option="{opt.name}"' in html
    # one mapping field per column a kind is read into, shown for that kind only
    for kind in KINDS:
        for column, _ in file_columns(kind):
            assert f'id="map-{kind}-{column}" data-map="{column}"' in html
    assert 'id="map-calendar-end"' in html
    assert _wrapper(html, "opt-allow_gaps") == '<div class="opt" data-kinds="sales orders">'
    assert _wrapper(html, "opt-aggregate") == '<div class="opt" data-kinds="orders" hidden>'
    assert _wrapper(html, "map-orders-ts") == '<div class="map-kind" data-kinds="orders" hidden>'
    assert "style=" not in html and "<script" not in html.split("<main>", 1)[1].split("</main>")[0]


def test_the_form_offers_only_options_the_api_takes_for_the_kinds_that_read_them():
    from trendcast.api.upload import FLAG_OPTIONS, SCALAR_OPTIONS
    from trendcast.data.validation import SPECS

    assert {o.name for o in OPTIONS} <= set(FLAG_OPTIONS) | set(SCALAR_OPTIONS)
    assert all(set(o.kinds) <= set(KINDS) for o in OPTIONS)
    quantities = {k for k, spec in SPECS.items() if any(c.kind == "quantity" for c in spec.columns.values())}
    negatives = next(o for o in OPTIONS if o.name == "negatives")
    assert set(negatives.kinds) == quantities  # every kind with a quantity, and only those
    for kind in KINDS:
        assert [c for c, _ in file_columns(kind)][:len(SPECS[kind].columns)] == list(SPECS[kind].columns)
