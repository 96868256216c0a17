"""The command line end to end, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import make_sales


def tc(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "trendcast.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env} if env else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"trendcast {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    db, out = root / "demo.duckdb", root / "out"
    proc = tc("demo", "--db", str(db), "--out", str(out), "--products", "30", "--jobs", "1")
    return db, out, proc


def test_demo_runs_end_to_end(demo_run):
    db, out, proc = demo_run
    assert "report:" in proc.stdout and "done in" in proc.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    # plotly.js is embedded, nothing is loaded from a CDN
    assert "Plotly.newPlot" in html and len(html) > 3_000_000
    assert '<script src="http' not in html and "<script src='http" not in html
    assert "Backtest leaderboard" in html and "AutoETS" in html
    info = json.loads(tc("info", "--db", str(db), "--json").stdout)
    tables = info["tables"]
    assert tables["products"]["rows"] == 30 and tables["sales"]["series"] == 30
    for name in ("orders", "events", "reviews", "calendar_events", "macro", "forecasts", "metrics"):
        assert tables[name]["rows"] > 0, name
    assert {r["kind"] for r in info["runs"]} == {"forecast", "backtest"}
    assert (out / "demo_truth" / "products.csv").exists()


def test_report_in_chinese_with_every_section(demo_run, tmp_path):
    db, _, _ = demo_run
    tc("report", "--db", str(db), "--out", str(tmp_path), "--lang", "zh", "--no-pdf", "--alerts", "rating")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "趋势报告" in html and 'lang="zh"' in html
    for heading in ("市场概览", "品类趋势", "涨跌榜", "负面舆情预警", "库存建议", "预测依据", "回测排行榜"):
        assert f"<h2>{heading}" in html, heading
    # the sections hold computed content: trend reasons, inventory figures, explanation sentences
    assert "安全库存" in html and "再订货点" in html
    assert html.count("<li>") >= 3
    assert not (tmp_path / "report.pdf").exists()


def test_the_chinese_report_has_no_english_left(demo_run, tmp_path):
    """Every word a reader sees is Chinese but names: model and metric names, product ids,
    and the shop's own titles and categories (data, printed as the shop wrote them)."""
    import re

    from conftest import visible_words
    from trendcast.data.store import open_store

    db, _, _ = demo_run
    proc = tc("report", "--db", str(db), "--out", str(tmp_path), "--lang", "zh", "--no-pdf", "--alerts", "rating")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    with open_store(str(db), read_only=True) as store:
        products = store.products()
    allowed = set(products["unique_id"].astype(str))
    for col in ("title", "category", "brand"):
        allowed |= {w for v in products[col].dropna().astype(str) for w in re.findall(r"[A-Za-z][A-Za-z_']+", v)}
    assert visible_words(page, allowed) == []
    assert "（英文原文）" not in page
    # not a terminal: progress comes as plain lines, one per step
    assert "[1/6] trend calls" in proc.stderr and "[5/6] writing the report" in proc.stderr


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_pdf_is_a4_and_nothing_runs_past_the_right_margin(demo_run, tmp_path, lang):
    import shutil

    import numpy as np
    from PIL import Image

    from trendcast.insights.pdf import find_browser

    if find_browser() is None or shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        pytest.skip("needs Chromium and poppler-utils (pdftoppm, pdfinfo)")
    db, _, _ = demo_run
    tc("report", "--db", str(db), "--out", str(tmp_path), "--lang", lang, "--alerts", "rating")
    pdf = tmp_path / "report.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    w, h = (float(v) for v in info.split("Page size:")[1].split("pts")[0].split(" x "))
    assert abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5, info  # A4 in points
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == int(info.split("Pages:")[1].split()[0]) >= 4
    for png in pages:
        ink = np.asarray(Image.open(png).convert("L")) < 200
        margin = round(10 / 25.4 * 40)  # the outer 10 mm of the 12 mm side margins
        assert not ink[:, -margin:].any(), f"{png.name}: ink in the right margin (overflow)"
        assert ink.any(), f"{png.name}: blank page"


def test_report_pdf_needs_a_browser_and_says_so(demo_run, tmp_path):
    db, _, _ = demo_run
    env_missing = tc("report", "--db", str(db), "--out", str(tmp_path / "a"), "--alerts", "off",
                     "--explain", "0", check=False, env={"TRENDCAST_CHROMIUM": str(tmp_path / "nope")})
    assert env_missing.returncode == 2 and "--no-pdf" in env_missing.stderr


def test_report_prints_a_pdf(demo_run, tmp_path):
    from trendcast.insights.pdf import find_browser

    if find_browser() is None:
        pytest.skip("no Chromium on this machine (CI installs it: .ci/run)")
    db, _, _ = demo_run
    tc("report", "--db", str(db), "--out", str(tmp_path), "--lang", "en", "--alerts", "off", "--explain", "1")
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Market overview" in html and "Inventory actions" in html


def test_forecast_json_output(demo_run, tmp_path):
    db, _, _ = demo_run
    proc = tc("forecast", "--db", str(db), "--horizon", "7", "--model", "SeasonalNaive",
              "--json", "--jobs", "1")
    payload = json.loads(proc.stdout)
    assert payload["run_id"].startswith("fo-")
    rows = payload["forecasts"]
    assert len(rows) == 30 * 7 and "SeasonalNaive-q-0.9" in rows[0]


