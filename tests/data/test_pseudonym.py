"""User ids of orders and events are pseudonymised at ingest, per workspace, unless opted out."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from conftest import make_sales
from trendcast.cli import app
from trendcast.data.pseudonym import SALT_KEY, pseudonymise_ids, workspace_salt
from trendcast.data.store import open_store
from trendcast.services.ingest import ingest_file, ingest_frames

RAW_USERS = ["alice@example.com", "bob", "13800138000"]


def _orders() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4"], "unique_id": ["P000", "P001", "P000", "P001"],
        "user_id": [RAW_USERS[0], RAW_USERS[1], RAW_USERS[2], None],
        "ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00", "2024-03-02 09:00", "2024-03-02 12:00"]),
        "quantity": [1.0, 2.0, 1.0, 3.0], "unit_price": [9.9, 9.9, 9.9, 9.9],
    })


def _events() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": [RAW_USERS[0], RAW_USERS[0], RAW_USERS[1]], "item_id": ["P000", "P000", "P001"],
        "category_id": ["c1", "c1", "c1"], "event_type": ["view", "buy", "cart"],
        "ts": pd.to_datetime(["2024-03-01 09:00", "2024-03-01 10:00", "2024-03-01 10:30"]),
    })


def _stored_text(store, table: str) -> str:
    return store.read(table).astype(str).to_csv()


def test_raw_user_ids_are_not_stored_and_pseudonyms_join(store):
    ingest_frames(store, {"sales": make_sales(n_series=2, n_days=30)}, source="t")
    report = ingest_frames(store, {"orders": _orders(), "events": _events()}, source="t")
    assert any("pseudonyms" in n for n in report.notes)
    for table in ("orders", "events"):
        text = _stored_text(store, table)
        assert not any(raw in text for raw in RAW_USERS), table
    orders, events = store.read("orders"), store.read("events")
    assert orders["user_id"].isna().sum() == 1  # a missing id stays missing
    assert orders["user_id"].dropna().str.fullmatch(r"[0-9a-f]{16}").all()
    # The same person has the same pseudonym in orders and events, so analyses still join.
    alice = orders.loc[orders["order_id"] == "o1", "user_id"].iloc[0]
    assert set(events.loc[events["event_type"] != "cart", "user_id"]) == {alice}
    # Ingesting the same rows again is idempotent (same pseudonyms, nothing changes).
    again = ingest_frames(store, {"orders": _orders()}, source="t")
    assert again.writes[-1].unchanged == 4 and again.writes[-1].inserted == 0


def test_opt_out_keeps_the_ids(store):
    ingest_frames(store, {"sales": make_sales(n_series=2, n_days=30)}, source="t")
    report = ingest_frames(store, {"events": _events()}, source="t", pseudonymise=False)
    assert any("kept as given" in n for n in report.notes)
    assert set(store.read("events")["user_id"]) == {RAW_USERS[0], RAW_USERS[1]}


def test_salt_is_per_workspace_and_stable(tmp_path):
    with open_store(tmp_path / "a.duckdb") as a:
        salt_a = workspace_salt(a)
        assert workspace_salt(a) == salt_a and len(salt_a) == 32
    with open_store(tmp_path / "a.duckdb") as a:
        assert workspace_salt(a) == salt_a  # kept in the meta table across sessions
    with open_store(tmp_path / "b.duckdb") as b:
        salt_b = workspace_salt(b)
    ids = pd.Series(["u1", "u2", "u1"])
    pa, pb = pseudonymise_ids(ids, salt_a), pseudonymise_ids(ids, salt_b)
    assert pa[0] == pa[2] != pa[1] and (pa != pb).all()


def test_file_ingest_and_cli_flag(tmp_path):
    db = tmp_path / "cli.duckdb"
    sales, events = tmp_path / "s.csv", tmp_path / "e.csv"
    make_sales(n_series=2, n_days=30).to_csv(sales, index=False, date_format="%Y-%m-%d")
    _events().to_csv(events, index=False)
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(sales), "--db", str(db)]).exit_code == 0
    res = runner.invoke(app, ["ingest", str(events), "--kind", "events", "--db", str(db)])
    assert res.exit_code == 0 and "pseudonyms" in res.stdout
    with open_store(db) as s:
        salt = workspace_salt(s).hex()
        assert not set(s.read("events")["user_id"]) & set(RAW_USERS)
    info = runner.invoke(app, ["info", "--json", "--db", str(db)])
    assert salt not in info.stdout and salt not in res.stdout  # never printed
    other = tmp_path / "keep.duckdb"
    with open_store(other) as s:
        ingest_file(s, sales, "sales")
    res = runner.invoke(app, ["ingest", str(events), "--kind", "events", "--keep-user-ids", "--db", str(other)])
    assert res.exit_code == 0, res.output
    with open_store(other) as s:
        assert set(s.read("events")["user_id"]) == {RAW_USERS[0], RAW_USERS[1]}
        assert s.meta(SALT_KEY) is None
