"""Baselines every forecast should beat: naive, seasonal naive, window averages, linear trend.

Naive and SeasonalNaive use statsforecast's native residual-based intervals. WindowAverage
and SeasonalWindowAverage have none, so they get conformal intervals (see
:func:`trendcast.models.statistical.conformal_windows`). LinearTrend is pure numpy with
Gaussian intervals. No model clips at zero; the services do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster, check_horizon, check_quantiles
from trendcast.models.statistical import (
    SeasonalNaive,
    StatsForecastModel,
    Variant,
    conformal_windows,
    infer_freq,
)
from trendcast.schema import quantile_column

__all__ = ["MODELS", "LinearTrend", "Naive", "SeasonalNaive", "SeasonalWindowAverage",
           "WindowAverage"]


class Naive(StatsForecastModel):
    """The last observed value; intervals widen with sqrt(step)."""

    family = "baseline"

    def _min_train(self, season_length: int) -> int:
        return 2  # one in-sample residual for the interval width

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import Naive as _Naive

        return _Naive(**kwargs)


class WindowAverage(StatsForecastModel):
    """The mean of the last ``window`` values (default 28), repeated; conformal intervals."""

    family = "baseline"
    native_intervals = False

    def __init__(self, *, window: int = 28, alias: str | None = None, n_jobs: int = 1) -> None:
        if int(window) < 1:
            raise ModelError(f"WindowAverage window must be >= 1, got {window!r}")
        super().__init__(alias=alias, n_jobs=n_jobs, window=int(window))

    def _min_train(self, season_length: int) -> int:
        return self.params["window"]

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import WindowAverage as _WA

        return _WA(window_size=self.params["window"], **kwargs)


class SeasonalWindowAverage(StatsForecastModel):
    """Per season position, the mean over the last ``n_seasons`` seasons (default 4), or over
    as many whole seasons as a series has when that is fewer (a weekly series of 2.7 years:
    the same week of the last two years).

    For daily data: each weekday's mean over the last four weeks. Conformal intervals.
    """

    family = "baseline"
    native_intervals = False

    def __init__(self, *, n_seasons: int = 4, season_length: int | None = None,
                 alias: str | None = None, n_jobs: int = 1) -> None:
        super().__init__(season_length=season_length, alias=alias, n_jobs=n_jobs,
                         n_seasons=int(n_seasons))
        if self.params["n_seasons"] < 1:
            raise ModelError(f"SeasonalWindowAverage n_seasons must be >= 1, got {n_seasons!r}")

    def _min_train(self, season_length: int) -> int:
        return season_length  # one whole season at least

    def _seasons(self, n: int, season_length: int) -> int:
        """Whole seasons a series of ``n`` points averages over (the calibration of its
        conformal intervals keeps two points aside)."""
        return max(1, min(self.params["n_seasons"], (n - 2) // max(season_length, 1)))

    def _variant(self, n: int, h: int, intervals: bool, season: int | None = None) -> Variant:
        season = self.season_length_ if season is None else season
        k = self._seasons(n, season)
        base = super()._variant(n, h, intervals, season)
        if intervals:  # calibration refits need k seasons of history
            base = (("conformal", conformal_windows(n, h, k * season, self.conformal_max_windows)),)
        return (("seasons", k), *base)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        from statsforecast.models import SeasonalWindowAverage as _SWA

        k = kwargs.pop("seasons", self.params["n_seasons"])
        return _SWA(season_length=season_length, window_size=k, **kwargs)


class LinearTrend(Forecaster):
    """Per-series OLS of y on the time step, extrapolated; Gaussian prediction intervals.

    Fits on the last ``window`` points of each series (all when None), all series at once
    with numpy. The time index is the position within the series, so series are assumed
    regular (the services fill gaps). Quantile q at step k is
    ``point + norm.ppf(q) * s * sqrt(1 + 1/n + (t_k - t_mean)^2 / S_tt)``, the OLS
    prediction interval with residual standard deviation ``s`` (n - 2 degrees of freedom).
    A single-point series gets a flat forecast and zero width.
    """

    family: ClassVar[str] = "baseline"
    per_series: ClassVar[bool] = True
    supports_quantiles: ClassVar[bool] = True
    refit_on_forward: ClassVar[bool] = True  # an OLS line: refitting costs what a forecast does

    def __init__(self, *, window: int | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        if window is not None and int(window) < 2:
            raise ModelError(f"LinearTrend window must be >= 2 points or None, got {window!r}")
        super().__init__(alias=alias, window=window, n_jobs=n_jobs)

    def fit(self, df: pd.DataFrame) -> Self:
        self.freq_ = infer_freq(df)
        data = df[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
        codes, uniques = pd.factorize(data["unique_id"], sort=True)
        pos = data.groupby(codes).cumcount().to_numpy(dtype=float)
        sizes = np.bincount(codes)
        window = self.params["window"]
        keep = pos >= sizes[codes] - window if window else np.ones(len(pos), dtype=bool)
        g, t, y = codes[keep], pos[keep], data["y"].to_numpy(dtype=float)[keep]

        def per(v: np.ndarray) -> np.ndarray:
            return np.bincount(g, weights=v, minlength=len(uniques))

        n = per(np.ones_like(y))
        t_mean, y_mean = per(t) / n, per(y) / n
        dt, dy = t - t_mean[g], y - y_mean[g]
        s_tt = per(dt * dt)
        slope = np.divide(per(dt * dy), s_tt, out=np.zeros_like(s_tt), where=s_tt > 0)
        intercept = y_mean - slope * t_mean
        resid = y - intercept[g] - slope[g] * t
        dof = n - 2
        sigma = np.sqrt(np.divide(per(resid * resid), dof, out=np.zeros_like(n), where=dof > 0))
        self.ids_ = pd.Index(uniques)
        self.last_ds_ = data.groupby(codes)["ds"].max().to_numpy()
        self.coef_ = np.column_stack([intercept, slope])
        self.sigma_, self.n_, self.t_mean_, self.s_tt_ = sigma, n, t_mean, s_tt
        self.t_end_ = sizes.astype(float)  # next time step of each series
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        from scipy.stats import norm
        from utilsforecast.processing import make_future_dataframe

        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        t = self.t_end_[:, None] + np.arange(h)[None, :]  # (series, h)
        point = self.coef_[:, :1] + self.coef_[:, 1:] * t
        lever = np.divide((t - self.t_mean_[:, None]) ** 2, self.s_tt_[:, None],
                          out=np.zeros_like(t), where=self.s_tt_[:, None] > 0)
        scale = self.sigma_[:, None] * np.sqrt(1 + 1 / self.n_[:, None] + lever)
        out = make_future_dataframe(pd.Series(self.ids_.astype(str)),
                                    pd.Series(self.last_ds_), self.freq_, h)
        out[self.alias] = point.ravel()
        for q in qs:
            out[quantile_column(self.alias, q)] = (point + norm.ppf(q) * scale).ravel()
        return out.sort_values(["unique_id", "ds"], ignore_index=True)


MODELS: dict[str, type[Forecaster]] = {
    "Naive": Naive,
    "SeasonalNaive": SeasonalNaive,
    "WindowAverage": WindowAverage,
    "SeasonalWindowAverage": SeasonalWindowAverage,
    "LinearTrend": LinearTrend,
}
