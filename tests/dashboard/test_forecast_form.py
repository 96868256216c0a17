"""The forecast form offers the promoted model version, when there is one."""

from __future__ import annotations

import re

import pytest

from conftest import make_sales


@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    db = tmp_path / "form.duckdb"
    with open_store(db) as store:
        ingest_frames(store, {"sales": make_sales(n_series=2, n_days=90)}, source="test")
        key = create_key(store, "analyst")
    with TestClient(create_app(db, workers=1), base_url="http://testserver") as c:
        assert c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
        c.db = db
        yield c


def test_the_form_offers_the_promoted_version_once_there_is_one(client):
    from trendcast.data.store import open_store
    from trendcast.services.versions import train_version

    text = client.get("/forecast?lang=en").text
    assert 'id="forecast-form"' in text and 'id="forecast-source"' not in text
    with open_store(client.db) as store:
        version = train_version(store, horizon=7, models=["SeasonalNaive"]).version_id
    text = client.get("/forecast?lang=en").text
    label = re.search(r'id="source-promoted"> (.*?)</label>', text).group(1)
    assert label == (f"the promoted model version {version} (SeasonalNaive, trained on data to "
                     "2024-03-30), moved forward to the latest sales without refitting")
    assert 'value="fit" checked' in text and 'id="fit-settings"' in text
    zh = client.get("/forecast?lang=zh").text
    assert f"用已启用的模型版本 {version}（SeasonalNaive，训练数据截至 2024-03-30）" in zh
