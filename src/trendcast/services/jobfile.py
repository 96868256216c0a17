"""The files of one daily run, each with its own kind and reading options: a job file.

A shop's daily export is several files (orders, the catalogue's new products, reviews, stock),
each laid out its own way. ``trendcast update --job-file daily.toml`` reads them all as ``ingest``
would and stores them in one batch: a bad row in any file stores nothing. The job file is
TOML, one ``[[file]]`` table per file (or glob), with ``ingest``'s options as keys::

    [[file]]
    path = "exports/products-*.csv"   # relative to the job file; a glob takes every match
    kind = "products"

    [[file]]
    path = "exports/orders.csv"
    kind = "orders"
    map = { unique_id = "sku", ts = "paid_at", quantity = "qty" }   # or ["unique_id=sku", ...]
    aggregate = "D"

    [[file]]
    path = "exports/reviews.json"
    kind = "reviews"
    add_products = true
    optional = true                   # no file today is not an error

Files are ingested kind by kind in :data:`KIND_ORDER` (the catalogue before the orders and
reviews that name its new products), in the job file's order within a kind.
"""

from __future__ import annotations

import glob
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trendcast.data.contract import DEFAULT_TZ
from trendcast.data.ingest import KINDS, PRESETS, IngestOptions, make_options
from trendcast.data.readers import Limits
from trendcast.errors import InputFileError

KIND_ORDER = ("products", "calendar", "macro", "sales", "orders", "stock", "events", "reviews")


@dataclass(frozen=True)
class FileJob:
    """One file to ingest, with everything ``ingest_file`` takes besides the store."""

    path: Path
    kind: str = "sales"
    options: IngestOptions = field(default_factory=IngestOptions)
    add_products: bool = False
    aggregate: Literal["D", "W"] | None = None
    pseudonymise: bool = True
    scrub: bool = False
    week_label: Literal["start", "end"] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputFileError(f"unknown kind {self.kind!r} for {self.path}; choose one of "
                                 f"{', '.join(KINDS)}")
        if self.aggregate is not None and self.kind != "orders":
            raise InputFileError(f"{self.path}: aggregate builds sales from orders; it needs the "
                                 f"kind orders, not {self.kind!r}")

    def ingest_kwargs(self) -> dict[str, Any]:
        return {"add_products": self.add_products, "aggregate": self.aggregate,
                "pseudonymise": self.pseudonymise, "scrub": self.scrub, "options": self.options,
                "week_label": self.week_label}


class _Entry(BaseModel):
    """One ``[[file]]`` table: the options of ``trendcast ingest``, with the same names."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: str = Field(min_length=1)
    kind: str | None = None
    format: str | None = None
    map: dict[str, str] | list[str] | None = None
    set: dict[str, str] | list[str] | None = None
    drop: list[str] | None = None
    tz: str | None = None
    date_format: str | None = None
    negatives: Literal["reject", "keep", "clip", "zero"] = "reject"
    decimal: Literal[".", ","] | None = None
    rating_scale: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    columns: str | None = None
    add_products: bool = False
    aggregate: Literal["D", "W"] | None = None
    keep_user_ids: bool = False
    scrub: bool = False
    week_label: Literal["start", "end"] | None = None
    optional: bool = False

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str | None) -> str | None:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
        return kind

    @field_validator("format")
    @classmethod
    def _known_format(cls, fmt: str | None) -> str | None:
        if fmt is not None and fmt not in PRESETS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(PRESETS)} (an M5 "
                             "folder is ingested with `trendcast ingest --format m5`)")
        return fmt


def _pairs(value: dict[str, str] | list[str] | None) -> list[str] | None:
    if isinstance(value, dict):
        return [f"{k}={v}" for k, v in value.items()]
    return value


def load_job(path: str | Path, *, workspace_tz: str = DEFAULT_TZ, limits: Limits | None = None,
             need_files: bool = True) -> list[FileJob]:
    """Read a job file into the files to ingest, in the order they are ingested.

    Every problem (TOML syntax, an unknown key, an option value, a path that matches no file
    and is not ``optional``) is an :class:`InputFileError` naming the job file and the entry,
    raised before anything is read or stored. ``need_files=False`` checks the job file alone
    (a server checks it at start, before the day's files exist)."""
    job_path = Path(path)
    try:
        doc = tomllib.loads(job_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"job file {job_path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"job file {job_path} is not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"file"})
    if unknown:
        raise InputFileError(f"job file {job_path}: unknown key(s) {unknown}; the files go in "
                             "[[file]] tables")
    entries = doc.get("file")
    if not isinstance(entries, list) or not entries:
        raise InputFileError(f"job file {job_path} names no file: add a [[file]] table with a "
                             "path and a kind for each file")
    base = job_path.resolve().parent
    jobs: list[FileJob] = []
    for i, raw in enumerate(entries, start=1):
        where = f"job file {job_path}, [[file]] {i}"
        if not isinstance(raw, dict):
            raise InputFileError(f"{where}: expected a table of options")
        if isinstance(raw.get("path"), str):
            where = f"{where} ({raw['path']})"
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(_problem(e) for e in exc.errors())
            raise InputFileError(f"{where}: {problems}") from None
        kind = entry.kind or (PRESETS[entry.format].kind if entry.format else "sales")
        if entry.aggregate and kind != "orders":
            raise InputFileError(f"{where}: aggregate builds sales from orders; it needs "
                                 f"kind = \"orders\", not {kind!r}")
        try:
            options = make_options(
                fmt=entry.format, mapping=_pairs(entry.map), constants=_pairs(entry.set),
                drop=entry.drop, tz=entry.tz, workspace_tz=workspace_tz,
                date_format=entry.date_format, negatives=entry.negatives, decimal=entry.decimal,
                rating_scale=entry.rating_scale, encoding=entry.encoding, sheet=entry.sheet,
                limits=limits, columns=entry.columns)
        except InputFileError as exc:
            raise InputFileError(f"{where}: {exc}") from None
        pattern = Path(entry.path).expanduser()
        pattern = pattern if pattern.is_absolute() else base / pattern
        matches = sorted(Path(p) for p in glob.glob(str(pattern)))
        files = [p for p in matches if p.is_file()]
        if not files and not entry.optional and need_files:
            raise InputFileError(f"{where}: no file matches {str(pattern)!r}; if the file does "
                                 "not come every day, add optional = true to its entry")
        jobs += [FileJob(p, kind, options, add_products=entry.add_products,
                         aggregate=entry.aggregate, pseudonymise=not entry.keep_user_ids,
                         scrub=entry.scrub, week_label=entry.week_label) for p in files]
    return in_kind_order(jobs)


def in_kind_order(jobs: Sequence[FileJob]) -> list[FileJob]:
    """``jobs`` sorted by :data:`KIND_ORDER`, keeping their order within a kind."""
    return sorted(jobs, key=lambda j: KIND_ORDER.index(j.kind))


def _problem(error: Any) -> str:
    loc = ".".join(str(x) for x in error.get("loc", ()))
    if error.get("type") == "extra_forbidden":
        return (f"unknown key {loc!r}; keys are {', '.join(_Entry.model_fields)} (the options of "
                "`trendcast ingest`, with _ for -)")
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    value = error.get("input")
    return f"{loc}: {message} (got {value!r})" if loc else message
