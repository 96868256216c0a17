"""Statistical models from statsforecast behind the Forecaster interface.

Quantiles come from statsforecast's prediction intervals: quantile q is the lower bound of
the (1 - 2q) interval for q < 0.5 and the upper bound of the (2q - 1) interval above; the
median is the point forecast. Series too short for a model get the seasonal naive forecast
a shorter chain instead (:mod:`trendcast.models.fallback`): the same model without a
season when the series is shorter than two seasons, then a window average, the last value,
or zeros for a series that never sold. ``fallback_`` names each such series' tier so callers
can say so.

Models without native intervals (``native_intervals = False``: window averages, the
intermittent family) get conformal intervals (statsforecast ``ConformalIntervals``, method
``conformal_distribution``) from the absolute errors of rolling-origin refits on the end of
each series; see :func:`conformal_windows` for how the number of windows adapts to length.

Saved versions: ``freeze()`` estimates each series' model once and keeps the fitted
statsforecast objects (``states_``, by series); ``forward(df)`` then forecasts from newer
history with statsforecast's ``forward`` (the fitted parameters, the state re-filtered over
the new data), so nothing is re-estimated. Models whose parameters are trivial (naive,
window averages, Croston and friends: ``refit_on_forward``) are fitted again instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.features.frequency import default_season_length, infer_freq, period_days
from trendcast.models.base import (
    Forecaster,
    check_horizon,
    check_quantiles,
    interval_column,
    quantiles_to_levels,
)
from trendcast.schema import quantile_column

__all__ = ["default_season_length", "infer_freq"]  # re-exported for callers of this module


def conformal_windows(n: int, h: int, min_train: int, max_windows: int) -> tuple[int, int]:
    """``(h, n_windows)`` for a series of ``n`` points, for ``ConformalIntervals``.

    Each calibration refit must keep at least ``min_train`` points, so a series gets
    ``min((n - min_train) // h, max_windows)`` windows of ``h`` steps (one error per step
    and window, widths grow with the horizon). Series too short for two such windows are
    calibrated on one-step errors instead, ``min(n - min_train, max_windows * h)`` windows
    of one step, giving the same width at every step. The fallback rule guarantees
    ``n >= min_train + 2``, so there are always at least two windows.
    """
    full = min((n - min_train) // h, max_windows)
    if full >= 2:
        return h, full
    return 1, max(2, min(n - min_train, max_windows * h))


Variant = tuple[tuple[str, Any], ...]


class StatsForecastModel(Forecaster):
    """A statsforecast model; subclasses name the class and its arguments."""

    family: ClassVar[str] = "statistical"
    supports_quantiles: ClassVar[bool] = True
    per_series: ClassVar[bool] = True
    min_seasons: ClassVar[int] = 2  # fewer seasons of history -> the fallback chain
    nonseasonal_fallback: ClassVar[bool] = True  # tier 2: the model with season_length 1
    native_intervals: ClassVar[bool] = True  # False -> conformal intervals
    conformal_max_windows: ClassVar[int] = 5
    ignored_warnings: ClassVar[tuple[str, ...]] = ()  # regexes of known-harmless warnings
    refit_on_forward: ClassVar[bool] = True  # AutoETS, AutoARIMA, AutoTheta, MSTL keep a state

    def __init__(self, *, season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1, **params: Any) -> None:
        super().__init__(alias=alias, season_length=season_length, n_jobs=n_jobs, **params)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _min_train(self, season_length: int) -> int:
        """Fewest points the statsforecast model needs for a finite forecast."""
        return self.min_seasons * season_length + 1

    def _min_length(self, season_length: int) -> int:
        """Shorter series fall back to seasonal naive (conformal models need 2 more points)."""
        return self._min_train(season_length) + (0 if self.native_intervals else 2)

    def _variant(self, n: int, h: int, intervals: bool, season: int | None = None) -> Variant:
        """Hashable per-series settings; series sharing one share a statsforecast call."""
        season = self.season_length_ if season is None else season
        if intervals and not self.native_intervals:
            return (("conformal", conformal_windows(n, h, self._min_train(season),
                                                    self.conformal_max_windows)),)
        return ()

    def _build(self, variant: Variant, season: int | None = None) -> Any:
        kwargs = dict(variant)
        conformal = kwargs.pop("conformal", None)
        if conformal is not None:
            from statsforecast.utils import ConformalIntervals

            kwargs["prediction_intervals"] = ConformalIntervals(h=conformal[0], n_windows=conformal[1])
        return self._make(self.season_length_ if season is None else season, **kwargs)

    def _season_length(self) -> int:
        return self.params["season_length"] or default_season_length(self.freq_)

    def fit(self, df: pd.DataFrame) -> Self:
        self.freq_ = infer_freq(df)
        season = self._season_length()
        self.season_length_ = season
        data = df[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
        sizes = data.groupby("unique_id", observed=True).size()
        zero = data.groupby("unique_id", observed=True)["y"].apply(lambda y: not y.any())
        self.fallback_ = {}
        for uid in sizes.index[sizes < self._min_length(season)]:
            n = int(sizes[uid])
            if self.nonseasonal_fallback and season > 1 and n >= self._min_length(1) and not zero[uid]:
                self.fallback_[str(uid)] = "non-seasonal"
            else:
                self.fallback_[str(uid)] = "zero" if zero[uid] else ("naive" if n == 1 else "window average")
        self.fallback_ids_ = sorted(self.fallback_)
        self.sizes_ = sizes
        self.train_ = data
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        from trendcast.models.fallback import simple_forecast

        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        levels = quantiles_to_levels(qs)
        ids = self.train_["unique_id"]
        tiers = {uid: self.fallback_.get(str(uid)) for uid in self.sizes_.index}
        groups: dict[tuple[int | None, Variant], list[Any]] = {}
        for uid, n in self.sizes_.items():
            if tiers[uid] is None:
                groups.setdefault((None, self._variant(int(n), h, bool(levels))), []).append(uid)
            elif tiers[uid] == "non-seasonal":
                groups.setdefault((1, self._variant(int(n), h, bool(levels), 1)), []).append(uid)
        parts = []
        states = getattr(self, "states_", None)
        if states:  # a saved version applied to newer history: no re-estimation
            for key, members in groups.items():
                kept = [u for u in members if states.get(str(u), (None,))[0] == key]
                if kept:
                    parts.append(self._forward_states(kept, h, levels, qs))
                    done = set(kept)
                    groups[key] = [u for u in members if u not in done]
        jobs = [(self.train_[ids.isin(members)], self._build(variant, season))
                for (season, variant), members in sorted(groups.items(), key=lambda kv: repr(kv[0]))
                if members]
        simple = [uid for uid, t in tiers.items() if t is not None and t != "non-seasonal"]
        if simple:
            parts.append(simple_forecast(self.train_[ids.isin(simple)], h, self.freq_, qs, self.alias)[0])
        for subset, model in jobs:
            if subset.empty:
                continue
            try:
                parts.append(self._forecast(subset, model, h, levels, qs))
            except Exception:  # noqa: BLE001 - statsforecast raises bare errors on odd series
                # one series can fail a whole call: retry them one by one, and hand those that
                # still fail down the fallback chain (named in fallback_)
                for _, one in subset.groupby("unique_id", sort=True):
                    try:
                        parts.append(self._forecast(one, model, h, levels, qs))
                    except Exception:  # noqa: BLE001
                        simple, tier = simple_forecast(one, h, self.freq_, qs, self.alias)
                        parts.append(simple)
                        self.fallback_.update(tier)
        fc = pd.concat(parts, ignore_index=True)
        return fc.sort_values(["unique_id", "ds"], ignore_index=True)

    def _groups(self) -> dict[tuple[int | None, Variant], list[Any]]:
        """Series that share one statsforecast model (fallback-chain series left out)."""
        groups: dict[tuple[int | None, Variant], list[Any]] = {}
        for uid, n in self.sizes_.items():
            tier = self.fallback_.get(str(uid))
            if tier is None:
                groups.setdefault((None, self._variant(int(n), 1, True)), []).append(uid)
            elif tier == "non-seasonal":
                groups.setdefault((1, self._variant(int(n), 1, True, 1)), []).append(uid)
        return groups

    def freeze(self) -> Self:
        """Estimate each series' model once and keep the fitted objects (``states_``); drop
        the training frame. Series a model cannot fit keep no state (forward refits them)."""
        from statsforecast import StatsForecast

        self._check_fitted()
        if not self.refit_on_forward:
            states: dict[str, Any] = dict(getattr(self, "states_", {}))
            ids = self.train_["unique_id"]
            for (season, variant), members in self._groups().items():
                subset = self.train_[ids.isin(members)]
                chunks = [subset]
                while chunks:
                    chunk = chunks.pop()
                    sf = StatsForecast(models=[self._build(variant, season)], freq=self.freq_,
                                       n_jobs=self.params["n_jobs"])
                    try:
                        with warnings.catch_warnings():
                            for message in self.ignored_warnings:
                                warnings.filterwarnings("ignore", message=message)
                            sf.fit(df=chunk)
                    except Exception:  # noqa: BLE001 - one odd series fails the whole call
                        if chunk["unique_id"].nunique() > 1:
                            chunks += [one for _, one in chunk.groupby("unique_id", sort=True)]
                        continue
                    for i, uid in enumerate(sf.uids):
                        states[str(uid)] = ((season, variant), sf.fitted_[i, 0])
            self.states_ = states
        for name in ("train_", "sizes_"):
            self.__dict__.pop(name, None)
        return self

    def forward(self, df: pd.DataFrame) -> Self:
        self._check_fitted()
        new = self.clone().fit(df)
        if not self.refit_on_forward:
            new.states_ = getattr(self, "states_", {})
        return new

    def merge(self, others: Sequence[Self]) -> Self:
        if self.refit_on_forward or not others:
            return self
        import copy

        new = copy.copy(self)
        new.states_ = dict(getattr(self, "states_", {}))
        for other in others:
            new.states_.update(getattr(other, "states_", {}))
        return new

    def _forward_states(self, members: list[Any], h: int, levels: list[int | float],
                        qs: list[float]) -> pd.DataFrame:
        """Forecasts of ``members`` from their saved fitted models over the current history."""
        frames = []
        data = self.train_[self.train_["unique_id"].isin(members)]
        for uid, one in data.groupby("unique_id", sort=True):
            _, fitted = self.states_[str(uid)]
            y = one["y"].to_numpy(dtype=float)
            try:
                res = fitted.forward(y=y, h=h, level=levels or None)
            except Exception:  # noqa: BLE001 - the saved model cannot take this history
                res = None
            dates = pd.date_range(one["ds"].iloc[-1], periods=h + 1, freq=self.freq_)[1:]
            frame = pd.DataFrame({"unique_id": str(uid), "ds": dates})
            if res is None or not np.all(np.isfinite(res["mean"])):
                model = self._build(*reversed(self.states_[str(uid)][0]))
                frames.append(self._forecast(one, model, h, levels, qs))
                continue
            frame[self.alias] = np.asarray(res["mean"], dtype=float)
            for q in qs:
                key = interval_column("", q)[1:] or "mean"  # "-lo-80" -> "lo-80"
                frame[quantile_column(self.alias, q)] = np.asarray(res[key], dtype=float)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def _forecast(self, subset: pd.DataFrame, model: Any, h: int, levels: list[int | float],
                  qs: list[float]) -> pd.DataFrame:
        from statsforecast import StatsForecast

        sf = StatsForecast(models=[model], freq=self.freq_, n_jobs=self.params["n_jobs"])
        with warnings.catch_warnings():
            for message in self.ignored_warnings:
                warnings.filterwarnings("ignore", message=message)
            out = sf.forecast(df=subset, h=h, level=levels or None)
        return _rename(out, str(model), self.alias, qs)


def _rename(out: pd.DataFrame, name: str, alias: str, qs: list[float]) -> pd.DataFrame:
    out = out.reset_index() if "unique_id" not in out.columns else out
    res = pd.DataFrame({"unique_id": out["unique_id"].astype(str), "ds": out["ds"],
                        alias: out[name].to_numpy(dtype=float)})
    for q in qs:
        res[quantile_column(alias, q)] = out[interval_column(name, q)].to_numpy(dtype=float)
    return res


class SeasonalNaive(StatsForecastModel):
    """The value one season ago (last week's same weekday for daily data).

    Registered in :mod:`trendcast.models.baseline`; defined here because it is also the
    fallback of every statsforecast model.
    """

    family = "baseline"
    min_seasons = 1

    def forward_history(self) -> int | None:
        """Moved forward, it is fitted again on its last year (at least three seasons): the
        point forecast is the same as from the whole history, the interval width comes from
        that year's seasonal differences."""
        self._check_fitted()
        season = self.season_length_
        return max(self._min_length(season) + 2 * season, math.ceil(365 / period_days(self.freq_)))

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import SeasonalNaive as _SN

        return _SN(season_length=season_length, **kwargs)


class AutoETS(StatsForecastModel):
    """Exponential smoothing with error, trend and season chosen by AICc."""

    refit_on_forward = False

    def __init__(self, *, model: str = "ZZZ", damped: bool | None = None,
                 season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        super().__init__(season_length=season_length, alias=alias, n_jobs=n_jobs,
                         model=model, damped=damped)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import AutoETS as _ETS

        return _ETS(season_length=season_length, model=self.params["model"],
                    damped=self.params["damped"], **kwargs)


class AutoARIMA(StatsForecastModel):
    """Seasonal ARIMA with orders chosen stepwise by AICc (Hyndman-Khandakar).

    ``approximation=None`` follows R's rule: the order search uses the fast CSS likelihood
    when the series is longer than 150 points or the season longer than 12, then the chosen
    model is refitted exactly (a 2-year daily series: ~0.7 s instead of ~4 s). The search's
    "possible convergence problem" warnings are silenced.
    """

    ignored_warnings = ("possible convergence problem",)
    refit_on_forward = False

    def __init__(self, *, stepwise: bool = True, approximation: bool | None = None,
                 season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        super().__init__(season_length=season_length, alias=alias, n_jobs=n_jobs,
                         stepwise=stepwise, approximation=approximation)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import AutoARIMA as _ARIMA

        return _ARIMA(season_length=season_length, stepwise=self.params["stepwise"],
                      approximation=self.params["approximation"], **kwargs)


class AutoTheta(StatsForecastModel):
    """Theta model (standard, optimised or dynamic) chosen by in-sample MSE.

    statsforecast deseasonalises first when a seasonality test says so; multiplicative
    decomposition switches to additive on series with zeros.
    """

    refit_on_forward = False

    def __init__(self, *, decomposition_type: str = "multiplicative", model: str | None = None,
                 season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        super().__init__(season_length=season_length, alias=alias, n_jobs=n_jobs,
                         decomposition_type=decomposition_type, model=model)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import AutoTheta as _Theta

        return _Theta(season_length=season_length, model=self.params["model"],
                      decomposition_type=self.params["decomposition_type"], **kwargs)


class MSTL(StatsForecastModel):
    """Multiple seasonal-trend decomposition (STL per season), trend by AutoETS(model="ZZN").

    ``season_lengths`` defaults to ``(7, 365)`` for daily data (else the frequency's season).
    Each series keeps only the seasons it has ``min_seasons`` (2) full cycles of, so a daily
    series shorter than 731 points is decomposed on the weekly season alone. Intervals come
    from the trend model's native intervals plus the extrapolated seasonal components.
    """

    def __init__(self, *, season_lengths: Sequence[int] | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        seasons = tuple(sorted(int(s) for s in season_lengths)) if season_lengths else None
        super().__init__(season_length=seasons[0] if seasons else None, alias=alias,
                         n_jobs=n_jobs, season_lengths=seasons)

    nonseasonal_fallback = False  # MSTL without a season is its trend model: use the chain's end
    refit_on_forward = False

    def _candidate_seasons(self) -> tuple[int, ...]:
        if self.params["season_lengths"]:
            return self.params["season_lengths"]
        return (7, 365) if self.freq_ == "D" else (default_season_length(self.freq_),)

    def _season_length(self) -> int:
        return self._candidate_seasons()[0]

    def _variant(self, n: int, h: int, intervals: bool, season: int | None = None) -> Variant:
        fits = tuple(s for s in self._candidate_seasons() if n >= self.min_seasons * s + 1)
        return (("seasons", fits or (self.season_length_,)),)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import MSTL as _MSTL
        from statsforecast.models import AutoETS as _ETS

        seasons = list(kwargs.pop("seasons", (season_length,)))
        # a fresh trend model: statsforecast's default argument is one shared instance
        return _MSTL(season_length=seasons if len(seasons) > 1 else seasons[0],
                     trend_forecaster=_ETS(model="ZZN"), **kwargs)


def clip_negative(fc: pd.DataFrame) -> pd.DataFrame:
    """Sales cannot be negative: clip every forecast column at zero."""
    cols = [c for c in fc.columns if c not in ("unique_id", "ds", "cutoff", "y")]
    fc[cols] = np.maximum(fc[cols].to_numpy(dtype=float), 0.0)
    return fc


MODELS: dict[str, type[Forecaster]] = {
    "AutoETS": AutoETS,
    "AutoARIMA": AutoARIMA,
    "AutoTheta": AutoTheta,
    "MSTL": MSTL,
}
