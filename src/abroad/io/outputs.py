"""Writing machine-readable outputs (summary.json and friends)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from abroad.results import Result


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def json_text(payload: Any) -> str:
    """JSON text with NaN/inf as null, keys in the order given, newline-terminated."""
    return json.dumps(_clean(payload), indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, payload: Any) -> None:
    """Write ``json_text(payload)`` as UTF-8."""
    path.write_text(json_text(payload), encoding="utf-8")


def write_result(path: Path, result: Result) -> None:
    """Write a typed result as JSON (its ``to_json_dict`` shape)."""
    write_json(path, result.to_json_dict())
