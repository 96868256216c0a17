"""Cleaning use cases: preview what ``forecast --clean`` would change, or show what a run's
cleaning changed. The stored sales are never changed."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import pandas as pd

from trendcast.data.store import Store
from trendcast.engine.runner import plan_partitions
from trendcast.errors import NotFoundError
from trendcast.features.cleaning import CleaningOptions, clean_series
from trendcast.features.series import fill_series


def preview_cleaning(store: Store, ids: Sequence[str] | None = None, *,
                     options: CleaningOptions = CleaningOptions()) -> pd.DataFrame:  # noqa: B008
    """The changes cleaning would make to the stored sales (``unique_id, ds, before, after,
    reason``), over the whole history."""
    with tempfile.TemporaryDirectory(prefix="trendcast-clean-") as tmp:
        snap = store.snapshot(tmp, ids)
        calendar = snap.calendar()
        out = []
        for block in plan_partitions(snap.ids, 1000):
            frames = snap.block(block)
            series = fill_series(frames["sales"], snap.freq)
            _, changes = clean_series(series, calendar=calendar, stock=frames.get("stock_history"),
                                      drivers=frames["sales"], options=options)
            out.append(changes)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["unique_id", "ds", "before", "after", "reason"])


def run_cleaning(store: Store, run_id: str) -> pd.DataFrame:
    """What cleaning changed in a run's inputs; NotFoundError for an unknown run."""
    if store.run_row(run_id) is None:
        raise NotFoundError(f"no run {run_id!r}; `trendcast info` lists the stored runs")
    return store.run_cleaning(run_id)
