"""Streaming writers for CSV, JSON lines and XLSX with per-row encoding control.

Why: 100k enterprises produce millions of rows, so nothing is held in memory;
each writer counts its data rows (1-based, header excluded — the row numbers the
truth refers to), can emit a single row in a *different* encoding or as raw
bytes (the wrong-encoding defects), and can re-emit an exact copy of a row a few
rows later (duplicate defects).  XLSX output is normalised (fixed zip timestamps
and document properties) so runs are byte-identical.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXED_ZIP_TIME = (2026, 11, 1, 0, 0, 0)
_FLUSH_EVERY = 4000


@dataclass(slots=True)
class FileInfo:
    """One entry of manifest.json."""

    source: str
    path: str       # relative to the output directory, '/' separated
    format: str     # csv | xlsx | jsonl
    encoding: str   # the encoding the source system *declares* (see truth for exceptions)
    rows: int = 0
    columns: tuple[str, ...] = ()


def _to_str(x: Any) -> str:
    if x is None:
        return ""
    return x if type(x) is str else str(x)


def _quote(s: str) -> str:
    if '"' in s or "," in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_line(fields: list[str]) -> str:
    """RFC 4180 line (CRLF), quoting only when needed; fast path for clean rows."""
    s = ",".join(fields)
    if '"' in s or "\n" in s or "\r" in s or s.count(",") != len(fields) - 1:
        s = ",".join(_quote(f) for f in fields)
    return s + "\r\n"


class _Rows:
    """Shared row counting and delayed duplicates."""

    def __init__(self) -> None:
        self.rows = 0
        self._pending: list[list[Any]] = []  # [remaining, payload, callback]

    def schedule_duplicate(self, payload: Any, delay: int, callback: Callable[[int], None]) -> None:
        """Write ``payload`` again after ``delay`` more rows; ``callback(row)`` gets its row number."""
        self._pending.append([delay, payload, callback])

    def _tick(self) -> None:
        if not self._pending:
            return
        due = []
        for p in self._pending:
            p[0] -= 1
            if p[0] <= 0:
                due.append(p)
        if due:
            self._pending = [p for p in self._pending if p[0] > 0]
            for _, payload, cb in due:
                cb(self._emit_payload(payload))

    def _flush_pending(self) -> None:
        while self._pending:
            p = self._pending.pop(0)
            p[2](self._emit_payload(p[1]))

    def _emit_payload(self, payload: Any) -> int:  # pragma: no cover - overridden
        raise NotImplementedError


class CsvWriter(_Rows):
    """CSV with a header, in ``encoding`` (``utf-8-sig`` writes a BOM)."""

    def __init__(self, root: Path, info: FileInfo, header: list[str]) -> None:
        super().__init__()
        self.info = info
        self.path = root / info.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "wb")
        self.encoding = "utf-8" if info.encoding == "utf-8-sig" else info.encoding
        if info.encoding == "utf-8-sig":
            self._f.write(b"\xef\xbb\xbf")
        self.header = header
        self.col = {h: i for i, h in enumerate(header)}
        info.columns = tuple(header)
        self._buf: list[str] = [csv_line(header)]

    def _flush(self) -> None:
        if self._buf:
            self._f.write("".join(self._buf).encode(self.encoding))
            self._buf.clear()

    def write(self, fields: list[Any]) -> int:
        """Append a data row in the file's encoding; returns its 1-based row number."""
        self._buf.append(csv_line([_to_str(x) for x in fields]))
        self.rows += 1
        n = self.rows
        if len(self._buf) >= _FLUSH_EVERY:
            self._flush()
        self._tick()
        return n

    def write_encoded(self, fields: list[Any], encoding: str) -> int:
        """Append a row encoded in ``encoding`` instead of the file's own."""
        return self.write_bytes(csv_line([_to_str(x) for x in fields]).encode(encoding))

    def write_bytes(self, line: bytes) -> int:
        """Append a raw, already encoded line (must end with CRLF)."""
        self._flush()
        self._f.write(line)
        self.rows += 1
        n = self.rows
        self._tick()
        return n

    def _emit_payload(self, payload: Any) -> int:
        self._buf.append(csv_line([_to_str(x) for x in payload]))
        self.rows += 1
        return self.rows

    def close(self) -> None:
        self._flush_pending()
        self._flush()
        self._f.close()
        self.info.rows = self.rows


class JsonlWriter(_Rows):
    """UTF-8 JSON lines, compact separators, non-ASCII kept."""

    def __init__(self, root: Path, info: FileInfo) -> None:
        super().__init__()
        self.info = info
        self.path = root / info.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "w", encoding="utf-8", newline="\n")
        self._buf: list[str] = []

    @staticmethod
    def dumps(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    def write(self, obj: Any) -> int:
        return self.write_line(self.dumps(obj))

    def write_line(self, line: str) -> int:
        """Append a pre-serialised line (no trailing newline)."""
        self._buf.append(line + "\n")
        self.rows += 1
        n = self.rows
        if len(self._buf) >= _FLUSH_EVERY:
            self._f.write("".join(self._buf))
            self._buf.clear()
        self._tick()
        return n

    def _emit_payload(self, payload: Any) -> int:
        self._buf.append(self.dumps(payload) + "\n")
        self.rows += 1
        return self.rows

    def close(self) -> None:
        self._flush_pending()
        self._f.write("".join(self._buf))
        self._buf.clear()
        self._f.close()
        self.info.rows = self.rows


class XlsxWriter(_Rows):
    """A single-sheet workbook written with openpyxl's write-only mode, normalised on close."""

    def __init__(self, root: Path, info: FileInfo, header: list[str], sheet: str) -> None:
        from openpyxl import Workbook

        super().__init__()
        self.info = info
        self.path = root / info.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(sheet)
        self._ws.append(header)
        self.header = header
        self.col = {h: i for i, h in enumerate(header)}
        info.columns = tuple(header)

    def write(self, values: list[Any]) -> int:
        self._ws.append(values)
        self.rows += 1
        n = self.rows
        self._tick()
        return n

    def _emit_payload(self, payload: Any) -> int:
        self._ws.append(payload)
        self.rows += 1
        return self.rows

    def close(self) -> None:
        import datetime as _dt

        self._flush_pending()
        fixed = _dt.datetime(2026, 11, 1)
        self._wb.properties.creator = "riskgraph-generate"
        self._wb.properties.created = fixed
        self._wb.save(self.path)
        _normalise_zip(self.path)
        self.info.rows = self.rows


_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _normalise_zip(path: Path) -> None:
    """Rewrite an xlsx with fixed entry timestamps and fixed document times (determinism)."""
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(rb"\g<1>2026-11-01T00:00:00Z\g<3>", data)
            zi = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    src.close()
    path.write_bytes(out.getvalue())
