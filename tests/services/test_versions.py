"""Model versions through the store (every backend): train, list, forecast from a version,
promote, delete; `update` ingests all or nothing and forecasts from the promoted version."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.models.persistence import IncompatibleVersionError
from trendcast.services.update import run_update
from trendcast.services.versions import (
    delete_version,
    forecast_from_version,
    list_versions,
    promote_version,
    show_version,
    train_version,
)

MODELS = ["SeasonalNaive", "AutoETS", "LightGBM"]


@pytest.fixture
def trained(store):
    sales = make_sales(n_series=3, n_days=120)
    store.upsert("sales", sales[sales["ds"] <= "2024-04-22"])
    info = train_version(store, horizon=7, models=MODELS)
    return store, sales, info


def test_train_saves_a_promoted_version_with_metadata(trained):
    store, _, info = trained
    assert info.promoted and info.scores is not None and list(info.scores["model"]) == MODELS
    row = show_version(store)
    assert row["version_id"] == info.version_id and row["loadable"] == "yes"
    assert row["data_end"] == pd.Timestamp("2024-04-22") and row["n_series"] == 3
    assert "3 series" in row["fingerprint"] and row["packages"]["statsforecast"]
    assert {"statsforecast", "lightgbm"} <= set(row["requires"])
    assert row["validation_run"] and store.run_row(row["validation_run"])["kind"] == "backtest"
    if store.dialect == "duckdb":
        assert row["location"].startswith("file:") and ".models/" in row["location"]
    else:
        assert row["location"] == "table"
    assert list(list_versions(store)["version_id"]) == [info.version_id]


def test_forecast_from_version_uses_the_latest_data_without_refit(trained):
    store, sales, info = trained
    store.upsert("sales", sales)  # a week more
    first = forecast_from_version(store)
    again = forecast_from_version(store, info.version_id)
    pd.testing.assert_frame_equal(first.forecasts, again.forecasts)
    assert first.forecasts["ds"].min() == sales["ds"].max() + pd.Timedelta(days=1)
    assert "not refitted" in first.notes[0]
    assert store.run_row(first.run_id)["params"]["version"] == info.version_id


def test_promote_and_delete(trained):
    store, _, info = trained
    second = train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    assert not second.promoted and store.model_version(None)["version_id"] == info.version_id
    promote_version(store, second.version_id)
    assert store.model_version(None)["version_id"] == second.version_id
    assert store.model_version(info.version_id)["status"] == "superseded"
    delete_version(store, info.version_id)
    with pytest.raises(NotFoundError, match="no model version"):
        store.model_version(info.version_id)
    assert len(store.model_artefact(second.version_id)) > 0


def test_version_saved_with_other_packages_is_refused(trained):
    store, _, info = trained
    rows = store.read("model_versions")
    packages = json.loads(rows.loc[0, "packages"])
    packages["statsforecast"] = "1.0.0"
    store.upsert("model_versions", rows.assign(packages=json.dumps(packages)))
    with pytest.raises(IncompatibleVersionError, match=r"statsforecast 1\.0\.0 \(installed"):
        forecast_from_version(store)
    assert show_version(store)["loadable"].startswith("no:")


def test_update_with_bad_input_stores_nothing(trained, tmp_path):
    store, sales, _ = trained
    good = tmp_path / "good.csv"
    sales[sales["ds"] > "2024-04-22"][["unique_id", "ds", "y"]].to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\nP000,2024-05-01,3\nP001,2024-05-01,oops\n")
    before = (store.count("sales"), store.count("runs"), len(store.model_versions()))
    with pytest.raises(DataValidationError, match="oops"):
        run_update(store, [good, bad], refit="always")
    assert (store.count("sales"), store.count("runs"), len(store.model_versions())) == before


def test_update_ingests_scores_and_forecasts(trained, tmp_path):
    store, sales, info = trained
    store.upsert("sales", sales[sales["ds"] <= "2024-04-15"].iloc[:0])
    forecast_from_version(store)  # a forecast whose actuals the update brings
    new = tmp_path / "week.csv"
    sales[sales["ds"] > "2024-04-22"][["unique_id", "ds", "y"]].to_csv(new, index=False)
    result = run_update(store, [new], refit="never")
    assert result.rows == 3 * 7 and result.scored == 3 * 7 * len(MODELS)
    assert result.version_id == info.version_id and not result.refit
    assert store.run_row(result.forecast_run)["params"]["version"] == info.version_id
    assert "no refit (policy never)" in result.summary()
    forced = run_update(store, [], refit="always")
    assert forced.refit and forced.new_version and forced.wape_new is not None


def test_recommended_version_is_validated_on_its_own_last_window(store):
    """A `recommended` version reuses the chosen member's last validation window (its
    forecasts equal a backtest of that member from the same origin) instead of repeating the
    choice in a second backtest."""
    from trendcast.services.forecast import run_backtest

    sales = make_sales(n_series=4, n_days=140)
    store.upsert("sales", sales)
    info = train_version(store, horizon=7, models=["recommended"],
                         model_params={"members": ["SeasonalNaive", "AutoETS"]})
    row = show_version(store)
    assert any("own last validation window" in n for n in row["notes"])
    chosen = next(n.split("chose ")[1].split(" by")[0] for n in row["notes"] if "chose " in n)
    own = store.run_forecasts(row["validation_run"])
    assert own["ds"].min() == sales["ds"].max() - pd.Timedelta(days=6)
    member = run_backtest(store, horizon=7, n_windows=1, models=[chosen])
    want = member.forecasts.sort_values(["unique_id", "ds"])[chosen].to_numpy()
    got = own[(own["model"] == "Recommended") & own["quantile"].isna()].sort_values(["unique_id", "ds"])
    assert len(got) == 4 * 7
    assert got["value"].to_numpy() == pytest.approx(want, rel=1e-6)
    assert info.scores is not None and list(info.scores["model"]) == ["Recommended"]


def test_update_refit_keeps_the_recommended_choice_unless_reselect(store, tmp_path):
    sales = make_sales(n_series=3, n_days=140)
    store.upsert("sales", sales[sales["ds"] <= sales["ds"].max() - pd.Timedelta(days=7)])
    train_version(store, horizon=7, models=["recommended"],
                  model_params={"members": ["SeasonalNaive", "AutoETS"]})
    week = tmp_path / "week.csv"
    sales[sales["ds"] > sales["ds"].max() - pd.Timedelta(days=7)][["unique_id", "ds", "y"]].to_csv(
        week, index=False)
    kept = run_update(store, [week], refit="always")
    spec = store.model_version(kept.new_version)["spec"]
    assert kept.refit and len(spec["model_params"]["members"]) == 1
    assert spec["model_params"]["n_windows"] == 1
    assert any("keeps the version's choice" in n for n in kept.notes)
    again = run_update(store, [], refit="always", reselect=True)
    assert "members" not in store.model_version(again.new_version)["spec"]["model_params"]


def test_refit_comparison_scores_only_dates_the_promoted_version_never_saw(trained):
    """The promoted version is trained through 2024-04-22; on a 14-day window from 04-15 it
    would be scored partly in-sample, so only 04-23..04-29 count (SeasonalNaive moved forward
    to 04-15 forecasts each day as the same weekday two weeks earlier)."""
    from trendcast.services.update import window_wape
    from trendcast.services.versions import load_version

    store, sales, _ = trained
    store.upsert("sales", sales[sales["ds"] <= "2024-04-29"])
    row, models = load_version(store)
    got = window_wape(store, row, models, 14, since=pd.Timestamp("2024-04-22"))
    s = sales.set_index(["unique_id", "ds"])["y"]
    days = pd.date_range("2024-04-23", "2024-04-29")
    ids = sorted(sales["unique_id"].unique())
    err = sum(abs(s[(u, d)] - s[(u, d - pd.Timedelta(days=14))]) for u in ids for d in days)
    assert got == pytest.approx(err / sum(abs(s[(u, d)]) for u in ids for d in days))
    whole = window_wape(store, row, models, 14)
    assert whole != pytest.approx(got)


def test_refit_comparison_forecasts_the_promoted_version_from_its_own_origin(trained):
    """From its own origin (the end of its data, 04-22) SeasonalNaive forecasts each day as
    the same weekday one week earlier, on the same dates 04-23..04-29."""
    from trendcast.services.update import window_wape
    from trendcast.services.versions import load_version

    store, sales, _ = trained
    store.upsert("sales", sales[sales["ds"] <= "2024-04-29"])
    row, models = load_version(store)
    end = pd.Timestamp("2024-04-22")
    got = window_wape(store, row, models, 14, since=end, origin=end)
    s = sales.set_index(["unique_id", "ds"])["y"]
    days = pd.date_range("2024-04-23", "2024-04-29")
    ids = sorted(sales["unique_id"].unique())
    err = sum(abs(s[(u, d)] - s[(u, d - pd.Timedelta(days=7))]) for u in ids for d in days)
    assert got == pytest.approx(err / sum(abs(s[(u, d)]) for u in ids for d in days))
    assert got != pytest.approx(window_wape(store, row, models, 14, since=end))


def test_auto_keeps_a_version_younger_than_its_horizon_unless_the_catalogue_grew(trained):
    from trendcast.services.update import RefitPolicy, decide

    store, sales, _ = trained
    eager = RefitPolicy(max_age=1, drift_share=0.0)  # would refit on age or on any drift
    store.upsert("sales", sales[sales["ds"] <= "2024-04-25"])  # 3 days of a 7-day horizon
    row = store.model_version(None)
    do, reason, _ = decide(store, row, eager, "auto")
    assert not do and "younger than its horizon (7)" in reason
    assert decide(store, row, eager, "always")[0]
    grown = make_sales(n_series=6, n_days=120)
    grown = grown[grown["unique_id"].isin(["P003", "P004", "P005"]) & (grown["ds"] <= "2024-04-25")]
    store.upsert("sales", grown)  # half the catalogue is new to the version
    do, reason, _ = decide(store, row, eager, "auto")
    assert do and "new to the version" in reason


def test_auto_refits_an_old_enough_version(trained):
    from trendcast.services.update import RefitPolicy, decide

    store, sales, _ = trained
    store.upsert("sales", sales[sales["ds"] <= "2024-04-29"])  # 7 days: as old as its horizon
    do, reason, _ = decide(store, store.model_version(None), RefitPolicy(max_age=7), "auto")
    assert do and "7 periods old (max 7)" in reason



def test_update_says_when_a_re_export_replaced_stored_values(trained, tmp_path):
    """A new file that repeats stored days with other values (a re-export overlapping the
    last one) replaced them without a word; the update's notes now count them."""
    store, sales, _ = trained
    overlap = sales[(sales["ds"] > "2024-04-15")][["unique_id", "ds", "y"]].copy()
    changed = overlap["ds"] == pd.Timestamp("2024-04-20")
    overlap.loc[changed, "y"] += 100
    path = tmp_path / "reexport.csv"
    overlap.to_csv(path, index=False, date_format="%Y-%m-%d")
    result = run_update(store, [path], refit="never")
    assert f"reexport.csv: {int(changed.sum())} stored sales row(s) had other values" in " ".join(result.notes)


