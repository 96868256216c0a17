from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError, NotFoundError
from trendcast.insights.pricing import (
    ElasticityOptions,
    count_changes,
    elasticities,
    poisson_irls,
    random_effects,
    suggest_price,
    what_if,
)


@pytest.fixture(scope="module")
def shop():
    from trendcast.data.simulate import simulate_shop

    return simulate_shop(n_products=60, seed=11)


@pytest.fixture(scope="module")
def estimates(shop):
    return elasticities(shop.sales, events=shop.calendar, products=shop.products)


def test_recovers_the_simulated_elasticities(shop, estimates):
    truth = estimates["unique_id"].map(shop.truth.products.set_index("unique_id")["elasticity"])
    raw = (estimates["elasticity_item"] - truth).abs()
    final = (estimates["elasticity"] - truth).abs()
    # measured on this shop: raw median 0.24; final MAE 0.34, median 0.23, corr 0.75, 62%
    # within 0.3, CI coverage 0.85, promotion lift 0.085 (benchmarks/pricing.py: 240 products)
    assert raw.median() < 0.4
    assert final.mean() < 0.45 and final.median() < 0.35
    assert np.corrcoef(estimates["elasticity"], truth)[0, 1] > 0.6
    assert (final <= 0.3).mean() > 0.5
    assert abs(estimates.attrs["promo_effect"] - 0.1) < 0.05  # the simulator's exp(0.1) lift
    covered = (estimates["ci_low"] <= truth) & (truth <= estimates["ci_high"])
    assert covered.mean() > 0.75
    assert (estimates["estimate"] == "item").all()


def test_ols_on_log1p_is_biased_toward_zero(shop):
    sub = shop.sales[shop.sales["unique_id"].isin(shop.products["unique_id"][:30])]
    ols = elasticities(sub, events=shop.calendar, products=shop.products,
                       options=ElasticityOptions(method="ols_log1p", shrink=False))
    truth = ols["unique_id"].map(shop.truth.products.set_index("unique_id")["elasticity"])
    assert (ols["elasticity_item"] - truth).mean() > 0.2  # why the Poisson GLM is the default


def test_products_without_price_changes_are_pooled_or_left_unknown(shop, estimates):
    sales = shop.sales.copy()
    products = shop.products.copy()
    flat_id = products["unique_id"].iloc[0]
    sales.loc[sales["unique_id"] == flat_id, "price"] = 10.0
    lonely = products["unique_id"].iloc[1]
    products.loc[products["unique_id"] == lonely, ["department", "category"]] = ["Solo", "Solo"]
    sales.loc[sales["unique_id"] == lonely, "price"] = 5.0
    out = elasticities(sales, events=shop.calendar, products=products).set_index("unique_id")
    flat = out.loc[flat_id]
    dept = products.set_index("unique_id").loc[flat_id, "department"]
    assert flat["estimate"] == "pooled" and flat["n_changes"] == 0 and "no price variation" in flat["note"]
    assert flat["pooled_from"].startswith(f"department={dept}") or flat["pooled_from"].startswith("category=")
    assert flat["se"] > 0 and flat["ci_low"] < flat["elasticity"] < flat["ci_high"]
    alone = out.loc[lonely]
    assert alone["estimate"] == "none" and np.isnan(alone["elasticity"]) and "no group" in alone["note"]


def test_few_changes_shrink_toward_the_group():
    rng = np.random.default_rng(0)
    ds = pd.date_range("2024-01-01", periods=400)
    frames = []
    for i in range(6):
        price = np.where(np.arange(400) % 50 < 10, 8.0, 10.0) if i < 5 else np.where(np.arange(400) < 200, 9.0, 10.0)
        lam = 5 * (price / 10) ** -1.5
        frames.append(pd.DataFrame({"unique_id": f"X{i}", "ds": ds, "y": rng.poisson(lam).astype(float),
                                    "price": price}))
    sales = pd.concat(frames, ignore_index=True)
    products = pd.DataFrame({"unique_id": [f"X{i}" for i in range(6)], "department": "D", "category": "C"})
    out = elasticities(sales, products=products).set_index("unique_id")
    assert (out.loc[[f"X{i}" for i in range(5)], "estimate"] == "item").all()
    one = out.loc["X5"]
    assert one["n_changes"] == 1 and one["estimate"] == "pooled" and "1 price change(s) < 4" in one["note"]
    # one step in price is hard to tell from the trend: a noisy own estimate, pulled to the group
    group = random_effects(out.loc[[f"X{i}" for i in range(5)], "elasticity_item"].to_numpy(),
                           out.loc[[f"X{i}" for i in range(5)], "se_item"].to_numpy())[0]
    assert one["se_item"] > 3 * out.loc["X0", "se_item"] and one["weight_own"] < 0.2
    assert abs(one["elasticity"] - group) < 0.1 < abs(one["elasticity_item"] - group)
    assert out.loc[[f"X{i}" for i in range(5)], "elasticity"].between(-2.0, -1.0).all()


def test_poisson_irls_matches_known_coefficients():
    rng = np.random.default_rng(1)
    n = 4000
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    beta = np.array([0.5, -1.2, 0.3])
    y = rng.poisson(np.exp(X @ beta)).astype(float)
    got, cov = poisson_irls(y, X)
    assert np.allclose(got, beta, atol=0.06)
    assert np.all(np.sqrt(np.diag(cov)) < 0.05)
    off = np.full(n, 0.7)
    got_off, _ = poisson_irls(y, X, off)
    assert got_off[0] == pytest.approx(got[0] - 0.7, abs=1e-6)


