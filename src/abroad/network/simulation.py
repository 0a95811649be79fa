"""Simulating a network of stations from the demand model's arrival profiles.

Bridges ``abroad.demand`` (expected arrivals per station by local clock time) and
``abroad.queueing`` (the station simulator): one ``StationSpec`` per open station, with the
scenario's service model and policies and the station's desks and booths. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from abroad.demand import Demand, DemandModel
from abroad.model import Scenario, SiteId, StationSettings
from abroad.queueing import StationOutcome, simulate_station, station_seed
from abroad.queueing.kernel import SERVED
from abroad.queueing.spec import DaySpec, StationSpec, station_from_model
from abroad.queueing.station import ReplicationTrace, simulate_replication

BIN_MINUTES = 15
"""Resolution of the arrival-rate profile handed to the simulator (keeps noon surges sharp)."""


@dataclass(frozen=True)
class Resources:
    """What one station works with: desks, booths and (at missions) door-screening lanes.

    ``security_lanes`` ``None`` means the most the site allows (:func:`max_security_lanes`);
    it is ignored where the station has no screening (venues, or no ``service.security``).
    """

    desks: int
    booths: int
    security_lanes: int | None = None


def max_security_lanes(scenario: Scenario, site_id: SiteId) -> int:
    """Door-screening lanes a site can run: 0 without screening (venues, or a scenario without
    ``service.security``); else the sites table's ``max_security_lanes``, or, where that is
    empty, the scenario's ``service.security.servers``."""
    site = scenario.site(site_id)
    security = scenario.service.security
    if security is None or not site.kind.is_mission:
        return 0
    return site.max_security_lanes if site.max_security_lanes is not None else security.servers


def site_max_resources(scenario: Scenario, site_id: SiteId) -> Resources:
    """The most desks, booths and screening lanes a site's premises allow."""
    site = scenario.site(site_id)
    return Resources(site.max_desks, site.max_booths, max_security_lanes(scenario, site_id))


@dataclass(frozen=True)
class HourlyWait:
    """Wait of the voters who arrived in one local clock hour (served voters only)."""

    day: int
    hour: int
    arrivals: float
    """Mean arrivals in that hour per replication."""
    wait_minutes_mean: float
    wait_minutes_p90: float
    not_served: float
    """Mean number of that hour's arrivals who did not vote (turned away, reneged, balked)."""


@dataclass(frozen=True)
class StationSimulation:
    """A simulated station: its resources, inputs and outcomes."""

    site_id: SiteId
    resources: Resources
    spec: StationSpec
    outcome: StationOutcome
    wait_by_hour: tuple[HourlyWait, ...]


def status_quo_resources(
    scenario: Scenario, site_ids: tuple[SiteId, ...]
) -> dict[SiteId, Resources]:
    """Every station at the most desks, booths and lanes its premises allow."""
    return {sid: site_max_resources(scenario, sid) for sid in site_ids}


