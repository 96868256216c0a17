"""Column and table names shared by every layer.

Frames are long: one row per series and time stamp (`unique_id`, `ds`, `y`), covariates as
extra columns, backtests add `cutoff`. Forecast columns are named `<alias>` for the point
forecast and `<alias>-q-<level>` for quantiles (for example `AutoETS-q-0.9`).
"""

from __future__ import annotations

from typing import Final

ID: Final = "unique_id"
DS: Final = "ds"
Y: Final = "y"
CUTOFF: Final = "cutoff"
PRICE: Final = "price"
PROMO: Final = "promo"

# Product catalogue columns (hierarchy lives here, not in every sales frame).
PRODUCT_COLUMNS: Final = (
    "unique_id",
    "title",
    "category",
    "department",
    "brand",
    "store",
    "launch_date",
    "list_price",
    "unit_cost",
)

EVENT_TYPES: Final = ("view", "cart", "fav", "buy")


def quantile_column(alias: str, q: float) -> str:
    """Name of the column holding quantile ``q`` of model ``alias``."""
    return f"{alias}-q-{format_quantile(q)}"


def format_quantile(q: float) -> str:
    """Format a quantile level without float noise: 0.1 -> '0.1', 0.025 -> '0.025'."""
    text = f"{q:.6f}".rstrip("0").rstrip(".")
    return text if text else "0"
