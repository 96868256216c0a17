"""The run path on catalogues that are not M5: coarser frequencies, series that ended,
weekly series with gaps and covariates, returns, the fallback chain, the catalogue-wide
recommended choice, cleaning and calendar coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.data.calendar import festival_calendar
from trendcast.engine.runner import FrameSource, Runner
from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.registry import make_model, parse_spec
from trendcast.schema import quantile_column


def daily(n_series=3, days=400, seed=0, start="2024-01-01"):
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=days)
    frames = [pd.DataFrame({"unique_id": f"P{i}", "ds": ds,
                            "y": rng.poisson(5 + 2 * np.sin(2 * np.pi * np.arange(days) / 7)).astype(float)})
              for i in range(n_series)]
    return pd.concat(frames, ignore_index=True)


def weekly_with_gaps_and_an_early_end():
    weeks = pd.date_range("2010-02-05", periods=143, freq="W-FRI")
    rng = np.random.default_rng(1)
    full = pd.DataFrame({"unique_id": "1_1", "ds": weeks, "y": rng.gamma(5, 1000, 143)})
    gappy = full.assign(unique_id="1_2").drop(index=[20, 21, 22, 60, 61])
    ended = full.assign(unique_id="11_78").iloc[:120]  # stops 23 weeks before the end
    late = full.assign(unique_id="3_9").iloc[90:]
    return pd.concat([full, gappy, ended, late], ignore_index=True)


def test_forecast_monthly_from_daily_sales():
    out = Runner([make_model("SeasonalNaive"), make_model("AutoETS")], freq="M").forecast(
        FrameSource(daily(days=800)), 3, quantiles=[0.1, 0.9])
    fc = out.forecasts
    assert out.freq == "MS" and set(fc["ds"].dt.day) == {1}
    assert fc.groupby("unique_id").size().eq(3).all()
    assert any("aggregated to monthly" in n and "incomplete period" in n for n in out.notes)
    # the data start on 2024-01-01: January is whole and kept
    assert "first, incomplete" not in " ".join(out.notes)
    late = Runner([make_model("Naive")], freq="M").forecast(FrameSource(daily(days=800, start="2024-01-10")), 1)
    assert any("the first, incomplete period before 2024-02-01 was left out" in n for n in late.notes)
    assert fc["AutoETS"].between(100, 250).all()  # about 30 days x 5 units


def test_weekly_catalogue_with_gaps_and_an_ended_series_forecasts_and_backtests():
    src = FrameSource(weekly_with_gaps_and_an_early_end(),
                      calendar=festival_calendar("2010-01-01", "2013-06-30", country="US"))
    models = [make_model("SeasonalNaive"), make_model("AutoETS"), make_model("LightGBM")]
    out = Runner(models).forecast(src, 8, quantiles=[0.1, 0.9])
    assert set(out.forecasts["unique_id"]) == {"1_1", "1_2", "3_9"}
    assert (out.forecasts["ds"] > pd.Timestamp("2012-10-26")).all()  # never from a series' own old end
    assert any("1 series ended" in n and "11_78" in n for n in out.notes)
    assert np.isfinite(out.forecasts.drop(columns=["unique_id", "ds"]).to_numpy()).all()
    cv = Runner(models).cross_validation(src, 13, n_windows=3)
    assert len(cv.cutoffs) == 3 and not cv.forecasts.isna().any().any()
    zero = Runner([make_model("SeasonalNaive")], ended="zero").forecast(src, 8)
    assert (zero.forecasts.loc[zero.forecasts["unique_id"] == "11_78", "SeasonalNaive"] == 0).all()
    kept = Runner([make_model("SeasonalNaive")], ended="forecast").forecast(src, 8)
    assert kept.forecasts.loc[kept.forecasts["unique_id"] == "11_78", "ds"].max() < pd.Timestamp("2012-10-26")
    with pytest.raises(ModelError, match="coarser frequency only"):
        Runner([make_model("Naive")], freq="D").forecast(src, 2)


def test_monthly_from_weekly_sales_counts_each_week_by_its_days():
    from trendcast.features.series import resample_sales

    fridays = pd.date_range("2012-01-06", "2012-06-29", freq="W-FRI")  # weeks Sat..Fri, 7 a week
    weekly = pd.DataFrame({"unique_id": "A", "ds": fridays, "y": 7.0})
    monthly = resample_sales(weekly, "MS", week_start=-6)
    # January gets Jan 1-6 from the week ending the 6th: every month is its number of days
    assert monthly.set_index("ds")["y"].to_dict() == {
        pd.Timestamp(f"2012-{m:02d}-01"): float(d) for m, d in zip(range(1, 7), (31, 29, 31, 30, 31, 29),
                                                                 strict=True)} | {
        pd.Timestamp("2011-12-01"): 1.0}  # Dec 31, 2011 of the first week; June lacks the 30th
    whole_weeks = resample_sales(weekly, "MS")  # by the week's date: 4 or 5 weeks a month
    assert set(whole_weeks["y"]) == {28.0, 35.0}
    out = Runner([make_model("Naive")], freq="M", week_label="end").forecast(FrameSource(weekly), 2)
    # the last week ends on Friday 29 June: June is incomplete and left out, May is the last month
    assert out.forecasts["ds"].min() == pd.Timestamp("2012-06-01")
    assert out.forecasts["Naive"].iloc[0] == 31.0
    assert any("incomplete period after 2012-05-01" in n for n in out.notes), out.notes


def test_quarters_from_months_dated_by_their_last_day_leave_out_an_incomplete_quarter():
    months = pd.date_range("2020-01-31", "2024-05-31", freq="ME")  # April and May of Q2 only
    src = FrameSource(pd.DataFrame({"unique_id": "A", "ds": months, "y": 10.0}), freq="ME")
    out = Runner([make_model("Naive")], freq="Q").forecast(src, 2)
    assert out.forecasts["ds"].min() == pd.Timestamp("2024-04-01")
    assert (out.forecasts["Naive"] == 30.0).all()  # was 20: Q2's two months taken for a quarter


def test_a_series_whose_rows_stop_before_the_end_is_named_apart_from_gaps_inside_series():
    months = pd.date_range("1991-01-01", periods=44, freq="MS")  # like monthly.csv's shampoo
    wine = pd.DataFrame({"unique_id": "wine", "ds": months, "y": 100.0 + np.arange(44)})
    shampoo = wine.assign(unique_id="shampoo").iloc[:36].drop(index=[10, 11, 12, 13])  # a closure
    out = Runner([make_model("Naive")]).forecast(FrameSource(pd.concat([wine, shampoo])), 12)
    assert "4 missing dates inside series filled with zero sales" in out.notes
    assert any(n.startswith("1 series have no rows for their last periods") and "(shampoo 8)" in n
               for n in out.notes), out.notes
    assert (out.forecasts["ds"] > months[-1]).all()


def test_a_fast_seller_missing_from_the_last_file_is_read_at_its_level_not_as_zero_sales():
    """Favorita's daily files: store 7 left out of one day's export. Read as zero sales, seasonal
    naive forecast 0 every week on that weekday; now the missing day is the store's level for
    that weekday, said in a note. A slow seller's missing day stays zero (plausible), and so
    do longer silences (the product may have stopped)."""
    days = pd.date_range("2017-05-01", "2017-08-04", freq="D")
    weekly = np.array([1700.0, 1800, 1750, 1820, 1900, 2000, 1500])
    fast = pd.DataFrame({"unique_id": "7", "ds": days, "y": weekly[days.dayofweek]})
    other = fast.assign(unique_id="6", y=fast["y"] + 100)
    slow = pd.DataFrame({"unique_id": "slow", "ds": days, "y": 1.0})  # a day without a sale: p = 0.37
    stopped = fast.assign(unique_id="8").iloc[:-5]
    sales = pd.concat([fast.iloc[:-1], other, slow.iloc[:-1], stopped])  # 7 and slow miss 08-04
    out = Runner([make_model("SeasonalNaive")]).forecast(FrameSource(sales), 14)
    f = out.forecasts.set_index(["unique_id", "ds"])["SeasonalNaive"]
    friday = pd.Timestamp("2017-08-11")  # 08-04 was a Friday
    assert f[("7", friday)] == weekly[4] and f[("7", friday + pd.Timedelta(days=7))] == weekly[4]
    assert f[("8", pd.Timestamp("2017-08-07"))] == 0.0  # five days without a row: zeros, as before
    assert f[("slow", friday)] == 0.0
    assert ("1 series have periods without a row though they sold in every period before, and so "
            "long without a sale is improbable for them: the models read those periods as their recent "
            "level (7 1; the latest 2017-08-04); if the export left their rows out, ingest them") in out.notes
    assert any(n.startswith("2 series have no rows for their last periods, filled with zero sales")
               and "(8 5, slow 1)" in n for n in out.notes), out.notes


def test_a_row_left_out_inside_a_series_is_its_level_for_the_models_and_not_scored():
    """Store 7 missing from 08-04's file, present again on 08-05: a forecast's seasonal naive
    no longer repeats a zero on Fridays, and a backtest scores no actual it does not have."""
    days = pd.date_range("2017-05-01", "2017-08-05", freq="D")
    weekly = np.array([1700.0, 1800, 1750, 1820, 1900, 2000, 1500])
    sales = pd.concat([pd.DataFrame({"unique_id": u, "ds": days, "y": weekly[days.dayofweek] + k})
                       for k, u in enumerate(["6", "7", "8"])], ignore_index=True)
    sales = sales[~((sales["unique_id"] == "7") & (sales["ds"] == pd.Timestamp("2017-08-04")))]
    runner = Runner([make_model("SeasonalNaive")])
    out = runner.forecast(FrameSource(sales), 7)
    f = out.forecasts.set_index(["unique_id", "ds"])["SeasonalNaive"]
    assert f[("7", pd.Timestamp("2017-08-11"))] == weekly[4] + 1
    assert any(n.startswith("1 series have periods without a row") and "(7 1; the latest 2017-08-04)" in n for n in out.notes)
    cv = runner.cross_validation(FrameSource(sales), h=7, n_windows=1)
    assert cv.forecasts["cutoff"].iloc[0] == pd.Timestamp("2017-07-29")
    scored = cv.forecasts[cv.forecasts["unique_id"] == "7"]
    assert len(scored) == 6 and pd.Timestamp("2017-08-04") not in set(scored["ds"])
    assert ("backtest: 1 period(s) in the windows read as a series' recent level have no actual row and are "
            "not scored") in cv.notes


def test_returns_are_clipped_for_models_that_cannot_take_them_and_scored_as_they_are():
    df = daily(days=200)
    df.loc[df.index % 17 == 0, "y"] = -2.0  # returns
    src = FrameSource(df)
    out = Runner([make_model("LightGBM")]).forecast(src, 7)
    assert any("clipped at zero" in n and "negative" in n for n in out.notes)
    cv = Runner([make_model("LightGBM"), make_model("SeasonalNaive")]).cross_validation(src, 7, n_windows=1)
    assert (cv.forecasts["y"] < 0).any()  # backtests score against the real values


class _Broken(Forecaster):
    """Forecasts NaN for one series and crossed quantiles for the others."""

    def fit(self, df):
        self.last_ = df.groupby("unique_id")["ds"].max()
        self.is_fitted_ = True
        return self

    def predict(self, h, *, X_df=None, quantiles=None):
        rows = []
        for uid, end in self.last_.items():
            ds = pd.date_range(end, periods=h + 1)[1:]
            value = np.nan if uid == "P0" else 5.0
            frame = pd.DataFrame({"unique_id": uid, "ds": ds, self.alias: value})
            for q in quantiles or []:
                frame[quantile_column(self.alias, q)] = 10.0 - 10 * q  # crossed
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)


def test_a_missing_forecast_goes_down_the_chain_and_crossed_quantiles_are_sorted():
    out = Runner([_Broken(alias="Broken")]).forecast(FrameSource(daily()), 5, quantiles=[0.1, 0.9])
    fc = out.forecasts
    assert np.isfinite(fc["Broken"]).all()
    assert (fc["Broken-q-0.1"] <= fc["Broken-q-0.9"]).all()
    assert any("1 series got the window average" in n and "P0" in n for n in out.notes)
    assert any("quantiles crossed" in n for n in out.notes)


def test_recommended_picks_one_configuration_per_catalogue_by_validation():
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2015-01-02", periods=260, freq="W-FRI")
    season = 100 + 80 * np.sin(2 * np.pi * np.arange(260) / 52)
    df = pd.concat([pd.DataFrame({"unique_id": f"S{i}", "ds": weeks, "y": season + rng.normal(0, 2, 260)})
                    for i in range(4)])
    model = make_model("recommended", members=["Naive", "SeasonalNaive", "WindowAverage"], horizon=8)
    out = Runner([model]).forecast(FrameSource(df), 8, quantiles=[0.1, 0.9])
    assert any("chose SeasonalNaive by validation WAPE" in n for n in out.notes), out.notes
    assert parse_spec("MedianEnsemble(LightGBM, LightGBMDirect)") == ("MedianEnsemble", ["LightGBM", "LightGBMDirect"])
    assert make_model("MedianEnsemble(SeasonalNaive,Naive)").params["members"] == ("SeasonalNaive", "Naive")
    with pytest.raises(ModelError, match="unknown ensemble member"):
        make_model("MedianEnsemble(Prophet)")


def test_cleaning_replaces_an_injected_stock_out_and_lists_it():
    df = daily(n_series=2, days=200, seed=4)
    out_days = (df["unique_id"] == "P0") & df["ds"].between("2024-05-01", "2024-05-08")
    df.loc[out_days, "y"] = 0.0
    stock = pd.DataFrame({"unique_id": "P1", "ds": pd.to_datetime(["2024-06-02"]), "on_hand": [0.0]})
    out = Runner([make_model("SeasonalNaive")], clean=True).forecast(FrameSource(df, stock=stock), 7)
    changes = out.cleaning
    inferred = changes[changes["reason"] == "stock-out (inferred)"]
    assert set(inferred["unique_id"]) == {"P0"} and inferred["ds"].between("2024-05-01", "2024-05-08").all()
    assert len(inferred) == 8 and (inferred["after"] > 2).all()
    known = changes[changes["reason"] == "stock-out (stock history)"]
    assert known[["unique_id", "ds"]].astype(str).values.tolist() == [["P1", "2024-06-02"]]
    assert any(n.startswith("cleaning:") for n in out.notes)
    plain = Runner([make_model("SeasonalNaive")]).forecast(FrameSource(df), 7)
    assert plain.cleaning is not None and plain.cleaning.empty


def test_cleaning_fills_a_stock_out_with_the_products_promo_demand_for_a_model_without_covariates():
    """SeasonalNaive is fitted on the sales alone; the cleaning still sees the stored promo
    flags, so a stock-out's promo days are filled at promo demand."""
    df = daily(n_series=12, days=240, seed=5)
    promo = (np.arange(240) % 10 < 3).astype(float)
    df["promo"] = np.where(df["unique_id"] == "P0", np.tile(promo, 12), 0.0)
    boost = (df["unique_id"] == "P0") & (df["promo"] > 0)
    df.loc[boost, "y"] = np.random.default_rng(5).poisson(15.0, int(boost.sum())).astype(float)
    run = (df["unique_id"] == "P0") & df["ds"].between("2024-06-01", "2024-06-10")
    df.loc[run, "y"] = 0.0
    out = Runner([make_model("SeasonalNaive")], clean=True).forecast(FrameSource(df), 7)
    filled = out.cleaning[out.cleaning["reason"] == "stock-out (inferred)"].merge(df[["unique_id", "ds", "promo"]])
    assert set(filled["unique_id"]) == {"P0"} and len(filled) == 10
    on, off = filled.loc[filled["promo"] > 0, "after"].mean(), filled.loc[filled["promo"] == 0, "after"].mean()
    assert on > 2 * off
    # a saved model moved forward on the new history cleans it the same way
    runner = Runner([make_model("SeasonalNaive")], clean=True)
    moved = runner.forecast(FrameSource(df), 7, fitted=runner.train(FrameSource(df), 7).models)
    again = moved.cleaning[moved.cleaning["reason"] == "stock-out (inferred)"]
    assert again[["ds", "after"]].reset_index(drop=True).equals(filled[["ds", "after"]])


