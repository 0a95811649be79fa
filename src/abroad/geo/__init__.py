"""Geography: distances, travel times, the offline gazetteer and time zones."""

from abroad.geo.distance import EARTH_RADIUS_KM, distance_matrix_km, haversine_km
from abroad.geo.travel import travel_time_hours

__all__ = ["EARTH_RADIUS_KM", "distance_matrix_km", "haversine_km", "travel_time_hours"]
