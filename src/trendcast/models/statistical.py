"""Statistical models from statsforecast behind the Forecaster interface.

Quantiles come from statsforecast's prediction intervals: quantile q is the lower bound of
the (1 - 2q) interval for q < 0.5 and the upper bound of the (2q - 1) interval above; the
median is the point forecast. Series too short for a model get the seasonal naive forecast
instead, and ``fallback_ids_`` lists them so callers can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.models.base import (
    Forecaster,
    check_horizon,
    check_quantiles,
    quantiles_to_levels,
)
from trendcast.schema import quantile_column


def infer_freq(df: pd.DataFrame) -> str:
    """'D' for daily data, 'W-<day>' for weekly, else the pandas alias of the modal step."""
    ds = df.sort_values(["unique_id", "ds"])
    steps = ds.groupby("unique_id")["ds"].diff().dropna()
    if steps.empty:
        return "D"
    step = steps.mode().iloc[0]
    if step == pd.Timedelta(days=1):
        return "D"
    if step == pd.Timedelta(days=7):
        return "W-" + ds["ds"].iloc[0].day_name()[:3].upper()
    return pd.tseries.frequencies.to_offset(step).freqstr


def default_season_length(freq: str) -> int:
    """7 for daily data, 52 for weekly, 12 for monthly, else 1."""
    if freq == "D":
        return 7
    if freq.startswith("W"):
        return 52
    if freq.startswith(("M", "MS", "ME")):
        return 12
    return 1


class StatsForecastModel(Forecaster):
    """A statsforecast model; subclasses name the class and its arguments."""

    family: ClassVar[str] = "statistical"
    supports_quantiles: ClassVar[bool] = True
    min_seasons: ClassVar[int] = 2  # fewer seasons of history -> seasonal naive fallback

    def __init__(self, *, season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1, **params: Any) -> None:
        super().__init__(alias=alias, season_length=season_length, n_jobs=n_jobs, **params)

    def _make(self, season_length: int) -> Any:
        raise NotImplementedError

    def fit(self, df: pd.DataFrame) -> Self:
        self.freq_ = infer_freq(df)
        season = self.params["season_length"] or default_season_length(self.freq_)
        self.season_length_ = season
        data = df[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
        sizes = data.groupby("unique_id").size()
        short = sizes.index[sizes < self.min_seasons * season + 1]
        self.fallback_ids_ = sorted(map(str, short))
        self.train_ = data
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        from statsforecast import StatsForecast
        from statsforecast.models import SeasonalNaive

        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        levels = quantiles_to_levels(qs)
        short = self.train_["unique_id"].isin(self.fallback_ids_)
        parts = []
        for subset, model in (
            (self.train_[~short], self._make(self.season_length_)),
            (self.train_[short], SeasonalNaive(season_length=self.season_length_)),
        ):
            if subset.empty:
                continue
            sf = StatsForecast(models=[model], freq=self.freq_, n_jobs=self.params["n_jobs"])
            out = sf.forecast(df=subset, h=h, level=levels or None)
            parts.append(_rename(out, str(model), self.alias, qs))
        fc = pd.concat(parts, ignore_index=True)
        return fc.sort_values(["unique_id", "ds"], ignore_index=True)


def _rename(out: pd.DataFrame, name: str, alias: str, qs: list[float]) -> pd.DataFrame:
    out = out.reset_index() if "unique_id" not in out.columns else out
    res = pd.DataFrame({"unique_id": out["unique_id"].astype(str), "ds": out["ds"],
                        alias: out[name].to_numpy(dtype=float)})
    for q in qs:
        if abs(q - 0.5) < 1e-9:
            col = out[name]
        else:
            level = abs(1 - 2 * q) * 100
            lv = int(level) if float(round(level, 6)).is_integer() else round(level, 6)
            col = out[f"{name}-{'lo' if q < 0.5 else 'hi'}-{lv}"]
        res[quantile_column(alias, q)] = col.to_numpy(dtype=float)
    return res


class SeasonalNaive(StatsForecastModel):
    """The value one season ago (last week's same weekday for daily data)."""

    family = "baseline"
    min_seasons = 1

    def _make(self, season_length: int) -> Any:
        from statsforecast.models import SeasonalNaive as _SN

        return _SN(season_length=season_length)


class AutoETS(StatsForecastModel):
    """Exponential smoothing with error, trend and season chosen by AICc."""

    def __init__(self, *, model: str = "ZZZ", damped: bool | None = None,
                 season_length: int | None = None, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        super().__init__(season_length=season_length, alias=alias, n_jobs=n_jobs,
                         model=model, damped=damped)

    def _make(self, season_length: int) -> Any:
        from statsforecast.models import AutoETS as _ETS

        return _ETS(season_length=season_length, model=self.params["model"],
                    damped=self.params["damped"])


def clip_negative(fc: pd.DataFrame) -> pd.DataFrame:
    """Sales cannot be negative: clip every forecast column at zero."""
    cols = [c for c in fc.columns if c not in ("unique_id", "ds", "cutoff", "y")]
    fc[cols] = np.maximum(fc[cols].to_numpy(dtype=float), 0.0)
    return fc


MODELS: dict[str, type[Forecaster]] = {
    "SeasonalNaive": SeasonalNaive,
    "AutoETS": AutoETS,
}