def test_forecast_from_a_version_reads_only_the_history_its_models_need(store, monkeypatch, tmp_path):
    """The update's forecast copies and prepares only the latest span the saved models read
    (plus each series' last row, and its rows from its last sale when it has been dry since):
    the forecast is the one the whole history gives."""
    import trendcast.engine.runner as runner_module
    import trendcast.services.versions as versions_module

    sales = make_sales(n_series=3, n_days=500)
    dry = (sales["unique_id"] == "P001") & sales["ds"].between("2024-03-01", "2025-04-30")
    sales.loc[dry, "y"] = 0.0  # sold in early 2024, then nothing until May 2025
    launched = make_sales(n_series=1, n_days=14, seed=9).assign(unique_id="P009")
    launched["ds"] += pd.Timestamp("2025-05-01") - launched["ds"].min()  # new since the version
    sales = pd.concat([sales, make_sales(n_series=4, n_days=200).query("unique_id == 'P003'"),
                       launched])
    store.upsert("sales", sales[sales["ds"] <= "2025-04-30"])  # P003 ended in July 2024
    train_version(store, horizon=14, models=["LightGBM"])
    store.upsert("sales", sales)
    cut = forecast_from_version(store)
    assert any("history read after" in n for n in cut.notes)
    models = versions_module.load_version(store)[1]
    snap_since = versions_module._snapshot_since(store, store.model_version(None),
                                                 runner_module.Runner(list(models.values())), models, 14)
    assert snap_since is not None and snap_since > pd.Timestamp("2024-06-01")
    snap = store.snapshot(tmp_path / "snap", since=snap_since)
    rows = snap.block(snap.ids)["sales"]
    assert rows["ds"].min() < snap_since  # the dry seller's rows from its last sale
    assert rows.groupby("unique_id")["ds"].max()["P003"] == pd.Timestamp("2024-07-18")
    assert len(rows) < 0.6 * len(sales)
    monkeypatch.setattr(runner_module, "history_since", lambda *a, **k: None)
    whole = forecast_from_version(store)
    assert not any("history read after" in n for n in whole.notes)
    pd.testing.assert_frame_equal(cut.forecasts, whole.forecasts)
    assert set(cut.forecasts["unique_id"]) == {"P000", "P001", "P002", "P009"}  # P003 has ended


