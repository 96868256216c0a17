"""Shared fixtures: small synthetic data, temporary stores, the real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def store(tmp_path):
    from trendcast.data.store import open_store

    s = open_store(tmp_path / "test.duckdb")
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
