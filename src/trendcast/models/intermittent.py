"""Intermittent-demand models from statsforecast: Croston, TSB, ADIDA, IMAPA.

All give a flat forecast of the expected demand per period. None has native intervals, so
quantiles are conformal (``ConformalIntervals``, ``conformal_distribution``) from up to
five rolling refits at the end of each series; see
:func:`trendcast.models.statistical.conformal_windows`. Series shorter than one season
plus three points (10 days for daily data) fall back to seasonal naive.
"""

from __future__ import annotations

from typing import Any, ClassVar

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.statistical import StatsForecastModel


class IntermittentModel(StatsForecastModel):
    """A statsforecast intermittent-demand model with conformal quantiles."""

    family: ClassVar[str] = "intermittent"
    min_seasons: ClassVar[int] = 1
    native_intervals: ClassVar[bool] = False
    nonseasonal_fallback: ClassVar[bool] = False  # no season to drop: short series -> window average
    supports_negative: ClassVar[bool] = False  # demand sizes and intervals between sales
    sf_name: ClassVar[str] = ""

    def __init__(self, *, alias: str | None = None, n_jobs: int = 1, **params: Any) -> None:
        super().__init__(alias=alias, n_jobs=n_jobs, **params)

    def _make(self, season_length: int, **kwargs: Any) -> Any:
        import statsforecast.models as sfm

        extra = {k: v for k, v in self.params.items() if k not in ("season_length", "n_jobs")}
        return getattr(sfm, self.sf_name)(**extra, **kwargs)


class CrostonOptimized(IntermittentModel):
    """Croston's method: SES of demand sizes over SES of intervals, alphas optimised in [0.1, 0.3]."""

    sf_name = "CrostonOptimized"


class TSB(IntermittentModel):
    """Teunter-Syntetos-Babai: SES of demand probability times SES of demand size.

    Unlike Croston, the probability decays through runs of zeros, so obsolete items fade.
    """

    sf_name = "TSB"

    def __init__(self, *, alpha_d: float = 0.1, alpha_p: float = 0.1, alias: str | None = None,
                 n_jobs: int = 1) -> None:
        for name, value in (("alpha_d", alpha_d), ("alpha_p", alpha_p)):
            if not 0.0 < value <= 1.0:
                raise ModelError(f"TSB {name} must lie in (0, 1], got {value!r}")
        super().__init__(alias=alias, n_jobs=n_jobs, alpha_d=float(alpha_d), alpha_p=float(alpha_p))


class ADIDA(IntermittentModel):
    """Aggregate-disaggregate: SES on sums over the mean inter-demand interval, spread evenly."""

    sf_name = "ADIDA"


class IMAPA(IntermittentModel):
    """ADIDA averaged over every aggregation level from 1 to the mean inter-demand interval."""

    sf_name = "IMAPA"


MODELS: dict[str, type[Forecaster]] = {
    "CrostonOptimized": CrostonOptimized,
    "TSB": TSB,
    "ADIDA": ADIDA,
    "IMAPA": IMAPA,
}
