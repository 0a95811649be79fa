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


@numba.njit(cache=True, nogil=True)
def nearest_among(open_idx: Any, distance_km: Any, voters_if_assigned: Any) -> tuple[Any, Any, Any]:
    """Like ``nearest_open`` by scanning the open columns: faster when few sites are open."""
    n_places = distance_km.shape[0]
    assigned = np.empty(n_places, dtype=np.int64)
    dist = np.empty(n_places)
    voters = np.empty(n_places)
    for p in range(n_places):
        best = open_idx[0]
        best_d = distance_km[p, best]
        for j in range(1, open_idx.size):
            s = open_idx[j]
            d = distance_km[p, s]
            if d < best_d or (d == best_d and s < best):
                best = s
                best_d = d
        assigned[p] = best
        dist[p] = best_d
        voters[p] = voters_if_assigned[p, best]
    return assigned, dist, voters


@numba.njit(cache=True, nogil=True)
def k_nearest_open(order: Any, open_mask: Any, k: int) -> Any:
    """Indices of each place's k nearest open sites, nearest first (k <= number open)."""
    n_places, n_sites = order.shape
    out = np.empty((n_places, k), dtype=np.int64)
    for p in range(n_places):
        found = 0
        for r in range(n_sites):
            s = order[p, r]
            if open_mask[s]:
                out[p, found] = s
                found += 1
                if found == k:
                    break
    return out
