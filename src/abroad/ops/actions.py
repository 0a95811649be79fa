"""Actions that would fix a station's day, each computed by simulation from the present state.

Every candidate runs on the same drawn replications as the nowcast (``nowcast.Conditioned``:
common random numbers), so differences between candidates are the action's effect, not noise.

- ``extension_action``: the fewest minutes of extension (in steps) after which nobody is
  still waiting at the cutoff (the interval's upper bound at most the goal).
- ``servers_action``: the fewest servers added from now (after a lead time), stage by stage,
  greedily where the next server helps most, until the goal holds.
- ``redirect_action``: how many people at the back of this line another station could take
  (they arrive there after the travel time) without leaving more people in its own line at
  closing, and what is left here then.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from abroad.model import ClosePolicy, ClosePolicyKind
from abroad.ops.nowcast import (
    Conditioned,
    RunSet,
    _collect,
    extended,
    predictive,
    run,
    variant,
)
from abroad.queueing.outcome import Estimate
from abroad.queueing.spec import StageSpec
from abroad.queueing.station import RandomInputs


class ActionKind(StrEnum):
    EXTEND = "extend"
    ADD_SERVERS = "add_servers"
    REDIRECT = "redirect"
    DELIVER_BALLOTS = "deliver_ballots"


class ActionGoal(BaseModel):
    """What the actions aim for and how far they may go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_left_in_line: float = Field(default=0.0, ge=0)
    """Acceptable people left in line at the cutoff, held at the interval's upper bound."""
    max_wait_minutes: float | None = Field(default=None, gt=0)
    """If set, servers are also added until the wait of someone joining now (mean) is at most
    this (the wait alert's action)."""
    extension_step_minutes: float = Field(default=5.0, gt=0)
    max_extension_minutes: float = Field(default=360.0, gt=0)
    max_added_servers: int = Field(default=12, ge=1)
    """Most servers added in total over all stages."""
    lead_minutes: float = Field(default=0.0, ge=0)
    """Time to bring an added server into service (set up a desk, call a colleague)."""
    level: float = Field(default=0.9, gt=0, lt=1)


@dataclass(frozen=True)
class Action:
    """One action and what the day would look like with it."""

    kind: ActionKind
    left_in_line_at_close_after: Estimate
    wait_minutes_now_after: Estimate
    achieves_goal: bool
    minutes: float | None = None
    stage: str | None = None
    servers: int | None = None
    servers_by_stage: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    station: str | None = None
    voters: int | None = None
    travel_minutes: float | None = None
    ballots: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind.value}
        if self.kind is ActionKind.EXTEND:
            out["minutes"] = self.minutes
        elif self.kind is ActionKind.ADD_SERVERS:
            out["stage"] = self.stage
            out["servers"] = self.servers
            out["servers_by_stage"] = dict(self.servers_by_stage)
            out["from_minute"] = self.minutes
        elif self.kind is ActionKind.REDIRECT:
            out["station"] = self.station
            out["voters"] = self.voters
            out["travel_minutes"] = self.travel_minutes
        else:
            out["ballots"] = self.ballots
        out["left_in_line_at_close_after"] = self.left_in_line_at_close_after.as_dict()
        out["wait_minutes_now_after"] = self.wait_minutes_now_after.as_dict()
        out["achieves_goal"] = self.achieves_goal
        return out


def _left(runs: RunSet, level: float) -> Estimate:
    """People still in line at the cutoff (after any extension): turned away under a hard
    close or extension, still waiting at closing under serve_all."""
    return predictive(runs.left_in_line_at_close, level)


def _after(cond: Conditioned, runs: RunSet, level: float) -> tuple[Estimate, Estimate]:
    del cond
    left = predictive(
        runs.turned_away_at_close
        if np.isfinite(runs.cutoff_minute)
        else runs.left_in_line_at_close,
        level,
    )
    return left, predictive(runs.joiner_wait_minutes, level)


def _bisect(ok: Callable[[int], bool], lo: int, hi: int) -> int:
    """Smallest k in [lo, hi] with ok(k), given ok(hi) and ok monotone."""
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _search_from(ok: Callable[[int], bool], guess: int, top: int) -> int | None:
    """Smallest k in [0, top] with ok(k) (ok monotone), probing from ``guess``: a gallop
    (1, 2, 4 ... steps) away from it brackets the answer, a bisection finishes. None if not
    even ``ok(top)``. With a good guess: two probes (the guess and the step below)."""
    guess = min(max(guess, 0), top)
    if ok(guess):
        lo, hi, step = 0, guess, 1
        while lo < hi:
            probe = max(hi - step, 0)
            if ok(probe):
                hi, step = probe, step * 2
            else:
                lo = probe + 1
                break
        return _bisect(ok, lo, hi)
    lo, step = guess + 1, 1
    while lo <= top:
        probe = min(guess + step, top)
        if ok(probe):
            return _bisect(ok, lo, probe)
        lo, step = probe + 1, step * 2
    return None


