"""Insight endpoints (trends, inventory, pricing, propensity) on a small simulated shop, and
their cache."""

from __future__ import annotations

import pytest
from apikit import auth, make_keys, sales_csv
from fastapi.testclient import TestClient

from trendcast.api.app import create_app
from trendcast.api.routes import insights as insights_routes
from trendcast.data.simulate import simulate_shop
from trendcast.data.store import open_store
from trendcast.services.forecast import run_forecast
from trendcast.services.ingest import ingest_frames


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("insights") / "shop.duckdb"
    keys = make_keys(db)
    shop = simulate_shop(n_products=12, seed=3)
    with open_store(db) as store:
        ingest_frames(store, {"products": shop.products, "sales": shop.sales, "reviews": shop.reviews,
                              "calendar_events": shop.calendar}, source="shop")
        run = run_forecast(store, horizon=14, models=["SeasonalNaive"], quantiles=[0.1, 0.5, 0.9])
    return db, keys, run.run_id


def test_trends_inventory_and_pricing(shop_db):
    db, keys, run_id = shop_db
    with TestClient(create_app(db)) as client:
        h = auth(keys["viewer"])
        body = client.get("/api/trends", headers=h).json()
        assert body["total"] == 12 and len(body["items"]) == 12 and body["run_id"] == run_id
        assert {i["trend"] for i in body["items"]} <= {"emerging", "rising", "seasonal_peak_ahead",
                                                       "declining", "steady"}
        assert all(i["reason"] for i in body["items"]) and body["assumptions"]["level"] == "product"
        first = body["items"][0]["trend"]
        only = client.get(f"/api/trends?trend={first}&top=1", headers=h).json()
        assert len(only["items"]) == 1 and only["items"][0]["trend"] == first
        cats = client.get("/api/trends?level=category&lang=zh", headers=h).json()
        assert "category" in cats["items"][0] and cats["assumptions"]["lang"] == "zh"
        # notes in the language asked for, and as written beside them
        assert body["notes_en"] is None and any(n.startswith("forecast run ") for n in body["notes"])
        assert len(cats["notes"]) == len(cats["notes_en"]) and cats["notes_en"] != cats["notes"]
        assert any(n.startswith("预测批次") for n in cats["notes"])
        assert not any("英文原文" in n for n in cats["notes"])
        assert client.get("/api/trends?trend=skyrocketing", headers=h).status_code == 422

        inv = client.get("/api/inventory?top=5&lead_time=3", headers=h).json()
        assert inv["run_id"] == run_id and inv["model"] == "SeasonalNaive"
        assert inv["total"] == 12 and len(inv["items"]) == 5
        assert any("stock" in n for n in inv["notes"])  # no on-hand stock given: said so
        # no backtest stored: uncalibrated levels, said so, and calibrate=true refuses
        assert inv["assumptions"]["calibration"]["cases"] == 0
        assert any("trendcast backtest --model SeasonalNaive" in n for n in inv["notes"])
        assert {i["policy"] for i in inv["items"]} == {"nbinom"}
        refused = client.get("/api/inventory?calibrate=true", headers=h)
        assert refused.status_code == 422 and "no backtest of SeasonalNaive" in refused.text
        assert client.get("/api/inventory?service_level=1.5", headers=h).status_code == 422
        assert client.get("/api/inventory?run_id=nope", headers=h).status_code == 404

        alerts = client.get("/api/alerts?source=rating&lang=zh", headers=h).json()
        assert alerts["assumptions"]["source"] == "rating" and alerts["total"] == len(alerts["items"]) >= 1
        assert all(a["reason"] for a in alerts["items"])
        assert alerts["notes_en"] and not any("英文原文" in n for n in alerts["notes"])
        assert any("星级" in n for n in alerts["notes"])
        later = client.get("/api/alerts?source=rating&since=2100-01-01", headers=h).json()
        assert later["total"] == 0 and any("2100-01-01" in n for n in later["notes"])
        assert client.get("/api/alerts?since=yesterday", headers=h).status_code == 422

        price = client.get("/api/pricing?change=-0.1&top=3", headers=h).json()
        assert len(price["items"]) == 3 and "elasticity" in price["items"][0]
        assert price["assumptions"]["change"] == -0.1 and price["assumptions"]["objective"] == "margin"
        assert {"decision", "reason", "estimate", "weight_own", "suggested_margin"} <= set(price["items"][0])
        units = client.get("/api/pricing?objective=units&min_margin=0.3&top=12", headers=h).json()
        assert units["assumptions"]["min_margin"] == 0.3
        for row in units["items"]:
            if row["decision"] == "change":
                assert (row["suggested_price"] - row["unit_cost"]) / row["suggested_price"] >= 0.3 - 1e-9
        assert client.get("/api/pricing?objective=volume", headers=h).status_code == 422
        assert client.get("/api/pricing?id=NOPE", headers=h).status_code == 404


