"""Execution engines for forecasts and backtests: ``local`` (this process, all cores) or
``ray`` (Ray tasks on a cluster, or on a local Ray). Ray is imported only by the Ray engine."""

from __future__ import annotations

from trendcast.engine.base import ENGINES, Engine, PartitionProgress, resolve_jobs
from trendcast.errors import TrendcastError

__all__ = ["ENGINES", "Engine", "PartitionProgress", "make_engine", "resolve_jobs"]


def make_engine(name: str | None = None, *, ray_address: str | None = None, n_jobs: int = -1,
                max_retries: int = 2) -> Engine:
    """The engine called ``name`` (default: ``TRENDCAST_ENGINE``, else ``local``).

    For ``ray``, ``ray_address`` (default ``TRENDCAST_RAY_ADDRESS``) joins an existing cluster;
    without one a local Ray is started with ``n_jobs`` CPUs (all cores when < 1)."""
    from trendcast.config import Settings

    settings = Settings()
    name = (name or settings.engine).lower()
    if name == "local":
        from trendcast.engine.local import LocalEngine

        return LocalEngine(n_jobs)
    if name == "ray":
        try:
            from trendcast.engine.ray_engine import RayEngine
        except ModuleNotFoundError as exc:
            raise TrendcastError(
                "the ray engine needs the `ray` package: pip install 'trendcast[ray]'") from exc
        return RayEngine(ray_address or settings.ray_address or None, num_cpus=resolve_jobs(n_jobs),
                         max_retries=max_retries)
    raise TrendcastError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
