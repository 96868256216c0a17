"""The page shell and small HTML helpers. Every dynamic value goes through :func:`esc`."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import count

from starlette.requests import Request

from trendcast.dashboard.i18n import JS_KEYS, other_lang, switch_url, tr

_chart_ids = count(1)

# Nav entries: (path, label key). Pages whose service is missing say so when opened.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "nav_overview"),
    ("/trends", "nav_trends"),
    ("/inventory", "nav_inventory"),
    ("/leaderboard", "nav_leaderboard"),
    ("/upload", "nav_upload"),
    ("/forecast", "nav_forecast"),
)


def esc(value: object) -> str:
    """HTML-escape anything (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def json_for_script(data: object | str) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` break-out)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def chart(figure_json: str, *, label: str = "") -> str:
    """A div that ``app.js`` fills with ``Plotly.newPlot`` from the embedded figure JSON."""
    fid = f"fig-{next(_chart_ids)}"
    return (f'<div class="chart" data-figure="{fid}" role="img" aria-label="{esc(label)}"></div>'
            f'<script type="application/json" id="{fid}">{json_for_script(figure_json)}</script>')


def fmt_number(value: object, digits: int = 0) -> str:
    if value is None:
        return ""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(number):
        return ""
    return f"{number:,.{digits}f}"


@dataclass(frozen=True)
class Column:
    """A table column: header label and how to render one row's cell (already escaped)."""

    header: str
    cell: Callable[[dict], str]
    numeric: bool = False


def table(columns: Sequence[Column], rows: Iterable[dict], *, css: str = "data") -> str:
    head = "".join(f'<th class="{"num" if c.numeric else ""}">{esc(c.header)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if c.numeric else ""}">{c.cell(r)}</td>' for c in columns)
        + "</tr>" for r in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def notes_list(notes: Sequence[str], lang: str, *, expanded: bool = False) -> str:
    """A run's or a service's notes (what was assumed or left out), folded unless ``expanded``."""
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    opened = " open" if expanded else ""
    summary = esc(tr(lang, "notes"))
    return f'<details class="notes"{opened}><summary>{summary}</summary><ul>{items}</ul></details>'


def error_box(message: str) -> str:
    return f'<p class="error" role="alert">{esc(message)}</p>'


def page(request: Request, lang: str, title: str, body: str, *, principal: object | None = None,
         active: str = "", nav: bool = True) -> str:
    """A whole HTML page: head, navigation, language switch, body, the browser script."""
    links = ""
    if nav:
        links = "".join(
            f'<a href="{esc(path)}"{" aria-current=page" if path == active else ""}>{esc(tr(lang, key))}</a>'
            for path, key in NAV)
    who = ""
    if principal is not None:
        label = tr(lang, "signed_in_as", key_id=getattr(principal, "key_id", "?"),
                   role=getattr(principal, "role", "?"))
        who = (f'<span class="who">{esc(label)}</span>'
               f'<form method="post" action="/logout" class="inline"><button type="submit">'
               f'{esc(tr(lang, "sign_out"))}</button></form>')
    other = other_lang(lang)
    switch = (f'<a class="lang" id="lang-switch" href="{esc(switch_url(request, other))}" hreflang="{other}" '
              f'lang="{other}">{esc(tr(lang, "switch_to"))}</a>')
    js_text = json_for_script({k: tr(lang, k) for k in JS_KEYS})
    html_lang = "zh-CN" if lang == "zh" else "en"
    return f"""<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · trendcast</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/plotly.min.js" defer></script>
<script src="/static/dashboard.js" defer></script>
</head><body>
<header><a class="brand" href="/">trendcast</a><nav>{links}</nav>
<div class="right">{switch}{who}</div></header>
<main><h1>{esc(title)}</h1>
{body}
</main>
<script type="application/json" id="tc-text">{js_text}</script>
</body></html>"""
