"""Cold start: new products forecast from their category's launch curve and price band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError, NotFittedError
from trendcast.models.coldstart import ColdStart, cold_ids, first_sales

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2024-12-31")
PRICES = {"cheap": 5.0, "mid": 15.0, "dear": 50.0}
LEVEL = {"cheap": 8.0, "mid": 4.0, "dear": 1.0}


def ramp(age: np.ndarray) -> np.ndarray:
    """Sales climb over the first two weeks after launch, then hold."""
    return np.minimum(1.0, (age + 1) / 14)


def catalogue(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Category "Tea": 30 products launched inside the year in three price bands, plus 6 that
    sold from the start; category "Cups": 6 launches, flat sales."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END)
    products, frames = [], []
    for i in range(36):
        band = list(PRICES)[i % 3]
        uid = f"T{i:02d}"
        launch = START if i >= 30 else START + pd.Timedelta(days=40 + 8 * i)
        age = np.asarray((days - launch).days)
        lam = np.where(age >= 0, LEVEL[band] * ramp(np.maximum(age, 0)), 0.0)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": days, "y": rng.poisson(lam).astype(float),
                                    "price": PRICES[band]}))
        products.append({"unique_id": uid, "category": "Tea", "list_price": PRICES[band],
                         "launch_date": launch})
    for i in range(6):
        uid, launch = f"C{i:02d}", START + pd.Timedelta(days=60 + 30 * i)
        part = days[days >= launch]
        frames.append(pd.DataFrame({"unique_id": uid, "ds": part, "y": rng.poisson(2.0, len(part)).astype(float),
                                    "price": 9.0}))
        products.append({"unique_id": uid, "category": "Cups", "list_price": 9.0, "launch_date": None})
    return pd.DataFrame(products), pd.concat(frames, ignore_index=True)


def test_a_new_product_gets_the_profile_shape_scaled_to_its_price_band():
    products, sales = catalogue()
    model = ColdStart().fit(sales, products)
    new = pd.DataFrame({"unique_id": ["N-cheap", "N-mid", "N-dear"], "category": "Tea",
                        "list_price": [PRICES["cheap"], PRICES["mid"], PRICES["dear"]], "launch_date": None})
    fc = model.predict(28, new, None, origin=END, quantiles=[0.1, 0.5, 0.9])
    assert list(fc.columns) == ["unique_id", "ds", "ColdStart", "ColdStart-q-0.1", "ColdStart-q-0.5",
                                "ColdStart-q-0.9"]
    assert fc["ds"].min() == END + pd.Timedelta(days=1) and len(fc) == 3 * 28
    weekly = fc.assign(week=(fc["ds"] - fc["ds"].min()).dt.days // 7).groupby(
        ["unique_id", "week"])["ColdStart"].mean().unstack()
    for uid in new["unique_id"]:
        first, later = weekly.loc[uid, 0], weekly.loc[uid, [2, 3]].mean()
        assert later > 1.6 * first, uid  # the launch ramp, not a flat level
        assert later == pytest.approx(LEVEL[uid.split("-")[1]], rel=0.35), uid
    total = fc.groupby("unique_id")["ColdStart"].sum()
    assert 1.5 < total["N-cheap"] / total["N-mid"] < 2.7 and 2.5 < total["N-mid"] / total["N-dear"] < 6
    q = fc[["ColdStart-q-0.1", "ColdStart-q-0.5", "ColdStart-q-0.9"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all() and (q[:, 2] > q[:, 0]).any()
    shape = model.profile("Tea")
    assert shape["shape"].mean() == pytest.approx(1.0) and shape["units"].iloc[20] > 2 * shape["units"].iloc[0]


def test_what_a_new_product_sold_so_far_moves_its_forecast():
    products, sales = catalogue()
    model = ColdStart().fit(sales, products)
    launch = END - pd.Timedelta(days=4)
    new = pd.DataFrame({"unique_id": ["fast", "usual"], "category": "Tea", "list_price": PRICES["mid"],
                        "launch_date": launch})
    days = pd.date_range(launch, END)
    usual = LEVEL["mid"] * ramp(np.arange(len(days)))
    history = pd.concat([pd.DataFrame({"unique_id": "fast", "ds": days, "y": np.round(4 * usual)}),
                         pd.DataFrame({"unique_id": "usual", "ds": days, "y": np.round(usual)})])
    fc = model.predict(14, new, history, origin=END).groupby("unique_id")["ColdStart"].sum()
    assert fc["fast"] > 1.3 * fc["usual"]  # a tight prior here: launches in a band barely scatter


def test_a_launch_date_ahead_gives_zeros_until_the_launch():
    products, sales = catalogue()
    model = ColdStart().fit(sales, products)
    launch = END + pd.Timedelta(days=10)
    fc = model.predict(28, pd.DataFrame({"unique_id": ["soon"], "category": ["Tea"], "list_price": [15.0],
                                         "launch_date": [launch]}), None, origin=END)
    assert (fc.loc[fc["ds"] < launch, "ColdStart"] == 0).all()
    assert (fc.loc[fc["ds"] >= launch, "ColdStart"] > 0).all()


def test_which_products_are_cold():
    products, sales = catalogue()
    products = pd.concat([products, pd.DataFrame({
        "unique_id": ["listed", "dead", "yesterday", "bare"], "category": ["Tea", "Tea", "Tea", None],
        "list_price": 15.0, "launch_date": [None, None, END, None]})], ignore_index=True)
    sales = pd.concat([sales, pd.DataFrame({"unique_id": "dead", "ds": pd.date_range("2024-06-01", END),
                                            "y": 0.0})])
    first_row = sales.groupby("unique_id")["ds"].min()
    cold = cold_ids(products, first_sales(sales), first_row, origin=END)
    # launched yesterday, or listed in a category without any sale: cold; months of zero
    # sales, a launch weeks ago: the product's own history (the models); an id without a
    # category and no sales ("bare", e.g. registered from reviews): nothing to go on
    assert cold == ["listed", "yesterday"]
    assert cold_ids(products, first_sales(sales), first_row, origin=END, min_age=100) == \
        ["T29", "listed", "yesterday"]


def test_cold_start_needs_launches_and_a_fit():
    products, sales = catalogue()
    with pytest.raises(NotFittedError, match="fit"):
        ColdStart().profile("Tea")
    old = products[products["unique_id"] >= "T30"]
    with pytest.raises(ModelError, match="no product launched inside the data"):
        ColdStart().fit(sales[sales["unique_id"].isin(set(old["unique_id"]))], old)


def test_the_forecast_service_uses_cold_start_for_new_products_only(store):
    from trendcast.services.forecast import read_run, run_forecast
    from trendcast.services.ingest import ingest_frames

    products, sales = catalogue()
    products = pd.concat([products, pd.DataFrame({"unique_id": ["NEW"], "category": ["Tea"],
                                                  "list_price": [5.0], "launch_date": [pd.NaT]})],
                         ignore_index=True)
    ingest_frames(store, {"products": products, "sales": sales}, source="test")
    run = run_forecast(store, horizon=14, models=["SeasonalNaive"])
    assert any(n.startswith("cold start: 1 new product(s)") and "NEW" in n for n in run.notes)
    assert store.run_row(run.run_id)["params"]["cold_start"] == ["NEW"]
    fc = read_run(store, run.run_id).forecasts
    new = fc[fc["unique_id"] == "NEW"]
    assert len(new) == 14 and (new["SeasonalNaive"] > 0).all()
    assert new["SeasonalNaive-q-0.9"].ge(new["SeasonalNaive-q-0.1"]).all()
    # a product with a year of history keeps its own model: seasonal naive repeats its last week
    old = fc[fc["unique_id"] == "T30"]["SeasonalNaive"].to_numpy()
    last_week = sales[sales["unique_id"] == "T30"].tail(7)["y"].to_numpy()
    np.testing.assert_allclose(old, np.tile(last_week, 2))
    off = run_forecast(store, horizon=14, models=["SeasonalNaive"], cold_start=False)
    assert "NEW" not in set(read_run(store, off.run_id).forecasts["unique_id"])


def test_a_curve_needs_launches_other_than_the_new_products(store):
    """Twelve stores selling since the start and one opened yesterday (Favorita's files): before,
    the only launch inside the data was the new store itself, and its 'launch curve' was its
    first day repeated; now no curve is learnt from fewer than min_products launches, nor from
    the cold products, and the models' forecasts stay, said in a note."""
    from trendcast.services.forecast import read_run, run_forecast
    from trendcast.services.ingest import ingest_frames

    days = pd.date_range(START, END)
    old = pd.concat([pd.DataFrame({"unique_id": f"S{i:02d}", "ds": days, "y": 1500.0 + 10 * i}) for i in range(12)])
    new = pd.DataFrame({"unique_id": ["S13"], "ds": [END], "y": [1200.0]})
    stores = pd.DataFrame({"unique_id": [*(f"S{i:02d}" for i in range(12)), "S13", "S99"], "category": "store"})
    ingest_frames(store, {"products": stores, "sales": pd.concat([old, new], ignore_index=True)}, source="test")
    run = run_forecast(store, horizon=7, models=["Naive"])
    assert ("cold start: 1 new product(s) (S13) keep the models' forecasts; 1 without sales (S99) are not "
            "forecast: no launch curve could be learnt (no product launched inside the data)") in run.notes
    assert store.run_row(run.run_id)["params"].get("cold_start") in (None, [])
    fc = read_run(store, run.run_id).forecasts
    assert (fc.loc[fc["unique_id"] == "S13", "Naive"] == 1200.0).all()
    products, sales = catalogue()
    few = products[(products["unique_id"] >= "T26")]  # T26-T29 launched inside the year, T30+ not
    with pytest.raises(ModelError, match=r"4 product\(s\) launched inside the data .* needs at least 5"):
        ColdStart().fit(sales[sales["unique_id"].isin(set(few["unique_id"]))], few)


def _launches(level: float, *, n: int = 40, zero_share: float = 0.0, seed: int = 0,
              category: str = "Toys") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` products of ``category`` launched through the year selling ``level`` a day on
    average, with gamma-distributed product levels and daily noise; ``zero_share`` of the days
    sell nothing on top (a slow, patchy launch)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END)
    products, frames = [], []
    for i in range(n):
        launch = START + pd.Timedelta(days=35 + 7 * i)
        part = days[days >= launch]
        lam = level * rng.gamma(2.0, 0.5) * rng.gamma(1.0, 1.0, len(part))
        y = rng.poisson(lam) * (rng.random(len(part)) >= zero_share)
        frames.append(pd.DataFrame({"unique_id": f"{category}{i:02d}", "ds": part, "y": y.astype(float)}))
        products.append({"unique_id": f"{category}{i:02d}", "category": category, "launch_date": launch})
    return pd.DataFrame(products), pd.concat(frames, ignore_index=True)


def test_median_is_zero_for_a_slow_launch_and_positive_for_a_fast_one():
    slow_p, slow_s = _launches(0.4, zero_share=0.3, category="Slow")
    fast_p, fast_s = _launches(6.0, seed=1, category="Fast")
    model = ColdStart().fit(pd.concat([slow_s, fast_s]), pd.concat([slow_p, fast_p]))
    # single days scatter more than products' levels do: day-to-day noise on top
    assert model.day_phi_["Slow"] > model.phi_["Slow"]
    new = pd.DataFrame({"unique_id": ["new-slow", "new-fast"], "category": ["Slow", "Fast"],
                        "launch_date": None})
    fc = model.predict(28, new, None, origin=END, quantiles=[0.5]).set_index("unique_id")
    slow, fast = fc.loc["new-slow"], fc.loc["new-fast"]
    assert (slow["ColdStart-q-0.5"] == 0).all() and (slow["ColdStart"] > 0).all()  # the mean stays positive
    assert (fast["ColdStart-q-0.5"] > 0).mean() > 0.9
    # the median is what daily absolute error rewards: on fresh launches of the slow category
    # it beats the mean forecast
    test_p, test_s = _launches(0.4, zero_share=0.3, seed=9, category="Slow")
    y = test_s.groupby("unique_id").head(28)["y"].to_numpy()
    assert np.abs(y - slow["ColdStart-q-0.5"].iloc[0]).mean() < np.abs(y - slow["ColdStart"].mean()).mean()


def _two_kinds(seed: int = 0, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Launches of which 60% never sell and 40% sell Poisson(5) a day: a mixture that no
    single negative binomial around the mean (2 a day) describes."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END)
    products, frames = [], []
    for i in range(n):
        launch = START + pd.Timedelta(days=35 + 4 * i)
        part = days[days >= launch]
        rate = 5.0 if i % 5 in (0, 1) else 0.0
        frames.append(pd.DataFrame({"unique_id": f"K{i:02d}", "ds": part,
                                    "y": rng.poisson(rate, len(part)).astype(float)}))
        products.append({"unique_id": f"K{i:02d}", "category": "Kinds", "launch_date": launch})
    return pd.DataFrame(products), pd.concat(frames, ignore_index=True)


def test_quantiles_follow_the_launched_products_levels_and_what_the_product_sold():
    products, sales = _two_kinds()
    model = ColdStart().fit(sales, products)
    new = pd.DataFrame({"unique_id": ["fresh", "seller"], "category": "Kinds",
                        "launch_date": [None, END - pd.Timedelta(days=2)]})
    history = pd.DataFrame({"unique_id": "seller", "ds": pd.date_range(END - pd.Timedelta(days=2), END),
                            "y": [6.0, 4.0, 5.0]})
    fc = model.predict(28, new, history, origin=END, quantiles=[0.5, 0.9]).set_index("unique_id")
    fresh, seller = fc.loc["fresh"], fc.loc["seller"]
    # fresh: P(0) = 0.6 + 0.4 e^-5 > 0.5, so the median is 0; the 0.9 quantile is Poisson(5)'s
    # 0.75 quantile, 6
    assert (fresh["ColdStart-q-0.5"] == 0).all()
    assert fresh["ColdStart-q-0.9"].between(5, 7).all()
    # 15 units in 3 days: only the selling kind explains them, so its median is Poisson(5)'s
    assert seller["ColdStart-q-0.5"].between(4, 6).all()
    assert seller["ColdStart-q-0.9"].between(7, 9).all()
