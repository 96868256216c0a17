"""Sign-in for the pages and the workspace they read.

The API key lives in the HttpOnly, SameSite=Strict cookie ``trendcast_key``, set and cleared
here for the pages and for the API's ``POST /api/session``; keys are checked by
``services.keys.authenticate``, as the API's ``require`` does, so a key that the API refuses
never opens a page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from trendcast.data.store import Store, open_store
from trendcast.services.keys import InvalidKeyError, Principal, authenticate

WRITE_ROLES = ("analyst", "admin")
KEY_COOKIE = "trendcast_key"
COOKIE_MAX_AGE = 7 * 24 * 3600  # a signed-in browser keeps the key a week


def set_key_cookie(response: Response, key: str, *, secure: bool = False) -> None:
    """Sign a browser in: the key goes in an HttpOnly, SameSite=Strict cookie."""
    response.set_cookie(KEY_COOKIE, key, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="strict", secure=secure)


def clear_key_cookie(response: Response) -> None:
    """Sign a browser out."""
    response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict")


@contextlib.contextmanager
def workspace(request: Request) -> Iterator[Store]:
    """The app's shared, thread-safe store (``app.state.store``, set by ``create_app``); an app
    that only sets ``app.state.db`` gets a store opened for this request and closed after."""
    shared = getattr(request.app.state, "store", None)
    if shared is not None:
        yield shared
        return
    store = open_store(request.app.state.db, settings=getattr(request.app.state, "settings", None))
    try:
        yield store
    finally:
        store.close()


def client_address(request: Request) -> str:
    """The client's address as the server sees it (what failed sign-ins are counted by)."""
    return request.client.host if request.client else "unknown"


def check_key(request: Request, key: str) -> Principal | None:
    """The principal of ``key``, or None when the key is malformed, unknown or revoked.
    TooManyFailures (429) while this client is over its failed attempts (``app.state.auth_limiter``)."""
    limiter = getattr(request.app.state, "auth_limiter", None)
    if limiter is not None:
        limiter.check(client_address(request))
    with workspace(request) as store:
        try:
            return authenticate(store, key)
        except InvalidKeyError:
            if limiter is not None:
                limiter.failed(client_address(request))
            return None


def current(request: Request) -> Principal | None:
    """Who is signed in through the cookie (None: send them to /login)."""
    key = request.cookies.get(KEY_COOKIE)
    return check_key(request, key) if key else None


def can_write(principal: Principal) -> bool:
    return principal.role in WRITE_ROLES


def set_cookie(request: Request, response: Response, key: str) -> None:
    set_key_cookie(response, key, secure=request.url.scheme == "https")


def clear_cookie(response: Response) -> None:
    clear_key_cookie(response)


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` yes; ``//evil``, ``https://evil``, ``/\\evil`` no."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(ch in target for ch in "\r\n\t\\"):
        return "/"
    return target


def quote_next(target: str) -> str:
    return quote(target, safe="")
