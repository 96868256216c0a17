"""Model names -> classes, so CLI and API can build models from text."""

from __future__ import annotations

from typing import Any

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.statistical import AutoETS, SeasonalNaive

MODELS: dict[str, type[Forecaster]] = {
    "SeasonalNaive": SeasonalNaive,
    "AutoETS": AutoETS,
}


def make_model(name: str, **params: Any) -> Forecaster:
    """Build a registered model by name (case-insensitive)."""
    lookup = {k.lower(): v for k, v in MODELS.items()}
    cls = lookup.get(name.lower())
    if cls is None:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return cls(**params)
