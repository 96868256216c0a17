"""Read tabular files (CSV, CSV.gz, TSV, JSON lines, Parquet, Excel) into pandas frames.

Text files are decoded up front so an undecodable byte is reported with its row and column,
and every value is read as text: validation then reports the original bad value, not a
half-parsed one. ``df.attrs`` carries the source file name and whether a header line precedes
the data, so errors can name rows as a person counts them.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from trendcast.errors import DataValidationError, InputFileError

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUPPORTED = ".csv, .csv.gz, .tsv, .txt, .json/.jsonl (JSON lines), .parquet, .xlsx, .xls, .zip"
DEFAULT_MAX_UNPACKED_MB = 1024
_CHUNK = 1 << 20


def max_unpacked_bytes(mb: int = DEFAULT_MAX_UNPACKED_MB) -> int:
    """Largest size a .gz or .zip may unpack to, in bytes (``Settings.max_unpacked_mb``,
    ``TRENDCAST_MAX_UNPACKED_MB``, default 1024 MB)."""
    if mb < 1:
        raise InputFileError(f"TRENDCAST_MAX_UNPACKED_MB must be >= 1, got {mb}")
    return mb * 1024 * 1024


def _too_big(path: Path, limit: int) -> InputFileError:
    return InputFileError(
        f"{path}: unpacks to more than {limit // (1024 * 1024)} MB; split the file, or raise "
        "TRENDCAST_MAX_UNPACKED_MB if the size is expected"
    )


def _gunzip(path: Path, raw: bytes, limit: int) -> bytes:
    """Decompress every gzip member, stopping as soon as the output passes ``limit``."""
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits=31)
        while data:
            out += d.decompress(data, _CHUNK)
            if len(out) > limit:
                raise _too_big(path, limit)
            data = d.unconsumed_tail
            if d.eof:
                break
        if not d.eof:
            raise OSError("compressed file ended before the end-of-stream marker")
        data = d.unused_data.lstrip(b"\x00")
    return bytes(out)


def _suffixes(path: Path) -> str:
    name = path.name.lower()
    for ext in (".csv.gz", ".tsv.gz", ".txt.gz", ".json.gz", ".jsonl.gz"):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def _read_bytes(path: Path, limit: int) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return _gunzip(path, raw, limit)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputFileError(f"{path}: damaged gzip file ({exc})") from exc
    if raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [n for n in zf.namelist() if not n.endswith("/")]
                if len(members) != 1:
                    raise InputFileError(
                        f"{path}: a zip must hold exactly one data file, found {members}"
                    )
                if zf.getinfo(members[0]).file_size > limit:
                    raise _too_big(path, limit)
                with zf.open(members[0]) as member:  # the header's size can lie: read at most limit+1
                    data = member.read(limit + 1)
                if len(data) > limit:
                    raise _too_big(path, limit)
                return data
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
            raise InputFileError(f"{path}: damaged or unsupported zip file ({exc})") from exc
    return raw


def decode_text(raw: bytes, source: str, *, sep: str = ",", header: bool = True) -> str:
    """Decode UTF-8 (with or without BOM); name row and column of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line_no = raw.count(b"\n", 0, exc.start) + 1
        field = raw[line_start : exc.start].count(sep.encode())
        first_line = raw[: raw.find(b"\n")].decode("utf-8", errors="replace").strip()
        names = first_line.split(sep) if header else []
        column = names[field].strip().strip('"') if field < len(names) else f"#{field + 1}"
        row = line_no - 1 if header else line_no
        bad = raw[exc.start : exc.start + 4]
        raise DataValidationError(
            f"{source}: row {row} (line {line_no}), column {column!r}: bytes {bad!r} are not "
            "valid UTF-8; expected UTF-8 text (re-save the file as UTF-8)",
            [{"file": source, "row": row, "column": column, "value": repr(bad),
              "expected": "UTF-8 text"}],
        ) from None


def read_frame(
    path: str | Path,
    *,
    sep: str | None = None,
    header: bool = True,
    names: Sequence[str] | None = None,
    sheet: str | int | None = None,
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
) -> pd.DataFrame:
    """Read one file into a frame of text columns (Parquet keeps its types).

    Args:
        path: the file; its ending picks the reader.
        sep: field separator for text files (default: ',' or tab for .tsv).
        header: whether the first line holds column names.
        names: column names to use when the file has no header.
        sheet: Excel sheet name or index (default the first).
        max_unpacked_mb: largest size a .gz or .zip may unpack to.
    """
    p = Path(path)
    limit = max_unpacked_bytes(max_unpacked_mb)
    if not p.exists():
        raise InputFileError(f"{p}: no such file")
    if p.is_dir():
        raise InputFileError(f"{p} is a folder; pass a file, or --format m5 for an M5 folder")
    ext = _suffixes(p)
    source = str(p)
    if ext == ".parquet":
        try:
            df = pd.read_parquet(p)
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InputFileError(f"{p}: cannot read as Parquet ({exc})") from exc
    elif ext in (".xlsx", ".xls", ".xlsm"):
        try:
            df = pd.read_excel(
                p, sheet_name=sheet or 0, dtype=str, header=0 if header else None, names=names
            )
        except (ValueError, OSError, KeyError) as exc:
            raise InputFileError(f"{p}: cannot read as Excel ({exc})") from exc
    elif ext in (".json", ".jsonl", ".json.gz", ".jsonl.gz"):
        text = decode_text(_read_bytes(p, limit), source, header=False)
        try:
            df = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        except ValueError as exc:
            raise InputFileError(f"{p}: not JSON lines (one object per line): {exc}") from exc
    elif ext in (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".zip"):
        delimiter = sep or ("\t" if ext.startswith(".tsv") else ",")
        text = decode_text(_read_bytes(p, limit), source, sep=delimiter, header=header)
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                header=0 if header else None,
                names=list(names) if names else None,
            )
        except pd.errors.ParserError as exc:
            raise InputFileError(f"{p}: cannot parse as delimited text: {exc}") from exc
        except pd.errors.EmptyDataError:
            raise InputFileError(f"{p}: the file is empty") from None
    else:
        raise InputFileError(f"{p}: unsupported file type {ext!r}; trendcast reads {SUPPORTED}")
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.reset_index(drop=True)
    df.attrs["source"] = source
    df.attrs["header"] = bool(header) and ext not in (".parquet", ".json", ".jsonl")
    return df
