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

BLOCK_TABLES = ("sales", "products")


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
        """The catalogue's frequency: the modal step between consecutive dates of a series."""
        modal = self._query(
            "SELECT step, count(*) AS n FROM (SELECT ds - lag(ds) OVER (PARTITION BY unique_id "
            "ORDER BY ds) AS step FROM SALES) AS d WHERE step IS NOT NULL GROUP BY step "
            "ORDER BY n DESC, step LIMIT 1")
        if modal.empty:
            return "D"
        step = int(modal["step"].iloc[0])
        if step == 1:
            return "D"
        if step == 7:
            first = self._query("SELECT ds FROM SALES ORDER BY unique_id, ds LIMIT 1")
            return "W-" + pd.Timestamp(first["ds"].iloc[0]).day_name()[:3].upper()
        return pd.tseries.frequencies.to_offset(pd.Timedelta(days=step)).freqstr

    def block(self, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
        """The rows of ``ids`` in the per-series tables (sales by id and date; products)."""
        return {t: _read(self._path(t), ids) for t in BLOCK_TABLES}

    def calendar(self) -> pd.DataFrame:
        """The calendar events."""
        return _read(self._path("calendar_events"))
