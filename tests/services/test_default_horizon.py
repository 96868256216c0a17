"""A run without a horizon forecasts the default for its own frequency: 28 days, 13 weeks, 18
months, 8 quarters (the M4 competition's horizons), not 28 periods at every frequency (28
months are 2.3 years); ``--freq`` runs take the default of the frequency they run at, and a
saved model version keeps the horizon it was trained with."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trendcast.cli import app
from trendcast.data.store import open_store
from trendcast.features.frequency import default_horizon
from trendcast.services.ingest import ingest_frames


def shop(freq: str, n: int) -> pd.DataFrame:
    ds = pd.date_range("2015-01-01", periods=n, freq=freq)
    t = np.arange(n, dtype=float)
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": (i + 1) * (10 + t % 7)})
                      for i, uid in enumerate(["A", "B"])], ignore_index=True)


def workspace(path, freq: str, n: int) -> str:
    db = str(path / f"{freq}.duckdb")
    with open_store(db) as store:
        ingest_frames(store, {"sales": shop(freq, n)}, source="test")
    return db


def cli(*args: str) -> str:
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return res.output


def steps(doc: dict) -> int:
    fc = pd.DataFrame(doc["forecasts"])
    per_series = fc.groupby("unique_id")["ds"].nunique()
    assert per_series.nunique() == 1
    return int(per_series.iloc[0])


@pytest.mark.parametrize(("freq", "expected"), [
    ("D", 28), ("W-SUN", 13), ("W-FRI", 13), ("MS", 18), ("ME", 18), ("QS-JAN", 8), ("QE-DEC", 8),
    ("YS", 6), (None, 28),
])
def test_the_default_horizon_follows_the_frequency(freq, expected):
    assert default_horizon(freq) == expected


@pytest.mark.parametrize(("freq", "n", "expected"), [("MS", 48, 18), ("QS-JAN", 24, 8), ("D", 120, 28)])
def test_forecast_without_horizon_forecasts_the_workspace_s_default(tmp_path, freq, n, expected):
    db = workspace(tmp_path, freq, n)
    doc = json.loads(cli("forecast", "--model", "SeasonalNaive", "--jobs", "1", "--json", "--db", db))
    assert steps(doc) == expected
    with open_store(db) as store:
        assert store.run_row(doc["run_id"])["horizon"] == expected
    out = cli("forecast", "--model", "SeasonalNaive", "--jobs", "1", "--db", db)
    assert f"2 series x {expected} steps" in out
    # a given horizon still wins
    doc = json.loads(cli("forecast", "--model", "SeasonalNaive", "--jobs", "1", "--json",
                         "--horizon", "3", "--db", db))
    assert steps(doc) == 3


@pytest.mark.parametrize(("freq", "expected"), [("M", 18), ("Q", 8), ("W", 13)])
def test_a_freq_run_takes_the_default_of_the_frequency_it_runs_at(tmp_path, freq, expected):
    db = workspace(tmp_path, "D", 800)
    doc = json.loads(cli("forecast", "--model", "SeasonalNaive", "--jobs", "1", "--json",
                         "--freq", freq, "--db", db))
    assert steps(doc) == expected


def test_backtest_and_train_without_horizon_use_the_default(tmp_path):
    from trendcast.services.update import run_update

    db = workspace(tmp_path, "QS-JAN", 30)
    doc = json.loads(cli("backtest", "--model", "SeasonalNaive", "--windows", "1", "--jobs", "1",
                         "--json", "--db", db))
    cli("train", "--model", "SeasonalNaive", "--jobs", "1", "--db", db)
    with open_store(db) as store:
        assert store.run_row(doc["run_id"])["horizon"] == 8
        assert store.model_version(None)["horizon"] == 8
    # a promoted version keeps its own horizon: `update` and --from-model forecast with it
    cli("train", "--model", "SeasonalNaive", "--horizon", "3", "--jobs", "1", "--promote", "--db", db)
    doc = json.loads(cli("forecast", "--from-model", "promoted", "--json", "--db", db))
    assert steps(doc) == 3
    with open_store(db) as store:
        result = run_update(store, [], refit="never")
        assert store.run_row(result.forecast_run)["horizon"] == 3


def test_update_s_first_version_takes_the_workspace_s_default(tmp_path):
    from trendcast.services.update import run_update

    db = workspace(tmp_path, "MS", 40)
    with open_store(db) as store:
        result = run_update(store, [], first_models=["SeasonalNaive"])
        assert store.model_version(None)["horizon"] == 18
        assert store.run_row(result.forecast_run)["horizon"] == 18
