"""`trendcast prune`: old runs, scores and versions go; what monitoring, updates and the
newest results need stays (every backend)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ModelError
from trendcast.services.forecast import run_backtest
from trendcast.services.monitor import accuracy, score_pending
from trendcast.services.retention import prune
from trendcast.services.versions import forecast_from_version, train_version

LATER = pd.Timestamp.now() + pd.Timedelta(days=100)  # every run below is 100 days old then


@pytest.fixture
def history(store):
    """A workspace after three weeks of daily work: versions, forecasts, scores, backtests."""
    sales = make_sales(n_series=3, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    v1 = train_version(store, horizon=7, models=["SeasonalNaive"])  # promoted
    f1 = forecast_from_version(store).run_id
    store.upsert("sales", sales[sales["ds"] <= "2024-04-15"])
    f2 = forecast_from_version(store).run_id
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    assert score_pending(store) == 2 * 3 * 7  # f1 and f2 fully scored
    f3 = forecast_from_version(store).run_id  # awaits its actuals (days after 2024-04-22)
    f4 = forecast_from_version(store).run_id  # the newest forecast
    v2 = train_version(store, horizon=7, models=["SeasonalNaive"], promote=False)
    v3 = train_version(store, horizon=7, models=["SeasonalNaive"], promote=False)
    b1 = run_backtest(store, horizon=7, n_windows=1, models=["Naive"]).run_id
    b2 = run_backtest(store, horizon=7, n_windows=1, models=["Naive"]).run_id  # the newest backtest
    return store, {"v1": v1, "v2": v2, "v3": v3, "f1": f1, "f2": f2, "f3": f3, "f4": f4, "b1": b1, "b2": b2}


def _runs(store) -> set[str]:
    return set(store.read("runs")["run_id"])


def test_prune_deletes_old_runs_and_versions_and_keeps_what_is_still_needed(history):
    store, h = history
    board = accuracy(store, level="run", score=False)
    before_runs, scores = _runs(store), store.count("forecast_scores")
    f1_rows = store.count_run_rows([h["f1"]])["forecasts"]
    assert f1_rows == 3 * 7 * 4  # point, q0.1, q0.5, q0.9 per day and series

    dry = prune(store, keep_days=90, keep_versions=1, scores_days=None, now=LATER, dry_run=True)
    assert _runs(store) == before_runs and len(store.model_versions()) == 3  # nothing changed
    result = prune(store, keep_days=90, keep_versions=1, scores_days=None, now=LATER)
    assert (dry.runs, dry.rows, dry.versions) == (result.runs, result.rows, result.versions)

    gone = {h["f1"], h["f2"], h["b1"], h["v2"].validation_run}
    assert set(result.runs) == gone and result.versions == [h["v2"].version_id]
    assert _runs(store) == before_runs - gone
    # kept: the newest of each kind, a run awaiting actuals, the kept versions' validation runs
    assert {h["f3"], h["f4"], h["b2"], h["v1"].validation_run, h["v3"].validation_run} <= _runs(store)
    assert {v["version_id"] for v in store.model_versions()} == {h["v1"].version_id, h["v3"].version_id}
    assert result.rows["forecasts"] >= 2 * f1_rows and store.count_run_rows(list(gone))["forecasts"] == 0
    # monitoring's history is the scores: unchanged
    assert store.count("forecast_scores") == scores
    pd.testing.assert_frame_equal(accuracy(store, level="run", score=False), board)
    # and the promoted version still forecasts
    assert forecast_from_version(store).forecasts["unique_id"].nunique() == 3
    assert "deleted 4 run(s)" in result.summary() and "1 model version(s)" in result.summary()


def test_prune_keeps_recent_work_and_old_scores_only_within_scores_days(history):
    store, h = history
    before = _runs(store)
    result = prune(store, keep_days=90, now=pd.Timestamp.now())  # everything is recent
    assert result.runs == [] and result.versions == [] and _runs(store) == before
    assert result.scores == 0 and store.count("forecast_scores") == 2 * 3 * 7
    # scores of forecast days more than scores_days before the last sales date (04-22) go
    result = prune(store, keep_days=90, scores_days=6)
    assert result.scores == 3 * 7 and result.runs == [] and _runs(store) == before
    left = store.scores()
    assert len(left) == 3 * 7 and left["ds"].min() == pd.Timestamp("2024-04-16")
    with pytest.raises(ModelError, match="at least 1 day"):
        prune(store, keep_days=0)
