from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from trendcast.data.simulate import ShopData, simulate_shop
from trendcast.schema import EVENT_TYPES, PRODUCT_COLUMNS

SETTINGS = {"n_products": 80, "start": "2024-01-01", "seed": 3}
END = pd.Timestamp("2025-12-31")
BEHAVIOUR_DAYS = 90

COLUMNS = {
    "products": {"unique_id": "O", "title": "O", "category": "O", "department": "O",
                 "brand": "O", "store": "O", "launch_date": "M", "list_price": "f",
                 "unit_cost": "f"},
    "sales": {"unique_id": "O", "ds": "M", "y": "f", "price": "f", "promo": "f"},
    "orders": {"order_id": "O", "unique_id": "O", "user_id": "O", "ts": "M", "quantity": "f",
               "unit_price": "f"},
    "events": {"user_id": "O", "item_id": "O", "category_id": "O", "event_type": "O", "ts": "M"},
    "reviews": {"review_id": "O", "unique_id": "O", "ts": "M", "rating": "f", "text": "O",
                "language": "O"},
    "calendar": {"ds": "M", "name": "O", "kind": "O", "region": "O", "source": "O"},
    "macro": {"name": "O", "ds": "M", "value": "f"},
}


@pytest.fixture(scope="module")
def shop() -> ShopData:
    return simulate_shop(**SETTINGS)


@pytest.fixture(scope="module")
def sales(shop: ShopData) -> pd.DataFrame:
    """Sales with each product's truth attached."""
    return shop.sales.merge(shop.truth.products, on="unique_id", validate="many_to_one")


@pytest.fixture(scope="module")
def daily(shop: ShopData) -> pd.Series:
    return shop.sales.groupby("ds")["y"].sum()


