"""Read source exports row by row: CSV (UTF-8 or GB18030, detected per file and per line), XLSX, JSON lines.

Every row comes out as (row number, {column: text}) or as a RowError for bytes no expected
encoding can read — never silently skipped. Row numbers count data rows from 1, header excluded.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from riskgraph.loaders.normalise.errors import RowError

#: Encodings tried, in order, when the mapping says "auto".
CANDIDATE_ENCODINGS = ("utf-8", "gb18030")


@dataclass
class SourceRow:
    number: int
    values: dict[str, str | None]
    raw: str
    #: set when this line needed another encoding than the file's
    encoding_note: str | None = None


def detect_encoding(data: bytes, declared: str = "auto") -> str:
    """The file's encoding: the declared one, else the first candidate that decodes it whole."""
    if declared != "auto":
        return declared
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    for encoding in CANDIDATE_ENCODINGS:
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best else "utf-8"


def _decode_line(line: bytes, encoding: str) -> tuple[str, str | None]:
    """Decode one physical line: strict UTF-8 first (it almost never reads GB text by accident),
    then GB18030; a line whose encoding differs from the file's is noted."""
    for candidate in CANDIDATE_ENCODINGS:
        try:
            text = line.decode(candidate)
        except UnicodeDecodeError:
            continue
        differs = not line.isascii() and candidate != encoding.replace("-sig", "")
        return text, f"line decoded as {candidate}, file is {encoding}" if differs else None
    raise UnicodeDecodeError(encoding, line, 0, len(line), "no candidate encoding decodes this line")


def read_csv(path: Path, encoding: str = "auto") -> Iterator[SourceRow | RowError]:
    data = path.read_bytes()
    chosen = detect_encoding(data, encoding)
    if chosen == "utf-8-sig":
        data = data[3:]
        chosen = "utf-8"
    lines = data.splitlines(keepends=True)
    if not lines:
        return
    header_text, _ = _decode_line(lines[0], chosen)
    header = [h.strip() for h in next(csv.reader([header_text]))]
    number = 0
    pending = ""  # a quoted field may span physical lines
    note: str | None = None
    for line in lines[1:]:
        try:
            text, line_note = _decode_line(line, chosen)
        except UnicodeDecodeError:
            number += 1
            yield RowError("encoding_error", f"row {number}: the bytes are neither UTF-8 nor GB18030",
                           raw=line.rstrip(b"\r\n").decode("utf-8", "backslashreplace"))
            continue
        note = note or line_note
        pending += text
        if pending.count('"') % 2:  # inside a quoted field: keep reading
            continue
        record_text, pending = pending, ""
        if not record_text.strip():
            continue
        number += 1
        cells = next(csv.reader([record_text]))
        values = {h: (cells[i].strip() if i < len(cells) and cells[i].strip() else None) for i, h in enumerate(header)}
        yield SourceRow(number, values, record_text.rstrip("\r\n"), note)
        note = None


def read_xlsx(path: Path) -> Iterator[SourceRow | RowError]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
        number = 0
        for cells in rows:
            if cells is None or all(c is None or str(c).strip() == "" for c in cells):
                continue
            number += 1
            values = {h: _cell_text(cells[i]) if i < len(cells) else None for i, h in enumerate(header)}
            yield SourceRow(number, values, json.dumps([_cell_text(c) for c in cells], ensure_ascii=False))
    finally:
        book.close()


def _cell_text(value: object) -> str | None:
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def read_jsonl(path: Path, encoding: str = "auto") -> Iterator[SourceRow | RowError]:
    data = path.read_bytes()
    chosen = detect_encoding(data, encoding).replace("-sig", "")
    number = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            text, note = _decode_line(line.lstrip(b"\xef\xbb\xbf"), chosen)
            obj = json.loads(text)
        except UnicodeDecodeError:
            yield RowError("encoding_error", f"row {number}: not valid text in any expected encoding",
                           raw=line.decode("utf-8", "backslashreplace"))
            continue
        except json.JSONDecodeError as exc:
            yield RowError("invalid_value", f"row {number}: not a JSON object ({exc.msg})", raw=text)
            continue
        if not isinstance(obj, dict):
            yield RowError("invalid_value", f"row {number}: a JSON line must be an object", raw=text)
            continue
        yield SourceRow(number, _flatten(obj), text, note)


def _flatten(obj: dict, prefix: str = "") -> dict[str, str | None]:
    """Nested JSON objects become dotted columns (thresholds.红); lists and scalars become text."""
    out: dict[str, str | None] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out[name] = json.dumps(value, ensure_ascii=False)
            out.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        elif value is None or (isinstance(value, str) and not value.strip()):
            out[name] = None
        else:
            out[name] = str(value).strip() if not isinstance(value, bool) else ("true" if value else "false")
    return out


def read_rows(path: Path, fmt: str, encoding: str = "auto") -> Iterator[SourceRow | RowError]:
    """Rows of one export file in the given format (csv | xlsx | jsonl)."""
    if not path.is_file():
        raise FileNotFoundError(f"source file {path} does not exist")
    if fmt == "csv":
        return read_csv(path, encoding)
    if fmt == "xlsx":
        return read_xlsx(path)
    if fmt == "jsonl":
        return read_jsonl(path, encoding)
    raise ValueError(f"unknown source format {fmt!r} (csv, xlsx, jsonl)")
