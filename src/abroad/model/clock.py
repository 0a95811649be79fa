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

MINUTES_PER_DAY = 24 * 60

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


def clock_time(text: str) -> dt.time:
    """``H:MM`` / ``HH:MM[:SS]`` text as a clock time (``24:00`` is ``END_OF_DAY``)."""
    t = parse_clock(text)
    assert isinstance(t, dt.time)
    return t


ClockTime = Annotated[dt.time, BeforeValidator(parse_clock)]
"""A local clock time, parsed from ``H:MM`` text."""


def clock_minutes(t: dt.time) -> float:
    """Minutes after local midnight of a clock time; ``24:00`` (``END_OF_DAY``) is 1440.

    The one conversion from clock times to minutes in the code base.

    >>> clock_minutes(dt.time(8, 30))
    510.0
    >>> clock_minutes(END_OF_DAY)
    1440.0
    """
    if t == END_OF_DAY:
        return float(MINUTES_PER_DAY)
    return t.hour * 60.0 + t.minute + t.second / 60.0


def clock_text(minutes: float) -> str:
    """``HH:MM`` for minutes after midnight (``-`` for NaN; beyond two days, minutes).

    >>> clock_text(510.0), clock_text(1440.0), clock_text(float("nan"))
    ('08:30', '24:00', '-')
    """
    if minutes != minutes:  # NaN
        return "-"
    m = round(minutes)
    return f"{m // 60:02d}:{m % 60:02d}" if m < 48 * 60 else f"{minutes:,.0f} min"


def time_text(t: dt.time) -> str:
    """``HH:MM`` of a clock time (``24:00`` for ``END_OF_DAY``).

    >>> time_text(dt.time(8, 5)), time_text(END_OF_DAY)
    ('08:05', '24:00')
    """
    return clock_text(clock_minutes(t))