def _window(series: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    return series[(series.index >= first) & (series.index <= last)]


def _class_ids(shop: ShopData, cls: str) -> list[str]:
    tp = shop.truth.products
    return tp.loc[tp["trend_class"] == cls, "unique_id"].tolist()


# -- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(COLUMNS))
def test_columns_and_dtypes(shop: ShopData, table: str) -> None:
    frame = getattr(shop, table)
    assert list(frame.columns) == list(COLUMNS[table])
    for col, kind in COLUMNS[table].items():
        assert frame[col].dtype.kind == kind, (table, col, frame[col].dtype)
        if kind == "M":
            assert frame[col].dtype == "datetime64[ns]"
        if kind == "O":
            assert frame[col].map(type).eq(str).all(), (table, col)
    assert len(frame) > 0


def test_products(shop: ShopData) -> None:
    products = shop.products
    assert tuple(products.columns) == PRODUCT_COLUMNS
    assert len(products) == SETTINGS["n_products"] and products["unique_id"].is_unique
    assert products["unique_id"].str.fullmatch(r"P\d{4}").all()
    assert products["category"].nunique() == 8
    assert products.groupby("category")["department"].nunique().between(2, 3).all()
    assert products.groupby("category")["brand"].nunique().min() >= 2
    assert (products["store"] == "online").all()
    assert (products["list_price"] > 0).all()
    share = products["unit_cost"] / products["list_price"]
    assert share.between(0.39, 0.76).all() and share.std() > 0.05  # a cost per product
    # Bilingual titles: Chinese characters and Latin words.
    assert products["title"].str.contains("[\u4e00-\u9fff]").all()
    assert products["title"].str.contains("[A-Za-z]{3}").all()


def test_truth_tables(shop: ShopData) -> None:
    tp = shop.truth.products
    assert list(tp.columns) == ["unique_id", "trend_class", "elasticity", "base_demand",
                                "weekly_amplitude", "yearly_amplitude", "growth_rate"]
    assert set(tp["trend_class"]) == {"rising", "declining", "seasonal", "steady",
                                      "intermittent", "emerging"}
    assert tp["elasticity"].between(-2.5, -0.5).all()
    assert (tp.loc[tp["trend_class"] == "rising", "growth_rate"] >= 0.3).all()
    assert (tp.loc[tp["trend_class"] == "declining", "growth_rate"] <= -0.3).all()
    assert list(shop.truth.incidents.columns) == ["unique_id", "start", "end", "severity"]
    assert list(shop.truth.stockouts.columns) == ["unique_id", "ds", "demand", "expected"]
    assert len(shop.truth.incidents) >= 3 and len(shop.truth.stockouts) > 0
    assert (shop.truth.incidents["start"] <= shop.truth.incidents["end"]).all()


def test_calendar_and_macro(shop: ShopData) -> None:
    double11 = shop.calendar.loc[shop.calendar["name"] == "Double 11", "ds"]
    assert pd.Timestamp("2024-11-11") in set(double11)
    assert set(shop.macro["name"]) == {"consumer_confidence", "cpi_yoy"}
    months = shop.macro.loc[shop.macro["name"] == "cpi_yoy", "ds"]
    expected = pd.date_range(SETTINGS["start"], END, freq="MS")
    assert list(months) == list(expected)
    cc = shop.macro.loc[shop.macro["name"] == "consumer_confidence", "value"]
    assert cc.between(70, 130).all() and cc.std() > 0
    assert cc.diff().abs().max() < 10  # smooth, not white noise


# -- sales -------------------------------------------------------------------------------------


def test_sales_keys_and_values(shop: ShopData) -> None:
    s = shop.sales
    assert not s.duplicated(["unique_id", "ds"]).any()
    assert (s["y"] >= 0).all() and (s["y"] == np.round(s["y"])).all()
    assert (s["price"] > 0).all()
    assert set(s["promo"].unique()) <= {0.0, 1.0}
    assert s["ds"].max() == END
    launch = s["unique_id"].map(shop.products.set_index("unique_id")["launch_date"])
    assert (s["ds"] >= launch).all()
    # Every product has a row for every day from max(launch, start) to end: no gaps.
    first = launch.groupby(s["unique_id"]).first().clip(lower=pd.Timestamp(SETTINGS["start"]))
    expected = ((END - first).dt.days + 1).sort_index()
    assert s.groupby("unique_id").size().sort_index().equals(expected)
    # Promotions cut the price.
    ratio = s["price"] / s["unique_id"].map(shop.products.set_index("unique_id")["list_price"])
    assert ratio[s["promo"] == 1].median() < ratio[s["promo"] == 0].median()


def test_rising_and_declining_trends(shop: ShopData) -> None:
    s = shop.sales.set_index("unique_id")

    def last_over_first(uid: str) -> float:
        y = s.loc[uid, "y"].to_numpy()
        return y[-90:].mean() / max(y[:90].mean(), 1e-9)

    rising = [last_over_first(u) for u in _class_ids(shop, "rising")]
    declining = [last_over_first(u) for u in _class_ids(shop, "declining")]
    assert np.mean(np.array(rising) > 1) >= 0.8
    assert np.mean(np.array(declining) < 1) >= 0.8


def test_emerging_products_are_late_and_accelerating(shop: ShopData) -> None:
    launch = shop.products.set_index("unique_id")["launch_date"]
    festival_days = shop.calendar.loc[shop.calendar["source"] == "trendcast", "ds"]
    calm = shop.sales[~shop.sales["ds"].isin(festival_days)].set_index("unique_id")
    emerging = _class_ids(shop, "emerging")
    thirds = []
    for uid in emerging:
        assert launch[uid] >= END - pd.Timedelta(days=280)
        y = calm.loc[uid, "y"].to_numpy()
        thirds.append([part.mean() for part in np.array_split(y, 3)])
    first, middle, last = np.array(thirds).T
    assert (last > first).all()
    assert np.mean(last > first * 1.5) >= 0.7
    # Accelerating: on average (each product scaled to its own mean) the later step up is
    # bigger than the earlier one.
    curve = (np.array(thirds) / np.array(thirds).mean(axis=1, keepdims=True)).mean(axis=0)
    assert curve[2] - curve[1] > curve[1] - curve[0] > 0
    older = launch.drop(emerging)
    assert (older < END - pd.Timedelta(days=280)).mean() > 0.9


def test_seasonal_products_have_a_strong_yearly_cycle(sales: pd.DataFrame) -> None:
    # Mean per calendar month, leaving out festival months that lift every product.
    s = sales[~sales["ds"].dt.month.isin([6, 11])]
    monthly = s.groupby(["unique_id", s["ds"].dt.month])["y"].mean().unstack()
    swing = np.log((monthly.max(axis=1) + 0.1) / (monthly.min(axis=1) + 0.1))
    cls = sales.groupby("unique_id")["trend_class"].first()
    seasonal, steady = swing[cls == "seasonal"], swing[cls == "steady"]
    assert seasonal.median() > steady.median() + 0.6
    assert (seasonal > steady.median()).mean() >= 0.8


def test_weekends_sell_more(daily: pd.Series) -> None:
    by_dow = daily.groupby(daily.index.dayofweek).mean()
    assert by_dow[[5, 6]].mean() > by_dow[[0, 1, 2]].mean() * 1.05


def test_intermittent_products_are_mostly_zero(sales: pd.DataFrame) -> None:
    inter = sales[sales["trend_class"] == "intermittent"]
    zero_share = inter.groupby("unique_id")["y"].apply(lambda y: (y == 0).mean())
    assert len(zero_share) > 0 and (zero_share > 0.5).all()
    others = sales[sales["trend_class"].isin(["steady", "rising"])]
    assert (others["y"] == 0).mean() < 0.5


def test_stockouts_force_zero_sales(shop: ShopData) -> None:
    merged = shop.truth.stockouts.merge(shop.sales, on=["unique_id", "ds"], how="left")
    assert merged["y"].notna().all() and (merged["y"] == 0).all()


@pytest.mark.parametrize("year", [2024, 2025])
def test_double_11_spike(daily: pd.Series, year: int) -> None:
    day = pd.Timestamp(f"{year}-11-11")
    around = _window(daily, day - pd.Timedelta(days=7), day + pd.Timedelta(days=7)).drop(day)
    assert daily[day] > 1.5 * around.mean()
    assert daily[pd.Timestamp(f"{year}-06-18")] > 1.5 * _window(
        daily, pd.Timestamp(f"{year}-06-25"), pd.Timestamp(f"{year}-07-08")).mean()


def test_spring_festival_dip(shop: ShopData, daily: pd.Series) -> None:
    period = shop.calendar.loc[shop.calendar["name"] == "Spring Festival period", "ds"]
    period = period[period <= daily.index.max()]  # the calendar runs a year past the sales
    assert period.dt.year.nunique() >= 2
    for _, days in period.groupby(period.dt.year):
        first = days.min()
        before = _window(daily, first - pd.Timedelta(days=14), first - pd.Timedelta(days=1))
        assert daily[days].mean() < 0.8 * before.mean()


def test_log_log_regression_recovers_elasticity(shop: ShopData, sales: pd.DataFrame) -> None:
    # Off festival days, with trend, weekday and yearly terms as controls, price variation comes
    # from permanent price changes and random promotions.
    festival_days = shop.calendar.loc[shop.calendar["source"] == "trendcast", "ds"]
    calm = sales[~sales["ds"].isin(festival_days)]
    top = calm.groupby("unique_id")["y"].mean().nlargest(12).index
    slopes = []
    for uid in top:
        g = calm[calm["unique_id"] == uid]
        t = (g["ds"] - g["ds"].min()).dt.days.to_numpy() / 365.0
        dow = pd.get_dummies(g["ds"].dt.dayofweek, drop_first=True).to_numpy(float)
        season = 2 * np.pi * g["ds"].dt.dayofyear.to_numpy() / 365.25
        fourier = np.column_stack([np.sin(season), np.cos(season), np.sin(2 * season),
                                   np.cos(2 * season)])
        x = np.column_stack([np.ones(len(g)), np.log(g["price"]), t, dow, fourier])
        coef, *_ = np.linalg.lstsq(x, np.log(g["y"] + 0.5), rcond=None)
        slopes.append(coef[1])
    slopes = np.array(slopes)
    assert np.mean(slopes[:6] < 0) >= 5 / 6, slopes
    truth = sales.groupby("unique_id")["elasticity"].first()[top].to_numpy()
    assert np.median(np.abs(slopes - truth)) < 1.0, (slopes, truth)


# -- orders and events -------------------------------------------------------------------------


def test_orders_aggregate_to_sales(shop: ShopData) -> None:
    o = shop.orders
    window_start = END - pd.Timedelta(days=BEHAVIOUR_DAYS - 1)
    assert o["ts"].min() >= window_start and o["ts"].max() < END + pd.Timedelta(days=1)
    assert o["order_id"].is_unique
    assert (o["quantity"] >= 1).all() and (o["quantity"] == np.round(o["quantity"])).all()
    assert o["user_id"].str.fullmatch(r"U\d{5}").all()
    agg = o.groupby(["unique_id", o["ts"].dt.normalize().rename("ds")])["quantity"].sum()
    s = shop.sales[shop.sales["ds"] >= window_start].set_index(["unique_id", "ds"])["y"]
    joined = s.to_frame().join(agg, how="outer").fillna(0.0)
    assert len(joined) == len(s)  # no orders on days without a sales row
    np.testing.assert_array_equal(joined["y"].to_numpy(), joined["quantity"].to_numpy())
    # Orders carry the day's price.
    priced = o.assign(ds=o["ts"].dt.normalize()).merge(shop.sales, on=["unique_id", "ds"])
    np.testing.assert_allclose(priced["unit_price"], priced["price"])


def test_every_buy_matches_an_order(shop: ShopData) -> None:
    ev, o = shop.events, shop.orders
    assert set(ev["event_type"]) == set(EVENT_TYPES)
    buys = ev[ev["event_type"] == "buy"]
    key = ["user_id", "item_id", "ts"]
    left = buys[key].sort_values(key).reset_index(drop=True)
    right = (o.rename(columns={"unique_id": "item_id"})[key].sort_values(key)
             .reset_index(drop=True))
    pd.testing.assert_frame_equal(left, right)
    window_start = END - pd.Timedelta(days=BEHAVIOUR_DAYS - 1)
    assert ev["ts"].min() >= window_start and ev["ts"].max() < END + pd.Timedelta(days=1)
    assert not ev.duplicated(["user_id", "item_id", "event_type", "ts"]).any()
    category = shop.products.set_index("unique_id")["category"]
    assert (ev["category_id"] == ev["item_id"].map(category)).all()
    assert len(ev) < 2_000 * SETTINGS["n_products"]  # volume stays moderate


def test_views_lead_purchases(shop: ShopData) -> None:
    ev = shop.events.sort_values("ts")
    buys = ev.loc[ev["event_type"] == "buy", ["user_id", "item_id", "ts"]]
    key = ["user_id", "item_id"]
    for kind, share in (("view", 0.7), ("cart", 0.8), ("fav", 0.7)):
        acts = ev.loc[ev["event_type"] == kind, ["user_id", "item_id", "ts"]]
        # Pair each action with the nearest purchase of the same item by the same user.
        near = pd.merge_asof(acts, buys.rename(columns={"ts": "buy_ts"}), left_on="ts",
                             right_on="buy_ts", by=key, direction="nearest").dropna()
        assert len(near) > 0.5 * len(acts)  # most lead to a purchase ...
        assert len(near) < len(acts)  # ... but some are browsing that does not convert
        lead = near["buy_ts"] - near["ts"]
        assert (lead > pd.Timedelta(0)).mean() > share, kind
        assert lead.median() > pd.Timedelta(0), kind
    # Views come days before the purchase as well as in the same session.
    views = ev.loc[ev["event_type"] == "view", ["user_id", "item_id", "ts"]]
    nxt = pd.merge_asof(views, buys.rename(columns={"ts": "buy_ts"}), left_on="ts",
                        right_on="buy_ts", by=key, direction="forward").dropna()
    lead = nxt["buy_ts"] - nxt["ts"]
    assert (lead > pd.Timedelta(days=1)).mean() > 0.2
    assert (lead < pd.Timedelta(hours=1)).mean() > 0.2


# -- reviews -----------------------------------------------------------------------------------


def test_reviews_follow_sales(shop: ShopData) -> None:
    r = shop.reviews
    assert r["review_id"].is_unique
    assert r["rating"].isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()
    assert r["language"].isin(["zh", "en"]).all()
    assert 0.5 < (r["language"] == "zh").mean() < 0.7
    units = shop.sales.groupby("unique_id")["y"].sum()
    counts = r.groupby("unique_id").size().reindex(units.index, fill_value=0)
    assert np.corrcoef(units, counts)[0, 1] > 0.8
    assert 0.01 < len(r) / units.sum() < 0.1
    assert (r["ts"] >= pd.Timestamp(SETTINGS["start"])).all()
    assert (r["ts"] < END + pd.Timedelta(days=1)).all()
    zh = r.loc[r["language"] == "zh", "text"]
    en = r.loc[r["language"] == "en", "text"]
    assert zh.str.contains("[\u4e00-\u9fff]").all()
    assert not en.str.contains("[\u4e00-\u9fff]").any()
    assert r["text"].nunique() > 200
    assert not r["text"].str.contains(r"[{}]").any()  # every template slot filled


def test_review_text_sentiment_tracks_rating(shop: ShopData) -> None:
    en = shop.reviews[shop.reviews["language"] == "en"]
    negative = en["text"].str.contains(
        "Avoid|Terrible|disappointed|Returned|Not as described|never replied")
    assert negative[en["rating"] <= 2].mean() > 0.6
    assert negative[en["rating"] >= 4].mean() < 0.05


def test_ratings_drop_during_incidents(shop: ShopData) -> None:
    r = shop.reviews.assign(day=shop.reviews["ts"].dt.normalize())
    m = r.merge(shop.truth.incidents, on="unique_id", how="left")
    during = (m["day"] >= m["start"]) & (m["day"] <= m["end"])
    assert during.sum() >= 5
    assert m.loc[during, "rating"].mean() < m.loc[~during, "rating"].mean() - 1.0


def test_demand_dips_during_incidents(shop: ShopData) -> None:
    s = shop.sales.merge(shop.truth.incidents, on="unique_id")
    ratios = []
    for _, g in s.groupby("unique_id"):
        start = g["start"].iloc[0]
        during = g[(g["ds"] >= start) & (g["ds"] <= g["end"])]["y"].mean()
        before = g[(g["ds"] < start) & (g["ds"] >= start - pd.Timedelta(days=28))]["y"].mean()
        ratios.append(during / before)
    assert np.median(ratios) < 0.8


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_data(shop: ShopData) -> None:
    again = simulate_shop(**SETTINGS)
    for field in dataclasses.fields(ShopData):
        if field.name == "truth":
            for tf in dataclasses.fields(again.truth):
                pd.testing.assert_frame_equal(getattr(shop.truth, tf.name),
                                              getattr(again.truth, tf.name))
        else:
            pd.testing.assert_frame_equal(getattr(shop, field.name), getattr(again, field.name))


def test_other_seed_other_data(shop: ShopData) -> None:
    other = simulate_shop(**{**SETTINGS, "seed": SETTINGS["seed"] + 1})
    assert not shop.sales["y"].equals(other.sales["y"])
    assert not shop.products["title"].equals(other.products["title"])


def test_frozen(shop: ShopData) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        shop.sales = shop.sales  # type: ignore[misc]
