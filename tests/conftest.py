"""Shared fixtures: small synthetic data, temporary stores, the real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def pg_base_url():
    """A PostgreSQL server for the session (see tests/pgserver.py); skips when none can run."""
    import shutil
    import tempfile

    from pgserver import NoServer, postgres_server

    # not under pytest's 0700 temp root: the server runs as the postgres user
    folder = Path(tempfile.mkdtemp(prefix="trendcast-pg-"))
    folder.chmod(0o755)
    try:
        with postgres_server(folder / "cluster") as url:
            yield url
    except NoServer as exc:
        pytest.skip(f"PostgreSQL backend not tested: {exc}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_base_url, tmp_path, monkeypatch):
    """A fresh workspace schema on the test server (with a pseudonym key file, which a
    PostgreSQL workspace needs outside the database)."""
    from pgserver import fresh_schema_url

    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY_FILE", str(tmp_path / "pg.pseudonym-key"))
    return fresh_schema_url(pg_base_url)


BACKENDS = ("duckdb", "postgres")


@pytest.fixture
def workspace_url(request, backend, tmp_path) -> str:
    """A new, empty workspace location: a DuckDB file path, or (parametrised in the data,
    services and API tests) a PostgreSQL URL."""
    if backend == "postgres":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "test.duckdb")


# The store, ingest, services and API tests run on every backend; the others on DuckDB.
EVERY_BACKEND_DIRS = ("data", "services", "api")


def pytest_generate_tests(metafunc):
    folder = Path(str(metafunc.definition.fspath)).parent.name
    if "backend" in metafunc.fixturenames and folder in EVERY_BACKEND_DIRS:
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "duckdb")


@pytest.fixture
def store(request, backend, tmp_path):
    """A new workspace: a DuckDB file, and in the data, services and API tests also a
    PostgreSQL schema."""
    from trendcast.data.store import open_store

    location = request.getfixturevalue("pg_url") if backend == "postgres" else tmp_path / "test.duckdb"
    s = open_store(location)
    yield s
    s.close()




@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "cli.duckdb"


def make_sales(n_series: int = 4, n_days: int = 120, seed: int = 0) -> pd.DataFrame:
    """Daily sales with a weekly pattern and noise."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=n_days, freq="D")
    frames = []
    for i in range(n_series):
        level = 5 + 3 * i
        weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_days) / 7)
        y = rng.poisson(level * weekly).astype(float)
        frames.append(pd.DataFrame({"unique_id": f"P{i:03d}", "ds": ds, "y": y,
                                    "price": 10.0 + i, "promo": 0.0}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def sales_df() -> pd.DataFrame:
    return make_sales()


def m5_folder() -> Path:
    folder = SHARED_DATA / "m5_ca1"
    if not folder.exists():
        pytest.skip(f"real M5 data not found at {folder} (../shared/data beside the repo)")
    return folder


def visible_words(page: str, allowed: set[str]) -> list[str]:
    """English words a reader sees on an HTML ``page``: text outside scripts, styles, the
    title and <code> (commands), minus ``allowed`` names and the report's kept words."""
    import html
    import re

    from trendcast.insights.report_notes import KEEP_WORDS

    text = re.sub(r"<(script|style|code|title)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_']+", text) if w not in allowed and w not in KEEP_WORDS]


def two_speed_shop(elasticities: dict[str, float], n_days: int = 500, seed: int = 0,
                   flat: tuple[str, ...] = ()) -> pd.DataFrame:
    """Daily sales at base 20 units with price levels changing every 10 days (+-20%);
    products in ``flat`` keep one price."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=n_days, freq="D")
    frames = []
    for uid, e in elasticities.items():
        levels = 10.0 * rng.uniform(0.8, 1.2, n_days // 10 + 1)
        price = np.full(n_days, 10.0) if uid in flat else np.repeat(levels, 10)[:n_days]
        lam = 20 * (price / 10.0) ** e * (1 + 0.3 * (ds.dayofweek >= 5))
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": rng.poisson(lam).astype(float),
                                    "price": price, "promo": 0.0}))
    return pd.concat(frames, ignore_index=True)
