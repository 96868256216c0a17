"""Fuzz ingest: a seeded corpus of mutated files over every kind and format, through the CLI and
the API, each judged by an oracle.

Every case is a file (CSV, TSV, JSON lines, Parquet, Excel, CSV.gz, zip) of one kind (sales,
products, orders, events, reviews, calendar, macro, stock) with one mutation from the
categories of issue 13: non-finite numbers, dates outside the window, partial dates, zones,
Unix-time units, header defects, trailing separators, NUL and control bytes, nested JSON,
booleans as numbers, Parquet types, damaged archives and workbooks, encodings, negatives,
wide macro tables, calendars, and bombs. The oracle says whether a correct ingest refuses the
file or accepts it, and for an accepted file which values must be stored.

Counted per interface: files tried, clear errors (a typed error / 4xx naming the problem),
accepted, **silently wrong accepts** (accepted where the oracle refuses, or stored values that
differ from the oracle's), 5xx / crashes, and rejections that changed the store. The bomb
phase posts the bombs to a real `trendcast serve` while a thread polls `/api/health`, and
records the worst health latency and the peak RSS of the server and its worker above idle.

    python benchmarks/ingest_fuzz.py                 # markdown table
    python benchmarks/ingest_fuzz.py --json          # machine-readable
    python benchmarks/ingest_fuzz.py --n 600 --seed 13 --no-server
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TABLE = {"sales": "sales", "products": "products", "orders": "orders", "events": "events",
         "reviews": "reviews", "calendar": "calendar_events", "macro": "macro", "stock": "stock_history"}
TABLES = tuple(TABLE.values())
FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx", "csv.gz", "zip")
NUMERIC = {"sales": ["y", "price"], "products": ["list_price"], "orders": ["quantity", "unit_price"],
           "events": [], "reviews": ["rating"], "calendar": [], "macro": ["value"], "stock": ["on_hand"]}
QUANTITY = {"sales": "y", "orders": "quantity", "stock": "on_hand"}
DATES = {"sales": ["ds"], "products": [], "orders": [], "events": [], "reviews": [], "calendar": ["ds"],
         "macro": ["ds"], "stock": ["ds"]}
TIMES = {"orders": ["ts"], "events": ["ts"], "reviews": ["ts"]}
IDCOL = {"sales": "unique_id", "products": "unique_id", "orders": "unique_id", "events": "item_id",
         "reviews": "unique_id", "calendar": "name", "macro": "name", "stock": "unique_id"}
# columns compared between the oracle and the store (events' user ids are pseudonymised)
COMPARE = {"sales": ["unique_id", "ds", "y", "price"], "products": ["unique_id", "title", "list_price"],
           "orders": ["order_id", "unique_id", "ts", "quantity", "unit_price"],
           "events": ["item_id", "event_type", "ts"],
           "reviews": ["review_id", "unique_id", "ts", "text", "rating"],
           "calendar": ["ds", "name", "kind"], "macro": ["name", "ds", "value"],
           "stock": ["unique_id", "ds", "on_hand"]}


@dataclass
class Case:
    """One file and what a correct ingest does with it."""

    name: str
    category: str
    kind: str
    fmt: str
    content: bytes
    expect: str  # "reject" or "accept"
    expected: pd.DataFrame | None = None  # oracle values for an accepted file (text)
    options: dict[str, list[str] | str] = field(default_factory=dict)
    token: str = ""
    bomb: bool = False

    @property
    def filename(self) -> str:
        return f"{self.token}.{self.fmt}"


# -- base data ------------------------------------------------------------------------------------


def base(kind: str, token: str, rng: random.Random) -> pd.DataFrame:
    """A small valid table of ``kind`` (all text), ids prefixed by ``token``."""
    n = 6
    days = [f"2024-01-{d:02d}" for d in range(1, n + 1)]
    times = [f"2024-02-0{1 + i % 5} {8 + i}:{rng.randint(0, 59):02d}:00" for i in range(n)]
    ids = [f"{token}-{'AB'[i % 2]}" for i in range(n)]
    if kind == "sales":
        return pd.DataFrame({"unique_id": ids, "ds": [days[i // 2] for i in range(n)],
                             "y": [str(rng.randint(0, 40)) for _ in range(n)], "price": "2.5"})
    if kind == "products":
        return pd.DataFrame({"unique_id": [f"{token}-P{i}" for i in range(n)],
                             "title": [f"商品 {i} shirt" for i in range(n)], "category": "Apparel",
                             "list_price": [f"{rng.randint(1, 99)}.5" for _ in range(n)]})
    if kind == "orders":
        return pd.DataFrame({"order_id": [f"{token}-O{i}" for i in range(n)], "unique_id": ids, "ts": times,
                             "quantity": [str(rng.randint(1, 5)) for _ in range(n)], "unit_price": "3.25"})
    if kind == "events":
        return pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "item_id": ids,
                             "event_type": [rng.choice(["view", "cart", "fav", "buy"]) for _ in range(n)],
                             "ts": times})
    if kind == "reviews":
        return pd.DataFrame({"review_id": [f"{token}-R{i}" for i in range(n)], "unique_id": ids, "ts": times,
                             "text": [rng.choice(["great", "很好", "bad fit", "ok"]) for _ in range(n)],
                             "rating": [str(rng.randint(1, 5)) for _ in range(n)]})
    if kind == "calendar":
        return pd.DataFrame({"ds": days, "name": [f"{token}-event{i}" for i in range(n)], "kind": "promo"})
    if kind == "macro":
        return pd.DataFrame({"name": f"{token}-oil", "ds": days,
                             "value": [f"{rng.uniform(50, 90):.2f}" for _ in range(n)]})
    if kind == "stock":
        return pd.DataFrame({"unique_id": ids, "ds": [days[i // 2] for i in range(n)],
                             "on_hand": [str(rng.randint(0, 9)) for _ in range(n)]})
    raise ValueError(kind)


def typed(kind: str, df: pd.DataFrame) -> pd.DataFrame:
    """The text table with numbers and dates typed (Parquet, Excel, JSON)."""
    out = df.copy()
    for c in NUMERIC[kind]:
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce")
    for c in DATES[kind] + TIMES.get(kind, []):
        if c in out:
            out[c] = pd.to_datetime(out[c], errors="coerce")
    return out


def serialise(df: pd.DataFrame, kind: str, fmt: str, *, typed_values: bool = True) -> bytes:
    if fmt in ("csv", "tsv", "csv.gz", "zip"):
        text = df.to_csv(index=False, sep="\t" if fmt == "tsv" else ",", lineterminator="\n")
        raw = text.encode("utf-8")
        if fmt == "csv.gz":
            return gzip.compress(raw)
        if fmt == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("data.csv", raw)
            return buf.getvalue()
        return raw
    if fmt == "jsonl":
        frame = df
        lines = []
        for rec in frame.to_dict(orient="records"):
            item = {}
            for k, v in rec.items():
                if typed_values and k in NUMERIC[kind] and isinstance(v, str):
                    try:
                        num = float(v)
                        item[k] = int(num) if num.is_integer() and abs(num) < 1e15 else num
                        continue
                    except ValueError:
                        pass
                item[k] = v
            lines.append(json.dumps(item, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode("utf-8")
    buf = io.BytesIO()
    frame = typed(kind, df) if typed_values else df
    if fmt == "parquet":
        frame.to_parquet(buf, index=False)
    elif fmt == "xlsx":
        frame.to_excel(buf, index=False)
    return buf.getvalue()


# -- the corpus -------------------------------------------------------------------------------------

REJECT_VALUES = {
    "nonfinite": ["inf", "Infinity", "1e999", "-inf", "-Infinity"],
    "non_numeric": ["seven", "1,5", "true", "12abc"],
    "out_of_window": ["2262-04-11", "1969-12-31", "9999-12-31", "1700-01-01", "2201-01-01"],
    "partial_date": ["2024-01", "2024", "2024-1"],
    "bad_date": ["2024-02-30", "yesterday", "31/31/2024", "2024-13-01"],
}


def cases(n: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    out: list[Case] = []
    kinds = list(TABLE)
    counter = iter(range(10**6))

    def new(kind: str) -> tuple[str, pd.DataFrame]:
        token = f"F{next(counter):04d}"
        return token, base(kind, token, rng)

    def add(name, category, kind, fmt, content, expect, expected=None, options=None, token="", bomb=False):
        out.append(Case(name, category, kind, fmt, content, expect, expected, options or {}, token, bomb))

    makers = []

    def maker(fn):
        makers.append(fn)
        return fn

    @maker
    def control(kind, fmt):
        token, df = new(kind)
        add("valid", "control", kind, fmt, serialise(df, kind, fmt), "accept", df, token=token)

    @maker
    def cell_values(kind, fmt):
        category = rng.choice(list(REJECT_VALUES))
        cols = NUMERIC[kind] if category in ("nonfinite", "non_numeric") else DATES[kind]
        if not cols:
            return control(kind, fmt)
        token, df = new(kind)
        col = rng.choice(cols)
        value = rng.choice(REJECT_VALUES[category])
        if kind == "reviews" and fmt in ("parquet", "xlsx") and category == "nonfinite":
            value = "inf"
        df.loc[rng.randrange(len(df)), col] = value
        # binary formats keep the bad text as text, except an infinite float in Parquet
        as_typed = fmt not in ("parquet", "xlsx") or (fmt == "parquet" and category == "nonfinite")
        content = serialise(df, kind, fmt, typed_values=as_typed)
        add(f"{category} {col}={value!r}", category, kind, fmt, content, "reject", token=token)

    @maker
    def timestamps(kind, fmt):
        if kind not in TIMES:
            return cell_values(kind, fmt)
        token, df = new(kind)
        what = rng.choice(["zone", "epoch_s", "epoch_ms", "epoch_mixed", "epoch_14", "zone_all"])
        exp = df.copy()
        stamps = pd.to_datetime(df["ts"]).dt.tz_localize("Asia/Shanghai")
        if what in ("zone", "zone_all"):
            rows = range(len(df)) if what == "zone_all" else [rng.randrange(len(df))]
            for r in rows:
                utc = stamps.iloc[r].tz_convert("UTC")
                df.loc[r, "ts"] = utc.strftime("%Y-%m-%dT%H:%M:%SZ") if rng.random() < 0.5 else \
                    stamps.iloc[r].isoformat()
            expect = "accept"
        elif what in ("epoch_s", "epoch_ms"):
            scale = 1 if what == "epoch_s" else 1000
            df["ts"] = [str(int(s.timestamp()) * scale) for s in stamps]
            expect = "accept"
        elif what == "epoch_mixed":
            df["ts"] = [str(int(s.timestamp())) for s in stamps]
            df.loc[len(df) - 1, "ts"] = str(int(stamps.iloc[-1].timestamp()) * 1000)
            expect = "reject"
        else:
            df["ts"] = [str(int(s.timestamp()) * 10000) for s in stamps]
            expect = "reject"
        fmt = fmt if fmt not in ("parquet", "xlsx") else "csv"
        add(f"timestamps {what}", "zones and epochs", kind, fmt, serialise(df, kind, fmt, typed_values=False),
            expect, exp if expect == "accept" else None, token=token)

    @maker
    def negatives(kind, fmt):
        if kind not in QUANTITY:
            return cell_values(kind, fmt)
        token, df = new(kind)
        col = QUANTITY[kind]
        df.loc[1, col] = "-3"
        policy = rng.choice(["reject", "keep", "clip", "zero"])
        exp = df.copy()
        if policy in ("clip", "zero"):
            exp.loc[1, col] = "0"
        opts = {} if policy == "reject" else {"negatives": policy}
        add(f"negative {col}, --negatives {policy}", "negatives", kind, fmt, serialise(df, kind, fmt),
            "reject" if policy == "reject" else "accept", None if policy == "reject" else exp, opts, token)

    @maker
    def structure(kind, fmt):
        fmt = rng.choice(["csv", "tsv"])
        sep = "\t" if fmt == "tsv" else ","
        token, df = new(kind)
        lines = df.to_csv(index=False, sep=sep, lineterminator="\n").splitlines()
        idcol = IDCOL[kind]
        what = rng.choice(["trailing_sep_row", "dup_header", "space_dup_header", "blank_header",
                           "bom_later", "nul_in_id", "control_in_id", "unterminated_quote", "extra_field"])
        head = lines[0].split(sep)
        if what == "trailing_sep_row":
            lines[2] += sep
        elif what == "dup_header":
            lines[0] = sep.join(head + [head[-1]])
            lines[1:] = [ln + sep + "1" for ln in lines[1:]]
        elif what == "space_dup_header":
            lines[0] = sep.join(head + [" " + head[-1]])
            lines[1:] = [ln + sep + "1" for ln in lines[1:]]
        elif what == "blank_header":
            lines = [ln + sep for ln in lines]
        elif what == "bom_later":
            head[-1] = "\ufeff" + head[-1]
            lines[0] = sep.join(head)
        elif what in ("nul_in_id", "control_in_id"):
            i = head.index(idcol)
            cells = lines[3].split(sep)
            cells[i] = cells[i][:2] + ("\x00" if what == "nul_in_id" else "\x01") + cells[i][2:]
            lines[3] = sep.join(cells)
        elif what == "unterminated_quote":
            lines[4] = '"' + lines[4]
        elif what == "extra_field":
            lines[5] += sep + "surprise"
        content = ("\n".join(lines) + "\n").encode("utf-8")
        add(f"structure {what}", "headers and separators", kind, fmt, content, "reject", token=token)

    @maker
    def json_values(kind, fmt):
        token, df = new(kind)
        recs = [dict(r) for r in df.to_dict(orient="records")]
        idcol = IDCOL[kind]
        what = rng.choice(["nested_list", "nested_object", "bool_number", "infinity_literal",
                           "not_an_object", "broken_line", "repeated_key"])
        r = rng.randrange(len(recs))
        num = (NUMERIC[kind] or [None])[0]
        lines = [json.dumps(x, ensure_ascii=False) for x in recs]
        if what == "nested_list":
            recs[r][idcol] = [recs[r][idcol]]
        elif what == "nested_object":
            recs[r][idcol] = {"id": recs[r][idcol]}
        elif what == "bool_number" and num:
            recs[r][num] = True
        elif what == "infinity_literal" and num:
            recs[r][num] = float("inf")
        else:
            recs[r][idcol] = [1]
        lines = [json.dumps(x, ensure_ascii=False) for x in recs]
        if what == "not_an_object":
            lines[r] = "[1, 2, 3]"
        elif what == "broken_line":
            lines[r] = lines[r][: len(lines[r]) // 2]
        elif what == "repeated_key":
            lines[r] = lines[r][:-1] + f', "{idcol}": "again"}}'
        add(f"json {what}", "nested JSON and literals", kind, "jsonl",
            ("\n".join(lines) + "\n").encode("utf-8"), "reject", token=token)

    @maker
    def parquet_types(kind, fmt):
        import pyarrow as pa
        import pyarrow.parquet as pq

        token, df = new(kind)
        frame = typed(kind, df)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        what = rng.choice(["date_int", "date_float", "date_binary", "number_list", "number_bool",
                           "far_future", "aware", "truncated"])
        date_col = (DATES[kind] or TIMES.get(kind, [None]))[0]
        num = (NUMERIC[kind] or [None])[0]
        expect, exp = "reject", None
        n = len(frame)
        if what == "date_int" and date_col:
            table = table.set_column(table.schema.get_field_index(date_col), date_col,
                                     pa.array([20240101] * n))
        elif what == "date_float" and date_col:
            table = table.set_column(table.schema.get_field_index(date_col), date_col, pa.array([1.5] * n))
        elif what == "date_binary" and date_col:
            table = table.set_column(table.schema.get_field_index(date_col), date_col,
                                     pa.array([b"2024"] * n, pa.binary()))
        elif what == "number_list" and num:
            table = table.set_column(table.schema.get_field_index(num), num, pa.array([[1.0]] * n))
        elif what == "number_bool" and num:
            table = table.set_column(table.schema.get_field_index(num), num, pa.array([True] * n))
        elif what == "far_future" and date_col:
            far = [pd.Timestamp("3000-01-01").to_pydatetime()] * n
            table = table.set_column(table.schema.get_field_index(date_col), date_col,
                                     pa.array(far, pa.timestamp("us")))
        elif what == "aware" and kind in TIMES:
            stamps = pd.to_datetime(df["ts"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
            table = table.set_column(table.schema.get_field_index("ts"), "ts",
                                     pa.array(stamps, pa.timestamp("us", tz="UTC")))
            expect, exp = "accept", df
        elif what == "truncated":
            pass
        else:
            return control(kind, "parquet")
        buf = io.BytesIO()
        pq.write_table(table, buf)
        content = buf.getvalue()
        if what == "truncated":
            content = content[: len(content) // 2]
        add(f"parquet {what}", "parquet types", kind, "parquet", content, expect, exp, token=token)

    @maker
    def damaged(kind, fmt):
        token, df = new(kind)
        what = rng.choice(["zip_encrypted", "zip_two_files", "zip_truncated", "gz_truncated",
                           "xlsx_truncated", "xlsx_garbage", "empty_file", "header_only"])
        raw = serialise(df, kind, "csv")
        fmt = {"zip_encrypted": "zip", "zip_two_files": "zip", "zip_truncated": "zip",
               "gz_truncated": "csv.gz", "xlsx_truncated": "xlsx", "xlsx_garbage": "xlsx",
               "empty_file": "csv", "header_only": "csv"}[what]
        if what.startswith("zip"):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("a.csv", raw)
                if what == "zip_two_files":
                    zf.writestr("b.csv", raw)
            content = bytearray(buf.getvalue())
            if what == "zip_encrypted":
                content[6] |= 1
                content[content.rfind(b"PK\x01\x02") + 8] |= 1
            content = bytes(content)
            if what == "zip_truncated":
                content = content[: len(content) // 2]
        elif what == "gz_truncated":
            content = gzip.compress(raw * 50)[:200]
        elif what == "xlsx_truncated":
            content = serialise(df, kind, "xlsx")[:2000]
        elif what == "xlsx_garbage":
            content = bytes(rng.randrange(256) for _ in range(3000))
        elif what == "empty_file":
            content = b""
        else:
            content = raw.split(b"\n")[0] + b"\n"
        # a header-only file holds no rows: refusing it or storing nothing are both correct
        expect = "either" if what == "header_only" else "reject"
        add(f"damaged {what}", "damaged archives and workbooks", kind, fmt, content, expect, token=token)

    @maker
    def encodings(kind, fmt):
        token, df = new("products")
        enc = rng.choice(["utf-8-sig", "utf-16", "utf-16-le", "gbk", "gb18030"])
        df["title"] = [f"中文商品名称第{i}号 优质棉衬衫" for i in range(len(df))]
        text = df.to_csv(index=False, lineterminator="\n")
        add(f"encoding {enc}", "encodings", "products", "csv", text.encode(enc), "accept", df, token=token)

    @maker
    def ways_through(kind, fmt):
        token, df = new("sales")
        what = rng.choice(["composite_key", "date_format", "wide_macro", "constant", "extra_column",
                           "macro_mangled", "calendar_span", "calendar_long", "ratings_scale"])
        if what == "composite_key":
            raw = pd.DataFrame({"Store": ["1", "1", "2"], "Dept": [token, token, token],
                                "Date": ["2010-02-05", "2010-02-12", "2010-02-05"],
                                "Weekly_Sales": ["1.5", "2", "3"]})
            exp = pd.DataFrame({"unique_id": [f"1_{token}", f"1_{token}", f"2_{token}"], "ds": raw["Date"],
                                "y": raw["Weekly_Sales"]})
            add("composite key", "ways through", "sales", "csv", serialise(raw, "sales", "csv"), "accept",
                exp,
                {"map": ["unique_id=Store+Dept", "ds=Date", "y=Weekly_Sales"]}, token)
        elif what == "date_format":
            raw = df.assign(ds=pd.to_datetime(df["ds"]).dt.strftime("%m/%d/%y"))
            add("date format %m/%d/%y", "ways through", "sales", "csv", serialise(raw, "sales", "csv"),
                "accept", df, {"date_format": "%m/%d/%y"}, token)
        elif what == "wide_macro":
            raw = pd.DataFrame({"date": ["2013-01-01", "2013-01-02"], f"{token}oil": ["", "93.14"]})
            exp = pd.DataFrame({"name": f"{token}oil", "ds": raw["date"], "value": [None, "93.14"]})
            add("wide macro", "ways through", "macro", "csv", serialise(raw, "macro", "csv"), "accept", exp,
                {"map": ["ds=date"]}, token)
        elif what == "constant":
            raw = df.drop(columns=["price"])
            exp = raw.assign(price="1.25")
            add("--set price", "ways through", "sales", "csv", serialise(raw, "sales", "csv"), "accept", exp,
                {"set": ["price=1.25"]}, token)
        elif what == "extra_column":
            raw = df.assign(note="hello")
            add("extra column", "ways through", "sales", "csv", serialise(raw, "sales", "csv"), "accept", df,
                token=token)
        elif what == "macro_mangled":
            add("mangled macro", "ways through", "macro", "csv", b"ds\n2024-01-01\n", "reject", token=token)
        elif what == "calendar_span":
            add("calendar 1700-2260", "ways through", "calendar", "csv",
                f"ds,name,end\n1700-01-01,{token},2260-01-01\n".encode(), "reject", token=token)
        elif what == "calendar_long":
            add("calendar event of 150 years", "ways through", "calendar", "csv",
                f"ds,name,end\n2000-01-01,{token},2150-01-01\n".encode(), "reject", token=token)
        else:
            token, rv = new("reviews")
            rv.loc[0, "rating"] = "9"
            add("rating 9 with --rating-scale 0-10", "ways through", "reviews", "csv",
                serialise(rv, "reviews", "csv"), "accept", rv, {"rating_scale": "0-10"}, token)

    weights = [(control, 10), (cell_values, 22), (timestamps, 12), (negatives, 8), (structure, 14),
               (json_values, 9), (parquet_types, 9), (damaged, 8), (encodings, 4), (ways_through, 10)]
    pool = [fn for fn, w in weights for _ in range(w)]
    while len(out) < n:
        kind = rng.choice(kinds)
        fmt = rng.choice(FORMATS)
        rng.choice(pool)(kind, fmt)
    out.extend(bombs(counter))
    return out


def bombs(counter) -> list[Case]:
    """Small files that cost a lot to read."""
    def token() -> str:
        return f"F{next(counter):04d}"

    row = b"BOMB,2024-01-01,1\n" * 58_000  # ~1 MB
    gbuf = io.BytesIO()
    with gzip.GzipFile(fileobj=gbuf, mode="wb", compresslevel=9) as gz_out:
        gz_out.write(b"unique_id,ds,y\n")
        for _ in range(800):  # ~800 MB of repeated rows
            gz_out.write(row)
    gz = gbuf.getvalue()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, \
            zf.open("sales.csv", "w", force_zip64=True) as member:
        member.write(b"unique_id,ds,y\n")
        blank = b"\n" * (1 << 20)
        for _ in range(950):  # ~950 MB, under the default 1 GB unpacked limit
            member.write(blank)
    wide = b"," * 1_000_000 + b"\n1\n"
    wide_row = b"unique_id,ds,y\n" + b"x," * 500_000 + b"\n"
    long_field = b"unique_id,title\nA," + b"x" * 2_000_000 + b"\n"
    out = []
    for name, fmt, content in (("gzip of repeated rows", "csv.gz", gz), ("zip bomb", "zip", zbuf.getvalue()),
                               ("one line of 1M columns", "csv", wide),
                               ("a row of 500k fields", "csv", wide_row),
                               ("a 2M-character field", "csv", long_field)):
        kind = "products" if "field" in name and "character" in name else "sales"
        out.append(Case(name, "bombs", kind, fmt, content, "reject", token=token(), bomb=True))
    return out


# -- running ------------------------------------------------------------------------------------------


def fingerprint(store) -> dict[str, tuple[int, int]]:
    out = {}
    for table in TABLES:
        df = store.read(table)
        h = int(pd.util.hash_pandas_object(df.astype(str), index=False).sum()) if len(df) else 0
        out[table] = (len(df), h)
    return out


def canon(kind: str, df: pd.DataFrame, columns: list[str] | None = None) -> list[tuple]:
    """Rows as comparable tuples (dates as text, numbers rounded)."""
    cols = [c for c in (columns or COMPARE[kind]) if c in df.columns]
    frame = df[cols].copy()
    for c in cols:
        if c in DATES[kind]:
            frame[c] = pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d")
        elif c in TIMES.get(kind, []):
            frame[c] = pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d %H:%M:%S")
        elif c in NUMERIC[kind]:
            frame[c] = pd.to_numeric(frame[c]).round(6).map(lambda v: None if pd.isna(v) else float(v))
        else:
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                                    else str(v).strip())
    return sorted(map(tuple, frame.astype(object).where(frame.notna(), None).to_numpy().tolist()),
                  key=repr)


def stored_rows(store, case: Case) -> pd.DataFrame:
    df = store.read(TABLE[case.kind])
    col = IDCOL[case.kind]
    mask = df[col].astype(str).str.contains(case.token, regex=False)
    return df[mask]


def judge(case: Case, accepted: bool, store) -> str:
    """'ok' or what was wrong about an accepted file."""
    if case.expect == "either":
        return "ok"
    if not accepted:
        return "ok" if case.expect == "reject" else "refused a valid file"
    if case.expect == "reject":
        return "accepted a file the oracle refuses"
    if case.expected is None:
        return "ok"
    cols = [c for c in COMPARE[case.kind] if c in case.expected.columns]
    want = canon(case.kind, case.expected, cols)
    got = canon(case.kind, stored_rows(store, case), cols)
    if got != want:
        return f"stored {got[:2]} ... expected {want[:2]} ..."
    return "ok"


def cli_args(case: Case, path: Path, db: str) -> list[str]:
    args = ["ingest", str(path), "--kind", case.kind, "--db", db]
    if case.kind in ("orders", "reviews"):
        args.append("--add-products")
    for key, value in case.options.items():
        flag = "--" + key.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            args += [flag, v]
    return args


def run_cli(corpus: list[Case], folder: Path) -> dict:
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.data.store import open_store
    from trendcast.errors import TrendcastError

    db = str(folder / "cli.duckdb")
    runner = CliRunner()
    stats: Counter = Counter()
    wrong: list[str] = []
    for case in corpus:
        path = folder / case.filename
        path.write_bytes(case.content)
        with open_store(db) as store:
            before = fingerprint(store)
        result = runner.invoke(app, cli_args(case, path, db))
        path.unlink()
        stats["tried"] += 1
        exc = result.exception
        if result.exit_code == 0:
            stats["accepted"] += 1
        elif isinstance(exc, TrendcastError):
            stats["clear errors"] += 1
        else:
            stats["crashes"] += 1
            wrong.append(f"CRASH {case.name} [{case.kind}/{case.fmt}]: {type(exc).__name__}: {exc}")
            continue
        with open_store(db) as store:
            verdict = judge(case, result.exit_code == 0, store)
            if result.exit_code != 0 and fingerprint(store) != before:
                stats["store changed by a rejection"] += 1
                wrong.append(f"STORE CHANGED {case.name}")
        if verdict == "refused a valid file":
            stats["valid files refused"] += 1
            wrong.append(f"REFUSED {case.name} [{case.kind}/{case.fmt}]: {str(exc)[:300]}")
        elif verdict != "ok":
            stats["silently wrong accepts"] += 1
            wrong.append(f"WRONG {case.name} [{case.kind}/{case.fmt}]: {verdict}")
    return {"stats": dict(stats), "findings": wrong}


def run_api(corpus: list[Case], folder: Path) -> dict:
    from fastapi.testclient import TestClient

    from trendcast.api.app import create_app
    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key

    db = str(folder / "api.duckdb")
    with open_store(db) as store:
        key = create_key(store, "analyst", "fuzz")
    stats: Counter = Counter()
    wrong: list[str] = []
    with TestClient(create_app(db, max_upload_mb=50), raise_server_exceptions=False) as client:
        store = client.app.state.store
        for case in corpus:
            before = fingerprint(store)
            data: dict[str, list[str] | str] = {"kind": case.kind}
            if case.kind in ("orders", "reviews"):
                data["add_products"] = "true"
            data.update(case.options)
            resp = client.post("/api/uploads", files={"file": (case.filename, case.content,
                                                               "application/octet-stream")},
                               data=data, headers={"X-API-Key": key})
            stats["tried"] += 1
            if resp.status_code >= 500:
                stats["5xx"] += 1
                wrong.append(f"5XX {case.name} [{case.kind}/{case.fmt}]: {resp.text[:300]}")
                continue
            accepted = resp.status_code == 201
            if accepted:
                stats["accepted"] += 1
            elif 400 <= resp.status_code < 500 and resp.json().get("error", {}).get("message"):
                stats["clear errors"] += 1
                stats[f"HTTP {resp.status_code}"] += 1
            verdict = judge(case, accepted, store)
            if not accepted and fingerprint(store) != before:
                stats["store changed by a rejection"] += 1
                wrong.append(f"STORE CHANGED {case.name}")
            if verdict == "refused a valid file":
                stats["valid files refused"] += 1
                wrong.append(f"REFUSED {case.name} [{case.kind}/{case.fmt}]: {resp.text[:300]}")
            elif verdict != "ok":
                stats["silently wrong accepts"] += 1
                wrong.append(f"WRONG {case.name} [{case.kind}/{case.fmt}]: {verdict}")
    return {"stats": dict(stats), "findings": wrong}


def _request(url: str, *, headers: dict | None = None, files: tuple[str, bytes] | None = None,
             data: dict | None = None, timeout: float = 600) -> tuple[int, dict]:
    """GET, or a multipart POST of one file and form fields, with the standard library."""
    import urllib.error
    import urllib.request

    body = None
    headers = dict(headers or {})
    if files is not None:
        boundary = f"fuzz{random.getrandbits(64):x}"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in (data or {}).items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{files[0]}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + files[1] + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_bombs_on_server(corpus: list[Case], folder: Path) -> dict:
    """Post the bombs to a real server while polling /api/health; RSS of server + worker."""
    import psutil

    from trendcast.data.store import open_store
    from trendcast.services.keys import create_key

    db = str(folder / "server.duckdb")
    with open_store(db) as store:
        key = create_key(store, "analyst", "fuzz")
    port = _free_port()
    env = dict(os.environ, TRENDCAST_DB=db, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "trendcast.cli", "serve", "--port", str(port),
                             "--log-level", "warning", "--max-upload-mb", "50"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if _request(base_url + "/api/health", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        headers = {"X-API-Key": key}
        warm = serialise(base("sales", "WARM", random.Random(0)), "sales", "csv")
        _request(base_url + "/api/uploads", files=("w.csv", warm), data={"kind": "sales"},
                 headers=headers, timeout=120)
        server = psutil.Process(proc.pid)

        def tree_rss() -> int:
            total = 0
            for p in [server, *server.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            return total

        time.sleep(0.5)
        idle = tree_rss()
        stop = threading.Event()
        worst = {"health_s": 0.0, "rss": idle, "health_failures": 0}

        def poll() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    ok = _request(base_url + "/api/health", timeout=30)[0] == 200
                except OSError:
                    ok = False
                took = time.perf_counter() - t
                worst["health_s"] = max(worst["health_s"], took)
                worst["health_failures"] += 0 if ok else 1
                worst["rss"] = max(worst["rss"], tree_rss())
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        results = []
        for case in corpus:
            if not case.bomb:
                continue
            t = time.perf_counter()
            status, body = _request(base_url + "/api/uploads", files=(case.filename, case.content),
                                    data={"kind": case.kind}, headers=headers, timeout=600)
            results.append({"bomb": case.name, "packed_bytes": len(case.content), "status": status,
                            "seconds": round(time.perf_counter() - t, 2),
                            "message": body.get("error", {}).get("message", "")[:160]})
        stop.set()
        poller.join()
        return {"idle_rss_mb": round(idle / 2**20),
                "peak_rss_above_idle_mb": round((worst["rss"] - idle) / 2**20),
                "worst_health_s": round(worst["health_s"], 3), "health_failures": worst["health_failures"],
                "bombs": results}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=520, help="mutated files besides the bombs")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    parser.add_argument("--no-server", action="store_true", help="skip the bomb phase on a real server")
    parser.add_argument("--only", choices=["cli", "api"], help="run one interface")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    corpus = cases(args.n, args.seed)
    report: dict = {"files": len(corpus), "seed": args.seed, "load_before": round(load, 2),
                    "categories": dict(Counter(c.category for c in corpus)),
                    "kinds": dict(Counter(c.kind for c in corpus)),
                    "formats": dict(Counter(c.fmt for c in corpus))}
    with tempfile.TemporaryDirectory(prefix="ingest-fuzz-") as tmp:
        folder = Path(tmp)
        if args.only in (None, "cli"):
            report["cli"] = run_cli(corpus, folder)
        if args.only in (None, "api"):
            report["api"] = run_api(corpus, folder)
        if not args.no_server:
            report["server"] = run_bombs_on_server(corpus, folder)
    report["load_after"] = round(os.getloadavg()[0], 2)
    try:
        from trendcast.api import parsing

        parsing.shutdown()
    except ImportError:
        pass
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(f"# ingest fuzz: {report['files']} files (seed {args.seed}), load {report['load_before']} -> "
          f"{report['load_after']}\n")
    rows = ["tried", "clear errors", "accepted", "silently wrong accepts", "valid files refused",
            "store changed by a rejection", "5xx", "crashes"]
    heads = [k for k in ("cli", "api") if k in report]
    print("| | " + " | ".join(heads) + " |")
    print("|---|" + "---|" * len(heads))
    for r in rows:
        print(f"| {r} | " + " | ".join(str(report[h]["stats"].get(r, 0)) for h in heads) + " |")
    if "server" in report:
        s = report["server"]
        print(f"\nbombs on a real server: worst /api/health {s['worst_health_s']} s, peak RSS "
              f"{s['peak_rss_above_idle_mb']} MB above idle ({s['idle_rss_mb']} MB), health failures "
              f"{s['health_failures']}")
        print("\n| bomb | packed bytes | status | seconds |\n|---|---|---|---|")
        for b in s["bombs"]:
            print(f"| {b['bomb']} | {b['packed_bytes']:,} | {b['status']} | {b['seconds']} |")
    for h in heads:
        for line in report[h]["findings"][:40]:
            print(f"- {h}: {line}")


if __name__ == "__main__":
    main()
