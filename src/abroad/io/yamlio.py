"""YAML reading with the surprises of YAML 1.1 removed.

PyYAML reads ``8:00`` as the base-60 integer 480, ``no`` as False, and crashes on a date such as
``2024-02-30``. Scenario files are full of clock times and dates, so this loader keeps ``h:mm``
and dates as text (validated later, with a located message) and accepts only ``true``/``false``
as booleans.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from abroad.io.errors import InputError, Problem


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:timestamp",
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def parse_yaml_text(text: str, file_label: str) -> Any:
    """Parse YAML text; a syntax error becomes an InputError naming the line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError(
            [Problem(file_label, f"{where}invalid YAML: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file_label, f"invalid YAML: {exc}")]) from None


def read_yaml(path: Path, file_label: str | None = None) -> Any:
    """Read and parse a YAML (or JSON, which is YAML) file."""
    label = file_label or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(label, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(label, f"not UTF-8 text: {exc}")]) from None
    return parse_yaml_text(text, label)
