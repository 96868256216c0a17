"""The dashboard's Jinja2 environment: autoescaping, inert figure JSON, table cells."""

from __future__ import annotations

import json
import re

from markupsafe import Markup
from starlette.requests import Request

from trendcast.dashboard.layout import Column, error_box, page
from trendcast.dashboard.templating import environment, json_for_script, macro, render

EVIL = "<script>alert(1)</script>"


def test_the_environment_autoescapes_and_is_built_once():
    env = environment()
    assert env is environment()
    assert env.autoescape is True
    assert {"page.html.j2", "macros.html.j2", "overview.html.j2"} <= set(env.list_templates())


def test_json_for_script_cannot_close_the_script_block():
    text = json_for_script({"title": f"</script>{EVIL} & more"})
    assert isinstance(text, Markup)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"title": f"</script>{EVIL} & more"}


def test_chart_blocks_are_inert_json_with_unique_ids():
    first, second = macro("chart")(json.dumps({"data": [], "layout": {"title": EVIL}}), EVIL), macro("chart")("{}")
    assert EVIL not in first and 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt;"' in first
    ids = re.findall(r'id="(fig-\d+)"', first + second)
    assert len(ids) == 2 and ids[0] != ids[1]


def test_table_cells_are_escaped_unless_a_macro_made_them():
    columns = [Column("<b>id</b>", lambda r: macro("product_link")(r["id"])),
               Column("title", lambda r: r["title"]), Column("n", lambda r: r["n"], numeric=True)]
    html = macro("table")(columns, [{"id": "a/b?c", "title": EVIL, "n": None}])
    assert "<th class=\"\">&lt;b&gt;id&lt;/b&gt;</th>" in html
    assert '<td class=""><a href="/products/a%2Fb%3Fc">a/b?c</a></td>' in html
    assert '<td class="">&lt;script&gt;alert(1)&lt;/script&gt;</td><td class="num"></td>' in html


def _request(path: str = "/", query: bytes = b"") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query, "headers": [],
                    "scheme": "http", "server": ("testserver", 80)})


def test_the_shell_escapes_a_plain_text_body_and_prints_rendered_markup():
    body = render("no_sales.html.j2", lang="zh")
    html = page(_request(query=b"x=1&lang=zh"), "zh", EVIL, body)
    assert '<html lang="zh-CN">' in html and '<section class="card"><p>' in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · trendcast</title>" in html
    assert 'href="/?x=1&amp;lang=en"' in html
    assert "&lt;b&gt;" in page(_request(), "en", "t", "<b>plain text</b>", nav=False)
    tc_text = re.search(r'<script type="application/json" id="tc-text">(.*?)</script>', html).group(1)
    assert json.loads(tc_text)["js_uploading"]


def test_error_box_escapes_its_message():
    html = error_box(EVIL)
    assert str(html) == '<p class="error" role="alert">&lt;script&gt;alert(1)&lt;/script&gt;</p>'


def test_every_upload_kind_and_text_key_is_translated_in_every_language():
    from trendcast.dashboard.i18n import TEXT
    from trendcast.dashboard.pages import upload_body
    from trendcast.services.ingest import TABLE_OF

    for lang in TEXT:
        assert set(TEXT[lang]) == set(TEXT["en"]), lang
        body = str(upload_body(lang, can_write=True, role="analyst"))
        for kind in TABLE_OF:
            assert f'<option value="{kind}">' in body, (lang, kind)
