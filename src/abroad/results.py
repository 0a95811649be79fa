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

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from abroad.demand import Demand, DemandModel
from abroad.model import Scenario, Site, SiteId, StationSettings
from abroad.model.types import Number
from abroad.network.catchments import CatchmentSummary, StationCatchment
from abroad.network.simulation import StationSimulation
from abroad.queueing.outcome import LOSS_CAUSES, Estimate, PeriodOutcome, StationOutcome

SCHEMA_VERSION = "1.0"
"""Version of the summary.json shape; the major number changes when a field changes meaning."""


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
    stations: tuple[StationCatchment, ...]
    totals: CatchmentTotals

    @classmethod
    def of(cls, scenario: Scenario, cs: CatchmentSummary) -> CatchmentsResult:
        return cls(
            title=f"{scenario.name}: stations, catchments and queues",
            scenario=scenario.name,
            variant=scenario.variant,
            far_km=cs.far_km,
            open_sites=tuple(cs.open_site_ids),
            stations=cs.stations,
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


def _open_stations(
    model: DemandModel, demand: Demand
) -> Iterator[tuple[int, Site, float, tuple[float, ...]]]:
    """Each open station: index, site, expected voters and voters per day (to 0.1)."""
    for i in map(int, demand.open_mask.nonzero()[0]):
        per_day = tuple(round(float(v), 1) for v in demand.voters_per_site_day[i])
        yield i, model.scenario.sites[i], round(float(demand.voters_per_site[i]), 1), per_day


def _days_and_shares(model: DemandModel) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The voting days (ISO dates) and each day's share of the voters (4 decimals)."""
    days = tuple(d.date.isoformat() for d in model.scenario.election.days)
    return days, tuple(round(float(x), 4) for x in model.day_shares)


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
        n_days = len(model.scenario.election.days)
        stations = []
        for i, site, voters, per_day in _open_stations(model, demand):
            profiles = [model.arrival_profile(demand, i, k) for k in range(n_days)]
            stations.append(
                StationDemand(
                    site_id=site.site_id,
                    timezone=site.timezone,
                    voters=voters,
                    voters_per_day=per_day,
                    arrivals_per_local_hour=tuple(
                        tuple(round(float(v), 1) for v in p.voters_per_bin) for p in profiles
                    ),
                    peak_local_hour=tuple(int(p.peak_local_minutes // 60) for p in profiles),
                    utc_offset_minutes=tuple(int(p.utc_offset_minutes) for p in profiles),
                )
            )
        days, shares = _days_and_shares(model)
        return cls(
            days=days,
            day_shares=shares,
            total_voters=round(demand.total_voters, 1),
            stations=tuple(stations),
        )


class DemandStation(Result):
    """One open station in ``abroad demand``: expected voters, by day and (``--hourly``) by
    local clock hour (2 decimals)."""

    site_id: str
    name: str
    timezone: str
    voters: float
    voters_per_day: tuple[float, ...]
    arrivals_per_local_hour: tuple[tuple[float, ...], ...] | None = _omitted_when_none()


class DemandCommandResult(Result):
    """The output of ``abroad demand --json``."""

    scenario: str
    variant: str | None
    days: tuple[str, ...]
    day_shares: tuple[float, ...]
    stations: tuple[DemandStation, ...]
    total_voters: float
    eligible_citizens: float

    @classmethod
    def of(cls, model: DemandModel, demand: Demand, *, hourly: bool) -> DemandCommandResult:
        sc = model.scenario
        n_days = len(sc.election.days) if hourly else 0
        stations = []
        for i, site, voters, per_day in _open_stations(model, demand):
            profiles = [model.arrival_profile(demand, i, k) for k in range(n_days)]
            stations.append(
                DemandStation(
                    site_id=site.site_id,
                    name=site.name,
                    timezone=site.timezone,
                    voters=voters,
                    voters_per_day=per_day,
                    arrivals_per_local_hour=(
                        tuple(tuple(round(float(v), 2) for v in p.voters_per_bin) for p in profiles)
                        if hourly
                        else None
                    ),
                )
            )
        days, shares = _days_and_shares(model)
        return cls(
            scenario=sc.name,
            variant=sc.variant,
            days=days,
            day_shares=shares,
            stations=tuple(stations),
            total_voters=round(demand.total_voters, 1),
            eligible_citizens=round(sc.total_eligible_citizens, 1),
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
        """From the simulator's outcome: every estimate, the waits and utilisation per stage,
        and (``with_line``) the line over time."""
        estimates = {
            f.name: EstimateResult.of(getattr(p, f.name))
            for f in dataclasses.fields(p)
            if isinstance(getattr(p, f.name), Estimate)
        }
        waits = {
            f.name: EstimateResult.of(getattr(p.wait_minutes, f.name))
            for f in dataclasses.fields(p.wait_minutes)
        }
        line = tuple(
            LinePointResult(minute=x.minute, mean=x.mean, p95=x.p95) for x in p.line_over_time
        )
        return cls(
            day=p.day,
            **estimates,
            wait_minutes=WaitResult(**waits),
            utilisation={k: EstimateResult.of(v) for k, v in p.utilisation.items()},
            line_over_time=line if with_line and line else None,
        )

    @property
    def lost(self) -> float:
        """Mean arrivals who did not vote, all causes together."""
        return float(sum(_mean(getattr(self, k)) for k in LOSS_CAUSES))


class StationOutcomeResult(PeriodResult):
    """The output of ``abroad simulate --json``: the whole run's figures at the top level (as in
    ``PeriodResult``), the station and run parameters, and ``days``."""

    station: str
    replications: int
    seed: int
    target_wait_minutes: float
    days: tuple[PeriodResult, ...]

    @classmethod
    def of_outcome(cls, outcome: StationOutcome) -> StationOutcomeResult:
        total = PeriodResult.of(outcome.total, with_line=True)
        return cls(
            **dict(total),
            station=outcome.name,
            replications=outcome.replications,
            seed=outcome.seed,
            target_wait_minutes=outcome.target_wait_minutes,
            days=tuple(PeriodResult.of(d, with_line=True) for d in outcome.days),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The station and run parameters first, then the whole run's figures, then ``days``."""
        out = super().to_json_dict()
        head = {k: out.pop(k) for k in ("station", "replications", "seed", "target_wait_minutes")}
        return {**head, **out}


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


class StationSettingsResult(Result):
    """The hours, days and close policy the planner chose for a station (where
    ``policies.planner_decides`` leaves them open)."""

    opens: str | None
    """Opening time (``HH:MM``, local) on every day the station opens; ``None``: the
    election's hours."""
    closes: str | None
    open_days: tuple[str, ...]
    """ISO dates of the voting days the station opens."""
    close_policy: str
    """``hard_close``, ``serve_all`` or ``extend``."""
    extend_minutes: float = 0.0
    open_hours: float
    """Hours open over the election, an extension's minutes included (what
    ``cost_per_station_hour`` charges)."""
    text: str
    """The same in words, e.g. ``08:00-21:00, 2024-03-17, extend 60 min``."""

    @classmethod
    def of(
        cls, scenario: Scenario, site_id: str, settings: StationSettings
    ) -> StationSettingsResult:
        dates = tuple(d.date for d in scenario.election.days)
        hours = settings.hours_minutes
        return cls(
            opens=None if hours is None else _clock_text(hours[0]),
            closes=None if hours is None else _clock_text(hours[1]),
            open_days=tuple(
                d.isoformat() for d, on in zip(dates, settings.open_days, strict=True) if on
            ),
            close_policy=settings.close_policy.kind.value,
            extend_minutes=settings.close_policy.extend_minutes,
            open_hours=round(scenario.open_hours(SiteId(site_id), settings), 2),
            text=settings.describe(dates),
        )


def _clock_text(minutes: float) -> str:
    m = round(minutes)
    return f"{m // 60:02d}:{m % 60:02d}"


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
    settings: StationSettingsResult | None = _omitted_when_none()
    """Hours, days and close policy the planner chose; only in plans of scenarios whose
    ``policies.planner_decides`` leaves them open."""


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
    ballot_budget: int | None = _omitted_when_none()
    """The scenario's ``policies.ballot_budget`` (absent: none)."""
    ballot_budget_binds: bool | None = _omitted_when_none()
    """The stations' ballots at ``ballot_run_out_probability`` did not fit the budget: every
    station then runs out with the same higher probability (each station's is stated)."""
    ballots_reserve: int | None = _omitted_when_none()
    """Ballots of the budget sent to no station."""
    expected_votes_short_of_ballots: float | None = _omitted_when_none()
    """With a ballot budget: expected votes lost for want of a ballot over the network (not
    taken off ``expected_votes_cast``; the station's curves count ballots as unlimited unless
    the scenario caps them)."""


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
    docs/reference/schemas/: summary.json, ``evaluate``, ``compare`` and ``simulate --json``."""
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
        "demand.schema.json": schema(
            DemandCommandResult, "abroad demand --json", "Expected voters per station and day."
        ),
        "simulate.schema.json": schema(
            StationOutcomeResult,
            "abroad simulate --json",
            "One station's simulated outcome: the whole run at the top level, then days.",
        ),
    }
