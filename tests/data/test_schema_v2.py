"""Schema v2 (API keys, jobs) is an appended migration: v1 is unchanged, v1 workspaces migrate."""

from __future__ import annotations

import duckdb

from trendcast.data.store import open_store
from trendcast.data.tables import MIGRATIONS, TABLES


def test_schema_v2_adds_key_and_job_tables_without_touching_v1(tmp_path):
    v1 = " ".join(MIGRATIONS[0])
    assert "api_keys" not in v1 and "jobs" not in v1
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for statement in MIGRATIONS[0]:
        con.execute(statement)
    con.execute("INSERT INTO trendcast_meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO runs (run_id, kind, created_at) VALUES ('r1', 'forecast', now())")
    con.close()
    with open_store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 2
        assert s.count("runs") == 1
        for name in ("api_keys", "jobs"):
            cols = s._fetch(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{name}' "
                         "ORDER BY ordinal_position")["column_name"].tolist()
            assert cols == list(TABLES[name].columns), name


def test_schema_v7_adds_an_optional_unit_cost_to_a_v6_catalogue(tmp_path):
    """v7 (issue 17): products.unit_cost, added to a v6 workspace without losing its rows,
    and undo restores a replaced row's cost."""
    import pandas as pd

    from trendcast.services.ingest import ingest_frames

    assert "unit_cost" not in " ".join(str(s) for step in MIGRATIONS[:6] for s in step)
    path = tmp_path / "v6.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for step in MIGRATIONS[:6]:
        for statement in step:
            if isinstance(statement, str):
                con.execute(statement)
            elif statement.dialect == "duckdb":
                con.execute(statement.sql)
    con.execute("INSERT INTO trendcast_meta VALUES ('schema_version', '6')")
    con.execute("INSERT INTO products (unique_id, title, list_price) VALUES ('A', 'old', 10.0)")
    con.close()
    with open_store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 7
        got = s.products()
        assert list(got.columns) == list(TABLES["products"].columns) and "unit_cost" in got.columns
        assert got.loc[0, "title"] == "old" and pd.isna(got.loc[0, "unit_cost"])
        from trendcast.services.batches import undo_batch

        first = ingest_frames(s, {"products": pd.DataFrame({"unique_id": ["A"], "unit_cost": [6.5]})},
                              source="test")
        assert s.products().loc[0, "unit_cost"] == 6.5
        ingest_frames(s, {"products": pd.DataFrame({"unique_id": ["A"], "unit_cost": [7.0]})},
                      source="test")
        assert s.products().loc[0, "unit_cost"] == 7.0
        last = s.read("batches").sort_values("created_at")["batch_id"].iloc[-1]
        undo_batch(s, last)
        assert s.products().loc[0, "unit_cost"] == 6.5 and first is not None