def test_bad_file_fails_with_one_line_and_changes_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    good = tmp_path / "good.csv"
    make_sales(n_series=5, n_days=150).to_csv(good, index=False, date_format="%Y-%m-%d")
    first = tc("ingest", str(good), "--db", str(db))
    assert "750 new" in first.stdout
    before = tc("info", "--db", str(db), "--json").stdout

    df = make_sales(n_series=5, n_days=150, seed=2)
    df["ds"] = df["ds"].dt.strftime("%Y-%m-%d")
    df.loc[499, "ds"] = "not-a-date"
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    proc = tc("ingest", str(bad), "--db", str(db), check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "row 500 (line 501), column 'ds': got 'not-a-date'" in proc.stderr.replace("\n", " ") or \
        "row 500 (line 501), column 'ds'" in proc.stderr
    assert tc("info", "--db", str(db), "--json").stdout == before

    second = tc("ingest", str(good), "--db", str(db))
    assert "0 new, 0 updated, 750 unchanged" in second.stdout.replace("\n", " ")
    assert tc("info", "--db", str(db), "--json").stdout == before


def test_cli_errors_are_one_line(tmp_path):
    db = tmp_path / "empty.duckdb"
    proc = tc("forecast", "--db", str(db), "--horizon", "7", check=False)
    assert proc.returncode == 2 and "no sales" in proc.stderr and "Traceback" not in proc.stderr
    proc = tc("ingest", str(tmp_path / "missing.csv"), "--db", str(db), check=False)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = tc("forecast", "--db", str(db), "--horizon", "0", check=False)
    assert proc.returncode == 2 and "horizon" in proc.stderr


def test_db_from_environment_and_festivals(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    good = tmp_path / "good.csv"
    make_sales(n_series=2, n_days=30).to_csv(good, index=False, date_format="%Y-%m-%d")
    monkeypatch.setenv("TRENDCAST_DB", str(db))
    tc("ingest", str(good))
    assert db.exists()
    proc = tc("festivals", "--start", "2024-01-01", "--end", "2024-12-31")
    assert "calendar_events" in proc.stdout
    info = json.loads(tc("info", "--json").stdout)
    assert info["location"] == str(db)
    assert info["tables"]["calendar_events"]["rows"] > 30


@pytest.mark.slow  # ~10 s: in CI's slow run, keeping the default suite under its budget
def test_catalogue_commands_monthly_forecast_cleaning_stock_and_country_calendar(tmp_path):
    db = str(tmp_path / "cat.duckdb")
    sales = make_sales(n_series=2, n_days=200)
    sales.loc[(sales["unique_id"] == "P001") & sales["ds"].between("2024-03-01", "2024-03-07"), "y"] = 0.0
    path = tmp_path / "sales.csv"
    sales.to_csv(path, index=False, date_format="%Y-%m-%d")
    stock = tmp_path / "stock.csv"
    stock.write_text("unique_id,ds,on_hand\nP000,2024-04-02,0\nP000,2024-04-03,12\n")
    tc("ingest", str(path), "--db", db)
    assert "stock_history: 2 new" in tc("ingest", str(stock), "--kind", "stock", "--db", db).stdout
    assert "daily sales" in tc("info", "--db", db).stdout
    assert json.loads(tc("info", "--db", db, "--json").stdout)["freq"] == "D"
    assert "US" in tc("festivals", "--country", "US", "--db", db).stdout
    preview = json.loads(tc("clean", "--json", "--db", db).stdout)
    reasons = {(r["unique_id"], r["reason"]) for r in preview}
    assert ("P001", "stock-out (inferred)") in reasons and ("P000", "stock-out (stock history)") in reasons
    run = tc("forecast", "--model", "SeasonalNaive", "--horizon", "2", "--freq", "M", "--clean", "--db", db)
    assert "aggregated to monthly" in run.stdout and "cleaning:" in run.stdout
    out = tc("forecast", "--model", "SeasonalNaive", "--horizon", "7", "--clean", "--json", "--db", db)
    run_id = json.loads(out.stdout)["run_id"]
    shown = tc("clean", "--run", run_id, "--db", db).stdout
    assert "changed in run" in shown and "P001" in shown


def test_update_reads_new_files_with_the_ingest_options_and_prints_its_notes(tmp_path):
    """A Walmart-like weekly export (Store, Dept, Date, Weekly_Sales, returns as negative
    sales) fed to the daily job: `update` takes --map and --negatives as `ingest` does, and
    prints what it noted (before: no such option, and notes were never shown)."""
    db = str(tmp_path / "w.duckdb")
    weeks = pd.date_range("2023-01-06", periods=60, freq="W-FRI")
    rows = [(s, d, w.strftime("%Y-%m-%d"), 100.0 + 10 * s + d + (i % 5))
            for s in (1, 2) for d in (1, 2) for i, w in enumerate(weeks)]
    frame = pd.DataFrame(rows, columns=["Store", "Dept", "Date", "Weekly_Sales"])
    frame.loc[3, "Weekly_Sales"] = -12.5
    old, new = frame[frame["Date"] < "2024-02-01"], frame[frame["Date"] >= "2024-02-01"].copy()
    new.loc[new.index[0], "Weekly_Sales"] = -4.0
    old.to_csv(tmp_path / "old.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    reading = ["--map", "unique_id=Store+Dept", "--map", "ds=Date", "--map", "y=Weekly_Sales",
               "--negatives", "keep"]
    tc("ingest", str(tmp_path / "old.csv"), *reading, "--db", db)
    tc("train", "--model", "SeasonalNaive", "--horizon", "4", "--no-validate", "--jobs", "1", "--db", db)
    proc = tc("update", str(tmp_path / "new.csv"), *reading, "--refit", "never", "--jobs", "1", "--db", db)
    assert f"{len(new)} rows from 1 file(s)" in proc.stdout.replace("\n", " ")
    assert "note: new.csv: y: 1 negative value(s) kept as returns" in proc.stdout
    info = json.loads(tc("info", "--db", db, "--json").stdout)
    assert info["tables"]["sales"]["rows"] == len(frame)
