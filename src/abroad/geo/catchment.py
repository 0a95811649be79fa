"""Nearest-station catchments and travel-distance statistics (pure, vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abroad.geo.distance import FloatArray, distance_matrix_km

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Catchment:
    """For each place: the index of its nearest open site and the distance to it."""

    site_index: IntArray
    """Index into the sites passed in (not only the open ones)."""
    distance_km: FloatArray


def nearest_open_site(
    place_lat_deg: FloatArray,
    place_lon_deg: FloatArray,
    site_lat_deg: FloatArray,
    site_lon_deg: FloatArray,
    open_mask: npt.NDArray[np.bool_],
) -> Catchment:
    """Assign each place to its nearest open site (great-circle distance; ties: lowest index)."""
    open_idx = np.flatnonzero(open_mask)
    if open_idx.size == 0:
        raise ValueError("no open site to assign voters to")
    dist = distance_matrix_km(
        place_lat_deg, place_lon_deg, site_lat_deg[open_idx], site_lon_deg[open_idx]
    )
    best = np.argmin(dist, axis=1)
    return Catchment(
        site_index=open_idx[best].astype(np.int64),
        distance_km=dist[np.arange(dist.shape[0]), best],
    )


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The q-quantile of values where each value counts with its weight (NaN if no weight).

    Uses the inverse of the weighted empirical distribution: the smallest value whose cumulative
    weight reaches q of the total.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q}")
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    if not keep.any():
        return float("nan")
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(v[order][min(k, v.size - 1)])
