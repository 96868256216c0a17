"""trendcast: forecast e-commerce market and product trends.

Heavy dependencies (statsforecast, plotly, torch) load only when a function needs them, so
``import trendcast`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trendcast.version import __version__

if TYPE_CHECKING:
    from trendcast.data.duckdb_store import DuckDBStore
    from trendcast.data.postgres_store import PostgresStore
    from trendcast.data.simulate import ShopData, simulate_shop
    from trendcast.data.store import Store, open_store
    from trendcast.engine.runner import FrameSource, Runner
    from trendcast.models.base import Forecaster
    from trendcast.services.forecast import read_run, run_backtest, run_forecast
    from trendcast.services.ingest import ingest_file, ingest_m5

_EXPORTS = {
    "open_store": "trendcast.data.store",
    "Store": "trendcast.data.store",
    "DuckDBStore": "trendcast.data.duckdb_store",
    "PostgresStore": "trendcast.data.postgres_store",
    "Runner": "trendcast.engine.runner",
    "FrameSource": "trendcast.engine.runner",
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
