from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.evaluation.backtest import backtest, cutoffs_for
from trendcast.evaluation.metrics import mase_scale, score, score_by
from trendcast.models.registry import make_model


def test_metrics_against_hand_computed_values():
    cv = pd.DataFrame({
        "unique_id": ["a", "a", "b", "b"],
        "ds": pd.to_datetime(["2024-01-03", "2024-01-04"] * 2),
        "y": [2.0, 4.0, 10.0, 10.0],
        "m": [3.0, 4.0, 8.0, 10.0],
        "m-q-0.1": [1.0, 3.0, 7.0, 9.0],
        "m-q-0.9": [5.0, 5.0, 9.0, 11.0],
    })
    train = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3,
                          "ds": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"] * 2),
                          "y": [1.0, 3.0, 2.0, 10.0, 12.0, 10.0]})
    row = score(cv, ["m"], train=train, season_length=1, quantiles=[0.1, 0.9]).iloc[0]
    assert row["MAE"] == pytest.approx(0.75)
    assert row["RMSE"] == pytest.approx(np.sqrt(5 / 4))
    assert row["WAPE"] == pytest.approx(3 / 26)
    # scales: a -> mean(|2|,|1|) = 1.5 ; b -> mean(2, 2) = 2
    assert row["MASE"] == pytest.approx(np.mean([1 / 1.5, 0, 2 / 2, 0]))
    # pinball at 0.1: y-q = [1,1,3,1] all >=0 -> 0.1*6=0.6 ; at 0.9: y-q=[-3,-1,1,-1]
    # -> 0.1*3+0.1*1+0.9*1+0.1*1 = 1.4 ; WQL = 2*mean(0.6,1.4)/26
    assert row["WQL"] == pytest.approx(2 * 1.0 / 26)
    assert row["coverage_80"] == pytest.approx(0.75)  # b on 2024-01-03 (10 > 9) is outside
    assert mase_scale(train, 1).to_dict() == pytest.approx({"a": 1.5, "b": 2.0})


def test_coverage_of_every_symmetric_band():
    y = np.arange(1.0, 11.0)  # 1..10
    cv = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-03", periods=10), "y": y,
                       "m": 5.0, "m-q-0.025": 1.0, "m-q-0.1": 2.0, "m-q-0.25": 4.0,
                       "m-q-0.75": 6.0, "m-q-0.9": 9.0, "m-q-0.975": 10.0})
    train = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=2),
                          "y": [1.0, 2.0]})
    row = score(cv, ["m"], train=train, season_length=1,
                quantiles=[0.025, 0.1, 0.25, 0.75, 0.9, 0.975]).iloc[0]
    # 50%: 4..6 holds 4, 5, 6 -> 0.3 ; 80%: 2..9 -> 8 of 10 ; 95%: 1..10 -> all
    assert (row["coverage_50"], row["coverage_80"], row["coverage_95"]) == pytest.approx((0.3, 0.8, 1.0))


def test_backtest_windows_cutoffs_and_no_leakage():
    df = make_sales(n_series=2, n_days=100)
    cuts = cutoffs_for(df, h=7, n_windows=3, step=7)
    assert [str(c.date()) for c in cuts] == ["2024-03-19", "2024-03-26", "2024-04-02"]
    cv = backtest(lambda: make_model("SeasonalNaive"), df, h=7, n_windows=3, step=7)
    assert len(cv) == 2 * 3 * 7
    assert (cv["ds"] > cv["cutoff"]).all()
    # seasonal naive at each cutoff equals the week before the cutoff: no peeking ahead
    one = cv[(cv["unique_id"] == "P000") & (cv["cutoff"] == cuts[0])]
    hist = df[(df["unique_id"] == "P000") & (df["ds"] <= cuts[0])]["y"].to_numpy()[-7:]
    np.testing.assert_array_equal(one["SeasonalNaive"].to_numpy(), hist)


def test_too_little_history_for_windows():
    df = make_sales(n_series=1, n_days=20)
    with pytest.raises(ModelError, match="not enough history"):
        cutoffs_for(df, h=7, n_windows=5)


def test_rmsse_smape_and_grouped_scores():
    cv = pd.DataFrame({"unique_id": ["a", "a", "b", "b"],
                       "ds": pd.to_datetime(["2024-01-04", "2024-01-05"] * 2),
                       "y": [2.0, 0.0, 4.0, 4.0], "m": [1.0, 0.0, 4.0, 2.0]})
    train = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3,
                          "ds": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"] * 2),
                          "y": [0.0, 2.0, 4.0, 1.0, 3.0, 1.0]})
    row = score(cv, ["m"], train=train, season_length=1).iloc[0]
    # scales from first non-zero: a -> diffs [2] -> 4 ; b -> diffs [2, -2] -> 4
    # a: sqrt(mean(1, 0)/4) = sqrt(1/8); b: sqrt(mean(0, 4)/4) = sqrt(1/2)
    assert row["RMSSE"] == pytest.approx((np.sqrt(1 / 8) + np.sqrt(1 / 2)) / 2)
    # sMAPE terms: 2*1/3, 0 (both zero), 0, 2*2/6
    assert row["sMAPE"] == pytest.approx((2 / 3 + 0 + 0 + 2 / 3) / 4)
    by_series = score_by(cv, ["m"], by="unique_id", train=train, season_length=1)
    assert by_series.set_index("group")["MAE"].to_dict() == pytest.approx({"a": 0.5, "b": 1.0})
    by_cat = score_by(cv, ["m"], by=pd.Series({"a": "X", "b": "X"}), train=train, season_length=1)
    assert by_cat["MAE"].iloc[0] == pytest.approx(0.75)
