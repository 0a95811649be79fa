"""Reading tables (CSV or XLSX) into rows of text cells, with spreadsheet row numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from abroad.io.csv_dialect import read_csv_rows
from abroad.io.errors import InputError, Problem

TABLE_SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class Table:
    """A table read from disk: header and rows of stripped text cells."""

    file_label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    """(spreadsheet row number, cells by column); the header is row 1."""


def read_table(path: Path, file_label: str, sheet: str | None = None) -> Table:
    """Read a CSV (UTF-8, comma-separated, header line) or XLSX (first or named sheet)."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            [Problem(file_label, f"unsupported table format {suffix!r}; expected .csv or .xlsx")]
        )
    if not path.is_file():
        raise InputError([Problem(file_label, "file not found")])
    raw = _read_xlsx(path, file_label, sheet) if suffix == ".xlsx" else _read_csv(path, file_label)
    if not raw or not any(c.strip() for c in raw[0]):
        raise InputError([Problem(file_label, "the table is empty: expected a header row")])
    header = tuple(c.strip() for c in raw[0])
    problems = []
    seen: set[str] = set()
    for col in header:
        if col and col in seen:
            problems.append(Problem(file_label, "duplicate column", row=1, column=col))
        seen.add(col)
    if problems:
        raise InputError(problems)
    rows: list[tuple[int, dict[str, str]]] = []
    for i, cells in enumerate(raw[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line: nothing to drop
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problems.append(
                Problem(
                    file_label,
                    f"{len(cells)} cells but the header has {len(header)} columns",
                    row=i,
                )
            )
            continue
        padded = [*cells, *([""] * (len(header) - len(cells)))]
        rows.append((i, {h: padded[j].strip() for j, h in enumerate(header) if h}))
    if problems:
        raise InputError(problems)
    return Table(file_label, tuple(h for h in header if h), tuple(rows))


def _read_csv(path: Path, file_label: str) -> list[list[str]]:
    return read_csv_rows(path, file_label)  # comma or semicolon, decimal point or comma


def _read_xlsx(path: Path, file_label: str, sheet: str | None) -> list[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputError([Problem(file_label, f"cannot read as XLSX: {exc}")]) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(
                [Problem(file_label, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")]
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        out: list[list[str]] = []
        for values in ws.iter_rows(values_only=True):
            out.append(["" if v is None else _cell_text(v) for v in values])
        return out
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
