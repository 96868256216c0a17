"""The upload form: a file, its kind, and the ingest options a shop's own export needs (its
column names, date layout, number style, returns, new products, days the shop was closed).

Each option is shown for the kinds it applies to (``dashboard.js`` shows and hides them as
the kind changes, and sends only what is filled in); the names are those of
``POST /api/uploads``, which checks the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

from trendcast.dashboard.i18n import tr
from trendcast.dashboard.templating import render
from trendcast.services.ingest import TABLE_OF, file_columns

KINDS = tuple(TABLE_OF)


@dataclass(frozen=True)
class Option:
    """One option of the form: its API name, control, the kinds it applies to and, for a
    select, its values ("" sends nothing: the API's default)."""

    name: str
    control: Literal["text", "select", "check"]
    kinds: tuple[str, ...]
    choices: tuple[str, ...] = ()


OPTIONS = (
    Option("date_format", "text", KINDS),  # every kind has a date column
    Option("columns", "text", KINDS),  # a file without a header line
    Option("decimal", "select", ("sales", "products", "orders", "reviews", "macro", "stock"),
           ("", ".", ",")),
    # clip and zero both set a negative to 0: one choice is enough on a form
    Option("negatives", "select", ("sales", "orders", "stock"), ("", "keep", "zero")),
    Option("aggregate", "select", ("orders",), ("", "D", "W")),
    Option("week_label", "select", ("sales",), ("", "start", "end")),
    Option("add_products", "check", ("orders", "reviews")),
    Option("allow_gaps", "check", ("sales", "orders")),
    Option("keep_user_ids", "check", ("orders", "events")),
    Option("scrub", "check", ("reviews",)),
)
_CHOICE_KEYS = {"": "default", ".": "dot", ",": "comma"}


def choice_label(lang: str, option: str, value: str) -> str:
    """The label of one value of a select option."""
    return tr(lang, f"opt_{option}_{_CHOICE_KEYS.get(value, value)}")


def upload_form(lang: str) -> Markup:
    """The form, with the options of the first kind shown."""
    columns = {kind: file_columns(kind) for kind in KINDS}
    return render("upload.html.j2", lang=lang, kinds=KINDS, shown=KINDS[0], columns=columns,
                  options=OPTIONS, choice_label=choice_label)
