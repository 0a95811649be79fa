"""Vectorised great-circle distances on a spherical Earth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km."""


def haversine_km(
    lat1_deg: FloatArray | float,
    lon1_deg: FloatArray | float,
    lat2_deg: FloatArray | float,
    lon2_deg: FloatArray | float,
) -> FloatArray:
    """Great-circle distance in km between points, broadcasting like numpy."""
    lat1 = np.radians(lat1_deg)
    lat2 = np.radians(lat2_deg)
    dlat = lat2 - lat1
    dlon = np.radians(np.asarray(lon2_deg) - np.asarray(lon1_deg))
    a = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def distance_matrix_km(
    from_lat_deg: FloatArray,
    from_lon_deg: FloatArray,
    to_lat_deg: FloatArray,
    to_lon_deg: FloatArray,
) -> FloatArray:
    """Matrix of great-circle distances, shape (len(from), len(to)), in km."""
    return haversine_km(
        np.asarray(from_lat_deg, dtype=np.float64)[:, None],
        np.asarray(from_lon_deg, dtype=np.float64)[:, None],
        np.asarray(to_lat_deg, dtype=np.float64)[None, :],
        np.asarray(to_lon_deg, dtype=np.float64)[None, :],
    )
