"""From a scenario to a network plan: station responses by simulation, the planning instance,
the planner, and the true value of any plan.

- Each candidate station's *response* comes from the simulator. The wait target sizes its
  resources: at each load, the fewest screening lanes, desks and booths that meet the target
  (``size_station``), up to the most the site allows (and, at a mission, its own staff can run).
  Its ``capacity_voters`` is the largest load at which the site's most resources still meet the
  target; beyond it the station works at those resources and misses the target.
- Its *votes curve* is what the simulator predicts it delivers at each load with those
  resources under the scenario's own behaviour (patience, balking, outside cap, close policy,
  ballots): expected votes cast, made concave (the least concave majorant of the simulated
  points) so that the planner's pieces ``min_m(intercept + slope * L)`` can carry it. With a
  soft wait target each late vote (cast after waiting beyond the target) counts
  ``1 - late_penalty``. The planner maximises the sum of these curves: the same figure the
  re-simulation of its plan reports (docs/background/objective.md).
- Loads have the station's own arrival curve (its time zone, the scenario's surges), scaled.
- Staff: a mission's station works with the mission's own staff (``staff_available``), so it
  has at most the lanes, desks and booths they can run; venues draw on the rest of the budget
  (``policies.staff_budget`` minus the missions' own staff); the total is capped by
  ``staff_budget``. (Mission staff do not travel to venues in this model.)

Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abroad.demand import DemandModel
from abroad.model import Scenario, Site, SiteId, StationSettings
from abroad.network.simulation import Resources, site_max_resources, station_spec
from abroad.planning import PlanningInstance, PlanValue, value_plan
from abroad.planning.instance import preferences_from_distance
from abroad.planning.options import SiteOptions, upper_hull
from abroad.planning.rules import FloatArray
from abroad.queueing import kernel as K
from abroad.queueing import simulate_station
from abroad.queueing.sizing import size_station
from abroad.queueing.spec import StationSpec
from abroad.queueing.station import prepare, run_replications

LOAD_STEPS = 6
"""Loads at which each station is sized (fractions of its capacity) for its staff steps."""
OVERLOAD_STEPS = (1.25, 1.5, 2.0, 3.0, 5.0, 8.0)
"""Loads beyond capacity (multiples of it) at which the votes curve is simulated, up to the
most the station could ever get (every voter's only station)."""
CURVE_REPLICATIONS = 12
GRID_RATIO = 0.85
"""Besides the staff breaks and the overload steps, the votes curve is simulated at loads
``expected * GRID_RATIO**k`` (down to 2 % of the most the station could get): a grid that does
not depend on the station's resources."""
"""Replications per point of a votes curve (common random numbers across points)."""


@dataclass(frozen=True)
class CurvePoint:
    """What the simulator predicts for a station at one expected load."""

    load_voters: float
    votes_cast: float
    """Expected votes cast (over replications, arrivals as control variate)."""
    votes_cast_half_width: float
    """Half-width of the 95 % interval of ``votes_cast``."""
    late_votes: float
    """Votes cast after a wait beyond the target."""
    wait_minutes_p95: float
    resources: Resources


@dataclass(frozen=True)
class StationResponse:
    """What a candidate station can do, from simulation."""

    site_id: SiteId
    capacity_voters: float
    """Largest expected load served within the wait target at the site's most resources."""
    break_load_voters: tuple[float, ...]
    """Loads at which staff steps up (ascending)."""
    staff_levels: tuple[float, ...]
    """Staff needed up to each break load, and beyond the last (one more than the breaks)."""
    resources_at_break: tuple[Resources, ...]
    """Lanes, desks and booths needed at each break load, and beyond the last."""
    curve: tuple[CurvePoint, ...] = ()
    """Simulated points of the votes curve (ascending load, the first at load 0)."""
    value_pieces: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    """``(intercept, slope)`` pieces: the planner's value at load L is the least of them."""

    def resources_at(self, load_voters: float) -> Resources:
        j = int(np.searchsorted(np.array(self.break_load_voters), load_voters, side="left"))
        return self.resources_at_break[min(j, len(self.resources_at_break) - 1)]

    def value_at(self, load_voters: float) -> float:
        """The planner's value of this station at an expected load."""
        return min(a + b * load_voters for a, b in self.value_pieces)

    def _interp(self, load_voters: float, field: str) -> float:
        loads = [p.load_voters for p in self.curve]
        values = [getattr(p, field) for p in self.curve]
        return float(np.interp(load_voters, loads, values)) if loads else float("nan")

    def votes_cast_at(self, load_voters: float) -> float:
        """Expected votes cast at a load (interpolated between simulated points)."""
        return self._interp(load_voters, "votes_cast")

    def votes_cast_half_width_at(self, load_voters: float) -> float:
        """95 % half-width of the simulated votes curve at a load (interpolated)."""
        return self._interp(load_voters, "votes_cast_half_width")

    def wait_minutes_p95_at(self, load_voters: float) -> float:
        """Predicted 95th percentile wait at a load (interpolated)."""
        return self._interp(load_voters, "wait_minutes_p95")

    def meets_target_at(self, load_voters: float) -> bool:
        """Whether the station's resources meet the wait target at this load."""
        return load_voters <= self.capacity_voters + 1e-9


def _scaled(spec: StationSpec, factor: float) -> StationSpec:
    days = tuple(
        d.model_copy(update={"arrivals_per_hour": tuple(r * factor for r in d.arrivals_per_hour)})
        for d in spec.days
    )
    return spec.model_copy(update={"days": days})


def station_staff(scenario: Scenario, res: Resources) -> float:
    """Staff a station needs for its resources: whole people, rounded up."""
    rules = scenario.policies.staff
    need = (
        rules.fixed_per_station
        + rules.per_desk * res.desks
        + rules.per_lane * (res.security_lanes or 0)
        + rules.per_booths * res.booths
    )
    return float(np.ceil(need - 1e-9))


def affordable_resources(scenario: Scenario, site: Site, staff_limit: float | None) -> Resources:
    """The most lanes, desks and booths the premises allow within a staff limit (booths go
    first while there are more than two per desk, then desks and lanes in turn)."""
    res = site_max_resources(scenario, site.site_id)
    if staff_limit is None:
        return res
    while station_staff(scenario, res) > staff_limit + 1e-9:
        lanes = res.security_lanes or 0
        if res.booths > 2 * res.desks and res.booths > 1:
            res = Resources(res.desks, res.booths - 1, res.security_lanes)
        elif lanes > 1 and lanes * 4 > res.desks:
            res = Resources(res.desks, res.booths, lanes - 1)
        elif res.desks > 1:
            res = Resources(res.desks - 1, res.booths, res.security_lanes)
        elif res.booths > 1:
            res = Resources(res.desks, res.booths - 1, res.security_lanes)
        else:
            break
    return res


def concave_pieces(
    loads: Sequence[float], votes: Sequence[float]
) -> tuple[tuple[float, float], ...]:
    """``(intercept, slope)`` pieces of the least concave, nondecreasing majorant through
    ``(0, 0)`` of the points, flat beyond the last one."""
    pts = [(0.0, 0.0)]
    best = 0.0
    for x, y in sorted(zip(loads, votes, strict=True)):
        if x <= 0:
            continue
        best = max(best, min(y, x))
        pts.append((float(x), float(best)))
    hull = upper_hull(pts)
    pieces = []
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        slope = (y2 - y1) / (x2 - x1)
        pieces.append((max(y1 - slope * x1, 0.0), max(slope, 0.0)))
    pieces.append((hull[-1][1], 0.0))
    if pieces[0][0] > 0:
        pieces.insert(0, (0.0, 1.0))
    return tuple(pieces)


def _point(
    scenario: Scenario, unit: StationSpec, expected: float, load: float, res: Resources, seed: int
) -> CurvePoint:
    """One simulated point of a votes curve.

    Votes cast use the number of arrivals as a control variate (its expectation is known):
    the estimate is unbiased and loses most of the Poisson noise of the arrivals, whether the
    station is idle (votes follow arrivals) or saturated (they do not).
    """
    target = scenario.policies.wait_target
    spec = _scaled(unit, max(load, 1e-6) / expected).with_servers(_servers(res))
    raw = run_replications(prepare(spec), CURVE_REPLICATIONS, seed, target.minutes)
    tot = raw.stats[:, len(spec.days), :]
    arrivals = tot[:, K.COL_ARRIVALS]
    served = tot[:, K.COL_COUNTS + K.SERVED]
    late = served - tot[:, K.COL_SL_HITS]
    votes, half = _controlled(served, arrivals, spec.expected_arrivals)
    late_votes, _ = _controlled(late, arrivals, spec.expected_arrivals)
    p95 = tot[:, K.COL_WAIT_P95]
    return CurvePoint(
        load_voters=load,
        votes_cast=votes,
        votes_cast_half_width=half,
        late_votes=max(late_votes, 0.0),
        wait_minutes_p95=float(np.nanmean(p95)) if np.isfinite(p95).any() else 0.0,
        resources=res,
    )


def _controlled(
    values: npt.NDArray[np.float64], control: npt.NDArray[np.float64], control_mean: float
) -> tuple[float, float]:
    """Mean of ``values`` corrected by a control variate with known mean, and the 95 %
    half-width of the estimate."""
    n = values.shape[0]
    var = float(np.var(control, ddof=1)) if n > 1 else 0.0
    beta = float(np.cov(values, control, ddof=1)[0, 1]) / var if var > 0 else 0.0
    adjusted = values - beta * (control - control_mean)
    mean = float(adjusted.mean())
    half = 1.96 * float(adjusted.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return mean, half


def _mean(value: float) -> float:
    return value if np.isfinite(value) else 0.0


def _servers(res: Resources) -> dict[str, int | tuple[tuple[float, int], ...]]:
    out: dict[str, int | tuple[tuple[float, int], ...]] = {
        "checkin": res.desks,
        "booth": res.booths,
    }
    if res.security_lanes:
        out["security"] = res.security_lanes
    return out


def station_response(
    scenario: Scenario,
    model: DemandModel,
    site: Site,
    *,
    staff_limit: float | None = None,
    seed: int = 0,
    replications: int = 6,
    settings: StationSettings | None = None,
) -> StationResponse:
    """Capacity, staff steps and votes curve of one candidate station, by simulation.

    With ``staff_limit`` (a mission working with its own staff), the station has at most the
    lanes, desks and booths that staff can run, and its capacity is what those serve. With
    ``settings``, the station keeps those hours, days and close policy (default: the
    scenario's own).
    """
    alone = model.expected_demand((site.site_id,))
    top = affordable_resources(scenario, site, staff_limit)
    unit = station_spec(scenario, model, alone, site.site_id, top, settings)
    expected = max(float(alone.voters_per_site[scenario.site_index[site.site_id]]), 1.0)
    target = scenario.policies.wait_target

    def meets(load: float) -> bool:
        out = simulate_station(
            _scaled(unit, load / expected), replications, seed, target_wait_minutes=target.minutes
        )
        return out.total.service_level.mean >= target.service_level

    lo, hi = 0.0, 1000.0
    while meets(hi) and hi < 1e6:
        lo, hi = hi, hi * 2
    for _ in range(12):
        mid = (lo + hi) / 2
        if meets(mid):
            lo = mid
        else:
            hi = mid
    capacity = lo
    breaks: list[float] = []
    levels: list[float] = []
    resources: list[Resources] = []
    caps = {"checkin": top.desks, "booth": top.booths}
    if top.security_lanes:
        caps["security"] = top.security_lanes
    for k in range(1, LOAD_STEPS + 1):
        load = capacity * k / LOAD_STEPS
        sized = size_station(
            _scaled(unit, max(load, 1.0) / expected),
            target.minutes,
            target.service_level,
            max_servers=caps,
            replications=replications,
            seed=seed,
        ).servers()
        res = Resources(
            sized.get("checkin", top.desks),
            sized.get("booth", top.booths),
            sized.get("security", top.security_lanes),
        )
        breaks.append(load)
        levels.append(station_staff(scenario, res))
        resources.append(res)
    levels.append(station_staff(scenario, top))
    resources.append(top)
    levels = list(np.maximum.accumulate(levels))
    response = StationResponse(
        site.site_id, capacity, tuple(breaks), tuple(levels), tuple(resources)
    )
    grid = {expected * GRID_RATIO**k for k in range(int(np.log(0.02) / np.log(GRID_RATIO)) + 1)}
    loads = sorted(
        {b for b in breaks if b > 0}
        | {capacity * m for m in OVERLOAD_STEPS if capacity * m < expected}
        | grid
    )
    curve = [CurvePoint(0.0, 0.0, 0.0, 0.0, 0.0, resources[0])]
    curve += [
        _point(scenario, unit, expected, load, response.resources_at(load), seed) for load in loads
    ]
    penalty = 0.0 if target.hard else target.late_penalty
    pieces = concave_pieces(
        [p.load_voters for p in curve[1:]],
        [p.votes_cast - penalty * p.late_votes for p in curve[1:]],
    )
    return StationResponse(
        site.site_id,
        capacity,
        tuple(breaks),
        tuple(levels),
        tuple(resources),
        curve=tuple(curve),
        value_pieces=pieces,
    )


@dataclass(frozen=True)
class NetworkProblem:
    """A scenario made ready for the planner."""

    scenario: Scenario
    model: DemandModel
    site_ids: tuple[SiteId, ...]
    """Candidate sites, in the instance's order."""
    responses: tuple[StationResponse, ...]
    instance: PlanningInstance
    settings: tuple[StationSettings, ...] = ()
    """Hours, days and close policy each candidate's response was simulated with (empty: the
    scenario's own for every site)."""

    def settings_of(self, site_id: SiteId) -> StationSettings:
        """The hours, days and close policy of a candidate station."""
        if not self.settings:
            return self.scenario.fixed_settings(site_id)
        return self.settings[self.indices([site_id])[0]]

    @property
    def decided(self) -> bool:
        """Whether the planner chose the stations' hours, days or close policy."""
        return bool(self.scenario.policies.planner_decides)

    def indices(self, open_site_ids: Sequence[SiteId]) -> list[int]:
        pos = {sid: i for i, sid in enumerate(self.site_ids)}
        bad = [sid for sid in open_site_ids if sid not in pos]
        if bad:
            raise ValueError(
                f"not a site where a station may open: {', '.join(bad)} "
                f"(candidates: {', '.join(self.site_ids)})"
            )
        return [pos[sid] for sid in open_site_ids]

    def value_of(self, open_site_ids: Sequence[SiteId]) -> PlanValue:
        """The true value of a plan (what the planner maximises)."""
        return value_plan(self.instance, self.indices(open_site_ids))


def _staff_limit(site: Site) -> float | None:
    """A mission works with its own staff; venues draw on the budget."""
    return float(site.staff_available) if site.kind.is_mission and site.staff_available else None


def station_cost(scenario: Scenario, site: Site, settings: StationSettings) -> float:
    """Cost of a station over the election: the site's ``cost_per_day`` on each day it opens
    plus ``cost_per_station_hour`` for each hour it is open (an extension's minutes too)."""
    days = sum(settings.open_days)
    hourly = scenario.policies.cost_per_station_hour
    if hourly == 0:
        return site.cost_per_day * days
    return site.cost_per_day * days + hourly * scenario.open_hours(site.site_id, settings)


def _candidate_sites(scenario: Scenario, candidates: Sequence[SiteId] | None) -> tuple[Site, ...]:
    sites = scenario.openable_sites
    if candidates is not None:
        wanted = set(candidates)
        sites = tuple(s for s in sites if s.site_id in wanted)
    return sites


def build_network_problem(
    scenario: Scenario,
    *,
    seed: int = 0,
    max_open: int | None = None,
    on_site: Callable[[SiteId], None] | None = None,
    candidates: Sequence[SiteId] | None = None,
) -> NetworkProblem:
    """Station responses for every openable site (or only ``candidates``) and the planning
    instance built on them, every station with the scenario's own hours, days and close
    policy (see :func:`build_option_problem` for the planner's choice of them)."""
    model = DemandModel.from_scenario(scenario)
    sites = _candidate_sites(scenario, candidates)
    responses = []
    for site in sites:
        responses.append(
            station_response(scenario, model, site, staff_limit=_staff_limit(site), seed=seed)
        )
        if on_site is not None:
            on_site(site.site_id)
    settings = tuple(scenario.fixed_settings(s.site_id) for s in sites)
    return _assemble(scenario, model, sites, tuple(responses), settings, max_open)


def _response_arrays(
    responses: Sequence[StationResponse],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Served pieces and staff steps of responses as padded instance rows."""
    n_pieces = max(len(r.value_pieces) for r in responses) if responses else 1
    intercept = np.zeros((len(responses), n_pieces))
    slope = np.zeros((len(responses), n_pieces))
    for i, r in enumerate(responses):
        a, b = zip(*r.value_pieces, strict=True)
        intercept[i, : len(a)] = a
        slope[i, : len(b)] = b
        intercept[i, len(a) :] = a[-1]  # repeat the last (flat) piece
        slope[i, len(b) :] = b[-1]
    n_breaks = max((len(r.break_load_voters) for r in responses), default=0)
    break_load = np.full((len(responses), n_breaks), np.inf)
    staff_level = np.zeros((len(responses), n_breaks + 1))
    for i, r in enumerate(responses):
        break_load[i, : len(r.break_load_voters)] = r.break_load_voters
        staff_level[i, : len(r.staff_levels)] = r.staff_levels
        staff_level[i, len(r.staff_levels) :] = r.staff_levels[-1]
    return intercept, slope, break_load, staff_level


def _assemble(
    scenario: Scenario,
    model: DemandModel,
    sites: Sequence[Site],
    responses: tuple[StationResponse, ...],
    settings: tuple[StationSettings, ...],
    max_open: int | None,
) -> NetworkProblem:
    """The planning instance on candidate sites with these responses (and settings)."""
    cols = np.array([scenario.site_index[s.site_id] for s in sites], dtype=np.int64)
    pref_site, pref_decay = preferences_from_distance(
        model.distance_km[:, cols], model.decay[:, cols]
    )
    intercept, slope, break_load, staff_level = _response_arrays(responses)
    missions = [i for i, s in enumerate(sites) if s.kind.is_mission and s.staff_available > 0]
    pool = np.zeros(len(sites), dtype=np.int64)  # pool 0: deployable staff for venues
    pool_budget = [0.0]
    for j, i in enumerate(missions, start=1):
        pool[i] = j
        pool_budget.append(float(sites[i].staff_available))
    budget = scenario.policies.staff_budget
    total = float("inf") if budget is None else float(budget)
    pool_budget[0] = max(total - sum(pool_budget[1:]), 0.0) if budget is not None else np.inf
    cost_budget = scenario.policies.cost_budget_per_day
    days = len(scenario.election.days)
    instance = PlanningInstance.build(
        demand_weight=model.place_potential,
        pref_site=pref_site,
        pref_decay=pref_decay,
        served_intercept=intercept,
        served_slope=slope,
        staff_break_load=break_load,
        staff_level=staff_level,
        staff_pool=pool,
        pool_staff_budget=np.array(pool_budget),
        total_staff_budget=total,
        open_cost=np.array(
            [station_cost(scenario, s, st) for s, st in zip(sites, settings, strict=True)]
        ),
        cost_budget=float("inf") if cost_budget is None else float(cost_budget) * days,
        max_open=max_open,
        site_ids=tuple(s.site_id for s in sites),
        pool_ids=("venue staff", *(f"{sites[i].site_id} staff" for i in missions)),
    )
    return NetworkProblem(
        scenario, model, tuple(s.site_id for s in sites), responses, instance, settings
    )


@dataclass(frozen=True)
class OptionProblem:
    """Every alternative (hours, days, close policy) of every candidate station, simulated:
    what :func:`abroad.planning.options.plan_with_options` chooses from."""

    scenario: Scenario
    model: DemandModel
    sites: tuple[Site, ...]
    alternatives: tuple[tuple[StationSettings, ...], ...]
    """Per candidate site, the settings the planner may choose
    (``Scenario.station_alternatives``)."""
    responses: tuple[tuple[StationResponse, ...], ...]
    """Per candidate site, the response under each alternative."""
    max_open: int | None
    first: tuple[int, ...]
    """Index in :attr:`options` of each site's first alternative."""
    options: SiteOptions
    base: NetworkProblem
    """The problem with every site at its first alternative (its instance carries the demand,
    the preferences and the budgets)."""

    def problem_at(self, choice: Sequence[int] | npt.NDArray[np.int64]) -> NetworkProblem:
        """The problem with each site at its chosen alternative (``choice[i]`` an index into
        :attr:`options`)."""
        local = [int(c) - self.first[i] for i, c in enumerate(choice)]
        return _assemble(
            self.scenario,
            self.model,
            self.sites,
            tuple(self.responses[i][k] for i, k in enumerate(local)),
            tuple(self.alternatives[i][k] for i, k in enumerate(local)),
            self.max_open,
        )


def build_option_problem(
    scenario: Scenario,
    *,
    seed: int = 0,
    max_open: int | None = None,
    on_site: Callable[[SiteId], None] | None = None,
    candidates: Sequence[SiteId] | None = None,
) -> OptionProblem:
    """Every candidate station under each of its alternatives (``policies.planner_decides``),
    by simulation; each alternative under the same seed, so that an alternative's response
    does not depend on which others are allowed."""
    model = DemandModel.from_scenario(scenario)
    sites = _candidate_sites(scenario, candidates)
    alternatives = tuple(scenario.station_alternatives(s.site_id) for s in sites)
    responses = []
    for site, alts in zip(sites, alternatives, strict=True):
        responses.append(
            tuple(
                station_response(
                    scenario, model, site, staff_limit=_staff_limit(site), seed=seed, settings=a
                )
                for a in alts
            )
        )
        if on_site is not None:
            on_site(site.site_id)
    flat = [r for rs in responses for r in rs]
    intercept, slope, break_load, staff_level = _response_arrays(flat)
    owner = [i for i, alts in enumerate(alternatives) for _ in alts]
    dates = tuple(d.date for d in scenario.election.days)
    options = SiteOptions.build(
        n_sites=len(sites),
        site=owner,
        served_intercept=intercept,
        served_slope=slope,
        staff_break_load=break_load,
        staff_level=staff_level,
        open_cost=[
            station_cost(scenario, sites[i], a) for i, alts in enumerate(alternatives) for a in alts
        ],
        labels=tuple(a.describe(dates) for alts in alternatives for a in alts),
    )
    first = tuple(int(x) for x in np.cumsum([0, *(len(a) for a in alternatives)])[:-1])
    base = _assemble(
        scenario,
        model,
        sites,
        tuple(rs[0] for rs in responses),
        tuple(a[0] for a in alternatives),
        max_open,
    )
    return OptionProblem(
        scenario,
        model,
        sites,
        alternatives,
        tuple(responses),
        max_open,
        first,
        options,
        base,
    )
