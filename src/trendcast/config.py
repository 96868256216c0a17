"""One settings object, built in entry points and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """trendcast settings; every field can be set as ``TRENDCAST_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TRENDCAST_", extra="ignore")

    db: str = Field(
        default="trendcast.duckdb",
        description="DuckDB file path, ':memory:', or a postgresql:// URL.",
    )
    out_dir: Path = Field(default=Path("trendcast_out"), description="Where reports go.")
    n_jobs: int = Field(default=-1, description="Worker processes for statistical models.")
    engine: Literal["local", "ray"] = Field(
        default="local",
        description="Where forecasts and backtests run: this process, or Ray tasks (trendcast.engine).",
    )
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster to join (host:port or ray://host:10001); unset starts a local Ray.",
    )
    partition_size: int = Field(default=1000, ge=1, description="Series per partition (task).")
    max_unpacked_mb: int = Field(
        default=1024, ge=1, description="Largest size a .gz or .zip upload may unpack to, in MB.")
    chromium: str | None = Field(
        default=None, description="Chromium or Chrome binary that prints PDFs (default: the first "
                                  "on the PATH).")
    lock_timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds a command waits for a DuckDB workspace that another process is "
                    "writing to before it gives up.",
    )
