"""What the workspace holds: rows, series and date ranges per table."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from trendcast.data.store import Store
from trendcast.features.frequency import period_name


def _iso(value: Any) -> str | None:
    """A time stamp (or its text) as ``YYYY-MM-DD HH:MM:SS``; None when missing (None, NaN,
    NaT or pd.NA, whose truth value is an error)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return str(value)[:19]


def _int(value: Any) -> int | None:
    return None if value is None or bool(pd.isna(value)) else int(value)


def workspace_info(store: Store) -> dict[str, Any]:
    """A JSON-ready summary of every table, plus series statistics for sales."""
    tables: dict[str, Any] = {}
    for name, entry in store.table_summary().items():
        if "start" in entry:
            entry["start"], entry["end"] = _iso(entry["start"]), _iso(entry["end"])
        tables[name] = entry
    sales = store.sales_summary()
    freq = store.meta("freq")
    lengths = {"min": _int(sales["min_days"]), "max": _int(sales["max_days"])}
    tables["sales"].update(
        series=_int(sales["series"]) or 0,
        period=period_name(freq) if freq else "day",  # what a series' length counts
        periods_per_series=lengths,
        days_per_series=lengths,  # the same counts under the first name (periods, not days)
        rows_with_price=_int(sales["priced_rows"]),
    )
    tables["products"]["categories"] = store.distinct_count("products", "category")
    tables["events"]["users"] = store.distinct_count("events", "user_id")
    _, runs = store.run_rows(newest_first=False)
    return {
        "location": store.location,
        "schema_version": store.schema_version,
        "freq": freq,
        "week_label": store.meta("week_label"),  # how weekly dates are read: start or end
        "tables": tables,
        "runs": [
            {"run_id": r["run_id"], "kind": r["kind"], "created_at": _iso(r["created_at"]),
             "models": json.dumps(r["models"])}
            for r in runs
        ],
    }
