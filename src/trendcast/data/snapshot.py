"""A run's input, frozen: Parquet copies of the sales, catalogue and calendar it reads.

:meth:`trendcast.data.store.Store.snapshot` writes them from one consistent read; a run
then computes from the files without holding the workspace, and reads its series block by
block (sorted by id, so a block's rows sit in a few row groups). The frequency and date
span are computed from the files, in DuckDB over Parquet, without loading them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import pandas as pd

from trendcast.data.store import normalise_datetimes

BLOCK_TABLES = ("sales", "products", "stock_history")


def _read(path: Path, ids: Sequence[str] | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    filters = None
    if ids is not None:
        wanted = sorted(ids)
        if not wanted:
            wanted = [""]
        # the id range first: row groups outside it are skipped by their statistics (the
        # files are sorted by id), then the exact ids
        filters = [("unique_id", ">=", wanted[0]), ("unique_id", "<=", wanted[-1]),
                   ("unique_id", "in", wanted)]
    table = pq.read_table(path, filters=filters)
    return normalise_datetimes(table.to_pandas(date_as_object=False))


class Snapshot:
    """The Parquet files in ``folder`` (``sales``, ``products``, ``calendar_events``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, table: str) -> Path:
        return self.folder / f"{table}.parquet"

    def _query(self, sql: str) -> pd.DataFrame:
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            frame = con.execute(sql.replace("SALES", f"read_parquet('{self._path('sales')}')")).df()
            return normalise_datetimes(frame)
        finally:
            con.close()

    @cached_property
    def ids(self) -> list[str]:
        """Sorted ids of the series."""
        found = self._query("SELECT DISTINCT unique_id FROM SALES ORDER BY unique_id")
        return found["unique_id"].astype(str).tolist()

    @cached_property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last sales date."""
        row = self._query("SELECT min(ds) AS lo, max(ds) AS hi FROM SALES").iloc[0]
        return pd.Timestamp(row["lo"]).as_unit("ns"), pd.Timestamp(row["hi"]).as_unit("ns")

    @cached_property
    def freq(self) -> str:
        """The catalogue's frequency (:func:`trendcast.data.dates.freq_from_stats`),
        from statistics computed in DuckDB over the file."""
        from math import gcd

        from trendcast.data.dates import DateStats, freq_from_stats

        row = self._query(
            "SELECT count(*) AS n, bool_and(day(ds) = 1) AS all_first, "
            "bool_and(ds = last_day(ds)) AS all_end, min(month(ds)) AS first_month, "
            "count(DISTINCT month(ds)) AS months, count(DISTINCT (month(ds) - 1) % 3) AS mod3, "
            "count(DISTINCT dayofweek(ds)) AS weekdays, min(isodow(ds)) - 1 AS weekday, "
            "count(DISTINCT day(ds)) AS month_days FROM SALES").iloc[0]
        steps = self._query(
            "SELECT kind, step, count(*) AS n FROM (SELECT 'day' AS kind, ds - lag(ds) OVER w AS step "
            "FROM SALES WINDOW w AS (PARTITION BY unique_id ORDER BY ds) UNION ALL SELECT 'month', "
            "(year(ds) * 12 + month(ds)) - lag(year(ds) * 12 + month(ds)) OVER w FROM SALES "
            "WINDOW w AS (PARTITION BY unique_id ORDER BY ds)) AS s WHERE step > 0 "
            "GROUP BY kind, step ORDER BY kind, n DESC, step")
        day = steps[steps["kind"] == "day"]["step"].astype(int).tolist()
        month = steps[steps["kind"] == "month"]["step"].astype(int).tolist()
        n = int(row["n"])
        stats = DateStats(
            n=n, has_time=False, all_first=bool(row["all_first"]) if n else False,
            all_month_end=bool(row["all_end"]) if n else False,
            first_month=int(row["first_month"]) if n else 1, months=int(row["months"]),
            month_mod3=int(row["mod3"]), weekdays=int(row["weekdays"]),
            weekday=int(row["weekday"]) if n else 0,
            modal_month_step=month[0] if month else None,
            day_step_gcd=gcd(*day) if day else None, min_day_step=min(day) if day else None,
            month_days=int(row["month_days"]) if n else 31)
        return freq_from_stats(stats)

    def rows_per_period(self) -> pd.Series:
        """The number of sales rows on each date (read once)."""
        return self._rows_per_period

    @cached_property
    def _rows_per_period(self) -> pd.Series:
        found = self._query("SELECT ds, count(*) AS n FROM SALES GROUP BY ds ORDER BY ds")
        return pd.Series(found["n"].to_numpy(), index=pd.DatetimeIndex(found["ds"]), name="n")

    def block(self, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
        """The rows of ``ids`` in the per-series tables (sales by id and date; products; stock
        history, when the snapshot has one)."""
        return {t: _read(self._path(t), ids) for t in BLOCK_TABLES if self._path(t).exists()}

    def calendar(self) -> pd.DataFrame:
        """The calendar events that apply to every product (as :meth:`Store.calendar`)."""
        from trendcast.data.calendar import shop_wide

        return shop_wide(_read(self._path("calendar_events")))

    def macro(self) -> pd.DataFrame | None:
        """The external series (``name, ds, value``), or None in a snapshot without them."""
        path = self._path("macro")
        return _read(path) if path.exists() else None
