"""The dashboard's Jinja2 environment: every page and fragment is a template in
``dashboard/templates`` and every value reaches the HTML through autoescaping.

Page bodies are rendered to :class:`~markupsafe.Markup` and handed to the page shell, so a
fragment is escaped exactly once, by the template that printed its values. (The helper
module is not called ``templates.py`` so it cannot be confused with the template folder.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from itertools import count
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from trendcast.dashboard.i18n import tr
from trendcast.dashboard.wording import assumption_text, note_text

MACROS = "macros.html.j2"
_chart_ids = count(1)  # process-wide, so two charts on one page never share an id


def json_for_script(data: object) -> Markup:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` become
    ``\\u`` escapes, so no ``</script>`` can break out; only then is it marked safe."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def fmt_number(value: object, digits: int = 0) -> str:
    """A number with thousands separators; "" for None and NaN; other values as text."""
    if value is None:
        return ""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return ""
    return f"{number:,.{digits}f}"


def quote_path(value: object) -> str:
    """``value`` as one URL path segment (a product id may hold "/", "?" or "#")."""
    return quote(str(value), safe="")


def _chart_id() -> str:
    return f"fig-{next(_chart_ids)}"


def _finalize(value: object) -> object:
    """None prints as nothing (an empty cell), not as the word "None"."""
    return "" if value is None else value


@cache
def environment() -> Environment:
    """The environment, built on first use (the API app imports this module at start-up)."""
    env = Environment(
        loader=PackageLoader("trendcast.dashboard", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=StrictUndefined,  # a misspelt variable fails the page instead of printing ""
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(script_json=json_for_script, number=fmt_number, quote_path=quote_path)
    env.globals.update(tr=tr, chart_id=_chart_id, note=note_text, assumption=assumption_text)
    return env


def render(name: str, **context: Any) -> Markup:
    """Render template ``name``; the result is Markup, safe to print in another template."""
    return Markup(environment().get_template(name).render(**context))


def macro(name: str) -> Callable[..., Markup]:
    """A macro of ``macros.html.j2`` as a Python callable (table cells such as product links)."""
    return getattr(environment().get_template(MACROS).module, name)
