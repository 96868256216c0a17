"""The local engine: partitions one after another in this process, each model using all the
cores it is given (``n_jobs``: statsforecast worker processes, LightGBM threads)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from trendcast.engine.base import P, PartitionProgress, R, resolve_jobs


class LocalEngine:
    """In-process execution; ``n_jobs`` < 1 means every core."""

    name = "local"

    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = resolve_jobs(n_jobs)

    def task_jobs(self, cpus: int = 1) -> int:
        # one partition at a time, so every task may use all the cores
        return self.n_jobs

    def map_partitions(
        self,
        fn: Callable[[P, Any], R],
        partitions: Iterable[P],
        *,
        shared: Any = None,
        total: int | None = None,
        progress: PartitionProgress | None = None,
        cpus: int = 1,
    ) -> Iterator[tuple[int, R]]:
        for index, part in enumerate(partitions):
            result = fn(part, shared)
            del part  # the caller's generator holds no reference either: one partition in memory
            if progress:
                progress(index + 1, total)
            yield index, result

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"LocalEngine(n_jobs={self.n_jobs})"
