"""TimesFM 2.5: a randomly initialised full-size model (the architecture is fixed at 200M
parameters) saved to a folder and loaded through ``model_path`` exactly as real weights are;
shapes, quantiles, reproducibility, the missing-weights error, no fine-tuning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chronos_tiny import build_bolt

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.models.registry import MODELS, make_model

pytest.importorskip("timesfm")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    import timesfm
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("timesfm")
    model = timesfm.TimesFM_2p5_200M_torch(torch_compile=False)
    model.save_pretrained(folder)
    del model
    return str(folder)


@pytest.fixture(scope="module")
def fitted(weights):
    return make_model("TimesFM", model_path=weights).fit(make_sales(n_series=4, n_days=200))


def test_registered_as_foundation():
    cls = MODELS["TimesFM"]
    assert cls.family == "foundation" and cls.supports_quantiles and not cls.supports_exog


@pytest.mark.slow  # each loads the 200M model (~1 GB) once or twice
def test_forecast_shapes_quantiles_and_reproducibility(fitted):
    qs = [0.1, 0.5, 0.9]
    fc = fitted.predict(14, quantiles=qs)
    assert list(fc.columns) == ["unique_id", "ds", "TimesFM"] + [f"TimesFM-q-{q}" for q in qs]
    assert len(fc) == 4 * 14 and not fc.isna().any().any()
    assert (fc.groupby("unique_id")["ds"].min() == pd.Timestamp("2024-07-19")).all()
    q = fc[[f"TimesFM-q-{q}" for q in qs]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all()
    # sales are non-negative, so the forecasts are too (infer_is_positive)
    assert (q >= 0).all() and (fc["TimesFM"] >= 0).all()
    # the point is the mean of the 0.1..0.9 grid, so it lies between its ends
    assert ((fc["TimesFM"] >= q[:, 0] - 1e-6) & (fc["TimesFM"] <= q[:, -1] + 1e-6)).all()
    assert fitted.model_.forecast_config.max_context == 224  # 200 points padded to whole patches
    pd.testing.assert_frame_equal(fc, fitted.predict(14, quantiles=qs))


@pytest.mark.slow  # each loads the 200M model (~1 GB) once or twice
def test_chunks_and_median_point_agree(weights, fitted):
    df = make_sales(n_series=4, n_days=200)
    whole = fitted.predict(14, quantiles=[0.5])
    chunked = make_model("TimesFM", model_path=weights, batch_size=3, point="median").fit(df)
    fc = chunked.predict(14, quantiles=[0.5])
    np.testing.assert_allclose(fc["TimesFM-q-0.5"], whole["TimesFM-q-0.5"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fc["TimesFM"], fc["TimesFM-q-0.5"])


@pytest.mark.slow  # each loads the 200M model (~1 GB) once or twice
def test_levels_outside_the_grid_are_mapped_or_refused(fitted):
    with pytest.raises(ModelError, match="0.05 outside it"):
        fitted.predict(14, quantiles=[0.05])
    fitted.params["tails"] = "normal"
    try:
        fc = fitted.predict(14, quantiles=[0.05, 0.1, 0.5])
    finally:
        fitted.params["tails"] = "error"
    q = fc[["TimesFM-q-0.05", "TimesFM-q-0.1", "TimesFM-q-0.5"]].to_numpy()
    assert not np.isnan(q).any() and (np.diff(q, axis=1) >= -1e-9).all()


@pytest.mark.slow  # each loads the 200M model (~1 GB) once or twice
def test_short_flat_and_empty_series(weights):
    df = make_sales(n_series=4, n_days=200)
    last = df["ds"].max()
    df = df[(df["unique_id"] != "P001") | (df["ds"] == last)]  # a single observation
    df.loc[df["unique_id"] == "P002", "y"] = 3.0  # constant
    df.loc[df["unique_id"] == "P003", "y"] = np.nan  # nothing observed: naive fallback
    model = make_model("TimesFM", model_path=weights, context_length=64).fit(df)
    fc = model.predict(7, quantiles=[0.1, 0.9])
    assert len(fc) == 4 * 7 and not fc.isna().any().any()
    assert model.model_.forecast_config.max_context == 64
    assert any("P003" in note for note in model.notes_)
    assert (fc.loc[fc["unique_id"] == "P003", "TimesFM"] == 0).all()


@pytest.mark.slow  # each loads the 200M model (~1 GB) once or twice
def test_long_horizons(fitted):
    fc = fitted.predict(1100, quantiles=[0.1, 0.9])
    assert len(fc) == 4 * 1100 and not fc.isna().any().any()
    assert (fc["TimesFM-q-0.9"] >= fc["TimesFM-q-0.1"] - 1e-9).all()
    assert any("continuous quantile head" in note for note in fitted.notes_)
    with pytest.raises(ModelError, match="horizon 20000 is too long.*h <= 16256"):
        fitted.predict(20000)


def test_cannot_be_fine_tuned():
    with pytest.raises(ModelError, match="TimesFM cannot be fine-tuned"):
        make_model("TimesFM", fine_tune_steps=10)
    with pytest.raises(ModelError, match="TimesFM cannot be fine-tuned"):
        make_model("TimesFM").fine_tune(make_sales(n_series=2, n_days=40), steps=5)


def test_missing_weights_raise_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    df = make_sales(n_series=2, n_days=40)
    how = r"hf download google/timesfm-2.5-200m-pytorch --local-dir DIR.*--model-path DIR"
    with pytest.raises(ModelError, match=r"google/timesfm-2.5-200m-pytorch.*HF_HUB_OFFLINE=1.*" + how):
        make_model("TimesFM").fit(df)
    with pytest.raises(ModelError, match=r"'nobody/no-such-timesfm'.*HF_HUB_OFFLINE=1.*" + how):
        make_model("TimesFM", model_path="nobody/no-such-timesfm").fit(df)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no model.safetensors.*" + how):
        make_model("TimesFM", model_path=str(tmp_path / "empty")).fit(df)
    with pytest.raises(ModelError, match="not an existing folder nor a hub id"):
        make_model("TimesFM", model_path=str(tmp_path / "absent" / "dir")).fit(df)
    bolt = build_bolt(tmp_path / "bolt")  # a model.safetensors of another model
    with pytest.raises(ModelError, match="could not be read as a TimesFM 2.5.*" + how):
        make_model("TimesFM", model_path=str(bolt)).fit(df)
