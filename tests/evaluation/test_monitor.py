"""Live accuracy: score_rows and summarise on a hand-computed example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.evaluation.monitor import freshest, score_rows, summarise


def _long():
    rows = []
    for ds, point, lo, hi in [("2024-01-08", 4.0, 2.0, 6.0), ("2024-01-09", 5.0, 3.0, 7.0),
                              ("2024-01-10", 6.0, 4.0, 8.0)]:
        for q, v in [(np.nan, point), (0.1, lo), (0.9, hi)]:
            rows.append({"model": "M", "unique_id": "A", "ds": pd.Timestamp(ds), "quantile": q, "value": v})
    return pd.DataFrame(rows)


def test_score_rows_and_summary_match_a_hand_computation():
    history = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2024-01-01", periods=7),
                            "y": [1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0]})
    # actuals: day 8 sold 6, day 9 has no row (zero sales), day 10 not arrived yet
    actuals = pd.DataFrame({"unique_id": ["A"], "ds": [pd.Timestamp("2024-01-08")], "y": [6.0]})
    rows = score_rows(_long(), actuals, history, run_id="r1", season_length=1,
                      last_date=pd.Timestamp("2024-01-09"))
    assert list(rows["ds"]) == [pd.Timestamp("2024-01-08"), pd.Timestamp("2024-01-09")]
    assert list(rows["step"]) == [1, 2] and rows["origin"].iloc[0] == pd.Timestamp("2024-01-07")
    assert list(rows["y"]) == [6.0, 0.0]
    # scale: mean |diff| of 1,3,2,4,3,5,4 = (2+1+2+1+2+1)/6 = 1.5
    assert rows["scale"].iloc[0] == pytest.approx(1.5)
    # pinball: day 8 q0.1 (6-2)*0.1=0.4, q0.9 (6-6)=0 -> mean 0.2; day 9 q0.1 (0-3)*-0.9=2.7,
    # q0.9 (0-7)*-0.1=0.7 -> mean 1.7
    assert list(rows["qloss"]) == pytest.approx([0.2, 1.7])
    assert list(rows["covered"]) == [1.0, 0.0]
    board = summarise(rows, ["model"]).iloc[0]
    # errors: |6-4|=2, |0-5|=5; sum |y| = 6
    assert board["n"] == 2 and board["MAE"] == pytest.approx(3.5)
    assert board["WAPE"] == pytest.approx(7 / 6)
    assert board["MASE"] == pytest.approx((2 / 1.5 + 5 / 1.5) / 2)
    assert board["bias"] == pytest.approx(((4 - 6) + (5 - 0)) / 6)
    assert board["WQL"] == pytest.approx(2 * (0.2 + 1.7) / 6)
    assert board["coverage"] == pytest.approx(0.5)


def test_a_waiting_date_has_no_actual_and_is_not_pooled():
    history = pd.DataFrame({"unique_id": "A", "ds": pd.date_range("2024-01-01", periods=7),
                            "y": [1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0]})
    actuals = pd.DataFrame({"unique_id": ["A"], "ds": [pd.Timestamp("2024-01-08")], "y": [6.0]})
    rows = score_rows(_long(), actuals, history, run_id="r1", season_length=1,
                      last_date=pd.Timestamp("2024-01-09"), waiting={("A", pd.Timestamp("2024-01-09"))})
    assert list(rows["forecast"]) == [4.0, 5.0] and rows["y"].iloc[0] == 6.0
    assert rows.iloc[1][["y", "qloss", "covered"]].isna().all()  # not zero sales
    assert rows["qloss"].iloc[0] == pytest.approx(0.2) and rows["covered"].iloc[0] == 1.0


def test_freshest_keeps_the_latest_origin_per_day():
    base = dict(run_id="r", model="M", unique_id="A", ds=pd.Timestamp("2024-01-09"), step=1, y=1.0,
                scale=1.0, qloss=np.nan, covered=np.nan)
    scores = pd.DataFrame([{**base, "origin": pd.Timestamp("2024-01-07"), "forecast": 5.0},
                           {**base, "origin": pd.Timestamp("2024-01-08"), "forecast": 2.0}])
    assert freshest(scores)["forecast"].tolist() == [2.0]
