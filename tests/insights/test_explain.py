"""Forecast explanations: SHAP drivers of LightGBM, decomposition for other models, texts."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import DataValidationError, ModelError, NotFoundError
from trendcast.features.calendar import event_features
from trendcast.insights.explain import (
    explain_boosting,
    explain_decomposition,
    feature_group,
    recent_reference,
    shap_values,
)
from trendcast.models.boosting import LightGBMGlobal

N_DAYS, H = 420, 14
START = pd.Timestamp("2023-01-01")
FEST_STEP = 6  # the festival falls on forecast day 7


def calendar() -> pd.DataFrame:
    # Irregular gaps (15-26 days), so no lag of the model lines up with the previous festival.
    gaps = np.random.default_rng(5).integers(15, 27, N_DAYS // 15)
    days = [d for d in N_DAYS + FEST_STEP - np.concatenate([[0], np.cumsum(gaps)]) if d >= 0]
    return pd.DataFrame({"ds": START + pd.to_timedelta(sorted(days), unit="D"),
                         "name": "Mega Sale", "kind": "festival"})


def panel(n_series: int = 12, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand = level x (price / list price) ** -2 x 3 on festival days x weekday; prices
    move between levels every 10-20 days. Returns (train frame, future X_df) where
    S00 gets a 25% price cut and S01 a 25% rise from forecast day 3."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=N_DAYS + H, freq="D")
    flags = event_features(dates, calendar())
    frames = []
    for i in range(n_series):
        p0 = rng.uniform(20, 80)
        # a new price level every 10-20 days, so demand follows price and not only the lags
        starts = np.cumsum(rng.integers(10, 21, len(dates) // 10))
        level = p0 * rng.choice([0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3], len(starts) + 1)
        price = level[np.searchsorted(starts, np.arange(len(dates)), side="right")]
        if i in (0, 1):
            price[N_DAYS + 2:] = price[N_DAYS - 1] * (0.75 if i == 0 else 1.25)
        fest = flags["ev_festival"].to_numpy()
        weekly = 1 + 0.3 * (dates.dayofweek >= 5)
        lam = (8 + 2 * i) * (price / p0) ** -2.0 * (1 + 2 * fest) * weekly
        frames.append(pd.DataFrame({"unique_id": f"S{i:02d}", "ds": dates, "y": rng.poisson(lam).astype(float),
                                    "price": np.round(price, 2), "promo": 0.0,
                                    "category": "A" if i % 2 else "B"}))
    df = pd.concat(frames, ignore_index=True).merge(flags, on="ds")
    train = df[df["ds"] < START + pd.Timedelta(days=N_DAYS)].reset_index(drop=True)
    future = df[df["ds"] >= START + pd.Timedelta(days=N_DAYS)].drop(columns=["y", "category"])
    return train, future.reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted():
    train, future = panel()
    model = LightGBMGlobal(n_estimators=200, min_child_samples=20, static_features=("category",))
    return model.fit(train), train, future


def test_feature_groups():
    assert feature_group("lag7") == "recent_sales"
    assert feature_group("rolling_mean_lag7_window_size28_min_samples1") == "recent_sales"
    assert feature_group("dayofweek") == feature_group("month") == "season"
    assert feature_group("ev_festival") == feature_group("event_soon") == "events"
    assert {feature_group(c) for c in ("price", "price_rel", "price_chg", "price_effect")} == {"price"}
    assert feature_group("promo") == "promotion"
    assert feature_group("department") == feature_group("price_elasticity") == "product_group"
    assert feature_group("macro_consumer_confidence") == "external"


def test_predict_features_are_the_rows_the_booster_scored(fitted):
    model, _, future = fitted
    rows = model.predict_features(H, X_df=future)
    fc = model.predict(H, X_df=future)
    both = rows.merge(fc, on=["unique_id", "ds"], suffixes=("_raw", ""))
    assert len(both) == len(fc) == 12 * H
    np.testing.assert_allclose(both["LightGBM_raw"].clip(lower=0), both["LightGBM"], rtol=1e-9)


def test_explaining_a_series_shorter_than_the_longest_lag_prints_no_warnings(fitted):
    """Walmart's weekly departments (a lag of 52 weeks): `trendcast explain` printed
    mlforecast's "Found null values in lag52" seven times on stderr."""
    import warnings

    model, train, future = fitted
    late = train[(train["unique_id"] != "S02") | (train["ds"] >= train["ds"].max() - pd.Timedelta(days=20))]
    late_model = LightGBMGlobal(n_estimators=20, min_child_samples=5, static_features=("category",)).fit(late)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # mlforecast warns with UserWarning
        explain_boosting(late_model, "S02", H, X_df=future, train_df=late)


