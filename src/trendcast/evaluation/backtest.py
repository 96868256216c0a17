"""Rolling-origin backtests for any Forecaster (written once in
:mod:`trendcast.models.validation`, where models that validate themselves use it too)."""

from __future__ import annotations

from trendcast.models.validation import backtest, cutoffs_between, cutoffs_for

__all__ = ["backtest", "cutoffs_between", "cutoffs_for"]