def _extension_guess(cond: Conditioned, goal: ActionGoal, base_cutoff: float, top: int) -> int:
    """The steps of extension read from one set of runs that serve everyone in line: per
    replication, the voters still in line at a cutoff are those who leave the line after it;
    the first step whose predictive upper bound is within the goal (``top + 1`` if none).
    Exact for a one-stage line; a guess when later line stages reorder voters."""
    runs = run(
        cond, variant(cond, close_policy=ClosePolicy(kind=ClosePolicyKind.SERVE_ALL)), detail=False
    )
    cutoffs = base_cutoff + np.arange(top + 1) * goal.extension_step_minutes
    # left[r, k]: voters of replication r leaving the line after cutoff k
    left = np.array(
        [t.shape[0] - np.searchsorted(t, cutoffs, side="right") for t in runs.line_leave_minutes],
        dtype=np.float64,
    )
    for k in range(top + 1):
        if predictive(left[:, k], goal.level).ci_high <= goal.max_left_in_line:
            return k
    return top + 1


class _ExtensionProbe:
    """Runs with the close extended by ``k`` steps (cached: common random numbers, each ``k``
    run once) and whether they meet the goal."""

    def __init__(self, cond: Conditioned, goal: ActionGoal, policy: ClosePolicy) -> None:
        self.cond, self.goal, self.policy = cond, goal, policy
        self.cache: dict[int, RunSet] = {}

    def runs_for(self, k: int) -> RunSet:
        if k not in self.cache:
            minutes = k * self.goal.extension_step_minutes
            spec = variant(self.cond, close_policy=extended(self.policy, minutes))
            self.cache[k] = run(self.cond, spec, detail=False)
        return self.cache[k]

    def ok(self, k: int) -> bool:
        left, _ = _after(self.cond, self.runs_for(k), self.goal.level)
        return left.ci_high <= self.goal.max_left_in_line


def extension_action(cond: Conditioned, goal: ActionGoal | None = None) -> Action | None:
    """The fewest minutes of extension (a multiple of the step) after which at most
    ``goal.max_left_in_line`` are still waiting at the cutoff (upper bound of the interval);
    None under serve_all (nobody is turned away at closing).

    The answer is the smallest step ``k`` whose runs (common random numbers) meet the goal.
    One set of serve-everyone runs gives a guess (when the last voters in line would leave
    it); runs at the guess and the step below confirm it (a gallop and bisection take over if
    the guess was off), so usually three sets of runs instead of a bisection's eight."""

    def search(probe: _ExtensionProbe, top: int) -> int | None:
        guess = _extension_guess(cond, probe.goal, _base_cutoff(cond, probe.policy), top)
        return _search_from(probe.ok, guess, top)

    return _extension(cond, goal, search)


def _extension(
    cond: Conditioned,
    goal: ActionGoal | None,
    search: Callable[[_ExtensionProbe, int], int | None],
) -> Action | None:
    """The extension action whose step ``search(probe, top)`` finds (None: even ``top`` steps
    do not meet the goal, and ``top`` is offered); None under serve_all."""
    goal = goal or ActionGoal()
    policy = cond.rest.close_policy
    if policy.kind is ClosePolicyKind.SERVE_ALL:
        return None
    probe = _ExtensionProbe(cond, goal, policy)
    top = math.ceil(goal.max_extension_minutes / goal.extension_step_minutes)
    found = search(probe, top)
    k = top if found is None else found
    left, wait = _after(cond, probe.runs_for(k), goal.level)
    return Action(
        kind=ActionKind.EXTEND,
        minutes=k * goal.extension_step_minutes,
        left_in_line_at_close_after=left,
        wait_minutes_now_after=wait,
        achieves_goal=found is not None,
    )


def _base_cutoff(cond: Conditioned, policy: ClosePolicy) -> float:
    """The cutoff minute of the day as it stands (closing plus any extension already set)."""
    extra = policy.extend_minutes if policy.kind is ClosePolicyKind.EXTEND else 0.0
    return cond.rest.days[0].close_minutes + extra


def extension_action_bisect(cond: Conditioned, goal: ActionGoal | None = None) -> Action | None:
    """The earlier method (a bisection over the steps, one set of runs per probe): kept as
    the reference the faster ``extension_action`` is tested and benchmarked against."""

    def search(probe: _ExtensionProbe, top: int) -> int | None:
        return _bisect(probe.ok, 0, top) if probe.ok(top) else None

    return _extension(cond, goal, search)


