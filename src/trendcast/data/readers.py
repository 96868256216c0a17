"""Read tabular files (CSV, CSV.gz, TSV, JSON lines, Parquet, Excel, a zip of one of them)
into pandas frames, within limits, and refuse malformed layouts before any value is read.

Text files are decoded up front (UTF-8 with or without BOM, UTF-16, GB18030/GBK and a few
others, detected; the encoding is reported) and every value is read as text, so validation
reports the original bad value. JSON lines keep their Python values (numbers, booleans, lists)
so the value contract can refuse what is not a single value. Parquet keeps its types.

Limits (:class:`Limits`, from ``Settings``) are checked while the bytes stream in: the size a
.gz/.zip/.xlsx unpacks to (absolute, and relative to the packed size), rows, columns and the
length of one field. A broken limit raises :class:`~trendcast.errors.LimitError`.

``df.attrs`` carries the source file name, whether a header line precedes the data (so errors
name rows as a person counts them) and the encoding that was read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trendcast.data.contract import file_rows
from trendcast.data.merged_cells import fill_down, span_grid, xlsx_merged_ranges
from trendcast.errors import DataValidationError, InputFileError, LimitError

if TYPE_CHECKING:
    from trendcast.config import Settings

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUPPORTED = ".csv, .csv.gz, .tsv, .txt, .json/.jsonl (JSON lines), .parquet, .xlsx, .xls, .zip"
DEFAULT_MAX_UNPACKED_MB = 1024
UPLOAD_FACTOR = 10  # an upload may unpack to at most 10x the upload limit
_CHUNK = 1 << 20
_MB = 1024 * 1024
# Encodings accepted from detection (GB2312/GBK are read as their superset GB18030).
_ACCEPTED = {"utf_8": "utf-8", "utf_16": "utf-16", "utf_16_le": "utf-16-le",
             "utf_16_be": "utf-16-be", "gb18030": "gb18030", "gbk": "gb18030",
             "gb2312": "gb18030", "big5": "big5", "cp1252": "cp1252", "latin_1": "latin-1",
             "iso8859_1": "latin-1", "shift_jis": "shift_jis", "cp932": "cp932",
             "euc_kr": "euc_kr"}


_CJK = {"cp949", "euc_kr", "johab", "iso2022_kr", "gb18030", "gbk", "gb2312", "hz", "big5",
        "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp", "euc_jis_2004", "shift_jis_2004",
        "iso2022_jp"}


@dataclass(frozen=True)
class Limits:
    """What one file may cost to read.

    Attributes:
        max_unpacked_bytes: largest size a .gz/.zip/.xlsx/.parquet may unpack to.
        max_ratio: largest unpacked/packed size ratio once past ``ratio_floor_bytes``
            (real exports compress 3-15x; a bomb 1,000x).
        ratio_floor_bytes: unpacked size below which the ratio is not checked.
        max_rows: data rows.
        max_columns: columns (fields of the header line; keys of JSON lines).
        max_field_chars: characters in one field.
    """

    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_MB * _MB
    max_ratio: float = 50.0
    ratio_floor_bytes: int = 16 * _MB
    max_rows: int = 10_000_000
    max_columns: int = 1_000
    max_field_chars: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: Settings, *, upload_bytes: int | None = None) -> Limits:
        """The limits of ``Settings``; for an upload, the unpacked size is also capped at
        ``UPLOAD_FACTOR`` times the upload limit."""
        unpacked = settings.max_unpacked_mb * _MB
        if upload_bytes is not None:
            unpacked = min(unpacked, UPLOAD_FACTOR * upload_bytes)
        return cls(max_unpacked_bytes=unpacked, max_ratio=settings.max_unpack_ratio,
                   max_rows=settings.max_rows, max_columns=settings.max_columns,
                   max_field_chars=settings.max_field_chars)

    def unpacked_limit(self, packed: int) -> int:
        """Bytes a file of ``packed`` bytes may unpack to."""
        return int(min(self.max_unpacked_bytes, max(self.ratio_floor_bytes, self.max_ratio * packed)))


def max_unpacked_bytes(mb: int = DEFAULT_MAX_UNPACKED_MB) -> int:
    """Largest size a .gz or .zip may unpack to, in bytes (``Settings.max_unpacked_mb``,
    ``TRENDCAST_MAX_UNPACKED_MB``, default 1024 MB)."""
    if mb < 1:
        raise InputFileError(f"TRENDCAST_MAX_UNPACKED_MB must be >= 1, got {mb}")
    return mb * _MB


def _too_big(path: Path, limit: int, packed: int, limits: Limits) -> LimitError:
    if limit < limits.max_unpacked_bytes:
        return LimitError(
            f"{path}: unpacks to more than {limit / _MB:.0f} MB from {packed / _MB:.2f} MB "
            f"(over {limits.max_ratio:g} times its packed size, which real exports never are: "
            "refused as a possible zip bomb); unpack it yourself and send the plain file"
        )
    return LimitError(
        f"{path}: unpacks to more than {limit // _MB} MB; split the file, or raise "
        "TRENDCAST_MAX_UNPACKED_MB if the size is expected"
    )


def _gunzip(path: Path, raw: bytes, limits: Limits) -> bytes:
    """Decompress every gzip member, stopping as soon as the output passes the limit."""
    limit = limits.unpacked_limit(len(raw))
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits=31)
        while data:
            out += d.decompress(data, _CHUNK)
            if len(out) > limit:
                raise _too_big(path, limit, len(raw), limits)
            data = d.unconsumed_tail
            if d.eof:
                break
        if not d.eof:
            raise OSError("compressed file ended before the end-of-stream marker")
        data = d.unused_data.lstrip(b"\x00")
    return bytes(out)


def _suffixes(path: Path | str) -> str:
    name = str(path).lower()
    for ext in (".csv.gz", ".tsv.gz", ".txt.gz", ".json.gz", ".jsonl.gz"):
        if name.endswith(ext):
            return ext
    return Path(name).suffix


def _unzip(path: Path, raw: bytes, limits: Limits) -> tuple[bytes, str]:
    """The one data file of a zip (bytes, its name), read at most up to the limit."""
    limit = limits.unpacked_limit(len(raw))
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = [i for i in zf.infolist() if not i.filename.endswith("/")
                     and not i.filename.startswith("__MACOSX/")]
            if len(infos) != 1:
                raise InputFileError(f"{path}: a zip must hold exactly one data file, found "
                                     f"{[i.filename for i in infos][:10]}")
            info = infos[0]
            if info.flag_bits & 0x1:
                raise InputFileError(f"{path}: the zip is encrypted (password-protected); "
                                     "unzip it yourself and send the plain file")
            if info.file_size > limit:
                raise _too_big(path, limit, len(raw), limits)
            out = bytearray()
            with zf.open(info) as member:  # the header's size can lie: stop past the limit
                while chunk := member.read(_CHUNK):
                    out += chunk
                    if len(out) > limit:
                        raise _too_big(path, limit, len(raw), limits)
            return bytes(out), info.filename
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
            zlib.error, RuntimeError) as exc:
        raise InputFileError(f"{path}: damaged or unsupported zip file ({exc})") from exc


def _unpacked(path: Path, limits: Limits) -> tuple[bytes, str]:
    """The file's bytes, gunzipped or unzipped; and the suffix that picks the reader."""
    raw = path.read_bytes()
    ext = _suffixes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            data = _gunzip(path, raw, limits)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputFileError(f"{path}: damaged gzip file ({exc})") from exc
        return data, ext.removesuffix(".gz") if ext.endswith(".gz") else ext
    if raw[:4] == b"PK\x03\x04" and ext not in (".xlsx", ".xlsm"):
        data, inner = _unzip(path, raw, limits)
        inner_ext = _suffixes(inner)
        if inner_ext in (".xlsx", ".xls", ".xlsm", ".parquet", ".zip") or inner_ext.endswith(".gz"):
            raise InputFileError(f"{path}: holds {inner!r}; unzip it and send that file itself")
        return data, inner_ext if inner_ext in (".csv", ".tsv", ".txt", ".json", ".jsonl") else ".csv"
    return raw, ext.removesuffix(".gz") if ext.endswith(".gz") else ext


