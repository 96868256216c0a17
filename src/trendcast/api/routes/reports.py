"""The HTML report of a forecast run, as the CLI writes it."""

from __future__ import annotations

import tempfile
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from trendcast.api.deps import StoreDep, Viewer
from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.services import browse
from trendcast.services.report import build_report

router = APIRouter(tags=["reports"])


def report_html(store: Store, run_id: str | None, lang: str) -> str:
    """Build the report of ``run_id`` (default the latest forecast run) and return its HTML."""
    run = browse.get_run(store, run_id) if run_id else browse.latest_run(store, "forecast")
    if run.kind != "forecast":
        raise NotFoundError(f"run {run.run_id} is a {run.kind} run; reports show forecast runs "
                            "(GET /api/runs?kind=forecast)")
    with tempfile.TemporaryDirectory(prefix="trendcast-report-") as folder:
        path = build_report(store, folder, run_id=run.run_id, lang=lang)
        return path.read_text(encoding="utf-8")


@router.get("/reports/{lang}", responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The report page"}})
def report(
    request: Request,
    lang: Annotated[Literal["en", "zh"], Path(description="Report language.")],
    store: StoreDep,
    _: Viewer,
    run_id: Annotated[str | None, Query(max_length=100, description="Forecast run (default latest).")] = None,
) -> HTMLResponse:
    """The HTML report (plotly embedded) of the latest forecast run, or of ``run_id``. Built
    once per run, language and state of the data, then served from memory."""
    html = request.app.state.results.get(("report", run_id, lang), lambda: report_html(store, run_id, lang))
    return HTMLResponse(html)
