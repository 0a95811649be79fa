"""One error type for every bad input: it lists every problem, each located precisely."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where.

    ``file`` is the file (relative to the scenario folder where there is one); ``row`` is the
    row of a table as a spreadsheet numbers it (the header is row 1, so the first data row is
    row 2; in a CSV file this is also the line number); ``column`` the table column; ``path``
    the dotted YAML/JSON path (``policies.close_policy``).
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    path: str | None = None

    def location(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


@dataclass
class InputError(Exception):
    """Raised when an input is invalid; carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class ProblemCollector:
    """Accumulates problems while reading; ``raise_if_any`` at the end of the boundary."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(
        self,
        file: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        path: str | None = None,
    ) -> None:
        self.problems.append(Problem(file, message, row=row, column=column, path=path))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def add_validation_error(
        self,
        file: str,
        error: ValidationError,
        *,
        path_prefix: str = "",
        row: int | None = None,
        columns: bool = False,
    ) -> None:
        """Translate a pydantic error into located problems.

        With ``columns``, the first element of each error location is a table column.
        """
        for err in error.errors():
            loc = [x for x in err["loc"] if not str(x).startswith("function-")]
            message = friendly_message(err)
            if columns and loc:
                self.add(file, message, row=row, column=str(loc[0]))
            else:
                self.add(file, message, row=row, path=dotted_path(path_prefix, loc) or None)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(list(self.problems))


def dotted_path(prefix: str, loc: Iterable[object]) -> str:
    """``policies`` + ``("days", 0, "open")`` -> ``policies.days[0].open``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


_LIMIT_TYPES = {"less_than_equal", "less_than", "too_long"}


def friendly_message(err: Mapping[str, Any]) -> str:
    """pydantic's message, with the offending value appended when it helps; an upper bound
    points to the reference page of limits."""
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    typ = str(err.get("type", ""))
    if typ in _LIMIT_TYPES:
        msg += " (the upper limit; see docs/reference/limits.md)"
    if typ == "finite_number":
        msg = "expected a finite number (not inf or nan)"
    value = err.get("input")
    if typ == "missing":
        return "required field is missing"
    if typ == "extra_forbidden":
        return "unknown field (check the spelling; see docs/reference/scenario-format.md)"
    if value is not None and not isinstance(value, dict | list):
        shown = repr(value)
        return f"{msg} (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return msg
