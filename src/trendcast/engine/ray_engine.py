"""The Ray engine: partitions as Ray tasks on a cluster (or a local Ray started here).

Tasks are submitted lazily, at most ``max_in_flight`` at a time, and collected with
``ray.wait`` as they finish, so the driver holds only the partitions in flight and writes each
result before more are loaded. A task that fails for a reason other than bad input (a worker
killed, a node lost, an exception that is not a ``TrendcastError``) is retried up to
``max_retries`` times; ``TrendcastError`` (bad data, a misconfigured model) is returned to the
driver and raised at once, because running the same input again cannot help.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from trendcast.engine.base import P, PartitionProgress, R
from trendcast.errors import TrendcastError

CONNECT_TIMEOUT_S = 5.0


def _call(fn: Callable[[Any, Any], Any], part: Any, shared: Any) -> tuple[str, Any]:
    """Run one partition inside a Ray worker; input errors come back as values (not retried)."""
    try:
        return "ok", fn(part, shared)
    except TrendcastError as exc:
        return "error", exc


class RayEngine:
    """Ray tasks; joins the cluster at ``address`` or starts a local Ray without one."""

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 max_retries: int = 2, max_in_flight: int | None = None) -> None:
        import ray

        self.address = address
        self.max_retries = max_retries
        self._started = False
        if address and address != "auto":
            check_reachable(address)
        if not ray.is_initialized():  # a Ray this process already joined is used as it is
            try:
                # "local" starts a new Ray here even when RAY_ADDRESS is set in the environment
                ray.init(address=address or "local", num_cpus=None if address else num_cpus,
                         include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise TrendcastError(_unreachable(address or "local", exc)) from exc
            self._started = True
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self.node_cpus = max((int(n["Resources"].get("CPU", 0)) for n in nodes), default=1) or 1
        self.cluster_cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        self.max_in_flight = max_in_flight or 2 * self.cluster_cpus
        self._remote = ray.remote(max_retries=max_retries, retry_exceptions=True)(_call)

    def task_jobs(self, cpus: int = 1, partitions: int | None = None) -> int:
        return max(1, min(cpus, self.node_cpus))

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
        import ray

        remote = self._remote.options(num_cpus=self.task_jobs(cpus))
        shared_ref = ray.put(shared)  # sent once; each task reads it from the object store
        source = enumerate(partitions)
        pending: dict[Any, int] = {}
        exhausted = False
        done = 0

        def submit() -> None:
            nonlocal exhausted
            while not exhausted and len(pending) < self.max_in_flight:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    return
                index, part = item
                pending[remote.remote(fn, part, shared_ref)] = index
                del part

        try:
            submit()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready[0])
                status, value = self._get(ready[0], index)
                if status == "error":
                    raise value
                done += 1
                submit()  # keep the cluster busy while the caller stores this result
                if progress:
                    progress(done, total)
                yield index, value
                del value
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def _get(self, ref: Any, index: int) -> tuple[str, Any]:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            raise TrendcastError(
                f"partition {index} failed after {self.max_retries} retries: "
                f"{type(cause).__name__}: {cause}"
            ) from exc
        except ray.exceptions.RayError as exc:  # worker or node lost, out of memory, ...
            raise TrendcastError(
                f"partition {index} failed after {self.max_retries} retries: {exc}. If workers "
                "ran out of memory, use a smaller TRENDCAST_PARTITION_SIZE or larger workers"
            ) from exc

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def __repr__(self) -> str:
        return f"RayEngine(address={self.address!r}, cpus={self.cluster_cpus})"


def check_reachable(address: str) -> None:
    """Fail fast with a clear message when nothing listens at a Ray address (``ray.init``
    itself retries for minutes). Accepts ``host:port`` and ``ray://host:port``."""
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise TrendcastError(f"Ray address {address!r} is not host:port ({exc})") from exc
    if not host or not port:
        raise TrendcastError(
            f"Ray address {address!r} is not host:port; give the head node's address, e.g. "
            "10.0.0.5:6379 or ray://10.0.0.5:10001"
        )
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise TrendcastError(_unreachable(address, exc)) from exc


def _unreachable(address: str, exc: BaseException) -> str:
    return (
        f"cannot reach a Ray cluster at {address!r} ({type(exc).__name__}: {exc}). Start one "
        "with `ray start --head`, check the head node's address (GCS port, default 6379, or "
        "ray://HOST:10001 for Ray Client), or leave --ray-address / TRENDCAST_RAY_ADDRESS unset "
        "to start a local Ray"
    )