def _with_added(stage: StageSpec, add: int, from_minute: float) -> tuple[tuple[float, int], ...]:
    """The stage's schedule with ``add`` more servers from ``from_minute`` on."""
    before = [(m, c) for m, c in stage.steps if m < from_minute]
    if not before and from_minute > 0:
        before = [(0.0, stage.steps[0][1])]  # the first step also applies before its time
    after = [(m, c + add) for m, c in stage.steps if m > from_minute]
    return (*before, (from_minute, stage.servers_at(from_minute) + add), *after)


def servers_action(
    cond: Conditioned, goal: ActionGoal | None = None, *, probe_share: float = 0.25
) -> Action | None:
    """The fewest servers added from now (plus the lead time) so that the goal holds: the
    line left at the cutoff (upper bound) at most ``goal.max_left_in_line`` and, if set, the
    mean wait of someone joining now at most ``goal.max_wait_minutes``. Servers are added one
    at a time where the next one lowers the people left (then the wait) the most; None if
    no server anywhere changes anything.

    Which stage helps most is ranked on the first ``probe_share`` of the replications (at
    least 10; the same common random numbers); the best-ranked stage is then run on all of
    them and taken if it helps, else the next ones (all of them in the end: the full greedy
    step). Every figure reported and every test of the goal is on all the replications.
    ``probe_share=1`` ranks on all of them (the plain greedy search)."""
    goal = goal or ActionGoal()
    start = cond.state.now_minute + goal.lead_minutes
    stages = {st.name: st for st in cond.rest.stages}
    n_rep = len(cond.inputs)
    n_probe = min(n_rep, max(10, math.ceil(probe_share * n_rep)))
    probe = (
        replace(cond, inputs=cond.inputs[:n_probe], thetas=cond.thetas[:n_probe])
        if n_probe < n_rep and len(stages) > 1
        else None
    )

    def evaluate(added: dict[str, int], on: Conditioned = cond) -> tuple[Estimate, Estimate]:
        servers: dict[str, int | tuple[tuple[float, int], ...]] = {}
        for name, k in added.items():
            st = stages[name]
            if st.schedule is None and start <= cond.state.now_minute:
                servers[name] = st.servers + k  # constant: the kernel's fast path
            elif k > 0:
                servers[name] = _with_added(st, k, start)
        return _after(on, run(on, variant(on, servers=servers), detail=False), goal.level)

    def meets(left: Estimate, wait: Estimate) -> bool:
        if left.ci_high > goal.max_left_in_line:
            return False
        return goal.max_wait_minutes is None or wait.mean <= goal.max_wait_minutes

    def key(est: tuple[Estimate, Estimate]) -> tuple[float, float]:
        return (est[0].mean, est[1].mean)

    added: dict[str, int] = {}
    left, wait = evaluate(added)
    base = (left.mean, wait.mean)
    while not meets(left, wait) and sum(added.values()) < goal.max_added_servers:
        trials = {name: {**added, name: added.get(name, 0) + 1} for name in stages}
        ranked = list(stages)
        if probe is not None:
            ranked.sort(key=lambda name: key(evaluate(trials[name], probe)))
        now = (left.mean, wait.mean)
        best: tuple[tuple[float, float], str, Estimate, Estimate] | None = None
        for name in ranked:
            t_left, t_wait = evaluate(trials[name])
            k = (t_left.mean, t_wait.mean)
            if best is None or k < best[0]:
                best = (k, name, t_left, t_wait)
            if probe is not None and k < now:
                break  # the best-ranked stage that helps
        assert best is not None
        if best[0] >= now:
            break  # no single server helps any more
        added[best[1]] = added.get(best[1], 0) + 1
        left, wait = best[2], best[3]
    if not added or (left.mean, wait.mean) >= base:
        return None
    main = max(added, key=lambda n: added[n])
    return Action(
        kind=ActionKind.ADD_SERVERS,
        minutes=start,
        stage=main,
        servers=added[main],
        servers_by_stage=tuple(sorted(added.items())),
        left_in_line_at_close_after=left,
        wait_minutes_now_after=wait,
        achieves_goal=meets(left, wait),
    )


@dataclass(frozen=True)
class Neighbour:
    """Another station, its present state (drawn replications) and the travel time to it."""

    name: str
    travel_minutes: float
    cond: Conditioned
    clock_offset_minutes: float = 0.0
    """The neighbour's local clock minus this station's (minutes): nonzero across time
    zones, so that "now + travel" is read on the neighbour's own clock."""


