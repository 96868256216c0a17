"""Validate incoming frames with pandera and turn failures into messages people can act on.

Each kind of input (sales, products, orders, ...) has a :class:`FrameSpec`. Validation parses
and checks every column at once (pandera, lazily) and raises one
:class:`~trendcast.errors.DataValidationError` that names the file, the row, the column, the
value and what was expected, for the first problems found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError

Kind = Literal["str", "date", "datetime", "number", "nonneg", "positive"]

EXPECTED: dict[str, str] = {
    "str": "a non-empty text value",
    "date": "a date like 2024-06-18",
    "datetime": "a date-time like 2024-06-18 20:15:00",
    "number": "a number",
    "nonneg": "a number >= 0",
    "positive": "a number > 0",
}
MAX_LISTED = 10


@dataclass(frozen=True)
class Col:
    """One column: its kind, whether it must be present, whether it may be empty."""

    kind: Kind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    default: object = None  # fills missing values after validation


@dataclass(frozen=True)
class FrameSpec:
    """The columns of one kind of input and the columns that must be unique together."""

    name: str
    columns: dict[str, Col]
    unique: tuple[str, ...] = field(default_factory=tuple)


SPECS: dict[str, FrameSpec] = {
    "sales": FrameSpec(
        "sales",
        {
            "unique_id": Col("str"),
            "ds": Col("date"),
            "y": Col("nonneg"),
            "price": Col("nonneg", required=False, nullable=True),
            "promo": Col("nonneg", required=False, nullable=True),
        },
        ("unique_id", "ds"),
    ),
    "products": FrameSpec(
        "products",
        {
            "unique_id": Col("str"),
            "title": Col("str", required=False, nullable=True),
            "category": Col("str", required=False, nullable=True),
            "department": Col("str", required=False, nullable=True),
            "brand": Col("str", required=False, nullable=True),
            "store": Col("str", required=False, nullable=True),
            "launch_date": Col("date", required=False, nullable=True),
            "list_price": Col("nonneg", required=False, nullable=True),
        },
        ("unique_id",),
    ),
    "orders": FrameSpec(
        "orders",
        {
            "order_id": Col("str"),
            "unique_id": Col("str"),
            "ts": Col("datetime"),
            "quantity": Col("positive"),
            "user_id": Col("str", required=False, nullable=True),
            "unit_price": Col("nonneg", required=False, nullable=True),
        },
        ("order_id", "unique_id"),
    ),
    "events": FrameSpec(
        "events",
        {
            "user_id": Col("str"),
            "item_id": Col("str"),
            "event_type": Col("str", allowed=("view", "cart", "fav", "buy")),
            "ts": Col("datetime"),
            "category_id": Col("str", required=False, nullable=True),
        },
        ("user_id", "item_id", "event_type", "ts"),
    ),
    "reviews": FrameSpec(
        "reviews",
        {
            "review_id": Col("str"),
            "unique_id": Col("str"),
            "ts": Col("datetime"),
            "text": Col("str", nullable=True),
            "rating": Col("nonneg", required=False, nullable=True),
            "language": Col("str", required=False, nullable=True),
        },
        ("review_id",),
    ),
    "calendar": FrameSpec(
        "calendar",
        {
            "ds": Col("date"),
            "name": Col("str"),
            "kind": Col("str", required=False, nullable=True),
            "region": Col("str", required=False, nullable=True, default=""),
            "source": Col("str", required=False, nullable=True),
        },
        ("ds", "name", "region"),
    ),
    "macro": FrameSpec(
        "macro",
        {"name": Col("str"), "ds": Col("date"), "value": Col("number", nullable=True)},
        ("name", "ds"),
    ),
    # units on hand at the end of each day: days at zero are stock-outs (cleaning)
    "stock": FrameSpec(
        "stock",
        {"unique_id": Col("str"), "ds": Col("date"), "on_hand": Col("nonneg")},
        ("unique_id", "ds"),
    ),
}


def _dtype(kind: Kind) -> object:
    return {"str": str, "date": "datetime64[ns]", "datetime": "datetime64[ns]"}.get(kind, float)


def _schema(spec: FrameSpec, present: list[str]):  # type: ignore[no-untyped-def]
    import pandera.pandas as pa

    columns = {}
    for name, col in spec.columns.items():
        if name not in present:
            continue
        checks = []
        if col.kind == "nonneg":
            checks.append(pa.Check.ge(0))
        elif col.kind == "positive":
            checks.append(pa.Check.gt(0))
        if col.allowed:
            checks.append(pa.Check.isin(list(col.allowed)))
        # Text is already cleaned by `validate` (stripped, '' -> missing): no coercion needed.
        dtype = None if col.kind == "str" else _dtype(col.kind)
        columns[name] = pa.Column(
            dtype, checks=checks, coerce=dtype is not None, nullable=col.nullable
        )
    return pa.DataFrameSchema(columns, strict=False)


def _row_label(df: pd.DataFrame, index: object) -> tuple[int | None, str]:
    """1-based data row as a person counts it, and a label that adds the file line.

    ``index`` is a label of the frame's 0-based RangeIndex (set by ``validate``);
    ``df.attrs['_rows']`` maps it to source rows when the frame was reshaped (wide macro).
    """
    if index is None or (isinstance(index, float) and np.isnan(index)):
        return None, "?"
    pos = int(index)  # type: ignore[call-overload]
    rows = df.attrs.get("_rows")
    row = (int(rows[pos]) if rows is not None else pos) + 1
    if df.attrs.get("header"):
        return row, f"row {row} (line {row + 1})"
    return row, f"row {row}"


def _describe(check: str, kind: Kind, col: Col | None) -> str:
    if check == "not_nullable":
        return EXPECTED[kind] if kind == "str" else f"{EXPECTED[kind]}, not empty"
    if check.startswith("isin") and col and col.allowed:
        return "one of " + ", ".join(col.allowed)
    return EXPECTED[kind]


def check_required(df: pd.DataFrame, spec: FrameSpec, source: str) -> None:
    """Raise if required columns are missing, listing the columns the file does have."""
    missing = [c for c, col in spec.columns.items() if col.required and c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing required column(s) {', '.join(repr(m) for m in missing)} for "
            f"{spec.name}; the file has {list(df.columns)}. Rename them or map them with "
            f"--map {missing[0]}=<your column>",
            [{"file": source, "row": None, "column": m, "value": None,
              "expected": "column present"} for m in missing],
        )


def validate(df: pd.DataFrame, kind: str, *, source: str | None = None) -> pd.DataFrame:
    """Parse and check a frame of ``kind``; return it typed, or raise DataValidationError."""
    import pandera.errors as pa_errors

    spec = SPECS[kind]
    source = source or str(df.attrs.get("source", "<frame>"))
    check_required(df, spec, source)
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        rows = df.index.to_numpy()
        df = df.reset_index(drop=True)
        df.attrs["_rows"] = rows
    present = [c for c in spec.columns if c in df.columns]
    frame = df[present].copy()
    for name in present:
        col = spec.columns[name]
        if col.kind == "str":
            # Text columns: strip spaces so ' A1' and 'A1' are one key; keep missing as NaN.
            text = frame[name].astype("string").str.strip()
            frame[name] = text.mask(text == "").astype(object)
            frame.loc[frame[name].isna(), name] = np.nan
        elif col.kind == "date" and not pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = _parse_datetime(frame[name]).dt.normalize()
        elif col.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = _parse_datetime(frame[name])
        elif col.kind in ("number", "nonneg", "positive"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    problems = _unparsed(df, frame, spec, source)
    # Rows identical in every column are one record exported twice: keep the first, say so.
    exact = frame.duplicated(keep="first").to_numpy() if spec.unique else None
    n_exact = int(exact.sum()) if exact is not None else 0
    if n_exact:
        keep = ~exact
        frame = frame[keep]
        df = df[keep]
    problems += _duplicates(df, frame, spec, source)
    try:
        out = _schema(spec, present).validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        problems += _problems(df, exc.failure_cases, spec, source)
        out = None
    if problems:
        raise _error(problems, spec, source)
    assert out is not None
    for name in present:
        col = spec.columns[name]
        if col.kind in ("date", "datetime"):
            out[name] = out[name].astype("datetime64[ns]")
        if col.default is not None:
            out[name] = out[name].fillna(col.default)
    for name, col in spec.columns.items():
        if name not in present and col.default is not None:
            out[name] = col.default
    out = out.reset_index(drop=True)
    out.attrs["exact_duplicates_dropped"] = n_exact
    return out


def _parse_datetime(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    try:
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(text, errors="coerce", format="mixed")


def _unparsed(raw: pd.DataFrame, parsed: pd.DataFrame, spec: FrameSpec, source: str) -> list[dict]:
    """Values present in the file that did not parse as a date or number."""
    out: list[dict] = []
    for name in parsed.columns:
        col = spec.columns[name]
        if col.kind == "str":
            continue
        if not (raw[name].dtype == object or pd.api.types.is_string_dtype(raw[name])):
            continue  # already typed (Parquet, a frame built in code): nothing to parse
        bad = parsed[name].isna() & raw[name].notna()
        bad &= raw[name].astype("string").str.strip().fillna("") != ""
        for idx in np.flatnonzero(bad.to_numpy())[:MAX_LISTED]:
            row, label = _row_label(raw, idx)
            out.append({"file": source, "row": row, "label": label, "column": name,
                        "value": raw[name].iloc[idx], "expected": EXPECTED[col.kind]})
        out.extend({"hidden": True} for _ in range(max(0, int(bad.sum()) - MAX_LISTED)))
    return out


def _duplicates(raw: pd.DataFrame, parsed: pd.DataFrame, spec: FrameSpec, source: str) -> list[dict]:
    """Rows whose key repeats an earlier row's key (one problem per repeated row)."""
    key = [c for c in spec.unique if c in parsed.columns]
    if not key:
        return []
    dup = parsed.duplicated(key, keep="first").to_numpy()
    if not dup.any():
        return []
    first = parsed.drop_duplicates(key, keep="first").reset_index()
    positions = np.flatnonzero(dup)[:MAX_LISTED]
    listed = parsed.index[positions]
    firsts = parsed.iloc[positions][key].merge(first, on=key, how="left")["index"].to_numpy()
    out: list[dict] = []
    label_col = " + ".join(key)
    for idx, first_idx in zip(listed, firsts, strict=True):
        row, label = _row_label(raw, idx)
        _, first_label = _row_label(raw, first_idx)
        value = ", ".join(f"{c}={raw[c].loc[idx]!s}" for c in key)
        out.append({"file": source, "row": row, "label": label, "column": label_col,
                    "value": value, "expected": f"a unique key; {first_label} has the same key"})
    out.extend({"hidden": True} for _ in range(int(dup.sum()) - len(listed)))
    return out


