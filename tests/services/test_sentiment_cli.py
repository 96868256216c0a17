"""`trendcast alerts` and `trendcast sentiment` over a workspace, and their services."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from trendcast.cli import app
from trendcast.data.simulate import simulate_shop
from trendcast.data.store import open_store
from trendcast.errors import NotFoundError
from trendcast.services.ingest import ingest_frames
from trendcast.services.sentiment import score_reviews, sentiment_alerts

runner = CliRunner()


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory):
    shop = simulate_shop(n_products=40, seed=3)
    path = tmp_path_factory.mktemp("sent") / "shop.duckdb"
    with open_store(path) as store:
        ingest_frames(store, {"products": shop.products, "reviews": shop.reviews}, source="test shop")
    return path, shop


def test_alerts_cli_json_from_ratings(shop_db):
    path, shop = shop_db
    res = runner.invoke(app, ["alerts", "--db", str(path), "--source", "rating", "--json", "--lang", "zh"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["assumptions"]["source"] == "rating" and body["assumptions"]["min_negative"] == 5
    assert body["alerts"], "the shop's incidents should raise at least one alert"
    inc = shop.truth.incidents.set_index("unique_id")
    first = body["alerts"][0]
    assert first["unique_id"] in inc.index and first["reason"].startswith("截至")
    assert any("sentiment from star ratings" in n for n in body["notes"])
    later = runner.invoke(app, ["alerts", "--db", str(path), "--source", "rating", "--json", "--since", "2030-01-01"])
    assert json.loads(later.stdout)["alerts"] == []


def test_alerts_and_sentiment_tables_print(shop_db):
    path, _ = shop_db
    res = runner.invoke(app, ["alerts", "--db", str(path), "--source", "rating"])
    assert res.exit_code == 0 and "negative-sentiment alerts" in res.stdout and "keywords" in res.stdout
    res = runner.invoke(app, ["sentiment", "--db", str(path), "--source", "rating", "--top", "3"])
    assert res.exit_code == 0 and "most negative reviews in the last 28 days first" in res.stdout
    zh = runner.invoke(app, ["alerts", "--db", str(path), "--source", "rating", "--lang", "zh"])
    assert zh.exit_code == 0 and "负面评价预警" in zh.stdout and "说明：情感取自星级评分" in zh.stdout
    assert "英文原文" not in zh.stdout and "note:" not in zh.stdout
    bad = runner.invoke(app, ["alerts", "--db", str(path), "--source", "stars"])
    assert bad.exit_code != 0


def test_sentiment_cli_scores_review_text_with_the_packaged_model(tmp_path):
    path = tmp_path / "tiny.duckdb"
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r4"], "unique_id": ["A", "A", "A", "B"],
        "ts": pd.to_datetime(["2024-05-01 10:00", "2024-05-02 11:00", "2024-05-03 12:00", "2024-05-03 12:00"]),
        "rating": [5.0, 1.0, None, 4.0],
        "text": ["非常好用，很满意！", "质量太差，拉链坏了，差评。", None, "Great quality, love it."],
        "language": ["zh", "zh", "zh", "en"]})
    with open_store(path) as store:
        ingest_frames(store, {"products": pd.DataFrame({"unique_id": ["A", "B"]}), "reviews": reviews},
                      source="tiny")
        scored = score_reviews(store, ids=["A"]).set_index("review_id")
        assert scored.loc["r1", "sentiment"] > 0.5 > scored.loc["r2", "sentiment"]
        assert pd.isna(scored.loc["r3", "sentiment"]) and "without text" in " ".join(scored.attrs["notes"])
        with pytest.raises(NotFoundError, match="no reviews"):
            score_reviews(store, ids=["ZZZ"])
    res = runner.invoke(app, ["sentiment", "--db", str(path), "--id", "A", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    (row,) = body["products"]
    assert row["unique_id"] == "A" and row["reviews"] == 3 and row["neg_share"] == pytest.approx(0.5)
    assert "拉链" in row["keywords"]


def test_service_alerts_match_the_simulated_incidents(shop_db):
    path, shop = shop_db
    with open_store(path, read_only=True) as store:
        result = sentiment_alerts(store, source="rating")
    starts = result.alerts.merge(shop.truth.incidents, on="unique_id", suffixes=("", "_inc"))
    hit = (starts["start"] >= starts["start_inc"]) & (starts["start"] <= starts["end_inc"] + pd.Timedelta(days=14))
    assert hit.sum() >= 1


def test_auto_source_uses_stars_when_most_reviews_have_them_else_the_text(shop_db, tmp_path):
    from trendcast.services.sentiment import resolve_source

    path, _ = shop_db
    with open_store(path, read_only=True) as store:
        auto = score_reviews(store, source="auto")
        rated = score_reviews(store, source="rating")
    assert auto.attrs["assumptions"]["source"] == "rating"
    pd.testing.assert_series_equal(auto["sentiment"], rated["sentiment"])
    assert any("source auto" in n and "star ratings" in n for n in auto.attrs["notes"])
    res = runner.invoke(app, ["alerts", "--db", str(path), "--json"])  # the default is auto
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["assumptions"]["source"] == "rating"

    few_stars = pd.DataFrame({"rating": [5.0] + [None] * 4})
    assert resolve_source(few_stars, "auto") == "model"
    assert resolve_source(pd.DataFrame({"rating": [5.0] * 4 + [None]}), "auto") == "rating"
    assert resolve_source(few_stars, "rating") == "rating"
    with pytest.raises(Exception, match="source must be"):
        resolve_source(few_stars, "stars")  # type: ignore[arg-type]
