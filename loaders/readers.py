"""Read source exports row by row: CSV (UTF-8 or GB18030, detected per file and per line), XLSX, JSON lines.

Every row comes out as (row number, {column: text}) or as a RowError carrying its raw text (bytes
no expected encoding can read, a quote never closed, a cell over the size limit) — never silently
skipped. Row numbers count data rows from 1, header excluded, across an XLSX file's sheets. A
row's odd shape (a repeated column name, cells beyond the header, a short row, merged cells) is
kept whole and named in its `flags`.
"""
from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskgraph.loaders.line_keys import LineKeys
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.ontology.errors import N_, RiskGraphError

#: Encodings tried, in order, when the mapping says "auto".
CANDIDATE_ENCODINGS = ("utf-8", "gb18030")


#: how the note on a line decoded in another encoding than its file's starts
ENCODING_NOTE = "line decoded as "


@dataclass
class SourceRow:
    number: int
    values: dict[str, str | None]
    raw: str
    #: set when this line needed another encoding than the file's
    encoding_note: str | None = None
    #: what the reader saw wrong with the row's shape (duplicate columns, extra or missing cells,
    #: merged cells): the row is kept whole, and these join its dataQuality flags
    flags: list[str] = field(default_factory=list)
    #: the key of the row's line (loaders/line_keys.py), when it has one line and keys were asked for
    line_key: int | None = None
    #: the row this one repeats byte for byte, when that one was passed over unread as known
    repeats: int | None = None
    #: the index of its (first) line in the file, where the file has lines: where it stands among
    #: the lines passed over unread (`LineKeys.first_at`)
    line: int | None = None

    @property
    def notes(self) -> list[str]:
        """What the reader noted about the row, as its records keep it (dataQuality)."""
        return ([self.encoding_note] if self.encoding_note else []) + self.flags

    @classmethod
    def kept(cls, number: int, values: dict[str, str | None], notes: list[str]) -> SourceRow:
        """The row again from what a record kept (its raw values and `notes`): the same row to the loader."""
        encoding = next((n for n in notes if n.startswith(ENCODING_NOTE)), None)
        return cls(number, values, "", encoding, [n for n in notes if n != encoding])


@dataclass(frozen=True, slots=True)
class KnownRows:
    """Consecutive rows whose lines a complete load of the file already took in: passed over
    unread. `number` is the first row's; `line_keys` has one key per row."""

    number: int
    line_keys: Sequence[int]

    def __len__(self) -> int:
        return len(self.line_keys)


class SourceFileError(RiskGraphError, RuntimeError):
    """The file as a whole cannot be read (corrupt workbook, a header without a required column).
    The message names the file; the load goes on with the other files."""


class SourceMissing(RiskGraphError, FileNotFoundError):
    """The mapping names a source file that is not there."""


class SourceFormatError(RiskGraphError, ValueError):
    """The mapping names a source format the readers do not know."""


#: Given a file's header, what the mapping misses in it (None: the header will do).
HeaderCheck = Callable[[list[str]], str | None]

#: A cell longer than this is not split out: its row is quarantined whole (Python's csv default limit).
MAX_FIELD_CHARS = 131_072
#: A quoted cell may span lines, but not more than this many: past it, its opening quote is unmatched.
MAX_RECORD_LINES = 500


def column_names(header: list[str]) -> tuple[list[str], list[str]]:
    """Unique names for a header's columns, and flags for the repeats.

    A repeated name keeps its first column; later ones are named `名称#<position>` (1-based), so
    no value overwrites another and the raw record keeps both."""
    names: list[str] = []
    flags: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            names.append(f"{name}#{position}")
            flags.append(f"duplicate_column:{name}")
        else:
            names.append(name)
        seen.add(name)
    return names, sorted(set(flags))


def shape_row(names: list[str], header_flags: list[str], cells: list[str | None]) -> tuple[dict[str, str | None], list[str]]:
    """The row's values by column, with every cell kept: cells beyond the header become `#<position>`
    (flagged extra_cells), a short row is flagged missing_cells, and a repeated column's values are
    both kept (flagged duplicate_column when they differ)."""
    values: dict[str, str | None] = {}
    flags: list[str] = []
    for i, name in enumerate(names):
        values[name] = cells[i] if i < len(cells) else None
    extra = [(i + 1, c) for i, c in enumerate(cells[len(names):], start=len(names)) if c is not None]
    for position, cell in extra:
        values[f"#{position}"] = cell
    if extra:
        flags.append(f"extra_cells:{len(extra)}")
    if len(cells) < len(names):
        flags.append(f"missing_cells:{len(names) - len(cells)}")
    for flag in header_flags:
        name = flag.split(":", 1)[1]
        repeats = [values[n] for n in names if n == name or n.startswith(name + "#")]
        if len({v for v in repeats if v is not None}) > 1:
            flags.append(flag)
    return values, flags