def test_auto_does_not_refit_twice_on_alerts_a_kept_aside_refit_answered(trained, monkeypatch):
    import trendcast.services.update as update_module
    from trendcast.services.update import RefitPolicy, decide

    store, sales, info = trained
    store.upsert("sales", sales)  # a week past the version's data: as old as its horizon
    asked = []

    def alerts(store, since, score):
        asked.append(since)
        found = since <= pd.Timestamp("2024-04-26")  # one category drifting since April 25
        return pd.DataFrame({"level": ["category"] * found, "name": ["food"] * found})

    monkeypatch.setattr(update_module, "drift_alerts", alerts)
    row = store.model_version(None)
    do, reason, n = decide(store, row, RefitPolicy(max_age=99), "auto")
    assert do and n == 1 and asked[-1] == pd.Timestamp("2024-04-23")
    train_version(store, horizon=7, models=["SeasonalNaive"], promote=False)  # kept aside
    do, reason, n = decide(store, row, RefitPolicy(max_age=99), "auto")
    assert not do and asked[-1] == pd.Timestamp("2024-04-30"), reason


@pytest.mark.parametrize("freq, periods", [("W-FRI", 200), ("MS", 80)])
def test_weekly_and_monthly_versions_read_only_what_they_need(store, monkeypatch, freq, periods):
    import numpy as np

    import trendcast.engine.runner as runner_module

    rng = np.random.default_rng(5)
    ds = pd.date_range("2015-01-02" if freq == "W-FRI" else "2015-01-01", periods=periods, freq=freq)
    t = np.arange(periods)
    season = 52 if freq == "W-FRI" else 12
    sales = pd.concat([pd.DataFrame({"unique_id": f"S{i}", "ds": ds, "price": 3.0 + i,
                                     "y": rng.poisson(20 + 5 * i + 8 * np.sin(2 * np.pi * t / season)).astype(float)})
                       for i in range(3)], ignore_index=True)
    store.upsert("sales", sales[sales["ds"] < ds[-4]])
    train_version(store, horizon=4, models=["LightGBM"])
    store.upsert("sales", sales)
    cut = forecast_from_version(store)
    assert any("history read after" in n for n in cut.notes)
    monkeypatch.setattr(runner_module, "history_since", lambda *a, **k: None)
    whole = forecast_from_version(store)
    pd.testing.assert_frame_equal(cut.forecasts, whole.forecasts)
    assert cut.forecasts["ds"].min() == ds[-1] + pd.tseries.frequencies.to_offset(freq)