def test_the_calendar_must_cover_the_horizon_or_the_notes_say_so():
    df = daily(days=100)
    short = festival_calendar("2024-01-01", "2024-04-20")
    out = Runner([make_model("LightGBM")]).forecast(FrameSource(df, calendar=short), 28)
    last_event = short["ds"].max().date()
    assert any(f"the calendar's last event is on {last_event}" in n for n in out.notes), out.notes
    covered = festival_calendar("2024-01-01", "2024-12-31")
    out = Runner([make_model("LightGBM")]).forecast(FrameSource(df, calendar=covered), 28)
    assert not any("last event" in n for n in out.notes)


def test_holidays_of_any_country():
    us = festival_calendar("2024-01-01", "2024-12-31", country="US", subdiv="CA")
    assert {"Independence Day", "Black Friday"} <= set(us["name"]) and "Double 11" not in set(us["name"])
    ec = festival_calendar("2024-01-01", "2024-12-31", country="EC")
    assert "Carnival" in set(ec["name"]) and (ec.loc[ec["kind"] == "holiday", "region"] == "EC").all()


def test_a_series_that_stopped_recently_is_forecast_from_the_catalogues_end():
    """A Walmart department with no rows for its last 3 weeks (not ended for an 8-week
    horizon) was forecast from its own last date: 3 of its 8 'forecast' weeks lay in the
    past, and inventory summed them as the coming lead time."""
    data = weekly_with_gaps_and_an_early_end()
    stopped = data[data["unique_id"] == "1_1"].iloc[:-3].assign(unique_id="2_5")
    src = FrameSource(pd.concat([data, stopped], ignore_index=True))
    out = Runner([make_model("SeasonalNaive"), make_model("LightGBM")]).forecast(src, 8)
    fc = out.forecasts[out.forecasts["unique_id"] == "2_5"]
    assert fc["ds"].min() == pd.Timestamp("2012-11-02") and len(fc) == 8
    assert (out.forecasts["ds"] > pd.Timestamp("2012-10-26")).all()
    own = Runner([make_model("SeasonalNaive")], ended="forecast").forecast(src, 8).forecasts
    assert own.loc[own["unique_id"] == "2_5", "ds"].min() == pd.Timestamp("2012-10-12")


