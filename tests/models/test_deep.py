"""Deep global models (neuralforecast NHITS, PatchTST): tiny CPU fits on synthetic sales."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.models.registry import MODELS, make_model

M5_QS = [0.005, 0.025, 0.165, 0.25, 0.5, 0.75, 0.835, 0.975, 0.995]
TINY = {"horizon": 14, "max_steps": 12, "val_check_steps": 4, "early_stop_patience_steps": 1,
        "batch_size": 8, "windows_batch_size": 64}


@pytest.mark.parametrize("name", ["NHITS", "PatchTST"])
def test_deep_model_quantiles_in_order(name):
    df = make_sales(n_series=4, n_days=150)
    model = make_model(name, **TINY).fit(df)
    assert MODELS[name].family == "deep"
    fc = model.predict(14, quantiles=M5_QS + [0.3])  # 0.3 lies between grid levels
    qs = sorted(M5_QS + [0.3])
    cols = [f"{name}-q-{q}" for q in qs]
    assert list(fc.columns) == ["unique_id", "ds", name] + cols
    assert len(fc) == 4 * 14 and not fc.isna().any().any()
    assert (np.diff(fc[cols].to_numpy(), axis=1) >= -1e-9).all()
    # the point is the grid's mean, inside the outer quantiles
    assert ((fc[name] >= fc[cols[0]] - 1e-6) & (fc[name] <= fc[cols[-1]] + 1e-6)).all()
    # 150 days leave a 14-day validation window after 42 input days: early stopping is on
    assert 1 <= model.steps_ <= 12
    # the level of each series is learnt (series i has mean ~5 + 3 i)
    means = fc.groupby("unique_id")[name].mean().to_numpy()
    assert means[-1] > means[0]
    short = model.predict(7)
    assert len(short) == 4 * 7 and list(short.columns) == ["unique_id", "ds", name]


def test_deep_model_guards():
    df = make_sales(n_series=2, n_days=60)
    model = make_model("NHITS", **{**TINY, "max_steps": 3}).fit(df)
    assert any("without early stopping" in n for n in model.notes_)
    with pytest.raises(ModelError, match="trained for 14 steps; asked for 20. Refit with horizon=20"):
        model.predict(20)
    with pytest.raises(ModelError, match="0.001 outside it"):
        model.predict(7, quantiles=[0.001])
    median = make_model("NHITS", **{**TINY, "max_steps": 3}, point="median").fit(df).predict(7, quantiles=[0.5])
    np.testing.assert_allclose(median["NHITS"], median["NHITS-q-0.5"])
    with pytest.raises(ModelError, match="point must be one of"):
        make_model("NHITS", point="mode")
    with pytest.raises(ModelError, match="must include the median"):
        make_model("NHITS", train_quantiles=[0.1, 0.9])
    with pytest.raises(ModelError, match="missing values"):
        make_model("NHITS", **TINY).fit(df.assign(y=df["y"].where(df.index != 3)))
