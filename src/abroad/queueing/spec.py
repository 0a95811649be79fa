"""Typed inputs of the station simulator: one station, its voting days, stages and policies.

All clock times are minutes after local midnight of the voting day (``open_minutes=480`` is
08:00). Every day is simulated on its own clock: the station opens empty (or with that day's
early line) each morning; only the ballot stock carries over from one day to the next.
"""

from __future__ import annotations

import itertools
import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from abroad.model import ClosePolicy, ClosePolicyKind, Distribution, Policies, ServiceModel
from abroad.model import limits as L


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SurgeSpec(_Frozen):
    """Extra arrivals concentrated around a clock time: normal with sd ``width_minutes``.

    ``extra_voters`` is the expected number of extra arrivals (Poisson); surge arrivals that
    would fall before opening or after closing do not come.
    """

    at_minute: float = Field(ge=0, le=L.MAX_DAY_MINUTES)
    extra_voters: float = Field(ge=0, le=L.MAX_EXPECTED_ARRIVALS)
    width_minutes: float = Field(default=30.0, gt=0, le=L.MAX_DURATION_MINUTES)


class DaySpec(_Frozen):
    """One voting day: opening hours, arrival rate profile, surges, early line."""

    open_minutes: float = Field(ge=0, le=L.MAX_DAY_MINUTES)
    close_minutes: float = Field(gt=0, le=L.MAX_DAY_MINUTES)
    arrivals_per_hour: tuple[float, ...] = Field(min_length=1, max_length=L.MAX_RATE_BINS)
    """Arrival rate (voters per hour) in consecutive bins of ``bin_minutes`` from opening.
    Bins beyond closing are ignored; time not covered by a bin has rate 0."""
    bin_minutes: float = Field(default=60.0, gt=0, le=L.MAX_DAY_MINUTES)
    surges: tuple[SurgeSpec, ...] = Field(default=(), max_length=L.MAX_SURGES)
    early_voters: int = Field(default=0, ge=0, le=L.MAX_EARLY_VOTERS)
    """People already waiting at opening (they arrive at ``open_minutes``, in order)."""

    @model_validator(mode="after")
    def _check(self) -> DaySpec:
        if self.close_minutes <= self.open_minutes:
            raise ValueError("close_minutes must be after open_minutes")
        if any(not 0 <= r <= L.MAX_ARRIVALS_PER_HOUR for r in self.arrivals_per_hour):
            raise ValueError(
                f"arrivals_per_hour must be between 0 and {L.MAX_ARRIVALS_PER_HOUR:,.0f} "
                "(the limit)"
            )
        return self

    @property
    def expected_arrivals(self) -> float:
        """Expected number of arrivals of the day (profile, surges inside the hours, early)."""
        total = float(self.early_voters)
        for j, rate in enumerate(self.arrivals_per_hour):
            start = self.open_minutes + j * self.bin_minutes
            width = min(self.bin_minutes, self.close_minutes - start)
            if width > 0:
                total += rate * width / 60.0
        for s in self.surges:
            lo = (self.open_minutes - s.at_minute) / s.width_minutes
            hi = (self.close_minutes - s.at_minute) / s.width_minutes
            total += s.extra_voters * (_phi(hi) - _phi(lo))
        return total

    def rate_per_hour_at(self, minute: float) -> float:
        """Profile rate (without surges) at a clock minute."""
        j = math.floor((minute - self.open_minutes) / self.bin_minutes)
        if minute < self.open_minutes or minute >= self.close_minutes:
            return 0.0
        if 0 <= j < len(self.arrivals_per_hour):
            return self.arrivals_per_hour[j]
        return 0.0


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


class StageSpec(_Frozen):
    """One FIFO stage with identical parallel servers (desks, booths, screening lanes).

    ``servers`` is the count all day, unless ``schedule`` gives ``(from_minute, servers)``
    steps: the count from that clock minute on (the first step also applies before its
    minute, the last one after closing). A server taken away finishes the voter it serves.
    """

    name: str = Field(min_length=1)
    servers: int = Field(default=1, ge=0, le=L.MAX_SERVERS)
    service: Distribution
    schedule: tuple[tuple[float, int], ...] | None = Field(
        default=None, max_length=L.MAX_SCHEDULE_STEPS
    )

    @model_validator(mode="after")
    def _check(self) -> StageSpec:
        if self.schedule is not None:
            if not self.schedule:
                raise ValueError("schedule needs at least one (from_minute, servers) step")
            minutes = [m for m, _ in self.schedule]
            if any(b <= a for a, b in itertools.pairwise(minutes)):
                raise ValueError("schedule minutes must be strictly increasing")
            if any(not 0 <= c <= L.MAX_SERVERS for _, c in self.schedule):
                raise ValueError(
                    f"schedule server counts must be between 0 and {L.MAX_SERVERS} (the limit)"
                )
            if any(not -L.MAX_DAY_MINUTES <= m <= L.MAX_DAY_MINUTES for m in minutes):
                raise ValueError(
                    f"schedule minutes must be finite, at most {L.MAX_DAY_MINUTES:,.0f} (the limit)"
                )
            if self.schedule[-1][1] < 1:
                raise ValueError(
                    "the last schedule step needs at least one server (it applies after "
                    "closing, so that everyone inside can finish)"
                )
        elif self.servers < 1:
            raise ValueError("a stage needs at least one server")
        return self

    @property
    def steps(self) -> tuple[tuple[float, int], ...]:
        """The server count as steps ``(from_minute, servers)``; one step when constant."""
        if self.schedule is None:
            return ((0.0, self.servers),)
        return self.schedule

    @property
    def max_servers(self) -> int:
        return max(c for _, c in self.steps)

    def servers_at(self, minute: float) -> int:
        current = self.steps[0][1]
        for m, c in self.steps:
            if m <= minute:
                current = c
        return current


