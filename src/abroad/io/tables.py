"""Reading tables (CSV or XLSX) into rows of text cells, with spreadsheet row numbers.

Strict where a lenient reader would guess: an unclosed quote in a CSV file is an error naming
the row where the quoted cell starts (a lenient reader swallows the rest of the file into one
cell); a value under an empty header is an error (not dropped); an XLSX formula without a saved
value and merged cells are errors (both would read as empty cells and be replaced by defaults);
rows with more cells than the header are errors. Files are opened through ``abroad.io.files``
(regular files only, size capped) and tables are bounded in rows, columns and cell length
(docs/reference/limits.md).

Large tables are read as a stream of row chunks (``TableStream``), so that a voter-places table
of a million rows is checked without holding every cell in memory at once.
"""

from __future__ import annotations

import csv
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import iterparse

from abroad.io.csv_dialect import read_csv_rows, sniff_delimiter
from abroad.io.errors import InputError, Problem
from abroad.io.files import check_regular_file
from abroad.model.limits import (
    MAX_CELL_CHARS,
    MAX_TABLE_BYTES,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_XLSX_UNPACKED_BYTES,
)

TABLE_SUFFIXES = (".csv", ".xlsx")
CHUNK_ROWS = 20_000
"""Rows per chunk of a streamed table."""

Row = tuple[int, tuple[str, ...]]
"""(spreadsheet row number, cells in the order of the table's named columns)."""
RawRow = tuple[int, list[str], str]
"""(row number, cells as read, a note for messages about the row)."""


@dataclass(frozen=True)
class Table:
    """A table read from disk: header and rows of stripped text cells."""

    file_label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    """(spreadsheet row number, cells by column); the header is row 1."""


@dataclass
class TableStream:
    """A table whose rows are read on demand, in chunks; structural problems are collected
    in ``problems`` while reading (the rows they concern are not yielded)."""

    file_label: str
    columns: tuple[str, ...]
    _chunks: Iterator[list[Row]]
    problems: list[Problem] = field(default_factory=list)

    def chunks(self) -> Iterator[list[Row]]:
        """The rows, in chunks of at most ``CHUNK_ROWS`` (a chunk may be empty)."""
        return self._chunks


def read_table(path: Path, file_label: str, sheet: str | None = None) -> Table:
    """Read a whole CSV (UTF-8, comma-separated, header line) or XLSX (first or named sheet)."""
    stream = open_table(path, file_label, sheet)
    rows = [
        (number, dict(zip(stream.columns, cells, strict=True)))
        for chunk in stream.chunks()
        for number, cells in chunk
    ]
    if stream.problems:
        raise InputError(stream.problems)
    return Table(file_label, stream.columns, tuple(rows))


