"""Quantile calibration chosen by cross-fitted validation pinball loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import ModelError
from trendcast.models.calibration import METHODS, choose_calibration
from trendcast.schema import quantile_column as qc

QS = [0.1, 0.5, 0.9]


def backtest(member_spread: float, *, ref_spread: float | None = None, cutoffs: int = 2,
             n: int = 150, seed: int = 0) -> pd.DataFrame:
    """Poisson sales around a known level per series; the member's band is ``member_spread``
    times the level around it (too narrow when small); the reference's is the true Poisson
    band when ``ref_spread`` is None."""
    from scipy.stats import poisson

    rng = np.random.default_rng(seed)
    rows = []
    for k in range(cutoffs):
        cut = pd.Timestamp("2024-01-01") + pd.Timedelta(days=28 * k)
        for i in range(n):
            lam = 0.5 + (i % 10) * 2.0
            frame = pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range(cut + pd.Timedelta(days=1), periods=28),
                                  "cutoff": cut, "y": rng.poisson(lam, 28).astype(float), "M": lam, "R": lam})
            for q in QS:
                frame[qc("M", q)] = lam * (1 + member_spread * (q - 0.5))
                frame[qc("R", q)] = (poisson.ppf(q, lam) if ref_spread is None
                                     else lam * (1 + ref_spread * (q - 0.5)))
            rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def coverage(cv: pd.DataFrame, values: dict[float, np.ndarray]) -> float:
    return float(((cv["y"] >= values[0.1]) & (cv["y"] <= values[0.9])).mean())


def test_every_method_is_scored_and_a_far_too_narrow_band_is_widened():
    cv = backtest(0.05)
    cal = choose_calibration(cv, "M", QS, reference="R")
    assert set(cal.scores) == set(METHODS)
    # coverage is the constraint (on counts, inclusive bands over-cover), loss the criterion
    eligible = {m: v for m, v in cal.scores.items() if cal.coverage_error[m] <= 0.05}
    assert cal.method in eligible and cal.scores[cal.method] == min(eligible.values())
    assert cal.coverage_error["member"] > 0.3
    assert cal.scores["member"] > 1.2 * cal.scores[cal.method]
    free = choose_calibration(cv, "M", QS, reference="R", coverage_tolerance=1.0)
    assert free.scores[free.method] == min(free.scores.values())
    fresh = backtest(0.05, seed=1)
    raw = {q: fresh[qc("M", q)].to_numpy() for q in QS}
    assert coverage(fresh, raw) < 0.2
    assert 0.7 <= coverage(fresh, cal.apply(fresh, "M", QS, reference="R")) <= 0.95
    assert cal.method in cal.describe()


def test_a_perfect_reference_takes_the_blend():
    cal = choose_calibration(backtest(0.05), "M", QS, reference="R",
                             methods=("member", "scale", "blend"))
    assert cal.method == "blend"
    assert cal.params["weights"][0.9] <= 0.2  # mostly the reference, whose band is right
    assert cal.reference == "R"


def test_scale_method_matches_the_split_conformal_factor():
    from trendcast.models.ensemble import calibration_factors

    cv = backtest(0.5)
    cal = choose_calibration(cv, "M", QS, methods=("scale",))
    assert cal.params["factors"] == pytest.approx(calibration_factors(cv, "M", QS))


def test_conformal_cell_adds_the_residual_quantile_of_its_cell():
    # four series of 20 days, point 10, residuals -39.5, -38.5, ..., 39.5 (80 distinct values)
    # in one cell: numpy's linear rule puts the 0.9 quantile at position 0.9 * 79 = 71.1 of the
    # sorted residuals, i.e. 71.1 - 39.5 = 31.6 -> 41.6; the 0.1 one at 7.9 -> -31.6 -> -21.6
    # (not clipped: the actuals go below 0); the median residual is 0 -> 10
    ds = pd.date_range("2024-01-02", periods=20)
    resid = np.arange(80) - 39.5
    rows = [pd.DataFrame({"unique_id": uid, "ds": ds, "cutoff": pd.Timestamp("2024-01-01"),
                          "y": 10 + resid[20 * k:20 * (k + 1)], "M": 10.0})
            for k, uid in enumerate(("a", "b", "c", "d"))]
    cv = pd.concat(rows, ignore_index=True)
    cal = choose_calibration(cv, "M", QS, methods=("conformal_cell",), horizon_groups=1,
                             volume_bands=1)
    out = cal.apply(cv.drop(columns="y"), "M", QS)
    assert out[0.9] == pytest.approx(np.full(len(cv), 41.6))
    assert out[0.5] == pytest.approx(np.full(len(cv), 10.0))
    assert out[0.1] == pytest.approx(np.full(len(cv), -21.6))


def test_cross_fitting_never_scores_a_row_with_a_calibration_fitted_on_it():
    # window 1's residuals are all +5, window 2's all -5: fitted on one, scored on the other,
    # the conformal median lands 10 away from every actual; in-sample it would be exact
    ds = pd.date_range("2024-01-02", periods=28)
    frames = []
    for k, shift in enumerate((5.0, -5.0)):
        for uid in ("a", "b", "c"):
            frames.append(pd.DataFrame({"unique_id": uid, "ds": ds + pd.Timedelta(days=28 * k),
                                        "cutoff": pd.Timestamp("2024-01-01") + pd.Timedelta(days=28 * k),
                                        "y": 20.0 + shift, "M": 20.0}))
    cv = pd.concat(frames, ignore_index=True)
    cal = choose_calibration(cv, "M", [0.5], methods=("conformal_cell",), horizon_groups=1,
                             volume_bands=1)
    # pinball at 0.5 of an error of 10 is 5, over sum|y| = 6*28*20 rows' worth -> 5 / 20
    assert cal.scores["conformal_cell"] == pytest.approx(5.0 / 20.0)


def test_member_methods_are_left_out_without_member_quantiles_and_bad_input_is_refused():
    cv = backtest(0.5)[["unique_id", "ds", "cutoff", "y", "M"]]
    cal = choose_calibration(cv, "M", QS)
    assert set(cal.scores) == {"conformal_cell", "conformal_ratio"}
    with pytest.raises(ModelError, match="unknown method"):
        choose_calibration(cv, "M", QS, methods=("magic",))
    with pytest.raises(ModelError, match=r"levels must lie in \(0, 1\)"):
        choose_calibration(cv, "M", [0.0, 0.5])
    with pytest.raises(ModelError, match="no method can run"):
        choose_calibration(cv, "M", QS, methods=("scale",))


def test_weights_turn_the_loss_into_a_weighted_mean_per_series():
    cv = backtest(0.5, n=20)
    heavy = pd.Series({f"s{i}": (1.0 if i == 3 else 0.0) for i in range(20)})
    cal = choose_calibration(cv, "M", QS, methods=("member",), weights=heavy)
    part = cv[cv["unique_id"] == "s3"]
    y = part["y"].to_numpy()
    expected = np.mean([np.mean(np.maximum(q * (y - part[qc("M", q)]), (q - 1) * (y - part[qc("M", q)])))
                        for q in QS])
    assert cal.scores["member"] == pytest.approx(expected)


def test_recommended_notes_the_calibration_method_and_fits_the_reference_for_a_blend():
    from trendcast.models.ensemble import Recommended

    rng = np.random.default_rng(5)
    n = 200
    frames = [pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=n),
                            "y": rng.poisson(3 + i, n).astype(float)}) for i in range(6)]
    df = pd.concat(frames, ignore_index=True)
    model = Recommended(members=["SeasonalNaive", "SeasonalWindowAverage"], horizon=14).fit(df)
    assert model.calibration_ is not None
    assert any("calibrated on the validation windows by" in note for note in model.notes_)
    fc = model.predict(14, quantiles=[0.1, 0.9])
    assert (fc[qc(model.alias, 0.9)] >= fc[qc(model.alias, 0.1)]).all()
    if model.calibration_.method == "blend":
        assert len(model.models_) == 2
