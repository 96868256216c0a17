"""Execution engines for forecasts and backtests: ``local`` (this process, all cores) or
``ray`` (Ray tasks on a cluster, or on a local Ray). Ray is imported only by the Ray engine."""

from __future__ import annotations

from trendcast.engine.base import ENGINES, Engine, PartitionProgress, resolve_jobs
from trendcast.errors import TrendcastError

__all__ = ["ENGINES", "Engine", "PartitionProgress", "make_engine", "resolve_jobs"]


def make_engine(name: str | None = None, *, ray_address: str | None = None, n_jobs: int = -1,
                max_retries: int = 2) -> Engine:
    """The engine called ``name`` (``local`` when None): ``local`` runs on this machine's
    cores; for ``ray``, ``ray_address`` joins an existing cluster and without one a local
    Ray is started with ``n_jobs`` CPUs (all cores when < 1). Entry points pass the values
    of their ``Settings`` (``TRENDCAST_ENGINE``, ``TRENDCAST_RAY_ADDRESS``)."""
    name = (name or "local").lower()
    if name == "local":
        from trendcast.engine.local import LocalEngine

        return LocalEngine(n_jobs)
    if name == "ray":
        try:
            from trendcast.engine.ray_engine import RayEngine
        except ModuleNotFoundError as exc:
            raise TrendcastError(
                "the ray engine needs the `ray` package: pip install 'trendcast[ray]'") from exc
        return RayEngine(ray_address or None, num_cpus=resolve_jobs(n_jobs),
                         max_retries=max_retries)
    raise TrendcastError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
