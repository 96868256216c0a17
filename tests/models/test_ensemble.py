from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError, NotFittedError
from trendcast.models import registry
from trendcast.models.base import Forecaster, check_quantiles
from trendcast.models.ensemble import AutoSelect, MedianEnsemble, WeightedEnsemble
from trendcast.schema import quantile_column

HAS_NAIVE = "Naive" in registry.MODELS
needs_naive = pytest.mark.skipif(not HAS_NAIVE, reason="Naive baseline not registered yet")


class _Stub(Forecaster):
    """Last observed value + ``offset`` (+ step * ``slope``); quantiles widen by ``width``."""

    offset = 0.0
    slope = 0.0
    width = 1.0

    def __init__(self, *, alias=None, n_jobs=1):
        super().__init__(alias=alias, n_jobs=n_jobs)

    def fit(self, df):
        last = df.sort_values("ds").groupby("unique_id").tail(1)
        self.last_ = dict(zip(last["unique_id"].astype(str), zip(last["ds"], last["y"], strict=True),
                              strict=True))
        self.is_fitted_ = True
        return self

    def predict(self, h, *, X_df=None, quantiles=None):
        self._check_fitted()
        rows = []
        for uid, (ds, y) in sorted(self.last_.items()):
            for k in range(1, h + 1):
                rows.append({"unique_id": uid, "ds": ds + pd.Timedelta(days=k),
                             self.alias: y + self.offset + self.slope * k})
        out = pd.DataFrame(rows)
        for q in check_quantiles(quantiles):
            out[quantile_column(self.alias, q)] = out[self.alias] + (q - 0.5) * self.width
        return out


def _stub(name, **attrs):
    return type(name, (_Stub,), attrs)


@pytest.fixture
def stubs(monkeypatch):
    """Register stub members with known outputs for the duration of a test."""
    classes = {
        "Low": _stub("Low", offset=1.0, width=2.0),
        "Mid": _stub("Mid", offset=5.0, slope=1.0, width=4.0),
        "High": _stub("High", offset=3.0, slope=2.0, width=8.0),
        "Plus1": _stub("Plus1", offset=1.0),
        "Plus2": _stub("Plus2", offset=2.0),
    }
    for name, cls in classes.items():
        monkeypatch.setitem(registry.MODELS, name, cls)
    return classes


def _frame(series: dict[str, np.ndarray], start="2024-01-01") -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": uid, "y": y.astype(float),
                                    "ds": pd.date_range(start, periods=len(y), freq="D")})
                      for uid, y in series.items()], ignore_index=True)[["unique_id", "ds", "y"]]


