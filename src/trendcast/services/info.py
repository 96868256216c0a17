"""What the workspace holds: rows, series and date ranges per table."""

from __future__ import annotations

from typing import Any

from trendcast.data.store import Store
from trendcast.data.tables import TABLES

_TIME_COLUMN = {
    "sales": "ds", "orders": "ts", "events": "ts", "reviews": "ts", "calendar_events": "ds",
    "macro": "ds", "runs": "created_at", "forecasts": "ds",
}


def _iso(value: Any) -> str | None:
    return None if value is None or value != value else str(value)[:19]


def workspace_info(store: Store) -> dict[str, Any]:
    """A JSON-ready summary of every table, plus series statistics for sales."""
    tables: dict[str, Any] = {}
    for name in TABLES:
        entry: dict[str, Any] = {"rows": store.count(name)}
        col = _TIME_COLUMN.get(name)
        if col and entry["rows"]:
            row = store.sql(f"SELECT min({col}) AS lo, max({col}) AS hi FROM {name}").iloc[0]
            entry["start"], entry["end"] = _iso(row["lo"]), _iso(row["hi"])
        tables[name] = entry
    sales = store.sql(
        """
        SELECT count(*) AS series, min(n) AS min_days, max(n) AS max_days,
               sum(n_price) AS priced_rows, sum(n) AS rows
        FROM (SELECT unique_id, count(*) AS n, count(price) AS n_price FROM sales GROUP BY 1)
        """
    ).iloc[0]
    tables["sales"].update(
        series=int(sales["series"]),
        days_per_series={"min": _int(sales["min_days"]), "max": _int(sales["max_days"])},
        rows_with_price=_int(sales["priced_rows"]),
    )
    tables["products"]["categories"] = int(
        store.sql("SELECT count(DISTINCT category) AS n FROM products")["n"].iloc[0]
    )
    tables["events"]["users"] = int(
        store.sql("SELECT count(DISTINCT user_id) AS n FROM events")["n"].iloc[0]
    )
    runs = store.sql("SELECT run_id, kind, created_at, models FROM runs ORDER BY created_at")
    return {
        "location": store.location,
        "schema_version": store.schema_version,
        "tables": tables,
        "runs": [
            {"run_id": r.run_id, "kind": r.kind, "created_at": _iso(r.created_at),
             "models": r.models}
            for r in runs.itertuples()
        ],
    }


def _int(value: Any) -> int | None:
    return None if value is None or value != value else int(value)