def test_shap_values_add_up_to_the_raw_prediction(fitted):
    model, _, future = fitted
    rows = model.predict_features(H, X_df=future)
    values, expected = shap_values(model, rows)
    booster = model.mlf_.models_[model.alias]
    raw = booster.predict(rows[booster.feature_name_], raw_score=True)
    np.testing.assert_allclose(expected + values.sum(axis=1), raw, atol=1e-6)
    np.testing.assert_allclose(np.exp(raw), rows["LightGBM"], rtol=1e-6)  # tweedie: log link


@pytest.mark.parametrize("reference", ["recent", "average"])
def test_driver_factors_multiply_to_the_forecast(fitted, reference):
    model, train, future = fitted
    ex = explain_boosting(model, "S00", H, X_df=future, train_df=train, calendar=calendar(),
                          reference=reference)
    product = ex.drivers.groupby("ds")["log"].sum().sort_index()
    np.testing.assert_allclose(ex.reference * np.exp(product.to_numpy()),
                               ex.forecast.sort_values("ds")["forecast"], rtol=1e-6)
    assert any(reference in n or "average" in n for n in ex.notes)


def test_price_and_festival_drivers_have_the_right_sign(fitted):
    model, train, future = fitted
    cut = explain_boosting(model, "S00", H, X_df=future, train_df=train, calendar=calendar())
    rise = explain_boosting(model, "S01", H, X_df=future, train_df=train, calendar=calendar())
    first = START + pd.Timedelta(days=N_DAYS)
    after = pd.date_range(first + pd.Timedelta(days=3), periods=H - 3)
    fest_day = first + pd.Timedelta(days=FEST_STEP)

    def effect(ex, driver, days):
        d = ex.drivers
        return d[(d["driver"] == driver) & d["ds"].isin(days)]["effect"]

    # Price changes act through price_chg (7-day change) and price_rel; after a week the
    # recursive lags carry part of the new level, so the sign is checked everywhere and the
    # size in the first week.
    week = after[:5]
    assert (effect(cut, "price", after) > 0).all() and (effect(cut, "price", week) > 0.1).all()
    assert (effect(rise, "price", after) < 0).all() and (effect(rise, "price", week) < -0.1).all()
    fest = effect(cut, "events", [fest_day]).iloc[0]
    others = effect(cut, "events", after.drop(fest_day))
    assert fest > 0.3 and fest > others.max() + 0.3


def test_sentences_name_the_event_and_the_price_change(fitted):
    model, train, future = fitted
    ex = explain_boosting(model, "S00", H, X_df=future, train_df=train, calendar=calendar())
    fest_day = START + pd.Timedelta(days=N_DAYS + FEST_STEP)
    en = ex.sentences("en")
    zh = ex.sentences("zh")
    assert len(en) == len(zh) == H
    line = next(s for s in en if s.startswith(f"{fest_day:%Y-%m-%d}"))
    assert "from festival / events (Mega Sale on" in line and "+" in line
    cut_day = START + pd.Timedelta(days=N_DAYS + 2)
    assert any(f"price (cut of 25% on {cut_day.day} {cut_day:%b})" in s for s in en)
    assert any("节日/活动（" in s and "Mega Sale" in s for s in zh)
    assert any(f"{cut_day.month}月{cut_day.day}日降价25%" in s for s in zh)
    weeks = ex.sentences("en", by="week")
    assert len(weeks) == 2 and "+6d" in weeks[0]
    week_of_fest = ex.periods("week").query("driver == 'events'")["detail_en"].iloc[0]
    assert week_of_fest == "Mega Sale"  # a week names its events once, without dates
    payload = json.loads(json.dumps(ex.as_dict("zh", by="week"), default=str, ensure_ascii=False))
    assert payload["method"] == "shap" and payload["sentences"][0].startswith(f"{START + pd.Timedelta(days=N_DAYS):%Y-%m-%d}")
    with pytest.raises(ModelError, match="lang"):
        ex.sentences("fr")