def test_insights_are_cached_until_the_data_changes(shop_db, monkeypatch):
    db, keys, _ = shop_db
    calls = []
    real = insights_routes.trend_calls

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(insights_routes, "trend_calls", counting)
    with TestClient(create_app(db)) as client:
        h = auth(keys["analyst"])
        first = client.get("/api/trends", headers=h).json()
        assert client.get("/api/trends", headers=h).json() == first
        assert len(calls) == 1
        client.get("/api/trends?lang=zh", headers=h)
        assert len(calls) == 2  # other parameters: computed
        resp = client.post("/api/uploads?kind=sales", files={"file": ("s.csv", sales_csv(n_series=1), "text/csv")},
                           headers=h)
        assert resp.status_code == 201
        after = client.get("/api/trends", headers=h).json()
        assert len(calls) == 3 and after["total"] == first["total"] + 1  # the new series is called too


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
def test_propensity_endpoint(tmp_path):
    import numpy as np
    import pandas as pd

    db = tmp_path / "events.duckdb"
    keys = make_keys(db)
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-03-01")
    n = 6000
    ts = start + pd.to_timedelta(rng.integers(0, 14 * 86400, n), unit="s")
    users, items = rng.integers(0, 120, n), rng.integers(0, 40, n)
    cart = rng.random(n) < 0.2
    buy = rng.random(n) < np.where(cart, 0.5, 0.01)
    frames = [pd.DataFrame({"u": users, "i": items, "t": "view", "ts": ts}),
              pd.DataFrame({"u": users[cart], "i": items[cart], "t": "cart", "ts": ts[cart] + pd.Timedelta(minutes=5)}),
              pd.DataFrame({"u": users[buy], "i": items[buy], "t": "buy", "ts": ts[buy] + pd.Timedelta(hours=20)})]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["ts"] < start + pd.Timedelta(days=14)]
    events = pd.DataFrame({"user_id": "U" + df["u"].astype(str), "item_id": "I" + df["i"].astype(str),
                           "category_id": "C" + (df["i"] % 5).astype(str), "event_type": df["t"],
                           "ts": df["ts"]}).drop_duplicates(["user_id", "item_id", "event_type", "ts"])
    with open_store(db) as store:
        ingest_frames(store, {"events": events}, source="test")
    with TestClient(create_app(db)) as client:
        h = auth(keys["viewer"])
        body = client.get("/api/propensity?days=3&top=5&k=30", headers=h).json()
        assert len(body["items"]) == 5 and body["model"] in ("lightgbm", "baseline", "blend")
        assert body["assumptions"]["selection"]["chosen"] == body["model"]
        assert "p@30" in body["assumptions"]["holdout"]["shipped"]
        assert {"probability", "basis", "cold"} <= set(body["items"][0])
        assert client.get("/api/propensity?level=brand", headers=h).status_code == 422
