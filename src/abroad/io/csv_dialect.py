"""CSV files as spreadsheets save them: comma or semicolon separated, decimal point or comma.

A European Excel saves "CSV" with semicolons between cells and decimal commas (``52,52``), and
often in Windows-1252 rather than UTF-8. Such a file is read when it can be read without
guessing: the delimiter is the one the header line uses; in a semicolon file, a number written
with a decimal comma (``52,52``, ``1.234,5``) becomes ``52.52`` and ``1234.5``. What cannot be
read without guessing is rejected with the diagnosis: a file that is not UTF-8 (save it as
"CSV UTF-8"), or a number like ``300.000`` in a file with decimal commas (300 or 300,000?).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from abroad.io.errors import InputError, Problem

_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
"""``52,52``, ``-0,45``, ``1.234,5``: a number with a decimal comma (dots group thousands)."""
_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
"""``300.000``: thousands grouped with dots, or a decimal point? Ambiguous with decimal commas."""


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header line separates its cells with semicolons only, else ``,``."""
    return ";" if ";" in header_line and "," not in header_line else ","


def read_csv_rows(path: Path, file_label: str) -> list[list[str]]:
    """Rows of text cells of a CSV file, comma- or semicolon-separated (see module doc)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = ""
        try:
            raw.decode("cp1252")
            hint = (
                "; it reads as Windows-1252, as Excel's 'CSV (semicolon/comma delimited)' "
                "saves it: save it again as 'CSV UTF-8'"
            )
        except UnicodeDecodeError:
            pass
        raise InputError([Problem(file_label, f"not UTF-8 text: {exc}{hint}")]) from None
    lines = text.splitlines()
    delimiter = sniff_delimiter(lines[0] if lines else "")
    try:
        rows = [list(r) for r in csv.reader(text.splitlines(keepends=True), delimiter=delimiter)]
    except csv.Error as exc:
        raise InputError([Problem(file_label, f"malformed CSV: {exc}")]) from None
    if delimiter == ";":
        rows = _decimal_commas(rows, file_label)
    return rows


def _decimal_commas(rows: list[list[str]], file_label: str) -> list[list[str]]:
    """Numbers with decimal commas to decimal points; ambiguous dotted numbers rejected."""
    header = rows[0] if rows else []
    uses_commas = any(_DECIMAL_COMMA.match(c.strip()) for r in rows[1:] for c in r)
    problems = []
    out = [header]
    for i, row in enumerate(rows[1:], start=2):
        cells = []
        for j, cell in enumerate(row):
            value = cell.strip()
            if _DECIMAL_COMMA.match(value):
                value = value.replace(".", "").replace(",", ".")
            elif uses_commas and _GROUPED.match(value):
                column = header[j].strip() if j < len(header) else f"cell {j + 1}"
                problems.append(
                    Problem(
                        file_label,
                        f"ambiguous number {value!r} in a file with decimal commas (semicolon-"
                        "separated, as a European Excel saves it): write it without the dot "
                        f"({value.replace('.', '')}) or with a decimal comma",
                        row=i,
                        column=column,
                    )
                )
            cells.append(value if value != cell.strip() else cell)
        out.append(cells)
    if problems:
        raise InputError(problems)
    return out
