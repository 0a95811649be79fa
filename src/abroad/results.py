"""Typed, immutable results of the jobs: what summary.json, the CLI, the report, the XLSX and
GeoJSON writers (and later the API) are made from.

One pydantic model per result; ``model_dump(mode="json")`` is the JSON shape (numbers that are
undefined, NaN or infinite, are written as ``null``). The JSON Schema of summary.json is
generated from :data:`Summary` (``tools/write_schemas.py`` writes
docs/reference/summary.schema.json). Vocabulary (docs/reference/outputs.md):

- ``expected_votes_cast``: the planner's value of a network: expected votes cast as the station
  simulator predicts them at each station's load and resources, under the scenario's own
  behaviour (patience, balking, outside cap, close policy, ballots); each place at its nearest
  open station. The figure the planner maximises (with a hard wait target; with a soft one,
  ``planner_objective`` also subtracts the late-vote penalty).
- ``simulated_votes_cast``: voters served in the re-simulation of the network (mean over
  replications), whatever their wait: the same quantity, measured; it agrees with
  ``expected_votes_cast`` within ``simulated_votes_cast_ci``.
- ``expected_voters``: expected voters after travel decay coming to a station (before queues).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from abroad.demand import Demand, DemandModel
from abroad.model import Scenario
from abroad.network.catchments import CatchmentSummary
from abroad.network.simulation import StationSimulation
from abroad.queueing.outcome import LOSS_CAUSES, Estimate, PeriodOutcome

SCHEMA_VERSION = "1.0"
"""Version of the summary.json shape; the major number changes when a field changes meaning."""


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


Number = Annotated[
    float,
    PlainSerializer(_finite_or_none, return_type=float | None),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]}),
]
"""A float written as null when it is undefined (NaN) or infinite."""


def _omitted_when_none() -> Any:
    """A field that is left out of the JSON when it has no value."""
    return Field(default=None, exclude_if=lambda v: v is None)


class Result(BaseModel):
    """Base of every result: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON shape, as written to summary.json and printed by ``--json``."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------------------------
# Catchments


class CatchmentStation(Result):
    """One open station and the citizens for whom it is the nearest."""

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


class CatchmentTotals(Result):
    citizens: float
    places: int
    distance_km_p50: Number
    distance_km_p90: Number
    citizens_beyond_far_km: float


class CatchmentsResult(Result):
    """Who is nearest to which open station, and how far they live from it."""

    title: str
    scenario: str
    variant: str | None
    far_km: float
    open_sites: tuple[str, ...]
    stations: tuple[CatchmentStation, ...]
    totals: CatchmentTotals

    @classmethod
    def of(cls, scenario: Scenario, cs: CatchmentSummary) -> CatchmentsResult:
        return cls(
            title=f"{scenario.name}: stations, catchments and queues",
            scenario=scenario.name,
            variant=scenario.variant,
            far_km=cs.far_km,
            open_sites=tuple(cs.open_site_ids),
            stations=tuple(
                CatchmentStation(
                    site_id=s.site_id,
                    name=s.name,
                    kind=s.kind,
                    lat=s.lat,
                    lon=s.lon,
                    places=s.places,
                    citizens=round(s.citizens, 1),
                    distance_km_p50=round(s.distance_km_p50, 1),
                    distance_km_p90=round(s.distance_km_p90, 1),
                    citizens_beyond_far_km=round(s.citizens_beyond_far_km, 1),
                )
                for s in cs.stations
            ),
            totals=CatchmentTotals(
                citizens=round(cs.total_citizens, 1),
                places=len(scenario.places),
                distance_km_p50=round(cs.distance_km_p50, 1),
                distance_km_p90=round(cs.distance_km_p90, 1),
                citizens_beyond_far_km=round(cs.citizens_beyond_far_km, 1),
            ),
        )


# ---------------------------------------------------------------------------------------------
# Demand


