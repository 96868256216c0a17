"""Every ingest is a batch that can be undone; rows can be deleted (and the deletion undone)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import make_sales
from trendcast.cli import app
from trendcast.data.store import open_store
from trendcast.errors import ConflictError, DataValidationError, NotFoundError
from trendcast.services.batches import delete_rows, list_batches, undo_batch
from trendcast.services.ingest import ingest_file, ingest_frames


def _csv(tmp_path, name: str, rows: list[tuple]) -> str:
    path = tmp_path / name
    pd.DataFrame(rows, columns=["unique_id", "ds", "y", "price"]).to_csv(path, index=False)
    return str(path)


def _sales(store) -> list[tuple]:
    df = store.sales()
    return [(r.unique_id, str(r.ds.date()), r.y, None if pd.isna(r.price) else r.price)
            for r in df.itertuples()]


def test_undo_removes_what_an_ingest_added_and_restores_what_it_replaced(store, tmp_path):
    first = ingest_file(store, _csv(tmp_path, "a.csv", [("P1", "2024-01-01", 1.0, 9.5),
                                                        ("P2", "2024-01-01", 2.0, 3.0)]), "sales")
    before = _sales(store)
    second = ingest_file(store, _csv(tmp_path, "b.csv", [("P1", "2024-01-01", 7.0, 8.0),
                                                         ("P3", "2024-01-02", 4.0, 1.0),
                                                         ("P2", "2024-01-01", 2.0, 3.0)]), "sales")
    assert first.batch_id and second.batch_id and first.batch_id != second.batch_id
    total, rows = list_batches(store)
    assert total == 2 and rows[0]["batch_id"] == second.batch_id  # newest first
    assert (rows[0]["rows_added"], rows[0]["rows_replaced"]) == (2, 1)  # P3 sale + product; P1
    assert rows[0]["tables"] == ["products", "sales"] and rows[0]["status"] == "applied"
    assert rows[1]["rows_added"] == 4  # two products, two sales

    result = undo_batch(store, second.batch_id, actor="tester")
    assert result.removed == {"products": 1, "sales": 1} and result.restored == {"sales": 1}
    assert _sales(store) == before  # P1 has its old values (y and price) again
    assert set(store.products()["unique_id"]) == {"P1", "P2"}
    undone = list_batches(store)[1][0]
    assert undone["status"] == "undone" and undone["undone_by"] == "tester" and undone["undone_at"]
    with pytest.raises(ConflictError, match="already undone"):
        undo_batch(store, second.batch_id)

    undo_batch(store, first.batch_id)
    assert store.count("sales") == 0 and store.count("products") == 0
    with pytest.raises(NotFoundError, match="no batch"):
        undo_batch(store, "b-nope")


def test_undoing_a_batch_whose_rows_a_later_batch_changed_is_refused(store, tmp_path):
    a = ingest_file(store, _csv(tmp_path, "a.csv", [("P1", "2024-01-01", 1.0, None)]), "sales")
    b = ingest_file(store, _csv(tmp_path, "b.csv", [("P1", "2024-01-01", 5.0, None)]), "sales")
    with pytest.raises(ConflictError, match=f"later batch\\(es\\) {b.batch_id}.*undo {b.batch_id}"):
        undo_batch(store, a.batch_id)
    assert _sales(store) == [("P1", "2024-01-01", 5.0, None)]  # the refusal changed nothing
    undo_batch(store, b.batch_id)
    assert _sales(store) == [("P1", "2024-01-01", 1.0, None)]
    undo_batch(store, a.batch_id)  # allowed once the later batch is undone
    assert store.count("sales") == 0
    # a later batch that only re-sent identical rows changed nothing: no conflict
    c = ingest_file(store, _csv(tmp_path, "c.csv", [("P1", "2024-01-02", 1.0, None)]), "sales")
    again = ingest_file(store, _csv(tmp_path, "c2.csv", [("P1", "2024-01-02", 1.0, None)]), "sales")
    assert again.batch_id is None and "nothing changed" in again.summary()  # no batch to undo
    undo_batch(store, c.batch_id)
    assert store.count("sales") == 0


def test_delete_rows_is_a_batch_that_undo_restores(store):
    ingest_frames(store, {"sales": make_sales(n_series=3, n_days=10)}, source="t")
    full = store.sales()
    report = delete_rows(store, "sales", ids=["P001"], start="2024-01-03", end="2024-01-05",
                         actor="tester")
    assert report.deleted == 3 and report.batch_id and "trendcast undo" in report.summary()
    left = store.sales(["P001"])
    assert len(left) == 7 and not left["ds"].between("2024-01-03", "2024-01-05").any()
    row = list_batches(store)[1][0]
    assert (row["kind"], row["rows_deleted"], row["actor"]) == ("delete", 3, "tester")
    assert "P001" in row["source"]
    undo_batch(store, report.batch_id)
    pd.testing.assert_frame_equal(store.sales(), full)
    # nothing matched: nothing deleted, no batch recorded
    assert delete_rows(store, "sales", ids=["NOPE"]).batch_id is None
    assert list_batches(store)[0] == 2
    with pytest.raises(DataValidationError, match="expected a date"):
        delete_rows(store, "sales", ids=["P001"], start="03/01/2024")
    with pytest.raises(ValueError, match="which rows"):
        delete_rows(store, "sales")


def test_delete_orders_by_date_includes_the_whole_last_day(store):
    ingest_frames(store, {"sales": make_sales(n_series=1, n_days=5)}, source="t")
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "unique_id": ["P000"] * 3,
                           "user_id": ["u1", "u2", "u3"],
                           "ts": pd.to_datetime(["2024-01-01 08:00", "2024-01-02 23:59", "2024-01-03 00:00"]),
                           "quantity": [1.0, 1.0, 1.0], "unit_price": [1.0, 1.0, 1.0]})
    ingest_frames(store, {"orders": orders}, source="t")
    report = delete_rows(store, "orders", ids=["P000"], end="2024-01-02")
    assert report.deleted == 2 and store.read("orders")["order_id"].tolist() == ["o3"]
    undo_batch(store, report.batch_id)
    assert store.count("orders") == 3


def test_a_failed_ingest_leaves_the_store_and_the_batches_as_they_were(store, tmp_path, monkeypatch):
    ingest_file(store, _csv(tmp_path, "a.csv", [("P1", "2024-01-01", 1.0, None)]), "sales")
    real = type(store).upsert

    def failing(self, table, df):
        result = real(self, table, df)
        if table == "sales":
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr(type(store), "upsert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(store, _csv(tmp_path, "b.csv", [("P2", "2024-01-01", 2.0, None),
                                                    ("P1", "2024-01-01", 3.0, None)]), "sales")
    monkeypatch.undo()
    assert _sales(store) == [("P1", "2024-01-01", 1.0, None)]
    assert set(store.products()["unique_id"]) == {"P1"}  # the products written first rolled back
    assert list_batches(store)[0] == 1


def test_rows_outside_the_supported_dates_can_always_be_removed(workspace_url, tmp_path):
    """The issue's reproduction: a stored 2262-04-11 sale poisoned the workspace. Whatever
    let it in (an older trendcast), delete and undo take it out again."""
    with open_store(workspace_url) as store:
        ingest_frames(store, {"sales": make_sales(n_series=1, n_days=5)}, source="t")
        far = pd.DataFrame({"unique_id": ["P0001"], "ds": [pd.Timestamp("2262-04-11")], "y": [1.0]})
        with store.batch("sales", "p.csv", actor="old trendcast") as batch:
            store.upsert("products", pd.DataFrame({"unique_id": ["P0001"]}))
            store.upsert("sales", far)
        # and one the pandas range cannot even hold, written directly
        store._run("INSERT INTO sales VALUES ('P0002', DATE '9999-12-31', 1, NULL, NULL)")
    runner = CliRunner()
    res = runner.invoke(app, ["delete", "--id", "P0002", "--from", "9000-01-01", "--db", workspace_url])
    assert res.exit_code == 0, res.output
    assert "deleted 1 sales row" in res.stdout
    res = runner.invoke(app, ["batches", "--db", workspace_url], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and batch.batch_id in res.stdout and "old trendcast" in res.stdout
    res = runner.invoke(app, ["undo", batch.batch_id, "--db", workspace_url])
    assert res.exit_code == 0, res.output
    assert "sales: 1 row(s) removed" in res.stdout
    with open_store(workspace_url) as store:
        assert store.sales_span()[1] == pd.Timestamp("2024-01-05")
        assert "P0001" not in set(store.products()["unique_id"])
    res = runner.invoke(app, ["undo", batch.batch_id, "--db", workspace_url])
    assert res.exit_code != 0  # already undone: a clear error


def test_cli_ingest_prints_its_batch_and_delete_then_undo(tmp_path):
    db = str(tmp_path / "w.duckdb")
    path = _csv(tmp_path, "a.csv", [("P1", "2024-01-01", 1.0, None), ("P1", "2024-01-02", 2.0, None)])
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", path, "--db", db])
    assert res.exit_code == 0 and "[batch b-" in res.stdout
    res = runner.invoke(app, ["delete", "--id", "P1", "--from", "2024-01-02", "--to", "2024-01-02",
                              "--db", db])
    assert res.exit_code == 0 and "deleted 1 sales row(s)" in res.stdout
    batch_id = res.stdout.split("[batch ")[1].split("]")[0]
    listed = runner.invoke(app, ["batches", "--json", "--db", db])
    import json

    rows = json.loads(listed.stdout)["batches"]
    assert [r["kind"] for r in rows] == ["delete", "sales"] and rows[0]["actor"].startswith("cli")
    assert runner.invoke(app, ["undo", batch_id, "--db", db]).exit_code == 0
    with open_store(db) as store:
        assert store.count("sales") == 2
    res = runner.invoke(app, ["delete", "--db", db])
    assert res.exit_code != 0


def test_ingests_inside_one_batch_are_undone_together(store, tmp_path):
    with store.batch("update", "two files", actor="cron") as outer:
        a = ingest_file(store, _csv(tmp_path, "a.csv", [("P1", "2024-01-01", 1.0, None)]), "sales")
        b = ingest_file(store, _csv(tmp_path, "b.csv", [("P2", "2024-01-01", 2.0, None)]), "sales")
    assert a.batch_id == b.batch_id == outer.batch_id
    total, rows = list_batches(store)
    assert total == 1 and rows[0]["rows_added"] == 4 and rows[0]["kind"] == "update"
    undo_batch(store, outer.batch_id)
    assert store.count("sales") == 0 and store.count("products") == 0
