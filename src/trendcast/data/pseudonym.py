"""Pseudonymised user ids, with a key that never enters the workspace; contact details
scrubbed from review text.

Raw user ids of orders and events are replaced at ingest by HMAC-SHA256(key, id), cut to 16
hex characters, so analyses can still join on the same user while the workspace never holds
the raw ids. The key lives outside the database, so a copy of the workspace alone cannot be
used to test guessed ids against the pseudonyms:

1. ``TRENDCAST_PSEUDONYM_KEY`` (``Settings.pseudonym_key``, 64 hex characters), else
2. the key file ``Settings.pseudonym_key_file`` (``TRENDCAST_PSEUDONYM_KEY_FILE``), else
3. for a DuckDB file, the key file beside it: ``<workspace>.pseudonym-key``, created with mode
   0600 on first use. A PostgreSQL workspace needs 1 or 2 (there is no "beside"); an in-memory
   workspace gets a key that lives as long as it does.

A key file readable by group or others is refused. The workspace keeps only a fingerprint
of its key (an HMAC of a fixed text, which does not reveal the key), so a wrong or missing
key is an error instead of pseudonyms that silently stop matching the stored ones.

Workspaces of older versions kept the key ("salt") in ``trendcast_meta``: the first open
moves it to the key file (or checks it against ``TRENDCAST_PSEUDONYM_KEY``) and deletes it
from the database. Copies of the database made before that still hold it, and the file's
free space may too until it is overwritten: run ``trendcast keys rotate-pseudonym``, which
re-keys the stored pseudonyms so that the old key no longer links them to raw ids. Raw ids
are not kept, so rotation cannot pseudonymise them afresh: pseudonyms stored before a
rotation keep joining each other but do not match those made after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from trendcast.errors import StoreError

if TYPE_CHECKING:
    from trendcast.data.store import Store

LEGACY_SALT_KEY = "pseudonym_salt"  # where versions before schema v5 kept the key
FINGERPRINT_KEY = "pseudonym_key_fingerprint"
KEY_FILE_SUFFIX = ".pseudonym-key"
KEY_BYTES = 32
PSEUDONYM_CHARS = 16  # hex characters kept: 64 bits, collisions unlikely below ~10^8 users
# Table -> its columns that hold user ids.
USER_COLUMNS: dict[str, tuple[str, ...]] = {"orders": ("user_id",), "events": ("user_id",)}
ENV_NAME = "TRENDCAST_PSEUDONYM_KEY"
ENV_FILE_NAME = "TRENDCAST_PSEUDONYM_KEY_FILE"


@dataclass(frozen=True)
class KeySource:
    """Where a workspace's pseudonym key comes from (see the module docstring)."""

    key: str | None = None
    file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> KeySource:
        secret: Any = getattr(settings, "pseudonym_key", None)
        text = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        path = getattr(settings, "pseudonym_key_file", None)
        return cls(text or None, Path(path).expanduser() if path else None)


def key_source(store: Store) -> KeySource:
    return getattr(store, "pseudonym_keys", None) or KeySource()


def key_file(store: Store) -> Path | None:
    """The key file of ``store``: the configured one, else the one beside a DuckDB file."""
    source = key_source(store)
    if source.file is not None:
        return source.file
    if store.dialect == "duckdb" and store.location != ":memory:":
        return Path(store.location + KEY_FILE_SUFFIX)
    return None


