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