def open_table(path: Path, file_label: str, sheet: str | None = None) -> TableStream:
    """Open a table and read its header; the rows follow through ``chunks()``."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            [Problem(file_label, f"unsupported table format {suffix!r}; expected .csv or .xlsx")]
        )
    real = check_regular_file(path, file_label, MAX_TABLE_BYTES)
    raw = _xlsx_rows(real, file_label, sheet) if suffix == ".xlsx" else _csv_rows(real, file_label)
    return _structured(raw, file_label)


# ---------------------------------------------------------------------------------------------


@dataclass
class _Raw:
    """Raw rows ``(row number, cells, note)`` in chunks, and the problems found reading them."""

    rows: Iterator[list[RawRow]]
    problems: list[Problem]
    column_names: dict[str, str] = field(default_factory=dict)
    """XLSX column letter -> header, filled once the header is known."""


def _structured(raw: _Raw, label: str) -> TableStream:
    head: list[RawRow] = []
    for chunk in raw.rows:
        if chunk:
            head = chunk
            break
    first = head[0] if head else None
    if raw.problems and first is None:
        raise InputError(raw.problems)
    if first is None or not any(c.strip() for c in first[1]):
        raise InputError(
            [*raw.problems, Problem(label, "the table is empty: expected a header row")]
        )
    header = [c.strip() for c in first[1]]
    while header and not header[-1]:
        header.pop()
    problems: list[Problem] = []
    if len(header) > MAX_TABLE_COLUMNS:
        raise InputError(
            [Problem(label, f"{len(header)} columns; the limit is {MAX_TABLE_COLUMNS}", row=1)]
        )
    seen: set[str] = set()
    for col in header:
        if col and col in seen:
            problems.append(Problem(label, "duplicate column", row=1, column=col))
        seen.add(col)
    if problems:
        raise InputError(problems)
    named = [j for j, h in enumerate(header) if h]
    unnamed = [j for j, h in enumerate(header) if not h]
    columns = tuple(header[j] for j in named)
    for j, letter in enumerate(_letters(len(header))):
        raw.column_names[letter] = header[j] or f"{letter} (no header)"
    stream = TableStream(label, columns, iter(()), raw.problems)
    rest = itertools.chain([head[1:]], raw.rows)
    counter = [0]
    stream._chunks = (
        _rows(chunk, header, named, unnamed, stream.problems, label, counter) for chunk in rest
    )
    return stream


def _rows(
    chunk: list[RawRow],
    header: list[str],
    named: list[int],
    unnamed: list[int],
    problems: list[Problem],
    label: str,
    counter: list[int],
) -> list[Row]:
    """The rows of a raw chunk that are well formed, stripped, one cell per named column."""
    out: list[Row] = []
    width = len(header)
    plain = not unnamed  # every column has a header: the fast path
    for number, cells, note in chunk:
        joined = "".join(cells)
        if not joined.strip():
            continue  # blank line: nothing to drop
        counter[0] += 1
        if counter[0] > MAX_TABLE_ROWS:
            if counter[0] == MAX_TABLE_ROWS + 1:
                message = f"more than {MAX_TABLE_ROWS:,} data rows (the limit)"
                problems.append(Problem(label, message, row=number))
            continue
        n = len(cells)
        if n > width and "".join(cells[width:]).strip():
            message = f"{n} cells but the header has {width} columns{note}"
            problems.append(Problem(label, message, row=number))
            continue
        if "\0" in joined:
            problems.append(Problem(label, "a NUL character in a cell (a binary file?)", number))
            continue
        if len(joined) > MAX_CELL_CHARS and _long_cells(
            cells, header, named, number, note, label, problems
        ):
            continue
        if not plain and _unnamed_values(cells, unnamed, number, label, problems):
            continue
        if n != width:
            cells = [*cells[:width], *([""] * (width - n))]
        if plain:
            out.append((number, tuple(map(str.strip, cells))))
        else:
            out.append((number, tuple(cells[j].strip() for j in named)))
    return out


def _long_cells(
    cells: list[str],
    header: list[str],
    named: list[int],
    number: int,
    note: str,
    label: str,
    problems: list[Problem],
) -> bool:
    long = [j for j in named if j < len(cells) and len(cells[j]) > MAX_CELL_CHARS]
    for j in long:
        problems.append(
            Problem(
                label,
                f"cell longer than {MAX_CELL_CHARS:,} characters (the limit){note}",
                row=number,
                column=header[j],
            )
        )
    return bool(long)


def _unnamed_values(
    cells: list[str], unnamed: list[int], number: int, label: str, problems: list[Problem]
) -> bool:
    bad = False
    for j in unnamed:
        if j < len(cells) and cells[j].strip():
            problems.append(
                Problem(
                    label,
                    f"a value ({cells[j].strip()[:40]!r}) in column {j + 1}, which has no "
                    "header; name the column or remove the value",
                    row=number,
                )
            )
            bad = True
    return bad


# ---------------------------------------------------------------------------------------------
# CSV


def _csv_rows(path: Path, label: str) -> _Raw:
    problems: list[Problem] = []
    if _semicolon_separated(path):
        # A European Excel's CSV (semicolons, decimal commas): small by nature, read whole.
        rows = read_csv_rows(path, label)
        return _Raw(iter([[(k + 1, cells, "") for k, cells in enumerate(rows)]]), problems)
    return _Raw(_csv_iter(path, label, problems), problems)


def _semicolon_separated(path: Path) -> bool:
    """Whether the file's first line separates its cells with semicolons (see csv_dialect)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(65_536).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    return sniff_delimiter(first) == ";"


def _csv_iter(path: Path, label: str, problems: list[Problem]) -> Iterator[list[RawRow]]:
    """Chunks of records, read fast; a chunk that fails is read again record by record to
    locate the problem (the row where the bad quoted cell starts)."""
    done = 0
    with _open_csv(path, label) as fh:
        reader = csv.reader(fh, strict=True)
        while True:
            lines_before = reader.line_num
            try:
                batch = list(itertools.islice(reader, CHUNK_ROWS))
            except (csv.Error, UnicodeDecodeError):
                break
            if not batch:
                return
            spans = reader.line_num - lines_before != len(batch)
            note = " (a quoted cell near here spans lines: an unclosed quote?)" if spans else ""
            yield [(done + k + 1, cells, note) for k, cells in enumerate(batch)]
            done += len(batch)
    yield list(_csv_records(path, label, problems, skip=done))


def _open_csv(path: Path, label: str) -> Any:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError([Problem(label, f"cannot open: {exc.strerror}")]) from None