def test_the_update_lease_is_taken_refused_expired_and_released(store):
    day = pd.Timedelta(days=1)
    assert store.take_lease("update", "a", day) is None
    held = store.take_lease("update", "b", day)
    assert held is not None and held["holder"] == "a"
    assert store.take_lease("update", "a", day) is None  # its holder may renew it
    store.release_lease("update", "b")  # not b's to give back
    assert store.take_lease("update", "b", day)["holder"] == "a"
    store.release_lease("update", "a")
    assert store.take_lease("update", "b", -day) is None  # taken, already expired
    assert store.take_lease("update", "c", day) is None  # so c may take it


def test_a_second_update_stops_before_changing_anything(trained, tmp_path):
    from trendcast.errors import ConflictError
    from trendcast.services.update import LEASE_HOURS

    store, sales, _ = trained
    new = tmp_path / "new.csv"
    sales[sales["ds"] > "2024-04-22"][["unique_id", "ds", "y"]].to_csv(new, index=False)
    other = "otherhost pid 1 thread 2 abc"
    assert store.take_lease("update", other, pd.Timedelta(hours=LEASE_HOURS)) is None
    before = (store.count("sales"), store.count("runs"), len(store.model_versions()))
    with pytest.raises(ConflictError, match="another update has been running since .*otherhost pid 1"):
        run_update(store, [new], refit="always")
    assert (store.count("sales"), store.count("runs"), len(store.model_versions())) == before
    assert store.take_lease("update", "x", pd.Timedelta(hours=1))["holder"] == other  # still held
    store.release_lease("update", other)
    result = run_update(store, [new], refit="never")
    assert result.rows > 0 and store.count("sales") > before[0]
    assert store.meta("lease:update") is None  # given back at the end
