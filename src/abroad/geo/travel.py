"""Travel time from great-circle distance: a documented, replaceable model.

Below ``flight_threshold_km`` people drive: road distance is the great-circle distance times a
detour factor (1.3 is a common figure for road networks), at ``road_speed_kmh``. Beyond it they
fly: a fixed overhead (getting to and through airports) plus the great-circle distance at
``flight_speed_kmh``; the result is never less than the time to fly the threshold distance, so
travel time grows with distance. Replace it by passing another function with the same
signature where a travel-time function is accepted.
"""

from __future__ import annotations

import numpy as np

from abroad.geo.distance import FloatArray
from abroad.model.scenario import TravelModel


def travel_time_hours(distance_km: FloatArray, model: TravelModel) -> FloatArray:
    """One-way travel time in hours for each great-circle distance (km)."""
    d = np.asarray(distance_km, dtype=np.float64)
    drive = d * model.road_detour_factor / model.road_speed_kmh
    fly = model.flight_overhead_hours + d / model.flight_speed_kmh
    threshold_drive = model.flight_threshold_km * model.road_detour_factor / model.road_speed_kmh
    # Continuous and non-decreasing: flying only helps once it beats driving the threshold.
    fly = np.minimum(np.maximum(fly, threshold_drive), drive)
    return np.where(d < model.flight_threshold_km, drive, fly)