def test_random_effects_by_hand():
    mean, se, tau2 = random_effects(np.array([-1.0, -2.0]), np.array([0.1, 0.1]))
    # Q = sum w (e - mean)^2 = 100 * 0.25 * 2 = 50; c = 200 - 20000/200 = 100; tau2 = (50 - 1) / 100
    assert tau2 == pytest.approx(0.49) and mean == pytest.approx(-1.5)
    assert se == pytest.approx(np.sqrt(1 / (2 / (0.01 + 0.49))))
    assert random_effects(np.array([-1.0, -1.0, -1.0]), np.array([0.2, 0.3, 0.4]))[2] == 0.0


def test_count_changes():
    assert count_changes(pd.Series([10, 10, 9, 9, 10, np.nan, 10.02])) == 2
    assert count_changes(pd.Series([5.0])) == 0


def test_what_if_by_hand():
    w = what_if(-2.0, 10.0, 10.0, 9.0, unit_cost=6.0).iloc[0]
    assert w["new_demand"] == pytest.approx(10 * 0.9**-2)
    assert w["new_revenue"] == pytest.approx(10 * 0.9**-2 * 9)
    assert w["revenue"] == 100 and w["profit"] == 40
    assert w["new_profit"] == pytest.approx(10 * 0.9**-2 * 3)
    assert w["revenue_change"] == pytest.approx(0.9**-1 - 1)
    with pytest.raises(DataValidationError, match="> 0"):
        what_if(-1.0, 1.0, 10.0, 0.0)


def test_suggest_price_by_hand():
    e = np.array([-2.0, -0.5, -3.0, 0.4, np.nan])
    p = np.full(5, 10.0)
    best, notes = suggest_price(e, p, bounds=(0.8, 1.2))
    assert best[0] == 8.0 and best[1] == 12.0  # revenue: elastic -> cut, inelastic -> raise
    assert np.isnan(best[3]) and "elasticity >= 0" in notes[3] and "unknown" in notes[4]
    best, _ = suggest_price(e, p, bounds=(0.5, 2.0), unit_cost=np.full(5, 6.0))
    assert best[2] == pytest.approx(6 * -3 / (1 - 3))  # the markup rule c e / (1 + e) = 9
    assert best[0] == pytest.approx(12.0) and best[1] == 20.0
    with pytest.raises(DataValidationError, match="bounds"):
        suggest_price(e, p, bounds=(1.1, 1.2))


def test_needs_prices():
    sales = pd.DataFrame({"unique_id": ["A"], "ds": [pd.Timestamp("2024-01-01")], "y": [1.0]})
    with pytest.raises(DataValidationError, match="'price'"):
        elasticities(sales)


# The service and the command line ---------------------------------------------------------

@pytest.fixture
def shop_store(store, shop):
    from trendcast.services.ingest import ingest_frames

    keep = shop.products["unique_id"][:24]
    ingest_frames(store, {"products": shop.products[shop.products["unique_id"].isin(keep)],
                          "sales": shop.sales[shop.sales["unique_id"].isin(keep)],
                          "calendar_events": shop.calendar}, source="test")
    return store, shop


def test_service_reports_what_if_and_suggestion(shop_store):
    from trendcast.services.pricing import price_report

    store, shop = shop_store
    uid = shop.products["unique_id"].iloc[2]
    result = price_report(store, ids=[uid], change=-0.1, bounds=(0.5, 1.5))
    assert len(result.table) == 1
    r = result.table.iloc[0]
    sales = shop.sales[shop.sales["unique_id"] == uid].sort_values("ds")
    assert r["price"] == pytest.approx(sales["price"].iloc[-1])
    assert r["base_demand"] == pytest.approx(sales["y"].iloc[-28:].mean())
    assert r["change_demand"] == pytest.approx(r["base_demand"] * 0.9 ** r["elasticity"])
    assert r["suggested_price"] in (pytest.approx(r["price"] * 0.5), pytest.approx(r["price"] * 1.5))
    assert bool(r["extrapolated"]) == (not r["price_min"] <= r["suggested_price"] <= r["price_max"])
    assert result.assumptions["objective"] == "revenue"
    json.dumps(result.as_dict())
    with pytest.raises(NotFoundError, match="NOPE"):
        price_report(store, ids=["NOPE"])


def test_cli_pricing_json(shop_store):
    store, shop = shop_store
    location = store.location
    store.close()
    proc = subprocess.run([sys.executable, "-m", "trendcast.cli", "pricing", "--db", location,
                           "--objective", "profit", "--bounds", "0.9,1.1", "--top", "5", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert len(payload["products"]) == 5
    assert payload["assumptions"]["cost_share"] == 0.6
    row = payload["products"][0]
    assert {"elasticity", "ci_low", "ci_high", "estimate", "suggested_price", "suggested_profit"} <= set(row)
    bad = subprocess.run([sys.executable, "-m", "trendcast.cli", "pricing", "--db", location,
                          "--bounds", "1.1,1.2"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "bounds must satisfy" in bad.stderr