def _csv_records(path: Path, label: str, problems: list[Problem], skip: int) -> Iterator[RawRow]:
    """Records after the first ``skip``, one by one with their lines, up to the first error."""
    with _open_csv(path, label) as fh:
        reader = csv.reader(fh, strict=True)
        number = 1
        while True:
            start_line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                problems.append(Problem(label, f"not UTF-8 text: {exc}", row=number))
                return
            except csv.Error as exc:
                problems.append(
                    Problem(label, _csv_message(exc, start_line, reader.line_num), number)
                )
                return
            end_line = reader.line_num
            note = (
                f" (its quoted cell spans lines {start_line}–{end_line}: an unclosed quote?)"
                if end_line > start_line
                else ""
            )
            if number > skip:
                yield number, cells, note
            number += 1


def _csv_message(exc: csv.Error, start_line: int, line: int) -> str:
    text = str(exc)
    if "unexpected end of data" in text or "EOF" in text:
        return (
            f"unclosed quote: the quoted cell that starts on line {start_line} is never "
            "closed (it runs to the end of the file)"
        )
    if "expected after" in text:
        return (
            f"malformed quoting: a quoted cell that starts on line {start_line} is followed by "
            f"other characters on line {line} (an unclosed quote, or a quote inside a cell "
            'not doubled as "")'
        )
    return f"malformed CSV (line {line}): {text}"


# ---------------------------------------------------------------------------------------------
# XLSX

_REF = re.compile(r"^([A-Z]+)(\d+)$")
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xlsx_rows(path: Path, label: str, sheet: str | None) -> _Raw:
    import openpyxl

    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError([Problem(label, f"cannot read as XLSX: {exc}")]) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise InputError(
            [
                Problem(
                    label,
                    f"the workbook unpacks to {unpacked:,} bytes; the limit is "
                    f"{MAX_XLSX_UNPACKED_BYTES:,}",
                )
            ]
        )
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputError([Problem(label, f"cannot read as XLSX: {exc}")]) from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise InputError(
            [Problem(label, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")]
        )
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    problems: list[Problem] = []
    raw = _Raw(iter(()), problems)
    sheet_xml = str(getattr(ws, "_worksheet_path", ""))
    raw.rows = _xlsx_iter(path, label, book, ws, sheet_xml, raw)
    return raw


def _xlsx_iter(
    path: Path, label: str, book: Any, ws: Any, sheet_xml: str, raw: _Raw
) -> Iterator[list[RawRow]]:
    try:
        try:
            chunk: list[RawRow] = []
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                chunk.append((number, ["" if v is None else _cell_text(v) for v in values], ""))
                if len(chunk) >= CHUNK_ROWS:
                    yield chunk
                    chunk = []
            yield chunk
        except Exception as exc:  # a corrupt sheet part
            raw.problems.append(Problem(label, f"cannot read as XLSX: {exc}"))
            return
    finally:
        book.close()
    if sheet_xml:
        raw.problems.extend(_xlsx_sheet_problems(path, label, sheet_xml, raw.column_names))


def _xlsx_sheet_problems(
    path: Path, label: str, sheet_xml: str, names: dict[str, str]
) -> list[Problem]:
    """Formulas without a saved value and merged cells, from the sheet's XML (streamed)."""
    problems: list[Problem] = []
    try:
        with zipfile.ZipFile(path) as zf, zf.open(sheet_xml.lstrip("/")) as fh:
            for _event, elem in iterparse(fh, events=("end",)):
                if elem.tag == _NS + "c":
                    formula = elem.find(_NS + "f")
                    value = elem.find(_NS + "v")
                    if formula is not None and (value is None or not (value.text or "").strip()):
                        letter, row = _split_ref(elem.get("r", ""))
                        problems.append(
                            Problem(
                                label,
                                "a formula without a saved value (open the workbook in a "
                                "spreadsheet program and save it, or type the value)",
                                row=row,
                                column=names.get(letter, letter) if letter else None,
                            )
                        )
                elif elem.tag == _NS + "row":
                    elem.clear()
                elif elem.tag == _NS + "mergeCell":
                    ref = elem.get("ref", "")
                    letter, row = _split_ref(ref.split(":")[0])
                    problems.append(
                        Problem(
                            label,
                            f"merged cells {ref}: unmerge them and give every cell its value",
                            row=row,
                            column=names.get(letter, letter) if letter else None,
                        )
                    )
    except (KeyError, zipfile.BadZipFile, OSError, SyntaxError) as exc:
        problems.append(Problem(label, f"cannot read the sheet's XML: {exc}"))
    return problems


def _split_ref(ref: str) -> tuple[str, int | None]:
    m = _REF.match(ref)
    return (m[1], int(m[2])) if m else ("", None)


def _letters(n: int) -> list[str]:
    out = []
    for j in range(n):
        s, k = "", j + 1
        while k:
            k, r = divmod(k - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
