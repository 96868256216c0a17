"""User ids of orders and events are pseudonymised at ingest, per workspace, unless opted out."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from conftest import make_sales
from trendcast.cli import app
from trendcast.data.pseudonym import FINGERPRINT_KEY, pseudonymise_ids, workspace_key
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


def test_key_is_per_workspace_and_stable(tmp_path):
    with open_store(tmp_path / "a.duckdb") as a:
        salt_a = workspace_key(a)
        assert workspace_key(a) == salt_a and len(salt_a) == 32
    with open_store(tmp_path / "a.duckdb") as a:
        assert workspace_key(a) == salt_a  # kept in the key file across sessions
    with open_store(tmp_path / "b.duckdb") as b:
        salt_b = workspace_key(b)
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
        salt = workspace_key(s).hex()
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
        assert s.meta(FINGERPRINT_KEY) is None
    assert not (tmp_path / "keep.duckdb.pseudonym-key").exists()


# The key lives outside the workspace ------------------------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402

from trendcast.data.pseudonym import (  # noqa: E402
    LEGACY_SALT_KEY,
    pseudonymise_frame,
    scrub_contacts,
    scrub_text,
)
from trendcast.errors import StoreError  # noqa: E402
from trendcast.services.privacy import rotate_pseudonym_key  # noqa: E402

KEY_A = "ab" * 32
KEY_B = "cd" * 32


def _seed(store) -> None:
    ingest_frames(store, {"sales": make_sales(n_series=2, n_days=30)}, source="t")
    ingest_frames(store, {"events": _events()}, source="t")


def _db_text(store) -> str:
    meta = store._fetch("SELECT * FROM trendcast_meta").astype(str).to_csv()
    return meta + "".join(_stored_text(store, t) for t in ("orders", "events"))


def test_the_key_is_a_0600_file_beside_the_workspace_and_never_in_it(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_store(db) as s:
        _seed(s)
        key = workspace_key(s)
        assert key.hex() not in _db_text(s)
    key_file = tmp_path / "w.duckdb.pseudonym-key"
    assert key_file.read_text().strip() == key.hex()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key.hex().encode() not in db.read_bytes()  # not even in the file's free space


def test_a_copy_without_the_key_reveals_nothing_and_cannot_extend_the_pseudonyms(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_store(db) as s:
        _seed(s)
        stored = set(s.read("events")["user_id"])
        key = workspace_key(s)
    copy = tmp_path / "copy" / "w.duckdb"
    copy.parent.mkdir()
    shutil.copy(db, copy)
    with open_store(copy) as c:
        assert set(c.read("events")["user_id"]) == stored
        # whoever holds the copy can try the raw ids with any key they find in it: none matches
        candidates = [v for v in c._fetch("SELECT value FROM trendcast_meta")["value"]
                      if len(str(v)) >= 32]
        for guess in [*candidates, KEY_A]:
            raw = pd.Series(RAW_USERS)
            guessed = pseudonymise_ids(raw, bytes.fromhex(guess) if len(guess) % 2 == 0
                                       and all(ch in "0123456789abcdef" for ch in guess) else guess.encode())
            assert not set(guessed) & stored
        # pseudonyms made with a different key differ from the stored ones
        assert not set(pseudonymise_ids(pd.Series(RAW_USERS), bytes.fromhex(KEY_B))) & stored
        assert set(pseudonymise_ids(pd.Series(RAW_USERS[:2]), key)) <= stored  # only the key links them
        with pytest.raises(StoreError, match="pseudonym key of workspace .* is missing"):
            ingest_frames(c, {"events": _events()}, source="t")
        assert not (tmp_path / "copy" / "w.duckdb.pseudonym-key").exists()
    shutil.copy(tmp_path / "w.duckdb.pseudonym-key", tmp_path / "copy" / "w.duckdb.pseudonym-key")
    with open_store(copy) as c:  # with the key, the copy works as the original
        again = ingest_frames(c, {"events": _events()}, source="t")
        assert again.writes[-1].unchanged == 3


def test_key_from_the_environment_and_a_wrong_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY", KEY_A)
    db = tmp_path / "env.duckdb"
    with open_store(db) as s:
        _seed(s)
        expected = set(pseudonymise_ids(pd.Series(RAW_USERS[:2]), bytes.fromhex(KEY_A)))
        assert set(s.read("events")["user_id"]) == expected
    assert not (tmp_path / "env.duckdb.pseudonym-key").exists()
    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY", KEY_B)
    with open_store(db) as s, pytest.raises(StoreError, match="not the key of workspace"):
        ingest_frames(s, {"events": _events()}, source="t")
    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY", "short")
    with open_store(db) as s, pytest.raises(StoreError, match="hex characters"):
        ingest_frames(s, {"events": _events()}, source="t")


def test_a_key_file_others_can_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "shared.key"
    path.write_text(KEY_A)
    path.chmod(0o644)
    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY_FILE", str(path))
    with open_store(tmp_path / "w.duckdb") as s, pytest.raises(StoreError, match="chmod 600"):
        _seed(s)
    path.chmod(0o600)
    with open_store(tmp_path / "w.duckdb") as s:
        _seed(s)
        assert set(s.read("events")["user_id"]) == set(
            pseudonymise_ids(pd.Series(RAW_USERS[:2]), bytes.fromhex(KEY_A)))


def test_postgres_needs_a_key_outside_the_database(pg_url, monkeypatch):
    monkeypatch.delenv("TRENDCAST_PSEUDONYM_KEY_FILE")
    monkeypatch.delenv("TRENDCAST_PSEUDONYM_KEY", raising=False)
    with open_store(pg_url) as s:
        ingest_frames(s, {"sales": make_sales(n_series=2, n_days=30)}, source="t")
        with pytest.raises(StoreError, match="TRENDCAST_PSEUDONYM_KEY_FILE"):
            ingest_frames(s, {"events": _events()}, source="t")
        assert s.count("events") == 0
        ingest_frames(s, {"events": _events()}, source="t", pseudonymise=False)  # the way out


def _legacy_workspace(location, salt: bytes) -> set[str]:
    """A workspace as trendcast before schema v5 left it: the salt in trendcast_meta."""
    with open_store(location) as s:
        ingest_frames(s, {"sales": make_sales(n_series=2, n_days=30)}, source="t")
        events, _ = pseudonymise_frame("events", _events(), salt)
        s.upsert("events", events)
        s.meta_set(LEGACY_SALT_KEY, salt.hex())
        return set(events["user_id"])


@pytest.mark.parametrize("read_only", [False, True])
def test_a_salt_in_the_database_moves_to_the_key_file_on_first_open(tmp_path, read_only):
    db = tmp_path / "old.duckdb"
    salt = bytes.fromhex(KEY_A)
    stored = _legacy_workspace(db, salt)
    with open_store(db, read_only=read_only) as s:
        assert s.meta(LEGACY_SALT_KEY) is None
    key_file = tmp_path / "old.duckdb.pseudonym-key"
    assert key_file.read_text().strip() == KEY_A and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with open_store(db) as s:
        assert KEY_A not in _db_text(s)
        again = ingest_frames(s, {"events": _events()}, source="t")  # same users, same pseudonyms
        assert again.writes[-1].unchanged == 3 and set(s.read("events")["user_id"]) == stored


def test_a_salt_in_a_postgres_workspace_needs_a_place_to_go(pg_url, tmp_path, monkeypatch):
    stored = _legacy_workspace(pg_url, bytes.fromhex(KEY_A))
    monkeypatch.delenv("TRENDCAST_PSEUDONYM_KEY_FILE")
    with pytest.raises(StoreError, match="TRENDCAST_PSEUDONYM_KEY_FILE=PATH to move it"):
        open_store(pg_url)
    monkeypatch.setenv("TRENDCAST_PSEUDONYM_KEY_FILE", str(tmp_path / "moved.key"))
    with open_store(pg_url) as s:
        assert s.meta(LEGACY_SALT_KEY) is None
        assert ingest_frames(s, {"events": _events()}, source="t").writes[-1].unchanged == 3
        assert set(s.read("events")["user_id"]) == stored
    assert (tmp_path / "moved.key").read_text().strip() == KEY_A


def test_rotation_rekeys_stored_pseudonyms_so_the_old_key_links_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_store(db) as s:
        _seed(s)
        ingest_frames(s, {"orders": _orders()}, source="t")
        old_key = workspace_key(s)
        before_events, before_orders = s.read("events"), s.read("orders")
    runner = CliRunner()
    dry = runner.invoke(app, ["keys", "rotate-pseudonym", "--db", str(db)])
    assert dry.exit_code == 0 and "--yes" in dry.stdout
    with open_store(db) as s:
        assert workspace_key(s) == old_key  # a dry run changes nothing
    res = runner.invoke(app, ["keys", "rotate-pseudonym", "--yes", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "re-keyed" in res.stdout
    with open_store(db) as s:
        new_key = workspace_key(s)
        assert new_key != old_key
        events, orders = s.read("events"), s.read("orders")
        old_pseudonyms = set(pseudonymise_ids(pd.Series(RAW_USERS), old_key))
        assert not (set(events["user_id"]) | set(orders["user_id"].dropna())) & old_pseudonyms
        # stored pseudonyms still join each other: the same person in orders and events
        alice = orders.loc[orders["order_id"] == "o1", "user_id"].iloc[0]
        assert alice in set(events["user_id"])
        assert events["user_id"].nunique() == before_events["user_id"].nunique()
        assert orders["user_id"].nunique() == before_orders["user_id"].nunique()
        # raw ids ingested after the rotation get the new key's pseudonyms
        ingest_frames(s, {"events": _events().assign(ts=lambda d: d["ts"] + pd.Timedelta(days=1))},
                      source="t")
        assert set(pseudonymise_ids(pd.Series(RAW_USERS[:2]), new_key)) <= set(s.read("events")["user_id"])
    key_file = tmp_path / "w.duckdb.pseudonym-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and not os.path.exists(str(key_file) + ".new")


def test_rotation_makes_a_copy_without_its_key_usable_again(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_store(db) as s:
        _seed(s)
    (tmp_path / "w.duckdb.pseudonym-key").unlink()
    with open_store(db) as s:
        with pytest.raises(StoreError, match="missing"):
            ingest_frames(s, {"events": _events()}, source="t")
        assert rotate_pseudonym_key(s)["rekeyed"] == 2
        ingest_frames(s, {"events": _events()}, source="t")


# Contact details in review text -----------------------------------------------------------

SCRUB_CASES = [
    ("call me 13800138000 or 138-0013-8000", "call me [phone] or [phone]", 0, 2),
    ("微信同号 +86 139 1234 5678，谢谢", "微信同号 [phone]，谢谢", 0, 1),
    ("mail bob.smith+shop@example.co.uk now", "mail [email] now", 1, 0),
    ("UK +44 20 7946 0958, US (555) 123-4567, 555-123-4567", "UK [phone], US [phone], [phone]", 0, 3),
    ("0049 30 1234567 ok", "[phone] ok", 0, 1),
    # not contacts: dates, prices, order numbers, model numbers, ratings
    ("bought 2024-06-18 for 1999 yuan, order 20240618123456, size 42, 5/5", None, 0, 0),
    ("iPhone 15 Pro 256GB, 3.5 stars", None, 0, 0),
]


@pytest.mark.parametrize(("text", "expected", "emails", "phones"), SCRUB_CASES)
def test_scrub_text(text, expected, emails, phones):
    cleaned, n_email, n_phone = scrub_text(text)
    assert (cleaned, n_email, n_phone) == (expected or text, emails, phones)


def test_scrub_on_review_ingest_counts_what_it_replaced(tmp_path):
    db = tmp_path / "r.duckdb"
    with open_store(db) as s:
        ingest_frames(s, {"sales": make_sales(n_series=1, n_days=10)}, source="t")
    reviews = tmp_path / "reviews.csv"
    pd.DataFrame({"review_id": ["r1", "r2", "r3"], "unique_id": ["P000"] * 3,
                  "ts": ["2024-01-02 10:00:00"] * 3, "rating": [5, 1, 3],
                  "text": ["great, call 13800138000", "bad! write me a@b.com or +44 20 7946 0958",
                           "fine"]}).to_csv(reviews, index=False)
    res = CliRunner().invoke(app, ["ingest", str(reviews), "--kind", "reviews", "--scrub", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "scrubbed 1 e-mail address(es) and 2 phone number(s) from 2 review(s)" in res.stdout
    with open_store(db) as s:
        text = " ".join(s.read("reviews")["text"])
    assert "13800138000" not in text and "a@b.com" not in text and "[phone]" in text
    texts, counts = scrub_contacts(pd.Series(["x", None, "y@z.org"]))
    assert counts == {"email": 1, "phone": 0, "rows": 1} and texts.iloc[1] is None