def test_unknown_series_is_not_found(fitted):
    model, train, future = fitted
    with pytest.raises(NotFoundError, match="NOPE"):
        explain_boosting(model, "NOPE", H, X_df=future, train_df=train)


def test_decomposition_measures_the_festival_from_past_years():
    rng = np.random.default_rng(3)
    ds = pd.date_range("2022-01-01", "2024-11-04", freq="D")
    cal = pd.DataFrame({"ds": pd.to_datetime(["2022-11-11", "2023-11-11", "2024-11-11"]),
                        "name": "Double 11", "kind": "festival"})
    lam = 20 * (1 + 0.3 * (ds.dayofweek >= 5)) * np.where(ds.isin(cal["ds"]), 4.0, 1.0)
    hist = pd.DataFrame({"ds": ds, "y": rng.poisson(lam).astype(float)})
    fut = pd.date_range("2024-11-05", periods=10, freq="D")
    fc = pd.DataFrame({"ds": fut, "forecast": 21.0})
    ex = explain_decomposition(hist, fc, unique_id="P1", model="Flat", calendar=cal)
    d = ex.drivers.set_index(["ds", "driver"])
    fest = d.loc[(pd.Timestamp("2024-11-11"), "events")]
    assert fest["units"] == pytest.approx(60, rel=0.25)  # three times the level of ~20
    assert d.loc[(pd.Timestamp("2024-11-12"), "events"), "units"] == 0
    sat = d.loc[(pd.Timestamp("2024-11-09"), "weekly"), "units"]
    tue = d.loc[(pd.Timestamp("2024-11-12"), "weekly"), "units"]
    assert sat > tue + 3
    total = ex.drivers.groupby("ds")["units"].sum()
    np.testing.assert_allclose(total + ex.reference, 21.0)
    en = ex.sentences("en")
    assert any("from festival / events (Double 11 on 11 Nov)" in s for s in en)
    assert any("双11" in s for s in ex.sentences("zh"))


