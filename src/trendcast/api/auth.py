"""Authentication and roles: ``require(role)`` is the dependency every protected route uses.

A key is read from the ``X-API-Key`` header, ``Authorization: Bearer <key>``, or the
``trendcast_key`` cookie that the dashboard sets at sign-in (HttpOnly, SameSite=Strict), in
that order. Missing or invalid key -> 401; a role below the one required -> 403; too many
invalid keys from one client -> 429 (``services.ratelimit``, shared with the dashboard's
sign-in). Roles:
viewer < analyst < admin. Key storage lives in ``services.keys`` (hashed, never plain).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from trendcast.api.errors import ApiError
from trendcast.api.stores import store_of
from trendcast.dashboard.session import KEY_COOKIE, clear_key_cookie, client_address, set_key_cookie
from trendcast.services.keys import (
    ROLES,
    InvalidKeyError,
    Principal,
    authenticate,
    check_role,
    create_key,
    list_keys,
    revoke_key,
)

KEY_HEADER = "X-API-Key"

_header = APIKeyHeader(name=KEY_HEADER, auto_error=False, scheme_name="ApiKeyHeader",
                       description="An API key, e.g. from `trendcast keys create --role analyst`.")
_bearer = HTTPBearer(auto_error=False, scheme_name="BearerKey",
                     description="The same API key as `Authorization: Bearer <key>`.")
_cookie = APIKeyCookie(name=KEY_COOKIE, auto_error=False, scheme_name="KeyCookie",
                       description="Set by signing in (POST /api/session); HttpOnly, SameSite=Strict.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def key_from_request(header: str | None, bearer: HTTPAuthorizationCredentials | None,
                     cookie: str | None) -> str | None:
    """The presented key: header first, then bearer token, then cookie."""
    return header or (bearer.credentials if bearer else None) or cookie or None


class KeyCache:
    """Recently verified keys -> principal, so most requests skip the key lookup.

    Entries live ``ttl`` seconds; revoking a key through the API clears the cache at once
    (while the server runs, no other process can write to its DuckDB workspace).
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Principal | None:
        entry = self._items.get(self._digest(key))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[self._digest(key)] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits keys with ``role`` or above and returns their Principal."""
    check_role(role)

    async def dependency(
        request: Request,
        header: Annotated[str | None, Security(_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
        cookie: Annotated[str | None, Security(_cookie)] = None,
    ) -> Principal:
        key = key_from_request(header, bearer, cookie)
        if not key:
            raise ApiError(401, "unauthorized",
                           f"this endpoint needs an API key with role {role} or above: send "
                           f"`{KEY_HEADER}: <key>` or `Authorization: Bearer <key>`, or sign in; "
                           "create a key with `trendcast keys create --role analyst`",
                           headers=_CHALLENGE)
        cache: KeyCache | None = getattr(request.app.state, "key_cache", None)
        principal = cache.get(key) if cache else None
        if principal is None:
            limiter = getattr(request.app.state, "auth_limiter", None)
            client = client_address(request)
            if limiter is not None:
                limiter.check(client)  # 429 while this client is over its failed attempts
            try:
                principal = await run_in_threadpool(authenticate, store_of(request), key)
            except InvalidKeyError as exc:
                if limiter is not None:
                    limiter.failed(client)
                raise ApiError(401, "invalid_key", str(exc), headers=_CHALLENGE) from None
            if cache:
                cache.put(key, principal)
        if not principal.allows(role):
            raise ApiError(403, "forbidden",
                           f"this needs role {role} or above; key {principal.key_id} has role "
                           f"{principal.role} (an admin can create a key with a higher role)")
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


__all__ = ["KEY_COOKIE", "KEY_HEADER", "ROLES", "InvalidKeyError", "KeyCache", "Principal", "authenticate",
           "clear_key_cookie", "create_key", "key_from_request", "list_keys", "require",
           "revoke_key", "set_key_cookie"]