# -- text -----------------------------------------------------------------------------------


def detect_encoding(raw: bytes, forced: str | None = None) -> tuple[str, int]:
    """The encoding of ``raw`` and the length of its byte-order mark."""
    if forced:
        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise InputFileError(f"--encoding {forced!r} is not an encoding Python knows "
                                 "(try utf-8, utf-16, gb18030, big5, cp1252)") from None
        bom = 3 if name == "utf-8" and raw.startswith(codecs.BOM_UTF8) else 0
        return name, bom
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0  # the codec reads and drops the BOM
    sample = raw[:65536]
    # UTF-16 without BOM: every other byte of ASCII text is zero.
    if len(sample) >= 4 and sample[1::2].count(0) > 0.4 * len(sample) / 2 and sample[0] != 0:
        return "utf-16-le", 0
    if len(sample) >= 4 and sample[0::2].count(0) > 0.4 * len(sample) / 2 and sample[1] != 0:
        return "utf-16-be", 0
    try:
        raw.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency of the project
        return "utf-8", 0
    matches = list(from_bytes(raw[:1_000_000]))
    names = [codecs.lookup(m.encoding).name.replace("-", "_") for m in matches]
    name = _ACCEPTED.get(names[0]) if names else None
    if name is None and names and names[0] in _CJK:
        # a short Chinese header (the only non-ASCII text of a file) often ranks Korean cp949
        # first: take the first CJK encoding read here that the ranking also found
        name = next((_ACCEPTED[n] for n in names if n in _CJK and n in _ACCEPTED), None)
    return name or "utf-8", 0


def _decode_error(raw: bytes, exc: UnicodeDecodeError, source: str, encoding: str, sep: str,
                  header: bool) -> DataValidationError:
    line_start = raw.rfind(b"\n", 0, exc.start) + 1
    line_no = raw.count(b"\n", 0, exc.start) + 1
    field = raw[line_start : exc.start].count(sep.encode())
    first_line = raw[: raw.find(b"\n")].decode("utf-8", errors="replace").strip()
    names = first_line.split(sep) if header else []
    column = names[field].strip().strip('"').lstrip("\ufeff") if field < len(names) else f"#{field + 1}"
    row = line_no - 1 if header else line_no
    bad = raw[exc.start : exc.start + 4]
    where = f"row {row} (line {line_no})" if header else f"row {row}"
    return DataValidationError(
        f"{source}: {where}, column {column!r}: bytes {bad!r} are not valid {encoding}; "
        "expected UTF-8 text (re-save the file as UTF-8, or name its encoding with "
        "--encoding, e.g. --encoding gb18030)",
        [{"file": source, "row": row, "column": column, "value": repr(bad),
          "expected": f"valid {encoding} text"}],
    )


