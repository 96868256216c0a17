"""Intermittent-demand models: Croston, TSB, ADIDA, IMAPA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError
from trendcast.models.registry import MODELS, make_model

QS = [0.1, 0.5, 0.9]
INTERMITTENT = ["ADIDA", "CrostonOptimized", "IMAPA", "TSB"]


def sparse(n: int = 120, p: float = 0.25, seed: int = 0) -> np.ndarray:
    """Demand on about a quarter of the days, 1-8 units when it happens."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < p, rng.integers(1, 9, n), 0).astype(float)


def frame(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=len(y)),
                                    "y": y}) for uid, y in values.items()], ignore_index=True)


def test_family_is_registered():
    assert all(MODELS[name].family == "intermittent" for name in INTERMITTENT)


def test_croston_is_flat_positive_and_below_the_mean_demand_size():
    y = sparse()
    fc = make_model("CrostonOptimized").fit(frame({"A": y})).predict(14)["CrostonOptimized"]
    assert np.ptp(fc) == 0 and fc.iloc[0] > 0
    assert fc.iloc[0] < y[y > 0].mean()  # a rate per day, not a size per order


def test_tsb_decays_through_a_run_of_zeros():
    y = sparse()
    y[-1] = 5.0  # end on a sale so the decay starts from the same state
    before = make_model("TSB").fit(frame({"A": y})).predict(7)["TSB"].iloc[0]
    after = make_model("TSB").fit(frame({"A": np.concatenate([y, np.zeros(40)])})).predict(7)["TSB"]
    assert np.ptp(after) == 0
    # demand size unchanged, probability smoothed towards 0 with alpha_p = 0.1 each zero day
    np.testing.assert_allclose(after.iloc[0], before * 0.9 ** 40)


@pytest.mark.parametrize("name", ["ADIDA", "IMAPA"])
def test_aggregation_models_give_a_flat_positive_rate(name):
    y = sparse(seed=3)
    fc = make_model(name).fit(frame({"A": y})).predict(14)[name]
    assert np.ptp(fc) == 0 and 0 < fc.iloc[0] < y.max()


@pytest.mark.parametrize("name", INTERMITTENT)
def test_conformal_quantiles_are_ordered_and_zero_series_stay_zero(name):
    df = frame({"A": sparse(seed=1), "B": sparse(seed=2, p=0.5), "Z": np.zeros(60)})
    fc = make_model(name).fit(df).predict(14, quantiles=QS)
    assert not fc.isna().any().any()
    lo, mid, hi = (fc[f"{name}-q-{q}"].to_numpy() for q in QS)
    assert (lo <= mid).all() and (mid <= hi).all()
    np.testing.assert_allclose(mid, fc[name])
    live = (fc["unique_id"] != "Z").to_numpy()
    assert (hi[live] > lo[live]).all()
    np.testing.assert_array_equal(fc.loc[~live, [name, f"{name}-q-0.1", f"{name}-q-0.9"]], 0.0)


def test_short_series_fall_back_to_a_window_average():
    short = np.array([0, 2, 0, 0, 1, 0, 3, 0, 0], dtype=float)  # < 7 + 3 days
    model = make_model("CrostonOptimized").fit(frame({"A": sparse(), "S": short}))
    assert model.fallback_ == {"S": "window average"}
    fc = model.predict(7, quantiles=QS)
    np.testing.assert_allclose(fc.loc[fc["unique_id"] == "S", "CrostonOptimized"], short.mean())


def test_tsb_smoothing_constants_are_checked():
    assert make_model("TSB").params["alpha_d"] == 0.1
    with pytest.raises(ModelError, match="alpha_p"):
        make_model("TSB", alpha_p=0.0)
