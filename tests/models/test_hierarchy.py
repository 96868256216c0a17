from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.hierarchy import reconcile
from trendcast.models.registry import make_model

H = 7


def _toy(n_days: int = 56, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One store, 2 categories x 2 departments x 2 items (8 items), daily with a weekly cycle."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=n_days, freq="D")
    weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_days) / 7)
    hist, prods = [], []
    k = 0
    for cat in ("FOODS", "HOBBIES"):
        for d in (1, 2):
            dept = f"{cat}_{d}"
            for i in (1, 2):
                k += 1
                uid = f"{dept}_00{i}_CA_1"
                hist.append(pd.DataFrame({"unique_id": uid, "ds": ds,
                                          "y": rng.poisson(3 * k * weekly).astype(float)}))
                prods.append({"unique_id": uid, "title": uid, "category": cat,
                              "department": dept, "store": "CA_1"})
    return pd.concat(hist, ignore_index=True), pd.DataFrame(prods)


@pytest.fixture(scope="module")
def toy():
    hist, prods = _toy()
    fc = make_model("SeasonalNaive").fit(hist).predict(H)
    return hist, prods, fc


class _LastValue(Forecaster):
    """Repeats each series' last value (works from one point)."""

    def fit(self, df):
        self.last_ = df.sort_values("ds").groupby("unique_id").tail(1)
        self.is_fitted_ = True
        return self

    def predict(self, h, *, X_df=None, quantiles=None):
        return pd.concat([pd.DataFrame({"unique_id": str(r.unique_id), "ds": r.ds + pd.to_timedelta(
            np.arange(1, h + 1), unit="D"), self.alias: r.y}) for r in self.last_.itertuples()],
            ignore_index=True)


def _seasonal_naive():
    return make_model("SeasonalNaive")


def _children(prods: pd.DataFrame) -> dict[str, list[str]]:
    """Aggregate node id -> ids of its children one level down."""
    kids: dict[str, set[str]] = {}
    for r in prods.itertuples():
        store, cat, dept = r.store, f"{r.store}/{r.category}", f"{r.store}/{r.category}/{r.department}"
        kids.setdefault(store, set()).add(cat)
        kids.setdefault(cat, set()).add(dept)
        kids.setdefault(dept, set()).add(r.unique_id)
    return {k: sorted(v) for k, v in kids.items()}


def _assert_coherent(out: pd.DataFrame, prods: pd.DataFrame, col: str) -> None:
    wide = out.pivot(index="ds", columns="unique_id", values=col)
    for parent, kids in _children(prods).items():
        np.testing.assert_allclose(wide[parent], wide[kids].sum(axis=1), atol=1e-6, rtol=0,
                                   err_msg=parent)


def test_bottom_up_sums_items_exactly(toy):
    hist, prods, fc = toy
    out = reconcile(fc, hist, prods, model="SeasonalNaive", method="BottomUp")
    assert list(out.columns) == ["unique_id", "ds", "SeasonalNaive", "level"]
    expected_ids = {"CA_1", "CA_1/FOODS", "CA_1/HOBBIES", "CA_1/FOODS/FOODS_1",
                    "CA_1/FOODS/FOODS_2", "CA_1/HOBBIES/HOBBIES_1",
                    "CA_1/HOBBIES/HOBBIES_2", *prods["unique_id"]}
    assert set(out["unique_id"]) == expected_ids
    assert len(out) == len(expected_ids) * H
    assert out.groupby("level")["unique_id"].nunique().to_dict() == {
        "store": 1, "store/category": 2, "store/category/department": 4, "item": 8}
    # items are untouched, every aggregate is the exact sum of its items
    items = out[out["level"] == "item"].merge(fc, on=["unique_id", "ds"], suffixes=("", "_in"))
    np.testing.assert_allclose(items["SeasonalNaive"], items["SeasonalNaive_in"], atol=1e-9)
    np.testing.assert_allclose(out.loc[out["unique_id"] == "CA_1", "SeasonalNaive"],
                               fc.groupby("ds")["SeasonalNaive"].sum(), atol=1e-6)
    _assert_coherent(out, prods, "SeasonalNaive")
    assert out.attrs["method"] == "BottomUp"


def test_seasonal_naive_is_already_coherent_so_mintrace_keeps_it(toy):
    hist, prods, fc = toy
    out = reconcile(fc, hist, prods, model="SeasonalNaive", method="MinTrace",
                    make_base=_seasonal_naive)
    assert out.attrs["method"] == "MinTrace_mint_shrink"
    _assert_coherent(out, prods, "SeasonalNaive")
    items = out[out["level"] == "item"].merge(fc, on=["unique_id", "ds"], suffixes=("", "_in"))
    np.testing.assert_allclose(items["SeasonalNaive"], items["SeasonalNaive_in"], atol=1e-6)


def test_mintrace_with_default_autoets_base_is_coherent_and_moves_items():
    hist, prods = _toy(n_days=42, seed=1)
    fc = make_model("AutoETS").fit(hist).predict(H)
    out = reconcile(fc, hist, prods, model="AutoETS", method="MinTrace")
    assert out.attrs["method"] == "MinTrace_mint_shrink"
    assert not out["AutoETS"].isna().any()
    _assert_coherent(out, prods, "AutoETS")
    # the aggregate AutoETS forecasts are not sums of the item ones, so MinT moves the items
    items = out[out["level"] == "item"].merge(fc, on=["unique_id", "ds"], suffixes=("", "_in"))
    assert np.abs(items["AutoETS"] - items["AutoETS_in"]).max() > 1e-3


def test_mintrace_ols_is_coherent(toy):
    hist, prods, _ = toy
    fc = _LastValue().fit(hist).predict(H)
    out = reconcile(fc, hist, prods, model="_LastValue", method="MinTraceOLS",
                    make_base=_seasonal_naive)
    assert out.attrs["method"] == "MinTrace_ols"
    _assert_coherent(out, prods, "_LastValue")


def test_mintrace_falls_back_when_history_is_too_short():
    hist, prods = _toy(n_days=5)
    fc = _LastValue().fit(hist).predict(H)
    with pytest.warns(UserWarning, match="structural weights"):
        out = reconcile(fc, hist, prods, model="_LastValue", make_base=_LastValue)
    assert out.attrs["method"] == "MinTrace_wls_struct"
    _assert_coherent(out, prods, "_LastValue")


def test_errors_are_clear(toy):
    hist, prods, fc = toy
    with pytest.raises(ModelError, match=r"missing hierarchy column\(s\) \['department'\]"):
        reconcile(fc, hist, prods.drop(columns="department"), model="SeasonalNaive",
                  method="BottomUp")
    with pytest.raises(ModelError, match="no products row.*HOBBIES_2_002_CA_1"):
        reconcile(fc, hist, prods.iloc[:-1], model="SeasonalNaive", method="BottomUp")
    with pytest.raises(ModelError, match="unknown reconciliation method"):
        reconcile(fc, hist, prods, model="SeasonalNaive", method="TopDown")
    with pytest.raises(ModelError, match="forecasts is missing"):
        reconcile(fc, hist, prods, model="AutoETS", method="BottomUp")
    ragged = fc[~((fc["unique_id"] == "FOODS_1_001_CA_1") & (fc["ds"] == fc["ds"].max()))]
    with pytest.raises(ModelError, match="same dates"):
        reconcile(ragged, hist, prods, model="SeasonalNaive", method="BottomUp")