def detect_encoding(data: bytes, declared: str = "auto") -> str:
    """The file's encoding: the declared one, else the first candidate that decodes it whole, else
    the candidate most of its non-ASCII lines are in (`mixed_lines_encoding`)."""
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
    mixed = mixed_lines_encoding(data)
    if mixed is not None:
        return mixed
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best else "utf-8"


def mixed_lines_encoding(data: bytes) -> str | None:
    """The candidate encoding most of the file's non-ASCII lines decode in (`_first_decoding`, as
    each line is read); None when no line decodes in any.

    A GB18030 export with a few rows pasted in from a UTF-8 tool decodes whole in neither, and a
    whole-file guess (charset_normalizer) took a generated 10,000-enterprise registry, 10,086 GB lines
    and 79 UTF-8 ones, for UTF-8: every GB row was then flagged as decoded in another encoding than its
    file's, and the 79 that were were not. The lines in the minority are the anomaly."""
    votes = Counter(found[0] for line in data.splitlines()
                    if not line.isascii() and (found := _first_decoding(line)) is not None)
    # on a tie the first candidate: UTF-8
    return max(CANDIDATE_ENCODINGS, key=lambda c: votes[c]) if votes else None


def _first_decoding(line: bytes) -> tuple[str, str] | None:
    """(candidate, text) of the first candidate encoding that decodes the line: strict UTF-8 first
    (it almost never reads GB text by accident), then GB18030; None when none does."""
    for candidate in CANDIDATE_ENCODINGS:
        try:
            return candidate, line.decode(candidate)
        except UnicodeDecodeError:
            continue
    return None


def _decode_line(line: bytes, encoding: str) -> tuple[str, str | None]:
    """Decode one physical line (`_first_decoding`); a line whose encoding differs from the file's is noted."""
    found = _first_decoding(line)
    if found is None:
        raise UnicodeDecodeError(encoding, line, 0, len(line), "no candidate encoding decodes this line")
    candidate, text = found
    differs = not line.isascii() and candidate != encoding.replace("-sig", "")
    return text, f"{ENCODING_NOTE}{candidate}, file is {encoding}" if differs else None


_START, _UNQUOTED, _QUOTED, _QUOTE_SEEN = range(4)


def ends_inside_quotes(text: str, quoted: bool = False) -> bool:
    """True if `text` (one physical line) ends inside a quoted cell; `quoted`: it starts inside one.

    The csv module's reading: a quote opens a quoted cell only at the start of a cell (elsewhere it
    is a literal character), and `""` inside a quoted cell is one quote."""
    if not quoted and '"' not in text:
        return False
    state = _QUOTED if quoted else _START
    for ch in text:
        if state == _QUOTED:
            if ch == '"':
                state = _QUOTE_SEEN
        elif state == _QUOTE_SEEN:
            state = _QUOTED if ch == '"' else _START if ch == "," else _UNQUOTED
        elif ch == ",":
            state = _START
        elif state == _START and ch == '"':
            state = _QUOTED
        elif ch not in "\r\n":
            state = _UNQUOTED
    return state == _QUOTED


#: csv's own limit is raised past MAX_FIELD_CHARS so that an oversized cell is split out and named
#: (then refused by read_csv), not reported as a bare csv.Error
_CSV_FIELD_LIMIT = 64 * 2**20


