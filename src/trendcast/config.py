"""One settings object, built in entry points and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    max_unpack_ratio: float = Field(
        default=50.0, ge=1, description="Largest unpacked/packed size ratio of a .gz/.zip/.xlsx "
                                        "once it unpacks past 16 MB (a zip bomb is ~1000x).")
    max_rows: int = Field(default=10_000_000, ge=1, description="Rows one ingested file may have.")
    max_columns: int = Field(default=1_000, ge=1, description="Columns one ingested file may have.")
    max_field_chars: int = Field(
        default=1_000_000, ge=1, description="Characters one field (cell) of a file may have.")
    tz: str = Field(
        default="Asia/Shanghai",
        description="Time zone of a new workspace (stored in it at the first ingest; naive times "
                    "are taken in it, times with an offset and Unix times converted to it).",
    )
    chromium: str | None = Field(
        default=None, description="Chromium or Chrome binary that prints PDFs (default: the first "
                                  "on the PATH).")
    model_dir: Path | None = Field(
        default=None,
        description="Folder for saved model versions' artefacts (default: beside a DuckDB "
                    "workspace, inside a PostgreSQL one).",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="The key of the user-id pseudonyms (64 hex characters). Default: the key "
                    "file beside a DuckDB workspace (created with mode 0600 on first use); never "
                    "stored in the workspace.")
    pseudonym_key_file: Path | None = Field(
        default=None,
        description="File holding the pseudonym key (mode 0600); needed for a PostgreSQL "
                    "workspace unless TRENDCAST_PSEUDONYM_KEY is set.")
    auth_max_failures: int = Field(
        default=10, ge=1, description="Failed API-key authentications a client may make within "
                                      "auth_failure_window seconds before it gets 429.")
    auth_failure_window: float = Field(
        default=60.0, gt=0, description="Seconds over which failed authentications are counted.")
    lock_timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds a command waits for a DuckDB workspace that another process is "
                    "writing to before it gives up.",
    )