def parse_key(text: str, origin: str) -> bytes:
    """A key given as hex text (at least 32 characters)."""
    cleaned = text.strip()
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2}){16,}", cleaned):
        raise StoreError(f"{origin}: expected a key of at least 32 hex characters (64 recommended, "
                         "e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return bytes.fromhex(cleaned)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``; refused when group or others may read the file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise StoreError(f"pseudonym key file {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(f"pseudonym key file {path} may be read by others (mode "
                         f"{stat.S_IMODE(mode):04o}); restrict it with `chmod 600 {path}`")
    return parse_key(path.read_text(encoding="ascii", errors="replace"), f"key file {path}")


def write_key_file(path: Path, key: bytes) -> None:
    """Create ``path`` (mode 0600) holding ``key``; an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")


def fingerprint(key: bytes) -> str:
    """What the workspace keeps to recognise its key; does not reveal it."""
    return hmac.new(key, b"trendcast pseudonym key check", hashlib.sha256).hexdigest()[:32]


def _missing_key(store: Store, path: Path | None) -> StoreError:
    where = f"the key file {path}" if path else f"{ENV_NAME} or {ENV_FILE_NAME}"
    return StoreError(
        f"the pseudonym key of workspace {store.location} is missing: expected {where}. Copy the "
        "workspace's key file beside it or set it in the environment; without it new user ids "
        "cannot be matched to the stored pseudonyms. To start over with a new key (stored "
        "pseudonyms then no longer match new ones) run `trendcast keys rotate-pseudonym`")


def _no_place(store: Store) -> StoreError:
    return StoreError(
        f"workspace {store.location} needs a pseudonym key outside the database: set {ENV_NAME} "
        f"(64 hex characters) or {ENV_FILE_NAME}=PATH (a file created with mode 0600 on first "
        "use), or ingest with --keep-user-ids")


def move_legacy_salt(store: Store) -> bool:
    """Move a key an older trendcast kept in ``trendcast_meta`` out of the database (to the
    key file, or checked against ``TRENDCAST_PSEUDONYM_KEY``); True when one was moved."""
    salt = store.meta(LEGACY_SALT_KEY)
    if salt is None or store.read_only:
        return False
    key = bytes.fromhex(salt)
    source = key_source(store)
    if source.key is not None:
        if parse_key(source.key, ENV_NAME) != key:
            raise StoreError(
                f"workspace {store.location} holds the pseudonym key of an older trendcast, and "
                f"{ENV_NAME} is a different key: unset {ENV_NAME} once so the stored key moves to "
                "the key file, or set it to the stored key")
    else:
        path = key_file(store)
        if path is None:
            raise StoreError(
                f"workspace {store.location} holds its pseudonym key in the database (an older "
                f"trendcast put it there); set {ENV_FILE_NAME}=PATH to move it out to that file")
        if path.exists():
            if read_key_file(path) != key:
                raise StoreError(f"workspace {store.location} holds an older pseudonym key that "
                                 f"differs from the key in {path}; move {path} away to keep the "
                                 "workspace's own key")
        else:
            write_key_file(path, key)
    with store.transaction():
        store.meta_set(FINGERPRINT_KEY, fingerprint(key))
        store.meta_delete(LEGACY_SALT_KEY)
    return True


def workspace_key(store: Store, *, create: bool = True) -> bytes:
    """The workspace's pseudonym key (see the module docstring); a new key is made on first
    use when ``create``. StoreError when it is missing, misplaced or not the workspace's."""
    move_legacy_salt(store)
    source = key_source(store)
    stored = store.meta(FINGERPRINT_KEY)
    if source.key is not None:
        key, origin = parse_key(source.key, ENV_NAME), ENV_NAME
    else:
        path = key_file(store)
        if path is None:
            if store.dialect != "duckdb":
                raise _no_place(store)
            key = getattr(store, "_memory_pseudonym_key", None) or secrets.token_bytes(KEY_BYTES)
            store._memory_pseudonym_key = key  # type: ignore[attr-defined]
            origin = "this in-memory workspace"
        elif path.exists():
            key, origin = read_key_file(path), f"key file {path}"
        elif stored is not None or not create:
            raise _missing_key(store, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                write_key_file(path, secrets.token_bytes(KEY_BYTES))
            key, origin = read_key_file(path), f"key file {path}"
    mark = fingerprint(key)
    if stored is None and not store.read_only:
        stored = store.meta_setdefault(FINGERPRINT_KEY, mark)
    if stored is not None and stored != mark:
        raise StoreError(
            f"the pseudonym key from {origin} is not the key of workspace {store.location}: "
            "pseudonyms made with it would not match the stored ones. Use the workspace's key, "
            "or start a new one with `trendcast keys rotate-pseudonym` (stored pseudonyms then "
            "no longer match new ones)")
    return key


def rotate_key(store: Store) -> dict[str, Any]:
    """Give the workspace a new pseudonym key and re-key the stored pseudonyms with it.

    Every stored pseudonym ``p`` (orders, events and the rows batches keep for undo) becomes
    HMAC(new key, p): the stored ones still join each other, and the old key alone no longer
    links them to raw ids. Raw ids are not kept, so they cannot be pseudonymised afresh:
    a user's pseudonyms stored before the rotation do not match those made after it.

    With a key file, the new key replaces it (written first beside it as ``<file>.new``; the
    database change and the new fingerprint commit together, then the file is swapped in).
    With ``TRENDCAST_PSEUDONYM_KEY``, set the new key there first: the old key is then the
    one the workspace's fingerprint names, which this cannot read, so the stored pseudonyms
    are re-keyed with the new key directly."""
    store._writable()
    move_legacy_salt(store)
    source = key_source(store)
    old = store.meta(FINGERPRINT_KEY)
    if source.key is not None:
        key = parse_key(source.key, ENV_NAME)
        if fingerprint(key) == old:
            raise StoreError(f"{ENV_NAME} holds the workspace's current key: set a new key there "
                             "first, then run this again to adopt it")
        n = _rekey(store, key)
        store.meta_set(FINGERPRINT_KEY, fingerprint(key))
        return {"key_from": ENV_NAME, "rekeyed": n, "had_key": old is not None}
    path = key_file(store)
    if path is None:
        raise _no_place(store)
    key = secrets.token_bytes(KEY_BYTES)
    pending = path.with_name(path.name + ".new")
    pending.unlink(missing_ok=True)
    write_key_file(pending, key)
    with store.transaction():
        n = _rekey(store, key)
        store.meta_set(FINGERPRINT_KEY, fingerprint(key))
    os.replace(pending, path)
    return {"key_from": str(path), "rekeyed": n, "had_key": old is not None}


def _rekey(store: Store, key: bytes) -> int:
    """Replace every stored pseudonym ``p`` by HMAC(key, p); returns the distinct ids changed."""
    from trendcast.data.batches import rows_table
    from trendcast.data.tables import Table

    tables = [(t, c) for t, cols in USER_COLUMNS.items() for c in cols]
    tables += [(rows_table(t), c) for t, c in list(tables)]
    spec = Table("pseudonym_map", {"old_id": "VARCHAR NOT NULL", "new_id": "VARCHAR"}, ("old_id",))
    with store.transaction():
        found = pd.concat([store._fetch(f'SELECT DISTINCT "{c}" AS old_id FROM {t} '
                                        f'WHERE "{c}" IS NOT NULL') for t, c in tables])
        olds = pd.Series(pd.unique(found["old_id"].astype(str)), dtype=object)
        if not len(olds):
            return 0
        staged = store._stage(spec, pd.DataFrame({"old_id": olds,
                                                  "new_id": pseudonymise_ids(olds, key)}))
        for table, col in tables:
            store._run(f'UPDATE {table} SET "{col}" = m.new_id FROM {staged} m '
                       f'WHERE {table}."{col}" = m.old_id')
        store._run(f"DROP TABLE {staged}")
    return len(olds)


def pseudonymise_ids(values: pd.Series, key: bytes) -> pd.Series:
    """Each id -> hex prefix of HMAC-SHA256(key, id); missing values stay missing."""
    def one(uid: object) -> object:
        if uid is None or (isinstance(uid, float) and uid != uid) or uid is pd.NA:
            return None
        digest = hmac.new(key, str(uid).encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_CHARS]

    uniques = pd.unique(values)
    mapping = {u: one(u) for u in uniques if not pd.isna(u)}
    out = values.map(mapping)
    return out.astype(object).where(values.notna(), None)


def pseudonymise_frame(table: str, df: pd.DataFrame, key: bytes) -> tuple[pd.DataFrame, int]:
    """Replace the user-id columns of ``table`` in ``df``; returns the frame and rows changed."""
    columns = [c for c in USER_COLUMNS.get(table, ()) if c in df.columns]
    if not columns:
        return df, 0
    out = df.copy()
    out.attrs = dict(df.attrs)
    changed = 0
    for col in columns:
        changed = max(changed, int(out[col].notna().sum()))
        out[col] = pseudonymise_ids(out[col], key)
    return out, changed


# Contact details in review text ------------------------------------------------------------

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Mainland China mobile numbers: 1[3-9] and 9 more digits, optionally +86 / 0086 in front and
# written 3-4-4 with spaces or hyphens; not inside a longer run of digits.
CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)")
# International and other formats: + or 00 and a country code, or a bracketed area code,
# then groups of digits separated by spaces, dots or hyphens; 8 to 15 digits in all.
INTL_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)\d{1,3}(?:[\s.\-]?\(?\d{1,4}\)?){2,5}(?!\d)"
    r"|(?<![\w(])\(\d{2,4}\)[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}(?!\d)"
    r"|(?<![\w.\-])\d{3}[\s.\-]\d{3,4}[\s.\-]\d{4}(?![\w.\-]\d)")
