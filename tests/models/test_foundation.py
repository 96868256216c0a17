"""Foundation models: Fracast with its bundled weights, tiny randomly initialised Chronos-Bolt
and Chronos-2 loaded through ``model_path`` exactly as real weights are, the missing-weights
error, covariates, fine-tuning and save/load, quantile mapping, and the forecast service."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch
from chronos_tiny import GRID_BOLT, GRID_C2, build_bolt, build_chronos2

from conftest import SHARED_DATA, make_sales
from trendcast.errors import DataValidationError, ModelError
from trendcast.models.quantile_map import grid_mean, map_quantiles
from trendcast.models.registry import MODELS, make_model

QS = [0.1, 0.5, 0.9]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"ChronosBolt": str(build_bolt(root / "bolt")), "Chronos2": str(build_chronos2(root / "c2"))}


def future_of(df: pd.DataFrame, h: int) -> pd.DataFrame:
    n = df["unique_id"].nunique()
    days = df.groupby("unique_id").size().iloc[0]
    return make_sales(n_series=n, n_days=days + h).groupby("unique_id").tail(h).drop(columns="y")


def check_forecast(fc: pd.DataFrame, alias: str, n: int, h: int, qs=QS) -> None:
    assert list(fc.columns) == ["unique_id", "ds", alias] + [f"{alias}-q-{q}" for q in qs]
    assert len(fc) == n * h and not fc.isna().any().any()
    q = fc[[f"{alias}-q-{q}" for q in qs]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all()
    # the point forecast is the grid's mean: a weighted average of the native quantiles
    if qs == QS:
        assert ((fc[alias] >= q[:, 0] - 1e-6) & (fc[alias] <= q[:, -1] + 1e-6)).all()


def test_registered_with_families():
    assert {MODELS[m].family for m in ("Fracast", "ChronosBolt", "Chronos2")} == {"foundation"}
    assert MODELS["Chronos2"].supports_exog and not MODELS["ChronosBolt"].supports_exog
    assert not MODELS["Fracast"].supports_exog


# -- quantile mapping ----------------------------------------------------------------------

def test_map_quantiles_interpolates_inside_and_guards_tails():
    grid = [0.1, 0.5, 0.9]
    vals = np.array([[1.0, 3.0, 7.0]])
    inside = map_quantiles(vals, grid, [0.1, 0.3, 0.7])
    np.testing.assert_allclose(inside, [[1.0, 2.0, 5.0]])
    with pytest.raises(ModelError, match="0.005 outside it.*tails='normal'"):
        map_quantiles(vals, grid, [0.005, 0.5])
    tails = map_quantiles(vals, grid, [0.005, 0.1, 0.5, 0.9, 0.995], tails="normal")[0]
    assert (np.diff(tails) > 0).all()
    # two-piece normal: the upper half is wider here, so its tail reaches further from the median
    assert tails[4] - tails[2] > tails[2] - tails[0]
    # crossing heads are sorted before use
    np.testing.assert_allclose(map_quantiles(np.array([[7.0, 3.0, 1.0]]), grid, [0.5]), [[3.0]])
    # the mean of a grid: trapezoid masses (0.1..0.9 equally spaced -> the plain average)
    nine = np.arange(1.0, 10.0)[None]
    np.testing.assert_allclose(grid_mean(nine, np.arange(1, 10) / 10), [5.0])
    np.testing.assert_allclose(grid_mean(vals, grid), [(0.25 * 1 + 0.4 * 3 + 0.25 * 7) / 0.9])


def test_window_sampler_skips_constant_contexts():
    from trendcast.models.finetune import WindowSampler

    flat = np.zeros(200, dtype=np.float32)
    lively = np.tile(np.array([0.0, 3.0, 1.0, 5.0], dtype=np.float32), 50)
    sampler = WindowSampler([flat, lively], context_length=32, horizon=8, min_past=8, seed=0)
    context, target = sampler.batch(50)
    assert context.shape == (50, 32) and target.shape == (50, 8)
    assert (np.nanmax(context, axis=1) > np.nanmin(context, axis=1)).all()


# -- Fracast (bundled weights, no network) ----------------------------------------------------

def test_fracast_forecasts_offline_and_chunks_do_not_change_results():
    df = make_sales(n_series=3, n_days=90)
    one = make_model("Fracast", batch_size=1).fit(df)
    fc = one.predict(60, quantiles=QS)  # beyond the 48-step block: recursive
    check_forecast(fc, "Fracast", 3, 60)
    all_at_once = make_model("Fracast").fit(df).predict(60, quantiles=QS)
    pd.testing.assert_frame_equal(fc, all_at_once, atol=1e-5)
    median = make_model("Fracast", point="median").fit(df).predict(60, quantiles=QS)
    np.testing.assert_allclose(median["Fracast"], median["Fracast-q-0.5"])
    assert not np.allclose(median["Fracast"], fc["Fracast"])
    # the level of each series is followed (series i has mean ~5 + 3 i)
    means = fc.groupby("unique_id")["Fracast"].mean().to_numpy()
    assert (np.diff(means) > 1.5).all()


def test_fracast_quantiles_outside_grid_and_progress():
    df = make_sales(n_series=3, n_days=60)
    calls = []
    model = make_model("Fracast", batch_size=2, progress=lambda *a: calls.append(a)).fit(df)
    with pytest.raises(ModelError, match=r"0\.1\.\.0\.9.*0\.005"):
        model.predict(7, quantiles=[0.005, 0.5])
    assert [c[1:] for c in calls] == []
    fc = make_model("Fracast", tails="normal").fit(df).predict(7, quantiles=[0.005, 0.25, 0.995])
    check_forecast(fc, "Fracast", 3, 7, qs=[0.005, 0.25, 0.995])
    model.predict(7)
    assert [c[1:] for c in calls] == [(1, 2), (2, 2)]


def test_fracast_short_series_get_naive_and_a_note():
    df = make_sales(n_series=2, n_days=60)
    short = pd.DataFrame({"unique_id": "NEW", "ds": pd.date_range("2024-02-25", periods=5), "y": [1.0, 2, 3, 4, 6]})
    lone = pd.DataFrame({"unique_id": "ONE", "ds": [pd.Timestamp("2024-02-29")], "y": [4.0]})
    model = make_model("Fracast").fit(pd.concat([df, short, lone], ignore_index=True))
    fc = model.predict(5, quantiles=QS)
    check_forecast(fc, "Fracast", 4, 5)
    assert (fc.loc[fc["unique_id"] == "NEW", "Fracast"] == 6.0).all()  # naive: the last value
    assert (fc.loc[fc["unique_id"] == "ONE", ["Fracast-q-0.1", "Fracast-q-0.9"]] == 4.0).all().all()
    assert any("fewer than 8 observations" in n and "NEW" in n for n in model.notes_)


def test_fracast_rejects_gaps_and_bad_path(tmp_path, tiny):
    df = make_sales(n_series=2, n_days=40).drop(index=[5, 6])
    with pytest.raises(DataValidationError, match="missing dates"):
        make_model("Fracast").fit(df)
    with pytest.raises(ModelError, match="not a folder with config.json.*bundled"):
        make_model("Fracast", model_path=str(tmp_path / "nope")).fit(make_sales(2, 40))
    with pytest.raises(ModelError, match="not a fracast release"):
        make_model("Fracast", model_path=tiny["ChronosBolt"]).fit(make_sales(2, 40))


def _m5_sample(n_rows: int = 300, n_series: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = SHARED_DATA / "m5_ca1"
    if not folder.exists():
        pytest.skip(f"real M5 data not found at {folder}")
    wide = pd.read_csv(folder / "sales_train_evaluation_CA_1.csv.gz", nrows=n_rows)
    days = [c for c in wide.columns if c.startswith("d_")]
    test = pd.read_csv(folder / "sales_test_evaluation_CA_1.csv").set_index("item_id")
    cal = pd.read_csv(folder / "calendar.csv", parse_dates=["date"]).set_index("d")["date"]
    top = wide.assign(total=wide[days[-365:]].sum(axis=1)).nlargest(n_series, "total")
    tdays = [c for c in test.columns if c.startswith("d_")]
    train = pd.DataFrame({"unique_id": np.repeat(top["item_id"].to_numpy(), len(days)),
                          "ds": np.tile(cal[days].to_numpy(), len(top)),
                          "y": top[days].to_numpy(dtype=float).ravel()})
    actual = pd.DataFrame({"unique_id": np.repeat(top["item_id"].to_numpy(), len(tdays)),
                           "ds": np.tile(cal[tdays].to_numpy(), len(top)),
                           "y": test.loc[top["item_id"], tdays].to_numpy(dtype=float).ravel()})
    return train, actual


def test_fracast_on_real_m5_series_beats_seasonal_naive():
    """The 12 best-selling of the first 300 CA_1 items, the official 28-day test."""
    train, actual = _m5_sample()
    fc = make_model("Fracast", n_jobs=2).fit(train).predict(28, quantiles=QS)
    check_forecast(fc, "Fracast", 12, 28)
    sn = make_model("SeasonalNaive").fit(train).predict(28)
    both = actual.merge(fc, on=["unique_id", "ds"]).merge(sn, on=["unique_id", "ds"])
    mae_fracast = (both["y"] - both["Fracast"]).abs().mean()
    mae_naive = (both["y"] - both["SeasonalNaive"]).abs().mean()
    assert mae_fracast < mae_naive
    covered = ((both["y"] >= both["Fracast-q-0.1"]) & (both["y"] <= both["Fracast-q-0.9"])).mean()
    assert 0.5 < covered <= 1.0


# -- Chronos (tiny random weights through the user's model_path) --------------------------------

@pytest.mark.parametrize("name", ["ChronosBolt", "Chronos2"])
def test_chronos_from_local_folder(name, tiny):
    df = make_sales(n_series=3, n_days=90)
    model = make_model(name, model_path=tiny[name], batch_size=2).fit(df)
    assert model.native_quantiles == (GRID_BOLT if name == "ChronosBolt" else GRID_C2)
    fc = model.predict(40, X_df=future_of(df, 40), quantiles=QS)
    check_forecast(fc, name, 3, 40)
    assert any("unrolled" in n for n in model.notes_)  # the tiny models predict 16 / 32 steps at once
    if name == "ChronosBolt":  # grid 0.1..0.9: 0.05 is outside
        with pytest.raises(ModelError, match="outside it"):
            model.predict(5, quantiles=[0.05])
    else:  # grid 0.01..0.99: 0.05 is on it, 0.15 between two levels
        check_forecast(model.predict(5, X_df=future_of(df, 5), quantiles=[0.05, 0.15, 0.5]),
                       name, 3, 5, qs=[0.05, 0.15, 0.5])


def test_chronos2_uses_known_future_covariates(tiny):
    df = make_sales(n_series=3, n_days=90)
    rng = np.random.default_rng(1)
    df["price"] = rng.uniform(5, 15, len(df))
    model = make_model("Chronos2", model_path=tiny["Chronos2"]).fit(df)
    assert model.covariates_ == ["price", "promo"]
    fut = future_of(df, 14)
    base = model.predict(14, X_df=fut, quantiles=QS)
    assert any("known future ['price', 'promo']" in n for n in model.notes_)
    moved = model.predict(14, X_df=fut.assign(price=fut["price"] * 3), quantiles=QS)
    assert not np.allclose(base["Chronos2"], moved["Chronos2"])
    past_only = model.predict(14, quantiles=QS)
    assert any("past only ['price', 'promo']" in n for n in model.notes_)
    check_forecast(past_only, "Chronos2", 3, 14)
    with pytest.raises(ModelError, match="X_df has no row"):
        model.predict(14, X_df=fut.iloc[:-1])


def test_missing_weights_raise_one_clear_error(tmp_path, monkeypatch, tiny):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    df = make_sales(n_series=2, n_days=40)
    with pytest.raises(ModelError, match=r"amazon/chronos-bolt-small.*HF_HUB_OFFLINE=1.*hf download "
                                         r"amazon/chronos-bolt-small --local-dir DIR.*--model-path DIR"):
        make_model("ChronosBolt").fit(df)
    with pytest.raises(ModelError, match="hf download amazon/chronos-2"):
        make_model("Chronos2", model_path="amazon/chronos-2").fit(df)
    with pytest.raises(ModelError, match="not an existing folder nor a hub id"):
        make_model("ChronosBolt", model_path=str(tmp_path / "absent" / "dir")).fit(df)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        make_model("Chronos2", model_path=str(tmp_path / "empty")).fit(df)
    with pytest.raises(ModelError, match="holds a Chronos2Pipeline, not a ChronosBoltPipeline"):
        make_model("ChronosBolt", model_path=tiny["Chronos2"]).fit(df)


# -- fine-tuning and save/load ---------------------------------------------------------------

def _weights(model) -> dict[str, torch.Tensor]:
    module = model.model_.core if model.alias == "Fracast" else model.model_.model
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", ["ChronosBolt", "Chronos2", "Fracast"])
def test_fine_tune_changes_weights_and_saves(name, tiny, tmp_path):
    df = make_sales(n_series=3, n_days=120)
    path = tiny.get(name)
    model = make_model(name, model_path=path, fine_tune_horizon=14, fine_tune_batch_size=4).fit(df)
    before = _weights(model)
    zero_shot = model.predict(14, X_df=future_of(df, 14), quantiles=QS)
    model.fine_tune(steps=3, learning_rate=1e-3)
    after = _weights(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    report = model.fine_tune_report_
    assert report["steps"] == 3 and report["holdout_series"] == 3
    assert np.isfinite(report["holdout_wql_before"]) and np.isfinite(report["holdout_wql_after"])
    assert any("fine-tuned 3 steps" in n for n in model.notes_)
    tuned = model.predict(14, X_df=future_of(df, 14), quantiles=QS)
    assert not np.allclose(zero_shot[name], tuned[name])
    folder = model.save(tmp_path / "tuned")
    again = make_model(name, model_path=str(folder)).fit(df).predict(14, X_df=future_of(df, 14), quantiles=QS)
    pd.testing.assert_frame_equal(tuned, again, atol=1e-5)


def test_fine_tune_through_fit_parameter(tiny):
    df = make_sales(n_series=3, n_days=120)
    model = make_model("ChronosBolt", model_path=tiny["ChronosBolt"], fine_tune_steps=2,
                       fine_tune_horizon=14, fine_tune_batch_size=4).fit(df)
    assert model.fine_tune_report_["steps"] == 2
    with pytest.raises(DataValidationError, match="too short to fine-tune"):
        make_model("ChronosBolt", model_path=tiny["ChronosBolt"], fine_tune_steps=2,
                   fine_tune_horizon=200).fit(df)


# -- the forecast service ----------------------------------------------------------------------

def test_run_forecast_passes_model_path(store, tiny):
    from trendcast.services.forecast import read_run, run_forecast

    store.upsert("sales", make_sales(n_series=3, n_days=90))
    result = run_forecast(store, horizon=7, models=["Chronos2", "SeasonalNaive"],
                          model_params={"model_path": tiny["Chronos2"]})
    assert {"Chronos2", "SeasonalNaive"} <= set(result.forecasts.columns)
    assert (result.forecasts.drop(columns=["unique_id", "ds"]) >= 0).all().all()
    assert any("Chronos2 covariates" in n for n in result.notes)
    assert read_run(store, result.run_id).forecasts["unique_id"].nunique() == 3
    with pytest.raises(ModelError, match="takes \\['model_path'\\]"):
        run_forecast(store, horizon=7, models=["SeasonalNaive"], model_params={"model_path": "x"})
    with pytest.raises(ModelError, match="one model at a time"):
        run_forecast(store, horizon=7, models=["Fracast", "Chronos2"], model_params={"model_path": "x"})
    fracast = run_forecast(store, horizon=7, models=["Fracast"])
    assert fracast.forecasts["Fracast-q-0.9"].gt(fracast.forecasts["Fracast-q-0.1"]).all()


@pytest.mark.slow
def test_cli_model_path(tmp_path, tiny):
    import subprocess
    import sys

    from trendcast.data.store import open_store

    db = tmp_path / "cli.duckdb"
    with open_store(db) as s:
        s.upsert("sales", make_sales(n_series=2, n_days=60))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = [sys.executable, "-m", "trendcast.cli", "forecast", "--db", str(db), "--horizon", "5", "--json"]
    ok = subprocess.run([*run, "--model", "ChronosBolt", "--model-path", tiny["ChronosBolt"]],
                        capture_output=True, text=True, env=env, timeout=600)
    assert ok.returncode == 0, ok.stderr
    assert "ChronosBolt-q-0.9" in ok.stdout
    bad = subprocess.run([*run, "--model", "ChronosBolt"], capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode != 0 and "hf download amazon/chronos-bolt-small" in bad.stderr


def test_chronos2_takes_external_drivers_only_when_asked(tiny):
    from trendcast.engine.runner import FrameSource, Runner

    df = make_sales(n_series=3, n_days=90)
    months = pd.date_range(df["ds"].min() - pd.DateOffset(months=6), df["ds"].max(), freq="MS")
    macro = pd.DataFrame({"name": "confidence", "ds": months,
                          "value": 100 + np.random.default_rng(2).normal(0, 5, len(months))})
    source = FrameSource(df, macro=macro)
    plain = Runner([make_model("Chronos2", model_path=tiny["Chronos2"])]).fit(source, 14)
    assert not any(c.startswith("macro_") for c in plain.model.covariates_)
    runner = Runner([make_model("Chronos2", model_path=tiny["Chronos2"], drivers=True)])
    fitted = runner.fit(source, 14)
    assert "macro_confidence" in fitted.model.covariates_
    base = fitted.model.predict(14, X_df=fitted.future, quantiles=QS)
    assert "macro_confidence" in fitted.model.known_  # lagged 14 days: known for the horizon
    moved = fitted.model.predict(14, X_df=fitted.future.assign(macro_confidence=50.0), quantiles=QS)
    assert not np.allclose(base["Chronos2"], moved["Chronos2"])
    check_forecast(runner.forecast(source, 14, quantiles=QS).forecasts, "Chronos2", 3, 14)
