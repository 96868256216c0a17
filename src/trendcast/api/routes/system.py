"""Health and browser sessions (sign in sets the key cookie; sign out clears it)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from trendcast.api.auth import clear_key_cookie, set_key_cookie
from trendcast.api.deps import StoreDep, Viewer
from trendcast.api.errors import ApiError
from trendcast.api.schemas import Health, PrincipalOut, SessionIn
from trendcast.services.keys import InvalidKeyError, authenticate
from trendcast.version import __version__

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
def health(store: StoreDep) -> Health:
    """Liveness: the package version and the workspace's schema version. No key needed."""
    return Health(status="ok", version=__version__, schema_version=store.schema_version)


@router.post("/session", response_model=PrincipalOut)
def sign_in(body: SessionIn, request: Request, response: Response, store: StoreDep) -> PrincipalOut:
    """Check a key and keep it in an HttpOnly, SameSite=Strict cookie (browser sign-in)."""
    try:
        principal = authenticate(store, body.key)
    except InvalidKeyError as exc:
        raise ApiError(401, "invalid_key", str(exc), field="key") from None
    set_key_cookie(response, body.key.strip(), secure=request.url.scheme == "https")
    return PrincipalOut(key_id=principal.key_id, role=principal.role)  # type: ignore[arg-type]


@router.get("/session", response_model=PrincipalOut)
def whoami(principal: Viewer) -> PrincipalOut:
    """The key this request was made with, and its role."""
    return PrincipalOut(key_id=principal.key_id, role=principal.role)  # type: ignore[arg-type]


@router.delete("/session", status_code=204)
def sign_out(response: Response) -> Response:
    """Forget the key cookie."""
    out = Response(status_code=204)
    clear_key_cookie(out)
    return out
