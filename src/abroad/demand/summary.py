"""Demand as plain JSON-ready values, for summary.json and the report (schema below).

``{"day_shares": [...], "total_voters": x, "stations": [{"site_id", "timezone", "voters",
"voters_per_day": [...], "arrivals_per_local_hour": [[24 numbers] per day],
"peak_local_hour": [h per day], "utc_offset_minutes": [m per day]}]}``
"""

from __future__ import annotations

from typing import Any

from abroad.demand.model import Demand, DemandModel


def demand_summary(model: DemandModel, demand: Demand) -> dict[str, Any]:
    """Expected voters per station and day and their arrivals per local clock hour."""
    sc = model.scenario
    stations = []
    n_days = len(sc.election.days)
    for i in map(int, demand.open_mask.nonzero()[0]):
        profiles = [model.arrival_profile(demand, i, k) for k in range(n_days)]
        stations.append(
            {
                "site_id": sc.sites[i].site_id,
                "timezone": sc.sites[i].timezone,
                "voters": round(float(demand.voters_per_site[i]), 1),
                "voters_per_day": [round(float(v), 1) for v in demand.voters_per_site_day[i]],
                "arrivals_per_local_hour": [
                    [round(float(v), 1) for v in p.voters_per_bin] for p in profiles
                ],
                "peak_local_hour": [int(p.peak_local_minutes // 60) for p in profiles],
                "utc_offset_minutes": [p.utc_offset_minutes for p in profiles],
            }
        )
    return {
        "days": [d.date.isoformat() for d in sc.election.days],
        "day_shares": [round(float(s), 4) for s in model.day_shares],
        "total_voters": round(demand.total_voters, 1),
        "stations": stations,
    }
