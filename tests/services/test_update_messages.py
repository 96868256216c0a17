"""The daily update's outcome in Chinese (services.update_messages), as the dashboard shows it.

Every summary and refit reason here is written by the code (run_update, decide) on a small
shop, not copied; each pattern must be used by one of them, and a translation keeps the
update's numbers, version and run ids.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import ConflictError
from trendcast.insights.report_notes import rules_used
from trendcast.services import update as update_module
from trendcast.services import update_messages
from trendcast.services.update import RefitPolicy, decide, run_update
from trendcast.services.update_log import one_line
from trendcast.services.update_messages import known_update, localize_update

# what stays in Latin letters in a Chinese summary: ids, policy names, metric and units
LATIN_OK = re.compile(r"(?:v|fo|ba)-[\w-]+|WAPE|CPU|always|never|P\d+")


def _latin_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", LATIN_OK.sub("", text))


def test_every_summary_and_refit_reason_the_code_writes_reads_in_chinese(store, monkeypatch):
    sales = make_sales(n_series=3, n_days=150)[["unique_id", "ds", "y"]]
    store.upsert("sales", sales[sales["ds"] <= "2024-04-08"])
    texts = [run_update(store, [], refit="auto", horizon=7).summary()]  # no promoted version yet
    store.upsert("sales", sales[sales["ds"] <= "2024-04-09"])
    texts.append(run_update(store, [], refit="auto").summary())  # one period: "1 period old"
    assert "version is 1 period old" in texts[-1]
    store.upsert("sales", sales[sales["ds"] <= "2024-04-11"])
    texts.append(run_update(store, [], refit="auto").summary())  # younger than its horizon
    store.upsert("sales", sales[sales["ds"] <= "2024-04-20"])
    texts.append(run_update(store, [], refit="always").summary())  # a refit, with its WAPE
    texts.append(run_update(store, [], refit="never").summary())
    row = store.model_version(None)
    store.upsert("sales", sales[sales["ds"] <= "2024-05-10"])
    texts.append(decide(store, row, RefitPolicy(max_age=7), "auto")[1])
    texts.append(decide(store, row, RefitPolicy(max_age=999, drift_share=1.0), "auto")[1])
    grown = make_sales(n_series=5, n_days=150)
    store.upsert("sales", grown[grown["unique_id"].isin(["P003", "P004"])
                                & (grown["ds"] <= "2024-05-10")][["unique_id", "ds", "y"]])
    texts.append(decide(store, row, RefitPolicy(), "auto")[1])  # 2 of 5 products are new
    monkeypatch.setattr(update_module, "drift_alerts", lambda store, since, score: pd.DataFrame(
        {"level": ["category", "product"], "name": ["food", "P000"]}))
    texts.append(decide(store, row, RefitPolicy(max_age=999, new_share=1.0), "auto")[1])
    assert any("kept aside" in t or "promoted (WAPE" in t for t in texts), texts
    with rules_used() as used:
        zh = [localize_update(t, "zh") for t in texts]
        assert all(known_update(t) for t in texts), [t for t in texts if not known_update(t)]
    for en, out in zip(texts, zh, strict=True):
        assert out != en and _latin_words(out) == [], (en, out)
        for token in re.findall(r"(?:v|fo)-[\w-]+|\d+(?:\.\d+)?", en):
            assert token in out, (token, en, out)  # ids and numbers kept
    patterns = [p.pattern for p, _ in update_messages._REASONS] + \
               [p.pattern for p, _ in update_messages._LINES]
    with rules_used() as failures:
        with pytest.raises(ConflictError) as held, update_module.one_update_at_a_time(store), \
                update_module.one_update_at_a_time(store):
            pass
        lease, stopped = (localize_update(one_line(e), "zh") for e in (held.value, KeyboardInterrupt()))
    assert lease.startswith("另一次更新自") and " pid " in lease  # who holds it, as written
    assert stopped == "在完成前被中断（Ctrl+C）；已完成的步骤保留"
    from trendcast.models.persistence import (
        ARTEFACT_FORMAT,
        IncompatibleVersionError,
        check_compatible,
        package_versions,
    )

    installed = package_versions()
    name = next(n for n, v in installed.items() if v)
    with rules_used() as refused:
        for kw in ({"saved": {}, "requires": [], "artefact_format": ARTEFACT_FORMAT + 1},
                   {"saved": {name: "0.0.1", "no-such-package": "1.0"},
                    "requires": [name, "no-such-package"], "artefact_format": ARTEFACT_FORMAT}):
            with pytest.raises(IncompatibleVersionError) as bad:
                check_compatible(label="model version v-1", **kw)
            out = localize_update(str(bad.value), "zh")
            assert out.startswith("模型版本 v-1 ") and "`trendcast train`" in out, out
    assert "（当前安装 " in out and "no-such-package 1.0（当前未安装）" in out
    assert [p for p in patterns if p not in used | failures | refused] == []


def test_english_stays_as_written_and_unknown_text_is_kept():
    line = "update: 1 rows from 1 file(s); 0 forecasts scored; 0 drift alert(s); no refit (x); ..."
    assert localize_update(line, "en") == line
    assert localize_update("something new went wrong", "zh") == "something new went wrong"
    assert localize_update("", "zh") == ""