def station_spec(
    scenario: Scenario,
    model: DemandModel,
    demand: Demand,
    site_id: SiteId,
    resources: Resources,
    settings: StationSettings | None = None,
) -> StationSpec:
    """The simulator's input for one open station under a demand.

    ``settings``: the hours, days and close policy the planner chose (default: the scenario's
    own). On a day the station stays closed it gets no arrivals (the day stays in the input so
    that day indices match the election's); its voters come on the days it opens, in
    proportion to those days' shares.
    """
    site = scenario.site(site_id)
    hours = None if settings is None else settings.hours_minutes
    open_days = (
        np.ones(len(scenario.election.days), dtype=bool)
        if settings is None
        else np.array(settings.open_days, dtype=bool)
    )
    shares = model.day_shares
    open_share = float(shares[open_days].sum())
    days = []
    for d in range(len(scenario.election.days)):
        profile = model.arrival_profile(
            demand, site_id, d, bin_minutes=BIN_MINUTES, hours_minutes=hours
        )
        factor = float(shares.sum()) / open_share if open_days[d] and open_share > 0 else 0.0
        rate = profile.rate_per_hour * factor
        starts = np.arange(profile.open_minutes, profile.close_minutes, BIN_MINUTES)
        idx = np.minimum((starts // BIN_MINUTES).astype(np.int64), rate.size - 1)
        days.append(
            DaySpec(
                open_minutes=profile.open_minutes,
                close_minutes=profile.close_minutes,
                arrivals_per_hour=tuple(float(rate[i]) for i in idx),
                bin_minutes=float(BIN_MINUTES),
            )
        )
    service = scenario.service
    lanes = max_security_lanes(scenario, site_id)
    if service.security is not None and lanes == 0:
        service = service.model_copy(update={"security": None})
    elif service.security is not None:
        chosen = lanes if resources.security_lanes is None else resources.security_lanes
        security = service.security.model_copy(update={"servers": max(chosen, 1)})
        service = service.model_copy(update={"security": security})
    policies = scenario.policies
    if settings is not None and settings.close_policy != policies.close_policy:
        policies = policies.model_copy(update={"close_policy": settings.close_policy})
    return station_from_model(
        service,
        policies,
        tuple(days),
        resources.desks,
        resources.booths,
        name=site.name,
        max_queue_outside=site.max_queue_outside,
    )


def network_specs(
    scenario: Scenario, stations: Mapping[SiteId, Resources]
) -> dict[SiteId, StationSpec]:
    """The simulator's spec of each station of a network open together (the expected demand
    of exactly these stations, each at its own resources): what the server nowcasts with
    and what ``abroad replay`` simulates."""
    model = DemandModel.from_scenario(scenario)
    demand = model.expected_demand(tuple(stations))
    return {sid: station_spec(scenario, model, demand, sid, res) for sid, res in stations.items()}


def _of_day(values: npt.NDArray[Any], trace: ReplicationTrace, day: int) -> npt.NDArray[Any]:
    """The part of a per-voter array that belongs to one voting day."""
    off = trace.inputs.arr_off
    return values[off[day] : off[day + 1]]


def wait_by_hour(spec: StationSpec, seed: int, replications: int) -> tuple[HourlyWait, ...]:
    """Wait by local arrival hour, pooled over per-voter traces of the first replications."""
    traces = [simulate_replication(spec, seed, r) for r in range(replications)]
    out = []
    for d, day in enumerate(spec.days):
        hours = np.concatenate([_of_day(t.inputs.arrival_minutes, t, d) // 60 for t in traces])
        waits = np.concatenate([_of_day(t.wait_minutes, t, d) for t in traces])
        served = np.concatenate([_of_day(t.outcome, t, d) == SERVED for t in traces])
        for h in range(int(day.open_minutes // 60), int(day.close_minutes // 60) + 1):
            mine = hours == h
            if not mine.any():
                continue
            w = waits[mine & served]
            out.append(
                HourlyWait(
                    day=d,
                    hour=h,
                    arrivals=float(mine.sum()) / replications,
                    wait_minutes_mean=float(w.mean()) if w.size else float("nan"),
                    wait_minutes_p90=float(np.quantile(w, 0.9)) if w.size else float("nan"),
                    not_served=float((mine & ~served).sum()) / replications,
                )
            )
    return tuple(out)


StationRunner = Callable[[StationSpec, int, int, float], StationOutcome]
"""Runs one station: (spec, replications, seed, target wait minutes) -> its outcome."""


def _simulate_here(
    spec: StationSpec, replications: int, seed: int, target_wait_minutes: float
) -> StationOutcome:
    return simulate_station(spec, replications, seed, target_wait_minutes=target_wait_minutes)


def simulate_network(
    scenario: Scenario,
    model: DemandModel,
    demand: Demand,
    resources: Mapping[SiteId, Resources],
    *,
    replications: int = 20,
    trace_replications: int = 5,
    seed: int = 0,
    on_station: Callable[[SiteId], None] | None = None,
    run_station: StationRunner | None = None,
    settings: Mapping[SiteId, StationSettings] | None = None,
) -> tuple[StationSimulation, ...]:
    """Simulate every station in ``resources``; station i runs under its own derived seed.

    ``run_station(spec, replications, seed, target_wait_minutes)`` runs one station's
    replications (default ``simulate_station``); another runner must give the same outcome for
    the same seed, as ``abroad.sweep.montecarlo.simulate_station_on`` does on a Dask cluster.
    ``settings``: the hours, days and close policy the plan chose per station (see
    :func:`station_spec`; default the scenario's own)."""
    target = scenario.policies.wait_target.minutes
    run = run_station or _simulate_here
    out = []
    for i, (sid, res) in enumerate(resources.items()):
        spec = station_spec(
            scenario, model, demand, sid, res, None if settings is None else settings.get(sid)
        )
        own_seed = station_seed(seed, i)
        outcome = run(spec, replications, own_seed, target)
        out.append(
            StationSimulation(
                site_id=sid,
                resources=res,
                spec=spec,
                outcome=outcome,
                wait_by_hour=wait_by_hour(spec, own_seed, trace_replications),
            )
        )
        if on_station is not None:
            on_station(sid)
    return tuple(out)
