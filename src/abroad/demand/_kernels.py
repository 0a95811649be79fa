"""Compiled inner loops of the demand model (numba)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def nearest_open(
    order: Any, open_mask: Any, distance_km: Any, voters_if_assigned: Any
) -> tuple[Any, Any, Any]:
    """For each place: first open site in its distance order, its distance and the voters sent.

    ``order`` holds each place's site indices sorted by distance; a place walks it until an open
    site, which is a few steps when many sites are open and at most S when few are.
    """
    n_places, n_sites = order.shape
    assigned = np.full(n_places, -1, dtype=np.int64)
    dist = np.full(n_places, np.inf)
    voters = np.zeros(n_places)
    for p in range(n_places):
        for r in range(n_sites):
            s = order[p, r]
            if open_mask[s]:
                assigned[p] = s
                dist[p] = distance_km[p, s]
                voters[p] = voters_if_assigned[p, s]
                break
    return assigned, dist, voters
