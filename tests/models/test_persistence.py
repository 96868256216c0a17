"""Saved versions: every model that can be saved forecasts the same after a save/load round
trip, moves forward to newer data without refitting, and refuses other package releases."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.engine.runner import FrameSource, Runner
from trendcast.errors import ModelError
from trendcast.models import persistence
from trendcast.models.registry import MODELS, make_model

# TimesFM only loads full-size (200M) weights: covered by the slow contract test, not here.
SKIP = {"TimesFM"}
SMALL = {"NHITS": {"max_steps": 3, "horizon": 14}, "PatchTST": {"max_steps": 3, "horizon": 14},
         "Recommended": {"horizon": 14}}
QS = [0.1, 0.5, 0.9]


@pytest.fixture(scope="module")
def tiny_chronos(tmp_path_factory):
    from chronos_tiny import build_bolt, build_chronos2

    root = tmp_path_factory.mktemp("chronos")
    return {"ChronosBolt": {"model_path": str(build_bolt(root / "bolt"))},
            "Chronos2": {"model_path": str(build_chronos2(root / "chronos2"))}}


def _params(name, request):
    if name in ("ChronosBolt", "Chronos2"):
        return request.getfixturevalue("tiny_chronos")[name]
    return SMALL.get(name, {})


@pytest.mark.parametrize("name", sorted(set(MODELS) - SKIP) + [
    "MedianEnsemble(SeasonalNaive,LightGBM)", "MedianEnsemble(AutoETS,SeasonalWindowAverage)"])
def test_round_trip_gives_identical_forecasts(name, request):
    sales = make_sales(n_series=3, n_days=120)
    old = sales[sales["ds"] <= sales["ds"].max() - pd.Timedelta(days=7)]
    runner = Runner([make_model(name, **_params(name, request))], partition_size=2)
    trained = runner.train(FrameSource(old), 14)
    data, meta = persistence.dumps(trained.models)
    loaded = persistence.loads(data, meta)
    assert list(loaded) == runner.aliases
    kept = runner.forecast(FrameSource(sales), 14, quantiles=QS, fitted=trained.models).forecasts
    again = runner.forecast(FrameSource(sales), 14, quantiles=QS, fitted=loaded).forecasts
    pd.testing.assert_frame_equal(kept, again)
    # forecasts start after the newest data, not after the training data
    assert kept["ds"].min() == sales["ds"].max() + pd.Timedelta(days=1)
    assert kept[runner.aliases[0]].notna().all()


def test_statistical_state_moves_forward_without_refitting():
    sales = make_sales(n_series=2, n_days=120)
    model = make_model("AutoETS").fit(sales)
    before = model.predict(7, quantiles=QS)
    frozen = model.freeze()
    assert "train_" not in frozen.__dict__ and len(frozen.states_) == 2
    # the saved state on the training data reproduces the fitted forecast exactly
    pd.testing.assert_frame_equal(frozen.forward(sales).predict(7, quantiles=QS), before)
    newer = make_sales(n_series=2, n_days=127)
    moved = frozen.forward(newer).predict(7, quantiles=QS)
    assert moved["ds"].min() == newer["ds"].max() + pd.Timedelta(days=1)
    # parameters kept: the fitted components are the same objects' parameters
    uid = "P000"
    assert frozen.forward(newer).states_[uid][1].model_["par"] is frozen.states_[uid][1].model_["par"]


def test_per_series_states_merge_across_partitions():
    sales = make_sales(n_series=4, n_days=120)
    runner = Runner([make_model("AutoETS")], partition_size=1)
    trained = runner.train(FrameSource(sales), 7)
    assert sorted(trained.models["AutoETS"].states_) == ["P000", "P001", "P002", "P003"]


def test_incompatible_package_version_is_refused():
    sales = make_sales(n_series=2, n_days=90)
    data, meta = persistence.dumps({"LightGBM": make_model("LightGBM").fit(sales).freeze()})
    assert {"lightgbm", "mlforecast", "trendcast"} <= set(meta["requires"])
    assert "torch" not in meta["requires"]
    old = {**meta, "packages": {**meta["packages"], "lightgbm": "3.3.5"}}
    with pytest.raises(persistence.IncompatibleVersionError, match=r"lightgbm 3\.3\.5 \(installed: "):
        persistence.loads(data, old)
    # a patch release is fine
    major, minor = meta["packages"]["lightgbm"].split(".")[:2]
    persistence.loads(data, {**meta, "packages": {**meta["packages"], "lightgbm": f"{major}.{minor}.99"}})


def test_other_artefact_format_and_corrupt_bytes_are_refused():
    sales = make_sales(n_series=2, n_days=60)
    data, meta = persistence.dumps({"Naive": make_model("Naive").fit(sales).freeze()})
    bumped = data[:7] + (persistence.ARTEFACT_FORMAT + 1).to_bytes(2, "big") + data[9:]
    with pytest.raises(persistence.IncompatibleVersionError, match="artefact format"):
        persistence.loads(bumped, {**meta, "sha256": None})
    with pytest.raises(ModelError, match="checksum"):
        persistence.loads(data[:-3], meta)
    with pytest.raises(ModelError, match="unfitted"):
        persistence.dumps({"Naive": make_model("Naive")})