def _split(text: str) -> list[str]:
    """One record's cells (csv.Error for text csv cannot read)."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    return next(csv.reader([text]), [])


def read_csv(path: Path, encoding: str = "auto", check_header: HeaderCheck | None = None,
             known: Collection[int] | None = None,
             on_keys: Callable[[LineKeys], None] | None = None) -> Iterator[SourceRow | RowError | KnownRows]:
    """Rows of a CSV file. A record that cannot be read — an opening quote never closed, a cell over
    MAX_FIELD_CHARS — becomes a RowError with its raw text, and reading resumes at the next line:
    after an unmatched quote, at the first later line that reads as a whole row by itself.

    With `known` (line keys a load of this file left: loaders/line_keys.py), each one-line row
    carries its line's key, and a line whose key is known comes out undecoded, in a run of KnownRows;
    `on_keys` is handed the file's line keys before the first row."""
    data = path.read_bytes()
    chosen = detect_encoding(data, encoding)
    if chosen == "utf-8-sig":
        data = data[3:]
        chosen = "utf-8"
    lines = data.splitlines(keepends=True)
    if not lines:
        return
    header_text, _ = _decode_line(lines[0], chosen)
    try:
        header = [h.strip() for h in _split(header_text)]
    except csv.Error as exc:
        raise SourceFileError(N_("{path}: the header line cannot be read ({exc})"), path=path, exc=exc) from None
    if check_header is not None and (problem := check_header(header)):
        raise SourceFileError(N_("{path}: {problem}"), path=path, problem=problem)
    names, header_flags = column_names(header)
    keys = LineKeys.of_lines(lines[0], lines, known) if known is not None else None
    if keys is not None and on_keys is not None:
        on_keys(keys)
    decoded = _LazyLines(lines, chosen)  # a line passed over by its key is never decoded

    def whole_row(i: int) -> bool:
        """Line i reads as one complete row of the header's width by itself."""
        entry = decoded[i]
        if entry is None or ends_inside_quotes(entry[0]):
            return False
        try:
            return len(_split(entry[0])) == len(header)
        except csv.Error:
            return False

    number = 0
    i = 1
    runs = keys.runs() if keys is not None else {}  # first line → end of each run passed over unread
    while i < len(lines):
        if keys is not None and (end := runs.get(i, 0)):  # the rest of a run entered part way goes line by line
            yield KnownRows(number + 1, keys.passed_over(i, end, number + 1))
            number += end - i
            i = end
            continue
        key = repeats = None
        if keys is not None and lines[i].strip():
            key, skip, repeats = keys.look(i, number + 1)
            if skip:
                number += 1
                i += 1
                yield KnownRows(number, [key])
                continue
        entry = decoded[i]
        if entry is None:
            number += 1
            yield RowError("encoding_error", N_("row {number} (line {i}): the bytes are neither UTF-8 nor GB18030"),
                           raw=lines[i].rstrip(b"\r\n").decode("utf-8", "backslashreplace"),
                                             number=number, i=i + 1)
            i += 1
            continue
        text, note = entry
        if not text.strip():
            i += 1
            continue
        end = i + 1  # the record is lines[i:end]
        open_quote = ends_inside_quotes(text)
        while open_quote and end < len(lines) and end - i < MAX_RECORD_LINES:
            if decoded[end] is None or whole_row(end):
                break  # the next line stands on its own: the quote on line i was never closed
            open_quote = ends_inside_quotes(decoded[end][0], quoted=True)  # type: ignore[index]
            end += 1
        number += 1
        if open_quote:
            yield RowError("malformed_row", N_("row {number} (line {i}): a quoted cell opened here is never closed; the line is kept "
                                               "as it is and reading resumes at line {i2}"), raw=text.rstrip("\r\n"),
                                            number=number, i=i + 1, i2=i + 2)
            i += 1
            continue
        record = "".join(decoded[k][0] for k in range(i, end))  # type: ignore[index]
        notes = [n for k in range(i, end) if (n := decoded[k][1])]  # type: ignore[index]
        start, i = i, end
        try:
            cells = _split(record)
        except csv.Error as exc:
            yield RowError("malformed_row", N_("row {number} (line {start}): {exc}"), raw=record.rstrip("\r\n"),
                                            number=number, start=start + 1, exc=exc)
            continue
        oversized = [names[k] if k < len(names) else f"#{k + 1}" for k, c in enumerate(cells) if len(c) > MAX_FIELD_CHARS]
        if oversized:
            yield RowError("malformed_row", N_("row {number} (line {start}): the cell {oversized} is over {MAX_FIELD_CHARS:,} "
                                               "characters; the row is kept as it is"), raw=record.rstrip("\r\n"),
                                            number=number, start=start + 1, oversized=', '.join(oversized),
                                            MAX_FIELD_CHARS=MAX_FIELD_CHARS)
            continue
        values, flags = shape_row(names, header_flags, [c.strip() or None for c in cells])
        yield SourceRow(number, values, record.rstrip("\r\n"), notes[0] if notes else note, flags,
                        *((key, repeats) if end == start + 1 else (None, None)), line=start)


