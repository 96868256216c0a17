"""The PostgreSQL backend against a real server: connection errors, migrations of today's
workspaces, and concurrent writers."""

from __future__ import annotations

import gzip
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from pgserver import PASSWORD, PASSWORD_USER, fresh_schema_url
from trendcast.data.store import open_store
from trendcast.data.tables import SCHEMA_VERSION, statements_for
from trendcast.errors import StoreError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "workspace_v2.duckdb.gz"
FIXTURE_KEY = "tc_065be1061545_0iMYs0KzrVTE3F2i3HvcL1NO71wdNP8-R_MTup1Ui-Y"


def _host_port(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 5432


def test_unreachable_server_names_host_port_and_database(pg_base_url):
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"host 127\.0\.0\.1, port 9, database 'shop'.*nothing was written"):
        open_store("postgresql://tc@127.0.0.1:9/shop")
    assert time.monotonic() - start < 15


def test_unknown_database_and_bad_schema_are_clear_errors(pg_base_url):
    host, port = _host_port(pg_base_url)
    with pytest.raises(StoreError, match=rf"port {port}, database 'no_such_db'.*does not exist"):
        open_store(f"postgresql://tc@{host}:{port}/no_such_db")
    with pytest.raises(StoreError, match="schema 'a;drop' .* not a plain SQL name"):
        open_store(f"{pg_base_url}?schema=a;drop")


def test_wrong_password_is_refused_and_writes_nothing(pg_base_url, monkeypatch):
    if "TRENDCAST_TEST_PG_URL" in __import__("os").environ:
        pytest.skip("the password role exists only on the server the tests start")
    host, port = _host_port(pg_base_url)
    url = fresh_schema_url(f"postgresql://{PASSWORD_USER}:wrong@{host}:{port}/postgres")
    with pytest.raises(StoreError, match=rf"host {host}, port {port}, database 'postgres' as user "
                                         rf"'{PASSWORD_USER}'.*password authentication failed"):
        open_store(url)
    schema = url.split("schema=")[1]
    good = url.replace(":wrong@", f":{PASSWORD}@")
    import psycopg

    with psycopg.connect(pg_base_url) as conn:
        found = conn.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                             [schema]).fetchone()
    assert found == (0,)  # nothing was created
    with open_store(good) as store:
        assert store.schema_version == SCHEMA_VERSION


def test_password_is_not_in_the_error(pg_base_url):
    host, port = _host_port(pg_base_url)
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql://{PASSWORD_USER}:s3cret-value@{host}:{port}/postgres")
    assert "s3cret-value" not in str(info.value)


def _fixture_duckdb(tmp_path: Path) -> Path:
    path = tmp_path / "workspace_v2.duckdb"
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def test_todays_duckdb_workspace_opens_and_migrates(tmp_path):
    from trendcast.services.forecast import read_run
    from trendcast.services.info import workspace_info
    from trendcast.services.keys import authenticate

    path = _fixture_duckdb(tmp_path)
    with open_store(path, read_only=True) as store:  # a read-only open migrates it once
        assert store.schema_version == SCHEMA_VERSION
        info = workspace_info(store)
        assert info["tables"]["sales"]["series"] == 6 and len(info["runs"]) == 2
        assert read_run(store).forecasts["unique_id"].nunique() == 6
        assert authenticate(store, FIXTURE_KEY).role == "viewer"


def test_a_version_2_postgres_workspace_migrates_with_its_rows(tmp_path, pg_url):
    """A schema written with the v1 and v2 migrations (what today's tables are) and today's
    rows opens at the current version with every row intact."""
    import psycopg

    from trendcast.data.postgres_store import _split_url
    from trendcast.data.tables import MIGRATIONS, TABLES

    old = _fixture_duckdb(tmp_path)
    with open_store(old, read_only=True) as src:
        frames = {name: src.read(name) for name in TABLES}
    conninfo, schema, _ = _split_url(pg_url)
    v2_statements = [s for s in statements_for("postgres", 0)][: sum(len(m) for m in MIGRATIONS[:2])]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE trendcast_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        for statement in v2_statements:
            conn.execute(statement)
        conn.execute("INSERT INTO trendcast_meta VALUES ('schema_version', '2')")
    # load the rows with the store's own loader, then put the version back to 2
    with open_store(pg_url) as store:
        for name, frame in frames.items():
            store.append(name, frame)
        store._set_meta("schema_version", "2")
    with open_store(pg_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        for name, frame in frames.items():
            assert store.count(name) == len(frame), name
        pd.testing.assert_frame_equal(store.sales(), frames["sales"].sort_values(["unique_id", "ds"],
                                                                                ignore_index=True))


def test_concurrent_upserts_of_the_same_rows_lose_and_duplicate_nothing(pg_url, sales_df):
    open_store(pg_url).close()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(i: int) -> None:
        try:
            with open_store(pg_url) as store:
                barrier.wait()
                for k in range(3):
                    store.upsert("sales", sales_df.assign(y=sales_df["y"] + (i * 10 + k) % 2))
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with open_store(pg_url) as store:
        stored = store.sales()
    assert len(stored) == len(sales_df)
    assert not stored.duplicated(["unique_id", "ds"]).any()


def test_reads_match_duckdb_exactly(tmp_path, pg_url, sales_df):
    frames = {"sales": sales_df.assign(price=sales_df["price"] / 3, promo=[None, 1.0] * (len(sales_df) // 2)),
              "products": pd.DataFrame({"unique_id": ["P000", "P001"], "title": ["a \"quoted\", title", ""],
                                        "category": ["x", None], "launch_date": pd.to_datetime(["2024-01-01", None]),
                                        "list_price": [1 / 7, None]})}
    stores = [open_store(tmp_path / "d.duckdb"), open_store(pg_url)]
    try:
        for store in stores:
            for name, frame in frames.items():
                store.upsert(name, frame)
        duck, pg = stores
        pd.testing.assert_frame_equal(duck.sales(), pg.sales())
        pd.testing.assert_frame_equal(duck.products(), pg.products(), check_dtype=False)
        assert pg.products()["title"].tolist() == ['a "quoted", title', ""]  # empty string is not NULL
        pd.testing.assert_frame_equal(duck.series_stats(), pg.series_stats(), check_dtype=False)
        assert duck.sales_span() == pg.sales_span()
    finally:
        for store in stores:
            store.close()
