"""Issue 13 through the API: the ingest options as form fields, the CLI's message with 422,
413 for every reading limit, and no 500 for the inputs that used to give one."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pandas as pd
import pytest
from apikit import auth, make_keys
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trendcast.api.app import create_app
from trendcast.cli import app as cli_app


@pytest.fixture
def env(workspace_url):
    keys = make_keys(workspace_url)
    with TestClient(create_app(workspace_url, max_upload_mb=1)) as client:
        yield client, keys["analyst"], workspace_url


def post(client, key, content: bytes, name: str, *, query: str = "", data=None):
    return client.post(f"/api/uploads?{query}", files={"file": (name, content, "application/octet-stream")},
                       data=data or {}, headers=auth(key))


def tables(client) -> dict[str, int]:
    store = client.app.state.store
    return {t: store.count(t) for t in ("sales", "products", "orders", "reviews", "macro", "events",
                                        "calendar_events")}


WALMART = b"Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,10.5,FALSE\n1,2,2010-02-05,-3,FALSE\n"


def test_options_as_form_fields_match_the_cli(env, tmp_path):
    client, key, _ = env
    data = {"kind": "sales", "map": ["unique_id=Store+Dept", "ds=Date", "y=Weekly_Sales"],
            "negatives": "keep"}
    resp = post(client, key, WALMART, "train.csv", data=data)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert any("1 negative value(s) kept" in n for n in body["notes"])
    assert any("extra column(s) not stored: IsHoliday" in n for n in body["notes"])
    sales = client.app.state.store.read("sales").sort_values("unique_id")
    assert sales["unique_id"].tolist() == ["1_1", "1_2"] and sales["y"].tolist() == [10.5, -3.0]


def test_options_as_query_parameters(env):
    client, key, _ = env
    query = "kind=macro&map=ds%3Ddate"
    resp = post(client, key, b"date,dcoilwtico\n2013-01-02,93.14\n", "oil.csv", query=query)
    assert resp.status_code == 201, resp.text
    assert client.app.state.store.read("macro")["name"].tolist() == ["dcoilwtico"]


def test_unknown_form_field_and_bad_option_are_422(env):
    client, key, _ = env
    resp = post(client, key, WALMART, "t.csv", data={"kind": "sales", "negatve": "keep"})
    assert resp.status_code == 422 and "negatve" in resp.json()["error"]["message"]
    resp = post(client, key, WALMART, "t.csv", data={"kind": "sales", "tz": "Mars/Base"})
    assert resp.status_code == 422 and "not a time zone" in resp.json()["error"]["message"]
    resp = post(client, key, WALMART, "t.csv")
    assert resp.status_code == 422 and "kind=sales" in resp.json()["error"]["message"]


def _recent_weeks() -> bytes:
    # two weekly dates, the last 3 days ago (by the real clock: the API and CLI take no `now`)
    last = pd.Timestamp.now().normalize() - pd.Timedelta(days=3)
    rows = [f"A,{d:%Y-%m-%d},{y}" for d, y in ((last - pd.Timedelta(days=7), 4), (last, 5))]
    return ("unique_id,ds,y\n" + "\n".join(rows) + "\n").encode()


def test_week_label_as_form_field_and_cli_option(env, tmp_path):
    client, key, _ = env
    resp = post(client, key, _recent_weeks(), "w.csv", data={"kind": "sales", "week_label": "Friday"})
    assert resp.status_code == 422 and "start (weeks dated by their first day) or end" in resp.text
    resp = post(client, key, _recent_weeks(), "w.csv", data={"kind": "sales", "week_label": "end"})
    assert resp.status_code == 201, resp.text
    store = client.app.state.store
    assert store.count("sales") == 2 and store.meta("week_label") == "end"  # the week has ended
    path = tmp_path / "w.csv"
    path.write_bytes(_recent_weeks())
    db = str(tmp_path / "cli.duckdb")
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--db", db, "--week-label", "start"])
    assert result.exit_code == 0 and "--week-label end" in result.output  # the week is running
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--db", db, "--week-label", "end"])
    assert result.exit_code == 0 and "1 new" in result.output, result.output
    result = CliRunner().invoke(cli_app, ["info", "--db", db])
    assert "dated by the week's last day" in result.output


def test_api_422_carries_the_message_the_cli_prints(env, tmp_path):
    client, key, db = env
    content = b"unique_id,ds,y\nA,2024-01-01,inf\n"
    resp = post(client, key, content, "bad.csv", data={"kind": "sales"})
    assert resp.status_code == 422
    api_message = resp.json()["error"]["message"]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(cli_app, ["ingest", str(path), "--db", str(tmp_path / "cli.duckdb")])
    assert isinstance(result.exception, Exception)
    assert str(result.exception).replace(str(path), "bad.csv") == api_message
    assert "row 1 (line 2), column 'y': got 'inf', expected a finite number" in api_message


def _encrypted_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("s.csv", "unique_id,ds,y\nA,2024-01-01,1\n")
    raw = bytearray(buf.getvalue())
    raw[6] |= 1
    raw[raw.rfind(b"PK\x01\x02") + 8] |= 1
    return bytes(raw)


def _parquet(**columns) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _xlsx_truncated() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"unique_id": ["A"] * 50, "ds": "2024-01-01", "y": 1}).to_excel(buf, index=False)
    return buf.getvalue()[:1500]


FORMER_500S = [
    ("zone-suffixed dates", "s.csv", b"unique_id,ds,y\nA,2024-02-01T23:30:00+08:00,1\nA,x,1\n", "sales", 422),
    ("header with ' y'", "s.csv", b"unique_id,ds,y, y\nA,2024-01-01,1,2\n", "sales", 422),
    ("BOM before a later column", "s.csv", "unique_id,ds,\ufeffy\nA,2024-01-01,1\n".encode(), "sales", 422),
    ("encrypted zip", "s.zip", _encrypted_zip(), "sales", 422),
    ("truncated xlsx", "s.xlsx", _xlsx_truncated(), "sales", 422),
    ("parquet ds int", "s.parquet", _parquet(unique_id=["A"], ds=[20240101], y=[1.0]), "sales", 422),
    ("parquet ds float", "s.parquet", _parquet(unique_id=["A"], ds=[1.5], y=[1.0]), "sales", 422),
    ("parquet ds binary", "s.parquet", _parquet(unique_id=["A"], ds=[b"x"], y=[1.0]), "sales", 422),
    ("parquet y list", "s.parquet", _parquet(unique_id=["A"], ds=["2024-01-01"], y=[[1.0]]), "sales", 422),
    ("14-digit unixReviewTime", "a.json", json.dumps({"asin": "B", "unixReviewTime": 14726880000000,
                                                      "overall": 5.0, "reviewText": "x"}).encode(),
     "reviews&format=amazon-reviews&add_products=true", 422),
    ("mangled macro", "m.csv", b"ds\n2024-01-01\n", "macro", 422),
    ("calendar 1700-2260", "c.csv", b"ds,name,end\n1700-01-01,x,2260-01-01\n", "calendar", 422),
    ("date past 2262", "p.csv", b"unique_id,ds,y\nP0001,2262-04-11,1\n", "sales", 422),
    ("gzip bomb", "s.csv.gz", gzip.compress(b"unique_id,ds,y\n" + b"A,2024-01-01,1\n" * 3_000_000, 9),
     "sales", 413),
    ("million columns", "s.csv", b"," * 1_000_000 + b"\n", "sales", 413),
]


@pytest.mark.parametrize("name, filename, content, kind, status", FORMER_500S, ids=[c[0] for c in FORMER_500S])
def test_former_500s_are_clear_4xx_and_store_nothing(env, name, filename, content, kind, status):
    client, key, _ = env
    before = tables(client)
    resp = post(client, key, content, filename, query=f"kind={kind}")
    assert resp.status_code == status, resp.text
    assert "Traceback" not in resp.text and resp.json()["error"]["message"]
    assert tables(client) == before
    assert client.get("/api/health").status_code == 200


def test_the_parse_worker_returns_what_parsing_here_returns(tmp_path):
    from trendcast.api.parsing import parse_in_worker
    from trendcast.data.ingest import load_file, make_options
    from trendcast.errors import DataValidationError

    path = tmp_path / "t.csv"
    path.write_bytes(WALMART)
    opts = make_options(mapping=["unique_id=Store+Dept", "ds=Date", "y=Weekly_Sales"], negatives="keep")
    here, there = load_file(path, "sales", options=opts), parse_in_worker(path, "sales", options=opts)
    pd.testing.assert_frame_equal(here, there)
    assert there.attrs["notes"] == here.attrs["notes"]
    with pytest.raises(DataValidationError, match="expected a number >= 0") as err:
        parse_in_worker(path, "sales", options=make_options(
            mapping=["unique_id=Store+Dept", "ds=Date", "y=Weekly_Sales"]))
    assert err.value.problems and err.value.problems[0]["row"] == 2  # problems survive the process


def test_an_upload_that_skips_days_for_every_product_is_refused_unless_allowed(env):
    """The REST daily path (upload, then POST /api/jobs/update): a missed export is refused
    with 422 and stores nothing; allow_gaps=true stores it (a closed shop)."""
    client, key, _ = env
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    first = "unique_id,ds,y\n" + "".join(f"A,{d:%Y-%m-%d},{3 + i % 4}\n" for i, d in enumerate(days))
    assert post(client, key, first.encode(), "s.csv", data={"kind": "sales"}).status_code == 201
    late = b"unique_id,ds,y\nA,2024-02-13,4\n"  # 10 and 11 February never came
    resp = post(client, key, late, "d.csv", data={"kind": "sales"})
    message = resp.json()["error"]["message"]
    assert resp.status_code == 422 and "no product has a sales row for 2024-02-10, 2024-02-11" in message
    assert "allow_gaps=true" in message and tables(client)["sales"] == 40
    assert resp.json()["error"]["options"] == ["allow_gaps"]  # what the dashboard points at
    resp = post(client, key, late, "d.csv", data={"kind": "sales", "allow_gaps": "true"})
    assert resp.status_code == 201 and tables(client)["sales"] == 41


@pytest.mark.parametrize("message, named", [
    ("if the shop was closed, pass --allow-gaps (API: allow_gaps=true)", ["allow_gaps"]),
    ("got '18/06/2024' (or pass --date-format for another layout)", ["date_format"]),
    ("returns? pass --negatives keep; or --decimal , for 1.234,50", ["negatives", "decimal"]),
    ("Rename them or map them with --map ds=<your column>", ["map"]),
    ("expected NAME=VALUE, for example --set kind=holiday", ["set"]),  # not kind: an example
    ("--date-format 'dd/mm': expected a strftime format", ["date_format"]),
    ("--date-formats, --mapping, unique_id=Store and date_format are not options", []),
])
def test_options_named_finds_the_options_a_message_says_to_set(message, named):
    from trendcast.api.upload import options_named

    assert options_named(message) == named


def test_an_upload_error_lists_the_options_that_fix_it(env):
    """The error body's `options`: what the message tells the user to set, so a client (the
    dashboard's form) can point at those fields; `field` stays the column at fault."""
    client, key, _ = env

    def error(content: bytes, **data) -> dict:
        resp = post(client, key, content, "f.csv", data={"kind": "sales", **data})
        assert resp.status_code == 422, resp.text
        return resp.json()["error"]

    err = error(b"unique_id,ds,y\nA,18/06/2024,3\n")
    assert "--date-format" in err["message"] and (err["field"], err["options"]) == ("ds", ["date_format"])
    err = error(b"sku,ds,y\nA,2024-06-18,3\n")
    assert (err["field"], err["options"]) == ("unique_id", ["map"])
    err = error(b"unique_id,ds,y\nA,2024-06-18,-3\n")
    assert (err["field"], err["options"]) == ("y", ["negatives"])
    err = error(b"unique_id,ds,y\nA,2024-06-18,3\n", date_format="dd/mm")  # a bad value
    assert (err["field"], err["options"]) == ("date_format", ["date_format"])
    # a file without a header line: the answer points at the columns field, which reads it
    err = error(b"A,2024-06-18,3\nB,2024-06-18,4\n")
    assert "--columns" in err["message"] and err["options"] == ["columns"]
    resp = post(client, key, b"A,2024-06-18,3\nB,2024-06-18,4\n", "h.csv",
                data={"kind": "sales", "columns": "unique_id,ds,y"})
    assert resp.status_code == 201, resp.text
    err = error(b"unique_id,ds,y\nA,2024-02-30,3\n")  # no option fixes a date that does not exist
    assert err["field"] == "ds" and "options" not in err
    assert tables(client)["sales"] == 2
