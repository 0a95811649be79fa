"""Domain identifiers and enumerations shared by every layer."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

SiteId = NewType("SiteId", str)
"""Identifier of a site (mission or venue) from the scenario's sites table."""

PlaceId = NewType("PlaceId", str)
"""Identifier of a voter place (a city or district) from the scenario's voters table."""

CountryCode = NewType("CountryCode", str)
"""ISO 3166-1 alpha-2 country code, upper case (``US``, ``DE``)."""

TimeZoneName = NewType("TimeZoneName", str)
"""IANA time zone name (``America/New_York``)."""


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