def decode(raw: bytes, source: str, *, sep: str = ",", header: bool = True,
           encoding: str | None = None) -> tuple[bytes, str]:
    """UTF-8 bytes of the file (without BOM) and the encoding it was read in."""
    name, bom = detect_encoding(raw, encoding)
    if name == "utf-8":
        try:
            raw[bom:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _decode_error(raw, exc, source, "UTF-8", sep, header) from None
        return raw[bom:], ("UTF-8 with BOM" if bom else "UTF-8")
    try:
        text = raw.decode(name)
    except UnicodeDecodeError as exc:
        raise _decode_error(raw, exc, source, name, sep, header) from None
    return text.lstrip("\ufeff").encode("utf-8"), name.upper()


def decode_text(raw: bytes, source: str, *, sep: str = ",", header: bool = True) -> str:
    """Decode UTF-8 (with or without BOM); name row and column of the first bad byte."""
    data, _ = decode(raw, source, sep=sep, header=header, encoding="utf-8")
    return data.decode("utf-8")


def _line_of(data: bytes, pos: int) -> tuple[int, int]:
    """1-based line number of byte ``pos`` and the field number (by commas, approximate)."""
    start = max(data.rfind(b"\n", 0, pos), data.rfind(b"\r", 0, pos)) + 1
    return data.count(b"\n", 0, pos) + 1 or data.count(b"\r", 0, pos) + 1, start


def _check_nul(data: bytes, source: str, sep: str, names: list[str], header: bool) -> None:
    pos = data.find(b"\x00")
    if pos < 0:
        return
    line, start = _line_of(data, pos)
    field = data[start:pos].count(sep.encode())
    column = names[field] if field < len(names) else f"#{field + 1}"
    row = line - 1 if header else line
    where = f"row {row} (line {line})" if header else f"row {row}"
    raise DataValidationError(
        f"{source}: {where}, column {column!r}: a NUL byte (\\x00) inside a value; expected "
        "text without control characters (the file may be binary or damaged)",
        [{"file": source, "row": row, "column": column, "value": "\\x00",
          "expected": "text without control characters"}])


def _first_line(data: bytes) -> bytes:
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return data[: min(ends)] if ends else data


def check_header(names: Sequence[object], source: str) -> list[str]:
    """Column names stripped; blank, repeated or odd names refused with their positions."""
    out: list[str] = []
    problems = []
    for i, name in enumerate(names):
        text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        if i == 0:
            text = text.lstrip("\ufeff")
        if "\ufeff" in text:
            problems.append((i, text, "a name without a byte-order mark (U+FEFF); the file looks "
                                      "like two files joined"))
        elif any(ord(c) < 32 or ord(c) == 127 for c in text):
            problems.append((i, text, "a name without control characters"))
        clean = text.strip()
        if not clean:
            problems.append((i, text, "a column name (a blank name: a trailing separator on the "
                                      "header line, or a saved index column)"))
        out.append(clean)
    seen: dict[str, int] = {}
    for i, clean in enumerate(out):
        if clean and clean in seen:
            problems.append((i, names[i], f"a name used once; column {seen[clean] + 1} is also "
                                          f"named {clean!r}"))
        seen.setdefault(clean, i)
    if problems:
        lines = [f"{source}: header, column {i + 1}: got {str(v)!r}, expected {e}"
                 for i, v, e in problems[:10]]
        raise DataValidationError(
            f"{len(problems)} problem(s) in the header line, nothing was stored:\n" + "\n".join(lines),
            [{"file": source, "row": 0, "column": f"#{i + 1}", "value": str(v), "expected": e}
             for i, v, e in problems[:50]])
    return out


_LEADING_BLANK = re.compile(rb"(?:[ \t]*(?:\r\n|\n|\r))*")
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def sniff_separator(data: bytes) -> str:
    """The separator of a header line: ',' when it has one (outside quotes), else the one of
    ';', tab and '|' it holds most (European Excel saves CSV with ';', "Text (Tab
    delimited)" saves .txt with tabs); ',' when it holds none."""
    body = data[_LEADING_BLANK.match(data).end():]  # type: ignore[union-attr]
    # a report's title lines above the header hold no separator: read the first line that does
    for line in body.split(b"\n", TITLE_ROWS)[:TITLE_ROWS]:
        first = line.decode("utf-8", errors="replace")
        outside = "".join(part for i, part in enumerate(first.split('"')) if i % 2 == 0)
        if "," in outside:
            # a tab too: a tab-separated file whose text has commas (a review's sentence), told
            # by which of the two splits the first lines into as many fields as this one
            if "\t" in outside and _steadier("\t", ",", body):
                return "\t"
            return ","
        counts = {c: outside.count(c) for c in (";", "\t", "|")}
        best = max(counts, key=lambda c: counts[c])
        if counts[best]:
            return best
    return ","


def _steadier(one: str, other: str, data: bytes, lines: int = 50) -> bool:
    """Whether ``one`` splits more of the first ``lines`` lines into the first line's number
    of fields than ``other`` does (quotes aside)."""
    rows = [r.decode("utf-8", errors="replace").rstrip("\r") for r in data.split(b"\n", lines)[:lines]
            if r.strip()]

    def steady(sep: str) -> int:
        counts = [len(r.split(sep)) for r in rows]
        return sum(c == counts[0] for c in counts) if counts and counts[0] > 1 else 0

    return steady(one) > steady(other)


def separator_for_width(data: bytes, width: int, lines: int = 50) -> str:
    """The separator of a file without a header line whose rows have ``width`` columns: the
    one of ',', ';', tab and '|' that splits most of the first ``lines`` lines into exactly
    ``width`` fields (a comma inside a review's text does not make it a comma file); ','
    when none does."""
    rows = [r for r in data.split(b"\n", lines)[:lines] if r.strip()]
    best, count = ",", 0
    for candidate in ("\t", ",", ";", "|"):
        fit = sum(1 for r in rows if len(r.decode("utf-8", errors="replace").rstrip("\r").split(candidate))
                  == width)
        if fit > count:
            best, count = candidate, fit
    return best


def _read_delimited(data: bytes, source: str, sep: str, header: bool,
                    names: Sequence[str] | None, limits: Limits) -> pd.DataFrame:
    # blank lines before the header: skipped here, counted so rows keep their file lines
    skip = _LEADING_BLANK.match(data).end()  # type: ignore[union-attr]
    lead = max(data.count(b"\n", 0, skip), data.count(b"\r", 0, skip))
    data = data[skip:]
    short_titles: list[int] = []
    if header:  # title lines of one field above a wider header (a report's name, export time)
        found, cut, data = _short_title_lines(data, sep)
        short_titles = [lead + i + 1 for i in found]
        lead += cut
    first = _first_line(data).decode("utf-8", errors="replace")
    try:
        head = next(csv.reader([first], delimiter=sep), [])
    except csv.Error:
        head = first.split(sep)
    if len(head) > limits.max_columns:
        m5 = {"item_id", "store_id"} <= set(head) and sum(h.startswith("d_") for h in head) > 1
        raise LimitError(f"{source}: line 1 has {len(head):,} fields; trendcast reads at most "
                         f"{limits.max_columns:,} columns"
                         + ("; this is M5's sales table (item_id, store_id, d_1 ...): ingest its folder "
                            "with --format m5 (trendcast ingest --format m5 FOLDER)" if m5 else ""))
    lines = max(data.count(b"\n"), data.count(b"\r"))
    if lines > limits.max_rows + 1:
        raise LimitError(f"{source}: about {lines:,} lines; trendcast reads at most "
                         f"{limits.max_rows:,} rows per file (split it, or raise TRENDCAST_MAX_ROWS)")
    shown_names = [h.strip().lstrip("\ufeff") for h in head] if header else list(names or [])
    _check_nul(data, source, sep, shown_names, header)
    try:
        # blank lines are read as empty rows (and dropped below), so rows keep their lines
        df = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False,
                         na_values=[""], header=None, encoding="utf-8", index_col=False,
                         quoting=csv.QUOTE_MINIMAL, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{source}: the file is empty") from None
    except pd.errors.ParserError as exc:
        open_quote = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if open_quote:
            raise _open_quote_error(data, int(open_quote.group(1)), source, sep, header, lead,
                                    shown_names) from None
        raise _parser_error(exc, source, sep, header, lead) from None
    if b'"' in data:
        _check_quotes(data, source, sep, header, lead, shown_names)
    df.index = df.index + lead
    df, empty = _drop_empty_rows(df, source, header=header, what="file")
    titles: list[int] = short_titles
    if header:
        df = _two_line_header(_skip_title_rows(df))
        titles = titles + df.attrs.get("title_lines", [])
        cols = check_header(list(df.iloc[0]), source)
        df = df.iloc[1:].copy()
        df.columns = cols
        df = _drop_total_rows(_drop_repeated_headers(df))
    else:
        width = df.shape[1]
        given = list(names or [])
        if given and width > len(given):
            raise DataValidationError(
                f"{source}: rows have {width} fields but the layout has {len(given)} columns "
                f"({', '.join(given)}); a trailing separator or an extra column shifts the values")
        df.columns = given[:width] if given else [str(i) for i in range(width)]
    df.attrs["empty_rows"] = empty
    if titles:
        df.attrs["title_lines"] = titles
    return df


def _drop_empty_rows(df: pd.DataFrame, source: str, *, header: bool,
                     what: str) -> tuple[pd.DataFrame, int]:
    """Rows with no value in any cell (blank lines, ``,,,`` lines that spreadsheets leave
    below the data) dropped, and how many; the index keeps each row's position in the file
    (0 = line 1), so messages still name the file's rows and lines. Raises when nothing is
    left."""
    keep = np.zeros(len(df), dtype=bool)
    for name in df.columns:
        text = df[name].astype("string").str.strip()
        keep |= (text.notna() & (text != "")).fillna(False).to_numpy(dtype=bool)
    if not keep.any():
        raise InputFileError(f"{source}: the {what} is empty")
    first = int(np.argmax(keep)) if header else 0  # blank lines before the header
    return df[keep], int((~keep[first:]).sum())


TITLE_ROWS = 10


def _short_title_lines(data: bytes, sep: str) -> tuple[list[int], int, bytes]:
    """Leading lines of one field while a later one among the first :data:`TITLE_ROWS`
    has more (the parser would take the first for the header): the title lines' positions
    (0-based, blank lines among them left out), how many lines were cut, and the rest."""
    head = data.split(b"\n", TITLE_ROWS)[:TITLE_ROWS]
    widths = []
    for line in head:
        text = line.decode("utf-8", errors="replace").strip("\r")
        try:
            fields = next(csv.reader([text], delimiter=sep), [])
        except csv.Error:
            return [], 0, data
        widths.append(len([f for f in fields if f.strip()]) if len(fields) < 2 else len(fields))
    wide = [i for i, w in enumerate(widths) if w >= 2]
    if not wide or wide[0] == 0 or wide[0] >= len(head) - 1:
        return [], 0, data
    cut = sum(len(line) + 1 for line in head[: wide[0]])
    return [i for i in range(wide[0]) if widths[i]], wide[0], data[cut:]


_VALUE = re.compile(r"^[-+(]?[\d.,\s%$€£¥￥]+\)?$|^\d{4}[-/.年]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _two_line_header(df: pd.DataFrame) -> pd.DataFrame:
    """A header written on two lines, as spreadsheets lay out grouped columns: a group name
    over several columns (``销售``, merged or left of blank cells) and their names on the line
    below (``数量``, ``金额``), read as one header line. Taken when every blank cell of the
    first line has a name below it, the second line holds names only (no number or date) and
    each name with a name below it starts a group (a blank cell follows it). A column keeps
    the name below it (``销售 数量`` where the name below repeats), else the one above. The
    lines are kept in ``attrs['header_lines_joined']``."""
    if len(df) < 3 or df.shape[1] < 2:
        return df
    top = df.iloc[0].astype("string").str.strip()
    below = df.iloc[1].astype("string").str.strip()
    top_blank = (top.isna() | (top == "")).fillna(True).to_numpy(dtype=bool)
    named = (below.notna() & (below != "")).fillna(False).to_numpy(dtype=bool)
    if not top_blank.any() or not named[top_blank].all() or top_blank.all():
        return df
    if any(_VALUE.match(str(v)) for v in below[named]):
        return df  # the second line is data
    # a name above a name is a group's first column: the next column's top cell is blank
    # (otherwise the second line is a row of text data under a header with a blank cell)
    starts = ~top_blank & named
    if not all(i + 1 < len(top_blank) and top_blank[i + 1] for i in np.flatnonzero(starts)):
        return df
    group = top.where(~top_blank).ffill()
    subs = [str(b) if n else None for b, n in zip(below, named, strict=True)]
    repeated = {n for n in subs if n is not None and subs.count(n) > 1}
    names = [str(t) if sub is None else f"{g} {sub}" if sub in repeated and pd.notna(g) else sub
             for t, g, sub in zip(top, group, subs, strict=True)]
    out = df.drop(index=df.index[1]).copy()
    out.iloc[0] = names
    out.attrs.update(df.attrs)
    out.attrs["header_lines_joined"] = (int(df.index[0]) + 1, int(df.index[1]) + 1)
    return out


def _skip_title_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows above the header with one cell at most (a report's title, "导出时间: ..." lines
    that shop back ends write above the table) dropped, when a later row among the first
    :data:`TITLE_ROWS` has two cells or more; their lines (1-based) are kept in
    ``attrs['title_lines']``. The header is then the first row with two cells or more."""
    if df.shape[1] < 2:
        return df
    head = df.iloc[:TITLE_ROWS]
    filled = np.zeros(len(head), dtype=int)
    for name in head.columns:
        text = head[name].astype("string").str.strip()
        filled += (text.notna() & (text != "")).fillna(False).to_numpy(dtype=int)
    wide = np.flatnonzero(filled >= 2)
    if not len(wide) or wide[0] == 0:
        return df
    lines = [int(i) + 1 for i in df.index[: wide[0]]]
    out = df.iloc[wide[0]:].copy()
    out.attrs["title_lines"] = lines
    return out


# The first cell of a report's summing line (Excel reports and shop back ends add one).
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "汇总", "总合计", "total", "totals", "grand total",
                         "sum", "subtotal"})


# How a note line below a report's data starts (国家统计局's exports end with 注： and
# 数据来源：国家统计局).
NOTE_LINE = re.compile(r"(注\s*\d*|数据来源|资料来源|来源|说明|备注|制表人?|sources?|notes?)\s*[:：]",
                       re.IGNORECASE)


def _drop_total_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows at the end whose first filled cell is a total word (``合计``, ``Total``) and that
    leave at least one cell empty dropped (a summing line, not data), and one-cell note lines
    below them (``注：...``, ``数据来源：...``, ``Source: ...``); their lines (1-based) are kept
    in ``attrs['total_lines']`` and ``attrs['note_lines']``. Subtotals inside the data are
    found by their key once the columns are mapped (``data.ingest._drop_sum_lines``)."""
    drop: list[int] = []
    notes: list[int] = []
    word = ""
    for pos in range(len(df) - 1, -1, -1):
        cells = df.iloc[pos].astype("string").str.strip()
        filled = cells[cells.notna() & (cells != "")]
        if not len(filled) or len(filled) == len(cells):
            break
        if len(filled) == 1 and not drop and NOTE_LINE.match(str(filled.iloc[0])):
            notes.append(pos)
            continue
        first = str(filled.iloc[0]).rstrip(":：").strip()
        if first.lower() not in TOTAL_WORDS:
            break
        drop.append(pos)
        word = first
    if not drop and not notes:
        return df
    out = df.drop(index=df.index[drop + notes])
    out.attrs.update(df.attrs)
    if drop:
        out.attrs["total_lines"] = sorted(int(i) + 1 for i in df.index[drop])
        out.attrs["total_word"] = word
    if notes:
        out.attrs["note_lines"] = sorted(int(i) + 1 for i in df.index[notes])
    return out


def _drop_repeated_headers(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that repeat the header line cell for cell (two exports pasted one below the
    other) dropped; their lines (1-based) are kept in ``attrs['header_lines']``."""
    if df.empty:
        return df
    same = np.ones(len(df), dtype=bool)
    for name in df.columns:
        same &= (df[name].astype("string").str.strip() == name).fillna(False).to_numpy(dtype=bool)
    if not same.any():
        return df
    lines = [int(i) + 1 for i in df.index[same]]
    out = df[~same].copy()
    out.attrs["header_lines"] = lines
    return out


_QUOTED = re.compile(r'^\s*"(?:[^"]|"")*"\s*$', re.DOTALL)
_QUOTE_HINT = ('write a quote inside a value as "" and put the whole value in quotes (as Excel '
               "saves CSV), or remove the quote")


def _quote_problem(text: str, start: int, source: str, sep: str, header: bool, lead: int,
                   names: Sequence[str], what: str) -> DataValidationError:
    """Row, line and column of a badly quoted value whose record starts on line ``start``."""
    lines = text.splitlines()
    line_text = lines[start - 1] if 0 < start <= len(lines) else ""
    fields = line_text.split(sep)
    column = next((i for i, f in enumerate(fields)
                   if f.strip().startswith('"') and not _QUOTED.match(f)), None)
    name = (names[column] if column is not None and column < len(names)
            else f"#{column + 1}" if column is not None else None)
    line = start + lead
    row = line - 1 if header else line
    where = f"row {row} (line {line})" if header else f"row {row}"
    at = f", column {name!r}" if name else ""
    value = fields[column][:60] if column is not None else line_text[:60]
    return DataValidationError(
        f"{source}: {where}{at}: the value {value!r} {what}; {_QUOTE_HINT}",
        [{"file": source, "row": row, "column": name, "value": value,
          "expected": "a value in quotes as a whole, with inner quotes doubled"}])


def _open_quote_error(data: bytes, record: int, source: str, sep: str, header: bool, lead: int,
                      names: Sequence[str]) -> DataValidationError:
    """A value that opens a quote and never closes it (the parser would read the rest of the
    file into it): the row, line and column where it starts."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start = 1
    try:
        for _ in range(record):
            next(reader)
            start = reader.line_num + 1
    except (StopIteration, csv.Error):
        pass
    return _quote_problem(text, start, source, sep, header, lead, names,
                          'opens a quote (") that is never closed, so the rest of the file '
                          "would be read into it")


def _check_quotes(data: bytes, source: str, sep: str, header: bool, lead: int,
                  names: Sequence[str]) -> None:
    """Refuse a value that starts with a quote but has text after its closing quote
    (``"good" value``): a lenient parser drops those quotes, and when the quote closes only
    lines later (an unpaired quote in one review) it reads the rows between into one value,
    so rows would vanish without a word."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        raise _quote_problem(text, start, source, sep, header, lead, names,
                             'starts with a quote (") but has text after the quote that closes '
                             + (f"it on line {reader.line_num + lead}, so the rows between would "
                                "be read into this value" if reader.line_num > start else
                                "it (a lenient reader would drop those quotes)")) from None


def _parser_error(exc: Exception, source: str, sep: str, header: bool, lead: int = 0) -> Exception:
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if not m:
        return InputFileError(f"{source}: cannot parse as delimited text: {text}")
    expected, line, saw = (int(g) for g in m.groups())
    line += lead
    row = line - 1 if header else line
    where = f"row {row} (line {line})" if header else f"row {row}"
    shown = "tab" if sep == "\t" else repr(sep)
    return DataValidationError(
        f"{source}: {where}: {saw} fields where the header has {expected}; a trailing "
        f"separator or an unquoted {shown} inside a value would shift every column after it. "
        "Quote the value or remove the extra separator",
        [{"file": source, "row": row, "column": None, "value": f"{saw} fields",
          "expected": f"{expected} fields, as in the header"}])


def _read_json_lines(data: bytes, source: str, limits: Limits) -> pd.DataFrame:
    """JSON lines (or one JSON array of objects) into columns of Python values."""
    text = data.decode("utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped, parse_constant=str, object_pairs_hook=_no_repeats)
        except _Repeated as exc:
            raise DataValidationError(f"{source}: key {exc.args[0]!r} appears twice in one object; "
                                      "expected each key once") from None
        except (ValueError, RecursionError) as exc:
            raise InputFileError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(records, list):
            raise InputFileError(f"{source}: expected JSON lines or an array of objects")
        rows = [(i + 1, r) for i, r in enumerate(records)]
    else:
        rows = []
        for i, line in enumerate(text.splitlines()):
            if line.strip():
                rows.append((i + 1, line))
    if len(rows) > limits.max_rows:
        raise LimitError(f"{source}: {len(rows):,} records; trendcast reads at most "
                         f"{limits.max_rows:,} rows per file")
    columns: dict[str, list] = {}
    for n, (line_no, item) in enumerate(rows):
        if isinstance(item, str):
            try:
                item = json.loads(item, parse_constant=str, object_pairs_hook=_no_repeats)
            except _Repeated as exc:
                raise DataValidationError(
                    f"{source}: row {line_no}: key {exc.args[0]!r} appears twice in one object; "
                    "expected each key once",
                    [{"file": source, "row": line_no, "column": exc.args[0], "value": None,
                      "expected": "each key once"}]) from None
            except (ValueError, RecursionError) as exc:
                raise DataValidationError(
                    f"{source}: row {line_no}: not a JSON object ({str(exc)[:200]}); expected one "
                    "JSON object per line",
                    [{"file": source, "row": line_no, "column": None, "value": None,
                      "expected": "a JSON object"}]) from None
        if not isinstance(item, dict):
            raise DataValidationError(
                f"{source}: row {line_no}: got a JSON {type(item).__name__}, expected one JSON "
                "object per line",
                [{"file": source, "row": line_no, "column": None, "value": None,
                  "expected": "a JSON object"}])
        for key, value in item.items():
            col = columns.get(key)
            if col is None:
                if len(columns) >= limits.max_columns:
                    raise LimitError(f"{source}: more than {limits.max_columns:,} distinct keys; "
                                     "trendcast reads at most that many columns")
                col = columns[key] = [None] * n
            col.append(value)
        for col in columns.values():
            if len(col) == n:
                col.append(None)
    if not columns:
        raise InputFileError(f"{source}: the file has no JSON objects")
    check_header(list(columns), source)
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _Repeated(k)
        out[k] = v
    return out


# -- binary formats ---------------------------------------------------------------------------


def _read_parquet(path: Path, source: str, limits: Limits) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if meta.num_rows > limits.max_rows:
            raise LimitError(f"{source}: {meta.num_rows:,} rows; trendcast reads at most "
                             f"{limits.max_rows:,} rows per file")
        if meta.num_columns > limits.max_columns:
            raise LimitError(f"{source}: {meta.num_columns:,} columns; trendcast reads at most "
                             f"{limits.max_columns:,}")
        limit = limits.unpacked_limit(path.stat().st_size)
        if size > limit:
            raise _too_big(path, limit, path.stat().st_size, limits)
        table = pq.read_table(path)
        names = check_header(table.column_names, source)
        table = table.rename_columns([f"_c{i}" for i in range(len(names))])
        df = table.to_pandas(timestamp_as_object=False, coerce_temporal_nanoseconds=False)
    except (LimitError, DataValidationError):
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise InputFileError(f"{path}: cannot read as Parquet ({type(exc).__name__}: "
                             f"{str(exc)[:300]})") from None
    df.columns = names
    return df


def _read_excel(path: Path, source: str, sheet: str | int | None, header: bool,
                names: Sequence[str] | None, limits: Limits) -> pd.DataFrame:
    packed = path.stat().st_size
    limit = limits.unpacked_limit(packed)
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
            if total > limit:
                raise _too_big(path, limit, packed, limits)
            bad = zf.testzip()
            if bad is not None:
                raise InputFileError(f"{path}: damaged Excel file (member {bad!r} is corrupt)")
    except zipfile.BadZipFile:
        if path.suffix.lower() != ".xls":
            raise InputFileError(f"{path}: not an .xlsx workbook (damaged, truncated, or "
                                 "password-protected); re-save it from Excel as .xlsx or CSV") from None
    try:
        df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, header=None,
                           keep_default_na=False, na_values=[""])
        ranges = xlsx_merged_ranges(str(path), sheet) if _workbook_kind(path) == "zip" else []
    except MemoryError:
        raise
    except Exception as exc:  # openpyxl/xlrd raise many types for damaged files
        raise InputFileError(f"{path}: cannot read as Excel ({type(exc).__name__}: "
                             f"{str(exc)[:300]}); re-save it as .xlsx or CSV") from None
    out = _from_grid(df, source, header, names, limits, merged=fill_down(df, ranges))
    if sheet is None:
        out.attrs["sheets"] = tuple(_sheet_names(path))  # a tuple: pandas compares attrs
    return out


def _sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, first (the one read without --sheet) first; [] when they
    cannot be listed."""
    try:
        with pd.ExcelFile(path) as book:
            return [str(n) for n in book.sheet_names]
    except Exception:  # noqa: BLE001 - the sheet was read; the names only add a hint
        return []


def sheet_with(path: str | Path, names: Sequence[str], sheets: Sequence[str], rows: int = 30) -> str | None:
    """The first of ``sheets`` whose first ``rows`` rows hold every one of ``names`` (case
    and spaces aside) as a cell: where a workbook keeps the data its first sheet lacks."""
    want = {str(n).strip().lower() for n in names}
    for name in sheets:
        try:
            grid = pd.read_excel(path, sheet_name=name, dtype=str, header=None, nrows=rows)
        except Exception:  # noqa: BLE001 - a sheet that cannot be read is not the one
            continue
        cells = {str(v).strip().lower() for v in grid.to_numpy().ravel() if isinstance(v, str)}
        if want <= cells:
            return name
    return None


def _from_grid(df: pd.DataFrame, source: str, header: bool, names: Sequence[str] | None,
               limits: Limits, what: str = "sheet",
               merged: dict[object, list[str]] | None = None) -> pd.DataFrame:
    """A sheet's or table's cells (text, no header yet) as a frame: empty rows and columns
    dropped (a sheet's blank margin), title lines above the header skipped, repeated headers
    and total lines below it dropped. ``merged``: the merged ranges filled down, per column
    of ``df`` (:mod:`trendcast.data.merged_cells`), kept per column name in attrs."""
    if df.shape[1] > limits.max_columns:
        raise LimitError(f"{source}: {df.shape[1]:,} columns; trendcast reads at most "
                         f"{limits.max_columns:,}")
    blank = [c for c in df.columns if df[c].isna().all()] if header else []
    if blank and len(blank) < df.shape[1]:  # (without a header, columns are named by place)
        df = df.drop(columns=blank)
    df, empty = _drop_empty_rows(df, source, header=header, what=what)
    titles: list[int] = []
    if header:
        df = _two_line_header(_skip_title_rows(df))
        titles = df.attrs.get("title_lines", [])
        cols = check_header(list(df.iloc[0]), source)
        named = dict(zip(df.columns, cols, strict=True))
        merged = {named[c]: refs for c, refs in (merged or {}).items() if c in named}
        df = df.iloc[1:].copy()
        df.columns = cols
        df = _drop_total_rows(_drop_repeated_headers(df))
    else:
        df.columns = list(names or [])[: df.shape[1]] or [str(i) for i in range(df.shape[1])]
    df.attrs["empty_rows"] = empty
    if titles:
        df.attrs["title_lines"] = titles
    if merged and header:
        df.attrs["merged"] = merged
    return df


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a binary .xls (BIFF) workbook


def _workbook_kind(path: Path) -> str:
    """'zip' (an .xlsx), 'ole' (a binary .xls) or 'text' (anything else: a back end's text
    or HTML export named .xls)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        return "zip"
    if head.startswith(_OLE):
        return "ole"
    return "text" if head else "zip"  # an empty file: let the Excel reader say so


def _span(cell: object, name: str) -> int:
    """A table cell's rowspan or colspan (1 when absent or not a number; at most 1,000)."""
    value = str(cell.get(name) or "1").strip()  # type: ignore[attr-defined]
    return min(int(value), 1000) if value.isdigit() and int(value) > 0 else 1


def _html_table(text: str, source: str) -> pd.DataFrame:
    """The first table of an HTML page with rows, each cell's text as it reads."""
    import lxml.html

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # decoded already: its encoding is said
    try:
        tree = lxml.html.fromstring(text)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise InputFileError(f"{source}: cannot read the HTML table ({exc}); re-save it as "
                             ".xlsx or CSV") from None
    for table in tree.iter("table"):
        cells = [[(" ".join(cell.text_content().split()), _span(cell, "rowspan"), _span(cell, "colspan"))
                  for cell in tr.iter("td", "th")] for tr in table.iter("tr")]
        rows, ranges = span_grid([r for r in cells if r])
        if rows:
            width = max(len(r) for r in rows)
            grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
            grid = grid.mask(grid == "")
            grid.attrs["merged"] = fill_down(grid, ranges)
            return grid
    raise InputFileError(f"{source}: an HTML page without a table of rows; re-save it as .xlsx or CSV")


def _check_fields(df: pd.DataFrame, source: str, limits: Limits, header: bool) -> None:
    if len(df) > limits.max_rows:
        raise LimitError(f"{source}: {len(df):,} rows; trendcast reads at most "
                         f"{limits.max_rows:,} rows per file")
    for name in df.columns:
        col = df[name]
        if col.dtype != object:
            continue
        lengths = col.map(lambda v: len(v) if isinstance(v, str) else 0, na_action="ignore")
        if len(lengths) and lengths.max() > limits.max_field_chars:
            pos = int(np.argmax(lengths.fillna(0).to_numpy()))
            row = pos + 1
            where = f"row {row} (line {row + 1})" if header else f"row {row}"
            raise LimitError(f"{source}: {where}, column {name!r}: a value of "
                             f"{int(lengths.iloc[pos]):,} characters; trendcast reads at most "
                             f"{limits.max_field_chars:,} per field")


def read_frame(
    path: str | Path,
    *,
    sep: str | None = None,
    header: bool = True,
    names: Sequence[str] | None = None,
    sheet: str | int | None = None,
    max_unpacked_mb: int | None = None,
    limits: Limits | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read one file into a frame of text columns (JSON keeps Python values, Parquet types).

    Args:
        path: the file; its ending picks the reader (a .zip or .gz: the file inside).
        sep: field separator for text files (default: ',' or tab for .tsv).
        header: whether the first line holds column names.
        names: column names to use when the file has no header.
        sheet: Excel sheet name or index (default the first).
        max_unpacked_mb: largest size a .gz or .zip may unpack to (overrides ``limits``).
        limits: what reading may cost (:class:`Limits`).
        encoding: the text encoding (default: detected).
    """
    limits = limits or Limits()
    if max_unpacked_mb is not None:
        limits = replace(limits, max_unpacked_bytes=max_unpacked_bytes(max_unpacked_mb))
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file")
    if p.is_dir():
        raise InputFileError(f"{p} is a folder; pass a file, or --format m5 for an M5 folder")
    source = str(p)
    ext = _suffixes(p)
    read_encoding = None
    has_header = bool(header)
    if ext == ".parquet":
        df = _read_parquet(p, source, limits)
        has_header = False
    elif ext == ".xls" and _workbook_kind(p) == "text":
        # a back end's "Excel" export that is text: a tab- or comma-separated file, or an
        # HTML table, saved under .xls
        data, inner = _unpacked(p, limits)
        data, read_encoding = decode(data, source, sep="\t", header=header, encoding=encoding)
        if re.match(rb"\s*<", data) and re.search(rb"<table", data[:1 << 16], re.IGNORECASE):
            table = _html_table(data.decode("utf-8"), source)
            df = _from_grid(table, source, header, names, limits, "table",
                            merged=table.attrs.get("merged"))
            df.attrs["disguised"] = f"{p.name} is an HTML table saved as {p.suffix}: read as a table"
        else:
            delimiter = sep or (sniff_separator(data) if header else "\t")
            df = _read_delimited(data, source, delimiter, header, names, limits)
            df.attrs["separator"] = delimiter
            df.attrs["disguised"] = f"{p.name} is text saved as {p.suffix}: read as text"
    elif ext in (".xlsx", ".xls", ".xlsm"):
        df = _read_excel(p, source, sheet, header, names, limits)
    elif ext in (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".csv", ".tsv", ".txt", ".csv.gz",
                 ".tsv.gz", ".txt.gz", ".zip", ".gz"):
        data, inner = _unpacked(p, limits)
        if inner in (".json", ".jsonl"):
            data, read_encoding = decode(data, source, header=False, encoding=encoding)
            df = _read_json_lines(data, source, limits)
            has_header = False
        else:
            delimiter = sep or ("\t" if inner == ".tsv" else ",")
            data, read_encoding = decode(data, source, sep=delimiter, header=header,
                                         encoding=encoding)
            if sep is None and header and inner != ".tsv":
                delimiter = sniff_separator(data)
            elif sep is None and names and inner != ".tsv":  # no header: the width says which
                delimiter = separator_for_width(data, len(names))
            df = _read_delimited(data, source, delimiter, header, names, limits)
            if delimiter != ("\t" if inner == ".tsv" else ","):
                df.attrs["separator"] = delimiter
    else:
        raise InputFileError(f"{p}: unsupported file type {ext!r}; trendcast reads {SUPPORTED}")
    _check_fields(df, source, limits, has_header)
    empty_rows = int(df.attrs.get("empty_rows", 0))
    header_lines = list(df.attrs.get("header_lines", []))
    positions = df.index.to_numpy()
    df = df.reset_index(drop=True)
    if empty_rows or header_lines or (len(positions) and positions[0] != int(has_header)):
        # rows as the file counts them (row n on line n + 1 under a header)
        # a tuple, not an array: pandas compares attrs when it concatenates frames
        df.attrs["_rows"] = file_rows(positions - 1 if has_header else positions)
    df.attrs["empty_rows"] = empty_rows
    df.attrs["header_lines"] = header_lines
    df.attrs["source"] = source
    df.attrs["header"] = has_header
    df.attrs["encoding"] = read_encoding
    return df


__all__ = ["DEFAULT_MAX_UNPACKED_MB", "SEPARATORS", "Limits", "check_header", "decode", "decode_text",
           "detect_encoding", "max_unpacked_bytes", "read_frame", "sniff_separator"]
