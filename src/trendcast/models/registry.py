"""Model names -> classes, so CLI, API and benchmarks can build models from text.

Each family module (baseline, statistical, intermittent, boosting, ensemble, ...) exposes a
``MODELS`` dict; the registry merges them. Importing a family imports only light modules;
heavy libraries load inside ``fit``.
"""

from __future__ import annotations

import importlib
from typing import Any

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster

FAMILY_MODULES = (
    "trendcast.models.baseline",
    "trendcast.models.statistical",
    "trendcast.models.intermittent",
    "trendcast.models.boosting",
    "trendcast.models.ensemble",
    "trendcast.models.foundation",
    "trendcast.models.timesfm_model",
    "trendcast.models.deep",
)


def _collect() -> dict[str, type[Forecaster]]:
    models: dict[str, type[Forecaster]] = {}
    for name in FAMILY_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # family not written yet
                continue
            raise
        models.update(getattr(module, "MODELS", {}))
    return models


MODELS: dict[str, type[Forecaster]] = _collect()

# `--model auto`: per-series choice by backtest among these (see ensemble.AutoSelect).
AUTO_MEMBERS = ("SeasonalNaive", "SeasonalWindowAverage", "AutoETS", "CrostonOptimized",
                "LightGBM")


def make_model(name: str, **params: Any) -> Forecaster:
    """Build a registered model by name (case-insensitive)."""
    if name.lower() == "auto":
        members = [m for m in AUTO_MEMBERS if m in MODELS]
        return MODELS["AutoSelect"](members=params.pop("members", members), **params)
    lookup = {k.lower(): v for k, v in MODELS.items()}
    cls = lookup.get(name.lower())
    if cls is None:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    return cls(**params)
