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


# `--model recommended`: the catalogue-wide choice by validation among these (ensemble.Recommended).
# Combinations first: ties (within Recommended's tolerance) go to the earlier member.
# The *Drivers variants also learn from the workspace's external series (macro indicators, oil
# price...); they are compared only when there are some, and placed after the same ensemble
# without them, so drivers are kept only when validation finds them better beyond the tolerance.
RECOMMENDED_MEMBERS = ("MedianEnsemble(SeasonalNaive,LightGBM,LightGBMDirect)",
                       "MedianEnsemble(LightGBM,LightGBMDirect)",
                       "MedianEnsemble(SeasonalNaive,LightGBMDrivers,LightGBMDirectDrivers)",
                       "MedianEnsemble(LightGBMDrivers,LightGBMDirectDrivers)",
                       "AutoETS", "SeasonalWindowAverage", "SeasonalNaive", "LinearTrend")


def parse_spec(name: str) -> tuple[str, list[str] | None]:
    """``"MedianEnsemble(LightGBM,LightGBMDirect)"`` -> ``("MedianEnsemble", ["LightGBM",
    "LightGBMDirect"])``; a plain name -> ``(name, None)``."""
    text = name.strip()
    if "(" not in text:
        return text, None
    if not text.endswith(")"):
        raise ModelError(f"model {name!r}: expected NAME(MEMBER,MEMBER,...)")
    base, inner = text[:-1].split("(", 1)
    members = [m.strip() for m in inner.split(",") if m.strip()]
    if not members:
        raise ModelError(f"model {name!r} names no members")
    return base.strip(), members


def model_class(name: str) -> type[Forecaster]:
    """The class of a registered model name or spec (case-insensitive)."""
    base, _ = parse_spec(name)
    if base.lower() in ("auto", "recommended"):
        base = "AutoSelect" if base.lower() == "auto" else "Recommended"
    cls = {k.lower(): v for k, v in MODELS.items()}.get(base.lower())
    if cls is None:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}, auto, "
                         "recommended, or an ensemble spec like MedianEnsemble(LightGBM,AutoETS)")
    return cls


def make_model(name: str, **params: Any) -> Forecaster:
    """Build a registered model by name (case-insensitive) or spec
    (``MedianEnsemble(LightGBM,LightGBMDirect)``: an ensemble of those members, whose
    forecast column is named by the spec)."""
    base, members = parse_spec(name)
    if base.lower() == "auto" and members is None:
        members = [m for m in AUTO_MEMBERS if m in MODELS]
    if base.lower() == "recommended" and members is None:
        members = list(RECOMMENDED_MEMBERS)
    cls = model_class(name)
    if members is not None:
        if "(" in name and "alias" not in params:  # a spec names its own column
            params = {**params, "alias": f"{base}({','.join(members)})"}
        params = {**params, "members": params.pop("members", members)}
    return cls(**params)
