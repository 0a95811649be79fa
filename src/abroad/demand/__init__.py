"""Demand: who votes, at which station, and when.

- ``DemandModel.from_scenario(scenario).expected_demand(open_sites)`` -> ``Demand`` (voters per
  station and day, per place, and the place -> station breakdown);
- ``DemandModel.arrival_profile(demand, site, day)`` -> expected arrivals by local clock time;
- ``day_profile``, ``hourly_weights``, ``default_day_shares``: the daily curve and day shares,
  calibrated on Romania's elections abroad (``abroad.demand.curves``);
- ``abroad.demand.station_loads``: observed station loads abroad, for realism checks.
"""

from abroad.demand.arrivals import (
    ArrivalProfile,
    country_iso3,
    day_profile,
    default_day_shares,
    has_country_curve,
    hourly_weights,
    utc_offset_minutes,
)
from abroad.demand.model import Demand, DemandModel
from abroad.demand.turnout import combine_signals, decay_factor

__all__ = [
    "ArrivalProfile",
    "Demand",
    "DemandModel",
    "combine_signals",
    "country_iso3",
    "day_profile",
    "decay_factor",
    "default_day_shares",
    "has_country_curve",
    "hourly_weights",
    "utc_offset_minutes",
]
