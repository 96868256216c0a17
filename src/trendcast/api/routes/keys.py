"""Admin: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from trendcast.api.deps import Admin, LocksDep, StoreDep
from trendcast.api.schemas import KeyCreated, KeyIn, KeyInfo
from trendcast.services.keys import create_key, list_keys, revoke_key

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", response_model=KeyCreated, status_code=201)
def create(body: KeyIn, store: StoreDep, locks: LocksDep, _: Admin) -> KeyCreated:
    """Create a key; the response holds the key itself, which is not shown again."""
    with locks.keys:
        key = create_key(store, body.role, body.name)
    key_id = key.split("_")[1]
    info = next(k for k in list_keys(store) if k["key_id"] == key_id)
    return KeyCreated(key=key, **info)


@router.get("", response_model=list[KeyInfo])
def list_all(store: StoreDep, _: Admin) -> list[KeyInfo]:
    """Every key (id, name, role, created, revoked); never the secret or its hash."""
    return [KeyInfo(**k) for k in list_keys(store)]


@router.delete("/{key_id}", response_model=KeyInfo)
def revoke(key_id: Annotated[str, Path(max_length=64)], request: Request, store: StoreDep,
           locks: LocksDep, _: Admin) -> KeyInfo:
    """Revoke a key: requests with it get 401 from now on. It stays listed as revoked."""
    with locks.keys:
        info = revoke_key(store, key_id)
    request.app.state.key_cache.clear()
    return KeyInfo(**info)
