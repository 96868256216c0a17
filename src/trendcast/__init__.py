"""trendcast: forecast e-commerce market and product trends.

Heavy dependencies (statsforecast, plotly, torch) load only when a function needs them, so
``import trendcast`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from trendcast.data.simulate import ShopData, simulate_shop
    from trendcast.data.store import DuckDBStore, Store, open_store
    from trendcast.models.base import Forecaster
    from trendcast.services.forecast import read_run, run_backtest, run_forecast
    from trendcast.services.ingest import ingest_file, ingest_m5

_EXPORTS = {
    "open_store": "trendcast.data.store",
    "Store": "trendcast.data.store",
    "DuckDBStore": "trendcast.data.store",
    "simulate_shop": "trendcast.data.simulate",
    "ShopData": "trendcast.data.simulate",
    "Forecaster": "trendcast.models.base",
    "run_forecast": "trendcast.services.forecast",
    "run_backtest": "trendcast.services.forecast",
    "read_run": "trendcast.services.forecast",
    "ingest_file": "trendcast.services.ingest",
    "ingest_m5": "trendcast.services.ingest",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'trendcast' has no attribute {name!r}")
