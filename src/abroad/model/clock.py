"""Clock times as written in scenario files: ``"08:00"``, ``"8:00"``, ``"20:30"``, ``"24:00"``.

A clock time is text, always: ``open: 8`` (a YAML number) is an error, not eight seconds after
midnight. ``"24:00"`` is the end of the day (a closing time); it is held as ``END_OF_DAY``
(``23:59:59.999999``, which no text other than ``24:00`` produces) and ``clock_minutes`` turns
it into 1,440 minutes. ``clock_minutes`` is the one conversion from a clock time to minutes
after local midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")

END_OF_DAY = dt.time.max
"""``24:00``: the end of a day, as a closing time."""


def parse_clock(value: object) -> object:
    """Accept ``H:MM`` or ``HH:MM[:SS]`` text (``24:00`` = end of day) or a ``datetime.time``."""
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str):
        raise ValueError(f'expected a clock time as text in quotes, like "08:00" (got {value!r})')
    m = _CLOCK.match(value)
    if m is None:
        raise ValueError(f"expected a clock time like 08:00 (got {value!r})")
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    if hour == 24 and minute == 0 and second == 0:
        return END_OF_DAY
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"expected a clock time between 00:00 and 24:00 (got {value!r})")
    return dt.time(hour, minute, second)


def clock_minutes(t: dt.time) -> float:
    """Minutes after local midnight (``24:00`` -> 1440)."""
    if t == END_OF_DAY:
        return 24 * 60.0
    return t.hour * 60.0 + t.minute + t.second / 60.0


def clock_text(t: dt.time) -> str:
    """``HH:MM`` (``24:00`` for the end of the day)."""
    return "24:00" if t == END_OF_DAY else f"{t:%H:%M}"


ClockTime = Annotated[dt.time, BeforeValidator(parse_clock)]
"""A local clock time, parsed from ``H:MM`` text."""
