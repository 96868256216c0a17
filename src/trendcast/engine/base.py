"""The execution engine interface: run one function over many partitions.

An engine takes a function ``fn(partition, shared)``, an iterable of partitions (loaded
lazily by the caller, so only those in flight are in memory) and one ``shared`` object sent
to every task once (a fitted global model, the run's settings). It yields
``(index, result)`` pairs as partitions finish, in completion order, so the caller can
write each result to the store and drop it: memory stays bounded by the partitions in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar, runtime_checkable

P = TypeVar("P")
R = TypeVar("R")

PartitionProgress = Callable[[int, int | None], None]
"""Called with (partitions done, partitions in total or None) after each partition."""

ENGINES = ("local", "ray")


@runtime_checkable
class Engine(Protocol):
    """Runs ``fn`` over partitions and yields results as they finish."""

    name: str

    def task_jobs(self, cpus: int = 1, partitions: int | None = None) -> int:
        """``n_jobs`` for the models inside one task that was given ``cpus`` CPUs, in a map
        over ``partitions`` partitions."""
        ...

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
        """``(index, fn(partition, shared))`` for each partition, in completion order.

        ``cpus`` is how many CPUs one task needs (a global model's fit uses several)."""
        ...

    def close(self) -> None:
        """Release what the engine started (a local Ray instance)."""
        ...


def resolve_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: -1 (or any value < 1) means every core of this machine."""
    return n_jobs if n_jobs >= 1 else max(1, os.cpu_count() or 1)
