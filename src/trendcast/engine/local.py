"""The local engine: partitions on this machine's cores.

A task that needs several CPUs (a global model's fit, a model that must see every series)
runs in this process with all of them. Partitions of one CPU each run in a pool of worker
processes, one per core, so per-series models and the application of a fitted global model
keep every core busy (mlforecast's recursive prediction and the statsforecast loop are
single-threaded Python). Workers are forked from a clean ``forkserver`` process that has
imported the task code once (never from this process, which may hold OpenMP or Torch
threads), and the pool is shared by every local engine of the process and kept until it
exits, so a run does not pay the workers' start-up again.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.util
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from trendcast.engine.base import P, PartitionProgress, R, resolve_jobs
from trendcast.errors import TrendcastError

_POOLS: dict[int, ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pause() -> None:
    """A first task per worker: while it runs the pool starts another worker."""
    import time

    time.sleep(0.2)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Start workers without making them re-run the caller's script: multiprocessing imports
    the parent's ``__main__`` file in every new process, so a script without an
    ``if __name__ == "__main__":`` guard would run again in each worker. The tasks live in
    trendcast modules, so workers never need ``__main__``."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    if "__file__" in saved:
        delattr(main, "__file__")
    main.__spec__ = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    """The process's pool of ``workers`` worker processes, started on first use."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["trendcast.engine.tasks"])
            pool = _POOLS[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            with _main_hidden():  # every worker (and the fork server) starts here
                for future in [pool.submit(_pause) for _ in range(workers)]:
                    future.result()
        return pool


def _forget(pool: ProcessPoolExecutor) -> None:
    """Drop a broken pool so the next map starts a new one."""
    with _POOLS_LOCK:
        for key, known in list(_POOLS.items()):
            if known is pool:
                del _POOLS[key]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop every worker process (at exit, or to release their memory)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


# Before multiprocessing joins this process's children at exit (also in a process that is
# itself a multiprocessing child, where atexit handlers never run): idle workers would wait
# for work forever and the join with them.
multiprocessing.util.Finalize(None, shutdown_pools, exitpriority=100)


class LocalEngine:
    """This machine; ``n_jobs`` < 1 means every core."""

    name = "local"

    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = resolve_jobs(n_jobs)

    def _parallel(self, cpus: int, partitions: int | None) -> bool:
        return self.n_jobs > 1 and cpus == 1 and (partitions or 0) > 1

    def task_jobs(self, cpus: int = 1, partitions: int | None = None) -> int:
        # a partition of a parallel map gets one core; a task alone gets them all
        return 1 if self._parallel(cpus, partitions) else self.n_jobs

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
        if not self._parallel(cpus, total):
            yield from self._inline(fn, partitions, shared, total, progress)
            return
        yield from self._pooled(fn, partitions, shared, total, progress)

    @staticmethod
    def _inline(fn: Callable[[P, Any], R], partitions: Iterable[P], shared: Any,
                total: int | None, progress: PartitionProgress | None) -> Iterator[tuple[int, R]]:
        for index, part in enumerate(partitions):
            result = fn(part, shared)
            del part  # the caller's generator holds no reference either: one partition in memory
            if progress:
                progress(index + 1, total)
            yield index, result

    def _pooled(self, fn: Callable[[P, Any], R], partitions: Iterable[P], shared: Any,
                total: int | None, progress: PartitionProgress | None) -> Iterator[tuple[int, R]]:
        workers = min(self.n_jobs, total or self.n_jobs)
        pool = _shared_pool(self.n_jobs)
        source = enumerate(partitions)
        pending: dict[Future[R], int] = {}
        done = 0
        exhausted = False
        try:
            while True:
                # at most two partitions per worker in flight: memory stays bounded
                while not exhausted and len(pending) < 2 * workers:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    index, part = item
                    pending[pool.submit(fn, part, shared)] = index
                    del part
                if not pending:
                    return
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        _forget(pool)
                        raise TrendcastError(
                            f"a worker process died while running partition {index} (out of "
                            "memory?); use a smaller TRENDCAST_PARTITION_SIZE or fewer --jobs") from exc
                    done += 1
                    if progress:
                        progress(done, total)
                    yield index, result
                    del result
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Nothing to release: the worker pool is shared by the process (``shutdown_pools``)."""

    def __repr__(self) -> str:
        return f"LocalEngine(n_jobs={self.n_jobs})"
