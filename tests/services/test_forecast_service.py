from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import NotFoundError
from trendcast.services.forecast import load_series, read_run, run_backtest, run_forecast


def test_forecast_run_is_stored_and_read_back(store):
    store.upsert("sales", make_sales(n_series=3, n_days=90))
    result = run_forecast(store, horizon=7, models=["SeasonalNaive"], quantiles=[0.1, 0.5, 0.9])
    back = read_run(store, result.run_id)
    cols = ["unique_id", "ds", "SeasonalNaive", "SeasonalNaive-q-0.1", "SeasonalNaive-q-0.5",
            "SeasonalNaive-q-0.9"]
    pd.testing.assert_frame_equal(back.forecasts[cols], result.forecasts[cols], check_dtype=False)
    assert read_run(store).run_id == result.run_id
    assert (result.forecasts.drop(columns=["unique_id", "ds"]) >= 0).all().all()


def test_gaps_are_filled_with_zero_and_said(store):
    df = make_sales(n_series=1, n_days=60)
    df = df.drop(index=[20, 21, 22])
    store.upsert("sales", df)
    series = load_series(store)
    assert len(series) == 60 and series.attrs["gaps_filled"] == 3
    result = run_forecast(store, horizon=7, models=["SeasonalNaive"])
    assert any("3 missing dates" in n for n in result.notes)


def test_backtest_leaderboard_is_stored(store):
    store.upsert("sales", make_sales(n_series=3, n_days=120))
    result = run_backtest(store, horizon=14, n_windows=2, models=["SeasonalNaive", "AutoETS"])
    board = result.metrics
    assert set(board["model"]) == {"SeasonalNaive", "AutoETS"}
    assert {"MAE", "RMSE", "MASE", "WAPE", "WQL", "coverage_80"} <= set(board.columns)
    stored = read_run(store, result.run_id).metrics
    assert set(stored["model"]) == {"SeasonalNaive", "AutoETS"}
    assert result.forecasts["cutoff"].nunique() == 2


def test_empty_store_and_unknown_run(store):
    with pytest.raises(NotFoundError, match="no sales"):
        run_forecast(store, horizon=7)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        read_run(store, "nope")


def test_lightgbm_forecast_and_backtest_use_covariates(store):
    from trendcast.data.simulate import simulate_shop
    from trendcast.services.ingest import ingest_frames

    shop = simulate_shop(n_products=12, start="2024-01-01", end="2025-06-30", seed=3)
    ingest_frames(store, {"products": shop.products, "sales": shop.sales,
                          "calendar_events": shop.calendar}, source="shop")
    result = run_forecast(store, horizon=14, models=["LightGBM"], quantiles=[0.1, 0.5, 0.9])
    fc = result.forecasts
    assert len(fc) == 12 * 14 and not fc.isna().any().any()
    assert any("last regular (non-promotion) price" in n for n in result.notes)
    bt = run_backtest(store, horizon=14, n_windows=1, models=["LightGBM", "SeasonalNaive"])
    assert set(bt.metrics["model"]) == {"LightGBM", "SeasonalNaive"}


def test_model_auto_chooses_per_series_and_says_so(store):
    store.upsert("sales", make_sales(n_series=3, n_days=150))
    result = run_forecast(store, horizon=7, models=["auto"], quantiles=[0.1, 0.9])
    assert "AutoSelect" in result.forecasts.columns
    assert any("chose per series by backtest" in n for n in result.notes)


def test_mixed_frequencies_are_refused(store):
    from trendcast.errors import DataValidationError

    daily = make_sales(n_series=3, n_days=60)
    weekly = make_sales(n_series=1, n_days=60, seed=4).iloc[::7].assign(unique_id="W1")
    odd = make_sales(n_series=1, n_days=60, seed=5).iloc[::2].assign(unique_id="X")
    store.upsert("sales", pd.concat([daily, weekly]))
    with pytest.raises(DataValidationError, match=r"mix frequencies.*'W1'"):
        run_forecast(store, horizon=7)
    store.delete_sales(["W1"])
    store.upsert("sales", odd)  # recorded every other day: filling would invent zero days
    with pytest.raises(DataValidationError, match=r"'X'"):
        run_forecast(store, horizon=7)
    store.delete_sales(["X"])
    assert store.delete_sales(["P000"], start="2024-01-10", end="2024-01-10") == 1  # a gap is fine
    assert run_forecast(store, horizon=7, models=["SeasonalNaive"]).forecasts["unique_id"].nunique() == 3


def test_backtest_notes_say_what_recommended_chose_in_each_window(store):
    store.upsert("sales", make_sales(n_series=3, n_days=150))
    result = run_backtest(store, horizon=7, n_windows=2, models=["recommended"],
                          model_params={"members": ["SeasonalNaive", "AutoETS"]})
    windows = [n for n in result.notes if n.startswith("window from ")]
    assert len(windows) == 2 and all(" chose " in n for n in windows)
    assert windows[0][12:22] < windows[1][12:22]  # one note per origin, in order
