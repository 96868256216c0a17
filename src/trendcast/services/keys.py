"""API keys: create, list, revoke and check them. Only a salted hash of each secret is stored.

A key reads ``tc_<key_id>_<secret>``: the key id finds the row, the secret is checked against
``sha256(salt + secret)`` with a per-key random salt. Secrets are 256-bit random strings, so a
fast hash is enough (there is nothing to guess); the plain key is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import DataValidationError, NotFoundError

ROLES = ("viewer", "analyst", "admin")  # each role may do what the ones before it may
PREFIX = "tc"
_KEY = re.compile(r"tc_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})")


@dataclass(frozen=True)
class Principal:
    """Who made a request: the key's id and role."""

    key_id: str
    role: str

    def allows(self, role: str) -> bool:
        """Whether this principal's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(check_role(role))


class InvalidKeyError(NotFoundError):
    """A presented key is malformed, unknown or revoked."""


def check_role(role: str) -> str:
    """The role, or a DataValidationError naming the valid ones."""
    if role not in ROLES:
        raise DataValidationError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return role


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def create_key(store: Store, role: str, name: str | None = None) -> str:
    """Create a key with ``role``; returns the plain key (the only time it is available)."""
    check_role(role)
    if name is not None and len(name) > 200:
        raise DataValidationError(f"key name is {len(name)} characters long; keep it under 200")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    store.append("api_keys", pd.DataFrame([{
        "key_id": key_id, "name": name, "role": role, "salt": salt,
        "secret_hash": _hash(salt, secret), "created_at": pd.Timestamp.now(), "revoked_at": None,
    }]))
    return f"{PREFIX}_{key_id}_{secret}"


def list_keys(store: Store) -> list[dict[str, Any]]:
    """Every key's id, name, role, creation and revocation time (never the hash)."""
    rows = store.key_rows()
    return [
        {"key_id": r.key_id, "name": None if pd.isna(r.name) else r.name, "role": r.role,
         "created_at": _dt(r.created_at), "revoked_at": _dt(r.revoked_at),
         "active": pd.isna(r.revoked_at)}
        for r in rows.itertuples()
    ]


def revoke_key(store: Store, key_id: str) -> dict[str, Any]:
    """Revoke a key (it stays listed, marked revoked); returns its record."""
    if store.key_row(key_id) is None:
        raise NotFoundError(f"no API key with id {key_id!r}; `trendcast keys list` shows them")
    store.revoke_key(key_id, datetime.now())
    return next(k for k in list_keys(store) if k["key_id"] == key_id)


def authenticate(store: Store, key: str) -> Principal:
    """The principal of a valid, active key; InvalidKeyError otherwise."""
    match = _KEY.fullmatch(key.strip())
    if not match:
        raise InvalidKeyError("the API key is malformed; keys look like tc_<12 hex>_<secret>")
    key_id, secret = match.groups()
    row = store.key_row(key_id)
    if row is None or not hmac.compare_digest(_hash(row["salt"], secret), str(row["secret_hash"])):
        raise InvalidKeyError("the API key is not valid; check it or create one with "
                              "`trendcast keys create --role analyst`")
    if not pd.isna(row["revoked_at"]):
        raise InvalidKeyError(f"the API key {key_id} was revoked; ask an admin for a new one")
    return Principal(key_id, str(row["role"]))


def _dt(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat(timespec="seconds")
