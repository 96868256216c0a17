"""Inferred stock-outs: a zero run too unlikely under the product's demand around it (day
factors from the rest of the catalogue, negative binomial dispersion, uncertain level), never
on days the whole shop sold nothing, never a slow or lumpy mover's ordinary zeros."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.data.calendar import festival_calendar
from trendcast.features.cleaning import OUTLIER, STOCKOUT_INFERRED, CleaningOptions, clean_series

DAYS = pd.date_range("2024-01-01", periods=300, freq="D")
WEEK = np.array([0.8, 0.8, 0.9, 0.9, 1.0, 1.4, 1.2])  # Mon..Sun
NO_OUTLIERS = CleaningOptions(outliers=False)


def catalogue(levels: dict[str, float], *, n_others: int = 20, size: float | None = None,
              seed: int = 0, days: pd.DatetimeIndex = DAYS, day_factor: np.ndarray | None = None,
              ) -> pd.DataFrame:
    """Daily sales of the named products (mean level each) and ``n_others`` products at 4 a
    day, all following the same weekday shape (and ``day_factor``); Poisson, or negative
    binomial with ``size`` for the named products."""
    rng = np.random.default_rng(seed)
    shape = WEEK[days.dayofweek] * (1.0 if day_factor is None else day_factor)
    frames = []
    names = {**levels, **{f"O{i:02d}": 4.0 for i in range(n_others)}}
    for uid, level in names.items():
        mu = level * shape
        if size is not None and uid in levels:
            mu = mu * rng.gamma(size, 1 / size, len(days))
        frames.append(pd.DataFrame({"unique_id": uid, "ds": days, "y": rng.poisson(mu).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def inferred(changes: pd.DataFrame, uid: str) -> pd.DatetimeIndex:
    rows = changes[(changes["unique_id"] == uid) & (changes["reason"] == STOCKOUT_INFERRED)]
    return pd.DatetimeIndex(rows["ds"])


def test_a_stock_out_run_is_found_and_filled_with_the_local_demand():
    df = catalogue({"A": 5.0})
    out = (df["unique_id"] == "A") & df["ds"].between("2024-05-01", "2024-05-06")
    df.loc[out, "y"] = 0.0
    cleaned, changes = clean_series(df, options=NO_OUTLIERS)
    found = inferred(changes, "A")
    assert found.equals(pd.date_range("2024-05-01", "2024-05-06"))
    rows = cleaned[(cleaned["unique_id"] == "A") & cleaned["ds"].isin(found)]
    filled = rows["y"]
    assert filled.between(2.5, 10).all() and abs(filled.mean() - 5.0 * WEEK[found.dayofweek].mean()) < 1.5
    # Saturday is filled higher than Wednesday (the catalogue's day factor)
    by_day = dict(zip(rows["ds"].dt.dayofweek, filled, strict=True))
    assert by_day[5] > by_day[2]
    assert (df.loc[out, "y"] == 0).all()  # the input frame is not changed
    assert changes.loc[changes["reason"] == STOCKOUT_INFERRED, "unique_id"].eq("A").all()


def test_days_the_whole_shop_sold_nothing_are_not_stock_outs():
    df = catalogue({"A": 5.0})
    closed = df["ds"].between("2024-06-10", "2024-06-16")  # the shop closed for a week
    df.loc[closed, "y"] = 0.0
    _, changes = clean_series(df, options=NO_OUTLIERS)
    assert changes.empty
    # a product's own stock-out next to the closure is still found, the closed days are not
    df.loc[(df["unique_id"] == "A") & df["ds"].between("2024-06-17", "2024-06-22"), "y"] = 0.0
    _, changes = clean_series(df, options=NO_OUTLIERS)
    assert inferred(changes, "A").equals(pd.date_range("2024-06-17", "2024-06-22"))


def test_a_slow_movers_ordinary_zeros_are_not_stock_outs():
    df = catalogue({"S": 0.4, "T": 0.8}, seed=3)
    slow = (df["unique_id"] == "S") & df["ds"].between("2024-07-01", "2024-07-12")
    df.loc[slow, "y"] = 0.0  # 12 zero days: about 5 units expected, a few natural runs like it
    _, changes = clean_series(df, options=NO_OUTLIERS)
    assert inferred(changes, "S").empty and inferred(changes, "T").empty


def test_lumpy_sales_need_a_longer_run_than_steady_ones():
    steady = catalogue({"A": 3.0}, seed=5)
    lumpy = catalogue({"A": 3.0}, size=0.3, seed=5)
    for df in (steady, lumpy):
        df.loc[(df["unique_id"] == "A") & df["ds"].between("2024-08-05", "2024-08-10"), "y"] = 0.0
    assert len(inferred(clean_series(steady, options=NO_OUTLIERS)[1], "A")) == 6
    assert inferred(clean_series(lumpy, options=NO_OUTLIERS)[1], "A").empty


def test_a_product_that_fades_is_not_a_stock_out():
    df = catalogue({"F": 5.0})
    fading = (df["unique_id"] == "F") & (df["ds"] >= "2024-06-01")
    rng = np.random.default_rng(9)
    df.loc[fading, "y"] = rng.poisson(0.2, int(fading.sum())).astype(float)
    df.loc[(df["unique_id"] == "F") & df["ds"].between("2024-06-01", "2024-06-07"), "y"] = 0.0
    _, changes = clean_series(df, options=NO_OUTLIERS)
    assert inferred(changes, "F").empty


def test_a_stock_out_in_the_spring_festival_dip_is_found_when_the_catalogue_shows_the_dip():
    days = pd.date_range("2023-11-01", periods=200, freq="D")
    calendar = festival_calendar(days[0], days[-1])
    festival = pd.DatetimeIndex(calendar.loc[calendar["name"].str.contains("Spring Festival"), "ds"])
    dip = np.where(days.isin(festival), 0.45, 1.0)
    df = catalogue({"A": 12.0}, days=days, day_factor=dip, seed=2)
    run = pd.date_range(festival.min() + pd.Timedelta(days=2), periods=6)
    df.loc[(df["unique_id"] == "A") & df["ds"].isin(run), "y"] = 0.0
    cleaned, changes = clean_series(df, calendar=calendar, options=NO_OUTLIERS)
    assert inferred(changes, "A").equals(run)
    assert cleaned.loc[(cleaned["unique_id"] == "A") & cleaned["ds"].isin(run), "y"].mean() < 12 * 0.8
    # alone (no catalogue to show the dip), the Spring Festival period counts as closed
    alone = df[df["unique_id"] == "A"]
    assert inferred(clean_series(alone, calendar=calendar, options=NO_OUTLIERS)[1], "A").empty


def test_a_weaker_run_counts_on_a_product_that_already_ran_out():
    df = catalogue({"A": 2.5, "B": 2.5}, seed=4)
    strong = (df["unique_id"] == "A") & df["ds"].between("2024-03-04", "2024-03-15")
    weak = df["ds"].between("2024-08-05", "2024-08-08")  # Mon-Thu: about 8 units expected
    df.loc[strong | weak & df["unique_id"].isin(["A", "B"]), "y"] = 0.0
    _, changes = clean_series(df, options=NO_OUTLIERS)
    four = pd.date_range("2024-08-05", "2024-08-08")
    assert inferred(changes, "A").equals(pd.date_range("2024-03-04", "2024-03-15").append(four))
    assert inferred(changes, "B").empty  # the same run alone is within chance
    once = CleaningOptions(outliers=False, alpha_repeat=CleaningOptions().alpha)
    assert not inferred(clean_series(df, options=once)[1], "A").isin(four).any()


def promo_catalogue(seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Product A sells 4 a day and 3x on its promo days (every 10th day for 3 days); the
    rest of the catalogue has no promos. Returns the sales and the drivers frame."""
    df = catalogue({"A": 4.0}, seed=seed)
    promo = (np.arange(len(DAYS)) % 10 < 3).astype(float)
    df["promo"] = 0.0
    is_a = df["unique_id"] == "A"
    df.loc[is_a, "promo"] = promo
    rng = np.random.default_rng(seed + 1)
    mu = 4.0 * WEEK[DAYS.dayofweek] * np.where(promo > 0, 3.0, 1.0)
    df.loc[is_a, "y"] = rng.poisson(mu).astype(float)
    return df[["unique_id", "ds", "y"]], df[["unique_id", "ds", "promo"]]