class StationSpec(_Frozen):
    """Everything the simulator needs about one station.

    - ``line_stages``: the first stages whose queues form the line (e.g. security screening
      and the ID-check desks): policies act on them. Once a voter has passed them (has a
      ballot), they are always served.
    - ``patience``: how long a voter is willing to wait in the line in total (over the line
      stages) before leaving (reneging); ``None`` = forever.
    - ``balk_queue_length``: an arrival who finds this many or more people waiting in the line
      does not join (balks).
    - ``max_queue_outside``: a security cap on the queue of the first stage (outside);
      arrivals who find it full are turned away. Balking also looks at that queue.
    - ``close_policy``: ``serve_all`` (everyone in line at closing is served), ``hard_close``
      (people still waiting in the line at closing are turned away), or an extension of
      ``extend_minutes`` then a hard close: whoever is still waiting for a line stage at the
      cutoff is turned away. Arrivals stop at closing in every case.
    - ``ballots``: ballot stock for all days together; a ballot is taken when a voter leaves
      the line (starts the first stage). When it runs out, those still in line and all later
      arrivals are turned away.
    """

    name: str = "station"
    days: tuple[DaySpec, ...] = Field(min_length=1, max_length=L.MAX_VOTING_DAYS)
    stages: tuple[StageSpec, ...] = Field(min_length=1, max_length=L.MAX_STAGES)
    patience: Distribution | None = None
    balk_queue_length: int | None = Field(default=None, ge=0, le=L.MAX_QUEUE_LENGTH)
    max_queue_outside: int | None = Field(default=None, ge=0, le=L.MAX_QUEUE_LENGTH)
    close_policy: ClosePolicy = ClosePolicy(kind=ClosePolicyKind.SERVE_ALL)
    ballots: int | None = Field(default=None, ge=0, le=L.MAX_BALLOTS)
    queue_step_minutes: float = Field(default=15.0, gt=0, le=L.MAX_DAY_MINUTES)
    """Spacing of the queue-length-over-time samples (of the first stage's queue)."""
    line_stages: int = Field(default=1, ge=1, le=L.MAX_STAGES)

    @model_validator(mode="after")
    def _check_line(self) -> StationSpec:
        if self.line_stages > len(self.stages):
            raise ValueError(
                f"line_stages ({self.line_stages}) exceeds the number of stages "
                f"({len(self.stages)})"
            )
        return self

    def size_problems(self) -> list[str]:
        """What makes this station too large to simulate (limits of abroad.model.limits);
        the station-spec reader reports them, with the file's other problems."""
        out = []
        extension = self.close_policy.extend_minutes
        for i, d in enumerate(self.days):
            samples = (d.close_minutes + extension - d.open_minutes) / self.queue_step_minutes
            if samples > L.MAX_QUEUE_SAMPLES:
                out.append(
                    f"day {i + 1}: {samples:,.0f} line-length samples "
                    f"((close - open + extension) / queue_step_minutes); the limit is "
                    f"{L.MAX_QUEUE_SAMPLES:,}: raise queue_step_minutes"
                )
        expected = self.expected_arrivals
        if not expected <= L.MAX_EXPECTED_ARRIVALS:
            out.append(
                f"{expected:,.0f} expected arrivals over all days; the limit is "
                f"{L.MAX_EXPECTED_ARRIVALS:,.0f} per station"
            )
        return out

    @property
    def expected_arrivals(self) -> float:
        return sum(d.expected_arrivals for d in self.days)

    def with_servers(self, servers: dict[str, int | tuple[tuple[float, int], ...]]) -> StationSpec:
        """A copy with other server counts (an int) or schedules, by stage name."""
        stages = []
        for st in self.stages:
            if st.name in servers:
                value = servers[st.name]
                if isinstance(value, int):
                    st = StageSpec(name=st.name, servers=value, service=st.service)
                else:
                    st = StageSpec(name=st.name, schedule=value, service=st.service)
            stages.append(st)
        return self.model_copy(update={"stages": tuple(stages)})


def station_from_model(
    service: ServiceModel,
    policies: Policies,
    days: tuple[DaySpec, ...],
    desks: int | tuple[tuple[float, int], ...],
    booths: int | tuple[tuple[float, int], ...],
    *,
    name: str = "station",
    max_queue_outside: int | None = None,
) -> StationSpec:
    """A station spec from a scenario's service model and policies: security screening (if
    the service model has it), then ``checkin`` desks, then ``booth`` s (the line is everything
    before the booths); the close policy and the ballot cap from ``policies``. Desks and
    booths are counts or schedules."""

    def stage(
        stage_name: str, servers: int | tuple[tuple[float, int], ...], dist: Distribution
    ) -> StageSpec:
        if isinstance(servers, int):
            return StageSpec(name=stage_name, servers=servers, service=dist)
        return StageSpec(name=stage_name, schedule=servers, service=dist)

    stages = []
    if service.security is not None:
        stages.append(stage("security", service.security.servers, service.security.service))
    stages.append(stage("checkin", desks, service.checkin))
    line_stages = len(stages)  # security and the desks: voters wait for a ballot
    stages.append(stage("booth", booths, service.booth))
    return StationSpec(
        name=name,
        days=days,
        stages=tuple(stages),
        patience=service.patience,
        balk_queue_length=service.balk_queue_length,
        max_queue_outside=max_queue_outside,
        close_policy=policies.close_policy,
        ballots=policies.ballot_cap_per_station,
        line_stages=line_stages,
    )
