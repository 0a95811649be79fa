"""Who is nearest to which open station, and how far they live from it. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from abroad.geo.catchment import Catchment, nearest_open_site, weighted_quantile
from abroad.model import Scenario, Site, SiteId
from abroad.model.types import Number

FAR_KM = 300.0
"""Citizens farther than this from their station are reported as 'beyond reach'."""


class StationCatchment(BaseModel):
    """One open station and the citizens for whom it is the nearest (citizens and distances
    to 0.1; a typed result, as written to summary.json)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: str
    name: str
    kind: str
    lat: float
    lon: float
    places: int
    citizens: float
    distance_km_p50: Number
    distance_km_p90: Number
    citizens_beyond_far_km: float


@dataclass(frozen=True)
class CatchmentSummary:
    """Who is nearest to which open station, and how far they live from it."""

    open_site_ids: tuple[SiteId, ...]
    catchment: Catchment
    stations: tuple[StationCatchment, ...]
    total_citizens: float
    distance_km_p50: float
    distance_km_p90: float
    citizens_beyond_far_km: float
    far_km: float = FAR_KM


def default_open_sites(scenario: Scenario) -> tuple[SiteId, ...]:
    """The status quo: every site where a station may open (available, permitted by the host)."""
    return tuple(s.site_id for s in scenario.openable_sites)


def catchments(
    scenario: Scenario, open_site_ids: tuple[SiteId, ...] | None = None, far_km: float = FAR_KM
) -> CatchmentSummary:
    """Assign every voter place to its nearest open station and summarise travel distances."""
    ids = default_open_sites(scenario) if open_site_ids is None else open_site_ids
    mask = np.zeros(len(scenario.sites), dtype=bool)
    for sid in ids:
        mask[scenario.site_index[sid]] = True
    pa = scenario.place_arrays
    c = nearest_open_site(
        pa.lat_deg, pa.lon_deg, scenario.site_lat_deg, scenario.site_lon_deg, mask
    )
    citizens = pa.eligible_citizens
    stations = []
    for sid in ids:
        idx = scenario.site_index[sid]
        site: Site = scenario.sites[idx]
        mine = c.site_index == idx
        w = citizens[mine]
        d = c.distance_km[mine]
        stations.append(
            StationCatchment(
                site_id=sid,
                name=site.name,
                kind=site.kind.value,
                lat=site.lat,
                lon=site.lon,
                places=int(mine.sum()),
                citizens=round(float(w.sum()), 1),
                distance_km_p50=round(weighted_quantile(d, w, 0.5), 1),
                distance_km_p90=round(weighted_quantile(d, w, 0.9), 1),
                citizens_beyond_far_km=round(float(w[d > far_km].sum()), 1),
            )
        )
    return CatchmentSummary(
        open_site_ids=tuple(ids),
        catchment=c,
        stations=tuple(stations),
        total_citizens=float(citizens.sum()),
        distance_km_p50=weighted_quantile(c.distance_km, citizens, 0.5),
        distance_km_p90=weighted_quantile(c.distance_km, citizens, 0.9),
        citizens_beyond_far_km=float(citizens[c.distance_km > far_km].sum()),
        far_km=far_km,
    )