def _with_extra_arrivals(
    inp: RandomInputs, count: int, at_minute: float, rng: np.random.Generator
) -> RandomInputs:
    """``count`` more voters arriving at ``at_minute`` (after those already there), with
    unlimited patience and service times resampled from the replication's own voters (iid
    draws of the same distributions)."""
    arr = inp.arrival_minutes
    n = arr.shape[0]
    pos = int(np.searchsorted(arr, at_minute, side="right"))
    pick = rng.integers(0, n, size=count)
    new_arr = np.insert(arr, pos, np.full(count, at_minute))
    new_pat = np.insert(inp.patience_minutes, pos, np.full(count, np.inf))
    new_srv = np.insert(inp.service_minutes, [pos] * count, inp.service_minutes[:, pick], axis=1)
    return RandomInputs(new_arr, np.array([0, n + count], dtype=np.int64), new_pat, new_srv)


def _neighbour_runs(nb: Neighbour, count: int, at_minute: float) -> RunSet:
    cond = nb.cond
    if count == 0:
        return run(cond, detail=False)
    prep = cond.prepare()
    inputs = [
        _with_extra_arrivals(
            inp, count, at_minute, np.random.default_rng(np.random.SeedSequence([cond.seed, r, 7]))
        )
        for r, inp in enumerate(cond.inputs)
    ]
    return _collect(cond, prep, inputs, cond.ghosts + cond.in_line, detail=False)


def redirect_action(
    cond: Conditioned, neighbour: Neighbour, goal: ActionGoal | None = None
) -> Action | None:
    """How many people from the back of this line ``neighbour`` could take: the most whose
    arrival there (now + travel) leaves its own people in line at the cutoff (upper bound) no
    higher than without them (or the goal); and what is left here once they have gone."""
    goal = goal or ActionGoal()
    arrive = max(
        cond.state.now_minute + neighbour.clock_offset_minutes + neighbour.travel_minutes,
        neighbour.cond.state.now_minute,
    )
    close = neighbour.cond.rest.days[0].close_minutes
    if cond.outside == 0 or arrive >= close:
        return None
    base, _ = _after(neighbour.cond, run(neighbour.cond, detail=False), goal.level)
    limit = max(base.ci_high, goal.max_left_in_line)

    def ok(k: int) -> bool:
        left, _ = _after(neighbour.cond, _neighbour_runs(neighbour, k, arrive), goal.level)
        return left.ci_high <= limit

    # the largest k in [0, outside] with ok(k): bisect on "not ok" (those inside, screened
    # already, stay)
    n = cond.outside
    k = n if ok(n) else max(_bisect(lambda j: not ok(j), 0, n) - 1, 0)
    left, wait = _after(cond, run(cond, drop_from_line=k, detail=False), goal.level)
    return Action(
        kind=ActionKind.REDIRECT,
        station=neighbour.name,
        voters=k,
        travel_minutes=neighbour.travel_minutes,
        left_in_line_at_close_after=left,
        wait_minutes_now_after=wait,
        achieves_goal=left.ci_high <= goal.max_left_in_line,
    )


def ballots_action(cond: Conditioned, goal: ActionGoal | None = None) -> Action | None:
    """How many more ballots would last to closing: the ballots that would be taken from now
    with an unlimited stock (upper bound of the interval) minus the stock now; None when the
    stock is unlimited or enough."""
    goal = goal or ActionGoal()
    stock = cond.rest.ballots
    if stock is None:
        return None
    runs = run(cond, cond.rest.model_copy(update={"ballots": None}), detail=False)
    needed = predictive(runs.served, goal.level)
    extra = math.ceil(needed.ci_high) - stock
    if extra <= 0:
        return None
    left, wait = _after(cond, runs, goal.level)
    return Action(
        kind=ActionKind.DELIVER_BALLOTS,
        ballots=extra,
        left_in_line_at_close_after=left,
        wait_minutes_now_after=wait,
        achieves_goal=True,
    )


def actions_for(
    cond: Conditioned,
    goal: ActionGoal | None = None,
    neighbours: Sequence[Neighbour] = (),
) -> tuple[Action, ...]:
    """Every action for a station: extension, added servers, and redirection to each
    neighbour (nearest first)."""
    goal = goal or ActionGoal()
    out: list[Action] = []
    for make in (extension_action, servers_action):
        a = make(cond, goal)
        if a is not None:
            out.append(a)
    for nb in sorted(neighbours, key=lambda x: x.travel_minutes):
        a = redirect_action(cond, nb, goal)
        if a is not None:
            out.append(a)
    return tuple(out)