def test_a_stock_out_on_promo_days_is_filled_at_the_promo_demand():
    sales, drivers = promo_catalogue()
    run = pd.date_range("2024-06-18", "2024-06-27")  # 10 days, 3 of them on promo
    sales.loc[(sales["unique_id"] == "A") & sales["ds"].isin(run), "y"] = 0.0
    cleaned, changes = clean_series(sales, drivers=drivers, options=NO_OUTLIERS)
    assert inferred(changes, "A").equals(run)
    assert list(cleaned.columns) == ["unique_id", "ds", "y"]  # the drivers are not added
    rows = cleaned[(cleaned["unique_id"] == "A") & cleaned["ds"].isin(run)].merge(drivers)
    on, off = rows.loc[rows["promo"] > 0, "y"].mean(), rows.loc[rows["promo"] == 0, "y"].mean()
    assert 2.0 < on / off < 4.5
    # without the drivers the promo days are filled like the others
    plain = clean_series(sales, options=NO_OUTLIERS)[0]
    rows = plain[(plain["unique_id"] == "A") & plain["ds"].isin(run)].merge(drivers)
    assert rows.loc[rows["promo"] > 0, "y"].mean() / rows.loc[rows["promo"] == 0, "y"].mean() < 1.6


def outliers(changes: pd.DataFrame, uid: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(changes.loc[(changes["unique_id"] == uid) & (changes["reason"] == OUTLIER), "ds"])


def test_promo_peaks_and_a_slow_movers_counts_are_not_outliers_a_real_spike_is():
    sales, drivers = promo_catalogue()
    slow = catalogue({"S": 1.5}, n_others=0, size=4.0, seed=8)
    sales = pd.concat([sales, slow], ignore_index=True)
    spike = (sales["unique_id"] == "O03") & (sales["ds"] == pd.Timestamp("2024-09-11"))
    sales.loc[spike, "y"] = 60.0  # a bulk order: 15 times the usual 4
    cleaned, changes = clean_series(sales, drivers=drivers, options=CleaningOptions(stockouts=False))
    assert outliers(changes, "A").empty and outliers(changes, "S").empty
    assert outliers(changes, "O03").equals(pd.DatetimeIndex(["2024-09-11"]))
    assert changes["reason"].eq(OUTLIER).sum() == 1
    assert 2.0 <= float(cleaned.loc[spike, "y"].iloc[0]) <= 7.0


def test_a_rare_deep_promo_is_demand_not_an_outlier():
    """One day in 25 sells 5x (a flash sale): the old rule (robust z over the rolling median,
    MAD-scaled) cut each of them down to the median."""
    df = catalogue({"P": 4.0}, seed=9)
    promo = np.arange(len(DAYS)) % 25 == 12
    is_p = df["unique_id"] == "P"
    df.loc[is_p, "y"] += np.where(promo, np.random.default_rng(9).poisson(16.0, len(DAYS)), 0)
    drivers = df.loc[is_p, ["unique_id", "ds"]].assign(promo=promo.astype(float))
    for given in (drivers, None):
        _, changes = clean_series(df, drivers=given, options=CleaningOptions(stockouts=False))
        assert changes.empty
