"""Browser-facing hardening of the app: a Content-Security-Policy on every HTML response, and
the API docs (`/docs`) served from this server instead of a public CDN.

- The dashboard's pages set their own policy (``dashboard.routes.CSP``: scripts from this
  origin only). Any other HTML response gets one here: the report (``/api/reports/{lang}``)
  carries plotly inline, so it may run inline scripts but load nothing and connect nowhere;
  the docs page runs swagger-ui from this server and the one inline script that starts it
  (allowed by its hash); other HTML gets the strictest policy.
- swagger-ui's files come from the ``fastapi-offline`` package (MIT, swagger-ui 5.x), served
  under ``/docs/assets``. Without that package `/docs` is off (the schema stays at
  ``/openapi.json``), never loaded from a third party. ReDoc (``/redoc``) is off.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("trendcast.api")

DOCS_ASSETS = "/docs/assets"
_NO_NETWORK = ("img-src data: blob:; font-src data:; connect-src 'none'; object-src 'none'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# The report embeds plotly.js and its figures as inline scripts (it is also a file that opens
# offline): inline scripts and styles may run, but nothing is loaded or sent anywhere.
REPORT_CSP = f"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; {_NO_NETWORK}"
STRICT_CSP = f"default-src 'none'; style-src 'unsafe-inline'; {_NO_NETWORK}"


def docs_assets() -> Path | None:
    """swagger-ui's files shipped by the ``fastapi-offline`` package, if installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def _inline_hashes(html: str) -> list[str]:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in scripts]


def docs_page(openapi_url: str, title: str) -> tuple[str, str]:
    """The swagger-ui page over local assets, and the policy that lets exactly it run."""
    body = get_swagger_ui_html(
        openapi_url=openapi_url, title=f"{title} - API docs",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        swagger_ui_parameters={"tryItOutEnabled": False}).body
    html = bytes(body).decode()
    csp = ("default-src 'none'; script-src 'self' " + " ".join(_inline_hashes(html))
           + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'")
    return html, csp


def install_docs(app: FastAPI) -> bool:
    """Serve `/docs` from this server; False (docs off) when the assets are not installed."""
    folder = docs_assets()
    if folder is None:
        log.warning("API docs (/docs) are off: install fastapi-offline for swagger-ui's files "
                    "(they are never loaded from a CDN); the schema is at /openapi.json")
        return False
    html, csp = docs_page(app.openapi_url or "/openapi.json", app.title)
    app.mount(DOCS_ASSETS, StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    return True


class SecurityHeaders:
    """ASGI middleware: a CSP on every HTML response that has none, and ``nosniff`` on all."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if kind.startswith(b"text/html") and b"content-security-policy" not in names:
                    policy = REPORT_CSP if path.startswith("/api/reports/") else STRICT_CSP
                    headers.append((b"content-security-policy", policy.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
