from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError
from trendcast.evaluation.selection import choose, leaderboard


def _cv_and_train():
    ds = pd.date_range("2024-01-08", periods=4, freq="D")
    y = np.array([10.0, 12.0, 14.0, 16.0])
    cv = pd.DataFrame({"unique_id": "a", "ds": ds, "cutoff": pd.Timestamp("2024-01-07"), "y": y,
                       "bad": y + 3.0, "good": y, "ok": y - 1.0, "ok_twin": y + 1.0})
    for m, width in (("good", 1.0), ("ok", 8.0)):
        cv[f"{m}-q-0.1"] = cv[m] - width
        cv[f"{m}-q-0.9"] = cv[m] + width
    cv.loc[0, "good-q-0.9"] = 9.0  # 'good' misses one of four: coverage 0.75
    train = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=7),
                          "y": [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0]})  # lag-1 scale = 2
    return cv, train


def test_leaderboard_sorts_by_metric_and_ranks():
    cv, train = _cv_and_train()
    board = leaderboard(cv, ["bad", "ok", "good"], train=train, season_length=1)
    assert board["model"].tolist() == ["good", "ok", "bad"]
    assert board["rank"].tolist() == [1, 2, 3]
    assert board["MASE"].tolist() == pytest.approx([0.0, 0.5, 1.5])
    assert choose(board) == "good"
    by_rmse = leaderboard(cv, ["bad", "ok", "good"], train=train, season_length=1, metric="RMSE")
    assert by_rmse["model"].tolist() == ["good", "ok", "bad"]


def test_ties_go_to_the_earlier_model():
    cv, train = _cv_and_train()
    # ok and ok_twin have the same MAE/MASE; the order of `models` decides
    board = leaderboard(cv, ["bad", "ok_twin", "ok"], train=train, season_length=1)
    assert board["model"].tolist() == ["ok_twin", "ok", "bad"]
    assert choose(board) == "ok_twin"
    board = leaderboard(cv, ["ok", "ok_twin", "bad"], train=train, season_length=1)
    assert choose(board) == "ok"
    # an explicit order wins over the leaderboard's
    assert choose(board, models=["bad", "ok_twin", "ok"]) == "ok_twin"
    # a frame that lost its attrs falls back to row order
    assert choose(pd.DataFrame(board.to_dict("list"))) == board["model"].iloc[0]


def test_coverage_metric_prefers_nominal_coverage():
    cv, train = _cv_and_train()
    board = leaderboard(cv, ["ok", "good"], train=train, season_length=1,
                        quantiles=[0.1, 0.9], metric="coverage_80")
    # good covers 0.75 (|0.75-0.8| = 0.05), ok covers 1.0 (0.2 away)
    assert board.set_index("model")["coverage_80"].to_dict() == pytest.approx(
        {"good": 0.75, "ok": 1.0})
    assert board["model"].tolist() == ["good", "ok"]
    assert choose(board, "coverage_80") == "good"
    assert choose(board, "WQL") == "good"


def test_nan_metric_ranks_last_and_errors():
    cv, train = _cv_and_train()
    board = leaderboard(cv, ["ok", "good"], train=train, season_length=1)
    board.loc[board["model"] == "good", "MASE"] = np.nan
    assert choose(board) == "ok"
    with pytest.raises(ModelError, match="not on the leaderboard"):
        choose(board, "R2")
    with pytest.raises(ModelError, match="no forecast column"):
        leaderboard(cv, ["ok", "missing"], train=train, season_length=1)
    flat = train.assign(y=5.0)  # zero MASE scale -> MASE NaN for every model
    nan_board = leaderboard(cv, ["ok", "good"], train=flat, season_length=1)
    with pytest.raises(ModelError, match="no model has a finite MASE"):
        choose(nan_board)
