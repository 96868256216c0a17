"""Parse uploaded files in a worker process, not in the server's request threads.

Reading and validating a file is CPU-bound Python and pandas work that holds the GIL: done
in a request thread it stalls every other request (``/api/health`` included). One worker
process (spawned, so it shares no locks with the server's threads) parses uploads one at a
time and sends back the validated frame; the server only writes it. The worker's address
space is capped (``MEMORY_BYTES``): a file that needs more is answered 413; a worker that dies
(killed) is replaced, and that upload is answered 413 too.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pandas as pd

from trendcast.errors import LimitError

_LOCK = threading.Lock()
_POOL: ProcessPoolExecutor | None = None
# Address space of the worker: a file that needs more fails with MemoryError (answered 413)
# instead of pushing the machine into swap. TRENDCAST_PARSE_MEMORY_MB overrides it.
MEMORY_BYTES = int(os.environ.get("TRENDCAST_PARSE_MEMORY_MB", "3072")) * 1024 * 1024


def _limit_memory(limit: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: limits by size still hold
        pass


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_limit_memory, initargs=(MEMORY_BYTES,))
        return _POOL


def _reset(broken: ProcessPoolExecutor) -> None:
    global _POOL
    with _LOCK:
        if _POOL is broken:
            _POOL = None
    broken.shutdown(wait=False, cancel_futures=True)


def parse_in_worker(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """``data.ingest.load_file(*args, **kwargs)`` in the worker process (blocks the calling
    thread, not the event loop: call it from a thread)."""
    from trendcast.data.ingest import load_file

    pool = _pool()
    try:
        return pool.submit(load_file, *args, **kwargs).result()
    except MemoryError:
        raise LimitError("the file needs more memory than the server allows for reading one file "
                         f"({MEMORY_BYTES // 2**20:,} MB); split it into smaller files") from None
    except BrokenProcessPool:
        _reset(pool)
        raise LimitError("the file took more memory or time than the server allows while it was "
                         "read; split it into smaller files") from None


@atexit.register
def shutdown() -> None:
    """Stop the worker (at exit, or from a test)."""
    global _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
