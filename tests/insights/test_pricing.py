from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError, NotFoundError
from trendcast.insights.pricing import (
    ElasticityOptions,
    PriceRules,
    count_changes,
    current_prices,
    elasticities,
    optimal_price,
    poisson_irls,
    price_decisions,
    random_effects,
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
    # every product has >= 4 price changes here: the label follows the weight of its own data
    w, label = estimates["weight_own"], estimates["estimate"]
    assert (label == np.select([w >= 0.9, w >= 0.1], ["own", "shrunk"], "pooled")).all()
    assert (label == "shrunk").mean() > 0.5


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
    assert out.loc[[f"X{i}" for i in range(5)], "estimate"].isin(["own", "shrunk"]).all()
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


def test_optimal_price_by_hand():
    e = np.array([-2.0, -0.5, -3.0, 0.4, np.nan])
    lo, hi, c = np.full(5, 8.0), np.full(5, 12.0), np.full(5, 6.0)
    best = optimal_price(e, c, lo, hi, "revenue")
    assert best[0] == 8.0 and best[1] == 12.0  # revenue: elastic -> lowest, inelastic -> highest
    assert np.isnan(best[3]) and np.isnan(best[4])
    best = optimal_price(e, c, np.full(5, 5.0), np.full(5, 20.0), "margin")
    assert best[2] == pytest.approx(6 * -3 / (1 - 3))  # the markup rule c e / (1 + e) = 9
    assert best[0] == pytest.approx(12.0) and best[1] == 20.0
    assert (optimal_price(e[:3], c[:3], lo[:3], hi[:3], "units") == 8.0).all()
    assert np.isnan(optimal_price(np.array([-2.0]), np.array([6.0]), np.array([13.0]),
                                  np.array([12.0]), "margin")[0])  # infeasible range
    with pytest.raises(DataValidationError, match="objective must be one of"):
        optimal_price(e, c, lo, hi, "profitability")


def _decision_table(**cols: object) -> pd.DataFrame:
    base = {"unique_id": ["A"], "elasticity": [-3.0], "ci_low": [-3.5], "ci_high": [-2.5],
            "estimate": ["own"], "price": [10.0], "base_demand": [10.0], "unit_cost": [6.0]}
    base.update({k: [v] for k, v in cols.items()})
    return pd.DataFrame(base)


def test_price_decisions_maximise_margin_not_revenue():
    rev = price_decisions(_decision_table(), PriceRules(objective="revenue")).iloc[0]
    mar = price_decisions(_decision_table(), PriceRules(objective="margin")).iloc[0]
    units = price_decisions(_decision_table(), PriceRules(objective="units")).iloc[0]
    assert rev["suggested_price"] == pytest.approx(8.0)  # e < -1: revenue rises as price falls
    assert mar["suggested_price"] == pytest.approx(9.0)  # 6 * -3 / -2, inside the bounds
    assert units["suggested_price"] == pytest.approx(8.0)
    # the margin at 9 beats both the current price and the revenue-maximising 8
    assert mar["margin_new"] == pytest.approx(10 * 0.9**-3 * 3)
    assert mar["margin_new"] > mar["margin_now"] == pytest.approx(40.0)
    assert mar["margin_new"] > rev["margin_new"]
    assert mar["decision"] == "change" and "-10.0% to maximise margin" in mar["reason"]


def test_price_decisions_refuse_pooled_and_uncertain_estimates():
    pooled = price_decisions(_decision_table(estimate="pooled", pooled_from="department=Drinks (6 products)"))
    assert pooled.iloc[0]["decision"] == "keep" and pooled.iloc[0]["suggested_price"] == 10.0
    assert "only pooled from department=Drinks" in pooled.iloc[0]["reason"]
    wide = price_decisions(_decision_table(ci_low=-4.0, ci_high=0.3)).iloc[0]
    assert wide["decision"] == "keep" and "includes 0" in wide["reason"]
    assert wide["optimal_price"] == pytest.approx(9.0)  # what the model would have said
    unknown = price_decisions(_decision_table(elasticity=np.nan, ci_low=np.nan, ci_high=np.nan,
                                              estimate="none")).iloc[0]
    assert unknown["decision"] == "keep" and "no elasticity" in unknown["reason"]
    shrunk = price_decisions(_decision_table(estimate="shrunk")).iloc[0]
    assert shrunk["decision"] == "change"
    # already at the best price: keep
    at_best = price_decisions(_decision_table(price=9.0, unit_cost=6.0)).iloc[0]
    assert at_best["decision"] == "keep" and "already the best" in at_best["reason"]


def test_price_decisions_min_margin_and_stock():
    # a 40% minimum margin needs price >= 6 / 0.6 = 10: no cut to 9
    r = price_decisions(_decision_table(), PriceRules(min_margin=0.4)).iloc[0]
    assert r["floor"] == pytest.approx(10.0) and r["decision"] == "keep"
    # a 30% minimum margin: 6 / 0.7 = 8.57, the revenue objective stops there
    r = price_decisions(_decision_table(), PriceRules(objective="revenue", min_margin=0.3)).iloc[0]
    assert r["suggested_price"] == pytest.approx(6 / 0.7) and "minimum margin" in r["reason"]
    # a 60% margin is above the upper bound 12 (needs 15)
    r = price_decisions(_decision_table(), PriceRules(min_margin=0.6)).iloc[0]
    assert r["decision"] == "keep" and "above the upper bound 12.00" in r["reason"]
    # stock 300 over 28 days: demand 10/day x 28 = 280 now; a cut may sell at most 300
    r = price_decisions(_decision_table(on_hand=300.0), PriceRules(objective="units")).iloc[0]
    assert r["demand_new"] * 28 == pytest.approx(300.0)
    assert r["suggested_price"] == pytest.approx(10 * (300 / 280) ** (1 / -3))
    assert "stock on hand 300" in r["reason"]
    # less stock than current demand: no cut at all (and no forced rise)
    r = price_decisions(_decision_table(on_hand=100.0), PriceRules(objective="units")).iloc[0]
    assert r["decision"] == "keep" and r["suggested_price"] == 10.0
    # unknown stock (NaN) does not limit
    r = price_decisions(_decision_table(on_hand=np.nan), PriceRules(objective="units")).iloc[0]
    assert r["suggested_price"] == pytest.approx(8.0)
    with pytest.raises(DataValidationError, match="min margin"):
        PriceRules(min_margin=1.2)
    with pytest.raises(DataValidationError, match="bounds"):
        PriceRules(bounds=(1.1, 1.2))


def test_group_of_lookalikes_is_pooled_not_own():
    """tau^2 = 0 gives every member weight 0: the group mean, labelled pooled (issue 17)."""
    rng = np.random.default_rng(3)
    ds = pd.date_range("2024-01-01", periods=300)
    price = np.where(np.arange(300) % 30 < 8, 8.0, 10.0)
    frames = [pd.DataFrame({"unique_id": f"D{i}", "ds": ds, "price": price,
                            "y": rng.poisson(3 * (price / 10) ** -2.0).astype(float)}) for i in range(6)]
    products = pd.DataFrame({"unique_id": [f"D{i}" for i in range(6)], "department": "Drinks",
                             "category": "C"})
    out = elasticities(pd.concat(frames, ignore_index=True), products=products)
    zero = out[out["weight_own"] == 0]
    assert len(zero) > 0, "the simulated group should look alike (tau^2 = 0)"
    assert (zero["estimate"] == "pooled").all() and zero["note"].str.contains("look alike").all()


def test_current_prices_skip_promotions():
    ds = pd.date_range("2024-01-01", periods=40)
    promo = (np.arange(40) >= 38).astype(float)
    sales = pd.DataFrame({"unique_id": "A", "ds": ds, "price": np.where(promo > 0, 7.0, 10.0),
                          "promo": promo, "y": np.where(promo > 0, 9.0, 3.0)})
    price, base = current_prices(sales, base_days=28)
    assert price["A"] == 10.0 and base["A"] == 3.0


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
    regular = sales[sales["promo"] == 0]
    assert r["price"] == pytest.approx(regular["price"].iloc[-1])
    recent = sales[sales["ds"] > sales["ds"].max() - pd.Timedelta(days=28)]
    assert r["base_demand"] == pytest.approx(recent.loc[recent["promo"] == 0, "y"].mean())
    assert r["change_demand"] == pytest.approx(r["base_demand"] * 0.9 ** r["elasticity"])
    # the catalogue's unit cost, not the default share
    assert r["unit_cost"] == pytest.approx(shop.products.set_index("unique_id").loc[uid, "unit_cost"])
    assert r["cost_source"] == "catalogue"
    assert r["decision"] in ("change", "keep") and r["reason"]
    assert r["estimate"] in ("own", "shrunk", "pooled")
    if r["decision"] == "change":
        assert r["estimate"] != "pooled" and r["ci_high"] < 0
        assert r["suggested_margin"] > r["margin"]
    assert bool(r["extrapolated"]) == (np.isfinite(r["optimal_price"])
                                       and not r["price_min"] <= r["optimal_price"] <= r["price_max"])
    assert result.assumptions["objective"] == "margin"
    json.dumps(result.as_dict())
    with pytest.raises(NotFoundError, match="NOPE"):
        price_report(store, ids=["NOPE"])


def test_service_default_cost_and_stock(store, shop):
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.pricing import price_report

    keep = shop.products["unique_id"][:12]
    ingest_frames(store, {"products": shop.products[shop.products["unique_id"].isin(keep)]
                          .drop(columns="unit_cost"),
                          "sales": shop.sales[shop.sales["unique_id"].isin(keep)],
                          "calendar_events": shop.calendar}, source="test")
    free = price_report(store, objective="units", cost_share=0.5)
    t = free.table.set_index("unique_id")
    assert (t["cost_source"] == "default 50% of price").all()
    assert np.allclose(t["unit_cost"], t["price"] * 0.5)
    assert any("unit cost assumed 50%" in n for n in free.notes)
    assert any("no stock on hand stored" in n for n in free.notes)
    cut = t[t["decision"] == "change"]
    assert len(cut) > 0 and (cut["suggested_price"] < cut["price"]).all()  # units: cut
    # stock for one product that is cut: half of what it sells now over the horizon
    uid = cut.index[0]
    stock = pd.DataFrame({"unique_id": [uid], "ds": [shop.sales["ds"].max()],
                          "on_hand": [t.loc[uid, "base_demand"] * 28 * 0.5]})
    ingest_frames(store, {"stock_history": stock}, source="test")
    limited = price_report(store, objective="units", cost_share=0.5).table.set_index("unique_id")
    assert limited.loc[uid, "on_hand"] == pytest.approx(stock["on_hand"].iloc[0])
    assert limited.loc[uid, "decision"] == "keep"
    assert limited.loc[uid, "suggested_price"] == pytest.approx(t.loc[uid, "price"])


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
def test_cli_pricing_json(shop_store):
    store, shop = shop_store
    location = store.location
    store.close()
    proc = subprocess.run([sys.executable, "-m", "trendcast.cli", "pricing", "--db", location,
                           "--objective", "margin", "--min-margin", "0.2", "--bounds", "0.9,1.1",
                           "--top", "5", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert len(payload["products"]) == 5
    assert payload["assumptions"]["min_margin"] == 0.2 and payload["assumptions"]["objective"] == "margin"
    row = payload["products"][0]
    assert {"elasticity", "ci_low", "ci_high", "estimate", "weight_own", "decision", "reason",
            "suggested_price", "suggested_margin", "unit_cost", "cost_source"} <= set(row)
    for r in payload["products"]:
        if r["decision"] == "change":
            assert (r["suggested_price"] - r["unit_cost"]) / r["suggested_price"] >= 0.2 - 1e-9
    text = subprocess.run([sys.executable, "-m", "trendcast.cli", "pricing", "--db", location,
                           "--top", "3"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "300"})
    assert text.returncode == 0 and "decision" in text.stdout and "reason" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "trendcast.cli", "pricing", "--db", location,
                          "--bounds", "1.1,1.2"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "bounds must satisfy" in bad.stderr
