"""A voting day simulated station by station and read out as station reports (``abroad
replay``).

The day is played on a network (``ReplayNetwork``): the stations and their desks, booths and
lanes. By default it is the scenario's status quo (every available site at the most its
premises allow: the stations an import stores); ``abroad replay`` plays an adopted plan
instead, from a plan folder (``abroad plan --out``) or as the server stores it. Each station
is simulated for one voting day with the spec the server nowcasts with
(``network.simulation.network_specs``: the demand of exactly these stations open together),
one replication under its own derived seed. Every ``every_minutes`` from opening to closing
the station "reports" what the trace shows at that minute (``StationDay.counts_at``): people
in line (arrived, waiting in a queue of a line stage, not yet at the desks, not gone home),
voters processed so far that day (started at the desks; only the replayed day is sent, so
the count starts at 0, as the server's nowcast reads a day without earlier reports), desks
working; an ``opened`` event at the first report and ``closed`` at the last. Options: a
surge (the arrival rate times a factor from a clock minute on), a station that falls silent
from a minute on, and out-of-order delivery (a seeded share of reports sent after the next
one).

Client ids are fixed by the seed, station and minute: a replay sent twice stores nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from abroad.model import Scenario, SiteId
from abroad.network.simulation import Resources
from abroad.queueing.kernel import RENEGED, SERVED, TURNED_AWAY_CLOSE
from abroad.queueing.sampling import replication_rng
from abroad.queueing.spec import StationSpec
from abroad.queueing.station import (
    PreparedStation,
    RandomInputs,
    ReplicationTrace,
    draw_inputs,
    line_at,
    prepare,
    run_inputs,
    station_seed,
)


@dataclass(frozen=True)
class ReplayReport:
    """One report of the replay: when it is due (simulated minute) and its JSON body."""

    station: str
    minute: float
    """Local clock minute on the replayed day."""
    body: dict[str, object]


@dataclass(frozen=True)
class ReplayOptions:
    day: int = -1
    """Voting day (0-based; -1: the last)."""
    every_minutes: float = 30.0
    seed: int = 0
    surge_factor: float = 1.0
    surge_from_minute: float = 12 * 60.0
    silent_station: str | None = None
    silent_from_minute: float = 14 * 60.0
    out_of_order_share: float = 0.0


@dataclass(frozen=True)
class ReplayNetwork:
    """The stations a replayed day runs, each with its desks, booths and lanes, and what the
    network is (said in the replay's output)."""

    label: str
    stations: Mapping[SiteId, Resources] = field(default_factory=dict)


def status_quo_network(scenario: Scenario) -> ReplayNetwork:
    """The scenario's status quo: every openable site at the most its premises allow."""
    from abroad.network.catchments import default_open_sites
    from abroad.network.simulation import status_quo_resources

    res = status_quo_resources(scenario, default_open_sites(scenario))
    return ReplayNetwork("the scenario's status quo", dict(res))


def _surged(spec: StationSpec, day: int, factor: float, from_minute: float) -> StationSpec:
    if factor == 1.0:
        return spec
    d = spec.days[day]
    rates = tuple(
        r * (factor if d.open_minutes + i * d.bin_minutes >= from_minute else 1.0)
        for i, r in enumerate(d.arrivals_per_hour)
    )
    days = list(spec.days)
    days[day] = d.model_copy(update={"arrivals_per_hour": rates})
    return spec.model_copy(update={"days": tuple(days)})


@dataclass(frozen=True)
class StationDay:
    """One station's simulated day: the spec it ran (surged), and its replication's inputs
    and trace (every voter's arrival, patience, services, starts and fate)."""

    spec: StationSpec
    day: int
    prepared: PreparedStation
    inputs: RandomInputs
    trace: ReplicationTrace

    def _voters(self) -> slice:
        off = self.inputs.arr_off
        return slice(int(off[self.day]), int(off[self.day + 1]))

    def counts_at(self, minute: float) -> tuple[int, int]:
        """(people in line, processed that day) at ``minute``, as staff count them: in line =
        arrived, waiting in a queue of a line stage (not being served at one, not yet at the
        last line stage, not gone home); processed = started the last line stage (the
        desks). The nowcast reads the reported line and processed count with this meaning."""
        line = line_at(self.trace, minute, self.spec.line_stages, self._voters())
        return int(line.waiting.sum()), int(line.processed.sum())

    def left_in_line_at_close(self) -> int:
        """People who arrived by closing and were still in the line at closing (the nowcast's
        ``left_in_line_at_close``)."""
        v = self._voters()
        arr = self.inputs.arrival_minutes[v]
        out = self.trace.outcome[v]
        ls = self.spec.line_stages - 1
        close = self.spec.days[self.day].close_minutes
        start = np.nan_to_num(self.trace.start_minutes[ls, v], nan=np.inf)
        gave_up = arr + self.inputs.patience_minutes[v]
        left = (arr <= close) & (
            (out == TURNED_AWAY_CLOSE)
            | ((out == SERVED) & (start > close))
            | ((out == RENEGED) & (gave_up > close))
        )
        return int(left.sum())


def station_day(spec: StationSpec, options: ReplayOptions, seed: int) -> StationDay:
    """The replayed day of one station: replication 0 of ``seed`` on the (surged) spec."""
    day = options.day % len(spec.days)
    spec = _surged(spec, day, options.surge_factor, options.surge_from_minute)
    prep = prepare(spec)
    inputs = draw_inputs(prep, replication_rng(seed, 0))
    return StationDay(spec, day, prep, inputs, run_inputs(prep, inputs))


def station_reports(
    key: str,
    spec: StationSpec,
    date: dt.date,
    zone: str,
    options: ReplayOptions,
    seed: int,
) -> list[ReplayReport]:
    """The reports one station files over the day, from one simulated replication."""
    sd = station_day(spec, options, seed)
    d = sd.spec.days[sd.day]
    tz = ZoneInfo(zone)
    desks = next((s for s in sd.spec.stages if s.name == "checkin"), None)
    out = []
    minute = d.open_minutes
    while minute <= d.close_minutes + 1e-9:
        if options.silent_station == key and minute >= options.silent_from_minute:
            break
        in_line, processed = sd.counts_at(minute)
        taken = dt.datetime.combine(date, dt.time(0), tz) + dt.timedelta(minutes=minute)
        body: dict[str, object] = {
            "client_id": f"replay-{options.seed}-{key}-{sd.day}-{int(minute):04d}",
            "taken_at": taken.isoformat(),
            "people_in_line": in_line,
            "processed": processed,
        }
        if desks is not None:
            body["working"] = {"checkin": desks.servers_at(minute)}
        if minute == d.open_minutes:
            body["event"] = "opened"
        elif minute + options.every_minutes > d.close_minutes + 1e-9:
            body["event"] = "closed"
        out.append(ReplayReport(key, minute, body))
        minute += options.every_minutes
    return out


def replay_specs(
    scenario: Scenario, options: ReplayOptions, network: ReplayNetwork | None = None
) -> list[tuple[SiteId, StationSpec, int]]:
    """(station, spec, seed) of every station the day is replayed at, in the network's order:
    the spec as the server builds it for these stations, the seed derived from the replay's."""
    from abroad.network.simulation import network_specs

    net = network if network is not None else status_quo_network(scenario)
    specs = network_specs(scenario, net.stations)
    return [(sid, specs[sid], station_seed(options.seed, i)) for i, sid in enumerate(net.stations)]


def replay_day(
    scenario: Scenario, options: ReplayOptions, network: ReplayNetwork | None = None
) -> list[ReplayReport]:
    """Every station's reports of the day, in delivery order (by due minute, with the
    out-of-order share swapped with the report due after them)."""
    day = options.day % len(scenario.election.days)
    date = scenario.election.days[day].date
    reports: list[ReplayReport] = []
    for sid, spec, seed in replay_specs(scenario, options, network):
        site = scenario.site(sid)
        reports += station_reports(str(sid), spec, date, site.timezone, options, seed)
    reports.sort(key=lambda r: (r.minute, r.station))
    if options.out_of_order_share > 0:
        rng = np.random.default_rng(options.seed)
        i = 0
        while i < len(reports) - 1:
            if rng.random() < options.out_of_order_share:
                reports[i], reports[i + 1] = reports[i + 1], reports[i]
                i += 1
            i += 1
    return reports
