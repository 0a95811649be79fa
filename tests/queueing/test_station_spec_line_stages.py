"""`line_stages` in a station spec file (documented in docs/reference/station-spec.md)."""

from __future__ import annotations

import pytest

from abroad.io.errors import InputError
from abroad.io.station_spec import parse_station_spec

SPEC = """
days: [{open: "08:00", close: "20:00", arrivals_per_hour: 100}]
stages:
  - {name: security, servers: 2, service: {dist: deterministic, minutes: 0.4}}
  - {name: checkin, servers: 4, service: {dist: exponential, mean_minutes: 1.5}}
  - {name: booth, servers: 8, service: {dist: exponential, mean_minutes: 3}}
"""


def test_line_stages_is_read() -> None:
    assert parse_station_spec(SPEC).line_stages == 1
    assert parse_station_spec(SPEC + "line_stages: 2\n").line_stages == 2


def test_too_many_line_stages_is_located() -> None:
    with pytest.raises(InputError) as err:
        parse_station_spec(SPEC + "line_stages: 4\n", "s.yaml")
    assert [str(p) for p in err.value.problems] == [
        "s.yaml, line_stages: line_stages (4) exceeds the number of stages (3)"
    ]
    with pytest.raises(InputError):
        parse_station_spec(SPEC + "line_stages: 0\n")
