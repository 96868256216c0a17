"""The upload form's options in a real browser (the system Chromium, the real app on a free
local port): a shop's own export goes in through the mapping and date-format fields, and a
refused upload points at the field that fixes it."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.dashboard import harness


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    if not harness.chromium_path().exists():
        pytest.skip(f"no Chromium at {harness.chromium_path()}: install it (apt-get install chromium)")


def _workspace(db, sales: pd.DataFrame | None = None) -> str:
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.keys import create_key

    with open_store(db) as store:
        if sales is not None:
            ingest_frames(store, {"sales": sales}, source="test")
        return create_key(store, "analyst")


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    return problems


# The form fields besides the file of each request the page sends (the browser does not
# show a multipart body holding a file to the test).
_RECORD_FORM_FIELDS = """() => {
  const send = window.fetch;
  window.sentFields = null;
  window.fetch = (url, opts) => {
    if (opts && opts.body instanceof FormData) {
      window.sentFields = [...opts.body.entries()].filter(([k]) => k !== "file");
    }
    return send(url, opts);
  };
}"""


def _submit(page) -> str:
    page.click("#upload-submit")
    page.wait_for_selector("#upload-result .ok, #upload-result .error", timeout=30_000)
    return page.inner_text("#upload-result")


def test_an_export_with_its_own_column_names_and_day_first_dates(tmp_path):
    from playwright.sync_api import sync_playwright

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store

    db = tmp_path / "ws.duckdb"
    key = _workspace(db)
    export = tmp_path / "walmart.csv"  # day-first: 01/03/2024 is the 1st of March
    export.write_text("Store,Dept,Date,Weekly_Sales\n" + "".join(
        f"1,{dept},{day:02d}/03/2024,{10 * dept + day}\n" for dept in (1, 2) for day in range(1, 6)),
        encoding="utf-8")
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page(locale="en-US")
        problems = _watch(page)
        harness.sign_in(page, base, key)
        page.goto(f"{base}/upload")
        assert not page.is_visible("#opt-date_format")  # the options start folded
        page.click("#upload-options > summary")
        # each kind shows its own options: orders add "aggregate", sales have the closed-shop box
        assert page.is_visible("#opt-allow_gaps") and not page.is_visible("#opt-aggregate")
        page.select_option("#upload-kind", "orders")
        assert page.is_visible("#opt-aggregate") and page.is_visible("#map-orders-order_id")
        assert not page.is_visible("#map-sales-y") and not page.is_visible("#opt-week_label")
        page.select_option("#upload-kind", "sales")
        page.fill("#map-sales-unique_id", "Store+Dept")
        page.fill("#map-sales-ds", "Date")
        page.fill("#map-sales-y", "Weekly_Sales")
        page.fill("#opt-date_format", "%d/%m/%Y")
        page.set_input_files("#upload-file", str(export))
        page.evaluate(_RECORD_FORM_FIELDS)
        text = _submit(page)
        assert "sales: 10 new" in text, text
        sent = page.evaluate("window.sentFields")
    assert problems == [], problems
    # only what was filled in is sent: no empty option, nothing of the kinds not chosen
    assert sent == [["map", "unique_id=Store+Dept"], ["map", "ds=Date"], ["map", "y=Weekly_Sales"],
                    ["date_format", "%d/%m/%Y"]], sent
    with open_store(db, read_only=True) as store:
        sales = store.read("sales").sort_values(["unique_id", "ds"])
    assert sales["unique_id"].tolist() == ["1_1"] * 5 + ["1_2"] * 5
    assert pd.to_datetime(sales["ds"]).dt.strftime("%Y-%m-%d").tolist()[:5] == [
        f"2024-03-{day:02d}" for day in range(1, 6)]
    assert sales["y"].tolist() == [11.0, 12.0, 13.0, 14.0, 15.0, 21.0, 22.0, 23.0, 24.0, 25.0]


def test_a_missed_export_points_to_the_closed_shop_box(tmp_path):
    from playwright.sync_api import sync_playwright

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store

    db = tmp_path / "ws.duckdb"
    sales = make_sales(n_series=2, n_days=60)[["unique_id", "ds", "y"]]
    key = _workspace(db, sales)
    later = sales["ds"].max() + pd.Timedelta(days=3)  # the two days before it never came
    day = tmp_path / "day.csv"
    day.write_text(f"unique_id,ds,y\nP000,{later:%Y-%m-%d},4\nP001,{later:%Y-%m-%d},6\n", encoding="utf-8")
    no_y = tmp_path / "no_y.csv"
    no_y.write_text(f"unique_id,ds,units\nP000,{later:%Y-%m-%d},4\n", encoding="utf-8")
    with harness.serve(create_app(db, workers=1)) as base, sync_playwright() as p, \
            harness.browser(p) as browser:
        page = browser.new_page(locale="en-US")
        problems = _watch(page)
        harness.sign_in(page, base, key)
        page.goto(f"{base}/upload")
        page.set_input_files("#upload-file", str(day))
        text = _submit(page)
        assert "no product has a sales row for" in text and "Nothing was stored" in text, text
        hint = page.inner_text("#upload-error .fix[data-fix=allow_gaps]")
        assert "tick “The shop was closed on the missing days" in hint, hint
        assert page.is_visible("#opt-allow_gaps")  # the options opened, the box outlined
        assert "needs-fix" in page.get_attribute("label:has(#opt-allow_gaps)", "class")
        page.click("#upload-error .fix[data-fix=allow_gaps] button")
        assert page.evaluate("document.activeElement.id") == "opt-allow_gaps"

        page.goto(f"{base}/upload?lang=zh")  # the same refusal and hint in Chinese
        page.set_input_files("#upload-file", str(day))
        text = _submit(page)
        assert "上传失败： 没有任何商品在" in text and "未保存任何数据" in text, text
        assert "--allow-gaps" in text and "no product has" not in text, text
        assert "勾选“缺失的日期店铺停业" in page.inner_text("#upload-error .fix[data-fix=allow_gaps]")

        # a column missing: said in Chinese, and the mapping field of that column pointed at
        page.set_input_files("#upload-file", str(no_y))
        text = _submit(page)
        assert "缺少销量必需的列 'y'" in text and "--map y=<你的列名>" in text, text
        assert "填写“y — 销量”" in page.inner_text("#upload-error .fix[data-fix=map-y]")

        page.set_input_files("#upload-file", str(day))
        page.check("#opt-allow_gaps")
        text = _submit(page)
        assert "sales: 2 新增" in text and "按每个商品零销量保存（--allow-gaps）" in text, text
        assert page.query_selector("#upload-form .needs-fix") is None
    with open_store(db, read_only=True) as store:
        assert store.count("sales") == len(sales) + 2
    # Chromium logs each refused upload's 422; nothing else (no script error, no CSP violation)
    assert len(problems) == 3 and all("status of 422" in m for m in problems), problems
