"""The page shell and what the page modules share: navigation and table columns.

The HTML itself lives in ``templates/`` (``page.html.j2``, ``macros.html.j2``); values reach
it only through autoescaped template variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request

from trendcast.dashboard.i18n import JS_KEYS, other_lang, switch_url, tr
from trendcast.dashboard.templating import macro, render

# Nav entries: (path, label key). Pages whose service is missing say so when opened.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "nav_overview"),
    ("/trends", "nav_trends"),
    ("/inventory", "nav_inventory"),
    ("/leaderboard", "nav_leaderboard"),
    ("/accuracy", "nav_accuracy"),
    ("/upload", "nav_upload"),
    ("/forecast", "nav_forecast"),
    ("/scenario", "nav_scenario"),
)


@dataclass(frozen=True)
class Column:
    """A table column (``macros.html.j2`` ``table``): header label and one row's cell value,
    printed autoescaped; a cell that needs markup returns Markup from a macro (a link)."""

    header: str
    cell: Callable[[dict], object]
    numeric: bool = False


def error_box(message: str) -> Markup:
    """An alert paragraph with ``message`` (escaped)."""
    return macro("error_box")(message)


def page(request: Request, lang: str, title: str, body: str, *, principal: object | None = None,
         active: str = "", nav: bool = True) -> Markup:
    """A whole HTML page: head, navigation, language switch, ``body`` (Markup from a
    template; plain text would be escaped), the browser script."""
    links = [(path, tr(lang, key), path == active) for path, key in NAV] if nav else []
    who = None
    if principal is not None:
        who = tr(lang, "signed_in_as", key_id=getattr(principal, "key_id", "?"),
                 role=getattr(principal, "role", "?"))
    other = other_lang(lang)
    return render("page.html.j2", lang=lang, html_lang="zh-CN" if lang == "zh" else "en", title=title,
                  body=body, links=links, who=who, other=other, switch_href=switch_url(request, other),
                  js_text={k: tr(lang, k) for k in JS_KEYS})
