"""External drivers through the run path: which models see them, no look-ahead in backtests,
and the recommended configuration keeps them only when validation finds them better."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.engine.runner import FrameSource, Runner
from trendcast.models.registry import make_model

SMALL = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 10}


def _shop(n_series: int = 6, n_days: int = 420, seed: int = 0,
          effect: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily sales and a daily external series ``spend`` planned for 60 days past the end;
    demand is ``exp(effect * spend)`` times a weekly pattern."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=n_days, freq="D")
    plan = pd.date_range(ds[0], periods=n_days + 60, freq="D")
    spend = rng.normal(0, 1, len(plan))
    lam = 20 * np.exp(effect * spend[:n_days]) * (1 + 0.3 * (ds.dayofweek >= 5))
    sales = pd.concat([pd.DataFrame({"unique_id": f"S{i}", "ds": ds, "y": rng.poisson(lam).astype(float)})
                       for i in range(n_series)], ignore_index=True)
    return sales, pd.DataFrame({"name": "spend", "ds": plan, "value": spend})


def _monthly_index(start: str = "2022-01-01", end: str = "2024-02-01", seed: int = 1) -> pd.DataFrame:
    months = pd.date_range(start, end, freq="MS")
    return pd.DataFrame({"name": "confidence", "ds": months,
                         "value": 100 + np.random.default_rng(seed).normal(0, 3, len(months))})


def test_only_the_drivers_variants_learn_from_external_series() -> None:
    sales, _ = _shop()
    source = FrameSource(sales, macro=_monthly_index(end="2024-01-01"))
    plain = Runner([make_model("LightGBM", **SMALL)]).fit(source, 14).model
    with_drivers = Runner([make_model("LightGBMDrivers", **SMALL)]).fit(source, 14)
    assert not any(c.startswith("macro_") for c in plain.dynamic_)
    assert "macro_confidence" in with_drivers.model.dynamic_
    assert any("external driver 'confidence'" in n and "lagged 14" in n for n in with_drivers.notes)
    fc = Runner([make_model("LightGBMDrivers", **SMALL)]).forecast(source, 14)
    assert fc.forecasts["LightGBMDrivers"].notna().all() and len(fc.forecasts) == 6 * 14


def test_backtest_forecasts_do_not_see_values_published_after_the_cutoff() -> None:
    sales, _ = _shop()
    macro = _monthly_index(end="2024-02-01")
    cutoff = pd.Timestamp("2024-01-15")
    later = macro["ds"] + pd.DateOffset(months=1) > cutoff  # published after the cutoff
    assert later.sum() == 2
    changed = macro.assign(value=np.where(later, macro["value"] + 50.0, macro["value"]))
    runs = [Runner([make_model("LightGBMDrivers", **SMALL)]).cross_validation(
        FrameSource(sales, macro=m), 14, cutoffs=[cutoff]).forecasts for m in (macro, changed)]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    # and the driver is really used: moving values published before the cutoff moves forecasts
    last_known = macro.index[~later][-1]  # December's, out on 1 January
    earlier = macro.assign(value=np.where(macro.index == last_known, macro["value"] - 50.0, macro["value"]))
    moved = Runner([make_model("LightGBMDrivers", **SMALL)]).cross_validation(
        FrameSource(sales, macro=earlier), 14, cutoffs=[cutoff]).forecasts
    assert not np.allclose(moved["LightGBMDrivers"], runs[0]["LightGBMDrivers"])


MEMBERS = ["MedianEnsemble(LightGBM,LightGBMDirect)", "MedianEnsemble(LightGBMDrivers,LightGBMDirectDrivers)"]


def test_recommended_keeps_drivers_when_validation_finds_them_better() -> None:
    sales, plan = _shop(effect=0.6)
    model = make_model("recommended", members=MEMBERS, horizon=14)
    fitted = Runner([model]).fit(FrameSource(sales, macro=plan), 14).model
    assert fitted.chosen_ == MEMBERS[1] and fitted.uses_drivers  # explain says so
    assert fitted.scores_[MEMBERS[1]] < 0.9 * fitted.scores_[MEMBERS[0]]
    assert any("external drivers (spend) kept" in n for n in fitted.notes_)
    assert any("as given" in n for n in Runner([model]).fit(FrameSource(sales, macro=plan), 14).notes)


def test_recommended_without_external_series_does_not_offer_the_drivers_members() -> None:
    sales, _ = _shop(n_series=3, n_days=300)
    fitted = Runner([make_model("recommended", members=MEMBERS, horizon=14)]).fit(
        FrameSource(sales), 14).model
    assert list(fitted.scores_.index) == [MEMBERS[0]]
    assert fitted.chosen_ == MEMBERS[0] and not fitted.uses_drivers
    assert not any("external drivers" in n for n in fitted.notes_)


def test_recommended_says_when_drivers_were_offered_and_not_kept() -> None:
    sales, plan = _shop(n_series=3, n_days=300, effect=0.0)
    members = [*MEMBERS, "SeasonalWindowAverage"]
    fitted = Runner([make_model("recommended", members=members, horizon=14)]).fit(
        FrameSource(sales, macro=plan), 14).model
    note = next(n for n in fitted.notes_ if "external drivers (spend)" in n)
    kept = fitted.chosen_ == MEMBERS[1]
    assert ("not kept" not in note) == kept
    assert f"without {fitted.scores_.drop(MEMBERS[1]).min():.3f}" in note


def test_drivers_best_pooled_but_not_in_every_window_are_not_kept() -> None:
    model = make_model("recommended", members=MEMBERS, horizon=2)
    a_plain, a_drv = MEMBERS
    cuts = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03")]
    # window 1: drivers far better; window 2: drivers slightly worse; pooled: drivers better
    cv = pd.DataFrame({"unique_id": "S0", "cutoff": np.repeat(cuts, 2), "y": 10.0,
                       a_plain: [5.0, 5.0, 9.0, 9.0], a_drv: [9.5, 9.5, 8.5, 8.5]})
    model.drivers_held_ = None
    scores = np.array([12 / 40, 4 / 40])
    assert model._drivers_hold(cv, MEMBERS, MEMBERS, a_drv, scores) == a_plain
    assert model.drivers_held_ == (a_drv, a_plain)
    better = cv.assign(**{a_drv: [9.5, 9.5, 9.5, 9.5]})  # better in both windows
    model.drivers_held_ = None
    assert model._drivers_hold(better, MEMBERS, MEMBERS, a_drv, np.array([12 / 40, 2 / 40])) == a_drv
    assert model.drivers_held_ is None


def _with_early_ended_series(sales: pd.DataFrame) -> pd.DataFrame:
    """``sales`` plus a series that stopped selling after four weeks (a careless export
    keeps such products; Walmart has store-departments that close in the first weeks)."""
    first = sales["ds"].min()
    early = pd.DataFrame({"unique_id": "ENDED", "ds": pd.date_range(first, periods=28, freq="D"),
                          "y": np.tile([3.0, 1.0, 2.0, 0.0], 7)})
    return pd.concat([sales, early], ignore_index=True)


def test_a_series_that_ended_before_any_index_value_was_published_does_not_drop_the_drivers() -> None:
    # regression: Walmart's per-store drivers never reached `recommended`. A series that ended
    # in the first weeks needs covariates for dates before anything of a lagged index was
    # published; the drivers members raised, were skipped, and no note said so.
    sales, _ = _shop(n_series=3, n_days=300)
    source = FrameSource(_with_early_ended_series(sales), macro=_monthly_index(start="2023-01-01", end="2023-09-01"))
    cv = Runner([make_model("LightGBMDrivers", **SMALL)]).cross_validation(source, 14, n_windows=1)
    assert cv.forecasts["LightGBMDrivers"].notna().all()
    fitted = Runner([make_model("recommended", members=MEMBERS, horizon=14)]).fit(source, 14).model
    assert MEMBERS[1] in fitted.scores_.index
    assert any("external drivers (confidence)" in n and "could not" not in n for n in fitted.notes_)


def test_backtest_notes_say_what_happened_to_the_drivers() -> None:
    sales, plan = _shop(n_series=3, n_days=300)
    model = make_model("recommended", members=MEMBERS, horizon=14)
    out = Runner([model]).cross_validation(FrameSource(sales, macro=plan), 14, n_windows=1)
    assert any(n.startswith("window from ") and "external drivers (spend)" in n for n in out.notes)


def test_drivers_members_that_fail_are_named_with_the_reason() -> None:
    sales, plan = _shop(n_series=3, n_days=300)
    model = make_model("recommended", members=MEMBERS, horizon=14)
    model.skipped_ = {MEMBERS[1]: "X_df has no covariates for 3 forecast row(s)"}
    model.scores_ = pd.Series({MEMBERS[0]: 0.3})
    note = model._drivers_note([MEMBERS[0]], [MEMBERS[0]], MEMBERS[0], ["y", "macro_spend"])
    assert "could not be compared" in note and "X_df has no covariates" in note and MEMBERS[1] in note
