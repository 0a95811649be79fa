"""Which stations a line can be redirected to (nearest by travel time), and a neighbour in
another time zone (its own clock decides whether the voters arrive before it closes)."""

from __future__ import annotations

import pytest

from abroad.geo.distance import haversine_km
from abroad.model.scenario import TravelModel
from abroad.ops.actions import Neighbour, redirect_action
from abroad.ops.neighbours import Located, nearest_by_travel
from abroad.ops.nowcast import StationState, condition
from ops.test_alerts import station

WASHINGTON = Located("dc", 38.9266, -77.0727)
BALTIMORE = Located("baltimore", 39.2904, -76.6122)
ANNAPOLIS = Located("annapolis", 38.9784, -76.4922)
HOUSTON = Located("houston", 29.7449, -95.4611)


def test_nearest_by_road_time_within_the_reach() -> None:
    model = TravelModel()
    found = nearest_by_travel(WASHINGTON, [HOUSTON, BALTIMORE, WASHINGTON, ANNAPOLIS], model, 90)
    assert [k for k, _ in found] == ["annapolis", "baltimore"]  # nearest first, no self
    for key, minutes in found:
        other = {"annapolis": ANNAPOLIS, "baltimore": BALTIMORE}[key]
        km = float(haversine_km(WASHINGTON.lat, WASHINGTON.lon, other.lat, other.lon))
        assert minutes == pytest.approx(km * 1.3 / 80 * 60)  # the road: detour at 80 km/h
    # far away (beyond the 800 km flight threshold): never faster than driving the threshold
    # distance (800 x 1.3 / 80 = 13 h), found only with a reach of that much
    far = dict(nearest_by_travel(WASHINGTON, [HOUSTON], model, 24 * 60))
    assert far["houston"] == pytest.approx(13 * 60)
    assert nearest_by_travel(WASHINGTON, [HOUSTON], model, 90) == []


def test_a_neighbour_an_hour_behind_is_read_on_its_own_clock() -> None:
    busy = station(2, 75, name="busy")
    idle = station(6, 30, name="idle")
    cond = condition(
        busy, StationState(now_minute=1100, people_in_line=150, processed_today=900), 30, 1
    )
    # 18:20 here; 40 minutes away, the voters arrive at 19:00, an hour before it closes...
    same_zone = condition(
        idle, StationState(now_minute=1100, people_in_line=0, processed_today=300), 30, 2
    )
    act = redirect_action(cond, Neighbour("idle", 40.0, same_zone))
    assert act is not None and act.voters is not None and act.voters > 0
    # ...but an hour ahead (its clock reads 19:20 now), they arrive as it closes: nobody
    ahead = condition(
        idle, StationState(now_minute=1160, people_in_line=0, processed_today=300), 30, 2
    )
    assert redirect_action(cond, Neighbour("idle", 40.0, ahead, clock_offset_minutes=60)) is None
    # an hour behind (17:20 there): more time to serve them than in the same zone
    behind = condition(
        idle, StationState(now_minute=1040, people_in_line=0, processed_today=300), 30, 2
    )
    later = redirect_action(cond, Neighbour("idle", 40.0, behind, clock_offset_minutes=-60))
    assert later is not None and later.voters is not None and later.voters >= act.voters