def _problems(raw: pd.DataFrame, cases: pd.DataFrame, spec: FrameSpec, source: str) -> list[dict]:
    out: list[dict] = []
    cases = cases[cases["index"].notna()]
    checks = cases["check"].astype(str)
    cases = cases[~checks.str.startswith(("coerce_dtype", "dtype("))]
    redundant = np.zeros(len(cases), dtype=bool)
    for name in cases["column"].unique():
        if name not in raw.columns:
            continue
        sel = (cases["column"] == name).to_numpy() & (cases["check"] == "not_nullable").to_numpy()
        if sel.any():
            vals = raw[name].loc[cases["index"].to_numpy()[sel].astype(int)]
            redundant[sel] = (vals.notna() & (vals.astype("string").str.strip() != "")).to_numpy()
    cases = cases[~redundant]
    # A cell that did not parse was reported by _unparsed; pandera sees it as empty.
    listed = cases.sort_values("index", kind="stable").head(5 * MAX_LISTED)
    hidden = len(cases) - len(listed)
    for _, case in listed.iterrows():
        name = str(case["column"])
        col = spec.columns.get(name)
        check = str(case["check"])
        if check.startswith(("coerce_dtype", "dtype(")):
            continue
        idx = case["index"]
        value = raw[name].loc[int(idx)] if name in raw.columns else case["failure_case"]
        row, label = _row_label(raw, idx)
        kind: Kind = col.kind if col else "str"
        out.append({"file": source, "row": row, "label": label, "column": name,
                    "value": value, "expected": _describe(check, kind, col)})
    out.extend({"hidden": True} for _ in range(min(hidden, 1_000_000)))
    return out


def _error(problems: list[dict], spec: FrameSpec, source: str) -> DataValidationError:
    total = len(problems)
    problems = [p for p in problems if not p.get("hidden")]
    problems = sorted(problems, key=lambda p: (p["row"] is None, p["row"] or 0))
    lines = []
    for p in problems[:MAX_LISTED]:
        value = "empty" if pd.isna(p["value"]) else repr(p["value"])
        lines.append(f"{source}: {p['label']}, column {p['column']!r}: got {value}, "
                     f"expected {p['expected']}")
    more = total - min(len(problems), MAX_LISTED)
    tail = f"\n... and {more} more problem(s)" if more > 0 else ""
    head = f"{total} problem(s) in {spec.name} data, nothing was stored:\n"
    for p in problems:
        p.pop("label", None)
        p.pop("n", None)
    return DataValidationError(head + "\n".join(lines) + tail, problems)
