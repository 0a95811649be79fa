"""Domain identifiers and enumerations shared by every layer."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, NewType

from pydantic import PlainSerializer, WithJsonSchema

SiteId = NewType("SiteId", str)
"""Identifier of a site (mission or venue) from the scenario's sites table."""

PlaceId = NewType("PlaceId", str)
"""Identifier of a voter place (a city or district) from the scenario's voters table."""

CountryCode = NewType("CountryCode", str)
"""ISO 3166-1 alpha-2 country code, upper case (``US``, ``DE``)."""

TimeZoneName = NewType("TimeZoneName", str)
"""IANA time zone name (``America/New_York``)."""


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


Number = Annotated[
    float,
    PlainSerializer(_finite_or_none, return_type=float | None),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]}),
]
"""A float in a typed result, written as null in JSON when undefined (NaN) or infinite."""


class SiteKind(StrEnum):
    """What kind of place a station can open in."""

    EMBASSY = "embassy"
    CONSULATE_GENERAL = "consulate_general"
    CONSULATE = "consulate"
    HONORARY_CONSULATE = "honorary_consulate"
    CULTURAL_CENTRE = "cultural_centre"
    VENUE = "venue"

    @property
    def is_mission(self) -> bool:
        """Diplomatic premises (as opposed to a rented or borrowed venue)."""
        return self in {
            SiteKind.EMBASSY,
            SiteKind.CONSULATE_GENERAL,
            SiteKind.CONSULATE,
            SiteKind.HONORARY_CONSULATE,
        }


class ClosePolicyKind(StrEnum):
    """What happens to people still in line when the station closes."""

    SERVE_ALL = "serve_all"
    HARD_CLOSE = "hard_close"
    EXTEND = "extend"
