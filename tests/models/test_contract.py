"""The contract every registered model meets: shapes, columns, no NaN, ordered quantiles,
fit-before-predict error, reproducibility. A new model only has to be registered."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import NotFittedError
from trendcast.models.registry import MODELS, make_model

# Heavy models meet the same contract with small settings: the deep models train a few steps,
# and Chronos loads tiny randomly initialised weights built offline (real ones need a download).
# TimesFM's size is fixed, so it loads randomly initialised full-size (200M) weights.
SMALL = {"NHITS": {"max_steps": 5}, "PatchTST": {"max_steps": 5}}
HEAVY = {"TimesFM"}


@pytest.fixture(scope="module")
def tiny_chronos(tmp_path_factory):
    from chronos_tiny import build_bolt, build_chronos2

    root = tmp_path_factory.mktemp("chronos")
    return {"ChronosBolt": {"model_path": str(build_bolt(root / "bolt"))},
            "Chronos2": {"model_path": str(build_chronos2(root / "chronos2"))}}


@pytest.fixture(scope="module")
def timesfm_weights(tmp_path_factory):
    timesfm = pytest.importorskip("timesfm")
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("timesfm")
    timesfm.TimesFM_2p5_200M_torch(torch_compile=False).save_pretrained(folder)
    return {"model_path": str(folder)}


def _small(name, request):
    if name in ("ChronosBolt", "Chronos2"):
        return request.getfixturevalue("tiny_chronos")[name]
    if name == "TimesFM":
        return request.getfixturevalue("timesfm_weights")
    return SMALL.get(name, {})


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in sorted(MODELS)])
def test_contract_shapes_quantiles_and_reproducibility(name, request):
    df = make_sales(n_series=3, n_days=90)
    qs = [0.1, 0.5, 0.9]
    # future covariates for models that use them (others ignore X_df)
    future = make_sales(n_series=3, n_days=104).groupby("unique_id").tail(14)
    X_df = future.drop(columns="y")
    params = _small(name, request)
    fc = make_model(name, **params).fit(df).predict(14, X_df=X_df, quantiles=qs)
    alias = make_model(name, **params).alias
    assert list(fc.columns) == ["unique_id", "ds", alias] + [f"{alias}-q-{q}" for q in qs]
    assert len(fc) == 3 * 14
    assert not fc.isna().any().any()
    lo, mid, hi = (fc[f"{alias}-q-{q}"].to_numpy() for q in qs)
    assert (lo <= mid + 1e-9).all() and (mid <= hi + 1e-9).all()
    # forecasts start the day after each series ends
    assert (fc.groupby("unique_id")["ds"].min() == pd.Timestamp("2024-03-31")).all()
    again = make_model(name, **params).fit(df).predict(14, X_df=X_df, quantiles=qs)
    pd.testing.assert_frame_equal(fc, again)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_before_fit_raises(name):
    with pytest.raises(NotFittedError, match="call fit"):
        make_model(name).predict(7)