def test_service_and_command(store, db_path):
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.data.store import open_store
    from trendcast.services.explain import explain_forecast
    from trendcast.services.ingest import ingest_frames

    sales = make_sales(n_series=4, n_days=200)
    cal = calendar().assign(ds=lambda f: f["ds"] + (pd.Timestamp("2024-01-01") - START), region="CN",
                            source="test")
    frames = {"sales": sales, "calendar_events": cal}
    ingest_frames(store, frames, source="test")
    with pytest.raises(NotFoundError, match="no sales for product 'NOPE'"):
        explain_forecast(store, "NOPE")
    ex = explain_forecast(store, "P001", model="LightGBM", days=7)
    assert ex.method == "shap" and len(ex.forecast) == 7
    assert any("future prices held" in n for n in ex.notes)
    naive = explain_forecast(store, "P001", model="SeasonalNaive", days=7)
    assert naive.method == "decomposition" and naive.model == "SeasonalNaive"
    with open_store(db_path) as s:
        ingest_frames(s, frames, source="test")
    res = CliRunner().invoke(app, ["explain", "--db", str(db_path), "--id", "P002", "--model",
                                   "SeasonalNaive", "--lang", "zh", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["unique_id"] == "P002" and "预计" in payload["sentences"][0]
    res = CliRunner().invoke(app, ["explain", "--db", str(db_path), "--id", "P002", "--model",
                                   "SeasonalNaive"])
    assert res.exit_code == 0 and "vs the recent level" in res.stdout


def test_external_drivers_are_explained_as_a_driver(store):
    from trendcast.services.explain import explain_forecast
    from trendcast.services.ingest import ingest_frames

    sales = make_sales(n_series=4, n_days=200)
    months = pd.date_range(sales["ds"].min() - pd.DateOffset(months=3), sales["ds"].max(), freq="MS")
    macro = pd.DataFrame({"name": "consumer_confidence", "ds": months,
                          "value": 100 + np.arange(len(months), dtype=float)})
    ingest_frames(store, {"sales": sales, "macro": macro}, source="test")
    ex = explain_forecast(store, "P001", model="LightGBMDrivers", days=7)
    external = ex.drivers[ex.drivers["driver"] == "external"]
    assert len(external) == 7
    # lagged 7 days: every forecast day sees the latest index published a week before it
    assert external["detail_en"].str.match(r"consumer_confidence \d+ \(latest published\)").all()
    assert any("external driver 'consumer_confidence'" in n for n in ex.notes)
    plain = explain_forecast(store, "P001", model="LightGBM", days=7)
    assert "external" not in set(plain.drivers["driver"])
    assert any("explain with --model LightGBMDrivers" in n for n in plain.notes)


def test_sales_with_returns_are_explained_not_a_crash(store):
    """Walmart kept with --negatives keep: `explain` failed with LightGBM's 'tweedie: at
    least one target label is negative' traceback; a forecast clips, so explain does too."""
    from trendcast.services.explain import explain_forecast

    sales = make_sales(n_series=3, n_days=200)
    sales.loc[[10, 250], "y"] = -3.0
    store.upsert("sales", sales)  # as `ingest --negatives keep` stores them
    ex = explain_forecast(store, "P001", model="LightGBM", days=7)
    assert len(ex.drivers) and any("clipped at zero (2 negative values" in n for n in ex.notes)


def test_trend_calls_count_returns_as_zero_units(store):
    """`trends` and `report` refused a workspace that kept returns (negative sales)."""
    from trendcast.services.trends import trend_calls

    sales = make_sales(n_series=3, n_days=200)
    sales.loc[[10, 250], "y"] = -3.0
    store.upsert("sales", sales)  # as `ingest --negatives keep` stores them
    calls = trend_calls(store)
    assert len(calls) == 3
    assert "2 negative sales (returns) counted as zero units sold" in calls.attrs["notes"]


# Weekly, monthly and quarterly series are explained in their own periods ------------------------

def _weekly(n_weeks: int, slope: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """Weekly sales (Fridays) with a linear trend of ``slope`` units per week and a yearly wave."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-01-01", periods=n_weeks, freq="W-FRI")
    t = np.arange(n_weeks)
    y = 200 + slope * t + 40 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 3, n_weeks)
    return pd.DataFrame({"ds": ds, "y": y})


def test_a_weekly_decomposition_counts_weeks():
    hist = _weekly(130)
    fut = pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(weeks=1), periods=4, freq="W-FRI")
    mid_week = fut[2] - pd.Timedelta(days=3)  # a Tuesday inside the third forecast week
    cal = pd.DataFrame({"ds": [mid_week], "name": ["Mega Sale"], "kind": ["festival"]})
    fc = pd.DataFrame({"ds": fut, "forecast": 480.0})
    ex = explain_decomposition(hist, fc, unique_id="W1", model="Flat", calendar=cal, freq="W-FRI")
    assert ex.freq == "W-FRI" and ex.unit.en == "week"
    d = ex.drivers.set_index(["ds", "driver"])["units"]
    # the slope is per week: four weeks ahead the trend has moved 3 weekly slopes from one week
    # ahead (counted in days it moved 21: a 7x steeper trend)
    assert d[(fut[3], "trend")] - d[(fut[0], "trend")] == pytest.approx(3 * 2.0, abs=1.5)
    assert "weekly" not in set(ex.drivers["driver"])  # no weekday in a weekly series
    assert "yearly" in set(ex.drivers["driver"])
    text = " ".join(ex.notes + ex.sentences("en"))
    # the recent level is the last 8 weeks (28 weeks reached back more than half a year)
    assert ex.reference == pytest.approx(hist["y"].tail(8).mean())
    assert "recent 8-week level" in text and "units/week" in text and "8 weeks' slope" in text
    assert "STL with periods (52)" in text and "calendar-event weeks" in text
    assert "past weeks with the same event" in text
    assert "/day" not in text and "-day" not in text and "Friday" not in text
    # the week holding the event names it with its day; the others have none in the week
    sentences = ex.sentences("en")
    assert f"Mega Sale on {mid_week.day} {mid_week:%b}" in sentences[2]
    assert "(none in the week)" in sentences[0] and "rising" in sentences[0] and "/week)" in sentences[0]
    zh = " ".join(ex.sentences("zh"))
    assert "每周上升" in zh and "本周无节日" in zh and "每天" not in zh and "当天" not in zh


def test_a_short_weekly_series_gets_a_trend_without_a_season():
    hist = _weekly(60)
    fut = pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(weeks=1), periods=2, freq="W-FRI")
    ex = explain_decomposition(hist, pd.DataFrame({"ds": fut, "forecast": 330.0}), unique_id="W1",
                               model="Flat", freq="W-FRI")
    assert set(ex.drivers["driver"]) == {"trend", "events", "other"}
    assert any("LOWESS trend, no season (a yearly season needs 105 weeks of history)" in n for n in ex.notes)
    total = ex.drivers.groupby("ds")["units"].sum()
    np.testing.assert_allclose(total + ex.reference, 330.0)


@pytest.mark.parametrize(("freq", "unit", "zh", "n"),
                         [("MS", "month", "每月", 6), ("QS-JAN", "quarter", "每季度", 4)])
def test_monthly_and_quarterly_decompositions_count_their_periods(freq, unit, zh, n):
    ds = pd.date_range("2010-01-01", periods=40, freq=freq)
    hist = pd.DataFrame({"ds": ds, "y": 100 + np.arange(40.0) + 10 * np.sin(np.arange(40))})
    fut = pd.date_range(ds[-1], periods=3, freq=freq)[1:]
    ex = explain_decomposition(hist, pd.DataFrame({"ds": fut, "forecast": 150.0}), unique_id="M1",
                               model="Flat", freq=freq)
    text = " ".join(ex.notes + ex.sentences("en"))
    assert ex.reference == pytest.approx(hist["y"].tail(n).mean())
    assert f"recent {n}-{unit} level" in text and f"units/{unit}" in text and f"{n} {unit}s' slope" in text
    assert "/day" not in text
    assert zh in " ".join(ex.sentences("zh"))
    d = ex.drivers.set_index(["ds", "driver"])["units"]
    # the trend continues at its per-period slope over the last n periods: about the series'
    # 1 unit a period (its 10·sin wiggle, about 6 quarters long, tilts the last 4 quarters),
    # not the ~30 (months) or ~91 (quarters) a slope continued over days gave
    slope = float(re.search(rf"slope \(([+-][\d.]+) units/{unit}\)", text).group(1))
    assert d[(fut[1], "trend")] - d[(fut[0], "trend")] == pytest.approx(slope, abs=1e-3)
    assert 0.5 < slope < 2
    if unit == "quarter":
        assert any("time of year (Q" in s for s in ex.sentences("en"))
    # the report and the dashboard ask for weeks: a month or quarter stays whole, on its own date
    # (7-day blocks from the first period dated the second quarter 2025-03-26)
    weekly = ex.sentences("en", by="week")
    assert [s[:10] for s in weekly] == [f"{d:%Y-%m-%d}" for d in fut]
    assert ex.periods("week")["days"].eq(1).all()


@pytest.mark.parametrize(("freq", "n"), [("D", 28), ("W-SUN", 8), ("W-FRI", 8), ("MS", 6), ("ME", 6),
                                         ("QS-JAN", 4), ("QE-DEC", 4), ("YS", 3)])
def test_the_recent_reference_is_chosen_per_frequency(freq, n):
    assert recent_reference(freq) == n


def test_a_monthly_series_with_a_year_of_history_is_explained():
    """The recent reference was 28 periods at every frequency: a monthly decomposition asked
    for 28 months of history. Six months are the reference; twice that is enough."""
    ds = pd.date_range("2024-01-01", periods=14, freq="MS")
    hist = pd.DataFrame({"ds": ds, "y": 100 + 2 * np.arange(14.0)})
    fut = pd.date_range(ds[-1], periods=3, freq="MS")[1:]
    ex = explain_decomposition(hist, pd.DataFrame({"ds": fut, "forecast": 130.0}), unique_id="M1",
                               model="Flat", freq="MS")
    assert ex.reference == pytest.approx(hist["y"].tail(6).mean())
    assert any("recent 6-month level" in n for n in ex.notes)
    with pytest.raises(DataValidationError, match="11 months of history; a decomposition needs at least 12"):
        explain_decomposition(hist.tail(11), pd.DataFrame({"ds": fut, "forecast": 130.0}),
                              unique_id="M1", model="Flat", freq="MS")


def test_a_daily_decomposition_still_counts_days():
    rng = np.random.default_rng(1)
    ds = pd.date_range("2024-01-01", periods=120, freq="D")
    hist = pd.DataFrame({"ds": ds, "y": rng.poisson(20, 120).astype(float)})
    fut = pd.date_range(ds[-1] + pd.Timedelta(days=1), periods=3, freq="D")
    ex = explain_decomposition(hist, pd.DataFrame({"ds": fut, "forecast": 21.0}), unique_id="P1", model="Flat")
    text = " ".join(ex.notes + ex.sentences("en"))
    assert "recent 28-day level" in text and "units/day" in text and "28 days' slope" in text
    assert "calendar-event days" in text and "past days of the same event" in text
    assert "weekday pattern (" in text and "(none on the day)" in text
    assert "每天" in " ".join(ex.sentences("zh"))


def _coarse_store(store, freq: str, n_series: int = 4, n: int = 110) -> None:
    from trendcast.services.ingest import ingest_frames

    frames = []
    for i in range(n_series):
        f = _weekly(n, slope=0.5 * i, seed=i)
        if freq != "W-FRI":
            f = f.assign(ds=pd.date_range("2015-01-01", periods=n, freq=freq))
        frames.append(f.assign(unique_id=f"W{i}", y=f["y"].round()))
    ingest_frames(store, {"sales": pd.concat(frames, ignore_index=True)}, source="test")


@pytest.mark.parametrize(("freq", "unit", "zh_mean", "zh_each"),
                         [("W-FRI", "week", "近8周周均", "每周"), ("MS", "month", "近6个月月均", "每月")])
def test_a_weekly_or_monthly_workspace_is_explained_in_its_periods(store, freq, unit, zh_mean, zh_each):
    from trendcast.services.explain import explain_forecast

    _coarse_store(store, freq, n=110 if freq == "W-FRI" else 60)
    ex = explain_forecast(store, "W1", model="LightGBM", days=3)
    assert ex.method == "shap" and ex.freq[0] == freq[0]
    en, zh = " ".join(ex.sentences("en", top=10)), " ".join(ex.sentences("zh", top=10))
    n = 8 if unit == "week" else 6  # the recent reference: 8 weeks, 6 months (not 28 of either)
    # the average of those periods (it read the model's last 28 days: 4 weeks, one month)
    mean = _weekly(110 if freq == "W-FRI" else 60, slope=0.5, seed=1)["y"].round().tail(n).mean()
    assert f"{n}-{unit} average {mean:.1f}/{unit})" in en
    assert "-day" not in en and "/day" not in en
    assert zh_mean in zh and "日均" not in zh
    assert "from season (" in en and "weekday" not in en and "Friday" not in en and "周五" not in zh
    assert any(f"typical recent {unit} for W1" in s and f"last {n} training {unit}s" in s for s in ex.notes)
    naive = explain_forecast(store, "W1", model="SeasonalNaive", days=3)
    assert any(f"recent {n}-{unit} level" in s for s in naive.notes)
    assert zh_each in " ".join(naive.sentences("zh", top=10))
