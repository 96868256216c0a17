from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from trendcast.data.store import open_store
from trendcast.data.tables import SCHEMA_VERSION
from trendcast.errors import NotFoundError, StoreError


def test_upsert_counts_new_changed_and_unchanged(store, sales_df):
    first = store.upsert("sales", sales_df)
    assert (first.inserted, first.updated, first.unchanged) == (len(sales_df), 0, 0)
    again = store.upsert("sales", sales_df)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(sales_df))
    changed = sales_df.head(3).assign(y=999.0)
    res = store.upsert("sales", changed)
    assert (res.inserted, res.updated, res.unchanged) == (0, 3, 0)
    assert store.count("sales") == len(sales_df)
    stored = store.read("sales")
    assert (stored["y"] == 999.0).sum() == 3


def test_transaction_rolls_back_every_write(store, sales_df):
    store.upsert("sales", sales_df)
    before = store.read("sales")
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert("sales", sales_df.assign(y=-5.0))
        store.upsert("products", pd.DataFrame({"unique_id": ["NEW"]}))
        raise RuntimeError("boom")
    pd.testing.assert_frame_equal(store.read("sales"), before)
    assert store.count("products") == 0


def test_schema_version_recorded_and_reopen_keeps_data(workspace_url, sales_df):
    path = workspace_url
    with open_store(path) as s:
        s.upsert("sales", sales_df)
        assert s.schema_version == SCHEMA_VERSION
    with open_store(path) as s:
        assert s.count("sales") == len(sales_df)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    open_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE trendcast_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 999"):
        open_store(path)


def test_old_workspace_is_migrated(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO trendcast_meta VALUES ('schema_version', '0')")
    con.close()
    with open_store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.count("sales") == 0


def test_unknown_table_gives_a_clear_error(store):
    with pytest.raises(NotFoundError, match="no table named 'nope'"):
        store.read("nope")


def test_missing_folder_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "no" / "such" / "w.duckdb")