class _LazyLines:
    """A file's lines decoded when first asked for (None: no expected encoding reads the line)."""

    def __init__(self, lines: list[bytes], encoding: str) -> None:
        self.lines = lines
        self.encoding = encoding
        self.done: dict[int, tuple[str, str | None] | None] = {}

    def __getitem__(self, i: int) -> tuple[str, str | None] | None:
        if i not in self.done:
            try:
                self.done[i] = _decode_line(self.lines[i], self.encoding)
            except UnicodeDecodeError:
                self.done[i] = None
        return self.done[i]


def read_xlsx(path: Path, check_header: HeaderCheck | None = None) -> Iterator[SourceRow | RowError]:
    """Rows of every worksheet that has rows. Each sheet's first row is its header; a sheet with
    rows but without the mapping's header refuses the file (naming the sheets), so no sheet's rows
    are skipped unseen. Cells a merged range covers take its value and flag merged_cell:<column>."""
    import zipfile
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    broken = (zipfile.BadZipFile, InvalidFileException, ParseError, KeyError, OSError, EOFError, ValueError, TypeError)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except broken as exc:
        raise SourceFileError(N_("{path}: not a readable .xlsx workbook ({name__}: {exc})"),
                              path=path, name__=type(exc).__name__, exc=exc) from None
    try:
        sheets = []
        for sheet in book.worksheets:
            first = next(sheet.iter_rows(values_only=True), None)
            if first is None:
                continue
            header = [str(h).strip() if h is not None else "" for h in first]
            while header and header[-1] == "":
                header.pop()
            has_rows = next(sheet.iter_rows(min_row=2, values_only=True), None) is not None
            problem = check_header(header) if check_header is not None else None
            if problem and has_rows:
                titles = ", ".join(f"{s.title!r}" for s in book.worksheets)
                raise SourceFileError(N_("{path}: sheet {title!r} has rows but not the mapping's header ({problem}); the workbook's "
                                         "sheets: {titles}"),
                                      path=path, title=sheet.title, problem=problem, titles=titles)
            if not problem:
                sheets.append((sheet, header))
        if not sheets and check_header is not None:
            raise SourceFileError(N_("{path}: no sheet has the mapping's header"), path=path)
        number = 0
        for sheet, header in sheets:
            names, header_flags = column_names(header)
            merged = _merged_ranges(sheet)
            anchors: dict[tuple[int, int], str | None] = {}
            for row_index, cells in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
                texts = [_cell_text(c) for c in cells]
                while texts and texts[-1] is None and len(texts) > len(names):
                    texts.pop()
                filled, merged_columns = _fill_merged(texts, row_index, merged, anchors, names)
                if all(t is None for t in filled):
                    continue
                number += 1
                values, flags = shape_row(names, header_flags, filled)
                flags += [f"merged_cell:{c}" for c in merged_columns]
                raw = json.dumps({"sheet": sheet.title, "row": row_index, "cells": texts}, ensure_ascii=False)
                yield SourceRow(number, values, raw, None, flags)
    except broken as exc:
        raise SourceFileError(N_("{path}: the workbook breaks off while being read ({name__}: {exc})"),
                              path=path, name__=type(exc).__name__, exc=exc) from None
    finally:
        book.close()


def _merged_ranges(sheet) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of the sheet's merged ranges, 1-based. Read-only sheets
    do not expose them, so the sheet's XML is scanned for its <mergeCell> elements."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    ranges: list[tuple[int, int, int, int]] = []
    with sheet._get_source() as source:
        for _, element in iterparse(source):
            if element.tag.endswith("}mergeCell") and element.get("ref"):
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                ranges.append((min_col, min_row, max_col, max_row))
            element.clear()
    return ranges


def _fill_merged(texts: list[str | None], row: int, merged: list[tuple[int, int, int, int]],
                 anchors: dict[tuple[int, int], str | None], names: list[str]) -> tuple[list[str | None], list[str]]:
    """The row's cells with merged ranges spread over the cells they cover (in a read-only sheet
    only the top-left cell holds the value; `anchors` remembers it for the rows below), and the
    columns that were filled so."""
    if not merged:
        return texts, []
    filled = list(texts)
    columns = []
    for min_col, min_row, max_col, max_row in merged:
        if not (min_row <= row <= max_row):
            continue
        if row == min_row:
            anchors[(min_col, min_row)] = texts[min_col - 1] if min_col - 1 < len(texts) else None
        value = anchors.get((min_col, min_row))
        for col in range(min_col, max_col + 1):
            if (col, row) == (min_col, min_row) or value is None:
                continue
            while len(filled) < col:
                filled.append(None)
            if filled[col - 1] is None:
                filled[col - 1] = value
                columns.append(names[col - 1] if col - 1 < len(names) else f"#{col}")
    return filled, columns


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


