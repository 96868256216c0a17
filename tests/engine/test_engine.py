"""Execution engines: a local Ray cluster with 2 workers gives the local engine's results;
failed tasks are retried; progress is reported per partition; bad addresses fail clearly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.engine import make_engine
from trendcast.engine.local import LocalEngine
from trendcast.errors import ModelError, TrendcastError
from trendcast.services.forecast import read_run, run_backtest, run_forecast

ray = pytest.importorskip("ray")

MODELS = ["SeasonalNaive", "AutoETS"]
SMALL_LGBM = {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 5}


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray with 2 worker CPUs for this module, started by the engine itself
    (``ray.init(address="local", num_cpus=2, include_dashboard=False)``); test functions
    travel to the workers by value."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    engine = make_engine("ray", n_jobs=2)
    assert ray.cluster_resources().get("CPU") == 2
    yield engine
    started = engine._started
    engine.close()
    assert not (started and ray.is_initialized())  # the engine shuts down the Ray it started


@pytest.fixture(scope="module")
def sales_store(tmp_path_factory):
    from trendcast.data.store import open_store

    store = open_store(tmp_path_factory.mktemp("engine") / "sales.duckdb")
    sales = make_sales(n_series=6, n_days=120)
    store.upsert("sales", sales[~((sales["unique_id"] == "P002") & (sales["ds"] == "2024-02-10"))])
    yield store
    store.close()


@pytest.fixture(scope="module")
def shop_store(tmp_path_factory):
    from trendcast.data.simulate import simulate_shop
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames

    store = open_store(tmp_path_factory.mktemp("engine") / "shop.duckdb")
    shop = simulate_shop(n_products=9, start="2024-09-01", end="2025-06-30", seed=5)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                          "calendar_events": shop.calendar}, source="shop")
    yield store
    store.close()


def test_ray_engine_forecasts_equal_the_local_engine(ray_cluster, sales_store):
    local = run_forecast(sales_store, horizon=7, models=MODELS, n_jobs=2, engine="local",
                         partition_size=1000)
    ticks: list[tuple[str, int, int]] = []
    remote = run_forecast(sales_store, horizon=7, models=MODELS, n_jobs=2, engine=make_engine("ray"),
                          partition_size=2, progress=lambda *a: ticks.append(a))
    pd.testing.assert_frame_equal(remote.forecasts, local.forecasts)
    # P002's missing day: a fast seller's, read at its level (the catalogue's rows, not the partition's, say
    # the shop was open)
    assert remote.notes == local.notes and any("have periods without a row" in n and "(P002 1; the latest 2024-02-10)" in n
                                               for n in local.notes)
    assert [t[1:] for t in ticks] == [(1, 3), (2, 3), (3, 3)]  # one report per partition
    stored = read_run(sales_store, remote.run_id).forecasts
    pd.testing.assert_frame_equal(stored[local.forecasts.columns], local.forecasts, check_dtype=False)
    params = sales_store.run_row(remote.run_id)["params"]
    assert params["engine"] == "ray" and params["partitions"] == 3


def test_ray_backtest_equals_the_local_engine(ray_cluster, sales_store):
    local = run_backtest(sales_store, horizon=7, n_windows=2, models=MODELS, engine="local")
    remote = run_backtest(sales_store, horizon=7, n_windows=2, models=MODELS,
                          engine=make_engine("ray"), partition_size=4)
    pd.testing.assert_frame_equal(remote.forecasts, local.forecasts)
    pd.testing.assert_frame_equal(remote.metrics, local.metrics)


@pytest.mark.slow  # ~15 s: LightGBM's first import in this process and in each Ray worker
def test_global_model_is_fitted_once_and_predicted_per_partition(ray_cluster, shop_store):
    ticks: list[str] = []
    whole = run_forecast(shop_store, horizon=7, models=["LightGBM"], n_jobs=2, engine="local",
                         partition_size=1000, model_params=SMALL_LGBM)
    remote = run_forecast(shop_store, horizon=7, models=["LightGBM"], n_jobs=2, engine=make_engine("ray"),
                          partition_size=4, model_params=SMALL_LGBM, progress=lambda *a: ticks.append(a[0]))
    pd.testing.assert_frame_equal(remote.forecasts, whole.forecasts)
    assert "LightGBM-q-0.9" in whole.forecasts and len(whole.forecasts) == 9 * 7
    assert ticks == ["fit global models"] + ["forecast LightGBM"] * 3  # one fit, 3 partitions


def test_for_series_forecasts_what_the_fitted_model_forecasts(shop_store):
    from trendcast.features.exog import add_covariates, future_covariates
    from trendcast.models.registry import make_model
    from trendcast.services.forecast import load_series

    df = load_series(shop_store)
    exog = add_covariates(df, sales=shop_store.sales(), calendar=shop_store.calendar(),
                          products=shop_store.products(), horizon=7)
    future = future_covariates(exog, 7, "D")[0]
    model = make_model("MedianEnsemble", members=["LightGBM", "SeasonalNaive"]).fit(exog)
    full = model.predict(7, X_df=future, quantiles=[0.1, 0.9])
    ids = sorted(df["unique_id"].unique())[2:5]
    part = model.for_series(exog[exog["unique_id"].isin(ids)]).predict(
        7, X_df=future[future["unique_id"].isin(ids)], quantiles=[0.1, 0.9])
    pd.testing.assert_frame_equal(part, full[full["unique_id"].isin(ids)].reset_index(drop=True))


def test_a_block_of_the_snapshot_is_prepared_as_from_the_workspace(shop_store, tmp_path):
    from trendcast.engine.runner import _load
    from trendcast.engine.tasks import Prep, prepare
    from trendcast.features.exog import add_covariates, future_covariates
    from trendcast.services.forecast import load_series

    ids = shop_store.series_ids()[3:7]
    series = load_series(shop_store, ids)
    exog = add_covariates(series, sales=shop_store.sales(ids), calendar=shop_store.calendar(),
                          products=shop_store.products(), horizon=7)
    future, notes = future_covariates(exog, 7, "D")
    snap = shop_store.snapshot(tmp_path / "snap")
    assert snap.ids == shop_store.series_ids() and snap.freq == "D"
    got = prepare(_load(snap, ids), Prep("D", 7, True, True, snap.calendar()))
    pd.testing.assert_frame_equal(got.part.series, series)
    pd.testing.assert_frame_equal(got.part.exog, exog)
    pd.testing.assert_frame_equal(got.part.future, future)
    assert got.notes == notes and got.n_series == 4


def test_partitions_give_the_single_partition_result_locally(sales_store):
    one = run_backtest(sales_store, horizon=7, n_windows=2, models=["SeasonalWindowAverage", "Naive"],
                       engine=LocalEngine(1), partition_size=1000)
    many = run_backtest(sales_store, horizon=7, n_windows=2, models=["SeasonalWindowAverage", "Naive"],
                        engine=LocalEngine(1), partition_size=1)
    pd.testing.assert_frame_equal(many.forecasts, one.forecasts)
    pd.testing.assert_frame_equal(many.metrics, one.metrics)


def test_models_learning_across_series_run_whole_and_say_so(sales_store):
    whole = run_forecast(sales_store, horizon=7, models=["SeasonalNaive", "WeightedEnsemble"],
                         engine="local", partition_size=1000)
    split = run_forecast(sales_store, horizon=7, models=["SeasonalNaive", "WeightedEnsemble"],
                         engine="local", partition_size=2, collect=False)
    assert split.forecasts.empty and split.n_series == 6
    pd.testing.assert_frame_equal(read_run(sales_store, split.run_id).forecasts[whole.forecasts.columns],
                                  whole.forecasts, check_dtype=False)
    assert any("WeightedEnsemble learn(s) across series" in n for n in split.notes)


def _fail_once(marker: str, shared: object) -> str:
    """Fails on its first attempt (leaving a marker), succeeds on the retry."""
    if not os.path.exists(marker):
        Path(marker).write_text("attempt 1")
        raise RuntimeError("transient failure")
    return Path(marker).name


def _bad_input(marker: str, shared: object) -> str:
    with open(marker, "a") as f:
        f.write("x")
    raise ModelError("bad input: retrying will not help")


def test_a_failed_task_is_retried_and_bad_input_is_not(ray_cluster, tmp_path):
    engine = make_engine("ray", max_retries=2)
    markers = [str(tmp_path / f"part{i}") for i in range(3)]
    seen: list[tuple[int, int | None]] = []
    out = dict(engine.map_partitions(_fail_once, markers, total=3,
                                     progress=lambda d, t: seen.append((d, t))))
    assert out == {0: "part0", 1: "part1", 2: "part2"}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ModelError, match="retrying will not help"):
        list(engine.map_partitions(_bad_input, [str(tmp_path / "bad")]))
    assert (tmp_path / "bad").read_text() == "x"  # one attempt only


def _times_and_pid(part: int, shared: int) -> tuple[int, int]:
    import time

    time.sleep(0.3)  # long enough that both workers get a partition
    return part * shared, os.getpid()


def test_local_engine_runs_partitions_in_worker_processes():
    engine = LocalEngine(2)
    seen: list[tuple[int, int | None]] = []
    try:
        out = list(engine.map_partitions(_times_and_pid, [1, 2, 3, 4], shared=10, total=4,
                                         progress=lambda d, t: seen.append((d, t))))
    finally:
        engine.close()
    assert sorted((i, v) for i, (v, _) in out) == [(0, 10), (1, 20), (2, 30), (3, 40)]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    pids = {pid for _, (_, pid) in out}
    assert len(pids) == 2 and os.getpid() not in pids  # every core, none of them the driver's
    assert engine.task_jobs(1, partitions=4) == 1 and engine.task_jobs(2) == 2


def test_local_engine_runs_a_lone_or_multi_core_task_in_process():
    engine = LocalEngine(2)
    out = list(engine.map_partitions(lambda p, s: (p * s, os.getpid()), [1], shared=10, total=1))
    assert out == [(0, (10, os.getpid()))] and engine.task_jobs(1, partitions=1) == 2
    out = list(engine.map_partitions(lambda p, s: os.getpid(), [1, 2], shared=None, total=2, cpus=2))
    assert [pid for _, pid in out] == [os.getpid()] * 2


def test_ray_address_pointing_nowhere_fails_clearly():
    from trendcast.engine.ray_engine import check_reachable

    with pytest.raises(TrendcastError, match=r"cannot reach a Ray cluster at '127.0.0.1:9'.*ray start --head"):
        check_reachable("127.0.0.1:9")
    with pytest.raises(TrendcastError, match="not host:port"):
        make_engine("ray", ray_address="no-port-here")
    with pytest.raises(TrendcastError, match="cannot reach a Ray cluster at 'ray://127.0.0.1:9'"):
        make_engine("ray", ray_address="ray://127.0.0.1:9")


def test_engine_names_and_settings(monkeypatch):
    from trendcast.config import Settings

    assert make_engine().name == "local"
    with pytest.raises(TrendcastError, match="unknown engine 'spark'"):
        make_engine("spark")
    monkeypatch.setenv("TRENDCAST_ENGINE", "spark")
    with pytest.raises(ValueError, match="engine"):
        Settings()