EMAIL_MARK, PHONE_MARK = "[email]", "[phone]"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def scrub_text(text: str) -> tuple[str, int, int]:
    """``text`` with e-mail addresses and phone numbers replaced by ``[email]`` and
    ``[phone]``; returns the text and the counts of each."""
    emails = phones = 0

    def email(_: re.Match[str]) -> str:
        nonlocal emails
        emails += 1
        return EMAIL_MARK

    def phone(match: re.Match[str]) -> str:
        nonlocal phones
        if not 8 <= _digits(match.group(0)) <= 15:
            return match.group(0)
        phones += 1
        return PHONE_MARK

    text = EMAIL.sub(email, text)
    text = CN_MOBILE.sub(phone, text)
    text = INTL_PHONE.sub(phone, text)
    return text, emails, phones


def scrub_contacts(texts: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Scrub every text (see :func:`scrub_text`); counts of e-mails, phones and texts changed."""
    counts = {"email": 0, "phone": 0, "rows": 0}

    def one(value: object) -> object:
        if not isinstance(value, str):
            return value
        cleaned, n_email, n_phone = scrub_text(value)
        if n_email or n_phone:
            counts["email"] += n_email
            counts["phone"] += n_phone
            counts["rows"] += 1
        return cleaned

    return texts.map(one), counts