def read_jsonl(path: Path, encoding: str = "auto", known: Collection[int] | None = None,
               on_keys: Callable[[LineKeys], None] | None = None) -> Iterator[SourceRow | RowError | KnownRows]:
    """Rows of a JSON-lines file, one object a line; `known` and `on_keys` as for read_csv."""
    data = path.read_bytes()
    chosen = detect_encoding(data, encoding).replace("-sig", "")
    lines = data.splitlines()
    keys = LineKeys.of_lines(None, lines, known) if known is not None else None
    if keys is not None and on_keys is not None:
        on_keys(keys)
    number = 0
    runs = keys.runs() if keys is not None else {}
    index = -1
    while index + 1 < len(lines):
        index += 1
        if keys is not None and (end := runs.get(index, 0)):
            yield KnownRows(number + 1, keys.passed_over(index, end, number + 1))
            number += end - index
            index = end - 1
            continue
        line = lines[index]
        if not line.strip():
            continue
        number += 1
        key = repeats = None
        if keys is not None:
            key, skip, repeats = keys.look(index, number)
            if skip:
                yield KnownRows(number, [key])
                continue
        repeated: list[str] = []
        try:
            text, note = _decode_line(line.lstrip(b"\xef\xbb\xbf"), chosen)
            obj = json.loads(text, object_pairs_hook=functools.partial(_keep_repeats, repeated=repeated))
        except UnicodeDecodeError:
            yield RowError("encoding_error", N_("row {number}: not valid text in any expected encoding"),
                           raw=line.decode("utf-8", "backslashreplace"),
                                             number=number)
            continue
        except json.JSONDecodeError as exc:
            yield RowError("invalid_value", N_("row {number}: not a JSON object ({msg})"), raw=text,
                                            number=number, msg=exc.msg)
            continue
        if not isinstance(obj, dict):
            yield RowError("invalid_value", N_("row {number}: a JSON line must be an object"), raw=text, number=number)
            continue
        yield SourceRow(number, _flatten(obj), text, note, [f"duplicate_column:{k}" for k in sorted(set(repeated))],
                        key, repeats, index)


def _keep_repeats(pairs: list[tuple[str, Any]], repeated: list[str]) -> dict[str, Any]:
    """A JSON object whose repeated key keeps every value (`key#2`…), as a repeated CSV column does."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            repeated.append(key)
            n = 2
            while f"{key}#{n}" in out:
                n += 1
            key = f"{key}#{n}"
        out[key] = value
    return out


def flatten_json(obj: dict) -> dict[str, str | None]:
    """A JSON object as a row's columns, as the JSON-lines reader reads it (live ingest uses it)."""
    return _flatten(obj)


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
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, float):  # 5e-05 as 0.00005: the number parsers read positional notation
            out[name] = format(Decimal(repr(value)), "f")
        else:
            out[name] = str(value).strip()
    return out


def read_rows(path: Path, fmt: str, encoding: str = "auto", check_header: HeaderCheck | None = None,
              known: Collection[int] | None = None,
              on_keys: Callable[[LineKeys], None] | None = None) -> Iterator[SourceRow | RowError | KnownRows]:
    """Rows of one export file in the given format (csv | xlsx | jsonl). `check_header` vets a
    CSV's or a sheet's header; a SourceFileError (raised as the rows are read) names a file that
    cannot be read at all. `known`: line keys to pass over (read_csv), `on_keys` handed the
    file's line keys; a workbook has no lines, and is read whole."""
    if not path.is_file():
        raise SourceMissing(N_("source file {path} does not exist"), path=path)
    if fmt == "csv":
        return read_csv(path, encoding, check_header, known, on_keys)
    if fmt == "xlsx":
        return read_xlsx(path, check_header)
    if fmt == "jsonl":
        return read_jsonl(path, encoding, known, on_keys)
    raise SourceFormatError(N_("unknown source format {fmt!r} (csv, xlsx, jsonl)"), fmt=fmt)
