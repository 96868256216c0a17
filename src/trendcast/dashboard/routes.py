"""The dashboard's routes: server-rendered pages, sign-in and the plotly.js bundle.

Included by ``trendcast.api.app.create_app``; pages read the workspace at ``app.state.db``
through the services, and the browser calls the REST API for uploads and forecast jobs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from trendcast.dashboard import accuracy_page, insight_pages, pages, queries, session
from trendcast.dashboard.i18n import LANG_COOKIE, lang_from_query, pick_lang, tr
from trendcast.dashboard.layout import error_box, page
from trendcast.data.store import Store
from trendcast.errors import InputFileError, NotFoundError, TrendcastError
from trendcast.insights.periods import stored_periods
from trendcast.services.keys import Principal

router = APIRouter(include_in_schema=False)

# Scripts only from this origin (figures travel as inert JSON blocks); plotly needs inline
# styles ('unsafe-inline' for styles only: without it its legends and axes lose their layout).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_YEAR = 365 * 24 * 3600
TREND_ROWS = 20  # rows per trend class unless ?all=1


def plotly_js_path() -> Path:
    """plotly.min.js inside the installed plotly package (served, never copied or fetched)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise NotFoundError(f"plotly.min.js not found at {path}; reinstall plotly (pip install plotly)")
    return path


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(plotly_js_path(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


def _html(request: Request, lang: str, content: str, *, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(content, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    _remember_lang(request, response)
    return response


def _remember_lang(request: Request, response: Response) -> None:
    chosen = lang_from_query(request)
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=_YEAR, path="/", samesite="lax")


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/login?next={session.quote_next(target)}", status_code=303)
    _remember_lang(request, response)
    return response


def _section_error(lang: str, exc: TrendcastError) -> str:
    return error_box(tr(lang, "page_error", message=str(exc)))


# Sign-in ------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - query name
    lang = pick_lang(request)
    body = pages.login_body(lang, next_url=session.safe_next(next))
    return _html(request, lang, page(request, lang, tr(lang, "login_title"), body, nav=False))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    lang = pick_lang(request)
    key = key.strip()
    target = session.safe_next(next)
    principal = session.check_key(request, key) if key else None
    if principal is None:
        message = tr(lang, "login_bad" if key else "login_missing")
        body = pages.login_body(lang, next_url=target, error=message)
        return _html(request, lang, page(request, lang, tr(lang, "login_title"), body, nav=False), status=401)
    response = RedirectResponse(target, status_code=303)
    session.set_cookie(request, response, key)
    return response


@router.api_route("/logout", methods=["GET", "POST"])
def logout(request: Request) -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    session.clear_cookie(response)
    return response


# Pages --------------------------------------------------------------------------------------

def _render(request: Request, who: Principal, lang: str, title: str, body: str, *, active: str = "",
            status: int = 200) -> HTMLResponse:
    return _html(request, lang, page(request, lang, title, body, principal=who, active=active), status=status)


def _store_page(request: Request, title_key: str, active: str,
                body: Callable[[Store, str], str]) -> Response:
    """A signed-in page whose body is built from the workspace in the chosen language."""
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    with session.workspace(request) as store:
        html_body = body(store, lang)
    return _render(request, who, lang, tr(lang, title_key), html_body, active=active)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    return _store_page(request, "overview_title", "/", pages.overview_body)


@router.get("/products/{uid}", response_class=HTMLResponse)
def product(request: Request, uid: str, run: str | None = None, model: str | None = None) -> Response:
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    with session.workspace(request) as store:
        try:
            view = queries.product(store, uid, run_id=run)
        except NotFoundError as exc:
            return _render(request, who, lang, tr(lang, "not_found_title"), error_box(str(exc)), status=404)
        freq = queries.workspace_freq(store)  # explain refits on the stored sales: their periods
    chosen = None
    if view.run is not None and view.forecast is not None:
        chosen = model if model in view.run.models else view.choice.model if view.choice else None
    # the run's horizon in the stored periods explain refits on (a --freq M run's months are
    # days of a daily shop), at most the 28 the drivers route takes
    days = (min(stored_periods(view.run.horizon or 7, view.run.freq, freq), 28)
            if view.run is not None else 7)
    drivers = insight_pages.drivers_placeholder(uid, lang, model=chosen, days=days, freq=freq)
    body = pages.product_body(view, lang, model=chosen, drivers_html=drivers)
    return _render(request, who, lang, tr(lang, "product_title", uid=uid), body)


@router.get("/products/{uid}/drivers", response_class=HTMLResponse)
def product_drivers(request: Request, uid: str, model: str,
                    days: Annotated[int, Query(ge=1, le=28)] = 7) -> Response:
    """An HTML fragment (the product page loads it on demand): the forecast's drivers."""
    who = session.current(request)
    if who is None:
        return _html(request, pick_lang(request), error_box("sign in first (/login)"), status=401)
    lang = pick_lang(request)
    with session.workspace(request) as store:
        try:
            body = insight_pages.drivers_fragment(store, uid, lang, model=model, days=days)
        except TrendcastError as exc:
            return _html(request, lang, error_box(str(exc)), status=_status(exc))
    return _html(request, lang, body)


@router.get("/trends", response_class=HTMLResponse)
def trends(request: Request, level: str = "product", all: bool = False) -> Response:  # noqa: A002
    def body(store: Store, lang: str) -> str:
        try:
            return insight_pages.trends_body(store, lang, level=level, top=None if all else TREND_ROWS,
                                             cache=getattr(request.app.state, "results", None))
        except TrendcastError as exc:
            return _section_error(lang, exc)

    return _store_page(request, "trends_title", "/trends", body)


@router.get("/inventory", response_class=HTMLResponse)
def inventory(request: Request) -> Response:
    who = session.current(request)
    if who is None:
        return _to_login(request)
    return _inventory_page(request, who, insight_pages.InventoryForm())


@router.post("/inventory", response_class=HTMLResponse)
async def inventory_with_stock(
    request: Request,
    lead_time: Annotated[str, Form()] = "7",
    review: Annotated[str, Form()] = "7",
    service_level: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    stock: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The inventory page for other settings and, optionally, a stock file (not stored)."""
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    form, frame, error = insight_pages.InventoryForm(), None, None
    try:
        form = insight_pages.parse_inventory_form(lang, lead_time, review, service_level, model)
        if stock is not None and stock.filename:
            frame = await _read_stock(request, lang, stock)
    except TrendcastError as exc:
        error = str(exc)
    return await run_in_threadpool(_inventory_page, request, who, form, stock=frame, error=error)


async def _read_stock(request: Request, lang: str, upload: UploadFile) -> pd.DataFrame:
    """The uploaded stock file through ``services.inventory.read_stock`` (same checks as the CLI)."""
    from trendcast.services.ingest_messages import localize_message
    from trendcast.services.inventory import read_stock

    limit = getattr(request.app.state, "max_upload_bytes", 50 * 1024 * 1024)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(tr(lang, "inv_too_large", mb=limit // (1024 * 1024)))
    suffix = ".parquet" if (upload.filename or "").endswith(".parquet") else ".csv"
    with tempfile.TemporaryDirectory(prefix="trendcast-stock-") as folder:
        path = Path(folder) / f"stock{suffix}"
        path.write_bytes(data)
        try:
            return read_stock(path)
        except TrendcastError as exc:
            # Name the file as the user knows it, not the temporary copy; in the page's language.
            message = str(exc).replace(str(path), upload.filename or "stock file")
            raise type(exc)(localize_message(message, lang)) from None


def _inventory_page(request: Request, who: Principal, form: insight_pages.InventoryForm, *,
                    stock: pd.DataFrame | None = None, error: str | None = None) -> HTMLResponse:
    lang = pick_lang(request)
    with session.workspace(request) as store:
        try:
            body = insight_pages.inventory_body(store, lang, form, stock=stock, error=error)
        except TrendcastError as exc:
            body = insight_pages.inventory_body(store, lang, form, error=str(exc))
    return _render(request, who, lang, tr(lang, "inventory_title"), body, active="/inventory")


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard(request: Request) -> Response:
    return _store_page(request, "leaderboard_title", "/leaderboard", pages.leaderboard_body)


@router.get("/accuracy", response_class=HTMLResponse)
def accuracy(request: Request, model: str | None = None) -> Response:
    """Live forecast accuracy per category and week, and the drift alerts."""
    def body(store: Store, lang: str) -> str:
        try:
            return accuracy_page.accuracy_body(store, lang, model=model)
        except TrendcastError as exc:
            return _section_error(lang, exc)

    return _store_page(request, "accuracy_title", "/accuracy", body)


@router.get("/upload", response_class=HTMLResponse)
def upload(request: Request) -> Response:
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    body = pages.upload_body(lang, can_write=session.can_write(who), role=who.role)
    return _render(request, who, lang, tr(lang, "upload_title"), body, active="/upload")


@router.get("/forecast", response_class=HTMLResponse)
def forecast(request: Request) -> Response:
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    from trendcast.models.registry import MODELS

    models = [m for m in pages.FORM_MODELS if m in MODELS or m == "auto"]
    with session.workspace(request) as store:
        products = pages.top_products(store)
        promoted = pages.promoted_version(store)
        freq = queries.workspace_freq(store)
    body = pages.forecast_body(lang, can_write=session.can_write(who), role=who.role, products=products,
                               models=models, promoted=promoted, freq=freq)
    return _render(request, who, lang, tr(lang, "forecast_title"), body, active="/forecast")


@router.get("/scenario", response_class=HTMLResponse)
def scenario(request: Request, run: str | None = None) -> Response:
    """The what-if form and a run's plan beside its baseline (the form posts to the API)."""
    who = session.current(request)
    if who is None:
        return _to_login(request)
    lang = pick_lang(request)
    from trendcast.models.registry import MODELS

    models: list[str] = [m for m in ("LightGBM", "Chronos2", "SeasonalNaive", "AutoETS") if m in MODELS]
    body: str
    with session.workspace(request) as store:
        try:
            body = pages.scenario_body(store, lang, can_write=session.can_write(who), role=who.role,
                                       models=models, run_id=run)
        except TrendcastError as exc:
            body = _section_error(lang, exc)
    return _render(request, who, lang, tr(lang, "scenario_title"), body, active="/scenario")


def _status(exc: TrendcastError) -> int:
    return 404 if isinstance(exc, NotFoundError) else 422
