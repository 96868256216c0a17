"""`update --job-file`: the day's files of several kinds, each read its own way, stored in one
batch (all or nothing), the catalogue before the orders and reviews that name its new
products."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_sales
from trendcast.errors import DataValidationError, InputFileError, NotFoundError
from trendcast.services.batches import undo_batch
from trendcast.services.jobfile import load_job
from trendcast.services.update import run_update
from trendcast.services.versions import train_version

JOB = """
# the reviews and orders come first here: the new product they name is in products.csv
[[file]]
path = "exports/reviews-*.csv"
kind = "reviews"
map = { unique_id = "sku", text = "comment", rating = "stars", ts = "written" }

[[file]]
path = "exports/orders.csv"
kind = "orders"
map = ["order_id=order", "unique_id=sku", "ts=paid_at", "quantity=qty"]
aggregate = "D"
date_format = "%d/%m/%Y %H:%M"

[[file]]
path = "exports/products.csv"
kind = "products"
map = { unique_id = "sku", category = "cat" }

[[file]]
path = "exports/stock.csv"
kind = "stock"
optional = true
"""


def write_exports(folder: Path, *, bad_rating: bool = False) -> Path:
    exports = folder / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "products.csv").write_text("sku,cat\nP009,shoes\n")
    (exports / "orders.csv").write_text(
        "order,sku,paid_at,qty\nA1,P000,23/04/2024 09:10,2\nA2,P009,23/04/2024 12:00,1\n"
        "A3,P009,23/04/2024 18:30,3\n")
    (exports / "reviews-1.csv").write_text(
        f"sku,comment,stars,written\nP009,fits well,5,2024-04-23 19:00\n"
        f"P000,too small,{9 if bad_rating else 2},2024-04-23 20:00\n")
    job = folder / "daily.toml"
    job.write_text(JOB)
    return job


@pytest.fixture
def trained(store):
    sales = make_sales(n_series=3, n_days=113)  # to 2024-04-22
    store.upsert("sales", sales[["unique_id", "ds", "y"]])
    train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    return store


def test_job_file_reads_each_file_its_own_way_catalogue_first(tmp_path):
    files = load_job(write_exports(tmp_path))
    assert [(f.path.name, f.kind) for f in files] == [
        ("products.csv", "products"), ("orders.csv", "orders"), ("reviews-1.csv", "reviews")]
    orders = files[1]
    assert orders.aggregate == "D" and orders.options.rules.date_format == "%d/%m/%Y %H:%M"
    assert ("quantity", "qty") in orders.options.mapping
    assert files[2].options.mapping == (("unique_id", "sku"), ("text", "comment"),
                                        ("rating", "stars"), ("ts", "written"))


def test_a_job_file_names_the_columns_of_a_file_without_a_header_line(tmp_path):
    from trendcast.data.ingest import load_file

    (tmp_path / "cells.txt").write_text("Good case, Excellent value.\t1\nToo small.\t0\n")
    (tmp_path / "daily.toml").write_text('[[file]]\npath = "cells.txt"\nkind = "reviews"\n'
                                         'columns = "text,rating"\nrating_scale = "0-1"\n'
                                         'set = ["unique_id=phones"]\n')
    [job] = load_job(tmp_path / "daily.toml")
    assert job.options.columns == ("text", "rating")
    df = load_file(job.path, job.kind, options=job.options)
    assert df["text"].tolist() == ["Good case, Excellent value.", "Too small."]
    assert df["rating"].tolist() == [5.0, 1.0]


def test_update_ingests_every_kind_in_one_batch_and_forecasts_the_new_product(trained, tmp_path):
    store = trained
    result = run_update(store, load_job(write_exports(tmp_path)), refit="never")
    assert result.rows == 1 + 3 + 2
    sales = store.read("sales")
    day = sales[sales["ds"] == pd.Timestamp("2024-04-23")].set_index("unique_id")["y"]
    assert day.to_dict() == {"P000": 2.0, "P009": 4.0}  # from the orders, by day
    assert set(store.read("reviews")["unique_id"]) == {"P000", "P009"}
    assert store.read("products").set_index("unique_id").loc["P009", "category"] == "shoes"
    batches = store.batch_rows()[1]
    assert list(batches["kind"]) == ["update"] and "products.csv" in batches.loc[0, "source"]
    run = store.run_forecasts(result.forecast_run)
    assert "P009" in set(run["unique_id"])
    undo_batch(store, batches.loc[0, "batch_id"])  # one undo takes the whole day back
    assert store.count("reviews") == 0 and store.count("orders") == 0
    assert "P009" not in set(store.read("products")["unique_id"])


def test_a_bad_row_in_any_file_stores_nothing_of_the_day(trained, tmp_path):
    store = trained
    before = {t: store.count(t) for t in ("sales", "products", "orders", "reviews", "runs")}
    with pytest.raises(DataValidationError, match=r"reviews-1\.csv.*rating|rating.*reviews-1\.csv"):
        run_update(store, load_job(write_exports(tmp_path, bad_rating=True)), refit="never")
    assert {t: store.count(t) for t in before} == before


def test_refit_never_without_a_version_stops_before_storing_the_day(store, tmp_path):
    """It used to store the files and then fail for want of a version to forecast with."""
    sales = make_sales(n_series=3, n_days=113)
    store.upsert("sales", sales[["unique_id", "ds", "y"]])
    before = {t: store.count(t) for t in ("sales", "products", "orders", "reviews")}
    with pytest.raises(NotFoundError, match="--refit never does not train the first one .*nothing "
                                            "was stored"):
        run_update(store, load_job(write_exports(tmp_path)), refit="never")
    assert {t: store.count(t) for t in before} == before


@pytest.mark.parametrize(("text", "match"), [
    ('[[file]]\npath = "x.csv"\naggregte = "D"\n', r"\[\[file\]\] 1 \(x\.csv\): unknown key 'aggregte'"),
    ('[[file]]\npath = "x.csv"\nkind = "sale"\n', r"unknown kind 'sale'"),
    ('[[file]]\npath = "x.csv"\nkind = "sales"\naggregate = "D"\n', r"aggregate builds sales from orders"),
    ('[[file]]\npath = "x.csv"\nnegatives = "drop"\n', r"negatives"),
    ('[[file]]\npath = "x.csv"\nadd_products = "yes"\n', r"add_products"),
    ('[[file]]\npath = "x.csv"\ndate_format = "dd/mm/yyyy"\n', r"--date-format 'dd/mm/yyyy'"),
    ('[[file]]\npath = "x.csv"\nmap = ["unique_id"]\n', r"expected NAME=VALUE"),
    ('[[files]]\npath = "x.csv"\n', r"unknown key\(s\) \['files'\]"),
    ('path = "x.csv"\n', r"unknown key\(s\) \['path'\]"),
    ('[[file]]\npath = x.csv\n', r"not valid TOML"),
    ('[[file]]\npath = "missing-*.csv"\n', r"no file matches .*missing-\*\.csv.*optional = true"),
])
def test_job_file_mistakes_are_named_before_anything_is_read(tmp_path, text, match):
    (tmp_path / "x.csv").write_text("unique_id,ds,y\nA,2024-01-01,1\n")
    job = tmp_path / "daily.toml"
    job.write_text(text)
    with pytest.raises(InputFileError, match=match) as err:
        load_job(job)
    assert str(job) in str(err.value)


def test_server_checks_a_job_file_before_its_files_exist(tmp_path):
    job = tmp_path / "daily.toml"
    job.write_text('[[file]]\npath = "today/*.csv"\n')
    assert load_job(job, need_files=False) == []
    with pytest.raises(InputFileError, match="no file matches"):
        load_job(job)


def test_cli_update_job_file_and_ingest_options_on_update(tmp_path):
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.data.store import open_store

    def tc(*args: str):
        return CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})

    db = str(tmp_path / "w.duckdb")
    sales = make_sales(n_series=3, n_days=113)[["unique_id", "ds", "y"]]
    sales.to_csv(tmp_path / "sales.csv", index=False)
    assert tc("ingest", str(tmp_path / "sales.csv")).exit_code == 0
    assert tc("train", "--model", "SeasonalNaive", "--horizon", "7", "--no-validate",
              "--jobs", "1").exit_code == 0
    job = write_exports(tmp_path)
    mixed = tc("update", str(tmp_path / "sales.csv"), "--job-file", str(job))
    said = re.sub(r"[│╭╮╰╯─\s]+", " ", mixed.output)
    assert mixed.exit_code == 2 and "give no FILES or reading options with it" in said
    proc = tc("update", "--job-file", str(job), "--refit", "never", "--jobs", "1")
    assert proc.exit_code == 0 and "6 rows from 3 file(s)" in proc.output.replace("\n", " ")
    with open_store(db) as store:
        assert store.count("reviews") == 2 and store.count("orders") == 3
    # update takes ingest's options for one kind too: orders naming an unknown product
    (tmp_path / "more.csv").write_text("order,sku,paid_at,qty\nB1,P010,24/04/2024 10:00,5\n")
    reading = ["--kind", "orders", "--map", "order_id=order", "--map", "unique_id=sku",
               "--map", "ts=paid_at", "--map", "quantity=qty", "--date-format", "%d/%m/%Y %H:%M",
               "--aggregate", "D"]
    refused = tc("update", str(tmp_path / "more.csv"), *reading, "--refit", "never")
    assert isinstance(refused.exception, DataValidationError)
    assert "--add-products" in str(refused.exception)
    done = tc("update", str(tmp_path / "more.csv"), *reading, "--add-products", "--refit", "never",
              "--jobs", "1")
    assert done.exit_code == 0, done.output
    with open_store(db) as store:
        assert store.count("orders") == 4


def test_scheduled_update_ingests_the_job_files(tmp_path):
    from trendcast.cli import _scheduled_update
    from trendcast.data.store import open_store

    location = str(tmp_path / "w.duckdb")
    with open_store(location) as store:
        store.upsert("sales", make_sales(n_series=3, n_days=113)[["unique_id", "ds", "y"]])
        train_version(store, horizon=7, models=["SeasonalNaive"], validate=False)
    _scheduled_update(location, None, write_exports(tmp_path))
    with open_store(location) as store:
        assert store.count("reviews") == 2 and store.count("orders") == 3