def _weekly(n, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    pattern = np.array([2.0, 9.0, 4.0, 15.0, 1.0, 11.0, 6.0])
    return np.tile(pattern, n // 7 + 1)[:n] + 20 + noise * rng.standard_normal(n)


def _weekly_switch(n, seed=0, at=56):
    """Weekly pattern that changes shape at day ``at``: seasonal naive adapts after one week,
    exponential smoothing only slowly."""
    rng = np.random.default_rng(seed)
    before = np.tile([2.0, 9.0, 4.0, 15.0, 1.0, 11.0, 6.0], n // 7 + 1)[:n]
    after = np.tile([15.0, 1.0, 11.0, 2.0, 9.0, 4.0, 6.0], n // 7 + 1)[:n]
    pattern = np.where(np.arange(n) < at, before, after)
    return pattern + 20 + 0.05 * rng.standard_normal(n)


def _random_walk(n, seed=1):
    rng = np.random.default_rng(seed)
    return 50 + np.cumsum(rng.standard_normal(n) * 3)


def _level_noise(n, seed=2):
    rng = np.random.default_rng(seed)
    return 30 + 4 * rng.standard_normal(n)


# --- MedianEnsemble ------------------------------------------------------------------------

def test_median_of_three_known_members(stubs):
    df = _frame({"A": np.full(20, 10.0), "B": np.full(20, 100.0)})
    qs = [0.1, 0.5, 0.9]
    fc = MedianEnsemble(members=("Low", "Mid", "High")).fit(df).predict(3, quantiles=qs)
    assert list(fc.columns) == ["unique_id", "ds", "MedianEnsemble"] + [
        f"MedianEnsemble-q-{q}" for q in qs]
    k = np.tile([1, 2, 3], 2)
    last = np.repeat([10.0, 100.0], 3)
    low, mid, high = last + 1, last + 5 + k, last + 3 + 2 * k
    expected = np.median(np.column_stack([low, mid, high]), axis=1)
    np.testing.assert_allclose(fc["MedianEnsemble"], expected)
    # step 1: 11, 16, 15 -> 15 (High) ; step 3: 11, 18, 19 -> 18 (Mid)
    np.testing.assert_allclose(fc["MedianEnsemble"].to_numpy()[:3], [15.0, 17.0, 18.0])
    for q in qs:
        members = np.column_stack([low + (q - 0.5) * 2, mid + (q - 0.5) * 4, high + (q - 0.5) * 8])
        np.testing.assert_allclose(fc[f"MedianEnsemble-q-{q}"], np.median(members, axis=1))
    assert (fc["ds"].groupby(fc["unique_id"]).min() == pd.Timestamp("2024-01-21")).all()


def test_members_are_validated(stubs):
    with pytest.raises(ModelError, match="unknown ensemble member"):
        MedianEnsemble(members=("Low", "Prophet"))
    with pytest.raises(ModelError, match="distinct"):
        MedianEnsemble(members=("Low", "low"))
    with pytest.raises(ModelError, match="at least one"):
        WeightedEnsemble(members=())
    for cls in (MedianEnsemble, WeightedEnsemble, AutoSelect):
        with pytest.raises(NotFittedError, match="call fit"):
            cls(members=("Low", "Mid")).predict(3)


# --- WeightedEnsemble ------------------------------------------------------------------------

def test_weights_are_inverse_squared_mae(stubs):
    df = _frame({"A": np.full(30, 10.0), "B": np.full(30, 10.0)})
    model = WeightedEnsemble(members=("Plus1", "Plus2"), validation_h=7).fit(df)
    w = model.weights_.set_index("model")
    np.testing.assert_allclose(w.loc[["Plus1", "Plus2"], "mae"], [1.0, 2.0])
    # 1/1 : 1/4 -> 0.8 : 0.2
    np.testing.assert_allclose(w.loc[["Plus1", "Plus2"], "weight"], [0.8, 0.2])
    fc = model.predict(4, quantiles=[0.2, 0.8])
    np.testing.assert_allclose(fc["WeightedEnsemble"], 0.8 * 11 + 0.2 * 12)
    np.testing.assert_allclose(fc["WeightedEnsemble-q-0.2"], 11.2 - 0.3)
    assert model.validation_h_ == 7


@needs_naive
def test_weighted_favours_seasonal_naive_on_weekly_series():
    df = _frame({"W1": _weekly(70, seed=0), "W2": _weekly(70, seed=1) * 2})
    model = WeightedEnsemble(members=("SeasonalNaive", "Naive"), validation_h=14).fit(df)
    w = model.weights_.set_index("model")["weight"]
    assert w.sum() == pytest.approx(1.0)
    assert w["SeasonalNaive"] > 0.95 > w["Naive"]
    fc = model.predict(7)
    sn = registry.make_model("SeasonalNaive").fit(df).predict(7)
    nv = registry.make_model("Naive").fit(df).predict(7)
    np.testing.assert_allclose(
        fc["WeightedEnsemble"], w["SeasonalNaive"] * sn["SeasonalNaive"] + w["Naive"] * nv["Naive"])


@needs_naive
def test_per_series_weights_follow_each_series():
    df = _frame({"weekly": _weekly(70), "walk": _random_walk(70)})
    model = WeightedEnsemble(members=("SeasonalNaive", "Naive"), validation_h=14,
                             per_series=True).fit(df)
    w = model.weights_.pivot(index="unique_id", columns="model", values="weight")
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert w.loc["weekly", "SeasonalNaive"] > 0.9
    assert w.loc["walk", "Naive"] > w.loc["walk", "SeasonalNaive"]


def test_weights_use_no_data_after_training_end():
    full = _frame({"A": _weekly(84, seed=3), "B": _level_noise(84)})
    end = pd.Timestamp("2024-03-10")  # day 70
    train = full[full["ds"] <= end]
    members = ("SeasonalNaive", "AutoETS")
    model = WeightedEnsemble(members=members, validation_h=14).fit(train)
    # the internal window ends on the last training date
    assert model.validation_cutoffs_[-1] + pd.Timedelta(days=model.validation_h_) == end
    # changing everything after the training end changes nothing
    future = full.copy()
    future.loc[future["ds"] > end, "y"] *= 10
    again = WeightedEnsemble(members=members, validation_h=14).fit(future[future["ds"] <= end])
    pd.testing.assert_frame_equal(model.weights_, again.weights_)
    # ...while the last training days do matter (the test is sensitive)
    shifted = train.copy()
    shifted.loc[(shifted["ds"] > end - pd.Timedelta(days=7)) & (shifted["unique_id"] == "A"), "y"] += 25
    moved = WeightedEnsemble(members=members, validation_h=14).fit(shifted)
    assert not np.allclose(moved.weights_["weight"], model.weights_["weight"])


def test_validation_horizon_shrinks_and_short_history_gives_equal_weights(stubs):
    df = _frame({"A": np.arange(20.0)})
    model = WeightedEnsemble(members=("Plus1", "Plus2"), validation_h=28).fit(df)
    assert model.validation_h_ == 10
    tiny = _frame({"A": np.array([1.0, 2.0])})
    with pytest.warns(UserWarning, match="weighted equally"):
        eq = WeightedEnsemble(members=("Plus1", "Plus2")).fit(tiny)
    np.testing.assert_allclose(eq.weights_["weight"], [0.5, 0.5])


# --- AutoSelect ------------------------------------------------------------------------------

def test_autoselect_picks_per_series_with_existing_members():
    df = _frame({"weekly": _weekly_switch(84), "flat": _level_noise(84)})
    model = AutoSelect(members=("SeasonalNaive", "AutoETS"), validation_h=14).fit(df)
    choice = model.choice_.set_index("unique_id")
    assert list(model.choice_.columns) == ["unique_id", "model", "score"]
    assert choice.loc["weekly", "model"] == "SeasonalNaive"
    assert choice.loc["flat", "model"] == "AutoETS"
    assert np.isfinite(choice["score"]).all() and (choice["score"] >= 0).all()
    fc = model.predict(7, quantiles=[0.1, 0.9])
    assert list(fc.columns) == ["unique_id", "ds", "AutoSelect", "AutoSelect-q-0.1",
                                "AutoSelect-q-0.9"]
    sn = registry.make_model("SeasonalNaive").fit(df).predict(7, quantiles=[0.1, 0.9])
    ets = registry.make_model("AutoETS").fit(df).predict(7, quantiles=[0.1, 0.9])
    weekly = fc["unique_id"] == "weekly"
    np.testing.assert_allclose(fc.loc[weekly, "AutoSelect"], sn.loc[weekly, "SeasonalNaive"])
    np.testing.assert_allclose(fc.loc[~weekly, "AutoSelect"], ets.loc[~weekly, "AutoETS"])
    np.testing.assert_allclose(fc.loc[~weekly, "AutoSelect-q-0.9"], ets.loc[~weekly, "AutoETS-q-0.9"])


@needs_naive
def test_autoselect_seasonal_naive_for_weekly_and_naive_for_random_walk():
    df = _frame({"weekly": _weekly(70), "walk": _random_walk(70)})
    model = AutoSelect(members=("SeasonalNaive", "Naive"), validation_h=14).fit(df)
    choice = model.choice_.set_index("unique_id")["model"]
    assert choice.to_dict() == {"walk": "Naive", "weekly": "SeasonalNaive"}


def test_autoselect_ties_go_to_the_earlier_member(stubs):
    df = _frame({"A": np.full(30, 5.0)})
    # Plus1 and a copy of it tie exactly; the earlier listed member wins
    first = AutoSelect(members=("Plus2", "Plus1"), validation_h=7).fit(df)
    assert first.choice_["model"].tolist() == ["Plus1"]
    registry.MODELS["Plus1b"] = _stub("Plus1b", offset=1.0)
    try:
        tie = AutoSelect(members=("Plus1b", "Plus1"), validation_h=7).fit(df)
    finally:
        del registry.MODELS["Plus1b"]
    assert tie.choice_["model"].tolist() == ["Plus1b"]


def test_calibration_factor_shrinks_a_band_twice_too_wide_and_widens_one_too_narrow():
    from trendcast.models.ensemble import calibration_factors

    rng = np.random.default_rng(3)
    y = rng.normal(0.0, 1.0, 4000)
    z90 = 1.2815515655446004
    cv = pd.DataFrame({"y": y, "M": 0.0, quantile_column("M", 0.5): 0.0,
                       quantile_column("M", 0.1): -2 * z90, quantile_column("M", 0.9): 2 * z90,
                       quantile_column("M", 0.8): 0.5 * 0.8416212335729143})
    f = calibration_factors(cv, "M", [0.1, 0.8, 0.9])
    assert f[0.1] == pytest.approx(0.5, abs=0.05) and f[0.9] == pytest.approx(0.5, abs=0.05)
    assert f[0.8] == pytest.approx(2.0, abs=0.2)


def test_recommended_quantiles_cover_their_level_on_the_validation_data():
    """A member whose 80% band is far too wide (SeasonalNaive on white noise around a level
    shift-free series): Recommended's calibrated band covers close to 80% on later data."""
    from trendcast.models.ensemble import Recommended

    rng = np.random.default_rng(5)
    n = 400
    frames = [pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n),
                            "y": 50 + rng.normal(0, 5, n)}) for i in range(8)]
    df = pd.concat(frames, ignore_index=True)
    train, test = df[df["ds"] < df["ds"].max() - pd.Timedelta(days=27)], df[df["ds"] > df["ds"].max() - pd.Timedelta(days=28)]
    cover = {}
    for calibrate in (False, True):
        model = Recommended(members=["SeasonalNaive"], horizon=28, calibrate=calibrate).fit(train)
        fc = model.predict(28, quantiles=[0.1, 0.9]).merge(test, on=["unique_id", "ds"])
        cover[calibrate] = float(((fc["y"] >= fc[quantile_column(model.alias, 0.1)])
                                  & (fc["y"] <= fc[quantile_column(model.alias, 0.9)])).mean())
    assert cover[False] > 0.9  # seasonal naive's band assumes a random walk: far too wide
    assert 0.7 <= cover[True] <= 0.9
