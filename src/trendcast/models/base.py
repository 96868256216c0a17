"""The model interface every forecaster implements.

``fit(df)`` takes a long frame (``unique_id``, ``ds``, ``y`` plus covariates) and returns the
model; ``predict(h, X_df=None, quantiles=None)`` returns ``unique_id, ds, <alias>`` and one
``<alias>-q-<level>`` column per quantile. ``__init__`` only stores hyperparameters; learned
state ends in ``_``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import pandas as pd

from trendcast.errors import ModelError, NotFittedError


class Forecaster(ABC):
    """Base class of trendcast models."""

    family: ClassVar[str] = "baseline"
    supports_exog: ClassVar[bool] = False
    supports_quantiles: ClassVar[bool] = False

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
