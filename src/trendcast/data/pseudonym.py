"""Pseudonymised user ids: raw user ids of orders and events are replaced at ingest by a keyed
hash, so the workspace never holds them while analyses can still join on the same user.

The key (salt) is drawn once per workspace and kept in its ``trendcast_meta`` table; it is
never printed. The same raw id always maps to the same pseudonym within one workspace, and
to a different one in another workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pandas as pd

from trendcast.data.store import Store

SALT_KEY = "pseudonym_salt"
PSEUDONYM_CHARS = 16  # hex characters kept: 64 bits, collisions unlikely below ~10^8 users
# Table -> its columns that hold user ids.
USER_COLUMNS: dict[str, tuple[str, ...]] = {"orders": ("user_id",), "events": ("user_id",)}


def workspace_salt(store: Store) -> bytes:
    """The workspace's pseudonym salt, created (32 random bytes) on first use."""
    found = store.meta(SALT_KEY)
    if found is None:
        found = store.meta_setdefault(SALT_KEY, secrets.token_hex(32))
    return bytes.fromhex(found)


def pseudonymise_ids(values: pd.Series, salt: bytes) -> pd.Series:
    """Each id -> hex prefix of HMAC-SHA256(salt, id); missing values stay missing."""
    def one(uid: object) -> object:
        if uid is None or (isinstance(uid, float) and uid != uid) or uid is pd.NA:
            return None
        digest = hmac.new(salt, str(uid).encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_CHARS]

    uniques = pd.unique(values)
    mapping = {u: one(u) for u in uniques if not pd.isna(u)}
    out = values.map(mapping)
    return out.astype(object).where(values.notna(), None)


def pseudonymise_frame(table: str, df: pd.DataFrame, salt: bytes) -> tuple[pd.DataFrame, int]:
    """Replace the user-id columns of ``table`` in ``df``; returns the frame and rows changed."""
    columns = [c for c in USER_COLUMNS.get(table, ()) if c in df.columns]
    if not columns:
        return df, 0
    out = df.copy()
    out.attrs = dict(df.attrs)
    changed = 0
    for col in columns:
        changed = max(changed, int(out[col].notna().sum()))
        out[col] = pseudonymise_ids(out[col], salt)
    return out, changed
