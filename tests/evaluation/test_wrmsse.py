from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import m5_folder
from trendcast.evaluation.wrmsse import LEVELS, aggregate_to_level, m5_levels, spl, wrmsse
from trendcast.schema import quantile_column

PRODUCTS = pd.DataFrame({"unique_id": ["A", "B"], "category": ["C"] * 2, "department": ["C_1"] * 2})


def long(values: dict[str, list[float]], start: str, **cols: dict[str, list[float]]) -> pd.DataFrame:
    """Long frame from per-series value lists on consecutive days."""
    frames = []
    for uid, ys in values.items():
        frame = pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(ys)),
                              "y": np.asarray(ys, dtype=float)})
        for name, per_id in cols.items():
            frame[name] = np.asarray(per_id[uid], dtype=float)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def hand_example():
    # A: price 2 every day. B: price 1 but unknown on day 1 (sold 2 there -> no revenue).
    train = long({"A": [0, 0, 1, 3, 2, 4], "B": [2, 0, 2, 1, 1, 2]}, "2024-01-01",
                 price={"A": [2.0] * 6, "B": [np.nan] + [1.0] * 5})
    test = long({"A": [3, 5], "B": [1, 2]}, "2024-01-07")
    fc = test.drop(columns="y").assign(m=[2.0, 5.0, 2.0, 0.0])
    return train, test, fc


def test_perfect_forecast_scores_zero():
    train, test, _ = hand_example()
    res = wrmsse(train, test, test.rename(columns={"y": "m"}), PRODUCTS, model="m")
    assert res.total == 0.0
    assert res.levels == {level: 0.0 for level in LEVELS}


def test_two_items_hand_computed():
    train, test, fc = hand_example()
    # scales (mean squared one-step difference from the first non-zero value):
    #   A: [1,3,2,4] -> diffs 2,-1,2 -> (4+1+4)/3 = 3
    #   B: [2,0,2,1,1,2] -> diffs -2,2,-1,0,1 -> (4+4+1+0+1)/5 = 2
    #   store = cat = dept: [2,0,3,4,3,6] -> diffs -2,3,1,-1,3 -> (4+9+1+1+9)/5 = 4.8
    # MSE over the 2 test days:
    #   A: y 3,5 vs 2,5 -> (1+0)/2 = 0.5 ; B: y 1,2 vs 2,0 -> (1+4)/2 = 2.5
    #   store: y 4,7 vs 4,5 -> (0+4)/2 = 2
    # revenue: A 2*(0+0+1+3+2+4) = 20 ; B 1*(0+2+1+1+2) = 6 -> weights 20/26, 6/26
    store = math.sqrt(2 / 4.8)
    item = 20 / 26 * math.sqrt(0.5 / 3) + 6 / 26 * math.sqrt(2.5 / 2)
    res = wrmsse(train, test, fc, PRODUCTS, model="m")
    assert res.levels == pytest.approx(
        {"store": store, "store_cat": store, "store_dept": store, "item": item})
    assert res.total == pytest.approx((3 * store + item) / 4)
    # the same prices passed separately give the same score
    alone = wrmsse(train.drop(columns="price"), test, fc, PRODUCTS, model="m",
                   prices=train[["unique_id", "ds", "price"]])
    assert alone == res


def test_levels_and_aggregation_ids():
    products = pd.DataFrame({"unique_id": ["A", "B", "D"], "category": ["F", "F", "H"],
                             "department": ["F_1", "F_2", "H_1"], "store": "CA_1"})
    assert m5_levels(products) == {"store": ["CA_1"], "store_cat": ["F", "H"],
                                   "store_dept": ["F_1", "F_2", "H_1"], "item": ["A", "B", "D"]}
    df = long({"A": [1, 2], "B": [10, 20], "D": [100, 200]}, "2024-01-01")
    cat = aggregate_to_level(df, products, "store_cat", ["y"])
    assert cat["unique_id"].tolist() == ["F", "F", "H", "H"]
    assert cat["y"].tolist() == [11, 22, 100, 200]
    with pytest.raises(ValueError, match=r"products: no row for series \['D'\]"):
        aggregate_to_level(df, PRODUCTS, "item", ["y"])
    total = aggregate_to_level(df[df["unique_id"] != "D"], PRODUCTS, "store", ["y"])
    assert total["unique_id"].tolist() == ["Total"] * 2 and total["y"].tolist() == [11, 22]


def test_leading_zeros_are_excluded_from_the_scale():
    products = PRODUCTS.iloc[:1]
    train = long({"A": [0, 0, 0, 0, 2, 4, 2, 4]}, "2024-01-01", price={"A": [1.0] * 8})
    test = long({"A": [3]}, "2024-01-09")
    fc = test.drop(columns="y").assign(m=1.0)
    # from the first sale: diffs 2,-2,2 -> scale 4 -> RMSSE sqrt(2^2 / 4) = 1
    # with the zeros it would be 16/7 -> sqrt(4 * 7 / 16) = 1.32
    res = wrmsse(train, test, fc, products, model="m")
    assert res.total == pytest.approx(1.0)
    assert res.levels == pytest.approx({level: 1.0 for level in LEVELS})


