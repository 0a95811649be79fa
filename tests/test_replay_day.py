"""The replayed day's reports read the simulated trace as the nowcast reads a report: people
waiting in the line, voters processed that day. Checked against the simulator's own outcome
codes and against the network the day is played on."""

from __future__ import annotations

import pytest

from abroad.io.scenario import load_scenario
from abroad.jobs.replay import (
    ReplayNetwork,
    ReplayOptions,
    replay_day,
    replay_specs,
    station_day,
)
from abroad.model import Scenario, SiteId
from abroad.network.simulation import Resources
from abroad.queueing.kernel import SERVED, TURNED_AWAY_CLOSE

from tests_paths import EXAMPLE

NEW_YORK = SiteId("us-new-york-cg")


@pytest.fixture(scope="module")
def example() -> Scenario:
    return load_scenario(EXAMPLE)


def test_the_counts_agree_with_the_simulators_outcomes(example: Scenario) -> None:
    """Hard close at 20:00: the line at the closing minute is the people turned away then
    (left in line at closing) but for those being screened at the door at that minute (at
    most one a lane), and everyone processed by then is everyone served."""
    opts = ReplayOptions(every_minutes=30.0)
    specs = {str(sid): (spec, seed) for sid, spec, seed in replay_specs(example, opts)}
    spec, seed = specs[NEW_YORK]  # the congested one
    sd = station_day(spec, opts, seed)
    close = spec.days[0].close_minutes
    in_line, processed = sd.counts_at(close)
    turned_away = int((sd.trace.outcome == TURNED_AWAY_CLOSE).sum())
    assert turned_away > 0  # New York's status quo is congested: the check is not vacuous
    assert turned_away == sd.left_in_line_at_close()
    lanes = spec.stages[0].servers_at(close)
    assert spec.stages[0].name == "security" and lanes >= 1
    assert in_line <= turned_away <= in_line + lanes
    assert processed == int((sd.trace.outcome == SERVED).sum())
    # nobody before opening; the processed count never goes down
    assert sd.counts_at(spec.days[0].open_minutes - 1) == (0, 0)
    counts = [sd.counts_at(m)[1] for m in range(480, 1201, 15)]
    assert counts == sorted(counts)


def test_a_network_sets_the_stations_and_their_desks(example: Scenario) -> None:
    network = ReplayNetwork("a plan", {NEW_YORK: Resources(2, 6, 1)})
    reports = replay_day(example, ReplayOptions(every_minutes=60.0), network)
    assert {r.station for r in reports} == {NEW_YORK}
    assert {str(r.body["working"]) for r in reports} == {"{'checkin': 2}"}
    # one lane and 2 desks instead of the status quo's 2 and 5: fewer processed by 14:00
    status_quo = replay_day(example, ReplayOptions(every_minutes=60.0))
    at_two = {r.station: r.body for r in status_quo if r.minute == 840.0}
    planned = next(r.body for r in reports if r.minute == 840.0)
    assert planned["processed"] < at_two[NEW_YORK]["processed"]  # type: ignore[operator]
