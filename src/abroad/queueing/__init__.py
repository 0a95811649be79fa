"""The station simulator: one station's voting days, replicated, with analytic helpers.

Public entry points: ``simulate_station``, ``simulate_many``, ``simulate_replication``
(voter by voter), ``station_from_model`` (from a scenario's service model and policies);
``abroad.queueing.erlang`` (Erlang C) and ``abroad.queueing.sizing.size_station``.
"""

from abroad.queueing.outcome import Estimate, LinePoint, PeriodOutcome, StationOutcome, WaitSummary
from abroad.queueing.spec import DaySpec, StageSpec, StationSpec, SurgeSpec, station_from_model
from abroad.queueing.station import (
    RandomInputs,
    ReplicationTrace,
    run_replications,
    simulate_many,
    simulate_replication,
    simulate_station,
    station_seed,
)

__all__ = [
    "DaySpec",
    "Estimate",
    "LinePoint",
    "PeriodOutcome",
    "RandomInputs",
    "ReplicationTrace",
    "StageSpec",
    "StationOutcome",
    "StationSpec",
    "SurgeSpec",
    "WaitSummary",
    "run_replications",
    "simulate_many",
    "simulate_replication",
    "simulate_station",
    "station_from_model",
    "station_seed",
]
