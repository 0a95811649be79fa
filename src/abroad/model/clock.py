"""Clock times as written in scenario files: ``"08:00"``, ``"8:00"``, ``"20:30"``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_clock(value: object) -> object:
    """Accept ``H:MM`` or ``HH:MM[:SS]`` text; pass other values on to pydantic's checks."""
    if isinstance(value, str):
        m = _CLOCK.match(value)
        if m is None:
            raise ValueError(f"expected a clock time like 08:00 (got {value!r})")
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if hour == 24 and minute == 0 and second == 0:
            return dt.time(23, 59, 59)
        if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
            raise ValueError(f"expected a clock time between 00:00 and 24:00 (got {value!r})")
        return dt.time(hour, minute, second)
    return value


ClockTime = Annotated[dt.time, BeforeValidator(parse_clock)]
"""A local clock time, parsed leniently from ``H:MM`` text."""