class StationDemand(Result):
    """Expected voters at one open station, by day and by local clock hour."""

    site_id: str
    timezone: str
    voters: float
    voters_per_day: tuple[float, ...]
    arrivals_per_local_hour: tuple[tuple[float, ...], ...]
    peak_local_hour: tuple[int, ...]
    utc_offset_minutes: tuple[int, ...]


class DemandResult(Result):
    """Expected voters per station and day (the demand model's figures, before queues)."""

    days: tuple[str, ...]
    day_shares: tuple[float, ...]
    total_voters: float
    stations: tuple[StationDemand, ...]

    @classmethod
    def of(cls, model: DemandModel, demand: Demand) -> DemandResult:
        sc = model.scenario
        n_days = len(sc.election.days)
        stations = []
        for i in map(int, demand.open_mask.nonzero()[0]):
            profiles = [model.arrival_profile(demand, i, k) for k in range(n_days)]
            stations.append(
                StationDemand(
                    site_id=sc.sites[i].site_id,
                    timezone=sc.sites[i].timezone,
                    voters=round(float(demand.voters_per_site[i]), 1),
                    voters_per_day=tuple(round(float(v), 1) for v in demand.voters_per_site_day[i]),
                    arrivals_per_local_hour=tuple(
                        tuple(round(float(v), 1) for v in p.voters_per_bin) for p in profiles
                    ),
                    peak_local_hour=tuple(int(p.peak_local_minutes // 60) for p in profiles),
                    utc_offset_minutes=tuple(int(p.utc_offset_minutes) for p in profiles),
                )
            )
        return cls(
            days=tuple(d.date.isoformat() for d in sc.election.days),
            day_shares=tuple(round(float(s), 4) for s in model.day_shares),
            total_voters=round(demand.total_voters, 1),
            stations=tuple(stations),
        )


# ---------------------------------------------------------------------------------------------
# Simulated stations


class EstimateResult(Result):
    """Mean over replications with a 95 % confidence interval (null where undefined)."""

    mean: Number
    ci_low: Number
    ci_high: Number

    @classmethod
    def of(cls, e: Estimate) -> EstimateResult:
        return cls(mean=e.mean, ci_low=e.ci_low, ci_high=e.ci_high)


class WaitResult(Result):
    """Wait in minutes of served voters."""

    mean: EstimateResult
    p50: EstimateResult
    p90: EstimateResult
    p95: EstimateResult
    p99: EstimateResult
    max: EstimateResult


class LinePointResult(Result):
    minute: float
    mean: Number
    p95: Number


class PeriodResult(Result):
    """Simulated outcome of one voting day (``day`` set) or of all days (``day`` absent)."""

    day: int | None = _omitted_when_none()
    arrivals: EstimateResult
    served: EstimateResult
    turned_away_at_close: EstimateResult
    turned_away_no_ballots: EstimateResult
    reneged: EstimateResult
    balked: EstimateResult
    turned_away_cap: EstimateResult
    service_level: EstimateResult
    max_line: EstimateResult
    last_leave_minute: EstimateResult
    wait_minutes: WaitResult
    utilisation: dict[str, EstimateResult]
    line_over_time: tuple[LinePointResult, ...] | None = _omitted_when_none()

    @classmethod
    def of(cls, p: PeriodOutcome, *, with_line: bool) -> PeriodResult:
        e = EstimateResult.of
        w = p.wait_minutes
        return cls(
            day=p.day,
            arrivals=e(p.arrivals),
            served=e(p.served),
            turned_away_at_close=e(p.turned_away_at_close),
            turned_away_no_ballots=e(p.turned_away_no_ballots),
            reneged=e(p.reneged),
            balked=e(p.balked),
            turned_away_cap=e(p.turned_away_cap),
            service_level=e(p.service_level),
            max_line=e(p.max_line),
            last_leave_minute=e(p.last_leave_minute),
            wait_minutes=WaitResult(
                mean=e(w.mean), p50=e(w.p50), p90=e(w.p90), p95=e(w.p95), p99=e(w.p99), max=e(w.max)
            ),
            utilisation={k: e(v) for k, v in p.utilisation.items()},
            line_over_time=(
                tuple(
                    LinePointResult(minute=x.minute, mean=x.mean, p95=x.p95)
                    for x in p.line_over_time
                )
                if with_line and p.line_over_time
                else None
            ),
        )

    @property
    def lost(self) -> float:
        """Mean arrivals who did not vote, all causes together."""
        return float(sum(_mean(getattr(self, k)) for k in LOSS_CAUSES))


def _mean(e: EstimateResult) -> float:
    return e.mean if e.mean is not None and math.isfinite(e.mean) else 0.0


def bottleneck(period: PeriodOutcome) -> tuple[str, float]:
    """The most utilised stage of a simulated period and its mean utilisation."""
    best, best_util = "", float("nan")
    for name, est in period.utilisation.items():
        if math.isfinite(est.mean) and not (math.isfinite(best_util) and est.mean <= best_util):
            best, best_util = name, est.mean
    return best, best_util


class HourlyWaitResult(Result):
    """Wait of the voters who arrived in one local clock hour (served voters only)."""

    day: int
    hour: int
    arrivals: float
    wait_minutes_mean: Number
    wait_minutes_p90: Number
    not_served: float


class StationSimulationResult(Result):
    """One simulated station: its resources and outcomes (means with 95 % intervals)."""

    site_id: str
    desks: int
    booths: int
    security_lanes: int = 0
    """Door-screening lanes (0: no screening at this station)."""
    stages: tuple[str, ...]
    bottleneck_stage: str = ""
    """The stage with the highest utilisation over the voting days (security, checkin, booth)."""
    bottleneck_utilisation: Number = float("nan")
    """Busy share of that stage's server-minutes while the station is open (mean)."""
    total: PeriodResult
    days: tuple[PeriodResult, ...]
    wait_by_local_hour: tuple[HourlyWaitResult, ...]

    @classmethod
    def of(cls, sim: StationSimulation) -> StationSimulationResult:
        stage, util = bottleneck(sim.outcome.total)
        lanes = {st.name: st.max_servers for st in sim.spec.stages}.get("security", 0)
        return cls(
            site_id=sim.site_id,
            desks=sim.resources.desks,
            booths=sim.resources.booths,
            security_lanes=lanes,
            stages=tuple(st.name for st in sim.spec.stages),
            bottleneck_stage=stage,
            bottleneck_utilisation=round(util, 3) if math.isfinite(util) else util,
            total=PeriodResult.of(sim.outcome.total, with_line=False),
            days=tuple(PeriodResult.of(d, with_line=True) for d in sim.outcome.days),
            wait_by_local_hour=tuple(
                HourlyWaitResult(
                    day=h.day,
                    hour=h.hour,
                    arrivals=round(h.arrivals, 1),
                    wait_minutes_mean=h.wait_minutes_mean,
                    wait_minutes_p90=h.wait_minutes_p90,
                    not_served=round(h.not_served, 1),
                )
                for h in sim.wait_by_hour
            ),
        )

    @property
    def simulated_votes_cast(self) -> float:
        return _mean(self.total.served)

    @property
    def simulated_arrivals(self) -> float:
        return _mean(self.total.arrivals)

    @property
    def wait_minutes_p95(self) -> float | None:
        return self.total.wait_minutes.p95.mean


class SimulationResult(Result):
    """Every simulated station of a network."""

    replications: int
    stations: tuple[StationSimulationResult, ...]

    @classmethod
    def of(cls, sims: Sequence[StationSimulation]) -> SimulationResult:
        return cls(
            replications=sims[0].outcome.replications if sims else 0,
            stations=tuple(StationSimulationResult.of(s) for s in sims),
        )

    def by_site(self) -> dict[str, StationSimulationResult]:
        return {s.site_id: s for s in self.stations}

    @property
    def simulated_votes_cast(self) -> float:
        return sum(s.simulated_votes_cast for s in self.stations)

    @property
    def simulated_votes_cast_interval(self) -> tuple[float, float]:
        """95 % interval of the network's simulated votes cast (stations run on independent
        streams, so the half-widths add in quadrature)."""
        half = math.sqrt(
            sum(
                (_mean(s.total.served) - s.total.served.ci_low) ** 2
                for s in self.stations
                if s.total.served.ci_low is not None and math.isfinite(s.total.served.ci_low)
            )
        )
        total = self.simulated_votes_cast
        return (round(total - half, 1), round(total + half, 1))

    @property
    def simulated_arrivals(self) -> float:
        return sum(s.simulated_arrivals for s in self.stations)

    @property
    def simulated_lost(self) -> float:
        return sum(s.total.lost for s in self.stations)

    def lost_by_cause(self) -> dict[str, float]:
        return {k: sum(_mean(getattr(s.total, k)) for s in self.stations) for k in LOSS_CAUSES}


# ---------------------------------------------------------------------------------------------
# The demo job


class DemoSummary(CatchmentsResult):
    """summary.json of ``abroad demo``: the status-quo network's catchments, demand, queues."""

    kind: Literal["demo"] = "demo"
    schema_version: str = SCHEMA_VERSION
    seed: int
    wait_target_minutes: float
    demand: DemandResult
    simulation: SimulationResult


# ---------------------------------------------------------------------------------------------
# Plans


class PlannedStation(Result):
    """One open station of a plan, as the planner values it (and, after the re-simulation of a
    planned network, its simulated figures)."""

    site_id: str
    name: str
    expected_voters: float
    """Expected voters after travel decay coming to this station (before queues)."""
    expected_votes_cast: float
    """The planner's value: votes cast as the simulator predicts them at this load."""
    lost_to_queues: float
    """``expected_voters - expected_votes_cast``: voters who come but do not vote."""
    capacity_voters: float
    """Largest load at which the site's most resources meet the wait target."""
    desks: int
    booths: int
    staff: float
    security_lanes: int = 0
    """Door-screening lanes (0: none at this station)."""
    ballots_to_send: int | None = _omitted_when_none()
    """Ballots for this station, so that it runs out with ``ballot_run_out_probability``."""
    ballot_run_out_probability: float | None = _omitted_when_none()
    predicted_wait_minutes_p95: Number = float("nan")
    """The planner's prediction of the 95th percentile wait at this load and these resources."""
    meets_wait_target: bool = True
    wait_minutes_p95: Number | None = _omitted_when_none()
    """Simulated 95th percentile wait (mean over replications), planned networks only."""
    simulated_votes_cast: float | None = _omitted_when_none()
    simulated_lost: float | None = _omitted_when_none()


class WaitTargetViolation(Result):
    """A station whose most resources cannot meet the wait target at its load."""

    site_id: str
    predicted_wait_minutes_p95: Number
    target_minutes: float
    load_voters: float
    capacity_voters: float


class PlanValueResult(Result):
    """A network as the planner values it: the output of ``abroad evaluate``."""

    scenario: str
    variant: str | None
    open_sites: tuple[str, ...]
    expected_votes_cast: float
    expected_voters_after_travel: float
    lost_to_queues: float
    staff: float
    cost: float
    feasible: bool
    """Budgets hold and, with a hard wait target, every station meets it."""
    within_budgets: bool = True
    """Staff, cost and open-station limits hold (whatever the waits)."""
    violations: tuple[str, ...]
    """Staff, cost and (hard target) wait violations, naming sites and pools by id."""
    stations: tuple[PlannedStation, ...]
    wait_target_minutes: float = 30.0
    wait_target_hard: bool = True
    wait_target_violations: tuple[WaitTargetViolation, ...] = ()
    expected_votes_cast_ci_half_width: float = 0.0
    """95 % half-width of ``expected_votes_cast`` from the Monte Carlo error of the stations'
    simulated votes curves (added in quadrature)."""
    planner_objective: float | None = _omitted_when_none()
    """With a soft wait target: votes cast minus ``late_penalty`` per late vote."""


class PhaseResult(Result):
    """One phase of a planning run."""

    name: str
    objective: Number
    """Best true objective after the phase (null if no feasible plan yet)."""
    bound: Number
    """Best proven upper bound after the phase (null if none yet)."""
    seconds: float
    detail: str


class PlanSummary(PlanValueResult):
    """summary.json of ``abroad plan``: the plan, its bound, its re-simulation, the status quo."""

    kind: Literal["plan"] = "plan"
    schema_version: str = SCHEMA_VERSION
    bound: Number
    gap: Number
    proven_optimal: bool
    method: str
    """The phases that ran, joined by ' + '."""
    solve_seconds: float
    seed: int
    phases: tuple[PhaseResult, ...]
    status_quo: PlanValueResult
    status_quo_label: str = "status quo"
    """What ``status_quo`` is: with a variant, the base scenario's network as it is."""
    tie_break: str = ""
    """Which rule chose among plans with equal votes cast (more voters reached, then cheaper)."""
    demand: DemandResult | None
    simulation: SimulationResult
    simulated_votes_cast: float
    """Voters served in the re-simulation of the plan, all stations."""
    simulated_votes_cast_interval: tuple[Number, Number] | None = _omitted_when_none()
    """95 % interval of ``simulated_votes_cast`` (over replications)."""
    voters_lost_by_cause: dict[str, float]
    total_seconds: float
    catchments: CatchmentsResult | None = _omitted_when_none()


Summary = Annotated[DemoSummary | PlanSummary, Field(discriminator="kind")]
"""What a summary.json holds (``kind`` says which job wrote it)."""


# ---------------------------------------------------------------------------------------------
# Comparisons


class VariantComparison(Result):
    """One row of ``abroad compare``: a scenario variant's status quo and plan."""

    variant: str
    status_quo_expected_votes_cast: float
    status_quo_feasible: bool
    status_quo_violations: tuple[str, ...]
    planned_open_sites: tuple[str, ...]
    planned_expected_votes_cast: float
    bound: Number
    gap: Number
    planned_lost_to_queues: float
    planned_simulated_votes_cast: float
    planned_simulated_lost: float
    worst_wait_minutes_p95: Number | None
    staff: float
    cost: float
    planned_missing_wait_target: tuple[str, ...] = ()
    """Planned stations whose most resources cannot meet the wait target at their load."""
    tie_break: str = ""


class ComparisonResult(Result):
    """The output of ``abroad compare``."""

    scenario: str
    rows: tuple[VariantComparison, ...]


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas (draft 2020-12) of the published outputs, by file name under
    docs/reference/schemas/: summary.json, ``evaluate --json``, ``compare --json``."""
    from pydantic import TypeAdapter

    def schema(tp: Any, title: str, description: str) -> dict[str, Any]:
        out = TypeAdapter(tp).json_schema(mode="serialization")
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": title,
            "description": description,
            **{k: v for k, v in out.items() if k not in ("title", "description")},
        }

    return {
        "summary.schema.json": schema(
            Summary,
            f"abroad summary.json (schema_version {SCHEMA_VERSION})",
            "Written by `abroad demo` (kind: demo) and `abroad plan` (kind: plan).",
        ),
        "evaluate.schema.json": schema(
            PlanValueResult, "abroad evaluate --json", "The planner's value of a fixed network."
        ),
        "compare.schema.json": schema(
            ComparisonResult, "abroad compare --json", "One row per scenario variant."
        ),
    }
