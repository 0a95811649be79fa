"""Station capacity against real throughputs: the reference stations and their replay.

Each :class:`ThroughputReference` is a real station whose line did not empty on its voting
days (people were still waiting, or turned away, at closing), so what it processed is what it
*could* process: its capacity over its hours. :func:`replay` simulates the same hours, close
policy and resources under the scenario defaults of the service model, with more arrivals than
any station can serve, and reports the voters processed. docs/background/capacity.md lists the
references with their sources and the resources each took; tests/test_capacity_calibration.py
checks that every replay lands within 10 % of the real figure.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from abroad.model import ClosePolicy, ClosePolicyKind, Policies, SecurityScreening, ServiceModel
from abroad.model.distributions import LogNormal
from abroad.queueing.outcome import Estimate
from abroad.queueing.spec import DaySpec, station_from_model
from abroad.queueing.station import simulate_station

DEFAULT_CHECKIN = LogNormal(dist="lognormal", mean_minutes=2.2, cv=0.6)
"""ID check and list entry at a desk: about 2 minutes in domestic studies (domain.md §3);
2.2 here because abroad the desk also writes the voter into the list on arrival, and because
with it the Romanian references (desk-limited, no screening) come out at whole desks."""
DEFAULT_BOOTH = LogNormal(dist="lognormal", mean_minutes=3.0, cv=0.6)
"""Marking a paper ballot: about 3 minutes (domestic studies, domain.md §3)."""
DEFAULT_SECURITY = LogNormal(dist="lognormal", mean_minutes=0.45, cv=0.3)
"""Door screening at a mission: about 27 s a person per lane (anecdotal, domain.md §3)."""

DEFAULT_SERVICE = ServiceModel(
    checkin=DEFAULT_CHECKIN,
    booth=DEFAULT_BOOTH,
    security=SecurityScreening(service=DEFAULT_SECURITY),
)
"""The service model the references are replayed under (the values the examples and
``abroad scaffold`` write)."""

OVERLOAD = 1.6
"""Arrivals offered per hour, as a multiple of the station's bottleneck rate: a line that
never empties."""


@dataclass(frozen=True)
class ThroughputReference:
    """A real station that worked at capacity, and the resources that reproduce it."""

    key: str
    description: str
    source: str
    voters_processed: int
    hours: tuple[tuple[float, float], ...]
    """Opening and closing clock minutes of each voting day."""
    close_policy: ClosePolicy
    security_lanes: int
    """0: no door screening (not a diplomatic mission, or none reported)."""
    desks: int
    booths: int

    @property
    def open_hours(self) -> float:
        return sum(close - open_ for open_, close in self.hours) / 60.0


HARD = ClosePolicy(kind=ClosePolicyKind.HARD_CLOSE)
ROMANIA_AFTER_2014 = ClosePolicy(kind=ClosePolicyKind.EXTEND, extend_minutes=179.0)
"""Anyone in line at 21:00 may vote until 23:59 (Romania since 2014)."""

_FIGURES: dict[str, tuple[int, tuple[tuple[float, float], ...], ClosePolicy, int, int, int]] = {
    # key: (voters processed, (open, close) minutes per day, close policy, lanes, desks, booths)
    "berlin-2024": (3275, ((480.0, 1200.0),), HARD, 2, 11, 16),
    "bonn-2024": (5071, ((480.0, 1200.0),), HARD, 3, 16, 24),
    "russia-2018-busiest": (7746, ((480.0, 1200.0),), HARD, 0, 24, 34),
    "romania-2014-busiest": (2325, ((420.0, 1260.0),), HARD, 0, 6, 8),
    "london-stratford-2019": (
        8514,
        ((720.0, 1260.0), (420.0, 1260.0), (420.0, 1260.0)),
        ROMANIA_AFTER_2014,
        0,
        7,
        10,
    ),
}
_TEXTS = {
    # key: what the station was, and where its figure comes from
    "berlin-2024": "Russia 2024, embassy in Berlin, one day 08:00-20:00, hard close (500+ "
    "still in line at closing) | domain.md §2: 3,275 of 10,000 ballots issued (derived), "
    "about 270 an hour",
    "bonn-2024": "Russia 2024, consulate general in Bonn, one day 08:00-20:00, about 1,000 "
    "in line in the afternoon | domain.md §2: 5,071 ballots issued, about 420 an hour",
    "russia-2018-busiest": "Russia 2018, busiest station abroad (no. 8342), counted as one "
    "day 08:00-20:00 as the issue states it (4,006 of its ballots were issued early) | "
    "../shared/data/ru_2018_abroad_stations.csv: voters_on_list 7,746 (max)",
    "romania-2014-busiest": "Romania 2014 round 1, busiest station abroad, one 14-hour day "
    "07:00-21:00, hard close (1,000+ could not vote in London) | domain.md §2: no station "
    "processed more than 2,325 (derived)",
    "london-stratford-2019": "Romania 2019 round 2, London Stratford, Fri 12:00-21:00, Sat "
    "and Sun 07:00-21:00, in line at 21:00 votes until 23:59 | ../shared/data/"
    "ro_2019_president_round2_abroad_stations.csv: 8,514 voted (max)",
}
REFERENCES = tuple(
    ThroughputReference(
        key,
        _TEXTS[key].split(" | ")[0],
        _TEXTS[key].split(" | ")[1],
        voters,
        hours,
        close,
        lanes,
        desks,
        booths,
    )
    for key, (voters, hours, close, lanes, desks, booths) in _FIGURES.items()
)
"""The five reference stations (docs/background/capacity.md)."""


def bottleneck_rate_per_hour(
    service: ServiceModel, security_lanes: int, desks: int, booths: int
) -> float:
    """Voters an hour the slowest stage passes when it never idles (servers / mean time)."""
    rates = [60.0 * desks / service.checkin.mean, 60.0 * booths / service.booth.mean]
    if security_lanes > 0 and service.security is not None:
        rates.append(60.0 * security_lanes / service.security.service.mean)
    return min(rates)


def replay(
    ref: ThroughputReference,
    service: ServiceModel = DEFAULT_SERVICE,
    *,
    replications: int = 10,
    seed: int = 0,
) -> Estimate:
    """Voters processed by a simulated station with the reference's hours, close policy and
    resources, under ``service`` and a line that never empties (mean and 95 % interval)."""
    rate = OVERLOAD * bottleneck_rate_per_hour(service, ref.security_lanes, ref.desks, ref.booths)
    days = tuple(
        DaySpec(open_minutes=o, close_minutes=c, arrivals_per_hour=(rate,), bin_minutes=c - o)
        for o, c in ref.hours
    )
    if ref.security_lanes > 0 and service.security is not None:
        security = service.security.model_copy(update={"servers": ref.security_lanes})
        used = service.model_copy(update={"security": security, "patience": None})
    else:
        used = service.model_copy(update={"security": None, "patience": None})
    used = used.model_copy(update={"balk_queue_length": None})
    spec = station_from_model(
        used,
        Policies(close_policy=ref.close_policy),
        days,
        ref.desks,
        ref.booths,
        name=ref.key,
    )
    return simulate_station(spec, replications, seed).total.served
