"""The model interface every forecaster implements.

``fit(df)`` takes a long frame (``unique_id``, ``ds``, ``y`` plus covariates) and returns the
model; ``predict(h, X_df=None, quantiles=None)`` returns ``unique_id, ds, <alias>`` and one
``<alias>-q-<level>`` column per quantile. ``__init__`` only stores hyperparameters; learned
state ends in ``_``.

Capability flags tell an orchestrator (:class:`trendcast.engine.runner.Runner`) how it may
split a catalogue across partitions (:attr:`Forecaster.strategy`):

- ``per_series = True``: each series' forecast depends on that series only, so fitting
  partition by partition gives exactly the forecasts of one fit on the whole catalogue;
- ``transferable = True``: the model learns across series, is fitted once, and a fitted
  model forecasts any series with :meth:`Forecaster.for_series` (global models);
- neither: the model must see every series in one task (``whole``).

``supports_negative = False`` marks models whose loss or transform cannot take negative
sales (returns): the runner fits them on a copy clipped at zero and says so.

Saved versions (:mod:`trendcast.models.persistence`): ``freeze()`` keeps what a fitted model
needs to forecast later and drops its training frames; ``forward(df)`` applies that state to
newer history without re-estimating anything (global models recompute their lags,
statistical models run their filter with the fitted parameters, pretrained models read the
new context); ``merge(others)`` joins per-series states fitted partition by partition.
Models with nothing worth keeping (``refit_on_forward = True``: window averages, naive,
Croston) are simply fitted again on the new history, which costs what a forecast costs.
``forward_history()`` is how many of the latest periods ``forward`` reads (None: all).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Self

import pandas as pd

from trendcast.errors import ModelError, NotFittedError

Strategy = Literal["per_series", "global", "whole"]


class Forecaster(ABC):
    """Base class of trendcast models."""

    family: ClassVar[str] = "baseline"
    supports_exog: ClassVar[bool] = False
    supports_quantiles: ClassVar[bool] = False
    per_series: ClassVar[bool] = False
    transferable: ClassVar[bool] = False
    supports_negative: ClassVar[bool] = True
    refit_on_forward: ClassVar[bool] = False  # no learned state worth keeping: forward refits

    def __init__(self, *, alias: str | None = None, **params: Any) -> None:
        self._alias = alias
        self.params = params

    @property
    def alias(self) -> str:
        """Column name of the point forecast."""
        return self._alias or type(self).__name__

    @abstractmethod
    def fit(self, df: pd.DataFrame) -> Self:
        """Learn from a long frame of history."""

    @abstractmethod
    def predict(
        self,
        h: int,
        *,
        X_df: pd.DataFrame | None = None,
        quantiles: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Forecast ``h`` steps past the end of each series."""

    @property
    def strategy(self) -> Strategy:
        """How an orchestrator may split this model across partitions (module docstring)."""
        if self.per_series:
            return "per_series"
        return "global" if self.transferable else "whole"

    def for_series(self, df: pd.DataFrame) -> Self:
        """A copy of this fitted model that forecasts the series of ``df`` (transferable
        models only)."""
        raise ModelError(f"{self.alias} cannot forecast series it was not fitted on; fit it on them")

    def freeze(self) -> Self:
        """Keep only what :meth:`forward` needs (drop training frames); before saving."""
        return self

    def forward(self, df: pd.DataFrame) -> Self:
        """A copy of this fitted model that forecasts from the newer history ``df`` without
        re-estimating its parameters (module docstring)."""
        self._check_fitted()
        if self.refit_on_forward:
            return self.clone().fit(df)
        if self.transferable:
            return self.for_series(df)
        raise ModelError(f"{self.alias} cannot forecast from a saved state; train a new version")

    def forward_history(self) -> int | None:
        """How many of the latest periods of history :meth:`forward` reads (None: all of
        them). A forecast from a saved version prepares only the longest span its models
        need, so a daily update does not rebuild years of covariates."""
        return None

    def merge(self, others: Sequence[Self]) -> Self:
        """One fitted model holding this model's state and that of ``others``, fitted on
        other series (per-series models trained partition by partition)."""
        if not others or self.refit_on_forward:
            return self
        raise ModelError(f"{self.alias} fitted on several partitions cannot be merged")

    def clone(self, *, n_jobs: int | None = None) -> Self:
        """An unfitted copy with the same hyperparameters (``n_jobs`` changed when given and
        the model takes it)."""
        new = copy.copy(self)
        new.__dict__ = {k: v for k, v in self.__dict__.items() if not k.endswith("_")}
        new.params = copy.deepcopy(self.params)
        if n_jobs is not None and "n_jobs" in new.params:
            new.params["n_jobs"] = n_jobs
        return new

    def _check_fitted(self) -> None:
        if not getattr(self, "is_fitted_", False):
            raise NotFittedError(f"{self.alias} is not fitted; call fit(df) before predict(h)")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def check_horizon(h: int) -> int:
    """A positive whole number of steps."""
    if not isinstance(h, int) or isinstance(h, bool) or h <= 0:
        raise ModelError(f"horizon must be a whole number of steps >= 1, got {h!r}")
    return h


def check_quantiles(quantiles: Sequence[float] | None) -> list[float]:
    """Sorted unique quantile levels strictly between 0 and 1."""
    if not quantiles:
        return []
    out = sorted({float(q) for q in quantiles})
    bad = [q for q in out if not 0.0 < q < 1.0]
    if bad:
        raise ModelError(f"quantiles must lie strictly between 0 and 1, got {bad}")
    return out


def quantiles_to_levels(quantiles: Sequence[float]) -> list[int | float]:
    """Central prediction-interval levels (in %) whose bounds are the given quantiles."""
    levels = {round(abs(1 - 2 * q) * 100, 6) for q in quantiles if abs(q - 0.5) > 1e-9}
    return sorted(int(lv) if float(lv).is_integer() else lv for lv in levels)


def interval_column(name: str, q: float) -> str:
    """The Nixtla column holding quantile ``q`` of model ``name``: the point column for the
    median, ``<name>-lo-<level>`` below it and ``<name>-hi-<level>`` above."""
    if abs(q - 0.5) < 1e-9:
        return name
    level = round(abs(1 - 2 * q) * 100, 6)
    text = int(level) if float(level).is_integer() else level
    return f"{name}-{'lo' if q < 0.5 else 'hi'}-{text}"
