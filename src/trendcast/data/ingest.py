"""Turn files of each kind (sales, products, orders, events, reviews, calendar, macro) into
validated frames ready for the store.

Steps: read (``readers``) -> rename by the user's column mapping or a preset -> normalise
(event-type aliases, Unix timestamps, review ids, language, wide macro tables) -> validate
(``validation``). Nothing here touches the store; ``services.ingest`` writes the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.data.readers import DEFAULT_MAX_UNPACKED_MB, read_frame
from trendcast.data.validation import SPECS, validate
from trendcast.errors import DataValidationError, InputFileError

KINDS = ("sales", "products", "orders", "events", "reviews", "calendar", "macro", "stock")

EVENT_ALIASES = {
    "pv": "view", "view": "view", "click": "view", "browse": "view",
    "cart": "cart", "addtocart": "cart", "add_to_cart": "cart",
    "fav": "fav", "favorite": "fav", "favourite": "fav", "collect": "fav",
    "buy": "buy", "purchase": "buy", "order": "buy", "transaction": "buy",
}


@dataclass(frozen=True)
class Preset:
    """A known file layout: its kind, column names and how to normalise it."""

    kind: str
    header: bool = True
    names: tuple[str, ...] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    tz: str | None = None
    language: str | None = None


PRESETS: dict[str, Preset] = {
    # Alibaba Tianchi UserBehavior: no header; Unix seconds, China time.
    "taobao": Preset(
        "events",
        header=False,
        names=("user_id", "item_id", "category_id", "event_type", "ts"),
        tz="Asia/Shanghai",
    ),
    # Amazon Review Data (2018) JSON lines.
    "amazon-reviews": Preset(
        "reviews",
        rename={"asin": "unique_id", "unixReviewTime": "ts", "overall": "rating",
                "reviewText": "text"},
        language="en",
    ),
}


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Parse ``--map target=source`` options into {source: target}."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputFileError(
                f"--map {pair!r}: expected TARGET=SOURCE, for example --map y=units_sold"
            )
        target, source = (p.strip() for p in pair.split("=", 1))
        mapping[source] = target
    return mapping


def load_file(
    path: str | Path,
    kind: str,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    tz: str | None = None,
    sheet: str | int | None = None,
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
) -> pd.DataFrame:
    """Read, normalise and validate one file of ``kind``; raise on any bad row.

    Args:
        path: the file (CSV, CSV.gz, TSV, JSON lines, Parquet or Excel).
        kind: one of ``KINDS``.
        fmt: a preset layout name (``taobao``, ``amazon-reviews``), or None.
        mapping: {column in file: trendcast column}, applied before validation.
        tz: time zone of Unix timestamps (naive local times are stored).
        sheet: Excel sheet.
        max_unpacked_mb: largest size a .gz or .zip may unpack to.
    """
    preset = PRESETS.get(fmt or "")
    if fmt and preset is None:
        raise InputFileError(
            f"unknown format {fmt!r}; known: {', '.join(sorted(PRESETS))}, m5 (a folder)"
        )
    if preset and preset.kind != kind:
        raise InputFileError(f"format {fmt!r} holds {preset.kind}, not {kind}")
    if kind not in KINDS:
        raise InputFileError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    raw = read_frame(
        path,
        header=preset.header if preset else True,
        names=preset.names if preset else None,
        sheet=sheet,
        max_unpacked_mb=max_unpacked_mb,
    )
    rename = dict(preset.rename) if preset else {}
    rename.update(mapping or {})
    unknown = [s for s in (mapping or {}) if s not in raw.columns]
    if unknown:
        raise DataValidationError(
            f"{path}: --map names column(s) {unknown} that the file does not have; "
            f"its columns are {list(raw.columns)}"
        )
    raw = raw.rename(columns=rename)
    raw = normalise(raw, kind, tz=tz or (preset.tz if preset else None),
                    language=preset.language if preset else None)
    return validate(raw, kind, source=str(path))


def normalise(df: pd.DataFrame, kind: str, *, tz: str | None = None,
              language: str | None = None) -> pd.DataFrame:
    """Kind-specific clean-ups that come before validation (row order is kept)."""
    attrs = dict(df.attrs)
    df = df.copy()
    if kind == "macro" and "name" not in df.columns and "ds" in df.columns:
        df = _macro_wide_to_long(df)
    for col in ("ts",):
        if col in df.columns:
            df[col] = _unix_to_local(df[col], tz)
    if kind == "events" and "event_type" in df.columns:
        text = df["event_type"].astype("string").str.strip().str.lower()
        df["event_type"] = text.map(EVENT_ALIASES).fillna(text).astype(object)
    if kind == "reviews":
        if "text" in df.columns and "summary" in df.columns:
            # Amazon keeps a headline apart from the body; both carry sentiment.
            df["text"] = (df["summary"].fillna("").astype(str) + ". "
                          + df["text"].fillna("").astype(str)).str.strip(". ")
        if "review_id" not in df.columns and {"unique_id", "ts"} <= set(df.columns):
            df["review_id"] = _review_ids(df)
        if "language" not in df.columns and "text" in df.columns:
            df["language"] = language or detect_language(df["text"])
    if kind == "calendar" and "end" in df.columns:
        from trendcast.data.calendar import user_events

        source = str(attrs.get("source", "<frame>"))
        try:
            df = user_events(df, source="user")
        except DataValidationError as exc:
            raise DataValidationError(f"{source}: {exc}", exc.problems) from None
        attrs["header"] = False  # rows were expanded: positions no longer match file lines
    if kind == "calendar":
        for col, default in (("kind", "custom"), ("region", ""), ("source", "user")):
            if col not in df.columns:
                df[col] = default
        df["region"] = df["region"].fillna("")
    df.attrs.update(attrs)
    return df


def _macro_wide_to_long(df: pd.DataFrame) -> pd.DataFrame:
    """A table with `ds` and one column per indicator becomes (name, ds, value) rows."""
    values = [c for c in df.columns if c != "ds"]
    df = df.reset_index(names="_row")
    long = df.melt(id_vars=["_row", "ds"], value_vars=values, var_name="name",
                   value_name="value")
    long = long.sort_values(["_row", "name"], kind="stable").set_index("_row")
    long.index.name = None
    return long[["name", "ds", "value"]]


def _unix_to_local(values: pd.Series, tz: str | None) -> pd.Series:
    """Unix seconds (or milliseconds) become naive local time stamps; other text is kept."""
    text = values.astype("string").str.strip()
    is_unix = text.str.fullmatch(r"\d{9,13}").fillna(False)
    if not is_unix.any() or pd.api.types.is_datetime64_any_dtype(values):
        return values
    if not is_unix.all():
        return values  # mixed: validation reports the rows that are not dates
    numbers = pd.to_numeric(text)
    unit = "ms" if numbers.max() > 1e11 else "s"
    stamps = pd.to_datetime(numbers, unit=unit, utc=True)
    if tz:
        stamps = stamps.dt.tz_convert(tz)
    return stamps.dt.tz_localize(None)


def _review_ids(df: pd.DataFrame) -> pd.Series:
    parts = df["unique_id"].astype(str) + "|" + df["ts"].astype(str)
    for extra in ("reviewerID", "user_id", "text"):
        if extra in df.columns:
            parts = parts + "|" + df[extra].astype(str)
    return parts.map(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest()[:16])


def detect_language(text: pd.Series) -> pd.Series:
    """'zh' where a text holds CJK characters, else 'en'."""
    has_cjk = text.fillna("").astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True)
    return pd.Series(np.where(has_cjk, "zh", "en"), index=text.index, dtype=object)


def check_known_products(df: pd.DataFrame, known: set[str], *, column: str, source: str) -> None:
    """Reject rows whose product id the store does not know."""
    unknown = ~df[column].isin(known)
    if not unknown.any():
        return
    idx = np.flatnonzero(unknown.to_numpy())
    header = 1 if source.endswith((".csv", ".csv.gz", ".tsv", ".txt", ".xlsx", ".xls")) else 0
    lines = []
    problems = []
    for i in idx[:10]:
        row = int(df.index[i]) + 1
        where = f"row {row} (line {row + 1})" if header else f"row {row}"
        lines.append(f"{source}: {where}, column {column!r}: got {df[column].iloc[i]!r}, "
                     "expected a product id the store knows")
        problems.append({"file": source, "row": row, "column": column,
                         "value": df[column].iloc[i], "expected": "a known product id"})
    raise DataValidationError(
        f"{len(idx)} row(s) refer to unknown products, nothing was stored:\n" + "\n".join(lines)
        + "\nIngest the product catalogue (or sales) first, or pass --add-products to register "
        "them as new products.",
        problems,
    )


__all__ = ["KINDS", "PRESETS", "SPECS", "check_known_products", "load_file", "normalise",
           "parse_mapping"]