def test_holidays_of_several_cities_are_not_every_products_flags():
    """Favorita's calendar flagged every store with every city's founding day (LightGBM's
    WAPE 0.0593 with the whole file, 0.0509 with its national rows, docs/benchmarks.md)."""
    df = daily(days=200)
    local = pd.DataFrame({"ds": pd.to_datetime(["2024-03-02", "2024-04-01", "2024-05-10"]),
                          "name": ["Fundacion de Manta", "Provincializacion", "Fundacion de Manta"],
                          "kind": "fundacion", "region": ["Manta", "Cotopaxi", "Manta"],
                          "source": "user"})
    cal = pd.concat([festival_calendar("2024-01-01", "2024-12-31"), local], ignore_index=True)
    runner = Runner([make_model("LightGBM")])
    trained = runner.train(FrameSource(df, calendar=cal), 7)
    assert "ev_fundacion" not in trained.models["LightGBM"].dynamic_
    assert "ev_festival" in trained.models["LightGBM"].dynamic_
    assert any(n.startswith("calendar: 3 event row(s) of 2 regions (Manta (2), Cotopaxi (1))")
               for n in trained.notes), trained.notes
    out = runner.forecast(FrameSource(df, calendar=cal), 7)
    assert any(n.startswith("calendar: 3 event row(s)") for n in out.notes), out.notes
    # the shop's own region (one below the country) flags every product
    own = pd.concat([festival_calendar("2024-01-01", "2024-12-31"), local[local["region"] == "Manta"]])
    trained = runner.train(FrameSource(df, calendar=own), 7)
    assert "ev_fundacion" in trained.models["LightGBM"].dynamic_
    assert not any(n.startswith("calendar:") for n in trained.notes)
