"""The report of a weekly shop kept as its export came (returns as negative sales, per-store
drivers, the inventory of a weekly run) reads in Chinese: every note the run, the inventory
and the explanations write has a Chinese pattern (Walmart's report printed the external
driver notes in English, and every run note once more per explained product)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from conftest import visible_words

IDS = ["1_1", "1_2", "2_1", "2_2"]  # store _ department, as Walmart's ids


def _weekly_shop() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    weeks = pd.date_range("2021-01-01", periods=110, freq="W-FRI")
    t = np.arange(len(weeks))
    sales = pd.concat([pd.DataFrame({
        "unique_id": uid, "ds": weeks,
        "y": np.round(300 + 60 * i + 80 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 20, len(t)), 2)})
        for i, uid in enumerate(IDS)], ignore_index=True)
    sales.loc[[5, 200], "y"] = -12.5  # returns, kept as the export has them
    products = pd.DataFrame({"unique_id": IDS, "store": ["1", "1", "2", "2"],
                             "department": ["1", "2", "1", "2"]})
    # per-store indicators named INDICATOR:KEY (a wide file ingested with --map name=Store);
    # temperature runs past the sales (as Walmart's features.csv), size is one old value
    drivers = pd.date_range(weeks[0], periods=len(weeks) + 8, freq="W-FRI")
    macro = pd.concat(
        [pd.DataFrame({"name": f"Temperature:{s}", "ds": drivers,
                       "value": 60 + 20 * np.sin(2 * np.pi * np.arange(len(drivers)) / 52) + int(s)})
         for s in ("1", "2")]
        + [pd.DataFrame({"name": [f"Size:{s}"], "ds": [weeks[0]], "value": [150000.0 * int(s)]})
           for s in ("1", "2")], ignore_index=True)
    return {"sales": sales, "products": products, "macro": macro}


@pytest.fixture
def weekly_store(store):
    from trendcast.services.forecast import run_forecast
    from trendcast.services.ingest import ingest_frames

    shop = _weekly_shop()
    returns = shop["sales"]["y"] < 0
    ingest_frames(store, {"products": shop["products"], "sales": shop["sales"][~returns],
                          "macro": shop["macro"]}, source="test")
    store.upsert("sales", shop["sales"][returns])  # as `ingest --negatives keep` stores them
    run_forecast(store, horizon=4, models=["LightGBMDrivers"])
    return store


def test_a_weekly_report_with_returns_drivers_and_inventory_reads_in_chinese(weekly_store, tmp_path):
    from trendcast.services.report import build_report

    page = build_report(weekly_store, tmp_path, lang="zh", explain=2,
                        alerts_source="off").read_text(encoding="utf-8")
    notes = re.findall(r"<li>(.*?)</li>", page, flags=re.S)
    assert "（英文原文）" not in page, [n for n in notes if "英文原文" in n]
    # ids and the indicators' own names (data, printed as the shop named them) are not English
    names = {"temperature", "size", "Temperature", "Size"}
    assert visible_words(page, set(IDS) | names) == []
    # the notes this shop brings, in Chinese: drivers given and lagged, returns clipped,
    # the weekly run's inventory, the explanations counting weeks
    assert "外部序列 <code>Size, Temperature</code> 按商品的 <code>store</code> 分别取值" in page
    assert "外部因素 <code>Temperature</code>（<code>macro_temperature</code>）：预测期内按已存储的值" in page
    assert "滞后 4 期使用" in page  # Size, lagged by the run's horizon
    assert "拟合时销量在零处截断" in page and "非按日预测" in page
    assert "个训练周样本内预测的几何平均" in page
    # an explanation refits the run's model over the run's horizon (4 weeks, not 7): the notes
    # the run printed are not repeated per product
    assert page.count("假设预测期内没有促销") == 1 and page.count("滞后 4 期使用") == 1
    assert page.count("按已存储的值使用") == 1 and "滞后 7 期" not in page
    assert page.count("<li>2023-") == 2 * 4
    assert "预测 4 周" in page and "未来 4 周预测销量" in page  # the run's horizon, in weeks