def test_weights_use_only_the_last_28_training_days():
    # 35 days. A: 1,2,1,2,... ; B sold 100 a day in week 1, then 0,1,0,1,... (price 1).
    a = [1.0, 2.0] * 17 + [1.0]
    b = [100.0] * 7 + [0.0, 1.0] * 14
    train = long({"A": a, "B": b}, "2024-01-01", price={"A": [1.0] * 35, "B": [1.0] * 35})
    test = long({"A": [2], "B": [1]}, "2024-02-05")
    fc = test.drop(columns="y").assign(m=[1.0, 1.0])
    # A: scale 1, error 1 -> RMSSE 1 ; B exact -> 0.
    # last 28 days revenue: A 14*(2+1) = 42, B 14 -> A weighs 42/56 = 0.75.
    # All 35 days would give A 52 / (52 + 714) = 0.068.
    res = wrmsse(train, test, fc, PRODUCTS, model="m")
    assert res.levels["item"] == pytest.approx(0.75)


def test_missing_forecast_rows_name_the_series():
    train, test, fc = hand_example()
    with pytest.raises(ValueError, match=r"forecast: no row for 1 .*'B'.*B on 2024-01-08"):
        wrmsse(train, test, fc.iloc[:-1], PRODUCTS, model="m")
    nan = fc.assign(m=[1.0, np.nan, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"NaN in \['m'\].*A on 2024-01-08"):
        wrmsse(train, test, nan, PRODUCTS, model="m")
    with pytest.raises(ValueError, match=r"forecast: missing column\(s\) \['other'\]"):
        wrmsse(train, test, fc, PRODUCTS, model="other")
    with pytest.raises(ValueError, match="price"):
        wrmsse(train.drop(columns="price"), test, fc, PRODUCTS, model="m")


def test_positive_weight_with_zero_scale_raises():
    train = long({"A": [0, 3, 3, 3], "B": [1, 2, 1, 2]}, "2024-01-01",
                 price={"A": [1.0] * 4, "B": [1.0] * 4})
    test = long({"A": [3], "B": [1]}, "2024-01-05")
    with pytest.raises(ValueError, match=r"level 'item': series \['A'\].*zero or undefined scale"):
        wrmsse(train, test, test.rename(columns={"y": "m"}), PRODUCTS, model="m")
    # never sold and no revenue: weight 0, no error
    train.loc[train["unique_id"] == "A", "y"] = 0.0
    res = wrmsse(train, test, test.rename(columns={"y": "m"}), PRODUCTS, model="m")
    assert res.total == 0.0


def quantile_frame(keys: pd.DataFrame, per_q: dict[float, list[float]]) -> pd.DataFrame:
    return keys.assign(**{quantile_column("m", q): v for q, v in per_q.items()})


def test_spl_perfect_quantiles_score_zero():
    train, test, _ = hand_example()
    qf = quantile_frame(test[["unique_id", "ds"]], {q: test["y"].tolist() for q in (0.1, 0.5, 0.9)})
    res = spl(train, test, qf, PRODUCTS, model="m", quantiles=[0.1, 0.5, 0.9],
              sum_item_quantiles=True)
    assert res.total == 0.0 and set(res.levels.values()) == {0.0}


def test_spl_one_series_hand_computed():
    train = long({"A": [0, 1, 3, 2]}, "2024-01-01", price={"A": [1.0] * 4})
    test = long({"A": [2, 4]}, "2024-01-05")
    qf = quantile_frame(test[["unique_id", "ds"]], {0.1: [1, 1], 0.5: [3, 4], 0.9: [5, 6]})
    # scale = mean |diff| of [1,3,2] = (2+1)/2 = 1.5 (the squared scale would be 2.5)
    # q=0.1: y-q = 1,3 -> 0.1, 0.3 -> mean 0.2
    # q=0.5: y-q = -1,0 -> 0.5, 0 -> mean 0.25
    # q=0.9: y-q = -3,-2 -> 0.3, 0.2 -> mean 0.25
    expected = (0.2 + 0.25 + 0.25) / 3 / 1.5
    res = spl(train, test, qf, PRODUCTS.iloc[:1], model="m", quantiles=[0.1, 0.5, 0.9])
    assert res.total == pytest.approx(expected)
    assert res.levels == pytest.approx({level: expected for level in LEVELS})


def level_frame(uid: str, per_q: dict[float, list[float]]) -> pd.DataFrame:
    return quantile_frame(pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-07", periods=2)}),
                          per_q)


def test_spl_scores_every_level_on_its_own_quantiles_hand_computed():
    train, test, _ = hand_example()
    qs = [0.25, 0.75]
    qf = quantile_frame(test[["unique_id", "ds"]], {0.25: [2, 4, 0, 1], 0.75: [4, 6, 1, 3]})
    own = {"store": level_frame("Total", {0.25: [3, 6], 0.75: [5, 8]}),
           "store_cat": level_frame("C", {0.25: [4, 7], 0.75: [4, 7]}),
           "store_dept": level_frame("C_1", {0.25: [2, 2], 0.75: [6, 10]})}
    # scales (mean |one-step difference| from the first sale): A [1,3,2,4] -> 5/3;
    # B [2,0,2,1,1,2] -> 6/5; the aggregate [2,0,3,4,3,6] -> (2+3+1+1+3)/5 = 2
    # weights: A 20/26, B 6/26 (as in test_two_items_hand_computed); actuals A 3,5 B 1,2, sum 4,7
    # item A: q.25 y-q 1,1 -> 0.25 ; q.75 y-q -1,-1 -> 0.25 ; mean 0.25 / (5/3) = 0.15
    # item B: q.25 y-q 1,1 -> 0.25 ; q.75 y-q 0,-1 -> 0, 0.25 -> 0.125 ; mean 0.1875 / 1.2 = 0.15625
    item = 20 / 26 * 0.15 + 6 / 26 * 0.15625
    # store (own 3,6 / 5,8): q.25 y-q 1,1 -> 0.25 ; q.75 -1,-1 -> 0.25 ; 0.25 / 2 = 0.125
    # category (own 4,7 / 4,7): exact -> 0
    # department (own 2,2 / 6,10): q.25 y-q 2,5 -> 0.5, 1.25 -> 0.875 ; q.75 y-q -2,-3 -> 0.5, 0.75
    #   -> 0.625 ; mean 0.75 / 2 = 0.375
    res = spl(train, test, qf, PRODUCTS, model="m", quantiles=qs, level_forecasts=own)
    assert res.levels == pytest.approx({"store": 0.125, "store_cat": 0.0, "store_dept": 0.375,
                                        "item": item})
    assert res.total == pytest.approx((0.125 + 0.0 + 0.375 + item) / 4)
    # summing the item quantiles instead (2,5 / 5,9 at every aggregate): q.25 y-q 2,2 -> 0.5 ;
    # q.75 y-q -1,-2 -> 0.25, 0.5 -> 0.375 ; mean 0.4375 / 2 = 0.21875, wider than the store's own
    summed = spl(train, test, qf, PRODUCTS, model="m", quantiles=qs, sum_item_quantiles=True)
    assert summed.levels["store"] == pytest.approx(0.21875) == summed.levels["store_dept"]
    assert summed.levels["item"] == pytest.approx(item)


def test_spl_refuses_aggregate_levels_without_their_own_quantiles():
    train, test, _ = hand_example()
    qf = quantile_frame(test[["unique_id", "ds"]], {0.5: [2.0, 5.0, 2.0, 0.0]})
    store_fc = level_frame("Total", {0.5: [4.0, 7.0]})
    with pytest.raises(ValueError, match=r"no quantile forecasts of their own for level\(s\) "
                                         r"\['store_cat', 'store_dept'\]"):
        spl(train, test, qf, PRODUCTS, model="m", quantiles=[0.5], level_forecasts={"store": store_fc})
    with pytest.raises(ValueError, match=r"level_forecasts\['store'\]: no row .*'Total'"):
        spl(train, test, qf, PRODUCTS, model="m", quantiles=[0.5], sum_item_quantiles=True,
            level_forecasts={"store": store_fc.iloc[:1]})


def test_level_weights_are_m5_weights_over_scales():
    from trendcast.evaluation.wrmsse import level_weights

    train, test, _ = hand_example()
    lw = level_weights(train, test, PRODUCTS).set_index(["level", "unique_id"])
    assert lw.loc[("item", "A"), "loss_weight"] == pytest.approx((20 / 26) / (5 / 3))
    assert lw.loc[("store", "Total"), "scale"] == pytest.approx(2.0)
    assert lw.loc[("store", "Total"), "weight"] == pytest.approx(1.0)


@pytest.mark.slow  # ~25 s: the whole M5 CA_1 file
def test_m5_ca1_seasonal_naive_wrmsse():
    from trendcast.data.m5 import read_m5

    folder = m5_folder()
    data = read_m5(folder)
    train = data.sales  # d_1..d_1941
    wide = pd.read_csv(folder / "sales_test_evaluation_CA_1.csv")
    days = [f"d_{d}" for d in range(1942, 1970)]
    ids = (wide["item_id"] + "_" + wide["store_id"]).to_numpy()
    dates = pd.date_range("2016-05-23", "2016-06-19")
    test = pd.DataFrame({"unique_id": np.repeat(ids, 28), "ds": np.tile(dates, len(ids)),
                         "y": wide[days].to_numpy(dtype=float).ravel()})
    last_week = train[train["ds"] > train["ds"].max() - pd.Timedelta(days=7)]
    week = last_week.pivot(index="unique_id", columns="ds", values="y").reindex(ids)
    fc = test[["unique_id", "ds"]].assign(
        SeasonalNaive=week.to_numpy()[:, np.arange(28) % 7].ravel())
    res = wrmsse(train, test, fc, data.products, model="SeasonalNaive")
    assert set(res.levels) == set(LEVELS)
    assert np.isfinite(res.total) and 0.5 < res.total < 1.5
    # statsforecast's SeasonalNaive scores 0.717 on CA_1
    assert res.total == pytest.approx(0.717, abs=0.001)
